//! Randomized tests of the parser and the session: whatever the bytes and
//! however they are split into reads, the session never panics, answers the
//! same, and always ends in an answer, an error status, or a wait for more.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::http::{Parsed, parse_head};
use common::{Action, HttpConfig, Limits, Session};
use proptest::prelude::*;

/// One request of the stream, as the client would write it.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let path = prop::sample::select(vec![
        "/",
        "/nope",
        "/echo",
        "/cpu?n=3",
        "/sleep?ms=5",
        "/sleep?ms=x",
        "/cpu",
        "*",
    ]);
    let method = prop::sample::select(vec!["GET", "HEAD", "POST", "DELETE"]);
    let version = prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0"]);
    let extra = prop::sample::select(vec![
        "",
        "Connection: close\r\n",
        "Connection: keep-alive\r\n",
        "Expect: 100-continue\r\n",
        "X-Filler: abc\r\n",
        "Transfer-Encoding: chunked\r\n",
    ]);
    let body = prop::collection::vec(any::<u8>(), 0..40);
    (method, path, version, extra, body, any::<bool>()).prop_map(
        |(method, path, version, extra, body, host)| {
            let host = if host { "Host: t\r\n" } else { "" };
            let length = if method == "POST" || !body.is_empty() {
                format!("Content-Length: {}\r\n", body.len())
            } else {
                String::new()
            };
            let mut bytes =
                format!("{method} {path} {version}\r\n{host}{extra}{length}\r\n").into_bytes();
            bytes.extend_from_slice(&body);
            bytes
        },
    )
}

/// A stream of requests, perhaps damaged: bytes flipped, inserted, dropped.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..4);
    (prop::collection::vec(request(), 1..5), edits).prop_map(|(requests, edits)| {
        let mut bytes = requests.concat();
        for (at, byte, kind) in edits {
            let i = at.index(bytes.len().max(1));
            match kind {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i.min(bytes.len()), byte),
                _ if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        bytes
    })
}

/// The ways a drive ended.
#[derive(Debug, PartialEq)]
enum End {
    /// The session waits for more bytes.
    Waiting,
    /// The session closed the connection.
    Closed,
}

/// Feeds `chunks` to a fresh session, one read each, and plays the caller:
/// writes everything at once, steps through sleeps, never lets time pass
/// otherwise (so no timeout fires). Returns what was written and how it
/// ended.
fn drive(chunks: &[&[u8]]) -> (Vec<u8>, End) {
    let config = HttpConfig {
        limits: Limits {
            max_head: 512,
            max_body: 64,
            ..Limits::default()
        },
        ..HttpConfig::default()
    };
    let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut now = Instant::now();
    let mut session = Session::new(config, peer, now);
    let mut output = Vec::new();
    let mut chunks = chunks.iter();
    for _ in 0..10_000 {
        match session.next(now) {
            Action::Write { .. } => {
                output.extend_from_slice(session.output());
                let n = session.output().len();
                session.written(n);
            }
            Action::Sleep { until } => now = until,
            Action::Yield => {}
            Action::Read { .. } => match chunks.next() {
                Some(chunk) => session.received(chunk, now),
                None => return (output, End::Waiting),
            },
            // The session's last word is out and its FIN follows; it only
            // reads out what the client still sends before closing (so that
            // the close does not become a reset), which is no answer.
            Action::HalfClose | Action::Close => return (output, End::Closed),
        }
        now += Duration::from_nanos(1);
    }
    panic!("the session neither waited nor closed in 10,000 steps");
}

/// The responses in `output`, each as (status, connection, body). Panics on
/// a response that is not whole.
fn responses(mut output: &[u8]) -> Vec<(u16, String, Vec<u8>)> {
    let mut all = Vec::new();
    while !output.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut fields);
        let head = match response.parse(output) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!(
                "not a whole response ({other:?}): {:?}",
                String::from_utf8_lossy(output)
            ),
        };
        let status = response.code.unwrap();
        let field = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let length: usize = if status == 100 {
            0
        } else {
            field("content-length")
                .expect("a Content-Length")
                .parse()
                .unwrap()
        };
        let connection = field("connection").unwrap_or_default();
        // A HEAD answer has a length but no body: the next bytes are then
        // another response's start, or nothing at all.
        let rest = &output[head..];
        let body_end = if rest.is_empty() || rest.starts_with(b"HTTP/1.1 ") || status == 100 {
            head
        } else {
            head + length
        };
        assert!(body_end <= output.len(), "a body cut short");
        all.push((status, connection, output[head..body_end].to_vec()));
        output = &output[body_end..];
    }
    all
}

/// The final answers in `output`, as bytes: the interim `100 Continue`
/// left out (a server may skip it when the body is already there, RFC 9110
/// section 10.1.1, so whether it comes depends on the reads), and every
/// `Date` value blanked (it is the clock's, and a second may turn between
/// two drives).
fn answers(output: &[u8]) -> Vec<u8> {
    const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
    let mut out = Vec::with_capacity(output.len());
    let mut rest = output;
    while !rest.is_empty() {
        if rest.starts_with(CONTINUE) {
            rest = &rest[CONTINUE.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    let mut from = 0;
    while let Some(at) = out[from..].windows(8).position(|w| w == b"\r\nDate: ") {
        let start = from + at + 8;
        let end = (start + 29).min(out.len());
        out[start..end].fill(b'-');
        from = end;
    }
    out
}

proptest! {
    // No regression files: a failure prints its minimal input, which then
    // belongs in a unit test of its own.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Parsed::Complete(head) = parse_head(&bytes, &Limits::default()) {
            prop_assert!(head.len <= bytes.len());
        }
    }

    #[test]
    fn the_split_does_not_change_the_answers(
        bytes in stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut chunks = Vec::new();
        let mut from = 0;
        for at in points {
            chunks.push(&bytes[from..at]);
            from = at;
        }
        chunks.push(&bytes[from..]);
        let (whole, whole_end) = drive(&[&bytes]);
        let (split, split_end) = drive(&chunks);
        let (whole_text, split_text) = (answers(&whole), answers(&split));
        prop_assert_eq!(
            String::from_utf8_lossy(&whole_text),
            String::from_utf8_lossy(&split_text),
            "input {:?} in reads {:?}",
            String::from_utf8_lossy(&bytes),
            chunks.iter().map(|c| String::from_utf8_lossy(c)).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            whole_end,
            split_end,
            "input {:?} in reads {:?}",
            String::from_utf8_lossy(&bytes),
            chunks.iter().map(|c| String::from_utf8_lossy(c)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_input_ends_in_an_answer_an_error_or_a_wait(bytes in stream()) {
        let (output, end) = drive(&[&bytes]);
        let answers = responses(&output);
        if end == End::Closed {
            // Closed by the session: its last word said so (Connection:
            // close on an answer or an error), or it had nothing to say.
            if let Some((status, connection, _)) = answers.last() {
                prop_assert_eq!(connection.as_str(), "close", "status {}", status);
            }
        }
    }
}
