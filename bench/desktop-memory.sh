#!/usr/bin/env bash
# Memory of the desktop app against a minimal Tauri 2 window, and its growth while it polls.
# Release builds, headless (Xvfb, a private D-Bus session with gnome-keyring), this machine.
#
#   PSS      proportional set size of the whole app: the process and every process under it
#            (WebKitWebProcess, WebKitNetworkProcess), summed from /proc/PID/smaps_rollup, so
#            memory shared between them is counted once.
#   baseline src-tauri/examples/baseline.rs: one window with an empty page, same Tauri and
#            WebKit, measured in the same run 20 s after launch.
#   app      signed in (the CLI's `login`, tokens in the keyring) to an Askara simulator in a
#            process of its own (`askara-inbox sim`, as Askara is not on the workstation) with
#            NOTES notes and one new every EVERY s; polls every 5 s; left alone after its
#            first sync, sampled every minute. The simulator's memory is not counted.
#
# Usage: bench/desktop-memory.sh [MINUTES=60] [NOTES=10000] [EVERY=60]
# Figures go to bench/desktop-memory-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
minutes=${1:-60}
notes=${2:-10000}
every=${3:-60}
cargo build --release --locked -p askara-inbox-desktop --bin askara-inbox-desktop --example baseline
cargo build --release --locked -p askara-inbox-cli --bin askara-inbox
app="$CARGO_TARGET_DIR/release/askara-inbox-desktop"
cli="$CARGO_TARGET_DIR/release/askara-inbox"
base="$CARGO_TARGET_DIR/release/examples/baseline"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

cat > "$work/pss.sh" <<'INNER'
# sum_kib FIELD PID: a field of /proc/PID/smaps_rollup summed over PID and all its
# descendants, in KiB. Pss: memory shared between them counted once. Pss_Anon: the private
# heaps, what a leak grows; unlike shared library pages it does not change when another WebKit
# program starts or stops.
tree() { echo "$1"; for c in $(pgrep -P "$1" || true); do tree "$c"; done; }
sum_kib() {
  local total=0 p v
  for p in $(tree "$2"); do
    v=$(awk -v f="$1:" '$1 == f {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
procs() { for p in $(tree "$1"); do printf '%s ' "$(cat /proc/$p/comm 2>/dev/null)"; done; }
INNER

cat > "$work/run.sh" <<INNER
set -eu
. '$work/pss.sh'
echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
XDG_DATA_HOME=\$(mktemp -d) XDG_CACHE_HOME=\$(mktemp -d) '$base' >/dev/null 2>&1 &
b=\$!
sleep 20
echo "baseline \$(sum_kib Pss \$b) \$(sum_kib Pss_Anon \$b) \$(procs \$b)"
kill -TERM \$b; wait \$b 2>/dev/null || true
log='$work/app.log'
port=\$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
'$cli' sim --listen 127.0.0.1:\$port --notes $notes --every $every --auto-approve --seed 3 > '$work/sim.log' 2>&1 &
sim=\$!
for i in \$(seq 100); do curl -s -o /dev/null http://127.0.0.1:\$port/ && break; sleep 0.1; done
dir='$work/data'
'$cli' login --data-dir "\$dir" --base-url http://127.0.0.1:\$port --client-id askara-inbox-demo > '$work/login.log' 2>&1
printf '{"baseUrl": "http://127.0.0.1:%s", "clientId": "askara-inbox-demo", "intervalSecs": 5}' \$port > "\$dir/desktop.json"
XDG_DATA_HOME=\$(mktemp -d) XDG_CACHE_HOME=\$(mktemp -d) ASKARA_LOG=info \
  '$app' --data-dir "\$dir" > "\$log" 2>&1 &
a=\$!
for i in \$(seq 600); do grep -q 'first sync finished' "\$log" && break; sleep 0.5; done
echo "synced \$(sed 's/\x1b\[[0-9;]*m//g' "\$log" | grep -m1 'first sync finished' | sed 's/.*elapsed_ms=\([0-9]*\).*/\1/')"
sleep 30
echo "procs \$(procs \$a)"
start=\$(date +%s)
for m in \$(seq 0 $minutes); do
  echo "sample \$(( (\$(date +%s) - start) / 60 )) \$(sum_kib Pss \$a) \$(sum_kib Pss_Anon \$a)"
  [ "\$m" -lt $minutes ] && sleep \$(( start + (m + 1) * 60 - \$(date +%s) ))
done
kill -TERM \$a; wait \$a 2>/dev/null || true
kill -TERM \$sim; wait \$sim 2>/dev/null || true
INNER

raw="$work/raw.txt"
dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' sh "$work/run.sh" 2>/dev/null | tee "$raw"

baseline=$(awk '$1 == "baseline" {print $2}' "$raw")
first=$(awk '$1 == "sample" {print $3; exit}' "$raw")
last=$(awk '$1 == "sample" {v=$3} END {print v}' "$raw")
min=$(awk '$1 == "sample" {print $3}' "$raw" | sort -n | head -1)
max=$(awk '$1 == "sample" {print $3}' "$raw" | sort -n | tail -1)
anon_first=$(awk '$1 == "sample" {print $4; exit}' "$raw")
anon_last=$(awk '$1 == "sample" {v=$4} END {print v}' "$raw")
anon_min=$(awk '$1 == "sample" {print $4}' "$raw" | sort -n | head -1)
anon_max=$(awk '$1 == "sample" {print $4}' "$raw" | sort -n | tail -1)
# Least-squares slope of the anonymous memory, KiB per hour.
slope=$(awk '$1 == "sample" {n++; x+=$2; y+=$4; xx+=$2*$2; xy+=$2*$4}
  END { d = n*xx - x*x; if (d == 0) print 0; else printf "%.0f", (n*xy - x*y) / d * 60 }' "$raw")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
  echo "# Desktop memory ($(date -u +%Y-%m-%d), $(nproc) cores, Xvfb, release build)"
  echo
  echo "Command: \`bench/desktop-memory.sh $minutes $notes $every\`"
  echo
  echo "| | PSS (MiB) |"
  echo "|---|---|"
  echo "| minimal Tauri 2 window (baseline) | $(mib "$baseline") |"
  echo "| app, idle, $notes notes in the inbox (first sample) | $(mib "$first") |"
  echo "| ratio | $(awk -v a="$first" -v b="$baseline" 'BEGIN { printf "%.2f×", a / b }') |"
  echo "| app after $minutes min of polling every 5 s ($((minutes * 60 / every)) notes arrived) | $(mib "$last") |"
  echo "| growth over the run | $(mib $((last - first))) (min $(mib "$min"), max $(mib "$max")) |"
  echo "| private anonymous memory (heaps), first → last sample | $(mib "$anon_first") → $(mib "$anon_last") (min $(mib "$anon_min"), max $(mib "$anon_max")) |"
  echo "| its trend (least squares over all samples) | $(mib "$slope") MiB per hour |"
  echo
  echo "Processes measured: $(awk '$1 == "procs" {$1=""; print}' "$raw")"
  echo
  echo "Samples (minute, PSS KiB, anonymous KiB):"
  echo
  awk '$1 == "sample" {print "    " $2 " " $3 " " $4}' "$raw"
} | tee bench/desktop-memory-results.md
