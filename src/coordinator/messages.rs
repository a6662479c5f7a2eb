//! The text of procmux's own `system` lines, in one place so that they stay consistent and
//! tests can rely on them.

use std::time::Duration;

use crate::supervisor::{ProcessEnd, Signal};

/// `web.1 started with pid 4242`
pub fn started(name: &str, pid: u32) -> String {
    format!("{name} started with pid {pid}")
}

/// `web.1 failed to start: No such file or directory (os error 2)`
pub fn failed_to_start(name: &str, error: &str) -> String {
    format!("{name} failed to start: {error}")
}

/// `web.1 exited with code 3`, `web.1 exited with signal SIGKILL`
pub fn exited(name: &str, end: &ProcessEnd) -> String {
    match end {
        ProcessEnd::Success => format!("{name} exited with code 0"),
        ProcessEnd::ExitError(code) => format!("{name} exited with code {code}"),
        ProcessEnd::ExitSignal(signal) => format!("{name} exited with signal {signal}"),
        other => format!("{name} ended: {other:?}"),
    }
}

/// `web.1 did not stop within 5s; killed with SIGKILL`
pub fn killed_at_grace(name: &str, grace: Duration) -> String {
    format!(
        "{name} did not stop within {}; killed with SIGKILL",
        humantime::format_duration(grace)
    )
}

/// `web.1 restarting in 200 ms (restart 2 of 10)`
pub fn restarting(name: &str, delay: Duration, attempt: u32, limit: Option<u32>) -> String {
    let ms = delay.as_millis();
    match limit {
        Some(limit) => format!("{name} restarting in {ms} ms (restart {attempt} of {limit})"),
        None => format!("{name} restarting in {ms} ms (restart {attempt})"),
    }
}

/// `web.1 gave up after 10 restarts`
pub fn gave_up(name: &str, restarts: u32) -> String {
    let plural = if restarts == 1 { "" } else { "s" };
    format!("{name} gave up after {restarts} restart{plural}")
}

/// Why a shutdown began.
pub fn stopping_after_exit(name: &str) -> String {
    format!("{name} ended: stopping all processes")
}

/// `received SIGINT: stopping all processes (send it again to kill them at once)`
pub fn stopping_on_signal(signal: Signal) -> String {
    format!("received {signal}: stopping all processes (again to kill at once)")
}

/// `received SIGINT again: killing all processes`
pub fn killing_on_signal(signal: Signal) -> String {
    format!("received {signal} again: killing all processes")
}

/// The output went away.
pub fn stopping_on_closed_output() -> &'static str {
    "output closed: stopping all processes"
}

/// `reload: +api ~web -worker`, or `reload: no changes`.
pub fn reload_summary(added: &[String], changed: &[String], removed: &[String]) -> String {
    let parts: Vec<String> = added
        .iter()
        .map(|n| format!("+{n}"))
        .chain(changed.iter().map(|n| format!("~{n}")))
        .chain(removed.iter().map(|n| format!("-{n}")))
        .collect();
    if parts.is_empty() {
        "reload: no changes".to_owned()
    } else {
        format!("reload: {}", parts.join(" "))
    }
}

/// The first line of a failed reload; the error's own lines follow.
pub fn reload_failed() -> &'static str {
    "reload: the manifest is invalid; keeping everything as it runs"
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroI64;

    use super::*;

    #[test]
    fn exit_lines_name_code_or_signal() {
        let three = ProcessEnd::ExitError(NonZeroI64::new(3).expect("3 is not zero"));
        assert_eq!(exited("web.1", &three), "web.1 exited with code 3");
        assert_eq!(
            exited("web", &ProcessEnd::Success),
            "web exited with code 0"
        );
        assert_eq!(
            exited("web", &ProcessEnd::ExitSignal(Signal::ForceStop)),
            "web exited with signal SIGKILL"
        );
    }

    #[test]
    fn restart_lines_show_the_budget_when_there_is_one() {
        let delay = Duration::from_millis(200);
        assert_eq!(
            restarting("w", delay, 2, Some(10)),
            "w restarting in 200 ms (restart 2 of 10)"
        );
        assert_eq!(
            restarting("w", delay, 2, None),
            "w restarting in 200 ms (restart 2)"
        );
        assert_eq!(gave_up("w", 1), "w gave up after 1 restart");
    }

    #[test]
    fn reload_summary_lists_added_changed_removed() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            reload_summary(&names(&["api"]), &names(&["web"]), &names(&["worker"])),
            "reload: +api ~web -worker"
        );
        assert_eq!(reload_summary(&[], &[], &[]), "reload: no changes");
    }
}
