//! The connection loop of the strategies that block: read, answer, repeat.
//!
//! The calling thread (or process) belongs to this one connection until it
//! closes. Timeouts are socket options (`SO_RCVTIMEO`, `SO_SNDTIMEO`), so a
//! silent client costs a blocked thread for at most the configured timeout.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::net::{interrupted, timed_out};
use crate::session::{Action, Session};
use crate::{HttpConfig, shutdown};

/// Bytes read per `read` call.
const READ_CHUNK: usize = 16 * 1024;
/// Tolerance on the read timeout: changing it costs a system call, so a timeout
/// that would fire up to this much late is left as it is.
const TIMEOUT_SLACK: Duration = Duration::from_millis(50);

/// Serves one connection until it closes, fails, or the server is stopping.
///
/// `wait` is how this strategy waits for a delayed response (`/sleep`): a
/// blocking strategy passes `std::thread::sleep`.
pub fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    config: &HttpConfig,
    mut wait: impl FnMut(Duration),
) {
    // Responses are written whole; Nagle's algorithm would only delay them.
    let _ = stream.set_nodelay(true);
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
                    Err(err) if interrupted(&err) && !shutdown::requested() => {}
                    // Reset by the peer, or the server is stopping.
                    Err(_) => return,
                }
            }
            Action::Write => match stream.write(session.output()) {
                Ok(0) => return,
                Ok(n) => session.written(n),
                Err(err) if interrupted(&err) && !shutdown::requested() => {}
                // The peer is gone, or stopped reading for a whole idle timeout.
                Err(_) => return,
            },
            Action::Sleep { until } => wait(until.saturating_duration_since(now)),
            Action::HalfClose => {
                let _ = stream.shutdown(Shutdown::Write);
            }
            Action::Close => return,
        }
    }
}
