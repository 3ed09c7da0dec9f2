/* Decoder for the instructions guests use on MMIO (see decode.h).
 *
 * Written from the Intel SDM Vol. 2 encoding rules: legacy prefixes
 * (2.1.1), REX (2.2.1), ModRM/SIB and displacement sizes (tables 2-1,
 * 2-2, 2-3), the one-byte opcode map (table A-2: the ALU rows 00-3B, 80-8B,
 * A0-A3, C6/C7, F6/F7), the opcode groups 1, 3 and 11 (table A-6), the
 * two-byte entries for MOVZX/MOVSX (0F B6, 0F B7, 0F BE, 0F BF), and the
 * LOCK rules of the LOCK instruction page. Flags of mmio_alu() follow the
 * ADD/ADC/SUB/SBB/CMP/AND/OR/XOR/TEST pages ("Flags Affected").
 *
 * The decoder only computes what the MMIO emulation needs: the length,
 * the access size and direction, the register operand and the immediate.
 * The effective address is not computed (the hardware reports the guest
 * physical address on the EPT violation), so REX.B/REX.X, the SIB scale
 * and index, and the segment overrides are parsed only for their length.
 *
 * Every byte is read through fetch(), which refuses to read past avail or
 * past the architectural 15-byte limit. No static mutable state. The
 * structures are cleared with __builtin_memset: built freestanding
 * (-fno-builtin), the hypervisor's plain memset is a call even for a small
 * structure, and the decoder runs on every emulated MMIO access. */
#include "decode.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/x86/fmt.h"
#include "../arch/x86/regs.h"

struct cursor {
    const uint8_t *bytes;
    unsigned avail;
    unsigned pos;   /* next byte to read */
    uint8_t opc[2]; /* opcode bytes seen so far, for messages */
    unsigned nopc;
    uint8_t prefix_note; /* 66, F2 or F3 named in "unsupported opcode" messages, or 0 */
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
        fmt_snprintf(c->err, c->errlen, "%s (opcode %s%s%s)", what, ops, detail[0] ? ", " : "", detail);
    return -1;
}

static int fail(struct cursor *c, const char *what) { return fail_detail(c, what, ""); }

/* "unsupported opcode 0x0f 0x10[ with prefix 0xf3][: why]". F2/F3 are
 * called REP prefixes in front of one-byte opcodes; in front of 0F they
 * (and 66) select SSE forms, so they are named as plain prefixes. */
static int fail_opcode(struct cursor *c, const char *why)
{
    char ops[16], note[32] = "";
    if (!c->err || c->errlen == 0)
        return -1;
    opcode_text(c, ops, sizeof(ops));
    if (c->prefix_note)
        fmt_snprintf(note, sizeof(note), " with %sprefix 0x%02x", c->nopc == 1 ? "REP " : "", c->prefix_note);
    fmt_snprintf(c->err, c->errlen, "unsupported opcode %s%s%s%s", ops, note, why[0] ? ": " : "", why);
    return -1;
}

/* Reads one byte. Fails with a message when the instruction would exceed
 * 15 bytes or when fewer than pos + 1 bytes are available. */
static int fetch(struct cursor *c, uint8_t *b)
{
    char what[80];
    if (c->pos >= DECODE_MAX_LEN) {
        fmt_snprintf(what, sizeof(what), "instruction longer than %u bytes", (unsigned)DECODE_MAX_LEN);
        return fail(c, what);
    }
    if (c->pos >= c->avail) {
        fmt_snprintf(what, sizeof(what), "instruction truncated: only %u byte%s available", c->avail,
                     c->avail == 1 ? "" : "s");
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

/* Reads the ModRM byte. The operand must be memory (mod != 3). */
static int fetch_modrm(struct cursor *c, uint8_t *modrm)
{
    if (fetch(c, modrm) < 0)
        return -1;
    if ((*modrm >> 6) == 3) {
        char detail[16];
        fmt_snprintf(detail, sizeof(detail), "modrm 0x%02x", *modrm);
        return fail_detail(c, "register operand (mod=3) is not a memory access", detail);
    }
    return 0;
}

/* Skips the SIB byte and the displacement that follow a memory ModRM. */
static int skip_sib_disp(struct cursor *c, unsigned addr_size, uint8_t modrm)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
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

/* Register number for a byte-sized register operand encoded in ModRM.reg:
 * without any REX prefix, 4-7 are AH, CH, DH, BH. */
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

/* ---- opcode forms ---- */

/* The eight ALU operations, indexed by opcode bits 5:3 (00-3B) or by
 * ModRM.reg in group 1 (80-83). */
static const enum mmio_op alu_ops[8] = {
    MMIO_ADD, MMIO_OR, MMIO_ADC, MMIO_SBB, MMIO_AND, MMIO_SUB, MMIO_XOR, MMIO_CMP,
};

/* Mnemonics for messages, indexed by enum mmio_op. */
static const char *const op_names[] = {
    [MMIO_MOV] = "MOV", [MMIO_ADD] = "ADD",   [MMIO_OR] = "OR",     [MMIO_ADC] = "ADC",
    [MMIO_SBB] = "SBB", [MMIO_AND] = "AND",   [MMIO_SUB] = "SUB",   [MMIO_XOR] = "XOR",
    [MMIO_CMP] = "CMP", [MMIO_TEST] = "TEST", [MMIO_XCHG] = "XCHG",
};

/* How the operands of a supported opcode are encoded. */
enum kind {
    K_RM_REG, /* ModRM: op r/m, reg (memory is the left operand) */
    K_REG_RM, /* ModRM: op reg, r/m (the register is the left operand) */
    K_RM_IMM, /* ModRM: op r/m, imm */
    K_MOFFS,  /* A0-A3: AL/eAX and an absolute address of the address size */
    K_MOVX,   /* 0F B6/B7/BE/BF: a register loaded from a narrower memory operand */
};

/* Immediate operand: none, ib (sign-extended to the operand size) or
 * iw/id (iw with a 16-bit operand size, else id, sign-extended with REX.W). */
enum imm { IMM_NONE, IMM_B, IMM_Z };

/* Opcode groups whose ModRM.reg picks the operation (SDM table A-6). */
enum group { G_NONE, G_1, G_3, G_11 };

struct form {
    enum kind kind;
    enum mmio_op op; /* for groups: set from ModRM.reg by group_op() */
    int byte;        /* 8-bit operands */
    enum imm imm;
    enum group group;
};

/* Looks up a one-byte opcode. Returns 0 when it is not supported. */
static int one_byte_form(uint8_t b, struct form *f)
{
    static const struct {
        uint8_t opcode;
        struct form f;
    } table[] = {
        { 0x80, { K_RM_IMM, MMIO_ADD, 1, IMM_B, G_1 } }, /* grp1 r/m8, ib */
        { 0x81, { K_RM_IMM, MMIO_ADD, 0, IMM_Z, G_1 } }, /* grp1 r/m, iw/id */
        { 0x82, { K_RM_IMM, MMIO_ADD, 1, IMM_B, G_1 } }, /* grp1 r/m8, ib (same as 80; not in 64-bit mode) */
        { 0x83, { K_RM_IMM, MMIO_ADD, 0, IMM_B, G_1 } }, /* grp1 r/m, ib (sign-extended) */
        { 0x84, { K_RM_REG, MMIO_TEST, 1, IMM_NONE, G_NONE } },
        { 0x85, { K_RM_REG, MMIO_TEST, 0, IMM_NONE, G_NONE } },
        { 0x86, { K_RM_REG, MMIO_XCHG, 1, IMM_NONE, G_NONE } },
        { 0x87, { K_RM_REG, MMIO_XCHG, 0, IMM_NONE, G_NONE } },
        { 0x88, { K_RM_REG, MMIO_MOV, 1, IMM_NONE, G_NONE } },
        { 0x89, { K_RM_REG, MMIO_MOV, 0, IMM_NONE, G_NONE } },
        { 0x8a, { K_REG_RM, MMIO_MOV, 1, IMM_NONE, G_NONE } },
        { 0x8b, { K_REG_RM, MMIO_MOV, 0, IMM_NONE, G_NONE } },
        { 0xa0, { K_MOFFS, MMIO_MOV, 1, IMM_NONE, G_NONE } }, /* MOV AL, moffs8 */
        { 0xa1, { K_MOFFS, MMIO_MOV, 0, IMM_NONE, G_NONE } }, /* MOV eAX, moffs */
        { 0xa2, { K_MOFFS, MMIO_MOV, 1, IMM_NONE, G_NONE } }, /* MOV moffs8, AL */
        { 0xa3, { K_MOFFS, MMIO_MOV, 0, IMM_NONE, G_NONE } }, /* MOV moffs, eAX */
        { 0xc6, { K_RM_IMM, MMIO_MOV, 1, IMM_B, G_11 } },     /* grp11 /0: MOV r/m8, ib */
        { 0xc7, { K_RM_IMM, MMIO_MOV, 0, IMM_Z, G_11 } },     /* grp11 /0: MOV r/m, iw/id */
        { 0xf6, { K_RM_IMM, MMIO_TEST, 1, IMM_B, G_3 } },     /* grp3 /0: TEST r/m8, ib */
        { 0xf7, { K_RM_IMM, MMIO_TEST, 0, IMM_Z, G_3 } },     /* grp3 /0: TEST r/m, iw/id */
    };
    if (b < 0x40 && (b & 7) < 4) {
        /* 00-03, 08-0B, ..., 38-3B: bits 5:3 the operation, bit 1 the
         * direction (set: reg is the destination), bit 0 byte/full size. */
        *f = (struct form){ (b & 2) ? K_REG_RM : K_RM_REG, alu_ops[b >> 3], !(b & 1), IMM_NONE, G_NONE };
        return 1;
    }
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].opcode == b) {
            *f = table[i].f;
            return 1;
        }
    }
    return 0;
}

/* Looks up a two-byte opcode 0F b. Returns 0 when it is not supported. */
static int two_byte_form(uint8_t b, struct form *f)
{
    if (b != 0xb6 && b != 0xb7 && b != 0xbe && b != 0xbf)
        return 0;
    *f = (struct form){ K_MOVX, MMIO_MOV, !(b & 1), IMM_NONE, G_NONE };
    return 1;
}

/* Sets f->op from ModRM.reg for the group opcodes; fails for the members
 * that are not supported (group 3 /1-/7: NOT, NEG, MUL, ...; group 11 /1-/7). */
static int group_op(struct cursor *c, struct form *f, unsigned reg)
{
    char why[48];
    switch (f->group) {
    case G_1: f->op = alu_ops[reg]; return 0;
    case G_3:
        if (reg == 0)
            return 0;
        fmt_snprintf(why, sizeof(why), "ModRM.reg /%u (only /0 is TEST)", reg);
        return fail_opcode(c, why);
    case G_11:
        if (reg == 0)
            return 0;
        fmt_snprintf(why, sizeof(why), "ModRM.reg /%u (only /0 is MOV)", reg);
        return fail_opcode(c, why);
    case G_NONE: break;
    }
    return 0;
}

/* LOCK is legal only on a read-modify-write of memory: the ADD ... XOR
 * forms with memory as destination, and XCHG. Elsewhere it is #UD. */
static int check_lock(struct cursor *c, const struct form *f)
{
    char what[80];
    int rmw = f->op >= MMIO_ADD && f->op <= MMIO_XOR;
    if (f->op == MMIO_XCHG || (rmw && f->kind != K_REG_RM))
        return 0;
    fmt_snprintf(what, sizeof(what), "LOCK prefix 0xf0 is not allowed on %s%s", op_names[f->op],
                 rmw ? " with a register destination" : "");
    return fail(c, what);
}

/* ---- prefixes ---- */

struct prefixes {
    int opsize;   /* 66 seen */
    int addrsize; /* 67 seen */
    int lock;     /* F0 seen */
    uint8_t rep;  /* last F2 or F3 seen, or 0 */
    unsigned rex; /* REX byte immediately before the opcode, or 0 */
};

/* Reads the prefixes; returns the first opcode byte in *b. A REX prefix
 * counts only when it is the last prefix (it must immediately precede the
 * opcode or the 0F escape); a later REX replaces an earlier one. */
static int parse_prefixes(struct cursor *c, unsigned mode, struct prefixes *p, uint8_t *b)
{
    __builtin_memset(p, 0, sizeof(*p));
    for (;;) {
        if (fetch(c, b) < 0)
            return -1;
        switch (*b) {
        case 0x66: p->opsize = 1; break;
        case 0x67: p->addrsize = 1; break;
        case 0x2e:
        case 0x36:
        case 0x3e:
        case 0x26:
        case 0x64:
        case 0x65: break;
        case 0xf0: p->lock = 1; break;
        case 0xf2:
        case 0xf3: p->rep = *b; break;
        default:
            if (mode == 64 && *b >= 0x40 && *b <= 0x4f) {
                p->rex = *b;
                continue;
            }
            return 0;
        }
        p->rex = 0;
    }
}

/* Reads an immediate of the given kind and returns it sign-extended to
 * size bytes and truncated to them. */
static int fetch_imm(struct cursor *c, enum imm kind, unsigned size, uint64_t *imm)
{
    unsigned n = kind == IMM_B ? 1 : size == 2 ? 2 : 4;
    uint64_t v;
    if (fetch_le(c, n, &v) < 0)
        return -1;
    uint64_t sign = 1ull << (8 * n - 1);
    v = (v ^ sign) - sign; /* sign-extend n bytes to 64 bits */
    *imm = size == 8 ? v : v & ((1ull << (8 * size)) - 1);
    return 0;
}

/* ---- the decoder ---- */

/* Fills in the operands of a ModRM form after the ModRM byte. */
static void modrm_operands(struct mmio_insn *r, const struct form *f, unsigned reg, unsigned rex)
{
    int stores = f->op != MMIO_CMP && f->op != MMIO_TEST;
    if (f->kind == K_RM_IMM) {
        r->reg = -1;
    } else if (f->byte && f->kind != K_MOVX) { /* MOVZX/MOVSX: the register is full size */
        byte_reg(r, reg, rex);
    } else {
        r->reg = (int)(reg | ((rex & 4) << 1));
    }
    switch (f->kind) {
    case K_RM_REG:
    case K_RM_IMM:
        r->is_write = stores;
        r->reads_mem = f->op != MMIO_MOV;
        break;
    case K_REG_RM:
        r->is_write = 0;
        r->reads_mem = 1;
        r->reg_is_left = f->op != MMIO_MOV;
        r->reg_is_dest = r->reg_is_left && stores;
        break;
    case K_MOVX:
        r->is_write = 0;
        r->reads_mem = 1;
        break;
    case K_MOFFS: break;
    }
}

int mmio_decode(const uint8_t *bytes, unsigned avail, unsigned mode, struct mmio_insn *out, char *err,
                size_t errlen)
{
    struct cursor c = { .bytes = bytes, .avail = avail, .pos = 0, .nopc = 0, .err = err, .errlen = errlen };
    struct mmio_insn r;
    __builtin_memset(&r, 0, sizeof(r));
    r.reg = -1;
    r.ext = EXT_NONE;

    if (err && errlen > 0)
        err[0] = '\0';
    if (out)
        __builtin_memset(out, 0, sizeof(*out));
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

    struct prefixes p;
    uint8_t b;
    if (parse_prefixes(&c, mode, &p, &b) < 0)
        return -1;

    /* Operand and address size. */
    unsigned opsize = mode == 16 ? 16 : 32;
    if (p.opsize)
        opsize = opsize == 16 ? 32 : 16;
    if (p.rex & 8)
        opsize = 64;
    unsigned addr_size = mode;
    if (p.addrsize)
        addr_size = mode == 32 ? 16 : 32;

    /* Opcode. */
    struct form f;
    int known;
    c.opc[0] = b;
    c.nopc = 1;
    if (b == 0x0f) {
        if (fetch(&c, &b) < 0)
            return -1;
        c.opc[1] = b;
        c.nopc = 2;
        c.prefix_note = p.rep ? p.rep : p.opsize ? 0x66 : 0;
        known = two_byte_form(b, &f) && !p.rep;
    } else {
        c.prefix_note = p.rep;
        known = one_byte_form(b, &f);
    }
    if (!known) {
        if (mode != 64 && b >= 0x40 && b <= 0x4f && c.nopc == 1)
            return fail_opcode(&c, "INC/DEC outside 64-bit mode");
        return fail_opcode(&c, "");
    }
    if (b == 0x82 && c.nopc == 1 && mode == 64)
        return fail_opcode(&c, "invalid in 64-bit mode");
    if (p.rep) {
        char what[48];
        fmt_snprintf(what, sizeof(what), "REP prefix 0x%02x is not supported", p.rep);
        return fail(&c, what);
    }
    if (p.lock && f.group == G_NONE && check_lock(&c, &f) < 0)
        return -1;

    r.op = f.op;
    r.size = f.byte ? 1 : f.kind == K_MOVX ? 2 : opsize / 8; /* memory operand */
    r.reg_size = f.kind == K_MOVX ? opsize / 8 : r.size;
    if (f.kind == K_MOFFS) {
        if (skip(&c, addr_size / 8) < 0)
            return -1;
        r.is_write = b >= 0xa2;
        r.reads_mem = !r.is_write;
        r.reg = 0;
    } else {
        uint8_t modrm;
        if (fetch_modrm(&c, &modrm) < 0)
            return -1;
        unsigned reg = (modrm >> 3) & 7;
        if (group_op(&c, &f, reg) < 0)
            return -1;
        if (p.lock && f.group != G_NONE && check_lock(&c, &f) < 0)
            return -1;
        if (skip_sib_disp(&c, addr_size, modrm) < 0)
            return -1;
        r.op = f.op;
        modrm_operands(&r, &f, reg, p.rex);
        if (f.kind == K_MOVX)
            r.ext = b >= 0xbe ? EXT_SIGN : EXT_ZERO;
        if (f.imm != IMM_NONE && fetch_imm(&c, f.imm, r.size, &r.imm) < 0)
            return -1;
    }

    r.len = c.pos;
    *out = r;
    return 0;
}

/* ---- ALU ---- */

#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* 1 when the low byte of v has an even number of set bits (PF). */
static unsigned even_parity(uint64_t v)
{
    unsigned x = (unsigned)(v & 0xff);
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return !(x & 1);
}

uint64_t mmio_alu(enum mmio_op op, unsigned size, uint64_t dst, uint64_t src, uint64_t *rflags)
{
    unsigned bits = size == 1 ? 8 : size == 2 ? 16 : size == 4 ? 32 : 64;
    uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
    uint64_t d = dst & mask, s = src & mask;
    uint64_t cf_in = *rflags & RFLAGS_CF;
    /* carry: bit i is the carry (or borrow) out of bit i; overflow: the
     * top bit is OF. Both stay 0 for the logical operations. */
    uint64_t res, carry = 0, overflow = 0;
    int arith = 1; /* AF is defined (set from the carry into bit 4) */

    switch (op) {
    case MMIO_ADD:
    case MMIO_ADC:
        res = d + s + (op == MMIO_ADC ? cf_in : 0);
        carry = (d & s) | ((d ^ s) & ~res);
        overflow = (d ^ res) & (s ^ res);
        break;
    case MMIO_SUB:
    case MMIO_SBB:
    case MMIO_CMP:
        res = d - s - (op == MMIO_SBB ? cf_in : 0);
        carry = (~d & s) | (~(d ^ s) & res);
        overflow = (d ^ s) & (d ^ res);
        break;
    case MMIO_OR:
        res = d | s;
        arith = 0;
        break;
    case MMIO_AND:
    case MMIO_TEST:
        res = d & s;
        arith = 0;
        break;
    case MMIO_XOR:
        res = d ^ s;
        arith = 0;
        break;
    default: /* MMIO_MOV, MMIO_XCHG: no arithmetic */ return src;
    }
    res &= mask;

    unsigned top = bits - 1;
    uint64_t fl = *rflags & ~RFLAGS_ARITH;
    fl |= ((carry >> top) & 1) ? RFLAGS_CF : 0;
    fl |= even_parity(res) ? RFLAGS_PF : 0;
    fl |= (arith && ((d ^ s ^ res) >> 4) & 1) ? RFLAGS_AF : 0;
    fl |= res == 0 ? RFLAGS_ZF : 0;
    fl |= ((res >> top) & 1) ? RFLAGS_SF : 0;
    fl |= ((overflow >> top) & 1) ? RFLAGS_OF : 0;
    *rflags = fl;
    return res;
}
