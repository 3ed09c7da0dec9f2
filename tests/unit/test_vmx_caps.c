/* Unit tests: choosing VMCS controls from capability MSRs (vmx/vmx_caps.c),
 * with values recorded from Bochs 3.0 and from real CPUs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmx/exit_names.h"
#include "../../vmx/vmx_caps.h"

/* Bochs 3.0, cpu model tigerlake (shared/BOCHS.md §1). */
static const struct vmx_caps bochs_tigerlake = {
    .basic = 0x00d8100000000004ull,
    .pin = 0x000000ff00000016ull,
    .proc = 0xfff9fffe0401e172ull,
    .exit = 0x407fffff00036dffull,
    .entry = 0x0000ffff000011ffull,
    .misc = 0x00000000600401e0ull,
    .proc2 = 0x02d77fff00000000ull,
    .ept_vpid = 0x00000f0106734141ull,
    .true_pin = 0x000000ff00000016ull,
    .true_proc = 0xfff9fffe04006172ull,
    .true_exit = 0x407fffff00036dfbull,
    .true_entry = 0x0000ffff000011fbull,
    .cr0_fixed0 = 0x80000021ull,
    .cr0_fixed1 = 0xffffffffull,
    .cr4_fixed0 = 0x2000ull,
    .cr4_fixed1 = 0x372fffull,
};

/* A real Intel CPU as published in kernel-module dumps of its VMX MSRs
 * (pin-based 0x3f00000016: no preemption timer, no posted interrupts;
 * secondary 0x553cfe00000000: EPT, VPID, unrestricted guest, but no APIC
 * virtualization; exit 0x1ffffff00036dff, entry 0x3ffff000011ff). */
static const struct vmx_caps real_cpu = {
    .basic = 0x00da040000000004ull,
    .pin = 0x0000003f00000016ull,
    .proc = 0xfff9fffe0401e172ull,
    .exit = 0x01ffffff00036dffull,
    .entry = 0x0003ffff000011ffull,
    .misc = 0x00000000000401e5ull,
    .proc2 = 0x00553cfe00000000ull,
    .ept_vpid = 0x00000f0106334141ull,
    .true_pin = 0x0000003f00000016ull,
    .true_proc = 0xfff9fffe04006172ull,
    .true_exit = 0x01ffffff00036dfbull,
    .true_entry = 0x0003ffff000011fbull,
    .cr0_fixed0 = 0x80000021ull,
    .cr0_fixed1 = 0xffffffffull,
    .cr4_fixed0 = 0x2000ull,
    .cr4_fixed1 = 0x3767ffull,
};

static char err[256];

static void test_adjust_forces_and_filters(void **s)
{
    (void)s;
    uint32_t out, missing;
    /* must-be-1 = 0x16, may-be-1 = 0xff */
    assert_int_equal(vmx_adjust_controls(0x000000ff00000016ull, 0x1, 0x100, &out, &missing), 0);
    assert_int_equal(out, 0x17); /* 0x100 dropped (not allowed), 0x16 forced */
    assert_int_equal(missing, 0);
    assert_int_equal(vmx_adjust_controls(0x000000ff00000016ull, 0x101, 0, &out, &missing), -1);
    assert_int_equal(missing, 0x100);
}

static void test_bochs_controls(void **s)
{
    (void)s;
    struct vmx_controls c;
    assert_int_equal(vmx_choose_controls(&bochs_tigerlake, &c, err, sizeof(err)), 0);
    assert_true(c.pin & PIN_EXTINT_EXITING);
    assert_true(c.pin & PIN_NMI_EXITING);
    assert_true(c.pin & PIN_VIRTUAL_NMIS);
    assert_true(c.pin & PIN_PREEMPTION_TIMER); /* used for virtual timer deadlines */
    assert_true(c.proc & PROC_HLT_EXITING);
    assert_true(c.proc & PROC_IO_BITMAPS);
    assert_true(c.proc & PROC_MSR_BITMAPS);
    assert_true(c.proc & PROC_SECONDARY);
    /* TRUE_PROCBASED lets CR3 exiting go: the guest owns CR3 under EPT. */
    assert_false(c.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING));
    assert_int_equal(c.proc2, PROC2_EPT | PROC2_UNRESTRICTED | PROC2_VPID | PROC2_RDTSCP);
    assert_true(c.proc & PROC_TSC_OFFSET); /* guest writes to IA32_TSC become an offset */
    assert_true(c.vpid);
    assert_true(c.apicv); /* Bochs offers every APIC virtualization control */
    assert_true(c.exit & EXIT_ACK_INTR);
    assert_true(c.exit & EXIT_HOST_ADDR64);
    assert_true(c.exit & (EXIT_SAVE_EFER | EXIT_LOAD_EFER));
    assert_true(c.entry & ENTRY_LOAD_EFER);
    assert_false(c.entry & ENTRY_IA32E_GUEST);
    /* Every chosen word passes the check used to explain entry failures. */
    assert_int_equal(vmx_check_controls("pin", vmx_cap_pin(&bochs_tigerlake), c.pin, err, sizeof(err)), 0);
    assert_int_equal(vmx_check_controls("proc", vmx_cap_proc(&bochs_tigerlake), c.proc, err, sizeof(err)), 0);
    assert_int_equal(vmx_check_controls("exit", vmx_cap_exit(&bochs_tigerlake), c.exit, err, sizeof(err)), 0);
    assert_int_equal(vmx_check_controls("entry", vmx_cap_entry(&bochs_tigerlake), c.entry, err, sizeof(err)),
                     0);
}

static void test_legacy_msrs_force_cr3_exiting(void **s)
{
    (void)s;
    struct vmx_caps legacy = bochs_tigerlake;
    struct vmx_controls c;
    legacy.basic &= ~VMX_BASIC_TRUE_CTLS;
    assert_int_equal(vmx_choose_controls(&legacy, &c, err, sizeof(err)), 0);
    assert_true(c.proc & PROC_CR3_LOAD_EXITING); /* default1 in IA32_VMX_PROCBASED_CTLS */
    assert_true(c.exit & EXIT_SAVE_DEBUG);
    assert_true(c.entry & ENTRY_LOAD_DEBUG);
}

static void test_real_cpu_controls(void **s)
{
    (void)s;
    struct vmx_controls c;
    assert_int_equal(vmx_choose_controls(&real_cpu, &c, err, sizeof(err)), 0);
    assert_int_equal(c.proc2, PROC2_EPT | PROC2_UNRESTRICTED | PROC2_VPID | PROC2_RDTSCP);
    assert_false(c.apicv); /* no APIC-access virtualization on this CPU */
    assert_true(c.pin & PIN_VIRTUAL_NMIS);
    assert_false(c.pin & PIN_PREEMPTION_TIMER); /* not offered by this CPU: dropped */
    assert_int_equal(c.pin & 0x16, 0x16);       /* reserved must-be-1 bits kept */
}

static void test_no_unrestricted_guest(void **s)
{
    (void)s;
    struct vmx_caps old = real_cpu;
    struct vmx_controls c;
    old.proc2 &= ~((uint64_t)PROC2_UNRESTRICTED << 32);
    assert_int_equal(vmx_choose_controls(&old, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "[unrestricted guest]"));
}

static void test_no_ept(void **s)
{
    (void)s;
    struct vmx_caps old = real_cpu;
    struct vmx_controls c;
    old.proc2 &= ~((uint64_t)(PROC2_EPT | PROC2_UNRESTRICTED) << 32);
    assert_int_equal(vmx_choose_controls(&old, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "[enable EPT]"));
    assert_non_null(strstr(err, "secondary processor-based"));
}

static void test_no_vpid_is_fine(void **s)
{
    (void)s;
    struct vmx_caps c2 = real_cpu;
    struct vmx_controls c;
    c2.proc2 &= ~((uint64_t)PROC2_VPID << 32);
    assert_int_equal(vmx_choose_controls(&c2, &c, err, sizeof(err)), 0);
    assert_false(c.vpid);
}

static void test_missing_ack_on_exit(void **s)
{
    (void)s;
    struct vmx_caps c2 = bochs_tigerlake;
    struct vmx_controls c;
    c2.true_exit &= ~((uint64_t)EXIT_ACK_INTR << 32);
    assert_int_equal(vmx_choose_controls(&c2, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "[acknowledge interrupt on exit]"));
}

static void test_ept_without_wb(void **s)
{
    (void)s;
    struct vmx_caps c2 = bochs_tigerlake;
    struct vmx_controls c;
    c2.ept_vpid &= ~EPT_CAP_WB;
    assert_int_equal(vmx_choose_controls(&c2, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "write-back"));
}

static void test_interrupt_window_required(void **s)
{
    (void)s;
    struct vmx_caps c2 = bochs_tigerlake;
    struct vmx_controls c;
    c2.true_proc &= ~((uint64_t)PROC_INTR_WINDOW << 32);
    assert_int_equal(vmx_choose_controls(&c2, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "[interrupt-window exiting]"));
    assert_false(bochs_tigerlake.true_proc & PROC_INTR_WINDOW); /* not forced on either */
}

static void test_check_controls_names_bits(void **s)
{
    (void)s;
    assert_int_equal(vmx_check_controls("pin-based", 0x000000ff00000016ull, 0x116, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "0x00000100 set but not allowed"));
    assert_int_equal(vmx_check_controls("pin-based", 0x000000ff00000016ull, 0x06, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "0x00000010 clear but required"));
}

static void test_fixed_bits(void **s)
{
    (void)s;
    assert_int_equal(vmx_fix_cr0(&bochs_tigerlake, 0x11, 1), 0x31);          /* NE forced, PG not */
    assert_int_equal(vmx_fix_cr0(&bochs_tigerlake, 0x11, 0), 0x80000031ull); /* PG forced without UG */
    assert_int_equal(vmx_fix_cr4(&bochs_tigerlake, 0x10), 0x2010);           /* VMXE forced */
    assert_int_equal(vmx_fix_cr4(&bochs_tigerlake, 1ull << 23), 0x2000);     /* unsupported bit dropped */
}

/* The exit reasons our controls allow (on Bochs and on the real CPU, with
 * the window exits and APIC virtualization's controls switched on as at
 * run time) are exactly those exit.c has a handler for; the rest name the
 * control that keeps them away. */
static void test_possible_exit_reasons(void **s)
{
    (void)s;
    static const uint8_t handled[] = {
        0,  1,  2,  3,  4,  7,  8,  9,  10, 12, 13, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 30, 31, 32, 44, 45, 48, 49, 50, 52, 53, 54, 55, 56, 59
    };
    const struct vmx_caps *cpus[] = { &bochs_tigerlake, &real_cpu };
    for (unsigned c = 0; c < 2; c++) {
        struct vmx_controls ctl;
        char err[256];
        assert_int_equal(vmx_choose_controls(cpus[c], &ctl, err, sizeof(err)), 0);
        uint32_t proc = ctl.proc | PROC_INTR_WINDOW | PROC_NMI_WINDOW | (ctl.apicv ? PROC_TPR_SHADOW : 0);
        uint32_t proc2 = ctl.proc2 | (ctl.apicv ? PROC2_APICV : 0);
        for (uint32_t r = 0; r < 80; r++) {
            int want = 0;
            for (unsigned i = 0; i < sizeof(handled); i++)
                want |= handled[i] == r;
            const char *why = exit_reason_impossible(r, ctl.pin, proc, proc2);
            if (want != (why == 0))
                fail_msg("cpu %u, exit reason %u (%s): %s", c, r, exit_reason_name(r),
                         why ? why : "possible");
        }
    }
    /* Switching a control on makes its reasons possible. */
    assert_non_null(exit_reason_impossible(16, 0, 0, 0));
    assert_null(exit_reason_impossible(16, 0, PROC_RDTSC_EXITING, 0));
    assert_null(exit_reason_impossible(51, 0, PROC_RDTSC_EXITING, 0));
    assert_null(exit_reason_impossible(40, 0, 0, 1u << 10)); /* PAUSE-loop exiting */
    assert_null(exit_reason_impossible(43, 0, PROC_TPR_SHADOW, 0));
    assert_non_null(exit_reason_impossible(43, 0, PROC_TPR_SHADOW, PROC2_VIRT_INTR_DELIVERY));
    assert_string_equal(exit_reason_impossible(35, 0, ~0u, ~0u), "not an exit reason the SDM defines");
    assert_non_null(exit_reason_impossible(17, 0, ~0u, ~0u)); /* RSM: never */
}

/* The registers whose writes end in an APIC-write exit (SDM Vol. 3
 * §30.4.3.2-3, and §30.5 for x2APIC's SELF IPI with an illegal vector),
 * as Bochs gives them too (an EOI written at 0xB2, found by the guest-side
 * fuzzer when VM_BUG_ON caught the register missing): the
 * APIC-write shadow is built from this, so a register missing here would
 * hand the model a value the guest already wrote. */
static void test_apic_write_exits(void **s)
{
    (void)s;
    static const unsigned trap[] = { 0x020, 0x080, 0x0B0, 0x0D0, 0x0E0, 0x0F0, 0x280, 0x2F0, 0x300, 0x310,
                                     0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3E0, 0x3F0 };
    unsigned n = 0;
    for (unsigned off = 0; off < 0x400; off += 16) {
        int want = 0;
        for (unsigned i = 0; i < sizeof(trap) / sizeof(trap[0]); i++)
            want |= trap[i] == off;
        assert_int_equal(apic_write_exits(off), want);
        n += (unsigned)want;
    }
    assert_int_equal(n, 19); /* TPR and EOI for writes to their other bytes (0x82, 0xB2, ...) */
    assert_int_equal(apic_write_exits(0x090), 0); /* APR: read-only, an APIC-access exit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adjust_forces_and_filters),
        cmocka_unit_test(test_bochs_controls),
        cmocka_unit_test(test_legacy_msrs_force_cr3_exiting),
        cmocka_unit_test(test_real_cpu_controls),
        cmocka_unit_test(test_no_unrestricted_guest),
        cmocka_unit_test(test_no_ept),
        cmocka_unit_test(test_no_vpid_is_fine),
        cmocka_unit_test(test_missing_ack_on_exit),
        cmocka_unit_test(test_ept_without_wb),
        cmocka_unit_test(test_interrupt_window_required),
        cmocka_unit_test(test_check_controls_names_bits),
        cmocka_unit_test(test_fixed_bits),
        cmocka_unit_test(test_possible_exit_reasons),
        cmocka_unit_test(test_apic_write_exits),
    };
    return cmocka_run_group_tests_name("vmx_caps", tests, NULL, NULL);
}
