//! The test kit: the black-box conformance suite that every server binary
//! passes, and what the servers' own tests and the measuring tools share.
//!
//! - [`server`]: starting a server binary on a free port, and stopping it;
//! - [`client`]: the raw HTTP client the checks speak through;
//! - [`checks`]: the conformance checks, one function each;
//! - [`robustness`]: the conformance checks about hostile or broken clients
//!   and about a server's own failures;
//! - [`load`]: checks for the servers that serve many connections from one
//!   thread (the event loops);
//! - [`openloop`]: requests at a constant rate, latency from when each
//!   was due (`bench latency`, and the tests that validate it);
//! - [`pool`]: checks for the servers with a fixed pool of threads;
//! - [`procfs`]: everything read from `/proc` (process trees, threads,
//!   memory, CPU time, sockets, limits);
//! - [`kernel`]: whether the kernel allows what a server needs (io_uring);
//! - [`seccomp`]: making chosen system calls fail, to test what a server
//!   does at a limit.
//!
//! A server crate runs the whole kit with one macro call in its `tests/`:
//!
//! ```ignore
//! use testkit::{Model, Target};
//! testkit::conformance_tests!(Target::new(env!("CARGO_BIN_EXE_prefork_server"), Model::Concurrent));
//! ```
//!
//! The one difference the kit allows between servers is the [`Model`]: an
//! iterative server closes every connection after one response and makes a
//! second client wait; a concurrent one keeps connections and does not.

use std::thread;
use std::time::{Duration, Instant};

pub mod checks;
pub mod client;
pub mod kernel;
pub mod load;
pub mod openloop;
pub mod pool;
pub mod procfs;
pub mod robustness;
pub mod seccomp;
pub mod server;

pub use client::{Client, PATIENCE, Response, get};
pub use server::{Model, Server, Target, send_signal};

/// Polls `done` every 20 ms for up to `limit`; whether it became true.
pub fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Expands to one `#[test]` per conformance check, run against `$target`
/// (an expression of type [`Target`]). With `if $runs`, each test checks
/// `$runs` first and passes without running when it is false (see
/// [`kernel::io_uring_allowed`]).
#[macro_export]
macro_rules! conformance_tests {
    ($target:expr) => {
        $crate::conformance_tests!($target, if true);
    };
    ($target:expr, if $runs:expr) => {
        $crate::each_test!(checks, &$target, if $runs;
            start_line_names_the_address,
            help_and_bad_arguments,
            hello,
            head_has_length_but_no_body,
            keep_alive_serves_many_requests,
            pipelined_requests_are_answered_in_order,
            byte_at_a_time,
            echo_100_kb,
            expect_100_continue,
            unknown_path_404_wrong_method_405,
            bad_query_is_400,
            cpu_answers_a_checksum,
            sleep_waits_that_long,
            malformed_request_is_400,
            missing_host_is_400,
            conflicting_content_length_is_400,
            content_length_with_transfer_encoding_is_400,
            transfer_encoding_is_501,
            oversized_head_is_431,
            oversized_body_is_413_before_it_is_sent,
            slow_request_gets_408,
            idle_connection_is_closed,
            http10_closes_unless_asked_to_keep_alive,
            connection_close_is_honoured,
            fifty_parallel_clients,
            vanishing_clients_cost_nothing,
            a_slow_request_does_not_block_others_unless_iterative,
            sigterm_stops_it_cleanly,
            sigint_stops_it_cleanly,
        );
        $crate::each_test!(robustness, &$target, if $runs;
            half_close_closes_promptly,
            trickled_body_gets_408_but_a_slow_upload_succeeds,
            start_up_failure_exits_non_zero_with_one_line,
            a_pipelined_burst_delays_others_by_about_one_request,
            a_failed_log_write_does_not_stop_the_server,
            the_log_escapes_control_characters,
            a_slow_reader_gets_all_its_answers,
            a_client_that_never_reads_is_held_back,
        );
    };
}

/// The checks every fixed pool of `--workers` threads passes, one `#[test]`
/// each, for the server binary `$bin`.
#[macro_export]
macro_rules! pool_tests {
    ($bin:expr) => {
        $crate::each_test!(pool, $bin;
            three_sleepers_on_two_workers_take_600_ms,
            the_pool_is_a_fixed_set_of_threads,
            keep_alive_trap_a_kept_connection_holds_its_worker_until_idle_timeout,
        );
    };
}

/// The checks every server that serves all its connections from one thread
/// passes, one `#[test]` each, for `$target` (a [`Target`]). `$max_cpu` is
/// the share of a core it may use while out of descriptors (`None` for the
/// busy-polling server, which uses all of it by design).
#[macro_export]
macro_rules! one_thread_tests {
    ($target:expr, $max_cpu:expr) => {
        $crate::each_test!(load, &$target;
            hundred_sleeps_overlap,
            thousand_idle_connections_do_not_delay_a_new_one,
        );

        #[test]
        fn out_of_descriptors_neither_stops_nor_spins() {
            $crate::load::survives_running_out_of_descriptors(&$target, $max_cpu);
        }

        $crate::each_test!(robustness, &$target;
            near_the_open_file_limit_clients_get_503,
        );

        #[test]
        fn past_max_connections_clients_get_503() {
            $crate::robustness::past_max_connections_clients_get_503($target.bin);
        }
    };
}

/// One `#[test]` per check named, each calling the function of that name in
/// the kit's module `$module` with `$arg`.
#[doc(hidden)]
#[macro_export]
macro_rules! each_test {
    ($module:ident, $arg:expr; $($check:ident),* $(,)?) => {
        $crate::each_test!($module, $arg, if true; $($check),*);
    };
    ($module:ident, $arg:expr, if $runs:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                if $runs {
                    $crate::$module::$check($arg);
                }
            }
        )*
    };
}
