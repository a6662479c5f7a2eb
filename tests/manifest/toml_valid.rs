//! Valid `procmux.toml` files and the exact instances they resolve to.

use std::time::Duration;

use procmux::manifest::{
    Condition, Dependency, InstanceSpec, ProcessColor, ProcessCommand, ReadyCheck, ReadyKind,
    RestartPolicy,
};
use procmux::supervisor::Signal;

use crate::support::{Project, env};

#[test]
fn every_key() {
    let project = Project::toml(
        r#"
[settings]
shell = "/bin/bash"
stop_signal = "QUIT"
stop_timeout = "2s"
port = 4000
timestamps = false
watch_debounce = "250ms"

[env]
RUST_LOG = "info"

[processes.web]
command = ["bin/web", "--port", "3000"]
cwd = "services/web"
env = { RAILS_ENV = "development" }
env_file = ".env.web"
stop_signal = "INT"
stop_timeout = "10s"
instances = 2
restart = "on-failure"
max_restarts = 10
can_die = true
autostart = false
port = 3000
color = "bright_cyan"
depends_on = { worker = "started" }
ready = { tcp = "$PORT", interval = "1s" }
watch = "app/**/*.rb"
watch_ignore = ["tmp/**"]

[processes.worker]
command = "bundle exec sidekiq"
"#,
    )
    .dir("services/web")
    .file(".env.web", "SECRET=s3cret\n");
    let loaded = project.load();
    let manifest = &loaded.manifest;
    assert_eq!(manifest.settings.root, project.path());
    assert_eq!(manifest.settings.timestamps, Some(false));
    let names: Vec<&str> = manifest.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "worker"]);
    let web2 = manifest.processes[0].instances[1].clone();
    assert_eq!(
        web2,
        InstanceSpec {
            process: "web".into(),
            index: 2,
            display_name: "web.2".into(),
            command: ProcessCommand::Exec {
                program: "bin/web".into(),
                args: vec!["--port".into(), "3000".into()],
            },
            cwd: project.join("services/web"),
            env: env(&[
                ("PORT", "3001"),
                ("PS", "web.2"),
                ("RAILS_ENV", "development"),
                ("RUST_LOG", "info"),
                ("SECRET", "s3cret"),
            ]),
            stop_signal: Signal::Interrupt,
            stop_timeout: Duration::from_secs(10),
            restart: RestartPolicy::OnFailure,
            max_restarts: Some(10),
            can_die: true,
            autostart: false,
            color: Some(ProcessColor::BrightCyan),
            depends_on: vec![Dependency {
                process: "worker".into(),
                condition: Condition::Started,
            }],
            ready: Some(ReadyCheck {
                kind: ReadyKind::Tcp {
                    host: "127.0.0.1".into(),
                    port: 3001,
                },
                interval: Duration::from_secs(1),
                initial_delay: ReadyCheck::DEFAULT_INITIAL_DELAY,
                attempt_timeout: ReadyCheck::DEFAULT_ATTEMPT_TIMEOUT,
                timeout: ReadyCheck::DEFAULT_TIMEOUT,
            }),
            watch: vec!["app/**/*.rb".into()],
            watch_ignore: vec!["tmp/**".into()],
        }
    );
    assert_eq!(manifest.settings.watch_debounce, Duration::from_millis(250));
    let worker = &manifest.processes[1].instances[0];
    assert_eq!(
        worker.command,
        ProcessCommand::Shell {
            shell: "/bin/bash".into(),
            command: "bundle exec sidekiq".into()
        }
    );
    assert_eq!(worker.display_name, "worker");
    assert_eq!(worker.stop_signal, Signal::Quit);
    assert_eq!(worker.stop_timeout, Duration::from_secs(2));
    assert_eq!(worker.env["PORT"], "4100");
    assert_eq!(
        loaded.sources,
        [
            project.join("procmux.toml"),
            project.join(".env"),
            project.join(".env.web")
        ]
    );
    assert!(loaded.warnings.is_empty());
}

#[test]
fn defaults() {
    let project = Project::toml("[processes.web]\ncommand = \"run\"\n");
    let web = project.instance("web", 1);
    assert_eq!(
        web,
        InstanceSpec {
            process: "web".into(),
            index: 1,
            display_name: "web".into(),
            command: ProcessCommand::Shell {
                shell: "sh".into(),
                command: "run".into()
            },
            cwd: project.path().to_path_buf(),
            env: env(&[("PORT", "5000"), ("PS", "web.1")]),
            stop_signal: Signal::Terminate,
            stop_timeout: Duration::from_secs(5),
            restart: RestartPolicy::No,
            max_restarts: None,
            can_die: false,
            autostart: true,
            color: None,
            depends_on: Vec::new(),
            ready: None,
            watch: Vec::new(),
            watch_ignore: Vec::new(),
        }
    );
    // The default .env is looked for even when absent, so a watcher can see it appear.
    assert_eq!(
        project.load().sources,
        [project.join("procmux.toml"), project.join(".env")]
    );
}

#[test]
fn durations_and_signals_in_every_spelling() {
    let cases = [
        ("\"500ms\"", Duration::from_millis(500)),
        ("\"5s\"", Duration::from_secs(5)),
        ("\"1m\"", Duration::from_secs(60)),
        ("\"1m 30s\"", Duration::from_secs(90)),
        ("2", Duration::from_secs(2)),
        ("0.25", Duration::from_millis(250)),
        ("0", Duration::ZERO),
    ];
    for (written, expected) in cases {
        let text = format!("[processes.web]\ncommand = \"x\"\nstop_timeout = {written}\n");
        assert_eq!(
            Project::toml(&text).instance("web", 1).stop_timeout,
            expected,
            "{written}"
        );
    }
    for (written, expected) in [
        ("\"TERM\"", Signal::Terminate),
        ("\"SIGINT\"", Signal::Interrupt),
        ("\"hup\"", Signal::Hangup),
        ("9", Signal::ForceStop),
        ("\"15\"", Signal::Terminate),
    ] {
        let text = format!("[processes.web]\ncommand = \"x\"\nstop_signal = {written}\n");
        assert_eq!(
            Project::toml(&text).instance("web", 1).stop_signal,
            expected,
            "{written}"
        );
    }
}

#[test]
fn processes_keep_file_order() {
    let project = Project::toml(
        "[processes.zeta]\ncommand = \"z\"\n[processes.alpha]\ncommand = \"a\"\n[processes.mid]\ncommand = \"m\"\n",
    );
    let loaded = project.load();
    let order: Vec<(&str, usize, &str)> = loaded
        .manifest
        .processes
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.index,
                p.instances[0].env["PORT"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("zeta", 0, "5000"),
            ("alpha", 1, "5100"),
            ("mid", 2, "5200")
        ]
    );
}

#[test]
fn dotted_and_inline_tables() {
    let project =
        Project::toml("[processes]\nb = { command = \"b\" }\na.command = \"a\"\na.instances = 2\n");
    let loaded = project.load();
    let names: Vec<&str> = loaded
        .manifest
        .instances()
        .map(|i| i.display_name.as_str())
        .collect();
    assert_eq!(names, ["b", "a.1", "a.2"]);
}

#[test]
fn instances_and_display_names() {
    let project = Project::toml(
        "[processes.web]\ncommand = \"x\"\ninstances = 3\n[processes.off]\ncommand = \"y\"\ninstances = 0\n",
    );
    let loaded = project.load();
    let names: Vec<(&str, &str, &str)> = loaded
        .manifest
        .instances()
        .map(|i| {
            (
                i.display_name.as_str(),
                i.env["PS"].as_str(),
                i.env["PORT"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("web.1", "web.1", "5000"),
            ("web.2", "web.2", "5001"),
            ("web.3", "web.3", "5002")
        ]
    );
    let off = loaded.manifest.process("off").expect("off is kept");
    assert!(off.instances.is_empty());
    assert_eq!(off.index, 1);
}

#[test]
fn env_values_may_be_numbers_and_booleans() {
    let project =
        Project::toml("[env]\nA = 1\nB = 2.5\nC = true\n[processes.web]\ncommand = \"x\"\n");
    let web = project.instance("web", 1);
    assert_eq!(
        (&*web.env["A"], &*web.env["B"], &*web.env["C"]),
        ("1", "2.5", "true")
    );
}

#[test]
fn flags_beat_settings_and_processes_beat_flags() {
    let text = "[settings]\nshell = \"bash\"\nstop_timeout = 7\n[processes.a]\ncommand = \"x\"\n[processes.b]\ncommand = \"y\"\nstop_timeout = 1\n";
    let project = Project::toml(text).with(|o| {
        o.shell = Some("zsh".into());
        o.default_stop_timeout = Some(Duration::from_secs(9));
    });
    let a = project.instance("a", 1);
    assert_eq!(a.stop_timeout, Duration::from_secs(9));
    assert_eq!(a.command.argv(), ["zsh", "-c", "x"]);
    assert_eq!(
        project.instance("b", 1).stop_timeout,
        Duration::from_secs(1)
    );
    let project = Project::toml(text);
    assert_eq!(
        project.instance("a", 1).stop_timeout,
        Duration::from_secs(7)
    );
    assert_eq!(project.instance("a", 1).command.argv(), ["bash", "-c", "x"]);
}

#[test]
fn cosmetic_edits_give_an_equal_manifest() {
    let before = Project::toml(
        "[processes.web]\ncommand = \"x\"\nport = 3000\n\n[processes.worker]\ncommand = \"y\"\n",
    )
    .load();
    let after = Project::toml(
        "# a comment\n[processes.web]\nport = 3000   # fixed\ncommand = 'x'\n\n\n[processes.worker]\ncommand = \"y\"\n",
    )
    .load();
    // Different temporary roots: compare what does not depend on them.
    let strip = |loaded: &procmux::manifest::Loaded| {
        loaded
            .manifest
            .instances()
            .map(|i| {
                (
                    i.display_name.clone(),
                    i.command.clone(),
                    i.env.clone(),
                    i.stop_timeout,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&before), strip(&after));
    let project = Project::toml("[processes.web]\ncommand = \"x\"\n");
    let first = project.load().manifest;
    let project = project.file(
        "procmux.toml",
        "# moved\n\n[processes.web]\n  command = \"x\" # c\n",
    );
    assert_eq!(project.load().manifest, first);
}

#[test]
fn explicit_file_and_root() {
    let project = Project::new()
        .file(
            "config/stack.toml",
            "[processes.web]\ncommand = \"x\"\ncwd = \"app\"\n",
        )
        .dir("config/app")
        .dir("elsewhere/app")
        .with(|o| o.file = Some("config/stack.toml".into()));
    assert_eq!(project.instance("web", 1).cwd, project.join("config/app"));
    let project = project.with(|o| o.root = Some("elsewhere".into()));
    assert_eq!(
        project.instance("web", 1).cwd,
        project.join("elsewhere/app")
    );
}

#[test]
fn a_non_toml_name_is_a_procfile() {
    let project = Project::new()
        .file("Procfile.dev", "web: run\n")
        .with(|o| o.file = Some("Procfile.dev".into()));
    assert_eq!(
        project.instance("web", 1).command.argv(),
        ["sh", "-c", "run"]
    );
}

#[test]
fn procmux_toml_is_preferred_to_procfile() {
    let project = Project::toml("[processes.fromtoml]\ncommand = \"x\"\n")
        .file("Procfile", "fromprocfile: y\n");
    assert!(project.load().manifest.process("fromtoml").is_some());
}

#[test]
fn a_second_instance_renames_but_does_not_change_the_first() {
    let one = Project::toml("[processes.web]\ncommand = \"x\"\n");
    let before = one.instance("web", 1);
    let two = one.file(
        "procmux.toml",
        "[processes.web]\ncommand = \"x\"\ninstances = 2\n",
    );
    let after = two.instance("web", 1);
    assert_ne!(before, after);
    assert!(before.runs_same_as(&after));
    assert!(!after.runs_same_as(&two.instance("web", 2)));
}
