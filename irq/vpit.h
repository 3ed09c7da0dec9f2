/* Virtual 8254 PIT: channels 0-2 at ports 0x40-0x43, and port 0x61 (channel
 * 2's gate and output, speaker). Time comes from the host interface in TSC
 * ticks; the model converts with the TSC frequency given at init. Pure C.
 *
 * Channel 0 raises IRQ 0 through a callback. Missed ticks: when the
 * hypervisor polls late (the guest was not running), all periods that
 * passed are collapsed into one interrupt and the next deadline is the
 * first period boundary after now, so a long pause never becomes an
 * interrupt storm; the dropped count is traced. */
#ifndef IRQ_VPIT_H
#define IRQ_VPIT_H

#include <stdint.h>

#include "irq_host.h"

#define PIT_HZ 1193182u

struct vpit_channel {
    uint8_t ctrl;           /* bits 5:0 of the last control word, for the status byte */
    uint8_t mode;           /* 0-5 (6 and 7 are stored as 2 and 3) */
    uint8_t rw;             /* access: 1 LSB, 2 MSB, 3 LSB then MSB */
    uint8_t bcd;            /* BCD counting is accepted but counts binary */
    uint8_t gate;           /* 1 for channels 0 and 1; port 0x61 bit 0 for channel 2 */
    uint8_t write_msb_next; /* LSB/MSB access: the next write is the MSB */
    uint8_t read_msb_next;  /* LSB/MSB access: the next read is the MSB */
    uint8_t write_lsb;      /* LSB written, waiting for MSB */
    uint8_t latched;        /* a count latch is held */
    uint8_t latch_bytes;    /* bytes of the latched count still to read */
    uint16_t latch_value;
    uint8_t status_latched; /* a read-back status byte is held (read first) */
    uint8_t status;
    uint8_t null_count;  /* count register written but not yet in the counting element */
    uint8_t armed;       /* a full count was written since the control word */
    uint8_t running;     /* counting: count and OUT follow from start and base */
    uint8_t hold_out;    /* OUT while not running */
    uint16_t hold_count; /* counting element while not running */
    uint32_t reload;     /* count register, 1-0x10000 (0 written means 0x10000) */
    uint32_t cur;        /* count of the running cycle (modes 1, 5 take reload at trigger) */
    uint32_t base;       /* clocks already counted at start (mode 0/4 gate pause) */
    uint64_t start;      /* TSC when counting began (load, trigger or gate resume) */
    uint64_t next_irq;   /* channel 0: TSC of the next interrupt, 0 if none */
    uint64_t irq_seq;    /* channel 0, modes 2/3: index of the period ending at next_irq */
    uint8_t irq_level;   /* channel 0: IRQ 0 held high (mode 0 after terminal count) */
};

struct vpit {
    struct vpit_channel ch[3];
    uint64_t tsc_hz;
    uint8_t port61; /* bit 0 gate 2, bit 1 speaker enable, bits 2-3 stored,
                                * bit 4 refresh toggle (flips per read) */
    const struct irq_host *host;
    void (*raise_irq0)(void *ctx, int level); /* drives IRQ 0 */
    void *irq_ctx;
    uint64_t ticks_delivered, ticks_dropped;
};

void vpit_init(struct vpit *p, uint64_t tsc_hz, const struct irq_host *host,
               void (*raise_irq0)(void *ctx, int level), void *irq_ctx);
/* Ports 0x40-0x43 and 0x61 (byte wide). Returns 0 or -1 if not ours. */
int vpit_port_read(struct vpit *p, uint16_t port, uint8_t *val);
int vpit_port_write(struct vpit *p, uint16_t port, uint8_t val);
/* Brings channel 0 up to the host's now: raises IRQ 0 (a pulse: level 1
 * then 0) for an expired deadline. Returns the next deadline (TSC) or 0. */
uint64_t vpit_update(struct vpit *p);
/* The deadline (TSC) at which vpit_update would next raise IRQ 0, or 0;
 * changes nothing. */
uint64_t vpit_next_deadline(const struct vpit *p);

#endif
