//! Results of runs, and what several repeats of one run add up to. Both are
//! recorded in the results file as they are here.

use serde::{Deserialize, Serialize};

use crate::scenario::{self, Scenario};
use crate::wrk::{Errors, Report};

/// What the harness measured during one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    #[serde(flatten)]
    pub report: Report,
    /// Server tree CPU (user + system, reaped children included) per 1,000
    /// requests, in ms; `None` when no request completed.
    #[serde(rename = "cpu_ms_per_1k_requests")]
    pub cpu_ms_per_1k: Option<f64>,
    /// Highest PSS sum and highest RSS sum seen over the tree (each its own peak).
    pub peak_pss_kib: u64,
    pub peak_rss_kib: u64,
    pub peak_processes: usize,
    /// The most clients seen waiting unserved at once (see `sockets`).
    pub waiting: u64,
    /// Share of all CPU time stolen by the hypervisor during the run.
    pub steal_pct: f64,
}

/// One run: which, and either what it measured or why it failed (or both,
/// when a server died after wrk had its numbers).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub server: String,
    pub scenario: Scenario,
    pub variant: String,
    pub round: u32,
    pub server_args: Vec<String>,
    pub command: String,
    /// Measured and not failed: counted in the figures.
    pub ok: bool,
    pub failure: Option<String>,
    /// The server's pool size as it announced it at start (`workers N`);
    /// older files do not have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    #[serde(flatten)]
    pub measured: Option<Measured>,
}

impl RunResult {
    pub fn label(&self) -> String {
        scenario::label(self.scenario, &self.variant)
    }
}

/// The median of some numbers (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// Half the range of the values, as a percentage of their median: "±6%"
/// means every repeat fell within 6% of the median (for three repeats, the
/// other two sit at most that far on either side). Zero for a single value.
pub fn spread_pct(values: &[f64]) -> Option<f64> {
    let med = median(values)?;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    Some(if med <= 0.0 {
        0.0
    } else {
        (max - min) / 2.0 / med * 100.0
    })
}

/// The repeats of one server × scenario × variant, summed up. Runs with
/// errors are included in the medians and counted in `runs_with_errors`, so
/// a table can flag them; failed runs are left out and counted in
/// `failed_runs` (their reasons are in the runs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub server: String,
    pub scenario: Scenario,
    pub variant: String,
    /// Runs that completed.
    pub runs: usize,
    pub failed_runs: usize,
    pub runs_with_errors: usize,
    pub requests_per_s_median: Option<f64>,
    pub requests_per_s_min: Option<f64>,
    pub requests_per_s_max: Option<f64>,
    pub spread_pct: Option<f64>,
    pub p50_us_median: Option<f64>,
    pub p99_us_median: Option<f64>,
    /// The worst latency any repeat saw.
    pub max_us: Option<u64>,
    /// Errors summed over the completed runs.
    pub errors_summed: Errors,
    pub cpu_ms_per_1k_requests_median: Option<f64>,
    pub peak_pss_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    pub peak_processes: Option<usize>,
    /// The most clients any repeat saw waiting unserved at once.
    pub waiting_max: Option<u64>,
    pub steal_pct_median: Option<f64>,
    pub steal_pct_max: Option<f64>,
}

impl Summary {
    pub fn label(&self) -> String {
        scenario::label(self.scenario, &self.variant)
    }

    /// Errors, failures or clients left waiting: a figure to read with care.
    pub fn troubled(&self) -> bool {
        self.runs_with_errors > 0 || self.failed_runs > 0 || self.waiting_max.unwrap_or(0) > 0
    }
}

/// Why a pipelined run shows no latency percentiles, only the maximum. wrk
/// times a pipelined batch as one request, then corrects for coordinated
/// omission with synthetic samples spaced by the interval between *answers*
/// (16 per batch here), many of them below the smallest real one, where its
/// percentile search never looks: p99 then comes out as 0 or below p90
/// (wg/wrk issues 236 and 354). Its maximum is a real batch's.
pub const PIPELINED_LATENCY: &str = "wrk's latency percentiles are wrong when it pipelines \
    (its correction for coordinated omission assumes one answer per write: wg/wrk issue 236), \
    so the `pipelined` rows show only the maximum, the slowest batch of 16";

/// Sums up the results of one server, scenario and variant.
pub fn summarize(results: &[&RunResult]) -> Summary {
    let done: Vec<&Measured> = results
        .iter()
        .filter(|r| r.ok)
        .filter_map(|r| r.measured.as_ref())
        .collect();
    let of = |f: fn(&Measured) -> f64| -> Vec<f64> { done.iter().map(|m| f(m)).collect() };
    let rps = of(|m| m.report.requests_per_s);
    let mut errors_summed = Errors::default();
    for m in &done {
        errors_summed.add(&m.report.errors);
    }
    let first = results.first();
    // wrk's percentiles are wrong when it pipelines: see `PIPELINED_LATENCY`.
    let percentile = |f: fn(&Measured) -> f64| match first.map(|r| r.scenario.workload().pipeline) {
        Some(2..) => None,
        _ => median(&of(f)),
    };
    Summary {
        server: first.map(|r| r.server.clone()).unwrap_or_default(),
        scenario: first.map_or(Scenario::C10, |r| r.scenario),
        variant: first.map(|r| r.variant.clone()).unwrap_or_default(),
        runs: done.len(),
        failed_runs: results.len() - done.len(),
        runs_with_errors: done.iter().filter(|m| m.report.errors.total > 0).count(),
        requests_per_s_median: median(&rps),
        requests_per_s_min: rps.iter().copied().reduce(f64::min),
        requests_per_s_max: rps.iter().copied().reduce(f64::max),
        spread_pct: spread_pct(&rps),
        p50_us_median: percentile(|m| m.report.latency_us.p50 as f64),
        p99_us_median: percentile(|m| m.report.latency_us.p99 as f64),
        // wrk reports a maximum of 0 when it timed no request at all (none
        // came back whole): that is no figure, not the fastest one.
        max_us: (done.iter())
            .map(|m| m.report.latency_us.max)
            .filter(|&max| max > 0)
            .max(),
        errors_summed,
        cpu_ms_per_1k_requests_median: median(&of(|m| m.cpu_ms_per_1k.unwrap_or(f64::NAN))),
        peak_pss_kib: done.iter().map(|m| m.peak_pss_kib).max(),
        peak_rss_kib: done.iter().map(|m| m.peak_rss_kib).max(),
        peak_processes: done.iter().map(|m| m.peak_processes).max(),
        waiting_max: done.iter().map(|m| m.waiting).max(),
        steal_pct_median: median(&of(|m| m.steal_pct)),
        steal_pct_max: done.iter().map(|m| m.steal_pct).reduce(f64::max),
    }
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
    let group = |(server, scenario, variant): (&str, Scenario, &str)| -> Vec<&RunResult> {
        let same =
            |r: &&RunResult| r.server == server && r.scenario == scenario && r.variant == variant;
        results.iter().filter(same).collect()
    };
    keys.into_iter().map(|key| summarize(&group(key))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::BenchFile;

    #[test]
    fn medians_and_spreads() {
        assert_eq!(
            [median(&[3.0, 1.0, 2.0]), median(&[4.0, 1.0, 3.0, 2.0])],
            [Some(2.0), Some(2.5)]
        );
        assert_eq!([median(&[]), median(&[f64::NAN, 5.0])], [None, Some(5.0)]);
        // 90..110 around 100: ±10%.
        assert!((spread_pct(&[100.0, 90.0, 110.0]).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!([spread_pct(&[42.0]), spread_pct(&[])], [Some(0.0), None]);
    }

    #[test]
    fn the_committed_runs_give_the_committed_summaries_and_failures_are_left_out() {
        let text = include_str!("../../docs/results/bench-2026-11-23T180123Z.json");
        let mut file: BenchFile = serde_json::from_str(text).unwrap();
        // Runs with errors (cgi_server c1000: 233 timeouts in 2 of 3) count.
        let mut again = crate::json::rounded(&summarize_all(&file.runs)).unwrap();
        for (a, b) in again.iter_mut().zip(&file.summaries) {
            // A spread made of the file's rounded rates may differ in its last decimal.
            assert!((a.spread_pct.unwrap_or(0.0) - b.spread_pct.unwrap_or(0.0)).abs() < 0.01);
            a.spread_pct = b.spread_pct;
        }
        assert_eq!(again, file.summaries);
        // A failed run (here the first of simple_server c10) is left out.
        (file.runs[0].ok, file.runs[0].failure) = (false, Some("wrk printed no report".into()));
        let s = &summarize_all(&file.runs)[0];
        assert_eq!((s.runs, s.failed_runs, s.label().as_str()), (2, 1, "c10"));
        let same = file
            .runs
            .iter()
            .filter(|r| r.ok && r.server == s.server && r.scenario == s.scenario);
        let rates: Vec<f64> = same
            .filter_map(|r| Some(r.measured?.report.requests_per_s))
            .collect();
        assert_eq!((rates.len(), s.requests_per_s_median), (2, median(&rates)));
    }

    #[test]
    fn a_pipelined_run_keeps_its_maximum_latency_but_no_percentiles() {
        let text = include_str!("../../docs/results/bench-2026-11-23T180123Z.json");
        let file: BenchFile = serde_json::from_str(text).unwrap();
        let mut run = file.runs[1].clone();
        run.scenario = Scenario::Pipelined;
        let s = summarize(&[&run]);
        let max = run.measured.map(|m| m.report.latency_us.max);
        assert_eq!(
            (s.p50_us_median, s.p99_us_median, s.max_us),
            (None, None, max)
        );
        assert!(s.requests_per_s_median.is_some());
    }
}
