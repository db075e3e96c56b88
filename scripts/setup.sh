# Sourced by the scripts in this folder: what every one of them needs first.
# Each connection is a file descriptor in the server and one in the client,
# so the open-file soft limit goes up to the hard limit.

say() { echo "$(basename "$0" .sh): $*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo is not installed; install Rust with rustup (https://rustup.rs) first"
  exit 1
fi

hard=$(ulimit -Hn)
ulimit -Sn "$hard" 2>/dev/null || say "could not raise the open-file limit (hard limit: $hard)"
