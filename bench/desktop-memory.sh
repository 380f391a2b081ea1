#!/usr/bin/env bash
# Memory of the desktop app against a minimal Tauri 2 window, and its growth while it polls.
# Release builds, headless (Xvfb, a private D-Bus session with gnome-keyring), this machine.
#
#   PSS      proportional set size of the whole app: the process and every process under it
#            (WebKitWebProcess, WebKitNetworkProcess), summed from /proc/PID/smaps_rollup, so
#            memory shared between them is counted once.
#   heap     Pss_Anon of each process: its private heaps, what a leak grows. Unlike shared
#            library pages it does not change when another WebKit program starts or stops.
#   trend    least-squares slope of each process's heap over the samples after the first
#            WARMUP minutes (the inbox loads, caches fill), in MiB per hour. Target ≤ 5.
#   baseline src-tauri/examples/baseline.rs: one window with an empty page, same Tauri and
#            WebKit, measured in the same run 20 s after launch. Target: the app idle (first
#            sample) ≤ 1.3× its PSS.
#   app      signed in (the CLI's `login`, tokens in the keyring) to an Askara simulator in a
#            process of its own (`askara-inbox sim`, as Askara is not on the workstation) with
#            NOTES notes and one new every EVERY s; polls every 5 s; left alone after its
#            first sync, sampled every minute. The simulator's memory is not counted.
#
# Usage: bench/desktop-memory.sh [MINUTES=60] [NOTES=10000] [EVERY=60]
# Environment: APP (another build of the desktop binary, e.g. an older commit's, to compare),
# OUT (the results file, default bench/desktop-memory-results.md), WARMUP (minutes, 10);
# the app inherits the environment (WEBKIT_DISABLE_COMPOSITING_MODE=1 draws without GPU
# compositing, say); SUMMARY_OF=LOG writes the figures of an earlier run from its output.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
minutes=${1:-60}
notes=${2:-10000}
every=${3:-60}
warmup=${WARMUP:-10}
out=${OUT:-bench/desktop-memory-results.md}
cargo build --release --locked -p askara-inbox-desktop --bin askara-inbox-desktop --example baseline
cargo build --release --locked -p askara-inbox-cli --bin askara-inbox
app="${APP:-$CARGO_TARGET_DIR/release/askara-inbox-desktop}"
cli="$CARGO_TARGET_DIR/release/askara-inbox"
base="$CARGO_TARGET_DIR/release/examples/baseline"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

cat > "$work/pss.sh" <<'INNER'
tree() { echo "$1"; for c in $(pgrep -P "$1" || true); do tree "$c"; done; }
field() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$2/smaps_rollup" 2>/dev/null || echo 0; }
# sum_kib FIELD PID: a field of /proc/PID/smaps_rollup summed over PID and its descendants.
sum_kib() {
  local total=0 p v
  for p in $(tree "$2"); do v=$(field "$1" "$p"); total=$((total + ${v:-0})); done
  echo "$total"
}
# heaps PID: `name=KiB` of each process's Pss_Anon (the app's own process is `app`).
heaps() {
  local p n
  for p in $(tree "$1"); do
    n=$(cat "/proc/$p/comm" 2>/dev/null || echo gone)
    [ "$p" = "$1" ] && n=app
    printf '%s=%s ' "$n" "$(field Pss_Anon "$p")"
  done
}
INNER

cat > "$work/run.sh" <<INNER
set -eu
. '$work/pss.sh'
echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
XDG_DATA_HOME=\$(mktemp -d) XDG_CACHE_HOME=\$(mktemp -d) '$base' >/dev/null 2>&1 &
b=\$!
sleep 20
echo "baseline \$(sum_kib Pss \$b) \$(sum_kib Pss_Anon \$b)"
kill -TERM \$b; wait \$b 2>/dev/null || true
log='$work/app.log'
port=\$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
'$cli' sim --listen 127.0.0.1:\$port --notes $notes --every $every --auto-approve --seed 3 > '$work/sim.log' 2>&1 &
sim=\$!
for i in \$(seq 100); do curl -s -o /dev/null http://127.0.0.1:\$port/ && break; sleep 0.1; done
dir='$work/data'
'$cli' login --data-dir "\$dir" --base-url http://127.0.0.1:\$port --client-id askara-inbox-demo > '$work/login.log' 2>&1 \\
  || { echo "login failed: \$(tail -1 '$work/login.log')" >&2; kill \$sim; exit 1; }
printf '{"baseUrl": "http://127.0.0.1:%s", "clientId": "askara-inbox-demo", "intervalSecs": 5}' \$port > "\$dir/desktop.json"
XDG_DATA_HOME=\$(mktemp -d) XDG_CACHE_HOME=\$(mktemp -d) XDG_CONFIG_HOME=\$(mktemp -d) ASKARA_LOG=info \
  '$app' --data-dir "\$dir" > "\$log" 2>&1 &
a=\$!
for i in \$(seq 600); do grep -q 'first sync finished' "\$log" && break; sleep 0.5; done
grep -q 'first sync finished' "\$log" || { echo "the app did not sync: \$(tail -3 "\$log")" >&2; kill \$a \$sim; exit 1; }
echo "synced \$(sed 's/\x1b\[[0-9;]*m//g' "\$log" | grep -m1 'first sync finished' | sed 's/.*elapsed_ms=\([0-9]*\).*/\1/')"
sleep 30
start=\$(date +%s)
for m in \$(seq 0 $minutes); do
  echo "sample \$(( (\$(date +%s) - start) / 60 )) \$(sum_kib Pss \$a) \$(sum_kib Pss_Anon \$a) \$(heaps \$a)"
  [ "\$m" -lt $minutes ] && sleep \$(( start + (m + 1) * 60 - \$(date +%s) ))
done
kill -TERM \$a; wait \$a 2>/dev/null || true
kill -TERM \$sim; wait \$sim 2>/dev/null || true
INNER

raw="$work/raw.txt"
if [ -n "${SUMMARY_OF:-}" ]; then
  # The figures of an earlier run's output (its log), without running again.
  cp "$SUMMARY_OF" "$raw"
else
  XDG_DATA_HOME="$work/keyring" dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' sh "$work/run.sh" 2>"$work/err.txt" | tee "$raw" \
    || { grep -v -e SpiRegistry -e dbus-daemon "$work/err.txt" >&2; exit 1; }
fi

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
col() { awk -v c="$1" '$1 == "sample" {print $c}' "$raw"; }
baseline=$(awk '$1 == "baseline" {print $2}' "$raw")
first=$(col 3 | head -1)
last=$(col 3 | tail -1)
# The heap of process NAME at each sample after the warm-up: "minute KiB" lines.
series() {
  awk -v n="$1" -v w="$warmup" '$1 == "sample" && $2 >= w {
    for (i = 5; i <= NF; i++) { split($i, kv, "="); if (kv[1] == n) print $2, kv[2] } }' "$raw"
}
# Least-squares slope of "minute KiB" lines, in MiB per hour.
slope() {
  awk '{n++; x+=$1; y+=$2; xx+=$1*$1; xy+=$1*$2}
    END { d = n*xx - x*x; if (d == 0) print "0.0"; else printf "%.1f", (n*xy - x*y) / d * 60 / 1024 }'
}
names=$(awk '$1 == "sample" {for (i = 5; i <= NF; i++) {split($i, kv, "="); print kv[1]}}' "$raw" | sort -u)
ratio=$(awk -v a="$first" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')
{
  echo "# Desktop memory ($(date -u +%Y-%m-%d), $(nproc) cores, Xvfb, release build)"
  echo
  echo "Command: \`${APP:+APP=$APP }${WEBKIT_DISABLE_COMPOSITING_MODE:+WEBKIT_DISABLE_COMPOSITING_MODE=$WEBKIT_DISABLE_COMPOSITING_MODE }bench/desktop-memory.sh $minutes $notes $every\`"
  echo "(app built from \`$(git rev-parse --short HEAD)\`$( [ -n "${APP:-}" ] && echo " unless APP names another build"))"
  echo
  echo "| | PSS (MiB) | target |"
  echo "|---|---|---|"
  echo "| minimal Tauri 2 window (baseline) | $(mib "$baseline") | |"
  echo "| app, idle, $notes notes in the inbox (first sample) | $(mib "$first") | |"
  echo "| ratio | ${ratio}× | ≤ 1.3× $(awk -v r="$ratio" 'BEGIN { print (r <= 1.3) ? "PASS" : "FAIL" }') |"
  echo "| app after $minutes min of polling every 5 s ($((minutes * 60 / every)) notes arrived) | $(mib "$last") | |"
  echo
  echo "Heap (Pss_Anon) of each process, first → last sample, and its trend after minute $warmup:"
  echo
  echo "| process | first | last | trend (MiB/h) | target ≤ 5 |"
  echo "|---|---|---|---|---|"
  for n in $names; do
    s=$(series "$n" | slope)
    f=$(awk -v n="$n" '$1 == "sample" {for (i = 5; i <= NF; i++) {split($i, kv, "="); if (kv[1] == n) {print kv[2]; exit}}}' "$raw")
    l=$(awk -v n="$n" '$1 == "sample" {for (i = 5; i <= NF; i++) {split($i, kv, "="); if (kv[1] == n) v = kv[2]}} END {print v}' "$raw")
    echo "| $n | $(mib "$f") | $(mib "$l") | $s | $(awk -v s="$s" 'BEGIN { print (s <= 5) ? "PASS" : "FAIL" }') |"
  done
  echo
  echo "Samples (minute, PSS KiB, heap KiB of all, heap KiB of each process):"
  echo
  awk '$1 == "sample" {$1 = ""; print "   " $0}' "$raw"
} | tee "$out"
