#!/usr/bin/env bash
# run-workloads.sh -- run the guest workloads of benches/workloads/ on Glassbox,
# check their results and print instructions and guest MIPS.
#
# Usage:  benches/run-workloads.sh
#
# For each workload it runs
#     glassbox run --bios benches/workloads/NAME.bin --cpu MODEL --stats --debugcon stdio
# (the README's `--debugcon none` command, with port 0xE9 sent to stdout so the
# checksum line can be read back; it makes no measurable difference to the
# speed). MODEL is 386 for loop16 and loop32 and pentium2 for pm32, which needs
# CMOVcc. It checks, failing with exit status 1 otherwise:
#   * the exit status: 0 when Glassbox stopped at the Bochs shutdown port
#     (after the `Shutdown` string on port 0x8900), 1 when it stopped at the
#     exit device (`out 0xF4, al` with AL = 0, three instructions later);
#   * the `instructions:` line of --stats: N, or N + 3 with exit status 1;
#   * the checksum line on port 0xE9.
# The expected N and checksums are the documented ones (benches/README.md and
# the .asm headers) for the committed images.
#
# Environment knobs (all optional):
#   WORKLOADS="loop16 loop32 pm32"  which workloads to run
#   NO_BUILD=1                 skip `cargo build --release`
#   GLASSBOX=path              binary to run (default: target/release/glassbox,
#                              or $CARGO_TARGET_DIR/release/glassbox)
#   GLASSBOX_ARGS=""           extra flags, e.g. "--decode-cache off"
#   TIMEOUT=600                seconds before a run is killed (and fails)
#
# `guest MIPS` is Glassbox's own figure (instructions / time spent in the run
# loop); `wall s` is the whole process, start-up included, timed from outside.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

WORKLOADS=${WORKLOADS:-"loop16 loop32 pm32"}
NO_BUILD=${NO_BUILD:-}
GLASSBOX_ARGS=${GLASSBOX_ARGS:-}
TIMEOUT=${TIMEOUT:-600}
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac
GLASSBOX=${GLASSBOX:-$target_dir/release/glassbox}

say() { printf '%s\n' "$*" >&2; }
die() { say "run-workloads: FAILED: $*"; exit 1; }

# Documented results of the committed images (benches/README.md):
# instructions up to the final OUT to port 0x8900, and the checksum line.
expected_n() {
    case $1 in
        loop16) echo 1220001214 ;;
        loop32) echo 1196002713 ;;
        pm32) echo 1203985856 ;;
        *) die "unknown workload '$1' (known: loop16 loop32 pm32)" ;;
    esac
}
expected_sum() {
    case $1 in
        loop16) echo "loop16 checksum=1b2a300b" ;;
        loop32) echo "loop32 checksum=1cb6e257" ;;
        pm32) echo "pm32 checksum=0bf30dc5" ;;
    esac
}
# The CPU model each workload runs on (--cpu): pm32 uses CMOVcc.
cpu_model() {
    case $1 in
        pm32) echo pentium2 ;;
        *) echo 386 ;;
    esac
}

[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"

if [ -z "$NO_BUILD" ]; then
    say "building Glassbox: cargo build --release"
    (cd "$root" && cargo build --release >&2) || die "cargo build --release failed"
fi
[ -x "$GLASSBOX" ] || die "$GLASSBOX not found (build it, or set GLASSBOX=path)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-workloads.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# show W: the captured output of W's run, for a failure message.
show() {
    say "--- stdout of $1:"; head -c 2000 "$tmp/$1.out" >&2
    say "--- stderr of $1:"; head -c 2000 "$tmp/$1.err" >&2
}

rows=()
for w in $WORKLOADS; do
    n=$(expected_n "$w")
    sum=$(expected_sum "$w")
    cpu=$(cpu_model "$w")
    bin=$here/workloads/$w.bin
    [ -f "$bin" ] || die "$bin is missing"
    # shellcheck disable=SC2086  # GLASSBOX_ARGS is a list of flags
    cmd=("$GLASSBOX" run --bios "$bin" --cpu "$cpu" --stats --debugcon stdio $GLASSBOX_ARGS)
    say "running $w: ${cmd[*]}"
    t0=${EPOCHREALTIME/,/.}
    set +e
    timeout --kill-after=5 "$TIMEOUT" "${cmd[@]}" </dev/null >"$tmp/$w.out" 2>"$tmp/$w.err"
    rc=$?
    set -e
    t1=${EPOCHREALTIME/,/.}
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        show "$w"; die "$w: killed after ${TIMEOUT}s"
    fi
    insns=$(sed -n 's/^instructions: \([0-9]*\)$/\1/p' "$tmp/$w.err")
    mips=$(sed -n 's/^guest MIPS: \([0-9.]*\)$/\1/p' "$tmp/$w.err")
    [ -n "$insns" ] && [ -n "$mips" ] || { show "$w"; die "$w: no --stats output (exit status $rc)"; }
    case $rc in
        0) want=$n ;;
        1) want=$((n + 3)) ;;
        *) show "$w"; die "$w: exit status $rc (expected 0 at the shutdown port or 1 at the exit device)" ;;
    esac
    [ "$insns" = "$want" ] || { show "$w"; die "$w: executed $insns instructions, expected $want (exit status $rc)"; }
    got_sum=$(grep -a -o '[a-z]*[0-9]* checksum=[0-9a-f]*' "$tmp/$w.out" | tail -n 1 || true)
    [ "$got_sum" = "$sum" ] || { show "$w"; die "$w: checksum line '${got_sum:-none}', expected '$sum'"; }
    rows+=("$(printf '%-9s %14s %8s %11s  ok' "$w" "$insns" "$wall" "$mips")")
done

load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
printf '%-9s %14s %8s %11s  %s\n' workload instructions "wall s" "guest MIPS" checks
printf '%s\n' "${rows[@]}"
printf '(load average before the end: %s)\n' "$load"
