#!/bin/sh
# install-gdb.sh - install gdb (Debian's package) when it is missing, for tests/gdb.rs.
#
#   tests/support/install-gdb.sh
#
# Uses apt-get, through `sudo -n` when not root (never waits for a password).
# Exits 0 when gdb is on PATH afterwards, 1 otherwise.
set -eu

command -v gdb >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-gdb.sh: gdb not found and there is no apt-get; install gdb yourself" >&2
    exit 1
fi
echo "install-gdb.sh: gdb not found, installing it with apt-get" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends gdb >/dev/null 2>&1 ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q --no-install-recommends gdb >/dev/null; } ||
    true
command -v gdb >/dev/null 2>&1 || { echo "install-gdb.sh: could not install gdb" >&2; exit 1; }
