//! The connection loop of the strategies that block: read, answer, repeat.
//!
//! The calling thread (or process) belongs to this one connection until it
//! closes. Timeouts are socket options (`SO_RCVTIMEO`, `SO_SNDTIMEO`), so a
//! silent client costs a blocked thread for at most the configured timeout,
//! and a delayed response (`/sleep`) is a `thread::sleep`: the thread can do
//! nothing else meanwhile. That is the whole cost of blocking.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::io::{interrupted, timed_out};
use crate::session::{Action, Session};
use crate::{HttpConfig, signals};

/// Bytes read per `read` call.
const READ_CHUNK: usize = 16 * 1024;
/// Tolerance on the socket timeouts: changing one costs a system call, so a
/// timeout that would fire up to this much late is left as it is.
const TIMEOUT_SLACK: Duration = Duration::from_millis(50);

/// Serves one connection until it closes, fails, or the server is stopping.
pub fn serve_connection(stream: TcpStream, peer: SocketAddr, config: &HttpConfig) {
    let mut session = Session::new(*config, peer, Instant::now());
    let mut buf = [0u8; READ_CHUNK];
    let mut timeouts = Timeouts::default();
    let mut stream = &stream;
    loop {
        let now = Instant::now();
        match session.next(now) {
            Action::Read { deadline } => {
                timeouts.read(stream, deadline, now);
                match stream.read(&mut buf) {
                    Ok(0) => session.peer_closed(),
                    Ok(n) => session.received(&buf[..n], Instant::now()),
                    // The deadline passed: next() decides between 408 and closing.
                    Err(err) if timed_out(&err) => {}
                    Err(err) if interrupted(&err) && !signals::requested() => {}
                    // Reset by the peer, or the server is stopping.
                    Err(_) => return,
                }
            }
            Action::Write { deadline } => {
                timeouts.write(stream, deadline, now);
                match stream.write(session.output()) {
                    Ok(0) => return,
                    Ok(n) => session.written(n),
                    // The client is not reading: next() decides when to give up.
                    Err(err) if timed_out(&err) => {}
                    Err(err) if interrupted(&err) && !signals::requested() => {}
                    // The peer is gone.
                    Err(_) => return,
                }
            }
            // The stand-in for a slow database call: this thread waits, and
            // with it everything this thread could otherwise be doing.
            Action::Sleep { until } => thread::sleep(until.saturating_duration_since(now)),
            // This thread serves no one else, so its turn never ends.
            Action::Yield => {}
            Action::HalfClose => {
                let _ = stream.shutdown(Shutdown::Write);
            }
            Action::Close => return,
        }
    }
}

/// The socket's read and write timeouts as last set. Setting one costs a
/// system call, so a timeout that would fire up to [`TIMEOUT_SLACK`] late,
/// or no more than twice too early, is left as it is.
#[derive(Default)]
struct Timeouts {
    read: Option<Duration>,
    write: Option<Duration>,
}

impl Timeouts {
    fn read(&mut self, stream: &TcpStream, deadline: Instant, now: Instant) {
        if let Some(wanted) = Self::update(&mut self.read, deadline, now) {
            let _ = stream.set_read_timeout(Some(wanted));
        }
    }

    fn write(&mut self, stream: &TcpStream, deadline: Instant, now: Instant) {
        if let Some(wanted) = Self::update(&mut self.write, deadline, now) {
            let _ = stream.set_write_timeout(Some(wanted));
        }
    }

    /// The timeout to set, if the one in force is too far off.
    fn update(set: &mut Option<Duration>, deadline: Instant, now: Instant) -> Option<Duration> {
        let wanted = deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        if set.is_some_and(|set| set <= wanted + TIMEOUT_SLACK && set >= wanted / 2) {
            return None;
        }
        *set = Some(wanted);
        Some(wanted)
    }
}
