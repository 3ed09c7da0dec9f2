/* testos main: read the Multiboot information, run the test groups named on
 * the command line, print TAP, and report the result on the debug-exit port
 * (0 = every test passed, 1 = some failed, 2 = bad command line). */
#include "testos.h"

struct boot boot;

static const struct test_group *const groups[] = {
    &group_base,       &group_eptstop, &group_pic,    &group_pit,        &group_ioapic,
    &group_inject,     &group_trace,   &group_chaos,  &group_serial_irq, &group_mmiostop,
    &group_lapic,      &group_timer,   &group_x2apic, &group_level,      &group_bench,
    &group_paging,     &group_hostile, &group_tour,   &group_fuzz,       &group_pcdev,
    &group_pcdev_stop, &group_hpet,    &group_virtio, &group_vbench,     &group_vbench_copy
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static __attribute__((noreturn)) void finish(uint8_t status)
{
    outb(DEBUG_EXIT_PORT, status);
    if (!hv_present()) {
        /* Bare run: nobody traps the debug-exit port. Say the result and
         * end the emulator the way the hypervisor does. */
        kprintf("# bare run ended, status %u\n", status);
        for (int i = 0; i < 1000000 && !(inb(0x3FD) & 0x40); i++)
            ;
        for (const char *p = "Shutdown"; *p; p++)
            outb(0x8900, (uint8_t)*p);
    }
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* "only=a,b": run only the cases whose names start with "a:" or "b:". */
static const char *only;

static int selected(const struct test_case *t)
{
    if (!only)
        return 1;
    for (const char *w = only; *w && *w != ' ';) {
        size_t n = 0;
        while (w[n] && w[n] != ',' && w[n] != ' ')
            n++;
        if (n && !strncmp(t->name, w, n) && t->name[n] == ':')
            return 1;
        w += n;
        if (*w == ',')
            w++;
    }
    return 0;
}

static uint32_t parse_uint(const char *s)
{
    uint32_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint32_t)(*s++ - '0');
    return v;
}

/* "key=N" words: decimal numbers into struct boot. */
static const struct {
    const char *key;
    uint32_t *val;
} number_options[] = {
    { "ram_mb=", &boot.ram_mb_expected }, { "seed=", &boot.fuzz_seed },
    { "bursts=", &boot.fuzz_bursts },     { "seconds=", &boot.fuzz_seconds },
    { "ops=", &boot.fuzz_ops },           { "verbose=", &boot.fuzz_verbose },
    { "from=", &boot.fuzz_from },         { "sectors=", &boot.disk_sectors },
    { "disk_rw=", &boot.disk_rw },
};
#define NOPTIONS (sizeof(number_options) / sizeof(number_options[0]))

static int number_option(const char *w, size_t n)
{
    for (unsigned i = 0; i < NOPTIONS; i++) {
        size_t k = strlen(number_options[i].key);
        if (n > k && !strncmp(w, number_options[i].key, k)) {
            *number_options[i].val = parse_uint(w + k);
            return 1;
        }
    }
    return 0;
}

void kmain(uint32_t magic, const struct mb_info *mbi);
void kmain(uint32_t magic, const struct mb_info *mbi)
{
    const struct test_group *run[NGROUPS];
    unsigned nrun = 0, total = 0;

    serial_init();
    boot.magic = magic;
    boot.mbi = mbi;
    boot.cmdline = (mbi && (mbi->flags & (1u << 2))) ? (const char *)mbi->cmdline : "";
    kprintf("# testos: command line '%s'\n", boot.cmdline);
    /* With the hypervisor's trace recording (trace = on), every handler
     * marks its entry and EOI in it (testos.h, trace_mark). */
    if (trace_marks_on())
        kprintf("# testos: the interrupt trace records: handlers mark their entry and EOI\n");

    /* Words of the command line: group names, and key=value options. */
    for (const char *p = boot.cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        size_t n = (size_t)(p - w);
        if (!n)
            continue;
        if (number_option(w, n))
            continue;
        if (n > 5 && !strncmp(w, "only=", 5)) {
            only = w + 5;
            continue;
        }
        unsigned g;
        for (g = 0; g < NGROUPS; g++)
            if (strlen(groups[g]->name) == n && !strncmp(groups[g]->name, w, n))
                break;
        if (g == NGROUPS) {
            char name[32];
            ksnprintf(name, n + 1 < sizeof(name) ? n + 1 : sizeof(name), "%s", w);
            kprintf("Bail out! unknown test group '%s'\n", name);
            finish(2);
        }
        if (nrun < NGROUPS)
            run[nrun++] = groups[g];
    }
    if (!nrun) {
        kprintf("Bail out! no test group on the command line\n");
        finish(2);
    }

    for (unsigned g = 0; g < nrun; g++)
        for (unsigned i = 0; i < run[g]->count; i++)
            total += (unsigned)selected(&run[g]->cases[i]);
    kprintf("1..%u\n", total);

    unsigned n = 0, failed = 0;
    for (unsigned g = 0; g < nrun; g++) {
        for (unsigned i = 0; i < run[g]->count; i++) {
            char why[WHY_MAX];
            why[0] = 0;
            const struct test_case *t = &run[g]->cases[i];
            if (!selected(t))
                continue;
            uint32_t storms = irq_storms;
            int bad = t->fn(why);
            if (irq_storms != storms) {
                char own[WHY_MAX];
                memcpy(own, why, WHY_MAX);
                ksnprintf(why, WHY_MAX, "interrupt storm (vector 0x%x), all sources masked; %s",
                          irq_storm_vector, bad ? own : "the test's own checks passed");
                bad = 1;
            }
            n++;
            if (bad) {
                failed++;
                kprintf("not ok %u - %s: %s # %s\n", n, run[g]->name, t->name, why);
            } else {
                kprintf("ok %u - %s: %s\n", n, run[g]->name, t->name);
            }
        }
    }
    kprintf("# %u passed, %u failed\n", n - failed, failed);
    finish(failed ? 1 : 0);
}
