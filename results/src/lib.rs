//! # results — the files in docs/results/, as types
//!
//! The results files are the contract between measuring and writing the
//! docs: `bench` builds their values, this crate owns their types and writes
//! them, and `report` reads them back to make the pages. A file written by an
//! older run still loads: fields added later have defaults.
//!
//! - [`scenario`]: the servers and the scenarios, as the files name them;
//! - [`wrk`]: what one wrk run reported;
//! - [`stats`]: one run's result, and the summary of its repeats;
//! - [`bench`]: the file of `bench wrk` (`bench-<date>.json`);
//! - [`capacity`]: the file of `bench capacity` (`connections.json`);
//! - [`robustness`]: the file of `bench hostile` (`robustness.json`);
//! - [`syscalls`]: the file of `bench syscalls` (`syscalls.json`);
//! - [`latency`]: the file of `bench latency` (`latency.json`);
//! - [`json`]: writing a file (rounded JSON), and creating folders.

pub mod bench;
pub mod capacity;
pub mod json;
pub mod latency;
pub mod robustness;
pub mod scenario;
pub mod stats;
pub mod syscalls;
pub mod wrk;

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
