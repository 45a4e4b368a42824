/**
 * The emulator's catalog inside the backend database: tables for captured changes, stamped events,
 * the hybrid-logical clock, settings, zones and jobs in schema `_crdb_emulator`, read-only views in
 * schema `crdb_internal`, and the PL/pgSQL functions that rewritten CockroachDB statements call.
 * Both schema names are excluded from capture. Everything here is idempotent (IF NOT EXISTS /
 * OR REPLACE) and runs in one transaction under an advisory lock, so a second emulator starting on
 * the same backend, or a restart over a persistent one, converges on the same catalog.
 *
 * Time: wall = nanoseconds since the epoch (microsecond resolution from clock_timestamp()),
 * logical = HLC counter. A stamping pass that starts at wall time W and assigns up to M closes
 * everything at or below max(W, M): every later stamp is strictly greater.
 */

export const CATALOG_VERSION = '1';
export const SCHEMA = '_crdb_emulator';

const DOCS_VERSION = 'v25.4';

export const CATALOG_SQL = String.raw`
SELECT pg_advisory_xact_lock(7263540021);
CREATE SCHEMA IF NOT EXISTS _crdb_emulator;
CREATE SCHEMA IF NOT EXISTS crdb_internal;

CREATE TABLE IF NOT EXISTS _crdb_emulator.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE SEQUENCE IF NOT EXISTS _crdb_emulator.change_seq;
CREATE SEQUENCE IF NOT EXISTS _crdb_emulator.rowid_seq;

-- Row changes appended by the capture trigger, not yet stamped (may belong to open transactions).
CREATE TABLE IF NOT EXISTS _crdb_emulator.changes (
  seq bigint PRIMARY KEY DEFAULT nextval('_crdb_emulator.change_seq'),
  txid bigint NOT NULL DEFAULT txid_current(),
  relid oid NOT NULL,
  key jsonb NOT NULL,
  after jsonb,
  before jsonb
);

-- Committed changes with their transaction's HLC; what changefeeds read.
CREATE TABLE IF NOT EXISTS _crdb_emulator.events (
  wall bigint NOT NULL,
  logical integer NOT NULL,
  seq bigint NOT NULL,
  relid oid NOT NULL,
  key jsonb NOT NULL,
  after jsonb,
  before jsonb,
  PRIMARY KEY (wall, logical, seq)
);
CREATE INDEX IF NOT EXISTS events_by_table ON _crdb_emulator.events (relid, wall, logical, seq);

CREATE TABLE IF NOT EXISTS _crdb_emulator.clock (
  id integer PRIMARY KEY CHECK (id = 1),
  last_wall bigint NOT NULL,
  last_logical integer NOT NULL,
  closed_wall bigint NOT NULL,
  closed_logical integer NOT NULL
);
INSERT INTO _crdb_emulator.clock VALUES (1, 0, 0, 0, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS _crdb_emulator.setting_defs (
  name text PRIMARY KEY,
  type text NOT NULL,
  default_text text NOT NULL,
  default_micros bigint,
  description text NOT NULL,
  public boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS _crdb_emulator.settings (name text PRIMARY KEY, value_text text NOT NULL, value_micros bigint);

CREATE TABLE IF NOT EXISTS _crdb_emulator.zones (
  kind text NOT NULL,
  name text NOT NULL,
  relid oid,
  config jsonb NOT NULL,
  PRIMARY KEY (kind, name)
);

CREATE TABLE IF NOT EXISTS _crdb_emulator.jobs (
  id bigint PRIMARY KEY,
  job_type text NOT NULL,
  description text NOT NULL,
  user_name text NOT NULL,
  status text NOT NULL,
  running_status text,
  created timestamptz NOT NULL DEFAULT now(),
  started timestamptz,
  finished timestamptz,
  modified timestamptz NOT NULL DEFAULT now(),
  hw_wall bigint,
  hw_logical integer,
  error text NOT NULL DEFAULT '',
  sink_uri text NOT NULL,
  sink_uri_redacted text NOT NULL,
  format text NOT NULL,
  targets jsonb NOT NULL,
  options jsonb NOT NULL,
  start_wall bigint NOT NULL,
  start_logical integer NOT NULL,
  initial_scan text NOT NULL,
  scan_pending boolean NOT NULL,
  resolved_wall bigint,
  resolved_logical integer
);

-- ---------------------------------------------------------------- time
CREATE OR REPLACE FUNCTION _crdb_emulator.now_wall() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT (floor(extract(epoch FROM clock_timestamp()) * 1000000))::bigint * 1000
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.hlc_decimal(w bigint, l integer) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
  SELECT (w::text || '.' || lpad(l::text, 10, '0'))::numeric
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.hlc_status(w bigint, l integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT (w / 1000000000)::text || '.' || lpad((w % 1000000000)::text, 9, '0') || ',' || l::text
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.meta_get(k text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT value FROM _crdb_emulator.meta WHERE key = k
$$;

-- ---------------------------------------------------------------- capture
CREATE OR REPLACE FUNCTION _crdb_emulator.capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_new jsonb;
  v_old jsonb;
  v_new_key jsonb := '[]'::jsonb;
  v_old_key jsonb := '[]'::jsonb;
  v_rel oid := TG_ARGV[0]::oid;  -- the root table, also for rows of a partition
  i integer;
BEGIN
  IF TG_OP <> 'DELETE' THEN v_new := to_jsonb(NEW); END IF;
  IF TG_OP <> 'INSERT' THEN v_old := to_jsonb(OLD); END IF;
  FOR i IN 1 .. TG_NARGS - 1 LOOP
    IF v_new IS NOT NULL THEN v_new_key := v_new_key || jsonb_build_array(v_new -> TG_ARGV[i]); END IF;
    IF v_old IS NOT NULL THEN v_old_key := v_old_key || jsonb_build_array(v_old -> TG_ARGV[i]); END IF;
  END LOOP;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO _crdb_emulator.changes (relid, key, after, before) VALUES (v_rel, v_new_key, v_new, NULL);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO _crdb_emulator.changes (relid, key, after, before) VALUES (v_rel, v_old_key, NULL, v_old);
  ELSIF v_new_key = v_old_key THEN
    INSERT INTO _crdb_emulator.changes (relid, key, after, before) VALUES (v_rel, v_new_key, v_new, v_old);
  ELSE
    -- A primary-key change is a delete of the old key and an insert of the new one, as in CockroachDB.
    INSERT INTO _crdb_emulator.changes (relid, key, after, before) VALUES (v_rel, v_old_key, NULL, v_old);
    INSERT INTO _crdb_emulator.changes (relid, key, after, before) VALUES (v_rel, v_new_key, v_new, NULL);
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.key_columns(rel oid) RETURNS text[] LANGUAGE sql STABLE AS $$
  SELECT COALESCE(
    (SELECT array_agg(a.attname::text ORDER BY k.ord)
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = rel AND i.indisprimary),
    (SELECT array_agg(a.attname::text ORDER BY a.attnum)
       FROM pg_attribute a WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped))
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.is_user_schema(nsp name) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT nsp NOT IN ('pg_catalog', 'information_schema')
     AND nsp::text NOT LIKE 'pg\_%'
     AND nsp::text NOT LIKE '\_%'
     AND nsp::text NOT LIKE 'crdb\_internal%'
$$;

-- Installs (or refreshes, when the primary key changed) the capture trigger on every user table.
-- Robust by design: a table it cannot handle gets a WARNING, never an aborted transaction.
CREATE OR REPLACE PROCEDURE _crdb_emulator.install_capture(background boolean DEFAULT false) LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_want text[];
  v_have text[];
BEGIN
  IF background THEN PERFORM set_config('lock_timeout', '2s', true); END IF;
  FOR r IN
    SELECT c.oid, n.nspname, c.relname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'
       AND _crdb_emulator.is_user_schema(n.nspname)
  LOOP
    BEGIN
      v_want := ARRAY[r.oid::text] || _crdb_emulator.key_columns(r.oid);
      SELECT array_remove(string_to_array(encode(t.tgargs, 'escape'), '\000'), '') INTO v_have
        FROM pg_trigger t WHERE t.tgrelid = r.oid AND t.tgname = '_crdb_emulator_capture';
      IF v_have IS DISTINCT FROM v_want THEN
        IF v_have IS NOT NULL THEN
          EXECUTE format('DROP TRIGGER _crdb_emulator_capture ON %I.%I', r.nspname, r.relname);
        END IF;
        EXECUTE format('CREATE TRIGGER _crdb_emulator_capture AFTER INSERT OR UPDATE OR DELETE ON %I.%I FOR EACH ROW EXECUTE FUNCTION _crdb_emulator.capture(%s)',
          r.nspname, r.relname, (SELECT string_agg(quote_literal(a), ', ') FROM unnest(v_want) a));
      END IF;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'CockroachDB emulator: changes of %.% cannot be captured: %', r.nspname, r.relname, SQLERRM;
    END;
  END LOOP;
END
$$;

-- ---------------------------------------------------------------- stamping
-- Moves committed changes into events, one HLC per source transaction, transactions ordered by their
-- highest change sequence number (keeps per-key order and FK causality). Only the last write to a
-- row inside one transaction survives, with the row's image from before the transaction.
CREATE OR REPLACE FUNCTION _crdb_emulator.stamp_pass(skip_locked boolean DEFAULT false) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_clock _crdb_emulator.clock%ROWTYPE;
  v_w bigint;
  v_own bigint := txid_current_if_assigned();
  v_bw bigint;
  v_bl integer;
  v_ntx integer;
  v_nev integer;
BEGIN
  IF skip_locked THEN
    SELECT * INTO v_clock FROM _crdb_emulator.clock WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN RETURN -1; END IF;
  ELSE
    SELECT * INTO v_clock FROM _crdb_emulator.clock WHERE id = 1 FOR UPDATE;
  END IF;
  v_w := _crdb_emulator.now_wall();
  IF v_w > v_clock.closed_wall THEN
    v_bw := v_w; v_bl := 0;
  ELSE
    v_bw := v_clock.closed_wall; v_bl := v_clock.closed_logical + 1;
  END IF;
  WITH moved AS (
    DELETE FROM _crdb_emulator.changes ch WHERE v_own IS NULL OR ch.txid <> v_own
    RETURNING ch.seq, ch.txid, ch.relid, ch.key, ch.after, ch.before
  ), txns AS (
    SELECT m.txid, (row_number() OVER (ORDER BY max(m.seq)) - 1)::integer AS k FROM moved m GROUP BY m.txid
  ), collapsed AS (
    SELECT DISTINCT ON (m.txid, m.relid, m.key) m.txid, m.relid, m.key, m.after, m.seq,
           first_value(m.before) OVER (PARTITION BY m.txid, m.relid, m.key ORDER BY m.seq) AS before_tx
      FROM moved m
     ORDER BY m.txid, m.relid, m.key, m.seq DESC
  ), ins AS (
    INSERT INTO _crdb_emulator.events (wall, logical, seq, relid, key, after, before)
    SELECT v_bw, v_bl + t.k, c.seq, c.relid, c.key, c.after, c.before_tx FROM collapsed c JOIN txns t ON t.txid = c.txid
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM txns), (SELECT count(*) FROM ins) INTO v_ntx, v_nev;
  IF v_ntx > 0 THEN
    UPDATE _crdb_emulator.clock SET last_wall = v_bw, last_logical = v_bl + v_ntx - 1,
           closed_wall = v_bw, closed_logical = v_bl + v_ntx - 1 WHERE id = 1;
  ELSIF v_w > v_clock.closed_wall THEN
    UPDATE _crdb_emulator.clock SET closed_wall = v_w, closed_logical = 0 WHERE id = 1;
  END IF;
  RETURN v_nev;
END
$$;

-- A fresh timestamp above everything stamped so far, after stamping what is committed: the statement
-- time of CREATE CHANGEFEED and the value of cluster_logical_timestamp().
CREATE OR REPLACE FUNCTION _crdb_emulator.fresh_hlc(OUT o_wall bigint, OUT o_logical integer) LANGUAGE plpgsql AS $$
DECLARE
  v_clock _crdb_emulator.clock%ROWTYPE;
  v_w bigint;
BEGIN
  PERFORM _crdb_emulator.stamp_pass(false);
  SELECT * INTO v_clock FROM _crdb_emulator.clock WHERE id = 1 FOR UPDATE;
  v_w := _crdb_emulator.now_wall();
  IF v_w > v_clock.closed_wall THEN
    o_wall := v_w; o_logical := 0;
  ELSE
    o_wall := v_clock.closed_wall; o_logical := v_clock.closed_logical + 1;
  END IF;
  UPDATE _crdb_emulator.clock SET last_wall = o_wall, last_logical = o_logical, closed_wall = o_wall, closed_logical = o_logical WHERE id = 1;
END
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.cluster_logical_timestamp() RETURNS numeric LANGUAGE sql VOLATILE AS $$
  SELECT _crdb_emulator.hlc_decimal(f.o_wall, f.o_logical) FROM _crdb_emulator.fresh_hlc() f
$$;

-- ---------------------------------------------------------------- small builtins
CREATE OR REPLACE FUNCTION _crdb_emulator.version() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT 'CockroachDB CCL v25.4.0 (x86_64-pc-linux-gnu, built 2025/11/17 12:00:00, go1.23.12) '
      || '[molt-failback CockroachDB emulator; backend: '
      || COALESCE(_crdb_emulator.meta_get('backend_kind') || ', ', '') || pg_catalog.version() || ']'
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.current_database() RETURNS name LANGUAGE sql STABLE AS $$
  SELECT 'defaultdb'::name
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.unique_rowid() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT ((floor(extract(epoch FROM clock_timestamp()) * 100000))::bigint << 15)
       | (nextval('_crdb_emulator.rowid_seq') % 32768)
$$;

CREATE OR REPLACE PROCEDURE _crdb_emulator.raise(code text, message text, hint text DEFAULT NULL) LANGUAGE plpgsql AS $$
BEGIN
  IF hint IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
  ELSE
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, HINT = hint;
  END IF;
END
$$;

-- The same inside expressions ([SHOW ...] sources, deferred SQL that must return rows).
CREATE OR REPLACE FUNCTION _crdb_emulator.raise_fn(code text, message text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END
$$;

CREATE OR REPLACE PROCEDURE _crdb_emulator.noop() LANGUAGE plpgsql AS $$ BEGIN END $$;

-- Runs SQL built by the emulator at Bind time for statements whose values came as placeholders.
CREATE OR REPLACE PROCEDURE _crdb_emulator.exec_deferred(sql text) LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
END
$$;
CREATE OR REPLACE FUNCTION _crdb_emulator.exec_deferred_job(sql text) RETURNS TABLE (job_id bigint) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE sql;
END
$$;

-- ---------------------------------------------------------------- settings
DROP VIEW IF EXISTS crdb_internal.cluster_settings;
DROP VIEW IF EXISTS _crdb_emulator.cluster_settings;
CREATE VIEW _crdb_emulator.cluster_settings AS
SELECT d.name AS variable,
       COALESCE(s.value_text, d.default_text) AS value,
       d.type AS setting_type,
       d.public,
       d.description,
       d.default_text AS default_value,
       CASE WHEN s.name IS NULL THEN 'default' ELSE 'override' END AS origin,
       COALESCE(s.value_micros, d.default_micros) AS micros
  FROM _crdb_emulator.setting_defs d LEFT JOIN _crdb_emulator.settings s ON s.name = d.name;
CREATE VIEW crdb_internal.cluster_settings AS
SELECT variable, value, setting_type AS type, public, description, default_value, origin FROM _crdb_emulator.cluster_settings;

CREATE OR REPLACE FUNCTION _crdb_emulator.setting_text(n text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT value FROM _crdb_emulator.cluster_settings WHERE variable = n
$$;
CREATE OR REPLACE FUNCTION _crdb_emulator.setting_interval(n text) RETURNS interval LANGUAGE sql STABLE AS $$
  SELECT (micros::text || ' microseconds')::interval FROM _crdb_emulator.cluster_settings WHERE variable = n
$$;

CREATE OR REPLACE PROCEDURE _crdb_emulator.set_cluster_setting(n text, v text, micros bigint) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO _crdb_emulator.settings (name, value_text, value_micros) VALUES (n, v, micros)
  ON CONFLICT (name) DO UPDATE SET value_text = EXCLUDED.value_text, value_micros = EXCLUDED.value_micros;
END
$$;
CREATE OR REPLACE PROCEDURE _crdb_emulator.reset_cluster_setting(n text) LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM _crdb_emulator.settings WHERE name = n;
END
$$;

-- ---------------------------------------------------------------- zones
CREATE OR REPLACE FUNCTION _crdb_emulator.zone_builtin() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT '{"range_min_bytes": 134217728, "range_max_bytes": 536870912, "gc.ttlseconds": 14400, "num_replicas": 3, "constraints": "[]", "lease_preferences": "[]"}'::jsonb
$$;

-- A table's zone name as CockroachDB prints it (defaultdb.<schema>.<table>).
CREATE OR REPLACE FUNCTION _crdb_emulator.zone_table_name(p_regclass text, p_display text) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_rel oid := to_regclass(p_regclass);
  v_name text;
BEGIN
  IF v_rel IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42P01', MESSAGE = format('relation "%s" does not exist', p_display);
  END IF;
  SELECT 'defaultdb.' || n.nspname || '.' || c.relname INTO v_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = v_rel;
  RETURN v_name;
END
$$;

CREATE OR REPLACE PROCEDURE _crdb_emulator.configure_zone(p_kind text, p_name text, p_relid oid, p_set jsonb, p_unset text[]) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO _crdb_emulator.zones AS z (kind, name, relid, config) VALUES (p_kind, p_name, p_relid, p_set - p_unset)
  ON CONFLICT (kind, name) DO UPDATE SET config = (z.config || EXCLUDED.config) - p_unset, relid = EXCLUDED.relid;
END
$$;
CREATE OR REPLACE PROCEDURE _crdb_emulator.discard_zone(p_kind text, p_name text) LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM _crdb_emulator.zones WHERE kind = p_kind AND name = p_name;
END
$$;

-- Effective zone of a target and the object it is inherited from (a table without its own zone
-- shows its database's, or RANGE default).
CREATE OR REPLACE FUNCTION _crdb_emulator.zone_effective(p_kind text, p_name text, OUT o_target text, OUT o_config jsonb) LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_range jsonb := COALESCE((SELECT config FROM _crdb_emulator.zones WHERE kind = 'RANGE' AND name = 'default'), '{}');
  v_db jsonb := (SELECT config FROM _crdb_emulator.zones WHERE kind = 'DATABASE' AND name = 'defaultdb');
  v_tab jsonb;
BEGIN
  o_config := _crdb_emulator.zone_builtin() || v_range;
  o_target := 'RANGE default';
  IF p_kind = 'RANGE' THEN RETURN; END IF;
  IF v_db IS NOT NULL THEN
    o_config := o_config || v_db;
    o_target := 'DATABASE defaultdb';
  END IF;
  IF p_kind = 'TABLE' THEN
    v_tab := (SELECT config FROM _crdb_emulator.zones WHERE kind = 'TABLE' AND name = p_name);
    IF v_tab IS NOT NULL THEN
      o_config := o_config || v_tab;
      o_target := 'TABLE ' || p_name;
    END IF;
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.zone_sql(p_target text, p_config jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'ALTER ' || p_target || ' CONFIGURE ZONE USING' || E'\n\t' || string_agg(
           k || ' = ' || CASE WHEN jsonb_typeof(p_config -> k) = 'string' THEN quote_literal(p_config ->> k) ELSE p_config ->> k END,
           E',\n\t' ORDER BY o)
    FROM unnest(ARRAY['range_min_bytes', 'range_max_bytes', 'gc.ttlseconds', 'global_reads', 'num_replicas', 'num_voters',
                      'constraints', 'voter_constraints', 'lease_preferences']) WITH ORDINALITY AS u(k, o)
   WHERE p_config ? k
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.show_zone(p_kind text, p_name text) RETURNS TABLE (target text, raw_config_sql text) LANGUAGE sql STABLE AS $$
  SELECT e.o_target, _crdb_emulator.zone_sql(e.o_target, e.o_config) FROM _crdb_emulator.zone_effective(p_kind, p_name) e
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.show_zones() RETURNS TABLE (target text, raw_config_sql text) LANGUAGE sql STABLE AS $$
  SELECT s.target, s.raw_config_sql FROM _crdb_emulator.show_zone('RANGE', 'default') s
  UNION ALL
  SELECT s.target, s.raw_config_sql FROM _crdb_emulator.zones z, _crdb_emulator.show_zone(z.kind, z.name) s WHERE z.kind <> 'RANGE'
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.ttl_for(p_relid oid) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT (e.o_config ->> 'gc.ttlseconds')::bigint
    FROM _crdb_emulator.zone_effective(
           CASE WHEN EXISTS (SELECT 1 FROM _crdb_emulator.zones WHERE kind = 'TABLE' AND relid = p_relid) THEN 'TABLE' ELSE 'DATABASE' END,
           COALESCE((SELECT name FROM _crdb_emulator.zones WHERE kind = 'TABLE' AND relid = p_relid LIMIT 1), 'defaultdb')) e
$$;

-- GC threshold of a table: nothing below it can be read (history starts when capture started).
CREATE OR REPLACE FUNCTION _crdb_emulator.gc_threshold(p_relid oid) RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT greatest(COALESCE(_crdb_emulator.meta_get('history_start_wall')::bigint, 0),
                  _crdb_emulator.now_wall() - _crdb_emulator.ttl_for(p_relid) * 1000000000)
$$;

-- ---------------------------------------------------------------- jobs
DROP VIEW IF EXISTS crdb_internal.jobs;
DROP VIEW IF EXISTS _crdb_emulator.changefeed_jobs;
CREATE VIEW _crdb_emulator.changefeed_jobs AS
SELECT j.id AS job_id,
       j.description,
       j.user_name,
       j.status,
       j.running_status,
       j.created,
       j.started,
       j.finished,
       j.modified,
       CASE WHEN j.hw_wall IS NULL THEN NULL ELSE _crdb_emulator.hlc_decimal(j.hw_wall, j.hw_logical) END AS high_water_timestamp,
       CASE WHEN j.hw_wall IS NULL THEN NULL ELSE timestamptz 'epoch' + (j.hw_wall / 1000) * interval '1 microsecond' END AS readable_high_water_timestamptz,
       j.error,
       j.sink_uri_redacted AS sink_uri,
       ARRAY(SELECT t ->> 'full_name' FROM jsonb_array_elements(j.targets) t) AS full_table_names,
       (SELECT string_agg(t ->> 'topic', ',') FROM jsonb_array_elements(j.targets) t) AS topics,
       j.format
  FROM _crdb_emulator.jobs j
 WHERE j.job_type = 'CHANGEFEED';

CREATE VIEW crdb_internal.jobs AS
SELECT j.id AS job_id,
       j.job_type,
       j.description,
       j.description AS statement,
       j.user_name,
       j.status,
       j.running_status,
       j.created,
       j.started,
       j.finished,
       j.modified,
       CASE WHEN j.status = 'succeeded' THEN 1.0::float8 ELSE 0.0::float8 END AS fraction_completed,
       CASE WHEN j.hw_wall IS NULL THEN NULL ELSE _crdb_emulator.hlc_decimal(j.hw_wall, j.hw_logical) END AS high_water_timestamp,
       j.error,
       1::int8 AS coordinator_id
  FROM _crdb_emulator.jobs j;

CREATE OR REPLACE FUNCTION _crdb_emulator.create_changefeed(spec jsonb) RETURNS TABLE (job_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_stmt record;
  v_cw bigint;
  v_cl integer;
  v_cursor jsonb := spec -> 'cursor';
  v_text text;
  v_ts timestamptz;
  v_iv interval;
  v_t jsonb;
  v_rel oid;
  v_targets jsonb := '[]'::jsonb;
  v_nsp text;
  v_relname text;
  v_kind "char";
  v_thr bigint;
  v_id bigint;
  v_scan boolean := (spec ->> 'initial_scan') IN ('yes', 'only');
  v_notice text;
BEGIN
  SELECT * INTO v_stmt FROM _crdb_emulator.fresh_hlc();
  -- cursor, like AS OF SYSTEM TIME: decimal HLC, timestamp, or interval relative to statement time
  IF v_cursor IS NULL OR jsonb_typeof(v_cursor) = 'null' THEN
    v_cw := v_stmt.o_wall; v_cl := v_stmt.o_logical;
  ELSIF v_cursor ? 'wall' THEN
    v_cw := (v_cursor ->> 'wall')::bigint; v_cl := (v_cursor ->> 'logical')::integer;
  ELSE
    v_text := v_cursor ->> 'text';
    BEGIN
      v_ts := v_text::timestamptz;
      v_cw := (floor(extract(epoch FROM v_ts) * 1000000))::bigint * 1000; v_cl := 0;
    EXCEPTION WHEN OTHERS THEN
      BEGIN
        v_iv := v_text::interval;
        v_cw := v_stmt.o_wall + (floor(extract(epoch FROM v_iv) * 1000000))::bigint * 1000; v_cl := 0;
      EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION USING ERRCODE = 'XXUUU', MESSAGE = 'AS OF SYSTEM TIME: value is neither timestamp, decimal, nor interval';
      END;
    END;
    IF v_cw < 0 THEN
      RAISE EXCEPTION USING ERRCODE = 'XXUUU', MESSAGE = 'AS OF SYSTEM TIME: timestamp before 1970-01-01T00:00:00Z is invalid';
    END IF;
  END IF;
  IF v_cw = 0 AND v_cl = 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'XXUUU', MESSAGE = 'AS OF SYSTEM TIME: zero timestamp is invalid';
  END IF;

  -- targets, resolved once to table OIDs (a rename later does not change the topic)
  FOR v_t IN SELECT * FROM jsonb_array_elements(spec -> 'targets') LOOP
    v_rel := to_regclass(v_t ->> 'name');
    IF v_rel IS NOT NULL THEN
      SELECT n.nspname, c.relname, c.relkind INTO v_nsp, v_relname, v_kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = v_rel;
    END IF;
    IF v_rel IS NULL OR v_kind NOT IN ('r', 'p') OR NOT _crdb_emulator.is_user_schema(v_nsp::name) THEN
      RAISE EXCEPTION USING ERRCODE = '42P01',
        MESSAGE = format('failed to resolve targets in the CHANGEFEED stmt: table "%s" does not exist', v_t ->> 'display');
    END IF;
    v_targets := v_targets || jsonb_build_array(jsonb_build_object(
      'relid', v_rel::bigint,
      'schema', v_nsp,
      'table', v_relname,
      'full_name', 'defaultdb.' || v_nsp || '.' || v_relname,
      'topic', CASE WHEN (spec ->> 'full_table_name')::boolean THEN 'defaultdb.' || v_nsp || '.' || v_relname ELSE v_relname END,
      'key_columns', to_jsonb(_crdb_emulator.key_columns(v_rel)),
      'columns', (SELECT jsonb_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = v_rel AND a.attnum > 0 AND NOT a.attisdropped)));
  END LOOP;

  IF NOT COALESCE(_crdb_emulator.setting_text('kv.rangefeed.enabled')::boolean, false) THEN
    RAISE EXCEPTION USING ERRCODE = 'XXUUU',
      MESSAGE = 'rangefeeds require the kv.rangefeed.enabled setting. See https://www.cockroachlabs.com/docs/${DOCS_VERSION}/create-and-configure-changefeeds.html#enable-rangefeeds';
  END IF;
  IF spec -> 'sink_error' IS NOT NULL AND jsonb_typeof(spec -> 'sink_error') <> 'null' THEN
    RAISE EXCEPTION USING ERRCODE = spec -> 'sink_error' ->> 'code', MESSAGE = spec -> 'sink_error' ->> 'message';
  END IF;

  IF v_cursor IS NOT NULL AND jsonb_typeof(v_cursor) <> 'null' THEN
    FOR v_t IN SELECT * FROM jsonb_array_elements(v_targets) LOOP
      v_thr := _crdb_emulator.gc_threshold((v_t ->> 'relid')::oid);
      IF v_cw < v_thr OR (v_cw = v_thr AND v_cl = 0) THEN
        RAISE EXCEPTION USING ERRCODE = 'XXUUU',
          MESSAGE = format('batch timestamp %s must be after replica GC threshold %s',
                           _crdb_emulator.hlc_status(v_cw, v_cl), _crdb_emulator.hlc_status(v_thr, 0));
      END IF;
    END LOOP;
  END IF;

  v_id := _crdb_emulator.unique_rowid();
  INSERT INTO _crdb_emulator.jobs (id, job_type, description, user_name, status, started, hw_wall, hw_logical,
         sink_uri, sink_uri_redacted, format, targets, options, start_wall, start_logical, initial_scan, scan_pending)
  VALUES (v_id, 'CHANGEFEED', spec ->> 'description', spec ->> 'user_name', 'running', now(),
          CASE WHEN v_scan THEN NULL ELSE v_cw END, CASE WHEN v_scan THEN NULL ELSE v_cl END,
          spec ->> 'sink_uri', spec ->> 'sink_uri_redacted', spec ->> 'format', v_targets, spec -> 'options',
          v_cw, v_cl, spec ->> 'initial_scan', v_scan);
  FOR v_notice IN SELECT jsonb_array_elements_text(COALESCE(spec -> 'notices', '[]'::jsonb)) LOOP
    RAISE NOTICE '%', v_notice;
  END LOOP;
  RETURN QUERY SELECT v_id;
END
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.control_jobs(p_cmd text, p_ids bigint[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  v_st text;
  v_n bigint := 0;
BEGIN
  FOREACH v_id IN ARRAY COALESCE(p_ids, '{}'::bigint[]) LOOP
    SELECT status INTO v_st FROM _crdb_emulator.jobs WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'XXUUU', MESSAGE = format('job with ID %s does not exist', v_id);
    END IF;
    IF p_cmd = 'pause' THEN
      IF v_st IN ('pause-requested', 'paused') THEN NULL;
      ELSIF v_st IN ('pending', 'running', 'reverting') THEN
        UPDATE _crdb_emulator.jobs SET status = 'pause-requested', modified = now() WHERE id = v_id;
      ELSE
        RAISE EXCEPTION USING ERRCODE = 'XXUUU', MESSAGE = format('job with state %s cannot be requested to be paused', v_st);
      END IF;
    ELSIF p_cmd = 'resume' THEN
      IF v_st IN ('running', 'reverting') THEN NULL;
      ELSIF v_st = 'paused' THEN
        UPDATE _crdb_emulator.jobs SET status = 'running', modified = now() WHERE id = v_id;
      ELSE
        RAISE EXCEPTION USING ERRCODE = 'XXUUU', MESSAGE = format('job with state %s cannot be resumed', v_st);
      END IF;
    ELSE
      IF v_st IN ('cancel-requested', 'canceled') THEN NULL;
      ELSIF v_st IN ('pending', 'running', 'paused') THEN
        UPDATE _crdb_emulator.jobs SET status = 'cancel-requested', modified = now() WHERE id = v_id;
      ELSE
        RAISE EXCEPTION USING ERRCODE = 'XXUUU', MESSAGE = format('job with state %s cannot be requested to be canceled', v_st);
      END IF;
    END IF;
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END
$$;

CREATE OR REPLACE FUNCTION _crdb_emulator.all_jobs_for(p_cmd text, p_type text) RETURNS bigint[] LANGUAGE sql STABLE AS $$
  SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM _crdb_emulator.jobs
   WHERE job_type = p_type
     AND status = ANY (CASE p_cmd WHEN 'pause' THEN ARRAY['pending', 'running'] WHEN 'resume' THEN ARRAY['paused']
                                  ELSE ARRAY['pending', 'running', 'paused'] END)
$$;

-- ---------------------------------------------------------------- garbage collection
CREATE OR REPLACE FUNCTION _crdb_emulator.gc_pass() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_rel oid;
  v_cut bigint;
  v_n bigint := 0;
  v_d bigint;
BEGIN
  FOR v_rel IN SELECT DISTINCT relid FROM _crdb_emulator.events LOOP
    v_cut := _crdb_emulator.now_wall() - _crdb_emulator.ttl_for(v_rel) * 1000000000;
    -- A feed that is not finished protects what it still has to deliver (its protected timestamp).
    SELECT least(v_cut, min(COALESCE(j.hw_wall, j.start_wall))) INTO v_cut
      FROM _crdb_emulator.jobs j, jsonb_array_elements(j.targets) t
     WHERE j.status IN ('pending', 'running', 'paused', 'pause-requested') AND (t ->> 'relid')::oid = v_rel;
    DELETE FROM _crdb_emulator.events WHERE relid = v_rel AND wall < v_cut;
    GET DIAGNOSTICS v_d = ROW_COUNT;
    v_n := v_n + v_d;
  END LOOP;
  DELETE FROM _crdb_emulator.jobs
   WHERE finished IS NOT NULL
     AND finished < now() - COALESCE(_crdb_emulator.setting_interval('jobs.retention_time'), interval '336 hours');
  RETURN v_n;
END
$$;

INSERT INTO _crdb_emulator.meta (key, value) VALUES ('history_start_wall', _crdb_emulator.now_wall()::text) ON CONFLICT (key) DO NOTHING;
INSERT INTO _crdb_emulator.meta (key, value) VALUES ('catalog_version', '${CATALOG_VERSION}')
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
`;
