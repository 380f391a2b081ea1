#!/usr/bin/env bash
# Desktop latencies in the real app (release build, Xvfb, D-Bus + gnome-keyring), driven
# through tauri-driver: a new note's arrival in the list, and search as you type with 100,000
# notes. See tests/e2e/benches/desktop.rs. Figures go to bench/desktop-latency-results.md.
#
# Usage: [ARRIVALS=20] [NOTES=100000] bench/desktop-latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
export PATH="$PATH:$HOME/.cargo/bin"
cargo build --release --locked -p askara-inbox-desktop --bin askara-inbox-desktop
cargo bench --locked -p askara-inbox-e2e --bench desktop --no-run
export ASKARA_DESKTOP_BIN="$CARGO_TARGET_DIR/release/askara-inbox-desktop"
keyring_dir=$(mktemp -d); trap 'rm -rf "$keyring_dir"' EXIT
out=$(mktemp)
# The run's progress and any failure, kept for reading afterwards.
export BENCH_LOG="${BENCH_LOG:-$CARGO_TARGET_DIR/desktop-latency.log}"
echo "progress and errors: $BENCH_LOG"
XDG_DATA_HOME="$keyring_dir" dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' sh -c '
  echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec cargo bench --locked -p askara-inbox-e2e --bench desktop 2>"$BENCH_LOG"
' | tee "$out"
{
  echo "# Desktop latencies ($(date -u +%Y-%m-%d), $(nproc) cores, Xvfb, release build)"
  echo
  echo "Command: \`bench/desktop-latency.sh\` (ARRIVALS=${ARRIVALS:-20}, NOTES=${NOTES:-100000})"
  echo
  sed 's/^/    /' "$out"
} > bench/desktop-latency-results.md
rm -f "$out"
