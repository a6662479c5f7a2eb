//! What foreman, honcho and Heroku users expect (foreman-users.md), and the load's warnings:
//! `release`, discovery and its notices, `-e` replacing `.env`, the reserved `system`, PORTs
//! past 65535, missing `cwd` folders and variables defined nowhere.

use procmux::manifest::{ErrorKind, Note};

use crate::support::{Project, pairs, position};

/// (display name, PORT or "-", autostart) of every instance.
fn summary(project: &Project) -> Vec<(String, String, bool)> {
    project
        .load()
        .manifest
        .instances()
        .map(|i| {
            (
                i.display_name.clone(),
                i.env.get("PORT").cloned().unwrap_or_else(|| "-".into()),
                i.autostart,
            )
        })
        .collect()
}

fn row(name: &str, port: &str, autostart: bool) -> (String, String, bool) {
    (name.into(), port.into(), autostart)
}

const RELEASE_NOTICE: &str = "release is a Heroku release-phase command: not started (run it with `procmux run release`, or -m release=1)";

#[test]
fn a_procfile_release_is_not_started_and_takes_no_port() {
    let project = Project::procfile("web: a\nrelease: bin/migrate\nworker: b\n");
    assert_eq!(
        summary(&project),
        [
            row("web", "5000", true),
            row("release", "-", false),
            row("worker", "5100", true)
        ]
    );
    assert_eq!(
        project.load().notices,
        ["using Procfile (no procmux.toml here)", RELEASE_NOTICE]
    );
    // Named by the formation, it runs (still without a PORT slot) and nothing is said.
    let named = project.with(|o| o.formation = Some("release=1".parse().expect("formation")));
    assert_eq!(summary(&named)[1], row("release", "-", true));
    assert!(
        !named
            .load()
            .notices
            .iter()
            .any(|n| n.contains("release-phase"))
    );
    // `all=1` does not name it; `release=0` disables it without a notice.
    let all = named.with(|o| o.formation = Some("all=1".parse().expect("formation")));
    assert_eq!(summary(&all)[1], row("release", "-", false));
    let off = all.with(|o| o.formation = Some("release=0".parse().expect("formation")));
    assert!(
        !off.load()
            .notices
            .iter()
            .any(|n| n.contains("release-phase"))
    );
}

#[test]
fn a_toml_release_is_an_ordinary_process() {
    let project = Project::toml(
        "[processes.release]\ncommand = \"migrate\"\n[processes.web]\ncommand = \"x\"\n",
    );
    assert_eq!(
        summary(&project),
        [row("release", "5000", true), row("web", "5100", true)]
    );
    assert!(project.load().notices.is_empty());
}

#[test]
fn discovery_order_and_notices() {
    let toml = "[processes.fromtoml]\ncommand = \"x\"\n";
    // (files, the process that must be loaded, the notices)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        (&[("procmux.toml", toml)], "fromtoml", &[]),
        (
            &[("Procfile", "procfile: x\n")],
            "procfile",
            &["using Procfile (no procmux.toml here)"],
        ),
        (
            &[("Procfile.dev", "dev: x\n")],
            "dev",
            &["using Procfile.dev (no procmux.toml or Procfile here)"],
        ),
        (
            &[("procmux.toml", toml), ("Procfile", "procfile: x\n")],
            "fromtoml",
            &["using procmux.toml; Procfile is ignored (use it with -f Procfile)"],
        ),
        (
            &[("Procfile", "procfile: x\n"), ("Procfile.dev", "dev: x\n")],
            "procfile",
            &[
                "using Procfile (no procmux.toml here)",
                "using Procfile; Procfile.dev is ignored (use it with -f Procfile.dev)",
            ],
        ),
    ];
    for &(files, process, notices) in cases {
        let project = files.iter().fold(Project::new(), |project, (name, text)| {
            project.file(name, text)
        });
        let loaded = project.load();
        assert!(loaded.manifest.process(process).is_some(), "{files:?}");
        assert_eq!(loaded.notices, notices, "{files:?}");
    }
    // Naming the file turns discovery, and its notices, off.
    let project = Project::procfile("web: x\n")
        .file("procmux.toml", toml)
        .with(|o| o.file = Some("Procfile".into()));
    let loaded = project.load();
    assert!(loaded.manifest.process("web").is_some());
    assert!(loaded.notices.is_empty());
}

#[test]
fn an_env_flag_replaces_the_default_env_file() {
    let project = Project::procfile("web: x\n")
        .file(".env", "A=from-dotenv\n")
        .file("other.env", "B=from-flag\n")
        .with(|o| o.env_files = vec!["other.env".into()]);
    let web = project.instance("web", 1);
    assert_eq!(web.env.get("A"), None);
    assert_eq!(web.env["B"], "from-flag");
    assert_eq!(
        project.load().sources,
        [project.join("Procfile"), project.join("other.env")]
    );
    // settings.env_file still loads, before the flag's files.
    let project =
        Project::toml("[settings]\nenv_file = \"base.env\"\n[processes.web]\ncommand = \"x\"\n")
            .file(".env", "A=from-dotenv\n")
            .file("base.env", "B=from-settings\nC=from-settings\n")
            .file("other.env", "B=from-flag\n")
            .with(|o| o.env_files = vec!["other.env".into()]);
    let web = project.instance("web", 1);
    assert_eq!(
        (web.env.get("A"), &*web.env["B"], &*web.env["C"]),
        (None, "from-flag", "from-settings")
    );
}

#[test]
fn system_is_reserved() {
    let error = Project::toml("[processes.system]\ncommand = \"x\"\n").error();
    assert_eq!(
        (error.kind, position(&error), error.message.as_str()),
        (
            ErrorKind::InvalidValue,
            (1, 12),
            "the process name \"system\" is reserved"
        )
    );
    assert_eq!(
        error.notes,
        [Note::Help(
            "procmux prints its own messages as \"system\"; give this process another name".into()
        )]
    );
    let error = Project::procfile("web: a\nsystem: b\n").error();
    assert_eq!(position(&error), (2, 1));
    // Only the exact name.
    assert!(
        Project::procfile("systemd: a\nSystem: b\n")
            .load()
            .warnings
            .is_empty()
    );
}

#[test]
fn ports_past_65535_are_a_warning_and_no_port() {
    let project = Project::toml(
        "[settings]\nport = 65500\n[processes.a]\ncommand = \"x\"\n[processes.b]\ncommand = \"x\"\n[processes.c]\ncommand = \"x\"\nport = 3000\n",
    );
    assert_eq!(
        summary(&project),
        [
            row("a", "65500", true),
            row("b", "-", true),
            row("c", "3000", true)
        ]
    );
    let loaded = project.load();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "PORT of b.1 would be 65600, above 65535: processes from b on get no PORT at procmux.toml:5:12"
        ]
    );
    let project = Project::toml("[processes.web]\ncommand = \"x\"\ninstances = 2\n")
        .with(|o| o.port = Some(65535));
    assert_eq!(
        summary(&project),
        [row("web.1", "65535", true), row("web.2", "-", true)]
    );
    assert_eq!(
        project.load().warnings[0].message,
        "PORT of web.2 would be 65536, above 65535: processes from web on get no PORT"
    );
}

#[test]
fn a_procfile_with_700_entries_loads() {
    let text: String = (0..700).map(|i| format!("p{i}: x\n")).collect();
    let project = Project::procfile(&text);
    let loaded = project.load();
    assert_eq!(loaded.manifest.instances().count(), 700);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(
        loaded.warnings[0].to_string(),
        "PORT of p606.1 would be 65600, above 65535: processes from p606 on get no PORT at Procfile:607:1"
    );
    let ports: Vec<Option<u16>> = loaded.manifest.instances().map(|i| i.port()).collect();
    assert_eq!(ports[605], Some(65500));
    assert!(ports[606..].iter().all(Option::is_none));
}

#[test]
fn a_missing_cwd_is_a_warning() {
    let project = Project::toml(
        "[processes.web]\ncommand = \"x\"\ncwd = \"services/web\"\n[processes.file]\ncommand = \"x\"\ncwd = \"procmux.toml\"\n",
    );
    let loaded = project.load();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "no such folder: services/web (cwd) at procmux.toml:3:7",
            "not a folder: procmux.toml (cwd) at procmux.toml:6:7",
        ]
    );
    assert_eq!(project.instance("web", 1).cwd, project.join("services/web"));
}

#[test]
fn undefined_variables_are_warnings_with_file_line_and_column() {
    let project = Project::toml(
        "[env]\nGREETING = \"Hello ${UNDEFINED}!\"\nURL = \"http://localhost:$PORT\"\n[processes.web]\ncommand = \"x\"\nenv_file = \"shared.env\"\n[processes.worker]\ncommand = \"y\"\nenv_file = \"shared.env\"\n",
    )
    .file(".env", "A=1\nPASSWORD=pa$$word\nLITERAL='pa$$word'\nESCAPED=pa\\$\\$word\n")
    .file("shared.env", "X=$NOPE\n");
    let loaded = project.load();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "undefined variable word: it expands to nothing at .env:2:13",
            "undefined variable UNDEFINED: it expands to nothing at procmux.toml:2:19",
            "undefined variable PORT: it expands to nothing at procmux.toml:3:25",
            // Read for web and for worker: said once.
            "undefined variable NOPE: it expands to nothing at shared.env:1:3",
        ]
    );
    assert_eq!(
        loaded.warnings[0].notes,
        [Note::Help(
            r"for a literal $, write \$, or put the value in single quotes".into()
        )]
    );
    assert_eq!(
        loaded.warnings[1].notes,
        [Note::Help(
            r#"for a literal $, write \$ (in a TOML string: "\\$" or '\$')"#.into()
        )]
    );
    assert_eq!(loaded.warnings[2].notes.len(), 2);
    let web = project.instance("web", 1);
    assert_eq!(
        pairs(&[
            ("GREETING", &web.env["GREETING"]),
            ("PASSWORD", &web.env["PASSWORD"]),
            ("LITERAL", &web.env["LITERAL"]),
            ("ESCAPED", &web.env["ESCAPED"]),
        ]),
        pairs(&[
            ("GREETING", "Hello !"),
            ("PASSWORD", "pa$"),
            ("LITERAL", "pa$$word"),
            ("ESCAPED", "pa$$word"),
        ])
    );
}
