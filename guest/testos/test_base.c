/* Group "base": what every guest relies on - CPUID, MSRs, I/O, control
 * registers, exceptions, hypercalls, guest RAM and the Multiboot handoff. */
#include "testos.h"

#define TINYHV_VERSION 0x000100u
/* The guest's ACPI tables sit in the last 64 KiB of its RAM (boot/vm_desc.h). */
#define GUEST_ACPI_KIB 64

static int t_multiboot_magic(char *why)
{
    CHECK(boot.magic == 0x2BADB002, "EAX at entry was 0x%x, expected 0x2BADB002", boot.magic);
    CHECK(boot.mbi != 0, "EBX (information structure) is 0");
    return 0;
}

static int t_mbi_flags(char *why)
{
    uint32_t want = 1u << 0 | 1u << 2 | 1u << 6 | 1u << 9;
    CHECK((boot.mbi->flags & want) == want, "flags 0x%x lack memory/cmdline/mmap/loader bits",
          boot.mbi->flags);
    const char *name = (const char *)boot.mbi->boot_loader_name;
    CHECK(!strncmp(name, "tinyhv", 7), "boot loader name '%s', expected 'tinyhv'", name);
    return 0;
}

static int t_mbi_memory(char *why)
{
    CHECK(boot.ram_mb_expected != 0, "command line has no ram_mb=N to compare with");
    /* RAM from 1 MiB up to the ACPI tables in the last 64 KiB */
    uint32_t want_upper = boot.ram_mb_expected * 1024 - 1024 - GUEST_ACPI_KIB;
    CHECK(boot.mbi->mem_upper == want_upper, "mem_upper %u KiB, config says %u KiB", boot.mbi->mem_upper,
          want_upper);
    CHECK(boot.mbi->mem_lower >= 600 && boot.mbi->mem_lower <= 640, "mem_lower %u KiB", boot.mbi->mem_lower);
    return 0;
}

/* Whether the Multiboot memory map has a reserved entry covering [addr, addr + len). */
static int reserved_at(uint64_t addr, uint64_t len)
{
    for (uint32_t off = 0; off < boot.mbi->mmap_length;) {
        const struct mb_mmap *e = (const struct mb_mmap *)(boot.mbi->mmap_addr + off);
        if (e->type == 2 && e->addr <= addr && addr + len <= e->addr + e->len)
            return 1;
        off += e->size + 4;
    }
    return 0;
}

static int t_mbi_mmap(char *why)
{
    uint64_t avail = 0, top = 0;
    unsigned n = 0;
    for (uint32_t off = 0; off < boot.mbi->mmap_length; n++) {
        const struct mb_mmap *e = (const struct mb_mmap *)(boot.mbi->mmap_addr + off);
        CHECK(e->size >= 20, "entry %u has size %u", n, e->size);
        if (e->type == 1) {
            avail += e->len;
            if (e->addr + e->len > top)
                top = e->addr + e->len;
        }
        off += e->size + 4;
    }
    uint64_t ram = (uint64_t)boot.ram_mb_expected << 20, tables = ram - GUEST_ACPI_KIB * 1024;
    CHECK(n >= 2, "memory map has %u entries", n);
    CHECK(top == tables,
          "available RAM ends at 0x%llx, expected the ACPI tables at 0x%llx (config RAM 0x%llx)", top, tables,
          ram);
    CHECK(avail >= tables - 0x100000 && avail < tables, "0x%llx bytes available of 0x%llx", avail, ram);
    CHECK(reserved_at(tables, GUEST_ACPI_KIB * 1024),
          "the ACPI tables' 0x%llx-0x%llx is not a reserved entry", tables, ram - 1);
    return 0;
}

/* The ACPI tables every guest gets, as on a PC: an RSDP in the BIOS area
 * (the search range 0xE0000-0xFFFFF), its RSDT, the FADT it lists, and
 * the PM timer the FADT names, counting. kvm-unit-tests' vmexit
 * inl_from_pmtimer finds its port this way. */
static int t_acpi_pm_timer(char *why)
{
    const uint8_t *rsdp = 0;
    for (uint32_t a = 0xE0000; a < 0x100000 && !rsdp; a += 16)
        if (!strncmp((const char *)a, "RSD PTR ", 8))
            rsdp = (const uint8_t *)a;
    CHECK(rsdp, "no RSDP in 0xE0000-0xFFFFF");
    uint8_t sum = 0;
    for (int i = 0; i < 20; i++)
        sum += rsdp[i];
    CHECK(sum == 0, "RSDP checksum over 20 bytes is 0x%x", sum);
    const uint8_t *rsdt = (const uint8_t *)*(const uint32_t *)(rsdp + 16);
    CHECK(!strncmp((const char *)rsdt, "RSDT", 4), "RSDP points at 0x%x, not an RSDT", (uint32_t)rsdt);
    const uint8_t *fadt = 0;
    for (uint32_t off = 36; off + 4 <= *(const uint32_t *)(rsdt + 4) && !fadt; off += 4) {
        const uint8_t *t = (const uint8_t *)*(const uint32_t *)(rsdt + off);
        if (!strncmp((const char *)t, "FACP", 4))
            fadt = t;
    }
    CHECK(fadt, "the RSDT lists no FADT");
    uint32_t port = *(const uint32_t *)(fadt + 76); /* PM_TMR_BLK */
    CHECK(port == 0x608, "FADT PM_TMR_BLK 0x%x, expected 0x608 (QEMU's pc)", port);
    uint32_t t0 = inl((uint16_t)port) & 0xffffff, t1 = t0;
    uint64_t until = rdtsc() + ms_ticks(2);
    while (t1 == t0 && rdtsc() < until)
        t1 = inl((uint16_t)port) & 0xffffff;
    CHECK(t1 != t0, "the PM timer at 0x%x stood at 0x%x for 2 ms", port, t0);
    return 0;
}

static int t_cmdline(char *why)
{
    CHECK(strstr_(boot.cmdline, "base") != 0, "command line '%s' lacks the group name", boot.cmdline);
    return 0;
}

static int t_cpuid_hypervisor_bit(char *why)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    CHECK(r[2] & (1u << 31), "CPUID.1:ECX = 0x%x, bit 31 clear", r[2]);
    CHECK(!(r[2] & (1u << 5)), "CPUID.1:ECX.VMX is visible to the guest");
    return 0;
}

static int t_cpuid_vendor_leaf(char *why)
{
    uint32_t r[4];
    char sig[13];
    cpuid(0x40000000, 0, r);
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    sig[12] = 0;
    CHECK(!strncmp(sig, "TinyHVTinyHV", 12), "vendor signature '%s'", sig);
    CHECK(r[0] >= 0x40000001, "highest hypervisor leaf 0x%x", r[0]);
    cpuid(0x40000001, 0, r);
    CHECK(r[0] == TINYHV_VERSION, "version leaf says 0x%x", r[0]);
    return 0;
}

static int t_cpuid_basic(char *why)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    CHECK(r[0] >= 1, "highest basic leaf %u", r[0]);
    CHECK(r[1] != 0, "vendor EBX is 0");
    return 0;
}

static int t_rdmsr_unknown_gp(char *why)
{
    uint64_t v;
    int rc = safe_rdmsr(0x0000beef, &v);
    CHECK(rc == -1, "RDMSR 0xbeef did not fault");
    CHECK(last_trap.vector == 13, "RDMSR 0xbeef raised vector %u, expected #GP (13)", last_trap.vector);
    CHECK(last_trap.error == 0, "#GP error code 0x%x, expected 0", last_trap.error);
    return 0;
}

static int t_wrmsr_unknown_gp(char *why)
{
    int rc = safe_wrmsr(0x0000beef, 1);
    CHECK(rc == -1 && last_trap.vector == 13, "WRMSR 0xbeef: rc %d vector %u", rc, last_trap.vector);
    return 0;
}

static int t_msr_sysenter_roundtrip(char *why)
{
    uint64_t v = 0;
    CHECK(!safe_wrmsr(0x175, 0x12345678u), "WRMSR SYSENTER_ESP faulted (vector %u)", last_trap.vector);
    CHECK(!safe_rdmsr(0x175, &v), "RDMSR SYSENTER_ESP faulted (vector %u)", last_trap.vector);
    CHECK(v == 0x12345678u, "SYSENTER_ESP read back 0x%llx", v);
    return 0;
}

static int t_msr_efer_pat(char *why)
{
    uint64_t efer = 1, pat = 0;
    CHECK(!safe_rdmsr(0xC0000080, &efer), "RDMSR EFER faulted");
    CHECK(efer == 0, "EFER = 0x%llx at boot, expected 0", efer);
    CHECK(!safe_rdmsr(0x277, &pat), "RDMSR PAT faulted");
    CHECK(pat == 0x0007040600070406ull, "PAT = 0x%llx, expected the power-on value", pat);
    CHECK(safe_wrmsr(0x277, 0x0202020202020202ull) == -1, "PAT with reserved type 2 accepted");
    return 0;
}

static int t_io_unclaimed_reads_ones(char *why)
{
    uint8_t b = inb(0x2E0);
    uint16_t w = inw(0x2E2);
    uint32_t l = inl(0x2E4);
    CHECK(b == 0xff && w == 0xffff && l == 0xffffffffu, "reads gave 0x%x 0x%x 0x%x", b, w, l);
    outb(0x2E0, 0x12); /* dropped */
    CHECK(inb(0x2E0) == 0xff, "a write to an unclaimed port changed what it reads");
    return 0;
}

static int t_uart_registers(char *why)
{
    outb(0x3F8 + 7, 0x5a);
    CHECK(inb(0x3F8 + 7) == 0x5a, "scratch register read 0x%x", inb(0x3F8 + 7));
    CHECK((inb(0x3F8 + 5) & 0x60) == 0x60, "LSR 0x%x: transmitter not ready", inb(0x3F8 + 5));
    return 0;
}

static int t_vmcall_version(char *why)
{
    uint32_t a = 0, unk = 99;
    __asm__ volatile("vmcall" : "=a"(a) : "a"(0));
    CHECK(a == TINYHV_VERSION, "version hypercall returned 0x%x", a);
    __asm__ volatile("vmcall" : "=a"(unk) : "a"(12345));
    CHECK(unk == 0xffffffffu, "unknown hypercall returned 0x%x, expected -1", unk);
    return 0;
}

static int t_cr0_state(char *why)
{
    uint32_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    CHECK(cr0 & 1, "CR0.PE clear (0x%x)", cr0);
    CHECK(!(cr0 & 0x80000000u), "CR0.PG set (0x%x)", cr0);
    return 0;
}

static int t_cr4_vmxe_hidden(char *why)
{
    uint32_t cr4, after;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    CHECK(!(cr4 & (1u << 13)), "CR4.VMXE visible to the guest (0x%x)", cr4);
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | (1u << 4))); /* PSE */
    __asm__ volatile("mov %%cr4, %0" : "=r"(after));
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4));
    CHECK(after == (cr4 | (1u << 4)), "CR4 after setting PSE reads 0x%x", after);
    trap_arm(3);
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | (1u << 13))); /* 3 bytes: 0f 22 e0 */
    trap_disarm();
    CHECK(last_trap.taken && last_trap.vector == 13, "setting CR4.VMXE did not raise #GP");
    return 0;
}

static int t_exception_ud(char *why)
{
    trap_arm(2);
    __asm__ volatile("ud2");
    trap_disarm();
    CHECK(last_trap.taken == 1 && last_trap.vector == 6, "ud2: %d traps, vector %u", last_trap.taken,
          last_trap.vector);
    return 0;
}

static int t_software_interrupt(char *why)
{
    trap_arm(0);
    __asm__ volatile("int $0x80");
    trap_disarm();
    CHECK(last_trap.taken == 1 && last_trap.vector == 0x80, "int 0x80: %d traps, vector 0x%x",
          last_trap.taken, last_trap.vector);
    return 0;
}

static int t_tsc_advances(char *why)
{
    uint64_t a = rdtsc(), b = rdtsc();
    CHECK(b > a, "TSC did not advance (0x%llx then 0x%llx)", a, b);
    return 0;
}

/* Every available byte of guest RAM outside the kernel and boot data, with
 * two complementary address-dependent patterns. */
static int t_ram_pattern(char *why)
{
    uint32_t ram = (boot.ram_mb_expected << 20) - GUEST_ACPI_KIB * 1024; /* up to the ACPI tables */
    uint32_t kstart = (uint32_t)kernel_start, kend = ((uint32_t)kernel_end + 4095) & ~4095u;
    uint32_t tested = 0;
    CHECK(ram != 0, "no ram_mb= on the command line");
    for (int pass = 0; pass < 2; pass++) {
        uint32_t x = pass ? 0x5a5a5a5au : 0xa5a5a5a5u;
        for (int verify = 0; verify < 2; verify++) {
            for (uint32_t a = 0x10000; a < ram; a += 4) {
                if (a == 0x9F000)
                    a = 0x100000; /* skip the reserved hole below 1 MiB */
                if (a == kstart)
                    a = kend;
                volatile uint32_t *p = (volatile uint32_t *)a;
                if (!verify) {
                    *p = a ^ x;
                } else if (*p != (a ^ x)) {
                    FAILF("pass %d: 0x%x reads 0x%x, wrote 0x%x", pass, a, *p, a ^ x);
                } else if (pass) {
                    tested += 4;
                }
            }
        }
    }
    kprintf("# RAM pattern: %u KiB checked twice\n", tested >> 10);
    return 0;
}

static const struct test_case cases[] = {
    { "Multiboot magic and information pointer", t_multiboot_magic },
    { "Multiboot flags and boot loader name", t_mbi_flags },
    { "Multiboot memory sizes match the config", t_mbi_memory },
    { "Multiboot memory map matches the config", t_mbi_mmap },
    { "ACPI: RSDP in the BIOS area, FADT, PM timer counts", t_acpi_pm_timer },
    { "Multiboot command line", t_cmdline },
    { "CPUID hypervisor-present bit, VMX hidden", t_cpuid_hypervisor_bit },
    { "CPUID 0x40000000 vendor leaf and version", t_cpuid_vendor_leaf },
    { "CPUID basic leaf", t_cpuid_basic },
    { "RDMSR of an unknown MSR raises #GP(0)", t_rdmsr_unknown_gp },
    { "WRMSR of an unknown MSR raises #GP", t_wrmsr_unknown_gp },
    { "SYSENTER_ESP MSR round trip", t_msr_sysenter_roundtrip },
    { "EFER and PAT MSRs", t_msr_efer_pat },
    { "unclaimed ports read all ones, writes dropped", t_io_unclaimed_reads_ones },
    { "virtual UART registers", t_uart_registers },
    { "VMCALL version hypercall", t_vmcall_version },
    { "CR0 is protected mode without paging", t_cr0_state },
    { "CR4.VMXE hidden and refused, CR4 writes work", t_cr4_vmxe_hidden },
    { "#UD delivered through the guest IDT", t_exception_ud },
    { "INT 0x80 delivered through the guest IDT", t_software_interrupt },
    { "TSC advances", t_tsc_advances },
    { "pattern test over all guest RAM", t_ram_pattern },
};

const struct test_group group_base = { "base", cases, sizeof(cases) / sizeof(cases[0]) };
