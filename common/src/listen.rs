//! The listening socket: bind, announce, accept, stop accepting.

use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd};
use std::process;
use std::thread;
use std::time::Duration;

use crate::io::would_block;
use crate::{Config, limits, log};

/// The accept queue asked of the kernel; Linux caps it at `net.core.somaxconn`
/// (4096 by default since 5.4). A short queue refuses or delays new clients
/// as soon as the server is busy for a moment, whatever its strategy.
pub const BACKLOG: i32 = 4096;

/// Binds and listens on `--host`/`--port`, or exits with status 1 and one
/// line saying why (the port is in use, the address is not this machine's).
pub fn listen(config: &Config) -> TcpListener {
    let addrs: Vec<SocketAddr> = match (config.host.as_str(), config.port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(err) => cannot_listen(config, &err.to_string()),
    };
    let listener = match TcpListener::bind(&addrs[..]) {
        Ok(listener) => listener,
        Err(err) => cannot_listen(config, &err.to_string()),
    };
    // std listens with its own, smaller backlog; calling listen() again on a
    // listening socket only changes the backlog.
    // SAFETY: a valid listening socket; listen() has no memory effects.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        cannot_listen(config, &io::Error::last_os_error().to_string());
    }
    listener
}

/// `count` listening sockets on the same `--host`/`--port`, each with
/// `SO_REUSEPORT`, for a server that gives each thread a socket of its own:
/// the kernel then hands each new connection to one of them, chosen by a hash
/// of the client's address and port. With `--port 0` the first socket gets a
/// free port and the others join it there. Exits like [`listen`].
pub fn listen_shared(config: &Config, count: usize) -> Vec<TcpListener> {
    let first = bind_shared(config, resolve(config));
    let addr = match local_addr(&first) {
        Ok(addr) => addr,
        Err(err) => cannot_listen(config, &err.to_string()),
    };
    let mut listeners = vec![first];
    while listeners.len() < count {
        listeners.push(bind_shared(config, addr));
    }
    listeners
}

fn cannot_listen(config: &Config, why: &str) -> ! {
    log::line(format_args!(
        "{}: cannot listen on {}:{}: {why}",
        config.name, config.host, config.port
    ));
    process::exit(1);
}

/// The first address `--host`/`--port` resolves to.
fn resolve(config: &Config) -> SocketAddr {
    match (config.host.as_str(), config.port).to_socket_addrs() {
        Ok(mut addrs) => match addrs.next() {
            Some(addr) => addr,
            None => cannot_listen(config, "the host has no address"),
        },
        Err(err) => cannot_listen(config, &err.to_string()),
    }
}

/// socket, SO_REUSEADDR (as std sets it) and SO_REUSEPORT, bind, listen
/// with [`BACKLOG`]: std's `TcpListener::bind` cannot set an option between
/// creating the socket and binding it, which SO_REUSEPORT needs.
fn bind_shared(config: &Config, addr: SocketAddr) -> TcpListener {
    let fail = |call: &str| -> ! {
        cannot_listen(config, &format!("{call}: {}", io::Error::last_os_error()))
    };
    let (storage, len) = std_to_sockaddr(addr);
    let family = i32::from(storage.ss_family);
    // SAFETY: socket(2) has no memory effects; the descriptor is owned by
    // the TcpListener made from it at once, which closes it on every path.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        fail("socket");
    }
    // SAFETY: a new socket that nothing else owns.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    for option in [libc::SO_REUSEADDR, libc::SO_REUSEPORT] {
        // SAFETY: the option value is a live c_int of the size given.
        let set = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&raw const one).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set != 0 {
            fail("setsockopt");
        }
    }
    // SAFETY: storage holds a sockaddr of `len` bytes for this family.
    if unsafe { libc::bind(fd, (&raw const storage).cast(), len) } != 0 {
        fail("bind");
    }
    // SAFETY: a bound socket; listen() has no memory effects.
    if unsafe { libc::listen(fd, BACKLOG) } != 0 {
        fail("listen");
    }
    listener
}

fn std_to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large enough and aligned for any sockaddr.
            let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_flowinfo = v6.flowinfo();
            sin6.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Prints the start-up line and flushes it, so that scripts and tests can
/// read the real port: `NAME: listening on http://ADDR (MODEL; open-file
/// limit N)`. Each connection is a descriptor, so the limit says how many a
/// server can hold at all.
pub fn announce(config: &Config, listener: &impl AsRawFd, model: &str) {
    let addr = local_addr(listener).map_or_else(
        |_| format!("{}:{}", config.host, config.port),
        |addr| addr.to_string(),
    );
    let files = limits::open_files().map_or(0, |files| files.soft);
    // The pool's size in one form for every server that has one, so that a
    // harness can record it beside what it measured.
    let workers = config
        .workers
        .map_or(String::new(), |n| format!("; workers {n}"));
    let mut out = io::stdout().lock();
    // If stdout is gone there is nobody to tell; the server still serves.
    let _ = writeln!(
        out,
        "{}: listening on http://{addr} ({model}{workers}; open-file limit {files})",
        config.name
    );
    let _ = out.flush();
}

/// A blocking `accept(2)`. A signal that interrupts it is reported as
/// `ErrorKind::Interrupted` instead of being retried (std's
/// `TcpListener::accept` retries EINTR), so that a blocking accept loop can
/// notice SIGTERM.
pub fn accept(listener: &impl AsRawFd) -> io::Result<(TcpStream, SocketAddr)> {
    accept_with(listener, libc::SOCK_CLOEXEC)
}

/// `accept(2)` on a non-blocking listener, for the event loops: the new
/// socket is non-blocking from the start, with no extra system call.
pub fn accept_nonblocking(listener: &impl AsRawFd) -> io::Result<(TcpStream, SocketAddr)> {
    accept_with(listener, libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
}

fn accept_with(listener: &impl AsRawFd, flags: libc::c_int) -> io::Result<(TcpStream, SocketAddr)> {
    // SAFETY: sockaddr_storage is plain data, large enough for any address.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the pointers are to live locals of the sizes given.
    let fd = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            (&raw mut storage).cast(),
            &mut len,
            flags,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: accept4 returned a new descriptor that nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    // Every response is written whole, so Nagle's algorithm could only
    // delay it (waiting for an ACK before sending a second small segment).
    let _ = stream.set_nodelay(true);
    // The address came with accept4; asking again (getpeername) would cost a system call.
    let peer = sockaddr_to_std(&storage)?;
    Ok((stream, peer))
}

fn sockaddr_to_std(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says this storage holds a sockaddr_in.
            let sin: &libc::sockaddr_in =
                unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            Ok(SocketAddr::from((
                u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: ss_family says this storage holds a sockaddr_in6.
            let sin6: &libc::sockaddr_in6 =
                unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            Ok(SocketAddr::from((
                sin6.sin6_addr.s6_addr,
                u16::from_be(sin6.sin6_port),
            )))
        }
        _ => Err(io::Error::other("unknown address family")),
    }
}

/// The address a listening socket is bound to (the real port after `--port 0`).
fn local_addr(listener: &impl AsRawFd) -> io::Result<SocketAddr> {
    // SAFETY: as in accept_with: plain data and pointers to live locals.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above.
    if unsafe { libc::getsockname(listener.as_raw_fd(), (&raw mut storage).cast(), &mut len) } != 0
    {
        return Err(io::Error::last_os_error());
    }
    sockaddr_to_std(&storage)
}

/// Stops accepting on a listener that several threads share and block in
/// `accept` on: it cannot simply be dropped while they hold it. On Linux,
/// shutting down its reading side closes the port and makes every blocked
/// and future `accept` fail at once.
pub fn stop_accepting(listener: &impl AsRawFd) {
    // SAFETY: shutdown(2) on a descriptor that stays open; no memory involved.
    unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RD) };
}

/// What a blocking accept loop does after `accept` failed: nothing for a
/// signal or a client that gave up while queued; for running out of
/// descriptors or memory, a log line (at most one a second) and a 10 ms pause,
/// because retrying at once would fail again at once and spin the CPU.
pub fn accept_failed(name: &str, err: &io::Error) {
    if let Some(pause) = accept_pause(err) {
        complain_accept_failed(name, err);
        thread::sleep(pause);
    }
}

/// What a non-blocking listener has for an event loop.
pub enum Waiting {
    /// A new connection, non-blocking, with `TCP_NODELAY` set.
    Client(TcpStream, SocketAddr),
    /// Nobody is waiting to connect.
    Nobody,
    /// The process is out of descriptors or memory: accepting again at once
    /// would fail again at once and spin the CPU, so stop for this long.
    /// (It is logged, at most once a second.)
    Pause(Duration),
}

/// The next connection waiting on a non-blocking listener, for the event
/// loops. Failures that concern one client (it gave up while queued) and
/// signals are passed over.
pub fn next_waiting(listener: &impl AsRawFd, name: &str) -> Waiting {
    loop {
        match accept_nonblocking(listener) {
            Ok((stream, peer)) => return Waiting::Client(stream, peer),
            Err(err) if would_block(&err) => return Waiting::Nobody,
            Err(err) => {
                if let Some(pause) = accept_pause(&err) {
                    complain_accept_failed(name, &err);
                    return Waiting::Pause(pause);
                }
            }
        }
    }
}

/// How long to stop accepting after `err`, or `None` if accepting can go on.
pub fn accept_pause(err: &io::Error) -> Option<Duration> {
    match err.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            Some(Duration::from_millis(10))
        }
        // EINTR, and ECONNABORTED, EPROTO, EPERM (firewall) and the like,
        // which concern one client.
        _ => None,
    }
}

/// Logs a failed accept that pauses new connections, at most once a second
/// however often it fails: running out of descriptors under load would
/// otherwise write a line per attempt.
pub fn complain_accept_failed(name: &str, err: &io::Error) {
    static THROTTLE: log::Throttle = log::Throttle::new();
    if THROTTLE.allow() {
        log::line(format_args!(
            "{name}: accept failed: {err} (pausing new connections)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_reports_the_peer_address_and_sets_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = accept(&listener).unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(stream.nodelay().unwrap());
        assert_eq!(
            local_addr(&listener).unwrap(),
            listener.local_addr().unwrap()
        );
    }

    #[test]
    fn shared_listeners_share_one_port() {
        let config = Config {
            name: "test",
            host: "127.0.0.1".into(),
            port: 0,
            workers: None,
            queue: None,
            max_connections: None,
            http: crate::HttpConfig::default(),
        };
        let listeners = listen_shared(&config, 3);
        let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        assert_ne!(addrs[0].port(), 0);
        assert!(addrs.iter().all(|addr| *addr == addrs[0]), "{addrs:?}");
        TcpStream::connect(addrs[0]).unwrap();
    }

    #[test]
    fn descriptor_exhaustion_pauses_accepting() {
        assert!(accept_pause(&io::Error::from_raw_os_error(libc::EMFILE)).is_some());
        assert!(accept_pause(&io::Error::from_raw_os_error(libc::ECONNABORTED)).is_none());
    }
}
