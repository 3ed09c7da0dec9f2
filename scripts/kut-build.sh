#!/usr/bin/env bash
# Builds kvm-unit-tests (the KVM project's x86 test kernels, our conformance
# suite) once into the cache, outside the tree: nothing of it is committed.
#
#   scripts/kut-build.sh          build if missing; prints the folder holding x86/*.flat
#
# Source, in this order: $KUT_TARBALL, ../shared/vendor/kvm-unit-tests-<commit>.tar.xz
# (sha256 checked), else the upstream repository at the pinned commit (git).
set -euo pipefail
KUT_COMMIT=1da1819e49fc4938985edca67df669099b4c87a7
KUT_SHORT=${KUT_COMMIT:0:8}
KUT_SHA256=1a9e9533dd00046202e64c8027c68aaa2b969f2a901ed1ccffb9f3829deaf35d
KUT_GIT=https://gitlab.com/kvm-unit-tests/kvm-unit-tests.git
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tinyhv}
DIR=$CACHE/kut-$KUT_SHORT
if [ -f "$DIR/x86/ioapic.flat" ]; then echo "$DIR"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=${KUT_TARBALL:-$HERE/../../shared/vendor/kvm-unit-tests-$KUT_SHORT.tar.xz}
if [ -f "$tarball" ]; then
  echo "$KUT_SHA256  $tarball" | sha256sum -c --quiet - >&2 || {
    echo "kut: error: $tarball does not have sha256 $KUT_SHA256" >&2; exit 1; }
  tar -C "$work" -xf "$tarball"
  src=$(echo "$work"/kvm-unit-tests*/)
else
  echo "kut: no $tarball; cloning $KUT_GIT at $KUT_COMMIT" >&2
  git clone -q "$KUT_GIT" "$work/src" >&2 && git -C "$work/src" checkout -q "$KUT_COMMIT" >&2 || {
    echo "kut: error: cannot get kvm-unit-tests (set KUT_TARBALL=/path/to/kvm-unit-tests-$KUT_SHORT.tar.xz)" >&2
    exit 1; }
  src=$work/src
fi
echo "kut: building kvm-unit-tests $KUT_SHORT into $DIR" >&2
( cd "$src" && ./configure --arch=x86_64 >"$work/configure.log" 2>&1 && make -j"$(nproc)" >"$work/make.log" 2>&1 ) || {
  tail -30 "$work"/*.log >&2; exit 1; }
mkdir -p "$DIR/x86"
cp "$src"/x86/*.flat "$src"/x86/unittests.cfg "$DIR/x86/"
echo "$DIR"
