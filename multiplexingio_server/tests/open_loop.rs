//! The open-loop generator behind `bench latency` (`testkit::openloop`),
//! validated against this server. It has one thread, so offered more than
//! that thread can do it falls behind for as long as the load lasts, and an
//! open load must say so where a closed one reports the service time.

use std::time::{Duration, Instant};

use testkit::Server;
use testkit::client::{Client, get};
use testkit::openloop::{self, Load};

const BIN: &str = env!("CARGO_BIN_EXE_multiplexingio_server");

fn load(server: &Server, path: &str, rate: f64, connections: usize, seconds: f64) -> Load {
    Load {
        addr: server.addr,
        path: path.into(),
        rate,
        connections,
        duration: Duration::from_secs_f64(seconds),
        // Long enough for an overloaded run to drain: every request is answered.
        timeout: Duration::from_secs(30),
    }
}

/// At a light rate nothing queues: the latency is the sleep.
#[test]
fn at_a_light_rate_a_20_ms_sleep_measures_20_ms() {
    let server = Server::start(BIN, &[]);
    let seen = openloop::run(&load(&server, "/sleep?ms=20", 100.0, 10, 1.5)).unwrap();
    let p50 = seen.latency.value_at_quantile(0.5);
    assert!(
        (19_500..25_000).contains(&p50),
        "p50 {p50} µs of a 20 ms sleep"
    );
    assert_eq!((seen.ok, seen.failed, seen.unanswered), (seen.due, 0, 0));
    assert!(
        (145..=155).contains(&seen.due),
        "{} requests due in 1.5 s at 100/s",
        seen.due
    );
}

/// Offered twice what its thread can do on `/cpu`, the server is a queue
/// that grows for the whole run: request `i` waits for the `i - 1` before
/// it, so the median latency grows in proportion to the run's length (in
/// theory it doubles when the run does). A closed-loop client would see
/// the service time.
#[test]
fn offered_twice_its_capacity_it_falls_further_behind_with_time() {
    let server = Server::start(BIN, &[]);
    let path = "/cpu?n=1000";
    // The service time, as a closed loop of one connection sees it: the
    // fastest of twenty, so that the rate is at least twice the capacity.
    let mut client = Client::connect(server.addr);
    let service = (0..20)
        .map(|_| {
            let started = Instant::now();
            client.send(&get(path));
            assert_eq!(client.response().status, 200);
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    let rate = 2.0 / service.as_secs_f64();
    let short = openloop::run(&load(&server, path, rate, 50, 1.0)).unwrap();
    let long = openloop::run(&load(&server, path, rate, 50, 2.0)).unwrap();
    let (short, long) = (
        short.latency.value_at_quantile(0.5),
        long.latency.value_at_quantile(0.5),
    );
    let service = service.as_micros() as u64;
    assert!(
        short > 20 * service,
        "p50 of a one-second run: {short} µs, where one request takes {service} µs"
    );
    assert!(
        long > short * 4 / 3,
        "p50 of a two-second run: {long} µs, of a one-second run: {short} µs"
    );
}
