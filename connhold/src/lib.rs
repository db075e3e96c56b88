//! # connhold — what the client and `bench capacity` share
//!
//! The `connhold` binary (`src/main.rs`) opens idle keep-alive connections,
//! holds them, and prints progress lines and one result line; `bench
//! capacity` runs it and reads those lines. Both sides use the types and
//! formats defined here, so the writer and the reader cannot drift apart.

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Starts the one line of JSON that ends connhold's output.
pub const RESULT_PREFIX: &str = "connhold-result ";

/// The failure kinds that `bench capacity` explains in words. The others
/// name an errno, such as `connect: ECONNREFUSED` or `local: EMFILE`.
pub mod kind {
    pub const NO_ANSWER: &str = "timeout: no answer";
    pub const CONNECT_TIMEOUT: &str = "timeout: connect";
    pub const CLOSES: &str = "answered with Connection: close";
    pub const CLOSED_WHILE_HELD: &str = "closed by the server while held";
    pub const CLOSED_BEFORE_ANSWER: &str = "closed before answering";
}

pub use results::capacity::{Counts, ProbeMs};

/// What one connhold run saw: the line `connhold-result {...}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Connections asked for.
    pub target: usize,
    /// Connections still held when the hold ended.
    pub held: usize,
    /// Seconds until every connection was held or had failed.
    pub ramp_s: f64,
    pub failures: Counts,
    /// Probes answered.
    pub probes: usize,
    pub probe_ms: ProbeMs,
    pub probe_failures: Counts,
}

impl Report {
    pub fn line(&self) -> String {
        // Numbers, strings and maps of strings always serialize.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{RESULT_PREFIX}{json}")
    }

    pub fn parse_line(line: &str) -> anyhow::Result<Report> {
        let json = line
            .strip_prefix(RESULT_PREFIX)
            .context("not a connhold-result line")?;
        serde_json::from_str(json).context("unreadable connhold-result line")
    }
}

/// The ramp's progress, every 1,000 connections; the wording follows the
/// log of the async Ruby experiment that held a million connections.
pub fn progress_line(made: usize, per_s: f64) -> String {
    format!("Made {made} connections: {per_s:.2} connections/second...")
}

/// The ramp's last line, which `bench capacity` waits for before sampling.
pub fn ramp_line(made: usize, seconds: f64, failed: u64) -> String {
    format!("Made {made} connections in {seconds:.1} s ({failed} failed)")
}

/// Reads either line: the connections made so far, and whether the ramp is over.
pub fn parse_made(line: &str) -> Option<(usize, bool)> {
    let (made, rest) = line.strip_prefix("Made ")?.split_once(" connections")?;
    Some((made.parse().ok()?, rest.starts_with(" in ")))
}

/// A clap value parser for a number from `min` to `max` (clap's own ranges
/// are for integers only). Refuses NaN and infinities.
pub fn number_in(min: f64, max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |text| {
        text.parse::<f64>()
            .ok()
            .filter(|x| (min..=max).contains(x))
            .ok_or_else(|| format!("needs a number from {min} to {max}"))
    }
}

/// Parses the command line with clap. A mistake prints one line,
/// `PROGRAM: what is wrong (see --help)`, and exits with status 2, as the
/// servers do; `--help` prints the help and exits with 0.
pub fn parse_args<P: clap::Parser>(program: &str) -> P {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    P::try_parse().unwrap_or_else(|err| {
        // Help, or no subcommand at all: clap's own text says it best.
        if !err.use_stderr() || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            err.exit();
        }
        let text = err.to_string();
        let first = text.lines().next().unwrap_or("bad arguments");
        let choices = match err.get(ContextKind::ValidValue) {
            Some(ContextValue::Strings(values)) if !values.is_empty() => {
                format!("; choose from {}", values.join(", "))
            }
            _ => String::new(),
        };
        eprintln!(
            "{program}: {}{choices} (see --help)",
            first.trim_start_matches("error: ")
        );
        std::process::exit(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_line_round_trips_and_reads_the_old_format() {
        let failures = [(kind::NO_ANSWER.to_string(), 996)].into();
        let report = Report {
            target: 1000,
            held: 4,
            ramp_s: 5.512,
            failures,
            ..Report::default()
        };
        assert_eq!(Report::parse_line(&report.line()).unwrap(), report);
        // As the hand-written writer printed it, with nulls for no probe.
        let old = "connhold-result {\"target\":2,\"held\":2,\"ramp_s\":0.100,\"failures\":{},\
                   \"probes\":3,\"probe_ms\":{\"p50\":0.250,\"p99\":null,\"max\":0.500},\
                   \"probe_failures\":{\"probe receive: timeout\":1}}";
        let r = Report::parse_line(old).unwrap();
        assert_eq!(
            (r.held, r.probe_ms.p50, r.probe_ms.p99),
            (2, Some(0.25), None)
        );
        assert_eq!(r.probe_failures["probe receive: timeout"], 1);
        let bad = ["Made 10 connections", "connhold-result {\"target\":2}"];
        assert!(bad.iter().all(|line| Report::parse_line(line).is_err()));
    }

    #[test]
    fn progress_lines_say_how_far_the_ramp_got() {
        assert_eq!(
            parse_made(&progress_line(10_001, 1152.85)),
            Some((10_001, false))
        );
        assert_eq!(parse_made(&ramp_line(9500, 9.5, 0)), Some((9500, true)));
        assert_eq!(parse_made("Held 9500 connections for 6 s"), None);
        let rate = number_in(1.0, 10.0);
        assert_eq!(
            ["2.5", "0", "NaN", "x"].map(|x| rate(x).ok()),
            [Some(2.5), None, None, None]
        );
    }
}
