#!/usr/bin/env bash
# System calls per request: each server's calls counted with strace under a fixed keep-alive load.
#
#   scripts/syscalls.sh                   every server (~2 min): docs/results/syscalls.json and
#                                         the table in each chapter's "System calls" section
#   scripts/syscalls.sh --quick           two servers, 1 s each; writes only to a temporary folder
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

# strace and wrk: installed with the system's package manager when that can
# be done without a password prompt, else the exact command is named.
missing=()
for tool in strace wrk; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      sudo="no"
    fi
  fi
  if command -v apt-get >/dev/null 2>&1; then
    install="apt-get update && apt-get install -y ${missing[*]}"
    if [ "$sudo" != "no" ]; then
      say "${missing[*]} missing; installing: $install"
      $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
    fi
  elif command -v dnf >/dev/null 2>&1; then
    install="dnf install -y ${missing[*]}"
    if [ "$sudo" != "no" ]; then
      say "${missing[*]} missing; installing: $install"
      $sudo dnf install -y "${missing[@]}"
    fi
  else
    install="(no known package manager) install ${missing[*]} by hand"
  fi
  for tool in "${missing[@]}"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      say "$tool is not installed and could not be installed here. Run:"
      say "  sudo sh -c '$install'"
      exit 1
    fi
  done
fi

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
