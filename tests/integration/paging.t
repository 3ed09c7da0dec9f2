#!/usr/bin/env bash
. "$(dirname "$0")/lib.sh"
for p in auto off; do
boot "paging-$p" bochs "guest = testos.elf
cmdline = paging ram_mb=32
ram_mb = 32
apicv = $p"
guest_tap paging-$p
relay_guest_tap paging-$p
check_log '^hv: guest exited status=0$' "paging: status 0" paging-$p
done
done_testing
