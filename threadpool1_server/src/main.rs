//! # threadpool1_server — the main thread accepts, a fixed pool of threads serves
//!
//! `--workers N` threads are started once, at start-up. The main thread
//! accepts each connection and hands it to the pool through a queue; the first
//! free worker takes it and serves it with the blocking loop until it closes.
//! The queue is bounded by `--queue`: when it is full, the main thread answers
//! `503 Service Unavailable` with `Retry-After: 1` itself and closes.
//!
//! **Good at:** a fixed cost. No thread is created per connection, memory and
//! the number of runnable threads are bounded by `N`, and a flood of clients
//! is told "come back later" at once instead of taking the server down.
//!
//! **Broken by:** the keep-alive trap. A worker belongs to one connection
//! until that connection closes, not for one request. `N` clients that keep
//! their connections open (browsers, `wrk`, any HTTP/1.1 client) hold all `N`
//! workers; everyone else waits in the queue, without a byte of answer, until
//! one of those connections closes or sits idle for `--idle-timeout` (10 s),
//! and once the queue is full they get 503. A client that never pauses is
//! never timed out, so the ones waiting behind it wait for good.

use common::cli::Spec;
use common::turn_away::turn_away;
use common::{blocking, limits, listen, signals};
use threadpool::ThreadPool;

/// Workers by default: more than the 100 connections of the benchmark's
/// keep-alive scenarios, so that they are all served; 1000 are not.
const WORKERS: usize = 128;
/// Connections waiting for a worker, by default, before the next gets 503:
/// enough to ride out a burst of new connections, few enough that a client
/// stuck behind kept-alive connections is told so at once.
const QUEUE: usize = 64;

fn main() {
    limits::raise_fd_limit();
    let (config, listener) = common::start(
        Spec::new(
            "threadpool1_server",
            "the main thread accepts, a fixed pool of threads serves",
        )
        .workers(WORKERS)
        .queue(QUEUE),
    );
    let workers = config.workers.expect("the spec declares --workers");
    let queue = config.queue.expect("the spec declares --queue");
    let pool = signals::with_stop_signals_blocked(|| {
        threadpool::Builder::new()
            .num_threads(workers)
            .thread_name("worker".to_string())
            .build()
    });
    listen::announce(
        &config,
        &listener,
        &format!("the main thread accepts, a pool serves; queue {queue}"),
    );

    while !signals::requested() {
        match listen::accept(&listener) {
            // Better a fast "come back later" than a wait with no end in sight.
            Ok((stream, _)) if queue_is_full(&pool, queue) => turn_away(stream),
            Ok((stream, peer)) => {
                let http = config.http;
                pool.execute(move || blocking::serve_connection(stream, peer, &http));
            }
            // EINTR lands here too; the loop condition then sees the signal.
            Err(err) => listen::accept_failed(config.name, &err),
        }
    }

    // Stop accepting: from here new clients are refused by the kernel.
    drop(listener);
    // Requests in flight get a moment to finish; see `signals::wait_while`.
    signals::wait_while(|| pool.active_count() + pool.queued_count() > 0);
}

/// `true` when every worker is busy and `capacity` accepted connections are
/// already waiting for one. Busy workers count as well as queued jobs because
/// of bursts: a hundred clients that connect at once are queued faster than
/// idle workers wake up to take them, and must not be turned away while
/// workers are free. Only the main thread adds to the queue, so it cannot
/// grow between this check and the `execute` that follows; it can only shrink.
fn queue_is_full(pool: &ThreadPool, capacity: usize) -> bool {
    pool.active_count() + pool.queued_count() >= pool.max_count() + capacity
}
