#include "multiboot.h"

#include <string.h>

#include "../arch/x86/fmt.h"

/* ELF32 definitions (only what the loader reads). */
#define EI_NIDENT 16
struct elf32_ehdr {
    uint8_t e_ident[EI_NIDENT];
    uint16_t e_type, e_machine;
    uint32_t e_version, e_entry, e_phoff, e_shoff, e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
struct elf32_phdr {
    uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};
#define PT_LOAD      1
#define ET_EXEC      2
#define EM_386       3
#define MAX_SEGMENTS 16

/* Multiboot header flags 0-15 are "required": a loader that does not
 * understand one must refuse the kernel. We honour 0 (page-aligned modules,
 * trivially: we load none), 1 (memory information) and 2 (video mode: a
 * preference; we provide no framebuffer and say so by not setting the flag). */
#define MB_HDR_REQUIRED_KNOWN 0x7u
#define MB_HDR_AOUT_KLUDGE    (1u << 16)

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

int mb_load_elf(const uint8_t *img, size_t len, uint8_t *ram, uint64_t usable_end, struct mb_loaded *out,
                char *err, size_t errlen)
{
#define FAIL(...)                               \
    do {                                        \
        fmt_snprintf(err, errlen, __VA_ARGS__); \
        return -1;                              \
    } while (0)
    struct elf32_ehdr eh;
    struct elf32_phdr ph[MAX_SEGMENTS];
    unsigned nload = 0;

    memset(out, 0, sizeof(*out));
    if (errlen)
        err[0] = 0;

    /* The Multiboot header: 4-byte aligned within the first 8 KiB. */
    size_t search = len < MULTIBOOT_SEARCH_BYTES ? len : MULTIBOOT_SEARCH_BYTES;
    size_t hdr = (size_t)-1;
    for (size_t off = 0; off + 12 <= search; off += 4) {
        if (rd32(img + off) == MULTIBOOT_HEADER_MAGIC) {
            hdr = off;
            break;
        }
    }
    if (hdr == (size_t)-1)
        FAIL("no Multiboot header (magic 0x1BADB002) in the first %u bytes", MULTIBOOT_SEARCH_BYTES);
    uint32_t flags = rd32(img + hdr + 4), sum = rd32(img + hdr + 8);
    if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags + sum) != 0)
        FAIL("Multiboot header at offset %zu: bad checksum", hdr);
    if (flags & 0xffffu & ~MB_HDR_REQUIRED_KNOWN)
        FAIL("Multiboot header requires features this loader lacks (flags 0x%x)", flags);
    if (flags & MB_HDR_AOUT_KLUDGE)
        FAIL("Multiboot header uses the a.out address fields (flag 16): only ELF kernels are supported");

    if (len < sizeof(eh))
        FAIL("image too short for an ELF header (%zu bytes)", len);
    memcpy(&eh, img, sizeof(eh));
    if (memcmp(eh.e_ident, "\177ELF", 4) != 0)
        FAIL("not an ELF file (bad magic)");
    if (eh.e_ident[4] != 1)
        FAIL("ELF class %u: a Multiboot v1 kernel must be ELF32", eh.e_ident[4]);
    if (eh.e_ident[5] != 1)
        FAIL("ELF data encoding %u: expected little-endian", eh.e_ident[5]);
    if (eh.e_type != ET_EXEC)
        FAIL("ELF type %u: expected an executable (2)", eh.e_type);
    if (eh.e_machine != EM_386)
        FAIL("ELF machine %u: expected i386 (3)", eh.e_machine);
    if (eh.e_phentsize != sizeof(struct elf32_phdr))
        FAIL("ELF program header size %u: expected %zu", eh.e_phentsize, sizeof(struct elf32_phdr));
    if (eh.e_phnum == 0)
        FAIL("ELF has no program headers");
    if ((uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(struct elf32_phdr) > len)
        FAIL("ELF program headers run past the end of the file (truncated image?)");

    for (unsigned i = 0; i < eh.e_phnum; i++) {
        struct elf32_phdr p;
        memcpy(&p, img + eh.e_phoff + i * sizeof(p), sizeof(p));
        if (p.p_type != PT_LOAD || p.p_memsz == 0)
            continue;
        if (nload == MAX_SEGMENTS)
            FAIL("more than %u loadable segments", MAX_SEGMENTS);
        if (p.p_filesz > p.p_memsz)
            FAIL("segment %u: file size 0x%x exceeds memory size 0x%x", i, p.p_filesz, p.p_memsz);
        if ((uint64_t)p.p_offset + p.p_filesz > len)
            FAIL("segment %u: data at 0x%x+0x%x runs past the end of the file (%zu bytes; truncated image?)",
                 i, p.p_offset, p.p_filesz, len);
        if ((uint64_t)p.p_paddr + p.p_memsz > usable_end)
            FAIL("segment %u: 0x%x+0x%x does not fit in guest RAM (usable up to 0x%llx)", i, p.p_paddr,
                 p.p_memsz, (unsigned long long)usable_end);
        if (ranges_overlap(p.p_paddr, p.p_memsz, MB_INFO_BASE, MB_INFO_LIMIT - MB_INFO_BASE))
            FAIL("segment %u: 0x%x+0x%x overlaps the boot information area 0x%x-0x%x", i, p.p_paddr,
                 p.p_memsz, MB_INFO_BASE, MB_INFO_LIMIT - 1);
        for (unsigned j = 0; j < nload; j++)
            if (ranges_overlap(p.p_paddr, p.p_memsz, ph[j].p_paddr, ph[j].p_memsz))
                FAIL("segment %u: 0x%x+0x%x overlaps another segment at 0x%x+0x%x", i, p.p_paddr, p.p_memsz,
                     ph[j].p_paddr, ph[j].p_memsz);
        ph[nload++] = p;
    }
    if (nload == 0)
        FAIL("ELF has no loadable segment");

    int entry_ok = 0;
    out->lowest = 0xffffffffu;
    for (unsigned j = 0; j < nload; j++) {
        if (eh.e_entry >= ph[j].p_paddr && eh.e_entry - ph[j].p_paddr < ph[j].p_memsz)
            entry_ok = 1;
        if (ph[j].p_paddr < out->lowest)
            out->lowest = ph[j].p_paddr;
        if (ph[j].p_paddr + ph[j].p_memsz - 1 > out->highest)
            out->highest = ph[j].p_paddr + ph[j].p_memsz - 1;
    }
    if (!entry_ok)
        FAIL("entry point 0x%x is not inside a loadable segment", eh.e_entry);

    /* Valid: now copy. */
    for (unsigned j = 0; j < nload; j++) {
        memcpy(ram + ph[j].p_paddr, img + ph[j].p_offset, ph[j].p_filesz);
        memset(ram + ph[j].p_paddr + ph[j].p_filesz, 0, ph[j].p_memsz - ph[j].p_filesz);
    }
    out->entry = eh.e_entry;
    out->header_flags = flags;
    return 0;
#undef FAIL
}

uint32_t mb_build_info(uint8_t *ram, const struct e820_entry *map, unsigned nmap, const char *cmdline)
{
    const uint32_t info_at = MB_INFO_BASE;
    const uint32_t mmap_at = info_at + 0x100;
    const uint32_t name_at = info_at + 0x200;
    const uint32_t cmd_at = info_at + 0x300;
    const uint32_t cmd_cap = MB_INFO_LIMIT - cmd_at;
    _Static_assert(VM_DESC_MAX_E820 * sizeof(struct mb_mmap_entry) <= 0x100,
                   "the memory map fits between the structure and the loader name");

    /* mem_lower and mem_upper: the usable RAM at 0 and at 1 MiB. */
    uint64_t lower = 0, upper = 0;
    for (unsigned i = 0; i < nmap; i++) {
        if (map[i].type == E820_RAM && map[i].addr == 0)
            lower = map[i].size;
        if (map[i].type == E820_RAM && map[i].addr == 0x100000)
            upper = map[i].size;
    }
    if (nmap > VM_DESC_MAX_E820 || upper < 0x100000 || upper > 0xffffffffull - 0x100000)
        return 0;

    struct mb_info mbi;
    memset(&mbi, 0, sizeof(mbi));
    mbi.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MMAP | MB_INFO_LOADER;
    mbi.mem_lower = (uint32_t)(lower / 1024);
    mbi.mem_upper = (uint32_t)(upper / 1024);

    for (unsigned i = 0; i < nmap; i++) {
        struct mb_mmap_entry e = { 20, map[i].addr, map[i].size, map[i].type };
        memcpy(ram + mmap_at + i * sizeof(e), &e, sizeof(e));
    }
    mbi.mmap_addr = mmap_at;
    mbi.mmap_length = nmap * (uint32_t)sizeof(struct mb_mmap_entry);

    memcpy(ram + name_at, MB_LOADER_NAME, sizeof(MB_LOADER_NAME));
    mbi.boot_loader_name = name_at;

    size_t n = strlen(cmdline);
    if (n >= cmd_cap)
        n = cmd_cap - 1;
    memcpy(ram + cmd_at, cmdline, n);
    ram[cmd_at + n] = 0;
    mbi.cmdline = cmd_at;

    memcpy(ram + info_at, &mbi, sizeof(mbi));
    return info_at;
}

int mb_add_modules(uint8_t *ram, uint64_t usable_end, uint32_t mbi_addr, uint64_t after,
                   const struct mb_module_src *mods, unsigned n, uint64_t *end, char *err, size_t errlen)
{
    const uint32_t list_at = mbi_addr + 0x60; /* between the structure and the memory map */
    struct mb_module list[MB_MODULES_MAX];
    uint64_t at = (after + 0xfff) & ~0xfffull;

    if (n > MB_MODULES_MAX) {
        fmt_snprintf(err, errlen, "%u modules: at most %u", n, MB_MODULES_MAX);
        return -1;
    }
    _Static_assert(sizeof(struct mb_info) <= 0x60 && 0x60 + sizeof(list) <= 0x100,
                   "the module list sits between the structure and the memory map");
    if (mbi_addr == 0 || mbi_addr + 0x100 > usable_end) {
        fmt_snprintf(err, errlen, "no Multiboot information structure to add modules to");
        return -1;
    }
    /* Place everything first, so that nothing is written unless all fits. */
    for (unsigned i = 0; i < n; i++) {
        uint64_t slen = strlen(mods[i].string) + 1;
        if (at + mods[i].len + slen > usable_end || at + mods[i].len + slen > 0xffffffffull) {
            fmt_snprintf(err, errlen,
                         "module %u ('%s', %llu bytes) does not fit in guest RAM "
                         "(usable up to 0x%llx) after the kernel",
                         i + 1, mods[i].string, (unsigned long long)mods[i].len,
                         (unsigned long long)usable_end);
            return -1;
        }
        list[i].mod_start = (uint32_t)at;
        list[i].mod_end = (uint32_t)(at + mods[i].len);
        list[i].string = (uint32_t)(at + mods[i].len);
        list[i].reserved = 0;
        at = (at + mods[i].len + slen + 0xfff) & ~0xfffull;
    }
    *end = n ? list[n - 1].string + strlen(mods[n - 1].string) + 1 : after;
    for (unsigned i = 0; i < n; i++) {
        memcpy(ram + list[i].mod_start, mods[i].data, mods[i].len);
        memcpy(ram + list[i].string, mods[i].string, strlen(mods[i].string) + 1);
    }
    struct mb_info mbi;
    memcpy(&mbi, ram + mbi_addr, sizeof(mbi));
    memcpy(ram + list_at, list, n * sizeof(list[0]));
    mbi.flags |= MB_INFO_MODS;
    mbi.mods_count = n;
    mbi.mods_addr = list_at;
    memcpy(ram + mbi_addr, &mbi, sizeof(mbi));
    return 0;
}
