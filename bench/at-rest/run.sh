#!/usr/bin/env bash
# The cost of encrypting the inbox at rest: the same benchmarks on the last commit before
# SQLCipher (plain SQLite, a45cf27) and on this checkout (SQLCipher), one run each, one after
# the other on an otherwise idle machine:
#   - inbox ingest (catch-up write path) and search/list/patient p50/p95 at 100,000 notes
#     (crates/inbox/benches/queries.rs; NOTES=N for another size)
#   - catch-up of 10,000 notes from the simulator on loopback (crates/cli/benches/sync.rs)
# Output: bench/at-rest/plain.txt and encrypted.txt (compare them; RESULTS.md has one run).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
plain_rev=${PLAIN_REV:-a45cf27}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/plain" 2>/dev/null || true; rm -rf "$work"' EXIT
git -C "$root" worktree add -f --detach "$work/plain" "$plain_rev" >/dev/null
for side in plain encrypted; do
  dir=$root
  [ "$side" = plain ] && dir=$work/plain
  echo "== $side ($(git -C "$dir" rev-parse --short HEAD))"
  (
    cd "$dir"
    cargo bench --locked -p inbox --bench queries 2>/dev/null
    cargo bench --locked -p askara-inbox-cli --bench sync 2>/dev/null
  ) | tee "$root/bench/at-rest/$side.txt"
done
