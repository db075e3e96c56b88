//! The exercises of docs/prefork_server.md. Run one with
//! `cargo test -p prefork_server -- --ignored exercise_NAME`. The first fails
//! until its exercise is done; the second is an experiment, and passes
//! before and after the first.

use std::time::{Duration, Instant};

use testkit::{Server, get};

const BIN: &str = env!("CARGO_BIN_EXE_prefork_server");

/// Exercise 1: with keep-alive off, a worker closes the connection after
/// its answer and goes back to `accept`, so a client that keeps its end open
/// no longer holds it.
#[test]
#[ignore = "exercise 1 of docs/prefork_server.md: passes once the workers turn keep-alive off"]
fn exercise_keep_alive_off_frees_the_worker() {
    let server = Server::start(BIN, &["--workers", "1", "--idle-timeout", "3"]);
    let mut first = server.client();
    first.send(&get("/"));
    let answer = first.response();
    assert!(
        !answer.keeps_alive(),
        "the first answer says `Connection: keep-alive`: the only worker now belongs to that \
         connection until its idle timeout (do the workers still get `http.persistent = true`?)"
    );
    // The first client keeps its end of the connection open, as a browser does.
    let started = Instant::now();
    let second = server.get("/");
    let waited = started.elapsed();
    assert_eq!(second.status, 200);
    assert!(
        waited < Duration::from_secs(1),
        "the second client waited {waited:?} for the only worker"
    );
    drop(first);
}

/// Exercise 2: a client that sends half a request holds its worker until
/// the header timeout, keep-alive on or off; then it is told 408 and the
/// next client is served.
#[test]
#[ignore = "exercise 2 of docs/prefork_server.md: an experiment; it passes as the server is"]
fn exercise_half_a_request_holds_a_worker() {
    let server = Server::start(BIN, &["--workers", "1", "--header-timeout", "1"]);
    let mut slow = server.client();
    slow.send(b"GET / HTTP/1.1\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let answer = server.get("/");
    let waited = started.elapsed();
    assert_eq!(answer.status, 200);
    assert!(
        waited >= Duration::from_millis(800),
        "the second client was answered after {waited:?}, before the slow one's header timeout: \
         was the slow client's connection accepted by a worker of its own?"
    );
    assert_eq!(slow.response().status, 408, "the slow client is told why");
}
