//! Invalid `procmux.toml` files: each error's kind, line, column and message.

use procmux::manifest::{ErrorKind, ManifestError, Note};

use crate::support::{Project, position};

const WEB: &str = "[processes.web]\ncommand = \"x\"\n";

/// (manifest, kind, line, column, the exact message)
const CASES: &[(&str, ErrorKind, usize, usize, &str)] = &[
    (
        "[setings]\n",
        ErrorKind::UnknownKey,
        1,
        2,
        "unknown key \"setings\"",
    ),
    (
        "[processes.web]\ncomand = \"x\"\n",
        ErrorKind::UnknownKey,
        2,
        1,
        "unknown key \"comand\"",
    ),
    (
        "[settings]\nshel = \"bash\"\n[processes.web]\ncommand = \"x\"\n",
        ErrorKind::UnknownKey,
        2,
        1,
        "unknown key \"shel\"",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ndepend_on = [\"db\"]\n",
        ErrorKind::UnknownKey,
        3,
        1,
        "unknown key \"depend_on\"",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ninstances = \"two\"\n",
        ErrorKind::InvalidValue,
        3,
        13,
        "invalid type: string \"two\", expected a whole number from 0 to 4294967295",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ninstances = -1\n",
        ErrorKind::InvalidValue,
        3,
        13,
        "invalid value: integer `-1`, expected a whole number from 0 to 4294967295",
    ),
    (
        "[processes.web]\ncommand = \"x\"\nmax_restarts = -3\n",
        ErrorKind::InvalidValue,
        3,
        16,
        "invalid value: integer `-3`, expected a whole number from 0 to 4294967295",
    ),
    (
        "[processes.web]\ncommand = \"x\"\nport = 70000\n",
        ErrorKind::InvalidValue,
        3,
        8,
        "invalid value: integer `70000`, expected a port number from 1 to 65535",
    ),
    (
        "[processes.web]\ncommand = \"x\"\nstop_signal = \"TERMINATE\"\n",
        ErrorKind::InvalidValue,
        3,
        15,
        "unknown signal \"TERMINATE\" (expected a name such as TERM, SIGINT or KILL, or a number)",
    ),
    (
        "[processes.web]\ncommand = \"x\"\nstop_timeout = \"5x\"\n",
        ErrorKind::InvalidValue,
        3,
        16,
        "invalid duration \"5x\" (expected e.g. \"500ms\", \"5s\", \"1m\" or a number of seconds)",
    ),
    (
        "[processes.web]\ncommand = \"x\"\nstop_timeout = -1\n",
        ErrorKind::InvalidValue,
        3,
        16,
        "negative duration -1",
    ),
    (
        "[processes.web]\ncommand = \"x\"\nrestart = \"sometimes\"\n",
        ErrorKind::InvalidValue,
        3,
        11,
        "unknown restart policy \"sometimes\", expected \"no\", \"on-failure\" or \"always\"",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ncolor = \"pink\"\n",
        ErrorKind::InvalidValue,
        3,
        9,
        "unknown colour \"pink\", expected \"red\", \"green\", \"yellow\", \"blue\", \"magenta\", \"cyan\", \"white\", \"bright_red\", \"bright_green\", \"bright_yellow\", \"bright_blue\", \"bright_magenta\", \"bright_cyan\" or \"bright_white\"",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ncan_die = \"yes\"\n",
        ErrorKind::InvalidValue,
        3,
        11,
        "invalid type: string \"yes\", expected a boolean",
    ),
    (
        "[processes.web]\ncommand = \"  \"\n",
        ErrorKind::InvalidValue,
        2,
        11,
        "empty command for process \"web\"",
    ),
    (
        "[processes.web]\ncommand = []\n",
        ErrorKind::InvalidValue,
        2,
        11,
        "empty command for process \"web\"",
    ),
    (
        "[processes.web]\ncommand = [\"\", \"x\"]\n",
        ErrorKind::InvalidValue,
        2,
        11,
        "empty command for process \"web\"",
    ),
    (
        "[processes.web]\ncommand = 5\n",
        ErrorKind::InvalidValue,
        2,
        11,
        "invalid type: integer `5`, expected a command string or an array of strings",
    ),
    (
        "[processes.web]\ncommand = [\"a\", 1]\n",
        ErrorKind::InvalidValue,
        2,
        17,
        "invalid type: integer `1`, expected a string",
    ),
    (
        "[processes.web]\ncwd = \"x\"\n",
        ErrorKind::InvalidValue,
        1,
        12,
        "process \"web\" has no command",
    ),
    (
        "[processes.\"web.1\"]\ncommand = \"x\"\n",
        ErrorKind::InvalidValue,
        1,
        12,
        "invalid process name \"web.1\"",
    ),
    (
        "[processes]\n",
        ErrorKind::NoProcesses,
        0,
        0,
        "procmux.toml defines no process",
    ),
    (
        "",
        ErrorKind::NoProcesses,
        0,
        0,
        "procmux.toml defines no process",
    ),
    (
        "[processes.web\ncommand = \"x\"\n",
        ErrorKind::Syntax,
        1,
        15,
        "unclosed table, expected `]`",
    ),
    (
        "[processes.web]\ncommand = \"x\"\ncommand = \"y\"\n",
        ErrorKind::Syntax,
        3,
        1,
        "duplicate key",
    ),
    (
        "[env]\nA = [1]\n[processes.web]\ncommand = \"x\"\n",
        ErrorKind::InvalidValue,
        2,
        5,
        "invalid type: sequence, expected a string, a number or a boolean",
    ),
    (
        "[env]\nA = \"${B\"\n[processes.web]\ncommand = \"x\"\n",
        ErrorKind::InvalidValue,
        2,
        5,
        "unterminated \"${\": expected a closing \"}\"",
    ),
    (
        "[processes.web]\ncommand = \"x\"\nenv_file = [\".env.a\", \".env.missing\"]\n",
        ErrorKind::MissingEnvFile,
        3,
        23,
        "env file not found: .env.missing",
    ),
    (
        "[settings]\nenv_file = \".env.missing\"\n[processes.web]\ncommand = \"x\"\n",
        ErrorKind::MissingEnvFile,
        2,
        12,
        "env file not found: .env.missing",
    ),
];

fn error_for(text: &str) -> ManifestError {
    Project::toml(text).file(".env.a", "A=1\n").error()
}

#[test]
fn errors_have_kind_position_and_message() {
    let mut failures = Vec::new();
    for &(text, kind, line, column, message) in CASES {
        let error = error_for(text);
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
fn unknown_keys_suggest_the_nearest_and_list_the_allowed() {
    let error = error_for("[processes.web]\ncomand = \"x\"\n");
    assert_eq!(
        error.notes[0],
        Note::Help("did you mean \"command\"?".into())
    );
    let Note::Note(allowed) = &error.notes[1] else {
        panic!("{:?}", error.notes)
    };
    assert!(
        allowed.starts_with("the keys of [processes.NAME] are \"command\", \"cwd\""),
        "{allowed}"
    );
    // Nothing close: no suggestion, only the list.
    let error = error_for(&format!("{WEB}zzzzzzzz = 1\n"));
    assert_eq!(error.notes.len(), 1);
}

#[test]
fn the_first_problem_in_the_file_is_reported() {
    let error = error_for(
        "[processes.web]\ncommand = \"x\"\nbad_one = 1\n\n[settings]\nbad_two = 1\n[aaa]\n",
    );
    assert_eq!(error.message, "unknown key \"bad_one\"");
}

#[test]
fn no_manifest() {
    let error = Project::new().error();
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert_eq!(
        error.message,
        "no procmux.toml, Procfile or Procfile.dev in ."
    );
    let error = Project::new()
        .with(|o| o.file = Some("nope.toml".into()))
        .error();
    assert_eq!(error.message, "manifest not found: nope.toml");
    let error = Project::toml(WEB)
        .with(|o| o.root = Some("missing".into()))
        .error();
    assert_eq!(error.kind, ErrorKind::NotFound);
}

#[test]
fn not_utf8() {
    let project = Project::new();
    std::fs::write(
        project.join("procmux.toml"),
        b"[processes.web]\ncommand = \"\xff\"\n",
    )
    .expect("write");
    let error = project.error();
    assert_eq!(error.kind, ErrorKind::Io);
    assert_eq!(position(&error), (2, 12));
}

#[test]
fn invalid_table_shapes() {
    for (text, message) in [
        (
            "settings = 1\n",
            "\"settings\" must be a table, found an integer",
        ),
        (
            "[[processes.web]]\ncommand = \"x\"\n",
            "process \"web\" must be a table, found an array",
        ),
        (
            "[processes]\nweb = \"x\"\n",
            "process \"web\" must be a table, found a string",
        ),
    ] {
        assert_eq!(Project::toml(text).error().message, message, "{text:?}");
    }
}

#[test]
fn near_misses_of_named_values_get_a_suggestion() {
    for (line, suggestion) in [
        ("restart = \"on_failure\"", "did you mean \"on-failure\"?"),
        ("restart = \"alway\"", "did you mean \"always\"?"),
        ("color = \"bright-cyan\"", "did you mean \"bright_cyan\"?"),
        ("color = \"Red\"", "did you mean \"red\"?"),
    ] {
        let error = error_for(&format!("{WEB}{line}\n"));
        assert!(
            error.message.ends_with(suggestion),
            "{line}: {}",
            error.message
        );
        assert_eq!(position(&error), (3, line.find('"').map_or(0, |i| i + 1)));
    }
    let error = error_for(&format!("{WEB}port = 0\n"));
    assert_eq!(
        error.message,
        "invalid value: integer `0`, expected a port number from 1 to 65535"
    );
}

#[test]
fn nul_and_bad_variable_names() {
    let error = error_for("[processes.web]\ncommand = \"a\\u0000b\"\n");
    assert_eq!(
        (position(&error), error.message.as_str()),
        ((2, 11), "strings cannot contain NUL (\\u0000)")
    );
    let error = error_for("[env]\n\"A=B\" = \"x\"\n[processes.web]\ncommand = \"x\"\n");
    assert_eq!(
        (position(&error), error.message.as_str()),
        ((2, 1), "invalid environment variable name \"A=B\"")
    );
    let error = Project::procfile("web: a\0b\n").error();
    assert_eq!(
        (position(&error), error.message.as_str()),
        ((1, 7), "Procfile contains a NUL byte")
    );
}

#[test]
fn instance_counts_are_bounded() {
    let error = error_for(
        "[processes.web]\ncommand = \"x\"\nenv = { PORT = \"1\" }\ninstances = 4294967295\n",
    );
    assert_eq!(
        error.message,
        "process \"web\" asks for 4294967295 instances; the limit is 1000"
    );
    assert_eq!(position(&error), (1, 12));
    let error = Project::procfile("web: x\n")
        .with(|o| o.formation = Some("all=1001".parse().expect("formation")))
        .error();
    assert_eq!(error.kind, ErrorKind::InvalidValue);
}
