#!/usr/bin/env bash
# Runs every check and test: fmt, clippy -D warnings, and the whole workspace's tests against
# real SQLite, a throwaway PostgreSQL the tests start themselves, the simulator on loopback, and
# a real Secret Service (gnome-keyring under its own D-Bus session), and the desktop app driven
# end to end through its webview under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== UI unit tests (Vitest) and JSDoc type-check"
./scripts/ui-test.sh
echo "== cargo build (binaries the tests run, the desktop app included)"
cargo build --workspace --locked --bins
echo "== cargo test (under a private D-Bus session with an unlocked gnome-keyring, and Xvfb)"
keyring_dir=$(mktemp -d)
trap 'rm -rf "$keyring_dir"' EXIT
# A private XDG data home keeps the test keyring apart from the user's own. Xvfb gives the
# desktop app a display: its end-to-end test (tests/e2e) drives the binary built above through
# tauri-driver; ASKARA_E2E=1 makes a missing prerequisite a failure, not a skip, and
# ASKARA_REQUIRE_KEYRING=1 does the same for the real-keyring tests.
export PATH="$PATH:$HOME/.cargo/bin"
XDG_DATA_HOME="$keyring_dir" ASKARA_E2E=1 ASKARA_REQUIRE_KEYRING=1 \
  dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' sh -c '
  echo -n askara-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec cargo test --workspace --locked --no-fail-fast
'
echo "== the CLI's notes, filter, import and audit tests again, against a shared clinic inbox on PostgreSQL"
# The same tests, the binary pointed at a shared inbox (ASKARA_INBOX_URL, one throwaway
# PostgreSQL for the run, one database per test data dir, its password put in the keyring by
# `inbox password`; see tests/binary/support.rs).
XDG_DATA_HOME="$keyring_dir" ASKARA_TEST_INBOX=postgres ASKARA_REQUIRE_KEYRING=1 \
  dbus-run-session -- sh -c '
  echo -n askara-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec cargo test --locked -p askara-inbox-cli --test binary -- commands:: filters:: import:: audit::
'
echo "== Linux packages: make, lintian, install, start, purge"
./scripts/package-test.sh
echo "== Windows: the desktop app and the CLI cross-built and linked (mingw-w64)"
./scripts/windows-build.sh >/dev/null
echo "== all checks passed"
