/* A fault in the hypervisor itself: print everything we know and stop. */
#include <stdint.h>

#include "../../drivers/log.h"
#include "../../drivers/poweroff.h"
#include "cpu.h"
#include "lapic.h"

struct exception_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

static const char *const exception_names[32] = {
    "divide error (#DE)",
    "debug (#DB)",
    "NMI",
    "breakpoint (#BP)",
    "overflow (#OF)",
    "BOUND range exceeded (#BR)",
    "invalid opcode (#UD)",
    "device not available (#NM)",
    "double fault (#DF)",
    "coprocessor segment overrun",
    "invalid TSS (#TS)",
    "segment not present (#NP)",
    "stack fault (#SS)",
    "general protection (#GP)",
    "page fault (#PF)",
    "reserved 15",
    "x87 FP error (#MF)",
    "alignment check (#AC)",
    "machine check (#MC)",
    "SIMD FP (#XM)",
    "virtualization (#VE)",
    "control protection (#CP)",
    "reserved 22",
    "reserved 23",
    "reserved 24",
    "reserved 25",
    "reserved 26",
    "reserved 27",
    "hypervisor injection (#HV)",
    "VMM communication (#VC)",
    "security (#SX)",
    "reserved 31",
};

void exception_dispatch(struct exception_frame *f);

void exception_dispatch(struct exception_frame *f)
{
    if (f->vector >= 32) {
        /* A physical interrupt while the hypervisor waited with interrupts
         * on: its work (timers, COM1 input) is polled after the wait, so
         * only end it here. 0xFF is the spurious vector: no EOI. */
        if (f->vector != LAPIC_SPURIOUS_VECTOR)
            lapic_eoi();
        return;
    }
    if (f->vector == 2) {
        log_warn("hv", "NMI in the hypervisor at RIP 0x%llx (ignored)", (unsigned long long)f->rip);
        return;
    }
    const char *name = f->vector < 32 ? exception_names[f->vector] : "unexpected interrupt";

    log_error("hv", "hypervisor exception: vector %llu, %s, error code 0x%llx", (unsigned long long)f->vector,
              name, (unsigned long long)f->error);
    log_error("hv", "  RIP=%016llx CS=%04llx RFLAGS=%016llx RSP=%016llx SS=%04llx",
              (unsigned long long)f->rip, (unsigned long long)f->cs, (unsigned long long)f->rflags,
              (unsigned long long)f->rsp, (unsigned long long)f->ss);
    log_error("hv", "  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx", (unsigned long long)f->rax,
              (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
    log_error("hv", "  RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx", (unsigned long long)f->rsi,
              (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->r8);
    log_error("hv", "  R9 =%016llx R10=%016llx R11=%016llx R12=%016llx", (unsigned long long)f->r9,
              (unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
    log_error("hv", "  R13=%016llx R14=%016llx R15=%016llx", (unsigned long long)f->r13,
              (unsigned long long)f->r14, (unsigned long long)f->r15);
    log_error("hv", "  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx", (unsigned long long)read_cr0(),
              (unsigned long long)read_cr2(), (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
    platform_fatal("hypervisor exception");
}
