//! The results file of `bench wrk`: every run as measured, the summaries, and
//! the context (machine, date, settings) needed to trust them later. The
//! docs' tables are made from this alone, so a file can be read back and its
//! tables written again. Also the JSON writer both harnesses use.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::{Pinning, WrkArgs};
use crate::machine::Machine;
use crate::plan::NotApplicable;
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
    pub fn new(
        machine: Machine,
        args: &WrkArgs,
        not_applicable: Vec<NotApplicable>,
        problems: Vec<String>,
        runs: Vec<RunResult>,
    ) -> BenchFile {
        let settings = Settings {
            duration_s: args.load.duration_s(),
            repeat: args.load.repeat(),
            warmup_s: args.load.warmup,
            wrk_timeout_s: crate::wrk::TIMEOUT_S,
            pinning: args.pin,
            quick: args.load.quick,
            logging_server: args.logging_server.clone(),
            memory: MEMORY.to_string(),
            cpu: CPU.to_string(),
        };
        let summaries = crate::stats::summarize_all(&runs);
        let date = crate::machine::now();
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

    /// The file's name, which the docs link to: its date without colons.
    pub fn file_name(&self) -> String {
        format!("bench-{}.json", self.date.replace(':', ""))
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
    the run, per 1,000 completed requests";

/// Creates a folder (and its parents) and returns it.
pub fn create_dir(path: PathBuf) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(path)
}

/// Writes `value` as indented JSON and returns what the file now says.
/// Floats are rounded to three decimals, more than any figure here
/// deserves, and whole ones are written as integers, as the files always
/// had them.
pub fn write_json<T: Serialize + DeserializeOwned>(path: &Path, value: &T) -> anyhow::Result<T> {
    let text = serde_json::to_string_pretty(&rounded_tree(value)?)? + "\n";
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    rounded(value)
}

/// `value` as its file says it: floats to three decimals.
pub fn rounded<T: Serialize + DeserializeOwned>(value: &T) -> anyhow::Result<T> {
    Ok(serde_json::from_value(rounded_tree(value)?)?)
}

fn rounded_tree(value: &impl Serialize) -> anyhow::Result<Value> {
    fn round(value: &mut Value) {
        match value {
            Value::Number(n) if n.is_f64() => {
                let x = (n.as_f64().unwrap_or(0.0) * 1000.0).round() / 1000.0;
                let whole = x.fract() == 0.0 && x.abs() < 1e15;
                *value = if whole { (x as i64).into() } else { x.into() };
            }
            Value::Array(items) => items.iter_mut().for_each(round),
            Value::Object(fields) => fields.values_mut().for_each(round),
            _ => {}
        }
    }
    let mut tree = serde_json::to_value(value)?;
    round(&mut tree);
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

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
