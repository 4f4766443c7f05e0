#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks to build and test sysgi,
# and fetches the CPython source package whose headers the Windows cross
# build uses. Idempotent; run as root (or through sudo).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

packages=(
  build-essential cmake pkg-config git curl ca-certificates
  python3 python3-dev python3-pytest python3-requests python3-flask python3-django
  python3-pyramid python3-falcon python3-bottle python3-radicale python3-werkzeug
  apache2 apache2-dev libapache2-mod-wsgi-py3 openssl strace
  gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine wine64 wixl msitools
  wrk xz-utils valgrind
  clang libclang-rt-14-dev libapr1-dev libaprutil1-dev  # tests/fuzz (libFuzzer)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The Windows build compiles against the headers in Debian's CPython source
# package, so deb-src must be enabled.
src_list=/etc/apt/sources.list.d/sysgi-deb-src.sources
need_update=0
if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  $SUDO tee "$src_list" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  need_update=1
fi
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
  $SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# CPython source (headers for Windows, the Stable ABI list for the ABI test).
pysrc="$here/.deps/python-src"
if [ ! -f "$pysrc/Misc/stable_abi.toml" ]; then
  dl=$(mktemp -d)
  (cd "$dl" && apt-get source --download-only -qq python3.11 >/dev/null 2>&1)
  tarball=$(ls "$dl"/python3.11_*.orig.tar.* | head -n 1)
  mkdir -p "$pysrc"
  tar -xf "$tarball" -C "$pysrc" --strip-components=1 --wildcards \
    '*/Include' '*/PC/pyconfig.h' '*/PC/python3dll.c' '*/Misc/stable_abi.toml'
  rm -rf "$dl"
fi
echo "install-deps: ok"
