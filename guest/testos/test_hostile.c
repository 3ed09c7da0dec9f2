/* Group "hostile": a guest doing what no well-behaved guest does, as often
 * as it likes. Each case names itself with a prefix ("port_scan: ...") so
 * that a run can pick it with "only=port_scan" on the command line. The
 * harness (hostile.t) checks the hypervisor's side: rate-limited log lines,
 * their counts in the exit statistics, the run's wall time. */
#include "testos.h"

#define MSR_SCAN_BASE 0x10000000u /* no MSR lives here */
#define MSR_SCAN_COUNT 10000u

/* IN of every port in every width: unclaimed ports read all ones, and the
 * hypervisor still answers afterwards. Reads only: a write scan would end
 * the run at the debug-exit port. */
static int t_port_scan(char *why)
{
    uint32_t ones = 0;
    for (uint32_t p = 0; p < 0x10000; p++) {
        ones += inb((uint16_t)p) == 0xff;
        ones += inw((uint16_t)p) == 0xffff;
        ones += inl((uint16_t)p) == 0xffffffffu;
    }
    kprintf("# port scan: %u of %u reads returned all ones\n", ones, 3u * 0x10000);
    CHECK(inb(0x80) == 0xff, "unclaimed port 0x80 does not read all ones");
    CHECK(ones > 3u * 0xff00, "only %u reads returned all ones", ones);
    CHECK(hypercall(HC_VERSION, 0) == 0x000100u, "the hypervisor stopped answering hypercalls");
    return 0;
}

/* RDMSR and WRMSR of 10,000 MSRs that do not exist: each is #GP. */
static int t_msr_scan(char *why)
{
    uint64_t v;
    for (uint32_t i = 0; i < MSR_SCAN_COUNT; i++) {
        CHECK(safe_rdmsr(MSR_SCAN_BASE + i, &v) == -1 && last_trap.vector == 13,
              "RDMSR 0x%x did not #GP", MSR_SCAN_BASE + i);
        CHECK(safe_wrmsr(MSR_SCAN_BASE + i, i) == -1 && last_trap.vector == 13,
              "WRMSR 0x%x did not #GP", MSR_SCAN_BASE + i);
    }
    CHECK(hypercall(HC_VERSION, 0) == 0x000100u, "the hypervisor stopped answering hypercalls");
    return 0;
}

/* Without "test_hooks = on" the test hypercalls are unknown hypercalls,
 * while an ordinary one (the version) still answers. */
static int t_test_hooks_off(char *why)
{
    CHECK(hypercall(HC_VERSION, 0) == 0x000100u, "the version hypercall does not answer");
    uint32_t r = hypercall(HC_TEST_UNMAP, 0x400000);
    CHECK(r == HC_UNKNOWN_RESULT, "HC_TEST_UNMAP returned 0x%x, expected 0x%x (unknown)", r,
          HC_UNKNOWN_RESULT);
    static const uint32_t others[] = { HC_TEST_REINJECTED, HC_STATS_RESET, HC_STATS_PRINT };
    for (unsigned i = 0; i < 3; i++) {
        r = hypercall(others[i], 0);
        CHECK(r == HC_UNKNOWN_RESULT, "test hypercall %u returned 0x%x, expected unknown", others[i], r);
    }
    return 0;
}

static const struct test_case cases[] = {
    { "port_scan: IN of all 65,536 ports in three widths", t_port_scan },
    { "msr_scan: RDMSR and WRMSR of 10,000 unknown MSRs #GP", t_msr_scan },
    { "test_hooks: the test hypercalls are unknown without test_hooks = on", t_test_hooks_off },
};

const struct test_group group_hostile = { "hostile", cases, sizeof(cases) / sizeof(cases[0]) };
