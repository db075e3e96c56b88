#!/usr/bin/env bash
# How many idle keep-alive connections each server can hold, and what each costs.
#
#   scripts/connections.sh                 full run (~10 min): docs/results/connections.json,
#                                          docs/connections.md, one line in each chapter
#   scripts/connections.sh --quick         ~2 min smoke test; writes only to a temporary folder
#   scripts/connections.sh --only async_server --steps 1000,19000   (a partial run: a temporary folder)
#   scripts/connections.sh --help          every option
#
# This script does the set-up (the open-file limit, a release build) and then
# hands over to `bench capacity`, which starts each server, runs the
# `connhold` client against it, samples /proc and writes the results.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/setup.sh
. scripts/setup.sh
if [ "$hard" != unlimited ] && [ "$hard" -lt 20000 ]; then
  say "the hard open-file limit is $hard: the larger steps will fail with EMFILE (see docs/connections.md)"
fi

# Release builds only: memory and latency of a debug build mean nothing.
cargo build --release --workspace --quiet

exec "${CARGO_TARGET_DIR:-target}/release/bench" capacity "$@"
