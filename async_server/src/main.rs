//! # async_server — async/await on an executor and reactor written here, over mio
//!
//! One thread serves every connection, as in `multiplexingio_server`, but
//! each connection is written as straight-line code, [`handle`]: read,
//! answer, sleep, repeat. The compiler turns that `async fn` into a state
//! machine (a future); the executor (`executor.rs`) polls futures that can
//! make progress, and the reactor (`reactor.rs`) sleeps in `epoll_wait` until
//! a socket is ready or a timer is due, then wakes the futures waiting for it.
//! `net.rs` and `time.rs` are the futures a connection awaits.
//!
//! **Good at:** many connections that mostly wait. An idle connection is a
//! few hundred bytes of future, not a thread stack; `/sleep` is a timer, not a
//! blocked thread; a keep-alive request costs one `read` and one `write`.
//!
//! **Broken by:** anything that does not `.await`. `/cpu` computes on the one
//! thread, and while it does every other connection waits; a blocking call
//! hidden in a handler would stop the whole server the same way. And it uses
//! one core: more would need one such loop per core (as nginx does).

mod executor;
mod net;
mod reactor;
mod time;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::process;
use std::sync::Arc;

use common::cli::Spec;
use common::turn_away::turn_away;
use common::{Action, HttpConfig, Session, limits, listen, log};

use crate::net::{TcpListener, TcpStream};
use crate::time::Timer;

fn main() {
    // Every connection is a descriptor; the default soft limit (often 1024)
    // would cap this server long before its CPU does.
    limits::raise_fd_limit();
    let cap = limits::descriptor_cap();
    let (config, listener) = common::start(
        Spec::new(
            "async_server",
            "async/await on an executor and reactor written here, over mio",
        )
        .max_connections(cap.connections),
    );
    let cap = cap.or_flag(config.max_connections);
    let model = format!(
        "async/await on one thread, at most {} connections: {}",
        cap.connections, cap.reason
    );
    listen::announce(&config, &listener, &model);
    // Returns when a stop signal arrives (`Ok(None)`; pending connections
    // are dropped), or when the event loop cannot go on.
    match executor::block_on(serve(listener, config.http, cap.connections)) {
        Ok(None) => {}
        Ok(Some(Err(err))) | Err(err) => {
            log::line(format_args!("{}: event loop failed: {err}", config.name));
            process::exit(1);
        }
        Ok(Some(Ok(()))) => unreachable!("serve returns only on an error"),
    }
}

/// Accepts connections forever, each one a new task. Returns only if the
/// listener cannot be registered with the reactor.
async fn serve(
    listener: std::net::TcpListener,
    http: HttpConfig,
    max_connections: usize,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    // Each connection's task owns a clone of this, so the count of clones
    // beyond the first is the count of connections being served.
    let live = Arc::new(());
    loop {
        match listener.accept().await {
            // Past the cap, while there are still descriptors to accept
            // with, a client hears 503 instead of waiting in the kernel's queue.
            Ok((stream, _)) if Arc::strong_count(&live) > max_connections => turn_away(stream),
            Ok((stream, peer)) => executor::spawn(handle(stream, peer, http, Arc::clone(&live))),
            Err(err) => {
                // Out of descriptors or memory: accepting again at once would
                // fail again at once and spin, so pause new connections with
                // a timer, while the ones we have go on being served.
                if let Some(pause) = listen::accept_pause(&err) {
                    listen::complain_accept_failed("async_server", &err);
                    time::sleep(pause).await;
                }
                // Anything else concerns one client that gave up: carry on.
            }
        }
    }
}

/// One connection, from accept to close: the same protocol as
/// `common::blocking::serve_connection`, with `.await` where that one blocks.
async fn handle(stream: std::net::TcpStream, peer: SocketAddr, http: HttpConfig, _live: Arc<()>) {
    // epoll is out of memory: this client is dropped, the rest go on.
    let Ok(stream) = TcpStream::from_std(stream) else {
        return;
    };
    let mut session = Session::new(http, peer, time::now());
    // One timer for every read and write deadline of this connection.
    let mut timer = Timer::new();
    loop {
        // The clock as the executor read it when it began this poll: one
        // reading per wake-up, not one per step (see `time::now`).
        match session.next(time::now()) {
            Action::Read { deadline } => {
                let read = stream.read_with(|bytes| session.received(bytes, time::now()));
                match timer.within(deadline, read).await {
                    Some(Ok(0)) => session.peer_closed(),
                    Some(Ok(_)) => {}
                    // The deadline passed: next() decides between 408 and closing.
                    None => {}
                    // Reset by the peer.
                    Some(Err(_)) => return,
                }
            }
            Action::Write { deadline } => {
                match timer.within(deadline, stream.write(session.output())).await {
                    Some(Ok(0)) => return,
                    Some(Ok(n)) => session.written(n),
                    // The client has read nothing by the deadline: next()
                    // gives up on it.
                    None => {}
                    // The peer is gone.
                    Some(Err(_)) => return,
                }
            }
            // Where a blocking server's thread would sleep, only this task
            // waits; the thread goes on serving everyone else.
            Action::Sleep { until } => time::sleep_until(until).await,
            // One client must not keep the only thread: every other task
            // that is ready runs before this one goes on.
            Action::Yield => executor::yield_now().await,
            Action::HalfClose => {
                let _ = stream.shutdown(Shutdown::Write);
            }
            Action::Close => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an idle connection costs the server, besides its session's
    /// buffers and the kernel's socket: the `handle` future, boxed in its task.
    #[test]
    fn a_connection_future_is_small() {
        let size = executor::block_on(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let listener = TcpListener::from_std(std_listener).unwrap();
            let _client = std::net::TcpStream::connect(addr).unwrap();
            let (stream, peer) = listener.accept().await.unwrap();
            let live = Arc::new(());
            std::mem::size_of_val(&handle(stream, peer, HttpConfig::default(), live))
        })
        .unwrap()
        .unwrap();
        eprintln!("size_of_val(handle future) = {size} bytes");
        assert!(size < 1024, "{size} bytes");
    }
}
