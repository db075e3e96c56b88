//! # simple_server — iterative: one connection at a time
//!
//! The main thread accepts a connection, serves it to the end, closes it, and
//! only then accepts the next. There is no concurrency at all, which makes it
//! the baseline every other strategy is measured against.
//!
//! **Good at:** nothing waits on anything else inside the server, so one fast
//! client is served with no overhead; the code has no locks, no threads, no
//! state shared between connections.
//!
//! **Broken by:** anything slow. While one client waits on `/sleep`, sends its
//! request slowly, or simply keeps its connection open, every other client
//! waits in the kernel's accept queue. That is also why every response here
//! says `Connection: close`: honouring keep-alive would let one idle client
//! lock out all the others for the whole idle timeout.

use common::cli::Spec;
use common::{blocking, listen, signals};

fn main() {
    let (config, listener) = common::start(Spec::new(
        "simple_server",
        "iterative: one connection at a time",
    ));
    let mut http = config.http;
    http.persistent = false;
    listen::announce(&config, &listener, "iterative, one connection at a time");

    while !signals::requested() {
        match listen::accept(&listener) {
            // The whole strategy is this line: serve, and only then accept again.
            // A delayed response blocks the only thread there is.
            Ok((stream, peer)) => blocking::serve_connection(stream, peer, &http),
            // EINTR lands here too; the loop condition then sees the signal.
            Err(err) => listen::accept_failed(config.name, &err),
        }
    }
}
