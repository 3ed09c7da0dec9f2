/* Decoder for the MOV forms guests use on MMIO (see decode.h).
 *
 * Written from the Intel SDM Vol. 2 encoding rules: legacy prefixes
 * (2.1.1), REX (2.2.1), ModRM/SIB and displacement sizes (tables 2-1,
 * 2-2, 2-3), and the opcode map entries for MOV (88-8B, A0-A3, C6, C7)
 * and MOVZX/MOVSX (0F B6, 0F B7, 0F BE, 0F BF).
 *
 * The decoder only computes what the MMIO emulation needs: the length,
 * the access size and direction, the register operand and the immediate.
 * The effective address is not computed (the hardware reports the guest
 * physical address on the EPT violation), so REX.B/REX.X, the SIB scale
 * and index, and the segment overrides are parsed only for their length.
 *
 * Every byte is read through fetch(), which refuses to read past avail or
 * past the architectural 15-byte limit. No static mutable state. */
#include "decode.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/x86/fmt.h"

struct cursor {
    const uint8_t *bytes;
    unsigned avail;
    unsigned pos;      /* next byte to read */
    uint8_t opc[2];    /* opcode bytes seen so far, for messages */
    unsigned nopc;
    char *err;
    size_t errlen;
};

/* Formats the opcode bytes seen so far ("0x0f 0xb6") into buf. */
static void opcode_text(const struct cursor *c, char *buf, size_t len)
{
    if (c->nopc == 0)
        fmt_snprintf(buf, len, "none");
    else if (c->nopc == 1)
        fmt_snprintf(buf, len, "0x%02x", c->opc[0]);
    else
        fmt_snprintf(buf, len, "0x%02x 0x%02x", c->opc[0], c->opc[1]);
}

/* Writes "<what> (opcode 0x..[, detail])" into err and returns -1. Without
 * an opcode yet (prefix problems) only <what> is written. */
static int fail_detail(struct cursor *c, const char *what, const char *detail)
{
    char ops[16];
    if (!c->err || c->errlen == 0)
        return -1;
    opcode_text(c, ops, sizeof(ops));
    if (c->nopc == 0)
        fmt_snprintf(c->err, c->errlen, "%s", what);
    else
        fmt_snprintf(c->err, c->errlen, "%s (opcode %s%s%s)", what, ops,
                     detail[0] ? ", " : "", detail);
    return -1;
}

static int fail(struct cursor *c, const char *what)
{
    return fail_detail(c, what, "");
}

/* "unsupported opcode 0x0f 0x10[: why]" */
static int fail_opcode(struct cursor *c, const char *why)
{
    char ops[16];
    if (!c->err || c->errlen == 0)
        return -1;
    opcode_text(c, ops, sizeof(ops));
    fmt_snprintf(c->err, c->errlen, "unsupported opcode %s%s%s", ops, why[0] ? ": " : "", why);
    return -1;
}

/* Reads one byte. Fails with a message when the instruction would exceed
 * 15 bytes or when fewer than pos + 1 bytes are available. */
static int fetch(struct cursor *c, uint8_t *b)
{
    char what[80];
    if (c->pos >= DECODE_MAX_LEN) {
        fmt_snprintf(what, sizeof(what), "instruction longer than %u bytes",
                     (unsigned)DECODE_MAX_LEN);
        return fail(c, what);
    }
    if (c->pos >= c->avail) {
        fmt_snprintf(what, sizeof(what), "instruction truncated: only %u byte%s available",
                     c->avail, c->avail == 1 ? "" : "s");
        return fail(c, what);
    }
    *b = c->bytes[c->pos++];
    return 0;
}

/* Reads an n-byte little-endian value (n <= 8). */
static int fetch_le(struct cursor *c, unsigned n, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t b = 0;
        if (fetch(c, &b) < 0)
            return -1;
        x |= (uint64_t)b << (8 * i);
    }
    *v = x;
    return 0;
}

/* Skips n bytes (displacements), still bounds-checked byte by byte. */
static int skip(struct cursor *c, unsigned n)
{
    uint64_t unused;
    return fetch_le(c, n, &unused);
}

/* Reads ModRM (plus SIB and displacement). The operand must be memory.
 * Returns ModRM.reg (0-7) through *reg. */
static int modrm_mem(struct cursor *c, unsigned addr_size, unsigned *reg)
{
    uint8_t modrm;
    if (fetch(c, &modrm) < 0)
        return -1;
    unsigned mod = modrm >> 6, rm = modrm & 7;
    *reg = (modrm >> 3) & 7;
    if (mod == 3) {
        char detail[16];
        fmt_snprintf(detail, sizeof(detail), "modrm 0x%02x", modrm);
        return fail_detail(c, "register operand (mod=3) is not a memory access", detail);
    }

    unsigned disp;
    if (addr_size == 16) {
        /* Table 2-1: no SIB; mod 00 rm 110 is disp16. */
        if (mod == 0)
            disp = rm == 6 ? 2 : 0;
        else
            disp = mod == 1 ? 1 : 2;
    } else {
        /* Tables 2-2/2-3: rm 100 selects SIB; mod 00 rm 101 is disp32
         * (RIP-relative in 64-bit mode); SIB base 101 with mod 00 is disp32.
         * REX.B does not change these special cases. */
        unsigned base_disp32 = 0;
        if (rm == 4) {
            uint8_t sib;
            if (fetch(c, &sib) < 0)
                return -1;
            base_disp32 = (sib & 7) == 5;
        }
        if (mod == 0)
            disp = (rm == 5 || base_disp32) ? 4 : 0;
        else
            disp = mod == 1 ? 1 : 4;
    }
    return skip(c, disp);
}

/* Register number for a byte-sized register operand encoded in ModRM.reg. */
static void byte_reg(struct mmio_insn *out, unsigned reg, unsigned rex)
{
    if (rex) {
        out->reg = (int)(reg | ((rex & 4) << 1));
        out->reg_high8 = 0;
    } else if (reg >= 4) {
        out->reg = (int)(reg - 4);
        out->reg_high8 = 1;
    } else {
        out->reg = (int)reg;
        out->reg_high8 = 0;
    }
}

int mmio_decode(const uint8_t *bytes, unsigned avail, unsigned mode, struct mmio_insn *out,
                char *err, size_t errlen)
{
    struct cursor c = { .bytes = bytes, .avail = avail, .pos = 0, .nopc = 0,
                        .err = err, .errlen = errlen };
    struct mmio_insn r;
    memset(&r, 0, sizeof(r));
    r.reg = -1;
    r.ext = EXT_NONE;

    if (err && errlen > 0)
        err[0] = '\0';
    if (out)
        memset(out, 0, sizeof(*out));
    if (!out) {
        if (err && errlen > 0)
            fmt_snprintf(err, errlen, "no output structure");
        return -1;
    }
    if (mode != 16 && mode != 32 && mode != 64) {
        if (err && errlen > 0)
            fmt_snprintf(err, errlen, "invalid code size %u (expected 16, 32 or 64)", mode);
        return -1;
    }
    if (!bytes)
        c.avail = 0;

    /* Prefixes. A REX prefix counts only when it is the last prefix
     * (it must immediately precede the opcode or the 0F escape). */
    int opsize_prefix = 0, addrsize_prefix = 0;
    unsigned rex = 0;
    uint8_t b;
    for (;;) {
        if (fetch(&c, &b) < 0)
            return -1;
        if (b == 0x66) {
            opsize_prefix = 1;
            rex = 0;
        } else if (b == 0x67) {
            addrsize_prefix = 1;
            rex = 0;
        } else if (b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65) {
            rex = 0;
        } else if (b == 0xf0) {
            return fail(&c, "LOCK prefix 0xf0 is not allowed on MOV");
        } else if (b == 0xf2 || b == 0xf3) {
            char what[64];
            fmt_snprintf(what, sizeof(what), "REP prefix 0x%02x is not supported", b);
            return fail(&c, what);
        } else if (mode == 64 && b >= 0x40 && b <= 0x4f) {
            rex = b; /* a later REX replaces an earlier one */
        } else {
            break;
        }
    }

    /* Operand and address size. */
    unsigned opsize = mode == 16 ? 16 : 32;
    if (opsize_prefix)
        opsize = opsize == 16 ? 32 : 16;
    if (rex & 8)
        opsize = 64;
    unsigned addr_size = mode;
    if (addrsize_prefix)
        addr_size = mode == 32 ? 16 : 32;
    unsigned opbytes = opsize / 8;
    unsigned rex_r = (rex & 4) ? 8 : 0;

    c.opc[0] = b;
    c.nopc = 1;

    unsigned reg;
    uint64_t v;
    switch (b) {
    case 0x88: /* MOV r/m8, r8 */
    case 0x8a: /* MOV r8, r/m8 */
        if (modrm_mem(&c, addr_size, &reg) < 0)
            return -1;
        r.size = 1;
        r.reg_size = 1;
        r.is_write = b == 0x88;
        byte_reg(&r, reg, rex);
        break;
    case 0x89: /* MOV r/m, r */
    case 0x8b: /* MOV r, r/m */
        if (modrm_mem(&c, addr_size, &reg) < 0)
            return -1;
        r.size = opbytes;
        r.reg_size = opbytes;
        r.is_write = b == 0x89;
        r.reg = (int)(reg | rex_r);
        break;
    case 0xc6: /* MOV r/m8, imm8 */
    case 0xc7: /* MOV r/m, imm16/imm32 (sign-extended with REX.W) */
        if (modrm_mem(&c, addr_size, &reg) < 0)
            return -1;
        if (reg != 0) {
            char why[48];
            fmt_snprintf(why, sizeof(why), "ModRM.reg /%u (only /0 is MOV)", reg);
            return fail_opcode(&c, why);
        }
        r.is_write = 1;
        r.reg = -1;
        if (b == 0xc6) {
            if (fetch_le(&c, 1, &v) < 0)
                return -1;
            r.size = 1;
            r.imm = v;
        } else if (opsize == 16) {
            if (fetch_le(&c, 2, &v) < 0)
                return -1;
            r.size = 2;
            r.imm = v;
        } else {
            if (fetch_le(&c, 4, &v) < 0)
                return -1;
            r.size = opbytes;
            r.imm = (opsize == 64 && (v & 0x80000000u)) ? (v | 0xffffffff00000000ull) : v;
        }
        r.reg_size = r.size;
        break;
    case 0xa0: /* MOV AL, moffs8 */
    case 0xa1: /* MOV eAX, moffs */
    case 0xa2: /* MOV moffs8, AL */
    case 0xa3: /* MOV moffs, eAX */
        if (skip(&c, addr_size / 8) < 0)
            return -1;
        r.size = (b & 1) ? opbytes : 1;
        r.reg_size = r.size;
        r.is_write = b >= 0xa2;
        r.reg = 0;
        break;
    case 0x0f:
        if (fetch(&c, &b) < 0)
            return -1;
        c.opc[1] = b;
        c.nopc = 2;
        if (b != 0xb6 && b != 0xb7 && b != 0xbe && b != 0xbf)
            return fail_opcode(&c, "");
        if (modrm_mem(&c, addr_size, &reg) < 0)
            return -1;
        r.size = (b & 1) ? 2 : 1;
        r.reg_size = opbytes;
        r.is_write = 0;
        r.reg = (int)(reg | rex_r);
        r.ext = b >= 0xbe ? EXT_SIGN : EXT_ZERO;
        break;
    default:
        if (mode != 64 && b >= 0x40 && b <= 0x4f)
            return fail_opcode(&c, "INC/DEC outside 64-bit mode");
        return fail_opcode(&c, "");
    }

    r.len = c.pos;
    *out = r;
    return 0;
}
