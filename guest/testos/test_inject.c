/* Group "inject": how events enter the guest - interrupt shadows, IF,
 * software interrupts, exceptions with error codes, and an event whose
 * delivery was interrupted by a VM exit (re-injected exactly once). */
#include "testos.h"

/* IRQ 0 pending at vector 0x40 through IOAPIC pin 2, with IF=0. */
static void make_pending(void)
{
    legacy_reset(0);
    ioapic_route(2, 0x40, 0);
    pit_program(0, 0, 100);
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(1))
        ;
}

extern char sti_shadow_next[], sti_shadow_after[];

static int t_sti_shadow(char *why)
{
    make_pending();
    CHECK(irqlog.count[0x40] == 0, "delivered with IF=0");
    /* The interrupt must arrive after the instruction following STI. */
    __asm__ volatile("sti\n\t"
                     "nop\n\t"
                     ".globl sti_shadow_next\nsti_shadow_next:\n\t"
                     "nop\n\t"
                     ".globl sti_shadow_after\nsti_shadow_after:\n\t"
                     "cli" ::
                         : "memory");
    CHECK(irqlog.count[0x40] == 1, "delivered %u times", irqlog.count[0x40]);
    CHECK(irqlog.last_eip[0x40] == (uint32_t)sti_shadow_next,
          "interrupted at 0x%x, expected 0x%x (one instruction after STI)", irqlog.last_eip[0x40],
          (uint32_t)sti_shadow_next);
    return 0;
}

static int t_if0_holds(char *why)
{
    make_pending();
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms_ticks(2))
        ;
    CHECK(irqlog.count[0x40] == 0, "delivered while IF=0");
    sti();
    __asm__ volatile("nop");
    cli();
    CHECK(irqlog.count[0x40] == 1, "not delivered after STI (%u)", irqlog.count[0x40]);
    return 0;
}

extern char movss_after[];
static int t_mov_ss_shadow(char *why)
{
    make_pending();
    /* MOV SS blocks interrupts for one instruction too; the exit for the
     * pending interrupt must not break it. */
    __asm__ volatile("sti\n\t"
                     "nop\n\t"
                     "cli\n\t" ::
                         : "memory");
    CHECK(irqlog.count[0x40] == 1, "setup: first interrupt not delivered");
    irqlog_reset();
    make_pending();
    /* STI's shadow covers the MOV SS, whose own shadow covers the NOP:
     * the interrupt may only arrive before the CLI. */
    __asm__ volatile("mov %%ss, %%ax\n\t"
                     "sti\n\t"
                     "mov %%ax, %%ss\n\t"
                     "nop\n\t"
                     ".globl movss_after\nmovss_after:\n\t"
                     "cli" ::
                         : "eax", "memory");
    CHECK(irqlog.count[0x40] == 1, "delivered %u times", irqlog.count[0x40]);
    CHECK(irqlog.last_eip[0x40] == (uint32_t)movss_after,
          "interrupted at 0x%x, expected 0x%x (after the MOV SS shadow)", irqlog.last_eip[0x40],
          (uint32_t)movss_after);
    return 0;
}

static int t_software_int(char *why)
{
    irqlog_reset();
    __asm__ volatile("int $0x81");
    __asm__ volatile("int $0x81");
    CHECK(irqlog.count[0x81] == 2, "INT 0x81 handled %u times", irqlog.count[0x81]);
    return 0;
}

static int t_exception_error_code(char *why)
{
    /* Loading DS with a selector beyond the GDT: #GP with the selector as
     * the error code, delivered by the CPU inside the guest. */
    trap_arm(2);
    __asm__ volatile("mov $0x1234, %%ax\n\tmov %%ax, %%ds" ::: "eax"); /* mov ds,ax is 2 bytes */
    trap_disarm();
    __asm__ volatile("mov $0x10, %%ax\n\tmov %%ax, %%ds" ::: "eax");
    CHECK(last_trap.taken == 1 && last_trap.vector == 13, "%d traps, vector %u", last_trap.taken,
          last_trap.vector);
    /* The error code is the selector without its RPL bits: index and TI. */
    CHECK(last_trap.error == 0x1234, "error code 0x%x, expected 0x1234", last_trap.error);
    /* And one the hypervisor injects: #GP(0) for an unknown MSR. */
    uint64_t v;
    CHECK(safe_rdmsr(0xdead, &v) == -1 && last_trap.error == 0, "injected #GP error 0x%x", last_trap.error);
    return 0;
}

/* The stack sits on a 2 MiB region the hypervisor unmaps from the EPT:
 * pushing the interrupt frame faults in the middle of delivery (an EPT
 * violation with IDT-vectoring information), the hypervisor maps it back
 * and re-injects the event, which must then run exactly once. */
static int run_on_unmapped_stack(uint32_t stack_top, int software)
{
    if (hypercall(HC_TEST_UNMAP, stack_top - 16) != 0)
        return -1;
    /* Each block switches the stack and back by itself: compiled code in
     * between could address locals through ESP. */
    if (software)
        __asm__ volatile("mov %%esp, %%ebx\n\tmov %0, %%esp\n\t"
                         "int $0x82\n\t"
                         "mov %%ebx, %%esp" ::"r"(stack_top)
                         : "ebx", "memory");
    else
        __asm__ volatile("mov %%esp, %%ebx\n\tmov %0, %%esp\n\t"
                         "sti\n\tnop\n\tnop\n\tcli\n\t"
                         "mov %%ebx, %%esp" ::"r"(stack_top)
                         : "ebx", "memory");
    return 0;
}

static int t_reinject_after_exit_in_delivery(char *why)
{
    uint32_t ram = boot.ram_mb_expected << 20;
    CHECK(ram >= (8u << 20), "needs ram_mb= on the command line");
    uint32_t before = hypercall(HC_TEST_REINJECTED, 0);
    irqlog_reset();
    CHECK(run_on_unmapped_stack(ram - 0x1000, 1) == 0, "the unmap hypercall failed");
    uint32_t mid = hypercall(HC_TEST_REINJECTED, 0);
    CHECK(irqlog.count[0x82] == 1, "INT 0x82 handled %u times", irqlog.count[0x82]);
    CHECK(mid == before + 1, "re-injections %u -> %u: the delivery did not exit", before, mid);
    make_pending();
    CHECK(run_on_unmapped_stack(ram - 0x1000, 0) == 0, "the unmap hypercall failed");
    CHECK(irqlog.count[0x40] == 1,
          "external interrupt handled %u times (re-injections %u -> %u, "
          "ISR 0x40 %d, IRR 0x40 %d)",
          irqlog.count[0x40], mid, hypercall(HC_TEST_REINJECTED, 0), lapic_in_service(0x40),
          lapic_in_irr(0x40));
    CHECK(hypercall(HC_TEST_REINJECTED, 0) == mid + 1, "the external interrupt was not re-injected");
    return 0;
}

static int t_nmi_ignores_if(char *why)
{
    legacy_reset(0);
    ioapic_route(2, 0x400, 0); /* pin 2: delivery mode NMI */
    pit_fire_oneshot();        /* IF=0 throughout */
    CHECK(irqlog.count[2] == 1, "NMI delivered %u times with IF=0", irqlog.count[2]);
    CHECK(irqlog.n == 1, "%u events instead of one NMI", irqlog.n);
    ioapic_route(2, 0x10000, 0);
    return 0;
}

/* ---- NMIs where the entry path must take care ---- */

/* A self-NMI: ICR to APIC ID 0, delivery mode NMI (an APIC-write exit with
 * APIC virtualization, an MMIO exit on the software path). */
#define ICR_NMI 0x400u

static uint32_t end_of_ram(void) { return boot.ram_mb_expected << 20; }

extern char nmi_shadow_next[];

/* An NMI arrives at an exit taken in an STI shadow (the instruction after
 * STI touches a page the hypervisor unmapped, and the NMI comes with that
 * exit). An NMI window there would, on CPUs whose NMI window ignores
 * blocking by STI, exit at once and forever; the NMI must come after the
 * shadowed instruction, as blocking by STI holds NMIs on such CPUs. */
static int t_nmi_in_sti_shadow(char *why)
{
    uint32_t ram = end_of_ram();
    CHECK(ram >= (8u << 20), "needs ram_mb= on the command line");
    legacy_reset(0);
    irqlog_reset();
    volatile uint32_t *p = (volatile uint32_t *)(ram - 0x2000);
    uint32_t r;
    __asm__ volatile("vmcall"
                     : "=a"(r)
                     : "a"(HC_TEST_UNMAP), "b"((uint32_t)p), "c"(HC_TEST_UNMAP_NMI)
                     : "memory");
    CHECK(r == 0, "the unmap hypercall failed (0x%x)", r);
    __asm__ volatile("sti\n\t"
                     "mov (%0), %%eax\n\t"
                     ".globl nmi_shadow_next\nnmi_shadow_next:\n\t"
                     "nop\n\t"
                     "cli" ::"r"(p)
                     : "eax", "memory");
    CHECK(irqlog.count[2] == 1, "%u NMIs (expected the one)", irqlog.count[2]);
    CHECK(irqlog.last_eip[2] == (uint32_t)nmi_shadow_next,
          "the NMI interrupted 0x%x, expected 0x%x (after the instruction in the STI shadow)",
          irqlog.last_eip[2], (uint32_t)nmi_shadow_next);
    return 0;
}

static volatile uint32_t nmi_depth, nmi_max_depth, nmi_self_sent;
static void nmi_sends_another(uint32_t v)
{
    (void)v;
    if (++nmi_depth > nmi_max_depth)
        nmi_max_depth = nmi_depth;
    if (!nmi_self_sent) {
        nmi_self_sent = 1;
        lapic_write(0x310, 0);
        lapic_write(0x300, ICR_NMI);
        /* exits, each a chance to inject the second NMI too early */
        uint32_t r[4];
        for (int i = 0; i < 4; i++)
            cpuid(0, 0, r);
    }
    nmi_depth--;
}

/* An NMI raised inside the NMI handler waits for its IRET (virtual-NMI
 * blocking, the NMI window), then runs: never nested. */
static int t_nmi_in_nmi_handler(char *why)
{
    legacy_reset(0);
    irqlog_reset();
    nmi_depth = nmi_max_depth = nmi_self_sent = 0;
    irq_hook[2] = nmi_sends_another;
    lapic_write(0x310, 0);
    lapic_write(0x300, ICR_NMI);
    uint64_t t = rdtsc();
    while (irqlog.count[2] < 2 && rdtsc() - t < ms_ticks(5))
        ;
    irq_hook[2] = 0;
    CHECK(irqlog.count[2] == 2, "%u NMIs, expected 2 (the second sent from the first's handler)",
          irqlog.count[2]);
    CHECK(nmi_max_depth == 1, "NMI handlers nested %u deep", nmi_max_depth);
    return 0;
}

extern char nmi_stack_sent[];

/* The NMI's delivery pushes its frame onto a stack page the hypervisor
 * unmapped: an EPT violation with the NMI in IDT-vectoring information.
 * The NMI goes in again, blocking by NMI cleared as VM entry demands,
 * and runs exactly once. */
static int t_nmi_delivery_faults(char *why)
{
    uint32_t ram = end_of_ram();
    CHECK(ram >= (8u << 20), "needs ram_mb= on the command line");
    legacy_reset(0);
    irqlog_reset();
    uint32_t before = hypercall(HC_TEST_REINJECTED, 0);
    uint32_t top = ram - 0x1000;
    CHECK(hypercall(HC_TEST_UNMAP, top - 16) == 0, "the unmap hypercall failed");
    lapic_write(0x310, 0);
    volatile uint32_t *icr = (volatile uint32_t *)(LAPIC_BASE + 0x300);
    __asm__ volatile("mov %%esp, %%ebx\n\tmov %0, %%esp\n\t"
                     "movl %2, (%1)\n\t"
                     ".globl nmi_stack_sent\nnmi_stack_sent:\n\t"
                     "nop\n\tnop\n\t"
                     "mov %%ebx, %%esp" ::"r"(top),
                     "r"(icr), "i"(ICR_NMI)
                     : "ebx", "memory");
    uint32_t after = hypercall(HC_TEST_REINJECTED, 0);
    CHECK(irqlog.count[2] == 1, "%u NMIs, expected 1", irqlog.count[2]);
    CHECK(after == before + 1, "re-injections %u -> %u: the NMI's delivery did not exit", before, after);
    CHECK(irqlog.last_eip[2] == (uint32_t)nmi_stack_sent, "the NMI interrupted 0x%x, expected 0x%x",
          irqlog.last_eip[2], (uint32_t)nmi_stack_sent);
    return 0;
}

/* ---- A physical interrupt while a virtual one waits for IF=1 ---- */

#define VID_VECTOR 0x51

extern char phys_sti_next[];

/* With IF=0 a self-IPI is pending (with virtual-interrupt delivery it waits
 * in RVI), and the hypervisor makes a physical interrupt pending for the
 * next VM entry (HC_TEST_PHYS_INTR). The physical interrupt must cause an
 * external-interrupt exit; the virtual one still waits for IF=1 (SDM vol. 3
 * "Delivery of Pending Virtual Interrupts": recognized only with RFLAGS.IF=1
 * and no blocking by STI or MOV SS). Bochs 3.0 delivered the virtual
 * interrupt instead, with IF=0 (Bochs bug F): Debian's Linux then entered its
 * serial interrupt handler while holding the port lock, and deadlocked. */
static int t_phys_intr_keeps_virtual_masked(char *why)
{
    legacy_reset(0);
    irqlog_reset();
    lapic_self_ipi(VID_VECTOR);
    uint32_t before = hypercall(HC_TEST_PHYS_INTR, 1);
    CHECK(before != HC_UNKNOWN_RESULT, "HC_TEST_PHYS_INTR refused (test_hooks = on?)");
    __asm__ volatile("nop\n\tnop\n\tnop\n\tnop" ::: "memory");
    uint32_t with_if0 = irqlog.count[VID_VECTOR], at = irqlog.last_eip[VID_VECTOR];
    uint32_t after = hypercall(HC_TEST_PHYS_INTR, 0);
    __asm__ volatile("sti\n\t"
                     "nop\n\t"
                     ".globl phys_sti_next\nphys_sti_next:\n\t"
                     "nop\n\t"
                     "cli" ::
                         : "memory");
    CHECK(with_if0 == 0, "vector 0x%x delivered with IF=0 (%u times, at 0x%x)", VID_VECTOR, with_if0, at);
    CHECK(after == before + 1, "physical interrupts at exits %u -> %u: the test interrupt did not exit",
          before, after);
    CHECK(irqlog.count[VID_VECTOR] == 1, "vector 0x%x delivered %u times in all", VID_VECTOR,
          irqlog.count[VID_VECTOR]);
    CHECK(irqlog.last_eip[VID_VECTOR] == (uint32_t)phys_sti_next,
          "vector 0x%x interrupted 0x%x, expected 0x%x (one instruction after STI)", VID_VECTOR,
          irqlog.last_eip[VID_VECTOR], (uint32_t)phys_sti_next);
    return 0;
}

/* The debug cases' verdict: exactly one #DB since trap_arm(), at `at`
 * (what it should follow: `where`), with `dr6_bit` set in DR6. */
static int expect_one_db(char *why, uint32_t at, const char *where, uint32_t dr6_bit)
{
    CHECK(last_trap.taken == 1 && last_trap.vector == 1, "%d traps (vector %u), expected one #DB",
          last_trap.taken, last_trap.vector);
    CHECK(last_trap.eip == at, "#DB at 0x%x, expected 0x%x, %s", last_trap.eip, at, where);
    CHECK(last_trap.dr6 & dr6_bit, "DR6 0x%x lacks 0x%x", last_trap.dr6, dr6_bit);
    return 0;
}

/* A hardware breakpoint the guest set survives a VM exit: DR0 on the
 * instruction after a VMCALL (an exit the hypervisor handles) must still
 * fire. VM exits load DR7 with 0x400; only the "save/load debug controls"
 * VM-exit and VM-entry controls carry the guest's DR7 across (found by
 * kvm-unit-tests debug, "Wanted #DB ... got 0 #DBs"). */
static int t_breakpoint_survives_exit(char *why)
{
    uint32_t at = 0;
    trap_arm(0);
    __asm__ volatile("movl $1f, %%eax\n\t"
                     "movl %%eax, %%dr0\n\t"
                     "movl $0x401, %%eax\n\t" /* L0: DR0, instruction execution */
                     "movl %%eax, %%dr7\n\t"
                     "xorl %%eax, %%eax\n\t" /* the version hypercall: a VM exit */
                     "vmcall\n\t"
                     "1: nop\n\t"
                     "movl $1b, %0\n\t"
                     "movl $0x400, %%eax\n\t"
                     "movl %%eax, %%dr7"
                     : "=m"(at)
                     :
                     : "eax", "ebx", "ecx", "edx", "memory");
    trap_disarm();
    return expect_one_db(why, at, "the breakpoint (B0)", 1);
}

/* Single-stepping over an instruction the hypervisor emulates (CPUID
 * exits): the #DB comes right after it, with DR6.BS, as after any other
 * instruction. The hypervisor skips the instruction, so it must make the
 * trap pending itself (BS in the pending debug exceptions); else the trap
 * came one instruction late (kvm-unit-tests debug, "Single-step #DB on
 * emulated instructions"). */
static int t_single_step_emulated(char *why)
{
    uint32_t at = 0, a = 0, b, c = 0, d;
    __asm__ volatile("movl %0, %%dr6" ::"r"(0xffff0ff0u));
    trap_arm(0);
    __asm__ volatile("pushfl\n\t"
                     "orl $0x100, (%%esp)\n\t" /* TF: a #DB after each instruction from the next on */
                     "popfl\n\t"
                     "cpuid\n\t"
                     "1: nop\n\t"
                     "nop\n\t"
                     "movl $1b, %4"
                     : "+a"(a), "=b"(b), "+c"(c), "=d"(d), "=m"(at)
                     :
                     : "memory");
    trap_disarm();
    return expect_one_db(why, at, "right after the CPUID (BS)", 0x4000);
}

/* Single-stepping HLT: the interrupt that ends the halt comes after the
 * #DB of the step (a trap of the previous instruction ranks above an
 * interrupt). On the software path the hypervisor injects that interrupt,
 * and an injection discards pending debug exceptions: it must wait behind
 * the interrupt window instead (event_arbitrate's debug_trap; kvm-unit-tests
 * debug, "Single-step #DB w/ STI;HLT"). */
static int t_single_step_hlt(char *why)
{
    uint32_t at = 0;
    legacy_reset(0);
    irqlog_reset();
    lapic_write(0x80, 0);     /* TPR: let vector 0x41 in */
    lapic_write(0x3E0, 0xB);  /* divide by 1 */
    lapic_write(0x320, 0x41); /* one shot, vector 0x41 */
    __asm__ volatile("movl %0, %%dr6" ::"r"(0xffff0ff0u));
    trap_arm(0);
    lapic_write(0x380, (uint32_t)lapic_timer_khz()); /* 1 ms */
    __asm__ volatile("sti\n\t"
                     "pushfl\n\t"
                     "orl $0x100, (%%esp)\n\t" /* TF: the step is the HLT */
                     "popfl\n\t"
                     "hlt\n\t"
                     "1: nop\n\t"
                     "cli\n\t"
                     "movl $1b, %0"
                     : "=m"(at)
                     :
                     : "memory");
    trap_disarm();
    lapic_write(0x320, 0x10000);
    CHECK(irqlog.count[0x41] == 1, "the timer interrupt that ends the HLT arrived %u times",
          irqlog.count[0x41]);
    if (expect_one_db(why, at, "right after the HLT (BS)", 0x4000))
        return 1;
    CHECK(irqlog.last_eip[0x41] == at, "the interrupt hit 0x%x, expected 0x%x (after the #DB's IRET)",
          irqlog.last_eip[0x41], at);
    return 0;
}

static const struct test_case cases[] = {
    { "STI shadow: the interrupt arrives one instruction after STI", t_sti_shadow },
    { "IF=0 holds a pending interrupt until STI", t_if0_holds },
    { "MOV SS shadow respected", t_mov_ss_shadow },
    { "software INT n through the guest IDT", t_software_int },
    { "exceptions with error codes (native and injected)", t_exception_error_code },
    { "event interrupted by an exit during delivery: re-injected once", t_reinject_after_exit_in_delivery },
    { "an NMI (IOAPIC delivery mode NMI) arrives with IF=0", t_nmi_ignores_if },
    { "an NMI at an exit in an STI shadow comes after the shadowed instruction", t_nmi_in_sti_shadow },
    { "an NMI sent from the NMI handler waits for its IRET", t_nmi_in_nmi_handler },
    { "an NMI whose delivery faults (stack unmapped) goes in again, once", t_nmi_delivery_faults },
    { "a physical interrupt exits; a pending virtual one still waits for IF=1",
      t_phys_intr_keeps_virtual_masked },
    { "a hardware breakpoint set before a VM exit fires after it", t_breakpoint_survives_exit },
    { "single-step over an emulated instruction traps right after it", t_single_step_emulated },
    { "single-step over HLT: the #DB comes before the interrupt that wakes it", t_single_step_hlt },
};

const struct test_group group_inject = { "inject", cases, sizeof(cases) / sizeof(cases[0]) };
