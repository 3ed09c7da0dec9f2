/* Config file parser. Format, one setting per line:
 *
 *   # comment
 *   guest     = testos.elf  (the guest image: a Multiboot v1 ELF kernel or a Linux
 *                            bzImage, told apart by their headers)
 *   kernel    = bzImage     (the same key by Linux's name; give one of the two)
 *   initrd    = initrd.img  (a Linux kernel's initial ramdisk; bzImage guests only)
 *   cmdline   = base
 *   ram_mb    = 32
 *   log_level = info        (error | warn | info | debug | trace)
 *   trace     = off         (on: the interrupt trace into a binary ring, dumped at the end;
 *                            text: one log line per step; off; DESIGN §6)
 *   hv_selftest = exception (test hook: the hypervisor executes UD2 after it
 *                            took the machine, to show its exception dump)
 *   bare      = off         (on: no VMX at all: the guest runs on the machine
 *                            itself, at its own physical addresses; a baseline
 *                            for `make bench`)
 *   apicv     = auto        (auto: APIC virtualization where the CPU offers it |
 *                            off: every APIC access traps, the software path)
 *   host_timer = auto       (auto: VMX-preemption timer where offered, else
 *                            the LAPIC timer | lapic: always the LAPIC timer)
 *   cpuid_hide = x2apic     (CPUID features of leaves 1, 7 and 0x80000001 the guest must not
 *                            see, by Linux's names, like QEMU's -cpu ...,-x2apic)
 *   test_hooks = off        (on: the test hypercalls HC_TEST_UNMAP,
 *                            HC_TEST_REINJECTED, HC_STATS_RESET and
 *                            HC_STATS_PRINT answer; off: they are unknown)
 *   disk      = disk.img    (a virtio-blk disk on the guest's PCI bus, read from the ESP;
 *                            read-only, or `disk = disk.img volatile`: writable, the
 *                            writes kept in memory and lost at power-off)
 *   module    = env.txt A=1 (a Multiboot module: the file, loaded after the
 *                            kernel, and its string "env.txt A=1"; repeatable,
 *                            up to CONFIG_MODULES_MAX, kept in order)
 *
 * Blank lines and lines starting with '#' are ignored; spaces around keys and
 * values are trimmed. Every error names the line. */
#include "config.h"

#include <string.h>

#include "../arch/x86/fmt.h"

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
        return level_names[level];
    return "?";
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static int parse_u32(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > 0xffffffffu)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int key_is(const char *k, size_t kn, const char *name)
{
    return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

/* "on" -> 1, "off" -> 0; anything else -1. */
static int on_off(const char *v, size_t vn)
{
    return key_is(v, vn, "on") ? 1 : key_is(v, vn, "off") ? 0 : -1;
}

static int copy_value(char *dst, size_t cap, const char *v, size_t vn)
{
    if (vn >= cap)
        return -1;
    memcpy(dst, v, vn);
    dst[vn] = 0;
    return 0;
}

/* Each key, as a bit of the keys seen so far (a key may be given once). */
enum {
    SEEN_GUEST = 1,
    SEEN_CMDLINE = 2,
    SEEN_RAM = 4,
    SEEN_LEVEL = 8,
    SEEN_TRACE = 16,
    SEEN_TIMER = 32,
    SEEN_APICV = 64,
    SEEN_BARE = 128,
    SEEN_SELFTEST = 256,
    SEEN_CPUID_HIDE = 512,
    SEEN_TEST_HOOKS = 1024,
    SEEN_INITRD = 2048,
    SEEN_DISK = 4096
};

/* The on/off keys: is the key one of them? Then its bit and its flag. */
static int on_off_key(const char *k, size_t kn, struct hv_config *cfg, unsigned *bit, int **flag)
{
    const struct {
        const char *key;
        unsigned bit;
        int *flag;
    } keys[] = {
        { "bare", SEEN_BARE, &cfg->bare },
        { "test_hooks", SEEN_TEST_HOOKS, &cfg->test_hooks },
    };
    for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (key_is(k, kn, keys[i].key)) {
            *bit = keys[i].bit;
            *flag = keys[i].flag;
            return 1;
        }
    return 0;
}

int config_parse(const char *text, size_t len, struct hv_config *cfg, char *err, size_t errlen)
{
    unsigned seen = 0;
    unsigned lineno = 0;
    int guest_by_kernel = 0; /* the guest image was named by `kernel =` */
    int *flag;
    size_t pos = 0;

    memset(cfg, 0, sizeof(*cfg));
    cfg->ram_mb = CONFIG_RAM_MB_DEFAULT;
    cfg->log_level = LOG_INFO;
    if (errlen)
        err[0] = 0;

#define FAIL(...)                               \
    do {                                        \
        fmt_snprintf(err, errlen, __VA_ARGS__); \
        return -1;                              \
    } while (0)

    while (pos < len) {
        size_t start = pos, end;
        while (pos < len && text[pos] != '\n')
            pos++;
        end = pos;
        if (pos < len)
            pos++; /* the newline */
        lineno++;

        for (size_t i = start; i < end; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c == 0 || c >= 0x80 || (c < 0x20 && c != '\t' && c != '\r'))
                FAIL("line %u: not a text line (byte 0x%02x)", lineno, c);
        }
        while (start < end && is_space(text[start]))
            start++;
        while (end > start && is_space(text[end - 1]))
            end--;
        if (start == end || text[start] == '#')
            continue;

        const char *line = text + start;
        size_t n = end - start;
        const char *eq = memchr(line, '=', n);
        if (!eq)
            FAIL("line %u: expected 'key = value'", lineno);
        size_t kn = (size_t)(eq - line);
        while (kn > 0 && is_space(line[kn - 1]))
            kn--;
        const char *v = eq + 1;
        size_t vn = n - (size_t)(v - line);
        while (vn > 0 && is_space(*v)) {
            v++;
            vn--;
        }
        if (kn == 0)
            FAIL("line %u: missing key before '='", lineno);

        unsigned bit;
        if (key_is(line, kn, "guest") || key_is(line, kn, "kernel")) {
            bit = SEEN_GUEST;
            int is_kernel = key_is(line, kn, "kernel");
            if ((seen & bit) && is_kernel != guest_by_kernel)
                FAIL("line %u: '%.*s': the guest image is already named ('guest' and 'kernel' "
                     "are one setting)",
                     lineno, (int)kn, line);
            if (vn == 0)
                FAIL("line %u: %.*s: empty path", lineno, (int)kn, line);
            if (copy_value(cfg->guest, sizeof(cfg->guest), v, vn))
                FAIL("line %u: %.*s: path longer than %u characters", lineno, (int)kn, line,
                     (unsigned)sizeof(cfg->guest) - 1);
            guest_by_kernel = is_kernel;
        } else if (key_is(line, kn, "initrd")) {
            bit = SEEN_INITRD;
            if (vn == 0)
                FAIL("line %u: initrd: empty path", lineno);
            if (copy_value(cfg->initrd, sizeof(cfg->initrd), v, vn))
                FAIL("line %u: initrd: path longer than %u characters", lineno,
                     (unsigned)sizeof(cfg->initrd) - 1);
        } else if (key_is(line, kn, "cmdline")) {
            bit = SEEN_CMDLINE;
            if (copy_value(cfg->cmdline, sizeof(cfg->cmdline), v, vn))
                FAIL("line %u: cmdline: longer than %u characters", lineno,
                     (unsigned)sizeof(cfg->cmdline) - 1);
        } else if (key_is(line, kn, "ram_mb")) {
            bit = SEEN_RAM;
            uint32_t mb;
            if (parse_u32(v, vn, &mb))
                FAIL("line %u: ram_mb: '%.*s' is not a number", lineno, (int)vn, v);
            if (mb < CONFIG_RAM_MB_MIN || mb > CONFIG_RAM_MB_MAX)
                FAIL("line %u: ram_mb: %u is outside %u..%u", lineno, mb, CONFIG_RAM_MB_MIN,
                     CONFIG_RAM_MB_MAX);
            if (mb % 2)
                FAIL("line %u: ram_mb: %u is not a multiple of 2 (EPT maps 2 MiB pages)", lineno, mb);
            cfg->ram_mb = mb;
        } else if (key_is(line, kn, "log_level")) {
            bit = SEEN_LEVEL;
            unsigned i, found = 0;
            for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
                if (key_is(v, vn, level_names[i])) {
                    cfg->log_level = (enum log_level)i;
                    found = 1;
                }
            if (!found)
                FAIL("line %u: log_level: '%.*s' is not one of error, warn, info, debug, trace", lineno,
                     (int)vn, v);
        } else if (key_is(line, kn, "trace")) {
            bit = SEEN_TRACE;
            if (key_is(v, vn, "text"))
                cfg->trace = TRACE_TEXT;
            else if ((cfg->trace = on_off(v, vn)) < 0)
                FAIL("line %u: trace: '%.*s' is not on, off or text", lineno, (int)vn, v);
        } else if (on_off_key(line, kn, cfg, &bit, &flag)) {
            int on = on_off(v, vn);
            if (on < 0)
                FAIL("line %u: %.*s: '%.*s' is not on or off", lineno, (int)kn, line, (int)vn, v);
            *flag = on;
        } else if (key_is(line, kn, "hv_selftest")) {
            bit = SEEN_SELFTEST;
            if (key_is(v, vn, "exception"))
                cfg->selftest = SELFTEST_EXCEPTION;
            else if (key_is(v, vn, "vm_bug"))
                cfg->selftest = SELFTEST_VM_BUG;
            else
                FAIL("line %u: hv_selftest: '%.*s' is not exception or vm_bug", lineno, (int)vn, v);
        } else if (key_is(line, kn, "apicv")) {
            bit = SEEN_APICV;
            if (key_is(v, vn, "off"))
                cfg->no_apicv = 1;
            else if (!key_is(v, vn, "auto"))
                FAIL("line %u: apicv: '%.*s' is not auto or off", lineno, (int)vn, v);
        } else if (key_is(line, kn, "host_timer")) {
            bit = SEEN_TIMER;
            if (key_is(v, vn, "lapic"))
                cfg->lapic_timer = 1;
            else if (!key_is(v, vn, "auto"))
                FAIL("line %u: host_timer: '%.*s' is not auto or lapic", lineno, (int)vn, v);
        } else if (key_is(line, kn, "cpuid_hide")) {
            bit = SEEN_CPUID_HIDE;
            if (copy_value(cfg->cpuid_hide, sizeof(cfg->cpuid_hide), v, vn))
                FAIL("line %u: cpuid_hide: longer than %u characters", lineno,
                     (unsigned)sizeof(cfg->cpuid_hide) - 1);
        } else if (key_is(line, kn, "disk")) {
            bit = SEEN_DISK;
            size_t pn = 0;
            while (pn < vn && !is_space(v[pn]))
                pn++;
            if (pn == 0)
                FAIL("line %u: disk: empty path", lineno);
            if (copy_value(cfg->disk, sizeof(cfg->disk), v, pn))
                FAIL("line %u: disk: path longer than %u characters", lineno,
                     (unsigned)sizeof(cfg->disk) - 1);
            const char *mode = v + pn;
            size_t mn = vn - pn;
            while (mn && is_space(*mode))
                mode++, mn--;
            if (mn == 0 || key_is(mode, mn, "ro"))
                cfg->disk_volatile = 0;
            else if (key_is(mode, mn, "volatile"))
                cfg->disk_volatile = 1;
            else
                FAIL("line %u: disk: '%.*s' is not ro or volatile (there is no write-back to the "
                     "machine's disk)",
                     lineno, (int)mn, mode);
        } else if (key_is(line, kn, "module")) {
            bit = 0; /* repeatable */
            if (cfg->nmodules == CONFIG_MODULES_MAX)
                FAIL("line %u: module: more than %u modules", lineno, CONFIG_MODULES_MAX);
            size_t pn = 0;
            while (pn < vn && !is_space(v[pn]))
                pn++;
            if (pn == 0)
                FAIL("line %u: module: empty path", lineno);
            struct hv_module *m = &cfg->module[cfg->nmodules];
            if (copy_value(m->path, sizeof(m->path), v, pn))
                FAIL("line %u: module: path longer than %u characters", lineno,
                     (unsigned)sizeof(m->path) - 1);
            /* The module's string is the whole value, path first, as GRUB
             * and QEMU give it. */
            if (copy_value(m->args, sizeof(m->args), v, vn))
                FAIL("line %u: module: longer than %u characters", lineno, (unsigned)sizeof(m->args) - 1);
            cfg->nmodules++;
        } else {
            FAIL("line %u: unknown key '%.*s' (known: guest, kernel, initrd, cmdline, ram_mb, log_level, "
                 "trace, "
                 "apicv, host_timer, bare, hv_selftest, test_hooks, module, cpuid_hide, disk)",
                 lineno, (int)kn, line);
        }
        if (seen & bit)
            FAIL("line %u: '%.*s' given twice", lineno, (int)kn, line);
        seen |= bit;
    }
    if (!(seen & SEEN_GUEST))
        FAIL("no 'guest' setting (or 'kernel'): the config must name the guest image");
#undef FAIL
    return 0;
}
