#!/usr/bin/env bash
# Install everything the project needs on a Debian/Ubuntu machine, and build
# Bochs 3.0 with VMX emulation into a cache outside the tree.
#
#   scripts/deps.sh            install what is missing (fast no-op when all is there)
#   scripts/deps.sh --packages-only  only the Debian packages (enough to build)
#   scripts/deps.sh --bochs-path     print the path of the cached Bochs binary
#
# Environment:
#   HV_CACHE      cache folder (default: $XDG_CACHE_HOME/tinyhv or ~/.cache/tinyhv)
#   BOCHS_TARBALL a local copy of bochs_3.0+dfsg.orig.tar.xz to use instead of
#                 Debian's source package (checked against the same sha256)
set -euo pipefail

BOCHS_VERSION=3.0+dfsg
BOCHS_DEB_VERSION=3.0+dfsg-1
BOCHS_TARBALL_NAME=bochs_${BOCHS_VERSION}.orig.tar.xz
BOCHS_SHA256=78f6c73d4a6472d5130a87ab9dc306d02c7c71ed8e25b3a8ef642e2a7acd282b
BOCHS_FLAGS="--enable-x86-64 --enable-vmx=2 --enable-cpu-level=6 --enable-pci --enable-smp \
--enable-avx --enable-evex --enable-all-optimizations --enable-configurable-msrs \
--enable-a20-pin --with-nogui"
HERE=$(cd "$(dirname "$0")" && pwd)
PATCH_DIR=$HERE/bochs-patches

CACHE=${HV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tinyhv}
# The cache key covers the version, the configure flags and our patches.
KEY=$( { echo "$BOCHS_VERSION $BOCHS_SHA256 $BOCHS_FLAGS"; cat "$PATCH_DIR"/*.sh; } | sha256sum | cut -c1-16)
BOCHS_DIR=$CACHE/bochs-$KEY
BOCHS_BIN=$BOCHS_DIR/bin/bochs

case "${1:-}" in
  --bochs-path) echo "$BOCHS_BIN"; exit 0 ;;
  --packages-only) PACKAGES_ONLY=1 ;;
  "") PACKAGES_ONLY=0 ;;
  *) echo "usage: $0 [--bochs-path | --packages-only]" >&2; exit 2 ;;
esac

# Debian packages and a file each one provides (a cheap presence test).
PKGS=(
  "gnu-efi:/usr/lib/crt0-efi-x86_64.o"
  "nasm:/usr/bin/nasm"
  "qemu-system-x86:/usr/bin/qemu-system-x86_64"
  "ovmf:/usr/share/ovmf/OVMF.fd"
  "seabios:/usr/share/seabios/vgabios-stdvga.bin"
  "mtools:/usr/bin/mcopy"
  "fdisk:/usr/sbin/sfdisk"
  "libcmocka-dev:/usr/include/cmocka.h"
  "clang:/usr/bin/clang"
  "clang-format:/usr/bin/clang-format"                                         # make format
  "gcc:/usr/bin/gcc"
  "g++:/usr/bin/g++"
  "make:/usr/bin/make"
  "xz-utils:/usr/bin/xz"
  "perl:/usr/bin/prove"
  "binutils:/usr/bin/objcopy"
  "acpica-tools:/usr/bin/iasl"   # tests/tools/acpi_iasl.t: the guest's ACPI tables
  "python3-matplotlib:/usr/lib/python3/dist-packages/matplotlib/__init__.py"   # make trace: the PNG
)

missing=()
for entry in "${PKGS[@]}"; do
  pkg=${entry%%:*}; file=${entry#*:}
  [ -e "$file" ] || missing+=("$pkg")
done
# libFuzzer's runtime ships with clang's compiler-rt.
if [ -x /usr/bin/clang ] && ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  missing+=(libclang-rt-dev)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # libclang-rt-dev is the generic name on newer releases; Debian 12 names it per version.
  pkgs=()
  for p in "${missing[@]}"; do
    if [ "$p" = libclang-rt-dev ] && ! apt-cache show libclang-rt-dev >/dev/null 2>&1; then
      v=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' || true)
      [ -n "$v" ] || v=14
      p=libclang-rt-$v-dev
    fi
    pkgs+=("$p")
  done
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

if [ "$PACKAGES_ONLY" = 1 ] || [ -x "$BOCHS_BIN" ]; then exit 0; fi

# ---- Bochs 3.0 with VMX, built once into the cache ----
echo "deps: building Bochs $BOCHS_VERSION with VMX into $BOCHS_DIR (about 2 minutes)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The source: Debian's source package (bochs 3.0 is in trixie; a private
# deb-src list keeps the machine's apt configuration untouched), else a local
# copy with the same checksum ($BOCHS_TARBALL, the cache, ../shared/vendor).
# The Debian archive this machine's own apt sources name (a local mirror
# included), so that a machine behind a mirror never needs the internet's;
# deb.debian.org when none is found (an Ubuntu machine, say).
debian_mirror() {
  local uri
  uri=$( { grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
           grep -hsE '^[[:space:]]*deb(-src)?[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
             sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } |
         grep -E '/debian/?$' | head -1)
  echo "${uri:-http://deb.debian.org/debian}"
}
fetch_from_registry() {
  local apt="$work/apt" mirror
  mirror=$(debian_mirror)
  echo "deps: Debian archive: $mirror (from this machine's apt sources)"
  mkdir -p "$apt/parts" "$apt/lists/partial"
  printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "${mirror%/}" > "$apt/parts/bochs-src.sources"
  local opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$apt/parts"
              -o Dir::State::Lists="$apt/lists" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update >"$work/apt.log" 2>&1 || return 1
  # The registry may answer 404 for the .dsc while serving the tarball: the
  # tarball's checksum below is what counts.
  ( cd "$work" && apt-get "${opts[@]}" source --download-only "bochs=$BOCHS_DEB_VERSION" >>"$work/apt.log" 2>&1 ) || true
  [ -f "$work/$BOCHS_TARBALL_NAME" ] && mkdir -p "$CACHE" && cp "$work/$BOCHS_TARBALL_NAME" "$CACHE/"
}
tarball=""
if [ -n "${BOCHS_TARBALL:-}" ]; then
  tarball=$BOCHS_TARBALL
elif [ -f "$CACHE/$BOCHS_TARBALL_NAME" ]; then
  tarball=$CACHE/$BOCHS_TARBALL_NAME
else
  echo "deps: fetching Debian's source package bochs=$BOCHS_DEB_VERSION"
  if fetch_from_registry; then
    tarball=$CACHE/$BOCHS_TARBALL_NAME
  elif [ -f "$HERE/../../shared/vendor/$BOCHS_TARBALL_NAME" ]; then
    echo "deps: the registry did not serve it; using ../shared/vendor/$BOCHS_TARBALL_NAME"
    tarball=$HERE/../../shared/vendor/$BOCHS_TARBALL_NAME
  else
    tail -5 "$work/apt.log" >&2 || true
    echo "deps: error: could not get $BOCHS_TARBALL_NAME from the registry." >&2
    echo "deps: set BOCHS_TARBALL=/path/to/$BOCHS_TARBALL_NAME (sha256 $BOCHS_SHA256)." >&2
    exit 1
  fi
fi
echo "$BOCHS_SHA256  $tarball" | sha256sum -c --quiet - || {
  echo "deps: error: $tarball does not have sha256 $BOCHS_SHA256" >&2; exit 1; }

tar -C "$work" -xf "$tarball"
src=$(echo "$work"/bochs-*/)
for p in "$PATCH_DIR"/*.sh; do
  echo "deps: applying $(basename "$p")"
  bash "$p" "$src"
done
( cd "$src" && ./configure --prefix="$BOCHS_DIR" $BOCHS_FLAGS >"$work/configure.log" 2>&1 ) || {
  tail -30 "$work/configure.log" >&2; exit 1; }
( cd "$src" && make -j"$(nproc)" >"$work/make.log" 2>&1 && make install >>"$work/make.log" 2>&1 ) || {
  # a parallel build's error can be far from the log's end: show it first
  grep -m10 -E 'error:|Error [0-9]' "$work/make.log" >&2; tail -20 "$work/make.log" >&2
  echo "deps: error: building Bochs failed (above)" >&2; exit 1; }
echo "deps: Bochs ready: $BOCHS_BIN"
