//! The results file: every run as measured, the summaries, and the context
//! (machine, date, settings) needed to trust them later.

use crate::json::Json;
use crate::machine::Machine;
use crate::plan::NotApplicable;
use crate::stats::{RunResult, Summary};
use crate::wrk::{self, Errors};

/// The settings a run was made with.
pub struct Settings<'a> {
    pub duration_s: u64,
    pub repeat: u32,
    pub warmup_s: u64,
    pub pinning: &'a str,
    pub quick: bool,
    pub logging_server: &'a str,
}

fn errors(e: &Errors) -> Json {
    Json::obj()
        .field("connect", e.connect)
        .field("read", e.read)
        .field("write", e.write)
        .field("timeout", e.timeout)
        .field("status_4xx_5xx", e.status)
        .field("total", e.total())
}

fn run(r: &RunResult) -> Json {
    let mut j = Json::obj()
        .field("server", r.server.as_str())
        .field("scenario", r.scenario.name())
        .field("variant", r.variant.as_str())
        .field("round", r.round)
        .field(
            "server_args",
            Json::Arr(
                r.server_args
                    .iter()
                    .map(|a| Json::from(a.as_str()))
                    .collect(),
            ),
        )
        .field("command", r.command.as_str())
        .field("ok", r.ok())
        .field("failure", r.failure.clone());
    if let Some(m) = &r.measured {
        let rep = &m.report;
        j = j
            .field("requests", rep.requests)
            .field("duration_us", rep.duration_us)
            .field("bytes", rep.bytes)
            .field("requests_per_s", rep.requests_per_s())
            .field(
                "latency_us",
                Json::obj()
                    .field("p50", rep.p50_us)
                    .field("p90", rep.p90_us)
                    .field("p99", rep.p99_us)
                    .field("max", rep.max_us),
            )
            .field("errors", errors(&rep.errors))
            .field("cpu_ms_per_1k_requests", m.cpu_ms_per_1k)
            .field("peak_pss_kib", m.peak.pss_kib)
            .field("peak_rss_kib", m.peak.rss_kib)
            .field("peak_processes", m.peak_processes)
            .field("waiting", m.waiting)
            .field("steal_pct", m.steal_pct);
    }
    j
}

fn summary(s: &Summary) -> Json {
    Json::obj()
        .field("server", s.server.as_str())
        .field("scenario", s.scenario.map(|sc| sc.name()))
        .field("variant", s.variant.as_str())
        .field("runs", s.runs)
        .field("failed_runs", s.failed)
        .field("runs_with_errors", s.runs_with_errors)
        .field("requests_per_s_median", s.rps_median)
        .field("requests_per_s_min", s.rps_min)
        .field("requests_per_s_max", s.rps_max)
        .field("spread_pct", s.spread_pct)
        .field("p50_us_median", s.p50_us)
        .field("p99_us_median", s.p99_us)
        .field("max_us", s.max_us)
        .field("errors_summed", errors(&s.errors))
        .field("cpu_ms_per_1k_requests_median", s.cpu_ms_per_1k)
        .field("peak_pss_kib", s.peak_pss_kib)
        .field("peak_rss_kib", s.peak_rss_kib)
        .field("peak_processes", s.peak_processes)
        .field("waiting_max", s.waiting_max)
        .field("steal_pct_median", s.steal_median_pct)
        .field("steal_pct_max", s.steal_max_pct)
}

pub fn to_json(
    machine: &Machine,
    settings: &Settings,
    runs: &[RunResult],
    summaries: &[Summary],
    not_applicable: &[NotApplicable],
    problems: &[String],
) -> Json {
    Json::obj()
        .field("schema", 1u64)
        .field("date", machine.date.as_str())
        .field(
            "machine",
            Json::obj()
                .field("cpu_model", machine.cpu_model.as_str())
                .field("cores", machine.cores)
                .field("kernel", machine.kernel.as_str())
                .field("rustc", machine.rustc.as_str())
                .field("wrk", machine.wrk.as_str())
                .field("nginx", machine.nginx.clone()),
        )
        .field(
            "settings",
            Json::obj()
                .field("duration_s", settings.duration_s)
                .field("repeat", settings.repeat)
                .field("warmup_s", settings.warmup_s)
                .field("wrk_timeout_s", wrk::TIMEOUT_S)
                .field("pinning", settings.pinning)
                .field("quick", settings.quick)
                .field("logging_server", settings.logging_server)
                .field(
                    "memory",
                    "peak over samples of the sum of Pss (and of Rss) from /proc/PID/smaps_rollup over the server's process tree",
                )
                .field(
                    "cpu",
                    "utime+stime+cutime+cstime summed over the tree, after minus before the run, per 1,000 completed requests",
                ),
        )
        .field("summaries", Json::Arr(summaries.iter().map(summary).collect()))
        .field(
            "not_applicable",
            Json::Arr(
                not_applicable
                    .iter()
                    .map(|n| {
                        Json::obj()
                            .field("server", n.server.as_str())
                            .field("scenario", n.scenario.name())
                            .field("reason", n.reason.as_str())
                    })
                    .collect(),
            ),
        )
        .field(
            "problems",
            Json::Arr(problems.iter().map(|p| Json::from(p.as_str())).collect()),
        )
        .field("runs", Json::Arr(runs.iter().map(run).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Scenario;
    use crate::stats::{Measured, summarize_all};

    #[test]
    fn the_file_records_machine_settings_runs_and_failures() {
        let runs = [
            RunResult {
                server: "simple_server".to_string(),
                scenario: Scenario::Seed,
                variant: String::new(),
                round: 1,
                server_args: vec![],
                command: "wrk -t2 -c10 -d5s GET /".to_string(),
                measured: Some(Measured::default()),
                failure: None,
            },
            RunResult {
                server: "simple_server".to_string(),
                scenario: Scenario::Seed,
                variant: String::new(),
                round: 2,
                server_args: vec![],
                command: String::new(),
                measured: None,
                failure: Some("wrk printed no report".to_string()),
            },
        ];
        let machine = Machine {
            cpu_model: "AMD EPYC".to_string(),
            ..Machine::default()
        };
        let settings = Settings {
            duration_s: 5,
            repeat: 2,
            warmup_s: 1,
            pinning: "none",
            quick: false,
            logging_server: "threadpool1_server",
        };
        let text = to_json(&machine, &settings, &runs, &summarize_all(&runs), &[], &[]).pretty();
        for needle in [
            "\"cpu_model\": \"AMD EPYC\"",
            "\"duration_s\": 5",
            "\"wrk_timeout_s\": 2",
            "\"failure\": \"wrk printed no report\"",
            "\"failed_runs\": 1",
            "\"ok\": true",
            "\"status_4xx_5xx\": 0",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }
}
