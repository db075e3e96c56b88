//! What one wrk run reported, as the results file records it: bench's Lua
//! reporter prints it as one line of JSON in this shape (bench's `wrk.rs`
//! drives wrk and reads that line).

use serde::{Deserialize, Serialize};

use crate::thousands;

/// Socket errors and bad statuses, as wrk counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    /// Requests with no response within wrk's `--timeout` (the file's
    /// `settings.wrk_timeout_s`).
    pub timeout: u64,
    /// Responses with a status of 400 or more (wrk's "Non-2xx or 3xx").
    #[serde(rename = "status_4xx_5xx")]
    pub status: u64,
    /// The sum of the above, kept in the file for whoever reads it.
    #[serde(default)]
    pub total: u64,
}

impl Errors {
    /// Adds the counts of `other`, and keeps `total` their sum.
    pub fn add(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.read += other.read;
        self.write += other.write;
        self.timeout += other.timeout;
        self.status += other.status;
        self.total = self.connect + self.read + self.write + self.timeout + self.status;
    }

    /// "1,200 timeout, 34 read" — only the kinds that happened.
    pub fn describe(&self) -> String {
        let kinds = [
            ("connect", self.connect),
            ("read", self.read),
            ("write", self.write),
            ("timeout", self.timeout),
            ("status≥400", self.status),
        ];
        let happened = kinds.iter().filter(|(_, n)| *n > 0);
        let parts: Vec<String> = happened
            .map(|(kind, n)| format!("{} {kind}", thousands(*n)))
            .collect();
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// What one wrk run reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub requests: u64,
    pub duration_us: u64,
    pub bytes: u64,
    /// Computed from the two above when the line is read.
    #[serde(default)]
    pub requests_per_s: f64,
    pub latency_us: Latency,
    pub errors: Errors,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_described_by_kind() {
        let errors = Errors {
            timeout: 1200,
            read: 34,
            ..Errors::default()
        };
        assert_eq!(
            (
                errors.describe().as_str(),
                Errors::default().describe().as_str()
            ),
            ("34 read, 1,200 timeout", "none")
        );
    }
}
