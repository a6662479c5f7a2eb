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
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn load_never_panics(toml in document(), dotenv in "[A-Z=$'\"{}#\n ]{0,30}", port in any::<Option<u16>>()) {
        let project = Project::toml(&toml).file(".env", &dotenv).with(|o| o.port = port);
        match procmux::manifest::load(&project.options) {
            Ok(loaded) => { let _ = loaded.manifest.instances().count(); }
            Err(error) => { let _ = error.render(); }
        }
        let project = Project::procfile(&toml).file(".env", &dotenv);
        if let Err(error) = procmux::manifest::load(&project.options) {
            let _ = error.render();
        }
    }
}
