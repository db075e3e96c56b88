#!/usr/bin/env bash
# What hostile clients do to each server: slow senders, slow readers, pipelined floods,
# connection churn, and running the server out of descriptors.
#
#   scripts/hostile.sh                    full run (about 20–25 min): docs/results/robustness.json,
#                                         docs/robustness.md, one table in each chapter
#   scripts/hostile.sh --quick            a few minutes: short attacks, fewer clients; writes only to a
#                                         temporary folder
#   scripts/hostile.sh --only async_server --attack slowloris-1000,churn
#   scripts/hostile.sh --help             every option and attack
#
# Every attack stays on loopback and ends at its deadline. This script does the set-up (the open-file
# limit, a release build) and hands over to `bench hostile`, which starts each server, attacks it,
# watches it and writes the results.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/setup.sh
. scripts/setup.sh

# Release builds only: the servers' behaviour under load is a release build's.
cargo build --release --workspace --quiet

exec "${CARGO_TARGET_DIR:-target}/release/bench" hostile "$@"
