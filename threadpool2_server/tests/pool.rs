//! What is particular to a pool whose threads accept for themselves: a fixed number of
//! threads, the keep-alive trap, and no queue of our own: waiting clients wait in the kernel.

use std::time::{Duration, Instant};

use common::testkit::{Server, get, pool};

const BIN: &str = env!("CARGO_BIN_EXE_threadpool2_server");

#[test]
fn three_sleepers_on_two_workers_take_600_ms() {
    pool::third_sleeper_waits_for_a_worker(BIN);
}

#[test]
fn the_pool_is_a_fixed_set_of_threads() {
    pool::thread_count_stays_fixed(BIN);
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
