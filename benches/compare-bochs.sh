#!/usr/bin/env bash
# compare-bochs.sh -- guest-MIPS comparison of Glassbox and Debian's Bochs 2.7
# on the ROM workloads in benches/workloads/, measured in the same invocation.
#
# Usage:  benches/compare-bochs.sh
#
# Environment knobs (all optional):
#   WORKLOADS="loop16 loop32 pm32"  which workloads to run
#   REPEAT=1                   runs per measurement; the fastest run counts
#   ITERS=n                    assemble the big images with -DITERS=n instead of
#                              using the committed .bin files (quick checks)
#   SMALL_ITERS=1000           ITERS of the start-up calibration images
#   BENCH_TIMEOUT=600          seconds before a big run is killed
#   SMALL_TIMEOUT=60           seconds before a calibration run is killed
#   GLASSBOX=target/release/glassbox   the binary to measure
#   GLASSBOX_ARGS=""           extra arguments, e.g. "--accel interp"
#   GLASSBOX_DEBUGCON=none     value for --debugcon (if Glassbox prints the
#                              checksum line, it is compared with Bochs')
#   NO_BUILD=1                 skip `cargo build --release`
#   SKIP_GLASSBOX=1 / SKIP_BOCHS=1   measure only one side
#
# What it does:
#   1. installs nasm, bochs and bochsbios with apt-get if they are missing;
#   2. builds Glassbox with `cargo build --release` (if that fails, or the
#      binary does not run the workload, the Glassbox column shows n/a and the
#      Bochs side is still measured);
#   3. for each workload runs Bochs and Glassbox on the big image and on a
#      small calibration image, alternating, and prints a table of guest
#      instructions, MIPS of each emulator and their ratio.
#
# How MIPS is computed (the same way for both emulators):
#   Each workload executes an exactly known number of guest instructions,
#       N(ITERS) = A * ITERS + B,
#   stated in the .asm header and read from it here. The big image runs
#   ~1.2e9 instructions; the calibration image is the same program assembled
#   with ITERS=SMALL_ITERS (~3e5 instructions). Both runs pay the same fixed
#   costs -- process start, loading plugins and ROMs, Bochs' VNC listener and
#   device set-up, tear-down -- so the difference of the two wall-clock times
#   is the time spent executing the extra instructions:
#       MIPS = (N_big - N_small) / (t_big - t_small) / 1e6
#   This needs no help from the emulator. The instruction count is not taken
#   on trust either: Bochs' exit dump shows its tick counter, which with
#   `clock: sync=none` advances once per retired instruction, and we check
#   that it equals N - 1 (the final OUT to port 0x8900 is the instruction that
#   stops Bochs and has not retired yet). Glassbox's `--stats` instruction
#   count must equal N (stopped by the "Shutdown" port) or N + 3 (stopped by
#   the exit device on port 0xF4). Glassbox's own `guest MIPS:` figure is shown
#   too, for reference.
#
# The Bochs side, as Debian ships it (package bochs 2.7+dfsg):
#   * there is no 'nogui' display library; 'rfb' with options="timeout=0"
#     does not wait for a VNC client, so it runs headless;
#   * bochs-bin is built with the internal debugger, which stops before the
#     first instruction: we pass a debugger script (-rc) that says `c`, and
#     give it /dev/null as stdin so it can never wait for input;
#   * the VGA device insists on a VGA BIOS image; the workloads never call it,
#     so a 32 KiB zero-filled file is used (no vgabios package needed);
#   * "Shutdown" written to port 0x8900 makes Bochs' 'unmapped' device raise a
#     panic that is always fatal: Bochs exits at once (status 1) with
#     "Shutdown port: shutdown requested". Every run also has a timeout.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
wdir=$here/workloads

WORKLOADS=${WORKLOADS:-"loop16 loop32 pm32"}
REPEAT=${REPEAT:-1}
SMALL_ITERS=${SMALL_ITERS:-1000}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
SMALL_TIMEOUT=${SMALL_TIMEOUT:-60}
GLASSBOX=${GLASSBOX:-$root/target/release/glassbox}
GLASSBOX_ARGS=${GLASSBOX_ARGS:-}
GLASSBOX_DEBUGCON=${GLASSBOX_DEBUGCON:-none}
NO_BUILD=${NO_BUILD:-}
SKIP_GLASSBOX=${SKIP_GLASSBOX:-}
SKIP_BOCHS=${SKIP_BOCHS:-}

say() { printf '%s\n' "$*" >&2; }
die() { say "compare-bochs: $*"; exit 1; }

# ---- 1. tools -------------------------------------------------------------
missing=()
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
if [ -z "$SKIP_BOCHS" ]; then
    command -v bochs >/dev/null 2>&1 || missing+=(bochs)
    dpkg-query -W -f='${Status}' bochsbios 2>/dev/null | grep -q 'install ok installed' \
        || missing+=(bochsbios)
fi
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q "${missing[@]}" >/dev/null \
        || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; } \
        || die "apt-get install ${missing[*]} failed"
fi
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/compare-bochs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- 2. Glassbox ----------------------------------------------------------
if [ -z "$SKIP_GLASSBOX" ] && [ -z "$NO_BUILD" ]; then
    say "building Glassbox: cargo build --release"
    if ! (cd "$root" && cargo build --release >&2); then
        say "WARNING: cargo build --release failed; measuring Bochs only"
        SKIP_GLASSBOX=1
    fi
fi
if [ -z "$SKIP_GLASSBOX" ] && [ ! -x "$GLASSBOX" ]; then
    say "WARNING: $GLASSBOX not found; measuring Bochs only"
    SKIP_GLASSBOX=1
fi

# ---- helpers ----------------------------------------------------------------

# run_timed LIMIT OUT ERR CMD...: runs CMD, killed after LIMIT seconds, with
# stdin from /dev/null; sets RUN_RC and RUN_SECS (wall clock, microseconds).
# (CPU time was tried as well: under load from other processes it grows just
# like wall time on this VM -- the vCPUs share physical cores -- so it buys no
# robustness; wall time is what the requirement is about.)
run_timed() {
    local limit=$1 out=$2 err=$3 t0 t1
    shift 3
    t0=${EPOCHREALTIME/,/.}
    set +e
    timeout --kill-after=5 "$limit" "$@" </dev/null >"$out" 2>"$err"
    RUN_RC=$?
    set -e
    t1=${EPOCHREALTIME/,/.}
    RUN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

# min A B: the smaller of two decimal numbers (A may be empty).
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

# mips N_BIG N_SMALL T_BIG T_SMALL
mips() {
    awk -v nb="$1" -v ns="$2" -v tb="$3" -v ts="$4" \
        'BEGIN { d = tb - ts; if (d <= 0) print "n/a"; else printf "%.1f", (nb - ns) / d / 1e6 }'
}

# busy_check: warn when other processes keep the CPUs busy; on this 2-core
# machine a concurrent build halves an emulator's speed. Samples /proc/stat
# for one second (the jiffies of all non-idle states over all CPUs).
busy_check() {
    local hz j1 j2 busy
    hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
    j1=$(awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat 2>/dev/null) || return 0
    sleep 1
    j2=$(awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat 2>/dev/null) || return 0
    busy=$(( (j2 - j1) * 100 / hz ))
    if [ "$busy" -gt 20 ]; then
        say "WARNING: other processes use ${busy}% of a CPU right now; figures will be low and noisy"
    fi
}

# ratio G B: G / B to two places, or n/a.
ratio() {
    if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; return; fi
    awk -v g="$1" -v b="$2" 'BEGIN { printf "%.2f", g / b }'
}

# CPU models per workload: Glassbox's --cpu and Bochs' `cpu: model=`. pm32
# uses CMOVcc, so it runs on a Pentium II on both; Bochs has no 386 model, and
# for loop16 and loop32 its Pentium model only changes CPUID.
gb_cpu() { case $1 in pm32) echo pentium2 ;; *) echo 386 ;; esac; }
bochs_cpu() { case $1 in pm32) echo p2_klamath ;; *) echo pentium ;; esac; }

# Minimal Bochs configuration (arguments: ROM, CPU model): 16 MiB, one CPU, a
# high `ips` so device timers (which fire into a guest with interrupts off
# anyway) interrupt the CPU loop rarely, virtual time not synchronised to the
# host, no disks, no sound, headless display, logging off, and the E9 port
# hack on so the checksum line reaches stdout.
write_bochsrc() {
    cat <<EOF
romimage: file=$1
vgaromimage: file=$tmp/vgarom.bin
megs: 16
cpu: model=$2, count=1, ips=200000000, reset_on_triple_fault=0
clock: sync=none, time0=946684800
display_library: rfb, options="timeout=0"
vga: extension=none, update_freq=1
sound: driver=dummy
speaker: enabled=0
log: /dev/null
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
port_e9_hack: enabled=1
EOF
}
head -c 32768 /dev/zero >"$tmp/vgarom.bin"
printf 'c\nq\n' >"$tmp/bochs-cmds"

# bochs_run ROM TAG N LIMIT MODEL: one Bochs run; sets B_SECS and B_SUM,
# checks the exit reason and that Bochs retired exactly N - 1 instructions
# before the last OUT.
bochs_run() {
    local rom=$1 tag=$2 n=$3 limit=$4 model=$5 ticks
    write_bochsrc "$rom" "$model" >"$tmp/$tag.bochsrc"
    run_timed "$limit" "$tmp/$tag.bochs.out" "$tmp/$tag.bochs.err" \
        bochs -f "$tmp/$tag.bochsrc" -rc "$tmp/bochs-cmds"
    if ! grep -q 'Shutdown port: shutdown requested' "$tmp/$tag.bochs.err"; then
        [ "$RUN_RC" -ge 124 ] && say "Bochs timed out after ${limit}s on $rom"
        say "Bochs did not reach the shutdown port on $rom (status $RUN_RC):"
        tail -n 15 "$tmp/$tag.bochs.err" >&2
        die "Bochs run failed"
    fi
    ticks=$(sed -n 's/^(0)\.\[\([0-9]*\)\].*/\1/p' "$tmp/$tag.bochs.out" | tail -n 1)
    if [ -z "$ticks" ]; then
        say "WARNING: no tick count in Bochs' exit dump for $rom"
    elif [ $((ticks + 1)) -ne "$n" ]; then
        die "Bochs executed $((ticks + 1)) instructions on $rom, the formula says $n"
    fi
    B_SUM=$(grep -a -o '[a-z]*[0-9]* checksum=[0-9a-f]*' "$tmp/$tag.bochs.out" | tail -n 1 || true)
    B_SECS=$RUN_SECS
}

# gb_run ROM TAG N LIMIT CPU: one Glassbox run; sets G_SECS, G_SELF (its own
# guest MIPS) and G_SUM, or G_FAIL=1 if the run did not produce usable --stats.
gb_run() {
    local rom=$1 tag=$2 n=$3 limit=$4 cpu=$5 insns
    # shellcheck disable=SC2086  # GLASSBOX_ARGS is meant to be split
    run_timed "$limit" "$tmp/$tag.gb.out" "$tmp/$tag.gb.err" \
        "$GLASSBOX" run --bios "$rom" --cpu "$cpu" --stats --debugcon "$GLASSBOX_DEBUGCON" $GLASSBOX_ARGS
    insns=$(sed -n 's/^.*instructions:[[:space:]]*\([0-9][0-9,_]*\).*$/\1/p' "$tmp/$tag.gb.err" \
        | tail -n 1 | tr -d ',_')
    if [ -z "$insns" ]; then
        [ "$RUN_RC" -ge 124 ] && say "Glassbox timed out after ${limit}s on $rom"
        say "WARNING: no 'instructions:' line from Glassbox on $rom (status $RUN_RC):"
        tail -n 10 "$tmp/$tag.gb.err" >&2
        G_FAIL=1
        return
    fi
    if [ "$insns" -ne "$n" ] && [ "$insns" -ne $((n + 3)) ]; then
        say "WARNING: Glassbox reports $insns instructions on $rom; expected $n or $((n + 3))"
        G_BAD_COUNT=1
    fi
    G_SELF=$(sed -n 's/^.*guest MIPS:[[:space:]]*\([0-9.]*\).*$/\1/p' "$tmp/$tag.gb.err" | tail -n 1)
    G_SUM=$(grep -a -h -o '[a-z]*[0-9]* checksum=[0-9a-f]*' "$tmp/$tag.gb.out" "$tmp/$tag.gb.err" \
        | tail -n 1 || true)
    G_SECS=$RUN_SECS
}

# ---- 3. measure -------------------------------------------------------------
say "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs"
[ -n "$SKIP_BOCHS" ] || say "bochs: $(dpkg-query -W -f='${Version}' bochs 2>/dev/null || echo '?')"
[ -n "$SKIP_GLASSBOX" ] || say "glassbox: $GLASSBOX run --bios ROM --cpu MODEL --stats --debugcon $GLASSBOX_DEBUGCON $GLASSBOX_ARGS"

rows=()
for w in $WORKLOADS; do
    asm=$wdir/$w.asm
    [ -f "$asm" ] || die "no workload $asm"
    # "N_shutdown = A * ITERS + B" and "%define ITERS n" from the .asm header.
    a="" b=""
    read -r a b < <(sed -n 's/^;[[:space:]]*N_shutdown = \([0-9]*\) \* ITERS + \([0-9]*\)[[:space:]]*$/\1 \2/p' "$asm") || true
    [ -n "${a:-}" ] && [ -n "${b:-}" ] || die "$asm: no 'N_shutdown = A * ITERS + B' line"
    def_iters=$(sed -n 's/^%define ITERS \([0-9]*\).*/\1/p' "$asm" | head -n 1)

    small=$tmp/$w.small.bin
    nasm -f bin -DITERS="$SMALL_ITERS" -o "$small" "$asm"
    if [ -n "${ITERS:-}" ]; then
        iters=$ITERS
        big=$tmp/$w.big.bin
        nasm -f bin -DITERS="$iters" -o "$big" "$asm"
    else
        iters=$def_iters
        big=$wdir/$w.bin
        nasm -f bin -o "$tmp/$w.check.bin" "$asm"
        if ! cmp -s "$tmp/$w.check.bin" "$big"; then
            say "WARNING: $big is not the assembly of $w.asm; using a fresh build"
            big=$tmp/$w.check.bin
        fi
    fi
    n_big=$((a * iters + b))
    n_small=$((a * SMALL_ITERS + b))
    say "$w: ITERS=$iters -> $n_big instructions (calibration: ITERS=$SMALL_ITERS -> $n_small)"
    gcpu=$(gb_cpu "$w") bmodel=$(bochs_cpu "$w")

    busy_check
    # Wall time of the fastest small and big run of each emulator.
    bs="" bb="" gs="" gb=""
    G_SELF="" G_SUM="" B_SUM="" G_FAIL="" G_BAD_COUNT=""
    for ((r = 1; r <= REPEAT; r++)); do
        if [ -z "$SKIP_BOCHS" ]; then
            bochs_run "$small" "$w.s" "$n_small" "$SMALL_TIMEOUT" "$bmodel"
            bs=$(min "$bs" "$B_SECS") t_small=$B_SECS
            bochs_run "$big" "$w.b" "$n_big" "$BENCH_TIMEOUT" "$bmodel"
            bb=$(min "$bb" "$B_SECS")
            say "  bochs    run $r: small ${t_small}s, big ${B_SECS}s  $B_SUM"
        fi
        if [ -z "$SKIP_GLASSBOX" ] && [ -z "$G_FAIL" ]; then
            gb_run "$small" "$w.s" "$n_small" "$SMALL_TIMEOUT" "$gcpu"
            if [ -z "$G_FAIL" ]; then
                gs=$(min "$gs" "$G_SECS") t_small=$G_SECS
                gb_run "$big" "$w.b" "$n_big" "$BENCH_TIMEOUT" "$gcpu"
            fi
            if [ -z "$G_FAIL" ]; then
                gb=$(min "$gb" "$G_SECS")
                say "  glassbox run $r: small ${t_small}s, big ${G_SECS}s" \
                    "(self-reported ${G_SELF:-?} MIPS)  $G_SUM"
            fi
        fi
    done

    b_mips="n/a" g_mips="n/a" note=""
    [ -n "$SKIP_BOCHS" ] || b_mips=$(mips "$n_big" "$n_small" "$bb" "$bs")
    if [ -z "$SKIP_GLASSBOX" ] && [ -z "$G_FAIL" ]; then
        g_mips=$(mips "$n_big" "$n_small" "$gb" "$gs")
        [ -n "$G_BAD_COUNT" ] && note="instruction count differs!"
        if [ -n "$G_SUM" ] && [ -n "$B_SUM" ] && [ "$G_SUM" != "$B_SUM" ]; then
            note="$note checksum differs: $G_SUM vs $B_SUM"
        fi
    fi
    rows+=("$(printf '%-8s %14s %14s %11s %7s  %s' "$w" "$n_big" "$g_mips" "$b_mips" \
        "$(ratio "$g_mips" "$b_mips")" "$note")")
done

printf '\n%-8s %14s %14s %11s %7s\n' workload instructions "Glassbox MIPS" "Bochs MIPS" ratio
for row in "${rows[@]}"; do printf '%s\n' "$row"; done
printf '\nMIPS = (N_big - N_small) / (t_big - t_small); fastest of %s run(s); SMALL_ITERS=%s\n' \
    "$REPEAT" "$SMALL_ITERS"
