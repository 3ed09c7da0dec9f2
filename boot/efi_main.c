/* UEFI entry: everything that needs the firmware happens here, then
 * ExitBootServices and the hand-off to hv_main on our own stack. */
#include <efi.h>
#include <efilib.h>
#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/fmt.h"
#include "../arch/x86/pages.h"
#include "../drivers/acpi_build.h"
#include "../drivers/log.h"
#include "../drivers/poweroff.h"
#include "../drivers/uart.h"
#include "../vmx/cpuid.h"
#include "../vmx/vmx.h"
#include "../irq/vioapic.h"
#include "bare.h"
#include "boot_info.h"
#include "bzimage.h"
#include "multiboot.h"

#define CONFIG_FILE_NAME "tinyhv.cfg"
#define POOL_PAGES       512 /* 2 MiB for page tables, VMX regions, EPT, stacks */
#define STACK_PAGES      16
#define IST_STACK_PAGES  4
#define MAX_FILE_SIZE    (64u << 20)
#define MiB2             (2ull << 20)

extern void switch_stack_and_call(uint64_t stack_top, void (*fn)(void *), void *arg); /* isr.asm */

static struct boot_info boot;
static CHAR16 image_dir[256];
static const void *fw_rsdp; /* the firmware's ACPI RSDP, if its tables parsed */

/* ---- console mirror for warnings and errors while boot services last ---- */

/* Errors also go to the firmware console (the screen on real hardware).
 * Firmware that mirrors its console to COM1 (OVMF does) shows them twice in
 * the serial log: once as "hv: error: ...", once as "tinyhv: hv: error: ...". */
static void console_line(const char *line)
{
    static const char prefix[] = "tinyhv: ";
    CHAR16 buf[256];
    unsigned i = 0;
    for (; prefix[i]; i++)
        buf[i] = (CHAR16)prefix[i];
    for (unsigned j = 0; line[j] && i < 252; j++, i++)
        buf[i] = (CHAR16)(unsigned char)line[j];
    buf[i++] = '\r';
    buf[i++] = '\n';
    buf[i] = 0;
    uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, buf);
}

static EFI_STATUS fail(EFI_STATUS status, const char *what)
{
    log_error("hv", "fatal: %s; returning to the firmware (EFI status 0x%llx)", what,
              (unsigned long long)status);
    uart_flush();
    return status;
}

/* ---- files on the ESP ---- */

/* The folder holding this image, from the loaded image's file path. */
static void find_image_dir(EFI_LOADED_IMAGE *li)
{
    CHAR16 *path = DevicePathToStr(li->FilePath);
    unsigned n = 0, last = 0;
    if (path) {
        for (; path[n] && n < 255; n++) {
            image_dir[n] = path[n] == '/' ? '\\' : path[n];
            if (image_dir[n] == '\\')
                last = n;
        }
        FreePool(path);
    }
    image_dir[last] = 0; /* "" when the image sits in the root */
}

/* Reads a file named relative to the image's folder (or absolute, starting
 * with '/' or '\'). Returns EFI_SUCCESS with a pool buffer. */
static EFI_STATUS read_file(EFI_FILE_HANDLE root, const char *name, void **data, UINTN *size)
{
    CHAR16 path[CONFIG_PATH_MAX + 260];
    unsigned n = 0;
    if (name[0] != '/' && name[0] != '\\') {
        for (unsigned i = 0; image_dir[i] && n < 255; i++)
            path[n++] = image_dir[i];
        path[n++] = '\\';
    }
    for (unsigned i = 0; name[i] && n < sizeof(path) / sizeof(path[0]) - 1; i++)
        path[n++] = name[i] == '/' ? '\\' : (CHAR16)(unsigned char)name[i];
    path[n] = 0;

    EFI_FILE_HANDLE fh;
    EFI_STATUS st = uefi_call_wrapper(root->Open, 5, root, &fh, path, EFI_FILE_MODE_READ, 0);
    if (EFI_ERROR(st))
        return st;
    EFI_FILE_INFO *info = LibFileInfo(fh);
    if (!info) {
        uefi_call_wrapper(fh->Close, 1, fh);
        return EFI_DEVICE_ERROR;
    }
    UINTN sz = info->FileSize;
    FreePool(info);
    if (sz > MAX_FILE_SIZE) {
        uefi_call_wrapper(fh->Close, 1, fh);
        return EFI_BAD_BUFFER_SIZE;
    }
    void *buf = AllocatePool(sz ? sz : 1);
    if (!buf) {
        uefi_call_wrapper(fh->Close, 1, fh);
        return EFI_OUT_OF_RESOURCES;
    }
    UINTN got = sz;
    st = uefi_call_wrapper(fh->Read, 3, fh, &got, buf);
    uefi_call_wrapper(fh->Close, 1, fh);
    if (EFI_ERROR(st) || got != sz) {
        FreePool(buf);
        return EFI_ERROR(st) ? st : EFI_END_OF_FILE;
    }
    *data = buf;
    *size = sz;
    return EFI_SUCCESS;
}

static const char *efi_status_words(EFI_STATUS st)
{
    switch (st) {
    case EFI_NOT_FOUND: return "not found";
    case EFI_ACCESS_DENIED: return "access denied";
    case EFI_BAD_BUFFER_SIZE: return "file too large";
    case EFI_OUT_OF_RESOURCES: return "out of memory";
    case EFI_END_OF_FILE: return "short read";
    default: return "read error";
    }
}

/* ---- ACPI ---- */

static void find_acpi(void)
{
    EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    void *rsdp = 0;
    char err[160];

    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
        EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
        if (!CompareGuid(&t->VendorGuid, &acpi20)) {
            rsdp = t->VendorTable;
            break;
        }
        if (!rsdp && !CompareGuid(&t->VendorGuid, &acpi10))
            rsdp = t->VendorTable;
    }
    if (!rsdp) {
        for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
            EFI_GUID *g = &ST->ConfigurationTable[i].VendorGuid;
            log_debug("hv", "EFI configuration table %u: GUID %08x-%04x-%04x-...", (unsigned)i, g->Data1,
                      g->Data2, g->Data3);
        }
        log_warn("hv", "no ACPI RSDP in the EFI configuration table: using architectural defaults");
        return;
    }
    if (acpi_parse(rsdp, &boot.acpi, err, sizeof(err))) {
        log_warn("hv", "ACPI: %s; using architectural defaults", err);
        return;
    }
    boot.have_acpi = 1;
    fw_rsdp = rsdp;
    const struct acpi_info *a = &boot.acpi;
    log_info("hv", "ACPI: RSDP at %p, revision %u, OEM '%s'; MADT: LAPIC base 0x%llx, %u CPU%s", rsdp,
             a->revision, a->oem_id, (unsigned long long)a->lapic_base, a->n_cpus, a->n_cpus == 1 ? "" : "s");
    for (unsigned i = 0; i < a->n_ioapic; i++)
        log_info("hv", "ACPI: IOAPIC id %u at 0x%x, GSI base %u", a->ioapic[i].id, a->ioapic[i].addr,
                 a->ioapic[i].gsi_base);
    for (unsigned i = 0; i < a->n_iso; i++)
        log_info("hv", "ACPI: interrupt source override: ISA IRQ %u -> GSI %u, flags 0x%x", a->iso[i].source,
                 a->iso[i].gsi, a->iso[i].flags);
    if (a->s5_valid)
        log_info("hv", "ACPI: power off through PM1a_CNT 0x%x, S5 sleep type %u", a->pm1a_cnt, a->slp_typ_a);
    poweroff_set_acpi(a);
}

/* ---- memory ---- */

/* Reads the config's Multiboot modules from the ESP and places them in
 * guest RAM after the kernel (multiboot.c says where). */
static EFI_STATUS load_modules(EFI_FILE_HANDLE root, const struct hv_config *cfg, uint8_t *ram,
                               uint64_t usable_end, uint32_t mbi_addr, uint64_t after, uint64_t *end)
{
    struct mb_module_src src[CONFIG_MODULES_MAX];
    EFI_STATUS st = EFI_SUCCESS;
    char err[160];
    unsigned n;
    for (n = 0; n < cfg->nmodules; n++) {
        void *data;
        UINTN len;
        st = read_file(root, cfg->module[n].path, &data, &len);
        if (EFI_ERROR(st)) {
            log_error("hv", "module '%s': %s", cfg->module[n].path, efi_status_words(st));
            break;
        }
        src[n] = (struct mb_module_src){ data, len, cfg->module[n].args };
        log_info("hv", "module %u: '%s' (%llu bytes)", n + 1, cfg->module[n].args, (unsigned long long)len);
    }
    if (!EFI_ERROR(st) && mb_add_modules(ram, usable_end, mbi_addr, after, src, n, end, err, sizeof(err))) {
        log_error("hv", "modules: %s", err);
        st = EFI_BUFFER_TOO_SMALL;
    }
    for (unsigned i = 0; i < n; i++)
        FreePool((void *)src[i].data);
    return st;
}

static EFI_STATUS alloc_pages(UINTN pages, uint64_t *addr)
{
    EFI_PHYSICAL_ADDRESS a = 0xFFFFFFFFull; /* below 4 GiB: always identity-mapped */
    EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress, EfiLoaderData, pages, &a);
    *addr = a;
    return st;
}

/* `disk =`: the whole image into pages below 4 GiB that stay the
 * hypervisor's (the virtio-blk device serves it from there). */
static EFI_STATUS load_disk(EFI_FILE_HANDLE root)
{
    void *data;
    UINTN len;
    uint64_t addr;
    EFI_STATUS st = read_file(root, boot.cfg.disk, &data, &len);
    if (EFI_ERROR(st)) {
        log_error("hv", "disk '%s': %s", boot.cfg.disk, efi_status_words(st));
        return st;
    }
    if (len < 512) {
        log_error("hv", "disk '%s': %u bytes, less than one 512-byte sector", boot.cfg.disk, (unsigned)len);
        FreePool(data);
        return EFI_LOAD_ERROR;
    }
    st = alloc_pages((len + 4095) / 4096, &addr);
    if (!EFI_ERROR(st)) {
        CopyMem((void *)(uintptr_t)addr, data, len);
        boot.disk = (uint8_t *)(uintptr_t)addr;
        boot.disk_size = len;
    } else {
        log_error("hv", "disk '%s': no room for its %u bytes below 4 GiB", boot.cfg.disk, (unsigned)len);
    }
    FreePool(data);
    if (len % 512 && !EFI_ERROR(st))
        log_warn("hv",
                 "disk '%s': %u bytes, not a whole number of sectors: the last %u bytes are not offered",
                 boot.cfg.disk, (unsigned)len, (unsigned)(len % 512));
    return st;
}

/* The guest's ACPI tables, made from its description (drivers/acpi_build.c):
 * in the last VM_ACPI_SIZE bytes of its RAM (reserved in its memory map),
 * the RSDP also at the start of the BIOS area, where ACPI's search for it
 * begins. Every guest gets them, a Linux kernel and a Multiboot kernel
 * alike (kvm-unit-tests finds its PM timer through the FADT). */
static EFI_STATUS build_guest_acpi(const struct vm_desc *d, uint32_t *rsdp)
{
    char err[160];
    struct acpi_build_out acpi;
    uint8_t *area = boot.guest_ram + d->acpi_base;
    if (acpi_build(d, area, d->acpi_base, boot.guest_ram_size - d->acpi_base, &acpi, err, sizeof(err))) {
        log_error("hv", "guest ACPI tables: %s", err);
        return EFI_BUFFER_TOO_SMALL;
    }
    memcpy(boot.guest_ram + PLATFORM_BIOS_AREA, area + (acpi.addr[ACPI_T_RSDP] - d->acpi_base),
           ACPI_RSDP_SIZE);
    *rsdp = (uint32_t)acpi.addr[ACPI_T_RSDP];
    log_info("hv", "guest ACPI tables at 0x%llx-0x%llx (RSDP there and at 0x%x)",
             (unsigned long long)d->acpi_base, (unsigned long long)(d->acpi_base + acpi.used - 1),
             PLATFORM_BIOS_AREA);
    return EFI_SUCCESS;
}

/* A Linux bzImage: the guest's ACPI tables (at the top of its RAM, the
 * RSDP also in the BIOS area), then kernel, initrd, command line and zero
 * page by the boot protocol (bzimage.c); the guest enters at startup_32. */
static EFI_STATUS load_linux(EFI_FILE_HANDLE root, const uint8_t *img, UINTN img_len)
{
    const struct hv_config *cfg = &boot.cfg;
    const struct vm_desc *d = &boot.desc;
    char err[256];
    if (cfg->bare) {
        log_error("hv", "bare = on runs Multiboot guests only; '%s' is a Linux bzImage", cfg->guest);
        return EFI_UNSUPPORTED;
    }
    if (cfg->nmodules) {
        log_error("hv", "module = is for Multiboot guests; a Linux kernel takes initrd =");
        return EFI_INVALID_PARAMETER;
    }
    void *initrd = NULL;
    UINTN initrd_len = 0;
    if (cfg->initrd[0]) {
        EFI_STATUS st = read_file(root, cfg->initrd, &initrd, &initrd_len);
        if (EFI_ERROR(st)) {
            log_error("hv", "initrd '%s': %s", cfg->initrd, efi_status_words(st));
            return st;
        }
    }
    uint32_t rsdp;
    EFI_STATUS st = build_guest_acpi(d, &rsdp);
    if (EFI_ERROR(st))
        return st;
    struct bz_load_args a = { img, img_len, initrd, initrd_len, cfg->cmdline, d, rsdp };
    struct bz_loaded l;
    int rc = bz_load(boot.guest_ram, boot.guest_ram_size, &a, &l, err, sizeof(err));
    if (initrd)
        FreePool(initrd);
    if (rc) {
        log_error("hv", "Linux kernel '%s': %s", cfg->guest, err);
        return EFI_LOAD_ERROR;
    }
    log_info("hv",
             "Linux kernel '%s' (boot protocol %u.%02u) at 0x%x-0x%x, initrd at 0x%x (%u bytes), "
             "zero page at 0x%x, %u e820 entries",
             cfg->guest, l.version >> 8, l.version & 0xff, l.kernel_addr, l.kernel_end - 1, l.initrd_addr,
             l.initrd_size, l.zero_page, l.e820_entries);
    boot.start = (struct guest_start){ .eip = l.entry,
                                       .esi = l.zero_page,
                                       .cs = BZ_BOOT_CS,
                                       .ds = BZ_BOOT_DS,
                                       .gdt_base = BZ_GDT,
                                       .gdt_limit = 4 * 8 - 1 };
    boot.guest_entry = l.entry;
    boot.guest_lowest = l.kernel_addr;
    boot.guest_highest = l.kernel_end - 1;
    return EFI_SUCCESS;
}

/* A pool buffer for GetMemoryMap, with room for the map as it is now and
 * for the descriptors allocating the buffer (and more) may add; *size is
 * its capacity, or NULL when the pool is out. */
static EFI_MEMORY_DESCRIPTOR *memory_map_buffer(UINTN *size)
{
    UINTN key, desc_size;
    UINT32 desc_ver;
    *size = 0;
    uefi_call_wrapper(BS->GetMemoryMap, 5, size, NULL, &key, &desc_size, &desc_ver);
    *size += 16 * sizeof(EFI_MEMORY_DESCRIPTOR) + 4096;
    return AllocatePool(*size);
}

/* ---- bare = on ---- */

/* An OS-loader memory type (UEFI reserves 0x80000000 and up for them): the
 * bare guest's own RAM, claimed so that nothing else is placed there. */
#define EFI_BARE_GUEST_MEMORY 0x80000000u

static const char *efi_memory_type_name(UINT32 t)
{
    static const char *const names[] = { "reserved",
                                         "loader code",
                                         "loader data",
                                         "boot services code",
                                         "boot services data",
                                         "runtime services code",
                                         "runtime services data",
                                         "conventional",
                                         "unusable",
                                         "ACPI reclaim",
                                         "ACPI NVS",
                                         "MMIO",
                                         "MMIO port space",
                                         "PAL code",
                                         "persistent" };
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "vendor-defined";
}

/* Walks the memory map over the guest's RAM as the bare machine will see
 * it: the boot information area and 1 MiB up to ram_size. Pages the
 * firmware gives back at ExitBootServices (boot services code and data)
 * and free pages are fine; claim = 1 takes the free ones for the guest.
 * Anything else there (the firmware's runtime memory or ACPI tables, the
 * hypervisor's own image or pages) fails with its address and type. */
static EFI_STATUS bare_walk_map(EFI_MEMORY_DESCRIPTOR *map, UINTN size, UINTN desc_size, int claim,
                                uint64_t ram_size)
{
    const uint64_t want[2][2] = { { MB_INFO_BASE, MB_INFO_LIMIT }, { 0x100000, ram_size } };
    for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + off);
        for (unsigned w = 0; w < 2; w++) {
            uint64_t lo = d->PhysicalStart, hi = lo + d->NumberOfPages * 4096;
            lo = lo > want[w][0] ? lo : want[w][0];
            hi = hi < want[w][1] ? hi : want[w][1];
            if (lo >= hi || d->Type == EfiBootServicesCode || d->Type == EfiBootServicesData ||
                d->Type == EFI_BARE_GUEST_MEMORY)
                continue;
            if (d->Type == EfiConventionalMemory && !claim)
                continue;
            if (d->Type == EfiConventionalMemory) {
                EFI_PHYSICAL_ADDRESS a = lo;
                EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress,
                                                  (EFI_MEMORY_TYPE)EFI_BARE_GUEST_MEMORY, (hi - lo) / 4096,
                                                  &a);
                if (!EFI_ERROR(st))
                    continue;
                log_error(
                    "hv",
                    "bare = on: the firmware refused to give guest-physical 0x%llx-0x%llx (free) to the "
                    "guest: %s",
                    (unsigned long long)lo, (unsigned long long)hi - 1, efi_status_words(st));
                return st;
            }
            log_error(
                "hv",
                "bare = on: guest-physical 0x%llx-0x%llx is %s memory; a bare guest needs 0x%x-0x%x and "
                "1 MiB to its ram_mb (0x%llx) free (try a smaller ram_mb)",
                (unsigned long long)lo, (unsigned long long)hi - 1, efi_memory_type_name(d->Type),
                MB_INFO_BASE, MB_INFO_LIMIT - 1, (unsigned long long)ram_size);
            return EFI_OUT_OF_RESOURCES;
        }
    }
    return EFI_SUCCESS;
}

/* Claims the bare guest's RAM before anything else is allocated, so that
 * the hypervisor's own pages and the staging copy of the guest land
 * elsewhere. exit_boot_services() checks the final map again. */
static EFI_STATUS bare_claim_guest_ram(uint64_t ram_size)
{
    UINTN size, key, desc_size;
    UINT32 desc_ver;
    EFI_MEMORY_DESCRIPTOR *map = memory_map_buffer(&size);
    if (!map)
        return EFI_OUT_OF_RESOURCES;
    EFI_STATUS st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &desc_size, &desc_ver);
    if (!EFI_ERROR(st))
        st = bare_walk_map(map, size, desc_size, 1, ram_size);
    FreePool(map);
    if (!EFI_ERROR(st))
        log_info("hv",
                 "bare = on: the guest will run without VMX at its own physical addresses "
                 "(0x%x-0x%x, 0x100000-0x%llx claimed)",
                 MB_INFO_BASE, MB_INFO_LIMIT - 1, (unsigned long long)ram_size - 1);
    return st;
}

/* ACPI tables for the bare guest: the firmware's own (its RSDP copied to
 * the BIOS area; the claim made sure they lie outside the guest's RAM), or,
 * where the firmware has none (OVMF in Bochs), tables the loader builds
 * from what it finds on the machine (bare.c). No tables at all is a
 * warning, not an error: a guest that needs none still runs. */
static EFI_STATUS bare_guest_acpi(void)
{
    char err[160];
    if (fw_rsdp) {
        const uint8_t *r = fw_rsdp;
        boot.bare_rsdp_len = r[15] >= 2 ? ACPI_RSDP_SIZE : 20; /* revision 0 has no length field */
        memcpy(boot.guest_ram + PLATFORM_BIOS_AREA, r, boot.bare_rsdp_len);
        log_info("hv", "bare = on: the guest gets the firmware's ACPI tables (RSDP %p, copied to 0x%x)",
                 fw_rsdp, PLATFORM_BIOS_AREA);
        return EFI_SUCCESS;
    }
    struct vm_desc machine;
    if (bare_describe_machine(&machine, boot.guest_ram_size, err, sizeof(err))) {
        log_warn("hv", "bare = on: no ACPI tables for the guest: %s", err);
        return EFI_SUCCESS;
    }
    uint32_t rsdp;
    EFI_STATUS st = build_guest_acpi(&machine, &rsdp);
    if (EFI_ERROR(st))
        return st;
    boot.bare_acpi_built = 1;
    boot.bare_rsdp_len = ACPI_RSDP_SIZE;
    log_info("hv",
             "bare = on: the firmware has no ACPI tables; built for this machine: IOAPIC id %u (%u pins), "
             "PM block at 0x%x, %s",
             machine.ioapic_id, machine.ioapic_pins, machine.pm_base,
             machine.hpet_base ? "an HPET" : "no HPET");
    return EFI_SUCCESS;
}

/* Gets the final memory map and leaves boot services. */
static EFI_STATUS exit_boot_services(EFI_HANDLE image)
{
    UINTN size = 0, key, desc_size;
    UINT32 desc_ver;
    EFI_MEMORY_DESCRIPTOR *map = memory_map_buffer(&size);
    if (!map)
        return EFI_OUT_OF_RESOURCES;
    UINTN cap = size;
    for (int tries = 0; tries < 4; tries++) {
        size = cap;
        EFI_STATUS st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &desc_size, &desc_ver);
        if (EFI_ERROR(st))
            return st;
        if (boot.cfg.bare && EFI_ERROR((st = bare_walk_map(map, size, desc_size, 0, boot.guest_ram_size))))
            return st; /* something took the guest's RAM since it was claimed */
        boot.mem_top = 0;
        for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
            EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + off);
            uint64_t end = d->PhysicalStart + d->NumberOfPages * 4096;
            if (end > boot.mem_top)
                boot.mem_top = end;
        }
        st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
        if (!EFI_ERROR(st))
            return EFI_SUCCESS;
    }
    return EFI_ABORTED;
}

static void hv_main_trampoline(void *arg) { hv_main(arg); }

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    char err[256];
    EFI_STATUS st;

    InitializeLib(image, systab);
    uart_init(COM1_PORT);
    log_set_console(console_line);
    uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);
    log_info("hv", "tinyhv 0.1 starting (UEFI firmware revision 0x%x)", ST->FirmwareRevision);

    /* 1. Platform facts from ACPI (logged even when VMX is missing) */
    find_acpi();

    /* 2. VMX */
    if (vmx_check_support(err, sizeof(err))) {
        log_error("hv", "%s", err);
        return fail(EFI_UNSUPPORTED, "cannot run guests without VMX");
    }
    log_info("hv", "VMX available");

    /* 3. Configuration, beside the image on the ESP */
    EFI_LOADED_IMAGE *li;
    st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
    if (EFI_ERROR(st))
        return fail(st, "no loaded-image protocol");
    find_image_dir(li);
    EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle);
    if (!root)
        return fail(EFI_NOT_FOUND, "cannot open the file system the hypervisor was loaded from");
    void *cfg_text;
    UINTN cfg_len;
    st = read_file(root, CONFIG_FILE_NAME, &cfg_text, &cfg_len);
    if (EFI_ERROR(st)) {
        log_error("hv", "config file %s beside the hypervisor: %s", CONFIG_FILE_NAME, efi_status_words(st));
        return fail(st, "no usable configuration");
    }
    if (config_parse(cfg_text, cfg_len, &boot.cfg, err, sizeof(err))) {
        log_error("hv", "config file %s: %s", CONFIG_FILE_NAME, err);
        return fail(EFI_INVALID_PARAMETER, "malformed configuration");
    }
    FreePool(cfg_text);
    log_set_level(boot.cfg.log_level);
    struct cpuid_vm hide_check = { 0 };
    if (cpuid_hide_list(&hide_check, boot.cfg.cpuid_hide, err, sizeof(err))) {
        log_error("hv", "config: %s", err);
        return fail(EFI_INVALID_PARAMETER, "bad configuration");
    }
    log_info("hv", "config: guest=%s ram_mb=%u log_level=%s cmdline='%s'", boot.cfg.guest, boot.cfg.ram_mb,
             log_level_name(boot.cfg.log_level), boot.cfg.cmdline);

    /* 4. Guest RAM and the guest image */
    if (boot.cfg.bare && EFI_ERROR((st = bare_claim_guest_ram((uint64_t)boot.cfg.ram_mb << 20))))
        return fail(st, "bare = on: the guest's physical addresses are not free");
    void *img;
    UINTN img_len;
    st = read_file(root, boot.cfg.guest, &img, &img_len);
    if (EFI_ERROR(st)) {
        log_error("hv", "guest image '%s': %s", boot.cfg.guest, efi_status_words(st));
        return fail(st, "cannot load the guest");
    }
    uint64_t ram_size = (uint64_t)boot.cfg.ram_mb << 20, ram_raw;
    st = alloc_pages((UINTN)((ram_size + MiB2) / 4096), &ram_raw);
    if (EFI_ERROR(st)) {
        log_error("hv", "cannot allocate %u MiB of guest RAM below 4 GiB", boot.cfg.ram_mb);
        return fail(st, "out of memory");
    }
    boot.guest_ram = (uint8_t *)(uintptr_t)((ram_raw + MiB2 - 1) & ~(MiB2 - 1));
    boot.guest_ram_size = ram_size;
    SetMem(boot.guest_ram, ram_size, 0);
    vm_desc_init(&boot.desc, ram_size, VIOAPIC_DEFAULT_BASE);
    if (!boot.cfg.bare)
        vm_desc_add_pci(&boot.desc); /* vmx/pcibus.c answers at ECAM and 0xCF8 */
    if (boot.cfg.disk[0] && EFI_ERROR((st = load_disk(root))))
        return fail(st, "cannot load the disk image");
    if (bz_is_bzimage(img, img_len)) {
        st = load_linux(root, img, img_len);
        FreePool(img);
        if (EFI_ERROR(st))
            return fail(st, "cannot load the guest");
    } else {
        if (boot.cfg.initrd[0]) {
            log_error("hv",
                      "initrd = is for Linux bzImage guests; '%s' is not one (a Multiboot "
                      "guest takes module =)",
                      boot.cfg.guest);
            return fail(EFI_INVALID_PARAMETER, "cannot load the guest");
        }
        struct mb_loaded loaded;
        const struct vm_desc *d = &boot.desc;
        if (mb_load_elf(img, img_len, boot.guest_ram, d->acpi_base, &loaded, err, sizeof(err))) {
            log_error("hv", "guest image '%s': %s", boot.cfg.guest, err);
            return fail(EFI_LOAD_ERROR, "cannot load the guest");
        }
        FreePool(img);
        boot.guest_entry = loaded.entry;
        boot.guest_lowest = loaded.lowest;
        boot.guest_highest = loaded.highest;
        struct e820_entry map[VM_DESC_MAX_E820];
        unsigned nmap = vm_desc_e820(d, map, VM_DESC_MAX_E820);
        boot.guest_mb_info = mb_build_info(boot.guest_ram, map, nmap, boot.cfg.cmdline);
        uint64_t end;
        st = load_modules(root, &boot.cfg, boot.guest_ram, d->acpi_base, boot.guest_mb_info,
                          (uint64_t)loaded.highest + 1, &end);
        if (EFI_ERROR(st))
            return fail(st, "cannot load the guest's modules");
        boot.guest_loaded_end = (uint32_t)end;
        uint32_t rsdp;
        st = boot.cfg.bare ? bare_guest_acpi() : build_guest_acpi(d, &rsdp);
        if (EFI_ERROR(st))
            return fail(st, "cannot build the guest's ACPI tables");
        log_info("hv", "guest '%s' loaded: 0x%x-0x%x, entry 0x%x; guest RAM at host 0x%llx", boot.cfg.guest,
                 loaded.lowest, loaded.highest, loaded.entry, (unsigned long long)(uintptr_t)boot.guest_ram);
        boot.start = (struct guest_start){ .eip = boot.guest_entry,
                                           .eax = MULTIBOOT_BOOTLOADER_MAGIC,
                                           .ebx = boot.guest_mb_info,
                                           .cs = 0x08,
                                           .ds = 0x10 };
    }

    /* 5. The hypervisor's own pages */
    uint64_t pool;
    st = alloc_pages(POOL_PAGES, &pool);
    if (EFI_ERROR(st))
        return fail(st, "cannot allocate the hypervisor's page pool");
    pages_init(pool, POOL_PAGES);
    uint8_t *stack = pages_alloc(STACK_PAGES), *ist = pages_alloc(IST_STACK_PAGES);
    boot.stack_top = (uint64_t)(uintptr_t)(stack + STACK_PAGES * PAGE_SIZE);
    boot.ist_stack_top = (uint64_t)(uintptr_t)(ist + IST_STACK_PAGES * PAGE_SIZE);

    /* 6. Leave the firmware */
    log_info("hv", "exiting boot services");
    log_set_console(0);
    st = exit_boot_services(image);
    if (EFI_ERROR(st)) {
        log_set_console(console_line);
        return fail(st, "ExitBootServices failed");
    }
    switch_stack_and_call(boot.stack_top, hv_main_trampoline, &boot);
    return EFI_ABORTED; /* not reached */
}
