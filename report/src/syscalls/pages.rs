//! The pages made from `docs/results/syscalls.json` alone: between the
//! `syscalls` markers of each chapter's "System calls" section, its own
//! calls per request, and in the chapters that compare (the two event
//! loops of the course's end) every server's; and the writing of the file
//! and those sections.

use std::fmt::Write as _;
use std::path::Path;

use super::{ServerCount, SyscallsFile};
use crate::json::{create_dir, write_json};
use crate::markdown::{Markers, row, thousands};

pub const SYSCALLS: Markers = Markers("<!-- syscalls:start -->", "<!-- syscalls:end -->");

/// The chapters that show every server's count beside their own.
pub const COMPARING: [&str; 2] = ["multiplexingio_server", "uring_server"];

/// Writes `file` into `out/results/` and rewrites the sections in `out`
/// from the file as written.
pub fn publish(out: &Path, file: &SyscallsFile) -> anyhow::Result<()> {
    let json = create_dir(out.join("results"))?.join("syscalls.json");
    let file = write_json(&json, file)?;
    println!("\nsyscalls: wrote {}", json.display());
    rewrite_pages(out, &file)
}

/// Rewrites the section of every chapter in `out` that the file has a
/// count for, and of the comparing chapters.
pub fn rewrite_pages(out: &Path, file: &SyscallsFile) -> anyhow::Result<()> {
    let names = file.servers.iter().map(|s| s.server.as_str());
    let mut chapters: Vec<&str> = names.chain(COMPARING).collect();
    chapters.dedup();
    for (i, server) in chapters.iter().enumerate() {
        let chapter = out.join(format!("{server}.md"));
        if chapter.exists() && !chapters[..i].contains(server) {
            SYSCALLS.update("syscalls", &chapter, &chapter_section(file, server))?;
        }
    }
    Ok(())
}

/// A count per request as it reads best: two decimals, three below 0.1.
fn per(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v < 0.1 => format!("{v:.3}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn how(file: &SyscallsFile) -> String {
    let m = &file.machine;
    let quick = if file.settings.quick {
        " (a quick run)"
    } else {
        ""
    };
    format!(
        "Counted on {} ({} cores), Linux {}, {}{quick} by `scripts/syscalls.sh`: `strace -f -c` attached \
         to the server's whole process tree while `{}` ran. strace stops the server at every system call, \
         so it answered far fewer requests than it does untraced: the calls per request are what this \
         measures, not the speed.",
        m.cpu, m.cores, m.kernel, m.date, file.settings.load
    )
}

/// One server's calls: each call, its count, and its count per request.
fn own_table(count: &ServerCount) -> String {
    let mut out = row(["call", "calls", "failed", "per request"]);
    out += "|---|--:|--:|--:|\n";
    for (name, n) in count.by_count() {
        let failed = count.errors.get(name).copied().unwrap_or(0);
        out += &row([
            format!("`{name}`"),
            thousands(n),
            thousands(failed),
            per(count.per_request(n)),
        ]);
    }
    let total = count.total();
    out += &row([
        "all".to_string(),
        thousands(total),
        thousands(count.errors.values().sum()),
        format!("**{}**", per(count.per_request(total))),
    ]);
    out
}

/// Every server: requests, calls per request, and its most frequent calls.
fn all_table(file: &SyscallsFile) -> String {
    let mut out = row([
        "server",
        "requests",
        "system calls per request",
        "the most frequent, per request",
    ]);
    out += "|---|--:|--:|---|\n";
    for count in &file.servers {
        let top: Vec<String> = (count.by_count().into_iter().take(3))
            .map(|(name, n)| format!("`{name}` {}", per(count.per_request(n))))
            .collect();
        out += &row([
            count.server.clone(),
            thousands(count.requests),
            per(count.per_request(count.total())),
            match &count.error {
                Some(e) => format!("error: {}", e.replace('|', "/")),
                None => top.join(", "),
            },
        ]);
    }
    out
}

/// The one sentence that reads a server's table.
fn reading(count: &ServerCount) -> String {
    let total = count.total();
    let Some(all) = count.per_request(total) else {
        return "No request was answered while strace was attached, so there is nothing per request.".into();
    };
    let calls = count.by_count();
    let Some((first, n)) = calls.first() else {
        return "strace saw no system call at all.".into();
    };
    let mut out = format!(
        "{} requests cost {} system calls, {} per request; the most frequent, `{first}`, made {} per request",
        thousands(count.requests),
        thousands(total),
        per(Some(all)),
        per(count.per_request(*n)),
    );
    if let Some((second, m)) = calls.get(1) {
        let _ = write!(out, ", then `{second}` with {}", per(count.per_request(*m)));
    }
    out + "."
}

/// What goes between the markers of a chapter's "System calls" section.
pub fn chapter_section(file: &SyscallsFile, server: &str) -> String {
    let mine = file.servers.iter().find(|c| c.server == server);
    let mut out = how(file) + "\n\n";
    match mine {
        Some(count) if count.error.is_none() => {
            out += &own_table(count);
            out += "\n";
            out += &reading(count);
            out += "\n";
        }
        Some(count) => {
            let _ = writeln!(
                out,
                "This server's count failed: {}.",
                count.error.as_deref().unwrap_or("?")
            );
        }
        None => out += "This server was not in the last run of `scripts/syscalls.sh`.\n",
    }
    if COMPARING.contains(&server) {
        out += "\nEvery server under the same load:\n\n";
        out += &all_table(file);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> SyscallsFile {
        let count = |server: &str, requests, calls: &[(&str, u64)]| ServerCount {
            server: server.into(),
            requests,
            calls: calls.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
            errors: [("recvfrom".to_string(), 8)].into(),
            error: None,
        };
        SyscallsFile {
            servers: vec![
                count(
                    "multiplexingio_server",
                    17_925,
                    &[
                        ("sendto", 17_933),
                        ("recvfrom", 17_944),
                        ("epoll_wait", 2_091),
                    ],
                ),
                count(
                    "uring_server",
                    433_346,
                    &[("io_uring_enter", 20_805), ("close", 107)],
                ),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_chapter_reads_its_own_calls_per_request() {
        let text = chapter_section(&file(), "multiplexingio_server");
        assert!(
            text.contains("| `recvfrom` | 17,944 | 8 | 1.00 |"),
            "{text}"
        );
        assert!(text.contains("| all | 37,968 | 8 | **2.12** |"), "{text}");
        assert!(text.contains("17,925 requests cost 37,968 system calls, 2.12 per request; the most frequent, `recvfrom`, made 1.00 per request, then `sendto` with 1.00."), "{text}");
        assert!(
            text.contains(
                "| uring_server | 433,346 | 0.048 | `io_uring_enter` 0.048, `close` 0.000 |"
            ),
            "{text}"
        );
        let other = chapter_section(&file(), "cgi_server");
        assert!(other.contains("not in the last run") && !other.contains("Every server"));
        let mut failed = file();
        failed.servers[1].error = Some("strace: cannot attach".into());
        failed.servers[1].requests = 0;
        let text = chapter_section(&failed, "uring_server");
        assert!(
            text.contains("This server's count failed: strace: cannot attach."),
            "{text}"
        );
        assert!(
            text.contains("| uring_server | 0 | – | error: strace: cannot attach |"),
            "{text}"
        );
    }
}
