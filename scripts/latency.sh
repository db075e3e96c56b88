#!/usr/bin/env bash
# Latency against offered load: requests at a constant rate, each one's latency
# counted from when it was due, at rates stepping from a tenth of each server's
# closed-loop rate to past it; CPU per request at one rate every server sustains;
# the CPU an idle server burns; and coordinated omission measured once.
#
#   scripts/latency.sh                    every server, nginx, bare_mio and hyper (~35 min):
#                                         docs/results/latency.json and the curves in the docs
#   scripts/latency.sh --quick            two servers, three rates, 1 s runs; a temporary folder
#   scripts/latency.sh --only async_server,multiplexingio_server   (partial: a temporary folder)
#   scripts/latency.sh --only bare_mio --rate 50000 --duration 5 --json   one run, one JSON line
#   scripts/latency.sh --help             every option
#
# This script does the set-up (wrk, which measures each closed-loop rate, the
# open-file limit, a release build) and then hands over to `bench latency`.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/setup.sh
. scripts/setup.sh

# wrk: installed if it can be done without a password prompt, else named.
# nginx is a reference row when it is installed (apt-get install -y nginx-light).
need_tools wrk

# Release builds only; the examples include bare_mio.
cargo build --release --workspace --bins --examples --quiet

exec "${CARGO_TARGET_DIR:-target}/release/bench" latency "$@"
