//! What is watched while an attack runs: a fresh client that asks `GET /`
//! every [`PROBE_EVERY`] on a new connection and waits at most
//! [`PATIENCE`] for the answer, and the server's process tree.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use results::robustness::{Probes, percentile};
use testkit::procfs;

pub const PROBE_EVERY: Duration = Duration::from_millis(250);
pub const PATIENCE: Duration = Duration::from_secs(1);

/// What one fresh `GET /` got.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Seen {
    /// A 200, after this many ms.
    Answered(f64),
    /// A 503: no room, said at once.
    TurnedAway,
    /// Nothing usable within the patience: not connected, refused, reset, silent.
    Unanswered,
}

/// One fresh `GET /`, waiting at most `patience` for the whole answer.
pub fn probe(addr: SocketAddr, patience: Duration) -> Seen {
    answer(addr, patience).unwrap_or(Seen::Unanswered)
}

fn answer(addr: SocketAddr, patience: Duration) -> Option<Seen> {
    let start = Instant::now();
    let left = || {
        patience
            .checked_sub(start.elapsed())
            .filter(|d| !d.is_zero())
    };
    let mut stream = TcpStream::connect_timeout(&addr, patience).ok()?;
    stream.set_write_timeout(left()).ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        .ok()?;
    // The answer is complete when the server closes, as it was asked to.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        stream.set_read_timeout(Some(left()?)).ok()?;
        match stream.read(&mut chunk).ok()? {
            0 => break,
            n => answer.extend_from_slice(&chunk[..n]),
        }
    }
    match answer.get(..12)? {
        b"HTTP/1.1 200" => Some(Seen::Answered(start.elapsed().as_secs_f64() * 1000.0)),
        b"HTTP/1.1 503" => Some(Seen::TurnedAway),
        _ => None,
    }
}

/// The first answer to a fresh `GET /` within `patience`, trying again as
/// long as there is time: whether the server answers once an attack is over.
pub fn answers_within(addr: SocketAddr, patience: Duration) -> Option<f64> {
    let start = Instant::now();
    while let Some(left) = patience.checked_sub(start.elapsed()) {
        if let Seen::Answered(_) = probe(addr, left) {
            return Some(start.elapsed().as_secs_f64() * 1000.0);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The fresh client, on a thread of its own until [`Prober::finish`].
pub struct Prober {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Seen>>,
}

impl Prober {
    pub fn start(addr: SocketAddr) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut seen = Vec::new();
            while !stopped.load(Ordering::SeqCst) {
                let next = Instant::now() + PROBE_EVERY;
                seen.push(probe(addr, PATIENCE));
                thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            seen
        });
        Prober { stop, thread }
    }

    /// Stops the fresh client and sums up what it saw.
    pub fn finish(self) -> Probes {
        self.stop.store(true, Ordering::SeqCst);
        let seen = self.thread.join().unwrap_or_default();
        let mut answered: Vec<f64> = seen
            .iter()
            .filter_map(|s| match s {
                Seen::Answered(ms) => Some(*ms),
                _ => None,
            })
            .collect();
        Probes {
            sent: seen.len() as u64,
            answered: answered.len() as u64,
            turned_away: seen.iter().filter(|s| **s == Seen::TurnedAway).count() as u64,
            p50_ms: percentile(&mut answered, 50.0),
            p99_ms: percentile(&mut answered, 99.0),
            max_ms: answered.last().copied(),
        }
    }
}

/// The most the server's tree used at once while it was watched, and its CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Peaks {
    pub pss_kib: u64,
    pub threads: u64,
    pub processes: u64,
}

impl Peaks {
    /// One more look at the tree rooted at `pid`.
    pub fn sample(&mut self, pid: u32) {
        let members = procfs::tree(&procfs::read_all_stats(), pid);
        let live: Vec<u32> = members
            .iter()
            .filter(|s| s.state != 'Z')
            .map(|s| s.pid)
            .collect();
        let memory = procfs::sample_tree(pid, true).memory;
        self.pss_kib = self.pss_kib.max(memory.pss_kib);
        self.threads = self
            .threads
            .max(live.iter().map(|&p| procfs::read_threads(p)).sum());
        self.processes = self.processes.max(live.len() as u64);
    }
}
