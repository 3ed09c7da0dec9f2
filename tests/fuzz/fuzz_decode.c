/* libFuzzer target: the MMIO instruction decoder (vmx/decode.c).
 *
 * Input: the first byte picks the guest code size (16, 32 or 64), the rest
 * are instruction bytes handed to mmio_decode() with avail = their count.
 * libFuzzer's buffer is exactly that long, so AddressSanitizer reports any
 * read past bytes[avail - 1]. On success the result must be sane. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../vmx/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    unsigned mode = modes[data[0] % 3];
    const uint8_t *bytes = data + 1;
    size_t n = size - 1;
    unsigned avail = n > 4096 ? 4096u : (unsigned)n;

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
        if (mmio_decode(bytes, in.len, mode, &again, NULL, 0) != 0 ||
            memcmp(&again, &in, sizeof(in)) != 0)
            __builtin_trap();
    } else if (rc != -1 || err[0] == '\0') {
        __builtin_trap();
    }
    return 0;
}
