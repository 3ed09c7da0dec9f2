#!/usr/bin/env bash
# A virtio-blk disk on the guest's PCI bus (issue 13), read by the project's
# Linux kernel: the device is found on the bus, its interrupts are MSI-X
# vectors whose counts rise while the guest reads the whole disk, the file
# system on it holds a file whose checksum matches the one the image was
# built with, and a write to the read-only disk fails cleanly. Then the same
# with `pci=nomsi`: the device interrupts through INTA#, a level-triggered,
# active-low IOAPIC pin (the DSDT's _PRT), and the read still succeeds.
# The pci=nomsi run takes the software APIC path with the disk writable
# (`disk = disk.img volatile`): the write succeeds, the hypervisor counts
# it, and its log says plainly that the writes are lost at power-off.
# (testos's own driver, virtio.t, takes MSI-X and INTx on both paths.)
# (virtio.t checks the trace's 'msi' events: a Linux run overflows the ring.)
# The disk is `make linux`'s (scripts/linux-build.sh: 8 MiB of ext2 with
# data.bin and data.sha256). Each check is its own TAP line.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

PFX=""
eval "lib_$(declare -f ok)"
ok() { lib_ok "$1" "$PFX$2" "${3:-}"; }

build_out=$(scripts/linux-build.sh 2>&1) || { echo "Bail out! make linux failed: $(tail -3 <<<"$build_out")"; exit 1; }
read -r kernel initrd disk < <(scripts/linux-build.sh --paths)
want=$(debugfs -R 'cat /data.bin' "$disk" 2>/dev/null | sha256sum | cut -d' ' -f1)
[ ${#want} = 64 ] || { echo "Bail out! cannot read data.bin from $disk"; exit 1; }

DEV=/sys/bus/pci/devices/0000:00:01.0
sends=(
  --send "Enter 'help' for a list of built-in commands." "cat $DEV/vendor $DEV/device; echo msi_irqs: \$(cat $DEV/msi_irqs/* 2>/dev/null); echo ==p\$((0+1))==\n"
  --send '==p1==' 'cat /proc/interrupts; echo ==mid$((0+1))==; dd if=/dev/vda of=/dev/null bs=64k; cat /proc/interrupts; echo ==p$((1+1))==\n'
  --send '==p2==' 'mkdir -p /mnt; mount -t ext2 -o ro /dev/vda /mnt && sha256sum /mnt/data.bin; echo ==p$((1+2))==\n'
  --send '==p3==' 'dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync; echo write-status=$?; echo ==p$((1+3))==\n'
  --send '==p4==' 'poweroff\n'
)

# count TEXT REGEX: the CPU0 count of the /proc/interrupts line matching REGEX
count() { awk -v re="$2" '$0 ~ re { print $2; exit }' <<<"$1"; }

run_disk() {
  local mode=$1 apicv=$2 extra=$3 access=${4:-ro}
  PFX="$mode, apicv=$apicv, $access: "
  name=linux-disk-$mode-$apicv-$access
  start=$SECONDS
  BOOT_TIMEOUT=${LINUX_TIMEOUT:-400} boot "$name" bochs "kernel = bzImage
initrd = initrd.gz
cmdline = console=ttyS0$extra
ram_mb = 128
apicv = $apicv
disk = disk.img $access" "$kernel:bzImage" "$initrd:initrd.gz" "$disk:disk.img" \
    "${sends[@]}" --until 'reboot: Power down'
  wall=$((SECONDS - start))
  G=$(sed -n 's/^guest: //p' <<<"$LOG")
  ghas() { grep -Eq -- "$1" <<<"$G"; }
  gcheck() { ghas "$1"; ok $? "$2" "no guest line matching /$1/ in $TAPDIR/$name.log"; }

  if [ "$access" = ro ]; then
    check_log "^hv: disk 'disk.img': virtio-blk \(1af4:1042\) at PCI 00:01.0, 16384 sectors of 512 bytes, read-only" \
      "the hypervisor offers the disk read-only" "$name"
  else
    check_log "^hv: warning: disk 'disk.img' is volatile: the guest's writes stay in memory and are LOST at power-off" \
      "the log says the volatile disk's writes are lost at power-off" "$name"
  fi
  ids=$(sed -n '/^==p1==/q; /^0x/p' <<<"$G" | tr '\n' ' ')
  [ "$ids" = "0x1af4 0x1042 " ]; ok $? "the guest sees 1af4:1042 at 00:01.0 (sysfs: ${ids:-nothing})"
  gcheck 'virtio_blk virtio0: \[vda\] 16384 512-byte logical blocks' "virtio_blk found the 16384-sector disk (vda)"
  before=$(sed -n '/^==p1==/,/^==mid1==/p' <<<"$G")
  after=$(sed -n '/^==mid1==/,/^==p2==/p' <<<"$G")
  if [ "$mode" = msix ]; then
    # Linux 6.1 names MSI and MSI-X vectors alike "PCI-MSI" (6.2 and
    # later: "PCI-MSIX-<device>"); sysfs's msi_irqs tells them apart.
    re='PCI-MSI(X-0000:00:01\.0)? +[0-9]+-edge +virtio0-req'
    what="PCI-MSI virtio0-req.0"
  else
    re='IO-APIC +1[6-9]-fasteoi +virtio0'
    what="IO-APIC 16-19-fasteoi virtio0"
  fi
  kinds=$(grep -oE '^msi_irqs:.*' <<<"$G" | head -1 | sed 's/ *$//')
  if [ "$mode" = msix ]; then
    [[ "$kinds" =~ ^msi_irqs:\ msix\ msix ]]; ok $? "the driver enabled MSI-X: two vectors (sysfs ${kinds:-nothing})"
  else
    [ "$kinds" = "msi_irqs:" ]; ok $? "with pci=nomsi no MSI vector exists (sysfs ${kinds:-nothing})"
  fi
  c1=$(count "$before" "$re"); c2=$(count "$after" "$re")
  [ -n "$c1" ]; ok $? "/proc/interrupts shows the disk's $what line" "$(grep -i virtio <<<"$before")"
  [ "${c2:-0}" -gt "${c1:-0}" ]; ok $? "its count rose while the guest read the whole disk: ${c1:-none} -> ${c2:-none}"
  gcheck '^128\+0 records in' "dd read all 8 MiB of /dev/vda (128 blocks of 64 KiB)"
  got=$(grep -oE '^[0-9a-f]{64} +/mnt/data.bin' <<<"$G" | cut -d' ' -f1)
  [ "$got" = "$want" ]; ok $? "data.bin's sha256 in the guest matches the image's (${got:0:16}...)" "want $want"
  st=$(grep -oE '^write-status=[0-9]+' <<<"$G" | cut -d= -f2)
  if [ "$access" = ro ]; then
    [ -n "$st" ] && [ "$st" != 0 ]; ok $? "a write to the read-only disk fails in the guest (dd status ${st:-none})"
  else
    [ "$st" = 0 ]; ok $? "a write to the volatile disk succeeds (dd status ${st:-none})"
    check_log '^hv: disk: .* [1-9][0-9]* writes \([0-9]+ bytes\)' "the hypervisor counted the write" "$name"
  fi
  gcheck 'reboot: Power down' "poweroff reached the kernel's power-off"
  [ "$RC" = 0 ]; ok $? "the run ends with exit status 0 (run.sh status $RC)"
  check_log '^hv: disk: [1-9][0-9]* reads' "the hypervisor counted the disk's reads" "$name"
  check_no_vmfail
  echo "# disk ($mode, $apicv): $(grep -E '^hv: disk: ' <<<"$LOG" | head -1); the run ${wall} s wall"
}

run_disk msix auto ""
run_disk intx off " pci=nomsi" volatile
done_testing
