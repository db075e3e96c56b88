//! What is particular to a pool whose threads accept for themselves: a fixed number of
//! threads, the keep-alive trap, and no queue of our own: waiting clients wait in the kernel.

use std::time::{Duration, Instant};

use common::testkit::{Server, get, slowest_of_parallel, threads_of};

const BIN: &str = env!("CARGO_BIN_EXE_threadpool2_server");

#[test]
fn three_sleepers_on_two_workers_take_600_ms() {
    let server = Server::start(BIN, &["--workers", "2"]);
    let slowest = slowest_of_parallel(&server, 3, "/sleep?ms=300");
    // The third waits for a worker to finish one sleep, then sleeps itself.
    assert!(
        slowest >= Duration::from_millis(590) && slowest < Duration::from_secs(3),
        "the last of three 300 ms sleeps on two workers took {slowest:?}"
    );
}

#[test]
fn the_pool_is_a_fixed_set_of_threads() {
    let server = Server::start(BIN, &["--workers", "3"]);
    assert_eq!(threads_of(server.pid()), 4, "main and three workers");
    for _ in 0..10 {
        assert_eq!(server.get("/").status, 200);
    }
    assert_eq!(threads_of(server.pid()), 4);
}

#[test]
fn keep_alive_trap_a_kept_connection_holds_its_worker_until_idle_timeout() {
    let server = Server::start(BIN, &["--workers", "1", "--idle-timeout", "0.5"]);
    let mut holder = server.client();
    holder.send(&get("/"));
    assert_eq!(holder.reply().status, 200);
    // The holder sends nothing more, but its worker is blocked reading it.
    let start = Instant::now();
    assert_eq!(server.get("/").status, 200);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "served after {waited:?}, before the holder's idle timeout"
    );
    holder.expect_closed();
}
