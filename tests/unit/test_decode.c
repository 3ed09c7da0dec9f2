/* Unit tests: the MMIO instruction decoder and mmio_alu() (vmx/decode.c).
 *
 * Byte sequences follow the Intel SDM Vol. 2 encodings; each one was also
 * checked against nasm (assembly shown in the comment) or objdump. Every
 * decode runs on a heap copy of exactly the given length, so AddressSanitizer
 * reports any read past bytes[avail - 1]. mmio_alu() is checked against
 * hand-computed flags and against the host CPU (alu_oracle.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmx/decode.h"
#include "alu_oracle.h"

struct result {
    int rc;
    struct mmio_insn in;
    char err[160];
};

/* Decodes the first avail bytes of b from an exact-size heap copy. */
static struct result decode_n(unsigned mode, const uint8_t *b, unsigned avail)
{
    struct result r;
    memset(&r, 0xa5, sizeof(r));
    uint8_t *copy = malloc(avail ? avail : 1);
    assert_non_null(copy);
    if (avail)
        memcpy(copy, b, avail);
    r.rc = mmio_decode(avail ? copy : NULL, avail, mode, &r.in, r.err, sizeof(r.err));
    free(copy);
    if (r.rc == 0)
        assert_string_equal(r.err, "");
    else
        assert_true(strlen(r.err) > 0);
    return r;
}

#define BYTES(...)     ((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...)    ((unsigned)sizeof((const uint8_t[]){ __VA_ARGS__ }))
#define DEC(mode, ...) decode_n((mode), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

/* Checks a successful MOV/MOVZX/MOVSX decode. */
static void expect(struct result r, unsigned len, unsigned size, int is_write, int reg, int high8,
                   unsigned reg_size, enum mmio_ext ext, uint64_t imm)
{
    if (r.rc != 0)
        fail_msg("decode failed: %s", r.err);
    assert_int_equal(r.in.op, MMIO_MOV);
    assert_int_equal(r.in.reads_mem, !is_write);
    assert_int_equal(r.in.reg_is_dest, 0);
    assert_int_equal(r.in.reg_is_left, 0);
    assert_int_equal(r.in.len, len);
    assert_int_equal(r.in.size, size);
    assert_int_equal(r.in.is_write, is_write);
    assert_int_equal(r.in.reg, reg);
    assert_int_equal(r.in.reg_high8, high8);
    assert_int_equal(r.in.reg_size, reg_size);
    assert_int_equal(r.in.ext, ext);
    assert_true(r.in.imm == imm);
}

/* Register load/store: reg_size equals size, no extension, no immediate. */
static void expect_rm(struct result r, unsigned len, unsigned size, int is_write, int reg, int high8)
{
    expect(r, len, size, is_write, reg, high8, size, EXT_NONE, 0);
}

/* Checks a refusal whose message contains want. */
static void expect_fail(struct result r, const char *want)
{
    assert_int_equal(r.rc, -1);
    if (!strstr(r.err, want))
        fail_msg("message \"%s\" does not contain \"%s\"", r.err, want);
}

/* Checks a successful decode of an ALU, TEST or XCHG form: memory is
 * always read, the register (if any) has the access size. */
static void expect_alu(struct result r, enum mmio_op op, unsigned len, unsigned size, int is_write, int reg,
                       int high8, int reg_is_dest, int reg_is_left, uint64_t imm)
{
    if (r.rc != 0)
        fail_msg("decode failed: %s", r.err);
    assert_int_equal(r.in.op, op);
    assert_int_equal(r.in.len, len);
    assert_int_equal(r.in.size, size);
    assert_int_equal(r.in.is_write, is_write);
    assert_int_equal(r.in.reads_mem, 1);
    assert_int_equal(r.in.reg, reg);
    assert_int_equal(r.in.reg_high8, high8);
    assert_int_equal(r.in.reg_is_dest, reg_is_dest);
    assert_int_equal(r.in.reg_is_left, reg_is_left);
    assert_int_equal(r.in.reg_size, size);
    assert_int_equal(r.in.ext, EXT_NONE);
    if (r.in.imm != imm)
        fail_msg("imm 0x%llx, expected 0x%llx", (unsigned long long)r.in.imm, (unsigned long long)imm);
}

/* "op r/m, reg" (memory is the destination and the left operand). */
static void expect_rm_reg(struct result r, enum mmio_op op, unsigned len, unsigned size, int reg, int high8)
{
    int stores = op != MMIO_CMP && op != MMIO_TEST;
    expect_alu(r, op, len, size, stores, reg, high8, 0, 0, 0);
}

/* "op reg, r/m" (memory is only read; the register is the left operand). */
static void expect_reg_rm(struct result r, enum mmio_op op, unsigned len, unsigned size, int reg, int high8)
{
    expect_alu(r, op, len, size, 0, reg, high8, op != MMIO_CMP, 1, 0);
}

/* "op r/m, imm". */
static void expect_rm_imm(struct result r, enum mmio_op op, unsigned len, unsigned size, uint64_t imm)
{
    int stores = op != MMIO_CMP && op != MMIO_TEST;
    expect_alu(r, op, len, size, stores, -1, 0, 0, 0, imm);
}

/* The ALU operations in opcode order (bits 5:3, or ModRM.reg of group 1). */
static const enum mmio_op alu_order[8] = {
    MMIO_ADD, MMIO_OR, MMIO_ADC, MMIO_SBB, MMIO_AND, MMIO_SUB, MMIO_XOR, MMIO_CMP,
};

/* Every strict prefix of a valid instruction must be refused as truncated,
 * and the full instruction must decode to len. */
static void expect_truncations(unsigned mode, const uint8_t *b, unsigned len)
{
    for (unsigned n = 0; n < len; n++)
        expect_fail(decode_n(mode, b, n), "truncated");
    struct result r = decode_n(mode, b, len);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.in.len, len);
}

/* ---- 88 / 89 / 8A / 8B ---- */

static void test_mov89_store32_disp8(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x89, 0x48, 0x10), 3, 4, 1, 1, 0); /* mov [eax+0x10], ecx */
}

static void test_mov8b_load32_no_disp(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x8b, 0x13), 2, 4, 0, 2, 0);                         /* mov edx, [ebx] */
    expect_rm(DEC(32, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 6, 4, 0, 0, 0); /* mov eax, [disp32] */
}

static void test_mov88_high8_without_rex(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x88, 0x20), 2, 1, 1, 0, 1);       /* mov [eax], ah */
    expect_rm(DEC(32, 0x88, 0x3e), 2, 1, 1, 3, 1);       /* mov [esi], bh */
    expect_rm(DEC(64, 0x88, 0x34, 0x24), 3, 1, 1, 2, 1); /* mov [rsp], dh */
    expect_rm(DEC(64, 0x88, 0x65, 0x10), 3, 1, 1, 0, 1); /* mov [rbp+0x10], ah */
    expect_rm(DEC(16, 0x88, 0x6e, 0x00), 3, 1, 1, 1, 1); /* mov [bp], ch */
}

static void test_mov8a_load8(void **s)
{
    (void)s;
    /* mov cl, [edi+0x12345678] */
    expect_rm(DEC(32, 0x8a, 0x8f, 0x78, 0x56, 0x34, 0x12), 6, 1, 0, 1, 0);
    /* mov bl, [bx+di+0x7f] */
    expect_rm(DEC(16, 0x8a, 0x59, 0x7f), 3, 1, 0, 3, 0);
    /* 8A with reg 4 and no REX is AH */
    expect_rm(DEC(32, 0x8a, 0x20), 2, 1, 0, 0, 1); /* mov ah, [eax] */
}

static void test_byte_regs_with_rex(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x40, 0x88, 0x20), 3, 1, 1, 4, 0);  /* mov [rax], spl */
    expect_rm(DEC(64, 0x40, 0x88, 0x30), 3, 1, 1, 6, 0);  /* mov [rax], sil */
    expect_rm(DEC(64, 0x40, 0x8a, 0x38), 3, 1, 0, 7, 0);  /* mov dil, [rax] */
    expect_rm(DEC(64, 0x44, 0x88, 0x38), 3, 1, 1, 15, 0); /* mov [rax], r15b */
    /* REX.B alone (41) still switches AH..BH to SPL..DIL */
    expect_rm(DEC(64, 0x41, 0x88, 0x20), 3, 1, 1, 4, 0); /* mov [r8], spl */
}

static void test_rex_r(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x44, 0x8b, 0x08), 3, 4, 0, 9, 0);  /* mov r9d, [rax] */
    expect_rm(DEC(64, 0x44, 0x89, 0x38), 3, 4, 1, 15, 0); /* mov [rax], r15d */
    /* mov r10w, [r11+r12*8+0x44]: 66 + REX.RXB */
    expect_rm(DEC(64, 0x66, 0x47, 0x8b, 0x54, 0xe3, 0x44), 6, 2, 0, 10, 0);
}

static void test_rex_w(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x48, 0x8b, 0x0a), 3, 8, 0, 1, 0);  /* mov rcx, [rdx] */
    expect_rm(DEC(64, 0x4c, 0x89, 0x20), 3, 8, 1, 12, 0); /* mov [rax], r12 */
    expect_rm(DEC(64, 0x49, 0x89, 0x00), 3, 8, 1, 0, 0);  /* mov [r8], rax */
}

static void test_rex_w_wins_over_66(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x66, 0x48, 0x89, 0x08), 4, 8, 1, 1, 0); /* data16 mov [rax], rcx */
}

static void test_rex_ignored_unless_last(void **s)
{
    (void)s;
    /* 48 66 89 08: the REX is followed by a prefix, so it is ignored: mov [rax], cx */
    expect_rm(DEC(64, 0x48, 0x66, 0x89, 0x08), 4, 2, 1, 1, 0);
    /* 44 26 8b 08: ignored REX.R: mov ecx, es:[rax] */
    expect_rm(DEC(64, 0x44, 0x26, 0x8b, 0x08), 4, 4, 0, 1, 0);
    /* 40 26 88 20: ignored REX, so reg 4 is AH again */
    expect_rm(DEC(64, 0x40, 0x26, 0x88, 0x20), 4, 1, 1, 0, 1);
    /* 48 41 89 08: only the last REX counts: mov [r8], ecx */
    expect_rm(DEC(64, 0x48, 0x41, 0x89, 0x08), 4, 4, 1, 1, 0);
}

static void test_64bit_default_sizes(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x89, 0x08), 2, 4, 1, 1, 0);             /* mov [rax], ecx */
    expect_rm(DEC(64, 0x66, 0x89, 0x08), 3, 2, 1, 1, 0);       /* mov [rax], cx */
    expect_rm(DEC(64, 0x67, 0x89, 0x08), 3, 4, 1, 1, 0);       /* mov [eax], ecx */
    expect_rm(DEC(64, 0x41, 0x89, 0x45, 0x00), 4, 4, 1, 0, 0); /* mov [r13], eax (disp8) */
    expect_rm(DEC(64, 0x41, 0x89, 0x04, 0x24), 4, 4, 1, 0, 0); /* mov [r12], eax (SIB) */
}

/* ---- operand and address size prefixes ---- */

static void test_16bit_mode_sizes(void **s)
{
    (void)s;
    expect_rm(DEC(16, 0x89, 0x00), 2, 2, 1, 0, 0);       /* mov [bx+si], ax */
    expect_rm(DEC(16, 0x66, 0x89, 0x07), 3, 4, 1, 0, 0); /* mov [bx], eax */
    expect_rm(DEC(16, 0x8a, 0x07), 2, 1, 0, 0, 0);       /* mov al, [bx] */
}

static void test_32bit_mode_66(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x66, 0x89, 0x08), 3, 2, 1, 1, 0); /* mov [eax], cx */
    expect_rm(DEC(32, 0x66, 0x8b, 0x08), 3, 2, 0, 1, 0); /* mov cx, [eax] */
}

static void test_16bit_addressing_forms(void **s)
{
    (void)s;
    expect_rm(DEC(16, 0x8b, 0x06, 0x34, 0x12), 4, 2, 0, 0, 0); /* mov ax, [0x1234] (mod0 rm6) */
    expect_rm(DEC(16, 0x89, 0x4e, 0x10), 3, 2, 1, 1, 0);       /* mov [bp+0x10], cx (mod1) */
    expect_rm(DEC(16, 0x89, 0x94, 0x34, 0x12), 4, 2, 1, 2, 0); /* mov [si+0x1234], dx (mod2) */
    /* rm 100 in 16-bit addressing is [si], not a SIB: mov [si], ax */
    expect_rm(DEC(16, 0x89, 0x04), 2, 2, 1, 0, 0);
    /* rm 101 mod 0 is [di], no displacement */
    expect_rm(DEC(16, 0x89, 0x05), 2, 2, 1, 0, 0);
}

static void test_67_in_32bit_mode_uses_16bit_addressing(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x67, 0x89, 0x0b), 3, 4, 1, 1, 0);             /* mov [bp+di], ecx */
    expect_rm(DEC(32, 0x67, 0x8b, 0x0e, 0x34, 0x12), 5, 4, 0, 1, 0); /* mov ecx, [word 0x1234] */
    expect_rm(DEC(32, 0x67, 0x89, 0x44, 0x10), 4, 4, 1, 0, 0);       /* mov [si+0x10], eax */
}

static void test_67_in_16bit_mode_uses_32bit_addressing(void **s)
{
    (void)s;
    /* mov [eax+ecx*4+0x10], dx */
    expect_rm(DEC(16, 0x67, 0x89, 0x54, 0x88, 0x10), 5, 2, 1, 2, 0);
    /* 67 66: mov [esp+4], eax */
    expect_rm(DEC(16, 0x67, 0x66, 0x89, 0x44, 0x24, 0x04), 6, 4, 1, 0, 0);
}

/* ---- SIB and displacements (32/64-bit addressing) ---- */

static void test_sib_no_disp(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x89, 0x14, 0x88), 3, 4, 1, 2, 0); /* mov [eax+ecx*4], edx */
}

static void test_sib_disp8(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x89, 0x44, 0x24, 0x08), 4, 4, 1, 0, 0); /* mov [esp+8], eax */
    expect_rm(DEC(32, 0x89, 0x4c, 0x05, 0x04), 4, 4, 1, 1, 0); /* mov [ebp+eax+4], ecx */
}

static void test_sib_disp32(void **s)
{
    (void)s;
    /* mov [ebx+esi*2+0x12345678], eax */
    expect_rm(DEC(32, 0x89, 0x84, 0x73, 0x78, 0x56, 0x34, 0x12), 7, 4, 1, 0, 0);
}

static void test_sib_base101_mod0_disp32(void **s)
{
    (void)s;
    /* mov eax, [ecx*4+0x1000] */
    expect_rm(DEC(32, 0x8b, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00), 7, 4, 0, 0, 0);
    /* 64-bit absolute via SIB: mov eax, [abs dword 0x12345678] */
    expect_rm(DEC(64, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12), 7, 4, 0, 0, 0);
}

static void test_rip_relative(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x8b, 0x05, 0xfa, 0x00, 0x00, 0x00), 6, 4, 0, 0, 0);       /* mov eax, [rel] */
    expect_rm(DEC(64, 0x48, 0x8b, 0x05, 0xf9, 0x00, 0x00, 0x00), 7, 8, 0, 0, 0); /* mov rax, [rel] */
    /* mov byte [rip+0x1000], 0x55: displacement, then the immediate */
    expect(DEC(64, 0xc6, 0x05, 0x00, 0x10, 0x00, 0x00, 0x55), 7, 1, 1, -1, 0, 1, EXT_NONE, 0x55);
    /* mov dword [rip+0x1000], 0x55 */
    expect(DEC(64, 0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x55, 0x00, 0x00, 0x00), 10, 4, 1, -1, 0, 4, EXT_NONE,
           0x55);
}

/* ---- C6 / C7 immediates ---- */

static void test_c6_imm8(void **s)
{
    (void)s;
    expect(DEC(32, 0xc6, 0x00, 0x80), 3, 1, 1, -1, 0, 1, EXT_NONE, 0x80);    /* mov byte [eax], 0x80 */
    expect(DEC(32, 0xc6, 0x45, 0x00, 0x01), 4, 1, 1, -1, 0, 1, EXT_NONE, 1); /* mov byte [ebp], 1 */
    expect(DEC(16, 0xc6, 0x07, 0xff), 3, 1, 1, -1, 0, 1, EXT_NONE, 0xff);    /* mov byte [bx], 0xff */
    /* 66 and REX.W do not widen C6 */
    expect(DEC(64, 0x48, 0xc6, 0x00, 0x7f), 4, 1, 1, -1, 0, 1, EXT_NONE, 0x7f);
}

static void test_c7_imm32(void **s)
{
    (void)s;
    /* mov dword [eax+4], 0xdeadbeef: 32-bit immediate is not sign-extended at size 4 */
    expect(DEC(32, 0xc7, 0x40, 0x04, 0xef, 0xbe, 0xad, 0xde), 7, 4, 1, -1, 0, 4, EXT_NONE, 0xdeadbeefu);
    /* 16-bit mode + 66: mov dword [bx], 0x12345678 */
    expect(DEC(16, 0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12), 7, 4, 1, -1, 0, 4, EXT_NONE, 0x12345678u);
}

static void test_c7_imm16(void **s)
{
    (void)s;
    expect(DEC(16, 0xc7, 0x07, 0x01, 0x80), 4, 2, 1, -1, 0, 2, EXT_NONE, 0x8001); /* mov word [bx], 0x8001 */
    expect(DEC(32, 0x66, 0xc7, 0x00, 0x34, 0x12), 5, 2, 1, -1, 0, 2, EXT_NONE, 0x1234);
    expect(DEC(64, 0x66, 0xc7, 0x00, 0xff, 0xff), 5, 2, 1, -1, 0, 2, EXT_NONE, 0xffff);
}

static void test_c7_rexw_sign_extends(void **s)
{
    (void)s;
    /* mov qword [rax], -2 */
    expect(DEC(64, 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff), 7, 8, 1, -1, 0, 8, EXT_NONE,
           0xfffffffffffffffeull);
    /* mov qword [rax], 0x7fffffff: positive stays positive */
    expect(DEC(64, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f), 7, 8, 1, -1, 0, 8, EXT_NONE, 0x7fffffffull);
    /* mov qword [rax], 0x80000000 as imm32 -> 0xffffffff80000000 */
    expect(DEC(64, 0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80), 7, 8, 1, -1, 0, 8, EXT_NONE,
           0xffffffff80000000ull);
}

/* ---- A0-A3: moffs ---- */

static void test_moffs16(void **s)
{
    (void)s;
    expect_rm(DEC(16, 0xa1, 0x34, 0x12), 3, 2, 0, 0, 0);       /* mov ax, [0x1234] */
    expect_rm(DEC(16, 0xa0, 0x34, 0x12), 3, 1, 0, 0, 0);       /* mov al, [0x1234] */
    expect_rm(DEC(32, 0x67, 0xa2, 0x34, 0x12), 4, 1, 1, 0, 0); /* a16 mov [0x1234], al */
}

static void test_moffs32(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0xa0, 0x78, 0x56, 0x34, 0x12), 5, 1, 0, 0, 0);       /* mov al, [abs] */
    expect_rm(DEC(32, 0xa3, 0x78, 0x56, 0x34, 0x12), 5, 4, 1, 0, 0);       /* mov [abs], eax */
    expect_rm(DEC(16, 0x67, 0xa3, 0x78, 0x56, 0x34, 0x12), 6, 2, 1, 0, 0); /* a32 mov [abs], ax */
    expect_rm(DEC(64, 0x67, 0xa1, 0x78, 0x56, 0x34, 0x12), 6, 4, 0, 0, 0); /* a32 mov eax, [abs] */
    expect_rm(DEC(32, 0x66, 0xa1, 0x78, 0x56, 0x34, 0x12), 6, 2, 0, 0, 0); /* mov ax, [abs] */
}

static void test_moffs64(void **s)
{
    (void)s;
    /* mov [abs qword 0x1122334455667788], eax */
    expect_rm(DEC(64, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 9, 4, 1, 0, 0);
    /* same with rax */
    expect_rm(DEC(64, 0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 10, 8, 1, 0, 0);
    /* movabs al, [...] and movabs ax, [...] */
    expect_rm(DEC(64, 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 9, 1, 0, 0, 0);
    expect_rm(DEC(64, 0x66, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 10, 2, 0, 0, 0);
    /* mov [abs], al: REX on A2 does not change the register (still AL) */
    expect_rm(DEC(64, 0x40, 0xa2, 1, 2, 3, 4, 5, 6, 7, 8), 10, 1, 1, 0, 0);
}

/* ---- more MOV addressing forms ---- */

static void test_rex_x_and_rex_b(void **s)
{
    (void)s;
    /* REX.X: index r12 (SIB index 100 is "none" only without REX.X): mov eax, [rsp+r12] */
    expect_rm(DEC(64, 0x42, 0x8b, 0x04, 0x24), 4, 4, 0, 0, 0);
    /* REX.XB with SIB base 101, mod 00: still no base and a disp32: mov eax, [r12*8+0x100] */
    expect_rm(DEC(64, 0x43, 0x8b, 0x04, 0xe5, 0x00, 0x01, 0x00, 0x00), 8, 4, 0, 0, 0);
    /* REX.B with mod 00 rm 101: still RIP-relative: mov eax, [rip+0x10] */
    expect_rm(DEC(64, 0x41, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 7, 4, 0, 0, 0);
    /* REX.RB: mov r9d, [r10] */
    expect_rm(DEC(64, 0x45, 0x8b, 0x0a), 3, 4, 0, 9, 0);
    /* REX.WRXB: mov [r8+r9*2+0x7f], r10 */
    expect_rm(DEC(64, 0x4f, 0x89, 0x54, 0x48, 0x7f), 5, 8, 1, 10, 0);
}

static void test_rip_relative_more(void **s)
{
    (void)s;
    /* mov [rip+0x100], r15 */
    expect_rm(DEC(64, 0x4c, 0x89, 0x3d, 0x00, 0x01, 0x00, 0x00), 7, 8, 1, 15, 0);
    /* 67: EIP-relative, same length: mov eax, [eip+0x10] */
    expect_rm(DEC(64, 0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 7, 4, 0, 0, 0);
    /* mov qword [rip+0x100], -1: disp32 then imm32, sign-extended */
    expect(DEC(64, 0x48, 0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff), 11, 8, 1, -1, 0, 8,
           EXT_NONE, 0xffffffffffffffffull);
    /* mov word [rip+0x100], 0x8000 */
    expect(DEC(64, 0x66, 0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x80), 9, 2, 1, -1, 0, 2, EXT_NONE,
           0x8000);
    /* in 32-bit mode mod 00 rm 101 is an absolute disp32: mov [0x1000], al */
    expect_rm(DEC(32, 0x88, 0x05, 0x00, 0x10, 0x00, 0x00), 6, 1, 1, 0, 0);
}

static void test_sib_special_cases(void **s)
{
    (void)s;
    /* SIB base 101 with mod 01 is [ebp+disp8]: mov eax, [ebp+8] */
    expect_rm(DEC(32, 0x8b, 0x44, 0x25, 0x08), 4, 4, 0, 0, 0);
    /* SIB base 101 with mod 10 is [ebp+disp32]: mov eax, [ebp+0x1000] */
    expect_rm(DEC(32, 0x8b, 0x84, 0x25, 0x00, 0x10, 0x00, 0x00), 7, 4, 0, 0, 0);
    /* index 100 is none whatever the scale: mov eax, [esp] (scale 2) */
    expect_rm(DEC(32, 0x8b, 0x04, 0x64), 3, 4, 0, 0, 0);
    /* SIB with index and base 101, mod 00: mov eax, [esi*2+0x12345678] */
    expect_rm(DEC(32, 0x8b, 0x04, 0x75, 0x78, 0x56, 0x34, 0x12), 7, 4, 0, 0, 0);
    /* 64-bit SIB base rsp, disp8: mov rax, [rsp+0x10] */
    expect_rm(DEC(64, 0x48, 0x8b, 0x44, 0x24, 0x10), 5, 8, 0, 0, 0);
}

static void test_16bit_addressing_more(void **s)
{
    (void)s;
    /* mod 10 rm 110 is [bp+disp16]: mov ax, [bp+0x1234] */
    expect_rm(DEC(16, 0x8b, 0x86, 0x34, 0x12), 4, 2, 0, 0, 0);
    /* mod 01 rm 111 is [bx+disp8]: mov [bx-1], dl */
    expect_rm(DEC(16, 0x88, 0x57, 0xff), 3, 1, 1, 2, 0);
    /* mov byte [bp+0x1234], 0x55: disp16 then imm8 */
    expect(DEC(16, 0xc6, 0x86, 0x34, 0x12, 0x55), 5, 1, 1, -1, 0, 1, EXT_NONE, 0x55);
    /* C7 in 16-bit mode: imm16, not sign-extended beyond 16 bits */
    expect(DEC(16, 0xc7, 0x06, 0x34, 0x12, 0x00, 0x80), 6, 2, 1, -1, 0, 2, EXT_NONE, 0x8000);
}

static void test_moffs_more(void **s)
{
    (void)s;
    /* 16-bit mode with 67: moffs32: mov al, [0x12345678] */
    expect_rm(DEC(16, 0x67, 0xa0, 0x78, 0x56, 0x34, 0x12), 6, 1, 0, 0, 0);
    /* 16-bit mode with 66: mov eax, [0x1234] (moffs stays 16-bit) */
    expect_rm(DEC(16, 0x66, 0xa1, 0x34, 0x12), 4, 4, 0, 0, 0);
    /* 64-bit mode with 67: a32 mov [0x12345678], al */
    expect_rm(DEC(64, 0x67, 0xa2, 0x78, 0x56, 0x34, 0x12), 6, 1, 1, 0, 0);
    /* 64-bit with REX.W and 67: a32 mov rax, [0x12345678] */
    expect_rm(DEC(64, 0x67, 0x48, 0xa1, 0x78, 0x56, 0x34, 0x12), 7, 8, 0, 0, 0);
    /* 32-bit mode: mov [0x12345678], ax */
    expect_rm(DEC(32, 0x66, 0xa3, 0x78, 0x56, 0x34, 0x12), 6, 2, 1, 0, 0);
    /* REX.B does not pick R8 for moffs: movabs [...], eax */
    expect_rm(DEC(64, 0x41, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 10, 4, 1, 0, 0);
}

static void test_c7_sizes_more(void **s)
{
    (void)s;
    /* 66 with REX.W: REX.W wins, imm32 sign-extended: mov qword [rax], -128 */
    expect(DEC(64, 0x66, 0x48, 0xc7, 0x00, 0x80, 0xff, 0xff, 0xff), 8, 8, 1, -1, 0, 8, EXT_NONE,
           0xffffffffffffff80ull);
    /* 64-bit mode without REX.W: 32-bit store, imm32 as is */
    expect(DEC(64, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80), 6, 4, 1, -1, 0, 4, EXT_NONE, 0x80000000u);
    /* 32-bit mode with SIB and disp8: mov dword [esp+4], 1 */
    expect(DEC(32, 0xc7, 0x44, 0x24, 0x04, 0x01, 0x00, 0x00, 0x00), 8, 4, 1, -1, 0, 4, EXT_NONE, 1);
    /* C6 with REX: mov byte [r8], 0xff */
    expect(DEC(64, 0x41, 0xc6, 0x00, 0xff), 4, 1, 1, -1, 0, 1, EXT_NONE, 0xff);
}

/* ---- MOVZX / MOVSX ---- */

static void test_movzx(void **s)
{
    (void)s;
    expect(DEC(32, 0x0f, 0xb6, 0x03), 3, 1, 0, 0, 0, 4, EXT_ZERO, 0);       /* movzx eax, byte [ebx] */
    expect(DEC(32, 0x0f, 0xb7, 0x08), 3, 2, 0, 1, 0, 4, EXT_ZERO, 0);       /* movzx ecx, word [eax] */
    expect(DEC(64, 0x4c, 0x0f, 0xb6, 0x00), 4, 1, 0, 8, 0, 8, EXT_ZERO, 0); /* movzx r8, byte [rax] */
    expect(DEC(16, 0x0f, 0xb6, 0x07), 3, 1, 0, 0, 0, 2, EXT_ZERO, 0);       /* movzx ax, byte [bx] */
    expect(DEC(16, 0x66, 0x0f, 0xb6, 0x07), 4, 1, 0, 0, 0, 4, EXT_ZERO, 0); /* movzx eax, byte [bx] */
    expect(DEC(64, 0x66, 0x0f, 0xb6, 0x00), 4, 1, 0, 0, 0, 2, EXT_ZERO, 0); /* movzx ax, byte [rax] */
    /* movzx rcx, word gs:[rax] */
    expect(DEC(64, 0x65, 0x48, 0x0f, 0xb7, 0x08), 5, 2, 0, 1, 0, 8, EXT_ZERO, 0);
    /* reg field 4 on MOVZX is ESP, never AH */
    expect(DEC(32, 0x0f, 0xb6, 0x20), 3, 1, 0, 4, 0, 4, EXT_ZERO, 0); /* movzx esp, byte [eax] */
}

static void test_movsx(void **s)
{
    (void)s;
    expect(DEC(32, 0x0f, 0xbe, 0x10), 3, 1, 0, 2, 0, 4, EXT_SIGN, 0);       /* movsx edx, byte [eax] */
    expect(DEC(64, 0x48, 0x0f, 0xbf, 0x01), 4, 2, 0, 0, 0, 8, EXT_SIGN, 0); /* movsx rax, word [rcx] */
    expect(DEC(32, 0x66, 0x0f, 0xbe, 0x10), 4, 1, 0, 2, 0, 2, EXT_SIGN, 0); /* movsx dx, byte [eax] */
    /* movsx r9, byte [r12+0x10] */
    expect(DEC(64, 0x4d, 0x0f, 0xbe, 0x4c, 0x24, 0x10), 6, 1, 0, 9, 0, 8, EXT_SIGN, 0);
    expect(DEC(16, 0x0f, 0xbf, 0x07), 3, 2, 0, 0, 0, 2, EXT_SIGN, 0); /* movsx ax, word [bx] */
}

/* ---- prefixes ---- */

static void test_segment_prefixes(void **s)
{
    (void)s;
    static const uint8_t segs[] = { 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65 };
    for (unsigned mode = 16; mode <= 64; mode *= 2) {
        for (unsigned i = 0; i < sizeof(segs); i++) {
            uint8_t b[3] = { segs[i], 0x89, 0x00 };
            expect_rm(decode_n(mode, b, 3), 3, mode == 16 ? 2 : 4, 1, 0, 0);
        }
    }
    /* mov cx, gs:[rax] */
    expect_rm(DEC(64, 0x65, 0x66, 0x8b, 0x08), 4, 2, 0, 1, 0);
}

static void test_prefix_order_and_repeats(void **s)
{
    (void)s;
    /* repeated 66 does not toggle back */
    expect_rm(DEC(32, 0x66, 0x66, 0x89, 0x08), 4, 2, 1, 1, 0);
    /* any order: 67 2e 66 64 in 32-bit mode: 16-bit address [bx+si+disp16], 16-bit data */
    expect_rm(DEC(32, 0x67, 0x2e, 0x66, 0x64, 0x89, 0x80, 0x34, 0x12), 8, 2, 1, 0, 0);
    expect_rm(DEC(32, 0x64, 0x66, 0x2e, 0x67, 0x89, 0x80, 0x34, 0x12), 8, 2, 1, 0, 0);
    /* repeated 67 in 64-bit mode: still 32-bit addressing */
    expect_rm(DEC(64, 0x67, 0x67, 0x67, 0xa1, 1, 2, 3, 4), 8, 4, 0, 0, 0);
    /* segment + 66 + REX.W + 0F */
    expect(DEC(64, 0x3e, 0x66, 0x48, 0x0f, 0xbe, 0x00), 6, 1, 0, 0, 0, 8, EXT_SIGN, 0);
}

static void test_max_length_15_ok(void **s)
{
    (void)s;
    /* 9 segment prefixes + mov [eax+disp32], ecx (6 bytes) = 15 */
    struct result r = DEC(32, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x89, 0x88, 0x00, 0x00,
                          0x00, 0xfe);
    expect_rm(r, 15, 4, 1, 1, 0);
    /* avail beyond the instruction is fine: only len bytes are consumed */
    expect_rm(DEC(32, 0x89, 0x08, 0x90, 0x90, 0x90), 2, 4, 1, 1, 0);
}

/* ---- refusals ---- */

static void test_refuse_mod3(void **s)
{
    (void)s;
    struct result r = DEC(32, 0x89, 0xc8); /* mov eax, ecx */
    expect_fail(r, "register operand (mod=3) is not a memory access");
    expect_fail(r, "0x89");
    expect_fail(DEC(64, 0x44, 0x88, 0xe0), "mod=3"); /* mov al, r12b */
    expect_fail(DEC(16, 0x8a, 0xc1), "mod=3");
    expect_fail(DEC(32, 0x8b, 0xc1), "mod=3");
    expect_fail(DEC(32, 0xc6, 0xc0, 0x01), "mod=3"); /* mov al, 1 (C6 form) */
    expect_fail(DEC(32, 0xc7, 0xc0, 1, 0, 0, 0), "mod=3");
    r = DEC(32, 0x0f, 0xb6, 0xc0); /* movzx eax, al */
    expect_fail(r, "mod=3");
    expect_fail(r, "0x0f 0xb6");
    expect_fail(DEC(64, 0x48, 0x0f, 0xbf, 0xc1), "mod=3");
}

static void test_refuse_lock(void **s)
{
    (void)s;
    expect_fail(DEC(32, 0xf0, 0x89, 0x08), "LOCK");
    expect_fail(DEC(64, 0x66, 0xf0, 0x89, 0x08), "LOCK");
    expect_fail(DEC(16, 0x2e, 0xf0, 0xc6, 0x07, 0x00), "LOCK");
}

static void test_refuse_rep(void **s)
{
    (void)s;
    expect_fail(DEC(32, 0xf3, 0x89, 0x08), "REP prefix 0xf3");
    expect_fail(DEC(32, 0xf2, 0x8b, 0x08), "REP prefix 0xf2");
    expect_fail(DEC(32, 0xf3, 0xa4), "REP"); /* rep movsb */
    expect_fail(DEC(64, 0xf3, 0x48, 0x89, 0x08), "REP");
}

static void test_refuse_unknown_opcode(void **s)
{
    (void)s;
    struct result r = DEC(32, 0x0f, 0x10, 0x00); /* movups */
    expect_fail(r, "unsupported opcode 0x0f 0x10");
    expect_fail(DEC(32, 0x90), "unsupported opcode 0x90");       /* nop */
    expect_fail(DEC(64, 0x48, 0xa5), "unsupported opcode 0xa5"); /* movsq */
    expect_fail(DEC(64, 0x8c, 0x18), "unsupported opcode 0x8c"); /* mov [rax], ds */
    expect_fail(DEC(32, 0x0f, 0xb8, 0x00), "unsupported opcode 0x0f 0xb8");
    expect_fail(DEC(32, 0x0f, 0x0f), "unsupported opcode 0x0f 0x0f");
    expect_fail(DEC(64, 0x66, 0x0f, 0x7e, 0x00), "unsupported opcode 0x0f 0x7e");
}

static void test_refuse_c6_c7_reg_not_zero(void **s)
{
    (void)s;
    expect_fail(DEC(32, 0xc6, 0x08, 0x00), "unsupported opcode 0xc6");
    expect_fail(DEC(32, 0xc7, 0x38, 0, 0, 0, 0), "unsupported opcode 0xc7");
    for (unsigned reg = 1; reg < 8; reg++) {
        uint8_t b[7] = { 0xc7, (uint8_t)(reg << 3), 0, 0, 0, 0, 0 };
        expect_fail(decode_n(64, b, 7), "unsupported opcode 0xc7");
    }
    /* xabort / xbegin live at C6 F8 / C7 F8 */
    expect_fail(DEC(64, 0xc6, 0xf8, 0x00), "0xc6");
    expect_fail(DEC(64, 0xc7, 0xf8, 0, 0, 0, 0), "0xc7");
}

static void test_refuse_inc_dec_outside_64(void **s)
{
    (void)s;
    for (uint8_t op = 0x40; op <= 0x4f; op++) {
        uint8_t b[3] = { op, 0x89, 0x08 };
        expect_fail(decode_n(32, b, 3), "INC/DEC");
        expect_fail(decode_n(16, b, 3), "INC/DEC");
        /* the same bytes are a REX prefix in 64-bit mode */
        struct result r = decode_n(64, b, 3);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.in.len, 3);
    }
    expect_fail(DEC(32, 0x66, 0x48, 0x89, 0x08), "unsupported opcode 0x48");
}

static void test_refuse_truncated_every_length(void **s)
{
    (void)s;
    static const struct {
        unsigned mode;
        unsigned len;
        uint8_t b[15];
    } cases[] = {
        { 32, 7, { 0x89, 0x84, 0x73, 0x78, 0x56, 0x34, 0x12 } },
        { 32, 7, { 0x8b, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00 } },
        { 32, 7, { 0xc7, 0x40, 0x04, 0xef, 0xbe, 0xad, 0xde } },
        { 64, 10, { 0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 } },
        { 64, 10, { 0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x55, 0x00, 0x00, 0x00 } },
        { 64, 6, { 0x4d, 0x0f, 0xbe, 0x4c, 0x24, 0x10 } },
        { 64, 7, { 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff } },
        { 16, 7, { 0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12 } },
        { 16, 6, { 0x67, 0xa3, 0x78, 0x56, 0x34, 0x12 } },
        { 16, 4, { 0x89, 0x94, 0x34, 0x12 } },
        { 16, 4, { 0xc7, 0x07, 0x01, 0x80 } },
        { 32, 8, { 0x67, 0x2e, 0x66, 0x64, 0x89, 0x80, 0x34, 0x12 } },
        { 32, 4, { 0xc6, 0x45, 0x00, 0x01 } },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_truncations(cases[i].mode, cases[i].b, cases[i].len);
    /* the message names the opcode once it is known */
    expect_fail(DEC(32, 0x0f, 0xb6), "truncated");
    expect_fail(DEC(32, 0x0f, 0xb6), "0x0f 0xb6");
    expect_fail(DEC(32, 0x8b, 0x05, 0x00), "0x8b");
}

static void test_refuse_overlong(void **s)
{
    (void)s;
    /* 10 prefixes + 6-byte MOV = 16 bytes */
    struct result r = DEC(32, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x89, 0x88, 0x00,
                          0x00, 0x00, 0xfe);
    expect_fail(r, "longer than 15");
    /* 14 x 66 + 89 08 */
    expect_fail(DEC(32, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                    0x89, 0x08),
                "longer than 15");
    /* 13 x 66 + 89 08 = 15: accepted */
    expect_rm(
        DEC(32, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89, 0x08), 15,
        2, 1, 1, 0);
    /* a long run of prefixes with plenty of bytes */
    uint8_t many[64];
    memset(many, 0x26, sizeof(many));
    expect_fail(decode_n(64, many, sizeof(many)), "longer than 15");
    /* 15 prefixes and nothing else available is too long, not truncated */
    expect_fail(decode_n(64, many, 15), "longer than 15");
    /* a 64-bit moffs with 6 prefixes: 6 + 1 + 8 = 15 ok; 7 prefixes too long */
    expect_rm(DEC(64, 0x26, 0x26, 0x26, 0x26, 0x26, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 15, 8, 1, 0, 0);
    expect_fail(DEC(64, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8),
                "longer than 15");
}

static void test_refuse_bad_mode_and_args(void **s)
{
    (void)s;
    expect_fail(DEC(8, 0x89, 0x08), "invalid");
    expect_fail(DEC(0, 0x89, 0x08), "invalid");
    expect_fail(DEC(128, 0x89, 0x08), "invalid");

    /* NULL or zero-length error buffers are allowed */
    const uint8_t ok[] = { 0x89, 0x08 };
    const uint8_t bad[] = { 0x89, 0xc8 };
    struct mmio_insn in;
    assert_int_equal(mmio_decode(ok, 2, 32, &in, NULL, 0), 0);
    assert_int_equal(in.len, 2);
    assert_int_equal(mmio_decode(bad, 2, 32, &in, NULL, 0), -1);
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    assert_int_equal(mmio_decode(bad, 2, 32, &in, tiny, sizeof(tiny)), -1);
    assert_int_equal(tiny[sizeof(tiny) - 1], '\0');
    assert_int_equal(mmio_decode(NULL, 0, 64, &in, tiny, sizeof(tiny)), -1);
    assert_int_equal(mmio_decode(ok, 2, 32, NULL, tiny, sizeof(tiny)), -1);
}

static void test_failure_clears_output(void **s)
{
    (void)s;
    struct result r = DEC(32, 0x89, 0xc8);
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.in.len, 0);
    assert_int_equal(r.in.size, 0);
}

/* Every 1- and 2-byte input in every mode, plus a deterministic pseudo-random
 * sweep: results are consistent and nothing reads out of bounds. */
static void test_sweep_no_crash(void **s)
{
    (void)s;
    static const unsigned modes[] = { 16, 32, 64 };
    uint8_t b[16];
    for (unsigned m = 0; m < 3; m++) {
        for (unsigned x = 0; x < 65536; x++) {
            b[0] = (uint8_t)x;
            b[1] = (uint8_t)(x >> 8);
            struct mmio_insn in;
            char err[96];
            for (unsigned n = 1; n <= 2; n++) {
                if (mmio_decode(b, n, modes[m], &in, err, sizeof(err)) == 0) {
                    assert_true(in.len >= 1 && in.len <= n);
                }
            }
        }
    }
    uint32_t seed = 12345;
    for (unsigned i = 0; i < 200000; i++) {
        for (unsigned j = 0; j < sizeof(b); j++) {
            seed = seed * 1103515245u + 12345u;
            b[j] = (uint8_t)(seed >> 16);
        }
        unsigned n = (seed >> 8) % 17;
        struct result r = decode_n(modes[i % 3], b, n);
        if (r.rc == 0) {
            assert_true(r.in.len >= 1 && r.in.len <= n && r.in.len <= 15);
            assert_true(r.in.size == 1 || r.in.size == 2 || r.in.size == 4 || r.in.size == 8);
            assert_true(r.in.reg >= -1 && r.in.reg <= 15);
        }
    }
}

/* ---- ALU forms: 00-3B ---- */

static void test_alu_rm_reg_every_op(void **s)
{
    (void)s;
    /* op [eax+0x10], ecx and op [eax+0x10], cl for the eight operations */
    for (unsigned k = 0; k < 8; k++) {
        uint8_t full[3] = { (uint8_t)(8 * k + 1), 0x48, 0x10 };
        uint8_t byte[3] = { (uint8_t)(8 * k), 0x48, 0x10 };
        expect_rm_reg(decode_n(32, full, 3), alu_order[k], 3, 4, 1, 0);
        expect_rm_reg(decode_n(32, byte, 3), alu_order[k], 3, 1, 1, 0);
    }
    expect_rm_reg(DEC(32, 0x01, 0x08), MMIO_ADD, 2, 4, 1, 0); /* add [eax], ecx */
    expect_rm_reg(DEC(32, 0x09, 0x08), MMIO_OR, 2, 4, 1, 0);  /* or [eax], ecx */
    expect_rm_reg(DEC(32, 0x11, 0x08), MMIO_ADC, 2, 4, 1, 0); /* adc [eax], ecx */
    expect_rm_reg(DEC(32, 0x19, 0x08), MMIO_SBB, 2, 4, 1, 0); /* sbb [eax], ecx */
    expect_rm_reg(DEC(32, 0x21, 0x08), MMIO_AND, 2, 4, 1, 0); /* and [eax], ecx */
    expect_rm_reg(DEC(32, 0x29, 0x08), MMIO_SUB, 2, 4, 1, 0); /* sub [eax], ecx */
    expect_rm_reg(DEC(32, 0x31, 0x08), MMIO_XOR, 2, 4, 1, 0); /* xor [eax], ecx */
    /* cmp [eax], ecx: memory is only read */
    expect_alu(DEC(32, 0x39, 0x08), MMIO_CMP, 2, 4, 0, 1, 0, 0, 0, 0);
}

static void test_alu_reg_rm_every_op(void **s)
{
    (void)s;
    /* op edx, [ebx] and op dl, [ebx] for the eight operations */
    for (unsigned k = 0; k < 8; k++) {
        uint8_t full[2] = { (uint8_t)(8 * k + 3), 0x13 };
        uint8_t byte[2] = { (uint8_t)(8 * k + 2), 0x13 };
        expect_reg_rm(decode_n(32, full, 2), alu_order[k], 2, 4, 2, 0);
        expect_reg_rm(decode_n(32, byte, 2), alu_order[k], 2, 1, 2, 0);
    }
    expect_alu(DEC(32, 0x03, 0x13), MMIO_ADD, 2, 4, 0, 2, 0, 1, 1, 0); /* add edx, [ebx] */
    expect_alu(DEC(32, 0x2b, 0x13), MMIO_SUB, 2, 4, 0, 2, 0, 1, 1, 0); /* sub edx, [ebx] */
    /* cmp edx, [ebx]: nothing is stored, but edx is the left operand */
    expect_alu(DEC(32, 0x3b, 0x13), MMIO_CMP, 2, 4, 0, 2, 0, 0, 1, 0);
    expect_alu(DEC(32, 0x3a, 0x13), MMIO_CMP, 2, 1, 0, 2, 0, 0, 1, 0); /* cmp dl, [ebx] */
}

static void test_alu_byte_registers(void **s)
{
    (void)s;
    expect_rm_reg(DEC(32, 0x00, 0x20), MMIO_ADD, 2, 1, 0, 1);        /* add [eax], ah */
    expect_rm_reg(DEC(16, 0x30, 0x3f), MMIO_XOR, 2, 1, 3, 1);        /* xor [bx], bh */
    expect_reg_rm(DEC(32, 0x22, 0x28), MMIO_AND, 2, 1, 1, 1);        /* and ch, [eax] */
    expect_rm_reg(DEC(64, 0x40, 0x00, 0x20), MMIO_ADD, 3, 1, 4, 0);  /* add [rax], spl */
    expect_rm_reg(DEC(64, 0x44, 0x30, 0x38), MMIO_XOR, 3, 1, 15, 0); /* xor [rax], r15b */
    expect_reg_rm(DEC(64, 0x41, 0x0a, 0x30), MMIO_OR, 3, 1, 6, 0);   /* or sil, [r8] */
    expect_rm_reg(DEC(64, 0x28, 0x30), MMIO_SUB, 2, 1, 2, 1);        /* sub [rax], dh */
}

static void test_alu_sizes_and_modes(void **s)
{
    (void)s;
    expect_rm_reg(DEC(16, 0x01, 0x07), MMIO_ADD, 2, 2, 0, 0);        /* add [bx], ax */
    expect_rm_reg(DEC(16, 0x66, 0x01, 0x07), MMIO_ADD, 3, 4, 0, 0);  /* add [bx], eax */
    expect_rm_reg(DEC(32, 0x66, 0x29, 0x08), MMIO_SUB, 3, 2, 1, 0);  /* sub [eax], cx */
    expect_rm_reg(DEC(64, 0x48, 0x01, 0x08), MMIO_ADD, 3, 8, 1, 0);  /* add [rax], rcx */
    expect_rm_reg(DEC(64, 0x66, 0x01, 0x08), MMIO_ADD, 3, 2, 1, 0);  /* add [rax], cx */
    expect_reg_rm(DEC(64, 0x4c, 0x03, 0x08), MMIO_ADD, 3, 8, 9, 0);  /* add r9, [rax] */
    expect_reg_rm(DEC(64, 0x44, 0x1b, 0x38), MMIO_SBB, 3, 4, 15, 0); /* sbb r15d, [rax] */
    /* 16-bit addressing: or [bp+di+0x10], dx; and 67 in 32-bit mode */
    expect_rm_reg(DEC(16, 0x09, 0x53, 0x10), MMIO_OR, 3, 2, 2, 0);
    expect_rm_reg(DEC(32, 0x67, 0x09, 0x53, 0x10), MMIO_OR, 4, 4, 2, 0);
    /* RIP-relative and SIB: xor [rip+0x100], rax; sub ecx, [rsp+r12*4+0x10] */
    expect_rm_reg(DEC(64, 0x48, 0x31, 0x05, 0x00, 0x01, 0x00, 0x00), MMIO_XOR, 7, 8, 0, 0);
    expect_reg_rm(DEC(64, 0x42, 0x2b, 0x4c, 0xa4, 0x10), MMIO_SUB, 5, 4, 1, 0);
    /* segment override and a 64-bit absolute SIB: adc gs:[0x1000], edx */
    expect_rm_reg(DEC(64, 0x65, 0x11, 0x14, 0x25, 0x00, 0x10, 0x00, 0x00), MMIO_ADC, 8, 4, 2, 0);
}

/* ---- ALU forms: group 1 (80, 81, 82, 83) ---- */

static void test_grp1_80_ib(void **s)
{
    (void)s;
    /* op byte [eax], 0x81 for /0 ... /7 */
    for (unsigned n = 0; n < 8; n++) {
        uint8_t b[3] = { 0x80, (uint8_t)(n << 3), 0x81 };
        expect_rm_imm(decode_n(32, b, 3), alu_order[n], 3, 1, 0x81);
    }
    expect_rm_imm(DEC(32, 0x80, 0x48, 0x04, 0x01), MMIO_OR, 4, 1, 1); /* or byte [eax+4], 1 */
    expect_rm_imm(DEC(64, 0x80, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x7f), MMIO_CMP, 7, 1,
                  0x7f); /* cmp byte [rip+0x100], 0x7f */
    expect_rm_imm(DEC(16, 0x80, 0x26, 0x34, 0x12, 0xfe), MMIO_AND, 5, 1, 0xfe); /* and byte [0x1234], 0xfe */
    /* 66 and REX.W do not widen 80 */
    expect_rm_imm(DEC(64, 0x48, 0x80, 0x00, 0xff), MMIO_ADD, 4, 1, 0xff);
}

static void test_grp1_81_iz(void **s)
{
    (void)s;
    for (unsigned n = 0; n < 8; n++) {
        uint8_t b[6] = { 0x81, (uint8_t)(n << 3), 0x78, 0x56, 0x34, 0x12 };
        expect_rm_imm(decode_n(32, b, 6), alu_order[n], 6, 4, 0x12345678);
    }
    /* 16-bit mode: iw: add word [bx], 0x8001 */
    expect_rm_imm(DEC(16, 0x81, 0x07, 0x01, 0x80), MMIO_ADD, 4, 2, 0x8001);
    /* 16-bit mode + 66: id: or dword [bx], 0x80000000 */
    expect_rm_imm(DEC(16, 0x66, 0x81, 0x0f, 0x00, 0x00, 0x00, 0x80), MMIO_OR, 7, 4, 0x80000000u);
    /* 32-bit mode + 66: iw: cmp word [eax], 0x1234 */
    expect_rm_imm(DEC(32, 0x66, 0x81, 0x38, 0x34, 0x12), MMIO_CMP, 5, 2, 0x1234);
    /* REX.W: id sign-extended: and qword [rax], 0xffffffff80000000 */
    expect_rm_imm(DEC(64, 0x48, 0x81, 0x20, 0x00, 0x00, 0x00, 0x80), MMIO_AND, 7, 8, 0xffffffff80000000ull);
    expect_rm_imm(DEC(64, 0x48, 0x81, 0x20, 0xff, 0xff, 0xff, 0x7f), MMIO_AND, 7, 8, 0x7fffffff);
    /* 64-bit mode, no REX.W: 32-bit, not extended: sub dword [rip+0x10], 0xfffffff0 */
    expect_rm_imm(DEC(64, 0x81, 0x2d, 0x10, 0x00, 0x00, 0x00, 0xf0, 0xff, 0xff, 0xff), MMIO_SUB, 10, 4,
                  0xfffffff0u);
    /* REX.W + SIB + disp32 + imm32: cmp qword [rsp+0x100], -1 */
    expect_rm_imm(DEC(64, 0x48, 0x81, 0xbc, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff), MMIO_CMP,
                  12, 8, 0xffffffffffffffffull);
}

static void test_grp1_83_ib_sign_extended(void **s)
{
    (void)s;
    for (unsigned n = 0; n < 8; n++) {
        uint8_t b[3] = { 0x83, (uint8_t)(n << 3), 0x80 };
        expect_rm_imm(decode_n(32, b, 3), alu_order[n], 3, 4, 0xffffff80u);
    }
    expect_rm_imm(DEC(16, 0x83, 0x07, 0xff), MMIO_ADD, 3, 2, 0xffff);      /* add word [bx], -1 */
    expect_rm_imm(DEC(32, 0x83, 0x00, 0xff), MMIO_ADD, 3, 4, 0xffffffffu); /* add dword [eax], -1 */
    expect_rm_imm(DEC(64, 0x48, 0x83, 0x00, 0xff), MMIO_ADD, 4, 8, 0xffffffffffffffffull);
    expect_rm_imm(DEC(64, 0x48, 0x83, 0x00, 0x7f), MMIO_ADD, 4, 8, 0x7f);  /* positive stays */
    expect_rm_imm(DEC(32, 0x66, 0x83, 0x08, 0x80), MMIO_OR, 4, 2, 0xff80); /* or word [eax], -128 */
    /* add qword [rip+0x100], 1 */
    expect_rm_imm(DEC(64, 0x48, 0x83, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01), MMIO_ADD, 8, 8, 1);
    /* add dword [esp+8], 1; and word [bp+2], 0xfffe (16-bit mode) */
    expect_rm_imm(DEC(32, 0x83, 0x44, 0x24, 0x08, 0x01), MMIO_ADD, 5, 4, 1);
    expect_rm_imm(DEC(16, 0x83, 0x66, 0x02, 0xfe), MMIO_AND, 4, 2, 0xfffe);
    /* cmp dword [ebx+0x10], 0 */
    expect_rm_imm(DEC(32, 0x83, 0x7b, 0x10, 0x00), MMIO_CMP, 4, 4, 0);
}

static void test_grp1_82_outside_64bit(void **s)
{
    (void)s;
    /* 82 is 80 under another name in 16/32-bit mode, invalid in 64-bit mode */
    expect_rm_imm(DEC(32, 0x82, 0x08, 0x05), MMIO_OR, 3, 1, 5);
    expect_rm_imm(DEC(16, 0x82, 0x3f, 0x80), MMIO_CMP, 3, 1, 0x80);
    expect_fail(DEC(64, 0x82, 0x08, 0x05), "unsupported opcode 0x82: invalid in 64-bit mode");
}

/* ---- TEST and XCHG ---- */

static void test_test_84_85(void **s)
{
    (void)s;
    expect_alu(DEC(32, 0x84, 0x08), MMIO_TEST, 2, 1, 0, 1, 0, 0, 0, 0);       /* test [eax], cl */
    expect_alu(DEC(32, 0x84, 0x20), MMIO_TEST, 2, 1, 0, 0, 1, 0, 0, 0);       /* test [eax], ah */
    expect_alu(DEC(32, 0x85, 0x08), MMIO_TEST, 2, 4, 0, 1, 0, 0, 0, 0);       /* test [eax], ecx */
    expect_alu(DEC(16, 0x85, 0x07), MMIO_TEST, 2, 2, 0, 0, 0, 0, 0, 0);       /* test [bx], ax */
    expect_alu(DEC(64, 0x4c, 0x85, 0x00), MMIO_TEST, 3, 8, 0, 8, 0, 0, 0, 0); /* test [rax], r8 */
    expect_alu(DEC(64, 0x40, 0x84, 0x38), MMIO_TEST, 3, 1, 0, 7, 0, 0, 0, 0); /* test [rax], dil */
}

static void test_test_f6_f7(void **s)
{
    (void)s;
    expect_rm_imm(DEC(32, 0xf6, 0x00, 0x80), MMIO_TEST, 3, 1, 0x80); /* test byte [eax], 0x80 */
    expect_rm_imm(DEC(32, 0xf7, 0x00, 0x00, 0x00, 0x00, 0x80), MMIO_TEST, 6, 4, 0x80000000u);
    expect_rm_imm(DEC(32, 0x66, 0xf7, 0x00, 0x00, 0x80), MMIO_TEST, 5, 2, 0x8000);
    expect_rm_imm(DEC(16, 0xf7, 0x07, 0x34, 0x12), MMIO_TEST, 4, 2, 0x1234); /* test word [bx], 0x1234 */
    /* REX.W: id sign-extended: test qword [rax], -1 */
    expect_rm_imm(DEC(64, 0x48, 0xf7, 0x00, 0xff, 0xff, 0xff, 0xff), MMIO_TEST, 7, 8, 0xffffffffffffffffull);
    /* test byte [rip+0x100], 1 */
    expect_rm_imm(DEC(64, 0xf6, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01), MMIO_TEST, 7, 1, 1);
    /* the other members of group 3 (NOT, NEG, MUL, IMUL, DIV, IDIV) and /1 */
    for (unsigned n = 1; n < 8; n++) {
        uint8_t b[6] = { 0xf7, (uint8_t)(n << 3), 0, 0, 0, 0 };
        struct result r = decode_n(32, b, 6);
        expect_fail(r, "unsupported opcode 0xf7");
        expect_fail(r, "only /0 is TEST");
    }
    expect_fail(DEC(32, 0xf6, 0x18), "unsupported opcode 0xf6: ModRM.reg /3"); /* neg byte [eax] */
}

static void test_xchg_86_87(void **s)
{
    (void)s;
    expect_rm_reg(DEC(32, 0x86, 0x08), MMIO_XCHG, 2, 1, 1, 0);       /* xchg [eax], cl */
    expect_rm_reg(DEC(32, 0x86, 0x20), MMIO_XCHG, 2, 1, 0, 1);       /* xchg [eax], ah */
    expect_rm_reg(DEC(32, 0x87, 0x08), MMIO_XCHG, 2, 4, 1, 0);       /* xchg [eax], ecx */
    expect_rm_reg(DEC(16, 0x87, 0x07), MMIO_XCHG, 2, 2, 0, 0);       /* xchg [bx], ax */
    expect_rm_reg(DEC(64, 0x48, 0x87, 0x08), MMIO_XCHG, 3, 8, 1, 0); /* xchg [rax], rcx */
    expect_rm_reg(DEC(64, 0x4c, 0x87, 0x00), MMIO_XCHG, 3, 8, 8, 0); /* xchg [rax], r8 */
    expect_rm_reg(DEC(64, 0x66, 0x87, 0x08), MMIO_XCHG, 3, 2, 1, 0); /* xchg [rax], cx */
    /* xchg [rip+0x100], eax */
    expect_rm_reg(DEC(64, 0x87, 0x05, 0x00, 0x01, 0x00, 0x00), MMIO_XCHG, 6, 4, 0, 0);
}

/* ---- LOCK ---- */

static void test_lock_on_rmw(void **s)
{
    (void)s;
    expect_rm_reg(DEC(32, 0xf0, 0x01, 0x08), MMIO_ADD, 3, 4, 1, 0);       /* lock add [eax], ecx */
    expect_rm_reg(DEC(64, 0xf0, 0x48, 0x29, 0x08), MMIO_SUB, 4, 8, 1, 0); /* lock sub [rax], rcx */
    expect_rm_reg(DEC(64, 0x66, 0xf0, 0x09, 0x08), MMIO_OR, 4, 2, 1, 0);  /* lock or [rax], cx */
    expect_rm_reg(DEC(32, 0xf0, 0x10, 0x08), MMIO_ADC, 3, 1, 1, 0);       /* lock adc [eax], cl */
    expect_rm_reg(DEC(32, 0xf0, 0x19, 0x08), MMIO_SBB, 3, 4, 1, 0);       /* lock sbb [eax], ecx */
    expect_rm_reg(DEC(32, 0xf0, 0x21, 0x08), MMIO_AND, 3, 4, 1, 0);       /* lock and [eax], ecx */
    expect_rm_reg(DEC(32, 0xf0, 0x31, 0x08), MMIO_XOR, 3, 4, 1, 0);       /* lock xor [eax], ecx */
    expect_rm_reg(DEC(32, 0xf0, 0x87, 0x08), MMIO_XCHG, 3, 4, 1, 0);      /* lock xchg [eax], ecx */
    expect_rm_imm(DEC(32, 0xf0, 0x80, 0x08, 0x01), MMIO_OR, 4, 1, 1);     /* lock or byte [eax], 1 */
    expect_rm_imm(DEC(64, 0xf0, 0x48, 0x83, 0x30, 0xff), MMIO_XOR, 5, 8,
                  ~0ull); /* lock xor qword [rax], -1 */
    expect_rm_imm(DEC(16, 0xf0, 0x81, 0x2f, 0x34, 0x12), MMIO_SUB, 5, 2,
                  0x1234); /* lock sub word [bx], 0x1234 */
    /* LOCK after other prefixes and repeated */
    expect_rm_reg(DEC(64, 0x65, 0xf0, 0xf0, 0x01, 0x08), MMIO_ADD, 5, 4, 1, 0);
}

static void test_refuse_lock_where_ud(void **s)
{
    (void)s;
    expect_fail(DEC(32, 0xf0, 0x39, 0x08), "LOCK prefix 0xf0 is not allowed on CMP (opcode 0x39)");
    expect_fail(DEC(32, 0xf0, 0x80, 0x38, 0x01), "LOCK prefix 0xf0 is not allowed on CMP");
    expect_fail(DEC(32, 0xf0, 0x83, 0x38, 0x01), "not allowed on CMP (opcode 0x83)");
    expect_fail(DEC(32, 0xf0, 0x85, 0x08), "LOCK prefix 0xf0 is not allowed on TEST");
    expect_fail(DEC(32, 0xf0, 0xf6, 0x00, 0x01), "LOCK prefix 0xf0 is not allowed on TEST");
    expect_fail(DEC(32, 0xf0, 0x03, 0x08),
                "LOCK prefix 0xf0 is not allowed on ADD with a register destination (opcode 0x03)");
    expect_fail(DEC(64, 0xf0, 0x48, 0x33, 0x08), "not allowed on XOR with a register destination");
    expect_fail(DEC(32, 0xf0, 0x8b, 0x08), "LOCK prefix 0xf0 is not allowed on MOV");
    expect_fail(DEC(32, 0xf0, 0xa1, 0, 0, 0, 0), "not allowed on MOV");
    expect_fail(DEC(32, 0xf0, 0x0f, 0xb6, 0x00), "not allowed on MOV (opcode 0x0f 0xb6)");
}

/* ---- refusals of the new forms ---- */

static void test_refuse_alu_mod3(void **s)
{
    (void)s;
    static const struct {
        unsigned len;
        uint8_t b[6];
    } cases[] = {
        { 2, { 0x01, 0xc8 } },             /* add eax, ecx */
        { 2, { 0x3b, 0xc1 } },             /* cmp eax, ecx */
        { 2, { 0x30, 0xe0 } },             /* xor al, ah */
        { 3, { 0x80, 0xc0, 0x01 } },       /* add al, 1 */
        { 6, { 0x81, 0xf8, 0, 0, 0, 0 } }, /* cmp eax, 0 */
        { 3, { 0x83, 0xe0, 0x01 } },       /* and eax, 1 */
        { 2, { 0x85, 0xc0 } },             /* test eax, eax */
        { 3, { 0xf6, 0xc0, 0x01 } },       /* test al, 1 */
        { 2, { 0x87, 0xc8 } },             /* xchg eax, ecx */
        { 2, { 0x86, 0xe0 } },             /* xchg al, ah */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_fail(decode_n(32, cases[i].b, cases[i].len),
                    "register operand (mod=3) is not a memory access");
    expect_fail(DEC(64, 0xf0, 0x48, 0x01, 0xc8), "mod=3"); /* lock add rax, rcx */
    expect_fail(DEC(32, 0x83, 0xc0, 0x01), "opcode 0x83, modrm 0xc0");
}

static void test_refuse_rep_on_alu(void **s)
{
    (void)s;
    expect_fail(DEC(32, 0xf3, 0x01, 0x08), "REP prefix 0xf3 is not supported (opcode 0x01)");
    expect_fail(DEC(32, 0xf2, 0x87, 0x08), "REP prefix 0xf2");
    /* XACQUIRE/XRELEASE (F2/F3 with LOCK) are refused too */
    expect_fail(DEC(32, 0xf2, 0xf0, 0x01, 0x08), "REP prefix 0xf2");
}

static void test_refuse_sse_names_prefix(void **s)
{
    (void)s;
    /* movdqu xmm0, [rax]: F3 selects the SSE form, it is not a REP problem */
    struct result r = DEC(64, 0xf3, 0x0f, 0x6f, 0x00);
    expect_fail(r, "unsupported opcode 0x0f 0x6f with prefix 0xf3");
    assert_null(strstr(r.err, "REP"));
    expect_fail(DEC(64, 0xf3, 0x0f, 0x7f, 0x00), "unsupported opcode 0x0f 0x7f with prefix 0xf3");
    expect_fail(DEC(64, 0x66, 0x0f, 0x6f, 0x00), "unsupported opcode 0x0f 0x6f with prefix 0x66");
    expect_fail(DEC(32, 0xf2, 0x0f, 0x10, 0x00), "unsupported opcode 0x0f 0x10 with prefix 0xf2");
    expect_fail(DEC(32, 0x66, 0xf3, 0x0f, 0x6f, 0x00), "with prefix 0xf3"); /* F3 wins over 66 */
    expect_fail(DEC(32, 0xf3, 0x0f, 0xb6, 0x00), "unsupported opcode 0x0f 0xb6 with prefix 0xf3");
    /* without F2/F3/66: no prefix named */
    expect_fail(DEC(64, 0x0f, 0x6f, 0x00), "unsupported opcode 0x0f 0x6f");
    assert_null(strstr(DEC(64, 0x0f, 0x6f, 0x00).err, "prefix"));
    /* in front of a one-byte opcode F3 is a REP prefix: rep movsd */
    expect_fail(DEC(32, 0xf3, 0xa5), "unsupported opcode 0xa5 with REP prefix 0xf3");
}

static void test_refuse_other_rmw(void **s)
{
    (void)s;
    expect_fail(DEC(32, 0xfe, 0x00), "unsupported opcode 0xfe");            /* inc byte [eax] */
    expect_fail(DEC(32, 0xff, 0x08), "unsupported opcode 0xff");            /* dec dword [eax] */
    expect_fail(DEC(32, 0x0f, 0xb1, 0x08), "unsupported opcode 0x0f 0xb1"); /* cmpxchg [eax], ecx */
    expect_fail(DEC(32, 0x0f, 0xc1, 0x08), "unsupported opcode 0x0f 0xc1"); /* xadd [eax], ecx */
    expect_fail(DEC(32, 0x0f, 0xab, 0x08), "unsupported opcode 0x0f 0xab"); /* bts [eax], ecx */
    expect_fail(DEC(32, 0x05, 1, 0, 0, 0), "unsupported opcode 0x05");      /* add eax, imm32 */
    expect_fail(DEC(32, 0x3c, 0x01), "unsupported opcode 0x3c");            /* cmp al, 1 */
    expect_fail(DEC(32, 0xa8, 0x01), "unsupported opcode 0xa8");            /* test al, 1 */
    expect_fail(DEC(32, 0x91), "unsupported opcode 0x91");                  /* xchg eax, ecx */
}

static void test_alu_truncations_and_length(void **s)
{
    (void)s;
    static const struct {
        unsigned mode;
        unsigned len;
        uint8_t b[15];
    } cases[] = {
        { 64, 12, { 0x48, 0x81, 0xbc, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff } },
        { 64, 8, { 0x48, 0x83, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01 } },
        { 32, 5, { 0x83, 0x44, 0x24, 0x08, 0x01 } },
        { 16, 6, { 0x81, 0x06, 0x34, 0x12, 0x78, 0x56 } },
        { 16, 7, { 0x66, 0x81, 0x0f, 0x00, 0x00, 0x00, 0x80 } },
        { 64, 7, { 0xf6, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01 } },
        { 32, 3, { 0xf0, 0x87, 0x08 } },
        { 64, 8, { 0x65, 0x11, 0x14, 0x25, 0x00, 0x10, 0x00, 0x00 } },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_truncations(cases[i].mode, cases[i].b, cases[i].len);
    /* 3 prefixes + a 12-byte cmp qword [rsp+disp32], imm32 = 15; one more is too long */
    expect_rm_imm(
        DEC(64, 0x3e, 0x3e, 0x3e, 0x48, 0x81, 0xbc, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff),
        MMIO_CMP, 15, 8, ~0ull);
    expect_fail(DEC(64, 0x3e, 0x3e, 0x3e, 0x3e, 0x48, 0x81, 0xbc, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff,
                    0xff, 0xff),
                "longer than 15");
}

/* ---- mmio_alu ---- */

#define CF ORACLE_CF
#define PF ORACLE_PF
#define AF ORACLE_AF
#define ZF ORACLE_ZF
#define SF ORACLE_SF
#define OF ORACLE_OF

/* Hand-computed results and flags (each also agrees with the host CPU). */
static const struct alu_case {
    enum mmio_op op;
    unsigned size;
    uint64_t dst, src, flags_in, result, flags_out;
} alu_cases[] = {
    { MMIO_ADD, 1, 0x7f, 0x01, 0, 0x80, OF | SF | AF },        /* signed overflow */
    { MMIO_ADD, 1, 0xff, 0x01, 0, 0x00, CF | PF | AF | ZF },   /* carry out, zero */
    { MMIO_ADD, 1, 0x1ff, 0x101, 0, 0x00, CF | PF | AF | ZF }, /* operands truncated */
    { MMIO_ADD, 2, 0x8000, 0x8000, 0, 0x0000, CF | PF | ZF | OF },
    { MMIO_ADD, 4, 0x7fffffff, 1, 0, 0x80000000, OF | SF | AF | PF },
    { MMIO_ADD, 8, ~0ull, 1, 0, 0, CF | PF | AF | ZF },
    { MMIO_ADD, 8, 0x0f, 0x01, CF, 0x10, AF },            /* CF in ignored by ADD */
    { MMIO_ADC, 2, 0xffff, 0, CF, 0, CF | PF | AF | ZF }, /* CF in used by ADC */
    { MMIO_ADC, 8, 0x7fffffffffffffffull, 0, CF, 0x8000000000000000ull, OF | SF | AF | PF },
    { MMIO_ADC, 1, 0xff, 0xff, CF, 0xff, CF | AF | SF | PF },
    { MMIO_ADC, 4, 1, 2, 0, 3, PF },
    { MMIO_SUB, 1, 0x00, 0x01, 0, 0xff, CF | PF | AF | SF }, /* borrow */
    { MMIO_SUB, 1, 0x80, 0x01, 0, 0x7f, OF | AF },           /* signed overflow */
    { MMIO_SUB, 4, 5, 5, CF | OF, 0, ZF | PF },
    { MMIO_SUB, 8, 0, 0x8000000000000000ull, 0, 0x8000000000000000ull, CF | SF | OF | PF },
    { MMIO_SBB, 2, 0, 0, CF, 0xffff, CF | PF | AF | SF },
    { MMIO_SBB, 8, 0x8000000000000000ull, 0, CF, 0x7fffffffffffffffull, OF | AF | PF },
    { MMIO_SBB, 1, 0x10, 0x0f, CF, 0x00, ZF | PF | AF },
    { MMIO_CMP, 4, 1, 2, 0, 0xffffffff, CF | PF | AF | SF }, /* result = dst - src */
    { MMIO_CMP, 8, 0x8000000000000000ull, 1, 0, 0x7fffffffffffffffull, OF | AF | PF },
    { MMIO_CMP, 1, 0x42, 0x42, CF, 0, ZF | PF }, /* CF in ignored by CMP */
    { MMIO_AND, 4, 0xf0f0f0f0, 0x0ff00ff0, CF | OF | AF | SF | ZF, 0x00f000f0, PF },
    { MMIO_AND, 1, 0x80, 0x80, 0, 0x80, SF },
    { MMIO_OR, 1, 0x80, 0x01, CF | OF, 0x81, SF | PF },
    { MMIO_OR, 8, 0, 0, 0, 0, ZF | PF },
    { MMIO_XOR, 8, 0x123456789abcdef0ull, 0x123456789abcdef0ull, CF, 0, ZF | PF },
    { MMIO_XOR, 2, 0x00ff, 0xff01, 0, 0xfffe, SF },
    { MMIO_TEST, 2, 0x8000, 0x8000, CF | OF, 0x8000, SF | PF }, /* result = dst & src */
    { MMIO_TEST, 4, 0x0f, 0xf0, 0, 0, ZF | PF },
};

/* The fixed cases, for mmio_alu() and (to check the oracle) the host CPU;
 * the other RFLAGS bits (IF, DF, bit 1) must be untouched. */
static void test_alu_fixed_cases(void **s)
{
    (void)s;
    const uint64_t other = 0x2 | (1ull << 9) | (1ull << 10) | (1ull << 21);
    for (unsigned i = 0; i < sizeof(alu_cases) / sizeof(alu_cases[0]); i++) {
        const struct alu_case *c = &alu_cases[i];
        uint64_t fl = other | c->flags_in, hw = fl;
        uint64_t res = mmio_alu(c->op, c->size, c->dst, c->src, &fl);
        uint64_t hres = oracle_alu(c->op, c->size, c->dst, c->src, &hw);
        if (res != c->result || fl != (other | c->flags_out))
            fail_msg("case %u: result 0x%llx flags 0x%llx, expected 0x%llx 0x%llx", i,
                     (unsigned long long)res, (unsigned long long)fl, (unsigned long long)c->result,
                     (unsigned long long)(other | c->flags_out));
        uint64_t mask = oracle_defined_flags(c->op);
        if (hres != c->result || (hw & mask) != ((other | c->flags_out) & mask))
            fail_msg("case %u: the host CPU gives 0x%llx flags 0x%llx", i, (unsigned long long)hres,
                     (unsigned long long)hw);
    }
}

/* MOV and XCHG are not ALU operations: src comes back, flags untouched. */
static void test_alu_non_alu_ops(void **s)
{
    (void)s;
    uint64_t fl = 0x2 | CF | ZF;
    assert_true(mmio_alu(MMIO_MOV, 4, 1, 0x123456789ull, &fl) == 0x123456789ull);
    assert_true(mmio_alu(MMIO_XCHG, 1, 1, 0x1ff, &fl) == 0x1ff);
    assert_true(fl == (0x2 | CF | ZF));
    /* a size other than 1, 2, 4 counts as 8 */
    fl = 0;
    assert_true(mmio_alu(MMIO_ADD, 3, 0xffffffffull, 1, &fl) == 0x100000000ull);
    assert_true(fl == (PF | AF));
}

/* Compares mmio_alu() with the host CPU for one input; AF is compared
 * where the SDM defines it, and must be 0 after the logical operations. */
static void check_alu_vs_cpu(enum mmio_op op, unsigned size, uint64_t d, uint64_t src, uint64_t flags_in)
{
    uint64_t fl = flags_in, hw = flags_in;
    uint64_t res = mmio_alu(op, size, d, src, &fl);
    uint64_t hres = oracle_alu(op, size, d, src, &hw);
    uint64_t mask = oracle_defined_flags(op) | ~ORACLE_ARITH;
    if (res != hres || (fl & mask) != (hw & mask) || (!(mask & AF) && (fl & AF)))
        fail_msg("op %d size %u: 0x%llx, 0x%llx, flags in 0x%llx: got 0x%llx flags 0x%llx, "
                 "the CPU 0x%llx flags 0x%llx",
                 (int)op, size, (unsigned long long)d, (unsigned long long)src, (unsigned long long)flags_in,
                 (unsigned long long)res, (unsigned long long)fl, (unsigned long long)hres,
                 (unsigned long long)hw);
}

static const enum mmio_op alu_all[9] = {
    MMIO_ADD, MMIO_OR, MMIO_ADC, MMIO_SBB, MMIO_AND, MMIO_SUB, MMIO_XOR, MMIO_CMP, MMIO_TEST,
};

/* Every 8-bit operand pair, with CF clear and set. */
static void test_alu_vs_cpu_exhaustive_8bit(void **s)
{
    (void)s;
    for (unsigned k = 0; k < 9; k++)
        for (unsigned d = 0; d < 256; d++)
            for (unsigned x = 0; x < 256; x++)
                for (uint64_t cf = 0; cf < 2; cf++)
                    check_alu_vs_cpu(alu_all[k], 1, d, x, 0x202 | cf);
}

/* A deterministic xorshift generator, biased towards the edge values. */
static uint64_t next_operand(uint64_t *st)
{
    static const uint64_t edges[] = {
        0,
        1,
        0x7f,
        0x80,
        0xff,
        0x7fff,
        0x8000,
        0xffff,
        0x7fffffff,
        0x80000000u,
        0xffffffffu,
        0x7fffffffffffffffull,
        0x8000000000000000ull,
        ~0ull,
        0x0f,
        0x10,
    };
    uint64_t x = *st;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *st = x;
    unsigned pick = (unsigned)(x >> 58);
    if (pick < 16)
        return edges[pick] + ((x >> 40) & 3) - 1; /* an edge value, or one off it */
    return x;
}

/* Random operands and incoming flags at every size. */
static void test_alu_vs_cpu_random(void **s)
{
    (void)s;
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    uint64_t st = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < 400000; i++) {
        enum mmio_op op = alu_all[i % 9];
        unsigned size = sizes[(i / 9) % 4];
        uint64_t d = next_operand(&st), x = next_operand(&st);
        uint64_t flags = 0x2 | (next_operand(&st) & ORACLE_ARITH) | (1ull << 10); /* DF kept */
        check_alu_vs_cpu(op, size, d, x, flags);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mov89_store32_disp8),
        cmocka_unit_test(test_mov8b_load32_no_disp),
        cmocka_unit_test(test_mov88_high8_without_rex),
        cmocka_unit_test(test_mov8a_load8),
        cmocka_unit_test(test_byte_regs_with_rex),
        cmocka_unit_test(test_rex_r),
        cmocka_unit_test(test_rex_w),
        cmocka_unit_test(test_rex_w_wins_over_66),
        cmocka_unit_test(test_rex_ignored_unless_last),
        cmocka_unit_test(test_64bit_default_sizes),
        cmocka_unit_test(test_16bit_mode_sizes),
        cmocka_unit_test(test_32bit_mode_66),
        cmocka_unit_test(test_16bit_addressing_forms),
        cmocka_unit_test(test_67_in_32bit_mode_uses_16bit_addressing),
        cmocka_unit_test(test_67_in_16bit_mode_uses_32bit_addressing),
        cmocka_unit_test(test_sib_no_disp),
        cmocka_unit_test(test_sib_disp8),
        cmocka_unit_test(test_sib_disp32),
        cmocka_unit_test(test_sib_base101_mod0_disp32),
        cmocka_unit_test(test_rip_relative),
        cmocka_unit_test(test_c6_imm8),
        cmocka_unit_test(test_c7_imm32),
        cmocka_unit_test(test_c7_imm16),
        cmocka_unit_test(test_c7_rexw_sign_extends),
        cmocka_unit_test(test_moffs16),
        cmocka_unit_test(test_moffs32),
        cmocka_unit_test(test_moffs64),
        cmocka_unit_test(test_rex_x_and_rex_b),
        cmocka_unit_test(test_rip_relative_more),
        cmocka_unit_test(test_sib_special_cases),
        cmocka_unit_test(test_16bit_addressing_more),
        cmocka_unit_test(test_moffs_more),
        cmocka_unit_test(test_c7_sizes_more),
        cmocka_unit_test(test_movzx),
        cmocka_unit_test(test_movsx),
        cmocka_unit_test(test_segment_prefixes),
        cmocka_unit_test(test_prefix_order_and_repeats),
        cmocka_unit_test(test_max_length_15_ok),
        cmocka_unit_test(test_refuse_mod3),
        cmocka_unit_test(test_refuse_lock),
        cmocka_unit_test(test_refuse_rep),
        cmocka_unit_test(test_refuse_unknown_opcode),
        cmocka_unit_test(test_refuse_c6_c7_reg_not_zero),
        cmocka_unit_test(test_refuse_inc_dec_outside_64),
        cmocka_unit_test(test_refuse_truncated_every_length),
        cmocka_unit_test(test_refuse_overlong),
        cmocka_unit_test(test_refuse_bad_mode_and_args),
        cmocka_unit_test(test_failure_clears_output),
        cmocka_unit_test(test_sweep_no_crash),
        cmocka_unit_test(test_alu_rm_reg_every_op),
        cmocka_unit_test(test_alu_reg_rm_every_op),
        cmocka_unit_test(test_alu_byte_registers),
        cmocka_unit_test(test_alu_sizes_and_modes),
        cmocka_unit_test(test_grp1_80_ib),
        cmocka_unit_test(test_grp1_81_iz),
        cmocka_unit_test(test_grp1_83_ib_sign_extended),
        cmocka_unit_test(test_grp1_82_outside_64bit),
        cmocka_unit_test(test_test_84_85),
        cmocka_unit_test(test_test_f6_f7),
        cmocka_unit_test(test_xchg_86_87),
        cmocka_unit_test(test_lock_on_rmw),
        cmocka_unit_test(test_refuse_lock_where_ud),
        cmocka_unit_test(test_refuse_alu_mod3),
        cmocka_unit_test(test_refuse_rep_on_alu),
        cmocka_unit_test(test_refuse_sse_names_prefix),
        cmocka_unit_test(test_refuse_other_rmw),
        cmocka_unit_test(test_alu_truncations_and_length),
        cmocka_unit_test(test_alu_fixed_cases),
        cmocka_unit_test(test_alu_non_alu_ops),
        cmocka_unit_test(test_alu_vs_cpu_exhaustive_8bit),
        cmocka_unit_test(test_alu_vs_cpu_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
