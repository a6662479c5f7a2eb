//! Integration tests of the manifest loader (`procmux::manifest::load`), one module per area.

#[path = "manifest/support.rs"]
mod support;

#[path = "manifest/bounds.rs"]
mod bounds;
#[path = "manifest/conventions.rs"]
mod conventions;
#[path = "manifest/depends.rs"]
mod depends;
#[path = "manifest/dotenv.rs"]
mod dotenv;
#[path = "manifest/errors.rs"]
mod errors;
#[path = "manifest/examples.rs"]
mod examples;
#[path = "manifest/no_panic.rs"]
mod no_panic;
#[path = "manifest/procfile.rs"]
mod procfile;
#[path = "manifest/ready.rs"]
mod ready;
#[path = "manifest/resolve.rs"]
mod resolve;
#[path = "manifest/schema.rs"]
mod schema;
#[path = "manifest/toml_invalid.rs"]
mod toml_invalid;
#[path = "manifest/toml_valid.rs"]
mod toml_valid;
#[path = "manifest/watch.rs"]
mod watch;
