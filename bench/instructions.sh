#!/usr/bin/env bash
# The service's work per entry, counted in instructions rather than timed: one `uniform` run
# (64 clients, 20 s, 10,000 owners) against a fresh store in MODE (sqlite or pg: embedded),
# with the service under `valgrind --tool=callgrind`, which counts every instruction each
# thread runs whatever else the machine is doing. Counted from just before the load starts
# to just after it ends, apart for the batch writer's thread and for all the others (the
# HTTP workers, and on SQLite the thread each commit runs on). Batches are capped at BATCH_MAX entries
# (16 unless set), but under valgrind they are not always full and their size varies from
# run to run, and a batch's fixed work is shared by its entries: compare builds by fitting
# instructions = a x entries + b x batches over runs at several BATCH_MAX (BENCHMARKS.md,
# issue 17, session 25), not by one run's figure per entry. Instructions run by the kernel
# (system calls, round trips) and by PostgreSQL are not counted, and valgrind's CPU has no
# SHA extensions, so SHA-256 runs in its portable code there.
# Needs release builds, valgrind, and PostgreSQL at 127.0.0.1 (user postgres, trust).
# Usage: [BIN=…] [BENCH=…] [BATCH_MAX=16] bench/instructions.sh sqlite|pg
# Prints one JSON line.
set -euo pipefail
MODE=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/ledgerflow}; BENCH=${BENCH:-$ROOT/target/release/ledgerflow-bench}
W=$(mktemp -d); PORT=${PORT:-8096}
unset LEDGERFLOW_NATS_URL LEDGERFLOW_READ_MODEL_URL || true
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS tp_instr" >/dev/null 2>&1
case $MODE in
  sqlite) export LEDGERFLOW_EVENT_STORE_URL=sqlite://$W/ledger.db ;;
  pg) psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE tp_instr" >/dev/null
      export LEDGERFLOW_EVENT_STORE_URL=postgres://postgres@127.0.0.1:5432/tp_instr ;;
  *) echo "MODE is sqlite or pg" >&2; exit 2 ;;
esac
export LEDGERFLOW_LISTEN=127.0.0.1:$PORT RUST_LOG=warn LEDGERFLOW_BATCH_MAX=${BATCH_MAX:-16}
KEY=$($BIN apps create tp 2>/dev/null | grep '^lf_')
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=$W/cg.%p \
  $BIN > $W/serve.log 2>&1 & SVC=$!
trap "kill $SVC 2>/dev/null || true; rm -rf $W" EXIT
for _ in $(seq 600); do curl -sf localhost:$PORT/healthz >/dev/null && break; sleep 0.5; done
callgrind_control --zero $SVC >/dev/null 2>&1
$BENCH --target http://127.0.0.1:$PORT --key $KEY --workload uniform --clients 64 --duration 20 \
  --owners 10000 --json > $W/bench.json 2>$W/bench.err
callgrind_control --dump=load $SVC >/dev/null 2>&1
BATCHES=$(curl -s localhost:$PORT/metrics | awk '$1 == "ledgerflow_batch_commands_count" {print $2}')
kill -TERM $SVC; wait $SVC 2>/dev/null || true
# The dump holds one file per thread (cg.PID.1-TID); the writer's is the one that ran the
# writer's loop.
python3 - <<PY
import glob, json, re
d = json.load(open('$W/bench.json')); n = d['completed']; b = float('$BATCHES')
writer = rest = 0
for path in glob.glob('$W/cg.*.1-*'):
    text = open(path).read()
    ir = int(re.search(r'^(?:totals|summary): (\d+)', text, re.M).group(1))
    if 'Writer::on_own_thread' in text: writer += ir
    else: rest += ir
print(json.dumps({'mode': '$MODE', 'entries': n, 'batches': int(b), 'mean_batch': round(n / b, 2),
                  'writer_instructions_per_entry': round(writer / n),
                  'other_threads_instructions_per_entry': round(rest / n)}))
PY
