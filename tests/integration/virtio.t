#!/usr/bin/env bash
# testos's own virtio-blk driver (group "virtio", guest/testos/test_virtio.c)
# on the disk `disk = <file>` offers (issue 13), on both APIC paths: the
# device found on bus 0 through mechanism #1 and its capabilities walked,
# features negotiated (RO offered for a read-only disk), reads that match
# the image (scripts/mkvdisk.py: each sector stamped with its number), reads
# past the capacity and a write to the read-only disk refused with S_IOERR
# (and, on a third boot with `disk = ... volatile`, written and read back),
# GET_ID, one MSI-X interrupt per request, and with MSI-X off INTA# through
# the IOAPIC (GSI 17, level, active low), deasserted by reading ISR status.
# The hypervisor's own count of the interrupts it sent must agree.
. "$(dirname "$0")/lib.sh"
SECTORS=2048
img=$BUILD/scenarios/vdisk.img
"$ROOT/scripts/mkvdisk.py" "$img" $SECTORS || { echo "Bail out! mkvdisk failed"; exit 1; }
# run NAME APICV DISK-OPTION CMDLINE-EXTRA
run() {
  name=$1
  boot "$name" bochs "guest = testos.elf
cmdline = virtio sectors=$SECTORS ram_mb=32$4
ram_mb = 32
apicv = $2
trace = on
disk = vdisk.img$3" "$img:vdisk.img"
  guest_tap "$name"
  relay_guest_tap "$name"
  check_apic_path "$name" $2
}
for path in auto off; do
  run virtio-$path $path "" ""
  check_log "^hv: disk 'vdisk.img': virtio-blk \(1af4:1042\) at PCI 00:01.0, $SECTORS sectors of 512 bytes, read-only, INTA# on GSI 17" \
    "$name: the hypervisor offers the image read-only at 00:01.0" "$name"
  # MSI-X: read 4, beyond 3, write 2, get_id 1, msix 32 (the polled one
  # none); INTx: 8. Reads 4 + 1 + 33 + 8 (1024 bytes in the write case); I/O
  # errors 3 + 1.
  check_log '^hv: disk: 46 reads \(27648 bytes\), 0 writes \(0 bytes\), 0 flushes, 4 I/O errors, 51 notifies, interrupts 42 MSI-X / 8 INTx$' \
    "$name: the hypervisor counts 46 reads, 4 I/O errors, 51 notifies, 42 MSI-X and 8 INTx interrupts" "$name"
  check_log '^hv: guest exited status=0$' "$name: run ends with status 0" "$name"
  check_no_vmfail
  # The interrupt trace (`trace = on`, the whole run fits its ring): each
  # MSI-X message is the router's MSI path ('msi', delivered, to 0xFEExxxxx).
  check_log '^hv: trace: [0-9]+ events kept, 0 dropped' "$name: the trace kept the whole run" "$name"
  python3 "$ROOT/scripts/trace2json.py" --json-only "$TAPDIR/$name.bochs.out" "$TAPDIR/$name.trace" >/dev/null 2>&1
  msi=$(python3 -c 'import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
print(sum(1 for e in ev if e.get("name") == "msi" and e["args"]["delivered"] == 1 and e["args"]["address"] >> 20 == 0xFEE))' \
    "$TAPDIR/$name.trace.json" 2>/dev/null || echo none)
  [ "$msi" = 42 ]; ok $? "$name: the trace shows the 42 MSI-X messages as delivered 'msi' events ($msi)"
done
# The same image writable in memory: RO not offered, the write read back.
run virtio-volatile auto " volatile" " disk_rw=1"
check_log "^hv: disk 'vdisk.img': virtio-blk \(1af4:1042\) at PCI 00:01.0, $SECTORS sectors of 512 bytes, writable \(volatile\)" \
  "$name: the hypervisor offers the image writable" "$name"
check_log "^hv: warning: disk 'vdisk.img' is volatile: the guest's writes stay in memory and are LOST at power-off" \
  "$name: and says that the writes are lost at power-off" "$name"
# The write case: write 1024 bytes, read them back, FLUSH, read sector 5.
check_log '^hv: disk: 47 reads \(28160 bytes\), 1 writes \(1024 bytes\), 1 flushes, 3 I/O errors, 53 notifies, interrupts 44 MSI-X / 8 INTx$' \
  "$name: the hypervisor counts 47 reads, 1 write, 1 flush, 3 I/O errors, 44 MSI-X and 8 INTx interrupts" "$name"
check_log '^hv: guest exited status=0$' "$name: run ends with status 0" "$name"
check_no_vmfail
done_testing
