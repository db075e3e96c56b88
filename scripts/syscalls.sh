#!/usr/bin/env bash
# System calls per request: each server's calls counted with strace, under a keep-alive load
# and under a load that opens a new connection for every request.
#
#   scripts/syscalls.sh                   every server (~4 min): docs/results/syscalls.json and
#                                         the tables in each server's lab notes
#   scripts/syscalls.sh --quick           two servers, 1 s per load; writes only to a temporary folder
#   scripts/syscalls.sh --only uring_server,multiplexingio_server   (partial: a temporary folder)
#   scripts/syscalls.sh --help            every option
#
# This script does the set-up (strace and wrk, the open-file limit, a release
# build) and then hands over to `bench syscalls`, which starts each server,
# attaches `strace -f -c` to its process tree, runs wrk and writes the results.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/setup.sh
. scripts/setup.sh

# strace and wrk: installed if it can be done without a password prompt, else named.
need_tools strace wrk

# strace attaches with ptrace: a Yama setting of 2 or 3 forbids it to a
# normal user even for its own processes' children.
scope=/proc/sys/kernel/yama/ptrace_scope
if [ -r "$scope" ] && [ "$(cat "$scope")" -ge 2 ] && [ "$(id -u)" -ne 0 ]; then
  say "kernel.yama.ptrace_scope is $(cat "$scope"): strace cannot attach. Run as root, or:"
  say "  sudo sysctl -w kernel.yama.ptrace_scope=1"
  exit 1
fi

# Release builds only: a debug build makes other calls, and more of them.
cargo build --release --workspace --bins --quiet

exec "${CARGO_TARGET_DIR:-target}/release/bench" syscalls "$@"
