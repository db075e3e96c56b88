//! The command line of `bench`: one subcommand per measurement. The scripts
//! pass their own arguments on (`scripts/bench_all.sh` → `bench wrk`,
//! `scripts/connections.sh` → `bench capacity`), so the options here are
//! the scripts' documented options.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, value_parser};
use connhold::number_in;
use results::bench::Pinning;
use results::scenario::{self, Scenario};

use crate::plan;

/// The measuring tools behind scripts/bench_all.sh and scripts/connections.sh.
#[derive(Debug, Parser)]
#[command(name = "bench")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs wrk against every server under several workloads and writes the
    /// results to docs/results/*.json, the tables in docs/<server>.md and
    /// docs/README.md.
    #[command(override_usage = "scripts/bench_all.sh [OPTIONS]    (runs `bench wrk`)")]
    Wrk(WrkArgs),
    /// Opens ever more idle keep-alive connections to each server with
    /// connhold, and records what holding them costs: the server's PSS and RSS
    /// (summed over its process tree), KiB per connection, threads,
    /// processes, the latency of a fresh request while they are held, and why
    /// the first failing step failed. Writes docs/results/connections.json,
    /// the table in docs/connections.md and one line in each chapter.
    #[command(override_usage = "scripts/connections.sh [OPTIONS]    (runs `bench capacity`)")]
    Capacity(CapacityArgs),
    /// Compares wrk pinned to CPU 0 (the server on the others) with no
    /// pinning, on c10, alternating; prints the figures, writes nothing.
    #[command(override_usage = "scripts/bench_all.sh --measure-pinning [OPTIONS]")]
    Pinning(Load),
    /// Attacks every server with hostile clients (slowloris, slow bodies, slow
    /// readers, pipelined floods, connection churn, running it out of
    /// descriptors), watching a fresh client and the server meanwhile.
    /// Writes docs/results/robustness.json, the table in docs/robustness.md
    /// and one table in each chapter.
    #[command(override_usage = "scripts/hostile.sh [OPTIONS]    (runs `bench hostile`)")]
    Hostile(HostileArgs),
    /// Counts each server's system calls with `strace -f -c` under two wrk
    /// loads (keep-alive, and a new connection per request), per request
    /// answered. Writes docs/results/syscalls.json and the pages that show it.
    #[command(override_usage = "scripts/syscalls.sh [OPTIONS]    (runs `bench syscalls`)")]
    Syscalls(crate::syscalls::SyscallsArgs),
    /// Open-loop load: requests at a constant offered rate, latency counted
    /// from each request's due time. With --rate, one run per server,
    /// printed (--json: one object per run). Without it, every server's
    /// latency against offered rate, its CPU per request at one rate all of
    /// them sustain, and its idle cost: docs/results/latency.json.
    #[command(override_usage = "scripts/latency.sh [OPTIONS]    (runs `bench latency`)")]
    Latency(crate::latency::LatencyArgs),
    /// Measures nothing: rewrites every generated block of docs/ (tables,
    /// charts, figures, code) from the committed results (the newest
    /// docs/results/bench-*.json, connections.json, robustness.json,
    /// syscalls.json) and the sources, and checks the claims of the prose.
    /// Run from the repository's root.
    Pages(PagesArgs),
}

#[derive(Clone, Debug, Default, Args)]
pub struct PagesArgs {
    /// The folder of pages to rewrite (default: docs); the results are always docs/results
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only these pages (and the charts they ask for); default: every page
    #[arg(value_name = "PAGE")]
    pub pages: Vec<PathBuf>,
}

#[derive(Clone, Debug, Default, Args)]
pub struct HostileArgs {
    /// Servers to attack, comma-separated (default: all)
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(scenario::SERVERS))]
    pub only: Vec<String>,
    /// Attacks, comma-separated (default: all)
    #[arg(long = "attack", value_name = "NAME[,NAME]", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(crate::hostile::ATTACKS))]
    pub attacks: Vec<String>,
    /// Short attacks with fewer clients; results in a temporary folder, docs untouched
    #[arg(long)]
    pub quick: bool,
    /// Where results and docs go (default: docs, or a temporary folder with --quick, --only or --attack)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The servers and the load of a wrk measurement: shared by `wrk` and `pinning`.
#[derive(Clone, Debug, Default, Args)]
pub struct Load {
    /// Servers to measure, comma-separated (default: all, and nginx if installed)
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(scenario::SERVERS.iter().chain(&[scenario::NGINX, scenario::HYPER, scenario::BARE_MIO])))]
    pub only: Vec<String>,
    /// Seconds per run [default: 5, or 1 with --quick; for pinning 2, and at least 2]
    #[arg(long, value_name = "S", value_parser = value_parser!(u64).range(1..=600))]
    pub duration: Option<u64>,
    /// Runs of each; the median is recorded with the spread [default: 3; 1 with --quick]
    #[arg(long, value_name = "N", value_parser = value_parser!(u32).range(1..=50))]
    pub repeat: Option<u32>,
    /// Seconds of load before a server's first run
    #[arg(long, value_name = "S", default_value_t = 1, value_parser = value_parser!(u64).range(0..=60))]
    pub warmup: u64,
    /// 1 s runs, one repeat, results in a temporary folder, docs untouched
    #[arg(long)]
    pub quick: bool,
}

impl Load {
    /// `--duration 10` is the Python original's exact `wrk -t2 -c10 -d10s`.
    pub fn duration_s(&self) -> u64 {
        self.duration.unwrap_or(if self.quick { 1 } else { 5 })
    }

    pub fn repeat(&self) -> u32 {
        self.repeat.unwrap_or(if self.quick { 1 } else { 3 })
    }
}

#[derive(Clone, Debug, Default, Args)]
pub struct WrkArgs {
    #[command(flatten)]
    pub load: Load,
    /// Scenarios, comma-separated (default: all)
    #[arg(
        long = "scenario",
        value_name = "NAME[,NAME]",
        value_delimiter = ',',
        value_parser = one_of(&Scenario::ALL, scenario_value)
    )]
    pub scenarios: Vec<Scenario>,
    /// Where results and docs go (default: docs, or a temporary folder with --quick, --only or --scenario)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// none: the scheduler places wrk and the server; split: wrk on CPU 0, the server on the others (see docs/README.md)
    #[arg(long, value_name = "none|split", default_value = "none",
          value_parser = one_of(&Pinning::ALL, |p| PossibleValue::new(p.name())))]
    pub pin: Pinning,
    /// The server of the logging pair (c10 without and with --verbose)
    #[arg(long, value_name = "NAME", default_value = plan::DEFAULT_LOGGING_SERVER,
          value_parser = PossibleValuesParser::new(scenario::SERVERS))]
    pub logging_server: String,
    /// Compare wrk pinned and unpinned on c10, print the figures, write nothing (`bench pinning`)
    #[arg(long)]
    pub measure_pinning: bool,
    /// Print the plan and the estimated time, run nothing
    #[arg(long)]
    pub dry_run: bool,
}

impl WrkArgs {
    /// The chosen scenarios, once each and in their usual order.
    pub fn scenarios(&self) -> Vec<Scenario> {
        let mut list = if self.scenarios.is_empty() {
            Scenario::ALL.to_vec()
        } else {
            self.scenarios.clone()
        };
        list.sort();
        list.dedup();
        list
    }
}

/// A clap parser for one of report's enums (report knows nothing of clap):
/// the names the results files use, and the value they stand for.
fn one_of<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    value: fn(T) -> PossibleValue,
) -> impl TypedValueParser<Value = T> {
    let values = all.iter().map(move |&t| value(t));
    // The name was checked against the same values: it matches one.
    PossibleValuesParser::new(values).map(move |name| {
        let matches = |t: &T| value(*t).matches(&name, false);
        all.iter().copied().find(matches).unwrap_or(all[0])
    })
}

/// A scenario as `--scenario` offers it: `seed` is the old name of c10.
fn scenario_value(s: Scenario) -> PossibleValue {
    match s {
        Scenario::C10 => PossibleValue::new(s.name()).alias("seed").help(
            "`wrk -t2 -c10 GET /`, the Python original's command; old results call it `seed`",
        ),
        _ => PossibleValue::new(s.name()),
    }
}

#[derive(Clone, Debug, Default, Args)]
pub struct CapacityArgs {
    /// Connections per step, comma-separated [default: 1000,5000,10000,15000,19000; 200,1000 with --quick]
    #[arg(long, value_name = "N[,N]", value_delimiter = ',',
          value_parser = value_parser!(u64).range(1..=1_000_000))]
    pub steps: Vec<u64>,
    /// Servers to measure, comma-separated (default: all, nginx if installed, and hyper)
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(scenario::SERVERS.iter().chain(&[scenario::NGINX, scenario::HYPER])))]
    pub only: Vec<String>,
    /// Seconds connhold holds each step [default: 10, which is ten probes; 4 with --quick]
    #[arg(long, value_name = "S", value_parser = value_parser!(u64).range(3..=600))]
    pub hold: Option<u64>,
    /// New connections per second
    #[arg(long, value_name = "R", default_value_t = 2000.0, value_parser = number_in(1.0, 100_000.0))]
    pub rate: f64,
    /// Seconds a connection may take to be answered
    #[arg(long, value_name = "S", default_value_t = 5, value_parser = value_parser!(u64).range(1..=120))]
    pub timeout: u64,
    /// Most connections one connhold process opens (it holds just under its open-file limit)
    #[arg(long, value_name = "N", default_value_t = 18_000,
          value_parser = value_parser!(u64).range(100..=1_000_000))]
    pub per_client: u64,
    /// Stop when the machine's MemAvailable falls below this
    #[arg(long, value_name = "G", default_value_t = 4.0, value_parser = number_in(0.0, 1e6))]
    pub min_available_gib: f64,
    /// Steps 200,1000, 4 s holds, results in a temporary folder, docs untouched
    #[arg(long)]
    pub quick: bool,
    /// Where results and docs go (default: docs, or a temporary folder with --quick, --only or --steps)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl CapacityArgs {
    /// The steps, smallest first, once each.
    pub fn steps(&self) -> Vec<u64> {
        let mut steps = match (self.steps.is_empty(), self.quick) {
            (false, _) => self.steps.clone(),
            (true, true) => vec![200, 1000],
            (true, false) => vec![1000, 5000, 10_000, 15_000, 19_000],
        };
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    pub fn hold_s(&self) -> u64 {
        self.hold.unwrap_or(if self.quick { 4 } else { 10 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str) -> Result<Command, clap::Error> {
        Cli::try_parse_from(["bench"].into_iter().chain(args.split(' '))).map(|cli| cli.command)
    }

    #[test]
    fn defaults_quick_and_lists() {
        let Ok(Command::Wrk(o)) = parse("wrk --pin none") else {
            panic!()
        };
        assert_eq!(
            (
                o.load.duration_s(),
                o.load.repeat(),
                o.load.warmup,
                o.scenarios().len()
            ),
            (5, 3, 1, 10)
        );
        let Ok(Command::Wrk(q)) = parse("wrk --quick --duration 2") else {
            panic!()
        };
        assert_eq!((q.load.duration_s(), q.load.repeat()), (2, 1));
        // `seed` is the old name of c10.
        let Ok(Command::Wrk(o)) =
            parse("wrk --only simple_server,nginx --scenario=slow,seed,slow --pin split")
        else {
            panic!()
        };
        assert_eq!(
            (o.load.only.join(","), o.scenarios(), o.pin),
            (
                "simple_server,nginx".into(),
                vec![Scenario::C10, Scenario::Slow],
                Pinning::Split
            )
        );
        let Ok(Command::Capacity(c)) = parse("capacity --timeout 5") else {
            panic!()
        };
        assert_eq!(
            (c.steps(), c.hold_s(), c.per_client, c.rate),
            (vec![1000, 5000, 10_000, 15_000, 19_000], 10, 18_000, 2000.0)
        );
        let Ok(Command::Capacity(q)) = parse("capacity --quick --steps=5000,1000,5000") else {
            panic!()
        };
        assert_eq!((q.steps(), q.hold_s()), (vec![1000, 5000], 4));
        assert!(matches!(
            parse("pinning --only nginx"),
            Ok(Command::Pinning(_))
        ));
        let Ok(Command::Pages(p)) = parse("pages --out /tmp/x") else {
            panic!()
        };
        assert_eq!(p.out, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn scenario_names_are_the_same_everywhere() {
        // The names of the results files, and `seed` for c10.
        for s in Scenario::ALL {
            let Ok(Command::Wrk(o)) = parse(&format!("wrk --scenario {}", s.name())) else {
                panic!()
            };
            assert_eq!(o.scenarios(), [s]);
        }
        let Ok(Command::Wrk(o)) = parse("wrk --scenario seed") else {
            panic!()
        };
        assert_eq!(o.scenarios(), [Scenario::C10]);
    }

    #[test]
    fn mistakes_are_refused() {
        let wrk = "--only apache|--scenario c10000|--duration 0|--repeat|--pin cpu0|--logging-server nginx|--bogus";
        let capacity = "--steps 0|--steps 1k|--only bare_mio|--hold 1|--rate 0|--out";
        let args = wrk
            .split('|')
            .map(|a| format!("wrk {a}"))
            .chain(capacity.split('|').map(|a| format!("capacity {a}")));
        let hostile = [
            "hostile --attack nope",
            "hostile --only nginx",
            "hostile --out",
        ];
        for args in args.chain(hostile.map(String::from)) {
            assert!(parse(&args).is_err(), "{args}");
        }
        let Ok(Command::Hostile(h)) = parse("hostile --quick --attack churn,slow-body") else {
            panic!()
        };
        assert_eq!((h.quick, h.attacks.len()), (true, 2));
    }
}
