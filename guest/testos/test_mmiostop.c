/* Group "mmiostop": an expected stop. An instruction the MMIO decoder does
 * not handle (INC of memory, FF /0) on the IOAPIC page must stop the VM
 * with the reason in words and the instruction's bytes; the harness checks
 * the hypervisor's log. */
#include "testos.h"

static int t_unsupported_mmio(char *why)
{
    kprintf("# incrementing the IOAPIC's IOREGSEL with an INC instruction\n");
    __asm__ volatile("incl (%0)" ::"a"(IOAPIC_BASE) : "memory"); /* ff 00 */
    FAILF("the INC of MMIO was not stopped");
}

static const struct test_case cases[] = {
    { "unsupported instruction on MMIO stops the VM", t_unsupported_mmio },
};

const struct test_group group_mmiostop = { "mmiostop", cases, 1 };
