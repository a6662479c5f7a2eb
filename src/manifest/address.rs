//! The addresses `ready` checks write: `host:port` for `tcp` and `http://` URLs, read by hand
//! (no URL crate: one plain GET needs a host, a port and a request path).
//!
//! - A host is a name or an IPv4 address (letters, digits, `-`, `.`, `_`), or an IPv6 address
//!   in brackets (`[::1]:5432`).
//! - A port is digits, 1 to 65535; an `http` URL without one means 80.
//! - A URL's path keeps its `?query`, loses its `#fragment` (it is never sent), and is `/`
//!   when empty. A user name (`http://u@host/`) is refused rather than sent nowhere.

/// Why a URL cannot be an `http` check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UrlProblem {
    /// `https://`: procmux has no TLS client.
    Https,
    /// Another scheme, or none.
    NotHttp,
    /// `http://user@host/`.
    UserInfo,
    /// No host, or one that is not a host name or address.
    NoHost,
    /// A port that is not 1 to 65535; the text says how.
    Port(String),
}

/// `http://host[:port][/path][?query][#fragment]` (the scheme in any case) into the host,
/// the port and the request path.
pub(crate) fn parse_http_url(url: &str) -> Result<(String, u16, String), UrlProblem> {
    let scheme_end = url.find("://").map(|i| i + 3);
    let scheme = scheme_end.map(|end| url[..end].to_ascii_lowercase());
    let rest = match (scheme.as_deref(), scheme_end) {
        (Some("http://"), Some(end)) => &url[end..],
        (Some("https://"), _) => return Err(UrlProblem::Https),
        _ => return Err(UrlProblem::NotHttp),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(UrlProblem::UserInfo);
    }
    let (host, port) = match split_host_port(authority) {
        Ok((Some(host), port)) => (host, port),
        Ok((None, _)) | Err(()) => return Err(UrlProblem::NoHost),
    };
    let port = match port {
        None => 80,
        Some(port) => parse_port(port).map_err(UrlProblem::Port)?,
    };
    Ok((host.to_owned(), port, request_path(path)))
}

/// `host:port`, `host`, `:port`, `[v6]:port` or `[v6]` into the host (without brackets) and
/// the port text. `Err` for text that is no host.
pub(crate) fn split_host_port(text: &str) -> Result<(Option<&str>, Option<&str>), ()> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let close = rest.find(']').ok_or(())?;
        let host = &rest[..close];
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(());
        }
        match &rest[close + 1..] {
            "" => (Some(host), None),
            after => (Some(host), Some(after.strip_prefix(':').ok_or(())?)),
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => ((!host.is_empty()).then_some(host), Some(port)),
            None => ((!text.is_empty()).then_some(text), None),
        }
    };
    let valid_name = |host: &str| {
        host.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    };
    match host {
        Some(name) if !text.starts_with('[') && !valid_name(name) => Err(()),
        _ => Ok((host, port)),
    }
}

/// A port written as text: digits, 1 to 65535.
pub(crate) fn parse_port(text: &str) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid port {text:?}"));
    }
    match text.parse::<u64>() {
        Ok(port @ 1..=65535) => u16::try_from(port).map_err(|_| format!("invalid port {text:?}")),
        _ => Err(format!("port {text} is out of range (1 to 65535)")),
    }
}

/// The request target of a URL's path part: without a fragment, starting with `/`.
pub(crate) fn request_path(path: &str) -> String {
    let path = path.split('#').next().unwrap_or_default();
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(split_host_port("5432"), Ok((Some("5432"), None)));
        assert_eq!(split_host_port("db:5432"), Ok((Some("db"), Some("5432"))));
        assert_eq!(split_host_port(":5432"), Ok((None, Some("5432"))));
        assert_eq!(split_host_port("[::1]:80"), Ok((Some("::1"), Some("80"))));
        assert_eq!(split_host_port("[::1]"), Ok((Some("::1"), None)));
        assert_eq!(split_host_port("[::1"), Err(()));
        assert_eq!(split_host_port("a b:1"), Err(()));
        assert_eq!(split_host_port("[x]:1"), Err(()));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("99999999999999999999999").is_err());
        assert!(parse_port("-1").is_err());
        assert!(parse_port("").is_err());
    }

    #[test]
    fn urls() {
        let ok = |host: &str, port, path: &str| Ok((host.to_owned(), port, path.to_owned()));
        assert_eq!(parse_http_url("http://a"), ok("a", 80, "/"));
        assert_eq!(parse_http_url("HTTP://a:81/x?y#z"), ok("a", 81, "/x?y"));
        assert_eq!(parse_http_url("http://[::1]:3000"), ok("::1", 3000, "/"));
        assert_eq!(parse_http_url("https://a"), Err(UrlProblem::Https));
        assert_eq!(parse_http_url("a:80"), Err(UrlProblem::NotHttp));
        assert_eq!(parse_http_url("ftp://a"), Err(UrlProblem::NotHttp));
        assert_eq!(parse_http_url("http://u:p@a"), Err(UrlProblem::UserInfo));
        assert_eq!(parse_http_url("http:///x"), Err(UrlProblem::NoHost));
        assert!(matches!(
            parse_http_url("http://a:x"),
            Err(UrlProblem::Port(_))
        ));
    }

    #[test]
    fn request_paths() {
        assert_eq!(request_path(""), "/");
        assert_eq!(request_path("?a=1"), "/?a=1");
        assert_eq!(request_path("/up#top"), "/up");
        assert_eq!(request_path("/a/b?c"), "/a/b?c");
    }
}
