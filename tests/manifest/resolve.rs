//! Env precedence, `${VAR}` expansion, PORT, PS and the formation, through `load`.

use procmux::manifest::{ErrorKind, Formation, Note};

use crate::support::{Project, env, pairs, position};

/// Every layer sets `L` and a layer-named key; each layer sees the one below in `${L}`.
#[test]
fn env_precedence_lowest_first() {
    let project = Project::toml(
        r#"
[settings]
env_file = [".env.settings"]

[env]
L = "env<${L}>"
E = "1"

[processes.web]
command = "x"
env_file = ".env.process"
env = { L = "process<${L}>", P = "1" }
"#,
    )
    .file(".env.settings", "L=settings<${L}>\nS=1\n")
    .file(".env.flag", "L=flag<${L}>\nF=1\n")
    .file(".env.process", "L=pfile<${L}>\nPF=1\n")
    .file(".env", "IGNORED=because settings.env_file is set\n")
    .with(|o| {
        o.inherited_env.insert("L".into(), "inherited".into());
        o.env_files = vec![".env.flag".into()];
    });
    let web = project.instance("web", 1);
    assert_eq!(
        web.env,
        env(&[
            ("E", "1"),
            ("F", "1"),
            ("L", "process<pfile<env<flag<settings<inherited>>>>>"),
            ("P", "1"),
            ("PF", "1"),
            ("PORT", "5000"),
            ("PS", "web.1"),
            ("S", "1"),
        ])
    );
    let sources = project.load().sources;
    assert_eq!(
        sources,
        [
            project.join("procmux.toml"),
            project.join(".env.settings"),
            project.join(".env.flag"),
            project.join(".env.process"),
        ]
    );
}

#[test]
fn the_default_env_file_is_loaded_when_present() {
    let project = Project::toml("[processes.web]\ncommand = \"x\"\n").file(".env", "A=$HOME/a\n");
    assert_eq!(project.instance("web", 1).env["A"], "/home/test/a");
}

#[test]
fn inherited_variables_are_not_copied() {
    let project = Project::toml("[processes.web]\ncommand = \"x\"\n");
    assert!(!project.instance("web", 1).env.contains_key("HOME"));
}

#[test]
fn a_missing_flag_env_file_is_an_error() {
    let error = Project::toml("[processes.web]\ncommand = \"x\"\n")
        .with(|o| o.env_files = vec!["nope.env".into()])
        .error();
    assert_eq!(error.kind, ErrorKind::MissingEnvFile);
    assert_eq!(error.message, "env file not found: nope.env");
}

#[test]
fn env_file_errors_point_into_the_env_file() {
    let error = Project::toml("[processes.web]\ncommand = \"x\"\n")
        .file(".env", "A=1\nB=\"open\n")
        .error();
    assert_eq!(error.kind, ErrorKind::Syntax);
    let location = error.location.as_deref().expect("location");
    assert_eq!(location.path.to_str(), Some(".env"));
    assert_eq!((location.line, location.column), (2, 3));
}

const TWO: &str =
    "[processes.web]\ncommand = \"x\"\ninstances = 2\n[processes.worker]\ncommand = \"y\"\n";

fn ports(project: &Project) -> Vec<(String, String)> {
    project
        .load()
        .manifest
        .instances()
        .map(|i| {
            (
                i.env["PS"].clone(),
                i.env.get("PORT").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn base_port_precedence() {
    let expect = |base: u32| {
        pairs(&[
            ("web.1", &base.to_string()),
            ("web.2", &(base + 1).to_string()),
            ("worker.1", &(base + 100).to_string()),
        ])
    };
    let project = Project::toml(TWO);
    assert_eq!(ports(&project), expect(5000));
    let project = project.with(|o| {
        o.inherited_env.insert("PORT".into(), "6000".into());
    });
    assert_eq!(ports(&project), expect(6000));
    let project = project.file(".env", "PORT=7000\n");
    assert_eq!(ports(&project), expect(7000));
    let project = project.file("procmux.toml", &format!("[settings]\nport = 8000\n{TWO}"));
    assert_eq!(ports(&project), expect(8000));
    let project = project.with(|o| o.port = Some(9000));
    assert_eq!(ports(&project), expect(9000));
}

#[test]
fn fixed_and_own_ports() {
    let project = Project::toml(
        "[processes.a]\ncommand = \"x\"\nport = 3000\ninstances = 2\n[processes.b]\ncommand = \"x\"\nenv = { PORT = \"1234\" }\ninstances = 2\n[processes.c]\ncommand = \"x\"\nenv_file = \"c.env\"\n[processes.d]\ncommand = \"x\"\n",
    )
    .file("c.env", "PORT=4321\n");
    assert_eq!(
        ports(&project),
        pairs(&[
            ("a.1", "3000"),
            ("a.2", "3001"),
            ("b.1", "1234"),
            ("b.2", "1234"),
            ("c.1", "4321"),
            ("d.1", "5300"),
        ])
    );
}

#[test]
fn an_invalid_inherited_port_is_a_warning() {
    let project = Project::toml(TWO).with(|o| {
        o.inherited_env.insert("PORT".into(), "abc".into());
    });
    let loaded = project.load();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(ports(&project)[0].1, "5000");
    let error = Project::toml(TWO).file(".env", "PORT=abc\n").error();
    assert_eq!(error.kind, ErrorKind::InvalidValue);
}

#[test]
fn formation_overrides_instances() {
    let project = Project::toml(
        "[processes.web]\ncommand = \"x\"\n[processes.worker]\ncommand = \"y\"\ninstances = 3\n[processes.clock]\ncommand = \"z\"\n",
    );
    let formation = |text: &str| Some(text.parse::<Formation>().expect("formation"));
    let names = |project: &Project| {
        project
            .load()
            .manifest
            .instances()
            .map(|i| i.display_name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&project),
        ["web", "worker.1", "worker.2", "worker.3", "clock"]
    );
    let project = project.with(|o| o.formation = formation("web=2,worker=0"));
    assert_eq!(names(&project), ["web.1", "web.2", "clock"]);
    let project = project.with(|o| o.formation = formation("web=2,all=0"));
    assert_eq!(names(&project), ["web.1", "web.2"]);
    // Disabled processes keep their place in the PORT rule.
    let project = project.with(|o| o.formation = formation("web=0,worker=0"));
    assert_eq!(ports(&project), pairs(&[("clock.1", "5200")]));
}

#[test]
fn formation_names_must_exist() {
    let error =
        Project::toml("[processes.web]\ncommand = \"x\"\n[processes.worker]\ncommand = \"y\"\n")
            .with(|o| o.formation = Some("wbe=2".parse().expect("formation")))
            .error();
    assert_eq!(error.kind, ErrorKind::Formation);
    assert_eq!(error.message, "unknown process \"wbe\" in the formation");
    assert_eq!(error.notes[0], Note::Help("did you mean \"web\"?".into()));
    assert_eq!(position(&error), (0, 0));
}
