//! What the strategies with worker threads share: starting threads that leave
//! SIGINT/SIGTERM to the main thread, turning a client away when there is no
//! room for it, and giving the workers a moment to finish when the server stops.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::{http, shutdown};

/// Runs `spawn` with SIGINT and SIGTERM blocked in the calling thread.
///
/// A new thread starts with its creator's signal mask, so every thread
/// created inside `spawn` keeps those signals blocked for good, and the
/// kernel delivers them to the calling thread (in these servers, `main`): its
/// blocking call is the one that returns `EINTR`. A signal that arrives
/// meanwhile waits, and is handled as soon as the mask is restored.
pub fn with_stop_signals_blocked<T>(spawn: impl FnOnce() -> T) -> T {
    let old = shutdown::block_in_this_thread();
    let spawned = spawn();
    shutdown::restore_mask(&old);
    spawned
}

/// Answers `503 Service Unavailable` with `Retry-After: 1` and closes,
/// without reading the request and without ever blocking the caller, which is
/// usually the thread that accepts everyone else.
pub fn turn_away(mut stream: TcpStream) {
    // A fresh socket's send buffer always has room for these few bytes, so a
    // non-blocking write sends them whole; if it does not, the client is gone.
    let _ = stream.set_nonblocking(true);
    let _ = stream.write_all(&http::overloaded_response(1));
    let _ = stream.shutdown(Shutdown::Write);
    // Closing a socket that still holds unread bytes makes the kernel send RST
    // instead of FIN, and an RST can destroy the 503 before the client reads it.
    // So discard what has arrived; the closing FIN follows the 503.
    let mut discard = [0u8; 4096];
    while let Ok(1..) = stream.read(&mut discard) {}
}

/// At shutdown, after accepting has stopped: waits while `busy()` says some
/// worker is still serving, but never longer than [`shutdown::GRACE`].
///
/// A thread blocked reading an idle keep-alive connection looks busy too, so
/// with such a client connected this waits the whole grace period; returning
/// from `main` then ends the process, and the kernel closes what is left.
pub fn wait_while(mut busy: impl FnMut() -> bool) {
    let give_up = Instant::now() + shutdown::GRACE;
    while busy() && Instant::now() < give_up {
        thread::sleep(Duration::from_millis(10));
    }
}
