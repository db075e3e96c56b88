//! One connection's protocol state, with no I/O of its own.
//!
//! A [`Session`] holds the bytes received and not yet used, and the bytes of
//! responses not yet sent. Its owner — a blocking loop, an event loop or an
//! `async fn` — asks [`Session::next`] what the connection needs, does that
//! with its own kind of I/O, and reports back:
//!
//! ```text
//!        ┌──────────── next(now) ─────────────┐
//!        ▼                                    │
//!   Read { deadline }  ─ read ─▶ received(bytes) / peer_closed()
//!   Write { deadline } ─ write ─▶ written(n)
//!   Sleep { until }    ─ wait until then ─────┤
//!   Yield              ─ serve the others ────┘
//!   HalfClose          ─ shutdown(Write), then next() again
//!   Close              ─ drop the socket
//! ```
//!
//! Every strategy in this project drives the same session; they differ only
//! in how they wait for `Read`, `Write` and `Sleep`, and in what `Yield`
//! means to them: nothing to a thread that serves one connection, the back
//! of the line to an event loop that serves them all.
//!
//! The session also holds every rule that protects a server from a client:
//! how long a request may take to arrive, how much it may send, how long it
//! may leave its answers unread, and how much work it gets before the others
//! have their turn. So every strategy enforces the same rules.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::app::{self, Reply};
use crate::http::{self, CONTINUE, Parsed, Response};
use crate::{HttpConfig, log};

/// What the connection needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read more bytes and pass them to [`Session::received`]. If nothing has
    /// arrived by `deadline`, call [`Session::next`] anyway: it will time out.
    Read { deadline: Instant },
    /// Write [`Session::output`] and report with [`Session::written`]. If
    /// the client takes nothing by `deadline` (it stopped reading), call
    /// [`Session::next`] anyway: it will give up on the connection.
    Write { deadline: Instant },
    /// A response is due at `until`; call [`Session::next`] after it.
    Sleep { until: Instant },
    /// This connection has had its turn: serve the other connections that
    /// are ready, then call [`Session::next`] again. Work is waiting (more
    /// pipelined requests, or a client that keeps sending), but one client
    /// must not hold a thread that serves everyone. A thread that serves
    /// only this connection simply calls `next` again.
    Yield,
    /// Shut down the sending side (`shutdown(SHUT_WR)`) and call
    /// [`Session::next`]. After an error the session reads and discards what
    /// the client is still sending for a moment, so that closing the socket
    /// with unread bytes does not reset the connection and destroy the error
    /// response before the client has read it.
    HalfClose,
    /// Close the connection.
    Close,
}

/// How long to keep reading after a refused request before closing.
const LINGER: Duration = Duration::from_secs(1);
/// Past this many unsent bytes, stop answering pipelined requests until the
/// client reads: a client that sends without reading must not grow memory.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;
/// Buffers that grew past this (a large echo) are given back once empty, so an
/// idle connection keeps only a small buffer.
const KEEP_CAPACITY: usize = 16 * 1024;
/// Once one call of [`Session::next`] has spent this long answering, it
/// answers no further request before the connection has yielded: a burst of
/// pipelined `/cpu` requests in one packet then delays other clients by about
/// one request's work, not the whole burst's. It is measured on the coarse
/// clock (see [`coarse_clock`]), which moves a tick at a time: a turn ends
/// at the first tick that puts it past the budget, which is the next tick
/// when ticks are longer than the budget (4 ms at the usual 250 Hz). So a
/// turn lasts up to one tick, plus the request being answered.
const TURN_BUDGET: Duration = Duration::from_millis(1);
/// After this many bytes received since the connection last yielded, it
/// yields instead of reading more: a client that pipelines cheap requests as
/// fast as it can would otherwise keep an event loop reading it forever.
const READ_BUDGET: usize = 64 * 1024;

#[derive(Clone, Copy, Debug)]
enum State {
    /// Between requests: no byte of the next one has arrived.
    Idle {
        since: Instant,
    },
    /// Part of a request has arrived; the rest must come by `deadline` (see
    /// [`Session::received`] for how a body extends it).
    Receiving {
        deadline: Instant,
    },
    /// The application asked for this response to go out at `until`.
    Delayed {
        until: Instant,
        response: Response<'static>,
        keep_alive: bool,
        head_only: bool,
    },
    /// Send what is in the output buffer, then close (or half-close first).
    Closing {
        linger: bool,
    },
    /// Discarding input after a half-close, until EOF or `until`.
    Lingering {
        until: Instant,
    },
    Closed,
}

/// One connection's buffers and protocol state.
#[derive(Debug)]
pub struct Session {
    config: HttpConfig,
    peer: SocketAddr,
    state: State,
    /// Received bytes; those before `start` are used up.
    input: Vec<u8>,
    start: usize,
    /// How far `input[start..]` has been searched for the end of a head.
    scanned: usize,
    /// Once a head is parsed and its body is still arriving.
    awaiting: Option<Body>,
    peer_closed: bool,
    /// Response bytes; those before `sent` have been written.
    output: Vec<u8>,
    sent: usize,
    /// While output waits for the client to read it: when to give up.
    write_deadline: Option<Instant>,
    /// The connection stopped answering for the others' sake and yields as
    /// soon as its output is written.
    yield_owed: bool,
    /// Bytes received since the connection last yielded.
    received_since_yield: usize,
}

/// A request whose head has been parsed and whose body is still arriving.
#[derive(Clone, Copy, Debug)]
struct Body {
    /// The request's total length, head and body, so that the head is not
    /// parsed again on every read.
    total: usize,
    head: usize,
    /// When the head was complete: the body's clock starts there.
    since: Instant,
}

impl Session {
    /// A session for a connection accepted at `now`.
    pub fn new(config: HttpConfig, peer: SocketAddr, now: Instant) -> Self {
        Session {
            config,
            peer,
            state: State::Idle { since: now },
            input: Vec::new(),
            start: 0,
            scanned: 0,
            awaiting: None,
            peer_closed: false,
            output: Vec::new(),
            sent: 0,
            write_deadline: None,
            yield_owed: false,
            received_since_yield: 0,
        }
    }

    /// Decides what the connection needs next, answering the complete
    /// requests that have arrived (in order) along the way, as many as fit
    /// in one turn. `now` is the current time; the work of this call is
    /// measured from it.
    pub fn next(&mut self, now: Instant) -> Action {
        let mut answered = 0;
        let mut turn_began = Duration::ZERO;
        loop {
            // A connection that failed or is done has nothing more to do,
            // whatever output or yield it still owed.
            if matches!(self.state, State::Closed) {
                return Action::Close;
            }
            if self.unsent() > 0 {
                if self.write_deadline.is_some_and(|deadline| now >= deadline) {
                    // The client has not read a byte of its answers for a
                    // whole idle timeout: it may hold no memory any longer.
                    self.state = State::Closed;
                } else if self.yield_owed {
                    return self.write(now);
                }
            } else if self.yield_owed {
                self.yield_owed = false;
                self.received_since_yield = 0;
                return Action::Yield;
            }
            match self.state {
                State::Closed => return Action::Close,
                State::Lingering { until } => {
                    return if self.peer_closed || now >= until {
                        self.state = State::Closed;
                        Action::Close
                    } else {
                        Action::Read { deadline: until }
                    };
                }
                State::Closing { linger } => {
                    if self.unsent() > 0 {
                        return self.write(now);
                    }
                    // Unread bytes (ours or the kernel's) would turn close into a reset.
                    if linger && !self.peer_closed {
                        self.state = State::Lingering {
                            until: now + LINGER,
                        };
                        return Action::HalfClose;
                    }
                    self.state = State::Closed;
                    return Action::Close;
                }
                State::Delayed { until, .. } if now < until => {
                    return self.write_first(Action::Sleep { until }, now);
                }
                State::Delayed {
                    response,
                    keep_alive,
                    head_only,
                    ..
                } => {
                    response.write_to(&mut self.output, keep_alive, head_only, now);
                    self.after_response(keep_alive, now);
                    continue;
                }
                State::Idle { .. } | State::Receiving { .. } => {}
            }
            if self.unsent() > OUTPUT_HIGH_WATER {
                return self.write(now);
            }
            if answered == 0 {
                turn_began = coarse_clock();
            } else if self.has_input() && coarse_clock() >= turn_began + TURN_BUDGET {
                // More requests are waiting, but this turn is used up.
                self.yield_owed = true;
                continue;
            }
            if self.answer_one(now) {
                answered += 1;
                continue;
            }
            // No complete request in the buffer: more input is needed.
            if self.peer_closed {
                // A half-sent request is dropped; answered ones are still sent.
                self.state = State::Closing { linger: false };
                continue;
            }
            match self.state {
                State::Idle { since } if now >= since + self.config.limits.idle_timeout => {
                    self.state = State::Closing { linger: false };
                }
                State::Receiving { deadline } if now >= deadline => {
                    self.refuse(
                        http::Reject {
                            status: http::Status::RequestTimeout,
                            reason: "request not received in time",
                        },
                        now,
                    );
                }
                _ if self.received_since_yield >= READ_BUDGET => {
                    // This client keeps sending; the others get a turn first.
                    self.yield_owed = true;
                }
                State::Idle { since } => {
                    let deadline = since + self.config.limits.idle_timeout;
                    return self.write_first(Action::Read { deadline }, now);
                }
                State::Receiving { deadline } => {
                    return self.write_first(Action::Read { deadline }, now);
                }
                _ => {}
            }
        }
    }

    /// Bytes arrived from the peer.
    ///
    /// A request must arrive whole within the header timeout of its first
    /// byte. Once its head is in, its body has the header timeout again,
    /// plus one second for every `min_body_rate` bytes that arrive: an honest
    /// slow upload keeps earning time, while a client that trickles a byte
    /// now and then runs out of it (Apache's `mod_reqtimeout` works so).
    ///
    /// It never touches the output: a loop may hand bytes over while the
    /// kernel still holds a pointer into [`Session::output`] (uring_server).
    pub fn received(&mut self, bytes: &[u8], now: Instant) {
        match self.state {
            State::Lingering { .. } | State::Closing { .. } | State::Closed => return,
            State::Idle { .. } if !bytes.is_empty() => {
                self.state = State::Receiving {
                    deadline: now + self.config.limits.header_timeout,
                };
            }
            _ => {}
        }
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
        } else if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        self.input.extend_from_slice(bytes);
        self.received_since_yield += bytes.len();
        if let Some(body) = self.awaiting {
            self.state = State::Receiving {
                deadline: self.body_deadline(body),
            };
        }
    }

    /// The peer closed its sending side (a read returned 0).
    pub fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// How many received bytes wait to be used: a loop that keeps receiving
    /// while the session is not driven (uring_server) bounds it.
    pub fn buffered(&self) -> usize {
        self.input.len() - self.start
    }

    /// The bytes waiting to be written.
    pub fn output(&self) -> &[u8] {
        &self.output[self.sent..]
    }

    /// `n` bytes of [`Session::output`] were written.
    pub fn written(&mut self, n: usize) {
        if n > 0 {
            // Progress: the client is reading, so it gets a new deadline.
            self.write_deadline = None;
        }
        self.sent += n;
        if self.sent >= self.output.len() {
            self.sent = 0;
            if self.output.capacity() > KEEP_CAPACITY {
                self.output = Vec::new();
            } else {
                self.output.clear();
            }
        }
    }

    /// The connection failed (a read or write error): nothing more to do.
    pub fn abort(&mut self) {
        self.state = State::Closed;
    }

    fn unsent(&self) -> usize {
        self.output.len() - self.sent
    }

    /// Whether any received byte is not used up yet.
    fn has_input(&self) -> bool {
        self.start < self.input.len()
    }

    /// Write, by the deadline set when output began to wait for the client.
    fn write(&mut self, now: Instant) -> Action {
        let patience = self.config.limits.idle_timeout;
        Action::Write {
            deadline: *self.write_deadline.get_or_insert(now + patience),
        }
    }

    /// Pending output goes out before the connection waits for anything else.
    fn write_first(&mut self, then: Action, now: Instant) -> Action {
        if self.unsent() > 0 {
            self.write(now)
        } else {
            then
        }
    }

    /// When the request whose body is arriving must be complete: see
    /// [`Session::received`].
    fn body_deadline(&self, body: Body) -> Instant {
        let limits = self.config.limits;
        let arrived = (self.input.len() - self.start).saturating_sub(body.head) as u64;
        let earned = Duration::from_nanos(
            arrived.saturating_mul(1_000_000_000) / limits.min_body_rate.max(1),
        );
        body.since + limits.header_timeout + earned
    }

    /// Answers (or delays, or refuses) the request at the front of the input
    /// buffer if it is complete. Returns whether the state moved on.
    fn answer_one(&mut self, now: Instant) -> bool {
        let limits = self.config.limits;
        let pending = &self.input[self.start..];
        if pending.is_empty() {
            return false;
        }
        if self.awaiting.is_some_and(|body| pending.len() < body.total) {
            return false;
        }
        // A head that came in pieces is parsed again only once the blank line
        // that ends it has arrived: looking for it is cheaper than parsing,
        // and a client that sends a byte at a time would otherwise cost a
        // parse per byte. A head that arrives whole (the usual case) goes
        // straight to the parser.
        if self.awaiting.is_none() && self.scanned > 0 {
            let Some(end) = http::find_head_end(pending, self.scanned.saturating_sub(2)) else {
                self.scanned = pending.len();
                if pending.len() > limits.max_head {
                    self.refuse(
                        http::Reject {
                            status: http::Status::HeaderFieldsTooLarge,
                            reason: "request head larger than the limit",
                        },
                        now,
                    );
                    return true;
                }
                return false;
            };
            self.scanned = end;
        }
        let head = match http::parse_head(pending, &limits) {
            Parsed::Complete(head) => head,
            // Not the whole head yet (or only blank lines before the request,
            // which RFC 9112 lets be): wait for its end.
            Parsed::Partial => {
                self.scanned = pending.len();
                return false;
            }
            // The parser saw the error before the head's end arrived. Had the
            // head come in pieces, it would not have been parsed yet: wait for
            // the end all the same, so that the answer does not depend on
            // how the bytes were split into reads.
            Parsed::Invalid(_)
                if self.scanned == 0
                    && pending.len() <= limits.max_head
                    && http::find_head_end(pending, 0).is_none() =>
            {
                self.scanned = pending.len();
                return false;
            }
            Parsed::Invalid(rejected) => {
                self.refuse(rejected, now);
                return true;
            }
        };
        let total = head.len + head.content_length;
        if pending.len() < total {
            if self.awaiting.is_none() {
                if head.expect_continue {
                    self.output.extend_from_slice(CONTINUE);
                }
                let body = Body {
                    total,
                    head: head.len,
                    since: now,
                };
                self.awaiting = Some(body);
                self.state = State::Receiving {
                    deadline: self.body_deadline(body),
                };
            }
            return false;
        }
        let keep_alive = head.keep_alive && self.config.persistent;
        let head_only = head.method == http::Method::Head;
        let body = &pending[head.len..total];
        let reply = app::handle(&head, body);
        if self.config.verbose {
            let status = match &reply {
                Reply::Now(response) | Reply::After(_, response) => response.status.code(),
            };
            log::request(self.peer, &head, status);
        }
        match reply {
            Reply::Now(response) => {
                response.write_to(&mut self.output, keep_alive, head_only, now);
                self.consume(total);
                self.after_response(keep_alive, now);
            }
            Reply::After(delay, response) => {
                self.consume(total);
                self.state = State::Delayed {
                    until: now + delay,
                    response,
                    keep_alive,
                    head_only,
                };
            }
        }
        true
    }

    /// Answers with an error and closes, reading out what the client still sends.
    fn refuse(&mut self, rejected: http::Reject, now: Instant) {
        if self.config.verbose {
            log::refused(self.peer, &rejected);
        }
        Response::rejected(rejected).write_to(&mut self.output, false, false, now);
        self.input.clear();
        self.start = 0;
        self.awaiting = None;
        self.state = State::Closing { linger: true };
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
        self.awaiting = None;
        if self.start == self.input.len() {
            self.start = 0;
            if self.input.capacity() > KEEP_CAPACITY {
                self.input = Vec::new();
            } else {
                self.input.clear();
            }
        }
    }

    fn after_response(&mut self, keep_alive: bool, now: Instant) {
        self.state = if !keep_alive {
            // Bytes the client sent after this request will not be read.
            State::Closing {
                linger: self.start < self.input.len(),
            }
        } else if self.start < self.input.len() {
            State::Receiving {
                deadline: now + self.config.limits.header_timeout,
            }
        } else {
            State::Idle { since: now }
        };
    }
}

/// The monotonic clock as of the kernel's last tick (`CLOCK_MONOTONIC_COARSE`):
/// good to a few milliseconds, and read without asking the hardware, so it
/// costs a few nanoseconds where the precise clock costs tens. That is enough
/// to tell whether a turn has run for a millisecond, and cheap enough to ask
/// between every two pipelined requests.
fn coarse_clock() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a pointer to a live
    // local; CLOCK_MONOTONIC_COARSE exists on every Linux since 2.6.32.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

#[cfg(test)]
mod tests;
