/* Decoder for the instructions guests use on MMIO pages (the IOAPIC page,
 * the xAPIC page). Pure C: the hypervisor fetches the instruction bytes
 * from guest memory; host tests and the fuzzer feed arbitrary bytes.
 *
 * Supported, with a memory operand only (mod=3 is refused):
 *   MOV     88, 89, 8A, 8B; C6 /0 ib, C7 /0 iw/id; A0-A3 (moffs);
 *           0F B6 / 0F B7 (MOVZX) and 0F BE / 0F BF (MOVSX) from memory.
 *   ALU     00-03 ADD, 08-0B OR, 10-13 ADC, 18-1B SBB, 20-23 AND, 28-2B SUB,
 *           30-33 XOR, 38-3B CMP; 80 /n ib, 81 /n iw/id, 83 /n ib, and 82 /n ib
 *           (an alias of 80 outside 64-bit mode).
 *   TEST    84, 85; F6 /0 ib, F7 /0 iw/id.
 *   XCHG    86, 87.
 * Prefixes: 66 (operand size), 67 (address size), segment overrides (2E 36
 * 3E 26 64 65), REX (40-4F) in 64-bit mode, and LOCK (F0) where the CPU
 * accepts it: the memory-destination ADD/OR/ADC/SBB/AND/SUB/XOR forms and
 * XCHG (LOCK on MOV, CMP, TEST or a register destination is #UD on the CPU
 * and is refused). F2/F3 are refused. Anything else is refused with a
 * reason, so the hypervisor can stop the VM clearly.
 *
 * How a caller emulates a decoded instruction (M = the memory operand at
 * the faulting guest-physical address, size bytes; S = register reg, or
 * imm when reg is -1):
 *   MMIO_MOV   is_write ? M <- S : reg <- M widened by ext to reg_size.
 *   MMIO_XCHG  old = M; M <- S; reg <- old (is_write = 1, reg_is_dest = 0).
 *   otherwise  L, R = reg_is_left ? (S, M) : (M, S);
 *              res = mmio_alu(op, size, L, R, &guest_rflags);
 *              reg_is_dest ? reg <- res : is_write ? M <- res : (nothing).
 * Register writes follow the usual x86 rules (a 32-bit destination zeroes
 * bits 63:32, 8/16-bit ones keep the rest; reg_high8 selects AH..BH). */
#ifndef VMX_DECODE_H
#define VMX_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define DECODE_MAX_LEN 15

enum mmio_ext { EXT_NONE, EXT_ZERO, EXT_SIGN };

/* What the instruction does with the memory operand M and its other
 * operand S (a register or an immediate). */
enum mmio_op {
    MMIO_MOV, /* loads: reg <- M (widened by ext); stores: M <- S */
    MMIO_ADD,
    MMIO_OR,
    MMIO_ADC,
    MMIO_SBB,
    MMIO_AND,
    MMIO_SUB,
    MMIO_XOR,  /* dst <- dst op src */
    MMIO_CMP,  /* flags of M - S (or S - M), nothing stored */
    MMIO_TEST, /* flags of M & S, nothing stored */
    MMIO_XCHG, /* reg <- M and M <- reg, atomically as far as the guest can tell */
};

struct mmio_insn {
    unsigned len;      /* instruction length in bytes */
    unsigned size;     /* memory access size: 1, 2, 4 or 8 */
    int is_write;      /* 1: memory is written */
    int reg;           /* register operand (0 = RAX ... 15 = R15), -1 for an immediate */
    int reg_high8;     /* 1: the register is AH, CH, DH or BH (byte form without REX) */
    unsigned reg_size; /* width of the register destination for loads (MOVZX/MOVSX differ) */
    enum mmio_ext ext; /* loads: how the value widens into reg_size */
    uint64_t imm;      /* immediate (C6/C7, 80/81/83, F6/F7), sign-extended to size, truncated to size */
    enum mmio_op op;   /* MMIO_MOV for MOV, MOVZX and MOVSX */
    int reads_mem;     /* 1: memory is read (loads, ALU ops, CMP, TEST, XCHG) */
    int reg_is_dest;   /* ALU ops of the "op reg, r/m" form: the result goes to reg, memory is only read
                            * (0 for MOV, which uses is_write; 0 for CMP, which stores nothing; 0 for XCHG) */
    int reg_is_left;   /* ALU ops: 1 when the register is the left operand (mmio_alu's dst) and memory
                            * the right one: the "op reg, r/m" forms 02/03, 0A/0B, ..., 3A/3B, so that
                            * CMP reg, r/m sets the flags of reg - M. 0 when memory is the left operand
                            * (op r/m, reg and op r/m, imm), and for MOV and XCHG. Only SUB, SBB and CMP
                            * care; reg_is_dest == (reg_is_left && op != MMIO_CMP). */
};

/* dst op src at size bytes (1, 2, 4, 8) for the ALU ops (ADD ... TEST):
 * returns the result truncated to size and updates CF, PF, AF, ZF, SF and
 * OF in *rflags as the CPU does (AF cleared for the logical ops, where
 * the SDM leaves it undefined). ADC and SBB read CF from *rflags. Other
 * RFLAGS bits are left alone. MMIO_CMP returns dst - src and MMIO_TEST
 * dst & src (the caller stores neither). dst and src are truncated to size
 * first; a size other than 1, 2 or 4 counts as 8. MMIO_MOV and MMIO_XCHG
 * are not ALU ops: they return src and leave *rflags alone. */
uint64_t mmio_alu(enum mmio_op op, unsigned size, uint64_t dst, uint64_t src, uint64_t *rflags);

/* mode: 16, 32 or 64 (the guest's code size: CS.D / CS.L). Returns 0, or -1
 * with the reason in err. Never reads past bytes[avail - 1]. */
int mmio_decode(const uint8_t *bytes, unsigned avail, unsigned mode, struct mmio_insn *out, char *err,
                size_t errlen);

#endif
