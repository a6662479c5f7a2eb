//! Entry points for the fuzz targets in `fuzz/` and the property tests: each runs one parser
//! on arbitrary bytes and must return, never panic. Not a stable API.

use std::path::Path;

/// Runs the TOML manifest parser (syntax, keys, types) on `data`, then the address parsers
/// of `ready` checks on the `tcp` and `http` strings it found.
pub fn toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match super::toml::parse(Path::new("procmux.toml"), text) {
        Err(error) => drop(error.render()),
        Ok(raw) => {
            for (_, process) in &raw.processes.0 {
                let Some(ready) = &process.ready else {
                    continue;
                };
                if let Some(url) = &ready.get_ref().http {
                    let _ = super::address::parse_http_url(url.get_ref());
                    let _ = super::address::request_path(url.get_ref());
                }
                if let Some(tcp) = &ready.get_ref().tcp
                    && let super::ready::TcpTarget::Text(target) = tcp.get_ref()
                {
                    let _ = super::address::split_host_port(target);
                }
            }
        }
    }
}

/// Runs the Procfile parser on `data`.
pub fn procfile(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        match super::procfile::parse(Path::new("Procfile"), text) {
            Ok((_, warnings)) => warnings.iter().for_each(|w| drop(w.render())),
            Err(error) => drop(error.render()),
        }
    }
}

/// Runs the dotenv parser on `data`, with `${HOME}` set.
pub fn dotenv(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(error) = super::dotenv::parse(
            text,
            &|name| (name == "HOME").then(|| "/h".into()),
            super::MAX_ENV_TOTAL,
        )
    {
        let _ = super::Location::from_span(Path::new(".env"), text, error.span);
    }
}
