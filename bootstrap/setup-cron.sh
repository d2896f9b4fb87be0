#!/usr/bin/env bash
# EMR bootstrap action, master only (runs after install-toolkit.sh): put the config, the
# files it names and its secrets in /etc/warehouse, check the config, and (unless
# --no-cron) make sure cron runs and install the nightly crontab of the bootstrap user
# (hadoop on EMR) with `warehouse cron install`. `warehouse emr create` passes these.
#
#   setup-cron.sh [--config-uri s3://bucket/artifacts/config/DIGEST/warehouse.toml]
#                                  # with files/ beside it when the config names them
#                 [--secrets-uri s3://bucket/artifacts/secrets/DIGEST/.index]
#                                  # or the folder (ending in /): its files, mode 0600
#                 [--no-cron]                            # transient cluster: steps, no crontab
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
CRON=1
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
        --no-cron) CRON=0; shift ;;
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
case "$CONFIG_URI" in
    "") ;;
    */)  # the bundle of `emr deploy`: warehouse.toml and files/ (relative paths resolve here)
        rm -rf "$ETC/files" "$ETC/.bundle"
        case "$CONFIG_URI" in
            s3://*) aws s3 cp --only-show-errors --recursive "$CONFIG_URI" "$ETC/.bundle/" ;;
            *) mkdir -p "$ETC/.bundle"; cp -R "$CONFIG_URI." "$ETC/.bundle/" ;;
        esac
        [ -f "$ETC/.bundle/warehouse.toml" ] || die "${CONFIG_URI}warehouse.toml missing: run \`warehouse emr deploy\`"
        if [ -d "$ETC/.bundle/files" ]; then mv "$ETC/.bundle/files" "$ETC/files"; fi
        mv -f "$ETC/.bundle/warehouse.toml" "$CONFIG"
        rm -rf "$ETC/.bundle"
        ;;
    *)
        fetch "$CONFIG_URI" "$CONFIG.part"
        mv -f "$CONFIG.part" "$CONFIG"
        # a config of `emr deploy` names files beside it (files/...): fetch them too
        if grep -q '= "files/' "$CONFIG"; then
            rm -rf "$ETC/files"
            case "$CONFIG_URI" in
                s3://*) aws s3 cp --only-show-errors --recursive "${CONFIG_URI%/*}/files/" "$ETC/files/" ;;
                *) cp -R "${CONFIG_URI%/*}/files" "$ETC/files" ;;
            esac
        fi
        ;;
esac
[ -f "$CONFIG" ] || die "$CONFIG missing: pass --config-uri"
if [ -n "$SECRETS_URI" ]; then
    mkdir -p "$ETC/secrets"
    chmod 0700 "$ETC/secrets"
    # a folder (ends with /), or an object in it (`emr deploy` names its .index): the folder
    case "$SECRETS_URI" in */) ;; *) SECRETS_URI="${SECRETS_URI%/*}/" ;; esac
    case "$SECRETS_URI" in
        s3://*) aws s3 cp --only-show-errors --recursive "$SECRETS_URI" "$ETC/secrets/" ;;
        *) cp -R "$SECRETS_URI/." "$ETC/secrets/" ;;
    esac
    find "$ETC/secrets" -type f -exec chmod 0600 {} +
fi

# every check that needs no service: keys, files, secrets ([emr] environment sets the
# password_env variables), the log format, the runners
"$WAREHOUSE" --config "$CONFIG" config check >/dev/null || die "$CONFIG does not pass \`warehouse config check\`"
log "config check ok; not checked at bootstrap: reaching the SSH bastions, MySQL, S3 and HiveServer2 (EMR starts Hive after the bootstrap actions): run \`warehouse config check --probe\` on the master"
if [ "$CRON" = 0 ]; then
    log "ok: config in $CONFIG (--no-cron: no crontab)"
    exit 0
fi

# cron: Amazon Linux 2023 does not ship it
if ! command -v crontab >/dev/null 2>&1; then
    log "installing cronie"
    as_root dnf install -y -q cronie
    as_root systemctl enable --now crond
fi

"$WAREHOUSE" --config "$CONFIG" cron install
log "ok: nightly run installed for $(id -un); see crontab -l"
