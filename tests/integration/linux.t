#!/usr/bin/env bash
# Linux under the hypervisor in Bochs-VMX: the project's own kernel and
# busybox initramfs (`make linux`, built once into the cache; the first run
# builds them, several minutes) boot through the Linux boot protocol to the
# initramfs shell; the harness types commands into COM1 and reads the
# answers from the serial log. Each acceptance check of issue 8 is its own
# TAP line.
#
# It runs on the APIC-virtualization path and on the software path
# (apicv = off); LINUX_APICV=auto or =off runs one of them (and skips the
# three bad-input boots: a truncated bzImage, too little RAM, initrd = with
# a Multiboot guest).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Every description starts with the APIC path ($PFX).
PFX=""
eval "lib_$(declare -f ok)"
ok() { lib_ok "$1" "$PFX$2" "${3:-}"; }

# LINUX_KERNEL=debian: Debian's stock cloud kernel (scripts/linux-build.sh
# --debian fetches it with apt-get download) instead of ours, with the same
# initramfs and checks: `make test-long`, not make test (it needs the
# package archive, and each boot takes about 25 s wall). Its serial driver
# takes the port lock with interrupts off while input arrives in bursts,
# which is what found Bochs bug F (scripts/bochs-patches/04: a virtual
# interrupt delivered with IF=0 when a physical one arrived).
if [ "${LINUX_KERNEL:-}" = debian ]; then
  paths=$(scripts/linux-build.sh --debian 2>&1 | tail -1)
  read -r kernel initrd <<<"$paths"
  [ -f "$kernel" ] || { echo "Bail out! no Debian cloud kernel: $paths"; exit 1; }
else
  build_out=$(scripts/linux-build.sh 2>&1) || { echo "Bail out! make linux failed: $(tail -3 <<<"$build_out")"; exit 1; }
  read -r kernel initrd _ < <(scripts/linux-build.sh --paths)
fi
kname=${LINUX_KERNEL:-ours}

# The commands typed into the shell, each once the line before has
# answered; one of them is longer than the virtual UART's 64-byte receive
# FIFO. (What does not fit waits in the machine's UART, nothing is lost;
# in Bochs the machine's UART delivers at its baud rate and the shell keeps
# up, so the FIFO filling is test_vuart's case, not this one's.)
# Markers are made by the shell's arithmetic, so that the terminal's echo
# of the typed line never matches a trigger.
long=$(printf 'x%.0s' $(seq 150))
sends=(
  --send "Enter 'help' for a list of built-in commands." 'echo tinyhv-$((6*7))-echo; echo ==irq$((0+1))==\n'
  --send '==irq1==' 'cat /proc/interrupts; sleep 1; echo ==irq$((1+1))==\n'
  --send '==irq2==' 'cat /proc/interrupts; echo ==irq$((1+2))==\n'
  --send '==irq3==' 'hwclock -r; echo ==hw$((1+1))done==\n'
  --send '==hw2done==' "echo $long ==long\$((1+1))==\n"
  --send '==long2==' 'poweroff\n'
)
run_path() {
  local apicv=$1
  PFX="$kname kernel, apicv=$apicv: "
  start=$SECONDS
  name=linux-$kname-apicv-$apicv
  BOOT_TIMEOUT=${LINUX_TIMEOUT:-400} boot "$name" bochs "kernel = bzImage
initrd = initrd.gz
cmdline = console=ttyS0 earlyprintk=serial,ttyS0,115200${LINUX_CMDLINE_EXTRA:+ $LINUX_CMDLINE_EXTRA}
ram_mb = 128
apicv = $apicv" "$kernel:bzImage" "$initrd:initrd.gz" \
    "${sends[@]}" --until 'reboot: Power down'
  wall=$((SECONDS - start))
  G=$(sed -n 's/^guest: //p' <<<"$LOG")
  ghas() { grep -Eq -- "$1" <<<"$G"; }
  gcheck() { ghas "$1"; ok $? "$2" "no guest line matching /$1/ in $TAPDIR/$name.log"; }

  check_log "^hv: Linux kernel 'bzImage' \(boot protocol 2\.[0-9]+\)" "the hypervisor loaded the bzImage by the boot protocol" "$name"
  gcheck '^\[ *[0-9.]+\] Linux version 6\.1' "the kernel started (its banner)"
  gcheck 'BIOS-e820: \[mem 0x0000000007ff0000-0x0000000007ffffff\] reserved' "e820: the ACPI tables reserved at the top of RAM"
  gcheck 'ACPI: RSDP 0x0*7FF0000 .*\(v02 TINYHV\)' "the kernel found our RSDP (boot_params.acpi_rsdp_addr)"
  gcheck 'IOAPIC\[0\]: apic_id 0, version 32, address 0xfec00000, GSI 0-23' "dmesg shows the vIOAPIC from the MADT"
  gcheck 'INT_SRC_OVR \(bus 0 bus_irq 0 global_irq 2' "dmesg shows the override IRQ 0 -> GSI 2"
  gcheck 'clocksource: hpet|hpet[0-9]*: .*comparators|Switched to clocksource (hpet|tsc)' "a clock source took over (HPET or TSC)"
  ghas 'rtc_cmos .*registered as rtc0'; ok $? "dmesg shows the RTC (rtc0)"
  gcheck 'ttyS0 at I/O 0x3f8 \(irq = 4' "dmesg shows ttyS0 at IRQ 4"
  gcheck '^tinyhv-linux: init ready' "the initramfs init ran"
  gcheck '^tinyhv-42-echo' "a line typed into COM1 came back from the shell (vUART receive path)"

  irq1=$(sed -n '/^==irq1==/,/^==irq2==/p' <<<"$G")
  irq2=$(sed -n '/^==irq2==/,/^==irq3==/p' <<<"$G")
  # count TEXT REGEX: the CPU0 count of the /proc/interrupts line matching REGEX
  count() { awk -v re="$2" '$0 ~ re { print $2; exit }' <<<"$1"; }
  c=$(count "$irq1" 'IO-APIC +2-edge +timer'); [ "${c:-0}" -ge 1 ]
  ok $? "/proc/interrupts: timer on IO-APIC 2-edge, count ${c:-none} >= 1" "$(head -8 <<<"$irq1")"
  c=$(count "$irq1" 'IO-APIC +4-edge +ttyS0'); [ "${c:-0}" -ge 1 ]
  ok $? "/proc/interrupts: ttyS0 on IO-APIC 4-edge, count ${c:-none} >= 1"
  c=$(count "$irq1" 'IO-APIC +8-edge +rtc0'); [ -n "$c" ]
  ok $? "/proc/interrupts: rtc0 on IO-APIC 8-edge"
  [ "${c:-0}" -ge 1 ]; ok $? "/proc/interrupts: rtc0 count ${c:-none} >= 1"
  l1=$(count "$irq1" '^ *LOC:'); l2=$(count "$irq2" '^ *LOC:'); [ "${l2:-0}" -gt "${l1:-0}" ]
  ok $? "LOC (local timer) increased over a second: ${l1:-none} -> ${l2:-none}"
  s1=$(count "$irq1" 'ttyS0'); s2=$(count "$irq2" 'ttyS0'); [ "${s2:-0}" -gt "${s1:-0}" ]
  ok $? "ttyS0 interrupts increased: ${s1:-none} -> ${s2:-none}"
  hw=$(sed -n '/^==irq3==/,/^==hw2done==/p' <<<"$G" | grep -E '20[0-9][0-9]' | head -1)
  [ -n "$hw" ]; ok $? "hwclock reads the date (${hw:-nothing})"
  gcheck "^$long ==long2==" "a 150-byte line typed at once came back whole"
  gcheck 'reboot: Power down' "poweroff reached the kernel's power-off"
  check_log '^hv: guest powered off' "poweroff: hv: guest powered off" "$name"
  [ "$RC" = 0 ]; ok $? "the run ends with exit status 0 (run.sh status $RC)"
  check_no_vmfail
  init_t=$(grep -oE '^\[ *[0-9.]+\] Run /init' <<<"$G" | grep -oE '[0-9]+\.[0-9]+' | head -1)
  echo "# Linux ($kname kernel, $apicv APIC path): /init at ${init_t:-?} s of guest time; the whole run (Bochs start to end) ${wall} s wall"
}

# Bad input: a clear error and a return to the firmware, never a hang.
bad_input() {
  PFX="bad input: "
  head -c 1000000 "$kernel" > "$BUILD/scenarios/truncated.bzImage"
  boot linux_truncated bochs "kernel = bzImage" "$BUILD/scenarios/truncated.bzImage:bzImage"
  check_log "^hv: error: Linux kernel 'bzImage': truncated: the protected-mode kernel should have [0-9]+ bytes" \
    "a truncated bzImage: clear error" linux_truncated
  check_log '^hv: error: fatal: cannot load the guest; returning to the firmware' "a truncated bzImage: returns to the firmware" linux_truncated
  [ "$RC" = 1 ]; ok $? "a truncated bzImage: the run ends by itself, non-zero" "rc=$RC"
  boot linux_small_ram bochs "kernel = bzImage
ram_mb = 8" "$kernel:bzImage"
  check_log "^hv: error: Linux kernel 'bzImage': the kernel needs [0-9]+ KiB .* too small: raise ram_mb" \
    "a kernel bigger than guest RAM: clear error" linux_small_ram
  boot linux_initrd_multiboot bochs "guest = testos.elf
initrd = initrd.gz" "$initrd:initrd.gz"
  check_log "^hv: error: initrd = is for Linux bzImage guests; 'testos.elf' is not one" \
    "initrd = with a Multiboot guest: clear error" linux_initrd_multiboot
}
# The 8259 path: the same kernel with `noapic` takes its timer, serial and
# RTC interrupts through the vPIC (XT-PIC in /proc/interrupts), with the
# vLAPIC in virtual-wire mode passing the 8259's INTR on as ExtINT.
run_noapic() {
  PFX="$kname kernel, noapic: "
  name=linux-$kname-noapic
  BOOT_TIMEOUT=${LINUX_TIMEOUT:-400} boot "$name" bochs "kernel = bzImage
initrd = initrd.gz
cmdline = console=ttyS0 noapic
ram_mb = 128" "$kernel:bzImage" "$initrd:initrd.gz" \
    --send "Enter 'help' for a list of built-in commands." 'cat /proc/interrupts; echo ==pic$((0+1))==\n' \
    --send '==pic1==' 'poweroff\n' --until 'reboot: Power down'
  G=$(sed -n 's/^guest: //p' <<<"$LOG")
  pic=$(sed -n '/CPU0/,/^==pic1==/p' <<<"$G")
  for l in 'timer' 'ttyS0' 'rtc0'; do
    c=$(awk -v re="XT-PIC +$l\$" '$0 ~ re { print $2; exit }' <<<"$pic")
    [ "${c:-0}" -ge 1 ]; ok $? "/proc/interrupts: $l on XT-PIC (the vPIC), count ${c:-none} >= 1" "$(head -7 <<<"$pic")"
  done
  ! grep -q 'IO-APIC' <<<"$pic"; ok $? "/proc/interrupts: no IO-APIC line"
  [ "$RC" = 0 ]; ok $? "the run ends with exit status 0 (run.sh status $RC)"
}

[ -n "${LINUX_APICV:-}${LINUX_KERNEL:-}" ] || bad_input

for apicv in ${LINUX_APICV:-auto off}; do run_path "$apicv"; done
[ -n "${LINUX_APICV:-}" ] || run_noapic
done_testing
