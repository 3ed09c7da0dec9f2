#!/usr/bin/env bash
# Bochs 3.0 behaviour corrected here (bug H; bare.t, kvm-unit-tests' tsc.flat
# on the bare machine): the tigerlake CPU model's CPUID promises an
# architectural PMU that Bochs does not implement (its own log says
# "Architectural Performance Monitoring is not implemented"): leaf 0xA
# reports version 5 with 8 general-purpose and 4 fixed counters, and leaf 1
# ECX.PDCM promises IA32_PERF_CAPABILITIES; yet RDMSR 0x345 and WRMSR to the
# event selects (0x186...) raise #GP. kvm-unit-tests' pmu_init() believes
# CPUID and dies on the bare machine. Make CPUID say what the model has:
# no PDCM and an all-zero leaf 0xA (no architectural PMU). Guests under the
# hypervisor are unaffected: vmx/cpuid.c already hides both.
set -euo pipefail
f="$1/cpu/cpudb/intel/tigerlake.cc"
grep -q 'tinyhv: no PMU' "$f" && exit 0
old='^                                       BX_CPUID_STD1_ECX_PDCM);$'
n=$(grep -c "$old" "$f")
[ "$n" = 1 ] || { echo "patch 06: PDCM anchor found $n times in $f" >&2; exit 1; }
sed -i "s/$old/                                       0); \/\/ tinyhv: no PMU, so no PDCM (Bochs 3.0 bug H)/" "$f"
sed -i '/get_std_cpuid_leaf_A(cpuid_function_t \*leaf) const$/,/^}$/ s/leaf->\(e[abcd]x\) = 0x[0-9a-fA-F]*;/leaf->\1 = 0; \/\/ tinyhv: no PMU (Bochs 3.0 bug H)/' "$f"
[ "$(grep -c 'tinyhv: no PMU' "$f")" = 5 ] || { echo "patch 06: expected 5 changed lines in $f" >&2; exit 1; }
