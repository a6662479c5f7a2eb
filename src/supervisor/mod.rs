//! The supervisor: one supervised process per `Job`.

mod signal;

pub use signal::{Signal, UnknownSignal};
