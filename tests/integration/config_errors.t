#!/usr/bin/env bash
# Bad input on the ESP: each case must end with a clear error and a return
# to the firmware, never a hang.
. "$(dirname "$0")/lib.sh"

boot missing_guest bochs "guest = nothere.elf"
check_log "^hv: error: guest image 'nothere.elf': not found$" "missing guest image: clear error" missing_guest
check_log '^hv: error: fatal: cannot load the guest; returning to the firmware' "missing guest image: returns to the firmware" missing_guest
[ $RC = 1 ]; ok $? "missing guest image: run ends by itself, non-zero" "rc=$RC"

head -c 6000 "$BUILD/testos.elf" > "$BUILD/scenarios/truncated.elf"
boot corrupt_elf bochs "guest = truncated.elf" "$BUILD/scenarios/truncated.elf:truncated.elf"
check_log "^hv: error: guest image 'truncated.elf': segment 0: data at 0x1000\+0x[0-9a-f]+ runs past the end of the file \(6000 bytes; truncated image\?\)$" \
  "truncated guest ELF: clear error" corrupt_elf
[ $RC = 1 ]; ok $? "truncated guest ELF: run ends by itself, non-zero" "rc=$RC"

head -c 4096 /dev/zero > "$BUILD/scenarios/zeros.elf"
boot garbage_elf bochs "guest = zeros.elf" "$BUILD/scenarios/zeros.elf:zeros.elf"
check_log "^hv: error: guest image 'zeros.elf': no Multiboot header" "not a kernel: clear error" garbage_elf

boot bad_config bochs "guest = testos.elf
memory = 32"
check_log "^hv: error: config file tinyhv.cfg: line 2: unknown key 'memory'" "unknown config key: error names the line and key" bad_config
check_log '^hv: error: fatal: malformed configuration' "unknown config key: returns to the firmware" bad_config

boot no_config bochs -
check_log '^hv: error: config file tinyhv.cfg beside the hypervisor: not found$' "missing config file: clear error" no_config
done_testing
