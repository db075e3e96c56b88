#!/usr/bin/env bash
# Benchmarks every server with wrk and writes the numbers into the docs.
#
#   scripts/bench_all.sh                  full run (~30 min): docs/results/*.json, docs/*.md tables
#   scripts/bench_all.sh --quick          ~3 min smoke test; writes only to a temporary folder
#   scripts/bench_all.sh --duration 10    the Python original's exact `wrk -t2 -c10 -d10s`
#   scripts/bench_all.sh --help           every option
#
# This script does the set-up (wrk, the open-file limit, a release build) and
# then hands over to `bench wrk` (every option is passed on), which runs the
# servers and wrk, samples /proc and writes the results. `--measure-pinning`
# is `bench pinning` with the same options.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/setup.sh
. scripts/setup.sh

# wrk: installed if it can be done without a password prompt, else named.
need_tools wrk

# Release builds only: the numbers of a debug build mean nothing. The
# examples include bare_mio, the event loop without HTTP (a reference row).
cargo build --release --workspace --bins --examples --quiet

exec "${CARGO_TARGET_DIR:-target}/release/bench" wrk "$@"
