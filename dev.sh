#!/usr/bin/env bash
# Set up and run the leads dashboard.
#   bash dev.sh serve   # virtualenv, migrate SQLite, demo data, start on http://127.0.0.1:8000
#   bash dev.sh test    # virtualenv, lint, types, then the whole test suite (DATABASE_URL picks the database)
#   bash dev.sh bench [--quick] [bench_all options]   # the benchmarks, never in the test suite
set -euo pipefail
cd "$(dirname "$0")"

VENV=${VENV:-.venv}

# Django 6 needs Python >= 3.12. Try candidates by running them, not by name: a pyenv shim
# named python3.12 can exist and still fail when pyenv has not selected that version.
find_python() {
  local candidates=()
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  candidates+=(python3.13 python3.12 python3 python)
  if command -v pyenv >/dev/null 2>&1; then
    local root
    root=$(pyenv root)
    for dir in "$root"/versions/3.1[2-9]*; do
      [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
    done
  fi
  for dir in /usr/local/bin /usr/bin; do
    for name in python3.14 python3.13 python3.12; do
      [ -x "$dir/$name" ] && candidates+=("$dir/$name")
    done
  done
  local candidate
  for candidate in "${candidates[@]}"; do
    if "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' \
        >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  echo "No Python >= 3.12 found. Install one, or set PYTHON=/path/to/python3.12." >&2
  return 1
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
    local python
    python=$(find_python)
    echo "Creating $VENV with $python ($("$python" --version))"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    # The whole tree, every package pinned with its hashes (requirements.lock, from
    # `bash dev.sh lock`); then this project itself, which brings nothing more.
    "$VENV/bin/python" -m pip install --quiet --require-hashes -r requirements.lock
    "$VENV/bin/python" -m pip install --quiet --no-deps -e .
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

# The browser tests inject axe-core (tests/browser/package.json, pinned in its lock file) into
# every page. Without npm they skip the accessibility checks and say why.
ensure_browser_packages() {
  local dir=tests/browser
  local stamp="$dir/node_modules/.installed-$(sha256sum <"$dir/package-lock.json" | cut -c1-16)"
  if [ ! -f "$stamp" ] && command -v npm >/dev/null 2>&1; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
}

cmd=${1:-}
shift || true
case "$cmd" in
  serve)
    ensure_venv
    export DJANGO_DEBUG=${DJANGO_DEBUG:-on}
    # The webhooks refuse everything without a secret: make one for this checkout (kept in
    # the virtualenv, so WAHA's configuration stays valid across restarts) unless one is set.
    secret_file="$VENV/.dev-webhook-secret"
    [ -s "$secret_file" ] || "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$secret_file"
    export WAHA_WEBHOOK_SECRET=${WAHA_WEBHOOK_SECRET:-$(cat "$secret_file")}
    export MOLTFLOW_WEBHOOK_SECRET=${MOLTFLOW_WEBHOOK_SECRET:-$(cat "$secret_file")}
    "$VENV/bin/python" manage.py migrate --noinput
    "$VENV/bin/python" manage.py seed_demo
    addr=${1:-127.0.0.1:8000}
    echo "Dashboard: http://$addr/   (API: http://$addr/api/v2/, docs: http://$addr/api/v2/docs)"
    echo "Webhook secrets (development only): WAHA_WEBHOOK_SECRET=$WAHA_WEBHOOK_SECRET"
    echo "                                    MOLTFLOW_WEBHOOK_SECRET=$MOLTFLOW_WEBHOOK_SECRET"
    exec "$VENV/bin/python" manage.py runserver "$addr"
    ;;
  test)
    ensure_venv
    ensure_browser_packages
    export DJANGO_DEBUG=${DJANGO_DEBUG:-off}
    "$VENV/bin/python" -m ruff check .
    "$VENV/bin/python" -m ruff format --check .
    # Types over leads/ and dashboard/ (django-stubs; configuration in pyproject.toml).
    "$VENV/bin/python" -m mypy
    # One pytest-xdist worker per core, each with its own test database and Redis database
    # (tests/settings.py); a worker that is free takes tests queued for a busy one
    # (worksteal), so one slow browser test does not hold the end of the run. Arguments come
    # after, so `bash dev.sh test -n 0 tests/test_x.py` runs in this one process.
    exec "$VENV/bin/python" -m pytest -n auto --dist worksteal "$@"
    ;;
  bench)
    # Every benchmark in one table (manage.py bench_all). It seeds the database it measures:
    # point DATABASE_URL at a throwaway PostgreSQL database for real numbers (see the README).
    # Without DATABASE_URL it runs on a temporary SQLite file, deleted afterwards: numbers that
    # only prove the chain works. `--quick` shrinks every size (CI's smoke run).
    ensure_venv
    export DJANGO_DEBUG=${DJANGO_DEBUG:-on}
    if [ -z "${DATABASE_URL:-}" ]; then
      bench_dir=$(mktemp -d)
      trap 'rm -rf "$bench_dir"' EXIT
      export DATABASE_URL="sqlite:///$bench_dir/bench.sqlite3"
      set -- --allow-sqlite "$@"
    fi
    "$VENV/bin/python" manage.py migrate --noinput --verbosity 0
    "$VENV/bin/python" manage.py bench_all "$@"
    ;;
  lock)
    # Re-pin the whole dependency tree with hashes after changing pyproject.toml's pins.
    ensure_venv
    "$VENV/bin/python" -m pip install --quiet uv==0.13.9
    "$VENV/bin/python" -m uv pip compile pyproject.toml --extra dev --generate-hashes \
      --python-version 3.12 --quiet -o requirements.lock
    echo "requirements.lock written; commit it with pyproject.toml."
    ;;
  prod)
    # The way it runs on a server: settings from the environment (DJANGO_SECRET_KEY,
    # DATABASE_URL, DJANGO_ALLOWED_HOSTS, ...), gunicorn with several workers, hashed static
    # files served by WhiteNoise. Put a TLS-terminating proxy in front of it.
    ensure_venv
    export DJANGO_DEBUG=off
    "$VENV/bin/python" manage.py migrate --noinput
    "$VENV/bin/python" manage.py collectstatic --noinput --verbosity 0
    "$VENV/bin/python" manage.py check --deploy --fail-level WARNING
    exec "$VENV/bin/gunicorn" dashboard.wsgi \
      --bind "${1:-${BIND:-0.0.0.0:8000}}" \
      --workers "${WEB_CONCURRENCY:-3}" \
      --threads "${WEB_THREADS:-40}" \
      --timeout "${WEB_TIMEOUT:-30}" \
      --config dashboard/gunicorn.conf.py --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
    ;;
  *)
    echo "usage: bash dev.sh serve [ADDR:PORT] | test [pytest args] | bench [--quick] | prod [ADDR:PORT] | lock" >&2
    exit 2
    ;;
esac
