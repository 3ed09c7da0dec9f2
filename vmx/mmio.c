#include "mmio.h"

#include <string.h>

#include "../arch/x86/cpu.h"
#include "../drivers/log.h"
#include "decode.h"
#include "exit.h"
#include "vmcs.h"

#define CS_AR_L (1u << 13)
#define CS_AR_DB (1u << 14)

/* A trapped register page: 32-bit registers at byte offsets. */
struct mmio_dev {
    const char *name;
    uint32_t (*read)(struct vm *vm, uint64_t off);
    void (*write)(struct vm *vm, uint64_t off, uint32_t v);
};

static uint32_t ioapic_read(struct vm *vm, uint64_t off)
{
    return vioapic_mmio_read(&vm->irq.ioapic, off);
}

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

static const struct mmio_dev ioapic_dev = { "IOAPIC", ioapic_read, ioapic_write };
static const struct mmio_dev lapic_dev = { "LAPIC", lapic_read, lapic_write };
static const struct mmio_dev absent_dev = { "APIC page, LAPIC not in xAPIC mode", absent_read,
                                            absent_write };

/* Reads `size` bytes (1, 2, 4 or 8) at a byte offset of the 32-bit register
 * file: narrower accesses see part of a register, 8-byte ones two. */
static uint64_t mmio_read(struct vm *vm, const struct mmio_dev *d, uint64_t off, unsigned size)
{
    uint64_t aligned = off & ~3ull;
    uint64_t v = d->read(vm, aligned);
    if (size == 8)
        v |= (uint64_t)d->read(vm, aligned + 4) << 32;
    v >>= 8 * (off & 3);
    return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static void mmio_write(struct vm *vm, const struct mmio_dev *d, uint64_t off, unsigned size, uint64_t v)
{
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

int mmio_handle(struct vm *vm, uint64_t gpa, uint64_t qual)
{
    const struct vlapic *l = &vm->vcpu.lapic;
    uint64_t apic_base = l->apic_base & ~0xfffull;
    const struct mmio_dev *dev;
    uint64_t base;
    char err[128];
    if (gpa - vm->irq.ioapic.base < VIOAPIC_MMIO_SIZE) {
        dev = &ioapic_dev;
        base = vm->irq.ioapic.base;
    } else if (gpa - apic_base < 0x1000) {
        int xapic = (l->apic_base & APIC_BASE_EN) && !(l->apic_base & APIC_BASE_EXTD);
        dev = xapic ? &lapic_dev : &absent_dev;
        base = apic_base;
    } else {
        return 0;
    }

    uint64_t rip = vmread(GUEST_RIP);
    if (vmread(GUEST_CR0) & CR0_PG) {
        vm_stop(vm, "MMIO at 0x%llx from a guest with paging on: instruction fetch through guest "
                "page tables is not implemented", (unsigned long long)gpa);
        return 1;
    }
    uint64_t linear = vmread(GUEST_CS_BASE) + rip;
    if (linear >= vm->ram_size) {
        vm_stop(vm, "MMIO at 0x%llx: instruction at 0x%llx is outside guest RAM",
                (unsigned long long)gpa, (unsigned long long)linear);
        return 1;
    }
    unsigned avail = (unsigned)(vm->ram_size - linear < DECODE_MAX_LEN ? vm->ram_size - linear
                                                                        : DECODE_MAX_LEN);
    uint32_t ar = (uint32_t)vmread(GUEST_CS_AR);
    unsigned mode = (ar & CS_AR_L) && (vmread(GUEST_EFER) & EFER_LMA) ? 64 : (ar & CS_AR_DB) ? 32 : 16;
    struct mmio_insn in;
    if (mmio_decode(vm->ram + linear, avail, mode, &in, err, sizeof(err))) {
        log_error("vmx", "MMIO at guest-physical 0x%llx (%s), RIP 0x%llx: cannot emulate: %s",
                  (unsigned long long)gpa, dev->name, (unsigned long long)rip, err);
        vm_dump_guest(vm);
        vm_stop(vm, "MMIO instruction not emulated at RIP 0x%llx (%s)", (unsigned long long)rip, err);
        return 1;
    }
    if (in.is_write != (int)((qual >> 1) & 1)) {
        vm_stop(vm, "MMIO at 0x%llx: decoded %s but the CPU reported a %s", (unsigned long long)gpa,
                in.is_write ? "a store" : "a load", (qual & 2) ? "write" : "read");
        return 1;
    }

    uint64_t *g = vm->vcpu.regs.gpr;
    uint64_t off = gpa - base;
    if (in.is_write) {
        uint64_t v = in.reg < 0 ? in.imm
                     : in.reg_high8 ? (g[in.reg] >> 8) & 0xff
                     : in.reg == RSP_UNUSED ? vmread(GUEST_RSP) : g[in.reg];
        mmio_write(vm, dev, off, in.size, v);
    } else {
        uint64_t v = extend(mmio_read(vm, dev, off, in.size), in.size, in.reg_size, in.ext);
        if (in.reg_high8) {
            g[in.reg] = (g[in.reg] & ~0xff00ull) | (v & 0xff) << 8;
        } else if (in.reg == RSP_UNUSED) {
            vmwrite(GUEST_RSP, v);
        } else if (in.reg_size == 4) {
            g[in.reg] = v; /* a 32-bit destination zero-extends */
        } else if (in.reg_size == 8) {
            g[in.reg] = v;
        } else {
            uint64_t mask = (1ull << (8 * in.reg_size)) - 1;
            g[in.reg] = (g[in.reg] & ~mask) | (v & mask);
        }
    }
    vmwrite(GUEST_RIP, rip + in.len);
    return 1;
}
