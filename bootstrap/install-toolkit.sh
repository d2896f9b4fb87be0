#!/usr/bin/env bash
# EMR bootstrap action, every node: install the warehouse toolkit into a Python 3.11 venv
# (PREFIX, default /opt/warehouse) and link `warehouse` into /usr/local/bin. mrjob tasks
# use PREFIX/bin/python (python_bin in conf/mrjob.conf), so the jobs find mrjob and orjson.
#
#   install-toolkit.sh --wheel s3://bucket/artifacts/warehouse-0.1.0-py3-none-any.whl
#   install-toolkit.sh --version 0.1.0          # a pinned release from the package index
#   options: --prefix DIR  --python python3.11
#
# Idempotent: Python and the venv are created only when missing, and the package is
# reinstalled only when the wheel or version differs from the last install.
# WAREHOUSE_BOOTSTRAP_ROOT (tests only) prefixes every system path.
# WAREHOUSE_BOOTSTRAP_SITE_PACKAGES (tests only, never set on EMR): a folder that already
# holds the wheel's dependencies; the venv sees it through a .pth file and pip installs
# with --no-index, so a test installs the real wheel offline along the real script path.
set -euo pipefail

ROOT="${WAREHOUSE_BOOTSTRAP_ROOT:-}"
PREFIX=/opt/warehouse
PYTHON=python3.11
WHEEL=""
VERSION=""

log() { echo "install-toolkit: $*" >&2; }
die() { log "error: $*"; exit 2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) WHEEL="${2:?--wheel needs a URI}"; shift 2 ;;
        --version) VERSION="${2:?--version needs a version}"; shift 2 ;;
        --prefix) PREFIX="${2:?--prefix needs a folder}"; shift 2 ;;
        --python) PYTHON="${2:?--python needs an executable name}"; shift 2 ;;
        *) die "unknown argument $1 (use --wheel URI or --version X)" ;;
    esac
done
if [ -z "$WHEEL" ] && [ -z "$VERSION" ]; then
    die "give --wheel s3://.../warehouse-X-py3-none-any.whl or --version X"
fi
if [ -n "$WHEEL" ] && [ -n "$VERSION" ]; then
    die "give --wheel or --version, not both"
fi

# 1. Python 3.11 (Amazon Linux 2023 on EMR 7 ships 3.9 as python3; mrjob breaks on 3.12+)
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    if command -v dnf >/dev/null 2>&1; then
        log "installing $PYTHON with dnf"
        as_root dnf install -y -q "$PYTHON" "$PYTHON-pip"
    elif command -v yum >/dev/null 2>&1; then
        log "installing $PYTHON with yum"
        as_root yum install -y -q "$PYTHON" "$PYTHON-pip"
    else
        die "$PYTHON is missing and neither dnf nor yum is available"
    fi
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON still missing after the install"
fi

# 2. the venv
VENV="$ROOT$PREFIX"
if [ ! -x "$VENV/bin/python" ]; then
    log "creating the venv $PREFIX"
    as_root "$PYTHON" -m venv "$VENV"
fi

# 3. the package, unless this exact wheel or version is already installed
SPEC="${WHEEL:-warehouse==$VERSION}"
MARKER="$VENV/.warehouse-installed"
PIP=(-m pip install -q --no-input --disable-pip-version-check)
if [ -n "${WAREHOUSE_BOOTSTRAP_SITE_PACKAGES:-}" ]; then
    for site in "$VENV"/lib/python3*/site-packages; do
        echo "$WAREHOUSE_BOOTSTRAP_SITE_PACKAGES" > "$site/_warehouse_test_deps.pth"
    done
    PIP+=(--no-index)
fi
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$SPEC" ]; then
    log "already installed: $SPEC"
else
    if [ -n "$WHEEL" ]; then
        TMP="$(mktemp -d)"
        trap 'rm -rf "$TMP"' EXIT
        NAME="$(basename "$WHEEL")"
        case "$WHEEL" in
            s3://*) aws s3 cp --only-show-errors "$WHEEL" "$TMP/$NAME" ;;
            http://*|https://*) curl -fsSL --retry 3 -o "$TMP/$NAME" "$WHEEL" ;;
            *) cp "$WHEEL" "$TMP/$NAME" ;;
        esac
        as_root "$VENV/bin/python" "${PIP[@]}" "$TMP/$NAME"
        if [ -f "$MARKER" ]; then  # an upgrade: a new build may keep the version number
            as_root "$VENV/bin/python" "${PIP[@]}" --no-deps --force-reinstall "$TMP/$NAME"
        fi
    else
        as_root "$VENV/bin/python" "${PIP[@]}" "$SPEC"
    fi
    echo "$SPEC" | as_root tee "$MARKER" >/dev/null
    log "installed $SPEC into $PREFIX"
fi

# 4. `warehouse` on every user's PATH
as_root mkdir -p "$ROOT/usr/local/bin"
as_root ln -sfn "$VENV/bin/warehouse" "$ROOT/usr/local/bin/warehouse"
log "ok: $ROOT/usr/local/bin/warehouse -> $VENV/bin/warehouse"
