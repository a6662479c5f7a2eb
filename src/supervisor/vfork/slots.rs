//! Low descriptor numbers reserved for handing a child its stdin, stdout, stderr and
//! `cgroup.procs`, so that the child can take a copy of only the descriptors below them.
//!
//! # Why
//!
//! A child normally gets a copy of every descriptor procmux holds (three per instance: two
//! pipes and a pidfd), and `execve` then closes each of them again (all are close-on-exec).
//! Starting 1000 processes, that is about 1,500 descriptors copied and closed per spawn. A C
//! loop measured it: 1000 vfork spawns beside 3000 open descriptors took 0.57 ms each and 0.25 s
//! of system time in all; sharing the table (`CLONE_FILES`) and letting the child unshare only
//! the descriptors below a bound (`close_range(bound, ~0, CLOSE_RANGE_UNSHARE)`, which copies
//! nothing above it) took 0.41 to 0.44 ms and 0.11 to 0.13 s.
//!
//! So the four descriptors a child needs are first copied into a [`SlotSet`]: four numbers
//! taken while procmux still had few descriptors (the first spawns), kept for the life of the
//! process and pointed at `/dev/null` between spawns, so that they hold no pipe open.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// Four reserved descriptors: the child's 0, 1 and 2, and `cgroup.procs`.
#[derive(Debug)]
pub(super) struct SlotSet {
    fds: [OwnedFd; 4],
}

/// Sets not in use. Spawns run two at a time (and a few more on reloads), so this holds a
/// handful, made by the first spawns.
static FREE: Mutex<Vec<SlotSet>> = Mutex::new(Vec::new());

impl SlotSet {
    /// A free set, or a new one at the lowest free numbers.
    pub(super) fn take(dev_null: BorrowedFd<'_>) -> io::Result<Self> {
        if let Some(set) = free().pop() {
            return Ok(set);
        }
        let one = || -> io::Result<OwnedFd> {
            let fd = fcntl(dev_null, FcntlArg::F_DUPFD_CLOEXEC(3))?;
            #[allow(unsafe_code)]
            // SAFETY: `fcntl` just returned this new descriptor, owned by no one else.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        };
        Ok(Self {
            fds: [one()?, one()?, one()?, one()?],
        })
    }

    /// Points the slots at `sources` (close-on-exec copies).
    pub(super) fn load(&self, sources: [BorrowedFd<'_>; 4]) -> io::Result<()> {
        for (slot, source) in self.fds.iter().zip(sources) {
            duplicate_onto(source, slot)?;
        }
        Ok(())
    }

    /// The slots' numbers.
    pub(super) fn raw(&self) -> [RawFd; 4] {
        self.fds.each_ref().map(AsRawFd::as_raw_fd)
    }

    /// The first number above every slot: what a child keeps when it unshares.
    pub(super) fn bound(&self) -> RawFd {
        self.raw().into_iter().max().unwrap_or(2) + 1
    }

    /// Points the slots back at `/dev/null` (so that no pipe is held open by them) and
    /// returns the set to the free list. A set that cannot be cleared is closed instead.
    pub(super) fn give_back(self, dev_null: BorrowedFd<'_>) {
        if self
            .fds
            .iter()
            .all(|slot| duplicate_onto(dev_null, slot).is_ok())
        {
            free().push(self);
        }
    }
}

fn free() -> std::sync::MutexGuard<'static, Vec<SlotSet>> {
    FREE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `dup3(source, slot, O_CLOEXEC)`: the slot now refers to what `source` does.
fn duplicate_onto(source: BorrowedFd<'_>, slot: &OwnedFd) -> io::Result<()> {
    if source.as_raw_fd() == slot.as_raw_fd() {
        return Ok(());
    }
    #[allow(unsafe_code)]
    // SAFETY: `slot` is an open descriptor this set owns; `dup3` replaces what it refers to
    // and keeps the number, so the `OwnedFd` stays valid.
    let done = unsafe {
        nix::libc::dup3(
            source.as_fd().as_raw_fd(),
            slot.as_raw_fd(),
            OFlag::O_CLOEXEC.bits(),
        )
    };
    if done < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
