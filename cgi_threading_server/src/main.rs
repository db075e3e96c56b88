//! # cgi_threading_server — a new thread per connection
//!
//! The main thread accepts; every connection gets a thread of its own, created
//! for it and ended when it closes. The thread serves the connection with the
//! same blocking loop as the iterative server, so a slow client or a `/sleep`
//! blocks only its own thread.
//!
//! **Good at:** concurrency with plain blocking code. A thread is far cheaper
//! to start than a process (no address space to copy) and shares the server's
//! memory, and there is no pool to size: the server holds as many clients as
//! it is sent, up to the system's limits.
//!
//! **Broken by:** growth that only the system stops. 10,000 idle keep-alive
//! clients are 10,000 threads, each with its own stack and kernel task, all
//! scheduled by the kernel. Each thread reserves a [`STACK_SIZE`] (128 KiB)
//! stack here, instead of std's default 2 MiB, of which it touches only the
//! pages it uses, and maps four regions of memory; past `vm.max_map_count` a
//! new thread cannot map its stack and the whole process aborts. So the
//! server caps its threads below the system's limits (`--max-connections`,
//! by default derived from `vm.max_map_count`, `kernel.pid_max`, `ulimit -u`
//! and the open-file limit); past the cap, or if a thread cannot be created
//! anyway, the client gets `503` and the server goes on.

use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use common::cli::Spec;
use common::turn_away::turn_away;
use common::{HttpConfig, blocking, limits, listen, signals};

/// The stack of each connection's thread. The blocking loop keeps a 16 KiB
/// read buffer and the parser's table of 64 fields on it; 128 KiB leaves room
/// for the rest even in an unoptimised (debug) build. Only the pages a thread
/// touches cost memory; the rest is address space.
const STACK_SIZE: usize = 128 * 1024;

fn main() {
    // Every connection is a descriptor, so the open-file limit goes up first:
    // it is one of the limits the cap comes from.
    limits::raise_fd_limit();
    let cap = limits::thread_cap();
    let (config, listener) = common::start(
        Spec::new("cgi_threading_server", "a new thread per connection")
            .max_connections(cap.connections),
    );
    let cap = cap.or_flag(config.max_connections);
    let model = format!(
        "a new thread per connection, at most {} at once: {}",
        cap.connections, cap.reason
    );
    listen::announce(&config, &listener, &model);

    // Each connection thread owns a clone of this, so the count of clones
    // beyond the first is the count of connections still being served.
    let live = Arc::new(());
    while !signals::requested() {
        match listen::accept(&listener) {
            // Past the cap, a new thread could be the one that cannot map its
            // stack, and that aborts the whole process: turn the client away.
            Ok((stream, _)) if Arc::strong_count(&live) > cap.connections => turn_away(stream),
            Ok((stream, peer)) => {
                let started = signals::with_stop_signals_blocked(|| {
                    start_thread(stream, peer, config.http, &live)
                });
                // Out of threads or memory: this client is turned away, and
                // the next one may find room again.
                if let Err(stream) = started {
                    turn_away(stream);
                }
            }
            // EINTR lands here too; the loop condition then sees the signal.
            Err(err) => listen::accept_failed(config.name, &err),
        }
    }

    // Stop accepting: from here new clients are refused by the kernel.
    drop(listener);
    // Requests in flight get a moment to finish; see `signals::wait_while`.
    signals::wait_while(|| Arc::strong_count(&live) > 1);
}

/// Starts a thread that serves `stream` to its end, or gives `stream` back if
/// no thread could be created.
fn start_thread(
    stream: TcpStream,
    peer: SocketAddr,
    http: HttpConfig,
    live: &Arc<()>,
) -> Result<(), TcpStream> {
    // The socket waits in a slot that the new thread empties. If the thread
    // cannot be created, std drops the closure, and a socket moved into it
    // would be closed before the client got its 503; from the slot, the
    // acceptor takes it back.
    let slot = Arc::new(Mutex::new(Some(stream)));
    let handed_over = Arc::clone(&slot);
    let live = Arc::clone(live);
    let started = thread::Builder::new()
        .name(peer.to_string())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let stream = take(&handed_over);
            if let Some(stream) = stream {
                blocking::serve_connection(stream, peer, &http);
            }
            // Out of the count of live connections (a panic would drop it too).
            drop(live);
        });
    match started {
        Ok(_) => Ok(()),
        // No thread was created, so the closure never ran: the socket is still there.
        Err(_) => take(&slot).map_or(Ok(()), Err),
    }
}

fn take(slot: &Mutex<Option<TcpStream>>) -> Option<TcpStream> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}
