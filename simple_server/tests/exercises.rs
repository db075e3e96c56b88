//! The exercises of docs/simple_server.md. Each test fails until its
//! exercise is done; run one with
//! `cargo test -p simple_server -- --ignored exercise_NAME`.

use std::time::{Duration, Instant};

use testkit::{Server, get};

const BIN: &str = env!("CARGO_BIN_EXE_simple_server");

/// Exercise 1: with keep-alive on, a client that keeps its connection holds
/// the only thread until the idle timeout, and the next client waits.
#[test]
#[ignore = "exercise 1 of docs/simple_server.md: passes once simple_server keeps connections open"]
fn exercise_keep_alive_locks_out_the_next_client() {
    let server = Server::start(BIN, &["--idle-timeout", "2"]);
    let mut first = server.client();
    first.send(&get("/"));
    let answer = first.response();
    assert!(
        answer.keeps_alive(),
        "the first answer says `Connection: close`: the server still closes every connection \
         (is `http.persistent = false` still in main?)"
    );
    let started = Instant::now();
    let second = server.get("/");
    let waited = started.elapsed();
    assert_eq!(second.status, 200);
    assert!(
        waited >= Duration::from_millis(1500),
        "the second client was answered after {waited:?}, not after the first one's idle timeout"
    );
}

/// Exercise 2: two accept loops on one listener serve a second client while
/// a first one sits silent.
#[test]
#[ignore = "exercise 2 of docs/simple_server.md: passes once two threads run the accept loop"]
fn exercise_two_loops_serve_past_one_silent_client() {
    // A client that sends nothing has no header timeout (it starts at the
    // first byte): the idle timeout is what ends its connection.
    let server = Server::start(BIN, &["--idle-timeout", "3"]);
    // Connected, and silent: it holds whichever loop accepted it.
    let _silent = server.client();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let answer = server.get("/");
    let waited = started.elapsed();
    assert_eq!(answer.status, 200);
    assert!(
        waited < Duration::from_secs(1),
        "a second client waited {waited:?} behind one silent connection: one loop serves all"
    );
}
