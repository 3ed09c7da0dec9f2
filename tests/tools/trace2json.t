#!/usr/bin/env python3
"""Host test of scripts/trace2json.py on a recorded dump (tests/tools/data/
tour.trace: the port 0xE9 output of `make trace`, the tour with the trace on,
with one line of other output before it). The JSON must load as trace-event
format with the fields Perfetto needs, hold each stage's steps of the first
interrupts in order, and the PNG must be a PNG of plausible size. TAP out.

TRACE2JSON=<script> tests another converter (that is how the test was seen
to fail)."""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONVERTER = os.environ.get("TRACE2JSON", os.path.join(ROOT, "scripts", "trace2json.py"))
DUMP = os.path.join(ROOT, "tests", "tools", "data", "tour.trace")
n = 0
failed = 0


def ok(cond, what, why=""):
    global n, failed
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, what))
    if not cond:
        failed += 1
        if why:
            print("# " + str(why).replace("\n", "\n# "))
    return cond


def schema_errors(doc):
    """What Perfetto's JSON importer needs of each event."""
    errs = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["no traceEvents list"]
    for k, e in enumerate(doc["traceEvents"]):
        where = "event %d (%s)" % (k, e.get("name"))
        if not isinstance(e.get("name"), str):
            errs.append(where + ": no name")
        ph = e.get("ph")
        if ph not in ("M", "i", "B", "E", "X", "b", "e"):
            errs.append(where + ": phase %r" % ph)
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            errs.append(where + ": pid/tid not integers")
        if ph != "M" and not isinstance(e.get("ts"), (int, float)):
            errs.append(where + ": no numeric ts")
        if ph == "i" and e.get("s") not in ("t", "p", "g"):
            errs.append(where + ": instant without scope")
        if ph in ("b", "e") and ("id" not in e or "cat" not in e):
            errs.append(where + ": async event without id/cat")
        if ph == "M" and not isinstance(e.get("args"), dict):
            errs.append(where + ": metadata without args")
    return errs


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def main():
    out = os.path.join(tempfile.mkdtemp(prefix="trace2json-"), "tour")
    r = subprocess.run([sys.executable, CONVERTER, DUMP, out], capture_output=True, text=True)
    if not ok(r.returncode == 0, "the converter turns the recorded dump into JSON and PNG",
              r.stdout + r.stderr):
        print("1..%d" % n)
        return 1
    try:
        with open(out + ".json") as f:
            doc = json.load(f)
        ok(True, "the JSON loads with Python's json module")
    except (OSError, ValueError) as e:
        ok(False, "the JSON loads with Python's json module", e)
        print("1..%d" % n)
        return 1
    errs = schema_errors(doc)
    ok(not errs, "every event has the fields Perfetto needs (name, ph, ts, pid, tid, s/id)",
       "\n".join(errs[:5]))
    evs = doc["traceEvents"]
    lanes = [e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name"]
    want = ["source", "router", "vPIC", "vIOAPIC", "vLAPIC", "inject / VID", "guest ISR", "EOI"]
    ok(lanes[:8] == want, "one lane per stage: " + ", ".join(want), lanes)
    ts = [e["ts"] for e in evs if e["ph"] != "M"]
    ok(ts == sorted(ts) and ts and ts[0] == 0, "events in time order, from 0", ts[:5])
    ok(doc.get("otherData", {}).get("events_dropped") == 0 and
       doc["otherData"].get("events_kept") == 118, "the dump's counts: 118 kept, 0 dropped",
       doc.get("otherData"))

    def steps(i):
        return [e["name"] for e in evs if e["ph"] == "i" and e.get("args", {}).get("interrupt") == i]

    # Interrupt 0: the vPIT's tick through the vPIC in virtual-wire mode.
    pic = ["irq_set", "pic_set_irq", "pit_tick", "pic_ack", "inject", "guest ISR entry", "pic_eoi",
           "guest EOI done"]
    got = steps(0)
    ok([s for s in got if s in pic] == pic, "interrupt 0 (PIT via vPIC): " + " > ".join(pic), got)
    # Interrupt 1: the same tick through the vIOAPIC and virtual-interrupt delivery.
    io = ["irq_set", "ioapic_deliver", "lapic_accept", "vid", "guest ISR entry", "guest EOI done"]
    got = steps(1)
    ok([s for s in got if s in io] == io, "interrupt 1 (PIT via vIOAPIC): " + " > ".join(io), got)
    # Interrupt 2: the vLAPIC one-shot timer.
    lt = ["lapic_timer", "lapic_accept", "vid", "guest ISR entry", "guest EOI done"]
    got = steps(2)
    ok([s for s in got if s in lt] == lt, "interrupt 2 (vLAPIC timer): " + " > ".join(lt), got)
    names = [e["name"] for e in evs if e["ph"] == "b" and e["cat"] == "interrupt"]
    ok(any("NMI" in x for x in names), "an interrupt row for the NMI", names)
    ok(any(x.startswith("GSI 10") and "0x5a" in x for x in names), "a row for pc-testdev's line (GSI 10, 0x5a)", names)
    ok(any(x.startswith("COM1 IRQ 4") and "0x58" in x for x in names) and
       any(x.startswith("COM1 IRQ 4") and "0x54" in x for x in names),
       "rows for the level line (0x58) and the COM1 byte (0x54)", names)
    lvl = steps(names.index(next(x for x in names if "0x58" in x)))
    ok("ioapic_eoi" in lvl, "the level line's row ends with the vIOAPIC's EOI (remote IRR)", lvl)
    phases = [e for e in evs if e["ph"] in ("B", "E") and e["cat"] == "guest"]
    ok(len(phases) >= 16, "the guest's phases are slices (a begin and an end per tour stop)", len(phases))

    size = os.path.getsize(out + ".png") if os.path.exists(out + ".png") else 0
    dims = png_size(out + ".png") if size else None
    ok(dims is not None, "the PNG is a PNG", dims)
    ok(20000 < size < 1000000, "the PNG's file size is plausible (20 kB .. 1 MB): %d bytes" % size)
    ok(dims is not None and 500 <= dims[0] <= 2000 and 600 <= dims[1] <= 4000,
       "the PNG's dimensions are plausible for a dozen rows and a histogram: %s" % (dims,))

    # A dump cut short is refused, not half-drawn.
    cut = out + "-cut.trace"
    with open(DUMP) as f, open(cut, "w") as g:
        g.writelines(f.readlines()[:50])
    r = subprocess.run([sys.executable, CONVERTER, "--json-only", cut, out + "-cut"], capture_output=True,
                       text=True)
    ok(r.returncode != 0 and "no complete" in r.stderr, "a dump without its end line is refused",
       r.stdout + r.stderr)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
