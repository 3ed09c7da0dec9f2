/* Virtual ACPI fixed hardware of a PIIX4-style PM block: the PM timer
 * (24 bits, 3.579545 MHz, from the TSC), the PM1a event block (status and
 * enable) and the PM1a control block (SCI_EN, SLP_TYP, SLP_EN). Pure C:
 * time from the host interface, the SCI through a callback (the hypervisor
 * wires it to irq_set on the SCI's GSI, level). A write of SLP_EN is
 * reported to the caller (vpmtmr_write's VPM_SLEEP and sleep_typ), which
 * decides what S5 and the other sleep types do. Offsets are relative to the
 * block's base: 0 PM1a_STS, 2 PM1a_EN, 4 PM1a_CNT, 8 PM_TMR. */
#ifndef IRQ_VPMTMR_H
#define IRQ_VPMTMR_H

#include <stdint.h>

#include "irq_host.h"

#define VPM_HZ        3579545u
#define VPM_BLOCK_LEN 12u /* bytes from the base that are ours */
#define VPM_OFF_STS   0
#define VPM_OFF_EN    2
#define VPM_OFF_CNT   4
#define VPM_OFF_TMR   8

/* PM1 status / enable bits (ACPI 6.x, 4.8.3.1) */
#define VPM_TMR_STS       0x0001u
#define VPM_BM_STS        0x0010u
#define VPM_GBL_STS       0x0020u
#define VPM_PWRBTN_STS    0x0100u
#define VPM_SLPBTN_STS    0x0200u
#define VPM_RTC_STS       0x0400u
#define VPM_WAK_STS       0x8000u
#define VPM_EN_MASK       0x0721u /* TMR, GBL, PWRBTN, SLPBTN, RTC enables */
/* PM1 control bits */
#define VPM_SCI_EN        0x0001u
#define VPM_SLP_TYP_SHIFT 10
#define VPM_SLP_TYP_MASK  (7u << VPM_SLP_TYP_SHIFT)
#define VPM_SLP_EN        0x2000u
#define VPM_CNT_MASK      0x1C07u /* SCI_EN, BM_RLD, GBL_RLS, SLP_TYP kept; SLP_EN write-only */

enum vpm_action { VPM_NONE = 0, VPM_SLEEP = 1 };

struct vpmtmr {
    uint64_t tsc_hz;
    uint64_t base;     /* TSC at which the timer read 0 */
    uint64_t ovf_done; /* bit-23 transitions already flagged in TMR_STS */
    uint16_t sts, en, cnt;
    uint8_t sci_level; /* the SCI as last driven */
    uint8_t sleep_typ; /* SLP_TYP of the last SLP_EN write */
    uint64_t next_dl;  /* vpmtmr_next_deadline's answer */
    const struct irq_host *host;
    void (*sci)(void *ctx, int level);
    void *sci_ctx;
};

/* The timer starts at 0 at the host's now. SCI_EN reads 1 from power-on: a
 * machine without an SMI command port is always in ACPI mode. */
void vpmtmr_init(struct vpmtmr *p, uint64_t tsc_hz, const struct irq_host *host,
                 void (*sci)(void *ctx, int level), void *sci_ctx);
/* An access of size 1, 2 or 4 bytes at offset off (0..VPM_BLOCK_LEN-1);
 * bytes past the block read as ones and are dropped. Returns -1 for an
 * offset outside the block, else VPM_NONE, or VPM_SLEEP for a write that
 * set SLP_EN (its sleep type is then in sleep_typ). */
int vpmtmr_read(struct vpmtmr *p, unsigned off, unsigned size, uint32_t *val);
int vpmtmr_write(struct vpmtmr *p, unsigned off, unsigned size, uint32_t val);
/* The 24-bit counter at the host's now. */
uint32_t vpmtmr_count(const struct vpmtmr *p);
/* Brings TMR_STS up to now and drives the SCI; returns the next deadline
 * (TSC) or 0. Only TMR_EN with TMR_STS clear ever needs one. */
uint64_t vpmtmr_update(struct vpmtmr *p);
uint64_t vpmtmr_next_deadline(const struct vpmtmr *p);

#endif
