//! One TCP connection to `host:port`: the tcp check itself, and the first step of the http
//! check.
//!
//! The host is resolved with tokio's `lookup_host` (getaddrinfo on a blocking thread, so the
//! event loop never waits on DNS); addresses are tried in the resolver's order and the last
//! failure is what the attempt reports. The caller bounds the whole thing with its attempt
//! timeout.

use tokio::net::TcpStream;

use super::error::{AttemptError, short_reason};

/// Connects to the first address of `host` that accepts.
pub(crate) async fn connect(host: &str, port: u16) -> Result<TcpStream, AttemptError> {
    let addresses = tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| AttemptError::Resolve {
            host: host.to_owned(),
            reason: short_reason(&error),
        })?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(AttemptError::connect(&error)),
        }
    }
    Err(last.unwrap_or_else(|| AttemptError::Resolve {
        host: host.to_owned(),
        reason: "no address".into(),
    }))
}
