//! The exercises of docs/threadpool2_server.md. Each test fails until its
//! exercise is done, or, for an experiment, checks what the lesson asks you
//! to predict; run one with
//! `cargo test -p threadpool2_server -- --ignored exercise_NAME`.

use std::io::ErrorKind;
use std::thread;
use std::time::{Duration, Instant};

use testkit::{Server, eventually, get};

const BIN: &str = env!("CARGO_BIN_EXE_threadpool2_server");

/// Exercise 1: with every worker held by a kept-alive client, a new client
/// is told at once with a 503, instead of waiting unanswered in the kernel's
/// accept queue; once a worker is free again, clients are served.
#[test]
#[ignore = "exercise 1 of docs/threadpool2_server.md: passes once a full pool answers 503"]
fn exercise_a_full_pool_says_503() {
    let server = Server::start(BIN, &["--workers", "2", "--idle-timeout", "2"]);
    let [first, _second] = server.kept_clients();
    let started = Instant::now();
    let third = server.get("/");
    let waited = started.elapsed();
    assert!(
        third.status == 503 && waited < Duration::from_secs(1),
        "with both workers held by kept-alive clients, a third client got {} after {waited:?}: \
         it waited in the kernel's accept queue until an idle timeout freed a worker, and nobody \
         told it why. While every worker serves, which thread is in `accept` to say 503?",
        third.status
    );
    drop(first);
    assert!(
        eventually(Duration::from_secs(3), || server.get("/").status == 200),
        "one of the two kept clients left, yet new clients still get 503: \
         is a worker counted as free again once its connection closes?"
    );
}

/// Exercise 2 (an experiment): two clients that keep asking are never idle,
/// so the idle timeout never frees their workers, and a third client waits
/// without a byte of answer for as long as they go on; it is served, with no
/// error, as soon as they leave.
#[test]
#[ignore = "exercise 2 of docs/threadpool2_server.md: an experiment, which passes as the server is"]
fn exercise_busy_clients_starve_the_next_one_silently() {
    let server = Server::start(BIN, &["--workers", "2", "--idle-timeout", "1"]);
    let mut busy = server.kept_clients::<2>();
    let mut waiting = server.client();
    waiting.send(&get("/"));
    // More than twice the idle timeout, one request each every 200 ms.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        for client in &mut busy {
            client.send(&get("/"));
            assert_eq!(client.response().status, 200);
        }
        thread::sleep(Duration::from_millis(200));
    }
    waiting.stream.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    match waiting.stream.peek(&mut byte) {
        Err(err) if err.kind() == ErrorKind::WouldBlock => {}
        other => panic!(
            "the third client was answered (or closed) while the other two kept asking: {other:?}"
        ),
    }
    waiting.stream.set_nonblocking(false).expect("blocking");
    drop(busy);
    let started = Instant::now();
    let answer = waiting.response();
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "served {:?} after the busy clients left",
        started.elapsed()
    );
}
