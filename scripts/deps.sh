#!/usr/bin/env bash
# Installs what is missing on a Debian/Ubuntu machine: system packages and Rust components.
# Safe to run again: it only installs what is not there.
set -euo pipefail

need_pkgs=()
want=(build-essential pkg-config libssl-dev libdbus-1-dev dbus dbus-x11 gnome-keyring libsecret-tools postgresql openssl)
# The desktop app (Tauri 2 on WebKitGTK) and its end-to-end tests under Xvfb.
want+=(libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libayatana-appindicator3-dev librsvg2-dev xvfb webkit2gtk-driver xauth)
# Packaging (scripts/package.sh) and its install test: dependencies from the binary, lintian,
# and X tools to see the installed app's window.
want+=(dpkg-dev lintian x11-utils x11-apps)
# The desktop end-to-end tests close and inspect the app's window as a window manager would.
want+=(python3-xlib)
# The Windows build, cross-compiled and linked here (scripts/windows-build.sh).
want+=(gcc-mingw-w64-x86-64 file)
# The UI's unit tests (Vitest) and type-check run on Node.js 18+ with npm.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_pkgs[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "Installing Rust (rustup)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

# The WebDriver bridge the desktop end-to-end tests drive the app through (Tauri 2's, pinned:
# crates.io's newest is for Tauri 3 alphas).
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "Installing tauri-driver 2"
  cargo install tauri-driver --locked --version ^2
fi
