#!/usr/bin/env bash
# EMR bootstrap action, master only: the MySQL JDBC driver for Sqoop (engine = "sqoop").
# Sqoop itself should come from the EMR application (create the cluster with
# `--applications Name=Sqoop`; releases up to emr-7.4 have it). EMR installs
# applications after the bootstrap actions, so when Sqoop's lib folder is not there yet
# a detached waiter links the driver into it as soon as it appears.
#
#   install-sqoop.sh [--release emr-7.4.0] [--jdbc-uri URI] [--jdbc-sha256 HEX]
#                    [--sqoop-package] [--wait-seconds 1800] [--poll-seconds 10] [--master]
#
# --jdbc-uri: s3://, https:// or a local path of mysql-connector-j (default: Maven
# Central, pinned below); --sqoop-package: `dnf install sqoop` now instead of waiting for
# the application; --master: treat this node as the master (outside EMR).
# Idempotent: the driver is downloaded once (and checked when a sha256 is given).
# WAREHOUSE_BOOTSTRAP_ROOT (tests only) prefixes every system path.
set -euo pipefail

ROOT="${WAREHOUSE_BOOTSTRAP_ROOT:-}"
RELEASE=""
JDBC_VERSION=8.4.0
JDBC_URI="https://repo1.maven.org/maven2/com/mysql/mysql-connector-j/$JDBC_VERSION/mysql-connector-j-$JDBC_VERSION.jar"
JDBC_SHA256=""
SQOOP_PACKAGE=0
WAIT_SECONDS=1800
POLL_SECONDS=10
FORCE_MASTER=0
JDBC_DIR="$ROOT/opt/warehouse/jdbc"
SQOOP_LIB="$ROOT/usr/lib/sqoop/lib"
INFO="$ROOT/mnt/var/lib/info"

log() { echo "install-sqoop: $*" >&2; }
die() { log "error: $*"; exit 2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

while [ $# -gt 0 ]; do
    case "$1" in
        --release) RELEASE="${2:?--release needs a label like emr-7.4.0}"; shift 2 ;;
        --jdbc-uri) JDBC_URI="${2:?--jdbc-uri needs a URI}"; shift 2 ;;
        --jdbc-sha256) JDBC_SHA256="${2:?--jdbc-sha256 needs a hex digest}"; shift 2 ;;
        --sqoop-package) SQOOP_PACKAGE=1; shift ;;
        --wait-seconds) WAIT_SECONDS="${2:?}"; shift 2 ;;
        --poll-seconds) POLL_SECONDS="${2:?}"; shift 2 ;;
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

if [ -z "$RELEASE" ] && [ -f "$INFO/extraInstanceData.json" ]; then
    RELEASE="$(sed -n 's/.*"releaseLabel"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$INFO/extraInstanceData.json" | head -n 1)"
fi
if [[ "$RELEASE" =~ ^emr-([0-9]+)\.([0-9]+) ]]; then
    major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}"
    if [ "$major" -gt 7 ] || { [ "$major" -eq 7 ] && [ "$minor" -ge 5 ]; }; then
        log "$RELEASE has no Sqoop (removed in emr-7.5); use engine = \"python\"; nothing to do"
        exit 0
    fi
else
    log "release label unknown; assuming it still has Sqoop"
fi

# the driver, once, into a folder of our own (owned by the bootstrap user: hadoop on EMR)
as_root mkdir -p "$JDBC_DIR"
as_root chown "$(id -u)" "$JDBC_DIR"
JAR="$JDBC_DIR/$(basename "$JDBC_URI")"
check_sha() { [ -z "$JDBC_SHA256" ] || echo "$JDBC_SHA256  $1" | sha256sum -c --status; }
if [ -f "$JAR" ] && check_sha "$JAR"; then
    log "driver already present: $JAR"
else
    TMP="$JAR.part"
    case "$JDBC_URI" in
        s3://*) aws s3 cp --only-show-errors "$JDBC_URI" "$TMP" ;;
        http://*|https://*) curl -fsSL --retry 3 -o "$TMP" "$JDBC_URI" ;;
        *) cp "$JDBC_URI" "$TMP" ;;
    esac
    if ! check_sha "$TMP"; then
        rm -f "$TMP"
        die "$JDBC_URI does not match --jdbc-sha256 $JDBC_SHA256"
    fi
    mv -f "$TMP" "$JAR"
    log "driver installed: $JAR"
fi

if [ "$SQOOP_PACKAGE" = 1 ] && [ ! -d "$SQOOP_LIB" ]; then
    log "installing the sqoop package with dnf"
    as_root dnf install -y -q sqoop
fi

if [ -d "$SQOOP_LIB" ]; then
    as_root ln -sfn "$JAR" "$SQOOP_LIB/$(basename "$JAR")"
    log "ok: $SQOOP_LIB/$(basename "$JAR")"
    exit 0
fi

# Sqoop arrives with the applications, after the bootstrap actions: wait for it, detached
# (a bootstrap action must return for provisioning to go on).
PIDFILE="$JDBC_DIR/sqoop-wait.pid"
WAITLOG="$JDBC_DIR/sqoop-wait.log"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    log "a waiter is already running (pid $(cat "$PIDFILE"))"
    exit 0
fi
# shellcheck disable=SC2016  # the waiter's script expands its own positional arguments
as_root nohup bash -c '
    jar="$1"; lib="$2"; wait="$3"; poll="$4"; start=$(date +%s)
    while [ $(( $(date +%s) - start )) -lt "$wait" ]; do
        if [ -d "$lib" ]; then ln -sfn "$jar" "$lib/$(basename "$jar")"; echo "linked $jar into $lib"; exit 0; fi
        sleep "$poll"
    done
    echo "gave up after ${wait}s: $lib never appeared (is Sqoop among the applications?)"; exit 1
' waiter "$JAR" "$SQOOP_LIB" "$WAIT_SECONDS" "$POLL_SECONDS" >"$WAITLOG" 2>&1 </dev/null &
echo "$!" >"$PIDFILE"
log "Sqoop not installed yet: waiting up to ${WAIT_SECONDS}s for $SQOOP_LIB (pid $!, log $WAITLOG)"
