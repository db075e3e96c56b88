//! The listening socket: bind, announce, accept.

use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd};
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Config;

/// The accept queue asked of the kernel; Linux caps it at `net.core.somaxconn`
/// (4096 by default since 5.4). A short queue refuses or delays new clients
/// as soon as the server is busy for a moment, whatever its strategy.
pub const BACKLOG: i32 = 4096;

/// Binds and listens on `--host`/`--port`, or exits with one line saying why.
pub fn listen(config: &Config) -> TcpListener {
    let fail = |why: String| -> ! {
        eprintln!(
            "{}: cannot listen on {}:{}: {why}",
            config.name, config.host, config.port
        );
        process::exit(1);
    };
    let addrs: Vec<SocketAddr> = match (config.host.as_str(), config.port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(err) => fail(err.to_string()),
    };
    let listener = match TcpListener::bind(&addrs[..]) {
        Ok(listener) => listener,
        Err(err) => fail(err.to_string()),
    };
    // std listens with its own, smaller backlog; calling listen() again on a
    // listening socket only changes the backlog.
    // SAFETY: a valid listening socket; listen() has no memory effects.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        fail(io::Error::last_os_error().to_string());
    }
    listener
}

/// Prints the start-up line (`NAME: listening on http://ADDR (MODEL)`) and
/// flushes it, so that scripts and tests can read the real port.
pub fn announce(config: &Config, listener: &TcpListener, model: &str) {
    let addr = match listener.local_addr() {
        Ok(addr) => addr.to_string(),
        Err(_) => format!("{}:{}", config.host, config.port),
    };
    let mut out = io::stdout().lock();
    // If stdout is gone there is nobody to tell; the server still serves.
    let _ = writeln!(out, "{}: listening on http://{addr} ({model})", config.name);
    let _ = out.flush();
}

/// `accept(2)`, but a signal that interrupts it is reported as
/// `ErrorKind::Interrupted` instead of being retried, so a blocking accept
/// loop can notice SIGTERM. (std's `TcpListener::accept` retries EINTR.)
pub fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    // SAFETY: sockaddr_storage is plain data, large enough for any address.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the pointers are to live locals of the sizes given.
    let fd = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            (&raw mut storage).cast(),
            &mut len,
            libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: accept4 returned a new descriptor that nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
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

/// How long to stop accepting after `err`, or `None` if accepting can go on.
pub fn accept_pause(err: &io::Error) -> Option<Duration> {
    match err.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            Some(Duration::from_millis(10))
        }
        _ if err.kind() == io::ErrorKind::Interrupted => None,
        // ECONNABORTED, EPROTO, EPERM (firewall) and the like concern one client.
        _ => None,
    }
}

/// Logs a failed accept that pauses new connections, at most once a second,
/// however often it fails: running out of descriptors under load would
/// otherwise write a line per attempt.
pub fn complain_accept_failed(name: &str, err: &io::Error) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if LAST.swap(second, Ordering::Relaxed) != second {
        eprintln!("{name}: accept failed: {err} (pausing new connections)");
    }
}

/// `true` for the error a read or write returns when its socket timeout ran out.
pub fn timed_out(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// `true` when a signal interrupted a system call.
pub fn interrupted(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Interrupted
}

/// `true` when a non-blocking call found nothing to do yet.
pub fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

/// Raises this process's open-file soft limit to its hard limit and returns
/// the new soft limit. Each connection is a descriptor, so a server that
/// means to hold thousands of connections needs this before anything else;
/// the hard limit itself is the administrator's (see `ulimit -Hn`).
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit with a pointer to a live rlimit.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                return wanted.rlim_cur;
            }
        }
        limit.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_reports_the_peer_address() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_stream, peer) = accept(&listener).unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    }

    #[test]
    fn descriptor_exhaustion_pauses_accepting() {
        assert!(accept_pause(&io::Error::from_raw_os_error(libc::EMFILE)).is_some());
        assert!(accept_pause(&io::Error::from_raw_os_error(libc::ECONNABORTED)).is_none());
    }
}
