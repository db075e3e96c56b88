//! What is particular to a pool fed by the main thread: a fixed number of
//! threads, the keep-alive trap, and 503 once the queue in front is full.

use testkit::{Server, get};

const BIN: &str = env!("CARGO_BIN_EXE_threadpool1_server");

testkit::pool_tests!(BIN);

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let server = Server::start(BIN, &["--workers", "1", "--queue", "1"]);
    // The only worker now belongs to this kept-alive connection.
    let mut holder = server.client();
    holder.send(&get("/"));
    assert_eq!(holder.response().status, 200);
    // The next connection takes the one place in the queue...
    let mut waiter = server.client();
    waiter.send(&get("/"));
    // ...and the one after is turned away at once. (The kernel hands out
    // connections in the order they arrived, so `waiter` is queued first.)
    let mut turned_away = server.client();
    turned_away.send(&get("/"));
    let response = turned_away.response();
    assert_eq!(response.status, 503, "{}", response.text());
    assert_eq!(response.header("retry-after"), Some("1"));
    assert_eq!(response.header("connection"), Some("close"));
    turned_away.expect_closed();
    // When the holder leaves, its worker takes the queued connection.
    drop(holder);
    assert_eq!(waiter.response().status, 200);
}
