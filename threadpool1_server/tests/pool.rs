//! What is particular to a pool fed by the main thread: a fixed number of
//! threads, the keep-alive trap, and 503 once the queue in front is full.

use std::time::{Duration, Instant};

use common::testkit::{Server, get, pool};

const BIN: &str = env!("CARGO_BIN_EXE_threadpool1_server");

#[test]
fn three_sleepers_on_two_workers_take_600_ms() {
    pool::third_sleeper_waits_for_a_worker(BIN);
}

#[test]
fn the_pool_is_a_fixed_set_of_threads() {
    pool::thread_count_stays_fixed(BIN);
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let server = Server::start(BIN, &["--workers", "1", "--queue", "1"]);
    // The only worker now belongs to this kept-alive connection.
    let mut holder = server.client();
    holder.send(&get("/"));
    assert_eq!(holder.reply().status, 200);
    // The next connection takes the one place in the queue...
    let mut waiter = server.client();
    waiter.send(&get("/"));
    // ...and the one after is turned away at once. (The kernel hands out
    // connections in the order they arrived, so `waiter` is queued first.)
    let mut turned_away = server.client();
    turned_away.send(&get("/"));
    let reply = turned_away.reply();
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("connection"), Some("close"));
    turned_away.expect_closed();
    // When the holder leaves, its worker takes the queued connection.
    drop(holder);
    assert_eq!(waiter.reply().status, 200);
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
