//! Parsing of what a check points at: `[HOST:]PORT` for tcp and `http://HOST[:PORT][/PATH]`
//! for http, with `127.0.0.1` and port 80 as defaults.
//!
//! Only what a plain HTTP/1.1 GET needs is accepted: no `https` (no TLS here), no user info,
//! and nothing in the path that would break the request line (spaces, control characters).

use super::error::TargetError;

/// The host a check connects to when none is given.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// `5432`, `db:5432`, `[::1]:5432` into a host and a port (host `127.0.0.1` when absent).
pub fn parse_tcp_target(text: &str) -> Result<(String, u16), TargetError> {
    let text = text.trim();
    match split_host_port(text)? {
        (None, Some(port)) => Ok((DEFAULT_HOST.to_owned(), port)),
        (Some(host), Some(port)) => Ok((host, port)),
        (_, None) => Err(TargetError::Port {
            port: String::new(),
        }),
    }
}

/// `http://host[:port][/path][?query]` into a host, a port (80 by default) and a path
/// (`/` by default); a `#fragment` is dropped, as a browser would.
pub fn parse_http_url(url: &str) -> Result<(String, u16, String), TargetError> {
    let bad = |reason| TargetError::Url {
        url: url.to_owned(),
        reason,
    };
    let Some(scheme_end) = url.find("://") else {
        return Err(bad("expected http://HOST[:PORT][/PATH]"));
    };
    if !url[..scheme_end].eq_ignore_ascii_case("http") {
        return Err(TargetError::Scheme {
            url: url.to_owned(),
        });
    }
    let rest = &url[scheme_end + 3..];
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("spaces and control characters must be percent-encoded"));
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('?') => (&rest[..at], format!("/{}", &rest[at..])),
        Some(at) => (&rest[..at], rest[at..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    if authority.contains('@') {
        return Err(bad("user info is not supported"));
    }
    match split_host_port(authority)? {
        (Some(host), port) => Ok((host, port.unwrap_or(80), path)),
        (None, _) => Err(TargetError::Host {
            host: authority.to_owned(),
        }),
    }
}

/// `host:port`, `host`, `:port`, `port` (all digits), `[v6]:port`, `[v6]`.
fn split_host_port(text: &str) -> Result<(Option<String>, Option<u16>), TargetError> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(TargetError::Host {
                host: text.to_owned(),
            });
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(TargetError::Host {
                host: text.to_owned(),
            });
        }
        match after.strip_prefix(':') {
            Some(port) => (Some(host), Some(port)),
            None if after.is_empty() => (Some(host), None),
            None => {
                return Err(TargetError::Host {
                    host: text.to_owned(),
                });
            }
        }
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        (None, Some(text))
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(text), None),
        }
    };
    let host = match host {
        Some("") | None => None,
        Some(host) if host.contains(':') && !text.starts_with('[') => {
            // An IPv6 address needs brackets to be told apart from its port.
            return Err(TargetError::Host {
                host: host.to_owned(),
            });
        }
        Some(host) => Some(host.to_owned()),
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

fn parse_port(text: &str) -> Result<u16, TargetError> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(TargetError::Port {
            port: text.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_targets() {
        let ok = |text: &str| parse_tcp_target(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(ok("5432"), ("127.0.0.1".into(), 5432));
        assert_eq!(ok(":5432"), ("127.0.0.1".into(), 5432));
        assert_eq!(ok("db:5432"), ("db".into(), 5432));
        assert_eq!(ok("[::1]:80"), ("::1".into(), 80));
        for bad in [
            "", "db", "db:", "0", "65536", "db:+5", "::1:80", "[::1]", "[zz]:80", "x:-1",
        ] {
            assert!(parse_tcp_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn http_urls() {
        let ok = |text: &str| parse_http_url(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            ok("http://127.0.0.1:3000/up"),
            ("127.0.0.1".into(), 3000, "/up".into())
        );
        assert_eq!(
            ok("http://example.com"),
            ("example.com".into(), 80, "/".into())
        );
        assert_eq!(
            ok("HTTP://h/a/b?x=1#frag"),
            ("h".into(), 80, "/a/b?x=1".into())
        );
        assert_eq!(ok("http://h?x"), ("h".into(), 80, "/?x".into()));
        assert_eq!(ok("http://[::1]:8080/"), ("::1".into(), 8080, "/".into()));
        assert!(matches!(
            parse_http_url("https://h/"),
            Err(TargetError::Scheme { .. })
        ));
        for bad in [
            "h:80/up",
            "http://",
            "http://:80/",
            "http://u@h/",
            "http://h/a b",
            "http://h/a\r\nX: y",
            "http://h:0/",
            "http://h:99999/",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad:?}");
        }
    }
}
