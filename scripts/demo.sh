#!/usr/bin/env bash
# Demo: builds the CLI, starts the Askara simulator with synthetic notes arriving every few
# seconds, syncs them into a throwaway inbox and shows them. The desktop app (in progress)
# will replace this with `--demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
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
