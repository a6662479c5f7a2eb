//! foreman Procfile rules through `load`, one by one.

use procmux::manifest::{ErrorKind, ProcessCommand};

use crate::support::{Project, pairs, position};

fn commands(project: &Project) -> Vec<(String, String)> {
    project
        .load()
        .manifest
        .instances()
        .map(|i| match &i.command {
            ProcessCommand::Shell { command, .. } => (i.display_name.clone(), command.clone()),
            other => panic!("Procfile commands run through the shell: {other:?}"),
        })
        .collect()
}

#[test]
fn colons_in_commands() {
    let project = Project::procfile(
        "web: bundle exec rackup -p $PORT -o 0.0.0.0:8080\nurl:curl http://x:1/\n",
    );
    assert_eq!(
        commands(&project),
        pairs(&[
            ("web", "bundle exec rackup -p $PORT -o 0.0.0.0:8080"),
            ("url", "curl http://x:1/")
        ])
    );
}

#[test]
fn comments_and_blank_lines() {
    let project = Project::procfile(
        "# the stack\n\nweb: a # not a comment for foreman\n   # indented comment\n\t\nworker: b\n",
    );
    assert_eq!(
        commands(&project),
        pairs(&[("web", "a # not a comment for foreman"), ("worker", "b")])
    );
    assert!(project.load().warnings.is_empty());
}

#[test]
fn crlf_line_endings() {
    let project = Project::procfile("web: a\r\nworker: b c\r\n");
    assert_eq!(
        commands(&project),
        pairs(&[("web", "a"), ("worker", "b c")])
    );
}

#[test]
fn junk_lines_are_warnings() {
    let project = Project::procfile("web: a\nthis is junk\nweb.2: x\n");
    let loaded = project.load();
    let lines: Vec<(usize, String)> = loaded
        .warnings
        .iter()
        .map(|w| (w.location.as_ref().map_or(0, |l| l.line), w.to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                2,
                "ignored line: not a `name: command` entry at Procfile:2:1".to_owned()
            ),
            (
                3,
                "ignored line: not a `name: command` entry at Procfile:3:1".to_owned()
            ),
        ]
    );
}

#[test]
fn defaults_and_ports() {
    let project = Project::procfile("web: a\nworker: b\n").with(|o| o.port = Some(3000));
    let worker = project.instance("worker", 1);
    assert_eq!(worker.env["PORT"], "3100");
    assert_eq!(worker.stop_signal, procmux::supervisor::Signal::Terminate);
    assert_eq!(worker.stop_timeout, std::time::Duration::from_secs(5));
    assert_eq!(worker.cwd, project.path());
}

#[test]
fn procfiles_use_the_default_env_file() {
    let project = Project::procfile("web: a\n").file(".env", "A=1\n");
    assert_eq!(project.instance("web", 1).env["A"], "1");
}

#[test]
fn errors() {
    let cases: &[(&str, ErrorKind, (usize, usize), &str)] = &[
        (
            "web: a\nweb: b\n",
            ErrorKind::Duplicate,
            (2, 1),
            "process \"web\" is defined twice",
        ),
        (
            "web: a\nworker:\n",
            ErrorKind::InvalidValue,
            (2, 1),
            "empty command for process \"worker\"",
        ),
        (
            "web:    \t\n",
            ErrorKind::InvalidValue,
            (1, 1),
            "empty command for process \"web\"",
        ),
        (
            "",
            ErrorKind::NoProcesses,
            (0, 0),
            "Procfile defines no process",
        ),
        (
            "# nothing\njunk\n",
            ErrorKind::NoProcesses,
            (0, 0),
            "Procfile defines no process",
        ),
    ];
    for &(text, kind, at, message) in cases {
        let error = Project::procfile(text).error();
        assert_eq!(
            (error.kind, position(&error), error.message.as_str()),
            (kind, at, message),
            "{text:?}"
        );
    }
}
