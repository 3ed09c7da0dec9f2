#!/usr/bin/env bash
# Host test: the guest's ACPI tables (drivers/acpi_build.c) as iasl sees
# them. tests/tools/acpi_dump.c builds them for a 128 MiB VM and writes each
# table to a file; `iasl -d` (Debian's acpica-tools) must disassemble every
# one without an error, a warning or a wrong checksum, and the disassembly
# must show what the VM description says. The RSDP, which iasl 20200925 does
# not take alone, is checked here for both checksums and its XSDT pointer.
# One last test corrupts a table and expects the same checks to catch it.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
n=0; failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; [ -n "${3:-}" ] && echo "# $3"; fi; }
command -v iasl >/dev/null || { echo "1..0 # SKIP iasl not installed (scripts/deps.sh installs acpica-tools)"; exit 0; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
dump=$work/acpi_dump
gcc -std=c11 -Wall -Wextra -Werror -O1 -o "$dump" "$ROOT/tests/tools/acpi_dump.c" "$ROOT/drivers/acpi_build.c" \
    "$ROOT/boot/vm_desc.c" "$ROOT/arch/x86/fmt.c"
ok $? "the table dumper builds"
mkdir -p "$work/t"
"$dump" "$work/t" 128 > "$work/dump.out"
ok $? "acpi_build builds the tables for a 128 MiB VM"

# iasl_check FILE: 0 when iasl disassembles FILE cleanly; the reason on stdout otherwise.
iasl_check() {
  local f=$1 dsl=${1%.dat}.dsl out
  rm -f "$dsl"
  out=$(cd "$(dirname "$f")" && iasl -d "$(basename "$f")" 2>&1); local rc=$?
  [ $rc = 0 ] || { echo "iasl exit status $rc: $(tail -2 <<<"$out")"; return 1; }
  [ -s "$dsl" ] || { echo "no disassembly"; return 1; }
  if grep -Eiq 'error|warning' <<<"$(grep -v 'Copyright\|Compiler/Disassembler' <<<"$out")"; then
    echo "iasl: $(grep -Ei 'error|warning' <<<"$out" | head -2)"; return 1; fi
  if grep -Eiq 'incorrect|invalid|\*\*\*\*|unknown|terminates|mismatch' "$dsl"; then
    echo "$(grep -Ei 'incorrect|invalid|\*\*\*\*|unknown|terminates|mismatch' "$dsl" | head -2)"; return 1; fi
  return 0
}

for sig in XSDT RSDT FACP FACS DSDT APIC HPET MCFG; do
  why=$(iasl_check "$work/t/$sig.dat"); ok $? "iasl -d $sig: no error, warning or wrong checksum" "$why"
done

# What the disassembly shows must be the VM description's.
has() { grep -Eq -- "$2" "$work/t/$1.dsl"; ok $? "$1 shows $3" "no /$2/ in $1.dsl"; }
has APIC 'Subtable Type : 00 \[Processor Local APIC\]' "one processor LAPIC"
has APIC 'Address : FEC00000' "the IOAPIC at 0xFEC00000"
has APIC 'Interrupt : 00000002' "the override IRQ 0 -> GSI 2"
has APIC 'Trigger Mode : 3' "a level-triggered override (the SCI, IRQ 9)"
has APIC 'Interrupt Input LINT : 01' "LINT1 as NMI"
has FACP 'SCI Interrupt : 0009' "SCI_INT 9"
has FACP 'PM Timer Block Address : 00000608' "the PM timer at 0x608"
has FACP 'Address : 0000000000000CF9' "the reset register at 0xCF9"
has FACP 'Value to cause reset : 06' "reset value 6"
has FACP 'RTC Century Index : 32' "the century byte 0x32"
has DSDT 'Name \(_S5, Package' "\\_S5"
has HPET 'Hardware Block ID : 8086A201' "the HPET block id 0x8086a201"
has HPET 'Address : 00000000FED00000' "the HPET at 0xFED00000"
has MCFG 'Base Address : 00000000B0000000' "MCFG: ECAM at 0xB0000000"
has MCFG 'End Bus Number : 00' "MCFG: bus 0 only"
has DSDT 'Device \(PCI0\)' "the PCI host bridge PCI0"
has DSDT 'Name \(_HID, EisaId \("PNP0A08"\)' "PCI0 is a PCI Express root (PNP0A08)"
has DSDT 'Name \(_CID, EisaId \("PNP0A03"\)' "PCI0 is PCI compatible (PNP0A03)"
has DSDT 'WordBusNumber \(ResourceProducer' "PCI0 _CRS: its bus numbers"
has DSDT '0x0CF7, +// Range Maximum' "PCI0 _CRS: I/O up to 0xCF7"
has DSDT '0x0D00, +// Range Minimum' "PCI0 _CRS: I/O from 0xD00"
has DSDT 'DWordMemory \(ResourceProducer' "PCI0 _CRS: a memory window"
has DSDT '0xFEBFFFFF, +// Range Maximum' "the memory window ends below the IOAPIC"
has DSDT 'Name \(_PRT, Package \(0x80\)' "PCI0 _PRT: 32 slots x 4 pins"
has DSDT 'EisaId \("PNP0C02"\)' "ECAM reserved as a motherboard resource"

# The DSDT's disassembly compiles back (iasl's semantic checks: _CRS, _PRT
# and the rest) without an error, a warning or a remark.
out=$(cd "$work/t" && iasl -p DSDT-again DSDT.dsl 2>&1)
grep -q 'Compilation successful. 0 Errors, 0 Warnings, 0 Remarks' <<<"$out"
ok $? "the disassembled DSDT compiles back cleanly" "$(grep -Ei 'error|warning|remark' <<<"$out" | head -3)"

# The RSDP: signature, both checksums, revision 2, its XSDT pointer.
why=$(python3 - "$work/t/RSDP.dat" "$work/dump.out" <<'PY'
import struct, sys
r = open(sys.argv[1], "rb").read()
xsdt = [int(l.split()[-1], 16) for l in open(sys.argv[2]) if l.startswith("XSDT ")][0]
problems = []
if r[:8] != b"RSD PTR ": problems.append("signature")
if sum(r[:20]) & 0xff: problems.append("checksum of the first 20 bytes")
if len(r) != 36 or sum(r) & 0xff: problems.append("extended checksum")
if r[15] != 2: problems.append("revision %d" % r[15])
if struct.unpack_from("<Q", r, 24)[0] != xsdt: problems.append("XSDT pointer")
print(", ".join(problems))
sys.exit(1 if problems else 0)
PY
); ok $? "RSDP: signature, both checksums, revision 2, XSDT pointer" "$why"

# The checks can fail: a table with one byte changed.
cp "$work/t/APIC.dat" "$work/t/BAD.dat"
printf '\x55' | dd of="$work/t/BAD.dat" bs=1 seek=40 conv=notrunc 2>/dev/null
why=$(iasl_check "$work/t/BAD.dat"); [ $? != 0 ]; ok $? "a corrupted table is caught (${why:-not caught})"

echo "1..$n"
[ $failed = 0 ]
