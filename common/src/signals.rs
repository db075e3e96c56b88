//! SIGINT and SIGTERM: stop accepting, finish up, exit 0.
//!
//! Every server calls [`install`] early in `main` and then checks
//! [`requested`] in its loop; the threaded ones also use the helpers below to
//! steer the signals to the main thread and to give their workers a moment.
//!
//! [`install`] sets handlers that only do what a signal handler may safely do:
//! set a flag, write a byte to a pipe (for event loops that wait on file
//! descriptors) and start a one-second alarm. Without `SA_RESTART`, the signal
//! also interrupts the blocking call the receiving thread is in, which returns
//! `EINTR`; the server sees [`requested`] and winds down. If winding down takes
//! longer than [`GRACE`] — a thread still asleep in a 10-second `/sleep`, say —
//! the alarm ends the process with status 0 all the same.
//!
//! Forked children inherit the handlers and the pipe; the alarm is per process.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static PIPE_READ: AtomicI32 = AtomicI32::new(-1);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// How long a server may take to wind down after the first signal.
pub const GRACE: Duration = Duration::from_secs(1);

extern "C" fn on_stop_signal(_signal: libc::c_int) {
    if !REQUESTED.swap(true, Ordering::SeqCst) {
        // SAFETY: write(2) and alarm(2) are async-signal-safe.
        unsafe {
            let fd = PIPE_WRITE.load(Ordering::SeqCst);
            if fd >= 0 {
                libc::write(fd, b"x".as_ptr().cast(), 1);
            }
            libc::alarm(GRACE.as_secs() as libc::c_uint);
        }
    }
}

extern "C" fn on_grace_expired(_signal: libc::c_int) {
    // SAFETY: _exit(2) is async-signal-safe; the server was asked to stop and
    // has had its grace period.
    unsafe { libc::_exit(0) }
}

/// Installs the SIGINT/SIGTERM handlers. Call once, early in `main`.
pub fn install() {
    let mut fds = [-1; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == 0 {
        PIPE_READ.store(fds[0], Ordering::SeqCst);
        PIPE_WRITE.store(fds[1], Ordering::SeqCst);
    }
    set_handler(libc::SIGINT, on_stop_signal);
    set_handler(libc::SIGTERM, on_stop_signal);
    set_handler(libc::SIGALRM, on_grace_expired);
}

/// Installs `handler` for `signal`, without `SA_RESTART`.
pub(crate) fn set_handler(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: a zeroed sigaction is valid; the handler is a plain extern "C"
    // function that only calls async-signal-safe functions. No SA_RESTART, so
    // that blocking calls return EINTR.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}

/// Whether SIGINT or SIGTERM has arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// A descriptor that becomes readable when a stop signal arrives (`-1`
/// before [`install`]), for loops that wait in `poll`/`epoll`.
pub fn wakeup_fd() -> RawFd {
    PIPE_READ.load(Ordering::SeqCst)
}

/// Runs `spawn` with SIGINT and SIGTERM blocked in the calling thread.
///
/// A new thread starts with its creator's signal mask, so every thread
/// created inside `spawn` keeps those signals blocked for good, and the
/// kernel delivers them to the calling thread (in these servers, `main`): its
/// blocking call is the one that returns `EINTR`. A signal that arrives
/// meanwhile waits, and is handled as soon as the mask is restored.
pub fn with_stop_signals_blocked<T>(spawn: impl FnOnce() -> T) -> T {
    // SAFETY: both sigset_t values are initialised (sigemptyset, or by
    // pthread_sigmask) before they are read.
    let old = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    };
    let spawned = spawn();
    // SAFETY: `old` came from pthread_sigmask.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    spawned
}

/// Returns once SIGINT or SIGTERM has arrived, for a thread that has nothing
/// else to do (the workers of a pool serve; `main` waits here). It sleeps in
/// `poll` on the wakeup pipe, so a signal that lands just before the call is
/// not missed: the handler's byte is waiting in the pipe.
pub fn wait_for_stop_signal() {
    let mut wakeup = libc::pollfd {
        fd: wakeup_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    while !requested() {
        // SAFETY: one pollfd, alive on this stack for the whole call.
        unsafe { libc::poll(&mut wakeup, 1, -1) };
    }
}

/// At shutdown, after accepting has stopped: waits while `busy()` says some
/// worker is still serving, but never longer than [`GRACE`].
///
/// A thread blocked reading an idle keep-alive connection looks busy too, so
/// with such a client connected this waits the whole grace period; returning
/// from `main` then ends the process, and the kernel closes what is left.
pub fn wait_while(mut busy: impl FnMut() -> bool) {
    let give_up = Instant::now() + GRACE;
    while busy() && Instant::now() < give_up {
        thread::sleep(Duration::from_millis(10));
    }
}
