//! The templates of the generated sections (`report/templates/*.md`), and
//! the number formats they use. Every word of a generated section is in a
//! template; Rust supplies the values. Names are strict: a template or a
//! claim that reads a name the tree does not have is an error, not a blank.

use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};

/// Every template, by the block name that uses it.
const TEMPLATES: [(&str, &str); 16] = [
    ("bench", include_str!("../templates/bench.md")),
    ("bench-table", include_str!("../templates/bench-table.md")),
    ("compare", include_str!("../templates/compare.md")),
    ("sweeps", include_str!("../templates/sweeps.md")),
    ("errors", include_str!("../templates/errors.md")),
    ("python", include_str!("../templates/python.md")),
    ("syscalls", include_str!("../templates/syscalls.md")),
    ("idle", include_str!("../templates/idle.md")),
    ("idle-steps", include_str!("../templates/idle-steps.md")),
    ("hostile", include_str!("../templates/hostile.md")),
    (
        "hostile-server",
        include_str!("../templates/hostile-server.md"),
    ),
    ("matrix", include_str!("../templates/matrix.md")),
    ("code", include_str!("../templates/code.md")),
    ("source", include_str!("../templates/source.md")),
    ("chart", include_str!("../templates/chart.md")),
    ("run", include_str!("../templates/run.md")),
];

/// The names of the templates, for the lint and the tests.
pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
    TEMPLATES.into_iter()
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, source) in TEMPLATES {
        // The sources are compiled into this crate; a broken one fails every test.
        if let Err(e) = env.add_template(name, source) {
            panic!("report/templates/{name}.md: {e:#}");
        }
    }
    env.add_filter("rate", |v: Option<f64>| opt(v, rate));
    env.add_filter("us", |v: Option<f64>| opt(v, latency));
    env.add_filter("ms", |v: Option<f64>| opt(v, |ms| latency(ms * 1000.0)));
    env.add_filter("cpu", |v: Option<f64>| opt(v, cpu));
    env.add_filter("kib", |v: Option<f64>| opt(v, |k| memory(k.round() as u64)));
    env.add_filter("kibs", |v: Option<f64>| opt(v, |k| figure(k) + " KiB"));
    env.add_filter("per", |v: Option<f64>| opt(v, per_request));
    env.add_filter("int", |v: Option<f64>| {
        opt(v, |n| results::thousands(n.round() as u64))
    });
    env.add_filter("dec", |v: Option<f64>, places: Option<usize>| {
        opt(v, |x| format!("{x:.*}", places.unwrap_or(2)))
    });
    env.add_filter("pct", |v: Option<f64>| opt(v, |p| format!("{p:.0}%")));
    env.add_filter("times", |v: Option<f64>| opt(v, times));
    env.add_filter("split", |s: String, sep: String| -> Vec<String> {
        s.split(sep.as_str()).map(str::to_string).collect()
    });
    env.add_filter("warn", |row: Value| {
        let troubled = row.get_attr("troubled").is_ok_and(|t| t.is_true());
        if troubled { "⚠ " } else { "" }.to_string()
    });
    env.add_filter("spread", |row: Value| {
        let (runs, spread) = (row.get_attr("runs"), row.get_attr("spread"));
        let many = runs.is_ok_and(|r| u64::try_from(r).is_ok_and(|r| r > 1));
        match spread.ok().and_then(|s| f64::try_from(s).ok()) {
            Some(s) if many => format!(" ±{s:.0}%"),
            _ => String::new(),
        }
    });
    env.add_function("ratio", |a: Option<f64>, b: Option<f64>| {
        a.zip(b).filter(|(_, b)| *b != 0.0).map(|(a, b)| a / b)
    });
    env
}

/// A figure, or "–" when there is none.
fn opt(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or_else(|| "–".to_string(), format)
}

/// Requests per second: whole, with separators; one decimal below 100.
pub fn rate(rps: f64) -> String {
    if rps < 100.0 {
        format!("{rps:.1}")
    } else {
        results::thousands(rps.round() as u64)
    }
}

/// Microseconds as a person reads them: "812 µs", "8.12 ms", "81.2 ms", "1.20 s".
pub fn latency(us: f64) -> String {
    match us {
        _ if us < 1000.0 => format!("{us:.0} µs"),
        _ if us < 10_000.0 => format!("{:.2} ms", us / 1000.0),
        _ if us < 1_000_000.0 => format!("{:.1} ms", us / 1000.0),
        _ => format!("{:.2} s", us / 1e6),
    }
}

/// KiB as "812 KiB", "3.2 MiB", "1.21 GiB".
pub fn memory(kib: u64) -> String {
    match kib {
        _ if kib < 1024 => format!("{kib} KiB"),
        _ if kib < 1024 * 1024 => format!("{:.1} MiB", kib as f64 / 1024.0),
        _ => format!("{:.2} GiB", kib as f64 / 1024.0 / 1024.0),
    }
}

/// CPU milliseconds per 1,000 requests: three figures.
pub fn cpu(ms: f64) -> String {
    match ms {
        _ if ms < 1.0 => format!("{ms:.2} ms"),
        _ if ms < 10.0 => format!("{ms:.1} ms"),
        _ => format!("{ms:.0} ms"),
    }
}

/// A quantity in three figures at most: "0.57", "29.8", "74".
pub fn figure(x: f64) -> String {
    match x.abs() {
        a if a < 10.0 => format!("{x:.2}"),
        a if a < 100.0 => format!("{x:.1}"),
        _ => format!("{x:.0}"),
    }
}

/// Calls per request: "2.01", and two significant figures below a tenth
/// ("0.077", "0.00030"), so that a call made once in thousands of requests
/// does not read as never.
pub fn per_request(x: f64) -> String {
    if x <= 0.0 || x >= 0.1 {
        return format!("{x:.2}");
    }
    let places = (-x.log10()).ceil() as usize + 1;
    format!("{x:.places$}")
}

/// A ratio: "1.87×", "0.53×", "12×".
pub fn times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!([rate(98.04), rate(41203.4)], ["98.0", "41,203"]);
        let l = [812.0, 8120.0, 81_200.0, 1_200_000.0].map(latency);
        assert_eq!(l, ["812 µs", "8.12 ms", "81.2 ms", "1.20 s"]);
        assert_eq!(
            [memory(812), memory(3277), memory(1_268_777)],
            ["812 KiB", "3.2 MiB", "1.21 GiB"]
        );
        assert_eq!(
            [cpu(0.527), cpu(6.43), cpu(19.5)],
            ["0.53 ms", "6.4 ms", "20 ms"]
        );
        assert_eq!([times(1.874), times(12.38)], ["1.87×", "12×"]);
        let calls = [2.013, 0.077, 0.0003, 0.0].map(per_request);
        assert_eq!(calls, ["2.01", "0.077", "0.00030", "0.00"]);
        let env = environment();
        let out = env
            .render_str(
                "{{ none | rate }} {{ 3 | times }} {{ r | warn }}{{ r | spread }}",
                minijinja::context! {
                    r => minijinja::context! { troubled => true, runs => 3, spread => 4.2 },
                },
            )
            .unwrap();
        assert_eq!(out, "– 3.00× ⚠  ±4%");
    }
}
