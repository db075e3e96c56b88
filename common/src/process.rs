//! Child processes, for the strategies that fork: start one, learn when one
//! ends, reap it, stop the rest.
//!
//! The `fork` call itself stays in each server's `main.rs`, where the reader
//! should see it; this module holds what every forking parent needs around it.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::signals;

/// A process id, as the kernel hands it out.
pub type Pid = libc::pid_t;

/// What `fork` returned, seen from the process that is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fork {
    /// This is the new process, a copy of its parent.
    Child,
    /// This is the parent; the new process has this pid.
    Parent(Pid),
}

/// `fork(2)`: the calling process is copied, and both copies return.
///
/// # Safety
///
/// The calling process must have only one thread. `fork` copies just the
/// calling thread; a lock another thread held at that moment (the allocator's,
/// stdout's) stays locked forever in the child.
pub unsafe fn fork() -> io::Result<Fork> {
    // SAFETY: the caller promises there is no other thread.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// Runs `work` in a child that `fork` just made, then ends the child with
/// `_exit`. Never returns: returning would run the parent's loop a second
/// time in the child, and `exit` would run the parent's exit handlers.
///
/// A panic in `work` ends this child with status 101 and touches nothing
/// else: the parent and the other children are separate processes. If the
/// parent dies without stopping it, the kernel sends this child SIGTERM.
pub fn run_child(parent: Pid, work: impl FnOnce()) -> ! {
    // SAFETY: prctl and getppid have no memory effects.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        // The parent may have died before the line above: then nobody asked.
        if libc::getppid() != parent {
            libc::_exit(0);
        }
    }
    let status = match panic::catch_unwind(AssertUnwindSafe(work)) {
        Ok(()) => 0,
        Err(_) => 101,
    };
    // SAFETY: _exit ends this process at once, without unwinding.
    unsafe { libc::_exit(status) }
}

/// This process's id; a child passes its parent's to [`run_child`].
pub fn id() -> Pid {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// How a child ended, as `waitpid` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Killed(i32),
}

impl Ended {
    /// Whether it ended on its own with status 0.
    pub fn cleanly(self) -> bool {
        self == Ended::Exited(0)
    }
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Exited(code) => write!(f, "exited with status {code}"),
            Ended::Killed(signal) => write!(f, "was killed by signal {signal}"),
        }
    }
}

/// The children a parent has started and not yet reaped.
///
/// A child that ends stays a zombie (its pid and exit status kept by the
/// kernel) until its parent collects it with `waitpid`; the set is what lets
/// the parent signal the live ones when it stops.
#[derive(Debug, Default)]
pub struct Children {
    live: HashSet<Pid>,
    started: u64,
    /// Calls to `waitpid` so far: each one walks the list of children.
    waits: u64,
}

impl Children {
    pub fn new() -> Self {
        Children::default()
    }

    pub fn started(&mut self, pid: Pid) {
        self.live.insert(pid);
        self.started += 1;
    }

    /// How many children were started, and how many `waitpid` calls it
    /// has taken to reap the ones that ended, for a line at exit.
    pub fn history(&self) -> (u64, u64) {
        (self.started, self.waits)
    }

    pub fn count(&self) -> usize {
        self.live.len()
    }

    /// Collects one child that has already ended, without waiting, and says
    /// which and how; `None` when none has.
    ///
    /// Each call makes the kernel walk this parent's list of children, so a
    /// parent with thousands should call it only after SIGCHLD (see
    /// [`wake_when_a_child_ends`]), not after every connection.
    pub fn reap_ended(&mut self) -> Option<(Pid, Ended)> {
        self.reap(libc::WNOHANG)
    }

    /// Sleeps until a child ends and collects it; `None` if a signal
    /// interrupted the wait.
    pub fn wait_for_one(&mut self) -> Option<(Pid, Ended)> {
        self.reap(0)
    }

    fn reap(&mut self, flags: libc::c_int) -> Option<(Pid, Ended)> {
        self.waits += 1;
        let mut status = 0;
        // SAFETY: waitpid writes one int through a pointer to a live local.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
            // No child at all: whatever the set says, nobody is left.
            self.live.clear();
        }
        if pid <= 0 {
            return None;
        }
        self.live.remove(&pid);
        let ended = if libc::WIFSIGNALED(status) {
            Ended::Killed(libc::WTERMSIG(status))
        } else {
            Ended::Exited(libc::WEXITSTATUS(status))
        };
        Some((pid, ended))
    }

    /// Stops every live child: SIGTERM, up to `patience` for them to finish
    /// what they are doing, then SIGKILL. Returns once all are reaped, so no
    /// child outlives its parent.
    pub fn stop_all(&mut self, patience: Duration) {
        self.signal_all(libc::SIGTERM);
        let deadline = Instant::now() + patience;
        while self.count() > 0 && Instant::now() < deadline {
            if self.reap_ended().is_none() {
                thread::sleep(Duration::from_millis(5));
            }
        }
        self.signal_all(libc::SIGKILL);
        // A SIGKILLed child ends at once; a `None` from this wait is a signal
        // that interrupted it, and the loop waits again.
        while self.count() > 0 {
            self.wait_for_one();
        }
    }

    fn signal_all(&self, signal: libc::c_int) {
        for &pid in &self.live {
            // SAFETY: kill(2); the pid is our own unreaped child, so it
            // cannot have been reused by another process.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

/// Set by the SIGCHLD handler, cleared by [`a_child_ended`].
static CHILD_ENDED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_child_ended(_signal: libc::c_int) {
    CHILD_ENDED.store(true, Ordering::SeqCst);
}

/// Makes the kernel tell this parent, sleeping in `accept` on `listener`,
/// when a child has ended: SIGCHLD sets a flag ([`a_child_ended`]) and, as
/// its handler is installed without `SA_RESTART`, interrupts the `accept`
/// (EINTR), so that zombies are reaped even when no client comes.
///
/// A child that ends after the parent looked at the flag but before its
/// `accept` started would still wait for the next client; a receive timeout
/// on the listening socket, which Linux applies to `accept`, bounds that
/// wait to `at_most`.
pub fn wake_when_a_child_ends(listener: &impl AsRawFd, at_most: Duration) {
    signals::set_handler(libc::SIGCHLD, on_child_ended);
    let timeout = libc::timeval {
        tv_sec: at_most.as_secs() as libc::time_t,
        tv_usec: at_most.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: setsockopt reads a live timeval of the size given.
    unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
}

/// Whether a child has ended since the last call (see [`wake_when_a_child_ends`]).
pub fn a_child_ended() -> bool {
    CHILD_ENDED.swap(false, Ordering::SeqCst)
}
