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
/// Tolerance on the read timeout: changing it costs a system call, so a timeout
/// that would fire up to this much late is left as it is.
const TIMEOUT_SLACK: Duration = Duration::from_millis(50);

/// Serves one connection until it closes, fails, or the server is stopping.
pub fn serve_connection(stream: TcpStream, peer: SocketAddr, config: &HttpConfig) {
    // A client that stops reading must not hold this thread forever.
    let _ = stream.set_write_timeout(Some(config.limits.idle_timeout));
    let mut session = Session::new(*config, peer, Instant::now());
    let mut buf = [0u8; READ_CHUNK];
    let mut read_timeout: Option<Duration> = None;
    let mut stream = &stream;
    loop {
        let now = Instant::now();
        match session.next(now) {
            Action::Read { deadline } => {
                let wanted = deadline
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1));
                if read_timeout.is_none_or(|set| set > wanted + TIMEOUT_SLACK || set < wanted / 2) {
                    let _ = stream.set_read_timeout(Some(wanted));
                    read_timeout = Some(wanted);
                }
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
            Action::Write => match stream.write(session.output()) {
                Ok(0) => return,
                Ok(n) => session.written(n),
                Err(err) if interrupted(&err) && !signals::requested() => {}
                // The peer is gone, or stopped reading for a whole idle timeout.
                Err(_) => return,
            },
            // The stand-in for a slow database call: this thread waits, and
            // with it everything this thread could otherwise be doing.
            Action::Sleep { until } => thread::sleep(until.saturating_duration_since(now)),
            Action::HalfClose => {
                let _ = stream.shutdown(Shutdown::Write);
            }
            Action::Close => return,
        }
    }
}
