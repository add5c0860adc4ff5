#!/usr/bin/env bash
# The benchmark suite, in one command: scripts/bench.sh
#
# Measures side by side, in one run on this machine:
#   ceilings  - an axum hello-world (examples/bench_hello.rs) under wrk;
#               raw SQLite commits/s (one insert + one update per transaction,
#               WAL, synchronous=FULL) and rows/s in batches of 100; raw
#               PostgreSQL commits/s from 1 and 16 clients
#               (examples/bench_ceilings.rs, through sqlx like duetrack);
#   duetrack  - the release binary `duetrack serve` over loopback HTTP with wrk:
#               durable payments/s (201 answers only) on SQLite, on PostgreSQL,
#               and with two nodes on one PostgreSQL database (wrk against each,
#               summed); authenticated balance reads/s (GET a customer with a
#               bearer token); the server's RSS idle and after the load.
# and prints each figure with its ratio to its ceiling.
#
# Knobs (environment):
#   BENCH_DURATION=10        seconds per wrk run
#   BENCH_CONNECTIONS=32     wrk connections (the two-node run splits them)
#   BENCH_THREADS=2          wrk threads
#   BENCH_CUSTOMERS=200      customers created through the API before a run
#   BENCH_CEILING_SECONDS=4  seconds per raw-database ceiling
#   BENCH_SOAK_SECONDS=0     when > 0, an extra SQLite payment run this long,
#                            printing the server's RSS every 10 s
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
#                            an admin URL; databases are created and dropped
#   BENCH_SKIP_POSTGRES=0    1 leaves PostgreSQL out
#   BENCH_PERF=0             1 records `perf` during the SQLite payment run and
#                            prints the hottest symbols (needs perf)
#   BENCH_REMINDER_CUSTOMERS=30000
#                            customers for the reminder run (the original's
#                            layout from scripts/gen-original.py, two in three
#                            with an email and an overdue due, imported with
#                            `duetrack import`), then delivered to a local SMTP
#                            sink (examples/smtp_sink.rs); 0 leaves it out.
#                            150000 gives the issue's 100,000 reminders.
#   BENCH_NO_BUILD=0         1 uses the binaries already built
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
CUSTOMERS=${BENCH_CUSTOMERS:-200}
CEILING_SECONDS=${BENCH_CEILING_SECONDS:-4}
SOAK=${BENCH_SOAK_SECONDS:-0}
PG_ADMIN=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SKIP_PG=${BENCH_SKIP_POSTGRES:-0}
PERF=${BENCH_PERF:-0}
REMINDER_CUSTOMERS=${BENCH_REMINDER_CUSTOMERS:-30000}
PASSWORD=bench-password-$$
BIN=$ROOT/target/release
WORK=$(mktemp -d /tmp/duetrack-bench.XXXXXX)
RESULTS=$WORK/results
PIDS=()
DATABASES=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for db in "${DATABASES[@]}"; do
        psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n==> %s\n' "$*" >&2; }
record() { echo "$1=$2" >>"$RESULTS"; printf '    %-34s %s\n' "$1" "$2" >&2; }

if ! command -v wrk >/dev/null; then
    say "installing wrk"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    say "building the release binary and the benchmark examples"
    cargo build --release --quiet --bin duetrack --example bench_hello --example bench_ceilings --example bench_setup --example smtp_sink
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {
    for _ in $(seq 1 200); do
        if curl -sf -o /dev/null "$1"; then return 0; fi
        sleep 0.05
    done
    echo "nothing answered at $1" >&2
    return 1
}

# rss PID -> "VmRSS_kB VmHWM_kB"
rss() { awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {print r, h}' "/proc/$1/status"; }

# wrk_run NAME URL SCRIPT ARGS... : runs wrk, records NAME=ok/s and its latency.
wrk_run() {
    local name=$1 url=$2 script=$3
    shift 3
    local out=$WORK/$name.wrk
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$ROOT/scripts/bench/$script" "$url" -- "$@" >"$out"
    local ok p50 p99 non2xx
    ok=$(sed -n 's/^ok_per_s=//p' "$out")
    p50=$(sed -n 's/^p50_ms=//p' "$out")
    p99=$(sed -n 's/^p99_ms=//p' "$out")
    non2xx=$(sed -n 's/^non2xx=//p' "$out")
    record "$name" "$ok"
    record "${name}_p50_ms" "$p50"
    record "${name}_p99_ms" "$p99"
    if [ "${non2xx:-0}" != 0 ]; then
        record "${name}_non2xx" "$non2xx"
    fi
}

# serve NAME DATABASE_URL DATA_DIR [CHAIN_KEY_FILE] -> sets SERVE_PID, SERVE_URL
serve() {
    local name=$1 url=$2 dir=$3 key=${4:-$3/chain.key}
    local port
    port=$(free_port)
    mkdir -p "$dir"
    env DATABASE_URL="$url" DUETRACK_DATA_DIR="$dir" DUETRACK_CHAIN_KEY_FILE="$key" \
        DUETRACK_BIND="127.0.0.1:$port" DUETRACK_ADMIN_PASSWORD="$PASSWORD" \
        DUETRACK_SCHEDULER=off RUST_LOG=warn \
        DUETRACK_MAX_REQUESTS_PER_ADDRESS=100000 DUETRACK_MAX_CONNECTIONS_PER_ADDRESS=100000 \
        DUETRACK_MAX_REQUESTS_IN_FLIGHT=100000 \
        "$BIN/duetrack" serve >"$WORK/$name.log" 2>&1 &
    SERVE_PID=$!
    PIDS+=("$SERVE_PID")
    SERVE_URL=http://127.0.0.1:$port
    wait_for "$SERVE_URL/healthz"
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

fresh_pg() {
    local name=duetrack_bench_$$_$1
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $name" >/dev/null
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $name" >/dev/null
    DATABASES+=("$name")
    echo "${PG_ADMIN%/*}/$name"
}

: >"$RESULTS"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)" >&2
echo "settings: wrk -t$THREADS -c$CONNS -d${DURATION}s, $CUSTOMERS customers" >&2

say "ceiling: axum hello-world"
port=$(free_port)
"$BIN/examples/bench_hello" "$port" >/dev/null &
HELLO=$!
PIDS+=("$HELLO")
wait_for "http://127.0.0.1:$port/"
wrk_run hello_rps "http://127.0.0.1:$port/" hello.lua
stop "$HELLO"

say "ceiling: raw SQLite (sqlx, WAL, synchronous=FULL)"
"$BIN/examples/bench_ceilings" sqlite "$WORK" "$CEILING_SECONDS" | while IFS='=' read -r k v; do record "$k" "$v"; done

if [ "$SKIP_PG" != 1 ]; then
    say "ceiling: raw PostgreSQL (sqlx)"
    "$BIN/examples/bench_ceilings" postgres "$PG_ADMIN" "$CEILING_SECONDS" | while IFS='=' read -r k v; do record "$k" "$v"; done
fi

say "duetrack serve on SQLite"
serve sqlite "sqlite://$WORK/sqlite/duetrack.db" "$WORK/sqlite"
sleep 1
read -r r h < <(rss "$SERVE_PID")
record sqlite_idle_rss_kb "$r"
"$BIN/examples/bench_setup" "$SERVE_URL" "$PASSWORD" "$CUSTOMERS" "$WORK/sqlite-setup" >/dev/null
if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
    perf record -F 999 -g -o "$WORK/perf.data" -p "$SERVE_PID" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF_PID=$!
fi
wrk_run sqlite_payments_per_s "$SERVE_URL" payments.lua "$WORK/sqlite-setup/token" "$WORK/sqlite-setup/ids" s1
if [ "$PERF" = 1 ] && [ -n "${PERF_PID:-}" ]; then
    wait "$PERF_PID" || true
    perf report -i "$WORK/perf.data" --no-children --percent-limit 2 --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 >&2 || true
fi
wrk_run sqlite_reads_per_s "$SERVE_URL" reads.lua "$WORK/sqlite-setup/token" "$WORK/sqlite-setup/ids"
read -r r h < <(rss "$SERVE_PID")
record sqlite_loaded_rss_kb "$r"
record sqlite_peak_rss_kb "$h"
if [ "$SOAK" -gt 0 ]; then
    say "soak: SQLite payments for ${SOAK}s, RSS every 10 s"
    wrk -t"$THREADS" -c"$CONNS" -d"${SOAK}s" -s "$ROOT/scripts/bench/payments.lua" "$SERVE_URL" -- \
        "$WORK/sqlite-setup/token" "$WORK/sqlite-setup/ids" soak >"$WORK/soak.wrk" &
    SOAK_PID=$!
    while kill -0 "$SOAK_PID" 2>/dev/null; do
        sleep 10
        read -r r h < <(rss "$SERVE_PID")
        echo "    soak: VmRSS ${r} kB, VmHWM ${h} kB" >&2
    done
    wait "$SOAK_PID" || true
    record soak_payments_per_s "$(sed -n 's/^ok_per_s=//p' "$WORK/soak.wrk")"
    read -r r h < <(rss "$SERVE_PID")
    record soak_end_rss_kb "$r"
    record soak_peak_rss_kb "$h"
fi
stop "$SERVE_PID"

if [ "$SKIP_PG" != 1 ]; then
    say "duetrack serve on PostgreSQL"
    url=$(fresh_pg one)
    serve pg "$url" "$WORK/pg"
    sleep 1
    read -r r h < <(rss "$SERVE_PID")
    record pg_idle_rss_kb "$r"
    "$BIN/examples/bench_setup" "$SERVE_URL" "$PASSWORD" "$CUSTOMERS" "$WORK/pg-setup" >/dev/null
    wrk_run pg_payments_per_s "$SERVE_URL" payments.lua "$WORK/pg-setup/token" "$WORK/pg-setup/ids" p1
    wrk_run pg_reads_per_s "$SERVE_URL" reads.lua "$WORK/pg-setup/token" "$WORK/pg-setup/ids"
    read -r r h < <(rss "$SERVE_PID")
    record pg_loaded_rss_kb "$r"
    record pg_peak_rss_kb "$h"
    stop "$SERVE_PID"

    say "two duetrack serve nodes on one PostgreSQL database"
    url=$(fresh_pg two)
    serve node1 "$url" "$WORK/node1" "$WORK/shared-chain.key"
    NODE1=$SERVE_PID
    URL1=$SERVE_URL
    serve node2 "$url" "$WORK/node2" "$WORK/shared-chain.key"
    NODE2=$SERVE_PID
    URL2=$SERVE_URL
    "$BIN/examples/bench_setup" "$URL1" "$PASSWORD" "$CUSTOMERS" "$WORK/two-setup" >/dev/null
    half=$(((CONNS + 1) / 2))
    for n in 1 2; do
        u=URL$n
        wrk -t"$THREADS" -c"$half" -d"${DURATION}s" -s "$ROOT/scripts/bench/payments.lua" "${!u}" -- \
            "$WORK/two-setup/token" "$WORK/two-setup/ids" "n$n" >"$WORK/two-$n.wrk" &
        eval "WRK$n=\$!"
    done
    wait "$WRK1" "$WRK2"
    a=$(sed -n 's/^ok_per_s=//p' "$WORK/two-1.wrk")
    b=$(sed -n 's/^ok_per_s=//p' "$WORK/two-2.wrk")
    record pg_two_nodes_payments_per_s "$((a + b))"
    record pg_two_nodes_split "$a+$b"
    stop "$NODE1"
    stop "$NODE2"
fi

if [ "$REMINDER_CUSTOMERS" -gt 0 ]; then
    say "reminders: $REMINDER_CUSTOMERS customers, then delivery to a local SMTP sink"
    python3 scripts/gen-original.py "$REMINDER_CUSTOMERS" "$WORK/gen" >/dev/null
    rem=(env DATABASE_URL="sqlite://$WORK/rem/duetrack.db" DUETRACK_DATA_DIR="$WORK/rem"
        DUETRACK_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn)
    "${rem[@]}" "$BIN/duetrack" import "$WORK/gen" >/dev/null 2>&1
    rm -rf "$WORK/gen"
    port=$(free_port)
    "$BIN/examples/smtp_sink" "$port" >"$WORK/sink.log" &
    SINK=$!
    PIDS+=("$SINK")
    sleep 0.3
    "${rem[@]}" SMTP_HOST=127.0.0.1 SMTP_PORT="$port" SMTP_SECURITY=none EMAIL_FROM=shop@example.com \
        "$BIN/duetrack" remind >"$WORK/remind.out" 2>"$WORK/remind.err"
    queued=$(sed -n 's/^Queued \([0-9]*\) reminder.* in \([0-9.]*\) s\.$/\1 \2/p' "$WORK/remind.out")
    handled=$(sed -n 's/^Handled \([0-9]*\) message.* in \([0-9.]*\) s (\([0-9]*\) a second)\.$/\1 \2 \3/p' "$WORK/remind.out")
    read -r n secs <<<"$queued"
    record reminders_queued "$n"
    record reminder_run_seconds "$secs"
    read -r n secs rate <<<"$handled"
    record smtp_delivered "$n"
    record smtp_delivery_seconds "$secs"
    record smtp_messages_per_s "$rate"
    stop "$SINK"
fi

say "report"
python3 - "$RESULTS" <<'PY'
import sys
r = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition("=")
    try:
        r[k] = float(v)
    except ValueError:
        r[k] = v

def row(label, key, ceiling_key=None, unit="/s"):
    if key not in r:
        return
    v = r[key]
    text = f"{v:,.0f}{unit}"
    if ceiling_key and r.get(ceiling_key):
        c = r[ceiling_key]
        text += f"   {100 * v / c:5.1f}% of {ceiling_key} ({c:,.0f}/s)"
    print(f"  {label:<40} {text}")

print("ceilings")
row("axum hello-world, requests", "hello_rps")
row("SQLite single insert+update commits", "sqlite_commits_per_s")
row("SQLite rows in batches of 100", "sqlite_batch100_rows_per_s")
row("PostgreSQL commits, 1 client", "postgres_commits_per_s_1_clients")
row("PostgreSQL commits, 16 clients", "postgres_commits_per_s_16_clients")
print("duetrack serve (release, loopback HTTP, wrk)")
row("payments, SQLite", "sqlite_payments_per_s", "sqlite_commits_per_s")
row("payments, PostgreSQL", "pg_payments_per_s", "postgres_commits_per_s_16_clients")
row("payments, 2 nodes on PostgreSQL", "pg_two_nodes_payments_per_s", "postgres_commits_per_s_16_clients")
row("balance reads, SQLite", "sqlite_reads_per_s", "hello_rps")
row("balance reads, PostgreSQL", "pg_reads_per_s", "hello_rps")
row("soak payments, SQLite", "soak_payments_per_s", "sqlite_commits_per_s")
for k in ["sqlite_payments_per_s", "pg_payments_per_s", "sqlite_reads_per_s", "pg_reads_per_s"]:
    if f"{k}_p50_ms" in r:
        print(f"  {k + ' latency':<40} p50 {r[k + '_p50_ms']} ms, p99 {r[k + '_p99_ms']} ms")
if "reminders_queued" in r:
    print("reminders and delivery")
    print(f"  {'reminder run (decide + enqueue)':<40} {r['reminders_queued']:,.0f} reminders in {r['reminder_run_seconds']} s")
    print(f"  {'delivery to a local SMTP sink':<40} {r['smtp_delivered']:,.0f} messages in {r['smtp_delivery_seconds']} s = {r['smtp_messages_per_s']:,.0f}/s")
print("memory (VmRSS; peak is VmHWM)")
for k in sorted(r):
    if k.endswith("_rss_kb"):
        print(f"  {k:<40} {r[k] / 1024:6.1f} MB")
for k in sorted(r):
    if k.endswith("_non2xx"):
        print(f"  warning: {k} = {r[k]:.0f} answers were not 2xx")
PY
