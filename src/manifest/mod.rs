//! The manifest: `procmux.toml`, `Procfile` and `.env` files into a validated `Manifest`.
