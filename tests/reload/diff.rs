//! `diff(old, new)` on manifests loaded from real files: which instances a reload adds,
//! restarts and removes.

use std::collections::BTreeMap;

use procmux::coordinator::{InstanceKey, ReloadPlan, diff};
use procmux::manifest::{LoadOptions, Manifest, load};

/// A project folder; both sides of a diff are loaded from it, so their paths agree.
struct Project(tempfile::TempDir);

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        Self(dir)
    }

    /// Writes the files and loads `procmux.toml`.
    fn load(&self, files: &[(&str, &str)]) -> Manifest {
        for (name, text) in files {
            std::fs::write(self.0.path().join(name), text).unwrap();
        }
        let options = LoadOptions {
            cwd: self.0.path().to_owned(),
            inherited_env: BTreeMap::new(),
            ..LoadOptions::default()
        };
        load(&options)
            .unwrap_or_else(|e| panic!("{}", e.render()))
            .manifest
    }
}

fn names(plan: &ReloadPlan) -> (Vec<String>, Vec<String>, Vec<String>) {
    let display = |specs: &[procmux::manifest::InstanceSpec]| {
        specs.iter().map(|s| s.display_name.clone()).collect()
    };
    let removed = plan
        .removed
        .iter()
        .map(|InstanceKey { process, index }| format!("{process}#{index}"))
        .collect();
    (display(&plan.added), display(&plan.changed), removed)
}

const BASE: &str = "\
[processes.web]
command = \"sleep 1000\"
cwd = \"sub\"

[processes.worker]
command = \"sleep 2000\"
env_file = \".env.worker\"
";

fn base_with(project: &Project, edit: impl Fn(&str) -> String, env_worker: &str) -> Manifest {
    project.load(&[("procmux.toml", &edit(BASE)), (".env.worker", env_worker)])
}

#[test]
fn each_kind_of_edit_changes_exactly_the_instances_it_touches() {
    type Edit = Box<dyn Fn(&str) -> String>;
    type Case = (
        &'static str,
        Edit,
        &'static str,
        (
            &'static [&'static str],
            &'static [&'static str],
            &'static [&'static str],
        ),
    );
    let mail = "QUEUE=mail\n";
    let cases: Vec<Case> = vec![
        (
            "command",
            Box::new(|t| t.replace("sleep 2000", "sleep 2001")),
            mail,
            (&[], &["worker"], &[]),
        ),
        (
            "env through an env file",
            Box::new(str::to_owned),
            "QUEUE=default\n",
            (&[], &["worker"], &[]),
        ),
        (
            "cwd",
            Box::new(|t| t.replace("cwd = \"sub\"", "cwd = \".\"")),
            mail,
            (&[], &["web"], &[]),
        ),
        (
            "stop signal",
            Box::new(|t| t.replace("cwd = \"sub\"", "cwd = \"sub\"\nstop_signal = \"INT\"")),
            mail,
            (&[], &["web"], &[]),
        ),
        (
            "grace",
            Box::new(|t| format!("{t}stop_timeout = \"9s\"\n")),
            mail,
            (&[], &["worker"], &[]),
        ),
        (
            "restart policy",
            Box::new(|t| format!("{t}restart = \"always\"\n")),
            mail,
            (&[], &["worker"], &[]),
        ),
        (
            "rename (remove + add)",
            Box::new(|t| t.replace("[processes.worker]", "[processes.jobs]")),
            mail,
            (&["jobs"], &[], &["worker#1"]),
        ),
        (
            "comments, blank lines and key order",
            Box::new(|_| {
                "# the web server\n[processes.web]\ncwd = \"sub\"   # where it runs\n\
                 command = \"sleep 1000\"\n\n\n[processes.worker]\nenv_file = \".env.worker\"\n\
                 command = \"sleep 2000\"\n"
                    .to_owned()
            }),
            "# a comment\nQUEUE=mail\n",
            (&[], &[], &[]),
        ),
    ];
    for (what, edit, env_worker, (added, changed, removed)) in cases {
        let project = Project::new();
        let old = base_with(&project, |t| t.to_owned(), "QUEUE=mail\n");
        let new = base_with(&project, edit, env_worker);
        let plan = diff(&old, &new);
        assert_eq!(
            names(&plan),
            (
                added.iter().map(|s| (*s).to_owned()).collect(),
                changed.iter().map(|s| (*s).to_owned()).collect(),
                removed.iter().map(|s| (*s).to_owned()).collect()
            ),
            "{what}"
        );
    }
}

#[test]
fn scaling_touches_only_the_instances_that_come_and_go() {
    let project = Project::new();
    let with = |n: u32| {
        project.load(&[(
            "procmux.toml",
            &format!("[processes.web]\ncommand = \"sleep 1000\"\ninstances = {n}\n"),
        )])
    };
    let up = diff(&with(2), &with(3));
    assert_eq!(names(&up), (vec!["web.3".into()], vec![], vec![]));

    let down = diff(&with(3), &with(1));
    assert_eq!(
        names(&down),
        (vec![], vec![], vec!["web#2".into(), "web#3".into()])
    );
    // web.1 becomes plain `web`: a new label, not a restart.
    assert_eq!(down.relabeled.len(), 1);
    assert_eq!(down.relabeled[0].display_name, "web");

    assert!(diff(&with(1), &with(2)).changed.is_empty());
}

#[test]
fn the_same_files_give_an_empty_plan() {
    let project = Project::new();
    let old = base_with(&project, |t| t.to_owned(), "QUEUE=mail\n");
    let new = base_with(&project, |t| t.to_owned(), "QUEUE=mail\n");
    assert!(diff(&old, &new).is_empty());
}
