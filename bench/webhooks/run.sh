#!/usr/bin/env bash
# Webhook receiver benchmark: askara-inbox serve (Rust, durable write before the 200) against
# a reference receiver written as in Askara's integration guide (Express + better-sqlite3),
# side by side in one run, same payloads, 32 concurrent senders on loopback.
#
#   bench/webhooks/run.sh [--requests N] [--rounds N] [--senders N]
#
# Needs cargo and Node 20 (npm). Prints p50/p99 acknowledgement latency and throughput, and
# for each receiver how long after its last acknowledgement every note was stored and the
# end-to-end rate (notes stored per second). A 100,000-delivery burst: --requests 100000 --rounds 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
RUST_PORT="${RUST_PORT:-18090}"
REF_FULL_PORT="${REF_FULL_PORT:-18091}"
REF_NORMAL_PORT="${REF_NORMAL_PORT:-18092}"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "== building (release)"
# The target dir is shared: copy the binary out at once, and make sure it is this checkout's.
for _ in 1 2 3; do
  cargo build --release -q -p askara-inbox-cli
  cp "$CARGO_TARGET_DIR/release/askara-inbox" "$WORK/askara-inbox"
  "$WORK/askara-inbox" serve --help >/dev/null 2>&1 && break
done
"$WORK/askara-inbox" serve --help >/dev/null
cargo bench -q -p receiver --bench webhook_load --no-run 2>/dev/null || cargo bench -p receiver --bench webhook_load --no-run
if [ ! -d bench/webhooks/reference/node_modules ]; then
  echo "== npm ci (reference receiver)"
  (cd bench/webhooks/reference && npm ci --no-audit --no-fund)
fi


# No credentials here: payloads are stored as delivered (unverified), the work Express does.
"$WORK/askara-inbox" --data-dir "$WORK/rust" serve --listen "127.0.0.1:$RUST_PORT" --trust-payloads \
  >"$WORK/rust.log" 2>&1 &
PIDS+=($!)
PORT="$REF_FULL_PORT" DB="$WORK/ref-full.sqlite3" SYNC=full node bench/webhooks/reference/server.js \
  >"$WORK/ref-full.log" 2>&1 &
PIDS+=($!)
PORT="$REF_NORMAL_PORT" DB="$WORK/ref-normal.sqlite3" SYNC=normal node bench/webhooks/reference/server.js \
  >"$WORK/ref-normal.log" 2>&1 &
PIDS+=($!)

for url in "http://127.0.0.1:$RUST_PORT/healthz" "http://127.0.0.1:$REF_FULL_PORT/count" "http://127.0.0.1:$REF_NORMAL_PORT/count"; do
  for _ in $(seq 100); do curl -fsS "$url" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$url" >/dev/null
done

echo "== machine: $(nproc) cores, $(uname -sr), node $(node --version)"
echo "== load"
cargo bench -q -p receiver --bench webhook_load -- \
  --target "rust=http://127.0.0.1:$RUST_PORT/askara/webhook" \
  --target "ref-full=http://127.0.0.1:$REF_FULL_PORT/api/askara/webhook" \
  --target "ref-normal=http://127.0.0.1:$REF_NORMAL_PORT/api/askara/webhook" \
  --count "rust=notesInserted@http://127.0.0.1:$RUST_PORT/healthz" \
  --count "ref-full=notes@http://127.0.0.1:$REF_FULL_PORT/count" \
  --count "ref-normal=notes@http://127.0.0.1:$REF_NORMAL_PORT/count" \
  --baseline ref-full "$@"

echo "== after the run"
for _ in $(seq 300); do
  pending=$(curl -fsS "http://127.0.0.1:$RUST_PORT/healthz" | sed -E 's/.*"pending":([0-9]+).*/\1/')
  [ "$pending" = "0" ] && break
  sleep 0.2
done
echo "rust health:      $(curl -fsS "http://127.0.0.1:$RUST_PORT/healthz")"
echo "ref-full rows:    $(curl -fsS "http://127.0.0.1:$REF_FULL_PORT/count")"
echo "ref-normal rows:  $(curl -fsS "http://127.0.0.1:$REF_NORMAL_PORT/count")"
