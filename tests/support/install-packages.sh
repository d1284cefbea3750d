#!/bin/sh
# install-packages.sh - Debian packages the build and the tests need, installed when missing:
#   libasound2-dev   ALSA headers, for `--features audio` (PC speaker through cpal)
#   gdb              tests/gdb.rs drives the system's gdb against the GDB stub
# Uses apt-get, through `sudo -n` when not root (never waits for a password).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if ! pkg-config --exists alsa 2>/dev/null && ! dpkg -s libasound2-dev >/dev/null 2>&1; then
    echo "install-packages.sh: installing libasound2-dev" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q --no-install-recommends libasound2-dev >/dev/null 2>&1 ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q --no-install-recommends libasound2-dev >/dev/null; }
fi
sh "$here/install-gdb.sh"
gdb --version | head -1
