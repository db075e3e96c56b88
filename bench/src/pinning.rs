//! # `bench pinning` — should wrk and the server be pinned to CPUs?
//!
//! The same `c10` load with wrk pinned to CPU 0 (the server on the others)
//! and with no pinning, alternating, on simple_server and nginx by default,
//! to decide the default by measurement. It prints a table and writes
//! nothing: the figures of one such run are not a results file, so
//! docs/README.md keeps only the decision, in words.

use report::templates::{cpu, rate};
use results::bench::Pinning;
use results::scenario::Scenario;
use results::stats::{Measured, median, spread_pct};

use crate::benchmark::{Setup, apply_pinning};
use crate::cli::Load;
use crate::{server, stop_requested};

pub fn run(load: &Load) -> anyhow::Result<bool> {
    let setup = Setup::new()?;
    let mut chosen = setup.servers(&load.only)?;
    if load.only.is_empty() {
        chosen.retain(|s| s.is_nginx || s.name == "simple_server");
    }
    // Runs shorter than 2 s say nothing about a scheduler.
    let (duration, repeat) = (load.duration.unwrap_or(2).max(2), load.repeat());
    let count = chosen.len();
    println!(
        "bench: pinning check: c10 on {count} server(s), {repeat} rounds of {duration} s per mode"
    );
    let modes = Pinning::ALL;
    let mut results: Vec<(&str, Pinning, Measured)> = Vec::new();
    for round in 1..=repeat {
        for (server, mode) in chosen.iter().flat_map(|s| modes.map(|m| (s, m))) {
            let cpus = apply_pinning(mode, setup.cpus);
            let mut running =
                setup.start(server, &[], &format!("pin{round}-{}", mode.name()), &cpus)?;
            setup.warm_up(&running, load.warmup);
            let measured = setup.measure(&running, Scenario::C10.workload(), duration);
            if server::died(&mut running).is_none() {
                let _ = server::stop(running);
            }
            let said = format!("  round {round} {} pin={}", server.name, mode.name());
            match measured {
                Ok(m) => {
                    let (rps, cpu_ms) = (
                        rate(m.report.requests_per_s),
                        m.cpu_ms_per_1k.map_or("–".to_string(), cpu),
                    );
                    println!(
                        "{said}: {rps} req/s, CPU {cpu_ms} per 1k, steal {:.1}%",
                        m.steal_pct
                    );
                    results.push((&server.name, mode, m));
                }
                Err(e) => println!("{said}: FAILED: {e:#}"),
            }
            if stop_requested() {
                return Ok(false);
            }
        }
    }
    apply_pinning(Pinning::None, setup.cpus);
    println!(
        "\n| server | wrk pinning | req/s (median ± spread) | CPU per 1k req | steal |\n|---|---|--:|--:|--:|"
    );
    for (server, mode) in chosen.iter().flat_map(|s| modes.map(|m| (s, m))) {
        let of = results
            .iter()
            .filter(|(s, m, _)| *s == server.name && *m == mode)
            .map(|r| &r.2);
        let rps: Vec<f64> = of.clone().map(|m| m.report.requests_per_s).collect();
        let cpu_ms: Vec<f64> = of.clone().filter_map(|m| m.cpu_ms_per_1k).collect();
        let steal: Vec<f64> = of.map(|m| m.steal_pct).collect();
        let how = match mode {
            Pinning::None => "none (scheduler's choice)",
            Pinning::Split => "wrk -t2 on CPU 0, server on CPU 1",
        };
        let figure = |v: Option<f64>, f: fn(f64) -> String| v.map_or("–".to_string(), f);
        println!(
            "| {} | {how} | {} ±{:.0}% | {} | {:.1}% |",
            server.name,
            figure(median(&rps), rate),
            spread_pct(&rps).unwrap_or(0.0),
            figure(median(&cpu_ms), cpu),
            median(&steal).unwrap_or(0.0)
        );
    }
    Ok(true)
}
