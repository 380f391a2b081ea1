#!/usr/bin/env bash
# Desktop app start-up and memory, side by side with a minimal Tauri 2 app built from the same
# Tauri (src-tauri/examples/baseline.rs: one window, an empty page), on this machine, headless
# (Xvfb, a private D-Bus session with gnome-keyring). Release builds. Figures go to
# bench/desktop-results.md.
#
#   page loaded   process start → the window's page finished loading
#   inbox ready   process start → the first sync finished (demo: simulator started, device
#                 sign-in approved, 60 notes synced); the list renders right after
#   RSS           after 15 s: the app process + WebKitWebProcess + WebKitNetworkProcess
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
runs=${RUNS:-5}
cargo build --release --locked -p askara-inbox-desktop --bin askara-inbox-desktop --example baseline
app="$CARGO_TARGET_DIR/release/askara-inbox-desktop"
base="$CARGO_TARGET_DIR/release/examples/baseline"
out=bench
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

cat > "$work/one.sh" <<'INNER'
# $1: label, $2...: command. Prints: label page_ms ready_ms rss_kib
label=$1; shift
log=$(mktemp)
XDG_DATA_HOME=$(mktemp -d) XDG_CACHE_HOME=$(mktemp -d) ASKARA_LOG=info "$@" > "$log" 2>&1 &
pid=$!
sleep 15
rss=$(( $(ps -o rss= -p $pid) + $(ps -o rss= --ppid $pid | awk '{s+=$1} END {print s+0}') ))
kill -TERM $pid; wait $pid 2>/dev/null || true
page=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -m1 'page loaded' | sed 's/.*elapsed_ms=\([0-9]*\).*/\1/')
ready=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -m1 'first sync finished' | sed 's/.*elapsed_ms=\([0-9]*\).*/\1/')
echo "$label ${page:--} ${ready:--} $rss"
INNER

results="$work/results.txt"
for i in $(seq "$runs"); do
  XDG_DATA_HOME="$work/keyring" dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' sh -c "
    echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
    sh '$work/one.sh' baseline '$base'
    sh '$work/one.sh' app '$app' --demo
  " 2>/dev/null | grep -E '^(baseline|app) ' >> "$results"
done

median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print "-"; else print a[int((NR+1)/2)] }'; }
col() { awk -v l="$1" -v c="$2" '$1 == l && $c != "-" {print $c}' "$results" | median; }
{
  echo "# Desktop start-up and memory ($(date -u +%Y-%m-%d), $(nproc) cores, median of $runs runs)"
  echo
  echo "| | page loaded (ms) | inbox ready (ms) | RSS app + WebKit (MiB) |"
  echo "|---|---|---|---|"
  for l in baseline app; do
    rss=$(col "$l" 4); [ "$rss" = "-" ] || rss=$(( rss / 1024 ))
    echo "| $l | $(col "$l" 2) | $(col "$l" 3) | $rss |"
  done
  echo
  echo "Raw runs (label, page ms, ready ms, RSS KiB):"; echo; sed 's/^/    /' "$results"
} | tee "$out/desktop-results.md"
