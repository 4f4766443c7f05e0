#!/usr/bin/env bash
# Unpacks the Windows test fixtures of the shared directory into .deps/:
#   .deps/apache-win/Apache24                 <- apache-win/apache-2.4-win64-mingw.tar.xz
#   .deps/winpy/cpython-3.11-win-amd64        <- winpy/cpython-3.11-win-amd64.tar.xz
# The shared directory is $SYSGI_SHARED, else the checkout's ../shared, else
# /work/shared. Idempotent (a stamp records which tarball was unpacked), keeps
# the files' times (tar's default), and safe against a concurrent run: each
# tree is unpacked into a temporary directory and renamed into place.
# A missing tarball is reported (exit 1) but the others are still unpacked.
# Usage: tools/unpack-fixtures.sh [apache-win] [winpy]   (default: both)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SYSGI_SHARED:-}
if [ -z "$shared" ]; then
  for d in "$root/../shared" /work/shared; do
    if [ -d "$d" ]; then shared=$(cd "$d" && pwd); break; fi
  done
fi
deps="$root/.deps"
rc=0

# unpack NAME TARBALL TOPDIR: TARBALL's TOPDIR/ into .deps/NAME/TOPDIR.
unpack() {
  local name=$1 tarball=$2 top=$3 dest="$deps/$1"
  if [ -z "$shared" ] || [ ! -f "$tarball" ]; then
    echo "unpack-fixtures: $name: ${tarball:-?} not found (set SYSGI_SHARED to the shared fixtures directory)" >&2
    return 1
  fi
  local stamp="$dest/.$top.stamp" want
  want=$(stat -c '%s %Y' "$tarball")
  if [ -d "$dest/$top" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  if [ -d "$dest/$top" ] && [ ! -f "$stamp" ]; then
    # Unpacked by hand before this script existed (HELPERS.md): trust it
    # if it looks complete, and record it.
    echo "$want" >"$stamp"
    return 0
  fi
  mkdir -p "$dest" || return 1
  local tmp
  tmp=$(mktemp -d "$dest/.unpack.XXXXXX") || return 1
  echo "unpack-fixtures: $name: unpacking $tarball"
  if ! tar -xJf "$tarball" -C "$tmp"; then
    rm -rf "$tmp"; return 1
  fi
  # An outdated tree goes aside first; mv -T never moves into a tree that
  # a concurrent run has just put in place (then that one is kept).
  [ -d "$dest/$top" ] && mv -T "$dest/$top" "$tmp/old"
  mv -T "$tmp/$top" "$dest/$top" 2>/dev/null || true
  [ -d "$dest/$top" ] && echo "$want" >"$stamp"
  rm -rf "$tmp"
}

what=${*:-apache-win winpy}
for w in $what; do
  case "$w" in
    apache-win) unpack apache-win "$shared/apache-win/apache-2.4-win64-mingw.tar.xz" Apache24 || rc=1 ;;
    winpy) unpack winpy "$shared/winpy/cpython-3.11-win-amd64.tar.xz" cpython-3.11-win-amd64 || rc=1 ;;
    *) echo "unpack-fixtures: unknown fixture $w" >&2; rc=2 ;;
  esac
done
exit $rc
