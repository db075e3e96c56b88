//! HTTP/1.1 framing: request heads in, responses out.
//!
//! Nothing here reads or writes a socket. [`parse_head`] looks at the bytes a
//! connection has received so far; [`Response::write_to`] appends a whole
//! response to an output buffer, so that a server can send it with one write.

use std::io::Write as _;
use std::mem::MaybeUninit;
use std::time::Instant;

use crate::Limits;
use crate::date;

/// Header slots offered to httparse; a request with more fields gets 431.
pub const MAX_HEADERS: usize = 64;

/// The statuses this project sends. Each one has a single, fixed status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    ContentTooLarge,
    ExpectationFailed,
    HeaderFieldsTooLarge,
    NotImplemented,
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::ContentTooLarge => 413,
            Status::ExpectationFailed => 417,
            Status::HeaderFieldsTooLarge => 431,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestTimeout => "Request Timeout",
            Status::ContentTooLarge => "Content Too Large",
            Status::ExpectationFailed => "Expectation Failed",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::NotImplemented => "Not Implemented",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::VersionNotSupported => "HTTP Version Not Supported",
        }
    }
}

/// The methods the application knows; anything else is `Other` and gets 405
/// from a known path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Other,
}

/// A request head that passed every framing check.
#[derive(Debug)]
pub struct Head<'a> {
    pub method: Method,
    /// The method as sent, for the log line.
    pub method_name: &'a str,
    /// The path without the query, e.g. `/sleep`.
    pub path: &'a str,
    /// What follows `?`, or `""`.
    pub query: &'a str,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Whether the client wants the connection kept open after this exchange.
    pub keep_alive: bool,
    /// The body length announced by `Content-Length` (0 when absent).
    pub content_length: usize,
    /// The client sent `Expect: 100-continue` and waits before sending its body.
    pub expect_continue: bool,
    /// Bytes of the head, up to and including the blank line.
    pub len: usize,
}

/// Why a request is refused: the status to send and a short human reason for
/// the body. Every refusal closes the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    pub status: Status,
    pub reason: &'static str,
}

const fn reject(status: Status, reason: &'static str) -> Reject {
    Reject { status, reason }
}

/// The outcome of looking at the bytes received so far.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A whole head (the body, if any, may still be on its way).
    Complete(Head<'a>),
    /// Not enough bytes yet to tell.
    Partial,
    /// The request is bad; answer with this and close.
    Invalid(Reject),
}

/// Parses the head at the start of `buf`, enforcing the head and body limits.
///
/// Call it when `buf` may hold a whole head (see [`find_head_end`]); it is
/// correct, just slower, to call it after every read.
pub fn parse_head<'a>(buf: &'a [u8], limits: &Limits) -> Parsed<'a> {
    // Header slots that httparse fills in: left uninitialised, since zeroing
    // 64 of them for every request cost more than parsing a small one.
    let mut fields = [const { MaybeUninit::<httparse::Header<'a>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Parsed::Invalid(reject(
                Status::HeaderFieldsTooLarge,
                "request head larger than the limit",
            ));
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Invalid(reject(
                Status::HeaderFieldsTooLarge,
                "too many header fields",
            ));
        }
        Err(httparse::Error::Version) => {
            return Parsed::Invalid(reject(
                Status::VersionNotSupported,
                "only HTTP/1.0 and HTTP/1.1 are spoken here",
            ));
        }
        Err(_) => return Parsed::Invalid(reject(Status::BadRequest, "malformed request")),
    };
    if len > limits.max_head {
        return Parsed::Invalid(reject(
            Status::HeaderFieldsTooLarge,
            "request head larger than the limit",
        ));
    }
    // httparse fills these three on Complete; a missing one is still not ours to unwrap.
    let (Some(method_name), Some(target), Some(minor_version)) =
        (req.method, req.path, req.version)
    else {
        return Parsed::Invalid(reject(Status::BadRequest, "malformed request line"));
    };
    match check_fields(req.headers, minor_version, limits) {
        Ok(fields) => {
            let Some((path, query)) = split_target(target) else {
                return Parsed::Invalid(reject(Status::BadRequest, "bad request target"));
            };
            Parsed::Complete(Head {
                method: match method_name {
                    "GET" => Method::Get,
                    "HEAD" => Method::Head,
                    "POST" => Method::Post,
                    _ => Method::Other,
                },
                method_name,
                path,
                query,
                minor_version,
                keep_alive: fields.keep_alive,
                content_length: fields.content_length,
                expect_continue: fields.expect_continue,
                len,
            })
        }
        Err(rejected) => Parsed::Invalid(rejected),
    }
}

/// What the header fields decided.
struct Fields {
    keep_alive: bool,
    content_length: usize,
    expect_continue: bool,
}

fn check_fields(
    headers: &[httparse::Header<'_>],
    minor_version: u8,
    limits: &Limits,
) -> Result<Fields, Reject> {
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut close = false;
    let mut keep_alive = false;
    let mut expect_continue = false;
    for field in headers {
        let name = field.name;
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("content-length") {
            // `Content-Length: 5, 5` and repeated equal fields are one length;
            // two different lengths could frame the body two ways (smuggling).
            for item in field.value.split(|&b| b == b',') {
                let n = parse_decimal(item.trim_ascii())
                    .ok_or(reject(Status::BadRequest, "Content-Length is not a number"))?;
                if content_length.is_some_and(|seen| seen != n) {
                    return Err(reject(
                        Status::BadRequest,
                        "conflicting Content-Length values",
                    ));
                }
                content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in field.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") {
            if !field
                .value
                .trim_ascii()
                .eq_ignore_ascii_case(b"100-continue")
            {
                return Err(reject(
                    Status::ExpectationFailed,
                    "only Expect: 100-continue is understood",
                ));
            }
            // HTTP/1.0 has no 100 Continue: RFC 9110 (section 10.1.1) says a
            // server must ignore the expectation in a 1.0 request.
            expect_continue = minor_version == 1;
        }
    }
    if transfer_encoding && content_length.is_some() {
        return Err(reject(
            Status::BadRequest,
            "both Content-Length and Transfer-Encoding",
        ));
    }
    if transfer_encoding {
        return Err(reject(
            Status::NotImplemented,
            "Transfer-Encoding is not supported; send Content-Length",
        ));
    }
    if minor_version == 1 && hosts == 0 {
        return Err(reject(Status::BadRequest, "HTTP/1.1 request without Host"));
    }
    if hosts > 1 {
        return Err(reject(Status::BadRequest, "more than one Host field"));
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > limits.max_body as u64 {
        return Err(reject(
            Status::ContentTooLarge,
            "request body larger than the limit",
        ));
    }
    Ok(Fields {
        // HTTP/1.1 keeps the connection unless told to close; 1.0 closes unless asked to keep it.
        keep_alive: if minor_version == 1 {
            !close
        } else {
            keep_alive && !close
        },
        content_length: content_length as usize,
        expect_continue,
    })
}

/// Digits only: no sign, no spaces, no overflow.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// Splits an origin-form target (`/path?query`) or an absolute-form one
/// (`http://host/path?query`, which RFC 9112 says a server must accept).
fn split_target(target: &str) -> Option<(&str, &str)> {
    let origin = if target.starts_with('/') {
        target
    } else if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        rest.find('/').map_or("/", |slash| &rest[slash..])
    } else if target == "*" {
        target
    } else {
        return None;
    };
    // A byte search: '?' is ASCII, so the split falls on a char boundary.
    Some(match origin.bytes().position(|b| b == b'?') {
        Some(at) => (&origin[..at], &origin[at + 1..]),
        None => (origin, ""),
    })
}

/// Where the head in `buf` ends (just past its blank line), searching from
/// `from`. Finding it is cheap; it tells a connection when httparse is worth
/// calling, so a client that sends one byte at a time costs one parse, not
/// one per byte. Bare `\n` line ends are accepted, as httparse accepts them.
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    // From one line end to the next; a blank line is a line end right after
    // another (`\n\n`), or after another and a `\r` (`\n\r\n`).
    let mut at = from.max(1);
    while let Some(offset) = buf.get(at..)?.iter().position(|&b| b == b'\n') {
        let i = at + offset;
        if buf[i - 1] == b'\n' || (i >= 2 && buf[i - 2] == b'\n' && buf[i - 1] == b'\r') {
            return Some(i + 1);
        }
        at = i + 1;
    }
    None
}

/// The body of a response. Small bodies made per request live inline, so
/// building a response allocates nothing.
#[derive(Clone, Copy, Debug)]
pub enum Body<'a> {
    Static(&'static [u8]),
    Borrowed(&'a [u8]),
    Inline { bytes: [u8; INLINE], len: u8 },
}

/// Room for a body made per request: a checksum, `slept N ms`, an error reason.
const INLINE: usize = 64;

impl Body<'_> {
    /// Formats a short text (at most 64 bytes; longer text is cut) inline.
    pub fn inline(args: std::fmt::Arguments<'_>) -> Body<'static> {
        let mut bytes = [0u8; INLINE];
        let mut cursor = &mut bytes[..];
        // A full buffer ends the write early; the cut text is still a body.
        let fits = cursor.write_fmt(args).is_ok();
        debug_assert!(fits, "inline body cut: make the text shorter");
        let len = INLINE - cursor.len();
        Body::Inline {
            bytes,
            len: len as u8,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Static(bytes) => bytes,
            Body::Borrowed(bytes) => bytes,
            Body::Inline { bytes, len } => &bytes[..usize::from(*len)],
        }
    }
}

/// A response before it is turned into bytes.
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    pub status: Status,
    pub body: Body<'a>,
    /// The `Allow` field of a 405.
    pub allow: Option<&'static str>,
    /// The `Retry-After` field (seconds) of a 503.
    pub retry_after: Option<u32>,
}

impl<'a> Response<'a> {
    pub fn new(status: Status, body: Body<'a>) -> Self {
        Response {
            status,
            body,
            allow: None,
            retry_after: None,
        }
    }

    /// The plain-text answer to a refused request.
    pub fn rejected(rejected: Reject) -> Response<'static> {
        Response::new(
            rejected.status,
            Body::inline(format_args!(
                "{} {}\n",
                rejected.status.code(),
                rejected.reason
            )),
        )
    }

    /// Appends the whole response (head and, unless `head_only`, body) to
    /// `out`, dated `now`. It is built from pieces that are copied, not
    /// formatted: `write!` costs more than all the copying of a small
    /// response together.
    pub fn write_to(&self, out: &mut Vec<u8>, keep_alive: bool, head_only: bool, now: Instant) {
        let body = self.body.as_bytes();
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(out, self.status.code().into());
        out.push(b' ');
        out.extend_from_slice(self.status.reason().as_bytes());
        out.extend_from_slice(b"\r\nDate: ");
        date::with(now, |date| out.extend_from_slice(date));
        out.extend_from_slice(b"\r\nContent-Type: text/plain\r\nContent-Length: ");
        push_decimal(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
        if let Some(allow) = self.allow {
            out.extend_from_slice(b"Allow: ");
            out.extend_from_slice(allow.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(seconds) = self.retry_after {
            out.extend_from_slice(b"Retry-After: ");
            push_decimal(out, seconds.into());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(if keep_alive {
            b"Connection: keep-alive\r\n\r\n"
        } else {
            b"Connection: close\r\n\r\n"
        });
        if !head_only {
            out.extend_from_slice(body);
        }
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The interim answer to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[cfg(test)]
mod tests;
