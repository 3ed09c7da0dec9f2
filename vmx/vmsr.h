/* The guest's MSRs that live in no VMCS field and no device model: the
 * MTRRs, PAT, IA32_MISC_ENABLE and the machine-check globals. Pure C
 * (host-tested). Values that hardware refuses get #GP here too, so a guest
 * sees what a CPU would do. vmsr_claimed() lists every MSR the hypervisor
 * emulates anywhere, so the CPUID table's unit test can check that each
 * advertised feature's MSRs exist. */
#ifndef VMX_VMSR_H
#define VMX_VMSR_H

#include <stdint.h>

#define VMSR_MTRR_VARIABLE 8 /* variable-range pairs (MTRRcap.VCNT) */

struct vmsr {
    uint64_t pat;
    uint64_t misc_enable;
    uint64_t mtrr_def_type;
    uint64_t mtrr_fixed[11];                   /* 0x250, 0x258, 0x259, 0x268-0x26F */
    uint64_t mtrr_var[2 * VMSR_MTRR_VARIABLE]; /* base/mask pairs from 0x200 */
    uint64_t mcg_status;
    unsigned maxphyaddr; /* reserved bits of MTRR bases and masks */
};

enum vmsr_result { VMSR_OK = 0, VMSR_GP = -1, VMSR_NOT_MINE = -2 };

/* Power-on values (SDM Vol. 3 table 10-1). */
void vmsr_init(struct vmsr *s, unsigned maxphyaddr);
int vmsr_read(const struct vmsr *s, uint32_t msr, uint64_t *val);
int vmsr_write(struct vmsr *s, uint32_t msr, uint64_t val);
/* Does the hypervisor emulate this MSR (here, in the vLAPIC, or in a VMCS
 * field)? */
int vmsr_claimed(uint32_t msr);

#endif
