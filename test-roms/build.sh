#!/bin/sh
# build.sh - assemble Glassbox's own ROMs with NASM.
#
#   test-roms/build.sh           test-roms/NAME.asm -> test-roms/NAME.bin,
#                                test-roms/boot/NAME.asm -> test-roms/boot/NAME.img
#                                (512-byte boot sectors),
#                                bios/demo/demo.asm -> bios/demo/demo.img (the
#                                demo's boot floppy contents, whole sectors),
#                                test-roms/multiboot/mbtest.asm -> mbtest.elf and
#                                (with -DAOUT_KLUDGE) mbtest-aout.bin (multiboot
#                                test kernels)
#                                and bios/src/bios.asm -> bios/bios.rom (the BIOS)
#   test-roms/build.sh --check   assemble into a temporary directory and fail
#                                if a committed image differs from its source
#
# The images are committed, so building or testing Glassbox never needs an
# assembler; this script (and CI, through --check) keeps them current.
# NASM is installed with apt-get when it is missing.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
roms="$root/test-roms"

ensure_nasm() {
    command -v nasm >/dev/null 2>&1 && return 0
    echo "build.sh: nasm not found, installing it with apt-get" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q nasm >/dev/null 2>&1 ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q nasm >/dev/null; }
    command -v nasm >/dev/null 2>&1 || { echo "build.sh: could not install nasm" >&2; exit 1; }
}

# assemble SOURCE OUTPUT [NASM FLAGS]
assemble() {
    nasm -f bin -w+error=number-overflow -I"$roms/" -I"$(dirname "$1")/" ${3:-} -o "$2" "$1"
    size=$(wc -c < "$2")
    case "$1" in
    */multiboot/*)
        # multiboot kernels: the header must be in the first 8 KiB
        if [ "$size" -lt 64 ] || [ "$size" -gt 65536 ]; then
            echo "build.sh: $1 gave $size bytes, not a small kernel" >&2
            exit 1
        fi
        return 0
        ;;
    */demo/* | */boot/*)
        # raw disk sectors (boot sectors, the demo disk), padded when they are used
        if [ "$size" -eq 0 ] || [ $((size % 512)) -ne 0 ] || [ "$size" -gt 32768 ]; then
            echo "build.sh: $1 gave $size bytes, not whole 512-byte sectors up to 32 KiB" >&2
            exit 1
        fi
        return 0
        ;;
    *) want=65536 ;;
    esac
    if [ "$size" -ne "$want" ]; then
        echo "build.sh: $1 gave $size bytes, not $want" >&2
        exit 1
    fi
}

# "source output [nasm flags]", one per line
images() {
    for src in "$roms"/*.asm; do
        echo "$src ${src%.asm}.bin"
    done
    for src in "$roms"/boot/*.asm; do
        echo "$src ${src%.asm}.img"
    done
    echo "$root/bios/demo/demo.asm $root/bios/demo/demo.img"
    echo "$roms/multiboot/mbtest.asm $roms/multiboot/mbtest.elf"
    echo "$roms/multiboot/mbtest.asm $roms/multiboot/mbtest-aout.bin -DAOUT_KLUDGE"
    echo "$root/bios/src/bios.asm $root/bios/bios.rom"
}

ensure_nasm
case "${1:-}" in
"")
    images | while read -r src out flags; do
        assemble "$src" "$out" "$flags"
        echo "built ${out#"$root"/}"
    done
    ;;
--check)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    images | while read -r src out flags; do
        assemble "$src" "$tmp/image" "$flags"
        if ! cmp -s "$tmp/image" "$out"; then
            echo "build.sh --check: ${out#"$root"/} is missing or older than ${src#"$root"/};" \
                "run test-roms/build.sh and commit the result" >&2
            touch "$tmp/stale"
        fi
    done
    [ ! -e "$tmp/stale" ] || exit 1
    echo "build.sh --check: all ROM images match their sources"
    ;;
*)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac
