//! # noblocking_server — one thread, non-blocking sockets, busy-polling
//!
//! One thread owns every connection. Every socket is non-blocking, so no call
//! ever waits: the loop tries `accept`, then tries to read or write on each
//! connection in turn, and starts over at once, whether or not anything
//! happened. A call with nothing to do returns `WouldBlock` and the loop
//! moves on to the next socket.
//!
//! **Good at:** many connections on one thread, with no locks and no thread
//! per client. A slow client or a `/sleep` costs an entry in a list, not a
//! thread: its deadline is simply compared with the clock on every turn.
//!
//! **Broken by:** its own way of waiting. With nothing to do it still makes
//! one system call per connection per turn, so an idle server burns a whole
//! CPU, and each turn gets longer as connections pile up: a thousand idle
//! clients cost a thousand useless reads before a busy one is looked at. The
//! fix is to ask the kernel which sockets are ready, which is the next
//! chapter (`multiplexingio_server`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process;
use std::time::Instant;

use common::cli::Spec;
use common::io::{interrupted, would_block};
use common::listen::{self, Waiting};
use common::turn_away::turn_away;
use common::{Action, HttpConfig, Session, limits, log, signals};

/// One read buffer serves every connection: a read lands here and the
/// session keeps only the bytes it has not used yet, so an idle connection
/// holds no read buffer of its own.
const READ_BUFFER: usize = 64 * 1024;

fn main() {
    // Every connection is a descriptor; the default soft limit (often 1024)
    // would cap this server long before its CPU does.
    limits::raise_fd_limit();
    let cap = limits::descriptor_cap();
    let (config, listener) = common::start(
        Spec::new(
            "noblocking_server",
            "one thread busy-polling non-blocking sockets",
        )
        .max_connections(cap.connections),
    );
    let cap = cap.or_flag(config.max_connections);
    // A blocking accept would wait for the next client while every
    // connection already accepted waited for it.
    if let Err(err) = listener.set_nonblocking(true) {
        log::line(format_args!(
            "{}: cannot make the listener non-blocking: {err}",
            config.name
        ));
        process::exit(1);
    }
    let model = format!(
        "one thread busy-polling non-blocking sockets, at most {} connections: {}",
        cap.connections, cap.reason
    );
    listen::announce(&config, &listener, &model);

    let mut acceptor = Acceptor::new(listener, config.name, cap.connections);
    let mut connections: Vec<Connection> = Vec::new();
    let mut buf = vec![0u8; READ_BUFFER];
    // The whole strategy: try everything, then try everything again. Nothing
    // in this loop ever waits, so it never rests, even with no client at all.
    while !signals::requested() {
        acceptor.accept_all(&mut connections, &config.http, Instant::now());
        // The clock is read per connection: a long `/cpu` answered for one
        // must not make the deadlines of the next start in the past.
        connections.retain_mut(|conn| conn.turn(&mut buf, Instant::now()));
    }
}

/// One client: its socket and where its conversation stands.
struct Connection {
    stream: TcpStream,
    session: Session,
}

impl Connection {
    /// Does everything this connection can do right now without waiting.
    /// Returns `false` once the connection is finished, to drop it.
    fn turn(&mut self, buf: &mut [u8], now: Instant) -> bool {
        loop {
            match self.session.next(now) {
                // No timer is needed for the read deadline: next() compares
                // it with the clock on every turn and answers 408 or closes.
                Action::Read { .. } => match self.stream.read(buf) {
                    Ok(0) => self.session.peer_closed(),
                    Ok(n) => self.session.received(&buf[..n], now),
                    // Nothing has arrived (or a signal cut in): next turn.
                    Err(err) if would_block(&err) || interrupted(&err) => return true,
                    // Reset by the peer.
                    Err(_) => self.session.abort(),
                },
                // Nor for the write deadline: a client that stops reading is
                // given up by next() once it passes.
                Action::Write { .. } => match self.stream.write(self.session.output()) {
                    // A socket never takes zero of the bytes it is offered;
                    // should one, looping on it would hang the whole server.
                    Ok(0) => self.session.abort(),
                    Ok(n) => self.session.written(n),
                    // The send buffer is full: the client is not reading yet.
                    Err(err) if would_block(&err) || interrupted(&err) => return true,
                    // The peer is gone.
                    Err(_) => self.session.abort(),
                },
                // A `/sleep` response is due later. Instead of sleeping, which
                // would stop every other connection too, leave it to a later
                // turn: next() looks at the clock again then.
                Action::Sleep { .. } => return true,
                // This connection has had its share of the sweep; the rest of
                // its work waits for the next one, after everyone else's.
                Action::Yield => return true,
                Action::HalfClose => {
                    let _ = self.stream.shutdown(Shutdown::Write);
                }
                Action::Close => return false,
            }
        }
    }
}

/// The listening socket, which may rest for a moment after running out of
/// descriptors.
struct Acceptor {
    listener: TcpListener,
    name: &'static str,
    /// Past this many connections new clients are turned away with a 503,
    /// while there are still descriptors to accept them with.
    max_connections: usize,
    /// While out of descriptors: when to try again.
    resume_at: Option<Instant>,
}

impl Acceptor {
    fn new(listener: TcpListener, name: &'static str, max_connections: usize) -> Self {
        Acceptor {
            listener,
            name,
            max_connections,
            resume_at: None,
        }
    }

    /// Accepts every connection that is waiting, without waiting for one.
    fn accept_all(&mut self, connections: &mut Vec<Connection>, http: &HttpConfig, now: Instant) {
        if self.resume_at.is_some_and(|at| now < at) {
            return;
        }
        self.resume_at = None;
        loop {
            // The new socket is non-blocking too: a blocking read on it
            // would stall every other connection.
            match listen::next_waiting(&self.listener, self.name) {
                Waiting::Client(stream, _) if connections.len() >= self.max_connections => {
                    turn_away(stream)
                }
                Waiting::Client(stream, peer) => connections.push(Connection {
                    stream,
                    session: Session::new(*http, peer, now),
                }),
                Waiting::Nobody => return,
                // Out of descriptors (EMFILE) or memory: trying again at once
                // would fail again at once. Leave new clients queued for a
                // moment and keep serving the ones we have.
                Waiting::Pause(pause) => {
                    self.resume_at = Some(now + pause);
                    return;
                }
            }
        }
    }
}
