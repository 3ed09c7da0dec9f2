/* Unit tests: the pure event-delivery rules (vmx/event.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../vmx/event.h"

/* Faults push RF=1; traps, aborts and the NMI do not (SDM Vol. 3 table 6-1). */
static void test_fault_class(void **s)
{
    (void)s;
    static const unsigned faults[] = { 0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19, 20, 21 };
    static const unsigned not_faults[] = { DB_VECTOR, NMI_VECTOR, BP_VECTOR, OF_VECTOR,
                                           DF_VECTOR, MC_VECTOR,  32,        255 };
    for (unsigned i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        assert_true(exception_is_fault(faults[i]));
    for (unsigned i = 0; i < sizeof(not_faults) / sizeof(not_faults[0]); i++)
        assert_false(exception_is_fault(not_faults[i]));
}

/* SDM Vol. 3 table 6-5, every class against every class, by vector:
 * benign #DB(1), #UD(6), #MF(16); contributory #DE(0), #TS(10), #NP(11),
 * #SS(12), #GP(13); #PF(14); and #DF(8) first. */
static void test_double_fault_table(void **s)
{
    (void)s;
    static const unsigned benign[] = { 1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19, 20, 32, 255 };
    static const unsigned contributory[] = { 0, 10, 11, 12, 13 };
    for (unsigned i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
        for (unsigned j = 0; j < 5; j++) {
            /* benign first: the second is handled serially, whatever it is */
            assert_int_equal(exception_merge(benign[i], contributory[j]), MERGE_SECOND);
            /* anything first, benign second: serially */
            assert_int_equal(exception_merge(contributory[j], benign[i]), MERGE_SECOND);
        }
        assert_int_equal(exception_merge(benign[i], 14), MERGE_SECOND);
        assert_int_equal(exception_merge(14, benign[i]), MERGE_SECOND);
        assert_int_equal(exception_merge(8, benign[i]), MERGE_SECOND);
    }
    for (unsigned i = 0; i < 5; i++) {
        for (unsigned j = 0; j < 5; j++)
            assert_int_equal(exception_merge(contributory[i], contributory[j]), MERGE_DOUBLE_FAULT);
        assert_int_equal(exception_merge(contributory[i], 14), MERGE_SECOND); /* #GP, then #PF */
        assert_int_equal(exception_merge(14, contributory[i]), MERGE_DOUBLE_FAULT);
        assert_int_equal(exception_merge(8, contributory[i]), MERGE_TRIPLE_FAULT);
    }
    assert_int_equal(exception_merge(14, 14), MERGE_DOUBLE_FAULT);
    assert_int_equal(exception_merge(8, 14), MERGE_TRIPLE_FAULT);
}

/* ---- event arbitration ---------------------------------------------------- */

/* A guest that can take anything: IF = 1, no blocking, active, software
 * path, virtual NMIs with NMI-window exiting, nothing pending. */
static struct event_snapshot quiet(void)
{
    struct event_snapshot s = { 0 };
    s.activity = ACTIVITY_ACTIVE;
    s.rflags_if = 1;
    s.virtual_nmis = 1;
    s.nmi_window_exiting = 1;
    s.irr_highest = s.isr_highest = -1;
    return s;
}

#define EXT(v)   (INTR_INFO_VALID | INTR_TYPE_EXTERNAL | (v))
#define NMI_INFO (INTR_INFO_VALID | INTR_TYPE_NMI | NMI_VECTOR)

static void expect(struct event_decision d, enum event_inject inject, int intr_window, int nmi_window,
                   uint32_t interruptibility)
{
    assert_int_equal(d.inject, inject);
    assert_int_equal(d.intr_window, intr_window);
    assert_int_equal(d.nmi_window, nmi_window);
    assert_int_equal(d.interruptibility, interruptibility);
}

static void test_arbitrate_interrupts(void **st)
{
    (void)st;
    struct event_snapshot s = quiet();
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_CLOSED, 0, 0);
    s.intr_pending = 1;
    expect(event_arbitrate(&s), INJECT_INTERRUPT, WINDOW_IF_MORE, 0, 0);
    s.rflags_if = 0; /* CLI: wait for the window */
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_OPEN, 0, 0);
    s.rflags_if = 1;
    s.interruptibility = INTERRUPTIBILITY_STI; /* STI shadow */
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_OPEN, 0, INTERRUPTIBILITY_STI);
    s.interruptibility = INTERRUPTIBILITY_MOVSS;
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_OPEN, 0, INTERRUPTIBILITY_MOVSS);
    s.interruptibility = INTERRUPTIBILITY_NMI; /* in an NMI handler with IF = 1: maskable ones go in */
    expect(event_arbitrate(&s), INJECT_INTERRUPT, WINDOW_IF_MORE, 0, INTERRUPTIBILITY_NMI);
    s.interruptibility = 0;
    s.activity = ACTIVITY_WAIT_SIPI; /* no event while waiting for a SIPI */
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_CLOSED, 0, 0);
}

/* A debug trap of the previous instruction (a single step over HLT, say)
 * goes before an interrupt or an NMI: nothing is injected (VM entry would
 * drop the trap), the windows open. kvm-unit-tests debug, "Single-step #DB
 * w/ STI;HLT", on the software path; both paths decide alike. */
static void test_arbitrate_debug_trap(void **st)
{
    (void)st;
    for (int apicv = 0; apicv < 2; apicv++) {
        struct event_snapshot s = quiet();
        s.apicv = apicv;
        s.intr_pending = 1; /* on the APIC-virtualization path: an ExtINT */
        expect(event_arbitrate(&s), INJECT_INTERRUPT, WINDOW_IF_MORE, 0, 0);
        s.debug_trap = 1;
        expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_OPEN, 0, 0);
        s.intr_pending = 0;
        s.nmi_pending = 1;
        expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_CLOSED, 1, 0);
        s.interruptibility = INTERRUPTIBILITY_STI; /* STI alone: the interrupt window, not the NMI one */
        expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_OPEN, 0, INTERRUPTIBILITY_STI);
        s.interruptibility = 0;
        s.pending.info = EXT(0x30); /* an interrupted delivery still goes in first */
        expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_CLOSED, 1, 0);
    }
}

static void test_arbitrate_nmi(void **st)
{
    (void)st;
    struct event_snapshot s = quiet();
    s.nmi_pending = 1;
    expect(event_arbitrate(&s), INJECT_NMI, WINDOW_CLOSED, 0, 0);
    s.rflags_if = 0; /* IF does not hold NMIs back */
    expect(event_arbitrate(&s), INJECT_NMI, WINDOW_CLOSED, 0, 0);
    s.intr_pending = 1; /* NMI before the interrupt, which waits for its window */
    s.rflags_if = 1;
    expect(event_arbitrate(&s), INJECT_NMI, WINDOW_OPEN, 0, 0);
    s.intr_pending = 0;
    /* In the handler (virtual-NMI blocking): the NMI window, which opens at IRET */
    s.interruptibility = INTERRUPTIBILITY_NMI;
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_CLOSED, 1, INTERRUPTIBILITY_NMI);
    /* After MOV SS: the NMI window waits out blocking by MOV SS */
    s.interruptibility = INTERRUPTIBILITY_MOVSS;
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_CLOSED, 1, INTERRUPTIBILITY_MOVSS);
    /* Without virtual NMIs, blocking by NMI is not ours to track */
    s = quiet();
    s.nmi_pending = 1;
    s.virtual_nmis = 0;
    s.interruptibility = INTERRUPTIBILITY_NMI;
    expect(event_arbitrate(&s), INJECT_NMI, WINDOW_CLOSED, 0, INTERRUPTIBILITY_NMI);
}

/* Defect: an NMI in an STI shadow opened the NMI window, which some CPUs
 * take at once under blocking by STI: exits forever without the guest
 * retiring an instruction. Now the interrupt window (IF = 1 under STI
 * blocking) waits for the end of the shadow, and no NMI window opens. */
static void test_arbitrate_nmi_in_sti_shadow(void **st)
{
    (void)st;
    struct event_snapshot s = quiet();
    s.nmi_pending = 1;
    s.interruptibility = INTERRUPTIBILITY_STI;
    expect(event_arbitrate(&s), INJECT_NOTHING, WINDOW_OPEN, 0, INTERRUPTIBILITY_STI);
    /* the shadow over (the interrupt window's exit): in it goes */
    s.interruptibility = 0;
    expect(event_arbitrate(&s), INJECT_NMI, WINDOW_CLOSED, 0, 0);
}

/* Defect: an NMI blocked by NMI with an injectable interrupt opened the
 * interrupt window without injecting: with IF = 1 that exits at once. */
static void test_arbitrate_interrupt_beside_blocked_nmi(void **st)
{
    (void)st;
    struct event_snapshot s = quiet();
    s.nmi_pending = 1;
    s.intr_pending = 1;
    s.interruptibility = INTERRUPTIBILITY_NMI;
    expect(event_arbitrate(&s), INJECT_INTERRUPT, WINDOW_IF_MORE, 1, INTERRUPTIBILITY_NMI);
}

/* Defect: an NMI whose delivery an exit interrupted went in again with
 * blocking by NMI still set, which VM entry refuses (SDM §26.3.1.5). */
static void test_arbitrate_reinjected_nmi(void **st)
{
    (void)st;
    struct event_snapshot s = quiet();
    s.pending.info = NMI_INFO;
    s.interruptibility = INTERRUPTIBILITY_NMI;
    expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_CLOSED, 0, 0);
    /* another NMI behind it: the NMI window (opens at the handler's IRET) */
    s.nmi_pending = 1;
    expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_CLOSED, 1, 0);
    /* an external interrupt's delivery again: the shadows ended with it */
    s = quiet();
    s.pending.info = EXT(0x30);
    s.interruptibility = INTERRUPTIBILITY_STI | INTERRUPTIBILITY_NMI;
    expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_CLOSED, 0, INTERRUPTIBILITY_NMI);
    /* an exception goes in whatever the shadows; an interrupt behind it waits */
    s = quiet();
    s.pending.info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_HAS_ERROR | 13;
    s.interruptibility = INTERRUPTIBILITY_MOVSS;
    s.intr_pending = 1;
    expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_OPEN, 0, INTERRUPTIBILITY_MOVSS);
    /* without NMI-window exiting no NMI window is asked for */
    s = quiet();
    s.pending.info = EXT(0x30);
    s.nmi_pending = 1;
    s.nmi_window_exiting = 0;
    expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_CLOSED, 0, 0);
}

/* Defect (APIC virtualization): ExtINT, the 8259 through LINT0, is ours to
 * inject; behind another event it needs the interrupt window, and fixed
 * vectors in RVI do not hold it back. */
/* event_quiet_apicv: with nothing of ours to deliver on the APIC-
 * virtualization path, event_arbitrate decides RVI/SVI alone for every
 * interruptibility, activity state and IF, as the entry path's shortcut
 * assumes; with anything of ours pending the shortcut is not taken. */
static void test_quiet_apicv_is_rvi_only(void **st)
{
    (void)st;
    static const uint32_t activities[] = { ACTIVITY_ACTIVE, ACTIVITY_HLT, ACTIVITY_WAIT_SIPI };
    for (uint32_t intr = 0; intr < 16; intr++)
        for (unsigned a = 0; a < 3; a++)
            for (int rif = 0; rif < 2; rif++)
                for (int vnmi = 0; vnmi < 2; vnmi++) {
                    struct event_snapshot s = quiet();
                    s.apicv = 1;
                    s.interruptibility = intr;
                    s.activity = activities[a];
                    s.rflags_if = rif;
                    s.virtual_nmis = s.nmi_window_exiting = vnmi;
                    s.irr_highest = 0x41;
                    s.isr_highest = 0x30;
                    assert_true(event_quiet_apicv(0, s.nmi_pending, s.intr_pending));
                    struct event_decision d = event_arbitrate(&s);
                    expect(d, INJECT_NOTHING, WINDOW_CLOSED, 0, intr);
                    assert_int_equal(d.intr_status, event_intr_status(0x41, 0x30));
                }
    assert_int_equal(event_intr_status(-1, -1), 0);
    assert_int_equal(event_intr_status(0x41, -1), 0x0041);
    assert_false(event_quiet_apicv(1, 0, 0));
    assert_false(event_quiet_apicv(0, 1, 0));
    assert_false(event_quiet_apicv(0, 0, 1));
}

static void test_arbitrate_extint_apicv(void **st)
{
    (void)st;
    struct event_snapshot s = quiet();
    s.apicv = 1;
    s.intr_pending = 1; /* ExtINT */
    s.irr_highest = 0x80;
    s.isr_highest = 0x40;
    struct event_decision d = event_arbitrate(&s);
    expect(d, INJECT_INTERRUPT, WINDOW_IF_MORE, 0, 0);
    assert_int_equal(d.intr_status, 0x4080);
    s.pending.info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | 6;
    expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_OPEN, 0, 0);
    s.pending.info = 0;
    s.nmi_pending = 1;
    expect(event_arbitrate(&s), INJECT_NMI, WINDOW_OPEN, 0, 0);
    /* nothing of ours: RVI and SVI only (the CPU delivers) */
    s = quiet();
    s.apicv = 1;
    s.irr_highest = 0x31;
    d = event_arbitrate(&s);
    expect(d, INJECT_NOTHING, WINDOW_CLOSED, 0, 0);
    assert_int_equal(d.intr_status, 0x0031);
}

/* The same guest on both paths: a fixed vector 0x30 pending. The software
 * path injects it exactly where virtual-interrupt delivery would deliver
 * it (IF = 1, no shadow), and otherwise waits with the interrupt window;
 * the APIC path only sets RVI, and the CPU waits by itself. */
static void test_arbitrate_same_on_both_paths(void **st)
{
    (void)st;
    for (unsigned bits = 0; bits < 16; bits++) {
        struct event_snapshot sw = quiet();
        sw.rflags_if = bits & 1;
        sw.interruptibility = (bits >> 1) & 3;
        if (sw.interruptibility & INTERRUPTIBILITY_STI)
            sw.rflags_if = 1; /* blocking by STI requires IF = 1 (VM entry checks it) */
        sw.interruptibility |= (bits & 8) ? INTERRUPTIBILITY_NMI : 0;
        sw.intr_pending = 1;
        struct event_snapshot hw = sw;
        hw.apicv = 1;
        hw.intr_pending = 0;
        hw.irr_highest = 0x30;
        struct event_decision ds = event_arbitrate(&sw), dh = event_arbitrate(&hw);
        int cpu_delivers = sw.rflags_if && !(sw.interruptibility & INTERRUPTIBILITY_STI_MOVSS);
        assert_int_equal(ds.inject == INJECT_INTERRUPT, cpu_delivers);
        assert_int_equal(ds.intr_window, cpu_delivers ? WINDOW_IF_MORE : WINDOW_OPEN);
        expect(dh, INJECT_NOTHING, WINDOW_CLOSED, 0, hw.interruptibility);
        assert_int_equal(dh.intr_status & 0xff, 0x30);
    }
}

/* IDT-vectoring information: each event type goes in again as it was;
 * software interrupts and exceptions with their instruction length. */
static void test_idt_vectoring(void **st)
{
    (void)st;
    struct pending_event e = event_from_idt_vectoring(0x30, 5, 2); /* valid bit clear */
    assert_int_equal(e.info, 0);
    e = event_from_idt_vectoring(EXT(0x30) | INTR_INFO_NMI_UNBLOCKED_BY_IRET, 5, 2);
    assert_int_equal(e.info, EXT(0x30)); /* bit 12 undefined here: cleared */
    assert_int_equal(e.error, 0);
    assert_int_equal(e.instr_len, 0);
    e = event_from_idt_vectoring(NMI_INFO, 0, 3);
    assert_int_equal(e.info, NMI_INFO);
    assert_int_equal(e.instr_len, 0);
    uint32_t pf = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_HAS_ERROR | 14;
    e = event_from_idt_vectoring(pf, 0x6, 4);
    assert_int_equal(e.info, pf);
    assert_int_equal(e.error, 0x6);
    assert_int_equal(e.instr_len, 0);
    static const uint32_t soft[] = { INTR_TYPE_SW_INTERRUPT | 0x80, INTR_TYPE_SW_EXCEPTION | 3,
                                     INTR_TYPE_PRIV_SW_EXCEPTION | 1 };
    for (unsigned i = 0; i < 3; i++) {
        e = event_from_idt_vectoring(INTR_INFO_VALID | soft[i], 0, 2);
        assert_int_equal(e.info, INTR_INFO_VALID | soft[i]);
        assert_int_equal(e.instr_len, 2);
        struct event_snapshot s = quiet();
        s.pending = e;
        s.rflags_if = 0;
        expect(event_arbitrate(&s), INJECT_PENDING, WINDOW_CLOSED, 0, 0);
    }
}

/* NMI unblocking due to IRET: blocking again unless the exit interrupted a
 * delivery or was a #DF. */
static void test_nmi_reblock(void **st)
{
    (void)st;
    assert_int_equal(event_nmi_reblock(1, 0, 0), 1);
    assert_int_equal(event_nmi_reblock(0, 0, 0), 0);
    assert_int_equal(event_nmi_reblock(1, EXT(0x30), 0), 0);
    assert_int_equal(event_nmi_reblock(1, 0, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_class),
        cmocka_unit_test(test_double_fault_table),
        cmocka_unit_test(test_arbitrate_interrupts),
        cmocka_unit_test(test_arbitrate_nmi),
        cmocka_unit_test(test_arbitrate_debug_trap),
        cmocka_unit_test(test_arbitrate_nmi_in_sti_shadow),
        cmocka_unit_test(test_arbitrate_interrupt_beside_blocked_nmi),
        cmocka_unit_test(test_arbitrate_reinjected_nmi),
        cmocka_unit_test(test_arbitrate_extint_apicv),
        cmocka_unit_test(test_quiet_apicv_is_rvi_only),
        cmocka_unit_test(test_arbitrate_same_on_both_paths),
        cmocka_unit_test(test_idt_vectoring),
        cmocka_unit_test(test_nmi_reblock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
