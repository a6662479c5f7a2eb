//! The generated lines, read back by `systemd_syntax` (systemd's rules), give the manifest's
//! commands and values byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use procmux::export::systemd::{env_assignment, exec_line};
use procmux::manifest::{InstanceSpec, ProcessCommand};
use proptest::prelude::*;

use crate::support::{NASTY_COMMAND, NASTY_VALUE, full_manifest, render_for_snapshot, system};
use crate::systemd_syntax::{environment, exec_argv, settings, specifiers, values};

fn expected_argv(instance: &InstanceSpec) -> Vec<String> {
    match &instance.command {
        ProcessCommand::Shell { shell, command } => {
            vec![format!("/bin/{shell}"), "-c".into(), command.clone()]
        }
        ProcessCommand::Exec { program, args } => {
            let program = if program.starts_with('/') {
                program.clone()
            } else if program.contains('/') {
                instance.cwd.join(program).display().to_string()
            } else {
                format!("/bin/{program}")
            };
            std::iter::once(program)
                .chain(args.iter().cloned())
                .collect()
        }
    }
}

#[test]
fn every_unit_reads_back_as_the_manifest() {
    let manifest = full_manifest(Path::new("/srv/shop"));
    let rendered = render_for_snapshot(&manifest, system());
    let mut checked = 0;
    for instance in manifest.instances() {
        let name = &instance.display_name;
        let unit_name = match manifest.process(&instance.process) {
            Some(p) if p.instances.len() > 1 => {
                format!("shop-{}-{}.service", instance.process, instance.index)
            }
            _ => format!("shop-{}.service", instance.process),
        };
        let file = rendered
            .files
            .iter()
            .find(|f| f.name == unit_name)
            .unwrap_or_else(|| panic!("{unit_name}"));
        let s = settings(&file.contents);
        let env = environment(&s).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(env, instance.env, "{name}: Environment=");
        let exec_start = values(&s, "ExecStart");
        assert_eq!(exec_start.len(), 1, "{name}");
        let argv = exec_argv(exec_start[0], &env).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(argv, expected_argv(instance), "{name}: ExecStart=");
        let cwd = specifiers(values(&s, "WorkingDirectory")[0]).expect("cwd");
        assert_eq!(Path::new(&cwd), instance.cwd, "{name}: WorkingDirectory=");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn the_nasty_command_reaches_the_shell_byte_for_byte() {
    let manifest = full_manifest(Path::new("/srv/shop"));
    let rendered = render_for_snapshot(&manifest, system());
    let web = rendered
        .files
        .iter()
        .find(|f| f.name == "shop-web-1.service")
        .expect("web.1");
    let s = settings(&web.contents);
    // Even with variables of those names in the unit's environment, nothing is substituted.
    let mut env = environment(&s).expect("env");
    env.insert("HOME".into(), "/root".into());
    env.insert("X".into(), "x".into());
    let argv = exec_argv(values(&s, "ExecStart")[0], &env).expect("argv");
    assert_eq!(argv, ["/bin/sh", "-c", NASTY_COMMAND]);
    assert_eq!(env["WEIRD"], NASTY_VALUE);
    assert_eq!(env["EMPTY"], "");
}

#[test]
fn probes_read_back_as_procmux_probe_arguments() {
    let manifest = full_manifest(Path::new("/srv/shop"));
    let rendered = render_for_snapshot(&manifest, system());
    let post = |unit: &str| {
        let file = rendered
            .files
            .iter()
            .find(|f| f.name == unit)
            .unwrap_or_else(|| panic!("{unit}"));
        let s = settings(&file.contents);
        values(&s, "ExecStartPost")
            .first()
            .map(|v| exec_argv(v, &BTreeMap::new()).expect("argv"))
    };
    let timings = [
        "--timeout",
        "60s",
        "--interval",
        "250ms",
        "--attempt-timeout",
        "1s",
    ];
    let with = |check: &[&str]| -> Vec<String> {
        ["/usr/bin/procmux", "probe"]
            .iter()
            .chain(&timings)
            .chain(check)
            .map(|s| (*s).to_owned())
            .collect()
    };
    assert_eq!(
        post("shop-db.service"),
        Some(with(&["--tcp", "127.0.0.1:5000"]))
    );
    assert_eq!(
        post("shop-migrate.service"),
        Some(with(&["--exec", "/bin/sh", "-c", "test -f .migrated"]))
    );
    assert_eq!(
        post("shop-admin.service"),
        Some(with(&["--exec", "/bin/test", "-d", "/"]))
    );
    let web: Vec<String> = [
        "/usr/bin/procmux",
        "probe",
        "--timeout",
        "120s",
        "--interval",
        "100ms",
        "--attempt-timeout",
        "2s",
        "--initial-delay",
        "500ms",
        "--http",
        "http://[::1]:5200/up?full=1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    assert_eq!(post("shop-web-2.service"), Some(web));
    assert_eq!(
        post("shop-worker.service"),
        None,
        "a log check maps to nothing"
    );
}

fn exec_round_trip(command: &str) -> Result<Vec<String>, String> {
    let argv = vec!["/bin/sh".to_owned(), "-c".to_owned(), command.to_owned()];
    let line = exec_line(&argv).map_err(|e| e.to_string())?;
    let s = settings(&format!("ExecStart={line}\n"));
    exec_argv(values(&s, "ExecStart")[0], &BTreeMap::new())
}

fn env_round_trip(value: &str) -> Result<String, String> {
    let assignment = env_assignment("V", value).map_err(|e| e.to_string())?;
    let s = settings(&format!("Environment={assignment}\n"));
    Ok(environment(&s)?.remove("V").unwrap_or_default())
}

#[test]
fn hand_picked_strings_round_trip() {
    for text in [
        "",
        " ",
        ";",
        "\\;",
        "-x",
        "%",
        "%%n",
        "$",
        "$$",
        "$HOME",
        "${HOME}",
        "a\\",
        "\\",
        "'",
        "\"",
        "\"\\\"",
        "a\nb",
        "\r\n",
        "\t",
        "\x01\x1b[31m\x7f",
        "é ☃ 𝄞",
        "#not a comment",
        "x=y",
    ] {
        assert_eq!(
            exec_round_trip(text),
            Ok(vec!["/bin/sh".to_owned(), "-c".to_owned(), text.to_owned()]),
            "ExecStart= {text:?}"
        );
        assert_eq!(
            env_round_trip(text),
            Ok(text.to_owned()),
            "Environment= {text:?}"
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_commands_round_trip(command in "[^\u{0}]*") {
        let argv = exec_round_trip(&command).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&argv[2], &command);
    }

    #[test]
    fn commands_of_special_characters_round_trip(command in "[%$'\"\\\\ \t\n\r{};#=a-zé]{0,24}") {
        let argv = exec_round_trip(&command).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&argv[2], &command);
    }

    #[test]
    fn arbitrary_values_round_trip(value in "[^\u{0}]*") {
        prop_assert_eq!(env_round_trip(&value).map_err(TestCaseError::fail)?, value);
    }

    #[test]
    fn values_of_special_characters_round_trip(value in "[%$'\"\\\\ \t\n\r{};#=a-zé]{0,24}") {
        prop_assert_eq!(env_round_trip(&value).map_err(TestCaseError::fail)?, value);
    }
}
