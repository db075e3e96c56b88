//! Async sockets: mio's non-blocking sockets, each with a reactor registration.
//!
//! Every operation follows one pattern ([`Io::poll`]): if the reactor says the
//! socket may be ready, make the system call; if it says `WouldBlock`, tell
//! the reactor so, leave the task's waker with it and return `Pending`. The
//! task is polled again after the next edge from epoll.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::task::{Context, Poll, ready};

use common::io::would_block;

use crate::reactor::{Direction, Registration};

/// Bytes read per `read` call, into the one buffer the thread shares.
const SCRATCH_LEN: usize = 64 * 1024;

thread_local! {
    /// The read buffer of every connection on this thread. One task runs at
    /// a time and hands what it read to its session before anything else
    /// runs, so one buffer serves them all. A buffer inside each connection's
    /// future would cost its size for every idle connection.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_LEN]);
}

/// A mio socket and its place in the reactor.
struct Io<S> {
    socket: S,
    registration: Registration,
}

impl<S: mio::event::Source + AsRawFd> Io<S> {
    fn new(mut socket: S) -> io::Result<Self> {
        let registration = Registration::new(&mut socket)?;
        Ok(Io {
            socket,
            registration,
        })
    }

    /// Tries `call` while the socket may be ready; `Pending` once it would block.
    fn poll<T>(
        &self,
        direction: Direction,
        cx: &Context<'_>,
        mut call: impl FnMut(&S) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        loop {
            ready!(self.registration.poll_ready(direction, cx));
            match call(&self.socket) {
                // Readiness was stale: wait for the next edge. The loop asks
                // the reactor again, which now keeps the waker and says Pending.
                Err(err) if would_block(&err) => self.registration.clear_ready(direction)?,
                result => return Poll::Ready(result),
            }
        }
    }
}

/// A listening socket whose `accept` is a future.
pub struct TcpListener {
    io: Io<mio::net::TcpListener>,
}

impl TcpListener {
    /// Takes over a bound, listening std socket (`common::listen::listen`).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = mio::net::TcpListener::from_std(listener);
        Ok(TcpListener {
            io: Io::new(listener)?,
        })
    }

    /// The next connection, non-blocking from the start; not registered
    /// with the reactor until [`TcpStream::from_std`], so that a client
    /// turned away costs no registration.
    pub async fn accept(&self) -> io::Result<(std::net::TcpStream, SocketAddr)> {
        poll_fn(|cx| {
            self.io.poll(Direction::Read, cx, |listener| {
                common::listen::accept_nonblocking(listener)
            })
        })
        .await
    }
}

/// A connected socket whose reads and writes are futures.
pub struct TcpStream {
    io: Io<mio::net::TcpStream>,
}

impl TcpStream {
    /// Takes over an accepted, non-blocking std socket and registers it.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<Self> {
        Ok(TcpStream {
            io: Io::new(mio::net::TcpStream::from_std(stream))?,
        })
    }

    /// Reads once and passes the bytes to `received` (not called at end of
    /// stream). Returns how many bytes were read; 0 means the peer closed.
    ///
    /// The bytes land in the thread's shared buffer, not in the caller's
    /// future: see [`SCRATCH`]. They are handed over in the same poll that
    /// reads them, so dropping this future when a deadline wins loses nothing.
    pub async fn read_with(&self, mut received: impl FnMut(&[u8])) -> io::Result<usize> {
        poll_fn(|cx| {
            let n = ready!(self.io.poll(Direction::Read, cx, |mut socket| {
                SCRATCH.with(|buf| socket.read(&mut buf.borrow_mut()))
            }))?;
            if 0 < n && n < SCRATCH_LEN {
                // A short read emptied the socket's receive queue. epoll is
                // edge-triggered: bytes that arrive later raise a new edge and
                // set readiness again. So skip the read that would only say
                // WouldBlock: one read per request instead of two.
                self.io.registration.clear_ready(Direction::Read)?;
            }
            if n > 0 {
                SCRATCH.with(|buf| received(&buf.borrow()[..n]));
            }
            Poll::Ready(Ok(n))
        })
        .await
    }

    /// Writes what the socket's send buffer takes of `bytes` (at least one
    /// byte), waiting for room if it has none; returns how many it took.
    pub async fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            self.io
                .poll(Direction::Write, cx, |mut socket| socket.write(bytes))
        })
        .await
    }

    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.socket.shutdown(how)
    }
}
