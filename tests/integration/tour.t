#!/usr/bin/env bash
# `make run`'s demo, as make runs it (scripts/demo.sh): testos group tour
# must show one line per interrupt source (vPIT via vPIC and via vIOAPIC,
# vLAPIC one-shot, periodic, TSC-deadline, the level line with remote IRR,
# the NMI, pc-testdev's line 10, the byte typed on COM1), each with a GSI, a route, a vector, a
# plausible number of exits and latency, then the exit statistics and
# status 0, within 60 s; how each went in (injected, or virtual-interrupt
# delivery) as the hypervisor says. Again on the software APIC path (CFG=<file> with
# apicv = off), and with the trace on (`make trace`): a JSON that loads and
# a PNG.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

# tour_lines NAME LOGFILE: one test per source line, in order
tour_lines() {
  local name=$1 log=$2 k=0 line exits lat
  local sources=('vPIT channel 0 .*GSI 0 .*vPIC IR0 .*vector 0x20'
                 'vPIT channel 0 .*GSI 0 .*vIOAPIC pin 2 .*vector 0x41'
                 'vLAPIC timer 1-shot .*GSI - .*vector 0x70'
                 'vLAPIC timer periodic .*GSI - .*vector 0x71'
                 'vLAPIC TSC-deadline .*GSI - .*vector 0x72'
                 'COM1 THRE \(level\) .*GSI 4 .*remote IRR 1, EOI -> 0 .*vector 0x58'
                 'vPIT as NMI .*GSI 0 .*delivery mode NMI .*vector 0x02'
                 'pc-testdev line 10 .*GSI 10 .*vIOAPIC pin 10 .*vector 0x5a'
                 'COM1 byte \(physical\) .*GSI 4 .*vUART RX .*vector 0x54')
  local lines
  lines=$(tr -d '\r' < "$log" | grep -E '^guest: # tour: .* vector 0x[0-9a-f]+ +[0-9]+ exits +[0-9]+ ticks$')
  for re in "${sources[@]}"; do
    k=$((k + 1))
    line=$(sed -n "${k}p" <<<"$lines")
    if ! grep -Eq -- "$re" <<<"$line"; then
      ok 1 "$name: tour line $k: /$re/" "line $k is '${line:-none}' (log: $log)"; continue
    fi
    exits=$(sed -E 's/.* ([0-9]+) exits .*/\1/' <<<"$line")
    lat=$(sed -E 's/.* ([0-9]+) ticks$/\1/' <<<"$line")
    # A few exits (the source's own programming, HLT, the window) up to the
    # COM1 byte's wait in wall-clock time; latency: hundreds to thousands of
    # ticks in Bochs (an exit costs ~100-2000).
    [ "$exits" -ge 1 ] && [ "$exits" -le 500 ] && [ "$lat" -ge 100 ] && [ "$lat" -le 200000 ]
    ok $? "$name: tour line $k: /$re/, $exits exits, $lat ticks" "implausible numbers: $line"
  done
  [ "$(wc -l <<<"$lines")" = ${#sources[@]} ]
  ok $? "$name: exactly ${#sources[@]} source lines" "$(wc -l <<<"$lines") lines"
}

# tour_run NAME SECONDS-ALLOWED DEMO-ARGS...: runs the demo, checks its end
tour_run() {
  local name=$1 allowed=$2 t0=$SECONDS rc; shift 2
  scripts/demo.sh --emu bochs "$@" > "$TAPDIR/$name.run.out" 2>&1
  rc=$?
  local took=$((SECONDS - t0))
  ok $rc "$name: scripts/demo.sh${*:+ $*} ends with status 0 (${took} s)" "see $TAPDIR/$name.run.out"
  [ $took -le "$allowed" ]; ok $? "$name: within $allowed s (took $took s)"
}

# make run: the default group, tests/configs/demo.cfg
tour_run tour 60
LOG=$(tr -d '\r' < build/run/tour.serial.log)
log_has "^hv: config: .*cmdline='tour ram_mb=32'$"; ok $? "make run boots group tour (tests/configs/demo.cfg)"
tour_lines tour build/run/tour.serial.log
# APIC virtualization: the 8259's ExtINT and the NMI are injected, the rest
# goes in through RVI
deliveries=$(grep -oE '(injected|VID \(RVI\)) +vector 0x[0-9a-f]+' <<<"$LOG" | sed -E 's/ +vector / /' | tr '\n' ,)
[ "$deliveries" = "injected 0x20,VID (RVI) 0x41,VID (RVI) 0x70,VID (RVI) 0x71,VID (RVI) 0x72,VID (RVI) 0x58,injected 0x02,VID (RVI) 0x5a,VID (RVI) 0x54," ]
ok $? "tour: delivery as the hypervisor reports it: ExtINT and NMI injected, the rest by VID" "$deliveries"
# exit statistics after the tour, then the status line last
stats=$(grep -n '^hv: exit statistics' <<<"$LOG" | cut -d: -f1)
last=$(grep -n '^guest: # tour: .* ticks$' <<<"$LOG" | tail -1 | cut -d: -f1)
[ -n "$stats" ] && [ -n "$last" ] && [ "$stats" -gt "$last" ]
ok $? "the exit statistics follow the tour"
[ "$(grep -E '^hv: ' <<<"$LOG" | tail -1)" = "hv: guest exited status=0" ]
ok $? "the last line is 'hv: guest exited status=0'" "$(tail -2 <<<"$LOG")"
cp build/run/tour.serial.log "$TAPDIR/tour.log"; guest_tap tour; relay_guest_tap tour

# CFG=<file>: the software APIC path
cfg=$BUILD/scenarios/tour-soft.cfg
sed 's/^log_level.*/&\napicv     = off/' tests/configs/demo.cfg > "$cfg"
tour_run tour-soft 60 --cfg "$cfg"
LOG=$(tr -d '\r' < build/run/tour-soft.serial.log)
log_has '^hv: APIC: software path \(apicv = off\)$'; ok $? "tour-soft: the software APIC path was taken"
tour_lines tour-soft build/run/tour-soft.serial.log
! grep -q 'VID (RVI) *vector' <<<"$LOG" && [ "$(grep -c 'injected *vector' <<<"$LOG")" = 9 ]
ok $? "tour-soft: every interrupt injected (no virtual-interrupt delivery)"

# make trace: the same tour with the trace ring, its JSON and PNG
rm -f build/trace/tour.json build/trace/tour.png
tour_run tour-trace 90 --trace
LOG=$(tr -d '\r' < build/run/tour.serial.log)
tour_lines tour-trace build/run/tour.serial.log
log_has '^hv: trace: [0-9]+ events kept, 0 dropped'; ok $? "tour-trace: the ring kept every event"
grep -q 'trace: build/trace/tour.json' "$TAPDIR/tour-trace.run.out"; ok $? "make trace says where the JSON is"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if len(d["traceEvents"]) > 50 else 1)' \
  build/trace/tour.json 2>/dev/null
ok $? "build/trace/tour.json loads with Python's json module and holds the events"
[ "$(head -c 8 build/trace/tour.png 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
  [ "$(stat -c %s build/trace/tour.png)" -gt 20000 ]
ok $? "build/trace/tour.png is a PNG of some size"
done_testing
