//! Errors go to the error handler and the loop carries on (theory of operation item 7).

use std::io::ErrorKind;
use std::sync::{Arc, Mutex};

use procmux::supervisor::Signal;
use procmux::supervisor::job::start_job;

use crate::support::*;

#[tokio::test]
async fn a_failed_spawn_reports_and_leaves_the_job_pending() {
    let (job, _task) = start_job(exec("/nonexistent/procmux-test-program", &[], grouped()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&errors);
    job.set_error_handler(move |err| {
        log.lock().unwrap().push(err.get().unwrap().kind());
    });
    within("start", job.start()).await;
    assert_eq!(*errors.lock().unwrap(), [ErrorKind::NotFound]);
    assert!(!job.is_running());
    assert_eq!(state_of(&job).await, Snapshot::Pending);
    // The loop carries on: another start fails again, and is reported again.
    within("start", job.start()).await;
    assert_eq!(errors.lock().unwrap().len(), 2);
    within("delete", job.delete()).await;
}

#[tokio::test]
async fn errors_without_a_handler_are_dropped() {
    let (job, _task) = start_job(exec("/nonexistent/procmux-test-program", &[], grouped()));
    within("start", job.start()).await;
    assert_eq!(state_of(&job).await, Snapshot::Pending);
    assert!(!job.is_dead());
}

#[tokio::test]
async fn a_failed_signal_reports_and_the_job_carries_on() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let _spawns = record_spawns(&job, &pids).await;
    let errors = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&errors);
    job.set_async_error_handler(move |err| {
        let log = Arc::clone(&log);
        let kind = err.get().unwrap().kind();
        Box::new(async move { log.lock().unwrap().push(kind) })
    });
    within("start", job.start()).await;
    within("signal", job.signal(Signal::Custom(999))).await;
    assert_eq!(errors.lock().unwrap().len(), 1);
    assert!(job.is_running());
    within("stop", job.stop()).await;
    pids.assert_all_gone().await;
}
