# common.sh - shared by the developer checks in this folder (sourced).
#
#   need_tools NAME TOOL...   exit 0 with "NAME: SKIP" unless every TOOL exists
#   start_qemu ARGS...        run qemu-system-i386 ARGS with the debug console
#                             in $tmp/e9.txt and the monitor on fd 3 (write
#                             "sendkey x" >&3); $tmp is a fresh directory,
#                             removed with the machine when the script ends
#   wait_e9 TEXT SECONDS      wait until the debug console shows TEXT

need_tools() {
    name=$1
    shift
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$name: SKIP ($tool not installed)"
            exit 0
        fi
    done
}

tmp=$(mktemp -d)
qemu_pid=
cleanup() {
    [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

start_qemu() {
    mkfifo "$tmp/mon.in" "$tmp/mon.out"
    qemu-system-i386 "$@" -display none -debugcon "file:$tmp/e9.txt" \
        -monitor "pipe:$tmp/mon" &
    qemu_pid=$!
    exec 3>"$tmp/mon.in"
    cat <"$tmp/mon.out" >"$tmp/monitor.log" &
}

wait_e9() {
    t=0
    while [ $t -lt "$2" ] && ! grep -q -F -- "$1" "$tmp/e9.txt" 2>/dev/null; do
        sleep 1
        t=$((t + 1))
    done
}
