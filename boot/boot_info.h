/* What the UEFI stage hands to the hypervisor proper after ExitBootServices. */
#ifndef BOOT_BOOT_INFO_H
#define BOOT_BOOT_INFO_H

#include <stdint.h>

#include "../drivers/acpi.h"
#include "../vmx/vmx.h"
#include "config.h"
#include "vm_desc.h"

struct boot_info {
    struct hv_config cfg;
    struct acpi_info acpi;
    int have_acpi;
    uint8_t *guest_ram; /* 2 MiB aligned */
    uint64_t guest_ram_size;
    uint32_t guest_entry;
    uint32_t guest_mb_info;
    struct guest_start start; /* the guest's first state: Multiboot's or Linux's */
    struct vm_desc desc;      /* the VM's platform, from which its tables and map are made */
    uint64_t mem_top;         /* highest physical address in the memory map */
    uint64_t stack_top, ist_stack_top;
    uint32_t guest_lowest, guest_highest; /* the kernel's loaded range */
    uint32_t guest_loaded_end;            /* one past the kernel and its modules */
    int bare_acpi_built;                  /* bare = on: tables at desc.acpi_base to copy */
    uint32_t bare_rsdp_len;               /* bare = on: RSDP bytes at PLATFORM_BIOS_AREA to copy (0: none) */
    uint8_t *disk;                        /* `disk =`: its image (NULL: none) */
    uint64_t disk_size;
};

/* Runs the hypervisor on its own GDT, IDT, page tables and stack. Never returns. */
__attribute__((noreturn)) void hv_main(struct boot_info *bi);

#endif
