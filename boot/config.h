/* The hypervisor's configuration file: a small "key = value" text file on
 * the ESP beside the hypervisor. Pure C: also compiled into host unit tests. */
#ifndef BOOT_CONFIG_H
#define BOOT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX       128
#define CONFIG_CMDLINE_MAX    256
#define CONFIG_RAM_MB_MIN     4
#define CONFIG_RAM_MB_MAX     2816 /* below PCI ECAM at 0xB0000000 (boot/platform.h) */
#define CONFIG_RAM_MB_DEFAULT 32
#define CONFIG_MODULES_MAX    4

/* A Multiboot module: a file loaded into guest RAM after the kernel, with
 * its own string (QEMU's `-initrd "file args"`). */
struct hv_module {
    char path[CONFIG_PATH_MAX];
    char args[CONFIG_CMDLINE_MAX];
};

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };
/* `trace =`: off; on (a binary ring in memory, dumped once at the end of
 * the run); text (one log line per step, for short debugging runs). */
enum { TRACE_OFF, TRACE_RING, TRACE_TEXT };
enum { SELFTEST_NONE, SELFTEST_EXCEPTION, SELFTEST_VM_BUG };

struct hv_config {
    char guest[CONFIG_PATH_MAX];      /* guest image (`guest =` or `kernel =`), relative to the
                                       * config's folder or absolute: Multiboot ELF or bzImage */
    char initrd[CONFIG_PATH_MAX];     /* a bzImage's initial ramdisk ("": none) */
    char cmdline[CONFIG_CMDLINE_MAX]; /* the guest's command line (Multiboot or Linux) */
    uint32_t ram_mb;                  /* guest RAM in MiB */
    enum log_level log_level;
    int trace;                           /* TRACE_OFF, TRACE_RING or TRACE_TEXT */
    int selftest;                        /* test hook (hv_selftest =): SELFTEST_EXCEPTION faults in the
                                       * hypervisor, SELFTEST_VM_BUG fails a VM_BUG_ON, on purpose */
    int bare;                            /* run the guest without VMX (a baseline) */
    int no_apicv;                        /* 1: the software APIC path even where the CPU
                                       * offers APIC virtualization */
    char cpuid_hide[CONFIG_CMDLINE_MAX]; /* CPUID features the guest must not see ("x2apic ...") */
    struct hv_module module[CONFIG_MODULES_MAX]; /* `module = <file> [args]`, in order */
    unsigned nmodules;
    int lapic_timer;            /* 1: virtual deadlines on the LAPIC timer even
                                       * where the VMX-preemption timer exists */
    int test_hooks;             /* 1: the test hypercalls answer (vmx/exit.h) */
    char disk[CONFIG_PATH_MAX]; /* the virtio-blk disk's image ("": no disk) */
    int disk_volatile;          /* 1: writable, writes lost at power-off; 0: read-only */
};

/* Parses `len` bytes of config text. Returns 0 on success; otherwise -1 with
 * a message naming the line in err (always NUL-terminated). */
int config_parse(const char *text, size_t len, struct hv_config *cfg, char *err, size_t errlen);

const char *log_level_name(enum log_level level);

#endif
