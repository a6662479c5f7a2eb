//! The committed JSON Schema is the one the code generates.

use std::path::Path;

#[test]
fn committed_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/procmux.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == procmux::manifest::schema_json(),
        "schema/procmux.schema.json is stale; regenerate it with:\n    cargo run -- schema > schema/procmux.schema.json"
    );
}
