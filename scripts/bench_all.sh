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

# wrk: install it with the system's package manager when that can be done
# without a password prompt, else name the exact command and stop.
if ! command -v wrk >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      sudo="no"
    fi
  fi
  if command -v apt-get >/dev/null 2>&1; then
    install="apt-get update && apt-get install -y wrk"
    if [ "$sudo" != "no" ]; then
      say "wrk is missing; installing it: $install"
      $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q wrk
    fi
  elif command -v dnf >/dev/null 2>&1; then
    install="dnf install -y wrk"
    if [ "$sudo" != "no" ]; then
      say "wrk is missing; installing it: $install"
      $sudo dnf install -y wrk
    fi
  elif command -v brew >/dev/null 2>&1; then
    install="brew install wrk"
    brew install wrk
  else
    install="(no known package manager) build it from https://github.com/wg/wrk"
  fi
  if ! command -v wrk >/dev/null 2>&1; then
    say "wrk is not installed and could not be installed here. Run:"
    say "  sudo sh -c '$install'"
    exit 1
  fi
fi

# Release builds only: the numbers of a debug build mean nothing. The
# examples include bare_mio, the event loop without HTTP (a reference row).
cargo build --release --workspace --bins --examples --quiet

exec "${CARGO_TARGET_DIR:-target}/release/bench" wrk "$@"
