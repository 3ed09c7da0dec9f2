#!/usr/bin/env bash
# testos group "serial-irq": the harness types into the emulated machine's
# COM1 (Bochs's COM1 on a loopback socket, scripts/serial_peer.pl); the
# hypervisor takes the physical COM1 interrupt (IRQ 4 through the physical
# IOAPIC) and passes the bytes to the guest's virtual COM1, whose IRQ 4
# reaches the guest through the vIOAPIC or the vPIC.
. "$(dirname "$0")/lib.sh"
boot serial-irq bochs "guest = testos.elf
cmdline = serial-irq ram_mb=32
ram_mb = 32" \
  --send 'serial-irq: send 1' 'tinyhv-rx-1\n' --send 'serial-irq: send 2' 'second\n' \
  --send 'serial-irq: send 3' 'third!\n' --send 'serial-irq: send 4' 'tinyhv-rx-1\n'
guest_tap serial-irq
relay_guest_tap serial-irq
check_log '^hv: +external interrupt +[0-9]+ ' "physical COM1 interrupts reached the hypervisor as VM exits" serial-irq
check_log '^hv: guest exited status=0$' "run ends with status 0" serial-irq
check_no_vmfail
done_testing
