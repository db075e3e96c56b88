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

use std::fmt;
use std::os::fd::AsRawFd;
use std::process;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::cli::Spec;
use common::{Config, limits, listen, log, signals};
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
    let config = Config::from_args(spec);
    let workers = config.workers.expect("the spec declares --workers");
    // One socket per loop, all on one port: the kernel spreads the clients.
    let listeners = listen::listen_shared(&config, workers);
    signals::install();
    let cap = cap.or_flag(config.max_connections);
    // The descriptors are the process's, shared by the loops: each takes its part.
    let per_loop = cap.connections.div_ceil(workers);
    let model = format!(
        "one event loop per listening socket (SO_REUSEPORT), at most {per_loop} connections each: {}",
        cap.reason
    );
    // For the start-up line: the loops own the sockets from here on, and
    // loop 0 keeps this one open for as long as the server runs.
    let first_listener = listeners[0].as_raw_fd();
    // Each loop's epoll set is made here, so that a failure is a failure to
    // start: one line and status 1, before any loop serves anyone.
    let mut servers = Vec::with_capacity(workers);
    for listener in listeners {
        match Server::new(listener, &config, per_loop) {
            Ok(server) => servers.push(server),
            Err(err) => fail(&config, format_args!("cannot start an event loop: {err}")),
        }
    }
    let mut loops = Vec::with_capacity(workers);
    for (i, mut server) in servers.into_iter().enumerate() {
        let name = config.name;
        let spawned = thread::Builder::new()
            .name(format!("loop {i}"))
            .spawn(move || {
                // Returns when a stop signal arrives, or if epoll fails.
                if let Err(err) = server.run() {
                    fail_once(name, format_args!("event loop {i} failed: {err}"));
                }
            });
        match spawned {
            Ok(handle) => loops.push(handle),
            Err(err) => fail(&config, format_args!("cannot start loop {i}: {err}")),
        }
    }
    listen::announce(&config, &first_listener, &model);
    for handle in loops {
        let _ = handle.join();
    }
}

fn fail(config: &Config, why: fmt::Arguments) -> ! {
    log::line(format_args!("{}: {why}", config.name));
    process::exit(1);
}

/// The first loop to fail says why and ends the process; one line, even if
/// another fails at the same moment (the others wait for the exit).
fn fail_once(name: &str, why: fmt::Arguments) {
    static FAILED: AtomicBool = AtomicBool::new(false);
    if !FAILED.swap(true, Ordering::SeqCst) {
        log::line(format_args!("{name}: {why}"));
        process::exit(1);
    }
}
