//! The http check: one hand-written `GET` over plain TCP, passing on a 2xx or 3xx status.
//!
//! A full client (or TLS) is not worth its weight for one request whose answer is judged by
//! its status line alone. The request asks the server to close the connection, and at most
//! [`MAX_RESPONSE_HEAD`] bytes are read: enough for any status line, and a bound against a
//! server (or something that is not one) that sends without end.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::AttemptError;
use super::net::connect;

/// How much of the answer is read, at most, looking for the end of the status line.
pub const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// One GET of `http://host:port/path`.
pub(crate) async fn attempt(host: &str, port: u16, path: &str) -> Result<(), AttemptError> {
    let mut stream = connect(host, port).await?;
    stream
        .write_all(request(host, port, path).as_bytes())
        .await
        .map_err(|error| AttemptError::io(&error))?;
    let mut head = Vec::with_capacity(256);
    let mut buffer = [0u8; 1024];
    loop {
        if head.contains(&b'\n') || head.len() >= MAX_RESPONSE_HEAD {
            break;
        }
        let read = stream
            .read(&mut buffer)
            .await
            .map_err(|error| AttemptError::io(&error))?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    head.truncate(MAX_RESPONSE_HEAD);
    let status = parse_status_line(&head)?;
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(AttemptError::HttpStatus { status })
    }
}

/// The request bytes: `GET path HTTP/1.1`, the `Host` header (with the port unless it is 80,
/// and brackets around an IPv6 address), `Connection: close`.
pub fn request(host: &str, port: u16, path: &str) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let authority = if port == 80 {
        host
    } else {
        format!("{host}:{port}")
    };
    format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: procmux-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
}

/// The status code of `HTTP/1.x SSS reason` at the start of `head` (the first line, ended by
/// `\n` or by the end of what was read).
pub fn parse_status_line(head: &[u8]) -> Result<u16, AttemptError> {
    let bad = |reason: &str| AttemptError::BadResponse {
        reason: reason.to_owned(),
    };
    if head.is_empty() {
        return Err(bad("the connection closed without an answer"));
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.splitn(3, |&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    if !(version.starts_with(b"HTTP/1.") && version.len() == 8 && version[7].is_ascii_digit()) {
        return Err(bad("no HTTP/1.x status line"));
    }
    let code = parts.next().unwrap_or_default();
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(bad("no three-digit status code"));
    }
    let code = code
        .iter()
        .fold(0u16, |sum, digit| sum * 10 + u16::from(digit - b'0'));
    if !(100..600).contains(&code) {
        return Err(bad("status code out of range"));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        assert_eq!(
            request("127.0.0.1", 3000, "/up?x=1"),
            "GET /up?x=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nUser-Agent: procmux-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        assert!(request("example.com", 80, "/").contains("\r\nHost: example.com\r\n"));
        assert!(request("::1", 8080, "/").contains("\r\nHost: [::1]:8080\r\n"));
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\n"), Ok(200));
        assert_eq!(
            parse_status_line(b"HTTP/1.0 302 Found\r\nLocation: /"),
            Ok(302)
        );
        assert_eq!(parse_status_line(b"HTTP/1.1 503"), Ok(503));
        assert_eq!(parse_status_line(b"HTTP/1.1 204 \n"), Ok(204));
        for bad in [
            &b""[..],
            b"garbage\r\n",
            b"HTTP/2 200\r\n",
            b"HTTP/1.1 20 OK\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/1.1 abc OK\r\n",
            b"HTTP/1.1 999 X\r\n",
            b"SSH-2.0-OpenSSH_9.2\r\n",
        ] {
            assert!(
                matches!(
                    parse_status_line(bad),
                    Err(AttemptError::BadResponse { .. })
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
