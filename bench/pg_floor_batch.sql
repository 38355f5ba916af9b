-- One batch of :n uniform CREDIT_ADD entries: the rows ledgerflow writes for them in
-- PostgreSQL embedded mode (see bench/pg_floor.sh). Ids are time-ordered, as UUIDv7 is.
-- An entry's transitions travel in its own row (`state`, `events`), as the service writes
-- a batch's new entries. With FOLDED=1 (:folded), two tables' rows are left out as well:
-- no lots or app_events row per entry, and event_seqs takes a number per batch: what
-- PostgreSQL alone would write for a data model folded that far.
-- Each pgbench client posts against a system account of its own (:client_id, 0 alone),
-- to owners of its own (those whose number modulo the clients is its own), as batch writers
-- that commands are routed to by owner would. Nonces are numbered as the load generator's
-- 64 clients number theirs, so that each writer's probes land beside the other's inserts.
\set base random(1, 1000000000)
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT version FROM accounts WHERE id = md5('@floor:system' || :client_id)::uuid;
SELECT nextval('floor_nonce') AS blk \gset
-- With READS=1 (bench/pg_floor.sh), what a batch reads first: its nonces (one probe of the
-- unique index each), its heads, its app's event number. PROBES=0 leaves the nonce probes
-- out: nonces claimed by the entries' insert alone, its unique index refusing a taken one.
\if :reads
\if :probes
SELECT e.id FROM generate_series(1, :n) g CROSS JOIN LATERAL (SELECT id, request_hash FROM entries WHERE entries.app_id = md5('floor-app')::uuid AND entries.nonce = 'run-' || (((:base + g) % 64)::bigint * 1000000000 + :blk * 64 + g) LIMIT 1) e;
\endif
SELECT * FROM accounts WHERE id = ANY (ARRAY(SELECT md5('floor-' || ((((:base + g * 7919) % (:owners / :clients)) * :clients) + :client_id))::uuid FROM generate_series(1, :n) g));
SELECT * FROM event_seqs WHERE app_id = md5('floor-app' || :client_id)::uuid;
\endif
\if :folded
WITH e AS (
  INSERT INTO entries (id, app_id, nonce, request_hash, operation, owner_id, asset, amount, is_async, created_at, state, events)
  SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid,
         md5('floor-app')::uuid, 'run-' || (((:base + g) % 64)::bigint * 1000000000 + :blk * 64 + g), repeat('ab', 32), 'CREDIT_ADD',
         'floor-' || ((((:base + g * 7919) % (:owners / :clients)) * :clients) + :client_id), 'CREDIT', '1.00', false, t.at, 'completed',
         '[{"seq":0,"state":"received","at":' || t.at || '},{"seq":1,"state":"validating","at":' || t.at || '},{"seq":2,"state":"nonce_check","at":' || t.at || '},{"seq":3,"state":"balance_check","at":' || t.at || '},{"seq":4,"state":"processing","at":' || t.at || '},{"seq":5,"state":"completed","at":' || t.at || '}]'
  FROM generate_series(1, :n) g, (SELECT (extract(epoch FROM clock_timestamp()) * 1e6)::bigint AS at) t
  RETURNING id, owner_id, created_at
), p AS (
  INSERT INTO postings (account_id, version, entry_id, app_id, owner_id, asset, amount, balance_after, recorded_at, prev_hash, hash)
  SELECT md5(owner_id)::uuid, nextval('floor_versions'), id, md5('floor-app')::uuid, owner_id, 'CREDIT', '1.00', '1.00', created_at, repeat('ab', 32), repeat('cd', 32) FROM e
  UNION ALL
  SELECT md5('@floor:system' || :client_id)::uuid, nextval('floor_system'), id, md5('floor-app')::uuid, '@floor:system' || :client_id, 'CREDIT', '-1.00', '-1.00', created_at, repeat('ab', 32), repeat('cd', 32) FROM e
  RETURNING 1
), h AS (
  INSERT INTO accounts (id, app_id, owner_id, asset, balance, version, updated_at, hash)
  SELECT DISTINCT ON (owner_id) md5(owner_id)::uuid, md5('floor-app')::uuid, owner_id, 'CREDIT', '1.00', 1, created_at, repeat('cd', 32) FROM e
  ON CONFLICT (id) DO UPDATE SET version = accounts.version + 1, balance = excluded.balance, updated_at = excluded.updated_at, hash = excluded.hash
  RETURNING 1
)
SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM h);
\else
WITH e AS (
  INSERT INTO entries (id, app_id, nonce, request_hash, operation, owner_id, asset, amount, is_async, created_at, state, events)
  SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid,
         md5('floor-app')::uuid, 'run-' || (((:base + g) % 64)::bigint * 1000000000 + :blk * 64 + g), repeat('ab', 32), 'CREDIT_ADD',
         'floor-' || ((((:base + g * 7919) % (:owners / :clients)) * :clients) + :client_id), 'CREDIT', '1.00', false, t.at, 'completed',
         '[{"seq":0,"state":"received","at":' || t.at || '},{"seq":1,"state":"validating","at":' || t.at || '},{"seq":2,"state":"nonce_check","at":' || t.at || '},{"seq":3,"state":"balance_check","at":' || t.at || '},{"seq":4,"state":"processing","at":' || t.at || '},{"seq":5,"state":"completed","at":' || t.at || '}]'
  FROM generate_series(1, :n) g, (SELECT (extract(epoch FROM clock_timestamp()) * 1e6)::bigint AS at) t
  RETURNING id, owner_id, created_at
), p AS (
  INSERT INTO postings (account_id, version, entry_id, app_id, owner_id, asset, amount, balance_after, recorded_at, prev_hash, hash)
  SELECT md5(owner_id)::uuid, nextval('floor_versions'), id, md5('floor-app')::uuid, owner_id, 'CREDIT', '1.00', '1.00', created_at, repeat('ab', 32), repeat('cd', 32) FROM e
  UNION ALL
  SELECT md5('@floor:system' || :client_id)::uuid, nextval('floor_system'), id, md5('floor-app')::uuid, '@floor:system' || :client_id, 'CREDIT', '-1.00', '-1.00', created_at, repeat('ab', 32), repeat('cd', 32) FROM e
  RETURNING 1
), l AS (
  INSERT INTO lots (id, account_id, entry_id, category, priority, created_at, amount, counter_account, remaining, status)
  SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid,
         md5(owner_id)::uuid, id, 'paid', 50, created_at, '1.00', '@system:purchases', '1.00', 'open' FROM e
  RETURNING 1
), a AS (
  INSERT INTO app_events (app_id, seq, id, event_type, owner_id, occurred_at, entry_id, data)
  SELECT md5('floor-app')::uuid, nextval('floor_events'), (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid,
         'entry.completed', owner_id, created_at, id,
         '{"amount":"1.00","asset":"CREDIT","balance_after":"1.00","created_at":"2026-12-05T04:50:30.225738Z","id":"' || id || '","nonce":"a151699ee583492fafe28f788e9df39c-43000000000","operation":"CREDIT_ADD","owner_id":"' || owner_id || '","state":"completed","version":1}' FROM e
  RETURNING 1
), h AS (
  INSERT INTO accounts (id, app_id, owner_id, asset, balance, version, updated_at, hash)
  SELECT DISTINCT ON (owner_id) md5(owner_id)::uuid, md5('floor-app')::uuid, owner_id, 'CREDIT', '1.00', 1, created_at, repeat('cd', 32) FROM e
  ON CONFLICT (id) DO UPDATE SET version = accounts.version + 1, balance = excluded.balance, updated_at = excluded.updated_at, hash = excluded.hash
  RETURNING 1
)
SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM l), (SELECT count(*) FROM a), (SELECT count(*) FROM h);
\endif
UPDATE accounts SET version = version + :n, updated_at = updated_at + 1 WHERE id = md5('@floor:system' || :client_id)::uuid;
\if :folded
INSERT INTO event_seqs VALUES (md5('floor-app' || :client_id)::uuid, :base) ON CONFLICT (app_id) DO UPDATE SET seq = excluded.seq;
\else
INSERT INTO event_seqs VALUES (md5('floor-app' || :client_id)::uuid, currval('floor_events')) ON CONFLICT (app_id) DO UPDATE SET seq = excluded.seq;
\endif
INSERT INTO rm_checkpoints VALUES ('in-process' || :client_id, :base, 0, 0) ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at;
COMMIT;
