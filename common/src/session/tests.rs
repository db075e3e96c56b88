//! Unit tests of [`super`].

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
            Action::Write { .. } => {
                out.extend_from_slice(s.output());
                let n = s.output().len();
                s.written(n);
            }
            Action::Yield => {}
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
    assert!(matches!(s.next(now), Action::Write { .. }));
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
    assert!(matches!(s.next(until), Action::Write { .. }));
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
    assert!(matches!(s.next(deadline), Action::Write { .. }));
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
    let mut request = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".to_vec();
    request.extend_from_slice(&body);
    let (out, _) = exchange(&mut s, &request, now);
    assert!(out.ends_with(&"x".repeat(100)));
    assert!(s.input.capacity() <= KEEP_CAPACITY);
    assert!(s.output.capacity() <= KEEP_CAPACITY);
}

const UPLOAD_HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n";

#[test]
fn a_trickled_body_times_out() {
    let (mut s, now) = session();
    let (_, action) = exchange(&mut s, UPLOAD_HEAD, now);
    let Action::Read { deadline } = action else {
        panic!("{action:?}")
    };
    assert_eq!(deadline, now + Duration::from_secs(10));
    // A byte every 3 s earns almost nothing: the deadline barely moves.
    let mut t = now;
    for _ in 0..3 {
        t += Duration::from_secs(3);
        let (_, action) = exchange(&mut s, b"x", t);
        assert!(
            matches!(action, Action::Read { deadline } if deadline < now + Duration::from_millis(10_001))
        );
    }
    // Three bytes earned three times 61 µs.
    let (out, _) = exchange(&mut s, b"", now + Duration::from_millis(10_001));
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
}

#[test]
fn an_honest_slow_upload_keeps_earning_time() {
    // 1 MiB at 100 KiB/s takes 10.24 s, longer than the header timeout.
    let (mut s, now) = session();
    exchange(&mut s, UPLOAD_HEAD, now);
    let chunk = vec![b'x'; 10 * 1024];
    let mut out = String::new();
    for i in 1..=102 {
        let t = now + Duration::from_millis(100 * i);
        let (text, action) = exchange(&mut s, &chunk, t);
        out.push_str(&text);
        assert!(
            matches!(action, Action::Read { deadline } if deadline > t),
            "{i}"
        );
    }
    let (text, _) = exchange(&mut s, &chunk[..4096], now + Duration::from_millis(10_240));
    out.push_str(&text);
    assert!(
        out.starts_with("HTTP/1.1 200"),
        "{}",
        &out[..40.min(out.len())]
    );
}

#[test]
fn a_client_that_stops_reading_is_given_up() {
    let (mut s, now) = session();
    s.received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", now);
    let Action::Write { deadline } = s.next(now) else {
        panic!()
    };
    assert_eq!(deadline, now + Duration::from_secs(10));
    // Some progress gives it a new deadline...
    s.written(1);
    let later = now + Duration::from_secs(5);
    assert!(
        matches!(s.next(later), Action::Write { deadline } if deadline == later + Duration::from_secs(10))
    );
    // ...none, and it is closed.
    assert_eq!(s.next(later + Duration::from_secs(10)), Action::Close);
}

#[test]
fn a_pipelined_burst_yields_after_a_turn_of_work() {
    let (mut s, now) = session();
    // Three requests of about 20 ms each. The budget is 1 ms on a clock that
    // moves a tick at a time (4 ms at 250 Hz), so a turn may run up to a
    // tick: only requests longer than a tick and the budget together yield
    // after each one on every kernel, even on a machine a few times faster.
    let one = b"GET /cpu?n=20000 HTTP/1.1\r\nHost: x\r\n\r\n";
    s.received(&one.repeat(3), now);
    let mut answers_per_turn = vec![0];
    loop {
        match s.next(Instant::now()) {
            Action::Write { .. } => {
                let out = String::from_utf8_lossy(s.output()).into_owned();
                *answers_per_turn.last_mut().unwrap() += out.matches("HTTP/1.1 200").count();
                let n = s.output().len();
                s.written(n);
            }
            Action::Yield => answers_per_turn.push(0),
            _ => break,
        }
    }
    assert_eq!(answers_per_turn, [1, 1, 1]);
}

#[test]
fn a_client_that_keeps_sending_yields_between_reads() {
    // A body that keeps coming: no request is complete, so only the
    // read budget can end the turn.
    let (mut s, now) = session();
    exchange(&mut s, UPLOAD_HEAD, now);
    let chunk = vec![b'x'; READ_BUDGET / 4];
    let mut actions = Vec::new();
    for _ in 0..5 {
        s.received(&chunk, now);
        actions.push(s.next(now));
    }
    assert!(matches!(actions[0], Action::Read { .. }));
    assert_eq!(actions[3], Action::Yield, "{actions:?}");
    assert!(matches!(actions[4], Action::Read { .. }));
}

#[test]
fn an_aborted_connection_closes_even_with_work_owed() {
    // A burst long enough that the session owes a yield with answers unsent;
    // then the write fails and the caller aborts: nothing more may be asked.
    let (mut s, now) = session();
    s.received(
        &b"GET /cpu?n=3000 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3),
        now,
    );
    assert!(matches!(s.next(now), Action::Write { .. }));
    s.abort();
    assert_eq!(s.next(now), Action::Close);
}
