#!/usr/bin/env bash
# With "trace = on", one PIT tick through the 8259 must leave the chain of
# DESIGN §6 in the log, in order: irq_set -> pic_set_irq -> pit_tick ->
# pic_ack -> inject -> pic_eoi.
. "$(dirname "$0")/lib.sh"
boot trace bochs "guest = testos.elf
cmdline = trace ram_mb=32
ram_mb = 32
trace = on"
guest_tap trace
relay_guest_tap trace
chain=$(sed -n '/^guest: # trace: one tick$/,/^guest: # trace: done$/p' <<<"$LOG" | grep '^irq: trace ')
expect=(
  'irq_set source=0 gsi=0 level=1'
  'pic_set_irq pin=0 level=1 irr_changed=1'
  'pit_tick channel=0 dropped=0'
  'pic_ack pin=0 vector=0x20 spurious=0'
  'inject vector=0x20 type=0'
  'pic_eoi pin=0 specific=0'
)
rest=$chain; missing=""
for step in "${expect[@]}"; do
  # each step must appear after the previous one
  after=$(grep -n -F -- "$step" <<<"$rest" | head -1 | cut -d: -f1)
  if [ -z "$after" ]; then missing="$step"; break; fi
  rest=$(tail -n +$((after + 1)) <<<"$rest")
done
[ -z "$missing" ]; ok $? "trace chain of one tick, in order" "missing or out of order: '$missing'"
grep -qE '^irq: trace tsc=[0-9]+ ' <<<"$chain"; ok $? "trace lines carry the TSC"
check_log '^hv: guest exited status=0$' "run ends with status 0" trace
done_testing
