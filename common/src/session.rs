//! One connection's protocol state, with no I/O of its own.
//!
//! A [`Session`] holds the bytes received and not yet used, and the bytes of
//! responses not yet sent. Its owner — a blocking loop, an event loop or an
//! `async fn` — asks [`Session::next`] what the connection needs, does that
//! with its own kind of I/O, and reports back:
//!
//! ```text
//!        ┌──────────── next(now) ────────────┐
//!        ▼                                   │
//!   Read { deadline } ─ read ─▶ received(bytes) / peer_closed()
//!   Write             ─ write ─▶ written(n)
//!   Sleep { until }   ─ wait until then ─────┘
//!   HalfClose         ─ shutdown(Write), then next() again
//!   Close             ─ drop the socket
//! ```
//!
//! Every strategy in this project drives the same session; they differ only
//! in how they wait for `Read`, `Write` and `Sleep`.

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
    /// Write [`Session::output`] and report with [`Session::written`].
    Write,
    /// A response is due at `until`; call [`Session::next`] after it.
    Sleep { until: Instant },
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

#[derive(Clone, Copy, Debug)]
enum State {
    /// Between requests: no byte of the next one has arrived.
    Idle {
        since: Instant,
    },
    /// Part of a request has arrived; the rest must come by `deadline`.
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
    /// Once a head is parsed and its body is still arriving: the request's
    /// total length, so the head is not parsed again on every read.
    awaiting: Option<usize>,
    peer_closed: bool,
    /// Response bytes; those before `sent` have been written.
    output: Vec<u8>,
    sent: usize,
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
        }
    }

    /// Decides what the connection needs next, answering every complete
    /// request that has arrived (in order) along the way.
    pub fn next(&mut self, now: Instant) -> Action {
        loop {
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
                        return Action::Write;
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
                    return self.write_first(Action::Sleep { until });
                }
                State::Delayed {
                    response,
                    keep_alive,
                    head_only,
                    ..
                } => {
                    response.write_to(&mut self.output, keep_alive, head_only);
                    self.after_response(keep_alive, now);
                    continue;
                }
                State::Idle { .. } | State::Receiving { .. } => {}
            }
            if self.unsent() > OUTPUT_HIGH_WATER {
                return Action::Write;
            }
            if self.answer_one(now) {
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
                State::Idle { since } => {
                    let deadline = since + self.config.limits.idle_timeout;
                    return self.write_first(Action::Read { deadline });
                }
                State::Receiving { deadline } if now >= deadline => {
                    self.refuse(http::Reject {
                        status: http::Status::RequestTimeout,
                        reason: "request not received in time",
                    });
                }
                State::Receiving { deadline } => {
                    return self.write_first(Action::Read { deadline });
                }
                _ => {}
            }
        }
    }

    /// Bytes arrived from the peer.
    pub fn received(&mut self, bytes: &[u8], now: Instant) {
        match self.state {
            State::Lingering { .. } | State::Closing { .. } | State::Closed => return,
            State::Idle { .. } if !bytes.is_empty() => {
                self.state = State::Receiving {
                    deadline: now + self.config.limits.header_timeout,
                };
            }
            // A body that keeps arriving keeps its request alive.
            State::Receiving { .. } if self.awaiting.is_some() => {
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
    }

    /// The peer closed its sending side (a read returned 0).
    pub fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// The bytes waiting to be written.
    pub fn output(&self) -> &[u8] {
        &self.output[self.sent..]
    }

    /// `n` bytes of [`Session::output`] were written.
    pub fn written(&mut self, n: usize) {
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

    /// Pending output goes out before the connection waits for anything else.
    fn write_first(&self, then: Action) -> Action {
        if self.unsent() > 0 {
            Action::Write
        } else {
            then
        }
    }

    /// Answers (or delays, or refuses) the request at the front of the input
    /// buffer if it is complete. Returns whether the state moved on.
    fn answer_one(&mut self, now: Instant) -> bool {
        let limits = self.config.limits;
        let pending = &self.input[self.start..];
        if pending.is_empty() {
            return false;
        }
        if self.awaiting.is_some_and(|total| pending.len() < total) {
            return false;
        }
        if self.awaiting.is_none() {
            let Some(end) = http::find_head_end(pending, self.scanned.saturating_sub(2)) else {
                self.scanned = pending.len();
                if pending.len() > limits.max_head {
                    self.refuse(http::Reject {
                        status: http::Status::HeaderFieldsTooLarge,
                        reason: "request head larger than the limit",
                    });
                    return true;
                }
                return false;
            };
            self.scanned = end;
        }
        let head = match http::parse_head(pending, &limits) {
            Parsed::Complete(head) => head,
            // Only blank lines before the request so far (RFC 9112 lets them be).
            Parsed::Partial => return false,
            Parsed::Invalid(rejected) => {
                self.refuse(rejected);
                return true;
            }
        };
        let total = head.len + head.content_length;
        if pending.len() < total {
            if self.awaiting.is_none() && head.expect_continue {
                self.output.extend_from_slice(CONTINUE);
            }
            self.awaiting = Some(total);
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
                response.write_to(&mut self.output, keep_alive, head_only);
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
    fn refuse(&mut self, rejected: http::Reject) {
        if self.config.verbose {
            log::refused(self.peer, &rejected);
        }
        Response::rejected(rejected).write_to(&mut self.output, false, false);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> (Session, Instant) {
        let now = Instant::now();
        let peer = "127.0.0.1:1".parse().unwrap();
        (Session::new(HttpConfig::default(), peer, now), now)
    }

    /// Feeds `input`, then collects what the session writes until it wants
    /// more input or closes.
    fn exchange(s: &mut Session, input: &[u8], now: Instant) -> (String, Action) {
        s.received(input, now);
        let mut out = Vec::new();
        loop {
            match s.next(now) {
                Action::Write => {
                    out.extend_from_slice(s.output());
                    let n = s.output().len();
                    s.written(n);
                }
                other => return (String::from_utf8_lossy(&out).into_owned(), other),
            }
        }
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_with_one_write() {
        let (mut s, now) = session();
        s.received(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /",
            now,
        );
        assert_eq!(s.next(now), Action::Write);
        let out = String::from_utf8_lossy(s.output()).into_owned();
        assert!(out.starts_with("HTTP/1.1 200 OK"));
        assert_eq!(out.matches("HTTP/1.1 404").count(), 1);
        let n = s.output().len();
        s.written(n);
        assert!(matches!(s.next(now), Action::Read { .. }));
    }

    #[test]
    fn byte_at_a_time_gives_one_response() {
        let (mut s, now) = session();
        let request = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        let mut all = String::new();
        for byte in request.chunks(1) {
            let (out, action) = exchange(&mut s, byte, now);
            all.push_str(&out);
            assert!(matches!(action, Action::Read { .. }));
        }
        assert!(all.ends_with("\r\n\r\nhello"), "{all}");
        assert_eq!(all.matches("HTTP/1.1").count(), 1);
    }

    #[test]
    fn sleep_is_delayed_and_keeps_order() {
        let (mut s, now) = session();
        s.received(
            b"GET /sleep?ms=50 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            now,
        );
        let until = now + Duration::from_millis(50);
        assert_eq!(s.next(now), Action::Sleep { until });
        assert_eq!(s.next(until), Action::Write);
        let out = String::from_utf8_lossy(s.output()).into_owned();
        let slept = out.find("slept 50 ms").unwrap();
        let hello = out.find("Hello, world!").unwrap();
        assert!(slept < hello);
    }

    #[test]
    fn partial_head_times_out_with_408_and_lingers() {
        let (mut s, now) = session();
        let (_, action) = exchange(&mut s, b"GET / HT", now);
        let Action::Read { deadline } = action else {
            panic!("{action:?}")
        };
        assert_eq!(s.next(deadline), Action::Write);
        assert!(String::from_utf8_lossy(s.output()).starts_with("HTTP/1.1 408"));
        let n = s.output().len();
        s.written(n);
        assert_eq!(s.next(deadline), Action::HalfClose);
        assert!(matches!(s.next(deadline), Action::Read { .. }));
        s.peer_closed();
        assert_eq!(s.next(deadline), Action::Close);
    }

    #[test]
    fn idle_connection_closes_silently() {
        let (mut s, now) = session();
        let Action::Read { deadline } = s.next(now) else {
            panic!()
        };
        assert_eq!(s.next(deadline), Action::Close);
        assert!(s.output().is_empty());
    }

    #[test]
    fn expect_continue_gets_100_before_the_body() {
        let (mut s, now) = session();
        let (out, _) = exchange(
            &mut s,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            now,
        );
        assert_eq!(out, "HTTP/1.1 100 Continue\r\n\r\n");
        let (out, _) = exchange(&mut s, b"ok", now);
        assert!(out.starts_with("HTTP/1.1 200") && out.ends_with("ok"));
    }

    #[test]
    fn http10_closes_after_the_response() {
        let (mut s, now) = session();
        let (out, action) = exchange(&mut s, b"GET / HTTP/1.0\r\n\r\n", now);
        assert!(out.contains("Connection: close"));
        assert_eq!(action, Action::Close);
    }

    #[test]
    fn buffers_shrink_after_a_large_echo() {
        let (mut s, now) = session();
        let body = vec![b'x'; 100_000];
        let mut request =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".to_vec();
        request.extend_from_slice(&body);
        let (out, _) = exchange(&mut s, &request, now);
        assert!(out.ends_with(&"x".repeat(100)));
        assert!(s.input.capacity() <= KEEP_CAPACITY);
        assert!(s.output.capacity() <= KEEP_CAPACITY);
    }
}
