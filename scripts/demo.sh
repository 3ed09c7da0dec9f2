#!/usr/bin/env bash
# `make run` and `make trace`: boots one run of the hypervisor and shows its
# serial log; with --trace, turns the interrupt trace into a timeline.
#
#   scripts/demo.sh [--trace] [--emu E] [--group G | --cfg FILE | --linux]
#
# --linux: the Linux guest of `make linux` (built first if missing) with
# tests/configs/linux.cfg; what is typed at the terminal goes to its COM1,
# line by line, and `poweroff` in its shell ends the run.
# --group G (default tour): testos group G, with tests/configs/demo.cfg's
# other settings; --cfg FILE: that config as it is (its guest beside it is
# testos.elf). --trace adds `trace = on`; the dump (Bochs's port 0xE9 output)
# becomes build/trace/<run>.json (trace-event format, for Perfetto or
# chrome://tracing) and build/trace/<run>.png (scripts/trace2json.py).
# The tour's COM1 stop gets a key typed into COM1 (Bochs).
set -uo pipefail
cd "$(dirname "$0")/.."
trace=0; emu=(); group=tour; cfg=""; linux=0
while [ $# -gt 0 ]; do
  case "$1" in
    --trace) trace=1; shift ;;
    --emu) [ -n "$2" ] && emu=(--emu "$2"); shift 2 ;;
    --group) [ -n "$2" ] && group=$2; shift 2 ;;
    --cfg) cfg=$2; shift 2 ;;
    --linux) linux=1; shift ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p build/run
if [ "$linux" = 1 ]; then
  scripts/linux-build.sh || exit 2
  read -r kernel initrd disk < <(scripts/linux-build.sh --paths)
  cp tests/configs/linux.cfg build/run/linux.cfg
  [ "$trace" = 1 ] && echo "trace     = on" >> build/run/linux.cfg
  scripts/mkdisk.sh build/run/linux.img build/run/linux.cfg "$kernel:bzImage" "$initrd:initrd.gz" "$disk:disk.img" || exit 2
  echo "demo: Linux reaches its shell in about 20 s of Bochs here; type commands after the '/ #' line, 'poweroff' to end"
  echo "demo: its virtio disk is /dev/vda (read-only ext2: mount -t ext2 -o ro /dev/vda /mnt)"
  exec scripts/run.sh "${emu[@]}" --interactive --timeout 86400 --serial build/run/linux.serial.log build/run/linux.img
fi
if [ -n "$cfg" ]; then
  [ -f "$cfg" ] || { echo "demo: no config $cfg" >&2; exit 2; }
  name=$(basename "$cfg" .cfg)
  grep -v '^[[:space:]]*trace[[:space:]]*=' "$cfg" > "build/run/$name.cfg"
else
  name=$group
  sed "s/^cmdline *=.*/cmdline   = $group ram_mb=32/" tests/configs/demo.cfg > "build/run/$name.cfg"
fi
[ "$trace" = 1 ] && echo "trace     = on" >> "build/run/$name.cfg"
scripts/mkdisk.sh "build/run/$name.img" "build/run/$name.cfg" || exit 2
serial=build/run/$name.serial.log
scripts/run.sh "${emu[@]}" --send 'tour: type a key' 'k' --serial "$serial" "build/run/$name.img"
rc=$?
[ "$trace" = 1 ] || exit $rc
mkdir -p build/trace
if python3 scripts/trace2json.py "build/run/$name.serial.bochs.out" "build/trace/$name"; then
  echo "trace: build/trace/$name.json (open in https://ui.perfetto.dev or chrome://tracing)"
  echo "trace: build/trace/$name.png"
else
  echo "trace: no timeline (no 'tinyhv-trace' dump in build/run/$name.serial.bochs.out)" >&2
  rc=1
fi
exit $rc
