#!/usr/bin/env bash
# EMR bootstrap action, master only (runs after install-toolkit.sh): put the config and
# its secrets in /etc/warehouse, make sure cron runs, check the config and install the
# nightly crontab of the bootstrap user (hadoop on EMR) with `warehouse cron install`.
#
#   setup-cron.sh [--config-uri s3://bucket/conf/warehouse.toml]
#                 [--secrets-uri s3://bucket/secrets/]   # password and key files, mode 0600
#                 [--master]                             # outside EMR: act as the master
#
# Without --config-uri the config must already be at /etc/warehouse/warehouse.toml.
# Idempotent: files are re-copied, the crontab block is replaced, never duplicated.
# WAREHOUSE_BOOTSTRAP_ROOT (tests only) prefixes every system path.
set -euo pipefail

ROOT="${WAREHOUSE_BOOTSTRAP_ROOT:-}"
CONFIG_URI=""
SECRETS_URI=""
FORCE_MASTER=0
ETC="$ROOT/etc/warehouse"
CONFIG="$ETC/warehouse.toml"
WAREHOUSE="$ROOT/usr/local/bin/warehouse"
INFO="$ROOT/mnt/var/lib/info"

log() { echo "setup-cron: $*" >&2; }
die() { log "error: $*"; exit 2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

while [ $# -gt 0 ]; do
    case "$1" in
        --config-uri) CONFIG_URI="${2:?--config-uri needs a URI}"; shift 2 ;;
        --secrets-uri) SECRETS_URI="${2:?--secrets-uri needs a URI}"; shift 2 ;;
        --master) FORCE_MASTER=1; shift ;;
        *) die "unknown argument $1" ;;
    esac
done

is_master() {
    [ "$FORCE_MASTER" = 1 ] && return 0
    [ -f "$INFO/instance.json" ] || die "$INFO/instance.json missing: not an EMR node (pass --master to force)"
    grep -Eq '"isMaster"[[:space:]]*:[[:space:]]*true' "$INFO/instance.json"
}

if ! is_master; then
    log "not the master node; nothing to do"
    exit 0
fi
[ -x "$WAREHOUSE" ] || die "$WAREHOUSE missing: run install-toolkit.sh first"

fetch() {  # fetch URI DEST
    case "$1" in
        s3://*) aws s3 cp --only-show-errors "$1" "$2" ;;
        *) cp "$1" "$2" ;;
    esac
}

# /etc/warehouse belongs to the bootstrap user, readable by nobody else (secrets live here)
as_root mkdir -p "$ETC"
as_root chown "$(id -u)" "$ETC"
chmod 0700 "$ETC"
if [ -n "$CONFIG_URI" ]; then
    fetch "$CONFIG_URI" "$CONFIG.part"
    mv -f "$CONFIG.part" "$CONFIG"
fi
[ -f "$CONFIG" ] || die "$CONFIG missing: pass --config-uri"
if [ -n "$SECRETS_URI" ]; then
    mkdir -p "$ETC/secrets"
    chmod 0700 "$ETC/secrets"
    case "$SECRETS_URI" in
        s3://*) aws s3 cp --only-show-errors --recursive "$SECRETS_URI" "$ETC/secrets/" ;;
        *) cp -R "$SECRETS_URI/." "$ETC/secrets/" ;;
    esac
    find "$ETC/secrets" -type f -exec chmod 0600 {} +
fi

# cron: Amazon Linux 2023 does not ship it
if ! command -v crontab >/dev/null 2>&1; then
    log "installing cronie"
    as_root dnf install -y -q cronie
    as_root systemctl enable --now crond
fi

"$WAREHOUSE" --config "$CONFIG" config check >/dev/null || die "$CONFIG does not pass \`warehouse config check\`"
"$WAREHOUSE" --config "$CONFIG" cron install
log "ok: nightly run installed for $(id -un); see crontab -l"
