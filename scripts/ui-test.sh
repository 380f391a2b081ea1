#!/usr/bin/env bash
# Unit tests for the UI (ui/*.js) with Vitest, happy-dom and Tauri's IPC mocks, then the UI's
# JSDoc type-check with TypeScript. The npm project lives in ui-tests/, not in ui/: ui/ is
# embedded into the app as it is. Needs node (18+) and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "ui-test: '$tool' not found: install Node.js 18+ and npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
done

cd ui-tests
# npm ci records what it installed in node_modules/.package-lock.json: reinstall only when that
# is missing or older than the lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "== npm ci (ui-tests)"
  npm ci --no-audit --no-fund
fi

echo "== vitest"
npx --no -- vitest run
echo "== tsc -p ui (JSDoc type-check)"
npx --no -- tsc -p ../ui
echo "== ui tests and type-check passed"
