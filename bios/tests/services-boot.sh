#!/bin/sh
# services-boot.sh - developer check: BIOS services under QEMU.
#
#   bios/tests/services-boot.sh [ROM]      (default: bios/bios.rom)
#
# Boots services-boot.asm from a floppy image: INT 10h/0Fh, 11h, 12h,
# 13h/08h and 15h, 15h/C0h, 2402h, E820h and 86h, 1Ah/00h and 04h, and
# INT 16h with keys pressed through the monitor (Up, F12, keypad Enter,
# Shift+A).  Exits 0/1; skips without qemu or nasm.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
rom=${1:-$here/../bios.rom}
. "$here/common.sh"
need_tools services-boot.sh qemu-system-i386 nasm

nasm -f bin -o "$tmp/boot.bin" "$here/../../test-roms/boot/services.asm"
dd if=/dev/zero of="$tmp/floppy.img" bs=1024 count=1440 status=none
dd if="$tmp/boot.bin" of="$tmp/floppy.img" conv=notrunc status=none
start_qemu -bios "$rom" -drive "file=$tmp/floppy.img,if=floppy,format=raw" -boot a
wait_e9 "keys?" 20
for k in up f12 kp_enter shift-a; do
    echo "sendkey $k" >&3
    sleep 0.2
done
wait_e9 "SVC DONE" 10
sed -n '/jumping/,$p' "$tmp/e9.txt"
if grep -q "SVC DONE" "$tmp/e9.txt" && ! grep -q "^FAIL" "$tmp/e9.txt"; then
    echo "services-boot.sh: PASS"
    exit 0
fi
echo "services-boot.sh: FAIL"
exit 1
