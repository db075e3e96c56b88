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

# need_tools TOOL...: installs the missing ones with the system's package
# manager when that can be done without a password prompt; otherwise names
# the exact command to run, and stops.
need_tools() {
  local missing=() tool sudo="" install
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
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
  elif command -v brew >/dev/null 2>&1; then
    install="brew install ${missing[*]}"
    brew install "${missing[@]}"
  else
    install="(no known package manager) install ${missing[*]} by hand (wrk: https://github.com/wg/wrk)"
  fi
  for tool in "${missing[@]}"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      say "$tool is not installed and could not be installed here. Run:"
      say "  sudo sh -c '$install'"
      exit 1
    fi
  done
}
