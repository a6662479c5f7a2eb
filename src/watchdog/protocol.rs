//! The wire protocol between procmux and its watchdog: one [`Message`] per line on the
//! watchdog's stdin, parsed and encoded here and nowhere else.
//!
//! ```text
//! group 4242                                  a process group to kill if procmux dies
//! forget 4242                                 that group has ended: never kill it
//! cgroup /sys/fs/cgroup/procmux-4100/web.1    a cgroup to kill and remove if procmux dies
//! forget-cgroup /sys/fs/cgroup/procmux-4100/web.1
//! bye                                         procmux is exiting cleanly: kill nothing
//! ```
//!
//! Every line ends with `\n` and is at most [`MAX_LINE`] bytes, newline included: the pipe's
//! atomic write size, so that each message is written whole or not at all, even on a
//! non-blocking pipe, and a message cut short by a crash is impossible. Paths are raw bytes
//! (Unix paths need not be UTF-8); one that holds a newline cannot be sent.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The longest line, newline included: `PIPE_BUF` on Linux, the size up to which a pipe write
/// is atomic.
pub const MAX_LINE: usize = 4096;

/// A process group id that procmux can have created: a positive pid other than 1.
///
/// 0 and negative numbers mean "my own group" or "every process" to `kill(2)`, and 1 is
/// init's: a message can never carry those, so the watchdog can never be told to kill them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pgid(i32);

impl Pgid {
    /// The group led by the process `pid`, if `pid` can lead a group procmux created.
    pub fn new(pid: u32) -> Result<Pgid, Untrackable> {
        match i32::try_from(pid) {
            Ok(raw) if raw > 1 => Ok(Pgid(raw)),
            _ => Err(Untrackable::Pgid(pid)),
        }
    }

    /// The raw id, always greater than 1.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// One line of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `group <pgid>`: kill this process group if procmux dies.
    Group(Pgid),
    /// `forget <pgid>`: the group has ended.
    Forget(Pgid),
    /// `cgroup <path>`: kill this cgroup (and its descendants) and remove it if procmux dies.
    Cgroup(CgroupPath),
    /// `forget-cgroup <path>`: the cgroup is gone or no longer procmux's.
    ForgetCgroup(CgroupPath),
    /// `bye`: procmux exits cleanly; the watchdog exits without killing anything.
    Bye,
}

/// An absolute cgroup path that fits in one message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CgroupPath(PathBuf);

impl CgroupPath {
    /// Checks that `path` is absolute, holds no newline and fits in a message.
    pub fn new(path: &Path) -> Result<CgroupPath, Untrackable> {
        let bytes = path.as_os_str().as_bytes();
        if !path.is_absolute() {
            return Err(Untrackable::Relative(path.to_owned()));
        }
        if bytes.contains(&b'\n') {
            return Err(Untrackable::Newline(path.to_owned()));
        }
        // The longest keyword and its space, and the newline.
        if FORGET_CGROUP.len() + 1 + bytes.len() + 1 > MAX_LINE {
            return Err(Untrackable::TooLong(bytes.len()));
        }
        Ok(CgroupPath(path.to_owned()))
    }

    /// The path.
    pub fn as_path(&self) -> &Path {
        &self.0
    }
}

/// Why something cannot be tracked by the watchdog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrackable {
    /// Not a process group id procmux could have created (0, 1, or beyond the pid range).
    #[error("{0} is not a process group id procmux could have created")]
    Pgid(u32),
    /// A cgroup path must be absolute: the watchdog runs in `/`.
    #[error("cgroup path {0:?} is not absolute")]
    Relative(PathBuf),
    /// A newline would end the message early.
    #[error("cgroup path {0:?} holds a newline")]
    Newline(PathBuf),
    /// Longer than one atomic pipe write can carry.
    #[error("cgroup path of {0} bytes is too long for the watchdog protocol")]
    TooLong(usize),
}

/// A line the watchdog could not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The keyword is not one of the protocol's.
    #[error("unknown watchdog message {0:?}")]
    Unknown(String),
    /// The keyword is known but its argument is not valid.
    #[error("bad argument in watchdog message {line:?}: {reason}")]
    Argument {
        /// The whole line, lossily decoded.
        line: String,
        /// What is wrong with it.
        reason: String,
    },
}

const GROUP: &str = "group";
const FORGET: &str = "forget";
const CGROUP: &str = "cgroup";
const FORGET_CGROUP: &str = "forget-cgroup";
const BYE: &str = "bye";

impl Message {
    /// Appends the message and its newline to `out`. The result is at most [`MAX_LINE`]
    /// bytes, which the constructors of [`Pgid`] and [`CgroupPath`] guarantee.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (keyword, argument) = match self {
            Message::Group(pgid) => (GROUP, Some(pgid.0.to_string().into_bytes())),
            Message::Forget(pgid) => (FORGET, Some(pgid.0.to_string().into_bytes())),
            Message::Cgroup(path) => (CGROUP, Some(path.0.as_os_str().as_bytes().to_vec())),
            Message::ForgetCgroup(path) => {
                (FORGET_CGROUP, Some(path.0.as_os_str().as_bytes().to_vec()))
            }
            Message::Bye => (BYE, None),
        };
        out.extend_from_slice(keyword.as_bytes());
        if let Some(argument) = argument {
            out.push(b' ');
            out.extend_from_slice(&argument);
        }
        out.push(b'\n');
    }

    /// Parses one line, without its newline.
    pub fn parse(line: &[u8]) -> Result<Message, ParseError> {
        let (keyword, argument) = match line.iter().position(|&b| b == b' ') {
            Some(space) => (&line[..space], Some(&line[space + 1..])),
            None => (line, None),
        };
        let bad = |reason: String| ParseError::Argument {
            line: String::from_utf8_lossy(line).into_owned(),
            reason,
        };
        let pgid = |argument: Option<&[u8]>| {
            let text = argument.ok_or_else(|| bad("no process group id".to_owned()))?;
            let raw: u32 = std::str::from_utf8(text)
                .ok()
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| bad("not a number".to_owned()))?;
            Pgid::new(raw).map_err(|error| bad(error.to_string()))
        };
        let path = |argument: Option<&[u8]>| {
            let bytes = argument.ok_or_else(|| bad("no path".to_owned()))?;
            CgroupPath::new(Path::new(OsStr::from_bytes(bytes))).map_err(|e| bad(e.to_string()))
        };
        match keyword {
            b"group" => pgid(argument).map(Message::Group),
            b"forget" => pgid(argument).map(Message::Forget),
            b"cgroup" => path(argument).map(Message::Cgroup),
            b"forget-cgroup" => path(argument).map(Message::ForgetCgroup),
            b"bye" if argument.is_none() => Ok(Message::Bye),
            _ => Err(ParseError::Unknown(
                String::from_utf8_lossy(line).into_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(message: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        message.encode(&mut out);
        out
    }

    fn cgroup(path: &str) -> CgroupPath {
        CgroupPath::new(Path::new(path)).expect("a valid path")
    }

    #[test]
    fn every_message_round_trips() {
        let messages = [
            Message::Group(Pgid::new(4242).expect("valid")),
            Message::Forget(Pgid::new(2).expect("valid")),
            Message::Cgroup(cgroup("/sys/fs/cgroup/procmux-1/web.1")),
            Message::ForgetCgroup(cgroup("/sys/fs/cgroup/procmux-1/a b")),
            Message::Bye,
        ];
        for message in messages {
            let line = encoded(&message);
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(
                Message::parse(&line[..line.len() - 1]),
                Ok(message.clone()),
                "{line:?}"
            );
        }
    }

    #[test]
    fn the_lines_are_the_documented_ones() {
        let group = Message::Group(Pgid::new(12).expect("valid"));
        assert_eq!(encoded(&group), b"group 12\n");
        assert_eq!(
            encoded(&Message::Forget(Pgid::new(12).expect("valid"))),
            b"forget 12\n"
        );
        assert_eq!(encoded(&Message::Cgroup(cgroup("/c/x"))), b"cgroup /c/x\n");
        assert_eq!(
            encoded(&Message::ForgetCgroup(cgroup("/c/x"))),
            b"forget-cgroup /c/x\n"
        );
        assert_eq!(encoded(&Message::Bye), b"bye\n");
    }

    #[test]
    fn groups_that_kill_would_misread_are_refused() {
        assert_eq!(Pgid::new(0), Err(Untrackable::Pgid(0)));
        assert_eq!(Pgid::new(1), Err(Untrackable::Pgid(1)));
        assert_eq!(Pgid::new(u32::MAX), Err(Untrackable::Pgid(u32::MAX)));
        for line in [
            &b"group 0"[..],
            b"group 1",
            b"group -5",
            b"group",
            b"group x",
        ] {
            assert!(
                matches!(Message::parse(line), Err(ParseError::Argument { .. })),
                "{line:?}"
            );
        }
    }

    #[test]
    fn paths_that_do_not_fit_a_line_are_refused() {
        assert!(matches!(
            CgroupPath::new(Path::new("relative/x")),
            Err(Untrackable::Relative(_))
        ));
        assert!(matches!(
            CgroupPath::new(Path::new("/a\nb")),
            Err(Untrackable::Newline(_))
        ));
        let long = format!("/{}", "x".repeat(MAX_LINE));
        assert!(matches!(
            CgroupPath::new(Path::new(&long)),
            Err(Untrackable::TooLong(_))
        ));
        let longest = format!("/{}", "x".repeat(MAX_LINE - "forget-cgroup /\n".len()));
        let message = Message::ForgetCgroup(cgroup(&longest));
        assert_eq!(encoded(&message).len(), MAX_LINE);
    }

    #[test]
    fn unknown_lines_are_errors() {
        for line in [&b""[..], b"hello", b"bye now", b"GROUP 12"] {
            assert!(
                matches!(Message::parse(line), Err(ParseError::Unknown(_))),
                "{line:?}"
            );
        }
    }
}
