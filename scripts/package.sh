#!/usr/bin/env bash
# Builds the Linux packages of the desktop app, a .deb and an .rpm, with Tauri's bundler:
#
#   ./scripts/package.sh            # release build (what clinics install)
#   ./scripts/package.sh --debug    # from the debug build (what CI installs and tests)
#
# The shipped binary is stripped; its symbols stay beside the packages
# (askara-inbox-desktop.debug, linked by .gnu_debuglink) for crash analysis. The .deb's
# dependencies come from the binary's real library needs (dpkg-shlibdeps), so they hold on
# every Debian/Ubuntu release it is built on. The Tauri CLI is pinned in packaging/package.json
# (npm's prebuilt binary) and installed there on first use, like deps.sh installs tauri-driver.
# Prints the paths of the packages made, one per line, last.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/askara-inbox-target}"

profile=release
if [ "${1:-}" = "--debug" ]; then profile=debug; fi

for tool in npm objcopy dpkg-shlibdeps; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "package: '$tool' not found: run ./scripts/deps.sh first" >&2
    exit 1
  }
done

(
  cd packaging
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund >&2
  fi
)
tauri="$root/packaging/node_modules/.bin/tauri"

if [ "$profile" = release ]; then
  cargo build --release --locked -p askara-inbox-desktop >&2
else
  cargo build --locked -p askara-inbox-desktop >&2
fi

# The bundler takes the binary from "$CARGO_TARGET_DIR/<profile>/": give it a staging target
# dir holding a stripped copy, so the build's own binary keeps its symbols.
stage="$CARGO_TARGET_DIR/package/$profile"
rm -rf "$stage"
mkdir -p "$stage/$profile" "$stage/out"
bin="$CARGO_TARGET_DIR/$profile/askara-inbox-desktop"
objcopy --only-keep-debug "$bin" "$stage/out/askara-inbox-desktop.debug"
objcopy --strip-all --add-gnu-debuglink="$stage/out/askara-inbox-desktop.debug" \
  "$bin" "$stage/$profile/askara-inbox-desktop"

# Dependencies from what the binary links (dpkg-shlibdeps wants a debian/control beside it).
shlib="$stage/shlibdeps"
mkdir -p "$shlib/debian"
printf 'Source: askara-inbox\n\nPackage: askara-inbox\nArchitecture: any\n' >"$shlib/debian/control"
depends=$(cd "$shlib" && dpkg-shlibdeps -O "$stage/$profile/askara-inbox-desktop" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
if [ -z "$depends" ]; then
  echo "package: dpkg-shlibdeps found no dependencies for the binary" >&2
  exit 1
fi
# The tray icon's library is loaded at run time (dlopen), so dpkg-shlibdeps cannot see it.
depends="$depends, libayatana-appindicator3-1"
deps_json=$(printf '%s' "$depends" | python3 -c 'import json,sys; print(json.dumps([d.strip() for d in sys.stdin.read().split(",") if d.strip()]))')

# Debian's documentation files: the copyright, and the changelog compressed as policy wants.
doc="$stage/doc"
mkdir -p "$doc"
cp packaging/copyright "$doc/copyright"
gzip -9n <packaging/changelog >"$doc/changelog.gz"
files_json="{\"/usr/share/doc/askara-inbox/copyright\":\"$doc/copyright\",\"/usr/share/doc/askara-inbox/changelog.gz\":\"$doc/changelog.gz\"}"

debug_flag=()
[ "$profile" = debug ] && debug_flag=(--debug)
(
  cd src-tauri
  CARGO_TARGET_DIR="$stage" CI=true "$tauri" bundle "${debug_flag[@]}" --bundles deb,rpm \
    --config "{\"bundle\":{\"linux\":{\"deb\":{\"depends\":$deps_json,\"files\":$files_json}}}}" >&2
)
# The bundler names the files after the product name ("Askara Inbox_…"): no spaces for people
# who type them.
version=$(python3 -c 'import json; print(json.load(open("src-tauri/tauri.conf.json"))["version"])')
arch=$(dpkg --print-architecture)
mv "$stage/$profile/bundle/deb/"*.deb "$stage/out/askara-inbox_${version}_${arch}.deb"
mv "$stage/$profile/bundle/rpm/"*.rpm "$stage/out/askara-inbox-${version}-1.$(uname -m).rpm"
find "$stage/out" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.rpm' \) -print | sort
echo "$stage/out/askara-inbox-desktop.debug"
