#!/usr/bin/env bash
# One PIT tick through the 8259 must leave the chain of DESIGN §6 in the
# trace, in order: irq_set -> pic_set_irq -> pit_tick -> pic_ack -> inject
# -> pic_eoi. As log lines with "trace = text"; as records of the binary
# ring with "trace = on" (its dump on port 0xE9, decoded by
# scripts/trace2json.py), there between the guest's phase marks and with
# the guest's own ISR entry and EOI marks in place. A run with more events
# than the ring holds keeps the newest, says how many it dropped, and ends
# as usual.
. "$(dirname "$0")/lib.sh"

# in_order NAME CHAIN STEP...: one test that each step appears after the last
in_order() {
  local name=$1 rest=$2 missing="" after step; shift 2
  for step in "$@"; do
    after=$(grep -n -F -- "$step" <<<"$rest" | head -1 | cut -d: -f1)
    if [ -z "$after" ]; then missing="$step"; break; fi
    rest=$(tail -n +$((after + 1)) <<<"$rest")
  done
  [ -z "$missing" ]; ok $? "$name: trace chain of one tick, in order" "missing or out of order: '$missing'"
}

boot trace bochs "guest = testos.elf
cmdline = trace ram_mb=32
ram_mb = 32
trace = text"
guest_tap trace
relay_guest_tap trace
chain=$(sed -n '/^guest: # trace: one tick$/,/^guest: # trace: done$/p' <<<"$LOG" | grep '^irq: trace ')
in_order "text" "$chain" 'irq_set source=0 gsi=0 level=1' 'pic_set_irq pin=0 level=1 irr_changed=1' \
  'pit_tick channel=0 dropped=0' 'pic_ack pin=0 vector=0x20 spurious=0' 'inject vector=0x20 type=0' \
  'pic_eoi pin=0 specific=0'
grep -qE '^irq: trace tsc=[0-9]+ ' <<<"$chain"; ok $? "text: trace lines carry the TSC"
check_log '^hv: guest exited status=0$' "text: run ends with status 0" trace

# The binary ring: "name k=v ..." per record of the guest's phase 1, with its time.
ring_chain() {
  python3 - "$1" <<'PY'
import json, sys
evs = json.load(open(sys.argv[1]))["traceEvents"]
inside = False
for e in evs:
    if e["ph"] == "B" and e["name"] == "phase 1":
        inside = True
    elif e["ph"] == "E" and e["name"] == "phase 1":
        inside = False
    elif inside and e["ph"] == "i":
        args = " ".join("%s=%s" % (k, v) for k, v in e["args"].items() if k != "interrupt")
        print("ts=%s %s %s" % (e["ts"], e["name"], args))
PY
}

boot trace-ring bochs "guest = testos.elf
cmdline = trace ram_mb=32
ram_mb = 32
trace = on"
guest_tap trace-ring
relay_guest_tap trace-ring
! log_has '^irq: trace '; ok $? "ring: no trace lines on the serial log"
check_log '^hv: trace: [0-9]+ events kept, 0 dropped \(the oldest\), dumped on port 0xE9' \
  "ring: the hypervisor says what it kept and dropped" trace-ring
python3 "$ROOT/scripts/trace2json.py" --json-only "$TAPDIR/trace-ring.bochs.out" "$TAPDIR/trace-ring" \
  > "$TAPDIR/trace-ring.convert.out" 2>&1
ok $? "ring: the dump on port 0xE9 decodes" "$(cat "$TAPDIR/trace-ring.convert.out")"
chain=$(ring_chain "$TAPDIR/trace-ring.json" 2>/dev/null)
echo "$chain" > "$TAPDIR/trace-ring.chain"
in_order "ring" "$chain" 'irq_set source=0 gsi=0 level=1' 'pic_set_irq pin=0 level=1 irr_changed=1' \
  'pit_tick channel=0 dropped=0' 'pic_ack pin=0 vector=32 spurious=0' 'inject vector=32 type=0' \
  'guest ISR entry kind=1 arg=32' 'pic_eoi pin=0 specific=0' 'guest EOI done kind=2 arg=32'
ts=$(sed -E 's/^ts=([0-9]+) .*/\1/' <<<"$chain")
[ -n "$chain" ] && [ "$ts" = "$(sort -n <<<"$ts")" ] && [ "$(head -1 <<<"$ts")" != "$(tail -1 <<<"$ts")" ]
ok $? "ring: the records carry the guest TSC, rising along the chain" "$(head -3 <<<"$chain")"
[ "$(grep -c 'inject vector=32' <<<"$chain")" = 1 ]; ok $? "ring: one tick, one injection"
check_log '^hv: guest exited status=0$' "ring: run ends with status 0" trace-ring

# More events than the ring's 8192: the oldest go, the run goes on.
boot trace-full bochs "guest = testos.elf
cmdline = timer timer pit ram_mb=32
ram_mb = 32
trace = on"
guest_tap trace-full
relay_guest_tap trace-full
line=$(grep -E '^hv: trace: [0-9]+ events kept, [0-9]+ dropped' <<<"$LOG")
kept=$(sed -E 's/^hv: trace: ([0-9]+) events kept.*/\1/' <<<"$line")
dropped=$(sed -E 's/.* kept, ([0-9]+) dropped.*/\1/' <<<"$line")
[ "${kept:-0}" = 8192 ] && [ "${dropped:-0}" -gt 0 ]
ok $? "full ring: kept the ring's 8192 events and says how many it dropped ($line)"
python3 "$ROOT/scripts/trace2json.py" --json-only "$TAPDIR/trace-full.bochs.out" "$TAPDIR/trace-full" \
  > "$TAPDIR/trace-full.convert.out" 2>&1 &&
  grep -q "8192 events, .* $dropped dropped" "$TAPDIR/trace-full.convert.out"
ok $? "full ring: the dump decodes, 8192 events and the same count dropped" "$(cat "$TAPDIR/trace-full.convert.out")"
check_log '^hv: guest exited status=0$' "full ring: run ends with status 0" trace-full
done_testing
