#!/usr/bin/env bash
# Builds a GPT disk image with one FAT ESP holding the hypervisor as
# EFI/BOOT/BOOTX64.EFI, its config (tinyhv.cfg) and the test guest.
#
#   scripts/mkdisk.sh OUT.img CONFIG [SRC:NAME ...]
#
# CONFIG "-" leaves the config file out (to test that error).
# SRC:NAME pairs add more files to EFI/BOOT (NAME) or replace testos.elf.
# No root and no loop devices: sfdisk and mtools work on the file.
# The image is the same bytes for the same inputs (fixed GPT identifiers,
# volume serial and timestamps): OVMF's run, and so every later instant of
# a boot, does not depend on when the image was made, and a failing run
# (a fuzz seed, say) replays exactly.
set -euo pipefail
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-946684800}   # mtools' timestamps; the bochsrc's time0
out=$1; cfg=$2; shift 2
build=$(dirname "$0")/../build
[ "$cfg" = - ] || [ -f "$cfg" ] || { echo "mkdisk: config $cfg not found" >&2; exit 1; }
tmp=$out.tmp
rm -f "$tmp"
truncate -s 64M "$tmp"
printf 'label: gpt\nlabel-id: 7C4E1A2B-0000-4000-8000-000000000001\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=7C4E1A2B-0000-4000-8000-000000000002\n' |
  sfdisk -q "$tmp" >/dev/null
part="$tmp@@1M"
mformat -i "$part" -F -v TINYHV -N 7C4E1A2B ::
mmd -i "$part" ::/EFI ::/EFI/BOOT
mcopy -i "$part" "$build/hypervisor.efi" ::/EFI/BOOT/BOOTX64.EFI
[ "$cfg" = - ] || mcopy -i "$part" "$cfg" ::/EFI/BOOT/tinyhv.cfg
mcopy -i "$part" "$build/testos.elf" ::/EFI/BOOT/testos.elf
for pair in "$@"; do
  mcopy -o -i "$part" "${pair%%:*}" "::/EFI/BOOT/${pair#*:}"
done
mv "$tmp" "$out"
