//! Log lines on stderr: one `write` per line, and never a panic.
//!
//! `eprintln!` panics when stderr cannot be written (the reading end of its
//! pipe closed, a full disk), and a panic in an accept loop or a worker would
//! end the server or that worker. A failed log write must never do that, so
//! every line the servers write goes through [`line`], which formats into a
//! buffer, writes it with one call (so that lines from several threads or
//! processes never interleave) and ignores what the write returns.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::{Head, Reject};

/// Writes one line to stderr; a failure to write is ignored.
pub fn line(args: fmt::Arguments<'_>) {
    let mut text = String::with_capacity(128);
    let _ = text.write_fmt(args);
    text.push('\n');
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// The `--verbose` line for an answered request:
/// `127.0.0.1:50312 "GET /sleep?ms=5 HTTP/1.1" 200`.
pub fn request(peer: SocketAddr, head: &Head<'_>, status: u16) {
    let query_mark = if head.query.is_empty() { "" } else { "?" };
    line(format_args!(
        "{peer} \"{} {}{query_mark}{} HTTP/1.{}\" {status}",
        head.method_name,
        Escaped(head.path),
        Escaped(head.query),
        head.minor_version
    ));
}

/// The `--verbose` line for a refused request.
pub fn refused(peer: SocketAddr, rejected: &Reject) {
    line(format_args!(
        "{peer} refused: {} {}",
        rejected.status.code(),
        rejected.reason
    ));
}

/// Text from a client, made safe for a terminal: everything but printable
/// ASCII is written as `\xNN`, so an escape sequence in a request target
/// cannot reach the terminal of whoever reads the log; `"` and `\` are
/// escaped too, so the quoted target cannot be mistaken for the line's end.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.0.as_bytes() {
            if (b' '..=b'~').contains(&byte) && byte != b'"' && byte != b'\\' {
                f.write_char(char::from(byte))?;
            } else {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

/// Lets a line through at most once a second, for failures that repeat as
/// fast as the loop runs (an accept that fails with EMFILE).
pub struct Throttle {
    last_second: AtomicU64,
}

impl Throttle {
    pub const fn new() -> Self {
        Throttle {
            last_second: AtomicU64::new(u64::MAX),
        }
    }

    /// `true` at most once per wall-clock second.
    pub fn allow(&self) -> bool {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.last_second.swap(second, Ordering::Relaxed) != second
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_quotes_are_escaped() {
        let text = Escaped("/a\u{1b}[2J\u{9b}b\"c\\").to_string();
        assert_eq!(text, "/a\\x1b[2J\\xc2\\x9bb\\x22c\\x5c");
    }

    #[test]
    fn a_throttle_lets_one_line_through_per_second() {
        let throttle = Throttle::new();
        assert!(throttle.allow());
        assert!(!throttle.allow());
    }
}
