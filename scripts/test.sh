#!/usr/bin/env bash
# Runs duetrack's whole test suite on a fresh machine: makes sure the real
# services the tests talk to are there (PostgreSQL on 127.0.0.1:5432, the
# aiosmtpd SMTP server from PyPI), then runs `cargo test`. Arguments go to
# cargo test, e.g. `scripts/test.sh email::`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_HOST=127.0.0.1
PG_PORT=5432

if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
    if [ -d /etc/postgresql ]; then
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        echo "Starting PostgreSQL ${version}/main..."
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 1 30); do
            pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
            sleep 1
        done
    fi
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        echo "ERROR: PostgreSQL is not reachable at ${PG_HOST}:${PG_PORT}; the suite runs on SQLite and PostgreSQL." >&2
        exit 1
    fi
fi

if ! python3 -c "import aiosmtpd" 2>/dev/null; then
    echo "Installing aiosmtpd (the SMTP server the email tests send to)..."
    python3 -m pip install --quiet --disable-pip-version-check aiosmtpd \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages aiosmtpd
fi

if [ "$#" -gt 0 ]; then
    exec cargo test "$@"
fi

cargo test

if ! command -v chromium >/dev/null 2>&1; then
    echo "Installing Chromium (the browser the web tests drive)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d e2e/node_modules/playwright-core ]; then
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo build --quiet
echo "Running the browser tests (screenshots go to test-artifacts/screenshots/)..."
(cd e2e && DUETRACK_BIN="$PWD/../target/debug/duetrack" node --test --test-concurrency=1)
