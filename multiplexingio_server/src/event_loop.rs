//! The event loop of `multiplexingio_server`: one thread, one `mio::Poll`,
//! every connection it accepted. `main.rs` starts one of these;
//! `percore_server` starts one per core, each on its own listening socket.
//!
//! [`Server::run`] waits in `Poll::poll` (`epoll_wait`) until a socket is
//! ready or the nearest deadline passes, then serves exactly the connections
//! that can move. Each connection has a token (its slot number) and a
//! [`Connection`]: its socket, its `Session`, what epoll last said about it,
//! and what will wake it.

use std::io::{self, Read, Write};
use std::mem;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use common::io::{interrupted, would_block};
use common::listen::{self, Waiting};
use common::slots::Slots;
use common::turn_away::turn_away;
use common::{Action, Config, HttpConfig, Session, signals};
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

/// The listening socket's token; a connection's token is its slot number.
const LISTENER: Token = Token(usize::MAX);
/// The self-pipe that a stop signal writes to (see `common::signals`).
const STOP: Token = Token(usize::MAX - 1);
/// Readiness events taken from the kernel per `poll`.
const EVENTS: usize = 1024;
/// One read buffer serves every connection: a read lands here and the
/// session keeps only the bytes it has not used yet, so an idle connection
/// holds no read buffer of its own.
const READ_BUFFER: usize = 64 * 1024;

/// Everything the event loop owns.
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    /// Every connection, by token, with its timer.
    connections: Slots<Connection>,
    /// Connections that had their turn with work left: they are served
    /// again after the next `poll`, behind whatever it reports. Each is in
    /// it once at most (see [`Connection::awaits_turn`]).
    yielded: Vec<usize>,
    /// Past this many connections new clients are turned away with a 503,
    /// while there are still descriptors to accept them with.
    max_connections: usize,
    /// While out of descriptors: when to try accepting again.
    accept_resume: Option<Instant>,
    buf: Box<[u8]>,
    http: HttpConfig,
    name: &'static str,
}

impl Server {
    /// An event loop that will serve `listener`, with at most
    /// `max_connections` connections at a time.
    pub fn new(
        listener: std::net::TcpListener,
        config: &Config,
        max_connections: usize,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        // A signal that lands just before `poll` would not interrupt it; the
        // byte the handler writes to this pipe wakes it all the same.
        let wakeup = signals::wakeup_fd();
        if wakeup >= 0 {
            poll.registry()
                .register(&mut SourceFd(&wakeup), STOP, Interest::READABLE)?;
        }
        Ok(Server {
            poll,
            listener,
            connections: Slots::default(),
            yielded: Vec::new(),
            max_connections,
            accept_resume: None,
            buf: vec![0u8; READ_BUFFER].into_boxed_slice(),
            http: config.http,
            name: config.name,
        })
    }

    /// The event loop: wait for readiness or a deadline, then serve exactly
    /// the connections that can move.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        while !signals::requested() {
            // With connections waiting for another turn, only look at the
            // sockets; otherwise sleep until an event or the nearest deadline.
            let timeout = if self.yielded.is_empty() {
                self.next_deadline()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                // A signal: the loop condition decides whether to stop.
                Err(err) if interrupted(&err) => continue,
                Err(err) => return Err(err),
            }
            let yielded = mem::take(&mut self.yielded);
            for event in events.iter() {
                // Read per event, not per batch: a long `/cpu` earlier in the
                // batch must not make later deadlines start in the past.
                let now = Instant::now();
                match event.token() {
                    LISTENER => self.accept_all(now),
                    // Nothing to do: the loop condition sees the signal.
                    STOP => {}
                    Token(slot) => self.ready(slot, event, now),
                }
            }
            // The connections that yielded before this poll get their next
            // turn now, after those with news.
            for slot in yielded {
                if let Some(conn) = self.connections.get_mut(slot) {
                    conn.awaits_turn = false;
                }
                self.serve(slot, Instant::now());
            }
            self.expire_timers(Instant::now());
        }
        Ok(())
    }

    /// The nearest moment something is due, which bounds how long `poll`
    /// may sleep. `None` (no deadline at all) lets it sleep until an event.
    fn next_deadline(&mut self) -> Option<Instant> {
        match (self.connections.next_deadline(), self.accept_resume) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Accepts every connection that is waiting. With edge-triggered epoll
    /// the listener is reported once per burst of arrivals, so stopping
    /// before `WouldBlock` could leave clients queued with no new event.
    fn accept_all(&mut self, now: Instant) {
        if self.accept_resume.is_some() {
            // Resting after EMFILE: the timer will call again.
            return;
        }
        loop {
            match listen::next_waiting(&self.listener, self.name) {
                Waiting::Client(stream, _) if self.connections.live() >= self.max_connections => {
                    turn_away(stream)
                }
                Waiting::Client(stream, peer) => self.open(TcpStream::from_std(stream), peer, now),
                Waiting::Nobody => return,
                // Out of descriptors (EMFILE) or memory. The listener stays
                // readable but, edge-triggered, raises no new event; and
                // retrying at once would fail at once, spinning the CPU. So
                // rest a moment: the retry is a deadline like any other.
                Waiting::Pause(pause) => {
                    self.accept_resume = Some(now + pause);
                    return;
                }
            }
        }
    }

    fn open(&mut self, mut stream: TcpStream, peer: SocketAddr, now: Instant) {
        let slot = self.connections.next_slot();
        let registry = self.poll.registry();
        if registry
            .register(&mut stream, Token(slot), Interest::READABLE)
            .is_err()
        {
            // epoll is out of memory: this client is dropped, the rest go on.
            return;
        }
        let session = Session::new(self.http, peer, now);
        self.connections.insert(Connection::new(stream, session));
        // Nothing to read yet (epoll will say when), but the idle timeout
        // starts now: this arms its timer.
        self.serve(slot, now);
    }

    /// Records what epoll says about a connection and serves it.
    fn ready(&mut self, slot: usize, event: &Event, now: Instant) {
        // The connection may have closed earlier in this batch, and its slot
        // even gone to a new one; then this costs one read that says
        // WouldBlock, nothing worse.
        let Some(conn) = self.connections.get_mut(slot) else {
            return;
        };
        conn.readiness.update(event);
        self.serve(slot, now);
    }

    /// Drives a connection as far as it goes, then sets up what will wake it:
    /// epoll interest and a timer, or closes it.
    fn serve(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.connections.get_mut(slot) else {
            return;
        };
        let (deadline, writes) = match conn.drive(&mut self.buf, now) {
            Wait::Read(deadline) | Wait::Sleep(deadline) => (deadline, false),
            Wait::Write(deadline) => (deadline, true),
            Wait::Turn => {
                // A connection served for an event while it waits for its
                // turn keeps the one place it has.
                if !mem::replace(&mut conn.awaits_turn, true) {
                    self.yielded.push(slot);
                }
                return;
            }
            Wait::Done => {
                // Closing the socket also takes it out of epoll.
                self.connections.remove(slot);
                return;
            }
        };
        if conn.watch_writes(writes, &self.poll, slot).is_err() {
            self.connections.remove(slot);
            return;
        }
        self.connections.wake_by(slot, deadline);
    }

    /// Serves every connection whose timer is due, and resumes accepting
    /// after a pause.
    fn expire_timers(&mut self, now: Instant) {
        while let Some(slot) = self.connections.next_due(now) {
            self.serve(slot, now);
        }
        if self.accept_resume.is_some_and(|at| at <= now) {
            self.accept_resume = None;
            self.accept_all(now);
        }
    }
}

/// What a connection waits for after [`Connection::drive`], each with the
/// deadline by which it must be looked at again.
enum Wait {
    /// Bytes from the client (the deadline is its idle or header timeout).
    Read(Instant),
    /// Room in the send buffer (the deadline: give up on a client that
    /// does not read).
    Write(Instant),
    /// A delayed response's due time.
    Sleep(Instant),
    /// Another turn, after the other connections have had theirs.
    Turn,
    /// Nothing: the connection is finished.
    Done,
}

/// What epoll last said about a socket, kept until a call says otherwise.
///
/// epoll is edge-triggered under mio: it reports a socket when it *becomes*
/// ready, not for as long as it stays ready. So the loop must remember
/// readiness itself and clear it only when a call proves it gone; and since
/// it is remembered, a call that would only say `WouldBlock` can be skipped.
#[derive(Default)]
struct Readiness {
    readable: bool,
    writable: bool,
    /// The client has sent FIN (or the socket failed): reads will now
    /// return everything left and then 0, without another event.
    hung_up: bool,
}

impl Readiness {
    fn update(&mut self, event: &Event) {
        // An error makes both calls return it, which closes the connection.
        let failed = event.is_error();
        self.hung_up |= event.is_read_closed() || failed;
        self.readable |= event.is_readable() || self.hung_up;
        self.writable |= event.is_writable() || event.is_write_closed() || failed;
    }
}

/// One client: its socket, where its conversation stands, and what will
/// wake it.
struct Connection {
    stream: TcpStream,
    session: Session,
    readiness: Readiness,
    /// Whether epoll is watching for writability as well as readability.
    watching_writes: bool,
    /// Whether it has a place in `Server::yielded`. Without this mark, a
    /// client that never stops sending would be put in the line again by
    /// every event that arrives while it waits there, get one more turn per
    /// loop each time, and in a second or two have the loop to itself.
    awaits_turn: bool,
}

impl Connection {
    fn new(stream: TcpStream, session: Session) -> Self {
        Connection {
            stream,
            session,
            // A fresh socket has an empty send buffer; data to read, if any,
            // is reported by epoll when the socket is registered.
            readiness: Readiness {
                writable: true,
                ..Readiness::default()
            },
            watching_writes: false,
            awaits_turn: false,
        }
    }

    /// Moves the session on until it has to wait, and says for what. A read
    /// or write is tried only while the socket is known to be ready, so a
    /// keep-alive request costs one read and one write, and no call that
    /// would only say `WouldBlock`.
    fn drive(&mut self, buf: &mut [u8], now: Instant) -> Wait {
        loop {
            match self.session.next(now) {
                Action::Read { deadline } if !self.readiness.readable => {
                    return Wait::Read(deadline);
                }
                Action::Read { .. } => self.read(buf, now),
                // The timer wakes a connection whose client stopped reading
                // at the deadline, and next() then closes it.
                Action::Write { deadline } if !self.readiness.writable => {
                    return Wait::Write(deadline);
                }
                Action::Write { .. } => self.write(),
                // A `/sleep` response: the timer heap wakes us when it is due.
                Action::Sleep { until } => return Wait::Sleep(until),
                // One client must not keep the only thread: see `Server::yielded`.
                Action::Yield => return Wait::Turn,
                Action::HalfClose => {
                    let _ = self.stream.shutdown(Shutdown::Write);
                }
                Action::Close => return Wait::Done,
            }
        }
    }

    fn read(&mut self, buf: &mut [u8], now: Instant) {
        match self.stream.read(buf) {
            Ok(0) => self.session.peer_closed(),
            Ok(n) => {
                // A read that did not fill the buffer took everything the
                // socket held, so the next read could only say WouldBlock.
                // Skip it: data arriving later raises a new edge, hence a new
                // event. (tokio does the same.) Not after a FIN, though: its
                // edge is spent, and the 0 that ends the stream is still to
                // be read.
                if n < buf.len() && !self.readiness.hung_up {
                    self.readiness.readable = false;
                }
                self.session.received(&buf[..n], now);
            }
            Err(err) if would_block(&err) => self.readiness.readable = false,
            Err(err) if interrupted(&err) => {}
            // Reset by the peer.
            Err(_) => self.session.abort(),
        }
    }

    fn write(&mut self) {
        let offered = self.session.output().len();
        match self.stream.write(self.session.output()) {
            // A socket never takes zero of the bytes it is offered; should
            // one, looping on it would hang the whole server.
            Ok(0) => self.session.abort(),
            Ok(n) => {
                // Likewise, a write that took less than offered found the
                // send buffer full.
                if n < offered {
                    self.readiness.writable = false;
                }
                self.session.written(n);
            }
            Err(err) if would_block(&err) => self.readiness.writable = false,
            Err(err) if interrupted(&err) => {}
            // The peer is gone.
            Err(_) => self.session.abort(),
        }
    }

    /// Asks epoll to report writability only while there is output waiting
    /// for room: otherwise every drained send buffer would wake the loop
    /// for nothing. Changing the interest costs a system call, so it is only
    /// made when the wish changes.
    fn watch_writes(&mut self, wanted: bool, poll: &Poll, slot: usize) -> io::Result<()> {
        if wanted == self.watching_writes {
            return Ok(());
        }
        let interest = if wanted {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        poll.registry()
            .reregister(&mut self.stream, Token(slot), interest)?;
        self.watching_writes = wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bug the mark prevents, found by `bench hostile`'s pipelined
    /// flood: a connection that yields, then is served for an event before
    /// its turn comes, must still have one place in the line, not two.
    #[test]
    fn a_connection_waits_in_line_for_its_turn_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config {
            name: "test",
            host: addr.ip().to_string(),
            port: addr.port(),
            workers: None,
            queue: None,
            max_connections: None,
            http: HttpConfig::default(),
        };
        let mut server = Server::new(listener, &config, 10).unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        // Ten requests of a few ms each: more work than one turn allows.
        let request = b"GET /cpu?n=3000 HTTP/1.1\r\nHost: t\r\n\r\n";
        client.write_all(&request.repeat(10)).unwrap();
        server.accept_all(Instant::now());
        assert_eq!(server.connections.live(), 1);
        // epoll would report the bytes; say so, as `ready` does.
        let event_arrives = |server: &mut Server| {
            if let Some(conn) = server.connections.get_mut(0) {
                conn.readiness.readable = true;
            }
            server.serve(0, Instant::now());
        };
        event_arrives(&mut server);
        assert_eq!(server.yielded, [0]);
        event_arrives(&mut server);
        assert_eq!(server.yielded, [0]);
    }
}
