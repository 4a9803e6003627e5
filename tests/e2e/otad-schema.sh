#!/usr/bin/env bash
# otad's schema is versioned (SQLite: PRAGMA user_version; PostgreSQL: the
# table schema_version) and migrated forward at start: a fresh store gets
# the current version, a store at version 1 (the first shipped schema, with
# data in it) is brought forward with its data, and a store whose version is
# newer than this otad knows is refused (clear error, exit 1, nothing
# touched).  Runs on the store of the run (OTA_STORE=pg: tests/pg/).
T_NAME=otad-schema
. "$(dirname "$0")/lib.sh"

CURRENT=5   # the number of migrations in server/store_sqlite.c and store_pg.c

make_key
D="$WORK/data"
version() {   # version DIR
    if [ "$OTA_STORE" = pg ]; then dbq "$1" "SELECT version FROM schema_version"
    else dbq "$1" "PRAGMA user_version"; fi
}
set_version() {   # set_version DIR N
    if [ "$OTA_STORE" = pg ]; then dbq "$1" "UPDATE schema_version SET version=$2" >/dev/null
    else dbq "$1" "PRAGMA user_version=$2" >/dev/null; fi
}

# ---- fresh store ----------------------------------------------------------------
start_otad "$D" --quiet
check "otad starts on a fresh store" test -n "$PORT"
expect_eq "fresh store: schema version $CURRENT" "$CURRENT" "$(version "$D")"
printf 'var n=1;\n' >"$WORK/app1.js"
read -r S1 B1 < <(make_release demo 1 "first" "$WORK/app1.js")
expect_eq "publish a release" 201 "$(upload "$S1" "$B1")"
stop_otad
check "otad stops" test $? = 0
expect_eq "restart keeps the version" "$CURRENT" "$(start_otad "$D" --quiet; version "$D"; stop_otad)"

# ---- newer than this otad: refused ------------------------------------------------
set_version "$D" 99
OTAD_ADMIN_TOKEN=$TOKEN timeout 20 "$OTA_BIN/otad" --data "$D" $(store_args "$D") --listen 127.0.0.1:0 \
    --release-pub "$WORK/rel.pub" >"$WORK/newer.out" 2>"$WORK/newer.err"
expect_eq "schema 99: refuses to start (exit 1)" 1 "$?"
expect_has "and says why" "database schema 99 is newer than this otad ($CURRENT)" "$(cat "$WORK/newer.err")"
expect_not "never says it listens" "listening" "$(cat "$WORK/newer.out")"
expect_eq "the store is left as it was" 99 "$(version "$D")"
set_version "$D" "$CURRENT"
start_otad "$D" --quiet
check "back at $CURRENT: starts" test -n "$PORT"
expect_eq "and its data is there" 1 "$(admin GET /admin/releases >/dev/null; body | jq_ j.releases.length)"
stop_otad

# ---- forward from schema 1 ----------------------------------------------------------
D1="$WORK/old"
mkdir -p "$D1"
if [ "$OTA_STORE" = pg ]; then
    dbq "$D1" "
CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES(1);
CREATE TABLE releases(app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL, statement BYTEA NOT NULL,
  statement_sha256 TEXT NOT NULL, bundle_sha256 TEXT NOT NULL, size BIGINT NOT NULL,
  label TEXT NOT NULL DEFAULT '', board TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL DEFAULT '',
  created BIGINT NOT NULL, bytes_served BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(app, seq));
CREATE TABLE rollouts(id BIGSERIAL PRIMARY KEY, app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL,
  percent DOUBLE PRECISION NOT NULL, allow TEXT NOT NULL DEFAULT '[]', pins TEXT NOT NULL DEFAULT '{}',
  waves TEXT NOT NULL DEFAULT '[]', wave_confirmed BIGINT NOT NULL DEFAULT 0, state TEXT NOT NULL,
  error_threshold DOUBLE PRECISION NOT NULL, min_reports BIGINT NOT NULL, reason TEXT NOT NULL DEFAULT '',
  created BIGINT NOT NULL, updated BIGINT NOT NULL);
CREATE INDEX rollouts_app ON rollouts(app);
CREATE TABLE devices(id TEXT COLLATE \"C\" PRIMARY KEY, secret_enc BYTEA, created BIGINT NOT NULL,
  last_seen BIGINT NOT NULL DEFAULT 0);
CREATE TABLE device_apps(device TEXT COLLATE \"C\" NOT NULL, app TEXT COLLATE \"C\" NOT NULL,
  seq BIGINT NOT NULL, last_seen BIGINT NOT NULL, PRIMARY KEY(device, app));
CREATE TABLE device_releases(device TEXT COLLATE \"C\" NOT NULL, app TEXT COLLATE \"C\" NOT NULL,
  seq BIGINT NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', updated BIGINT NOT NULL,
  PRIMARY KEY(device, app, seq));
CREATE INDEX device_releases_rel ON device_releases(app, seq, state);
CREATE TABLE reports(id BIGSERIAL PRIMARY KEY, device TEXT COLLATE \"C\" NOT NULL,
  app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL, state TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '', at BIGINT NOT NULL);
CREATE INDEX reports_device ON reports(device, id);" >/dev/null
else
    sqlite3 "$D1/otad.db" "
PRAGMA journal_mode=WAL;
CREATE TABLE releases(app TEXT NOT NULL, seq INTEGER NOT NULL, statement BLOB NOT NULL,
  statement_sha256 TEXT NOT NULL, bundle_sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  label TEXT NOT NULL DEFAULT '', board TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL, bytes_served INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(app, seq));
CREATE TABLE rollouts(id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, seq INTEGER NOT NULL,
  percent REAL NOT NULL, allow TEXT NOT NULL DEFAULT '[]', pins TEXT NOT NULL DEFAULT '{}',
  waves TEXT NOT NULL DEFAULT '[]', wave_confirmed INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
  error_threshold REAL NOT NULL, min_reports INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE INDEX rollouts_app ON rollouts(app);
CREATE TABLE devices(id TEXT PRIMARY KEY, secret_enc BLOB, created INTEGER NOT NULL,
  last_seen INTEGER NOT NULL DEFAULT 0);
CREATE TABLE device_apps(device TEXT NOT NULL, app TEXT NOT NULL, seq INTEGER NOT NULL,
  last_seen INTEGER NOT NULL, PRIMARY KEY(device, app));
CREATE TABLE device_releases(device TEXT NOT NULL, app TEXT NOT NULL, seq INTEGER NOT NULL,
  state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', updated INTEGER NOT NULL,
  PRIMARY KEY(device, app, seq));
CREATE INDEX device_releases_rel ON device_releases(app, seq, state);
CREATE TABLE reports(id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, app TEXT NOT NULL,
  seq INTEGER NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL);
CREATE INDEX reports_device ON reports(device, id);
PRAGMA user_version=1;" >/dev/null
fi
# data of schema 1: a device, its app, a rolled-back release, its report
dbq "$D1" "INSERT INTO devices(id, created, last_seen) VALUES('old-1', 1700000000, 1700000100);
INSERT INTO device_apps(device, app, seq, last_seen) VALUES('old-1', 'demo', 1, 1700000100);
INSERT INTO device_releases(device, app, seq, state, detail, updated) VALUES('old-1', 'demo', 2, 'rolled_back', 'threw', 1700000100);
INSERT INTO reports(device, app, seq, state, detail, at) VALUES('old-1', 'demo', 2, 'rolled_back', 'threw', 1700000100);" >/dev/null
expect_eq "fixture at schema 1" 1 "$(version "$D1")"
start_otad "$D1" --quiet
check "otad starts on a schema-1 store" test -n "$PORT"
expect_eq "migrated to $CURRENT" "$CURRENT" "$(version "$D1")"
expect_eq "the old device is there" 200 "$(admin GET /admin/devices/old-1)"
expect_eq "with its report" 1 "$(body | jq_ j.report_count)"
expect_eq "its rolled-back release became a block (migration 2 -> 3)" "true" "$(body | jq_ 'j.releases[0].blocked')"
expect_eq "counts rebuilt from the old rows (migration 2 -> 3)" 1 \
    "$(dbq "$D1" "SELECT n FROM release_counts WHERE app='demo' AND seq=2 AND state='rolled_back'")"
expect_eq "new columns have their defaults" 0 "$(dbq "$D1" "SELECT report_ctr FROM devices WHERE id='old-1'")"
stop_otad

done_tests
