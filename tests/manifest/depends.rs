//! `depends_on`: both shapes resolved in the order written, every error at the entry's line and
//! column, and the start order as levels.

use procmux::manifest::{Condition, Dependency, ErrorKind, Note};

use crate::support::{Project, position};

fn deps(list: &[(&str, Condition)]) -> Vec<Dependency> {
    list.iter()
        .map(|&(process, condition)| Dependency {
            process: process.into(),
            condition,
        })
        .collect()
}

const STACK: &str = r#"
[processes.db]
command = "postgres"

[processes.migrate]
command = "migrate"
depends_on = ["db"]

[processes.web]
command = "web"
instances = 2
depends_on = { migrate = "completed", db = "ready" }

[processes.worker]
command = "worker"
depends_on.web = "started"
"#;

#[test]
fn lists_and_tables_in_the_order_written() {
    let project = Project::toml(STACK);
    let loaded = project.load();
    let of = |name: &str, index: u32| {
        loaded
            .manifest
            .instances()
            .find(|i| i.process == name && i.index == index)
            .map(|i| i.depends_on.clone())
            .unwrap_or_else(|| panic!("{name}.{index}"))
    };
    assert_eq!(of("db", 1), deps(&[]));
    assert_eq!(of("migrate", 1), deps(&[("db", Condition::Ready)]));
    let web = deps(&[("migrate", Condition::Completed), ("db", Condition::Ready)]);
    assert_eq!(of("web", 1), web);
    assert_eq!(of("web", 2), web);
    assert_eq!(of("worker", 1), deps(&[("web", Condition::Started)]));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn start_order_as_levels() {
    let loaded = Project::toml(STACK).load();
    assert_eq!(
        loaded.manifest.start_order(),
        vec![vec!["db"], vec!["migrate"], vec!["web"], vec!["worker"]]
    );
    let loaded = Project::toml(
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"db\", \"cache\"]\n[processes.db]\ncommand = \"x\"\n[processes.cache]\ncommand = \"x\"\n[processes.off]\ncommand = \"x\"\ninstances = 0\n[processes.clock]\ncommand = \"x\"\n",
    )
    .load();
    assert_eq!(
        loaded.manifest.start_order(),
        vec![vec!["db", "cache", "clock"], vec!["web"]]
    );
}

#[test]
fn a_dependency_on_a_disabled_process_is_fine_when_the_dependent_is_disabled_too() {
    let project = Project::toml(
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"db\"]\n[processes.db]\ncommand = \"x\"\n",
    )
    .with(|o| o.formation = Some("web=0,db=0,all=1".parse().expect("formation")));
    assert_eq!(project.load().manifest.instances().count(), 0);
}

const WEB: &str = "[processes.web]\ncommand = \"x\"\n";
const API: &str = "[processes.api]\ncommand = \"x\"\n";

/// (manifest, kind, line, column, message)
const CASES: &[(&str, ErrorKind, usize, usize, &str)] = &[
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"apj\"]\n[processes.api]\ncommand = \"x\"\n",
        ErrorKind::InvalidValue,
        3,
        15,
        "unknown process \"apj\" in depends_on",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = { apj = \"ready\" }\n[processes.api]\ncommand = \"x\"\n",
        ErrorKind::InvalidValue,
        3,
        16,
        "unknown process \"apj\" in depends_on",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"web\"]\n",
        ErrorKind::InvalidValue,
        3,
        15,
        "process \"web\" depends on itself",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"api\", \"api\"]\n[processes.api]\ncommand = \"x\"\n",
        ErrorKind::Duplicate,
        3,
        22,
        "\"api\" is listed twice in depends_on",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"api\"]\n[processes.api]\ncommand = \"x\"\ninstances = 0\n",
        ErrorKind::InvalidValue,
        3,
        15,
        "web depends on api, which will not run (0 instances)",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = [\"api\"]\n[processes.api]\ncommand = \"x\"\ndepends_on = [\"web\"]\n",
        ErrorKind::InvalidValue,
        3,
        15,
        "dependency cycle: web -> api -> web",
    ),
    (
        "[processes.a]\ncommand = \"x\"\n[processes.web]\ncommand = \"x\"\ndepends_on = [\"a\", \"api\"]\n[processes.api]\ncommand = \"x\"\ndepends_on = [\"db\"]\n[processes.db]\ncommand = \"x\"\ndepends_on = { web = \"started\" }\n",
        ErrorKind::InvalidValue,
        5,
        20,
        "dependency cycle: web -> api -> db -> web",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = { api = \"redy\" }\n[processes.api]\ncommand = \"x\"\n",
        ErrorKind::InvalidValue,
        3,
        22,
        "unknown condition \"redy\", expected \"started\", \"ready\" or \"completed\"; did you mean \"ready\"?",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = \"api\"\n[processes.api]\ncommand = \"x\"\n",
        ErrorKind::InvalidValue,
        3,
        14,
        "invalid type: string \"api\", expected a list of process names, or a table of name = \"started\", \"ready\" or \"completed\"",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepends_on = [1]\n",
        ErrorKind::InvalidValue,
        3,
        15,
        "invalid type: integer `1`, expected a string",
    ),
];

#[test]
fn errors_have_kind_position_and_message() {
    let mut failures = Vec::new();
    for &(text, kind, line, column, message) in CASES {
        let error = Project::toml(text).error();
        let got = (error.kind, position(&error), error.message.as_str());
        if got != (kind, (line, column), message) {
            failures.push(format!(
                "{text:?}\n  expected {:?}\n  got      {got:?}",
                (kind, (line, column), message)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_names_suggest_the_nearest() {
    let error = Project::toml(&format!("{WEB}depends_on = [\"apj\"]\n{API}")).error();
    assert_eq!(
        error.notes,
        [
            Note::Help("did you mean \"api\"?".into()),
            Note::Note("the processes are \"web\" and \"api\"".into())
        ]
    );
}

#[test]
fn a_formation_that_disables_a_dependency_is_an_error_at_the_entry() {
    let error = Project::toml(&format!("{WEB}depends_on = [\"api\"]\n{API}"))
        .with(|o| o.formation = Some("api=0".parse().expect("formation")))
        .error();
    assert_eq!(
        (position(&error), error.message.as_str()),
        (
            (3, 15),
            "web depends on api, which will not run (0 instances)"
        )
    );
    assert_eq!(
        error.notes,
        [Note::Help(
            "give api instances (`instances`, or -m api=1), or remove it from depends_on".into()
        )]
    );
}

#[test]
fn a_long_chain_loads() {
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("[processes.p{i}]\ncommand = \"x\"\n"));
        if i > 0 {
            text.push_str(&format!("depends_on = [\"p{}\"]\n", i - 1));
        }
    }
    let loaded = Project::toml(&text).with(|o| o.port = Some(1)).load();
    assert_eq!(loaded.manifest.start_order().len(), 2000);
}
