//! # uring_server — one thread, a completion loop on io_uring
//!
//! One thread owns every connection, as in `multiplexingio_server`, but it
//! does not ask the kernel which sockets are *ready* and then read or write
//! them itself: it hands the kernel the reads, writes and timers to *do*,
//! and is told when each is *done*. The two are rings shared with the kernel:
//! the loop puts operations in the submission ring, makes one
//! `io_uring_enter` for all of them, and takes their results from the
//! completion ring. Each completion carries a `user_data` that says which
//! operation and which connection it was (see `ring::Token`).
//!
//! Accept is one multishot operation that completes once per new client,
//! and each connection's receive is one multishot operation that completes
//! once per batch of bytes that arrives. Receives name a provided-buffer
//! ring instead of a buffer, so the kernel picks a buffer only when bytes
//! arrive: an idle connection holds none. Writes are sends of the session's
//! output. The nearest deadline is one timeout
//! operation; `/sleep` is an entry in the timer heap, no thread.
//!
//! **Good at:** the same as epoll (very many mostly idle connections, no
//! CPU while idle), with fewer system calls: a keep-alive request costs a
//! share of one `io_uring_enter` shared by every operation of the batch,
//! instead of an `epoll_wait`, a `read` and a `write` of its own.
//!
//! **Broken by:** what breaks every single-threaded loop: a handler that
//! computes for long (`/cpu?n=…`) stalls every connection, and the server
//! uses one core. Besides, the kernel now holds pointers into the server's
//! memory until each operation completes, so every buffer has an owner and
//! a lifetime the compiler cannot check (the `// SAFETY:` comments), and
//! cancelling an operation is a protocol of its own. Needs Linux 6.0 or
//! later; a kernel or a sandbox (seccomp, some containers) that refuses
//! io_uring ends it at start with one line.

mod ring;

use std::io;
use std::mem;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::process;
use std::time::Instant;

use common::cli::Spec;
use common::io::interrupted;
use common::listen;
use common::slots::Slots;
use common::turn_away::turn_away;
use common::{Action, Config, HttpConfig, Session, kernel, limits, log, signals};
use io_uring::types::{Fd, Timespec};
use io_uring::{IoUring, cqueue, opcode};

use ring::{Backlog, BufRing, Kind, Token};

/// Submission queue entries; the completion queue is twice as large, and
/// the kernel keeps any overflow (IORING_FEAT_NODROP) rather than lose it.
const RING_ENTRIES: u32 = 1024;
/// Provided buffers for reads: a power of two. Each is lent to the kernel
/// only from the moment data arrives until the loop has copied it into the
/// session, within the same turn. Small, because a multishot receive may
/// fill up to 32 of them in a row from one busy socket before the loop sees
/// any (the kernel's MULTISHOT_MAX_RETRY): that burst lands in the session
/// whether it is driven or not, so the buffer size bounds it.
const READ_BUFFERS: u16 = 1024;
const READ_BUFFER_SIZE: usize = 2 * 1024;
const READ_GROUP: u16 = 0;
/// How many unused received bytes a connection that is not being driven may
/// hold before its receive is stopped (see `rein`): more than a client
/// pipelines in one write, less than the single-shot loops may buffer.
const READ_AHEAD: usize = 16 * 1024;

fn main() {
    // Every connection is a descriptor; the default soft limit (often 1024)
    // would cap this server long before its CPU does.
    limits::raise_fd_limit();
    let cap = limits::descriptor_cap();
    let (config, listener) = common::start(
        Spec::new("uring_server", "one thread, a completion loop on io_uring")
            .max_connections(cap.connections),
    );
    let cap = cap.or_flag(config.max_connections);
    // Multishot receive came in 6.0 (multishot accept and the buffer ring in
    // 5.19). An older kernel would take the ring and refuse every receive.
    let (major, minor) = kernel::URING_SERVER_NEEDS;
    if let Err(why) = kernel::require(major, minor, config.name) {
        log::line(format_args!("{why}"));
        process::exit(1);
    }
    // The ring is made before the start-up line: a kernel that refuses
    // io_uring is a failure to start, not a server that announces itself
    // and then dies.
    let mut server = match Server::new(listener, &config, cap.connections) {
        Ok(server) => server,
        Err(err) => {
            log::line(format_args!(
                "{}: cannot set up io_uring: {err}",
                config.name
            ));
            process::exit(1);
        }
    };
    let model = format!(
        "one thread, io_uring completion loop, at most {} connections: {}",
        cap.connections, cap.reason
    );
    listen::announce(&config, &server.listener, &model);
    if let Err(err) = server.run() {
        log::line(format_args!("{}: event loop failed: {err}", config.name));
        process::exit(1);
    }
}

/// The ring, asking the kernel to defer its task work (Linux 6.1+). A
/// completion is finished by a piece of "task work" that must run in this
/// thread; by default the kernel interrupts the thread (an inter-processor
/// interrupt when the packet came in on the other CPU) to run it as soon as
/// possible. Deferred, it runs only when the loop enters the kernel to wait
/// for completions, which it does once a turn anyway: one thread owns the
/// ring (single issuer), so nothing else could need it sooner. An older
/// kernel refuses the flags (EINVAL) and gets the default.
fn new_ring() -> io::Result<IoUring> {
    let deferred = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_taskrun_flag()
        .build(RING_ENTRIES);
    match deferred {
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => IoUring::new(RING_ENTRIES),
        ring => ring,
    }
}

/// Everything the loop owns.
///
/// Field order matters: fields drop in order, and the ring must be gone (the
/// kernel done with every operation and the buffer ring unregistered) before
/// the memory it points to (the buffers, the timespec, the sessions' output)
/// is freed.
struct Server {
    ring: IoUring,
    backlog: Backlog,
    buffers: BufRing,
    /// The loop's one timeout operation reads its expiry from here. The
    /// kernel copies it when it takes the submission, but it lives as long
    /// as the loop all the same, so no order of events can leave it dangling.
    timespec: Box<Timespec>,
    /// When the timeout operation in flight expires, if one is.
    timer_armed: Option<Instant>,
    listener: TcpListener,
    /// Whether the multishot accept is in flight.
    accepting: bool,
    /// While out of descriptors: when to accept again.
    accept_resume: Option<Instant>,
    /// Every connection, by the slot its operations' `user_data` carry,
    /// with its timer.
    connections: Slots<Connection>,
    /// Connections that had their turn with work left; served after the next
    /// batch of completions, behind those with news.
    yielded: Vec<usize>,
    /// Connections whose receive found the buffer ring empty (ENOBUFS): they
    /// read again after this batch, once its buffers are back in the ring.
    starved: Vec<usize>,
    /// Completions copied out of the ring, so that handling them may submit.
    completions: Vec<(u64, i32, u32)>,
    next_tag: u32,
    max_connections: usize,
    http: HttpConfig,
    name: &'static str,
}

impl Server {
    fn new(listener: TcpListener, config: &Config, max_connections: usize) -> io::Result<Server> {
        let ring = new_ring()?;
        let mut buffers = BufRing::new(READ_BUFFERS, READ_BUFFER_SIZE, READ_GROUP)?;
        buffers.register(&ring)?;
        let mut server = Server {
            ring,
            backlog: Backlog::default(),
            buffers,
            timespec: Box::new(Timespec::new()),
            timer_armed: None,
            listener,
            accepting: false,
            accept_resume: None,
            connections: Slots::default(),
            yielded: Vec::new(),
            starved: Vec::new(),
            completions: Vec::with_capacity(2 * RING_ENTRIES as usize),
            next_tag: 0,
            max_connections,
            http: config.http,
            name: config.name,
        };
        server.accept();
        // A signal that lands while the loop sleeps in io_uring_enter
        // interrupts it (EINTR); one that lands just before would not. The
        // byte the handler writes to this pipe completes this poll and wakes
        // the loop all the same.
        let wakeup = signals::wakeup_fd();
        if wakeup >= 0 {
            let poll = opcode::PollAdd::new(Fd(wakeup), libc::POLLIN as u32)
                .build()
                .user_data(Token::new(Kind::Stop, 0, 0).pack());
            // SAFETY: a poll points to no memory of ours.
            unsafe { server.backlog.push(&mut server.ring, poll) };
        }
        // Fail now, before the start-up line, if the kernel refuses what the
        // loop needs (the buffer ring, the multishot accept).
        server.backlog.flush(&mut server.ring)?;
        server.ring.submit()?;
        Ok(server)
    }

    /// The loop: submit every operation the last batch asked for and wait
    /// for at least one completion, in one `io_uring_enter`; then handle
    /// every completion that has arrived.
    fn run(&mut self) -> io::Result<()> {
        while !signals::requested() {
            self.arm_timer(Instant::now());
            self.backlog.flush(&mut self.ring)?;
            // Connections waiting for another turn: only collect what has
            // completed, do not sleep.
            let want = usize::from(self.yielded.is_empty() && self.starved.is_empty());
            match self.ring.submit_and_wait(want) {
                Ok(_) => {}
                // A signal: the loop condition decides whether to stop.
                Err(err) if interrupted(&err) => continue,
                // The completion queue is full and the kernel holds more:
                // take what is there, which makes room.
                Err(err) if err.raw_os_error() == Some(libc::EBUSY) => {}
                Err(err) => return Err(err),
            }
            let yielded = mem::take(&mut self.yielded);
            let starved = mem::take(&mut self.starved);
            let mut completions = mem::take(&mut self.completions);
            completions.extend(
                self.ring
                    .completion()
                    .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags())),
            );
            for &(user_data, result, flags) in &completions {
                // Read per completion, not per batch: a long `/cpu` earlier in
                // the batch must not make later deadlines start in the past.
                self.complete(user_data, result, flags, Instant::now());
            }
            completions.clear();
            self.completions = completions;
            // This batch's buffers are back in the ring: read again.
            for slot in starved {
                self.serve(slot, Instant::now());
            }
            // Those that yielded before this batch get their next turn now,
            // after those with news.
            for slot in yielded {
                if let Some(conn) = self.connections.get_mut(slot) {
                    conn.awaits_turn = false;
                }
                self.serve(slot, Instant::now());
            }
            self.expire_timers(Instant::now());
        }
        // The multishot accept still in flight holds the listening socket
        // until the kernel tears the ring down, which it does after the
        // process is gone: until then the kernel would go on completing
        // handshakes for clients nobody will serve. Close the door first.
        // SAFETY: the listener's descriptor is open, and ours until `self` drops.
        unsafe { libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR) };
        Ok(())
    }

    fn complete(&mut self, user_data: u64, result: i32, flags: u32, now: Instant) {
        let Some(token) = Token::unpack(user_data) else {
            return;
        };
        match token.kind {
            Kind::Accept => self.accepted(result, flags, now),
            // Nothing to do: the loop condition sees the signal.
            Kind::Stop => {}
            // The one timer expired or was removed; either way it is no
            // longer in flight. Expired connections are found by
            // `expire_timers` after the batch.
            Kind::Timer => self.timer_armed = None,
            Kind::TimerUpdate | Kind::Cancel => {}
            Kind::Recv => self.received(token, result, flags, now),
            Kind::Send => self.sent(token, result, now),
        }
    }

    /// Submits the multishot accept: one operation that completes once for
    /// every client that connects, until it fails or the kernel ends it.
    fn accept(&mut self) {
        // No SOCK_NONBLOCK: io_uring honours O_NONBLOCK, and would answer
        // EAGAIN to a receive instead of waiting for data itself.
        let accept = opcode::AcceptMulti::new(Fd(self.listener.as_raw_fd()))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Token::new(Kind::Accept, 0, 0).pack());
        // SAFETY: a multishot accept passes no address buffer: nothing of
        // ours is pointed to. The listener lives as long as the loop.
        unsafe { self.backlog.push(&mut self.ring, accept) };
        self.accepting = true;
    }

    fn accepted(&mut self, result: i32, flags: u32, now: Instant) {
        // Without IORING_CQE_F_MORE the multishot accept has ended (an
        // error, or the kernel's choice) and must be submitted again.
        if !cqueue::more(flags) {
            self.accepting = false;
        }
        if result < 0 {
            let err = io::Error::from_raw_os_error(-result);
            // Out of descriptors or memory: submitting again at once would
            // fail at once and spin the CPU, so rest a moment (a deadline
            // like any other). Other failures concern one client.
            if let Some(pause) = listen::accept_pause(&err) {
                listen::complain_accept_failed(self.name, &err);
                self.accept_resume = Some(now + pause);
            }
        } else {
            // SAFETY: the kernel returned a new descriptor that nothing else owns.
            let stream = unsafe { TcpStream::from_raw_fd(result) };
            self.open(stream, now);
        }
        if !self.accepting && self.accept_resume.is_none() {
            self.accept();
        }
    }

    fn open(&mut self, stream: TcpStream, now: Instant) {
        if self.connections.live() >= self.max_connections {
            turn_away(stream);
            return;
        }
        // A multishot accept returns no address, so it costs a getpeername;
        // one that fails means the client has already gone.
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        // Every response is written whole, so Nagle's algorithm could only
        // delay it (see common::listen::accept_with).
        let _ = stream.set_nodelay(true);
        let session = Session::new(self.http, peer, now);
        let tag = ring::next_tag(&mut self.next_tag);
        let slot = self.connections.insert(Connection {
            stream,
            session,
            tag,
            recv: Recv::Off,
            sending: false,
            cancelling_send: false,
            awaits_turn: false,
        });
        // Starts the first receive, and the idle timeout's timer.
        self.serve(slot, now);
    }

    /// A receive completed: hand the bytes to the session, give the buffer
    /// back to the ring at once, and drive the connection on if it may be.
    fn received(&mut self, token: Token, result: i32, flags: u32, now: Instant) {
        let slot = token.slot as usize;
        let bid = cqueue::buffer_select(flags);
        let conn = self
            .connections
            .get_mut(slot)
            .filter(|conn| conn.tag == token.tag);
        let Some(conn) = conn else {
            // The late completion of a connection already closed (its
            // receive was cancelled as it closed): only the buffer matters.
            if let Some(bid) = bid {
                self.buffers.give_back(bid);
            }
            return;
        };
        // Without IORING_CQE_F_MORE the receive has ended: the peer closed,
        // an error, a cancel, an empty buffer ring, or the kernel's choice.
        if !cqueue::more(flags) {
            conn.recv = Recv::Off;
        }
        match result {
            0 => conn.session.peer_closed(),
            n if n > 0 => {
                if let Some(bid) = bid {
                    conn.session
                        .received(self.buffers.bytes(bid, n as usize), now);
                }
            }
            // The buffer ring was empty when the bytes came: receive again
            // after this batch, whose buffers go back as it is handled.
            n if -n == libc::ENOBUFS => {
                self.starved.push(slot);
                return;
            }
            // Cancelled (see `stop_receiving`), or interrupted: the session
            // decides what comes next.
            n if -n == libc::ECANCELED || -n == libc::EINTR || -n == libc::EAGAIN => {}
            // Reset by the peer.
            _ => conn.session.abort(),
        }
        if let Some(bid) = bid {
            self.buffers.give_back(bid);
        }
        if conn.sending || conn.awaits_turn {
            // Not driven now: its output is lent to the kernel, or it waits
            // for its turn. The bytes wait in its input, which must not grow
            // without end.
            rein(conn, slot, &mut self.backlog, &mut self.ring);
        } else {
            self.serve(slot, now);
        }
    }

    fn sent(&mut self, token: Token, result: i32, now: Instant) {
        let slot = token.slot as usize;
        let Some(conn) = self
            .connections
            .get_mut(slot)
            .filter(|conn| conn.sending && conn.tag == token.tag)
        else {
            return;
        };
        conn.sending = false;
        conn.cancelling_send = false;
        // The socket took only part: its buffer is full, so the client reads
        // slower than it is answered. Its next bytes wait in the socket until
        // it has caught up (see `rein`).
        if result > 0 && (result as usize) < conn.session.output().len() {
            stop_receiving(conn, slot, &mut self.backlog, &mut self.ring);
        }
        match result {
            // A socket never takes zero of the bytes it is offered; should
            // one, sending again would loop forever.
            0 => conn.session.abort(),
            n if n > 0 => conn.session.written(n as usize),
            n if -n == libc::ECANCELED || -n == libc::EINTR || -n == libc::EAGAIN => {}
            // The peer is gone.
            _ => conn.session.abort(),
        }
        self.serve(slot, now);
    }

    /// Drives a connection with no send in flight until it waits, and
    /// submits what it waits for: a receive, a send, a timer, a turn; or
    /// closes it.
    fn serve(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.connections.get_mut(slot) else {
            return;
        };
        // The session's output must not change while the kernel holds a
        // pointer into it (see `Connection::sending`); the send's completion
        // will serve it.
        if conn.sending {
            return;
        }
        let fd = Fd(conn.stream.as_raw_fd());
        let deadline = loop {
            match conn.session.next(now) {
                Action::Read { deadline } => {
                    if conn.recv == Recv::Off {
                        // One multishot receive: it stays armed across
                        // requests and completes once for every batch of
                        // bytes that arrives, each in a buffer the kernel
                        // takes from the ring only then.
                        let recv = opcode::RecvMulti::new(fd, self.buffers.group())
                            .build()
                            .user_data(Token::new(Kind::Recv, slot, conn.tag).pack());
                        // SAFETY: a receive points only into the buffer
                        // ring, which outlives the IoUring (see `Server`).
                        unsafe { self.backlog.push(&mut self.ring, recv) };
                        conn.recv = Recv::Armed;
                    }
                    break deadline;
                }
                // The timer wakes a connection whose client stopped reading
                // at the deadline: the send is cancelled, and next() then
                // closes it.
                Action::Write { deadline } => {
                    let output = conn.session.output();
                    let send = opcode::Send::new(fd, output.as_ptr(), output.len() as u32)
                        .build()
                        .user_data(Token::new(Kind::Send, slot, conn.tag).pack());
                    // SAFETY: a send points into the session's output: a
                    // Vec's heap block, which does not move when the
                    // Connection moves (in `Slots`), and which nothing
                    // changes or frees while `sending` is set: `serve`
                    // returns at once, so neither `next` nor `written` runs;
                    // `received` only adds to the session's input; and the
                    // connection is only removed by `serve`.
                    unsafe { self.backlog.push(&mut self.ring, send) };
                    conn.sending = true;
                    break deadline;
                }
                // A `/sleep` response: the timer heap wakes us when it is due.
                Action::Sleep { until } => {
                    rein(conn, slot, &mut self.backlog, &mut self.ring);
                    break until;
                }
                // One client must not keep the only thread: see `yielded`.
                Action::Yield => {
                    rein(conn, slot, &mut self.backlog, &mut self.ring);
                    if !mem::replace(&mut conn.awaits_turn, true) {
                        self.yielded.push(slot);
                    }
                    return;
                }
                Action::HalfClose => {
                    let _ = conn.stream.shutdown(Shutdown::Write);
                }
                Action::Close => {
                    // No send is in flight (checked above). A receive may
                    // be, but it points into the buffer ring, not into this
                    // connection: it is cancelled, and its last completion,
                    // whenever it comes, finds another tag in the slot and
                    // only gives its buffer back. The kernel holds the
                    // socket open until then, which is a submission and a
                    // completion away, maybe behind a greedy client's turn:
                    // so the FIN goes now.
                    if conn.recv != Recv::Off {
                        let _ = conn.stream.shutdown(Shutdown::Both);
                    }
                    if conn.recv == Recv::Armed {
                        cancel(
                            Kind::Recv,
                            slot,
                            conn.tag,
                            &mut self.backlog,
                            &mut self.ring,
                        );
                    }
                    self.connections.remove(slot);
                    return;
                }
            }
        };
        self.connections.wake_by(slot, deadline);
    }

    /// Serves every connection whose deadline has passed, and resumes
    /// accepting after a pause.
    fn expire_timers(&mut self, now: Instant) {
        while let Some(slot) = self.connections.next_due(now) {
            let Some(conn) = self.connections.get_mut(slot) else {
                continue;
            };
            if !conn.sending {
                // Its receive, if armed, stays armed: the session decides
                // (close, answer 408, or wait on).
                self.serve(slot, now);
            } else if !conn.cancelling_send {
                // A timer fired for a connection with a send in flight: a
                // client that reads nothing, or a timer set for an earlier
                // plan (a timer is only ever moved earlier, see
                // `Slots::wake_by`), which a busy connection meets about
                // once a timeout. Either way the send is cancelled, and the
                // session, served, decides: close, or wait again with its
                // real deadline. An early cancel costs two operations now
                // and then; remembering each connection's deadline would
                // cost every idle connection 16 bytes.
                //
                // Cancelling is a request, not a command: the send may
                // already have completed, or be completing now. So the loop
                // asks, marks the connection, and leaves its output alone
                // until the send's *own* completion arrives (with
                // -ECANCELED, or with bytes written after all); `sent` then
                // serves the connection. The cancel's own completion says
                // nothing the loop needs.
                conn.cancelling_send = true;
                cancel(
                    Kind::Send,
                    slot,
                    conn.tag,
                    &mut self.backlog,
                    &mut self.ring,
                );
            }
        }
        if self.accept_resume.is_some_and(|at| at <= now) {
            self.accept_resume = None;
            if !self.accepting {
                self.accept();
            }
        }
    }

    /// Makes the loop's one timeout operation expire by the nearest
    /// deadline: submits it if none is in flight, moves it earlier if the
    /// nearest deadline is earlier than its expiry. A later deadline needs
    /// nothing: the timer wakes the loop early and it asks again.
    fn arm_timer(&mut self, now: Instant) {
        let Some(next) = self.next_deadline() else {
            return;
        };
        if self.timer_armed.is_some_and(|armed| armed <= next) {
            return;
        }
        *self.timespec = Timespec::from(next.saturating_duration_since(now));
        let timespec: *const Timespec = &*self.timespec;
        let timer = Token::new(Kind::Timer, 0, 0).pack();
        let entry = if self.timer_armed.is_some() {
            // If the timer expires before the update reaches it, the update
            // fails (ENOENT) and the expiry's completion clears
            // `timer_armed`, so the next turn arms it afresh.
            opcode::TimeoutUpdate::new(timer, timespec)
                .build()
                .user_data(Token::new(Kind::TimerUpdate, 0, 0).pack())
        } else {
            opcode::Timeout::new(timespec).build().user_data(timer)
        };
        // SAFETY: the timespec is boxed in the Server, which outlives the
        // ring's operations (see `Server`), and is not written again before
        // this entry is submitted: one timer entry at most per turn.
        unsafe { self.backlog.push(&mut self.ring, entry) };
        self.timer_armed = Some(next);
    }

    /// The nearest moment something is due.
    fn next_deadline(&mut self) -> Option<Instant> {
        match (self.connections.next_deadline(), self.accept_resume) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Where a connection's multishot receive stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recv {
    /// None in flight: the next `Action::Read` submits one.
    Off,
    Armed,
    /// Cancelled (see `rein`); a new one waits for its last completion, so
    /// that two receives never deliver the same connection's bytes.
    Cancelling,
}

/// One client: its socket, where its conversation stands, what the kernel
/// is doing for it, and what will wake it.
struct Connection {
    stream: TcpStream,
    session: Session,
    /// The tag in the `user_data` of this connection's operations, new for
    /// every connection: a completion that comes after its connection has
    /// closed must not be taken for the next one in the same slot.
    tag: u32,
    recv: Recv,
    /// A send is in flight: the kernel holds a pointer into the session's
    /// output until it completes, so the session is not driven meanwhile.
    sending: bool,
    /// A cancel of that send has been submitted.
    cancelling_send: bool,
    /// Whether it has a place in `Server::yielded` (see multiplexingio_server:
    /// without this mark a client that never stops sending would get ever
    /// more places in the line).
    awaits_turn: bool,
}

/// Stops the receive of a connection that is not being driven (its send is
/// in flight, it waits for its turn, or for a `/sleep`) once its session
/// holds `READ_AHEAD` unused bytes. A receive that stayed armed would keep
/// taking a client's bytes however many it sent without reading answers;
/// stopped, they wait in the socket, and TCP makes the client wait.
fn rein(conn: &mut Connection, slot: usize, backlog: &mut Backlog, ring: &mut IoUring) {
    if conn.session.buffered() >= READ_AHEAD {
        stop_receiving(conn, slot, backlog, ring);
    }
}

/// Cancels the connection's receive, if one is armed; the next
/// `Action::Read` after its last completion arms a new one.
fn stop_receiving(conn: &mut Connection, slot: usize, backlog: &mut Backlog, ring: &mut IoUring) {
    if conn.recv == Recv::Armed {
        cancel(Kind::Recv, slot, conn.tag, backlog, ring);
        conn.recv = Recv::Cancelling;
    }
}

/// Asks the kernel to cancel a connection's receive or send.
fn cancel(kind: Kind, slot: usize, tag: u32, backlog: &mut Backlog, ring: &mut IoUring) {
    let target = Token::new(kind, slot, tag).pack();
    let cancel = opcode::AsyncCancel::new(target)
        .build()
        .user_data(Token::new(Kind::Cancel, slot, tag).pack());
    // SAFETY: a cancel points to no memory of ours.
    unsafe { backlog.push(ring, cancel) };
}
