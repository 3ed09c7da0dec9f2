/* Decoder for the MOV forms guests use on MMIO (the IOAPIC page, later the
 * xAPIC page). Pure C: the hypervisor fetches the instruction bytes from
 * guest memory; host tests and the fuzzer feed arbitrary bytes.
 *
 * Supported: 88, 89, 8A, 8B (MOV between register and memory), C6 /0 and
 * C7 /0 (MOV immediate to memory), A0-A3 (MOV with a moffs operand),
 * 0F B6 / 0F B7 (MOVZX) and 0F BE / 0F BF (MOVSX) from memory. Prefixes:
 * 66 (operand size), 67 (address size), segment overrides (2E 36 3E 26 64
 * 65), and REX (40-4F) in 64-bit mode. Anything else is refused with a
 * reason, so the hypervisor can stop the VM clearly. */
#ifndef VMX_DECODE_H
#define VMX_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define DECODE_MAX_LEN 15

enum mmio_ext { EXT_NONE, EXT_ZERO, EXT_SIGN };

/* What the instruction does with the memory operand M and its other
 * operand S (a register or an immediate). */
enum mmio_op {
    MMIO_MOV,  /* loads: reg <- M (widened by ext); stores: M <- S */
    MMIO_ADD, MMIO_OR, MMIO_ADC, MMIO_SBB, MMIO_AND, MMIO_SUB, MMIO_XOR, /* dst <- dst op src */
    MMIO_CMP,  /* flags of M - S (or S - M), nothing stored */
    MMIO_TEST, /* flags of M & S, nothing stored */
    MMIO_XCHG, /* reg <- M and M <- reg, atomically as far as the guest can tell */
};

struct mmio_insn {
    unsigned len;          /* instruction length in bytes */
    unsigned size;         /* memory access size: 1, 2, 4 or 8 */
    int is_write;          /* 1: memory is written */
    int reg;               /* register operand (0 = RAX ... 15 = R15), -1 for an immediate */
    int reg_high8;         /* 1: the register is AH, CH, DH or BH (byte form without REX) */
    unsigned reg_size;     /* width of the register destination for loads (MOVZX/MOVSX differ) */
    enum mmio_ext ext;     /* loads: how the value widens into reg_size */
    uint64_t imm;          /* immediate (stores of C6/C7), already sign-extended to size */
    enum mmio_op op;       /* MMIO_MOV for the plain moves */
    int reads_mem;         /* 1: memory is read (loads, ALU ops, CMP, TEST, XCHG) */
    int reg_is_dest;       /* ALU ops of the "op reg, r/m" form: the result goes to reg, memory is only read */
};

/* dst op src at size bytes (1, 2, 4, 8) for the ALU ops (ADD ... TEST):
 * returns the result truncated to size and updates CF, PF, AF, ZF, SF and
 * OF in *rflags as the CPU does (AF cleared for the logical ops, where
 * the SDM leaves it undefined). ADC and SBB read CF from *rflags. */
uint64_t mmio_alu(enum mmio_op op, unsigned size, uint64_t dst, uint64_t src, uint64_t *rflags);

/* mode: 16, 32 or 64 (the guest's code size: CS.D / CS.L). Returns 0, or -1
 * with the reason in err. Never reads past bytes[avail - 1]. */
int mmio_decode(const uint8_t *bytes, unsigned avail, unsigned mode, struct mmio_insn *out,
                char *err, size_t errlen);

#endif
