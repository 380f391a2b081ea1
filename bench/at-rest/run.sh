#!/usr/bin/env bash
# The cost of encrypting the inbox at rest: the same benchmarks on the last commit before
# SQLCipher (plain SQLite, PLAIN_REV, default a45cf27) and on ENCRYPTED_REV (default HEAD),
# each from a clean worktree, one run each, one after the other on an otherwise idle machine:
#   - inbox ingest (the catch-up write path) and list/search/patient p50/p95 at 100,000 notes
#     (crates/inbox/benches/queries.rs; NOTES=N for another size)
#   - catch-up of 10,000 notes from the simulator on loopback (crates/cli/benches/sync.rs)
# Output: bench/at-rest/plain.txt and encrypted.txt; RESULTS.md has one run's figures.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
plain_rev=${PLAIN_REV:-a45cf27}
encrypted_rev=${ENCRYPTED_REV:-HEAD}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}
work=$(mktemp -d)
cleanup() {
  for side in plain encrypted; do
    git -C "$root" worktree remove --force "$work/$side" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
git -C "$root" worktree add -f --detach "$work/plain" "$plain_rev" >/dev/null
git -C "$root" worktree add -f --detach "$work/encrypted" "$encrypted_rev" >/dev/null
for side in ${SIDES:-plain encrypted}; do
  echo "== $side ($(git -C "$work/$side" rev-parse --short HEAD))"
  (
    cd "$work/$side"
    cargo bench --locked -p inbox --bench queries 2>/dev/null
    cargo bench --locked -p askara-inbox-cli --bench sync 2>/dev/null
  ) | tee "$root/bench/at-rest/$side.txt"
done
