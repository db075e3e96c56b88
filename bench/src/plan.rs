//! The order of the runs: which server starts when, with which arguments,
//! for which scenarios; which scenarios do not apply to a server and why;
//! and how long it all takes. The servers and the scenarios themselves are
//! the results files' vocabulary, in `results::scenario`.

use results::scenario::{BARE_MIO, HYPER, NotApplicable, Scenario, WORKER_COUNTS};

use Scenario::*;

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
        C10 | C100 | C1000 | Pipelined => return None,
        _ if server.name == BARE_MIO => {
            "bare_mio answers every request with the fixed hello and ignores Connection: close; \
             it is a yardstick for keep-alive GET / only"
        }
        Slow | Cpu if server.is_nginx => {
            "the reference config only returns the fixed hello; it has no /sleep or /cpu"
        }
        Workers | WorkersFast if server.is_nginx || server.name == HYPER => {
            "a reference's workers are not what the sweep is about"
        }
        Logging if server.name == HYPER => "the reference logs nothing",
        Workers | WorkersFast if !server.has_workers => {
            "no --workers option: the strategy has no fixed pool"
        }
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
                Workers | WorkersFast => round.extend(WORKER_COUNTS.map(|n| {
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
    use results::scenario::{NGINX, SERVERS, label};

    use super::*;

    fn servers() -> Vec<ServerInfo> {
        // Every server whose --help lists --workers (percore_server's are its loops).
        let pools = [
            "prefork_server",
            "threadpool1_server",
            "threadpool2_server",
            "percore_server",
        ];
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
        // 11 servers × 7 plain scenarios, nginx × 5, 4 pools × 2 sweeps × 4 sizes, the
        // logging pair; 12 plain instances, 32 sweep instances, 2 logging instances.
        assert_eq!(
            (plan.rounds.len(), plan.runs(), plan.starts()),
            (3, 3 * 116, 3 * 46)
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
}
