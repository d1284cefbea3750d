#!/bin/sh
# hd-boot.sh - developer check: INT 13h on a hard disk under QEMU.
#
#   bios/tests/hd-boot.sh [ROM]      (default: bios/bios.rom)
#
# Assembles hd-boot.asm into the MBR of a fresh 16 MiB raw image (sector 1
# begins "LBA1", sector 2 "LBA2"), boots it with `-boot c` and checks the
# debug console for its "ok" lines.  Exits 0/1; skips without qemu or nasm.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
rom=${1:-$here/../bios.rom}
. "$here/common.sh"
need_tools hd-boot.sh qemu-system-i386 nasm

nasm -f bin -o "$tmp/mbr.bin" "$here/../../test-roms/boot/int13hd.asm"
dd if=/dev/zero of="$tmp/disk.img" bs=1M count=16 status=none
dd if="$tmp/mbr.bin" of="$tmp/disk.img" conv=notrunc status=none
printf 'LBA1' | dd of="$tmp/disk.img" bs=512 seek=1 conv=notrunc status=none
printf 'LBA2' | dd of="$tmp/disk.img" bs=512 seek=2 conv=notrunc status=none

start_qemu -bios "$rom" -drive "file=$tmp/disk.img,format=raw,if=ide" -boot c
wait_e9 "HD DONE" 15
cat "$tmp/e9.txt"
if grep -q "HD DONE" "$tmp/e9.txt" && ! grep -q "^FAIL" "$tmp/e9.txt" &&
    [ "$(grep -c '^ok ' "$tmp/e9.txt")" -eq 6 ]; then
    echo "hd-boot.sh: PASS"
    exit 0
fi
echo "hd-boot.sh: FAIL"
exit 1
