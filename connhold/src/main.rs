//! # connhold — open many idle keep-alive connections and hold them
//!
//! `wrk` measures busy connections; real servers mostly hold idle ones. This
//! client opens `--connections N` persistent connections to a server at a
//! steady `--rate`, sends one `GET /` on each and checks the answer, then keeps
//! them all open and silent for `--hold` seconds, timing a fresh `GET /` every
//! second meanwhile (the probe). `bench capacity` (scripts/connections.sh)
//! samples the server's memory while it holds.
//!
//! One thread and one mio event loop drive every connection: the client is
//! itself the multiplexing model. Source addresses are spread over
//! 127.0.0.2, 127.0.0.3, … (`--sources`), so that one address's ephemeral
//! port range is never the limit. It raises its own open-file limit, and
//! aborts its connections with RST when it ends, so that nothing lingers in
//! TIME_WAIT for the next run. Its progress lines and its last line,
//! `connhold-result {JSON}`, are defined in the library (`src/lib.rs`).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream as StdStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::process;
use std::time::{Duration, Instant};

use clap::{Parser, value_parser};
use connhold::{Counts, ProbeMs, Report, kind, number_in};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: connhold\r\n\r\n";

/// Opens many idle keep-alive connections to a server, holds them, and
/// prints what it saw (the last line is `connhold-result {JSON}`).
#[derive(Parser)]
#[command(name = "connhold")]
struct Options {
    /// The server, as an IPv4 address and port
    #[arg(
        long = "addr",
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:8080"
    )]
    target: SocketAddrV4,
    /// Connections to open and hold
    #[arg(long, value_name = "N", default_value_t = 1000)]
    connections: usize,
    /// New connections per second
    #[arg(long, value_name = "PER_SEC", default_value_t = 2000.0,
          value_parser = number_in(0.001, 1e6))]
    rate: f64,
    /// Source addresses to spread the connections over, from 127.0.0.2 up
    #[arg(long, value_name = "K", default_value_t = 16,
          value_parser = value_parser!(u8).range(1..=250))]
    sources: u8,
    /// Seconds to hold the connections once the ramp is over
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = number_in(0.0, 86_400.0))]
    hold: f64,
    /// Seconds a connection may take to be answered before it counts as failed
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = number_in(0.0, 86_400.0))]
    timeout: f64,
    /// Do not time a fresh GET / every second while holding
    #[arg(long)]
    no_probe: bool,
}

/// Where one connection is in its life.
#[derive(Debug)]
enum State {
    /// The non-blocking connect is under way.
    Connecting,
    /// Connected; the request is being written.
    Sending { sent: usize },
    /// Waiting for the whole response.
    Receiving { got: Vec<u8> },
    /// Answered and idle: the state this tool exists to reach.
    Held,
    /// Failed or closed; its socket is gone.
    Gone,
}

struct Conn {
    stream: Option<TcpStream>,
    state: State,
    opened: Instant,
}

/// Counts one failure of a kind.
fn count(failures: &mut Counts, kind: impl Into<String>) {
    *failures.entry(kind.into()).or_default() += 1;
}

/// Ends a connection that failed, counting why, with a reset.
fn fail(conn: &mut Conn, failures: &mut Counts, why: impl Into<String>) {
    count(failures, why);
    conn.state = State::Gone;
    if let Some(stream) = conn.stream.take() {
        abort(stream);
    }
}

fn main() {
    let options: Options = connhold::parse_args("connhold");
    let limit = common::limits::raise_fd_limit();
    println!(
        "connhold: {} connections to {} at {}/s from {} source addresses (open-file limit {})",
        options.connections, options.target, options.rate, options.sources, limit.soft
    );
    let all_held = run(&options).unwrap_or_else(|err| {
        eprintln!("connhold: {err}");
        false
    });
    process::exit(if all_held { 0 } else { 1 });
}

fn run(options: &Options) -> io::Result<bool> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Conn> = Vec::with_capacity(options.connections);
    let mut failures = Counts::new();
    // Counted as connections change state, so that no loop below has to
    // walk all N connections to know where the ramp stands.
    let mut held = 0usize;
    let mut gone = 0usize;
    let mut next_report = 1usize;
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let timeout = Duration::from_secs_f64(options.timeout);
    let mut last_expiry = Instant::now();
    let mut scratch = vec![0u8; 4096];

    // Ramp up: open at a steady rate, finish each exchange, until every
    // connection is held or has failed. Bounded: every connection is held,
    // gone, or expired by `--timeout` after it was opened.
    loop {
        let due =
            ((start.elapsed().as_secs_f64() * options.rate) as usize + 1).min(options.connections);
        while conns.len() < due {
            let token = Token(conns.len());
            let last_octet = 2 + (conns.len() % usize::from(options.sources)) as u8;
            let (stream, state) =
                match connect_from(Ipv4Addr::new(127, 0, 0, last_octet), options.target) {
                    Ok(mut stream) => {
                        let both = Interest::READABLE | Interest::WRITABLE;
                        poll.registry().register(&mut stream, token, both)?;
                        (Some(stream), State::Connecting)
                    }
                    Err(err) => {
                        count(&mut failures, format!("local: {}", errno_name(&err)));
                        gone += 1;
                        (None, State::Gone)
                    }
                };
            conns.push(Conn {
                stream,
                state,
                opened: Instant::now(),
            });
        }
        if conns.len() == options.connections && held + gone == conns.len() {
            break;
        }
        let wait = if conns.len() < options.connections {
            interval
        } else {
            Duration::from_millis(100)
        };
        poll_events(&mut poll, &mut events, wait)?;
        for event in events.iter() {
            let conn = &mut conns[event.token().0];
            let was_held = matches!(conn.state, State::Held);
            let was_gone = matches!(conn.state, State::Gone);
            advance(conn, &mut scratch, &mut failures);
            let is_held = matches!(conn.state, State::Held);
            if !was_gone && matches!(conn.state, State::Gone) {
                gone += 1;
            }
            if !was_held && is_held {
                held += 1;
                if held >= next_report {
                    let per_s = held as f64 / start.elapsed().as_secs_f64();
                    println!("{}", connhold::progress_line(held, per_s));
                    next_report = if held == 1 { 1001 } else { next_report + 1000 };
                }
            } else if was_held && !is_held {
                held -= 1;
            }
        }
        // Ten times a second is often enough to notice a connection that
        // waited longer than `--timeout`.
        if last_expiry.elapsed() >= Duration::from_millis(100) {
            gone += expire(&mut conns, timeout, &mut failures);
            last_expiry = Instant::now();
        }
    }
    let ramp = start.elapsed();
    let failed: u64 = failures.values().sum();
    println!("{}", connhold::ramp_line(held, ramp.as_secs_f64(), failed));
    print_sockstat();

    // Hold: keep every connection open and silent, probe once a second.
    let mut probes: Vec<f64> = Vec::new();
    let mut probe_failures = Counts::new();
    let hold = Duration::from_secs_f64(options.hold);
    let hold_start = Instant::now();
    while hold_start.elapsed() < hold {
        if !options.no_probe {
            match probe(options.target) {
                Ok(latency) => probes.push(latency.as_secs_f64() * 1000.0),
                Err(err) => count(&mut probe_failures, err),
            }
        }
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until && hold_start.elapsed() < hold {
            poll_events(
                &mut poll,
                &mut events,
                until.saturating_duration_since(Instant::now()),
            )?;
            for event in events.iter() {
                let conn = &mut conns[event.token().0];
                if matches!(conn.state, State::Held) {
                    advance(conn, &mut scratch, &mut failures);
                    if !matches!(conn.state, State::Held) {
                        held -= 1;
                    }
                }
            }
        }
    }
    let probe_ms = ProbeMs {
        p50: percentile(&probes, 50.0),
        p99: percentile(&probes, 99.0),
        max: percentile(&probes, 100.0),
    };
    let probes_failed: u64 = probe_failures.values().sum();
    let probed = match (probe_ms.p50, probe_ms.p99) {
        _ if options.no_probe => String::new(),
        (Some(p50), Some(p99)) => {
            format!("; probe p50 {p50:.2} ms, p99 {p99:.2} ms ({probes_failed} probes failed)")
        }
        _ => format!("; no probe was answered ({probes_failed} failed)"),
    };
    println!("Held {held} connections for {:.0} s{probed}", options.hold);

    let (target, ramp_s, probes) = (options.connections, ramp.as_secs_f64(), probes.len());
    let report = Report {
        target,
        held,
        ramp_s,
        failures,
        probes,
        probe_ms,
        probe_failures,
    };
    println!("{}", report.line());
    conns
        .into_iter()
        .filter_map(|conn| conn.stream)
        .for_each(abort);
    Ok(held == options.connections && probes_failed == 0)
}

/// The `TCP:` line of /proc/net/sockstat: sockets in use, orphans,
/// TIME_WAIT, allocated, and `mem`, the pages of kernel memory in TCP
/// buffers. It is the whole machine's, so it counts both ends of every
/// loopback connection.
fn print_sockstat() {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    if let Some(tcp) = text.lines().find(|l| l.starts_with("TCP:")) {
        println!("sockstat {tcp}");
    }
}

fn poll_events(poll: &mut Poll, events: &mut Events, timeout: Duration) -> io::Result<()> {
    match poll.poll(events, Some(timeout)) {
        Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(()),
        other => other,
    }
}

/// Moves one connection along after a readiness event, as far as it can go.
fn advance(conn: &mut Conn, scratch: &mut [u8], failures: &mut Counts) {
    let Some(stream) = conn.stream.as_mut() else {
        return;
    };
    loop {
        let next = match &mut conn.state {
            State::Connecting => match stream.take_error() {
                Ok(Some(err)) | Err(err) => Err(format!("connect: {}", errno_name(&err))),
                // Writable with no error means connected; not yet means wait.
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => Ok(State::Sending { sent: 0 }),
                    Err(err) if err.kind() == io::ErrorKind::NotConnected => return,
                    Err(err) => Err(format!("connect: {}", errno_name(&err))),
                },
            },
            State::Sending { sent } => match stream.write(&REQUEST[*sent..]) {
                Ok(n) if *sent + n == REQUEST.len() => Ok(State::Receiving { got: Vec::new() }),
                Ok(n) => {
                    *sent += n;
                    continue;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) => Err(format!("send: {}", errno_name(&err))),
            },
            State::Receiving { got } => match stream.read(scratch) {
                Ok(0) => Err(kind::CLOSED_BEFORE_ANSWER.to_string()),
                Ok(n) => {
                    got.extend_from_slice(&scratch[..n]);
                    match check_response(got) {
                        Some(Ok(true)) => Ok(State::Held),
                        // This tool exists to hold connections; a server
                        // that closes each one after answering cannot.
                        Some(Ok(false)) => Err(kind::CLOSES.to_string()),
                        Some(Err(why)) => Err(why),
                        None => continue,
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) => Err(format!("receive: {}", errno_name(&err))),
            },
            State::Held => match stream.read(scratch) {
                Ok(0) => Err(kind::CLOSED_WHILE_HELD.to_string()),
                Ok(_) => Err("unexpected bytes while held".to_string()),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) => Err(format!("held: {}", errno_name(&err))),
            },
            State::Gone => return,
        };
        match next {
            Ok(State::Held) => return conn.state = State::Held,
            Ok(state) => conn.state = state,
            Err(why) => return fail(conn, failures, why),
        }
    }
}

/// `None` while the response is incomplete; then whether it was a 200 with
/// its whole body, and if so whether the server keeps the connection open
/// (`Ok(true)`) or closes it (`Ok(false)`, `Connection: close`).
fn check_response(got: &[u8]) -> Option<Result<bool, String>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(got) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return None,
        Err(err) => return Some(Err(format!("bad response: {err}"))),
    };
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(0);
    if got.len() < head + length {
        return None;
    }
    let closing = response.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close")
    });
    Some(match response.code {
        Some(200) => Ok(!closing),
        Some(code) => Err(format!("status {code}")),
        None => Err("bad response".to_string()),
    })
}

/// Fails connections that have not finished their exchange in time, and
/// says how many it failed.
fn expire(conns: &mut [Conn], timeout: Duration, failures: &mut Counts) -> usize {
    let mut expired = 0;
    for conn in conns.iter_mut().filter(|c| c.opened.elapsed() > timeout) {
        let what = match conn.state {
            State::Connecting => kind::CONNECT_TIMEOUT,
            State::Sending { .. } | State::Receiving { .. } => kind::NO_ANSWER,
            State::Held | State::Gone => continue,
        };
        fail(conn, failures, what);
        expired += 1;
    }
    expired
}

/// setsockopt(2) with a value of type `T`; a failure only loses the option.
fn set_option<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: T) {
    let len = size_of::<T>() as libc::socklen_t;
    // SAFETY: the pointer is to a live local of the length given.
    unsafe { libc::setsockopt(fd, level, name, (&raw const value).cast(), len) };
}

/// A non-blocking connect from `source` (port chosen by the kernel).
fn connect_from(source: Ipv4Addr, target: SocketAddrV4) -> io::Result<TcpStream> {
    let sockaddr = |addr: SocketAddrV4| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let (local, remote) = (sockaddr(SocketAddrV4::new(source, 0)), sockaddr(target));
    let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain socket calls on a descriptor this function owns (the
    // stream closes it on every return); the sockaddrs are live locals.
    unsafe {
        let fd = libc::socket(libc::AF_INET, flags, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        // Pick the port at connect time, from the whole 4-tuple: each source
        // address then has its own ~28,000 ports instead of sharing one range.
        set_option(
            fd,
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            1 as libc::c_int,
        );
        if libc::bind(fd, (&raw const local).cast(), len) != 0 {
            return Err(io::Error::last_os_error());
        }
        let connecting = libc::connect(fd, (&raw const remote).cast(), len) == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EINPROGRESS);
        if connecting {
            Ok(stream)
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// Closes with RST (SO_LINGER 0): no TIME_WAIT left behind for the next run.
fn abort(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    set_option(
        stream.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_LINGER,
        linger,
    );
}

/// One fresh `GET /` with a blocking socket; its latency, connect included.
fn probe(target: SocketAddrV4) -> Result<Duration, String> {
    let start = Instant::now();
    let mut stream = StdStream::connect_timeout(&SocketAddr::V4(target), Duration::from_secs(2))
        .map_err(|err| format!("probe connect: {}", errno_name(&err)))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_nodelay(true);
    stream
        .write_all(REQUEST)
        .map_err(|err| format!("probe send: {}", errno_name(&err)))?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Err("probe: closed before answering".to_string()),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(err) => return Err(format!("probe receive: {}", errno_name(&err))),
        }
        // A probe is one request on a fresh connection: a server may close it.
        match check_response(&got) {
            Some(Ok(_)) => return Ok(start.elapsed()),
            Some(Err(why)) => return Err(format!("probe: {why}")),
            None => {}
        }
    }
}

/// A short, stable name for an error: the errno symbol where there is one.
fn errno_name(err: &io::Error) -> String {
    use libc::*;
    let names = [
        (ECONNREFUSED, "ECONNREFUSED"),
        (ECONNRESET, "ECONNRESET"),
        (ETIMEDOUT, "ETIMEDOUT"),
        (EMFILE, "EMFILE"),
        (ENFILE, "ENFILE"),
        (EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (EPIPE, "EPIPE"),
        (ENOBUFS, "ENOBUFS"),
    ];
    match names
        .iter()
        .find(|(code, _)| err.raw_os_error() == Some(*code))
    {
        Some((_, name)) => name.to_string(),
        None if err.kind() == io::ErrorKind::WouldBlock => "timeout".to_string(),
        None => err.to_string(),
    }
}

/// The value at percentile `p` (nearest rank); `None` for no values.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len().checked_sub(1)? as f64).round() as usize;
    sorted.get(rank).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_checked_as_they_arrive() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nHello, world!\n";
        assert_eq!(check_response(ok), Some(Ok(true)));
        // Incomplete head, then incomplete body: wait for more.
        assert_eq!(check_response(&ok[..20]), None);
        assert_eq!(check_response(&ok[..ok.len() - 1]), None);
        let closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(check_response(closing), Some(Ok(false)));
        let busy = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(check_response(busy), Some(Err("status 503".to_string())));
        assert!(matches!(check_response(b"garbage\r\n\r\n"), Some(Err(_))));
    }

    #[test]
    fn arguments_percentiles_and_errno_names() {
        let parse =
            |args: &str| Options::try_parse_from(["connhold"].into_iter().chain(args.split(' ')));
        let o = parse("--addr 127.0.0.1:9000 --connections 19000 --hold 2.5 --no-probe").unwrap();
        assert_eq!(
            (o.target.port(), o.connections, o.hold, o.no_probe),
            (9000, 19_000, 2.5, true)
        );
        let bad = "--hold -1|--timeout NaN|--rate 0|--rate inf|--sources 0|--addr localhost:80|--connections|--x";
        for args in bad.split('|') {
            assert!(parse(args).is_err(), "{args}");
        }
        let values = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(
            [50.0, 99.0].map(|p| percentile(&values, p)),
            [Some(3.0), Some(5.0)]
        );
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(
            errno_name(&io::Error::from_raw_os_error(libc::ECONNREFUSED)),
            "ECONNREFUSED"
        );
    }
}
