#!/usr/bin/env bash
# The Windows build, checked on Linux: the desktop app and the CLI cross-compiled and linked
# for x86_64-pc-windows-gnu with mingw-w64 (Debian's gcc-mingw-w64-x86-64), SQLCipher with its
# own OpenSSL (Windows has no system libcrypto), the keyring's Windows credential store.
# Collects what must ship together into one folder and checks it: PE32+ executables that
# import only Windows' own DLLs and WebView2Loader.dll, which ships beside them.
#
#   ./scripts/windows-build.sh            # debug build (what CI checks)
#   ./scripts/windows-build.sh --release  # release build
#
# Prints the folder last. An installer (NSIS/MSI) is made on Windows: see README.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"
target=x86_64-pc-windows-gnu
profile=debug
flags=()
if [ "${1:-}" = "--release" ]; then profile=release; flags=(--release); fi

for tool in x86_64-w64-mingw32-gcc x86_64-w64-mingw32-objdump; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "windows-build: '$tool' not found: run ./scripts/deps.sh first" >&2
    exit 1
  }
done
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >&2

cargo build --locked --target "$target" "${flags[@]}" \
  -p askara-inbox-desktop -p askara-inbox-cli --bins >&2

built="$CARGO_TARGET_DIR/$target/$profile"
dist="$built/dist"
rm -rf "$dist"
mkdir -p "$dist"
cp "$built/askara-inbox-desktop.exe" "$built/askara-inbox.exe" "$dist/"
loader=$(find "$CARGO_TARGET_DIR/$target/$profile/build" -path '*x64/WebView2Loader.dll' | head -1)
if [ -z "$loader" ]; then
  echo "windows-build: WebView2Loader.dll (x64) was not found in the build" >&2
  exit 1
fi
cp "$loader" "$dist/"

# Each executable: PE32+ for x86-64, importing only system DLLs and what ships beside it.
system='^(kernel32|user32|gdi32|advapi32|shell32|ole32|oleaut32|comctl32|comdlg32|shlwapi|uxtheme|dwmapi|ws2_32|bcrypt|bcryptprimitives|combase|crypt32|secur32|ncrypt|ntdll|userenv|winmm|version|imm32|setupapi|iphlpapi|dbghelp|propsys|msvcrt|api-ms-win-[a-z0-9-]+|cfgmgr32|powrprof|credui|winhttp|rpcrt4|dwrite|d2d1|d3d11|dxgi|uiautomationcore|webview2loader)\.dll$'
for exe in "$dist"/*.exe; do
  file "$exe" | grep -q 'PE32+ executable.*x86-64' || {
    echo "windows-build: $exe is not a 64-bit Windows executable: $(file -b "$exe")" >&2
    exit 1
  }
  while read -r dll; do
    if ! printf '%s\n' "$dll" | tr '[:upper:]' '[:lower:]' | grep -Eq "$system"; then
      echo "windows-build: $(basename "$exe") needs $dll, which Windows does not have and the build does not ship" >&2
      exit 1
    fi
  done < <(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p')
done
ls -l "$dist" >&2
echo "$dist"
