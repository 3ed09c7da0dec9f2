/* Test oracle for mmio_alu(): runs the real ADD/OR/ADC/SBB/AND/SUB/XOR/
 * CMP/TEST instruction on the x86-64 host with the given CF..OF flags
 * loaded by POPF, and reads the flags back with PUSHF. Host-only (unit
 * tests and fuzzers); shared by tests/unit/test_decode.c and
 * tests/fuzz/fuzz_decode.c.
 *
 * The asm steps 128 bytes below the stack pointer before pushing, so the
 * red zone the compiler may be using for locals is not overwritten. */
#ifndef TESTS_ALU_ORACLE_H
#define TESTS_ALU_ORACLE_H

#include <stdint.h>

#include "../../vmx/decode.h"

#define ORACLE_CF    (1ull << 0)
#define ORACLE_PF    (1ull << 2)
#define ORACLE_AF    (1ull << 4)
#define ORACLE_ZF    (1ull << 6)
#define ORACLE_SF    (1ull << 7)
#define ORACLE_OF    (1ull << 11)
#define ORACLE_ARITH (ORACLE_CF | ORACLE_PF | ORACLE_AF | ORACLE_ZF | ORACLE_SF | ORACLE_OF)

/* "insn src, dst" (AT&T order: dst = dst op src) with flags f in and out. */
#define ORACLE_ASM(insn, dst, src, f)                  \
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\t"      \
                     "push %[fl]\n\t"                  \
                     "popf\n\t" insn " %[s], %[d]\n\t" \
                     "pushf\n\t"                       \
                     "pop %[fl]\n\t"                   \
                     "lea 128(%%rsp), %%rsp"           \
                     : [d] "+q"(dst), [fl] "+r"(f)     \
                     : [s] "q"(src)                    \
                     : "cc", "memory")

/* oracle_<name>(size, dst, src, &flags): the instruction at size bytes;
 * returns the destination register after it (unchanged for cmp/test). */
#define ORACLE_OP(name)                                                                      \
    static inline uint64_t oracle_##name(unsigned size, uint64_t d, uint64_t s, uint64_t *f) \
    {                                                                                        \
        switch (size) {                                                                      \
        case 1: {                                                                            \
            uint8_t a = (uint8_t)d, b = (uint8_t)s;                                          \
            ORACLE_ASM(#name, a, b, *f);                                                     \
            return a;                                                                        \
        }                                                                                    \
        case 2: {                                                                            \
            uint16_t a = (uint16_t)d, b = (uint16_t)s;                                       \
            ORACLE_ASM(#name, a, b, *f);                                                     \
            return a;                                                                        \
        }                                                                                    \
        case 4: {                                                                            \
            uint32_t a = (uint32_t)d, b = (uint32_t)s;                                       \
            ORACLE_ASM(#name, a, b, *f);                                                     \
            return a;                                                                        \
        }                                                                                    \
        default: {                                                                           \
            uint64_t a = d, b = s;                                                           \
            ORACLE_ASM(#name, a, b, *f);                                                     \
            return a;                                                                        \
        }                                                                                    \
        }                                                                                    \
    }

ORACLE_OP(add)
ORACLE_OP(or)
ORACLE_OP(adc)
ORACLE_OP(sbb)
ORACLE_OP(and)
ORACLE_OP(sub)
ORACLE_OP(xor)
ORACLE_OP(cmp)
ORACLE_OP(test)

/* The same contract as mmio_alu(): dst op src at size bytes on the host
 * CPU. Only CF..OF of *rflags go into POPF; the other bits of *rflags are
 * kept. For CMP the result is that of SUB, for TEST that of AND (the
 * flags still come from the CMP/TEST instruction itself). AF after the
 * logical operations is whatever the host CPU leaves (undefined). Returns
 * src for ops that are not ALU operations. */
static inline uint64_t oracle_alu(enum mmio_op op, unsigned size, uint64_t dst, uint64_t src,
                                  uint64_t *rflags)
{
    uint64_t f = 0x2 | (*rflags & ORACLE_ARITH), scratch = f, res;
    switch (op) {
    case MMIO_ADD: res = oracle_add(size, dst, src, &f); break;
    case MMIO_OR: res = oracle_or(size, dst, src, &f); break;
    case MMIO_ADC: res = oracle_adc(size, dst, src, &f); break;
    case MMIO_SBB: res = oracle_sbb(size, dst, src, &f); break;
    case MMIO_AND: res = oracle_and(size, dst, src, &f); break;
    case MMIO_SUB: res = oracle_sub(size, dst, src, &f); break;
    case MMIO_XOR: res = oracle_xor(size, dst, src, &f); break;
    case MMIO_CMP:
        oracle_cmp(size, dst, src, &f);
        res = oracle_sub(size, dst, src, &scratch);
        break;
    case MMIO_TEST:
        oracle_test(size, dst, src, &f);
        res = oracle_and(size, dst, src, &scratch);
        break;
    default: return src;
    }
    *rflags = (*rflags & ~ORACLE_ARITH) | (f & ORACLE_ARITH);
    return res;
}

/* The flags the SDM defines after op: all of CF..OF, except AF after the
 * logical operations (OR, AND, XOR, TEST). */
static inline uint64_t oracle_defined_flags(enum mmio_op op)
{
    int logical = op == MMIO_OR || op == MMIO_AND || op == MMIO_XOR || op == MMIO_TEST;
    return logical ? ORACLE_ARITH & ~ORACLE_AF : ORACLE_ARITH;
}

#endif
