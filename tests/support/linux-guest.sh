#!/bin/sh
# linux-guest.sh - build the tiny i386 Linux guest once, into the repository's target/.
#
#   tests/support/linux-guest.sh [OUTDIR]
#
# Calls ../shared/guests/linux/make-initramfs.sh (beside the repository) to build
# vmlinuz (Debian 12's 686 kernel), initrd.gz (busybox with an /init that prints the
# kernel release, CPU model and flags, then EMU-LINUX-INITRAMFS-OK) and manifest.txt
# into OUTDIR, by default target/guests/linux-i386. Nothing is built when the
# manifest is already there: delete the folder to rebuild. The first build downloads
# about 52 MB of Debian packages.
#
# The outputs are GPL binaries from Debian: they stay in target/ and are never committed.
# Prints the output folder on stdout (the last line).
#
# Environment: GLASSBOX_GUESTS overrides the guests folder (default ../shared/guests).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-"$root/target/guests/linux-i386"}
guests=${GLASSBOX_GUESTS:-"$root/../shared/guests"}
script="$guests/linux/make-initramfs.sh"

if [ -f "$out/manifest.txt" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.gz" ]; then
    echo "linux-guest.sh: $out is built already (manifest.txt present)" >&2
    echo "$out"
    exit 0
fi
if [ ! -f "$script" ]; then
    echo "linux-guest.sh: $script is missing (set GLASSBOX_GUESTS to the guests folder)" >&2
    exit 1
fi
mkdir -p "$out"
echo "linux-guest.sh: building the Linux guest into $out" >&2
bash "$script" -o "$out" --append "console=ttyS0 noapic nolapic acpi=off panic=-1" >&2
[ -f "$out/manifest.txt" ] || { echo "linux-guest.sh: no manifest.txt in $out" >&2; exit 1; }
echo "$out"
