#!/usr/bin/env bash
# How many idle keep-alive connections each server can hold, and what each costs.
#
#   scripts/connections.sh                 full run (~10 min): docs/results/connections.json,
#                                          docs/connections.md, one line in each chapter
#   scripts/connections.sh --quick         ~2 min smoke test; writes only to a temporary folder
#   scripts/connections.sh --only async_server --steps 1000,19000
#   scripts/connections.sh --help          every option
#
# This script does the set-up (the open-file limit, a release build) and then
# hands over to `bench capacity`, which starts each server, runs the
# `connhold` client against it, samples /proc and writes the results.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "connections: $*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo is not installed; install Rust with rustup (https://rustup.rs) first"
  exit 1
fi

# Each connection is a file descriptor in the server and one in the client.
hard=$(ulimit -Hn)
ulimit -Sn "$hard" 2>/dev/null || say "could not raise the open-file limit (hard limit: $hard)"
if [ "$hard" != unlimited ] && [ "$hard" -lt 20000 ]; then
  say "the hard open-file limit is $hard: the larger steps will fail with EMFILE (see docs/connections.md)"
fi

# Release builds only: memory and latency of a debug build mean nothing.
cargo build --release --workspace --quiet

exec "${CARGO_TARGET_DIR:-target}/release/bench" capacity "$@"
