#!/usr/bin/env bash
# Where a batch's time goes in PostgreSQL embedded mode: runs the `uniform` load (64 clients,
# 10 s, 10,000 owners) against a fresh store and, over 5 s in its middle, reads the batch
# writer thread's CPU (/proc/PID/task/TID/stat), all PostgreSQL processes' CPU, and the
# batches and entries from /metrics. Prints the batch interval and each side's CPU per batch.
# Needs release builds (cargo build --release --workspace) and PostgreSQL at 127.0.0.1
# (user postgres, trust).
# Usage: [BIN=…] [BENCH=…] bench/writer_chain.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/ledgerflow}; BENCH=${BENCH:-$ROOT/target/release/ledgerflow-bench}
W=$(mktemp -d); PORT=${PORT:-8098}
unset LEDGERFLOW_NATS_URL LEDGERFLOW_READ_MODEL_URL || true
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS tp_chain" >/dev/null 2>&1
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE tp_chain" >/dev/null
export LEDGERFLOW_EVENT_STORE_URL=postgres://postgres@127.0.0.1:5432/tp_chain
export LEDGERFLOW_LISTEN=127.0.0.1:$PORT RUST_LOG=warn
KEY=$($BIN apps create tp 2>/dev/null | grep '^lf_')
$BIN > $W/serve.log 2>&1 & SVC=$!
trap "kill $SVC 2>/dev/null; wait $SVC 2>/dev/null; rm -rf $W" EXIT
for _ in $(seq 50); do curl -sf localhost:$PORT/healthz >/dev/null && break; sleep 0.2; done
$BENCH --target http://127.0.0.1:$PORT --key $KEY --workload uniform --clients 64 --duration 10 --owners 10000 > $W/bench.txt 2>&1 &
LOAD=$!
sleep 3
WT=$(for t in $(ls /proc/$SVC/task); do [ "$(cat /proc/$SVC/task/$t/comm)" = ledgerflow-writ ] && echo $t; done | head -1)
writer() { awk '{print $14+$15}' /proc/$SVC/task/$WT/stat; }
pg() { local t=0; for p in $(pgrep -u postgres postgres); do v=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); t=$((t+v)); done; echo $t; }
metric() { curl -s localhost:$PORT/metrics | awk -v m="$1" '$1 == m {print $2}'; }
w0=$(writer); p0=$(pg); b0=$(metric ledgerflow_batch_commands_count); e0=$(metric ledgerflow_batch_commands_sum); t0=$(date +%s.%N)
sleep 5
w1=$(writer); p1=$(pg); b1=$(metric ledgerflow_batch_commands_count); e1=$(metric ledgerflow_batch_commands_sum); t1=$(date +%s.%N)
wait $LOAD
python3 - <<PY
b = $b1 - $b0; e = $e1 - $e0; dt = $t1 - $t0; tck = 100
print(f"batches/s {b/dt:.0f}  entries/s {e/dt:.0f}  mean batch {e/b:.1f}  one batch every {1000*dt/b:.2f} ms")
print(f"writer thread CPU per batch {1000*($w1-$w0)/tck/b:.2f} ms ({100*($w1-$w0)/tck/dt:.0f} % of a core)")
print(f"PostgreSQL CPU per batch {1000*($p1-$p0)/tck/b:.2f} ms ({100*($p1-$p0)/tck/dt:.0f} % of a core)")
PY
