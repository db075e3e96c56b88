//! # cgi_threading_server — a new thread per connection
//!
//! The main thread accepts; every connection gets a thread of its own, created
//! for it and ended when it closes. The thread serves the connection with the
//! same blocking loop as the iterative server, so a slow client or a `/sleep`
//! blocks only its own thread.
//!
//! **Good at:** concurrency with plain blocking code. A thread is far cheaper
//! to start than a process (no address space to copy) and shares the server's
//! memory, and there is no limit to tune: the server holds as many clients as
//! it is sent.
//!
//! **Broken by:** that same lack of a limit. Growth is unbounded: 10,000 idle
//! keep-alive clients are 10,000 threads, each with its own stack and kernel
//! task, and all are scheduled by the kernel. Each thread reserves a
//! [`STACK_SIZE`] (128 KiB) stack here, instead of std's default 2 MiB, of which
//! it touches only the pages it uses. Past the system's limits (`ulimit -u`,
//! `/proc/sys/kernel/threads-max`, memory) the thread cannot be created; that
//! client gets `503` and the server goes on.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::sync::Arc;
use std::thread;

use common::cli::Spec;
use common::{Config, HttpConfig, blocking, net, shutdown, workers};

/// The stack of each connection's thread. The blocking loop keeps a 16 KiB
/// read buffer and the parser's table of 64 fields on it; 128 KiB leaves room
/// for the rest even in an unoptimised (debug) build. Only the pages a thread
/// touches cost memory; the rest is address space.
const STACK_SIZE: usize = 128 * 1024;

fn main() {
    let config = Config::from_args(Spec::new(
        "cgi_threading_server",
        "a new thread per connection",
    ));
    // Every connection is a descriptor; this server holds as many as come.
    net::raise_fd_limit();
    let listener = net::listen(&config);
    shutdown::install();
    net::announce(&config, &listener, "a new thread per connection");

    // Each connection thread owns a clone of this, so the count of clones
    // beyond the first is the count of connections still being served.
    let live = Arc::new(());
    while !shutdown::requested() {
        match net::accept(&listener) {
            Ok((stream, peer)) => {
                let started = workers::with_stop_signals_blocked(|| {
                    start_thread(stream, peer, config.http, &live)
                });
                // Out of threads or memory: this client is turned away, and
                // the next one may find room again.
                if let Err(stream) = started {
                    workers::turn_away(stream);
                }
            }
            // EINTR lands here too; the loop condition then sees the signal.
            Err(err) => net::accept_failed(config.name, &err),
        }
    }

    // Stop accepting: from here new clients are refused by the kernel.
    drop(listener);
    // Requests in flight get a moment to finish; see `workers::wait_while`.
    workers::wait_while(|| Arc::strong_count(&live) > 1);
}

/// Starts a thread that serves `stream` to its end, or gives `stream` back if
/// no thread could be created.
fn start_thread(
    stream: TcpStream,
    peer: SocketAddr,
    http: HttpConfig,
    live: &Arc<()>,
) -> Result<(), TcpStream> {
    // The thread receives the socket as a bare descriptor: if the thread
    // cannot be created, std drops the closure, and a `TcpStream` inside it
    // would be closed before the client got its 503.
    let fd = stream.into_raw_fd();
    let live = Arc::clone(live);
    let started = thread::Builder::new()
        .name(peer.to_string())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            // SAFETY: the acceptor gave up `fd` to this thread alone.
            let stream = unsafe { TcpStream::from_raw_fd(fd) };
            blocking::serve_connection(stream, peer, &http, thread::sleep);
            // Out of the count of live connections (a panic would drop it too).
            drop(live);
        });
    match started {
        Ok(_) => Ok(()),
        // SAFETY: no thread was created, so the closure never ran and `fd`
        // is still open and still ours.
        Err(_) => Err(unsafe { TcpStream::from_raw_fd(fd) }),
    }
}
