#!/usr/bin/env bash
# `make bench`: boots testos group "bench" three times - on the
# hardware-assisted APIC path, on the software path, and on the bare machine
# ("bare = on": the hypervisor's loader jumps to testos without VMX) - and
# prints one table with the bare machine as the baseline; then once more
# with "trace = on" for the cost of one traced event (the hypervisor times
# 1000 events into its ring, and the same without the trace).
# In Bochs a TSC tick is one emulated instruction: the numbers are counts,
# repeatable run to run, not wall-clock time.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench
mkdir -p "$B"
EMU=${EMU:-bochs}

# Phases 5 and 6 (testos group "vbench"): 256 sequential 4 KiB reads from a
# virtio-blk disk (1 MiB, scripts/mkvdisk.py), each waited for by its
# MSI-X interrupt (5) or polled without one (6), beside the same MiB
# copied in the guest's RAM. The bare machine has no disk (no
# hypervisor, no virtio device): the copy alone (group "vbench_copy"). Not
# in the traced run,
# whose handlers' marks are VMCALLs of their own.
VBLK_SECTORS=2048
"$ROOT/scripts/mkvdisk.py" "$B/vdisk.img" $VBLK_SECTORS || exit 1
run_path() { # NAME CONFIG-LINE GROUPS [disk]
  local files=() disk=""
  if [ "${4:-}" = disk ]; then files=("$B/vdisk.img:vdisk.img"); disk="disk = vdisk.img"; fi
  printf 'guest = testos.elf\ncmdline = %s sectors=%s ram_mb=32\nram_mb = 32\ntest_hooks = on\n%s\n%s\n' \
    "$3" $VBLK_SECTORS "$2" "$disk" > "$B/$1.cfg"
  "$ROOT/scripts/mkdisk.sh" "$B/$1.img" "$B/$1.cfg" "${files[@]}" || exit 1
  "$ROOT/scripts/run.sh" --quiet --emu "$EMU" --serial "$B/$1.log" "$B/$1.img" > "$B/$1.run.out" 2>&1
  local rc=$?
  tr -d '\r' < "$B/$1.log" > "$B/$1.txt"
  if [ $rc != 0 ]; then echo "bench: the $1 run failed (see $B/$1.log)" >&2; exit 1; fi
}
run_path hw 'apicv = auto' 'bench vbench' disk
run_path sw 'apicv = off' 'bench vbench' disk
run_path bare 'bare = on' 'bench vbench_copy'
run_path traced 'trace = on' bench
# Each run took the path its column names (run.sh's status 0 already says
# the guest's checks passed).
grep -qE '^hv: APIC: software path \(apicv = off\)' "$B/sw.txt" || { echo "bench: the sw run did not take the software APIC path (see $B/sw.log)" >&2; exit 1; }
grep -qE '^hv: bare: jumping to the guest at 0x[0-9a-f]+ without VMX$' "$B/bare.txt" || { echo "bench: the bare run did not start the guest without VMX (see $B/bare.log)" >&2; exit 1; }
! grep -q '^vmx: VMXON done' "$B/bare.txt" || { echo "bench: the bare run turned VMX on (see $B/bare.log)" >&2; exit 1; }
grep -q 'APIC: hardware virtualization' "$B/hw.txt" || echo "bench: note: this CPU has no APIC virtualization; the 'hardware-assisted' column is the software path"

val() { grep -E "^(guest: )?# bench" "$B/$1.txt" | sed -n "s/.*$2=\([0-9]*\).*/\1/p" | head -1; }
# Exits of phase 1 (1000 timer interrupts), without the measurement's own
# VMCALL and CPUID exits.
exits() { awk -v l="${2:-1}" '$1=="hv:" && $2=="stats" && $3==l && $4!="end" && $4!=10 && $4!=18 {n+=$5} END {print n+0}' "$B/$1.txt"; }
reason() { awk -v r="$2" '$1=="hv:" && $2=="stats" && $3==1 && $4==r {print $5; f=1} END {if (!f) print 0}' "$B/$1.txt"; }
num() { [[ "${1:-}" =~ ^[0-9]+$ ]] && echo "$1" || echo null; }
numf() { [[ "${1:-}" =~ ^[0-9]+(\.[0-9]+)?$ ]] && echo "$1" || echo null; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "x%.1f", a / b; else printf "-" }'; }

hw_irqs=$(val hw timer_interrupts); sw_irqs=$(val sw timer_interrupts)
n_cpuid=$(val hw cpuid_ticks | head -1)
native_cpuid=$(val bare cpuid_ticks)
native_med=$(val bare deadline_to_isr_median)
native_p99=$(val bare deadline_to_isr_p99)
hw_med=$(val hw deadline_to_isr_median); hw_p99=$(val hw deadline_to_isr_p99)
sw_med=$(val sw deadline_to_isr_median); sw_p99=$(val sw deadline_to_isr_p99)
sw_cpuid=$(val sw cpuid_ticks)
hw_exits=$(exits hw); sw_exits=$(exits sw)
# Phase 4: the same 1000 interrupts in x2APIC mode (label 4).
hw_x2_irqs=$(val hw x2apic_timer_interrupts); sw_x2_irqs=$(val sw x2apic_timer_interrupts)
hw_x2_exits=$(exits hw 4); sw_x2_exits=$(exits sw 4)
per_k() { awk -v e="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", e * 1000 / n; else print "-" }'; }

printf '\ntinyhv benchmark (%s; TSC ticks; %s LAPIC timer interrupts at 1 kHz)\n\n' "$EMU" "$hw_irqs"
printf '%-44s %18s %12s %16s\n' "" "hardware-assisted" "software" "bare machine"
printf '%-44s %18s %12s %16s\n' "VM exits per 1000 timer interrupts" "$(per_k "$hw_exits" "$hw_irqs")" "$(per_k "$sw_exits" "$sw_irqs")" 0
for r in 52 1 48 44 45 56 12 7; do
  h=$(reason hw $r); s=$(reason sw $r)
  [ "$h" = 0 ] && [ "$s" = 0 ] && continue
  name=$(awk -v r=$r '$1=="hv:" && $2=="stats" && $4==r {for (i=7;i<=NF;i++) printf "%s%s", $i, (i<NF?" ":""); exit}' "$B/hw.txt" "$B/sw.txt")
  printf '  %-42s %18s %12s %16s\n' "$name" "$(per_k "$h" "$hw_irqs")" "$(per_k "$s" "$sw_irqs")" ""
done
printf '%-44s %18s %12s %16s\n' "  the same in x2APIC mode" "$(per_k "$hw_x2_exits" "$hw_x2_irqs")" "$(per_k "$sw_x2_exits" "$sw_x2_irqs")" 0
printf '%-44s %18s %12s %16s\n' "deadline -> ISR, median (TSC ticks)" "$hw_med" "$sw_med" "${native_med:--}"
printf '%-44s %18s %12s %16s\n' "deadline -> ISR, p99 (TSC ticks)" "$hw_p99" "$sw_p99" "${native_p99:--}"
printf '%-44s %18s %12s %16s\n' "CPUID round trip (TSC ticks, with loop)" "$n_cpuid" "$sw_cpuid" "${native_cpuid:--}"
# Phases 5 and 6: virtio-blk reads (labels 5 and 6: each read loop alone).
valf() { grep -E "^(guest: )?# bench" "$B/$1.txt" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p" | head -1; }
hw_vreads=$(val hw vblk_read_reads); sw_vreads=$(val sw vblk_read_reads)
hw_preads=$(val hw vblk_poll_reads); sw_preads=$(val sw vblk_poll_reads)
hw_vexits=$(exits hw 5); sw_vexits=$(exits sw 5)
hw_pexits=$(exits hw 6); sw_pexits=$(exits sw 6)
printf '%-44s %18s %12s %16s\n' "virtio-blk: VM exits per 1000 4 KiB reads" "$(per_k "$hw_vexits" "$hw_vreads")" "$(per_k "$sw_vexits" "$sw_vreads")" "n/a (no disk)"
printf '%-44s %18s %12s %16s\n' "virtio-blk: TSC ticks per 4 KiB read" "$(val hw vblk_read_ticks_per_req)" "$(val sw vblk_read_ticks_per_req)" "n/a (no disk)"
printf '%-44s %18s %12s %16s\n' "virtio-blk: read, MiB per 10^9 ticks" "$(valf hw vblk_read_mib_per_gtick)" "$(valf sw vblk_read_mib_per_gtick)" "n/a (no disk)"
printf '%-44s %18s %12s %16s\n' "  polled, no interrupt: exits per 1000 reads" "$(per_k "$hw_pexits" "$hw_preads")" "$(per_k "$sw_pexits" "$sw_preads")" "n/a (no disk)"
printf '%-44s %18s %12s %16s\n' "  polled: TSC ticks per 4 KiB read" "$(val hw vblk_poll_ticks_per_req)" "$(val sw vblk_poll_ticks_per_req)" "n/a (no disk)"
printf '%-44s %18s %12s %16s\n' "  polled: MiB per 10^9 ticks" "$(valf hw vblk_poll_mib_per_gtick)" "$(valf sw vblk_poll_mib_per_gtick)" "n/a (no disk)"
printf '%-44s %18s %12s %16s\n' "  ceiling: 1 MiB copied in guest RAM" "$(valf hw vblk_copy_mib_per_gtick)" "$(valf sw vblk_copy_mib_per_gtick)" "$(valf bare vblk_copy_mib_per_gtick)"
printf '%-44s %18s %12s\n' "ratio to bare machine: deadline -> ISR median" "$(ratio "$hw_med" "$native_med")" "$(ratio "$sw_med" "$native_med")"
printf '%-44s %18s %12s\n' "ratio to bare machine: CPUID" "$(ratio "$n_cpuid" "$native_cpuid")" "$(ratio "$sw_cpuid" "$native_cpuid")"
echo
awk -v e="$hw_exits" -v n="$hw_irqs" 'BEGIN { if (n > 0 && e / n < 1.5) print "hardware-assisted path: " e/n " VM exits per timer interrupt (goal: fewer than 1.5)"; else print "hardware-assisted path: " (n>0?e/n:"?") " VM exits per timer interrupt: ABOVE the goal of 1.5" }'
awk -v e="$hw_vexits" -v n="$hw_vreads" 'BEGIN { if (n > 0 && e / n <= 2) print "virtio-blk: " e/n " VM exits per 4 KiB read on the hardware-assisted path (goal: at most 2)"; else print "virtio-blk: " (n>0?e/n:"?") " VM exits per 4 KiB read: ABOVE the goal of 2" }'
trace_cost=$(sed -n 's/^hv: trace: one traced event costs \([0-9]*\) TSC ticks.*/\1/p' "$B/traced.txt")
traced_med=$(val traced deadline_to_isr_median)
printf '%-44s %18s\n' "trace = on: one traced event (TSC ticks)" "${trace_cost:--}"
printf '%-44s %18s\n' "trace = on: deadline -> ISR, median" "${traced_med:--}"
awk -v c="${trace_cost:-999999}" 'BEGIN { if (c < 30) print "trace = on: " c " ticks per traced event (goal: under 30)"; else print "trace = on: " c " ticks per traced event: ABOVE the goal of 30" }'
# kvm-unit-tests' own benchmarks, as the KVM project reports them: vmexit
# (each test loops until 2^30 TSC ticks, then prints ticks per iteration)
# and tscdeadline_latency, on both APIC paths and on the bare machine
# (bare = on: the loader claims the kernel's own physical addresses from
# the firmware and, where the firmware has no ACPI tables, builds them for
# the machine, so that inl_from_pmtimer finds the chipset's PM timer).
# vmcall has no bare figure: without a hypervisor VMCALL raises #UD. About
# ten minutes of Bochs time, two runs at a time, so BENCH_KUT=0
# (bench_regression.t) leaves them out.
KUT_VMEXIT="cpuid vmcall mov_from_cr8 mov_to_cr8 inl_from_pmtimer tscdeadline tscdeadline_immed self_ipi_sti_nop"
KUT_VMEXIT_BARE=${KUT_VMEXIT/vmcall /}
kut_rows=""
if [ "${BENCH_KUT:-1}" = 1 ]; then
  kutdir=$("$ROOT/scripts/kut-build.sh") || { echo "bench: kvm-unit-tests did not build" >&2; exit 1; }
  printf 'NR_CPUS=1\nMEMSIZE=64\n' > "$B/kut-env"
  kut_run() { # NAME FLAT ARGS CONFIG-LINE
    printf 'guest = %s\ncmdline = %s %s\nram_mb = 64\nmodule = kut-env\n%s\n' "$2" "$2" "$3" "$4" > "$B/$1.cfg"
    "$ROOT/scripts/mkdisk.sh" "$B/$1.img" "$B/$1.cfg" "$kutdir/x86/$2:$2" "$B/kut-env:kut-env" || exit 1
    # A bare run ends when kvm-unit-tests powers Bochs off (port 0x8900):
    # no hypervisor prints a final line, so run.sh's status says nothing.
    "$ROOT/scripts/run.sh" --quiet --emu "$EMU" --timeout 1200 --serial "$B/$1.log" "$B/$1.img" > "$B/$1.run.out" 2>&1
    tr -d '\r' < "$B/$1.log" > "$B/$1.txt"
  }
  kut_run vmexit-hw vmexit.flat "$KUT_VMEXIT" 'apicv = auto' &
  kut_run vmexit-sw vmexit.flat "$KUT_VMEXIT" 'apicv = off' &
  wait
  kut_run vmexit-bare vmexit.flat "$KUT_VMEXIT_BARE" 'bare = on' &
  kut_run latency-hw tscdeadline_latency.flat "200000 1000" 'apicv = auto' &
  wait
  kut_run latency-sw tscdeadline_latency.flat "200000 1000" 'apicv = off' &
  kut_run latency-bare tscdeadline_latency.flat "200000 1000" 'bare = on' &
  wait
  grep -q '^hv: bare: jumping to the guest' "$B/vmexit-bare.txt" ||
    echo "bench: the bare kvm-unit-tests run did not start (see $B/vmexit-bare.log)" >&2
  kv() { sed -n "s/^\(guest: \)\{0,1\}$2 \([0-9]*\)$/\2/p" "$B/vmexit-$1.txt" | head -1; }
  # tscdeadline_latency prints one "latency: N" (TSC ticks from the
  # deadline to its handler) per sample: their median.
  lat() { sed -n 's/^\(guest: \)\{0,1\}\(hit max: [0-9]* < \)\{0,1\}latency: \([0-9]*\)$/\3/p' "$B/latency-$1.txt" |
          sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
  printf '\n%-44s %18s %12s %16s\n' "kvm-unit-tests (TSC ticks per iteration)" "hardware-assisted" "software" "bare machine"
  for t in $KUT_VMEXIT; do
    h=$(kv hw $t); s=$(kv sw $t); n=$(kv bare $t)
    [ "$t" = vmcall ] && nshow="n/a (#UD)" || nshow=${n:--}
    printf '  %-42s %18s %12s %16s\n' "vmexit $t" "${h:--}" "${s:--}" "$nshow"
    kut_rows="$kut_rows\"$t\": { \"hw\": $(num "$h"), \"sw\": $(num "$s"), \"bare\": $(num "$n") }, "
  done
  lh=$(lat hw); ls=$(lat sw); ln=$(lat bare)
  printf '  %-42s %18s %12s %16s\n' "tscdeadline_latency, median" "${lh:--}" "${ls:--}" "${ln:--}"
  kut_rows="$kut_rows\"tscdeadline_latency_median\": { \"hw\": $(num "$lh"), \"sw\": $(num "$ls"), \"bare\": $(num "$ln") }, "
  pm=$(sed -n 's/^\(guest: \)\{0,1\}PM timer port is \([0-9a-f]*\)$/\2/p' "$B/vmexit-bare.txt" | head -1)
  printf '  %-42s %18s %12s %16s\n' "inl_from_pmtimer: PM timer port" \
    "$(sed -n 's/^guest: PM timer port is //p' "$B/vmexit-hw.txt" | head -1)" \
    "$(sed -n 's/^guest: PM timer port is //p' "$B/vmexit-sw.txt" | head -1)" "${pm:--}"
fi
# The same figures for scripts (build/bench.json); bench_regression.t
# compares them with tests/bench/baseline.json.
cat > "$ROOT/build/bench.json" <<JSON
{
  "emulator": "$EMU",
  "timer_interrupts": $(num "$hw_irqs"),
  "hw": { "exits_per_1000_timer_interrupts": $(num "$(per_k "$hw_exits" "$hw_irqs")"),
          "exits_per_1000_timer_interrupts_x2apic": $(num "$(per_k "$hw_x2_exits" "$hw_x2_irqs")"),
          "deadline_to_isr_median": $(num "$hw_med"), "deadline_to_isr_p99": $(num "$hw_p99"),
          "cpuid_round_trip": $(num "$n_cpuid"),
          "virtio_exits_per_1000_reads": $(num "$(per_k "$hw_vexits" "$hw_vreads")") },
  "sw": { "exits_per_1000_timer_interrupts": $(num "$(per_k "$sw_exits" "$sw_irqs")"),
          "exits_per_1000_timer_interrupts_x2apic": $(num "$(per_k "$sw_x2_exits" "$sw_x2_irqs")"),
          "deadline_to_isr_median": $(num "$sw_med"), "deadline_to_isr_p99": $(num "$sw_p99"),
          "cpuid_round_trip": $(num "$sw_cpuid"),
          "virtio_exits_per_1000_reads": $(num "$(per_k "$sw_vexits" "$sw_vreads")") },
  "bare": { "deadline_to_isr_median": $(num "$native_med"), "deadline_to_isr_p99": $(num "$native_p99"),
            "cpuid_round_trip": $(num "$native_cpuid") },
  "virtio_blk": { "reads": $(num "$hw_vreads"), "bytes_per_read": 4096,
                  "hw": { "ticks_per_read": $(num "$(val hw vblk_read_ticks_per_req)"), "read_mib_per_gtick": $(numf "$(valf hw vblk_read_mib_per_gtick)"),
                          "poll_exits_per_1000_reads": $(num "$(per_k "$hw_pexits" "$hw_preads")"), "poll_ticks_per_read": $(num "$(val hw vblk_poll_ticks_per_req)"),
                          "poll_read_mib_per_gtick": $(numf "$(valf hw vblk_poll_mib_per_gtick)"),
                          "copy_mib_per_gtick": $(numf "$(valf hw vblk_copy_mib_per_gtick)") },
                  "sw": { "ticks_per_read": $(num "$(val sw vblk_read_ticks_per_req)"), "read_mib_per_gtick": $(numf "$(valf sw vblk_read_mib_per_gtick)"),
                          "poll_exits_per_1000_reads": $(num "$(per_k "$sw_pexits" "$sw_preads")"), "poll_ticks_per_read": $(num "$(val sw vblk_poll_ticks_per_req)"),
                          "poll_read_mib_per_gtick": $(numf "$(valf sw vblk_poll_mib_per_gtick)"),
                          "copy_mib_per_gtick": $(numf "$(valf sw vblk_copy_mib_per_gtick)") },
                  "bare": { "read_mib_per_gtick": null, "copy_mib_per_gtick": $(numf "$(valf bare vblk_copy_mib_per_gtick)") } },
  "traced": { "ticks_per_traced_event": $(num "$trace_cost"), "deadline_to_isr_median": $(num "$traced_med") },
  "kut_vmexit": { ${kut_rows%, } }
}
JSON
echo "logs: $B/{hw,sw,bare,traced}.log; figures: build/bench.json"
