//! The job API in one place: the handle, the task context and state it exposes, and the
//! controls and tickets it sends. The pieces live in their own modules; this one only gathers
//! them under the path callers use (`procmux::supervisor::job::*`).

pub use super::handle::{Job, start_job, start_job_with};
pub use super::messages::{
    AsyncErrorHandler, AsyncFunc, AsyncSpawnHook, Control, ExitHook, HookFuture, LeftoversHook,
    SpawnChildFn, SpawnFn, SpawnedHook, SyncErrorHandler, SyncFunc, SyncSpawnHook, Ticket,
};
pub use super::state::{CommandState, JobTaskContext, Leftovers, RunInfo};
