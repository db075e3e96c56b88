//! The exercises of docs/multiplexingio_server.md. The first fails until its
//! exercise is done; the second is an experiment that passes as the code
//! stands. Run one with
//! `cargo test -p multiplexingio_server -- --ignored exercise_NAME`.

use std::time::{Duration, Instant};

use testkit::Server;
use testkit::robustness::{BURST, wait_behind_a_pipelined_burst};

const BIN: &str = env!("CARGO_BIN_EXE_multiplexingio_server");

/// Exercise 1: without the turn, the loop answers a whole pipelined burst
/// before it looks at the kernel again, and a fresh client waits for all of
/// it.
#[test]
#[ignore = "exercise 1 of docs/multiplexingio_server.md: passes once the loop no longer takes turns"]
fn exercise_without_turns_a_burst_holds_everyone() {
    let (waited, burst) = wait_behind_a_pipelined_burst(&Server::start(BIN, &[]));
    assert!(
        waited > burst / 2,
        "GET / waited {waited:?} behind a burst of {BURST} /cpu requests that took {burst:?}: \
         the loop still gives each connection one turn and then looks at the others \
         (does `Connection::drive` still answer `Action::Yield` with `Wait::Turn`?)"
    );
}

/// Exercise 2: with `--max-connections 3`, three kept connections fill the
/// server; a fourth client hears 503 at once, and once one of the three
/// leaves, a new client is served again.
#[test]
#[ignore = "exercise 2 of docs/multiplexingio_server.md: an experiment, passes as the code stands"]
fn exercise_the_fourth_client_hears_503() {
    let server = Server::start(BIN, &["--max-connections", "3"]);
    assert!(
        server.banner.contains("at most 3 connections"),
        "the start-up line does not show the cap: {}",
        server.banner
    );
    let [first, _second, _third] = server.kept_clients();
    let asked = Instant::now();
    let fourth = server.get("/");
    let waited = asked.elapsed();
    assert_eq!(
        (fourth.status, fourth.header("retry-after")),
        (503, Some("1")),
        "the fourth client was not turned away: {fourth:?}"
    );
    assert!(
        waited < Duration::from_millis(500),
        "the 503 took {waited:?}: it should come at once"
    );
    drop(first);
    assert!(
        testkit::eventually(Duration::from_secs(3), || server.get("/").status == 200),
        "no client was served after one of the three left"
    );
}
