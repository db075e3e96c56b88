//! Checks for the servers with a fixed pool of `--workers` threads
//! (threadpool1_server and threadpool2_server).

use std::time::{Duration, Instant};

use crate::client::slowest_of_parallel;
use crate::procfs;
use crate::server::Server;

/// Two workers, three simultaneous 300 ms sleeps: the third waits for a
/// worker to finish one sleep, then sleeps itself (about 600 ms).
pub fn three_sleepers_on_two_workers_take_600_ms(bin: &str) {
    let server = Server::start(bin, &["--workers", "2"]);
    let slowest = slowest_of_parallel(server.addr, 3, "/sleep?ms=300");
    assert!(
        slowest >= Duration::from_millis(590) && slowest < Duration::from_secs(3),
        "the last of three 300 ms sleeps on two workers took {slowest:?}"
    );
}

/// `--workers 3` is three threads besides the main one, before and after
/// serving: the pool neither grows nor shrinks.
pub fn the_pool_is_a_fixed_set_of_threads(bin: &str) {
    let server = Server::start(bin, &["--workers", "3"]);
    assert_eq!(
        procfs::read_threads(server.pid()),
        4,
        "the main thread and three workers"
    );
    for _ in 0..10 {
        assert_eq!(server.get("/").status, 200);
    }
    assert_eq!(procfs::read_threads(server.pid()), 4);
}

/// The keep-alive trap: one worker, held by a client that got its answer and
/// keeps the connection open. It sends nothing more, but its worker is
/// blocked reading it, so a second client is served only once the holder's
/// idle timeout (0.5 s here) closes the first connection.
pub fn keep_alive_trap_a_kept_connection_holds_its_worker_until_idle_timeout(bin: &str) {
    let server = Server::start(bin, &["--workers", "1", "--idle-timeout", "0.5"]);
    let [mut holder] = server.kept_clients();
    let start = Instant::now();
    assert_eq!(server.get("/").status, 200);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "served after {waited:?}, before the holder's idle timeout"
    );
    holder.expect_closed();
}
