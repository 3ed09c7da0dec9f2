#include "mmio.h"

#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../boot/platform.h"
#include "../drivers/log.h"
#include "decode.h"
#include "exit.h"
#include "pcibus.h"
#include "vcpu_mem.h"
#include "vmcs.h"

/* A trapped register page: 32-bit registers at byte offsets, or a device
 * that takes each access whole (sized, for 64-bit registers). */
struct mmio_dev {
    const char *name;
    uint32_t (*read)(struct vm *vm, uint64_t off);
    void (*write)(struct vm *vm, uint64_t off, uint32_t v);
    uint64_t (*read_sized)(struct vm *vm, uint64_t off, unsigned size);
    void (*write_sized)(struct vm *vm, uint64_t off, unsigned size, uint64_t v);
};

static uint32_t ioapic_read(struct vm *vm, uint64_t off) { return vioapic_mmio_read(&vm->irq.ioapic, off); }

static void ioapic_write(struct vm *vm, uint64_t off, uint32_t v)
{
    vioapic_mmio_write(&vm->irq.ioapic, off, v);
}

static uint32_t lapic_read(struct vm *vm, uint64_t off)
{
    uint32_t v = 0;
    vlapic_mmio_read(&vm->vcpu.lapic, (uint32_t)off, &v);
    return v;
}

static void lapic_write(struct vm *vm, uint64_t off, uint32_t v)
{
    vlapic_mmio_write(&vm->vcpu.lapic, (uint32_t)off, v);
}

/* The APIC page while the LAPIC is in x2APIC mode or disabled: the SDM says
 * it then behaves like no APIC at all (reads all ones, writes go nowhere). */
static uint32_t absent_read(struct vm *vm, uint64_t off)
{
    (void)vm;
    (void)off;
    return 0xffffffffu;
}

static void absent_write(struct vm *vm, uint64_t off, uint32_t v)
{
    (void)vm;
    (void)off;
    (void)v;
}

/* The HPET takes 4- and 8-byte accesses whole (its main counter is one
 * 64-bit read); what the spec leaves undefined reads 0 and is logged. */
static uint64_t hpet_read(struct vm *vm, uint64_t off, unsigned size)
{
    uint64_t v;
    if (vhpet_mmio_read(&vm->hpet, off, size, &v))
        guest_event(vm, GUEST_HPET_ACCESS, "vmx",
                    "guest HPET read of %u bytes at offset 0x%llx: "
                    "not a register (4- or 8-byte aligned accesses only); reads 0",
                    size, (unsigned long long)off);
    return v;
}

static void hpet_write(struct vm *vm, uint64_t off, unsigned size, uint64_t v)
{
    if (vhpet_mmio_write(&vm->hpet, off, size, v))
        guest_event(vm, GUEST_HPET_ACCESS, "vmx",
                    "guest HPET write of %u bytes at offset 0x%llx "
                    "(0x%llx) ignored: not a register, an odd width, a route the comparator lacks, "
                    "or the main counter while it runs",
                    size, (unsigned long long)off, (unsigned long long)v);
}

static const struct mmio_dev ioapic_dev = { "IOAPIC", ioapic_read, ioapic_write, 0, 0 };
static const struct mmio_dev lapic_dev = { "LAPIC", lapic_read, lapic_write, 0, 0 };
static const struct mmio_dev absent_dev = { "APIC page, LAPIC not in xAPIC mode", absent_read, absent_write,
                                            0, 0 };
static const struct mmio_dev hpet_dev = { "HPET", 0, 0, hpet_read, hpet_write };
/* The PCI bus (ECAM, BARs) takes guest-physical addresses: its base is 0. */
static const struct mmio_dev pci_dev = { "PCI", 0, 0, vm_pci_mmio_read, vm_pci_mmio_write };

/* Reads `size` bytes (1, 2, 4 or 8) at a byte offset of the 32-bit register
 * file: narrower accesses see part of a register, 8-byte ones two. */
static uint64_t mmio_read(struct vm *vm, const struct mmio_dev *d, uint64_t off, unsigned size)
{
    if (d->read_sized)
        return d->read_sized(vm, off, size);
    uint64_t aligned = off & ~3ull;
    uint64_t v = d->read(vm, aligned);
    if (size == 8)
        v |= (uint64_t)d->read(vm, aligned + 4) << 32;
    v >>= 8 * (off & 3);
    return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static void mmio_write(struct vm *vm, const struct mmio_dev *d, uint64_t off, unsigned size, uint64_t v)
{
    if (d->write_sized) {
        d->write_sized(vm, off, size, v);
        return;
    }
    uint64_t aligned = off & ~3ull;
    if (size >= 4) {
        d->write(vm, aligned, (uint32_t)v);
        if (size == 8)
            d->write(vm, aligned + 4, (uint32_t)(v >> 32));
        return;
    }
    /* A byte or word store merges into the register (IOREGSEL is often
     * written with a byte store). */
    unsigned shift = 8 * (unsigned)(off & 3);
    uint32_t mask = (uint32_t)((1ull << (8 * size)) - 1) << shift;
    uint32_t cur = d->read(vm, aligned); /* register reads have no side effects */
    d->write(vm, aligned, (cur & ~mask) | (((uint32_t)v << shift) & mask));
}

static uint64_t extend(uint64_t v, unsigned from, unsigned to, enum mmio_ext ext)
{
    if (ext == EXT_SIGN && from < 8 && (v >> (8 * from - 1)) & 1)
        v |= ~0ull << (8 * from);
    return to == 8 ? v : v & ((1ull << (8 * to)) - 1);
}

/* The register operand of the decoded instruction (AH..BH, RSP included). */
static uint64_t reg_get(const struct vm *vm, const struct mmio_insn *in)
{
    const uint64_t *g = vm->vcpu.regs.gpr;
    if (in->reg_high8)
        return (g[in->reg] >> 8) & 0xff;
    return in->reg == RSP_UNUSED ? vmread(GUEST_RSP) : g[in->reg];
}

/* Writes v (already reg_size bytes wide) to the register operand as the CPU
 * does: a 32-bit destination zero-extends, narrower ones merge. */
static void reg_set(struct vm *vm, const struct mmio_insn *in, uint64_t v)
{
    uint64_t *g = vm->vcpu.regs.gpr;
    uint64_t cur = in->reg == RSP_UNUSED ? vmread(GUEST_RSP) : g[in->reg];
    if (in->reg_high8) {
        cur = (cur & ~0xff00ull) | (v & 0xff) << 8;
    } else if (in->reg_size >= 4) {
        cur = in->reg_size == 4 ? v & 0xffffffffull : v;
    } else {
        uint64_t mask = (1ull << (8 * in->reg_size)) - 1;
        cur = (cur & ~mask) | (v & mask);
    }
    if (in->reg == RSP_UNUSED)
        vmwrite(GUEST_RSP, cur);
    else
        g[in->reg] = cur;
}

/* Hex of the instruction bytes for a stop message. */
static void bytes_text(const uint8_t *b, unsigned n, char *out, size_t len)
{
    size_t pos = 0;
    out[0] = 0;
    for (unsigned i = 0; i < n && pos + 4 < len; i++)
        pos += (size_t)fmt_snprintf(out + pos, len - pos, "%s%02x", i ? " " : "", b[i]);
}

/* Performs the decoded access on the device: a load, a store, an exchange
 * or an ALU operation with the flags it sets. */
static void mmio_execute(struct vm *vm, const struct mmio_dev *dev, uint64_t off, const struct mmio_insn *in)
{
    uint64_t src = in->reg < 0 ? in->imm : reg_get(vm, in);
    if (in->op == MMIO_MOV) {
        if (in->is_write)
            mmio_write(vm, dev, off, in->size, src);
        else
            reg_set(vm, in, extend(mmio_read(vm, dev, off, in->size), in->size, in->reg_size, in->ext));
        return;
    }
    uint64_t mem = mmio_read(vm, dev, off, in->size);
    if (in->op == MMIO_XCHG) {
        mmio_write(vm, dev, off, in->size, src);
        reg_set(vm, in, mem);
        return;
    }
    uint64_t rflags = vmread(GUEST_RFLAGS);
    uint64_t result = in->reg_is_left ? mmio_alu(in->op, in->size, src, mem, &rflags)
                                      : mmio_alu(in->op, in->size, mem, src, &rflags);
    vmwrite(GUEST_RFLAGS, rflags);
    if (in->reg_is_dest)
        reg_set(vm, in, result);
    else if (in->is_write)
        mmio_write(vm, dev, off, in->size, result);
}

/* The device page holding gpa (the IOAPIC's, the HPET's, or the LAPIC's
 * at the guest's APIC base), with its base; 0 for any other address. */
static const struct mmio_dev *device_at(const struct vm *vm, uint64_t gpa, uint64_t *base)
{
    const struct vlapic *l = &vm->vcpu.lapic;
    uint64_t apic_base = l->apic_base & ~0xfffull;
    if (gpa - vm->irq.ioapic.base < VIOAPIC_MMIO_SIZE) {
        *base = vm->irq.ioapic.base;
        return &ioapic_dev;
    }
    if (gpa - apic_base < 0x1000) {
        int xapic = (l->apic_base & APIC_BASE_EN) && !(l->apic_base & APIC_BASE_EXTD);
        *base = apic_base;
        return xapic ? &lapic_dev : &absent_dev;
    }
    /* After the LAPIC: a CPU whose APIC base was moved onto the HPET's
     * page answers there itself (the lapic group moves it to 0xFED00000). */
    if (gpa - PLATFORM_HPET_BASE < 0x1000) {
        *base = PLATFORM_HPET_BASE;
        return &hpet_dev;
    }
    if (vm_pci_claims(vm, gpa)) {
        *base = 0;
        return &pci_dev;
    }
    return 0;
}

/* mmio_decode through a small cache: a decode is a function of the
 * instruction's bytes and the code size alone, so the same bytes again
 * (a guest's EOI, at every interrupt on the software path) are not
 * decoded again. The bytes are compared, never assumed: another
 * instruction at the same RIP misses. Replaced round robin. */
static int decode_cached(struct vm *vm, const uint8_t *bytes, unsigned avail, unsigned mode,
                         struct mmio_insn *in, char *err, size_t errlen)
{
    struct vcpu *v = &vm->vcpu;
    const unsigned ways = sizeof(v->mmio_decoded) / sizeof(v->mmio_decoded[0]);
    for (unsigned k = 0; k < ways; k++) {
        const struct mmio_decoded *c = &v->mmio_decoded[k];
        unsigned n = c->in.len, i = 0;
        if (!n || n > avail || c->mode != mode)
            continue;
        while (i < n && c->bytes[i] == bytes[i])
            i++;
        if (i == n) {
            *in = c->in;
            return 0;
        }
    }
    if (mmio_decode(bytes, avail, mode, in, err, errlen))
        return -1;
    struct mmio_decoded *c = &v->mmio_decoded[v->mmio_decoded_next++ % ways];
    for (unsigned i = 0; i < in->len; i++)
        c->bytes[i] = bytes[i];
    c->mode = mode;
    c->in = *in;
    return 0;
}

const char *mmio_page_before(const struct vm *vm, uint64_t gpa)
{
    uint64_t base;
    const struct mmio_dev *d = (gpa & 0xfff) == 0 ? device_at(vm, gpa - 1, &base) : 0;
    return d ? d->name : 0;
}

int mmio_handle(struct vm *vm, uint64_t gpa, uint64_t qual)
{
    uint64_t base;
    const struct mmio_dev *dev = device_at(vm, gpa, &base);
    if (!dev)
        return 0;

    /* The access was the CPU's own, delivering an event (the guest's IDT,
     * GDT or the stack for the interrupt frame lies in MMIO), not the
     * instruction at RIP's: there is nothing to emulate. KVM stops too. */
    uint32_t vectoring = (uint32_t)vmread(IDT_VECTORING_INFO);
    if (vectoring & INTR_INFO_VALID) {
        static const char *const types[8] = { "external interrupt",
                                              "type 1",
                                              "NMI",
                                              "hardware exception",
                                              "software interrupt",
                                              "privileged software exception",
                                              "software exception",
                                              "type 7" };
        const char *type = types[(vectoring & INTR_TYPE_MASK) >> 8];
        log_error("vmx",
                  "MMIO during event delivery: delivering vector 0x%02x (%s), the CPU "
                  "touched guest-physical 0x%llx (%s); the guest's IDT, GDT or interrupt stack "
                  "is in MMIO; stopping the VM",
                  vectoring & 0xff, type, (unsigned long long)gpa, dev->name);
        vm_dump_guest(vm);
        vm_stop(vm,
                "MMIO during event delivery: vector 0x%02x (%s) at guest-physical 0x%llx "
                "(%s), RIP 0x%llx",
                vectoring & 0xff, type, (unsigned long long)gpa, dev->name,
                (unsigned long long)vmread(GUEST_RIP));
        return 1;
    }

    uint64_t rip = vmread(GUEST_RIP);
    uint8_t bytes[DECODE_MAX_LEN];
    unsigned avail = DECODE_MAX_LEN;
    struct gmem_fault fault = { 0 }, later = { 0 };
    int rc = vcpu_fetch_insn(vm, bytes, &avail, &later);
    if (rc == GMEM_FAULT) {
        vcpu_inject_fault(vm, &later);
        return 1;
    }
    if (rc == GMEM_NOT_RAM) {
        vm_stop(vm,
                "MMIO at 0x%llx: the instruction at RIP 0x%llx is at guest-physical 0x%llx, "
                "outside guest RAM",
                (unsigned long long)gpa, (unsigned long long)rip, (unsigned long long)later.gpa);
        return 1;
    }
    fault = later;

    struct mmio_insn in;
    char err[128], hex[3 * DECODE_MAX_LEN + 1];
    if (decode_cached(vm, bytes, avail, vcpu_code_size(), &in, err, sizeof(err))) {
        if (avail < DECODE_MAX_LEN && fault.vector) {
            vcpu_inject_fault(vm, &fault); /* the instruction runs onto a page that faults */
            return 1;
        }
        bytes_text(bytes, avail, hex, sizeof(hex));
        log_error("vmx",
                  "MMIO at guest-physical 0x%llx (%s), RIP 0x%llx: cannot emulate: %s; "
                  "bytes %s",
                  (unsigned long long)gpa, dev->name, (unsigned long long)rip, err, hex);
        vm_dump_guest(vm);
        vm_stop(vm, "MMIO instruction not emulated at RIP 0x%llx (%s; bytes %s)", (unsigned long long)rip,
                err, hex);
        return 1;
    }
    /* An access that runs past the end of the device's page reaches the
     * unmapped page after it: stop, as the APIC-virtualization path stops
     * there (the CPU faults on the second page, handle_ept_violation). */
    if ((gpa & 0xfff) + in.size > 0x1000) {
        vm_stop(vm, "MMIO access of %u bytes at 0x%llx runs past the end of the %s page, RIP 0x%llx", in.size,
                (unsigned long long)gpa, dev->name, (unsigned long long)rip);
        return 1;
    }
    /* A read-modify-write may be reported as either access. */
    int cpu_write = (qual >> 1) & 1;
    if (!(in.reads_mem && in.is_write) && in.is_write != cpu_write) {
        vm_stop(vm, "MMIO at 0x%llx: decoded %s but the CPU reported a %s", (unsigned long long)gpa,
                in.is_write ? "a store" : "a load", cpu_write ? "write" : "read");
        return 1;
    }
    mmio_execute(vm, dev, gpa - base, &in);
    vcpu_instruction_done(rip + in.len);
    return 1;
}
