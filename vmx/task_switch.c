/* Hardware task switches (VM exit 9), emulated as the CPU performs them:
 * Intel SDM Vol. 3 7.3 (the steps, and table 7-1 for the checks after the
 * commit point), 26.4.2 (what the CPU checks before it exits instead) and
 * 28.2.1 (the exit qualification: TSS selector, and what started the
 * switch). Every guest memory access (GDT, LDT, both TSSs, the new task's
 * stack) goes through the guest memory layer with the guest's paging, as
 * an implicit supervisor access, like the CPU's own.
 *
 * Before the commit point a fault leaves the old task as it was: every
 * byte the switch will write or read there is checked first. After it,
 * a fault belongs to the new task and is queued for it; the segment
 * registers not loaded by then are unusable (CS and SS, which VM entry
 * cannot take unusable, keep the old task's until both are good).
 *
 * Emulated: 32-bit TSSs, from CALL, JMP, IRET (NT) and task gates in the
 * IDT (the event's error code pushed on the new task's stack). Stopped
 * with the reason: 16-bit TSSs and virtual-8086-mode tasks. Not emulated:
 * the TSS's T flag (the debug trap on entering the task: this hypervisor
 * keeps no guest debug state across exits, DR7 included) and shadow
 * stacks (CPUID does not offer CET). */
#include "task_switch.h"

#include <stddef.h>

#include "../arch/x86/regs.h"
#include "exit.h"
#include "inject.h"
#include "vcpu_mem.h"
#include "vmcs.h"

/* Exit qualification bits 31:30. */
enum ts_source { TS_CALL = 0, TS_IRET = 1, TS_JMP = 2, TS_GATE = 3 };

/* A 32-bit TSS (SDM Vol. 3 figure 7-2). */
struct tss32 {
    uint16_t link, reserved;
    uint32_t stacks[6]; /* ESP0, SS0, ESP1, SS1, ESP2, SS2: a task switch does not use them */
    uint32_t cr3, eip, eflags;
    uint32_t gpr[8]; /* EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI: enum gpr's order */
    uint32_t seg[6]; /* ES, CS, SS, DS, FS, GS in bits 15:0: enum gmem_segreg's order */
    uint32_t ldt;
    uint16_t trap, iomap;
};
_Static_assert(sizeof(struct tss32) == 0x68, "a 32-bit TSS is 104 bytes");

/* The part a switch saves in the old TSS, EIP to GS. */
#define TSS_DYNAMIC         offsetof(struct tss32, eip)
#define TSS_DYNAMIC_LEN     (offsetof(struct tss32, ldt) - TSS_DYNAMIC)
#define TSS32_MIN_LIMIT     0x67u /* the new TSS: the whole of struct tss32 */
#define OLD_TSS32_MIN_LIMIT 0x5Fu /* the old one: up to the GS it saves */

/* A descriptor's high dword (SDM Vol. 3 figure 3-8). */
#define DESC_TYPE(hi)   (((hi) >> 8) & 0xfu)
#define DESC_DPL(hi)    (((hi) >> 13) & 3u)
#define DESC_S          (1u << 12)
#define DESC_P          (1u << 15)
#define DESC_G          (1u << 23)
#define TYPE_ACCESSED   1u /* code and data */
#define TYPE_RW         2u /* data: writable; code: readable */
#define TYPE_CONFORMING 4u
#define TYPE_CODE       8u
#define TYPE_BUSY       2u /* TSS */
#define TYPE_LDT        2u
#define TYPE_TSS16      1u /* available; | TYPE_BUSY: busy */
#define TYPE_TSS32      9u
#define AR_DB           (1u << 14)
#define AR_UNUSABLE     (1u << 16)

/* Segment registers beyond enum gmem_segreg, in the same VMCS field pattern. */
#define SEG_LDTR 6u
#define SEG_TR   7u

#define RFLAGS_FIXED1     2ull
#define RFLAGS_SETTABLE   0x3F7FD5ull /* every EFLAGS bit that is not reserved */
#define DR7_LOCAL_ENABLES 0x155ull    /* L0-L3 and LE: a task switch clears them */

struct ts {
    struct vm *vm;
    struct gmem_view view;
    uint32_t ext;        /* EXT for error codes: the switch delivers a hardware event */
    struct gmem_seg ldt; /* the new task's LDT once loaded (AR_UNUSABLE before) */
};

/* A descriptor and its guest-linear address (for its accessed or busy flag). */
struct desc {
    uint32_t lo, hi;
    uint64_t addr;
};

static uint64_t desc_base(const struct desc *d)
{
    return (d->lo >> 16) | (uint64_t)(d->hi & 0xffu) << 16 | (d->hi & 0xff000000u);
}

static uint32_t desc_limit(const struct desc *d)
{
    uint32_t limit = (d->lo & 0xffffu) | (d->hi & 0xf0000u);
    return (d->hi & DESC_G) ? limit << 12 | 0xfffu : limit;
}

/* Access rights in the VMCS format: type, S, DPL, P, then AVL, L, D/B, G. */
static struct gmem_seg desc_seg(const struct desc *d)
{
    return (struct gmem_seg){ desc_base(d), desc_limit(d), (d->hi >> 8) & 0xf0ffu };
}

/* Segment register idx (enum gmem_segreg, SEG_LDTR or SEG_TR): the VMCS
 * fields of each kind are two encodings apart. */
static void write_seg(unsigned idx, uint16_t sel, const struct gmem_seg *s)
{
    vmwrite((enum vmcs_field)(GUEST_ES_SEL + 2 * idx), sel);
    vmwrite((enum vmcs_field)(GUEST_ES_BASE + 2 * idx), s->base);
    vmwrite((enum vmcs_field)(GUEST_ES_LIMIT + 2 * idx), s->limit);
    vmwrite((enum vmcs_field)(GUEST_ES_AR + 2 * idx), s->ar);
}

static void fault(struct ts *t, unsigned vector, uint16_t sel)
{
    vcpu_queue_exception(&t->vm->vcpu, vector, 1, (sel & 0xfffcu) | t->ext);
}

/* The result of a guest memory access: 0 when it was done; else -1 with
 * the fault queued, or the VM stopped for an address outside RAM. */
static int mem_result(struct ts *t, int rc, const struct gmem_fault *f, const char *what)
{
    if (rc == GMEM_OK)
        return 0;
    if (rc == GMEM_FAULT)
        vcpu_inject_fault(t->vm, f);
    else
        vm_stop(t->vm, "task switch: the %s at guest-physical 0x%llx is not guest RAM", what,
                (unsigned long long)f->gpa);
    return -1;
}

static int ts_read(struct ts *t, uint64_t linear, void *buf, size_t len, const char *what)
{
    struct gmem_fault f;
    return mem_result(t, gmem_read(&t->view, linear, buf, len, GMEM_IMPLICIT, &f), &f, what);
}

static int ts_write(struct ts *t, uint64_t linear, const void *buf, size_t len, const char *what)
{
    struct gmem_fault f;
    return mem_result(t, gmem_write_access(&t->view, linear, buf, len, GMEM_IMPLICIT, &f), &f, what);
}

/* Whether len bytes (at most a page) at linear can be accessed (access:
 * 0 or GMEM_WRITE), checked at both ends: 0, or -1 as mem_result. */
static int ts_reachable(struct ts *t, uint64_t linear, size_t len, unsigned access, const char *what)
{
    const uint64_t ends[2] = { linear, linear + len - 1 };
    for (unsigned i = 0; i < 2; i++) {
        struct gmem_fault f;
        uint64_t gpa;
        int rc = gmem_translate(&t->view, ends[i], access | GMEM_IMPLICIT, &gpa, &f);
        if (rc == GMEM_OK && gpa >= t->view.ram_size) {
            rc = GMEM_NOT_RAM;
            f.gpa = gpa;
        }
        if (mem_result(t, rc, &f, what))
            return -1;
    }
    return 0;
}

/* Sets and clears bits of a descriptor's type field in guest memory, as
 * the CPU does with the accessed and busy flags. */
static int desc_update(struct ts *t, uint64_t addr, uint8_t set, uint8_t clear, const char *what)
{
    uint8_t b, nb;
    if (ts_read(t, addr + 5, &b, 1, what))
        return -1;
    nb = (uint8_t)((b | set) & ~clear);
    return nb == b ? 0 : ts_write(t, addr + 5, &nb, 1, what);
}

enum { DESC_OK, DESC_OUTSIDE, DESC_FAILED };

/* The descriptor sel selects in the GDT, or with TI = 1 in the new task's
 * LDT. DESC_OUTSIDE: beyond the table's limit, or no LDT; DESC_FAILED:
 * the read faulted (queued) or left RAM (the VM stopped). */
static int fetch_desc(struct ts *t, uint16_t sel, struct desc *d)
{
    uint64_t base = vmread(GUEST_GDTR_BASE);
    uint32_t limit = (uint32_t)vmread(GUEST_GDTR_LIMIT), raw[2];
    if (sel & 4) {
        if (t->ldt.ar & AR_UNUSABLE)
            return DESC_OUTSIDE;
        base = t->ldt.base;
        limit = t->ldt.limit;
    }
    if ((sel & 0xfff8u) + 7u > limit)
        return DESC_OUTSIDE;
    d->addr = base + (sel & 0xfff8u);
    if (ts_read(t, d->addr, raw, sizeof(raw), "descriptor table"))
        return DESC_FAILED;
    d->lo = raw[0];
    d->hi = raw[1];
    return DESC_OK;
}

/* Checks the new task's selector for segment register idx (ES..GS or
 * SEG_LDTR) as table 7-1 says, sets the descriptor's accessed flag, and
 * gives what the register is to hold; cpl is the new CS.RPL. Returns 0,
 * or -1 with the fault queued (or the VM stopped). */
static int load_seg(struct ts *t, unsigned idx, uint16_t sel, unsigned cpl, struct gmem_seg *s)
{
    struct desc d;
    unsigned rpl = sel & 3u, not_present = NP_VECTOR;
    *s = (struct gmem_seg){ 0, 0, AR_UNUSABLE };
    if ((sel & 0xfffcu) == 0) { /* null: allowed but for CS and SS */
        if (idx == SEG_CS || idx == SEG_SS) {
            fault(t, TS_VECTOR, sel);
            return -1;
        }
        return 0;
    }
    int rc = idx == SEG_LDTR && (sel & 4) ? DESC_OUTSIDE : fetch_desc(t, sel, &d);
    if (rc == DESC_FAILED)
        return -1;
    if (rc == DESC_OUTSIDE) {
        fault(t, TS_VECTOR, sel);
        return -1;
    }
    uint32_t type = DESC_TYPE(d.hi), dpl = DESC_DPL(d.hi);
    int seg = (d.hi & DESC_S) != 0, code = seg && (type & TYPE_CODE), bad;
    if (idx == SEG_LDTR) {
        bad = seg || type != TYPE_LDT;
        not_present = TS_VECTOR;
    } else if (idx == SEG_CS) {
        bad = !code || ((type & TYPE_CONFORMING) ? dpl > rpl : dpl != rpl);
    } else if (idx == SEG_SS) {
        bad = !seg || code || !(type & TYPE_RW) || dpl != cpl || dpl != rpl;
        not_present = SS_VECTOR;
    } else { /* data, or readable code; DPL checked but for conforming code */
        bad = !seg || (code && !(type & TYPE_RW)) ||
              ((!code || !(type & TYPE_CONFORMING)) && (dpl < cpl || dpl < rpl));
    }
    if (bad) {
        fault(t, TS_VECTOR, sel);
        return -1;
    }
    if (!(d.hi & DESC_P)) {
        fault(t, not_present, sel);
        return -1;
    }
    if (seg && !(type & TYPE_ACCESSED)) {
        if (desc_update(t, d.addr, TYPE_ACCESSED, 0, "segment descriptor"))
            return -1;
        d.hi |= TYPE_ACCESSED << 8;
    }
    *s = desc_seg(&d);
    return 0;
}

/* The new task's LDTR and segment registers, LDTR first (a selector with
 * TI = 1 needs it). On a fault the registers not loaded are left unusable
 * with their new selectors, but CS and SS, which are written only once
 * both are good. Returns 0 or -1 (fault queued). */
static int load_segments(struct ts *t, const struct tss32 *n)
{
    static const unsigned data[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    unsigned cpl = n->seg[SEG_CS] & 3u, i = 0;
    struct gmem_seg cs, ss;
    int rc = load_seg(t, SEG_LDTR, (uint16_t)n->ldt, 0, &t->ldt);
    write_seg(SEG_LDTR, (uint16_t)n->ldt, &t->ldt);
    if (!rc && !(rc = load_seg(t, SEG_CS, (uint16_t)n->seg[SEG_CS], cpl, &cs)) &&
        !(rc = load_seg(t, SEG_SS, (uint16_t)n->seg[SEG_SS], cpl, &ss))) {
        write_seg(SEG_CS, (uint16_t)n->seg[SEG_CS], &cs);
        write_seg(SEG_SS, (uint16_t)n->seg[SEG_SS], &ss);
    }
    for (; !rc && i < sizeof(data) / sizeof(data[0]); i++) {
        struct gmem_seg s;
        rc = load_seg(t, data[i], (uint16_t)n->seg[data[i]], cpl, &s);
        write_seg(data[i], (uint16_t)n->seg[data[i]], &s);
    }
    for (; i < sizeof(data) / sizeof(data[0]); i++)
        write_seg(data[i], (uint16_t)n->seg[data[i]], &(struct gmem_seg){ 0, 0, AR_UNUSABLE });
    return rc;
}

/* Pushes the delivered event's error code on the new task's stack (a
 * 32-bit push: the TSS is 32-bit), through SS with the new paging. */
static void push_error_code(struct ts *t, uint32_t error)
{
    struct gmem_seg ss;
    struct gmem_fault f;
    uint64_t linear, rsp = vmread(GUEST_RSP);
    vcpu_mem_view(t->vm, &t->view); /* the new CPL */
    vcpu_mem_seg(SEG_SS, &ss);
    uint64_t mask = (ss.ar & AR_DB) ? 0xffffffffull : 0xffffull, sp = (rsp - 4) & mask;
    int rc = gmem_seg_linear(SEG_SS, &ss, 0, (ss.ar & AR_DB) ? 4 : 2, sp, 4, GMEM_WRITE, &linear, &f);
    if (rc == GMEM_OK)
        rc = gmem_write(&t->view, linear, &error, 4, &f);
    if (mem_result(t, rc, &f, "new task's stack"))
        return;
    vmwrite(GUEST_RSP, (rsp & ~mask) | sp);
}

/* The checks the CPU made on the new TSS descriptor before it exited
 * (SDM 26.4.2), made again on what guest memory holds now. Returns 0, or
 * -1 with the fault queued or the VM stopped. */
static int check_new_tss(struct ts *t, enum ts_source src, uint16_t sel, struct desc *d)
{
    /* A bad TSS selector or descriptor is #GP for CALL and JMP, #TS for
     * IRET's back link and a task gate's selector. */
    unsigned bad = (src == TS_IRET || src == TS_GATE) ? TS_VECTOR : GP_VECTOR;
    int rc = (sel & 4) ? DESC_OUTSIDE : fetch_desc(t, sel, d);
    if (rc == DESC_FAILED)
        return -1;
    uint32_t type = rc == DESC_OK ? DESC_TYPE(d->hi) & ~TYPE_BUSY : 0;
    uint32_t busy = rc == DESC_OK ? DESC_TYPE(d->hi) & TYPE_BUSY : 0;
    if (rc == DESC_OUTSIDE || (d->hi & DESC_S) || (type != TYPE_TSS16 && type != TYPE_TSS32)) {
        fault(t, bad, sel);
        return -1;
    }
    if (type == TYPE_TSS16) {
        vm_stop(t->vm, "16-bit TSS task switch not emulated (TSS selector 0x%04x)", sel);
        return -1;
    }
    /* IRET returns to a busy task; anything else needs an available one. */
    if (src == TS_IRET && !busy) {
        fault(t, TS_VECTOR, sel);
        return -1;
    }
    if (src != TS_IRET && busy) {
        fault(t, GP_VECTOR, sel);
        return -1;
    }
    if (!(d->hi & DESC_P)) {
        fault(t, NP_VECTOR, sel);
        return -1;
    }
    if (desc_limit(d) < TSS32_MIN_LIMIT) {
        fault(t, TS_VECTOR, sel);
        return -1;
    }
    return 0;
}

/* The old task's state as the TSS holds it, EIP to GS. */
static void old_state(const struct vm *vm, uint64_t eip, uint64_t eflags, struct tss32 *o)
{
    const uint64_t *g = vm->vcpu.regs.gpr;
    o->eip = (uint32_t)eip;
    o->eflags = (uint32_t)eflags;
    for (unsigned r = 0; r < 8; r++)
        o->gpr[r] = (uint32_t)(r == RSP_UNUSED ? vmread(GUEST_RSP) : g[r]);
    for (unsigned s = 0; s < 6; s++)
        o->seg[s] = (uint32_t)vmread((enum vmcs_field)(GUEST_ES_SEL + 2 * s));
}

/* After the commit point: the new task's registers, flags and paging, and
 * what a switch does to CR0.TS, DR7 and event blocking. */
static void load_new_state(struct vm *vm, enum ts_source src, int nmi, const struct tss32 *n)
{
    uint64_t *g = vm->vcpu.regs.gpr;
    int nested = src == TS_CALL || src == TS_GATE;
    vmwrite(GUEST_RFLAGS, (n->eflags & RFLAGS_SETTABLE) | RFLAGS_FIXED1 | (nested ? RFLAGS_NT : 0));
    vmwrite(GUEST_RIP, n->eip);
    for (unsigned r = 0; r < 8; r++) {
        if (r == RSP_UNUSED)
            vmwrite(GUEST_RSP, n->gpr[r]);
        else
            g[r] = n->gpr[r];
    }
    /* CR0.TS as the guest sees it and as the CPU has it: the guest's next
     * x87/SSE instruction is #NM either way. */
    vmwrite(GUEST_CR0, vmread(GUEST_CR0) | CR0_TS);
    vmwrite(CR0_READ_SHADOW, vmread(CR0_READ_SHADOW) | CR0_TS);
    /* The local breakpoints end with the task (the VMCS copy of DR7: VM
     * entry loads it where the entry controls load debug controls). */
    vmwrite(GUEST_DR7, vmread(GUEST_DR7) & ~DR7_LOCAL_ENABLES);
    /* The new task starts outside any STI or MOV SS shadow; an NMI
     * delivered through the gate blocks NMIs, an IRET ends the blocking. */
    uint64_t intr = vmread(GUEST_INTERRUPTIBILITY) & ~(uint64_t)INTERRUPTIBILITY_STI_MOVSS;
    if (nmi)
        intr |= INTERRUPTIBILITY_NMI;
    if (src == TS_IRET)
        intr &= ~(uint64_t)INTERRUPTIBILITY_NMI;
    vmwrite(GUEST_INTERRUPTIBILITY, intr);
}

void vm_task_switch(struct vm *vm)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    uint16_t sel = (uint16_t)q;
    enum ts_source src = (enum ts_source)((q >> 30) & 3);
    uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO), type = idt & INTR_TYPE_MASK;
    int event = (idt & INTR_INFO_VALID) != 0;
    struct ts t = { .vm = vm, .ldt = { 0, 0, AR_UNUSABLE } };

    if (vmread(GUEST_EFER) & EFER_LMA) {
        vm_stop(vm, "task switch exit in IA-32e mode (the CPU raises #GP there instead)");
        vm_dump_guest(vm);
        return;
    }
    if (event != (src == TS_GATE)) {
        vm_stop(vm, "task switch (source %u, TSS selector 0x%04x) %s IDT-vectoring information 0x%x",
                (unsigned)src, sel, event ? "with unexpected" : "through an IDT task gate without", idt);
        vm_dump_guest(vm);
        return;
    }
    int software = type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_SW_EXCEPTION ||
                   type == INTR_TYPE_PRIV_SW_EXCEPTION;
    t.ext = event && type != INTR_TYPE_SW_INTERRUPT && type != INTR_TYPE_SW_EXCEPTION;
    vcpu_mem_view(vm, &t.view);

    /* The exit comes before a CALL, JMP, IRET or INT n / INT3 / INTO /
     * INT1 completes: the old task resumes after it. A fault resumes at
     * the faulting instruction, an interrupted task where it was. */
    uint64_t eip = vmread(GUEST_RIP);
    if (!event || software)
        eip += vmread(EXIT_INSTR_LEN);

    struct desc nd;
    if (check_new_tss(&t, src, sel, &nd))
        return;
    uint16_t old_sel = (uint16_t)vmread(GUEST_TR_SEL);
    uint64_t old_base = vmread(GUEST_TR_BASE), gdt = vmread(GUEST_GDTR_BASE);
    uint64_t old_desc = gdt + (old_sel & 0xfff8u), new_base = desc_base(&nd);
    if ((vmread(GUEST_TR_AR) & 0xf) == (TYPE_TSS16 | TYPE_BUSY)) {
        vm_stop(vm, "16-bit TSS task switch not emulated (the current task's TSS, selector 0x%04x)", old_sel);
        return;
    }
    if (vmread(GUEST_TR_LIMIT) < OLD_TSS32_MIN_LIMIT) {
        fault(&t, TS_VECTOR, old_sel);
        return;
    }
    /* JMP and IRET leave the old task (its busy flag clears); CALL and a
     * gate nest the new one in it (back link, NT). Every byte the switch
     * touches before its commit point is checked first, so that a fault
     * leaves the old task as it was. */
    int leaves = src == TS_JMP || src == TS_IRET, nests = src == TS_CALL || src == TS_GATE;
    if (ts_reachable(&t, old_base + TSS_DYNAMIC, TSS_DYNAMIC_LEN, GMEM_WRITE, "old TSS") ||
        ts_reachable(&t, new_base, sizeof(struct tss32), 0, "new TSS") ||
        (nests && ts_reachable(&t, new_base, 2, GMEM_WRITE, "new TSS")) ||
        (leaves && ts_reachable(&t, old_desc + 5, 1, GMEM_WRITE, "old TSS descriptor")) ||
        (src != TS_IRET && ts_reachable(&t, nd.addr + 5, 1, GMEM_WRITE, "new TSS descriptor")))
        return;

    /* IRET clears NT in the flags the old task keeps. */
    struct tss32 o, n;
    uint64_t eflags = vmread(GUEST_RFLAGS) & ~(src == TS_IRET ? RFLAGS_NT : 0);
    old_state(vm, eip, eflags, &o);
    if (ts_write(&t, old_base + TSS_DYNAMIC, (const uint8_t *)&o + TSS_DYNAMIC, TSS_DYNAMIC_LEN, "old TSS") ||
        (leaves && desc_update(&t, old_desc, 0, TYPE_BUSY, "old TSS descriptor")) ||
        ts_read(&t, new_base, &n, sizeof(n), "new TSS"))
        return;
    if (n.eflags & RFLAGS_VM) {
        vm_stop(vm, "task switch to a virtual-8086-mode task not emulated (TSS selector 0x%04x)", sel);
        return;
    }
    if (nests && ts_write(&t, new_base, &old_sel, sizeof(old_sel), "new TSS"))
        return;
    if (src != TS_IRET && desc_update(&t, nd.addr, TYPE_BUSY, 0, "new TSS descriptor"))
        return;

    /* Commit point: the new task runs from here on, and a fault is its. */
    nd.hi |= TYPE_BUSY << 8;
    struct gmem_seg tr = desc_seg(&nd);
    write_seg(SEG_TR, sel, &tr);
    load_new_state(vm, src, event && type == INTR_TYPE_NMI, &n);
    if ((vcpu_cr0() & CR0_PG) && vcpu_load_cr3(vm, n.cr3))
        return;
    vcpu_mem_view(vm, &t.view); /* descriptors are read with the new paging */
    if (load_segments(&t, &n))
        return;
    if (n.eip > vmread(GUEST_CS_LIMIT)) {
        vcpu_queue_exception(&vm->vcpu, GP_VECTOR, 1, 0);
        return;
    }
    if (event && (idt & INTR_INFO_HAS_ERROR))
        push_error_code(&t, (uint32_t)vmread(IDT_VECTORING_ERROR));
}
