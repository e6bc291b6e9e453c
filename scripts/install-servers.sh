#!/usr/bin/env bash
# Install every WSGI server of the lab matrix into a venv, one at a time.
#
#   scripts/install-servers.sh [VENV]        (default: .venv at the repository root)
#
# Idempotent: a server already importable at its pinned version is skipped. A server that cannot
# be built here is reported with a one-line reason and does not fail the run; the exit status is
# non-zero only when the venv itself is unusable. Versions come from requirements-servers.txt.
set -u

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo_root/.venv}"
python="$venv/bin/python"
requirements="$repo_root/requirements-servers.txt"
logdir="$(mktemp -d "${TMPDIR:-/tmp}/install-servers.XXXXXX")"

if [[ ! -x "$python" ]]; then
    echo "install-servers: no python at $python (create the venv first: python3 -m venv $venv)" >&2
    exit 2
fi

pinned() {  # pinned VERSION of a distribution in requirements-servers.txt
    sed -n "s/^$1==\([^ #]*\).*/\1/p" "$requirements"
}

installed() {  # installed VERSION of a distribution, empty when absent
    "$python" - "$1" <<'PY' 2>/dev/null
import sys
from importlib import metadata
try:
    print(metadata.version(sys.argv[1]))
except metadata.PackageNotFoundError:
    pass
PY
}

failures=0
report() {  # report NAME STATUS DETAIL
    [[ "$2" == "FAILED" ]] && failures=$((failures + 1))
    printf '%-10s %-12s %s\n' "$1" "$2" "$3"
}

pip_install() {  # pip_install NAME LOG ARGS... ; returns pip's status, output in LOG
    local name="$1" log="$2"
    shift 2
    "$python" -m pip install --disable-pip-version-check "$@" >"$log" 2>&1
}

first_error() {  # the most telling line of a failed pip log
    grep -m1 -E '(error:|Error:|ERROR:)' "$1" | sed 's/^ *//' | cut -c1-160
}

missing_command() {  # missing_command CMD... ; prints the first that is not on PATH
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd"; return 0; }
    done
    return 1
}

install_pinned() {  # install_pinned NAME [PREREQUISITE-HINT COMMAND...]
    local name="$1" version log
    version="$(pinned "$name")"
    if [[ "$(installed "$name")" == "$version" ]]; then
        report "$name" "present" "$version"
        return 0
    fi
    log="$logdir/$name.log"
    if pip_install "$name" "$log" "$name==$version"; then
        report "$name" "installed" "$version"
    else
        report "$name" "FAILED" "$(first_error "$log") (full log: $log)"
    fi
}

# uWSGI <= 2.0.26 is the last release where, without --enable-threads, Python threads do not run
# between requests (2.0.27 made that option a stub that is always on). The uwsgi_nothreads mode
# runs this release, next to the current one, to test the shim where its flusher thread stalls.
install_uwsgi_legacy() {
    local version target log="$logdir/uwsgi-legacy.log"
    version="$(sed -n 's/^# uwsgi-legacy==\([^ ]*\).*/\1/p' "$requirements")"
    target="$venv/opt/uwsgi-$version"
    if [[ -x "$target/bin/uwsgi" ]]; then
        report uwsgi-old "present" "$version in $target"
        return 0
    fi
    if pip_install uwsgi-legacy "$log" --no-deps --target "$target" "uwsgi==$version"; then
        report uwsgi-old "installed" "$version in $target (for the uwsgi_nothreads mode)"
    else
        report uwsgi-old "FAILED" "$(first_error "$log") (full log: $log)"
    fi
}

install_mod_wsgi() {
    local missing
    if missing="$(missing_command apxs)"; then
        report mod_wsgi "skipped" "no '$missing' on PATH: install apache2-dev (Debian) / httpd-devel (RHEL) to build it"
        return 0
    fi
    install_pinned mod_wsgi
    if ! command -v apache2 >/dev/null 2>&1 && ! command -v httpd >/dev/null 2>&1 \
        && [[ ! -x /usr/sbin/apache2 ]]; then
        report mod_wsgi "warning" "built, but no apache2/httpd binary to run it: install apache2-bin"
    fi
}

install_bjoern() {
    if [[ ! -e /usr/include/ev.h && ! -e /usr/local/include/ev.h ]]; then
        report bjoern "skipped" "no ev.h: install libev-dev (Debian) / libev-devel (RHEL) to build it"
        return 0
    fi
    install_pinned bjoern
}

# meinheld 1.0.2 (2020, the latest) declares greenlet<0.5; greenlet 0.4.17 does not compile on
# Python >= 3.11 (it touches PyThreadState fields that are gone). meinheld's own C code builds and
# runs against greenlet 3.x, so we install it without its declared dependency, after a current
# greenlet, and never fail the whole run over it.
install_meinheld() {
    local version="1.0.2" log="$logdir/meinheld.log"
    if [[ "$(installed meinheld)" == "$version" ]] && "$python" -c 'import meinheld.server' 2>/dev/null; then
        report meinheld "present" "$version (greenlet $(installed greenlet))"
        return 0
    fi
    if ! pip_install greenlet "$log" "greenlet>=3"; then
        report meinheld "FAILED" "could not install greenlet>=3: $(first_error "$log")"
        return 0
    fi
    if ! pip_install meinheld "$log" --no-deps --no-build-isolation "meinheld==$version"; then
        report meinheld "FAILED" "$(first_error "$log") (full log: $log)"
        return 0
    fi
    if "$python" -c 'import meinheld.server' >"$log" 2>&1; then
        report meinheld "installed" "$version, without its greenlet<0.5 pin (greenlet $(installed greenlet))"
    else
        report meinheld "FAILED" "builds but does not import: $(tail -n1 "$log")"
    fi
}

"$python" -m pip --version >/dev/null 2>&1 || { echo "install-servers: pip is missing in $venv" >&2; exit 2; }
"$python" -m pip install --disable-pip-version-check -q "setuptools>=68" wheel >/dev/null 2>&1

install_pinned waitress
install_pinned cheroot
install_pinned gevent
install_pinned granian
install_pinned uwsgi
install_uwsgi_legacy
install_mod_wsgi
install_bjoern
install_meinheld
if (( failures == 0 )); then
    rm -rf "$logdir"  # keep the logs only when a FAILED line above points into them
fi
exit 0
