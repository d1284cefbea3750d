#!/bin/sh
# qemu-boot.sh - developer check: the BIOS boots FreeDOS under QEMU.
#
#   bios/tests/qemu-boot.sh [ROM]      (default: bios/bios.rom)
#
# Boots ../shared/guests/freedos/fd-minimal-1440k.img with the BIOS, waits
# for "A:\>" in the VGA text buffer (read with the monitor's pmemsave),
# types "ver" and "dir" with sendkey and checks FreeCOM's answers.  Exits 0
# on success, 1 on failure; skips (exit 0 with a message) when
# qemu-system-i386 or the image is missing.  Not part of CI.  QEMU_EXTRA adds
# options, e.g. QEMU_EXTRA="-cpu 486" or "-M isapc".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rom=${1:-$root/bios/bios.rom}
img=$root/../shared/guests/freedos/fd-minimal-1440k.img
[ -e "$img" ] || img=/work/shared/guests/freedos/fd-minimal-1440k.img
. "$here/common.sh"
need_tools qemu-boot.sh qemu-system-i386
if [ ! -e "$img" ]; then
    echo "qemu-boot.sh: SKIP (no FreeDOS image at $img)"
    exit 0
fi

# shellcheck disable=SC2086 # QEMU_EXTRA is a list of options
start_qemu -bios "$rom" -fda "$img" -snapshot ${QEMU_EXTRA:-}

mon() { echo "$*" >&3; }

# screen: the 80x25 text page as lines of plain characters
screen() {
    rm -f "$tmp/screen.bin"
    mon "pmemsave 0xb8000 4000 \"$tmp/screen.bin\""
    i=0
    while [ ! -s "$tmp/screen.bin" ] || [ "$(wc -c <"$tmp/screen.bin")" -lt 4000 ]; do
        i=$((i + 1))
        [ $i -lt 50 ] || return 0
        sleep 0.1
    done
    od -An -v -tu1 -w2 "$tmp/screen.bin" | awk '
        { c = $1; printf "%c", (c >= 32 && c < 127) ? c : 32; n++ }
        n % 80 == 0 { printf "\n" }'
}

# wait_for TEXT SECONDS
wait_for() {
    t=0
    while [ $t -lt "$2" ]; do
        if screen | grep -F -q -- "$1"; then
            return 0
        fi
        sleep 1
        t=$((t + 1))
    done
    echo "qemu-boot.sh: FAIL: \"$1\" did not appear within $2 s. Screen:"
    screen
    echo "Debug console:"
    cat "$tmp/e9.txt" 2>/dev/null || true
    exit 1
}

typeline() {
    for k in $(echo "$1" | sed 's/./& /g'); do
        mon "sendkey $k"
        sleep 0.1
    done
    mon "sendkey ret"
}

wait_for 'A:\>' 60
echo "qemu-boot.sh: FreeDOS prompt reached"
typeline ver
wait_for 'FreeCom version 0.82 pl 3' 10
echo "qemu-boot.sh: ver answered"
typeline dir
wait_for 'KERNEL   SYS' 10
echo "qemu-boot.sh: dir listed the files"
echo "qemu-boot.sh: PASS"
