#!/usr/bin/env bash
# The PC devices beside the interrupt chipset (testos groups "pcdev" and
# "pcdev_stop", guest/testos/test_pcdev.c): the RTC/CMOS, the ACPI PM timer
# and PM1 registers, PCI configuration (a host bridge alone), the absent 8042,
# port 0x80; on both APIC paths. Then one boot each for the requests that
# end a run: a reset through port 0xCF9 or the 8042 stops the VM (never
# status 0), S5 through PM1a_CNT powers off with status 0.
. "$(dirname "$0")/lib.sh"
for path in auto off; do
  name=pcdev-$path
  boot "$name" bochs "guest = testos.elf
cmdline = pcdev ram_mb=32
ram_mb = 32
apicv = $path"
  guest_tap "$name"
  relay_guest_tap "$name"
  check_apic_path "$name" $path
  # The guest's clock starts at the machine's (Bochs: time0 in the bochsrc)
  # and reads, a few seconds later, the same date and a time a little on.
  host=$(sed -n "s/^hv: guest RTC starts at the machine's \(.*\)$/\1/p" <<<"$LOG")
  guest=$(sed -n 's/^guest: # pcdev: RTC reads \(.*\)$/\1/p' <<<"$LOG")
  d=""
  if [ -n "$host" ] && [ -n "$guest" ]; then
    d=$(( $(date -u -d "$guest" +%s) - $(date -u -d "$host" +%s) ))
  fi
  [ -n "$d" ] && [ "$d" -ge 0 ] && [ "$d" -le 60 ]
  ok $? "$name: the guest's RTC reads the machine's time plus ${d:-?} s (0-60 s)" "machine '$host', guest '$guest'"
  check_log '^hv: guest exited status=0$' "$name: run ends with status 0" "$name"
  check_no_vmfail
done

# stop NAME CASE FINAL_REGEX DESCRIPTION
stop() {
  boot "$1" bochs "guest = testos.elf
cmdline = pcdev_stop only=$2 ram_mb=32
ram_mb = 32"
  guest_tap "$1"
  check_log "^guest: # pcdev: " "$1: the guest made its request" "$1"
  ! grep -q '^not ok' "$TAPDIR/$1.tap"; ok $? "$1: the guest did not run on after the request" \
    "$(grep '^not ok' "$TAPDIR/$1.tap")"
  check_log "$3" "$4" "$1"
  final=$(grep -E '^hv: (guest exited status=|guest stopped:|error: fatal:)' <<<"$LOG" | tail -1)
  echo "# $1: final line: ${final:-none}"
}
stop reset-cf9 reset_cf9 '^hv: guest reset$' "reset-cf9: 'hv: guest reset' logged"
check_log '^hv: guest stopped: guest reset through port 0xCF9' "reset-cf9: the VM stops, naming port 0xCF9" reset-cf9
! log_has '^hv: guest exited status='; ok $? "reset-cf9: a reset is no exit with a status"
stop reset-8042 reset_8042 '^hv: guest reset$' "reset-8042: 'hv: guest reset' logged"
check_log '^hv: guest stopped: guest reset through 8042 command 0xFE' "reset-8042: the VM stops, naming the 8042" reset-8042
! log_has '^hv: guest exited status='; ok $? "reset-8042: a reset is no exit with a status"
stop poweroff poweroff '^hv: guest powered off$' "poweroff: 'hv: guest powered off' logged"
check_log '^hv: guest exited status=0$' "poweroff: run ends with status 0" poweroff
check_no_vmfail
done_testing
