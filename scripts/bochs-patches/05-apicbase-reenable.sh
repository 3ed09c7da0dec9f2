#!/usr/bin/env bash
# Bochs 3.0 behaviour corrected here (bug G; testos group "lapic", case
# "IA32_APIC_BASE: global disable, then enable again", run on the bare
# machine by bare.t): BX_CPU_C::relocate_apic (cpu/msr.cc) handles a WRMSR
# to IA32_APIC_BASE only while the APIC is globally enabled; once software
# has cleared EN, every later write is ignored, so the local APIC stays off
# for good and its register page reads as unclaimed memory (all ones).
# kvm-unit-tests' reset_apic() clears EN and sets it again, then spins on
# the ICR's delivery-status bit forever. The SDM (vol. 3, "x2APIC
# Transitions From Disabled Mode") says the disabled state's one valid
# IA32_APIC_BASE transition is to xAPIC mode (EN=1, EXTD=0). Handle that
# write too; other writes in the disabled state stay ignored as before.
set -euo pipefail
f="$1/cpu/msr.cc"
grep -q 'tinyhv: a disabled APIC can be enabled again' "$f" && exit 0
old='^  if (apic_global_enable_on()) {$'
n=$(grep -c "$old" "$f")
[ "$n" = 1 ] || { echo "patch 05: anchor found $n times in $f" >&2; exit 1; }
sed -i "s/$old/  if (apic_global_enable_on() || ((val_64 >> 10) \& 3) == 2 \/* EN=1, EXTD=0 *\/) { \/\/ tinyhv: a disabled APIC can be enabled again (Bochs 3.0 bug G)/" "$f"
grep -q '^  if (apic_global_enable_on() || ((val_64 >> 10) & 3) == 2 /\* EN=1, EXTD=0 \*/) { // tinyhv: a disabled APIC can be enabled again' "$f"
