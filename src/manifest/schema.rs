//! The JSON Schema of `procmux.toml`, generated from the same types the loader deserializes
//! into, printed by `procmux schema` and committed as `schema/procmux.schema.json` (a test
//! fails when the committed file is stale).

use super::raw::RawManifest;

/// The JSON Schema of `procmux.toml`, pretty-printed, ending with a newline.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(RawManifest);
    let mut text = serde_json::to_string_pretty(&schema)
        .expect("a schema built from Rust types always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::super::toml::{PROCESS_KEYS, SETTINGS_KEYS, TOP_KEYS};
    use super::*;

    fn keys(value: &serde_json::Value) -> Vec<String> {
        let mut keys: Vec<String> = value["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    fn sorted(list: &[&str]) -> Vec<String> {
        let mut list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        list.sort();
        list
    }

    /// The key lists used for "unknown key" errors must match the serde types.
    #[test]
    fn key_lists_match_the_types() {
        let schema: serde_json::Value = serde_json::from_str(&schema_json()).expect("valid JSON");
        assert_eq!(keys(&schema), sorted(TOP_KEYS));
        assert_eq!(keys(&schema["$defs"]["Settings"]), sorted(SETTINGS_KEYS));
        assert_eq!(keys(&schema["$defs"]["Process"]), sorted(PROCESS_KEYS));
    }
}
