//! The harness's command line (scripts/bench_all.sh passes its arguments on).

use crate::plan::{self, Scenario};

pub const USAGE: &str = "\
Usage: scripts/bench_all.sh [options]

Runs wrk against every server under several workloads and writes the results
to docs/results/*.json, the tables in docs/<server>.md and docs/README.md.

Options:
  --only NAME[,NAME]      servers to measure (default: all, and nginx if installed)
  --scenario NAME[,NAME]  seed, c100, c1000, close, slow, cpu, workers, logging (default: all)
  --duration S            seconds per run (default 5; `--duration 10` is the seed's exact command)
  --repeat N              runs of each; the median is recorded with the spread (default 3)
  --warmup S              seconds of load before a server's first run (default 1)
  --quick                 1 s runs, one repeat, results in a temporary folder, docs untouched
  --out DIR               where results and docs go (default: docs, or a temporary folder with --quick)
  --pin none|split        split: wrk on CPU 0, the server on the others (default: none, see docs)
  --logging-server NAME   the server of the logging pair (default: threadpool1_server)
  --measure-pinning       compare wrk pinned and unpinned on seed, print the figures, write nothing
  --dry-run               print the plan and the estimated time, run nothing
  --help                  this text
";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pinning {
    /// Let the scheduler place wrk and the server.
    #[default]
    None,
    /// wrk (and the harness) on CPU 0, the server on every other CPU.
    Split,
}

impl Pinning {
    pub fn name(self) -> &'static str {
        match self {
            Pinning::None => "none",
            Pinning::Split => "split",
        }
    }

    /// For the docs' header.
    pub fn describe(self) -> &'static str {
        match self {
            Pinning::None => "none (scheduler's choice)",
            Pinning::Split => "wrk on CPU 0, server on the others",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub only: Option<Vec<String>>,
    pub scenarios: Vec<Scenario>,
    pub duration_s: u64,
    pub repeat: u32,
    pub warmup_s: u64,
    pub quick: bool,
    pub out: Option<String>,
    pub pin: Pinning,
    pub logging_server: String,
    pub measure_pinning: bool,
    pub dry_run: bool,
}

/// Why the harness should not run: help was asked for, or an argument is bad.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    Help,
    Bad(String),
}

fn number(flag: &str, text: &str, min: u64, max: u64) -> Result<u64, Stop> {
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            Stop::Bad(format!(
                "{flag} needs a whole number from {min} to {max}, not {text:?}"
            ))
        })
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, Stop> {
    let mut only = None;
    let mut scenarios = None;
    let mut duration = None;
    let mut repeat = None;
    let mut warmup = None;
    let mut quick = false;
    let mut out = None;
    let mut pin = Pinning::None;
    let mut logging_server = plan::DEFAULT_LOGGING_SERVER.to_string();
    let mut measure_pinning = false;
    let mut dry_run = false;

    let args: Vec<String> = args.into_iter().collect();
    // A separate mode with its own options; it runs here and exits.
    if args.first().is_some_and(|a| a == "capacity") {
        std::process::exit(crate::capacity::main(&args[1..]));
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| Stop::Bad(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Err(Stop::Help),
            "--quick" => quick = true,
            "--dry-run" => dry_run = true,
            "--measure-pinning" => measure_pinning = true,
            "--only" => {
                let names: Vec<String> =
                    value()?.split(',').map(|s| s.trim().to_string()).collect();
                for name in &names {
                    if !plan::SERVERS.contains(&name.as_str())
                        && name != plan::NGINX
                        && name != plan::BARE_MIO
                    {
                        return Err(Stop::Bad(format!(
                            "unknown server {name:?}; choose from {}, {}, {}",
                            plan::SERVERS.join(", "),
                            plan::NGINX,
                            plan::BARE_MIO
                        )));
                    }
                }
                only = Some(names);
            }
            "--scenario" => {
                let mut list = Vec::new();
                for name in value()?.split(',') {
                    let scenario = Scenario::parse(name.trim()).ok_or_else(|| {
                        let all: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                        Stop::Bad(format!(
                            "unknown scenario {name:?}; choose from {}",
                            all.join(", ")
                        ))
                    })?;
                    if !list.contains(&scenario) {
                        list.push(scenario);
                    }
                }
                list.sort();
                scenarios = Some(list);
            }
            "--duration" => duration = Some(number("--duration", &value()?, 1, 600)?),
            "--repeat" => repeat = Some(number("--repeat", &value()?, 1, 50)? as u32),
            "--warmup" => warmup = Some(number("--warmup", &value()?, 0, 60)?),
            "--out" => out = Some(value()?),
            "--pin" => {
                pin = match value()?.as_str() {
                    "none" => Pinning::None,
                    "split" => Pinning::Split,
                    other => {
                        return Err(Stop::Bad(format!(
                            "--pin takes none or split, not {other:?}"
                        )));
                    }
                }
            }
            "--logging-server" => {
                let name = value()?;
                if !plan::SERVERS.contains(&name.as_str()) {
                    return Err(Stop::Bad(format!(
                        "unknown server {name:?} for --logging-server"
                    )));
                }
                logging_server = name;
            }
            _ => return Err(Stop::Bad(format!("unknown argument {flag:?}"))),
        }
    }
    Ok(Options {
        only,
        scenarios: scenarios.unwrap_or_else(|| Scenario::ALL.to_vec()),
        duration_s: duration.unwrap_or(if quick || measure_pinning { 1 } else { 5 }),
        repeat: repeat.unwrap_or(if quick { 1 } else { 3 }),
        warmup_s: warmup.unwrap_or(1),
        quick,
        out,
        pin,
        logging_server,
        measure_pinning,
        dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Options, Stop> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_quick() {
        let o = parse_strs(&[]).unwrap();
        assert_eq!(
            (o.duration_s, o.repeat, o.warmup_s, o.quick),
            (5, 3, 1, false)
        );
        assert_eq!(o.scenarios.len(), 8);
        let q = parse_strs(&["--quick"]).unwrap();
        assert_eq!((q.duration_s, q.repeat), (1, 1));
        let q = parse_strs(&["--quick", "--duration", "2"]).unwrap();
        assert_eq!(q.duration_s, 2);
    }

    #[test]
    fn lists_and_values() {
        let o = parse_strs(&[
            "--only",
            "simple_server,nginx",
            "--scenario=slow,seed,slow",
            "--duration",
            "10",
            "--repeat=5",
            "--pin",
            "split",
        ])
        .unwrap();
        assert_eq!(o.only.unwrap(), ["simple_server", "nginx"]);
        assert_eq!(o.scenarios, [Scenario::Seed, Scenario::Slow]);
        assert_eq!((o.duration_s, o.repeat, o.pin), (10, 5, Pinning::Split));
    }

    #[test]
    fn mistakes_are_named() {
        for args in [
            &["--only", "apache"][..],
            &["--scenario", "c10"],
            &["--duration", "0"],
            &["--repeat"],
            &["--pin", "cpu0"],
            &["--bogus"],
        ] {
            assert!(matches!(parse_strs(args), Err(Stop::Bad(_))), "{args:?}");
        }
        assert_eq!(parse_strs(&["--help"]), Err(Stop::Help));
    }
}
