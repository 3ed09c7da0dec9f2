#include "devices.h"

#include "../arch/x86/ioapic.h"
#include "../arch/x86/lapic.h"
#include "../drivers/log.h"
#include "../drivers/uart.h"

void vm_devices_init(struct vm *vm, uint64_t ioapic_base, unsigned com1_gsi)
{
    (void)vm;
    ioapic_route(ioapic_base, com1_gsi, HOST_VECTOR_COM1, lapic_id());
    uart_enable_rx_interrupt();
    log_info("hv",
             "physical COM1 input: IOAPIC 0x%llx pin %u -> vector 0x%02x, passed to the "
             "guest's COM1 (IRQ 4)",
             (unsigned long long)ioapic_base, com1_gsi, HOST_VECTOR_COM1);
}

void vm_poll_devices(struct vm *vm)
{
    /* Only what the guest's FIFO has room for: the rest waits in the
     * machine's UART (and its sender), read when the guest has read
     * (io_com1), so that nothing typed is lost. Bounded: a stuck "data
     * ready" bit cannot keep us here. */
    for (int i = 0; i < VUART_RX_FIFO && vuart_rx_room(&vm->com1) && uart_rx_ready(); i++) {
        uint8_t b = uart_getc();
        log_debug("hv", "COM1 input 0x%02x", b);
        vuart_receive(&vm->com1, b);
        vm->com1_bytes++;
    }
}

int vm_can_receive(const struct vm *vm) { return (vm->com1.ier & 0x01) && (vm->com1.mcr & 0x08); }

void vm_physical_interrupt(struct vm *vm, uint8_t vector)
{
    if (vector == HOST_VECTOR_COM1)
        vm_poll_devices(vm);
    else if (vector == HOST_VECTOR_TEST)
        vm->test_physintr++;
    else
        log_debug("vmx", "physical interrupt vector 0x%02x while the guest ran (acknowledged)", vector);
    lapic_eoi();
}
