#!/usr/bin/env bash
# Install hkarchive for unattended crawling, as root, from a checkout:
#
#   HKARCHIVE_CONTACT=https://your.site/contact contrib/install.sh            # systemd timers
#   HKARCHIVE_CONTACT=... HKARCHIVE_MAILTO=you@your.site contrib/install.sh --cron
#   contrib/install.sh --dry-run                  # print what it would do, change nothing
#   contrib/install.sh dist/hkarchive-0.1.0-py3-none-any.whl    # install that wheel instead
#
# The virtualenv is made with python3, or $PYTHON (3.11 or newer), which the user must be able to
# run: a system-wide Python, not one under root's home.
#
# It creates the system user hkarchive, the virtualenv /opt/hkarchive/.venv (owned by root)
# with hkarchive installed in it (not editable: the checkout may go afterwards), the archive's
# folder /var/lib/hkarchive and the log folder /var/log/hkarchive (owned by the user), then
# installs and enables the systemd units (the default where systemd runs) or the cron and
# logrotate files (--cron, or where systemd does not run). Both schedule in Hong Kong time.
#
# Run it again to upgrade hkarchive or the recipes: every step leaves what is already there
# as it is, except the virtualenv's hkarchive (reinstalled) and the recipe files (rewritten
# from contrib/: keep your own changes in systemd drop-ins). The archive and the log are never
# touched.
set -euo pipefail

readonly USER_NAME=hkarchive
readonly PREFIX=/opt/hkarchive
readonly VENV="$PREFIX/.venv"
readonly DATA_DIR=/var/lib/hkarchive
readonly LOG_DIR=/var/log/hkarchive
readonly UNIT_DIR=/etc/systemd/system
readonly UNITS=(hkarchive-crawl.service hkarchive-crawl.timer hkarchive-check.service
    hkarchive-check.timer)
readonly TIMERS=(hkarchive-crawl.timer hkarchive-check.timer)
readonly CRON_FILE=/etc/cron.d/hkarchive
readonly LOGROTATE_FILE=/etc/logrotate.d/hkarchive

here="$(cd "$(dirname "$0")" && pwd)"
package="$(dirname "$here")"
python="${PYTHON:-python3}"
mode=""
dry_run=""

usage() {
    echo "usage: $0 [--systemd | --cron] [--dry-run] [PACKAGE]" >&2
    echo "  PACKAGE: a wheel, a checkout or a pip requirement (default: this checkout)" >&2
    exit 2
}

for arg in "$@"; do
    case "$arg" in
        --systemd) mode=systemd ;;
        --cron) mode=cron ;;
        --dry-run) dry_run=1 ;;
        -h | --help) usage ;;
        -*) echo "install.sh: unknown option $arg" >&2; usage ;;
        *) package="$arg" ;;
    esac
done

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

# Run a command, or with --dry-run only show it.
run() {
    if [ -n "$dry_run" ]; then
        echo "+ $*"
    else
        "$@"
    fi
}

contact="${HKARCHIVE_CONTACT:-https://example.org/contact}"
mailto="${HKARCHIVE_MAILTO:-you@example.org}"
case "$contact$mailto" in
    *[\|\&\\[:space:]]*)
        die "HKARCHIVE_CONTACT and HKARCHIVE_MAILTO cannot hold | & \\ or spaces" ;;
esac

# Copy a recipe to dest, mode 644, with the contact and mail address given in the environment.
put() {
    local source="$here/$1" dest="$2"
    local script="s|https://example.org/contact|$contact|;s|^MAILTO=you@example.org|MAILTO=$mailto|"
    if [ -n "$dry_run" ]; then
        echo "+ sed '$script' $source > $dest"
    else
        sed "$script" "$source" > "$dest.new"
        chmod 0644 "$dest.new"
        mv "$dest.new" "$dest"
    fi
}

if [ -z "$mode" ]; then
    if [ -d /run/systemd/system ]; then mode=systemd; else mode=cron; fi
fi
[ -n "$dry_run" ] || [ "$(id -u)" -eq 0 ] || die "run as root (or with --dry-run)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$python is older than Python 3.11 (set PYTHON to a newer one)"

# The user, without a login shell; its home is the archive's folder.
if id -u "$USER_NAME" >/dev/null 2>&1; then
    say "user $USER_NAME exists"
else
    run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin "$USER_NAME"
fi

# The code is root's, so a crawl cannot change it; the archive and the log are the user's.
run install -d -m 0755 "$PREFIX"
run install -d -o "$USER_NAME" -g "$USER_NAME" -m 0750 "$DATA_DIR" "$LOG_DIR"

if [ -x "$VENV/bin/python" ]; then
    say "virtualenv $VENV exists"
else
    run "$python" -m venv "$VENV"
fi
# A checkout is built and reinstalled every time; a wheel or requirement of the version already
# installed is left as it is (pip says so).
run "$VENV/bin/pip" install --quiet --upgrade "$package"
# The jobs run as the user: the virtualenv's Python must be one the user can run (not one
# under root's home, such as a pyenv build: set PYTHON to a system-wide Python 3.11+).
if [ -z "$dry_run" ] \
    && ! su -s /bin/sh "$USER_NAME" -c "$VENV/bin/hkarchive --version" >/dev/null; then
    die "the user $USER_NAME cannot run $VENV/bin/hkarchive: remove $VENV and run" \
        "again with PYTHON set to a Python every user can run"
fi

if [ "$mode" = systemd ]; then
    for unit in "${UNITS[@]}"; do
        put "$unit" "$UNIT_DIR/$unit"
    done
    run systemctl daemon-reload
    run systemctl enable --now "${TIMERS[@]}"
    say "done: systemctl list-timers 'hkarchive*'; journalctl -u hkarchive-crawl"
else
    [ -n "$dry_run" ] || [ -d "$(dirname "$CRON_FILE")" ] \
        || die "no $(dirname "$CRON_FILE"): install cron (cronie reads CRON_TZ) first"
    put hkarchive.cron "$CRON_FILE"
    put hkarchive.logrotate "$LOGROTATE_FILE"
    say "done: the crawl logs to $LOG_DIR/crawl.log; errors are mailed to MAILTO"
fi
[ -n "${HKARCHIVE_CONTACT:-}" ] \
    || say "set HKARCHIVE_CONTACT (a page or address the sites can reach you at) and run again"
