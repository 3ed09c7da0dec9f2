# tinyhv: a bare-metal VT-x hypervisor booted by UEFI.
#
#   make          build build/hypervisor.efi, build/testos.elf and build/disk.img
#   make run      install what is missing, build, boot the interrupt tour in the best emulator
#                 (EMU=bochs|qemu-kvm|qemu-tcg; GROUP=<testos group> or CFG=<config file> for another run;
#                 GUEST=linux: the Linux guest of `make linux`, its shell on the terminal)
#   make trace    the same with the interrupt trace on: build/trace/<run>.json and .png
#   make test     install what is missing, run every test (unit tests and emulator boots)
#   make unit     host unit tests only
#   make bench    VM exits per timer interrupt, latency, CPUID, virtio-blk reads: APIC virtualization vs
#                 software vs native, then kvm-unit-tests' vmexit and tscdeadline_latency (BENCH_KUT=0: without them)
#   make kut T=x  one kvm-unit-tests entry (ioapic, eventinj, xapic, msr, tsc, ...) on both APIC paths
#   make fuzz     each libFuzzer target for FUZZ_SECONDS (default 300), then the guest-side fuzzer as long
#   make guest-fuzz  the guest-side fuzzer alone (testos group "fuzz", one Bochs boot per seed) for FUZZ_SECONDS
#   make deps     install Debian packages and build Bochs with VMX (idempotent)
#   make linux    build the Linux guest (bzImage from linux-source-6.1, busybox initramfs) into the cache
#   make format   clang-format every tracked .c and .h file (.clang-format)

BUILD     := build
DEPS      := scripts/deps.sh
CC        := gcc
NASM      := nasm
LD        := ld
OBJCOPY   := objcopy

EFI_INC   := /usr/include/efi
EFI_LIB   := /usr/lib
EFI_LDS   := $(EFI_LIB)/elf_x86_64_efi.lds
EFI_CRT0  := $(EFI_LIB)/crt0-efi-x86_64.o

WARN      := -Wall -Wextra -Werror
HV_CFLAGS := -std=c11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector -fpic -fshort-wchar \
             -mno-red-zone -mgeneral-regs-only -fno-strict-aliasing -DEFI_FUNCTION_WRAPPER \
             -I$(EFI_INC) -I$(EFI_INC)/x86_64 -MMD -MP

HV_SRCS   := boot/efi_main.c boot/hv_main.c boot/bare.c boot/config.c boot/multiboot.c boot/bzimage.c boot/vm_desc.c \
             arch/x86/cmos.c arch/x86/desc.c arch/x86/exceptions.c arch/x86/fmt.c arch/x86/ioapic.c arch/x86/lapic.c \
             arch/x86/pages.c arch/x86/paging.c arch/x86/pic.c arch/x86/string.c arch/x86/tsc.c \
             irq/router.c irq/vhpet.c irq/vioapic.c irq/vlapic.c irq/vpic.c irq/vpit.c irq/vpmtmr.c irq/vrtc.c \
             drivers/acpi.c drivers/acpi_build.c drivers/fwcfg.c drivers/log.c drivers/pcports.c drivers/poweroff.c drivers/trace_ring.c drivers/uart.c drivers/vuart.c \
             vmx/cpuid.c vmx/decode.c vmx/devices.c vmx/ept.c vmx/event.c vmx/exit.c vmx/exit_names.c vmx/gmem.c vmx/guest_events.c vmx/inject.c vmx/mmio.c \
             vmx/pcdev.c vmx/run.c vmx/task_switch.c vmx/vcpu_mem.c vmx/vmcs_setup.c vmx/vmsr.c vmx/vmx.c vmx/vmx_caps.c
HV_SRCS   += drivers/virtio.c drivers/virtio_blk.c drivers/virtq.c drivers/virtio_pci.c drivers/pci.c vmx/pcibus.c
HV_ASMS   := arch/x86/bare.asm arch/x86/isr.asm vmx/vmx_entry.asm
HV_OBJS   := $(HV_SRCS:%.c=$(BUILD)/hv/%.o) $(HV_ASMS:%.asm=$(BUILD)/hv/%.o)

GUEST_CFLAGS := -std=c11 -m32 -O2 -g $(WARN) -ffreestanding -fno-pic -fno-stack-protector \
                -fno-builtin -mno-sse -mno-mmx -mno-80387 -MMD -MP
GUEST_SRCS := $(wildcard guest/testos/*.c)
GUEST_ASMS := $(wildcard guest/testos/*.asm)
GUEST_OBJS := $(GUEST_SRCS:%.c=$(BUILD)/%.o) $(GUEST_ASMS:%.asm=$(BUILD)/%.o)

.PHONY: all deps deps-packages run trace test test-long unit fuzz guest-fuzz bench bench-baseline kut linux format clean
all: deps-packages $(BUILD)/hypervisor.efi $(BUILD)/testos.elf $(BUILD)/disk.img

deps-packages:
	@$(DEPS) --packages-only
deps:
	@$(DEPS)

# ---- hypervisor (GNU-EFI, PE32+) ----
$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -c $< -o $@
$(BUILD)/hv/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -MD $(@:.o=.d) -o $@ $<
# libefi with its memcpy and memset made weak: arch/x86/string.c has faster
# ones, and libefi's init.o (which InitializeLib pulls in) defines both.
$(BUILD)/hv/libefi-weak.a: $(EFI_LIB)/libefi.a
	@mkdir -p $(dir $@)
	$(OBJCOPY) --weaken-symbol=memcpy --weaken-symbol=memset $< $@
$(BUILD)/hypervisor.so: $(HV_OBJS) $(BUILD)/hv/libefi-weak.a
	$(LD) -nostdlib -znocombreloc -T $(EFI_LDS) -shared -Bsymbolic -L$(EFI_LIB) \
	      $(EFI_CRT0) $(HV_OBJS) -o $@ $(BUILD)/hv/libefi-weak.a -lgnuefi
$(BUILD)/hypervisor.efi: $(BUILD)/hypervisor.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .reloc \
	           -j .bss --target=efi-app-x86_64 $< $@

# ---- test guest (Multiboot v1 ELF32) ----
$(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/%.o: guest/%.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 -g -MD $(@:.o=.d) -o $@ $<
$(BUILD)/testos.elf: $(GUEST_OBJS) guest/testos/link.ld
	$(LD) -m elf_i386 -nostdlib --no-warn-rwx-segments -T guest/testos/link.ld -o $@ $(GUEST_OBJS)

# ---- boot disk: GPT with one FAT ESP ----
$(BUILD)/disk.img: $(BUILD)/hypervisor.efi $(BUILD)/testos.elf scripts/mkdisk.sh tests/configs/demo.cfg
	scripts/mkdisk.sh $@ tests/configs/demo.cfg

# ---- running ----
EMU   ?=
GROUP ?= tour
CFG   ?=
GUEST ?=
RUN_ARGS = $(if $(EMU),--emu $(EMU)) $(if $(filter linux,$(GUEST)),--linux,$(if $(CFG),--cfg $(CFG),--group $(GROUP)))
run: deps all
	scripts/demo.sh $(RUN_ARGS)
trace: deps all
	scripts/demo.sh --trace $(RUN_ARGS)

# ---- the Linux guest: bzImage + busybox initramfs, built once into the cache ----
linux:
	scripts/linux-build.sh

# ---- tests ----
UNIT_CFLAGS := -std=c11 -O1 -g $(WARN) -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_TESTS  := test_config test_multiboot test_vmx_caps test_acpi test_fmt test_vuart \
               test_router test_vpic test_vioapic test_vpit test_vhpet test_vlapic test_decode test_gmem \
               test_fwcfg test_cpuid test_guest_events test_event test_trace_ring \
               test_vrtc test_vpmtmr test_pcports test_bzimage test_acpi_build test_pci test_virtio_pci
UNIT_DEPS_test_config    := boot/config.c arch/x86/fmt.c
UNIT_DEPS_test_multiboot := boot/multiboot.c boot/vm_desc.c arch/x86/fmt.c
UNIT_DEPS_test_bzimage  := boot/bzimage.c boot/vm_desc.c arch/x86/fmt.c
UNIT_DEPS_test_acpi_build := drivers/acpi_build.c drivers/acpi.c boot/vm_desc.c arch/x86/fmt.c \
                             irq/router.c irq/vpic.c irq/vioapic.c irq/vpit.c drivers/pci.c
UNIT_DEPS_test_event     := vmx/event.c
UNIT_DEPS_test_vmx_caps  := vmx/vmx_caps.c vmx/exit_names.c arch/x86/fmt.c
UNIT_DEPS_test_acpi      := drivers/acpi.c arch/x86/fmt.c
UNIT_DEPS_test_fmt       := arch/x86/fmt.c
UNIT_DEPS_test_vuart     := drivers/vuart.c
UNIT_DEPS_test_router    := irq/router.c irq/vpic.c irq/vioapic.c irq/vpit.c
UNIT_DEPS_test_vpic      := irq/vpic.c
UNIT_DEPS_test_vioapic   := irq/vioapic.c
UNIT_DEPS_test_vpit      := irq/vpit.c
UNIT_DEPS_test_vhpet     := irq/vhpet.c irq/router.c irq/vpic.c irq/vioapic.c irq/vpit.c
UNIT_DEPS_test_vlapic    := irq/vlapic.c
UNIT_DEPS_test_vrtc      := irq/vrtc.c
UNIT_DEPS_test_vpmtmr    := irq/vpmtmr.c
UNIT_DEPS_test_pcports    := drivers/pcports.c
UNIT_DEPS_test_pci        := drivers/pci.c
UNIT_DEPS_test_virtio_pci := drivers/virtio_pci.c drivers/virtio.c drivers/pci.c drivers/virtq.c
UNIT_DEPS_test_decode    := vmx/decode.c arch/x86/fmt.c
UNIT_DEPS_test_gmem      := vmx/gmem.c
UNIT_DEPS_test_fwcfg     := drivers/fwcfg.c
UNIT_DEPS_test_cpuid     := vmx/cpuid.c vmx/vmsr.c arch/x86/fmt.c
UNIT_DEPS_test_guest_events := vmx/guest_events.c drivers/log.c arch/x86/fmt.c
UNIT_DEPS_test_trace_ring := drivers/trace_ring.c arch/x86/fmt.c
# virtio-blk and its split virtqueue (issue 13)
UNIT_TESTS += test_virtq test_virtio_blk
UNIT_DEPS_test_virtq      := drivers/virtq.c drivers/virtio.c
UNIT_DEPS_test_virtio_blk := drivers/virtio_blk.c drivers/virtq.c drivers/virtio.c
UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/unit/%)

# Host tests and fuzz targets depend on every header of the tree: a change
# to a structure or a constant rebuilds them (a few seconds each).
HOST_HDRS := $(wildcard arch/x86/*.h boot/*.h drivers/*.h irq/*.h vmx/*.h tests/unit/*.h tests/fuzz/*.h)

.SECONDEXPANSION:
$(BUILD)/unit/%: tests/unit/%.c $$(UNIT_DEPS_%) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) -lcmocka

unit: deps-packages $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

# ---- fuzzing (libFuzzer, clang): a short run in `make test`, a long one here ----
FUZZ_CFLAGS  := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Every tests/fuzz/fuzz_*.c is a target (tests/fuzz/short_runs.t runs the same set).
FUZZ_TARGETS := $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_DEPS_fuzz_vpic    := irq/vpic.c
FUZZ_DEPS_fuzz_pci     := drivers/pci.c drivers/virtio_pci.c drivers/virtio.c drivers/virtq.c
FUZZ_DEPS_fuzz_vioapic := irq/vioapic.c
FUZZ_DEPS_fuzz_vpit    := irq/vpit.c
FUZZ_DEPS_fuzz_vhpet   := irq/vhpet.c irq/router.c irq/vpic.c irq/vioapic.c irq/vpit.c
FUZZ_DEPS_fuzz_vlapic  := irq/vlapic.c
FUZZ_DEPS_fuzz_decode  := vmx/decode.c arch/x86/fmt.c
FUZZ_DEPS_fuzz_gmem    := vmx/gmem.c
FUZZ_DEPS_fuzz_event   := vmx/event.c
FUZZ_DEPS_fuzz_vrtc    := irq/vrtc.c
FUZZ_DEPS_fuzz_vpmtmr  := irq/vpmtmr.c
FUZZ_DEPS_fuzz_bzimage := boot/bzimage.c boot/vm_desc.c arch/x86/fmt.c
FUZZ_DEPS_fuzz_virtq   := drivers/virtio_blk.c drivers/virtq.c drivers/virtio.c
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 300
$(BUILD)/fuzz/%: tests/fuzz/%.c $$(FUZZ_DEPS_%) $(HOST_HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
fuzz: deps all $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)
	@echo "fuzz: the guest-side fuzzer for $(FUZZ_SECONDS) s"
	@scripts/guest-fuzz.sh $(FUZZ_SECONDS)

# Seeds 1, 2, ... each a Bochs boot of testos's "fuzz" group, until
# FUZZ_SECONDS pass; stops at the first failing seed and names it.
guest-fuzz: deps all
	@scripts/guest-fuzz.sh $(FUZZ_SECONDS)

bench: deps all
	scripts/bench.sh

# After a deliberate change of the figures: the new baseline that
# bench_regression.t (make test) compares with. Commit it with the change.
bench-baseline: deps all
	BENCH_KUT=0 scripts/bench.sh
	python3 tests/bench/check.py --baseline $(BUILD)/bench.json > tests/bench/baseline.json

# One kvm-unit-tests entry on both APIC paths: make kut T=ioapic
kut: deps all
	KUT_TESTS="$(T)" prove -v tests/integration/kut.t

test: deps all $(UNIT_BINS) $(FUZZ_BINS)
	scripts/test.sh

# Longer than make test's budget: Debian's stock cloud kernel (the vmlinuz of
# linux-image-cloud-amd64, fetched once with apt-get download) booted with
# our initramfs to its shell on both APIC paths and with noapic, the same
# checks as ours (issue 8); it prints the boot time of each run.
test-long: deps all
	LINUX_KERNEL=debian prove -v tests/integration/linux.t

format: deps-packages
	git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
