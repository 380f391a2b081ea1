#!/usr/bin/env bash
# Runs every check and test: fmt, clippy -D warnings, and the whole workspace's tests against
# real SQLite, a throwaway PostgreSQL the tests start themselves, the simulator on loopback, and
# a real Secret Service (gnome-keyring under its own D-Bus session).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build (binaries the tests run)"
cargo build --workspace --locked --bins
echo "== cargo test (under a private D-Bus session with an unlocked gnome-keyring)"
keyring_dir=$(mktemp -d)
trap 'rm -rf "$keyring_dir"' EXIT
# A private XDG data home keeps the test keyring apart from the user's own.
XDG_DATA_HOME="$keyring_dir" dbus-run-session -- sh -c '
  echo -n askara-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec cargo test --workspace --locked --no-fail-fast
'
echo "== all checks passed"
