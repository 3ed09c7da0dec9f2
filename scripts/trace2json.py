#!/usr/bin/env python3
"""Turns tinyhv's interrupt-trace dump into a timeline.

    scripts/trace2json.py DUMP OUT       # writes OUT.json and OUT.png
    scripts/trace2json.py --json-only DUMP OUT

DUMP is any file holding the hypervisor's 'tinyhv-trace' lines (with
`trace = on` they go to port 0xE9, which Bochs writes to its stdout:
build/run/<run>.serial.bochs.out). Lines of other output are skipped.

OUT.json is Chrome/Perfetto trace-event JSON: one thread ("lane") per stage
of an interrupt's path (source, router, vPIC, vIOAPIC, vLAPIC, injection or
virtual-interrupt delivery, guest ISR, EOI), an instant event per step, an
async slice per interrupt, and the guest's phases as slices. Time stamps are
guest TSC ticks since the first event (the viewers label them "us").

OUT.png (matplotlib) has one row per interrupt (the first MAX_ROWS), its
steps on the eight lanes against guest TSC ticks since its source event, and
a latency histogram per source (source event to the guest's ISR).
"""
import json
import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"

LANES = ["source", "router", "vPIC", "vIOAPIC", "vLAPIC", "inject / VID", "guest ISR", "EOI"]
LANE_OF = {
    "pit_tick": "source", "lapic_timer": "source",
    "irq_set": "router", "msi": "router",
    "pic_set_irq": "vPIC", "pic_ack": "vPIC",
    "ioapic_set_irq": "vIOAPIC", "ioapic_deliver": "vIOAPIC",
    "lapic_accept": "vLAPIC",
    "inject": "inject / VID", "vid": "inject / VID",
    "eoi": "EOI", "pic_eoi": "EOI", "ioapic_eoi": "EOI",
}
ARGS = {
    "irq_set": ("source", "gsi", "level"), "pic_set_irq": ("pin", "level", "irr_changed"),
    "pic_ack": ("pin", "vector", "spurious"), "pic_eoi": ("pin", "specific"),
    "ioapic_set_irq": ("pin", "level", "sent"), "ioapic_deliver": ("pin", "vector", "mode"),
    "ioapic_eoi": ("vector", "pin", "redelivered"), "pit_tick": ("channel", "dropped"),
    "lapic_accept": ("vector", "mode", "level"), "inject": ("vector", "type"), "eoi": ("vector",),
    "lapic_timer": ("vector", "mode", "masked"), "vid": ("vector", "svi"),
    "guest_mark": ("kind", "arg", "guest_tsc"), "tsc_offset": ("delta_lo", "delta_hi"),
    "msi": ("address", "data", "delivered"),
}
MARK_ISR, MARK_EOI, MARK_BEGIN, MARK_END, MARK_HELLO = 1, 2, 3, 4, 5
MAX_ROWS = 12
MASK64 = (1 << 64) - 1


class DumpError(Exception):
    pass


def parse_dump(lines):
    """Returns (header dict, event names, [(host_tsc, name, a, b, c)])."""
    header, names, recs, state = None, [], [], "before"
    for line in lines:
        at = line.find("tinyhv-trace ")
        if at < 0:
            continue
        words = line[at:].split()
        if words[1] == "begin":
            header = {k: v for k, v in (w.split("=", 1) for w in words[3:] if "=" in w)}
            names, recs, state = [], [], "in"   # the last dump in the file wins
        elif state != "in":
            continue
        elif words[1] in ("names", "names+"):
            names += [n for n in " ".join(words[2:]).split(",") if n]
        elif words[1] == "end":
            state = "done"
        else:
            tsc, ev, a, b, c = (int(words[1], 16), int(words[2]), int(words[3], 16),
                                int(words[4], 16), int(words[5], 16))
            recs.append((tsc, ev, a, b, c))
    if header is None or state != "done":
        raise DumpError("no complete 'tinyhv-trace begin' ... 'end' dump found")
    events = [(tsc, names[ev] if ev < len(names) else "ev%d" % ev, a, b, c) for tsc, ev, a, b, c in recs]
    return header, names, events


def to_guest_time(header, events):
    """Host TSC -> guest TSC: the dump gives the offset at the end; walking
    back, each tsc_offset event undoes its change."""
    offset = int(header.get("tsc_offset", "0"), 16)
    out = []
    for tsc, name, a, b, c in reversed(events):
        t = (tsc + offset) & MASK64
        if name == "guest_mark":
            # the guest's own TSC at the mark (low 32 bits), under the high bits of the record's
            lo = c
            t2 = (t & ~0xffffffff) | lo
            if t2 > t:
                t2 -= 1 << 32
            t = t2
        out.append((t, name, a, b, c))
        if name == "tsc_offset":
            offset = (offset - (a | b << 32)) & MASK64
    out.reverse()
    return out


class Interrupt:
    def __init__(self, idx, start, source):
        self.idx, self.start, self.source = idx, start, source
        self.vector, self.via, self.steps, self.isr, self.done = None, [], [], None, False

    def add(self, ev):
        self.steps.append(ev)

    def label(self):
        vec = "NMI" if self.vector == 2 and any("NMI" in v for v in self.via) else (
            "0x%02x" % self.vector if self.vector is not None else "?")
        via = " > ".join(self.via) if self.via else "direct"
        return "%s > %s > %s" % (self.source, via, vec)

    def latency(self):
        return None if self.isr is None else self.isr - self.start

    def delivered(self):
        """Source event to injection or virtual-interrupt delivery."""
        t = next((ev[0] for ev in self.steps if ev[1] in ("inject", "vid")), None)
        return None if t is None else t - self.start


def group(events):
    """Follows each interrupt from its source event to its EOI."""
    intrs, pending, by_vec, last_pic, last_set = [], None, {}, None, None
    marks = any(n == "guest_mark" and a == MARK_ISR for _, n, a, _b, _c in events)

    def new(t, source):
        i = Interrupt(len(intrs), t, source)
        intrs.append(i)
        return i

    for ev in events:
        t, n, a, b, c = ev
        i = None
        if n == "irq_set" and c:
            i = pending = last_set = new(t, "GSI %d" % b)
            if b == 4:
                pending.source = "COM1 IRQ 4"
        elif n == "lapic_timer":
            i = pending = new(t, "vLAPIC timer")
        elif n == "pit_tick" and last_set and last_set.source == "GSI 0":
            i = last_set
            i.source = "vPIT ch0"
        elif n in ("pic_set_irq", "ioapic_set_irq") and b and pending:
            i = pending
        elif n == "ioapic_deliver" and pending:
            i = pending
            i.via.append("vIOAPIC pin %d%s" % (a, " (NMI)" if c == 4 else ""))
            if c == 4:
                i.vector = 2
                by_vec[2] = i
        elif n == "lapic_accept":
            if c == 7 or (a == 2 and b == 4):   # ExtINT: the 8259 names the vector; NMI
                i = pending
            else:
                i = pending if pending and pending.vector is None else new(t, "vLAPIC (IPI)")
                i.vector = a
                by_vec[a] = i
                pending = None
        elif n == "pic_ack" and not c:
            i = pending or last_pic
            if i:
                i.via.append("vPIC IR%d" % a)
                i.vector = b
                by_vec[b] = i
                last_pic = i
                pending = None
        elif n in ("inject", "vid"):
            i = by_vec.get(a)
            if i and n == "vid" and "VID" not in i.via:
                i.via.append("VID")
            if i is pending:
                pending = None
        elif n == "guest_mark" and a == MARK_ISR:
            i = by_vec.get(b)
            if i and i.isr is None:
                i.isr = t
        elif n == "guest_mark" and a == MARK_EOI:
            i = by_vec.pop(b, None)
        elif n == "eoi":
            i = by_vec.get(a) if marks else by_vec.pop(a, None)
        elif n == "ioapic_eoi":
            i = by_vec.get(a) or next((x for x in reversed(intrs) if x.vector == a), None)
        elif n == "pic_eoi":
            i = last_pic
        if i:
            i.add(ev)
    return intrs


def trace_events(header, events, intrs):
    t0 = events[0][0] if events else 0
    out = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "tinyhv VM"}}]
    for k, lane in enumerate(LANES + ["guest phase"]):
        out.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": k + 1, "args": {"name": lane}})
        out.append({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": k + 1,
                    "args": {"sort_index": k + 1}})
    owner = {}
    for i in intrs:
        for ev in i.steps:
            owner.setdefault(id(ev), i.idx)
    phase_tid = len(LANES) + 1
    for ev in events:
        t, n, a, b, c = ev
        args = dict(zip(ARGS.get(n, ("a", "b", "c")), (a, b, c)))
        if id(ev) in owner:
            args["interrupt"] = owner[id(ev)]
        if n == "guest_mark":
            if a in (MARK_BEGIN, MARK_END):
                out.append({"name": "phase %d" % b, "cat": "guest", "ph": "B" if a == MARK_BEGIN else "E",
                            "ts": t - t0, "pid": 1, "tid": phase_tid, "args": args})
                continue
            if a not in (MARK_ISR, MARK_EOI):   # the guest's hello: its marks are on from here
                out.append({"name": "guest marks on", "cat": "guest", "ph": "i", "s": "t", "ts": t - t0,
                            "pid": 1, "tid": phase_tid, "args": args})
                continue
            lane = "guest ISR" if a == MARK_ISR else "EOI"
            n = "guest ISR entry" if a == MARK_ISR else "guest EOI done"
        else:
            lane = LANE_OF.get(n)
            if lane is None:
                continue
        out.append({"name": n, "cat": lane, "ph": "i", "s": "t", "ts": t - t0, "pid": 1,
                    "tid": LANES.index(lane) + 1, "args": args})
    for i in intrs:
        end = max(ev[0] for ev in i.steps)
        for ph, ts in (("b", i.start), ("e", end)):
            out.append({"name": i.label(), "cat": "interrupt", "ph": ph, "id": i.idx, "ts": ts - t0,
                        "pid": 1, "tid": 1, "args": {"latency_to_isr": i.latency(), "vector": i.vector}})
    out.sort(key=lambda e: (e.get("ts", -1), 0 if e["ph"] == "M" else 1))
    return {"traceEvents": out, "displayTimeUnit": "ns",
            "otherData": {"time_unit": "guest TSC ticks since the first event (shown as us)",
                          "tsc_hz": int(header.get("tsc_hz", "0")),
                          "events_kept": int(header.get("held", "0")),
                          "events_dropped": int(header.get("dropped", "0")),
                          "interrupts": len(intrs)}}


def draw(intrs, header, path):
    import matplotlib  # python3-matplotlib (scripts/deps.sh); main() finds a python that has it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [i for i in intrs if len(i.steps) > 1][:MAX_ROWS]
    n = len(rows)
    fig, axes = plt.subplots(n + 1, 1, figsize=(10, 1.45 * n + 2.6),
                             gridspec_kw={"height_ratios": [1] * n + [1.9]}, squeeze=False)
    colors = plt.cm.tab10.colors
    for ax, i in zip(axes[:, 0], rows):
        pts = []
        for t, name, a, _b, _c in i.steps:
            lane = LANE_OF.get(name) or ("guest ISR" if a == MARK_ISR else "EOI" if a == MARK_EOI else None)
            if lane:
                pts.append((t - i.start, LANES.index(lane)))
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, "-", color="0.75", linewidth=0.8, zorder=1)
        ax.scatter(xs, ys, c=[colors[y] for y in ys], s=14, zorder=2)
        ax.set_yticks(range(len(LANES)))
        ax.set_yticklabels(LANES, fontsize=5)
        ax.set_ylim(-0.7, len(LANES) - 0.3)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=6)
        lat = i.latency()
        ax.set_title("#%d %s%s" % (i.idx, i.label(), "" if lat is None else ", ISR after %d ticks" % lat),
                     fontsize=7, loc="left", pad=2)
        ax.grid(axis="x", linewidth=0.3)
    if n:
        axes[n - 1, 0].set_xlabel("guest TSC ticks since the source event", fontsize=7)
    hist = axes[n, 0]
    # Source event to the guest's ISR mark; a guest that does not mark its
    # handlers gives source event to injection / delivery instead.
    marks = any(i.latency() is not None for i in intrs)
    by_src = {}
    for i in intrs:
        lat = i.latency() if marks else i.delivered()
        if lat is not None:
            by_src.setdefault(i.source + (" (NMI)" if i.vector == 2 else ""), []).append(lat)
    if by_src:
        hist.hist(list(by_src.values()), bins=20, label=list(by_src.keys()))
        hist.legend(fontsize=6)
    else:
        hist.text(0.5, 0.5, "no interrupt reached the guest", ha="center", transform=hist.transAxes)
    hist.set_title("latency, source event to %s, per source" % ("guest ISR" if marks else
                   "injection / delivery (the guest marked no ISR)"), fontsize=8, loc="left")
    hist.set_xlabel("guest TSC ticks", fontsize=7)
    hist.set_ylabel("interrupts", fontsize=7)
    hist.tick_params(labelsize=6)
    shown = "" if len(intrs) <= MAX_ROWS else " (first %d rows)" % MAX_ROWS
    fig.suptitle("tinyhv interrupt trace: %d interrupts%s, %s events kept, %s dropped" %
                 (len(intrs), shown, header.get("held"), header.get("dropped")), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=72)
    plt.close(fig)


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def main(argv):
    json_only = "--json-only" in argv
    # Debian's python3-matplotlib is installed for /usr/bin/python3, which
    # another python3 earlier in PATH (pyenv, a virtualenv) does not see.
    if not json_only and not have_matplotlib() and os.path.exists(SYSTEM_PYTHON) \
            and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + argv)
    argv = [a for a in argv if a != "--json-only"]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], errors="replace") as f:
        try:
            header, _names, raw = parse_dump(f)
        except DumpError as e:
            print("trace2json: %s: %s" % (argv[1], e), file=sys.stderr)
            return 1
    events = to_guest_time(header, raw)
    intrs = group(events)
    with open(argv[2] + ".json", "w") as f:
        json.dump(trace_events(header, events, intrs), f, indent=0)
    if not json_only:
        draw(intrs, header, argv[2] + ".png")
    print("trace2json: %d events, %d interrupts, %s dropped" % (len(events), len(intrs), header.get("dropped")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
