#!/bin/sh
# mutate.sh ROM [nasm flags...] - mutation test of one ROM.
#
# Assembles test-roms/ROM.asm once per check with -DMUTATE=n, which inverts
# the expectation of check n only (see NEXT_CHECK in common.inc), runs it,
# and expects a FAIL line.  Prints the checks whose mutant still passed:
# each must be on a path the CPU under test does not take (another CPU
# class, a skipped group, a diagnostic after a failure) - otherwise the
# check is vacuous.
#
# The runner is QEMU by default (qemu-system-i386 -cpu 486: no local APIC,
# so the 8259 reaches the CPU); set RUN to another command that takes the
# image path last, e.g.
#   RUN="target/debug/glassbox run --cpu 8086 --debugcon stdio --bios" \
#       test-roms/mutate.sh interrupts
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rom=$1
shift
run=${RUN:-qemu-system-i386 -cpu 486 -display none -debugcon stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot -bios}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=$(nasm -f bin -I"$here/" -DCOUNT_CHECKS "$@" -o "$tmp/x.bin" "$here/$rom.asm" 2>&1 |
    sed -n 's/.*warning: checks: \([0-9]*\).*/\1/p')
echo "$rom: $n checks"
survivors=0
i=1
while [ "$i" -le "$n" ]; do
    where=$(nasm -f bin -I"$here/" -DMUTATE=$i "$@" -o "$tmp/m.bin" "$here/$rom.asm" 2>&1 |
        grep 'mutated check' | head -1 | sed 's/: warning.*//; s|.*/||')
    out=$(timeout 120 $run "$tmp/m.bin" 2>&1 </dev/null || true)
    if ! printf '%s\n' "$out" | grep -q '^FAIL'; then
        echo "check $i survived: $where"
        survivors=$((survivors + 1))
    fi
    i=$((i + 1))
done
echo "$rom: $survivors of $n mutants survived"
