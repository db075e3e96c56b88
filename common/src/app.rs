//! The application: the same four routes behind every server.
//!
//! | route            | answer                                                    |
//! |------------------|-----------------------------------------------------------|
//! | `GET /`          | `Hello, world!\n`                                         |
//! | `GET /sleep?ms=N`| `slept N ms\n`, but only after N ms (0 ≤ N ≤ 10000)        |
//! | `GET /cpu?n=N`   | a checksum after about N µs of arithmetic (0 ≤ N ≤ 10^6)  |
//! | `POST /echo`     | the request body                                          |
//!
//! `HEAD` is accepted wherever `GET` is. The application never waits: for
//! `/sleep` it returns [`Reply::After`] and the server's strategy decides how
//! to wait (block a thread, arm a timer, await a future). That decision is the
//! point of this project, so it is never hidden in here.

use std::time::Duration;

use crate::http::{Body, Head, Method, Response, Status};

pub const HELLO: &[u8] = b"Hello, world!\n";
/// The longest `/sleep` the application accepts, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 10_000;
/// The largest `/cpu?n=` the application accepts (about one second of work).
pub const MAX_CPU_UNITS: u64 = 1_000_000;

/// What the application wants sent.
#[derive(Debug)]
pub enum Reply<'a> {
    /// Send this now.
    Now(Response<'a>),
    /// Send this once the delay has passed: the stand-in for a slow database.
    After(Duration, Response<'static>),
}

/// Answers one request whose body has fully arrived.
pub fn handle<'a>(head: &Head<'_>, body: &'a [u8]) -> Reply<'a> {
    let readable = matches!(head.method, Method::Get | Method::Head);
    match head.path {
        "/" if readable => Reply::Now(Response::new(Status::Ok, Body::Static(HELLO))),
        "/sleep" if readable => match query_number(head.query, "ms", MAX_SLEEP_MS) {
            Some(ms) => Reply::After(
                Duration::from_millis(ms),
                Response::new(Status::Ok, Body::inline(format_args!("slept {ms} ms\n"))),
            ),
            None => Reply::Now(bad_query("/sleep needs ms=0..10000")),
        },
        "/cpu" if readable => match query_number(head.query, "n", MAX_CPU_UNITS) {
            Some(units) => Reply::Now(Response::new(
                Status::Ok,
                Body::inline(format_args!("{:016x}\n", cpu_work(units))),
            )),
            None => Reply::Now(bad_query("/cpu needs n=0..1000000")),
        },
        "/echo" if head.method == Method::Post => {
            Reply::Now(Response::new(Status::Ok, Body::Borrowed(body)))
        }
        "/" | "/sleep" | "/cpu" => Reply::Now(wrong_method("GET, HEAD")),
        "/echo" => Reply::Now(wrong_method("POST")),
        _ => Reply::Now(Response::new(
            Status::NotFound,
            Body::Static(b"404 no such path\n"),
        )),
    }
}

fn wrong_method(allow: &'static str) -> Response<'static> {
    let mut response = Response::new(
        Status::MethodNotAllowed,
        Body::Static(b"405 method not allowed here\n"),
    );
    response.allow = Some(allow);
    response
}

fn bad_query(reason: &'static str) -> Response<'static> {
    Response::new(
        Status::BadRequest,
        Body::inline(format_args!("400 {reason}\n")),
    )
}

/// The value of `key` in a query such as `a=1&ms=250`, if it is a whole
/// number no larger than `max`.
fn query_number(query: &str, key: &str, max: u64) -> Option<u64> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .and_then(|value| value.parse::<u64>().ok())
        .filter(|&n| n <= max)
}

/// Steps of the mixing loop per unit; calibrated so that one unit costs about
/// a microsecond in a release build on the project's machine.
const STEPS_PER_UNIT: u64 = 620;

/// Deterministic CPU-bound work whose cost grows linearly with `units`.
///
/// Each step depends on the previous one (a multiply and an xor-shift), so the
/// compiler can neither vectorise it nor find a closed form, and the caller
/// returns the result so the work cannot be optimised away.
pub fn cpu_work(units: u64) -> u64 {
    let mut x = std::hint::black_box(0x9e37_79b9_7f4a_7c15_u64);
    for _ in 0..units * STEPS_PER_UNIT {
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 31;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::http::{Parsed, parse_head};

    fn reply_to(raw: &[u8]) -> (Status, Vec<u8>, Option<Duration>, Option<&'static str>) {
        let Parsed::Complete(head) = parse_head(raw, &Limits::default()) else {
            panic!("not a complete head");
        };
        let body = &raw[head.len..];
        match handle(&head, body) {
            Reply::Now(r) => (r.status, r.body.as_bytes().to_vec(), None, r.allow),
            Reply::After(d, r) => (r.status, r.body.as_bytes().to_vec(), Some(d), r.allow),
        }
    }

    #[test]
    fn routes() {
        assert_eq!(
            reply_to(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            (Status::Ok, HELLO.to_vec(), None, None)
        );
        assert_eq!(
            reply_to(b"GET /sleep?x=1&ms=250 HTTP/1.1\r\nHost: x\r\n\r\n"),
            (
                Status::Ok,
                b"slept 250 ms\n".to_vec(),
                Some(Duration::from_millis(250)),
                None
            )
        );
        assert_eq!(
            reply_to(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
            (Status::Ok, b"abc".to_vec(), None, None)
        );
        assert_eq!(
            reply_to(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").0,
            Status::NotFound
        );
        assert_eq!(
            reply_to(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n").3,
            Some("POST")
        );
        assert_eq!(
            reply_to(b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n").3,
            Some("GET, HEAD")
        );
    }

    #[test]
    fn bad_queries_are_400() {
        for target in [
            "/sleep",
            "/sleep?ms=-1",
            "/sleep?ms=10001",
            "/cpu?n=x",
            "/cpu?n=1000001",
        ] {
            let raw = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(reply_to(raw.as_bytes()).0, Status::BadRequest, "{target}");
        }
    }

    #[test]
    fn cpu_work_is_deterministic() {
        assert_eq!(cpu_work(3), cpu_work(3));
        assert_ne!(cpu_work(3), cpu_work(4));
    }
}
