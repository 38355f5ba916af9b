#!/usr/bin/env bash
# One ledgerflow-bench uniform run (64 clients, 10 s, 10,000 owners) against a fresh store in
# MODE (sqlite: embedded SQLite; pg: embedded PostgreSQL; bus: PostgreSQL + NATS + a separate
# read model), with the CPU time the service and all PostgreSQL processes used per entry
# (utime+stime from /proc/PID/stat; NATS not counted), the share of the machine's CPU time
# that was idle meanwhile (`machine_idle`: /proc/stat's idle and iowait over all of it), and
# `ledgerflow verify` after. Where a batch's time goes: one batch every `batch_ms`, with the
# CPU of the batch writer's thread and of PostgreSQL per batch, and the share of batches
# decided ahead. On PostgreSQL, the WAL written per entry from the load's start until its
# entries were projected (the whole server's); WAL_BY_TABLE=1 adds it by table and index
# (`wal_by_table`, bytes per entry, from the pg_walinspect extension, which it creates in
# the store's database).
# Needs release builds (cargo build --release --workspace), PostgreSQL at 127.0.0.1 (user
# postgres, trust) and NATS at 127.0.0.1:4222.
# Usage: [BIN=…] [BENCH=…] [SERVE_LOG=FILE] [WAL_BY_TABLE=1] bench/throughput.sh sqlite|pg|bus
# Prints one JSON line; SERVE_LOG keeps the service's output.
set -euo pipefail
MODE=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/ledgerflow}; BENCH=${BENCH:-$ROOT/target/release/ledgerflow-bench}
W=$(mktemp -d); PORT=${PORT:-8095}
unset LEDGERFLOW_NATS_URL LEDGERFLOW_READ_MODEL_URL || true
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS tp_store" -c "DROP DATABASE IF EXISTS tp_read" >/dev/null 2>&1
case $MODE in
  sqlite) export LEDGERFLOW_EVENT_STORE_URL=sqlite://$W/ledger.db ;;
  pg) psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE tp_store" >/dev/null
      export LEDGERFLOW_EVENT_STORE_URL=postgres://postgres@127.0.0.1:5432/tp_store ;;
  bus) psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE tp_store" -c "CREATE DATABASE tp_read" >/dev/null
      export LEDGERFLOW_EVENT_STORE_URL=postgres://postgres@127.0.0.1:5432/tp_store
      export LEDGERFLOW_READ_MODEL_URL=postgres://postgres@127.0.0.1:5432/tp_read
      export LEDGERFLOW_NATS_URL=nats://127.0.0.1:4222
      T=$(date +%s%N); export LEDGERFLOW_NATS_STREAM=tp_$T LEDGERFLOW_NATS_SUBJECT=tp$T.events ;;
esac
export LEDGERFLOW_LISTEN=127.0.0.1:$PORT RUST_LOG=warn
KEY=$($BIN apps create tp 2>/dev/null | grep '^lf_')
$BIN > ${SERVE_LOG:-$W/serve.log} 2>&1 & SVC=$!
# The bus mode's stream (every run makes its own) is deleted at the end: JetStream would keep
# each run's messages on disk for the stream's retention. A request on JetStream's API, in
# NATS's text protocol: no NATS client is needed.
drop_stream() {
  [ $MODE = bus ] || return 0
  python3 - "$LEDGERFLOW_NATS_STREAM" <<'PY' || echo "the stream $LEDGERFLOW_NATS_STREAM was not deleted" >&2
import socket, sys
s = socket.create_connection(("127.0.0.1", 4222), timeout=10)
f = s.makefile("rb")
f.readline()  # INFO
api = "$JS.API.STREAM.DELETE." + sys.argv[1]
s.sendall(f'CONNECT {{"verbose":false}}\r\nSUB _INBOX.drop 1\r\nPUB {api} _INBOX.drop 0\r\n\r\n'.encode())
while not (line := f.readline()).startswith(b"MSG"):
    if not line or line.startswith(b"-ERR"):
        sys.exit(1)
reply = f.read(int(line.split()[-1]))
sys.exit(0 if b'"success":true' in reply else 1)
PY
}
trap "kill $SVC 2>/dev/null; wait $SVC 2>/dev/null; drop_stream; rm -rf $W" EXIT
for _ in $(seq 50); do curl -sf localhost:$PORT/healthz >/dev/null && break; sleep 0.2; done
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pgcpu() { local t=0; for p in $(pgrep -u postgres postgres); do v=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); t=$((t+v)); done; echo $t; }
WT=$(for t in $(ls /proc/$SVC/task); do [ "$(cat /proc/$SVC/task/$t/comm)" = ledgerflow-writ ] && echo $t; done | head -1 || true)
writer() { if [ -n "$WT" ]; then cpu $SVC/task/$WT; else echo 0; fi; }
metric() { curl -s localhost:$PORT/metrics | awk -v m=ledgerflow_$1 '$1 == m {v=$2} END {print v+0}'; }
batches() { metric batch_commands_count; }
idle() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
lsn() { [ $MODE = sqlite ] || psql -h 127.0.0.1 -U postgres -tAXc "SELECT pg_current_wal_lsn()"; }
s0=$(cpu $SVC); p0=$(pgcpu); w0=$(writer); b0=$(batches); a0=$(metric batches_decided_ahead_total); t0=$(date +%s.%N); l0=$(lsn); i0=($(idle))
$BENCH --target http://127.0.0.1:$PORT --key $KEY --workload uniform --clients 64 --duration 10 --owners 10000 --pid $SVC --json > $W/bench.json 2>$W/bench.err
s1=$(cpu $SVC); p1=$(pgcpu); w1=$(writer); b1=$(batches); a1=$(metric batches_decided_ahead_total); t1=$(date +%s.%N); l1=$(lsn); i1=($(idle))
# Per table: each WAL record's first block names its database and relation (file) number.
if [ "${WAL_BY_TABLE:-0}" = 1 ] && [ $MODE != sqlite ]; then
  psql -h 127.0.0.1 -U postgres -d tp_store -qXc "CREATE EXTENSION IF NOT EXISTS pg_walinspect"
  psql -h 127.0.0.1 -U postgres -d tp_store -tAXF ' ' -c "SELECT substring(block_ref FROM 'rel \d+/(\d+)/'), \
    substring(block_ref FROM 'rel \d+/\d+/(\d+)'), sum(record_length) FROM pg_get_wal_records_info('$l0', '$l1') GROUP BY 1, 2" > $W/wal
  for db in tp_store tp_read; do psql -h 127.0.0.1 -U postgres -d $db -tAXF ' ' \
    -c "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()), relfilenode, current_database() || '.' || relname FROM pg_class WHERE relfilenode <> 0" 2>/dev/null || true; done > $W/names
fi
V=$($BIN verify >/dev/null 2>&1; echo $?)
python3 - <<PY
import json;d=json.load(open('$W/bench.json'));n=d['completed']
tck=100; b=$b1-$b0
per_batch=lambda ticks: round(ticks/tck/b*1e3, 2)
chain={'batch_ms':round(($t1-$t0)/b*1e3, 2),'writer_ms_per_batch':per_batch($w1-$w0) if '$WT' else None,'pg_ms_per_batch':per_batch($p1-$p0),'decided_ahead':round(($a1-$a0)/b, 2)}
lsn=lambda text: int(text.split('/')[0], 16) << 32 | int(text.split('/')[1], 16)
wal=lsn('$l1') - lsn('$l0') if '$l0' else None; by_table={}
if '${WAL_BY_TABLE:-0}' == '1' and wal is not None:
    names={(d, f): r for d, f, r in (l.split() for l in open('$W/names') if l.strip())}
    for parts in (l.split() for l in open('$W/wal') if l.strip()):
        key = names.get(tuple(parts[:2]), 'other') if len(parts) == 3 else 'no relation (commits, ...)'
        by_table[key] = by_table.get(key, 0) + int(parts[-1])
    by_table={k: round(v / n) for k, v in sorted(by_table.items(), key=lambda kv: -kv[1]) if v / n >= 1}
print(json.dumps({'mode':'$MODE','entries_per_s':d['completed_per_second'],'p50_ms':d['latency_ms']['p50'],'p99_ms':d['latency_ms']['p99'],'rss_mib':d['service_peak_rss_mib'],'mean_batch':d.get('mean_batch'),'lag':d.get('projection'),'svc_us_per_entry':round(($s1-$s0)/tck/n*1e6),'pg_us_per_entry':round(($p1-$p0)/tck/n*1e6),'chain':chain,'machine_idle':round((${i1[0]}-${i0[0]})/(${i1[1]}-${i0[1]}), 3),'verify_exit':$V,'errors':d['errors'],'wal_bytes_per_entry':round(wal / n) if wal is not None else None,**({'wal_by_table': by_table} if by_table else {})}))
PY
