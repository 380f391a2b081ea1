#!/usr/bin/env bash
# Demo: builds and starts the desktop app in demo mode. It runs the Askara simulator inside the
# app, with synthetic notes arriving every few seconds, signs in to it with the device code
# flow (approved at once), syncs, and imports into a demo SQLite database, all in a temp folder
# that is removed when the app closes.
#
# With no display (a headless server), or with --cli, it shows the same flow with the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"

if [ "${1:-}" != "--cli" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  cargo build --release --locked -p askara-inbox-desktop
  exec "$CARGO_TARGET_DIR/release/askara-inbox-desktop" --demo
fi
[ "${1:-}" = "--cli" ] || echo "No display: showing the demo with the CLI (the desktop app needs a display)."

cargo build --release --locked -p askara-inbox-cli
bin="$CARGO_TARGET_DIR/release/askara-inbox"
demo_dir=$(mktemp -d -t askara-demo-XXXXXX)
port=${ASKARA_DEMO_PORT:-8765}
"$bin" sim --listen "127.0.0.1:$port" --notes 40 --every 5 > "$demo_dir/sim.log" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null; wait $sim_pid 2>/dev/null; rm -rf "$demo_dir"' EXIT
for _ in $(seq 50); do grep -q listening "$demo_dir/sim.log" 2>/dev/null && break; sleep 0.1; done
export ASKARA_INBOX_DATA_DIR="$demo_dir/data"
export ASKARA_CLIENT_SECRET=sim-secret
"$bin" sync --once --base-url "http://127.0.0.1:$port" --client-id askara-inbox-demo
echo; echo "== newest notes in the inbox"; "$bin" notes list --limit 15
echo; echo "== search 'odegard' (finds Ødegård)"; "$bin" notes search odegard --limit 5
first=$("$bin" notes list --limit 1 --json | sed -n 's/.*"uuid": "\([^"]*\)".*/\1/p' | head -1)
echo; echo "== one note"; "$bin" notes show "$first" | head -20
echo; echo "== syncing every 30 s while the simulator adds a note every 5 s (Ctrl-C to stop)"
"$bin" sync --interval 30
