# shellcheck shell=bash
# Sourced by .ci/test and .ci/demo: helpers to install Debian packages (apt_need) and to
# make a Python 3.11 venv in .venv with the package and some extras (setup_venv EXTRAS).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

_sudo() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_need PKG... : install the Debian packages that are not installed yet.
apt_need() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "== apt-get install ${missing[*]}"
        _sudo apt-get update -qq
        _sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# _pip ARGS...: pip install quietly; on failure show pip's output and stop.
_pip() {
    local out
    if ! out=$(.venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1); then
        printf '%s\n' "$out" | grep -v '^WARNING: Location' >&2
        echo "pip install $* failed" >&2
        exit 1
    fi
    printf '%s\n' "$out" | grep -v -e '^WARNING: Location' -e '^$' || true
}

setup_venv() {
    PY="$(command -v python3.11 || command -v python3)"
    if ! "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
        echo "warehouse needs Python 3.11 (mrjob breaks on 3.12+); found $("$PY" --version)" >&2
        exit 2
    fi
    if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
        apt_need python3-venv
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "== creating .venv with $PY"
        "$PY" -m venv .venv
    fi
    local target="."
    if [ -n "${1:-}" ]; then target=".[$1]"; fi
    echo "== pip install -e $target"
    _pip -U pip
    _pip -e "$target"
    .venv/bin/python -c 'import warehouse' # fail here if the install did not work
    export PATH="$PWD/.venv/bin:$PATH"
}
