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
    use super::super::ready::READY_KEYS;
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

    /// The names the deserializers accept are the ones the schema lists.
    #[test]
    fn enum_names_match_the_types() {
        use super::super::{ProcessColor, RestartPolicy};
        let schema: serde_json::Value = serde_json::from_str(&schema_json()).expect("valid JSON");
        // Plain enums list names; documented variants become `oneOf` of `const`s.
        let names = |def: &str| -> Vec<String> {
            let def = &schema["$defs"][def];
            let values: Vec<&serde_json::Value> = match def["enum"].as_array() {
                Some(names) => names.iter().collect(),
                None => def["oneOf"]
                    .as_array()
                    .map(|variants| variants.iter().map(|v| &v["const"]).collect())
                    .unwrap_or_default(),
            };
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let colors: Vec<&str> = ProcessColor::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names("ProcessColor"), colors);
        let policies: Vec<&str> = RestartPolicy::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names("RestartPolicy"), policies);
        let conditions: Vec<&str> = super::super::Condition::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        let table = &schema["$defs"]["DependsOn"]["anyOf"][1]["additionalProperties"]["enum"];
        let listed: Vec<&str> = table
            .as_array()
            .map(|names| names.iter().filter_map(|n| n.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(listed, conditions);
    }

    /// The key lists used for "unknown key" errors must match the serde types.
    #[test]
    fn key_lists_match_the_types() {
        let schema: serde_json::Value = serde_json::from_str(&schema_json()).expect("valid JSON");
        assert_eq!(keys(&schema), sorted(TOP_KEYS));
        assert_eq!(keys(&schema["$defs"]["Settings"]), sorted(SETTINGS_KEYS));
        assert_eq!(keys(&schema["$defs"]["Process"]), sorted(PROCESS_KEYS));
        assert_eq!(keys(&schema["$defs"]["Ready"]), sorted(READY_KEYS));
    }
}
