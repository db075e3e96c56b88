//! Everything the tests and the measuring tools read from `/proc`: a
//! server's process tree, its threads, memory (PSS and RSS) and CPU time,
//! and the machine's steal time, sockets and limits. One reader for every
//! caller.
//!
//! Every parser takes the file's text, so the tests feed it samples; only the
//! small `read_*` functions touch the real `/proc`.

use std::collections::HashSet;
use std::fs;

/// The fields of `/proc/PID/stat` the harness uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// CPU time in clock ticks: own user and system time, and the user and
    /// system time of children this process has reaped (`cutime`/`cstime`).
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
}

impl Stat {
    /// Own CPU time plus that of reaped children. Summed over a tree this
    /// counts every process once: a dead child's time lives on only in the
    /// `cutime`/`cstime` of the process that reaped it.
    pub fn ticks(&self) -> u64 {
        self.utime + self.stime + self.cutime + self.cstime
    }
}

/// Parses one `/proc/PID/stat` line. The command name sits in parentheses
/// and may itself contain spaces and parentheses, so fields are counted from
/// the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state) of proc(5); field N is rest[N - 3].
    let field = |n: usize| rest.get(n - 3).and_then(|s| s.parse::<i64>().ok());
    Some(Stat {
        pid,
        state: rest.first()?.chars().next()?,
        ppid: field(4)? as u32,
        pgrp: field(5)? as u32,
        utime: field(14)? as u64,
        stime: field(15)? as u64,
        cutime: field(16)? as u64,
        cstime: field(17)? as u64,
    })
}

/// The server's tree: the root, everything descended from it (by parent
/// pid), and everything still in its process group (the harness starts each
/// server in a group of its own, so a child whose parent died and that was
/// re-parented to init is still found).
pub fn tree(all: &[Stat], root: u32) -> Vec<Stat> {
    let mut members: HashSet<u32> = HashSet::new();
    members.insert(root);
    for stat in all {
        if stat.pgrp == root {
            members.insert(stat.pid);
        }
    }
    // Add children of members until nothing changes; trees are shallow.
    loop {
        let before = members.len();
        for stat in all {
            if members.contains(&stat.ppid) {
                members.insert(stat.pid);
            }
        }
        if members.len() == before {
            break;
        }
    }
    all.iter()
        .filter(|s| members.contains(&s.pid))
        .copied()
        .collect()
}

/// Every process's stat, read now. Processes that exit mid-scan are skipped.
pub fn read_all_stats() -> Vec<Stat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let name = entry.file_name();
        let pid: u32 = name.to_str()?.parse().ok()?;
        parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    })
    .collect()
}

/// One process's stat, or `None` if it is gone.
pub fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `true` if `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    read_stat(pid).is_some_and(|s| s.state != 'Z')
}

/// Live (not zombie) processes descended from `root` by parent pid, `root`
/// itself excepted.
pub fn descendants(root: u32) -> Vec<u32> {
    let live: Vec<Stat> = read_all_stats()
        .into_iter()
        .filter(|s| s.state != 'Z')
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(live.iter().filter(|s| s.ppid == parent).map(|s| s.pid));
        i += 1;
    }
    found.remove(0);
    found
}

/// Children of `parent` that have ended but were not reaped.
pub fn zombies_of(parent: u32) -> Vec<u32> {
    read_all_stats()
        .iter()
        .filter(|s| s.state == 'Z' && s.ppid == parent)
        .map(|s| s.pid)
        .collect()
}

/// Memory of one process, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub pss_kib: u64,
    pub rss_kib: u64,
}

/// Reads the `Rss:` and `Pss:` lines of `/proc/PID/smaps_rollup`.
pub fn parse_smaps_rollup(text: &str) -> Memory {
    let mut memory = Memory::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let key = words.next();
        let value = words.next().and_then(|v| v.parse::<u64>().ok());
        match (key, value) {
            (Some("Rss:"), Some(kib)) => memory.rss_kib = kib,
            (Some("Pss:"), Some(kib)) => memory.pss_kib = kib,
            _ => {}
        }
    }
    memory
}

/// One look at a server's tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub processes: usize,
    /// CPU ticks of the tree, see [`Stat::ticks`].
    pub ticks: u64,
    pub memory: Memory,
}

/// Samples the tree rooted at `root`: process count, CPU ticks, and the sum
/// of PSS and RSS over its live (non-zombie) processes.
pub fn sample_tree(root: u32, with_memory: bool) -> Sample {
    let members = tree(&read_all_stats(), root);
    let mut sample = Sample {
        processes: members.len(),
        ticks: members.iter().map(Stat::ticks).sum(),
        memory: Memory::default(),
    };
    if with_memory {
        for stat in members.iter().filter(|s| s.state != 'Z') {
            if let Ok(text) = fs::read_to_string(format!("/proc/{}/smaps_rollup", stat.pid)) {
                let m = parse_smaps_rollup(&text);
                sample.memory.pss_kib += m.pss_kib;
                sample.memory.rss_kib += m.rss_kib;
            }
        }
    }
    sample
}

/// The machine-wide CPU counters of the first (`cpu `) line of `/proc/stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// user + nice + system + idle + iowait + irq + softirq + steal.
    pub total: u64,
    pub steal: u64,
}

pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    if values.len() < 8 {
        return None;
    }
    // guest and guest_nice (fields 9 and 10) are already inside user/nice.
    Some(CpuTimes {
        total: values[..8].iter().sum(),
        steal: values[7],
    })
}

pub fn read_cpu_times() -> CpuTimes {
    fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|t| parse_proc_stat(&t))
        .unwrap_or_default()
}

/// Percentage of all CPU time that the hypervisor stole between two readings.
pub fn steal_percent(before: CpuTimes, after: CpuTimes) -> f64 {
    let total = after.total.saturating_sub(before.total);
    if total == 0 {
        0.0
    } else {
        after.steal.saturating_sub(before.steal) as f64 * 100.0 / total as f64
    }
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, nearly always 100).
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

/// Milliseconds of CPU per 1,000 requests.
pub fn cpu_ms_per_1k(ticks: u64, ticks_per_s: u64, requests: u64) -> Option<f64> {
    if requests == 0 {
        return None;
    }
    let ms = ticks as f64 * 1000.0 / ticks_per_s as f64;
    Some(ms * 1000.0 / requests as f64)
}

/// The `Threads:` line of `/proc/PID/status`.
pub fn parse_status_threads(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Threads of one process now (0 if it is gone).
pub fn read_threads(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|t| parse_status_threads(&t))
        .unwrap_or(0)
}

/// Memory mappings of one process (lines of `/proc/PID/maps`): each thread
/// stack is at least one, and `vm.max_map_count` caps them per process.
pub fn read_map_count(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/maps")).map_or(0, |t| t.lines().count() as u64)
}

/// The `TCP:` line of `/proc/net/sockstat`, for the whole machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSockets {
    /// Sockets in use (established, listening, ...).
    pub inuse: u64,
    pub orphan: u64,
    pub time_wait: u64,
    /// Pages (of [`page_kib`] KiB) of kernel memory in TCP socket buffers:
    /// the figure `net.ipv4.tcp_mem` limits.
    pub mem_pages: u64,
}

pub fn parse_sockstat(text: &str) -> Option<TcpSockets> {
    let line = text.lines().find_map(|l| l.strip_prefix("TCP:"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let get = |key: &str| {
        words
            .chunks(2)
            .find(|pair| pair[0] == key)
            .and_then(|pair| pair.get(1)?.parse().ok())
    };
    Some(TcpSockets {
        inuse: get("inuse")?,
        orphan: get("orphan").unwrap_or(0),
        time_wait: get("tw").unwrap_or(0),
        mem_pages: get("mem")?,
    })
}

pub fn read_sockstat() -> TcpSockets {
    fs::read_to_string("/proc/net/sockstat")
        .ok()
        .and_then(|t| parse_sockstat(&t))
        .unwrap_or_default()
}

/// One `Key:   123 kB` line of `/proc/meminfo`, in KiB.
pub fn parse_meminfo(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

pub fn read_meminfo(key: &str) -> Option<u64> {
    parse_meminfo(&fs::read_to_string("/proc/meminfo").ok()?, key)
}

/// The size of a memory page in KiB (4 nearly everywhere).
pub fn page_kib() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let bytes = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if bytes > 0 { bytes as u64 / 1024 } else { 4 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: u32, ppid: u32, pgrp: u32) -> Stat {
        Stat {
            pid,
            state: 'S',
            ppid,
            pgrp,
            utime: 1,
            stime: 2,
            cutime: 3,
            cstime: 4,
        }
    }

    #[test]
    fn stat_lines_with_awkward_names_parse() {
        let line = "4242 (my (odd) server) S 4241 4242 4242 0 -1 4194560 \
                    120 0 0 0 57 31 9 4 20 0 3 0 1000 123456 789 \
                    18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let s = parse_stat(line).unwrap();
        assert_eq!((s.pid, s.state, s.ppid, s.pgrp), (4242, 'S', 4241, 4242));
        assert_eq!((s.utime, s.stime, s.cutime, s.cstime), (57, 31, 9, 4));
        assert_eq!(s.ticks(), 101);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn the_tree_follows_parents_and_the_process_group() {
        let all = [
            stat(1, 0, 1),
            stat(100, 50, 100),  // the server, leader of its group
            stat(101, 100, 100), // a worker
            stat(102, 101, 100), // a worker's child
            stat(103, 1, 100),   // orphan re-parented to init, same group
            stat(104, 101, 104), // a child that made its own group
            stat(200, 1, 200),   // unrelated
        ];
        let pids: Vec<u32> = tree(&all, 100).iter().map(|s| s.pid).collect();
        assert_eq!(pids, [100, 101, 102, 103, 104]);
    }

    #[test]
    fn smaps_rollup_gives_pss_and_rss() {
        let text = "55712eaf4000-7ffeae0d6000 ---p 00000000 00:00 0  [rollup]\n\
                    Rss:                1720 kB\nPss:                 301 kB\n\
                    Pss_Dirty:           112 kB\nPss_Anon:            112 kB\n";
        assert_eq!(
            parse_smaps_rollup(text),
            Memory {
                pss_kib: 301,
                rss_kib: 1720
            }
        );
    }

    #[test]
    fn steal_is_a_share_of_all_cpu_time() {
        let before = parse_proc_stat("cpu  100 0 50 800 10 0 5 35 7 0\ncpu0 1 2 3\n").unwrap();
        assert_eq!(
            before,
            CpuTimes {
                total: 1000,
                steal: 35
            }
        );
        let after = parse_proc_stat("cpu  190 0 90 1500 10 0 5 135 9 0\n").unwrap();
        // 100 stolen out of 930 more ticks.
        assert!((steal_percent(before, after) - 10.752).abs() < 0.01);
        assert_eq!(steal_percent(after, after), 0.0);
        assert_eq!(parse_proc_stat("cpu 1 2\n"), None);
    }

    #[test]
    fn cpu_per_thousand_requests() {
        // 150 ticks at 100/s = 1.5 s of CPU over 30,000 requests = 50 ms per 1k.
        assert_eq!(cpu_ms_per_1k(150, 100, 30_000), Some(50.0));
        assert_eq!(cpu_ms_per_1k(150, 100, 0), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let me = std::process::id();
        let sample = sample_tree(me, true);
        assert!(sample.processes >= 1);
        assert!(sample.memory.rss_kib > 0 && sample.memory.pss_kib > 0);
    }

    #[test]
    fn threads_sockets_and_meminfo_parse() {
        let status = "Name:\tx\nState:\tS (sleeping)\nThreads:\t17\nSigQ:\t0/1\n";
        assert_eq!(parse_status_threads(status), Some(17));
        assert_eq!(parse_status_threads("Name: x\n"), None);
        let sockstat = "sockets: used 40012\n\
                        TCP: inuse 38007 orphan 2 tw 15 alloc 38010 mem 1234\n\
                        UDP: inuse 3 mem 1\n";
        assert_eq!(
            parse_sockstat(sockstat),
            Some(TcpSockets {
                inuse: 38007,
                orphan: 2,
                time_wait: 15,
                mem_pages: 1234
            })
        );
        assert_eq!(parse_sockstat("UDP: inuse 3 mem 1\n"), None);
        let meminfo =
            "MemTotal:       24684000 kB\nMemAvailable:   23000000 kB\nSlab:   91234 kB\n";
        assert_eq!(parse_meminfo(meminfo, "MemAvailable"), Some(23_000_000));
        assert_eq!(parse_meminfo(meminfo, "Slab"), Some(91_234));
        assert_eq!(parse_meminfo(meminfo, "Mem"), None);
        assert!(read_meminfo("MemTotal").is_some());
        assert!(read_threads(std::process::id()) >= 1);
        assert!(read_map_count(std::process::id()) > 5);
    }
}
