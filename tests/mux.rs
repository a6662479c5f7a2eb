//! Integration tests of `procmux::mux`: real pumps, a real writer thread, in-memory and real
//! pipes. One binary, one module per concern.

#[path = "mux/support.rs"]
mod support;

#[path = "mux/flood.rs"]
mod flood;

#[path = "mux/lines.rs"]
mod lines;

#[path = "mux/pressure.rs"]
mod pressure;

#[path = "mux/sinks.rs"]
mod sinks;
