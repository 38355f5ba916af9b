#!/usr/bin/env bash
# PostgreSQL alone writing the rows ledgerflow writes for `uniform` entries in embedded mode
# (bench/pg_floor_batch.sql: per entry its entries row (its transitions in it), two postings, a
# lot and an app event, the read model's entries being the entries rows; per batch the reads
# of its nonces, heads and event number, the heads upserted, the system account's head,
# event_seqs and the projector's checkpoint), in the service's own
# schema (a database `ledgerflow migrate` made), one SERIALIZABLE writer, durable commits:
# what ../shared/bench/ceiling-pg.sh measures for the lean write, for this data model.
# Needs a release build (BIN=…) and PostgreSQL at 127.0.0.1 (user postgres, trust).
# Usage: [BIN=…] [FOLDED=0] [CLIENTS=1] [READS=0] [PROBES=1] [FILE=batch script] bench/pg_floor.sh [seconds=10] [batch=32] [owners=10000]
# FOLDED=1: the same without two tables' rows (see the batch script); FILE= runs another
# batch script instead, with the same variables.
# CLIENTS=N runs N connections at once, each posting against a system account of its own,
# numbering its own app's events and crediting owners of its own, as N batch writers with
# the system account sharded among them and commands routed by owner would (a batch that
# fails to serialize is tried again, up to 20 times). READS=1 adds a batch's reads (its
# nonces, heads and event number) before its writes, planned without sequential scans as
# the writer's connections plan; pgbench sends them as simple queries, planned each time.
# PROBES=0 (with READS=1) leaves the nonce probes out, the entries' insert claiming them.
# Prints: ledgerflow-rows-pg batch B entries/s N busy_us_per_entry U retried_pct R (U: the
# whole machine's busy CPU during pgbench's run, /proc/stat's user+nice+system+irq+softirq,
# per entry: on an otherwise idle machine, PostgreSQL's work and pgbench's own small part;
# R: the share of batches that failed to serialize and were tried again)
set -euo pipefail
T=${1:-10}; N=${2:-32}; OWNERS=${3:-10000}; C=${CLIENTS:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd); BIN=${BIN:-$ROOT/target/release/ledgerflow}
db=ledgerflow_floor_$$
psql -h 127.0.0.1 -U postgres -qXc "create database $db" >/dev/null
trap 'psql -h 127.0.0.1 -U postgres -qXc "drop database if exists $db" >/dev/null 2>&1' EXIT
LEDGERFLOW_EVENT_STORE_URL=postgres://postgres@127.0.0.1:5432/$db "$BIN" migrate >/dev/null
psql -h 127.0.0.1 -U postgres -qX -d $db >/dev/null <<SQL
create sequence floor_versions; create sequence floor_system; create sequence floor_events; create sequence floor_nonce;
insert into accounts (id, app_id, owner_id, asset, balance, version, updated_at, hash)
  select md5('@floor:system' || c)::uuid, md5('floor-app')::uuid, '@floor:system' || c, 'CREDIT', '0', 0, 0, ''
  from generate_series(0, $C - 1) c;
checkpoint;
SQL
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
b0=$(busy)
out=$(PGOPTIONS='-c enable_seqscan=off' pgbench -h 127.0.0.1 -U postgres -n -f "${FILE:-$ROOT/bench/pg_floor_batch.sql}" -D n=$N -D owners=$OWNERS -D clients=$C -D reads=${READS:-0} -D probes=${PROBES:-1} -D folded=${FOLDED:-0} \
  -c $C -j $C --max-tries=20 -T "$T" $db 2>/dev/null)
b1=$(busy); hz=$(getconf CLK_TCK)
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
retried=$(sed -n 's/^number of transactions retried: [0-9]* (\([0-9.]*\)%).*/\1/p' <<<"$out")
python3 -c "n = float('$tps') * $N; print('ledgerflow-rows-pg batch $N entries/s', round(n), 'busy_us_per_entry', round(($b1 - $b0) / $hz * 1e6 / (n * $T)), 'retried_pct', float('${retried:-0}'))"
