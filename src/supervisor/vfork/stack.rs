//! The stack a vfork-style child runs on: one per spawning thread, mapped once and reused,
//! with a guard page below it so that an overflow faults instead of writing over the
//! parent's memory.
//!
//! One per thread is enough: the thread is suspended (`CLONE_VFORK`) for as long as its child
//! runs on the stack, until the child's `execve` or `_exit`.

use std::cell::RefCell;
use std::ffi::c_void;
use std::io;
use std::ptr;

use nix::libc;

/// The usable size. The child's own frames take well under a page; the rest is headroom for
/// the libc wrappers it calls (glibc's `posix_spawn` sizes its child's stack at 32 KiB plus
/// the argument strings, which our child does not copy).
const SIZE: usize = 64 * 1024;

/// A mapped stack with its guard page.
pub(super) struct ChildStack {
    base: *mut c_void,
    len: usize,
}

impl ChildStack {
    fn map() -> io::Result<Self> {
        let page = page_size();
        let len = SIZE + page;
        #[allow(unsafe_code)]
        // SAFETY: a fresh anonymous private mapping, owned by the value returned; the lowest
        // page is made inaccessible within that mapping.
        unsafe {
            let base = libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let stack = Self { base, len };
            if libc::mprotect(base, page, libc::PROT_NONE) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(stack)
        }
    }

    /// The usable part: its lowest address and its size (the guard page below excluded).
    pub(super) fn region(&self) -> (*mut c_void, usize) {
        let guard = self.len - SIZE;
        (self.base.wrapping_byte_add(guard), SIZE)
    }

    /// The highest address, where the child's stack starts (stacks grow down on every
    /// architecture Linux runs procmux on).
    pub(super) fn top(&self) -> *mut c_void {
        self.base.wrapping_byte_add(self.len)
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: the mapping made in `map`, not used by any child any more (a child only runs
        // on it while this thread is suspended in `clone`).
        unsafe {
            libc::munmap(self.base, self.len);
        }
    }
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|size| usize::try_from(size).ok())
        .unwrap_or(4096)
}

thread_local! {
    static STACK: RefCell<Option<ChildStack>> = const { RefCell::new(None) };
}

/// Runs `with` with this thread's child stack, mapping it the first time.
pub(super) fn with_stack<T>(with: impl FnOnce(&ChildStack) -> io::Result<T>) -> io::Result<T> {
    STACK.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(ChildStack::map()?);
        }
        match slot.as_ref() {
            Some(stack) => with(stack),
            None => Err(io::Error::other("no child stack")),
        }
    })
}
