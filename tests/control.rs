//! Integration tests of the control socket: the real server on a fake coordinator, the real
//! clients (library functions and the built binary), in temporary `XDG_RUNTIME_DIR`s.

#![allow(clippy::unwrap_used)]

#[path = "control/support.rs"]
mod support;

#[path = "control/abuse.rs"]
mod abuse;
#[path = "control/binary.rs"]
mod binary;
#[path = "control/follow.rs"]
mod follow;
#[path = "control/socket.rs"]
mod socket;
#[path = "control/verbs.rs"]
mod verbs;
