#!/usr/bin/env bash
# Bochs 3.0 behaviour corrected here (found by testos group "inject" on the
# APIC-virtualization path): virtual-interrupt delivery calls interrupt()
# without recording IDT-vectoring information, so a VM exit in the middle of
# that delivery (an EPT violation while pushing the frame) reports the
# previous event instead (measured: the guest's last INT 0x82), and the
# hypervisor re-injects the wrong event while the virtual interrupt is lost
# with its ISR bit set. The SDM (27.2.4) says the exit reports the virtual
# interrupt as an external interrupt. Record it as event.cc does for real
# external interrupts.
set -euo pipefail
f="$1/cpu/vapic.cc"
grep -q 'tinyhv: IDT-vectoring for virtual interrupts' "$f" && exit 0
anchor='  BX_CPU_THIS_PTR EXT = 1; /* external event */'
n=$(grep -cF "$anchor" "$f")
[ "$n" = 1 ] || { echo "patch 02: anchor found $n times in $f" >&2; exit 1; }
awk -v a="$anchor" '
  $0 == a && !done {
    print "  // tinyhv: IDT-vectoring for virtual interrupts (Bochs 3.0 left it stale)"
    print "  vm->idt_vector_info = vector | (BX_EXTERNAL_INTERRUPT << 8);"
    print "  vm->idt_vector_error_code = 0;"
    done = 1
  }
  { print }' "$f" > "$f.new" && mv "$f.new" "$f"
grep -q 'tinyhv: IDT-vectoring for virtual interrupts' "$f"
