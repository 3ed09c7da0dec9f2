/* libFuzzer target: the MMIO instruction decoder and mmio_alu()
 * (vmx/decode.c).
 *
 * Input: the first byte picks the guest code size (16, 32 or 64: byte % 3)
 * and, for the ALU check, an operation, a size and CF (byte / 3); the rest
 * are instruction bytes handed to mmio_decode() with avail = their count.
 * libFuzzer's buffer is exactly that long, so AddressSanitizer reports any
 * read past bytes[avail - 1]. On success the result must be sane.
 *
 * mmio_alu() is compared with the host CPU (tests/unit/alu_oracle.h) on
 * operands taken from the input bytes, and on the decoded instruction's
 * own operation, size and immediate. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../vmx/decode.h"
#include "../unit/alu_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Little-endian value of up to 8 bytes at p[0..n-1] (fewer if n < 8). */
static uint64_t le_bytes(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* mmio_alu() against the CPU, plus its own invariants. */
static void check_alu(enum mmio_op op, unsigned size, uint64_t d, uint64_t s, uint64_t flags)
{
    uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    uint64_t fl = flags, hw = flags;
    uint64_t res = mmio_alu(op, size, d, s, &fl);
    uint64_t hres = oracle_alu(op, size, d, s, &hw);
    uint64_t defined = oracle_defined_flags(op) | ~ORACLE_ARITH;
    if (res != hres || (fl & defined) != (hw & defined))
        __builtin_trap();
    if ((res & ~mask) != 0 || ((fl ^ flags) & ~ORACLE_ARITH) != 0)
        __builtin_trap();
    if (!(defined & ORACLE_AF) && (fl & ORACLE_AF))
        __builtin_trap();
    if (op == MMIO_CMP && res != ((d - s) & mask))
        __builtin_trap();
    if (op == MMIO_TEST && res != (d & s & mask))
        __builtin_trap();
    if (!!(fl & ORACLE_ZF) != (res == 0))
        __builtin_trap();
}

/* The invariants of a successful decode. */
static void check_insn(const struct mmio_insn *in, unsigned avail)
{
    if (in->len < 1 || in->len > DECODE_MAX_LEN || in->len > avail)
        __builtin_trap();
    if (in->size != 1 && in->size != 2 && in->size != 4 && in->size != 8)
        __builtin_trap();
    if (in->reg < -1 || in->reg > 15)
        __builtin_trap();
    if (in->reg_size != 1 && in->reg_size != 2 && in->reg_size != 4 && in->reg_size != 8)
        __builtin_trap();
    if (in->reg_size < in->size)
        __builtin_trap();
    if (in->reg_high8 && (in->reg < 0 || in->reg > 3 || in->size != 1))
        __builtin_trap();
    if (in->size < 8 && (in->imm >> (8 * in->size)) != 0)
        __builtin_trap();
    if (in->reg >= 0 && in->imm != 0)
        __builtin_trap();
    if ((unsigned)in->op > MMIO_XCHG)
        __builtin_trap();
    if (in->op == MMIO_MOV) {
        /* MOVZX/MOVSX: a load; r16 <- m16 is allowed, so only reg_size >= size */
        if (in->ext != EXT_NONE && in->is_write)
            __builtin_trap();
        if (in->reg == -1 && !in->is_write)
            __builtin_trap();
        if (in->reads_mem != !in->is_write || in->reg_is_dest || in->reg_is_left)
            __builtin_trap();
    } else {
        int stores = in->op != MMIO_CMP && in->op != MMIO_TEST;
        if (!in->reads_mem || in->ext != EXT_NONE || in->reg_size != in->size)
            __builtin_trap();
        if (in->reg_is_dest != (in->reg_is_left && in->op != MMIO_CMP))
            __builtin_trap();
        if (in->reg_is_left && (in->reg < 0 || in->op == MMIO_TEST || in->op == MMIO_XCHG))
            __builtin_trap();
        if (in->is_write != (stores && !in->reg_is_left))
            __builtin_trap();
        if (in->op == MMIO_XCHG && in->reg < 0)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const unsigned modes[3] = { 16, 32, 64 };
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    static const enum mmio_op ops[9] = {
        MMIO_ADD, MMIO_OR, MMIO_ADC, MMIO_SBB, MMIO_AND, MMIO_SUB, MMIO_XOR, MMIO_CMP, MMIO_TEST,
    };
    unsigned mode = modes[data[0] % 3];
    unsigned sel = data[0] / 3;
    const uint8_t *bytes = data + 1;
    size_t n = size - 1;
    unsigned avail = n > 4096 ? 4096u : (unsigned)n;

    /* ALU operands straight from the input */
    uint64_t d = le_bytes(bytes, n), s = n > 8 ? le_bytes(bytes + 8, n - 8) : 0;
    uint64_t flags = 0x2 | (sel / 36 ? ORACLE_CF : 0) | (n > 16 ? (bytes[16] & ORACLE_ARITH) : 0);
    check_alu(ops[sel % 9], sizes[(sel / 9) % 4], d, s, flags);

    struct mmio_insn in;
    char err[128];
    memset(err, 'x', sizeof(err));
    int rc = mmio_decode(avail ? bytes : NULL, avail, mode, &in, err, sizeof(err));

    /* the message is always a terminated string */
    if (memchr(err, '\0', sizeof(err)) == NULL)
        __builtin_trap();

    if (rc == 0) {
        check_insn(&in, avail);
        /* deterministic, and the decode of exactly len bytes gives the same result */
        struct mmio_insn again;
        if (mmio_decode(bytes, in.len, mode, &again, NULL, 0) != 0 || memcmp(&again, &in, sizeof(in)) != 0)
            __builtin_trap();
        /* the decoded operation on the instruction's own operand */
        if (in.op != MMIO_MOV && in.op != MMIO_XCHG)
            check_alu(in.op, in.size, d, in.reg < 0 ? in.imm : s, flags);
    } else if (rc != -1 || err[0] == '\0') {
        __builtin_trap();
    }
    return 0;
}
