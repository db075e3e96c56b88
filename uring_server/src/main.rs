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
//! Accept is one multishot operation that completes once per new client.
//! Reads name a provided-buffer ring instead of a buffer, so the kernel picks
//! a buffer only when bytes arrive: an idle connection holds none. Writes are
//! sends of the session's output. The nearest deadline is one timeout
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
//! cancelling an operation is a protocol of its own. Needs Linux 5.19 or
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
use common::{Action, Config, HttpConfig, Session, limits, log, signals};
use io_uring::types::{Fd, Timespec};
use io_uring::{IoUring, cqueue, opcode, squeue};

use ring::{Backlog, BufRing, Kind, Token};

/// Submission queue entries; the completion queue is twice as large, and
/// the kernel keeps any overflow (IORING_FEAT_NODROP) rather than lose it.
const RING_ENTRIES: u32 = 1024;
/// Provided buffers for reads: a power of two. Each is lent to the kernel
/// only from the moment data arrives until the loop has copied it into the
/// session, within the same turn.
const READ_BUFFERS: u16 = 256;
const READ_BUFFER_SIZE: usize = 8 * 1024;
const READ_GROUP: u16 = 0;
/// IORING_RECVSEND_POLL_FIRST (Linux 6.0; older kernels ignore it): see `serve`.
const POLL_FIRST: u16 = 1;

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
        // loop needs (multishot accept needs 5.19, like the buffer ring).
        server.backlog.flush(&mut server.ring)?;
        server.ring.submit()?;
        Ok(server)
    }

    /// The loop: submit every operation the last batch asked for and wait
    /// for at least one completion, in one `io_uring_enter`; then handle
    /// every completion that has arrived.
    fn run(&mut self) -> io::Result<()> {
        // chapter:start
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
            // chapter:end
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
        let slot = self.connections.insert(Connection {
            stream,
            session,
            op: Op::None,
            tag: 0,
            cancelling: false,
            awaits_turn: false,
        });
        // Starts the first receive, and the idle timeout's timer.
        self.serve(slot, now);
    }

    /// A receive completed: hand the bytes to the session, give the buffer
    /// back to the ring at once, and drive the connection on.
    fn received(&mut self, token: Token, result: i32, flags: u32, now: Instant) {
        let slot = token.slot as usize;
        let bid = cqueue::buffer_select(flags);
        let conn = self
            .connections
            .get_mut(slot)
            .filter(|conn| conn.op == Op::Recv && conn.tag == token.tag);
        let Some(conn) = conn else {
            // Not this slot's current receive (it cannot be, as the loop
            // only frees a slot with nothing in flight; but a buffer must
            // never be lost).
            if let Some(bid) = bid {
                self.buffers.give_back(bid);
            }
            return;
        };
        conn.op = Op::None;
        conn.cancelling = false;
        match result {
            0 => conn.session.peer_closed(),
            n if n > 0 => {
                if let Some(bid) = bid {
                    conn.session
                        .received(self.buffers.bytes(bid, n as usize), now);
                }
            }
            // The buffer ring was empty when the bytes came: read again
            // after this batch, whose buffers go back as it is handled.
            n if -n == libc::ENOBUFS => {
                self.starved.push(slot);
                return;
            }
            // Cancelled because a timer fired (see `expire_timers`), or
            // interrupted: the session decides what comes next.
            n if -n == libc::ECANCELED || -n == libc::EINTR || -n == libc::EAGAIN => {}
            // Reset by the peer.
            _ => conn.session.abort(),
        }
        if let Some(bid) = bid {
            self.buffers.give_back(bid);
        }
        self.serve(slot, now);
    }

    fn sent(&mut self, token: Token, result: i32, now: Instant) {
        let slot = token.slot as usize;
        let Some(conn) = self
            .connections
            .get_mut(slot)
            .filter(|conn| conn.op == Op::Send && conn.tag == token.tag)
        else {
            return;
        };
        conn.op = Op::None;
        conn.cancelling = false;
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

    /// Drives a connection with nothing in flight until it waits, and
    /// submits what it waits for: a receive, a send, a timer, a turn; or
    /// closes it.
    fn serve(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.connections.get_mut(slot) else {
            return;
        };
        // The session must not change while the kernel holds a pointer into
        // it (see `Op`); the completion will serve it.
        if conn.op != Op::None {
            return;
        }
        let (op, deadline) = loop {
            match conn.session.next(now) {
                Action::Read { deadline } => break (Op::Recv, deadline),
                // The timer wakes a connection whose client stopped reading
                // at the deadline: the send is cancelled, and next() then
                // closes it.
                Action::Write { deadline } => break (Op::Send, deadline),
                // A `/sleep` response: the timer heap wakes us when it is due.
                Action::Sleep { until } => break (Op::None, until),
                // One client must not keep the only thread: see `yielded`.
                Action::Yield => {
                    if !mem::replace(&mut conn.awaits_turn, true) {
                        self.yielded.push(slot);
                    }
                    return;
                }
                Action::HalfClose => {
                    let _ = conn.stream.shutdown(Shutdown::Write);
                }
                Action::Close => {
                    // Nothing is in flight (checked above), so the kernel
                    // holds no pointer into this connection: dropping it
                    // closes the socket and frees the session.
                    self.connections.remove(slot);
                    return;
                }
            }
        };
        if op != Op::None {
            conn.op = op;
            conn.tag = ring::next_tag(&mut self.next_tag);
            let fd = Fd(conn.stream.as_raw_fd());
            let entry = match op {
                // A receive is submitted when the session has used up what
                // came: on a keep-alive connection, once the answer is sent
                // and before the client has read it, so the next request is
                // almost never there yet. By default the kernel would try
                // the receive at once, fail (EAGAIN) and only then wait for
                // data; POLL_FIRST skips that try.
                Op::Recv => {
                    opcode::Recv::new(fd, std::ptr::null_mut(), self.buffers.buffer_size() as u32)
                        .buf_group(self.buffers.group())
                        .ioprio(POLL_FIRST)
                        .build()
                        .flags(squeue::Flags::BUFFER_SELECT)
                }
                _ => {
                    let output = conn.session.output();
                    opcode::Send::new(fd, output.as_ptr(), output.len() as u32).build()
                }
            };
            let kind = if op == Op::Recv {
                Kind::Recv
            } else {
                Kind::Send
            };
            let entry = entry.user_data(Token::new(kind, slot, conn.tag).pack());
            // SAFETY: a receive points only into the buffer ring, which
            // outlives the IoUring (see `Server`). A send points into the
            // session's output buffer: a Vec's heap block, which does not
            // move when the Connection moves (in `Slots`), and which nothing
            // changes or frees while `conn.op` is `Send`: `serve` returns at
            // once for a connection with an operation in flight, so neither
            // `next` nor `written` runs, and the connection is only removed
            // with nothing in flight.
            unsafe { self.backlog.push(&mut self.ring, entry) };
        }
        self.connections.wake_by(slot, deadline);
    }

    /// Serves every connection whose deadline has passed, and resumes
    /// accepting after a pause.
    fn expire_timers(&mut self, now: Instant) {
        while let Some(slot) = self.connections.next_due(now) {
            let Some(conn) = self.connections.get_mut(slot) else {
                continue;
            };
            if conn.op == Op::None {
                self.serve(slot, now);
            } else if !conn.cancelling {
                // A timer fired for a connection with an operation in
                // flight: a receive from a client that sends nothing, or a
                // send to one that reads nothing. Or the entry was for an
                // earlier plan (a timer is only ever moved earlier, see
                // `Slots::wake_by`), which a busy connection meets about once a
                // timeout. Either way the operation is cancelled, and the
                // session, served, decides: close, or wait again with its
                // real deadline. An early cancel costs two operations now and
                // then; remembering each connection's deadline would cost
                // every idle connection 16 bytes.
                //
                // Cancelling is a request, not a command: the operation may
                // already have completed, or be completing now. So the loop
                // asks, marks the connection, and touches nothing until the
                // operation's *own* completion arrives (with -ECANCELED, or
                // with data after all); `received` or `sent` then serve the
                // connection. The cancel's own completion says nothing the
                // loop needs.
                conn.cancelling = true;
                let kind = if conn.op == Op::Recv {
                    Kind::Recv
                } else {
                    Kind::Send
                };
                let target = Token::new(kind, slot, conn.tag).pack();
                let cancel = opcode::AsyncCancel::new(target)
                    .build()
                    .user_data(Token::new(Kind::Cancel, slot, conn.tag).pack());
                // SAFETY: a cancel points to no memory of ours.
                unsafe { self.backlog.push(&mut self.ring, cancel) };
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

/// The operation a connection has in flight. At most one: the kernel holds
/// a pointer into the connection's memory until it completes (the session's
/// output for a send), and the session changes that memory whenever it is
/// driven. So a connection is driven only with nothing in flight, and an
/// idle connection waits with one receive in flight, which holds no buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    None,
    Recv,
    Send,
}

/// One client: its socket, where its conversation stands, what the kernel
/// is doing for it, and what will wake it.
struct Connection {
    stream: TcpStream,
    session: Session,
    op: Op,
    /// The tag in the `user_data` of the operation in flight.
    tag: u32,
    /// A cancel of the operation in flight has been submitted.
    cancelling: bool,
    /// Whether it has a place in `Server::yielded` (see multiplexingio_server:
    /// without this mark a client that never stops sending would get ever
    /// more places in the line).
    awaits_turn: bool,
}
