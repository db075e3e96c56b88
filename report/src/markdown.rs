//! The Markdown every page is made of: the number formats and table rows.

use std::fmt::Write;

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Requests per second, rounded to a whole number (three figures below 100).
pub fn rate(rps: f64) -> String {
    if rps < 100.0 {
        format!("{rps:.1}")
    } else {
        thousands(rps.round() as u64)
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

/// CPU milliseconds per 1,000 requests.
pub fn cpu(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A figure, or "–" when there is none.
pub fn opt<T>(value: Option<T>, f: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "–".to_string(), f)
}

/// One Markdown table row: `| a | b |`.
pub fn row<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut line = String::from("|");
    for cell in cells {
        let _ = write!(line, " {} |", cell.as_ref());
    }
    line + "\n"
}
