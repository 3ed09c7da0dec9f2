/* Group "eptstop": an expected stop. Reading guest-physical memory past the
 * end of RAM must make the hypervisor stop the VM cleanly (EPT violation);
 * the harness checks the hypervisor's log. Reaching the "not ok" means the
 * access went through. */
#include "testos.h"

static int t_read_beyond_ram(char *why)
{
    uint32_t addr = (boot.ram_mb_expected << 20) + 0x1000;
    CHECK(boot.ram_mb_expected != 0, "no ram_mb= on the command line");
    kprintf("# reading guest-physical 0x%x, beyond guest RAM\n", addr);
    uint32_t v = *(volatile uint32_t *)addr;
    FAILF("the read returned 0x%x instead of stopping the VM", v);
}

static const struct test_case cases[] = {
    { "read beyond guest RAM stops the VM", t_read_beyond_ram },
};

const struct test_group group_eptstop = { "eptstop", cases, 1 };
