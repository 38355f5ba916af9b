#!/usr/bin/env python3
"""SQLite alone, on one thread, writing the rows ledgerflow writes for `uniform` batches
(CREDIT_ADD of a random owner among OWNERS): per entry its `entries` row (its transitions
in it), two `postings`, a `lots` row and an `app_events` row (the read model's entries are the
`entries` rows, with its two history indexes: no row of their own since session 16); per
batch the heads of its accounts and of the system account upserted, the app's `event_seqs`
row and the projector's checkpoint. The schema is a store the service made (copied, so
STORE is left as it is): `LEDGERFLOW_EVENT_STORE_URL=sqlite://STORE ledgerflow migrate`.
WAL (checkpointed by SQLite itself, as in the ceiling script; never with CHECKPOINT=0, where
the service's writer leaves it to a task beside it), synchronous=FULL, the writer's
cache_size, BEGIN IMMEDIATE per batch; the SQL text is built before the clock starts, as
`../shared/bench/ceiling-sqlite.py` builds its own.
What-ifs: SKIP=table,… leaves those tables' rows out; DROP=index,… drops those indexes first.
Usage: sqlite_floor.py STORE [BATCHES=300] [OWNERS=10000] [BATCH=32]
Prints: ledgerflow-rows-sqlite batch B owners O entries/s N"""
import os, random, shutil, sqlite3, sys, tempfile, time, uuid
src = sys.argv[1]; batches = int(sys.argv[2]) if len(sys.argv) > 2 else 300
owners = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
BATCH = int(sys.argv[4]) if len(sys.argv) > 4 else 32
d = tempfile.mkdtemp(prefix="lf-floor-"); path = os.path.join(d, "l.db")
s = sqlite3.connect(src); s.execute("PRAGMA wal_checkpoint(TRUNCATE)"); s.close()
shutil.copy(src, path)
db = sqlite3.connect(path, isolation_level=None)
db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-32768; PRAGMA temp_store=memory;")
if os.environ.get("CHECKPOINT") == "0":
    db.execute("PRAGMA wal_autocheckpoint=0")
skip = set(filter(None, os.environ.get("SKIP", "").split(",")))
for index in filter(None, os.environ.get("DROP", "").split(",")):
    db.execute(f'DROP INDEX "{index}"')
app = uuid.uuid4().bytes
sysacc = uuid.uuid4().bytes; sysv = 0
accs = [uuid.uuid4().bytes for _ in range(owners)]; vers = {}
H = "'" + "ab" * 32 + "'"
def x(b): return "x'" + b.hex() + "'"
def v7():
    t = time.time_ns() // 1_000_000
    return t.to_bytes(6, 'big') + os.urandom(10)
scripts = []
now = 1796446230226001
for b in range(batches):
    E, P, L, AE, heads = [], [], [], [], {}
    for i in range(BATCH):
        eid, lid, evid = v7(), v7(), v7(); u = random.randrange(owners); acc = accs[u]
        vers[acc] = vers.get(acc, 0) + 1; sysv += 1; heads[acc] = (vers[acc], f"floor-{u}"); now += 30
        nonce = f"'{uuid.uuid4().hex}-{b}-{i}'"; owner = f"'bench-{u}'"
        evs = '[{"seq":0,"state":"received","at":%d},{"seq":1,"state":"validating","at":%d},{"seq":2,"state":"nonce_check","at":%d},{"seq":3,"state":"balance_check","at":%d},{"seq":4,"state":"processing","at":%d},{"seq":5,"state":"completed","at":%d}]' % ((now,)*6)
        E.append(f"({x(eid)},{x(app)},{nonce},{H},'CREDIT_ADD',{owner},NULL,'CREDIT','1.00',NULL,0,{now},NULL,NULL,NULL,NULL,'completed','{evs}')")
        P.append(f"({x(acc)},{vers[acc]},{x(eid)},{x(app)},{owner},'CREDIT','1.00','{vers[acc]}.00',{now},{H},{H})")
        P.append(f"({x(sysacc)},{sysv},{x(eid)},{x(app)},'@system:purchases','CREDIT','-1.00','-{sysv}.00',{now},{H},{H})")
        L.append(f"({x(lid)},{x(acc)},{x(eid)},'paid',50,NULL,{now},'1.00','@system:purchases','1.00','open',NULL,NULL,NULL)")
        data = '{"amount":"1.00","asset":"CREDIT","balance_after":"1.00","created_at":"2026-12-05T04:50:30.225738Z","id":"%s","nonce":%s,"operation":"CREDIT_ADD","owner_id":%s,"state":"completed","version":1}' % (uuid.UUID(bytes=eid), nonce.replace("'", '"'), owner.replace("'", '"'))
        AE.append(f"({x(app)},{b*BATCH+i+1},{x(evid)},'entry.completed',{owner},{now},{x(eid)},'{data}')")
    heads[sysacc] = (sysv, "@floor:system")
    hs = ",".join(f"({x(a)},{x(app)},'{o}','CREDIT','{v}.00',{v},{now},{H},'0','active',0,0)" for a, (v, o) in heads.items())
    rows = {"entries": E, "postings": P, "lots": L, "app_events": AE}
    scripts.append("BEGIN IMMEDIATE;"
        + "".join(f"INSERT INTO {t} VALUES " + ",".join(r) + ";" for t, r in rows.items()
                  if t not in skip)
        + "INSERT INTO accounts VALUES " + hs + " ON CONFLICT(id) DO UPDATE SET balance=excluded.balance, version=excluded.version, updated_at=excluded.updated_at, hash=excluded.hash;"
        + f"INSERT INTO event_seqs VALUES ({x(app)},{(b+1)*BATCH}) ON CONFLICT(app_id) DO UPDATE SET seq=excluded.seq;"
        + f"INSERT INTO rm_checkpoints VALUES ('in-process',{b},{now},{now}) ON CONFLICT(name) DO UPDATE SET position=excluded.position, last_committed_at=excluded.last_committed_at, updated_at=excluded.updated_at;"
        + "COMMIT;")
t = time.perf_counter()
for sc in scripts:
    db.executescript(sc)
dt = time.perf_counter() - t
db.close(); shutil.rmtree(d, ignore_errors=True)
print("ledgerflow-rows-sqlite batch", BATCH, "owners", owners, "entries/s", round(batches * BATCH / dt))
