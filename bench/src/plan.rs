//! What gets measured: the servers, the scenarios, and the order of the runs.

use serde::{Deserialize, Serialize};

/// One workload, exposing one weakness.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
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
    pub const ALL: [Scenario; 8] = [
        Scenario::C10,
        Scenario::C100,
        Scenario::C1000,
        Scenario::Close,
        Scenario::Slow,
        Scenario::Cpu,
        Scenario::Workers,
        Scenario::Logging,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::C10 => "c10",
            Scenario::C100 => "c100",
            Scenario::C1000 => "c1000",
            Scenario::Close => "close",
            Scenario::Slow => "slow",
            Scenario::Cpu => "cpu",
            Scenario::Workers => "workers",
            Scenario::Logging => "logging",
        }
    }

    /// What wrk does in this scenario. `workers` is `slow` and `logging` is
    /// `c10`, on differently started servers.
    pub fn workload(self) -> Workload {
        let get = |connections, path| Workload {
            threads: 2,
            connections,
            path,
            close: false,
        };
        match self {
            Scenario::C10 | Scenario::Logging => get(10, "/"),
            Scenario::C100 => get(100, "/"),
            Scenario::C1000 => get(1000, "/"),
            Scenario::Close => Workload {
                close: true,
                ..get(10, "/")
            },
            Scenario::Slow | Scenario::Workers => get(100, "/sleep?ms=10"),
            Scenario::Cpu => get(10, "/cpu?n=200"),
        }
    }

    /// One line for the docs: what the scenario exposes.
    pub fn exposes(self) -> &'static str {
        match self {
            Scenario::C10 => "the Python original's exact command, for comparison",
            Scenario::C100 => "many concurrent keep-alive clients",
            Scenario::C1000 => "more clients than threads or processes; system limits",
            Scenario::Close => "a new connection per request: the cost of accept/fork/spawn",
            Scenario::Slow => "waiting on I/O (10 ms) while others wait",
            Scenario::Cpu => "CPU-bound work: one core or two",
            Scenario::Workers => "pool size against a slow workload",
            Scenario::Logging => "one log line per request (--verbose)",
        }
    }
}

/// wrk's settings for one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    pub threads: u32,
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
            "wrk -t{} -c{} -d{}s{close} GET {}",
            self.threads, self.connections, duration_s, self.path
        )
    }
}

/// The pool sizes of the `workers` sweep (the Python original swept 1, 4, 10, 50).
pub const WORKER_COUNTS: [u32; 4] = [1, 4, 16, 64];

/// The servers in the order of the docs; nginx, the reference, comes last.
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

impl ServerInfo {
    /// The event loop with no HTTP: it can only answer keep-alive `GET /`.
    pub fn is_bare(&self) -> bool {
        self.name == BARE_MIO
    }
}

/// One measured run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    pub scenario: Scenario,
    /// "" for plain scenarios, "w=16" in the sweep, "quiet"/"verbose" for logging.
    pub variant: String,
}

impl RunSpec {
    pub fn label(&self) -> String {
        label(self.scenario, &self.variant)
    }
}

/// A run's name in tables and progress lines: "c1000", "workers w=16",
/// "logging verbose".
pub fn label(scenario: Scenario, variant: &str) -> String {
    if variant.is_empty() {
        scenario.name().to_string()
    } else {
        format!("{} {variant}", scenario.name())
    }
}

/// One start of a server, the runs made against it, then a stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Index into the server list.
    pub server: usize,
    /// Arguments beyond `--host 127.0.0.1 --port 0`.
    pub args: Vec<String>,
    pub runs: Vec<RunSpec>,
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
        Scenario::C10 | Scenario::C100 | Scenario::C1000 => return None,
        _ if server.is_bare() => {
            "bare_mio answers every request with the fixed hello and ignores Connection: close; \
             it is a yardstick for keep-alive GET / only"
        }
        Scenario::Slow | Scenario::Cpu if server.is_nginx => {
            "the reference config only returns the fixed hello; it has no /sleep or /cpu"
        }
        Scenario::Workers if server.is_nginx => {
            "nginx's worker_processes is not what the sweep is about"
        }
        Scenario::Workers if !server.has_workers => {
            "no --workers option: the strategy has no fixed pool"
        }
        Scenario::Logging if server.is_nginx => "the reference config has access_log off",
        // The logging pair is measured on one server only, which needs no
        // reason on every other server's page.
        _ => return None,
    };
    Some(reason.to_string())
}

/// Builds the rounds for the selected servers and scenarios.
pub fn build(
    servers: &[ServerInfo],
    scenarios: &[Scenario],
    repeat: u32,
    logging_server: &str,
) -> Plan {
    let mut plan = Plan::default();
    let mut round = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        let mut plain = Vec::new();
        for &scenario in scenarios {
            if let Some(reason) = not_applicable(server, scenario) {
                plan.not_applicable.push(NotApplicable {
                    server: server.name.clone(),
                    scenario,
                    reason,
                });
                continue;
            }
            let spec = |variant: &str| RunSpec {
                scenario,
                variant: variant.to_string(),
            };
            match scenario {
                Scenario::Workers => {
                    for count in WORKER_COUNTS {
                        round.push(Instance {
                            server: index,
                            args: vec!["--workers".to_string(), count.to_string()],
                            runs: vec![spec(&format!("w={count}"))],
                        });
                    }
                }
                Scenario::Logging if server.name == logging_server => {
                    round.push(Instance {
                        server: index,
                        args: Vec::new(),
                        runs: vec![spec("quiet")],
                    });
                    round.push(Instance {
                        server: index,
                        args: vec!["--verbose".to_string()],
                        runs: vec![spec("verbose")],
                    });
                }
                Scenario::Logging => {}
                _ => plain.push(spec("")),
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
        let mut list: Vec<ServerInfo> = SERVERS
            .iter()
            .map(|name| ServerInfo {
                name: name.to_string(),
                is_nginx: false,
                has_workers: matches!(
                    *name,
                    "prefork_server" | "threadpool1_server" | "threadpool2_server"
                ),
            })
            .collect();
        list.push(ServerInfo {
            name: NGINX.to_string(),
            is_nginx: true,
            has_workers: false,
        });
        list
    }

    #[test]
    fn the_full_plan_has_every_run_once_per_round() {
        let plan = build(&servers(), &Scenario::ALL, 3, DEFAULT_LOGGING_SERVER);
        assert_eq!(plan.rounds.len(), 3);
        // 9 servers × 6 plain scenarios, nginx × 4, 3 × 4 sweep runs, the logging pair.
        assert_eq!(plan.runs(), 3 * (54 + 4 + 12 + 2));
        // 10 plain instances, 12 sweep instances, 2 logging instances.
        assert_eq!(plan.starts(), 3 * 24);
        let estimate = estimate_s(&plan, 5, 1);
        assert!(estimate < 40.0 * 60.0, "{estimate}");
    }

    #[test]
    fn skipped_scenarios_say_why() {
        let plan = build(&servers(), &Scenario::ALL, 1, DEFAULT_LOGGING_SERVER);
        let reasons: Vec<(&str, &str)> = plan
            .not_applicable
            .iter()
            .map(|n| (n.server.as_str(), n.scenario.name()))
            .collect();
        assert!(reasons.contains(&("simple_server", "workers")));
        assert!(reasons.contains(&("nginx", "slow")));
        assert!(!reasons.contains(&("simple_server", "logging")));
        assert!(plan.not_applicable.iter().all(|n| !n.reason.is_empty()));
    }

    #[test]
    fn instances_of_a_server_stay_together() {
        let plan = build(
            &servers()[3..4],
            &[Scenario::Workers, Scenario::C10, Scenario::Logging],
            1,
            "prefork_server",
        );
        let round = &plan.rounds[0];
        assert_eq!(round[0].args, Vec::<String>::new());
        assert_eq!(round[0].runs[0].label(), "c10");
        assert_eq!(round[1].args, ["--workers", "1"]);
        assert_eq!(round[4].runs[0].label(), "workers w=64");
        assert_eq!(round[6].args, ["--verbose"]);
        assert_eq!(round[6].runs[0].label(), "logging verbose");
    }

    #[test]
    fn scenario_names_round_trip() {
        use clap::ValueEnum;
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_str(s.name(), false), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
        }
        assert_eq!(
            Scenario::Close.workload().describe(10),
            "wrk -t2 -c10 -d10s -H 'Connection: close' GET /"
        );
    }
}
