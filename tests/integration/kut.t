#!/usr/bin/env bash
# kvm-unit-tests, the KVM project's x86 test kernels, booted as our guest in
# Bochs-VMX: built once into the cache by scripts/kut-build.sh from the
# pinned snapshot (never copied into this tree), each run with the options
# of its x86/unittests.cfg entry, on the APIC-virtualization path and on
# the software path (apicv = off). `make kut T=<name>` runs one. The
# benchmarks (vmexit_cpuid, vmexit_vmcall, ..., tscdeadline_latency) run
# only when named: they belong to `make bench`.
#   KUT_TESTS="name ..." chooses the entries (default: $KUT_DEFAULT below).
. "$(dirname "$0")/lib.sh"
# apic.flat sends 100000 NMI rounds (pending_nmi): on a loaded machine the
# software path needs more than the default two minutes.
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
KUT_DEFAULT="ioapic eventinj xapic x2apic msr tsc tsc_adjust idt_test hpet"
for t in ${KUT_TESTS:-$KUT_DEFAULT}; do
  # entry -> kernel, extra config lines, command line (and, for the
  # benchmarks, the result line to expect instead of a SUMMARY)
  bench=""
  case $t in
    ioapic) flat=ioapic.flat; extra=""; args="" ;;
    eventinj) flat=eventinj.flat; extra=""; args="" ;;
    xapic) flat=apic.flat; extra="cpuid_hide = x2apic"; args="" ;;   # -cpu qemu64,-x2apic
    x2apic) flat=apic.flat; extra=""; args="" ;;
    msr) flat=msr.flat; extra=""; args="" ;;
    tsc) flat=tsc.flat; extra=""; args="" ;;
    tsc_adjust) flat=tsc_adjust.flat; extra=""; args="" ;;
    idt_test) flat=idt_test.flat; extra=""; args="" ;;      # RF in the RFLAGS a fault pushes
    hpet) flat=hpet_read_test.flat; extra=""; args="" ;;     # the HPET found through the ACPI tables
    vmexit_*) flat=vmexit.flat; extra=""; args=${t#vmexit_}; bench="^$args [0-9]+$" ;; # cpuid, vmcall, ...
    tscdeadline_latency) flat=tscdeadline_latency.flat; extra=""; args="200000 1000" ;;
    *) echo "Bail out! unknown kvm-unit-tests entry '$t'"; exit 1 ;;
  esac
  kut_case "$t" "$flat" "$extra" "$args" "$bench"
  kut_case "$t-soft" "$flat" "apicv = off
$extra" "$args" "$bench"
done
done_testing
