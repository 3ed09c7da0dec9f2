#!/usr/bin/env bash
# Boots a disk image in an emulator, shows (or saves) the serial log, and
# ends when the hypervisor prints its final line, the emulator exits, or the
# timeout expires.
#
#   scripts/run.sh [--emu bochs|qemu-kvm|qemu-tcg] [--serial FILE] [--timeout S] [--quiet]
#                  [--send TRIGGER PAYLOAD]... [--until REGEX] [--interactive] IMAGE
#
# --send: when TRIGGER appears in the serial output, type PAYLOAD into COM1
# (Bochs only: COM1 then goes through scripts/serial_peer.pl on a loopback
# socket instead of a file).
# --interactive: each line typed at the terminal goes to COM1 (Bochs only, as
# QEMU's -serial stdio). The terminal stays in line mode: the hypervisor
# forwards the guest's output line by line, so a line typed shows at once
# and is sent whole when Enter is pressed.
# --until: also end 5 s after a line matching REGEX (a guest that halts
# without ending the run, e.g. a Linux `poweroff` with no ACPI power-off).
# Emulator choice: --emu, else $EMU, else QEMU/KVM when /dev/kvm works and
# the CPU has VT-x, else Bochs with VMX emulation.
# BOCHS=/path/to/bochs uses another Bochs build (e.g. one without our patches).
# Exit status: 0 when the log ends with "hv: guest exited status=0",
# 1 otherwise, 124 on timeout, 3 when the emulator powered off before any
# final line (a guest run with bare = on that ends Bochs itself, as
# kvm-unit-tests do through port 0x8900).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
emu=${EMU:-}; serial=""; timeout=120; quiet=0; sends=(); until=; interactive=0
while [ $# -gt 1 ]; do
  case "$1" in
    --emu) emu=$2; shift 2 ;;
    --serial) serial=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --send) sends+=("$2" "$3"); shift 3 ;;
    --until) until=$2; shift 2 ;;
    --interactive) interactive=1; shift ;;
    *) echo "run: unknown option $1" >&2; exit 2 ;;
  esac
done
img=${1:?usage: run.sh [options] IMAGE}
[ -f "$img" ] || { echo "run: no image $img" >&2; exit 2; }
[ -n "$serial" ] || serial=${img%.img}.serial.log
base=${serial%.log}

if [ -z "$emu" ]; then
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo; then emu=qemu-kvm; else emu=bochs; fi
fi

OVMF=/usr/share/ovmf/OVMF.fd
rm -f "$serial"; : > "$serial"
case "$emu" in
  bochs)
    bochs=${BOCHS:-$("$HERE/deps.sh" --bochs-path)}   # BOCHS=... runs another build
    [ -x "$bochs" ] || { echo "run: Bochs not built; run 'make deps'" >&2; exit 2; }
    rc=$base.bochsrc; msrs=$base.msrs.def; blog=$base.bochs.log
    com1="mode=file, dev=$serial"
    if [ ${#sends[@]} -gt 0 ] || [ "$interactive" = 1 ]; then
      rm -f "$base.port"
      if [ "$interactive" = 1 ]; then
        perl "$HERE/serial_peer.pl" --stdin "$serial" "$base.port" "${sends[@]}" <&0 &
      else
        perl "$HERE/serial_peer.pl" "$serial" "$base.port" "${sends[@]}" &
      fi
      peer=$!
      for _ in $(seq 50); do [ -s "$base.port" ] && break; sleep 0.1; done
      [ -s "$base.port" ] || { echo "run: the serial peer did not start" >&2; exit 2; }
      com1="mode=socket-client, dev=127.0.0.1:$(cat "$base.port")"
    fi
    # OVMF reads IA32_PLATFORM_ID (0x17), which Bochs lacks: define it so that
    # ignore_bad_msrs can stay 0 and every other unknown MSR faults as on hardware.
    echo '0x017 0 00000000 00000000 00000000 00000000 00000000 00000000' > "$msrs"
    cat > "$rc" <<RC
megs: 256
romimage: file=$OVMF
vgaromimage: file=/usr/share/seabios/vgabios-stdvga.bin
vga: extension=vbe
pci: enabled=1, chipset=i440fx
cpu: model=tigerlake, count=1, ips=200000000, reset_on_triple_fault=0, ignore_bad_msrs=0, msrs="$msrs"
ata0-master: type=disk, path=$img, mode=flat
boot: disk
com1: enabled=1, $com1
display_library: nogui
clock: sync=none, time0=946684800
log: $blog
panic: action=fatal
error: action=report
info: action=report, cpu0=ignore
debug: action=ignore
port_e9_hack: enabled=1
RC
    "$bochs" -q -unlock -f "$rc" </dev/null >"$base.bochs.out" 2>&1 &
    ;;
  qemu-tcg|qemu-kvm)
    accel=(); [ "$emu" = qemu-kvm ] && accel=(-enable-kvm -cpu host)
    qemu-system-x86_64 "${accel[@]}" -machine q35 -m 256 -display none -monitor none \
      -bios "$OVMF" -drive format=raw,file="$img" -serial file:"$serial" \
      -device isa-debug-exit,iobase=0xf4,iosize=4 -net none -no-reboot </dev/null >"$base.qemu.out" 2>&1 &
    ;;
  *) echo "run: unknown emulator '$emu' (bochs, qemu-kvm, qemu-tcg)" >&2; exit 2 ;;
esac
pid=$!

tailpid=""
if [ "$quiet" = 0 ]; then
  echo "run: booting $img in $emu (serial log: $serial)"
  tail -n +1 -f "$serial" --pid=$pid 2>/dev/null | sed -u "s/\r//g" &
  tailpid=$!
fi

# The hypervisor's last words: a guest's end, a stop, or a fatal error.
final='^(hv: (guest exited status=|guest stopped:|error: fatal:)|# bare run ended)'
deadline=$((SECONDS + timeout)); result=timeout
while kill -0 $pid 2>/dev/null; do
  if tr -d '\r' < "$serial" | grep -Eq "$final"; then result=final; sleep 0.3; break; fi
  if [ $SECONDS -ge $deadline ]; then break; fi
  if [ -n "$until" ] && tr -d '\r' < "$serial" | grep -Eq "$until"; then
    until=""; [ $((SECONDS + 5)) -lt $deadline ] && deadline=$((SECONDS + 5)); fi
  sleep 0.1
done
[ "$result" = timeout ] && [ $SECONDS -lt $deadline ] && result=quit
kill $pid 2>/dev/null; wait $pid 2>/dev/null
[ -n "${peer:-}" ] && { kill $peer 2>/dev/null; wait $peer 2>/dev/null; }
[ -n "$tailpid" ] && { sleep 0.2; kill $tailpid 2>/dev/null; wait $tailpid 2>/dev/null; }

if [ "$emu" = bochs ] && grep -qE 'VMFAIL|VMENTER FAIL|VMEXIT: .*fail' "$blog" 2>/dev/null; then
  echo "run: Bochs reported failed VMX checks:"; grep -E 'VMFAIL|VMENTER FAIL' "$blog" | head -20
fi
if [ "$result" != final ] && ! tr -d '\r' < "$serial" | grep -Eq "$final"; then
  if [ "$result" = quit ]; then
    echo "run: the emulator powered off with no final line from the hypervisor"
    exit 3
  fi
  echo "run: no final line from the hypervisor within ${timeout}s"
  exit 124
fi
tr -d '\r' < "$serial" | grep -qE '^(hv: guest exited status=0|# bare run ended, status 0)$' && exit 0
exit 1
