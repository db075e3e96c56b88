//! What one loop per core must do: everything one loop does (sleeps that
//! overlap, idle connections that delay nobody, running out of descriptors
//! without spinning), with exactly one thread per loop, and a cap on
//! connections that each loop holds its own part of.

use testkit::seccomp::Fail;
use testkit::{Model, Server, Target, get};

const BIN: &str = env!("CARGO_BIN_EXE_percore_server");
const TARGET: Target = Target::new(BIN, Model::Concurrent);
/// The checks whose counts assume one loop holds every connection.
const ONE_LOOP: Target = Target::new(BIN, Model::Concurrent).args(&["--workers", "1"]);

testkit::each_test!(load, &TARGET;
    hundred_sleeps_overlap,
    thousand_idle_connections_do_not_delay_a_new_one,
);

#[test]
fn out_of_descriptors_neither_stops_nor_spins() {
    testkit::load::survives_running_out_of_descriptors(&TARGET, Some(0.3));
}

#[test]
fn near_the_open_file_limit_clients_get_503() {
    testkit::robustness::near_the_open_file_limit_clients_get_503(&ONE_LOOP);
}

#[test]
fn one_thread_per_loop_and_no_other() {
    testkit::pool::the_pool_is_a_fixed_set_of_threads(BIN);
}

/// Like nginx's `worker_connections`, the cap is per loop: with two loops
/// and `--max-connections 4`, each takes two, and the kernel's hash spreads
/// forty clients over both, so exactly four are served.
#[test]
fn each_loop_holds_its_part_of_the_cap() {
    let server = Server::start(BIN, &["--workers", "2", "--max-connections", "4"]);
    let mut held = Vec::new();
    let mut served = 0;
    for _ in 0..40 {
        let mut client = server.client();
        client.send(&get("/"));
        match client.response().status {
            200 => served += 1,
            status => assert_eq!(status, 503),
        }
        held.push(client);
    }
    assert_eq!(served, 4);
}

/// The loops' epoll sets are made before the start-up line, so a failure
/// there is a failure to start: status 1, one line, no start-up line.
#[test]
fn a_listener_that_cannot_be_registered_stops_the_start_with_status_1() {
    // epoll_ctl(ADD) of the first listener (descriptor 3) fails with ENOMEM.
    let fail = Fail::CallWithArg {
        call: libc::SYS_epoll_ctl,
        arg: 2,
        value: 3,
    };
    testkit::load::refused_start_exits_with_one_line(
        BIN,
        fail,
        libc::ENOMEM,
        "Cannot allocate memory",
    );
}
