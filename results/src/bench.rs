//! The results file of `bench wrk`: every run as measured, the summaries, and
//! the context (machine, date, settings) needed to trust them later. The
//! docs' tables are made from this alone, so a file can be read back and its
//! tables written again (by `report`).

use serde::{Deserialize, Serialize};

use crate::scenario::NotApplicable;
use crate::stats::{RunResult, Summary};

/// `docs/results/bench-<date>.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchFile {
    pub schema: u32,
    /// UTC, RFC 3339, e.g. "2026-11-23T18:01:23Z".
    pub date: String,
    pub machine: Machine,
    pub settings: Settings,
    pub summaries: Vec<Summary>,
    pub not_applicable: Vec<NotApplicable>,
    /// Failures that belong to no single run (a server that did not stop).
    pub problems: Vec<String>,
    pub runs: Vec<RunResult>,
}

impl BenchFile {
    /// The file of a finished run: the runs as measured and their summaries.
    pub fn new(
        date: String,
        machine: Machine,
        settings: Settings,
        not_applicable: Vec<NotApplicable>,
        problems: Vec<String>,
        runs: Vec<RunResult>,
    ) -> BenchFile {
        let summaries = crate::stats::summarize_all(&runs);
        BenchFile {
            schema: 1,
            date,
            machine,
            settings,
            summaries,
            not_applicable,
            problems,
            runs,
        }
    }

    /// The runs of one summary that completed, as measured.
    pub fn runs_of<'a>(&'a self, s: &'a Summary) -> impl Iterator<Item = &'a RunResult> {
        let same = move |r: &&RunResult| {
            r.ok && r.server == s.server && r.scenario == s.scenario && r.variant == s.variant
        };
        self.runs.iter().filter(same)
    }

    /// The median of a summary's answers per second that were not error
    /// statuses: a pool's 503s come back fast and would flatter its req/s.
    pub fn ok_rps(&self, s: &Summary) -> Option<f64> {
        let ok: Vec<f64> = (self.runs_of(s))
            .filter_map(|r| {
                let report = r.measured?.report;
                let seconds = report.duration_us as f64 / 1e6;
                let good = report.requests.saturating_sub(report.errors.status);
                (seconds > 0.0).then(|| good as f64 / seconds)
            })
            .collect();
        crate::stats::median(&ok)
    }

    /// The file's name, which the docs link to: its date without colons.
    pub fn file_name(&self) -> String {
        format!("bench-{}.json", self.date.replace(':', ""))
    }
}

/// The machine a measurement ran on, for the record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub wrk: String,
    pub nginx: Option<String>,
}

impl Machine {
    /// One line for the docs.
    pub fn describe(&self) -> String {
        let Machine {
            cpu_model,
            cores,
            kernel,
            rustc,
            wrk,
            ..
        } = self;
        format!("{cpu_model} ({cores} cores), Linux {kernel}, {rustc}, {wrk}")
    }
}

/// The settings a run was made with, and what its figures mean.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub duration_s: u64,
    pub repeat: u32,
    pub warmup_s: u64,
    pub wrk_timeout_s: u64,
    pub pinning: Pinning,
    pub quick: bool,
    pub logging_server: String,
    pub memory: String,
    pub cpu: String,
}

pub const MEMORY: &str = "peak over samples of the sum of Pss (and of Rss) from \
    /proc/PID/smaps_rollup over the server's process tree";
pub const CPU: &str = "utime+stime+cutime+cstime summed over the tree, after minus before \
    the run, per 1,000 completed requests; after waits (2 s at most) until the tree has no \
    more processes than before";

/// Where wrk and the server ran. bench's command line offers the same
/// names (`--pin none|split`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pinning {
    /// Let the scheduler place wrk and the server (the decision in docs/README.md).
    #[default]
    None,
    /// wrk (and the harness) on CPU 0, the server on every other CPU.
    Split,
}

impl Pinning {
    pub const ALL: [Pinning; 2] = [Pinning::None, Pinning::Split];

    pub fn name(self) -> &'static str {
        if self == Pinning::Split {
            "split"
        } else {
            "none"
        }
    }

    /// For the docs' header.
    pub fn describe(self) -> &'static str {
        if self == Pinning::Split {
            "wrk on CPU 0, server on the others"
        } else {
            "none (scheduler's choice)"
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::json::write_json;

    #[test]
    fn the_committed_file_loads_and_is_written_back_as_it_was() {
        let committed = include_str!("../../docs/results/bench-2026-11-23T180123Z.json");
        let file: BenchFile = serde_json::from_str(committed).unwrap();
        assert_eq!(
            (
                file.file_name().as_str(),
                file.machine.cores,
                file.settings.pinning
            ),
            ("bench-2026-11-23T180123Z.json", 2, Pinning::None)
        );
        assert_eq!(
            (
                file.summaries.len(),
                file.runs.len(),
                file.summaries[0].requests_per_s_median
            ),
            (75, 225, Some(14909.469))
        );
        let m = file.runs[0].measured.unwrap();
        assert!(file.runs[0].ok && m.report.requests == 74645 && m.report.latency_us.max == 7873);
        let path = std::env::temp_dir().join(format!("bench-test-{}.json", std::process::id()));
        assert_eq!(write_json(&path, &file).unwrap(), file);
        let text = fs::read_to_string(&path).unwrap();
        let _ = fs::remove_file(&path);
        // The same text as the hand-written writer made, but for the new
        // name of the scenario that the file calls "seed".
        assert_eq!(text.replace("\"c10\"", "\"seed\""), committed);
    }
}
