//! The bounds of ownership.md's "Bad values": durations at most 24 h, env values at most
//! 1 MiB each and 16 MiB per instance, reported at the value that crosses them, and found
//! without allocating past them.

use std::time::{Duration, Instant};

use procmux::manifest::{ErrorKind, ManifestError};

use crate::support::{Project, position};

const WEB: &str = "[processes.web]\ncommand = \"x\"\n";

#[test]
fn durations_up_to_a_day() {
    for (written, ok) in [
        ("\"24h\"", true),
        ("86400", true),
        ("86400.0", true),
        ("\"1day\"", true),
        ("\"24h 1s\"", false),
        ("86401", false),
        ("1e300", false),
        ("\"99999999999999999999s\"", false),
    ] {
        let project = Project::toml(&format!("{WEB}stop_timeout = {written}\n"));
        if ok {
            assert_eq!(
                project.instance("web", 1).stop_timeout,
                Duration::from_secs(86400),
                "{written}"
            );
        } else {
            let error = project.error();
            assert_eq!(
                (error.kind, position(&error)),
                (ErrorKind::InvalidValue, (3, 16)),
                "{written}: {}",
                error.message
            );
        }
    }
    let error = Project::toml(&format!("[settings]\nstop_timeout = \"25h\"\n{WEB}")).error();
    assert_eq!(
        (position(&error), error.message.as_str()),
        (
            (2, 16),
            "duration \"25h\" is longer than 24h, the longest procmux accepts"
        )
    );
    let error = Project::toml(&format!("{WEB}stop_timeout = 90000\n")).error();
    assert_eq!(
        error.message,
        "duration 90000 is longer than 24h, the longest procmux accepts"
    );
}

/// `[env]` or a `.env` whose values double each other `times` times.
fn doubling(times: usize, toml: bool) -> String {
    let mut text = String::from(if toml {
        "[env]\nA0 = \"x\"\n"
    } else {
        "A0=x\n"
    });
    for i in 1..=times {
        let prev = i - 1;
        if toml {
            text.push_str(&format!("A{i} = \"$A{prev}${{A{prev}}}\"\n"));
        } else {
            text.push_str(&format!("A{i}=$A{prev}${{A{prev}}}\n"));
        }
    }
    text
}

fn fails_fast(project: &Project) -> ManifestError {
    let start = Instant::now();
    let error = project.error();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    error
}

#[test]
fn doubling_values_fail_fast_at_the_value_past_1_mib() {
    let project = Project::toml(&format!("{}{WEB}", doubling(40, true)));
    let error = fails_fast(&project);
    // A20 is 2^20 bytes, exactly 1 MiB: A21 (line 23, after "[env]" and A0) crosses it.
    assert_eq!(
        (error.kind, position(&error), error.message.as_str()),
        (
            ErrorKind::InvalidValue,
            (23, 7),
            "this value is longer than 1 MiB after expansion, the most procmux accepts"
        )
    );
    let project = Project::procfile("web: x\n").file(".env", &doubling(40, false));
    let error = fails_fast(&project);
    let location = error.location.as_deref().expect("a location");
    assert_eq!(
        (location.path.to_str(), location.line, location.column),
        (Some(".env"), 22, 5)
    );
}

#[test]
fn an_instance_environment_is_at_most_16_mib() {
    // A20 is 1 MiB; B1, B2... copy it until the total crosses 16 MiB.
    let mut text = doubling(20, true);
    for i in 1..=20 {
        text.push_str(&format!("B{i} = \"$A20\"\n"));
    }
    let project = Project::toml(&format!("{text}{WEB}"));
    let error = fails_fast(&project);
    let location = error.location.as_deref().expect("a location");
    assert_eq!(
        error.message,
        "with this value the environment grows past 16 MiB, the most procmux accepts"
    );
    assert!(location.line_text.starts_with("B14 = "), "{location:?}");
    // The same through env files: the process's own file crosses it.
    let project = Project::toml(&format!(
        "{}{WEB}env_file = \".env.web\"\n",
        doubling(20, true)
    ))
    .file(
        ".env.web",
        &(0..20).map(|i| format!("C{i}=$A20\n")).collect::<String>(),
    );
    let error = fails_fast(&project);
    let location = error.location.as_deref().expect("a location");
    assert_eq!(location.path.to_str(), Some(".env.web"));
    assert!(error.message.contains("16 MiB"), "{}", error.message);
}

#[test]
fn all_instances_together_are_at_most_256_mib() {
    let project = Project::toml(&format!(
        "{}[processes.web]\ncommand = \"x\"\ninstances = 300\n",
        doubling(20, true)
    ));
    let error = fails_fast(&project);
    assert_eq!(
        (position(&error), error.message.as_str()),
        (
            (23, 12),
            "with the 300 instances of \"web\", the environments of all instances take more than 256 MiB"
        )
    );
}
