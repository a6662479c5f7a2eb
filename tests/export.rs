//! Tests of `procmux export systemd`: snapshots of the units, a round trip through a parser
//! of systemd's own rules, `systemd-analyze verify`, re-export into the same folder, and the
//! command line.

#[path = "export/support.rs"]
mod support;
#[path = "export/systemd_syntax.rs"]
mod systemd_syntax;

#[path = "export/cli.rs"]
mod cli;
#[path = "export/errors.rs"]
mod errors;
#[path = "export/roundtrip.rs"]
mod roundtrip;
#[path = "export/snapshots.rs"]
mod snapshots;
#[path = "export/verify.rs"]
mod verify;
