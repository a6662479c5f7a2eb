//! No input makes the loader panic: arbitrary bytes into each parser, and TOML-ish documents
//! built from manifest fragments into the whole `load`.

use proptest::prelude::*;

use procmux::manifest::fuzzing;

use crate::support::Project;

const FRAGMENTS: &[&str] = &[
    "[settings]\n",
    "[env]\n",
    "[processes.web]\n",
    "[processes.w-2]\n",
    "[processes]\n",
    "[[processes.x]]\n",
    "command = \"x\"\n",
    "command = [\"a\", \"b\"]\n",
    "command = []\n",
    "command = 1\n",
    "cwd = \".\"\n",
    "cwd = \"..\"\n",
    "env = { A = \"$A${B}\" }\n",
    "env_file = \".env\"\n",
    "env_file = [\"x\"]\n",
    "stop_signal = \"TERM\"\n",
    "stop_signal = 99\n",
    "stop_timeout = \"1x\"\n",
    "stop_timeout = 1e308\n",
    "stop_timeout = -0.0\n",
    "instances = 4294967295\n",
    "instances = 3\n",
    "port = 65535\n",
    "port = 0\n",
    "restart = \"always\"\n",
    "color = \"red\"\n",
    "depends_on = [\"web\"]\n",
    "depends_on = [\"w-2\", \"x\"]\n",
    "depends_on = { web = \"completed\", w-2 = \"started\" }\n",
    "depends_on = { x = \"redy\" }\n",
    "depends_on = 1\n",
    "ready = { tcp = \"$PORT\" }\n",
    "ready = { tcp = 0 }\n",
    "ready = { tcp = \"[::1]:\" }\n",
    "ready = { http = \"/up\", timeout = \"2m\" }\n",
    "ready = { http = \"http://[\" }\n",
    "ready = { http = \"https://x\" }\n",
    "ready = { exec = [\"$A\"], interval = 0 }\n",
    "ready = { log = \"${\" }\n",
    "ready = {}\n",
    "[processes.web.ready]\n",
    "tcp = 1\n",
    "log = \"x\"\n",
    "watch = [\"src/**\", \"[\"]\n",
    "watch = \"*.rs\"\n",
    "watch_ignore = [\"\"]\n",
    "watch_debounce = \"25h\"\n",
    "[processes.system]\n",
    "[processes.release]\n",
    "release: x\n",
    "system: x\n",
    "B = \"$A$A$A$A\"\n",
    "A = \"${\"\n",
    "\"\" = 1\n",
    "é = 1\n",
    "= \n",
    "[",
    "\"",
    "'''\n",
    "#",
    "\r\n",
    "\t",
];

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..12).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::toml(&bytes);
        fuzzing::procfile(&bytes);
        fuzzing::dotenv(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_text(text in "[a-z=:#'\"$\\{}\\[\\]\\\\ \n\r\t.é-]{0,80}") {
        fuzzing::toml(text.as_bytes());
        fuzzing::procfile(text.as_bytes());
        fuzzing::dotenv(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn load_never_panics(
        toml in document(),
        dotenv in "[A-Z=$'\"{}#\n ]{0,30}",
        port in any::<Option<u16>>(),
        formation in prop::option::of("(web|x|release|all)=[0-3]"),
    ) {
        let formation = formation.and_then(|f| f.parse().ok());
        let project = Project::toml(&toml)
            .file(".env", &dotenv)
            .with(|o| {
                o.port = port;
                o.formation = formation.clone();
            });
        match procmux::manifest::load(&project.options) {
            Ok(loaded) => { let _ = loaded.manifest.instances().count(); }
            Err(error) => { let _ = error.render(); }
        }
        let project = Project::procfile(&toml)
            .file(".env", &dotenv)
            .with(|o| o.formation = formation);
        if let Err(error) = procmux::manifest::load(&project.options) {
            let _ = error.render();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary addresses in `ready` checks: the hand-written URL and host:port readers.
    #[test]
    fn ready_addresses_never_panic(address in "(http://|HTTPS://|/|\\[)?[a-z0-9:\\[\\]@/?#.$é -]{0,24}") {
        for key in ["http", "tcp", "log"] {
            let text = format!(
                "[processes.web]\ncommand = \"x\"\ninstances = 2\nready = {{ {key} = {address:?} }}\n"
            );
            fuzzing::toml(text.as_bytes());
            match procmux::manifest::load(&Project::toml(&text).options) {
                Ok(loaded) => { let _ = loaded.manifest.start_order(); }
                Err(error) => { let _ = error.render(); }
            }
        }
    }
}
