//! The exercises of docs/noblocking_server.md. Each test fails until its
//! exercise is done; run one with
//! `cargo test -p noblocking_server -- --ignored exercise_NAME`.

use std::thread;
use std::time::{Duration, Instant};

use testkit::robustness::wait_behind_a_pipelined_burst;
use testkit::{Server, get, procfs};

const BIN: &str = env!("CARGO_BIN_EXE_noblocking_server");

/// The share of one core that process `pid` used over `window`, from the CPU
/// time in `/proc/PID/stat` (counted in ticks, a hundredth of a second).
fn cpu_share(pid: u32, window: Duration) -> f64 {
    let ticks = || procfs::read_stat(pid).map_or(0, |stat| stat.ticks());
    let (before, started) = (ticks(), Instant::now());
    thread::sleep(window);
    let used = ticks().saturating_sub(before) as f64 / procfs::ticks_per_second() as f64;
    used / started.elapsed().as_secs_f64()
}

/// Exercise 1: a loop that sleeps a little when a pass found nothing to do
/// uses almost no CPU while idle, and still answers without delay.
#[test]
#[ignore = "exercise 1 of docs/noblocking_server.md: passes once the loop rests when it has nothing to do"]
fn exercise_an_idle_loop_rests() {
    let server = Server::start(BIN, &[]);
    // An idle kept-alive connection: a loop that rests only when it holds
    // no connection at all does not pass.
    let [_idle] = server.kept_clients();
    thread::sleep(Duration::from_millis(200));
    let share = cpu_share(server.pid(), Duration::from_secs(1));
    assert!(
        share < 0.1,
        "with one idle connection and nothing to do, the server used {:.0}% of a core: \
         its loop goes round again at once, whether a pass found work or not",
        share * 100.0
    );
    let mut client = server.client();
    let started = Instant::now();
    for _ in 0..50 {
        client.send(&get("/"));
        assert_eq!(client.response().status, 200);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "fifty requests on one connection took {took:?}: the loop rests too long between passes"
    );
}

/// Exercise 2: without the turn, one client's pipelined burst of `/cpu`
/// holds the only thread until the whole burst is answered, and a fresh
/// client waits for all of it.
#[test]
#[ignore = "exercise 2 of docs/noblocking_server.md: passes once `Action::Yield` no longer ends a connection's turn"]
fn exercise_without_the_turn_a_burst_holds_everyone() {
    let (waited, burst) = wait_behind_a_pipelined_burst(&Server::start(BIN, &[]));
    assert!(
        waited > burst / 2,
        "a fresh GET / waited {waited:?} behind a burst that took {burst:?}, about one request's \
         work: the burster's turn still ends when its session says `Yield`"
    );
}
