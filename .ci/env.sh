# Sourced by .ci/test and .ci/demo: make a Python 3.11 venv in .venv with the package.
# Usage: . .ci/env.sh EXTRAS    (EXTRAS like "test" or "" for the plain package)
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
echo "== pip install -e .[${1:-}]"
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${1:-}]" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import warehouse' # fail here if the install did not work
export PATH="$PWD/.venv/bin:$PATH"
