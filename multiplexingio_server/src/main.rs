//! # multiplexingio_server — one thread, a readiness event loop on mio (epoll)
//!
//! One thread owns every connection, as in `noblocking_server`, but instead
//! of trying every socket in turn it asks the kernel which ones are ready.
//! `Poll::poll` (`epoll_wait` on Linux) sleeps until some socket can be read
//! or written, or until the nearest deadline, and returns only those sockets.
//! Each connection has a token (its slot number), a `Connection` holding its
//! socket, its `Session` and what epoll last said about it, and is driven
//! until it would block or has had its turn. Timeouts and `/sleep` are
//! entries in a timer heap whose nearest deadline becomes the `poll` timeout.
//! The loop is in `event_loop.rs`, built as this crate's library so that
//! `percore_server` runs the very same loop, one per core.
//!
//! **Good at:** very many connections, most of them idle, on one thread: an
//! idle connection costs a slot and a kernel socket, and an idle server costs
//! no CPU at all. A keep-alive request costs about one `read` and one
//! `write`. nginx, Redis, Node.js and the async runtimes all wait this way.
//!
//! **Broken by:** anything that does not return at once. The loop is the
//! only thread, so a handler that computes for long (`/cpu?n=…`) or any
//! blocking call stalls every connection; and the server uses one core.

use std::process;

use common::cli::Spec;
use common::{limits, listen, log};
use multiplexingio_server::Server;

fn main() {
    // Every connection is a descriptor; the default soft limit (often 1024)
    // would cap this server long before its CPU does.
    limits::raise_fd_limit();
    let cap = limits::descriptor_cap();
    let (config, listener) = common::start(
        Spec::new(
            "multiplexingio_server",
            "one thread, a readiness event loop on mio (epoll)",
        )
        .max_connections(cap.connections),
    );
    let cap = cap.or_flag(config.max_connections);
    let model = format!(
        "one thread, epoll event loop via mio, at most {} connections: {}",
        cap.connections, cap.reason
    );
    listen::announce(&config, &listener, &model);
    let result =
        Server::new(listener, &config, cap.connections).and_then(|mut server| server.run());
    if let Err(err) = result {
        log::line(format_args!("{}: event loop failed: {err}", config.name));
        process::exit(1);
    }
}
