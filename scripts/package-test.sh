#!/usr/bin/env bash
# The Linux package, tested by installing it: makes the .deb and .rpm (scripts/package.sh, from
# the debug build CI already has), checks the .deb with lintian (no errors), installs it with
# apt, starts the installed app in demo mode under Xvfb, checks its window is mapped and drawn
# (not one flat colour), then purges the package and checks that nothing it installed is left.
# Needs root or sudo (it installs a package). Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

mapfile -t made < <(./scripts/package.sh --debug)
deb=$(printf '%s\n' "${made[@]}" | grep '\.deb$' | head -1)
rpm=$(printf '%s\n' "${made[@]}" | grep '\.rpm$' | head -1)
[ -f "$deb" ] && [ -f "$rpm" ] || { echo "package-test: no .deb or .rpm was made" >&2; exit 1; }
echo "== packages: $(du -h "$deb" | cut -f1) $(basename "$deb"), $(du -h "$rpm" | cut -f1) $(basename "$rpm")"

echo "== lintian"
lintian --fail-on error --tag-display-limit 0 "$deb"

echo "== install"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >/dev/null
pkg=$(dpkg-deb -f "$deb" Package)
mapfile -t installed < <(dpkg -L "$pkg" | while read -r f; do [ -f "$f" ] && echo "$f"; done)
command -v askara-inbox-desktop >/dev/null || { echo "package-test: askara-inbox-desktop is not on PATH after install" >&2; exit 1; }
grep -q '^Categories=.*Medical' /usr/share/applications/*skara*.desktop || {
  echo "package-test: the desktop entry has no Medical category" >&2
  exit 1
}

echo "== the installed app, in demo mode under Xvfb"
home=$(mktemp -d)
out=$(mktemp -d)
cleanup() {
  if [ -f "$out/pid" ]; then kill "$(cat "$out/pid")" 2>/dev/null || true; fi
  # A failed run never leaves the package installed on the machine.
  if dpkg -s "$pkg" >/dev/null 2>&1; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$pkg" >/dev/null || true
  fi
  rm -rf "$home" "$out"
}
trap cleanup EXIT
cat >"$out/check.sh" <<'INNER'
set -euo pipefail
out=$1
askara-inbox-desktop --demo >"$out/app.log" 2>&1 &
pid=$!
echo "$pid" >"$out/pid"
for _ in $(seq 1 120); do
  win=$(xwininfo -root -tree 2>/dev/null | grep -o '^ *0x[0-9a-f]* "Askara Inbox[^"]*"' | head -1 | awk '{print $1}') || true
  if [ -n "$win" ] && xwininfo -id "$win" | grep -q 'IsViewable'; then
    # Drawn: the UI has text and a list, so its pixels are not one flat colour.
    sleep 3
    xwd -id "$win" -silent >"$out/window.xwd"
    python3 - "$out/window.xwd" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
header_size = struct.unpack('>I', d[0:4])[0]
colors = struct.unpack('>I', d[76:80])[0]
pixels = d[header_size + colors * 12:]
distinct = len(set(pixels[i:i + 4] for i in range(0, min(len(pixels), 4_000_000), 4)))
print(f"window drawn with {distinct} distinct colours")
sys.exit(0 if distinct > 20 else 1)
PY
    kill "$pid"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { echo "the app exited:"; tail -5 "$out/app.log"; exit 1; }
  sleep 0.5
done
echo "no Askara Inbox window within 60 s"; tail -5 "$out/app.log"; exit 1
INNER
HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_CONFIG_HOME="$home/.config" \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash "$out/check.sh" "$out"

echo "== remove"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$pkg" >/dev/null
left=()
for f in "${installed[@]}"; do [ -e "$f" ] && left+=("$f"); done
if [ ${#left[@]} -gt 0 ]; then
  echo "package-test: files left after purge: ${left[*]}" >&2
  exit 1
fi
echo "== package install test passed (${#installed[@]} files installed and removed)"
