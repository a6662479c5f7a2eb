//! `watch`, `watch_ignore` and `settings.watch_debounce`.

use std::time::Duration;

use procmux::manifest::ErrorKind;

use crate::support::{Project, position};

const WEB: &str = "[processes.web]\ncommand = \"x\"\ninstances = 2\n";

#[test]
fn globs_as_written_for_every_instance() {
    let project = Project::toml(&format!(
        "{WEB}watch = [\"src/**/*.rs\", \"Cargo.toml\"]\nwatch_ignore = \"**/*.snap\"\n"
    ));
    for index in [1, 2] {
        let web = project.instance("web", index);
        assert_eq!(web.watch, ["src/**/*.rs", "Cargo.toml"]);
        assert_eq!(web.watch_ignore, ["**/*.snap"]);
    }
    let plain = Project::toml(WEB).instance("web", 1);
    assert!(plain.watch.is_empty() && plain.watch_ignore.is_empty());
}

#[test]
fn watch_changes_do_not_change_how_it_runs() {
    let before = Project::toml(WEB);
    let first = before.instance("web", 1);
    let after = before.file("procmux.toml", &format!("{WEB}watch = \"*.rs\"\n"));
    let second = after.instance("web", 1);
    assert_ne!(first, second);
    assert!(first.runs_same_as(&second));
}

#[test]
fn debounce() {
    let debounce = |settings: &str| {
        Project::toml(&format!("[settings]\n{settings}\n{WEB}"))
            .load()
            .manifest
            .settings
            .watch_debounce
    };
    assert_eq!(debounce(""), Duration::from_millis(100));
    assert_eq!(
        debounce("watch_debounce = \"50ms\""),
        Duration::from_millis(50)
    );
    assert_eq!(debounce("watch_debounce = 0"), Duration::ZERO);
}

#[test]
fn errors_at_the_glob() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "watch = [\"ok/*.rs\", \"src/[a\"]",
            (4, 21),
            "invalid glob \"src/[a\": unclosed character class; missing ']'",
        ),
        ("watch_ignore = \"\"", (4, 16), "empty glob"),
        (
            "watch = 1",
            (4, 9),
            "invalid type: integer `1`, expected a glob or an array of globs",
        ),
        (
            "watch = [\"a\", 2]",
            (4, 15),
            "invalid type: integer `2`, expected a string",
        ),
    ];
    for &(line, at, message) in cases {
        let error = Project::toml(&format!("{WEB}{line}\n")).error();
        assert_eq!(error.kind, ErrorKind::InvalidValue, "{line}");
        assert_eq!(
            (position(&error), error.message.as_str()),
            (at, message),
            "{line}"
        );
    }
    let error = Project::toml(&format!("[settings]\nwatch_debounce = \"2d\"\n{WEB}")).error();
    assert_eq!(
        (position(&error), error.message.as_str()),
        (
            (2, 18),
            "duration \"2d\" is longer than 24h, the longest procmux accepts"
        )
    );
}
