#!/usr/bin/env bash
# Build tinyhv's Linux guest once into the cache: bzImage from Debian's
# linux-source-6.1 with guest/linux/config merged onto tinyconfig, and a
# busybox initramfs (busybox-static + guest/linux/init). Nothing of Linux
# lands in the tree.
#
#   scripts/linux-build.sh            build what is missing; print the paths
#   scripts/linux-build.sh --paths    print "<bzImage> <initrd> <disk>" (no build)
#   scripts/linux-build.sh --debian   fetch Debian's stock cloud kernel (the vmlinuz of
#                                     linux-image-cloud-amd64, a bzImage) once into the
#                                     cache; print "<vmlinuz> <initrd>"
#
# Cache layout ($HV_CACHE, default ~/.cache/tinyhv):
#   linux-src-<version>/              the unpacked source, shared by all keys
#   linux-<key>/bzImage               key: source version, gcc version, the
#                                     config fragment and this script
#   linux-initrd-<key>/initrd.cpio.gz key: busybox version, guest/linux/init
#   linux-disk-<key>/disk.img         the virtio-blk disk (issue 13): an ext2 file
#                                     system holding data.bin (1 MiB of known,
#                                     repeatable bytes) and data.sha256, its sum;
#                                     key: e2fsprogs version and this script
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CACHE=${HV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tinyhv}
FRAGMENT=$ROOT/guest/linux/config
INIT=$ROOT/guest/linux/init
JOBS=${LINUX_JOBS:-2}

# Debian packages and a file each provides (as scripts/deps.sh does).
PKGS=(
  "linux-source-6.1:/usr/src/linux-source-6.1.tar.xz"
  "busybox-static:/bin/busybox"
  "bc:/usr/bin/bc" "bison:/usr/bin/bison" "flex:/usr/bin/flex"
  "libelf-dev:/usr/include/libelf.h" "libssl-dev:/usr/include/openssl/ssl.h"
  "cpio:/usr/bin/cpio" "xz-utils:/usr/bin/xz" "gcc:/usr/bin/gcc" "make:/usr/bin/make"
  "gzip:/bin/gzip" "perl:/usr/bin/perl" "e2fsprogs:/sbin/mke2fs"
)
missing=()
for entry in "${PKGS[@]}"; do
  [ -e "${entry#*:}" ] || missing+=("${entry%%:*}")
done
if [ ${#missing[@]} -gt 0 ] && [ "${1:-}" != --paths ]; then
  echo "linux: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }
SRC_VER=$(pkgver linux-source-6.1)
BB_VER=$(pkgver busybox-static)
GCC_VER=$(gcc -dumpfullversion 2>/dev/null || echo none)
KKEY=$( { echo "linux-source-6.1 $SRC_VER gcc $GCC_VER"; cat "$FRAGMENT"; sed -n '/^# ---- kernel/,/^# ---- end kernel/p' "$0"; } | sha256sum | cut -c1-16)
IKEY=$( { echo "busybox-static $BB_VER"; cat "$INIT"; sed -n '/^# ---- initramfs/,/^# ---- end initramfs/p' "$0"; } | sha256sum | cut -c1-16)
E2_VER=$(pkgver e2fsprogs)
DKEY=$( { echo "e2fsprogs $E2_VER"; sed -n '/^# ---- disk/,/^# ---- end disk/p' "$0"; } | sha256sum | cut -c1-16)
DISK=$CACHE/linux-disk-$DKEY/disk.img
KDIR=$CACHE/linux-$KKEY
IDIR=$CACHE/linux-initrd-$IKEY
BZIMAGE=$KDIR/bzImage
INITRD=$IDIR/initrd.cpio.gz

if [ "${1:-}" = --paths ]; then echo "$BZIMAGE $INITRD $DISK"; exit 0; fi

# Debian's stock cloud kernel (issue 8 part 7): the package the metapackage
# linux-image-cloud-amd64 depends on, fetched with apt-get download.
debian_kernel() {
  local pkg ver dir
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
  [ -n "$pkg" ] || { echo "linux: error: apt-cache knows no linux-image-cloud-amd64" >&2; return 1; }
  ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
  dir=$CACHE/debian-$pkg-$ver
  if [ ! -f "$dir/vmlinuz" ]; then
    local tmp; tmp=$(mktemp -d)
    echo "linux: fetching $pkg $ver (apt-get download)" >&2
    ( cd "$tmp" && apt-get download "$pkg=$ver" >/dev/null 2>&1 ) &&
      dpkg-deb -x "$tmp"/*.deb "$tmp/x" || { rm -rf "$tmp"; echo "linux: error: cannot fetch $pkg" >&2; return 1; }
    mkdir -p "$dir"
    cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz"
    rm -rf "$tmp"
  fi
  echo "$dir/vmlinuz"
}

SRC=$CACHE/linux-src-$SRC_VER
unpack() {
  if [ ! -f "$SRC/.unpacked" ]; then
    echo "linux: unpacking /usr/src/linux-source-6.1.tar.xz into $SRC"
    rm -rf "$SRC"; mkdir -p "$SRC"
    tar -C "$SRC" --strip-components=1 -xf /usr/src/linux-source-6.1.tar.xz
    touch "$SRC/.unpacked"
  fi
}

# ---- kernel ----
if [ ! -f "$BZIMAGE" ] && [ "${1:-}" != --debian ]; then
  unpack
  OUT=$KDIR.build
  mkdir -p "$OUT"
  echo "linux: building bzImage (make -j$JOBS, several minutes) in $OUT; log: $OUT/build.log"
  start=$(date +%s)
  {
    make -C "$SRC" O="$OUT" ARCH=x86_64 tinyconfig
    ( cd "$OUT" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" "$FRAGMENT" )
    make -C "$SRC" O="$OUT" ARCH=x86_64 olddefconfig
  } >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" >&2; exit 1; }
  # Every option the fragment asks for must have survived olddefconfig.
  bad=0
  while IFS= read -r line; do
    case "$line" in CONFIG_*=n) opt=${line%%=*}; want="# $opt is not set" ;;
                    CONFIG_*) want=$line ;; *) continue ;; esac
    grep -qxF "$want" "$OUT/.config" || { echo "linux: error: $line did not survive olddefconfig (have: $(grep -E "^(# )?${line%%=*}[= ]" "$OUT/.config" || echo unset))" >&2; bad=1; }
  done < "$FRAGMENT"
  [ $bad = 0 ] || exit 1
  make -C "$SRC" O="$OUT" ARCH=x86_64 -j"$JOBS" bzImage >>"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log" >&2; exit 1; }
  secs=$(( $(date +%s) - start ))
  cp "$OUT/.config" "$OUT/config"
  cp "$OUT/arch/x86/boot/bzImage" "$OUT/bzImage.tmp"
  rm -rf "$KDIR"; mkdir -p "$KDIR"
  cp "$OUT/config" "$OUT/build.log" "$OUT/System.map" "$KDIR/"
  mv "$OUT/bzImage.tmp" "$BZIMAGE"
  echo "$secs" > "$KDIR/build-seconds"
  rm -rf "$OUT"
  echo "linux: bzImage built in ${secs} s ($(stat -c %s "$BZIMAGE") bytes)"
fi
# ---- end kernel ----

# ---- initramfs ----
# Made with the kernel's own usr/gen_init_cpio from a description list, so
# that /dev/console (which the kernel opens for init before anything is
# mounted) is a device node without needing root.
if [ ! -f "$INITRD" ]; then
  unpack
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  gcc -O2 -o "$tmp/gen_init_cpio" "$SRC/usr/gen_init_cpio.c"
  cat > "$tmp/list" <<LIST
dir /dev 755 0 0
nod /dev/console 600 0 0 c 5 1
dir /bin 755 0 0
dir /proc 755 0 0
dir /sys 755 0 0
dir /tmp 1777 0 0
dir /root 700 0 0
file /bin/busybox /bin/busybox 755 0 0
slink /bin/sh busybox 777 0 0
file /init $INIT 755 0 0
LIST
  mkdir -p "$IDIR"
  "$tmp/gen_init_cpio" "$tmp/list" | gzip -9n > "$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  echo "linux: initramfs built ($(stat -c %s "$INITRD") bytes)"
fi
# ---- end initramfs ----

# ---- disk ----
# 8 MiB of ext2, made by mke2fs -d as an ordinary user. data.bin's bytes
# come from a fixed seed, so its sum is the same on every machine.
if [ ! -f "$DISK" ]; then
  tmp=$(mktemp -d)
  mkdir "$tmp/root"
  perl -e 'my $x = 2463534242; for (1 .. 262144) { $x ^= ($x << 13) & 0xffffffff; $x ^= $x >> 17; $x ^= ($x << 5) & 0xffffffff; print pack("V", $x) }' > "$tmp/root/data.bin"
  ( cd "$tmp/root" && sha256sum data.bin > data.sha256 )
  mkdir -p "$(dirname "$DISK")"
  mke2fs -q -F -t ext2 -L tinyhv -d "$tmp/root" "$DISK.tmp" 8M
  mv "$DISK.tmp" "$DISK"
  rm -rf "$tmp"
  echo "linux: disk image built ($(stat -c %s "$DISK") bytes, data.bin sha256 $(debugfs -R 'cat /data.sha256' "$DISK" 2>/dev/null | cut -c1-16)...)"
fi
# ---- end disk ----

if [ "${1:-}" = --debian ]; then
  vmlinuz=$(debian_kernel) || exit 1
  echo "$vmlinuz $INITRD"
  exit 0
fi
echo "linux: bzImage $BZIMAGE"
echo "linux: initrd  $INITRD"
echo "linux: disk    $DISK"
