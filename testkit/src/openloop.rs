//! An open-loop load: requests at a constant rate, whatever the server does.
//!
//! wrk is closed-loop: a connection sends its next request when the last
//! answer has come, so a server that stalls slows the load down with it,
//! and the requests that would have arrived meanwhile are never sent nor
//! counted (coordinated omission). Here request `i` is due at `start + i /
//! rate`. When it is due it goes out on an idle keep-alive connection, or on
//! a new one while there are fewer than `connections`, or waits in line for
//! one; its latency counts from when it was *due*, so time spent waiting for
//! a connection, or behind a stalled server, is in the figure.
//!
//! Connections are opened when a request needs one, as a client's pool
//! does, and the most recently idle is used first. A server that closes
//! after every answer (`simple_server`) so gets a new connection per
//! request, each sent as soon as it is open; opened ahead of need, idle
//! connections would sit in its accept queue while it blocked on one.
//!
//! One thread, mio; a `timerfd` wakes the loop
//! when the next request is due (epoll's own timeout has a millisecond's
//! grain). What the loop itself was late by is measured too (`lag`): it is
//! the generator's error, and part of every latency.
//!
//! Validated against a real server in
//! `multiplexingio_server/tests/open_loop.rs`.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

/// What to send, how often, and for how long.
#[derive(Clone, Debug)]
pub struct Load {
    pub addr: SocketAddr,
    pub path: String,
    /// Requests per second, offered whatever the answers do.
    pub rate: f64,
    pub connections: usize,
    pub duration: Duration,
    /// How long a request may go unanswered before it counts as a timeout;
    /// also how long the run waits, after its last request was due, for
    /// the answers still owed.
    pub timeout: Duration,
}

/// What a run saw. Latencies are in µs, from each request's due time, of
/// every request that fell due: one that failed or was never answered
/// counts with the time it had waited when it failed or the run ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Requests that fell due during the run.
    pub due: u64,
    /// Of those, answered with a 2xx.
    pub ok: u64,
    /// Answered with a status of 400 or more.
    pub status_errors: u64,
    /// Unanswered within the timeout, or their connection failed.
    pub failed: u64,
    /// Still waiting for a connection, or for an answer, when the run ended.
    pub unanswered: u64,
    /// Connections the server closed (after an answer that said so, or
    /// idle) or that failed: each is opened again when a request needs it.
    pub reconnects: u64,
    pub latency: Histogram<u64>,
    /// How late the generator saw each request fall due: its own error,
    /// apart from any wait for a free connection.
    pub lag: Histogram<u64>,
    pub seconds: f64,
    /// The generator's own CPU time.
    pub cpu: Duration,
}

impl Outcome {
    pub fn achieved_rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
}

const TIMER: Token = Token(usize::MAX);

/// One of the connections a request may use, and what it is doing.
struct Conn {
    stream: Option<TcpStream>,
    state: State,
    /// Bytes of a request not yet written.
    out: Vec<u8>,
    /// Bytes of an answer read so far.
    input: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    /// No connection: opened when a request needs it.
    Closed,
    /// Being opened for the request due at this time.
    Connecting(Instant),
    Idle,
    /// Waiting for the answer to the request due at this time.
    Busy(Instant),
}

impl State {
    /// The due time of the request this connection carries, if any.
    fn carrying(self) -> Option<Instant> {
        match self {
            State::Connecting(due) | State::Busy(due) => Some(due),
            State::Closed | State::Idle => None,
        }
    }
}

/// An answer read whole: its status and whether the server closes after it.
struct Answer {
    status: u16,
    close: bool,
}

/// The first whole answer in `buf`, and how many bytes it took.
fn answer(buf: &[u8]) -> anyhow::Result<Option<(Answer, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buf)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let field = |name: &str| {
        let found = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name));
        found.map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
    };
    let length: usize = field("content-length")
        .context("no Content-Length")?
        .trim()
        .parse()?;
    if buf.len() < head + length {
        return Ok(None);
    }
    let status = response.code.unwrap_or(0);
    let close = field("connection").is_some_and(|c| c.contains("close"));
    Ok(Some((Answer { status, close }, head + length)))
}

/// A timerfd armed to an absolute time on the monotonic clock.
struct Timer(RawFd);

impl Timer {
    fn new() -> io::Result<Timer> {
        // SAFETY: plain system call; the descriptor is owned by `Timer`.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Timer(fd))
    }

    /// Fires `after` from now (a zero duration would disarm it: one
    /// nanosecond instead).
    fn arm(&self, after: Duration) {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: the descriptor is ours and open; the spec lives across the call.
        unsafe { libc::timerfd_settime(self.0, 0, &spec, std::ptr::null_mut()) };
    }

    fn drain(&self) {
        let mut expirations = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a buffer of 8; non-blocking.
        unsafe { libc::read(self.0, expirations.as_mut_ptr().cast(), 8) };
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours, closed once.
        unsafe { libc::close(self.0) };
    }
}

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes the struct it is given, which lives across the call.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn histogram() -> Histogram<u64> {
    // 1 µs to an hour, three significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Runs `load` against its server and returns what it saw.
pub fn run(load: &Load) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        load.rate > 0.0 && load.connections > 0,
        "a rate and a connection, at least"
    );
    // Timers of this thread fire when they are due, not up to 50 µs later.
    // SAFETY: plain prctl on this thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1) };
    let mut poll = Poll::new()?;
    let timer = Timer::new()?;
    poll.registry()
        .register(&mut SourceFd(&timer.0), TIMER, Interest::READABLE)?;
    let request = format!("GET {} HTTP/1.1\r\nHost: bench\r\n\r\n", load.path).into_bytes();
    let mut conns: Vec<Conn> = (0..load.connections)
        .map(|_| Conn {
            stream: None,
            state: State::Closed,
            out: Vec::new(),
            input: Vec::new(),
        })
        .collect();
    let mut out = Outcome {
        due: 0,
        ok: 0,
        status_errors: 0,
        failed: 0,
        unanswered: 0,
        reconnects: 0,
        latency: histogram(),
        lag: histogram(),
        seconds: load.duration.as_secs_f64(),
        cpu: Duration::ZERO,
    };
    let cpu_before = thread_cpu();
    let interval = Duration::from_secs_f64(1.0 / load.rate);
    let start = Instant::now();
    let (end, give_up) = (start + load.duration, start + load.duration + load.timeout);
    let (mut next, mut checked) = (start, start);
    let mut armed = None;
    let mut waiting: VecDeque<Instant> = VecDeque::new();
    // Most recently idle last: it is used first. Closed slots, any order.
    let mut idle: Vec<usize> = Vec::new();
    let mut closed: Vec<usize> = (0..load.connections).rev().collect();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let now = Instant::now();
        // What fell due since the last look joins the line.
        while next <= now && next < end {
            let _ = out
                .lag
                .record(now.saturating_duration_since(next).as_micros() as u64);
            waiting.push_back(next);
            out.due += 1;
            next += interval;
        }
        while let Some(&due) = waiting.front() {
            if let Some(i) = idle.pop() {
                // A connection that failed since it was put here is not idle any more.
                if conns[i].state != State::Idle {
                    continue;
                }
                waiting.pop_front();
                conns[i].state = State::Busy(due);
                conns[i].out.extend_from_slice(&request);
                if flush(&mut conns[i]).is_err() {
                    fail(&mut poll, &mut conns, i, &mut out, &mut closed);
                }
            } else if let Some(i) = closed.pop() {
                waiting.pop_front();
                let mut stream = TcpStream::connect(load.addr)?;
                poll.registry().register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                let conn = &mut conns[i];
                (conn.stream, conn.state) = (Some(stream), State::Connecting(due));
                conn.out.clear();
                conn.input.clear();
                conn.out.extend_from_slice(&request);
            } else {
                break;
            }
        }
        // A request owed an answer for longer than the timeout has failed
        // (looked for a few times a second: the timeout is seconds long).
        if now.saturating_duration_since(checked) > Duration::from_millis(100) {
            checked = now;
            for i in 0..conns.len() {
                if conns[i]
                    .state
                    .carrying()
                    .is_some_and(|due| now.saturating_duration_since(due) > load.timeout)
                {
                    fail(&mut poll, &mut conns, i, &mut out, &mut closed);
                }
            }
        }
        let carrying = conns.iter().any(|c| c.state.carrying().is_some());
        if now >= give_up || (now >= end && waiting.is_empty() && !carrying) {
            break;
        }
        // Armed once per due time: a wake-up by an answer leaves it set.
        if next < end && armed != Some(next) {
            timer.arm(next.saturating_duration_since(now));
            armed = Some(next);
        }
        // The timer, or an answer, wakes the loop; this bounds the timeouts' checks.
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for event in events.iter() {
            let Token(i) = event.token();
            if event.token() == TIMER {
                timer.drain();
                armed = None;
                continue;
            }
            let conn = &mut conns[i];
            let Some(stream) = conn.stream.as_ref() else {
                continue;
            };
            if let State::Connecting(due) = conn.state {
                if event.is_writable() && stream.peer_addr().is_ok() {
                    conn.state = State::Busy(due);
                } else {
                    if event.is_error() || event.is_read_closed() {
                        fail(&mut poll, &mut conns, i, &mut out, &mut closed);
                    }
                    continue;
                }
            }
            if event.is_writable() && !conn.out.is_empty() && flush(conn).is_err() {
                fail(&mut poll, &mut conns, i, &mut out, &mut closed);
                continue;
            }
            if event.is_readable() {
                match receive(conn, &mut buf, &mut out) {
                    Ok(Some(true)) => {
                        out.reconnects += 1;
                        close(&mut poll, &mut conns, i, &mut closed);
                    }
                    Ok(Some(false)) => idle.push(i),
                    Ok(None) => {}
                    Err(_) => {
                        out.reconnects += 1;
                        fail(&mut poll, &mut conns, i, &mut out, &mut closed);
                    }
                }
            }
        }
    }
    // What is still owed counts with what it has waited so far: less than
    // it will wait, but leaving it out would flatter an overloaded server.
    let now = Instant::now();
    let owed = conns.iter().filter_map(|c| c.state.carrying());
    for due in waiting.iter().copied().chain(owed) {
        let _ = out
            .latency
            .record(now.saturating_duration_since(due).as_micros() as u64);
        out.unanswered += 1;
    }
    out.cpu = thread_cpu().saturating_sub(cpu_before);
    Ok(out)
}

/// Writes what the connection owes; `WouldBlock` leaves the rest for the
/// next writable event.
fn flush(conn: &mut Conn) -> io::Result<()> {
    while !conn.out.is_empty() {
        let Some(stream) = conn.stream.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        match stream.write(&conn.out) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => drop(conn.out.drain(..n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what came; `Some(close)` once the awaited answer is whole.
///
/// It reads until the answer is whole, not until the socket is empty: one
/// request is out at a time, so that saves a read that would find nothing
/// (mio's readiness is edge-triggered, but nothing more can come unasked).
fn receive(conn: &mut Conn, buf: &mut [u8], out: &mut Outcome) -> anyhow::Result<Option<bool>> {
    let (State::Busy(due), Some(stream)) = (conn.state, conn.stream.as_mut()) else {
        anyhow::bail!("bytes nobody asked for, or the server closed an idle connection");
    };
    let (answer, used) = loop {
        match stream.read(buf) {
            Ok(0) => anyhow::bail!("the server closed the connection"),
            Ok(n) => conn.input.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        if let Some(whole) = answer(&conn.input)? {
            break whole;
        }
    };
    conn.input.drain(..used);
    let _ = out.latency.record(due.elapsed().as_micros() as u64);
    match answer.status {
        200..=299 => out.ok += 1,
        _ => out.status_errors += 1,
    }
    conn.state = State::Idle;
    Ok(Some(answer.close))
}

/// The connection failed: its request, if any, counts as failed.
fn fail(poll: &mut Poll, conns: &mut [Conn], i: usize, out: &mut Outcome, closed: &mut Vec<usize>) {
    if let Some(due) = conns[i].state.carrying() {
        // A timeout counts with the time it waited (a failed connection
        // with the time it took to fail).
        let _ = out.latency.record(due.elapsed().as_micros() as u64);
        out.failed += 1;
    }
    close(poll, conns, i, closed);
}

/// The slot is free for a new connection when a request needs one.
fn close(poll: &mut Poll, conns: &mut [Conn], i: usize, closed: &mut Vec<usize>) {
    let conn = &mut conns[i];
    if let Some(mut stream) = conn.stream.take() {
        let _ = poll.registry().deregister(&mut stream);
    }
    conn.state = State::Closed;
    closed.push(i);
}
