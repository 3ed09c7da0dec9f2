/* Group "mmiostop": an expected stop. An instruction the MMIO decoder does
 * not handle (ADD to memory) on the IOAPIC page must stop the VM with the
 * reason in words; the harness checks the hypervisor's log. */
#include "testos.h"

static int t_unsupported_mmio(char *why)
{
    kprintf("# adding to the IOAPIC's IOREGSEL with an ADD instruction\n");
    __asm__ volatile("addl $1, (%0)" ::"r"(IOAPIC_BASE) : "memory");
    FAILF("the ADD to MMIO was not stopped");
}

static const struct test_case cases[] = {
    { "unsupported instruction on MMIO stops the VM", t_unsupported_mmio },
};

const struct test_group group_mmiostop = { "mmiostop", cases, 1 };
