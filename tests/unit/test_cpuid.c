/* Unit tests: what CPUID tells the guest (vmx/cpuid.c) and the MSRs that
 * come with each advertised feature (vmx/vmsr.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmx/cpuid.h"
#include "../../vmx/vmsr.h"

static struct cpuid_vm vm_facts(void)
{
    struct cpuid_vm v;
    memset(&v, 0, sizeof(v));
    v.tsc_hz = 2000000000ull;
    v.lapic_timer_hz = 2000000000ull;
    v.apic_enabled = 1;
    v.rdtscp = 1;
    v.version = 0x100;
    cpuid_vm_init(&v);
    return v;
}

static struct cpuid_out all_ones(void) { return (struct cpuid_out){ ~0u, ~0u, ~0u, ~0u }; }

/* The table walk: every MSR of every advertised feature is emulated. */
static void test_every_feature_msr_is_emulated(void **s)
{
    (void)s;
    for (size_t i = 0; i < cpuid_nfeatures; i++)
        for (int m = 0; m < 4 && cpuid_features[i].msrs[m]; m++)
            if (!vmsr_claimed(cpuid_features[i].msrs[m]))
                fail_msg("feature %s advertises MSR 0x%x, which nothing emulates", cpuid_features[i].name,
                         cpuid_features[i].msrs[m]);
}

/* A host with every bit set: the guest sees only the table's bits. */
static void test_only_table_bits_survive(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    const uint32_t leaves[] = { 1, 7, 0x80000001u };
    for (unsigned l = 0; l < 3; l++) {
        struct cpuid_out r = all_ones();
        cpuid_guest(&v, leaves[l], 0, &r);
        uint32_t regs[4] = { r.eax, r.ebx, r.ecx, r.edx };
        for (int reg = CPUID_EBX; reg <= CPUID_EDX; reg++) {
            if (leaves[l] == 1 && reg == CPUID_EBX)
                continue; /* not feature bits */
            for (int bit = 0; bit < 32; bit++) {
                if (!(regs[reg] >> bit & 1))
                    continue;
                int found = 0;
                for (size_t i = 0; i < cpuid_nfeatures; i++)
                    found |= cpuid_features[i].leaf == leaves[l] && (int)cpuid_features[i].reg == reg &&
                             cpuid_features[i].bit == bit;
                if (!found)
                    fail_msg("leaf 0x%x reg %d bit %d reaches the guest but is not in the table", leaves[l],
                             reg, bit);
            }
        }
    }
}

static void test_leaf1_hidden_bits(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    struct cpuid_out r = all_ones();
    cpuid_guest(&v, 1, 0, &r);
    assert_false(r.ecx & (1u << 15)); /* PDCM: no IA32_PERF_CAPABILITIES */
    assert_false(r.ecx & (1u << 5));  /* VMX */
    assert_false(r.ecx & (1u << 3));  /* MONITOR */
    assert_false(r.edx & (1u << 14)); /* MCA: no banks */
    assert_false(r.edx & (1u << 28)); /* HTT: one logical processor */
    assert_true(r.ecx & (1u << 21));  /* x2APIC */
    assert_true(r.ecx & (1u << 24));  /* TSC-deadline */
    assert_true(r.ecx & (1u << 31));  /* hypervisor */
    assert_true(r.edx & (1u << 9));   /* APIC, enabled */
    assert_int_equal(r.ebx >> 24, 0); /* APIC ID 0 */
    assert_false(r.ecx & (1u << 27)); /* OSXSAVE follows CR4 */
    v.osxsave = 1;
    v.apic_enabled = 0;
    r = all_ones();
    cpuid_guest(&v, 1, 0, &r);
    assert_true(r.ecx & (1u << 27));
    assert_false(r.edx & (1u << 9));
}

static void test_host_bits_never_added(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    struct cpuid_out r = { 0, 0, 0, 0 };
    cpuid_guest(&v, 7, 0, &r);
    assert_int_equal(r.ebx, 0);
    r = (struct cpuid_out){ 0, 0, 0, 0 };
    cpuid_guest(&v, 0x80000001u, 0, &r);
    assert_int_equal(r.edx, 0); /* RDTSCP only if the host has it too */
}

static void test_rdtscp_follows_control(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    struct cpuid_out r = all_ones();
    cpuid_guest(&v, 0x80000001u, 0, &r);
    assert_true(r.edx & (1u << 27));
    v.rdtscp = 0;
    r = all_ones();
    cpuid_guest(&v, 0x80000001u, 0, &r);
    assert_false(r.edx & (1u << 27));
    r = all_ones();
    cpuid_guest(&v, 7, 0, &r);
    assert_false(r.ecx & (1u << 22)); /* RDPID */
    assert_false(r.ebx & (1u << 10)); /* INVPCID: no enable control */
}

static void test_zeroed_leaves(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    const uint32_t leaves[] = { 0x6, 0xa, 0x14, 0x12 };
    for (unsigned i = 0; i < 4; i++) {
        struct cpuid_out r = all_ones();
        cpuid_guest(&v, leaves[i], 0, &r);
        assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
    }
    struct cpuid_out r = all_ones();
    cpuid_guest(&v, 0xd, 1, &r);
    assert_false(r.eax & (1u << 3)); /* XSAVES */
}

static void test_hypervisor_leaves(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    struct cpuid_out r = all_ones();
    cpuid_guest(&v, 0x40000000u, 0, &r);
    assert_int_equal(r.eax, TINYHV_CPUID_MAX_LEAF);
    char sig[13] = { 0 };
    memcpy(sig, &r.ebx, 4);
    memcpy(sig + 4, &r.ecx, 4);
    memcpy(sig + 8, &r.edx, 4);
    assert_string_equal(sig, "TinyHVTinyHV");
    r = all_ones();
    cpuid_guest(&v, 0x40000001u, 0, &r);
    assert_int_equal(r.eax, 0x100);
    r = all_ones();
    cpuid_guest(&v, 0x15, 0, &r);
    assert_int_equal(r.ecx, 2000000000u);
    r = all_ones();
    cpuid_guest(&v, 0x40000010u, 0, &r);
    assert_int_equal(r.eax, 2000000);
}

static void test_hide_list(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    char err[128];
    assert_int_equal(cpuid_hide_list(&v, "x2apic, tsc-deadline smep", err, sizeof(err)), 0);
    struct cpuid_out r = all_ones();
    cpuid_guest(&v, 1, 0, &r);
    assert_false(r.ecx & (1u << 21));
    assert_false(r.ecx & (1u << 24));
    r = all_ones();
    cpuid_guest(&v, 7, 0, &r);
    assert_false(r.ebx & (1u << 7));
    assert_int_equal(cpuid_hide_list(&v, "x2apic bogus", err, sizeof(err)), -1);
    if (!strstr(err, "'bogus'"))
        fail_msg("error '%s'", err);
    assert_int_equal(cpuid_hide_list(&v, "rdtscp nx", err, sizeof(err)), 0); /* leaf 0x80000001 */
    struct cpuid_out x = all_ones();
    cpuid_guest(&v, 0x80000001u, 0, &x);
    assert_false(x.edx & (1u << 27));
    assert_false(x.edx & (1u << 20));
    assert_true(x.edx & (1u << 29));
    assert_int_equal(cpuid_hide_list(&v, "vmx", err, sizeof(err)), -1); /* not in the table */
}

static void test_efer_follows_cpuid(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    struct cpuid_out x = all_ones();
    cpuid_guest(&v, 0x80000001u, 0, &x);
    assert_int_equal(cpuid_efer_allowed(&x), 1u << 0 | 1u << 8 | 1u << 10 | 1u << 11);
    char err[64];
    assert_int_equal(cpuid_hide_list(&v, "nx syscall", err, sizeof(err)), 0);
    x = all_ones();
    cpuid_guest(&v, 0x80000001u, 0, &x);
    assert_int_equal(cpuid_efer_allowed(&x), 1u << 8 | 1u << 10); /* LME, LMA */
    assert_int_equal(cpuid_hide_list(&v, "lm", err, sizeof(err)), 0);
    x = all_ones();
    cpuid_guest(&v, 0x80000001u, 0, &x);
    assert_int_equal(cpuid_efer_allowed(&x), 0);
}

static void test_cr4_follows_cpuid(void **s)
{
    (void)s;
    struct cpuid_vm v = vm_facts();
    struct cpuid_out l1 = all_ones(), l7 = all_ones();
    cpuid_guest(&v, 1, 0, &l1);
    cpuid_guest(&v, 7, 0, &l7);
    uint64_t ok = cpuid_cr4_allowed(&l1, &l7);
    assert_true(ok & (1u << 5));   /* PAE */
    assert_true(ok & (1u << 18));  /* OSXSAVE: XSAVE is shown */
    assert_true(ok & (1u << 20));  /* SMEP */
    assert_false(ok & (1u << 6));  /* MCE: hidden */
    assert_false(ok & (1u << 13)); /* VMXE */
    assert_false(ok & (1u << 14)); /* SMXE */
    assert_false(ok & (1u << 22)); /* PKE: PKU hidden */
    assert_false(ok & (1u << 23)); /* CET */
    assert_false(ok >> 32);
    struct cpuid_out none = { 0, 0, 0, 0 };
    assert_int_equal(cpuid_cr4_allowed(&none, &none), 0x7bf);
    char err[64];
    assert_int_equal(cpuid_hide_list(&v, "smep xsave", err, sizeof(err)), 0);
    l1 = all_ones();
    l7 = all_ones();
    cpuid_guest(&v, 1, 0, &l1);
    cpuid_guest(&v, 7, 0, &l7);
    ok = cpuid_cr4_allowed(&l1, &l7);
    assert_false(ok & (1u << 20));
    assert_false(ok & (1u << 18));
}

/* ---- vmsr ---- */

static void test_mtrr(void **s)
{
    (void)s;
    struct vmsr m;
    uint64_t v;
    vmsr_init(&m, 39);
    assert_int_equal(vmsr_read(&m, 0xFE, &v), VMSR_OK);
    assert_int_equal(v & 0xff, VMSR_MTRR_VARIABLE);
    assert_true(v & (1u << 8));
    assert_int_equal(vmsr_write(&m, 0xFE, 0), VMSR_GP);       /* read-only */
    assert_int_equal(vmsr_write(&m, 0x2FF, 0xc06), VMSR_OK);  /* enabled, WB default */
    assert_int_equal(vmsr_write(&m, 0x2FF, 0xc02), VMSR_GP);  /* type 2 is reserved */
    assert_int_equal(vmsr_write(&m, 0x2FF, 0x1006), VMSR_GP); /* reserved bit */
    assert_int_equal(vmsr_write(&m, 0x250, 0x0606060606060606ull), VMSR_OK);
    assert_int_equal(vmsr_write(&m, 0x26F, 0x0706060606060606ull), VMSR_GP);
    assert_int_equal(vmsr_write(&m, 0x200, 0x80000006ull), VMSR_OK);
    assert_int_equal(vmsr_write(&m, 0x201, ((~0ull << 31) & ((1ull << 39) - 1)) | 0x800), VMSR_OK);
    assert_int_equal(vmsr_write(&m, 0x201, 1ull << 39), VMSR_GP); /* above MAXPHYADDR */
    assert_int_equal(vmsr_read(&m, 0x200, &v), VMSR_OK);
    assert_int_equal(v, 0x80000006ull);
    assert_int_equal(vmsr_read(&m, 0x200 + 2 * VMSR_MTRR_VARIABLE, &v), VMSR_NOT_MINE);
}

static void test_misc_enable_and_mcg(void **s)
{
    (void)s;
    struct vmsr m;
    uint64_t v;
    vmsr_init(&m, 39);
    assert_int_equal(vmsr_read(&m, 0x1A0, &v), VMSR_OK);
    assert_int_equal(v & 0x1800, 0x1800); /* BTS, PEBS unavailable */
    assert_int_equal(vmsr_write(&m, 0x1A0, 0x400c50809ull), VMSR_OK);
    assert_int_equal(vmsr_read(&m, 0x1A0, &v), VMSR_OK);
    assert_int_equal(v, 0x400c51809ull); /* bit 12 stays */
    assert_int_equal(vmsr_write(&m, 0x1A0, 1ull << 40), VMSR_GP);
    assert_int_equal(vmsr_read(&m, 0x179, &v), VMSR_OK);
    assert_int_equal(v, 0); /* no banks */
    assert_int_equal(vmsr_write(&m, 0x17A, 8), VMSR_GP);
    assert_int_equal(vmsr_read(&m, 0x400, &v), VMSR_NOT_MINE); /* MC0_CTL: no bank 0 */
}

static void test_pat(void **s)
{
    (void)s;
    struct vmsr m;
    uint64_t v;
    vmsr_init(&m, 39);
    assert_int_equal(vmsr_read(&m, 0x277, &v), VMSR_OK);
    assert_int_equal(v, 0x0007040600070406ull);
    assert_int_equal(vmsr_write(&m, 0x277, 0x07070707), VMSR_OK);
    assert_int_equal(vmsr_write(&m, 0x277, 0x02), VMSR_GP);
    assert_int_equal(vmsr_write(&m, 0x277, 0x08), VMSR_GP);
}

/* CPUID_HOST_LEAVES: cpuid_guest leaves each of them as the host gave
 * it, whatever the subleaf, the input and the VM's facts; and every other
 * basic leaf is one it changes for some input (the mask is not narrower
 * than it need be). */
static void test_host_leaves_mask(void **s)
{
    (void)s;
    static const struct cpuid_out inputs[] = { { ~0u, ~0u, ~0u, ~0u },
                                               { 0, 0, 0, 0 },
                                               { 0x12345678, 0x9abcdef0, 0x0f1e2d3c, 0x4b5a6978 } };
    for (uint32_t leaf = 0; leaf < 32; leaf++) {
        int changed = 0;
        for (int facts = 0; facts < 2; facts++) {
            struct cpuid_vm v = vm_facts();
            v.apic_enabled = v.osxsave = v.rdtscp = facts;
            for (uint32_t sub = 0; sub < 4; sub++)
                for (unsigned i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
                    struct cpuid_out r = inputs[i];
                    cpuid_guest(&v, leaf, sub, &r);
                    changed |= memcmp(&r, &inputs[i], sizeof(r)) != 0;
                }
        }
        if (cpuid_leaf_is_host(leaf) == changed)
            fail_msg("leaf 0x%x: cpuid_guest %s it but CPUID_HOST_LEAVES %s it", leaf,
                     changed ? "changes" : "leaves", changed ? "includes" : "leaves out");
    }
    assert_false(cpuid_leaf_is_host(32));
    assert_false(cpuid_leaf_is_host(0x40000000u));
    assert_false(cpuid_leaf_is_host(0x80000001u));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_feature_msr_is_emulated),
        cmocka_unit_test(test_only_table_bits_survive),
        cmocka_unit_test(test_leaf1_hidden_bits),
        cmocka_unit_test(test_host_bits_never_added),
        cmocka_unit_test(test_rdtscp_follows_control),
        cmocka_unit_test(test_zeroed_leaves),
        cmocka_unit_test(test_hypervisor_leaves),
        cmocka_unit_test(test_hide_list),
        cmocka_unit_test(test_efer_follows_cpuid),
        cmocka_unit_test(test_cr4_follows_cpuid),
        cmocka_unit_test(test_mtrr),
        cmocka_unit_test(test_misc_enable_and_mcg),
        cmocka_unit_test(test_pat),
        cmocka_unit_test(test_host_leaves_mask),
    };
    return cmocka_run_group_tests_name("cpuid", tests, NULL, NULL);
}
