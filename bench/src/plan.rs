//! What gets measured: the servers, the scenarios, and the order of the runs.

use serde::{Deserialize, Serialize};

use Scenario::*;

/// One workload, exposing one weakness.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// `wrk -t2 -c10 GET /`, the Python original's command; old results call it `seed`.
    #[default]
    #[serde(alias = "seed")]
    #[value(alias = "seed")]
    C10,
    C100,
    C1000,
    Close,
    Slow,
    Cpu,
    Workers,
    Logging,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [C10, C100, C1000, Close, Slow, Cpu, Workers, Logging];

    pub fn name(self) -> &'static str {
        self.about().0
    }

    /// What wrk does in this scenario. `workers` is `slow` and `logging` is
    /// `c10`, on differently started servers.
    pub fn workload(self) -> Workload {
        self.about().1
    }

    /// One line for the plan: what the scenario exposes.
    pub fn exposes(self) -> &'static str {
        self.about().2
    }

    fn about(self) -> (&'static str, Workload, &'static str) {
        let get = |connections, path| Workload {
            connections,
            path,
            close: false,
        };
        let (root, slow) = ("/", "/sleep?ms=10");
        match self {
            C10 => (
                "c10",
                get(10, root),
                "the Python original's exact command, for comparison",
            ),
            C100 => ("c100", get(100, root), "many concurrent keep-alive clients"),
            C1000 => (
                "c1000",
                get(1000, root),
                "more clients than threads or processes; system limits",
            ),
            Close => {
                let close = Workload {
                    close: true,
                    ..get(10, root)
                };
                (
                    "close",
                    close,
                    "a new connection per request: the cost of accept/fork/spawn",
                )
            }
            Slow => (
                "slow",
                get(100, slow),
                "waiting on I/O (10 ms) while others wait",
            ),
            Cpu => (
                "cpu",
                get(10, "/cpu?n=200"),
                "CPU-bound work: one core or two",
            ),
            Workers => (
                "workers",
                get(100, slow),
                "pool size against a slow workload",
            ),
            Logging => (
                "logging",
                get(10, root),
                "one log line per request (--verbose)",
            ),
        }
    }
}

/// wrk's settings for one run, beyond its two threads (the Python
/// original's `-t2`, and as many as this machine has cores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    pub connections: u32,
    pub path: &'static str,
    /// Send `Connection: close` with every request.
    pub close: bool,
}

impl Workload {
    /// As a person would type it, for the docs and the results file.
    pub fn describe(&self, duration_s: u64) -> String {
        let close = if self.close {
            " -H 'Connection: close'"
        } else {
            ""
        };
        format!(
            "wrk -t2 -c{} -d{duration_s}s{close} GET {}",
            self.connections, self.path
        )
    }
}

/// The pool sizes of the `workers` sweep (the Python original swept 1, 4, 10, 50).
pub const WORKER_COUNTS: [u32; 4] = [1, 4, 16, 64];

/// The servers in the order of the docs.
pub const SERVERS: [&str; 9] = [
    "simple_server",
    "cgi_server",
    "cgi_threading_server",
    "prefork_server",
    "threadpool1_server",
    "threadpool2_server",
    "noblocking_server",
    "multiplexingio_server",
    "async_server",
];

/// The production reference row.
pub const NGINX: &str = "nginx";
/// The second reference: multiplexingio_server's event loop with no HTTP at
/// all (`multiplexingio_server/examples/bare_mio.rs`), a fixed answer to
/// every request. The gap between the two is what the shared HTTP code costs.
pub const BARE_MIO: &str = "bare_mio";

/// The server the `logging` pair runs on by default: a pool of threads
/// sharing one stderr, as in the Python original's logging lesson.
pub const DEFAULT_LOGGING_SERVER: &str = "threadpool1_server";

/// A server as the plan sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    pub name: String,
    pub is_nginx: bool,
    /// Its `--help` lists `--workers`.
    pub has_workers: bool,
}

/// A run's name in tables and progress lines: "c1000", "workers w=16",
/// "logging verbose". The variant is "" for plain scenarios.
pub fn label(scenario: Scenario, variant: &str) -> String {
    match variant {
        "" => scenario.name().to_string(),
        _ => format!("{} {variant}", scenario.name()),
    }
}

/// One start of a server, the runs made against it (scenario and variant),
/// then a stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Index into the server list.
    pub server: usize,
    /// Arguments beyond `--host 127.0.0.1 --port 0`.
    pub args: Vec<String>,
    pub runs: Vec<(Scenario, String)>,
}

/// A scenario that does not apply to a server, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplicable {
    pub server: String,
    pub scenario: Scenario,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// `rounds[r]` starts every server once; repeats are rounds, so that a
    /// drift in steal time hits every server alike instead of one.
    pub rounds: Vec<Vec<Instance>>,
    pub not_applicable: Vec<NotApplicable>,
}

impl Plan {
    pub fn runs(&self) -> usize {
        self.rounds.iter().flatten().map(|i| i.runs.len()).sum()
    }

    pub fn starts(&self) -> usize {
        self.rounds.iter().map(Vec::len).sum()
    }
}

/// Why a scenario is skipped for a server, or `None` if it applies.
pub fn not_applicable(server: &ServerInfo, scenario: Scenario) -> Option<String> {
    let reason = match scenario {
        C10 | C100 | C1000 => return None,
        _ if server.name == BARE_MIO => {
            "bare_mio answers every request with the fixed hello and ignores Connection: close; \
             it is a yardstick for keep-alive GET / only"
        }
        Slow | Cpu if server.is_nginx => {
            "the reference config only returns the fixed hello; it has no /sleep or /cpu"
        }
        Workers if server.is_nginx => "nginx's worker_processes is not what the sweep is about",
        Workers if !server.has_workers => "no --workers option: the strategy has no fixed pool",
        Logging if server.is_nginx => "the reference config has access_log off",
        // The logging pair is measured on one server only, which needs no
        // reason on every other server's page.
        _ => return None,
    };
    Some(reason.to_string())
}

/// Builds the rounds for the selected servers and scenarios: each server's
/// plain scenarios in one start, then a start per pool size and per half of
/// the logging pair.
pub fn build(
    servers: &[ServerInfo],
    scenarios: &[Scenario],
    repeat: u32,
    logging_server: &str,
) -> Plan {
    let mut plan = Plan::default();
    let mut round = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        let instance = |args: &[String], scenario, variant: String| {
            let args = args.to_vec();
            Instance {
                server: index,
                args,
                runs: vec![(scenario, variant)],
            }
        };
        let mut plain = Vec::new();
        for &scenario in scenarios {
            if let Some(reason) = not_applicable(server, scenario) {
                let server = server.name.clone();
                plan.not_applicable.push(NotApplicable {
                    server,
                    scenario,
                    reason,
                });
                continue;
            }
            match scenario {
                Workers => round.extend(WORKER_COUNTS.map(|n| {
                    instance(
                        &["--workers".into(), n.to_string()],
                        scenario,
                        format!("w={n}"),
                    )
                })),
                Logging if server.name == logging_server => {
                    round.push(instance(&[], scenario, "quiet".into()));
                    round.push(instance(&["--verbose".into()], scenario, "verbose".into()));
                }
                Logging => {}
                _ => plain.push((scenario, String::new())),
            }
        }
        if !plain.is_empty() {
            // The server's plain instance comes before its sweeps.
            let at = round
                .iter()
                .position(|i| i.server == index)
                .unwrap_or(round.len());
            round.insert(
                at,
                Instance {
                    server: index,
                    args: Vec::new(),
                    runs: plain,
                },
            );
        }
    }
    if !round.is_empty() {
        plan.rounds = vec![round; repeat as usize];
    }
    plan
}

/// Seconds between two runs on the same server, to let it drain.
pub const SETTLE_S: f64 = 0.5;
/// Start, readiness probe and stop of one server, beyond the warm-up.
pub const START_STOP_S: f64 = 1.0;

/// Estimated wall-clock seconds for a plan.
pub fn estimate_s(plan: &Plan, duration_s: u64, warmup_s: u64) -> f64 {
    plan.runs() as f64 * (duration_s as f64 + SETTLE_S)
        + plan.starts() as f64 * (warmup_s as f64 + START_STOP_S)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> Vec<ServerInfo> {
        let pools = ["prefork_server", "threadpool1_server", "threadpool2_server"];
        let ours = SERVERS.map(|s| ServerInfo {
            name: s.into(),
            is_nginx: false,
            has_workers: pools.contains(&s),
        });
        let nginx = ServerInfo {
            name: NGINX.to_string(),
            is_nginx: true,
            has_workers: false,
        };
        ours.into_iter().chain([nginx]).collect()
    }

    #[test]
    fn the_plan_has_every_run_once_per_round_and_keeps_a_server_together() {
        let plan = build(&servers(), &Scenario::ALL, 3, DEFAULT_LOGGING_SERVER);
        // 9 servers × 6 plain scenarios, nginx × 4, 3 × 4 sweep runs, the logging pair;
        // 10 plain instances, 12 sweep instances, 2 logging instances.
        assert_eq!(
            (plan.rounds.len(), plan.runs(), plan.starts()),
            (3, 3 * 72, 3 * 24)
        );
        assert!(estimate_s(&plan, 5, 1) < 40.0 * 60.0);
        let skipped: Vec<String> = plan
            .not_applicable
            .iter()
            .map(|n| label(n.scenario, &n.server))
            .collect();
        assert!(
            skipped.contains(&"workers simple_server".into())
                && skipped.contains(&"slow nginx".into())
        );
        assert!(!skipped.contains(&"logging simple_server".into()));
        let round = &build(
            &servers()[3..4],
            &[Workers, C10, Logging],
            1,
            "prefork_server",
        )
        .rounds[0];
        let starts: Vec<String> = round
            .iter()
            .map(|i| format!("{} {:?}", label(i.runs[0].0, &i.runs[0].1), i.args))
            .collect();
        let expected = r#"c10 [], workers w=1 ["--workers", "1"], workers w=4 ["--workers", "4"], workers w=16 ["--workers", "16"], workers w=64 ["--workers", "64"], logging quiet [], logging verbose ["--verbose"]"#;
        assert_eq!(starts.join(", "), expected);
    }

    #[test]
    fn scenario_names_are_the_same_everywhere() {
        use clap::ValueEnum;
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_str(s.name(), false), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        assert_eq!(serde_json::from_str::<Scenario>("\"seed\"").unwrap(), C10);
        assert_eq!(
            Close.workload().describe(10),
            "wrk -t2 -c10 -d10s -H 'Connection: close' GET /"
        );
    }
}
