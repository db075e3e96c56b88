//! # percore_server — one event loop per core, each with its own listening socket
//!
//! `--workers N` threads (by default one per CPU), each running the event
//! loop of `multiplexingio_server`, unchanged: its own `epoll` instance, its
//! own connections, its own timers. Nothing is shared between the loops, not
//! even the listening socket: each has its own, bound to the same port with
//! `SO_REUSEPORT`, and the kernel picks the socket, hence the loop, for each
//! new connection by a hash of the client's address and port.
//!
//! **Good at:** what one loop does well, on every core: many connections
//! cheaply, and now CPU-bound work on all the cores instead of one. There are
//! no locks, no queue between threads and no thundering herd: a new
//! connection wakes the one loop whose socket it landed on.
//!
//! **Broken by:** what breaks one loop, within each loop: a `/cpu` request
//! still stalls every connection of its loop. And the kernel's choice is a
//! hash, not a measure of load: a loop that drew the slow or busy clients
//! keeps them while another idles, and a connection never moves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::cli::Spec;
use common::{limits, listen, log, signals};
use multiplexingio_server::Server;

fn main() {
    limits::raise_fd_limit();
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let cap = limits::descriptor_cap();
    let spec = Spec::new(
        "percore_server",
        "one event loop per core, each on its own SO_REUSEPORT listener",
    )
    .workers(cores)
    .max_connections(cap.connections);
    let config = common::Config::from_args(spec);
    let workers = config.workers.expect("the spec declares --workers");
    // One socket per loop, all on one port: the kernel spreads the clients.
    let listeners = listen::listen_shared(&config, workers);
    signals::install();
    let cap = cap.or_flag(config.max_connections);
    // The descriptors are the process's, shared by the loops: each takes its part.
    let per_loop = cap.connections.div_ceil(workers);
    let model = format!(
        "{workers} event loops, one per listening socket (SO_REUSEPORT), at most {per_loop} connections each: {}",
        cap.reason
    );
    let first = listeners[0].try_clone();
    let mut loops = Vec::with_capacity(workers);
    for (i, listener) in listeners.into_iter().enumerate() {
        let loop_config = config.clone();
        let spawned = thread::Builder::new()
            .name(format!("loop {i}"))
            .spawn(move || {
                let config = loop_config;
                let result =
                    Server::new(listener, &config, per_loop).and_then(|mut server| server.run());
                // The first loop to fail says why and ends the process; one
                // line, even if another fails at the same moment.
                static FAILED: AtomicBool = AtomicBool::new(false);
                if let Err(err) = result {
                    if !FAILED.swap(true, Ordering::SeqCst) {
                        log::line(format_args!(
                            "{}: event loop {i} failed: {err}",
                            config.name
                        ));
                        std::process::exit(1);
                    }
                }
            });
        match spawned {
            Ok(handle) => loops.push(handle),
            Err(err) => {
                log::line(format_args!(
                    "{}: cannot start loop {i}: {err}",
                    config.name
                ));
                std::process::exit(1);
            }
        }
    }
    // Every loop is running: ready to serve.
    if let Ok(first) = first {
        listen::announce(&config, &first, &model);
    }
    // Each loop returns when a stop signal arrives.
    for handle in loops {
        let _ = handle.join();
    }
}
