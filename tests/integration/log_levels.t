#!/usr/bin/env bash
# The final status line is printed at every log level: with log_level =
# error or warn the run still ends with "hv: guest exited ..." or
# "hv: guest stopped: ...", the README's promise.
. "$(dirname "$0")/lib.sh"
last_line() { grep -v '^$' <<<"$LOG" | tail -1; }
boot quiet-exit bochs "guest = testos.elf
cmdline = trace ram_mb=32
ram_mb = 32
log_level = error"
check_log '^hv: guest exited status=0$' "log_level = error: the final line says the guest exited" quiet-exit
[[ $(last_line) == "hv: guest exited status=0" ]]; ok $? "log_level = error: it is the last line" "last: $(last_line)"
! log_has '^guest: '; ok $? "log_level = error: info lines (the guest's output) are not printed"
boot quiet-stop bochs "guest = testos.elf
cmdline = eptstop ram_mb=16
ram_mb = 16
log_level = warn"
check_log '^hv: guest stopped: EPT violation \(read\) at guest-physical 0x1001000' \
  "log_level = warn: the final line says why the VM stopped" quiet-stop
[[ $(last_line) == "hv: guest stopped: "* ]]; ok $? "log_level = warn: it is the last line" "last: $(last_line)"
done_testing
