/* Group "hostile": a guest doing what no well-behaved guest does, as often
 * as it likes. Each case names itself with a prefix ("port_scan: ...") so
 * that a run can pick it with "only=port_scan" on the command line. The
 * harness (hostile.t) checks the hypervisor's side: rate-limited log lines,
 * their counts in the exit statistics, the run's wall time. */
#include "testos.h"

#define MSR_SCAN_BASE  0x10000000u /* no MSR lives here */
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
        CHECK(safe_rdmsr(MSR_SCAN_BASE + i, &v) == -1 && last_trap.vector == 13, "RDMSR 0x%x did not #GP",
              MSR_SCAN_BASE + i);
        CHECK(safe_wrmsr(MSR_SCAN_BASE + i, i) == -1 && last_trap.vector == 13, "WRMSR 0x%x did not #GP",
              MSR_SCAN_BASE + i);
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
    static const struct {
        const char *name;
        uint8_t len, bytes[5];
    } insns[] = {
        { "VMXON", 4, { 0xf3, 0x0f, 0xc7, 0x33 } },
        { "VMXOFF", 3, { 0x0f, 0x01, 0xc4 } },
        { "VMCLEAR", 4, { 0x66, 0x0f, 0xc7, 0x33 } },
        { "VMPTRLD", 3, { 0x0f, 0xc7, 0x33 } },
        { "VMPTRST", 3, { 0x0f, 0xc7, 0x3b } },
        { "VMREAD", 3, { 0x0f, 0x78, 0xc3 } },
        { "VMWRITE", 3, { 0x0f, 0x79, 0xc3 } },
        { "VMLAUNCH", 3, { 0x0f, 0x01, 0xc2 } },
        { "VMRESUME", 3, { 0x0f, 0x01, 0xc3 } },
        { "INVEPT", 5, { 0x66, 0x0f, 0x38, 0x80, 0x03 } },
        { "INVVPID", 5, { 0x66, 0x0f, 0x38, 0x81, 0x03 } },
        { "VMFUNC", 3, { 0x0f, 0x01, 0xd4 } },
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
    static const struct {
        unsigned bit;
        const char *name;
    } hidden[] = {
        { 22, "PKE" },
        { 14, "SMXE" },
        { 6, "MCE" },
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
    static const struct {
        unsigned bit, cpuid_bit;
        const char *name;
    } bits[] = {
        { 0, 11, "SCE" },
        { 11, 20, "NXE" },
        { 1, 99, "bit 1 (reserved)" },
        { 12, 99, "bit 12 (reserved)" },
        { 15, 99, "bit 15 (reserved)" },
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
            CHECK(rc == 0 && now == (efer | 1ull << bits[i].bit),
                  "EFER.%s (CPUID shows it): WRMSR %s, "
                  "reads 0x%llx",
                  bits[i].name, rc ? "#GP" : "ok", (unsigned long long)now);
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
    ioapic_route(2, 4u << 8, 0); /* edge, NMI, to APIC ID 0 */
    pit_program(0, 0, 1193);     /* about 1 ms */
    __asm__ volatile("cli; hlt" ::: "memory");
    ioapic_route(2, 1u << 16, 0); /* masked again */
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
#define STORM_TICKS          200u
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
    outb(0x21, 0xfe); /* IRQ 0 only */
    uint32_t loops = 0;
    uint64_t t0 = rdtsc(), limit = ms_ticks(2000);
    sti();
    while (storm_ticks < STORM_TICKS && rdtsc() - t0 < limit)
        loops++;
    cli();
    outb(0x21, 0xff);
    outb(0x43, 0x30); /* channel 0 stopped */
    irq_hook[PIC_MASTER_BASE] = 0;
    uint32_t ticks = storm_ticks;
    kprintf("# pit_storm: %u main-loop iterations, %u PIT interrupts\n", loops, ticks);
    CHECK(ticks >= STORM_TICKS, "only %u PIT interrupts in 2 s of guest time", ticks);
    CHECK(loops >= STORM_LOOPS_PER_TICK * ticks,
          "%u main-loop iterations for %u interrupts: the "
          "guest hardly runs between ticks",
          loops, ticks);
    return 0;
}

/* An expected stop: STI; HLT with every interrupt source masked (the PIT
 * counting in mode 2 but masked at the PIC and the IOAPIC, the LAPIC
 * timer masked, COM1's interrupt off, no NMI route). Nothing can wake the
 * guest, so the VM must stop at once with the reason, not wait for ever
 * on the masked PIT's deadlines. */
static int t_hlt_all_masked(char *why)
{
    legacy_reset(0);         /* PIC, IOAPIC, LAPIC timer: masked */
    pit_program(0, 2, 1193); /* counting, about 1 kHz */
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
    static const struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) idtr = { 256 * 8 - 1, IOAPIC_BASE };
    uint32_t v;
    legacy_reset(0);
    kprintf("# IDT at 0x%x (the IOAPIC page); self-IPI 0x40, then a load with IF=1\n", IOAPIC_BASE);
    __asm__ volatile("lidt %0" ::"m"(idtr));
    lapic_self_ipi(0x40);
    __asm__ volatile("sti; nop; movl (%1), %0; cli" : "=a"(v) : "b"(&ram) : "memory");
    kprintf("# the guest went on after the interrupt (EAX=0x%x)\n", v);
    FAILF("the interrupt was delivered through an IDT in MMIO");
}

/* A 4-byte load at LAPIC + 0xFFE runs past the end of the APIC page into
 * the next one. Both APIC paths must answer the same way. */
static int t_apic_page_end(char *why)
{
    uint32_t v;
    kprintf("# a 4-byte load at 0x%x, across the end of the LAPIC page\n", LAPIC_BASE + 0xffe);
    __asm__ volatile("movl (%1), %0" : "=a"(v) : "b"(LAPIC_BASE + 0xffe) : "memory");
    kprintf("# the load returned 0x%x\n", v);
    FAILF("a load across the end of the LAPIC page went on (0x%x)", v);
}

/* ---- hardware task switches ---- */

/* A 32-bit TSS (SDM Vol. 3 figure 7-2). */
struct tss32 {
    uint16_t link, r0;
    uint32_t esp0, ss0, esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap;
} __attribute__((packed));

/* What a task body or the main task recorded (tasks.asm's RECORD). */
struct ts_record {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eflags;
    uint16_t tr, cs, ss, ds, fs, pad;
    uint32_t top; /* the dword on top of the stack */
    uint32_t cr0, cr3;
    uint32_t window; /* the dword at TS_WINDOW (0 without paging) */
};

#define TS_A           0x20 /* the main task */
#define TS_B           0x28 /* JMP and CALL target */
#define TS_C           0x30 /* #GP handler, through a task gate */
#define TS_D           0x38 /* INT 0x41 handler, through a task gate */
#define TS_GDT_ENTRIES 8
#define TS_WINDOW      0x40000000u /* with paging: a page that task B's tables map elsewhere */
#define TS_MARK_MAIN   0x3A1A3A1Au
#define TS_MARK_B      0x3B1B3B1Bu
#define EFLAGS_NT      (1u << 14)
#define EFLAGS_RF      (1u << 16)
#define CR0_TS         (1u << 3)
#define CR0_PG         (1u << 31)
#define CR4_PAE        (1u << 5)

extern struct ts_record ts_seen, ts_after;
extern struct tss32 *ts_tss_a;
extern uint32_t ts_a_eip, ts_before_esp, ts_before_eflags, ts_d_entries, ts_window_on;
extern char ts_jmp_ret[], ts_call_ret[], ts_gp_at[], ts_int_ret[];
extern char ts_b_jmp_body[], ts_b_call_body[], ts_c_body[], ts_d_body[];
void ts_jmp_b(void);
void ts_call_b(void);
void ts_gp_fault(void);
void ts_int_41(void);

static uint64_t ts_gdt[TS_GDT_ENTRIES] __attribute__((aligned(8)));
static struct tss32 tss_a, tss_b, tss_c, tss_d;
static uint8_t ts_stack_b[4096], ts_stack_c[4096], ts_stack_d[4096] __attribute__((aligned(16)));
/* CR3 of the main task (and of C and D) and of task B. */
static uint32_t ts_cr3_main, ts_cr3_b;

struct dtr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static inline uint32_t ts_read_cr3(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static uint64_t tss_descriptor(const struct tss32 *t)
{
    uint32_t base = (uint32_t)t, limit = sizeof(*t) - 1;
    uint32_t lo = (limit & 0xffff) | base << 16;
    uint32_t hi = ((base >> 16) & 0xff) | 0x8900 /* present, DPL 0, 32-bit TSS available */ |
                  (limit & 0xf0000) | (base & 0xff000000u);
    return (uint64_t)hi << 32 | lo;
}

/* The type of a GDT entry's descriptor: 9 available 32-bit TSS, 11 busy. */
static unsigned ts_type(uint16_t sel) { return (unsigned)(ts_gdt[sel >> 3] >> 40) & 0xf; }

/* A task that starts at body with flat segments (FS null), interrupts
 * off, its own stack and registers of its own. */
static void ts_task(struct tss32 *t, char *body, uint8_t *stack, uint32_t stack_size, uint32_t cr3)
{
    memset(t, 0, sizeof(*t));
    t->link = 0x1234; /* a JMP leaves it; a CALL or a gate writes the caller's TR */
    t->cr3 = cr3;
    t->eip = (uint32_t)body;
    t->eflags = 2;
    t->esp = (uint32_t)(stack + stack_size);
    t->eax = 0x0B0B0001;
    t->ecx = 0x0B0B0002;
    t->edx = 0x0B0B0003;
    t->ebx = 0x0B0B0004;
    t->ebp = 0x0B0B0005;
    t->esi = 0x0B0B0006;
    t->edi = 0x0B0B0007;
    t->cs = 0x08;
    t->ss = t->ds = t->es = t->gs = 0x10;
    t->fs = 0;
    t->iomap = sizeof(*t);
}

/* Paging as the main task (cr3 is its CR3) and task B (their own tables)
 * see it: CR3, and what TS_WINDOW holds there. */
static int ts_paging_as(char *why, const char *what, const struct ts_record *r, uint32_t cr3, uint32_t mark)
{
    CHECK(r->cr3 == cr3, "%s: CR3 0x%x, expected 0x%x", what, r->cr3, cr3);
    if (ts_window_on)
        CHECK(r->window == mark,
              "%s: 0x%x at the window 0x%x, expected 0x%x (the task's own page "
              "tables)",
              what, r->window, TS_WINDOW, mark);
    return 0;
}

/* What the main task must have after a switch back: the registers the
 * switch set, its stack, CR3 and flags as before, CR0.TS set. */
static int ts_back_intact(char *why, const char *what)
{
    const struct ts_record *r = &ts_after;
    CHECK(r->eax == 0xA0A0A0A0u && r->ecx == 0xC1C1C1C1u && r->edx == 0xD2D2D2D2u && r->ebx == 0xB3B3B3B3u &&
              r->ebp == 0xE5E5E5E5u && r->esi == 0x5A5A5A5Au && r->edi == 0xD7D7D7D7u,
          "%s: main task's registers not restored (eax 0x%x ebx 0x%x "
          "ebp 0x%x edi 0x%x)",
          what, r->eax, r->ebx, r->ebp, r->edi);
    CHECK(r->esp == ts_before_esp, "%s: main task's ESP 0x%x, was 0x%x", what, r->esp, ts_before_esp);
    CHECK(r->tr == TS_A && r->cs == 0x08 && r->ss == 0x10 && r->ds == 0x10 && r->fs == 0x10,
          "%s: back with TR 0x%x CS 0x%x SS 0x%x DS 0x%x FS 0x%x", what, r->tr, r->cs, r->ss, r->ds, r->fs);
    CHECK(!(r->eflags & EFLAGS_NT), "%s: NT set in the main task (EFLAGS 0x%x)", what, r->eflags);
    CHECK(r->cr0 & CR0_TS, "%s: CR0.TS clear after the switch back (CR0 0x%x)", what, r->cr0);
    return ts_paging_as(why, what, r, ts_cr3_main, TS_MARK_MAIN);
}

/* What a task body saw when the switch came with (gate or CALL) or without
 * (JMP) a back link: the registers of its TSS, TR, selectors, NT, CR0.TS,
 * its paging. */
static int ts_seen_as_loaded(char *why, const char *what, uint16_t tr, uint32_t top_of_stack, int nested)
{
    const struct ts_record *r = &ts_seen;
    CHECK(r->tr == tr, "%s: the task ran with TR 0x%x, expected 0x%x", what, r->tr, tr);
    CHECK(r->eax == 0x0B0B0001u && r->ecx == 0x0B0B0002u && r->edx == 0x0B0B0003u && r->ebx == 0x0B0B0004u &&
              r->ebp == 0x0B0B0005u && r->esi == 0x0B0B0006u && r->edi == 0x0B0B0007u,
          "%s: the task's registers are not its TSS's (eax 0x%x ebx 0x%x "
          "edi 0x%x)",
          what, r->eax, r->ebx, r->edi);
    CHECK(r->esp == top_of_stack, "%s: the task's ESP 0x%x, expected 0x%x", what, r->esp, top_of_stack);
    CHECK(r->cs == 0x08 && r->ss == 0x10 && r->ds == 0x10 && r->fs == 0,
          "%s: the task's CS 0x%x SS 0x%x DS 0x%x FS 0x%x", what, r->cs, r->ss, r->ds, r->fs);
    uint32_t want = 2 | (nested ? EFLAGS_NT : 0);
    CHECK(r->eflags == want, "%s: the task's EFLAGS 0x%x, expected 0x%x", what, r->eflags, want);
    CHECK(r->cr0 & CR0_TS, "%s: CR0.TS clear in the new task (CR0 0x%x)", what, r->cr0);
    if (tr == TS_B)
        return ts_paging_as(why, what, r, ts_cr3_b, TS_MARK_B);
    return ts_paging_as(why, what, r, ts_cr3_main, TS_MARK_MAIN);
}

/* One switch from the main task to B and back: B starts at body, run()
 * switches (B's body switches back), and the main task must have been
 * saved at ret, after the switching instruction. A nested switch (CALL)
 * links B to the main task; a JMP leaves B's back link as it was. */
static int ts_b_round_trip(char *why, const char *what, char *body, void (*run)(void), char *ret, int nested)
{
    ts_task(&tss_b, body, ts_stack_b, sizeof(ts_stack_b), ts_cr3_b);
    run();
    if (ts_seen_as_loaded(why, what, TS_B, (uint32_t)(ts_stack_b + sizeof(ts_stack_b)), nested) ||
        ts_back_intact(why, what))
        return 1;
    CHECK(ts_a_eip == (uint32_t)ret,
          "%s: the main task was saved at EIP 0x%x, not 0x%x after the "
          "instruction",
          what, ts_a_eip, (uint32_t)ret);
    uint16_t link = nested ? TS_A : 0x1234;
    CHECK(tss_b.link == link, "%s: B's back link 0x%x, expected 0x%x", what, tss_b.link, link);
    CHECK(ts_type(TS_A) == 11 && ts_type(TS_B) == 9,
          "%s there and back: TSS types A %u B %u, "
          "expected 11 (busy) and 9",
          what, ts_type(TS_A), ts_type(TS_B));
    return 0;
}

/* The task switches of t_task_switch, with the paging there is: every
 * task with the main task's CR3 but B, which gets cr3_b. */
static int ts_run(char *why, uint32_t cr3_b)
{
    struct dtr gdtr, idtr;
    __asm__ volatile("cli; sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    ts_cr3_main = ts_read_cr3();
    ts_cr3_b = cr3_b;
    /* The GDT gets TSS entries and stays: TR keeps pointing into it. */
    if (gdtr.base != (uint32_t)ts_gdt) {
        CHECK(gdtr.limit < TS_A, "testos's GDT (limit 0x%x) reaches the TSS entries", gdtr.limit);
        memcpy(ts_gdt, (const void *)gdtr.base, gdtr.limit + 1u);
    }
    ts_gdt[TS_A >> 3] = tss_descriptor(&tss_a);
    ts_gdt[TS_B >> 3] = tss_descriptor(&tss_b);
    ts_gdt[TS_C >> 3] = tss_descriptor(&tss_c);
    ts_gdt[TS_D >> 3] = tss_descriptor(&tss_d);
    struct dtr ours = { sizeof(ts_gdt) - 1, (uint32_t)ts_gdt };
    memset(&tss_a, 0, sizeof(tss_a));
    tss_a.iomap = sizeof(tss_a);
    tss_a.cr3 = ts_cr3_main; /* a switch saves no CR3: a task's TSS holds its own */
    ts_tss_a = &tss_a;
    __asm__ volatile("lgdt %0; ltr %w1" ::"m"(ours), "r"(TS_A) : "memory");
    CHECK(ts_type(TS_A) == 11, "LTR left the main task's TSS of type %u, not busy", ts_type(TS_A));

    /* (1) JMP to B and JMP back; (2) CALL B, which returns with IRET. */
    if (ts_b_round_trip(why, "JMP", ts_b_jmp_body, ts_jmp_b, ts_jmp_ret, 0))
        return 1;
    CHECK(tss_a.eax == 0xA0A0A0A0u && tss_a.cs == 0x08 && tss_a.ds == 0x10,
          "JMP: the main task's TSS holds EAX 0x%x CS 0x%x DS 0x%x", tss_a.eax, tss_a.cs, tss_a.ds);
    if (ts_b_round_trip(why, "CALL", ts_b_call_body, ts_call_b, ts_call_ret, 1))
        return 1;
    CHECK(!(tss_b.eflags & EFLAGS_NT), "IRET: B's saved EFLAGS 0x%x keep NT", tss_b.eflags);

    /* (4) The main task is busy: a JMP to it is #GP with its selector. */
    trap_arm(7); /* ljmp ptr16:32 */
    __asm__ volatile("ljmp $0x20, $0" ::: "memory");
    trap_disarm();
    CHECK(last_trap.taken == 1 && last_trap.vector == 13 && last_trap.error == TS_A,
          "JMP to the busy main task: %d traps, vector %u, error 0x%x (expected #GP(0x20))", last_trap.taken,
          last_trap.vector, last_trap.error);

    /* (3) #GP and INT 0x41 through task gates in the IDT. */
    ts_task(&tss_c, ts_c_body, ts_stack_c, sizeof(ts_stack_c), ts_cr3_main);
    ts_task(&tss_d, ts_d_body, ts_stack_d, sizeof(ts_stack_d), ts_cr3_main);
    volatile uint64_t *idt = (volatile uint64_t *)idtr.base;
    uint64_t old_gp = idt[13], old_41 = idt[0x41];
    idt[13] = (uint64_t)0x8500 << 32 | (uint32_t)TS_C << 16; /* present task gate, DPL 0 */
    idt[0x41] = (uint64_t)0x8500 << 32 | (uint32_t)TS_D << 16;
    ts_d_entries = 0;
    ts_gp_fault();
    struct ts_record gp_seen = ts_seen, gp_after = ts_after;
    uint32_t gp_a_eip = ts_a_eip;
    ts_int_41();
    struct ts_record int_seen = ts_seen, int_after = ts_after;
    idt[13] = old_gp;
    idt[0x41] = old_41;
    __asm__ volatile("clts"); /* the last switch set it */

    ts_seen = gp_seen;
    ts_after = gp_after;
    if (ts_seen_as_loaded(why, "#GP through a task gate", TS_C,
                          (uint32_t)(ts_stack_c + sizeof(ts_stack_c)) - 4, 1))
        return 1;
    CHECK(gp_seen.top == 0x1230,
          "#GP through a task gate: 0x%x on the handler's stack, expected the "
          "error code 0x1230",
          gp_seen.top);
    CHECK(gp_a_eip == (uint32_t)ts_gp_at,
          "#GP: the main task was saved at EIP 0x%x, expected the "
          "faulting instruction at 0x%x",
          gp_a_eip, (uint32_t)ts_gp_at);
    CHECK(tss_c.link == TS_A, "#GP: C's back link 0x%x, expected 0x%x", tss_c.link, TS_A);
    ts_after.eflags &= ~EFLAGS_RF; /* a fault may leave RF in the saved flags */
    if (ts_back_intact(why, "#GP handler task"))
        return 1;

    ts_seen = int_seen;
    ts_after = int_after;
    CHECK(ts_d_entries == 1,
          "INT 0x41 through a task gate: handler task entered %u times (the INT "
          "ran again: saved EIP not after it)",
          ts_d_entries);
    CHECK(ts_a_eip == (uint32_t)ts_int_ret,
          "INT 0x41: the main task was saved at EIP 0x%x, not 0x%x "
          "after the INT",
          ts_a_eip, (uint32_t)ts_int_ret);
    if (ts_seen_as_loaded(why, "INT 0x41 through a task gate", TS_D,
                          (uint32_t)(ts_stack_d + sizeof(ts_stack_d)), 1) ||
        ts_back_intact(why, "INT 0x41 handler task"))
        return 1;
    CHECK(ts_type(TS_A) == 11 && ts_type(TS_C) == 9 && ts_type(TS_D) == 9,
          "after the gates: TSS types A %u C %u D %u, expected 11, 9, 9", ts_type(TS_A), ts_type(TS_C),
          ts_type(TS_D));
    return 0;
}

/* Hardware task switches, which always exit and which the hypervisor
 * emulates: a JMP to a TSS and back, a CALL and the IRET that returns
 * (NT, back link, busy bits), a #GP through a task gate (error code on the
 * handler task's stack) and INT 0x41 through one; a JMP to the busy main
 * task is #GP; every switch sets CR0.TS. The saved EIPs say whether the
 * instruction length was used where it must be (after JMP, CALL, INT n)
 * and not where it must not (a fault). Paging off: CR3 is not loaded. */
static int t_task_switch(char *why) { return ts_run(why, ts_read_cr3()); }

/* PAE paging: the page-directory-pointer table, identity 2 MiB pages for
 * the first GiB and the top one (IOAPIC, LAPIC), and TS_WINDOW through a
 * page table of each task's own to a page of its own. */
static uint64_t ts_pdpt_main[4] __attribute__((aligned(32)));
static uint64_t ts_pdpt_b[4] __attribute__((aligned(32)));
static uint64_t ts_pd_low[512] __attribute__((aligned(4096)));
static uint64_t ts_pd_top[512] __attribute__((aligned(4096)));
static uint64_t ts_pd_window[2][512] __attribute__((aligned(4096)));
static uint64_t ts_pt_window[2][512] __attribute__((aligned(4096)));
static uint32_t ts_window_page[2][1024] __attribute__((aligned(4096)));

static void ts_pae_tables(uint64_t *pdpt, unsigned which, uint32_t mark)
{
    const uint64_t p = 1, w = 2, ps = 1u << 7, pcd = 1u << 4;
    memset(ts_pd_window[which], 0, sizeof(ts_pd_window[which]));
    memset(ts_pt_window[which], 0, sizeof(ts_pt_window[which]));
    ts_window_page[which][0] = mark;
    ts_pt_window[which][0] = (uint32_t)ts_window_page[which] | w | p;
    ts_pd_window[which][0] = (uint32_t)ts_pt_window[which] | w | p;
    pdpt[0] = (uint32_t)ts_pd_low | p; /* a PDPTE has no R/W or U/S: reserved bits */
    pdpt[1] = (uint32_t)ts_pd_window[which] | p;
    pdpt[2] = 0;
    pdpt[3] = (uint32_t)ts_pd_top | p;
    for (uint32_t i = 0; i < 512; i++) {
        ts_pd_low[i] = ((uint64_t)i << 21) | ps | w | p;
        ts_pd_top[i] = (0xC0000000ull + ((uint64_t)i << 21)) | pcd | ps | w | p;
    }
}

/* The same task switches with PAE paging on, task B with page tables of
 * its own: each switch loads the new task's CR3 and, for PAE, its four
 * PDPTEs (the CPU translates with the PDPTEs the VMCS holds, so a CR3
 * written alone would leave B seeing the main task's window page). */
static int t_task_switch_pae(char *why)
{
    uint32_t cr0, cr4;
    __asm__ volatile("cli; mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
    CHECK(!(cr0 & CR0_PG), "paging already on (CR0 0x%x)", cr0);
    ts_pae_tables(ts_pdpt_main, 0, TS_MARK_MAIN);
    ts_pae_tables(ts_pdpt_b, 1, TS_MARK_B);
    __asm__ volatile("mov %0, %%cr4; mov %1, %%cr3; mov %2, %%cr0" ::"r"(cr4 | CR4_PAE),
                     "r"((uint32_t)ts_pdpt_main), "r"(cr0 | CR0_PG)
                     : "memory");
    uint32_t mark = *(volatile uint32_t *)TS_WINDOW;
    ts_window_on = 1;
    int r = mark == TS_MARK_MAIN ? ts_run(why, (uint32_t)ts_pdpt_b) : -1;
    ts_window_on = 0;
    __asm__ volatile("mov %0, %%cr0; mov %1, %%cr4" ::"r"(cr0), "r"(cr4) : "memory");
    CHECK(r >= 0, "PAE paging on: 0x%x at the window 0x%x, expected 0x%x", mark, TS_WINDOW, TS_MARK_MAIN);
    return r;
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
    { "task_switch: JMP, CALL/IRET, #GP and INT n through task gates switch tasks; busy TSS is #GP",
      t_task_switch },
    { "task_switch_pae: the same with PAE paging, task B with its own CR3 and PDPTEs", t_task_switch_pae },
    { "hlt_masked: STI; HLT with every source masked stops the VM", t_hlt_all_masked },
    { "apic_end: a load across the end of the LAPIC page stops the VM", t_apic_page_end },
    { "idt_mmio: an interrupt through an IDT in the IOAPIC page stops the VM", t_idt_in_mmio },
};

const struct test_group group_hostile = { "hostile", cases, sizeof(cases) / sizeof(cases[0]) };
