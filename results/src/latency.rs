//! The results file of `bench latency`, `docs/results/latency.json`: each
//! server under an open-loop load (a constant offered rate, latency counted
//! from each request's due time) at rates stepping past what it can do, its
//! CPU per request at one rate they all sustain, and what it burns idle.

use serde::{Deserialize, Serialize};

use crate::capacity::Host;

/// The slow path of the curves, the benchmark's `slow` scenario's.
pub const SLEEP: &str = "/sleep?ms=10";

/// `docs/results/latency.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyFile {
    pub machine: Host,
    pub settings: Settings,
    /// Every open-loop run: the curves, and the fixed-rate runs.
    pub runs: Vec<Run>,
    /// Each server's closed-loop rate, measured with wrk just before its
    /// curve, which its offered rates are fractions of.
    pub closed: Vec<Closed>,
    /// What each server burns with no client at all.
    pub idle: Vec<Idle>,
    /// Coordinated omission, measured: one server offered twice what it can
    /// do, open and closed.
    pub omission: Option<Omission>,
    /// Failures that belong to no single run.
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub quick: bool,
    pub duration_s: f64,
    pub connections: usize,
    /// A request unanswered this long failed.
    pub timeout_s: f64,
    /// The offered rates of a curve, as fractions of the closed-loop rate.
    pub fractions: Vec<f64>,
    /// The knee: the highest rate whose p99 is at most this many times the
    /// p99 at the lightest rate, with next to nothing unanswered.
    pub knee_factor: f64,
    /// The one rate every server sustains, for CPU per request.
    pub fixed_rate: f64,
    /// Server arguments that differ from the defaults, by server.
    pub server_args: Vec<(String, Vec<String>)>,
}

/// What a curve's run is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    #[default]
    Curve,
    /// The fixed rate of the CPU comparison.
    Fixed,
}

/// One open-loop run: the contract of `bench latency --json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub server: String,
    pub path: String,
    pub purpose: Purpose,
    pub connections: usize,
    pub duration_s: f64,
    pub offered_rps: f64,
    /// 2xx answers per second.
    pub achieved_rps: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    /// Error statuses, and requests whose connection failed or that timed out.
    pub errors: u64,
    /// Still owed an answer when the run ended.
    pub unanswered: u64,
    /// Requests that fell due.
    pub due: u64,
    pub reconnects: u64,
    /// How late the generator saw requests fall due, at the 99th percentile:
    /// its own error, apart from any wait for a free connection.
    pub lag_p99_us: u64,
    pub generator_cpu_us_per_request: Option<f64>,
    /// The server's whole process tree.
    pub server_cpu_us_per_request: Option<f64>,
}

impl Run {
    /// The server kept up: answered nearly everything, in time.
    pub fn kept_up(&self) -> bool {
        let lost = self.errors + self.unanswered;
        self.due > 0 && lost * 1000 <= self.due && self.achieved_rps >= 0.95 * self.offered_rps
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Closed {
    pub server: String,
    pub path: String,
    pub rps: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Idle {
    pub server: String,
    /// CPU time per second with no client, as a share of one core.
    pub cores: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Omission {
    pub server: String,
    pub path: String,
    /// What wrk reported, closed-loop, at its own pace.
    pub closed_rps: f64,
    pub closed_p50_us: u64,
    #[serde(default)]
    pub closed_p99_us: u64,
    /// Open-loop runs at twice the closed-loop rate, of growing length.
    pub open: Vec<Run>,
}

impl LatencyFile {
    /// A server's curve on a path, by offered rate.
    pub fn curve(&self, server: &str, path: &str) -> Vec<&Run> {
        let mut runs: Vec<&Run> = (self.runs.iter())
            .filter(|r| r.server == server && r.path == path && r.purpose == Purpose::Curve)
            .collect();
        runs.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
        runs
    }

    /// The knee of a curve: the highest offered rate at which the server
    /// kept up and its p99 stayed within `knee_factor` times its p99 at the
    /// lightest rate. `None` when it did not keep up even there.
    pub fn knee(&self, server: &str, path: &str) -> Option<f64> {
        let curve = self.curve(server, path);
        let base = curve.first().filter(|r| r.kept_up())?.p99_us.max(1);
        let bound = base as f64 * self.settings.knee_factor;
        let within = |r: &&&Run| r.kept_up() && r.p99_us as f64 <= bound;
        curve
            .iter()
            .take_while(within)
            .last()
            .map(|r| r.offered_rps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: f64, p99: u64, unanswered: u64) -> Run {
        Run {
            server: "s".into(),
            path: "/".into(),
            offered_rps: rate,
            achieved_rps: rate,
            p99_us: p99,
            due: 10_000,
            unanswered,
            ..Run::default()
        }
    }

    #[test]
    fn the_knee_is_the_last_rate_within_the_bound_that_kept_up() {
        let mut file = LatencyFile::default();
        file.settings.knee_factor = 10.0;
        file.runs = vec![run(300.0, 150, 0), run(100.0, 100, 0), run(200.0, 900, 0)];
        assert_eq!(file.knee("s", "/"), Some(300.0));
        file.runs[0].p99_us = 1500;
        assert_eq!(file.knee("s", "/"), Some(200.0));
        // Answered too little, however fast: past the knee.
        file.runs[2].unanswered = 100;
        assert_eq!(file.knee("s", "/"), Some(100.0));
        file.runs[1].unanswered = 100;
        assert_eq!(file.knee("s", "/"), None);
    }
}
