//! Clients the server is not serving, seen from the kernel's socket table.
//!
//! wrk's numbers cover answered requests only. A connection that a busy pool
//! never picks up (the keep-alive trap: N workers, each held by one kept
//! connection) sends its request and waits for the whole run without a single
//! error being counted. The kernel sees it, though, and `ss` shows it: a
//! connection's `Recv-Q` is request bytes nobody has read yet (whether it is
//! still in the accept queue or was accepted and left alone), and `lastrcv`
//! is how long ago its last bytes arrived. wrk sends one request and waits
//! for the answer, so bytes still unread a quarter of a second after they
//! came are a request nobody is serving. (At saturation a busy connection
//! often has unread bytes too, but they arrived microseconds ago.)

use std::process::Command;

/// How long unread bytes must have sat for their connection to count as stuck.
pub const STUCK_MS: u64 = 250;

/// Connections to `port` whose request has sat unread for `STUCK_MS` or
/// more; `None` if `ss` cannot be run.
pub fn stuck(port: u16) -> Option<u64> {
    let out = Command::new("ss")
        .args(["-tinH", "state", "established"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| parse_stuck(&String::from_utf8_lossy(&out.stdout), STUCK_MS))
}

/// Counts connections in `ss -tinH state established` output whose `Recv-Q`
/// is not empty and whose last bytes arrived at least `min_ms` ago.
///
/// Each connection is a line `Recv-Q Send-Q local peer`, followed by an
/// indented line of `tcp_info` fields such as `lastrcv:1234`.
pub fn parse_stuck(text: &str, min_ms: u64) -> u64 {
    let mut stuck = 0;
    let mut unread = false;
    for line in text.lines() {
        if line.starts_with(char::is_whitespace) {
            let lastrcv = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix("lastrcv:")?.parse::<u64>().ok());
            if unread && lastrcv.is_some_and(|ms| ms >= min_ms) {
                stuck += 1;
            }
            unread = false;
        } else {
            unread = line
                .split_whitespace()
                .next()
                .and_then(|q| q.parse::<u64>().ok())
                .is_some_and(|q| q > 0);
        }
    }
    stuck
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_unread_requests_are_stuck() {
        // 40001: unread for 900 ms (stuck); 40002: unread but just arrived
        // (busy, not stuck); 40003: idle with nothing unread.
        let established = "\
75     0      127.0.0.1:8080 127.0.0.1:40001
\t cubic wscale:7,7 rto:204 bytes_received:75 lastsnd:900 lastrcv:900 lastack:900
75     0      127.0.0.1:8080 127.0.0.1:40002
\t cubic wscale:7,7 rto:204 bytes_received:7500 lastsnd:1 lastrcv:1 lastack:1
0      0      127.0.0.1:8080 127.0.0.1:40003
\t cubic wscale:7,7 rto:204 bytes_received:75 lastsnd:5000 lastrcv:5000 lastack:5000
";
        assert_eq!([250, 1000].map(|ms| parse_stuck(established, ms)), [1, 0]);
        assert_eq!(parse_stuck("", 250), 0);
    }
}
