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

/* VMX instructions (VMCALL is the hypercall): #UD, as on a CPU without
 * VMX, which is what CPUID says this one is. Each runs from a buffer with
 * EBX pointing at a zeroed quadword (the memory operand) and EAX = 1 (the
 * INVEPT/INVVPID type); the #UD resumes at the RET after it. */
static int t_vmx_instructions(char *why)
{
    static const struct { const char *name; uint8_t len, bytes[5]; } insns[] = {
        { "VMXON", 4, { 0xf3, 0x0f, 0xc7, 0x33 } },   { "VMXOFF", 3, { 0x0f, 0x01, 0xc4 } },
        { "VMCLEAR", 4, { 0x66, 0x0f, 0xc7, 0x33 } }, { "VMPTRLD", 3, { 0x0f, 0xc7, 0x33 } },
        { "VMPTRST", 3, { 0x0f, 0xc7, 0x3b } },       { "VMREAD", 3, { 0x0f, 0x78, 0xc3 } },
        { "VMWRITE", 3, { 0x0f, 0x79, 0xc3 } },       { "VMLAUNCH", 3, { 0x0f, 0x01, 0xc2 } },
        { "VMRESUME", 3, { 0x0f, 0x01, 0xc3 } },      { "INVEPT", 5, { 0x66, 0x0f, 0x38, 0x80, 0x03 } },
        { "INVVPID", 5, { 0x66, 0x0f, 0x38, 0x81, 0x03 } }, { "VMFUNC", 3, { 0x0f, 0x01, 0xd4 } },
    };
    static uint8_t code[8] __attribute__((aligned(8)));
    static uint64_t operand;
    for (unsigned i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        memcpy(code, insns[i].bytes, insns[i].len);
        code[insns[i].len] = 0xc3; /* ret */
        operand = 0;
        trap_arm(insns[i].len);
        __asm__ volatile("call *%0" ::"r"(code), "a"(1), "b"(&operand) : "ecx", "edx", "memory", "cc");
        trap_disarm();
        CHECK(last_trap.taken == 1 && last_trap.vector == 6, "%s: %s vector %u", insns[i].name,
              last_trap.taken ? "exception" : "no exception,", last_trap.vector);
    }
    return 0;
}

static inline uint32_t read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

/* MOV to CR0 with NW=1 and CD=0 is #GP, also when the same write changes a
 * bit the hypervisor owns (NE) and so exits. */
static int t_cr0_nw_without_cd(char *why)
{
    uint32_t cr0 = read_cr0(), bad = (cr0 ^ (1u << 5)) | (1u << 29);
    CHECK(!(cr0 & (1u << 30)), "CR0 0x%x has CD set already", cr0);
    trap_arm(3);
    __asm__ volatile("mov %0, %%cr0" ::"r"(bad) : "memory");
    trap_disarm();
    CHECK(last_trap.taken == 1 && last_trap.vector == 13, "CR0 = 0x%x (NW without CD, NE flipped): %s %u",
          bad, last_trap.taken ? "vector" : "no #GP, vector", last_trap.vector);
    CHECK(read_cr0() == cr0, "CR0 0x%x after the refused write, was 0x%x", read_cr0(), cr0);
    return 0;
}

/* CR4 bits of features the guest's CPUID does not show are reserved: PKE
 * (no PKU), SMXE (no SMX), MCE (no machine-check architecture) each get
 * #GP and leave CR4 as it was; a bit it does have (PGE) still works. */
static int t_cr4_hidden_features(char *why)
{
    static const struct { unsigned bit; const char *name; } hidden[] = {
        { 22, "PKE" }, { 14, "SMXE" }, { 6, "MCE" },
    };
    uint32_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    for (unsigned i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        uint32_t bad = cr4 | (1u << hidden[i].bit), now;
        trap_arm(3); /* mov %r32, %cr4: 0f 22 /r */
        __asm__ volatile("mov %0, %%cr4" ::"r"(bad) : "memory");
        trap_disarm();
        __asm__ volatile("mov %%cr4, %0" : "=r"(now));
        CHECK(last_trap.taken == 1 && last_trap.vector == 13, "CR4.%s set: %s %u", hidden[i].name,
              last_trap.taken ? "vector" : "no #GP, vector", last_trap.vector);
        CHECK(now == cr4, "CR4 0x%x after the refused %s, was 0x%x", now, hidden[i].name, cr4);
    }
    uint32_t pge = cr4 | (1u << 7), now;
    __asm__ volatile("mov %0, %%cr4" ::"r"(pge) : "memory");
    __asm__ volatile("mov %%cr4, %0" : "=r"(now));
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4) : "memory");
    CHECK(now == pge, "CR4.PGE: reads 0x%x after writing 0x%x", now, pge);
    return 0;
}

/* WRMSR to EFER as hardware checks it: SCE and NXE only where CPUID
 * 0x80000001 shows SYSCALL and NX (hostile.t also runs this with
 * `cpuid_hide = nx syscall`), reserved bits #GP, and LMA, the CPU's own,
 * ignored. Each refused write leaves EFER as it was. */
static int t_efer_follows_cpuid(char *why)
{
    enum { EFER = 0xC0000080u };
    static const struct { unsigned bit, cpuid_bit; const char *name; } bits[] = {
        { 0, 11, "SCE" }, { 11, 20, "NXE" }, { 1, 99, "bit 1 (reserved)" },
        { 12, 99, "bit 12 (reserved)" }, { 15, 99, "bit 15 (reserved)" },
    };
    uint32_t r[4];
    uint64_t efer, now;
    cpuid(0x80000001u, 0, r);
    CHECK(safe_rdmsr(EFER, &efer) == 0, "RDMSR EFER faulted");
    for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        int shown = bits[i].cpuid_bit < 32 && (r[3] >> bits[i].cpuid_bit & 1);
        int rc = safe_wrmsr(EFER, efer | 1ull << bits[i].bit);
        unsigned vector = last_trap.vector;
        CHECK(safe_rdmsr(EFER, &now) == 0, "RDMSR EFER faulted");
        if (shown) {
            CHECK(rc == 0 && now == (efer | 1ull << bits[i].bit), "EFER.%s (CPUID shows it): WRMSR %s, "
                  "reads 0x%llx", bits[i].name, rc ? "#GP" : "ok", (unsigned long long)now);
            CHECK(safe_wrmsr(EFER, efer) == 0, "WRMSR EFER back to 0x%llx faulted", (unsigned long long)efer);
        } else {
            CHECK(rc == -1 && vector == 13, "EFER.%s (CPUID hides it or reserved): %s %u", bits[i].name,
                  rc ? "vector" : "no #GP, vector", vector);
            CHECK(now == efer, "EFER 0x%llx after the refused %s, was 0x%llx", (unsigned long long)now,
                  bits[i].name, (unsigned long long)efer);
        }
        kprintf("# EFER.%s: %s\n", bits[i].name, shown ? "shown, accepted" : "#GP");
    }
    /* LMA (bit 10) is read-only: the write is accepted and has no effect. */
    CHECK(safe_wrmsr(EFER, efer | 1ull << 10) == 0, "WRMSR EFER with LMA set: #GP");
    CHECK(safe_rdmsr(EFER, &now) == 0 && now == efer, "EFER 0x%llx after writing LMA, was 0x%llx",
          (unsigned long long)now, (unsigned long long)efer);
    return 0;
}

/* CLI; HLT with the PIT's line routed as an NMI (IOAPIC pin 2, delivery
 * mode NMI) and a one-shot on its way: the NMI wakes the CPU, as on
 * hardware, the handler runs and execution goes on after the HLT. */
static int t_cli_hlt_wakes_on_nmi(char *why)
{
    legacy_reset(0);
    ioapic_route(2, 4u << 8, 0);                   /* edge, NMI, to APIC ID 0 */
    pit_program(0, 0, 1193);                       /* about 1 ms */
    __asm__ volatile("cli; hlt" ::: "memory");
    ioapic_route(2, 1u << 16, 0);                  /* masked again */
    CHECK(irqlog.count[2] == 1, "%u NMIs after CLI; HLT (expected the PIT's one)", irqlog.count[2]);
    return 0;
}

/* IA32_APIC_BASE moved 2,000 times, each time to a new 2 MiB region (above
 * 4 GiB, away from guest RAM), then back: with APIC virtualization each
 * move maps the APIC-access page at the new base, and the page table that
 * needed must be returned when the mapping goes, or the hypervisor's pool
 * runs dry (and it falls back to the software path, which hostile.t sees
 * in the log). Afterwards the APIC still works: a self-IPI arrives. */
#define APIC_MOVES 2000u
static int t_apic_base_moves(char *why)
{
    legacy_reset(0);
    uint64_t base = 0;
    CHECK(safe_rdmsr(MSR_APIC_BASE, &base) == 0, "RDMSR IA32_APIC_BASE faulted");
    for (uint32_t i = 0; i < APIC_MOVES; i++) {
        uint64_t to = (base & 0xfffull) | (0x100000000ull + ((uint64_t)i << 21));
        CHECK(safe_wrmsr(MSR_APIC_BASE, to) == 0, "move %u to 0x%llx faulted", i, to);
    }
    CHECK(safe_wrmsr(MSR_APIC_BASE, base) == 0, "moving the APIC base back faulted");
    kprintf("# moved the APIC base %u times\n", APIC_MOVES);
    lapic_self_ipi(0x60);
    CHECK(wait_irq(0x60, 1, ms_ticks(20)), "self-IPI 0x60 not delivered after the moves");
    return 0;
}

/* The PIT at its fastest (mode 2, count 1: 1.19 MHz), unmasked, and a
 * handler that EOIs at the PIC (an exit each time): between two ticks the
 * guest must retire time of its own (the hypervisor's minimum gap, 50 us,
 * counts from where the guest resumes), so the main loop runs dozens of
 * iterations per interrupt (none in most gaps when the gap counted from VM
 * entry, which one exit outlasts), and the guest reaches its end. */
#define STORM_TICKS 200u
#define STORM_LOOPS_PER_TICK 100u
static volatile uint32_t storm_ticks;

static void storm_eoi(uint32_t vector)
{
    (void)vector;
    storm_ticks++;
    outb(0x20, 0x20);
}

static int t_pit_storm(char *why)
{
    legacy_reset(0);
    storm_ticks = 0;
    irq_hook[PIC_MASTER_BASE] = storm_eoi;
    pit_program(0, 2, 1);
    outb(0x21, 0xfe);                              /* IRQ 0 only */
    uint32_t loops = 0;
    uint64_t t0 = rdtsc(), limit = ms_ticks(2000);
    sti();
    while (storm_ticks < STORM_TICKS && rdtsc() - t0 < limit)
        loops++;
    cli();
    outb(0x21, 0xff);
    outb(0x43, 0x30);                              /* channel 0 stopped */
    irq_hook[PIC_MASTER_BASE] = 0;
    uint32_t ticks = storm_ticks;
    kprintf("# pit_storm: %u main-loop iterations, %u PIT interrupts\n", loops, ticks);
    CHECK(ticks >= STORM_TICKS, "only %u PIT interrupts in 2 s of guest time", ticks);
    CHECK(loops >= STORM_LOOPS_PER_TICK * ticks, "%u main-loop iterations for %u interrupts: the "
          "guest hardly runs between ticks", loops, ticks);
    return 0;
}

/* An expected stop: STI; HLT with every interrupt source masked (the PIT
 * counting in mode 2 but masked at the PIC and the IOAPIC, the LAPIC
 * timer masked, COM1's interrupt off, no NMI route). Nothing can wake the
 * guest, so the VM must stop at once with the reason, not wait for ever
 * on the masked PIT's deadlines. */
static int t_hlt_all_masked(char *why)
{
    legacy_reset(0);                               /* PIC, IOAPIC, LAPIC timer: masked */
    pit_program(0, 2, 1193);                       /* counting, about 1 kHz */
    kprintf("# STI; HLT with every interrupt source masked\n");
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    kprintf("# the guest woke up\n");
    FAILF("woke up from HLT with every source masked");
}

/* An expected stop, so the last thing its run does: the IDT moved into
 * the IOAPIC page (LIDT), then a self-IPI of vector 0x40 taken by a guest
 * executing a load from RAM. Delivering it, the CPU reads the gate at
 * IOAPIC + 0x200: that access is the CPU's, not the load's, and must stop
 * the VM ("MMIO during event delivery"), never be emulated as the load. */
static int t_idt_in_mmio(char *why)
{
    static volatile uint32_t ram = 0x600d;
    static const struct { uint16_t limit; uint32_t base; } __attribute__((packed))
        idtr = { 256 * 8 - 1, IOAPIC_BASE };
    uint32_t v;
    legacy_reset(0);
    kprintf("# IDT at 0x%x (the IOAPIC page); self-IPI 0x40, then a load with IF=1\n", IOAPIC_BASE);
    __asm__ volatile("lidt %0" ::"m"(idtr));
    lapic_self_ipi(0x40);
    __asm__ volatile("sti; nop; movl (%1), %0; cli" : "=a"(v) : "b"(&ram) : "memory");
    kprintf("# the guest went on after the interrupt (EAX=0x%x)\n", v);
    FAILF("the interrupt was delivered through an IDT in MMIO");
}

static const struct test_case cases[] = {
    { "port_scan: IN of all 65,536 ports in three widths", t_port_scan },
    { "msr_scan: RDMSR and WRMSR of 10,000 unknown MSRs #GP", t_msr_scan },
    { "test_hooks: the test hypercalls are unknown without test_hooks = on", t_test_hooks_off },
    { "vmx_ud: VMXON, VMREAD, INVEPT and the other VMX instructions are #UD", t_vmx_instructions },
    { "cr0: NW without CD is #GP when the write exits", t_cr0_nw_without_cd },
    { "cr4: PKE, SMXE and MCE (features CPUID hides) are #GP; PGE works", t_cr4_hidden_features },
    { "efer: EFER's SCE and NXE follow CPUID, reserved bits #GP, LMA ignored", t_efer_follows_cpuid },
    { "hlt_nmi: CLI; HLT wakes on an NMI from the PIT through the IOAPIC", t_cli_hlt_wakes_on_nmi },
    { "apic_moves: IA32_APIC_BASE moved to 2,000 regions and back, the APIC still works", t_apic_base_moves },
    { "pit_storm: PIT count 1, EOI in the handler: the guest still runs to its end", t_pit_storm },
    { "hlt_masked: STI; HLT with every source masked stops the VM", t_hlt_all_masked },
    { "idt_mmio: an interrupt through an IDT in the IOAPIC page stops the VM", t_idt_in_mmio },
};

const struct test_group group_hostile = { "hostile", cases, sizeof(cases) / sizeof(cases[0]) };
