/* Unit tests: the MMIO MOV decoder (vmx/decode.c).
 *
 * Byte sequences follow the Intel SDM Vol. 2 encodings; each one was also
 * checked against nasm (assembly shown in the comment) or objdump. Every
 * decode runs on a heap copy of exactly the given length, so AddressSanitizer
 * reports any read past bytes[avail - 1]. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmx/decode.h"

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

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})
#define NBYTES(...) ((unsigned)sizeof((const uint8_t[]){__VA_ARGS__}))
#define DEC(mode, ...) decode_n((mode), BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

/* Checks a successful decode. */
static void expect(struct result r, unsigned len, unsigned size, int is_write, int reg,
                   int high8, unsigned reg_size, enum mmio_ext ext, uint64_t imm)
{
    if (r.rc != 0)
        fail_msg("decode failed: %s", r.err);
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
static void expect_rm(struct result r, unsigned len, unsigned size, int is_write, int reg,
                      int high8)
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
    expect_rm(DEC(32, 0x89, 0x48, 0x10), 3, 4, 1, 1, 0);            /* mov [eax+0x10], ecx */
}

static void test_mov8b_load32_no_disp(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x8b, 0x13), 2, 4, 0, 2, 0);                  /* mov edx, [ebx] */
    expect_rm(DEC(32, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 6, 4, 0, 0, 0); /* mov eax, [disp32] */
}

static void test_mov88_high8_without_rex(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x88, 0x20), 2, 1, 1, 0, 1);                  /* mov [eax], ah */
    expect_rm(DEC(32, 0x88, 0x3e), 2, 1, 1, 3, 1);                  /* mov [esi], bh */
    expect_rm(DEC(64, 0x88, 0x34, 0x24), 3, 1, 1, 2, 1);            /* mov [rsp], dh */
    expect_rm(DEC(64, 0x88, 0x65, 0x10), 3, 1, 1, 0, 1);            /* mov [rbp+0x10], ah */
    expect_rm(DEC(16, 0x88, 0x6e, 0x00), 3, 1, 1, 1, 1);            /* mov [bp], ch */
}

static void test_mov8a_load8(void **s)
{
    (void)s;
    /* mov cl, [edi+0x12345678] */
    expect_rm(DEC(32, 0x8a, 0x8f, 0x78, 0x56, 0x34, 0x12), 6, 1, 0, 1, 0);
    /* mov bl, [bx+di+0x7f] */
    expect_rm(DEC(16, 0x8a, 0x59, 0x7f), 3, 1, 0, 3, 0);
    /* 8A with reg 4 and no REX is AH */
    expect_rm(DEC(32, 0x8a, 0x20), 2, 1, 0, 0, 1);                  /* mov ah, [eax] */
}

static void test_byte_regs_with_rex(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x40, 0x88, 0x20), 3, 1, 1, 4, 0);            /* mov [rax], spl */
    expect_rm(DEC(64, 0x40, 0x88, 0x30), 3, 1, 1, 6, 0);            /* mov [rax], sil */
    expect_rm(DEC(64, 0x40, 0x8a, 0x38), 3, 1, 0, 7, 0);            /* mov dil, [rax] */
    expect_rm(DEC(64, 0x44, 0x88, 0x38), 3, 1, 1, 15, 0);           /* mov [rax], r15b */
    /* REX.B alone (41) still switches AH..BH to SPL..DIL */
    expect_rm(DEC(64, 0x41, 0x88, 0x20), 3, 1, 1, 4, 0);            /* mov [r8], spl */
}

static void test_rex_r(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x44, 0x8b, 0x08), 3, 4, 0, 9, 0);            /* mov r9d, [rax] */
    expect_rm(DEC(64, 0x44, 0x89, 0x38), 3, 4, 1, 15, 0);           /* mov [rax], r15d */
    /* mov r10w, [r11+r12*8+0x44]: 66 + REX.RXB */
    expect_rm(DEC(64, 0x66, 0x47, 0x8b, 0x54, 0xe3, 0x44), 6, 2, 0, 10, 0);
}

static void test_rex_w(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x48, 0x8b, 0x0a), 3, 8, 0, 1, 0);            /* mov rcx, [rdx] */
    expect_rm(DEC(64, 0x4c, 0x89, 0x20), 3, 8, 1, 12, 0);           /* mov [rax], r12 */
    expect_rm(DEC(64, 0x49, 0x89, 0x00), 3, 8, 1, 0, 0);            /* mov [r8], rax */
}

static void test_rex_w_wins_over_66(void **s)
{
    (void)s;
    expect_rm(DEC(64, 0x66, 0x48, 0x89, 0x08), 4, 8, 1, 1, 0);      /* data16 mov [rax], rcx */
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
    expect_rm(DEC(64, 0x89, 0x08), 2, 4, 1, 1, 0);                  /* mov [rax], ecx */
    expect_rm(DEC(64, 0x66, 0x89, 0x08), 3, 2, 1, 1, 0);            /* mov [rax], cx */
    expect_rm(DEC(64, 0x67, 0x89, 0x08), 3, 4, 1, 1, 0);            /* mov [eax], ecx */
    expect_rm(DEC(64, 0x41, 0x89, 0x45, 0x00), 4, 4, 1, 0, 0);      /* mov [r13], eax (disp8) */
    expect_rm(DEC(64, 0x41, 0x89, 0x04, 0x24), 4, 4, 1, 0, 0);      /* mov [r12], eax (SIB) */
}

/* ---- operand and address size prefixes ---- */

static void test_16bit_mode_sizes(void **s)
{
    (void)s;
    expect_rm(DEC(16, 0x89, 0x00), 2, 2, 1, 0, 0);                  /* mov [bx+si], ax */
    expect_rm(DEC(16, 0x66, 0x89, 0x07), 3, 4, 1, 0, 0);            /* mov [bx], eax */
    expect_rm(DEC(16, 0x8a, 0x07), 2, 1, 0, 0, 0);                  /* mov al, [bx] */
}

static void test_32bit_mode_66(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x66, 0x89, 0x08), 3, 2, 1, 1, 0);            /* mov [eax], cx */
    expect_rm(DEC(32, 0x66, 0x8b, 0x08), 3, 2, 0, 1, 0);            /* mov cx, [eax] */
}

static void test_16bit_addressing_forms(void **s)
{
    (void)s;
    expect_rm(DEC(16, 0x8b, 0x06, 0x34, 0x12), 4, 2, 0, 0, 0);      /* mov ax, [0x1234] (mod0 rm6) */
    expect_rm(DEC(16, 0x89, 0x4e, 0x10), 3, 2, 1, 1, 0);            /* mov [bp+0x10], cx (mod1) */
    expect_rm(DEC(16, 0x89, 0x94, 0x34, 0x12), 4, 2, 1, 2, 0);      /* mov [si+0x1234], dx (mod2) */
    /* rm 100 in 16-bit addressing is [si], not a SIB: mov [si], ax */
    expect_rm(DEC(16, 0x89, 0x04), 2, 2, 1, 0, 0);
    /* rm 101 mod 0 is [di], no displacement */
    expect_rm(DEC(16, 0x89, 0x05), 2, 2, 1, 0, 0);
}

static void test_67_in_32bit_mode_uses_16bit_addressing(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x67, 0x89, 0x0b), 3, 4, 1, 1, 0);            /* mov [bp+di], ecx */
    expect_rm(DEC(32, 0x67, 0x8b, 0x0e, 0x34, 0x12), 5, 4, 0, 1, 0); /* mov ecx, [word 0x1234] */
    expect_rm(DEC(32, 0x67, 0x89, 0x44, 0x10), 4, 4, 1, 0, 0);      /* mov [si+0x10], eax */
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
    expect_rm(DEC(32, 0x89, 0x14, 0x88), 3, 4, 1, 2, 0);            /* mov [eax+ecx*4], edx */
}

static void test_sib_disp8(void **s)
{
    (void)s;
    expect_rm(DEC(32, 0x89, 0x44, 0x24, 0x08), 4, 4, 1, 0, 0);      /* mov [esp+8], eax */
    expect_rm(DEC(32, 0x89, 0x4c, 0x05, 0x04), 4, 4, 1, 1, 0);      /* mov [ebp+eax+4], ecx */
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
    expect(DEC(64, 0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x55, 0x00, 0x00, 0x00), 10, 4, 1, -1, 0,
           4, EXT_NONE, 0x55);
}

/* ---- C6 / C7 immediates ---- */

static void test_c6_imm8(void **s)
{
    (void)s;
    expect(DEC(32, 0xc6, 0x00, 0x80), 3, 1, 1, -1, 0, 1, EXT_NONE, 0x80);      /* mov byte [eax], 0x80 */
    expect(DEC(32, 0xc6, 0x45, 0x00, 0x01), 4, 1, 1, -1, 0, 1, EXT_NONE, 1);   /* mov byte [ebp], 1 */
    expect(DEC(16, 0xc6, 0x07, 0xff), 3, 1, 1, -1, 0, 1, EXT_NONE, 0xff);      /* mov byte [bx], 0xff */
    /* 66 and REX.W do not widen C6 */
    expect(DEC(64, 0x48, 0xc6, 0x00, 0x7f), 4, 1, 1, -1, 0, 1, EXT_NONE, 0x7f);
}

static void test_c7_imm32(void **s)
{
    (void)s;
    /* mov dword [eax+4], 0xdeadbeef: 32-bit immediate is not sign-extended at size 4 */
    expect(DEC(32, 0xc7, 0x40, 0x04, 0xef, 0xbe, 0xad, 0xde), 7, 4, 1, -1, 0, 4, EXT_NONE,
           0xdeadbeefu);
    /* 16-bit mode + 66: mov dword [bx], 0x12345678 */
    expect(DEC(16, 0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12), 7, 4, 1, -1, 0, 4, EXT_NONE,
           0x12345678u);
}

static void test_c7_imm16(void **s)
{
    (void)s;
    expect(DEC(16, 0xc7, 0x07, 0x01, 0x80), 4, 2, 1, -1, 0, 2, EXT_NONE, 0x8001);  /* mov word [bx], 0x8001 */
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
    expect(DEC(64, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f), 7, 8, 1, -1, 0, 8, EXT_NONE,
           0x7fffffffull);
    /* mov qword [rax], 0x80000000 as imm32 -> 0xffffffff80000000 */
    expect(DEC(64, 0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80), 7, 8, 1, -1, 0, 8, EXT_NONE,
           0xffffffff80000000ull);
}

/* ---- A0-A3: moffs ---- */

static void test_moffs16(void **s)
{
    (void)s;
    expect_rm(DEC(16, 0xa1, 0x34, 0x12), 3, 2, 0, 0, 0);            /* mov ax, [0x1234] */
    expect_rm(DEC(16, 0xa0, 0x34, 0x12), 3, 1, 0, 0, 0);            /* mov al, [0x1234] */
    expect_rm(DEC(32, 0x67, 0xa2, 0x34, 0x12), 4, 1, 1, 0, 0);      /* a16 mov [0x1234], al */
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
    expect(DEC(64, 0x48, 0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff), 11, 8, 1, -1,
           0, 8, EXT_NONE, 0xffffffffffffffffull);
    /* mov word [rip+0x100], 0x8000 */
    expect(DEC(64, 0x66, 0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x80), 9, 2, 1, -1, 0, 2,
           EXT_NONE, 0x8000);
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
    expect(DEC(32, 0x0f, 0xb6, 0x03), 3, 1, 0, 0, 0, 4, EXT_ZERO, 0);          /* movzx eax, byte [ebx] */
    expect(DEC(32, 0x0f, 0xb7, 0x08), 3, 2, 0, 1, 0, 4, EXT_ZERO, 0);          /* movzx ecx, word [eax] */
    expect(DEC(64, 0x4c, 0x0f, 0xb6, 0x00), 4, 1, 0, 8, 0, 8, EXT_ZERO, 0);    /* movzx r8, byte [rax] */
    expect(DEC(16, 0x0f, 0xb6, 0x07), 3, 1, 0, 0, 0, 2, EXT_ZERO, 0);          /* movzx ax, byte [bx] */
    expect(DEC(16, 0x66, 0x0f, 0xb6, 0x07), 4, 1, 0, 0, 0, 4, EXT_ZERO, 0);    /* movzx eax, byte [bx] */
    expect(DEC(64, 0x66, 0x0f, 0xb6, 0x00), 4, 1, 0, 0, 0, 2, EXT_ZERO, 0);    /* movzx ax, byte [rax] */
    /* movzx rcx, word gs:[rax] */
    expect(DEC(64, 0x65, 0x48, 0x0f, 0xb7, 0x08), 5, 2, 0, 1, 0, 8, EXT_ZERO, 0);
    /* reg field 4 on MOVZX is ESP, never AH */
    expect(DEC(32, 0x0f, 0xb6, 0x20), 3, 1, 0, 4, 0, 4, EXT_ZERO, 0);          /* movzx esp, byte [eax] */
}

static void test_movsx(void **s)
{
    (void)s;
    expect(DEC(32, 0x0f, 0xbe, 0x10), 3, 1, 0, 2, 0, 4, EXT_SIGN, 0);          /* movsx edx, byte [eax] */
    expect(DEC(64, 0x48, 0x0f, 0xbf, 0x01), 4, 2, 0, 0, 0, 8, EXT_SIGN, 0);    /* movsx rax, word [rcx] */
    expect(DEC(32, 0x66, 0x0f, 0xbe, 0x10), 4, 1, 0, 2, 0, 2, EXT_SIGN, 0);    /* movsx dx, byte [eax] */
    /* movsx r9, byte [r12+0x10] */
    expect(DEC(64, 0x4d, 0x0f, 0xbe, 0x4c, 0x24, 0x10), 6, 1, 0, 9, 0, 8, EXT_SIGN, 0);
    expect(DEC(16, 0x0f, 0xbf, 0x07), 3, 2, 0, 0, 0, 2, EXT_SIGN, 0);          /* movsx ax, word [bx] */
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
    struct result r = DEC(32, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e,
                          0x89, 0x88, 0x00, 0x00, 0x00, 0xfe);
    expect_rm(r, 15, 4, 1, 1, 0);
    /* avail beyond the instruction is fine: only len bytes are consumed */
    expect_rm(DEC(32, 0x89, 0x08, 0x90, 0x90, 0x90), 2, 4, 1, 1, 0);
}

/* ---- refusals ---- */

static void test_refuse_mod3(void **s)
{
    (void)s;
    struct result r = DEC(32, 0x89, 0xc8);                          /* mov eax, ecx */
    expect_fail(r, "register operand (mod=3) is not a memory access");
    expect_fail(r, "0x89");
    expect_fail(DEC(64, 0x44, 0x88, 0xe0), "mod=3");                /* mov al, r12b */
    expect_fail(DEC(16, 0x8a, 0xc1), "mod=3");
    expect_fail(DEC(32, 0x8b, 0xc1), "mod=3");
    expect_fail(DEC(32, 0xc6, 0xc0, 0x01), "mod=3");                /* mov al, 1 (C6 form) */
    expect_fail(DEC(32, 0xc7, 0xc0, 1, 0, 0, 0), "mod=3");
    r = DEC(32, 0x0f, 0xb6, 0xc0);                                  /* movzx eax, al */
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
    expect_fail(DEC(32, 0xf3, 0xa4), "REP");                        /* rep movsb */
    expect_fail(DEC(64, 0xf3, 0x48, 0x89, 0x08), "REP");
}

static void test_refuse_unknown_opcode(void **s)
{
    (void)s;
    struct result r = DEC(32, 0x0f, 0x10, 0x00);                    /* movups */
    expect_fail(r, "unsupported opcode 0x0f 0x10");
    expect_fail(DEC(32, 0x90), "unsupported opcode 0x90");          /* nop */
    expect_fail(DEC(64, 0x48, 0xa5), "unsupported opcode 0xa5");    /* movsq */
    expect_fail(DEC(64, 0x8c, 0x18), "unsupported opcode 0x8c");    /* mov [rax], ds */
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
    struct result r = DEC(32, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e,
                          0x89, 0x88, 0x00, 0x00, 0x00, 0xfe);
    expect_fail(r, "longer than 15");
    /* 14 x 66 + 89 08 */
    expect_fail(DEC(32, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                    0x66, 0x66, 0x89, 0x08),
                "longer than 15");
    /* 13 x 66 + 89 08 = 15: accepted */
    expect_rm(DEC(32, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                  0x66, 0x89, 0x08),
              15, 2, 1, 1, 0);
    /* a long run of prefixes with plenty of bytes */
    uint8_t many[64];
    memset(many, 0x26, sizeof(many));
    expect_fail(decode_n(64, many, sizeof(many)), "longer than 15");
    /* 15 prefixes and nothing else available is too long, not truncated */
    expect_fail(decode_n(64, many, 15), "longer than 15");
    /* a 64-bit moffs with 6 prefixes: 6 + 1 + 8 = 15 ok; 7 prefixes too long */
    expect_rm(DEC(64, 0x26, 0x26, 0x26, 0x26, 0x26, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 15, 8,
              1, 0, 0);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
