//! # threadpool2_server — a fixed pool of threads, each calling accept itself
//!
//! `--workers N` threads are started once, at start-up, and share the
//! listening socket. Each one blocks in `accept`, serves the connection it got
//! with the blocking loop until it closes, and goes back to `accept`. There is
//! no hand-off: the kernel gives each new connection to one of the threads
//! waiting in `accept`, and its accept queue is the only queue. The main
//! thread serves nobody; it waits for SIGINT/SIGTERM.
//!
//! **Good at:** the least work per connection of the thread strategies: no
//! thread to create, no queue or lock of our own between accepting and
//! serving, and the thread that accepted a socket is the one that reads it.
//!
//! **Broken by:** the keep-alive trap, as with every fixed pool. A worker
//! belongs to one connection until that connection closes, not for one
//! request. `N` clients that keep their connections open hold all `N`
//! workers; the kernel has completed the handshake of everyone else, so they
//! send their requests and wait, without a byte of answer and without being
//! told why, until one of those connections closes or sits idle for
//! `--idle-timeout` (10 s). A client that never pauses is never timed out.

use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

use common::cli::Spec;
use common::{Config, blocking, limits, listen, log, signals};

/// Workers by default: more than the 100 connections of the benchmark's
/// keep-alive scenarios, so that they are all served; 1000 are not.
const WORKERS: usize = 128;

fn main() {
    limits::raise_fd_limit();
    let (config, listener) = common::start(
        Spec::new(
            "threadpool2_server",
            "a fixed pool of threads, each calling accept itself",
        )
        .workers(WORKERS),
    );
    let workers = config.workers.expect("the spec declares --workers");
    let listener = Arc::new(listener);
    let pool = signals::with_stop_signals_blocked(|| {
        (0..workers)
            .map(|i| {
                let (listener, config) = (Arc::clone(&listener), config.clone());
                thread::Builder::new()
                    .name(format!("worker {i}"))
                    .spawn(move || worker(&listener, &config))
            })
            .collect::<Result<Vec<_>, _>>()
    });
    let pool = match pool {
        Ok(pool) => pool,
        Err(err) => {
            log::line(format_args!(
                "{}: cannot start {workers} workers: {err}",
                config.name
            ));
            std::process::exit(1);
        }
    };
    listen::announce(
        &config,
        &*listener,
        "a pool of threads, each calling accept",
    );

    // The main thread serves nobody: the workers block SIGINT and SIGTERM,
    // so the signals come here.
    signals::wait_for_stop_signal();
    // The workers share the listener, so it cannot simply be dropped.
    listen::stop_accepting(&*listener);
    // Requests in flight get a moment to finish; see `signals::wait_while`.
    signals::wait_while(|| pool.iter().any(|worker| !worker.is_finished()));
}

/// One worker's whole life: accept a connection, serve it to its end, repeat.
fn worker(listener: &TcpListener, config: &Config) {
    while !signals::requested() {
        match listen::accept(listener) {
            // While this thread serves, it is not in `accept`: a pool of N
            // serves N connections at a time, and the rest wait in the kernel.
            Ok((stream, peer)) => blocking::serve_connection(stream, peer, &config.http),
            // Once `stop_accepting` has run, every accept fails at once and
            // the loop condition ends the loop.
            Err(err) => listen::accept_failed(config.name, &err),
        }
    }
}
