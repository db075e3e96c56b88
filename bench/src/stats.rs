//! Results of runs, and what several repeats of one run add up to.

use crate::plan::Scenario;
use crate::wrk::{Errors, Report};
use testkit::procfs::Memory;

/// What the harness measured during one run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measured {
    pub report: Report,
    /// Server tree CPU (user + system, reaped children included) per 1,000
    /// requests, in ms; `None` when no request completed.
    pub cpu_ms_per_1k: Option<f64>,
    /// Highest PSS sum and highest RSS sum seen over the tree (each its own peak).
    pub peak: Memory,
    pub peak_processes: usize,
    /// The most clients seen waiting unserved at once (see `sockets`).
    pub waiting: u64,
    /// Share of all CPU time stolen by the hypervisor during the run.
    pub steal_pct: f64,
}

/// One run: which, and either what it measured or why it failed (or both,
/// when a server died after wrk had its numbers).
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    pub server: String,
    pub scenario: Scenario,
    pub variant: String,
    pub round: u32,
    pub server_args: Vec<String>,
    pub command: String,
    pub measured: Option<Measured>,
    pub failure: Option<String>,
}

impl RunResult {
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.measured.is_some()
    }
}

/// The median of some numbers (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Half the range of the values, as a percentage of their median: "±6%"
/// means every repeat fell within 6% of the median (for three repeats, the
/// other two sit at most that far on either side). Zero for a single value.
pub fn spread_pct(values: &[f64]) -> Option<f64> {
    let med = median(values)?;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    if med <= 0.0 {
        return Some(0.0);
    }
    Some((max - min) / 2.0 / med * 100.0)
}

/// The repeats of one server × scenario × variant, summed up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub server: String,
    pub label: String,
    pub scenario: Option<Scenario>,
    pub variant: String,
    /// Runs that completed, and runs that failed (excluded from the figures).
    pub runs: usize,
    pub failed: usize,
    pub failures: Vec<String>,
    pub rps_median: Option<f64>,
    pub rps_min: Option<f64>,
    pub rps_max: Option<f64>,
    pub spread_pct: Option<f64>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    /// The worst latency any repeat saw.
    pub max_us: Option<u64>,
    /// Errors summed over the completed runs, and how many of them had any.
    pub errors: Errors,
    pub runs_with_errors: usize,
    pub requests: u64,
    pub cpu_ms_per_1k: Option<f64>,
    pub peak_pss_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    pub peak_processes: Option<usize>,
    /// The most clients any repeat saw waiting unserved at once.
    pub waiting_max: Option<u64>,
    pub steal_median_pct: Option<f64>,
    pub steal_max_pct: Option<f64>,
}

/// Sums up the results that share a server, scenario and variant. Runs with
/// errors are included in the medians and counted in `runs_with_errors`, so
/// a table can flag them; failed runs are excluded and counted in `failed`.
pub fn summarize(results: &[&RunResult]) -> Summary {
    let first = results.first();
    let mut summary = Summary {
        server: first.map(|r| r.server.clone()).unwrap_or_default(),
        scenario: first.map(|r| r.scenario),
        variant: first.map(|r| r.variant.clone()).unwrap_or_default(),
        ..Summary::default()
    };
    summary.label = match (&summary.scenario, summary.variant.as_str()) {
        (Some(s), "") => s.name().to_string(),
        (Some(s), v) => format!("{} {v}", s.name()),
        (None, _) => String::new(),
    };
    let mut done: Vec<&Measured> = Vec::new();
    for result in results {
        match (&result.measured, &result.failure) {
            (Some(m), None) => done.push(m),
            (_, failure) => {
                summary.failed += 1;
                summary.failures.push(
                    failure
                        .clone()
                        .unwrap_or_else(|| "no measurement".to_string()),
                );
            }
        }
    }
    summary.runs = done.len();
    let rps: Vec<f64> = done.iter().map(|m| m.report.requests_per_s()).collect();
    let of = |f: &dyn Fn(&Measured) -> f64| -> Vec<f64> { done.iter().map(|m| f(m)).collect() };
    summary.rps_median = median(&rps);
    summary.rps_min = rps.iter().copied().reduce(f64::min);
    summary.rps_max = rps.iter().copied().reduce(f64::max);
    summary.spread_pct = spread_pct(&rps);
    summary.p50_us = median(&of(&|m| m.report.p50_us as f64));
    summary.p99_us = median(&of(&|m| m.report.p99_us as f64));
    summary.max_us = done.iter().map(|m| m.report.max_us).max();
    for m in &done {
        summary.errors.add(&m.report.errors);
        summary.requests += m.report.requests;
        if m.report.errors.total() > 0 {
            summary.runs_with_errors += 1;
        }
    }
    let cpu: Vec<f64> = done.iter().filter_map(|m| m.cpu_ms_per_1k).collect();
    summary.cpu_ms_per_1k = median(&cpu);
    summary.peak_pss_kib = done.iter().map(|m| m.peak.pss_kib).max();
    summary.peak_rss_kib = done.iter().map(|m| m.peak.rss_kib).max();
    summary.peak_processes = done.iter().map(|m| m.peak_processes).max();
    summary.waiting_max = done.iter().map(|m| m.waiting).max();
    summary.steal_median_pct = median(&of(&|m| m.steal_pct));
    summary.steal_max_pct = done.iter().map(|m| m.steal_pct).reduce(f64::max);
    summary
}

/// Groups results by server, scenario and variant, in the order first seen.
pub fn summarize_all(results: &[RunResult]) -> Vec<Summary> {
    let mut keys: Vec<(&str, Scenario, &str)> = Vec::new();
    for r in results {
        let key = (r.server.as_str(), r.scenario, r.variant.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.iter()
        .map(|&(server, scenario, variant)| {
            let group: Vec<&RunResult> = results
                .iter()
                .filter(|r| r.server == server && r.scenario == scenario && r.variant == variant)
                .collect();
            summarize(&group)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(round: u32, requests: u64, timeouts: u64, failure: Option<&str>) -> RunResult {
        RunResult {
            server: "s".to_string(),
            scenario: Scenario::C1000,
            variant: String::new(),
            round,
            server_args: Vec::new(),
            command: String::new(),
            measured: Some(Measured {
                report: Report {
                    requests,
                    duration_us: 1_000_000,
                    p50_us: requests / 10,
                    p99_us: requests / 5,
                    max_us: requests,
                    errors: Errors {
                        timeout: timeouts,
                        ..Errors::default()
                    },
                    ..Report::default()
                },
                cpu_ms_per_1k: Some(requests as f64 / 100.0),
                peak: Memory {
                    pss_kib: requests / 2,
                    rss_kib: requests,
                },
                peak_processes: 1,
                waiting: 0,
                steal_pct: round as f64,
            }),
            failure: failure.map(str::to_string),
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
    }

    #[test]
    fn spread_is_half_the_range_over_the_median() {
        // 90..110 around 100: ±10%.
        assert!((spread_pct(&[100.0, 90.0, 110.0]).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(spread_pct(&[42.0]), Some(0.0));
        assert_eq!(spread_pct(&[]), None);
    }

    #[test]
    fn errors_are_counted_and_failures_left_out() {
        let results = [
            run(1, 1000, 0, None),
            run(2, 3000, 7, None),
            run(3, 2000, 0, None),
            run(4, 99_999, 0, Some("server exited during the run")),
        ];
        let refs: Vec<&RunResult> = results.iter().collect();
        let s = summarize(&refs);
        assert_eq!((s.runs, s.failed), (3, 1));
        assert_eq!(s.failures, ["server exited during the run"]);
        assert_eq!(s.rps_median, Some(2000.0));
        assert_eq!((s.rps_min, s.rps_max), (Some(1000.0), Some(3000.0)));
        assert_eq!(s.spread_pct, Some(50.0));
        assert_eq!(s.p99_us, Some(400.0));
        assert_eq!(s.max_us, Some(3000));
        assert_eq!((s.errors.timeout, s.runs_with_errors), (7, 1));
        assert_eq!(s.requests, 6000);
        assert_eq!(s.cpu_ms_per_1k, Some(20.0));
        assert_eq!((s.peak_pss_kib, s.peak_rss_kib), (Some(1500), Some(3000)));
        assert_eq!(s.steal_max_pct, Some(3.0));
        assert_eq!(s.label, "c1000");
    }

    #[test]
    fn summarize_all_groups_by_key_in_order() {
        let mut other = run(1, 10, 0, None);
        other.variant = "w=4".to_string();
        let results = [run(1, 10, 0, None), other, run(2, 20, 0, None)];
        let all = summarize_all(&results);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].runs, 2);
        assert_eq!(all[1].label, "c1000 w=4");
    }
}
