#!/usr/bin/env bash
# Bochs 3.0 behaviour corrected here (DESIGN §5, BOCHS.md §5 A):
# VM entry loads the guest's RFLAGS and evaluates the INTR mask while
# in_vmx_guest is still false, so with guest IF=0 the host rule masks INTR and
# external-interrupt exiting does nothing until the guest changes IF. The SDM
# says IF is irrelevant when external-interrupt exiting is 1. Re-evaluate the
# mask once the CPU is in VMX non-root operation.
set -euo pipefail
f="$1/cpu/vmx.cc"
grep -q 'tinyhv: re-evaluate INTR mask' "$f" && exit 0
n=$(grep -c '^  BX_CPU_THIS_PTR in_vmx_guest = true;$' "$f")
[ "$n" = 1 ] || { echo "patch 01: anchor not found once in $f" >&2; exit 1; }
sed -i 's|^  BX_CPU_THIS_PTR in_vmx_guest = true;$|&\n  handleInterruptMaskChange(); // tinyhv: re-evaluate INTR mask in VMX non-root (Bochs 3.0 bug A)|' "$f"
grep -q 'tinyhv: re-evaluate INTR mask' "$f"
