#!/usr/bin/env bash
# Bochs 3.0 behaviour corrected here (bug F; testos group "inject", case
# "a physical interrupt exits; a pending virtual one still waits for IF=1",
# on the APIC-virtualization path): HandleExtInterrupt (cpu/event.cc), entered
# because a physical interrupt is pending and unmasked (with external-interrupt
# exiting, guest IF=0 does not mask it), delivers a pending virtual interrupt
# whenever one is pending, ignoring that guest IF=0 masks it; the guest's
# handler runs with IF=0 and the external-interrupt exit comes after it. The
# SDM (vol. 3, "Evaluation and Delivery of Pending Virtual Interrupts") says a
# virtual interrupt is delivered only when RFLAGS.IF=1 and there is no
# blocking by STI or MOV SS; otherwise the physical interrupt causes its VM
# exit. Debian's Linux deadlocked on it (its serial interrupt handler entered
# while the interrupted code held the port lock). Deliver the virtual
# interrupt only when its event is unmasked.
set -euo pipefail
f="$1/cpu/event.cc"
grep -q 'tinyhv: virtual interrupts wait for IF=1' "$f" && exit 0
old='^    if (is_pending(BX_EVENT_PENDING_VMX_VIRTUAL_INTR)) {$'
n=$(grep -c "$old" "$f")
[ "$n" = 1 ] || { echo "patch 04: anchor found $n times in $f" >&2; exit 1; }
sed -i "s/$old/    if (is_unmasked_event_pending(BX_EVENT_PENDING_VMX_VIRTUAL_INTR)) { \/\/ tinyhv: virtual interrupts wait for IF=1 (Bochs 3.0 bug F)/" "$f"
grep -q '^    if (is_unmasked_event_pending(BX_EVENT_PENDING_VMX_VIRTUAL_INTR)) { // tinyhv: virtual interrupts wait for IF=1' "$f"
