/* Virtual MC146818 real-time clock and CMOS memory: index port 0x70 (bit 7
 * the NMI mask, kept), data port 0x71. Pure C: time comes from the host
 * interface in TSC ticks (tsc_hz given at init), IRQ 8 goes out through a
 * callback (the hypervisor wires it to irq_set).
 *
 * The clock is kept as seconds since 0000-03-01 and a 32.768 kHz divider
 * chain that started at a TSC; registers 0-9 and the century byte are
 * encoded from it on each read, in BCD or binary and 12 or 24 hours as
 * register B says. Nothing ticks while nobody looks: the flags of register
 * C are brought up to date at each access, and the model gives the TSC of
 * the next interrupt only while an enabled one can still change IRQ 8
 * (vrtc_next_deadline), so a guest that enables nothing costs nothing. */
#ifndef IRQ_VRTC_H
#define IRQ_VRTC_H

#include <stdint.h>

#include "irq_host.h"

#define VRTC_PORT_INDEX 0x70
#define VRTC_PORT_DATA  0x71
#define VRTC_CMOS_SIZE  128

/* Register A */
#define VRTC_A_UIP     0x80
#define VRTC_A_DV_MASK 0x70
#define VRTC_A_DV_32K  0x20 /* divider running at 32.768 kHz */
#define VRTC_A_RS_MASK 0x0F
/* Register B */
#define VRTC_B_SET     0x80
#define VRTC_B_PIE     0x40
#define VRTC_B_AIE     0x20
#define VRTC_B_UIE     0x10
#define VRTC_B_SQWE    0x08
#define VRTC_B_DM_BIN  0x04
#define VRTC_B_24H     0x02
#define VRTC_B_DSE     0x01
/* Register C */
#define VRTC_C_IRQF    0x80
#define VRTC_C_PF      0x40
#define VRTC_C_AF      0x20
#define VRTC_C_UF      0x10
/* Register D */
#define VRTC_D_VRT     0x80

/* Clocks of the 32.768 kHz time base before an update during which UIP
 * reads 1: 8 clocks, 244 us (datasheet: UIP rises 244 us before the update). */
#define VRTC_UIP_CLOCKS 8

/* A date and time in binary, 24 hours; year in full (e.g. 2026). */
struct vrtc_time {
    uint16_t year;
    uint8_t mon, day, hour, min, sec;
};

struct vrtc {
    uint8_t cmos[VRTC_CMOS_SIZE]; /* A-D at 0x0A-0x0D, alarm at 1/3/5, NVRAM from 0x0E;
                                    * the time bytes are encoded on read */
    uint8_t index;                /* selected register, 0-127 */
    uint8_t nmi_masked;           /* bit 7 of the last index write */
    uint8_t century_reg;          /* CMOS byte that holds the century (0 = none) */
    uint8_t irq_level;            /* IRQ 8 as last driven */
    uint64_t tsc_hz;
    const struct irq_host *host;
    void (*raise_irq)(void *ctx, int level);
    void *irq_ctx;
    /* Time base: the divider chain runs from div_base (TSC); the clock
     * shows offset + whole seconds since then (while SET is clear). */
    int running; /* DV = 010 */
    uint64_t div_base;
    uint64_t offset;       /* clock seconds at div_base (mod 2^64) */
    struct vrtc_time hold; /* the clock's fields while held (SET or divider stopped) */
    uint64_t secs_done;    /* divider seconds whose update was evaluated */
    uint64_t periods_done; /* periodic-interrupt periods evaluated */
    uint64_t next_dl;      /* vrtc_next_deadline's answer, kept current */
    uint64_t irqs;         /* IRQ 8 rising edges, for statistics */
};

/* ram_size fills the CMOS memory-size bytes; century_reg names the CMOS
 * byte of the century (PLATFORM_RTC_CENTURY); t is the time the clock shows
 * at the host's now (a NULL or invalid t gives 2000-01-01 00:00:00). */
void vrtc_init(struct vrtc *r, uint64_t tsc_hz, const struct irq_host *host,
               void (*raise_irq)(void *ctx, int level), void *irq_ctx, const struct vrtc_time *t,
               uint64_t ram_size, uint8_t century_reg);
/* Ports 0x70 and 0x71, byte wide. Returns 0, or -1 if not ours. */
int vrtc_port_read(struct vrtc *r, uint16_t port, uint8_t *val);
int vrtc_port_write(struct vrtc *r, uint16_t port, uint8_t val);
/* Brings the flags up to the host's now and drives IRQ 8; returns the next
 * deadline (TSC) or 0. Cheap when nothing is due. */
uint64_t vrtc_update(struct vrtc *r);
/* The TSC at which an enabled interrupt would next raise IRQ 8, or 0. */
uint64_t vrtc_next_deadline(const struct vrtc *r);
/* The clock now, decoded. */
void vrtc_get_time(struct vrtc *r, struct vrtc_time *t);
/* Decodes a machine's raw RTC bytes (registers 0, 2, 4, 7, 8, 9, as read
 * from it, and its century byte, 0 if none) per its register B. Returns 0,
 * or -1 if the result is not a valid date and time. */
int vrtc_time_from_regs(const uint8_t regs[10], uint8_t reg_b, uint8_t century, struct vrtc_time *t);

#endif
