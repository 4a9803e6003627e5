/*
 * store_sqlite.c: the embedded store, one SQLite file in WAL mode.
 *
 * One connection, one mutex: reports are the only frequent writes and each
 * must be synced before its reply anyway (synchronous=FULL), and polls never
 * come here (their last-seen updates arrive in batches).  Schema changes are
 * numbered migrations applied in a transaction at open.
 */
#include "store.h"
#include "ota_err.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const srv_states[SRV_NSTATES] = {
    "downloading", "downloaded", "trial", "confirmed", "rolled_back", "rejected", "failed",
};

int srv_state_index(const char *s)
{
    for (int i = 0; i < SRV_NSTATES; i++)
        if (strcmp(s, srv_states[i]) == 0) return i;
    return -1;
}

typedef struct sq_store {
    srv_store base;
    sqlite3 *db;
    pthread_mutex_t mu;
} sq_store;

/* Migration i brings the schema from version i to i+1.  Never edit one that
 * has shipped; append. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE releases("
    "  app TEXT NOT NULL, seq INTEGER NOT NULL, statement BLOB NOT NULL,"
    "  statement_sha256 TEXT NOT NULL, bundle_sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
    "  label TEXT NOT NULL DEFAULT '', board TEXT NOT NULL DEFAULT '',"
    "  key_id TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
    "  bytes_served INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(app, seq));"
    "CREATE TABLE rollouts("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  percent REAL NOT NULL, allow TEXT NOT NULL DEFAULT '[]', pins TEXT NOT NULL DEFAULT '{}',"
    "  waves TEXT NOT NULL DEFAULT '[]', wave_confirmed INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL, error_threshold REAL NOT NULL, min_reports INTEGER NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE INDEX rollouts_app ON rollouts(app);"
    "CREATE TABLE devices("
    "  id TEXT PRIMARY KEY, secret_enc BLOB, created INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE device_apps("
    "  device TEXT NOT NULL, app TEXT NOT NULL, seq INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  PRIMARY KEY(device, app));"
    "CREATE TABLE device_releases("
    "  device TEXT NOT NULL, app TEXT NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '', updated INTEGER NOT NULL,"
    "  PRIMARY KEY(device, app, seq));"
    "CREATE INDEX device_releases_rel ON device_releases(app, seq, state);"
    "CREATE TABLE reports("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, app TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '',"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX reports_device ON reports(device, id);",
    /* 1 -> 2 (report wire format v2): the last report counter accepted from
     * each device (replay protection) and the ota_err code of each report. */
    "ALTER TABLE devices ADD COLUMN report_ctr INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE reports ADD COLUMN code INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE device_releases ADD COLUMN code INTEGER NOT NULL DEFAULT 0;",
    /* 2 -> 3: blocks as a stored decision, the board
     * devices send, counts kept incrementally, waves by fraction, rollout
     * history, the admin audit log. */
    "ALTER TABLE device_apps ADD COLUMN board TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE device_apps ADD COLUMN state TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE device_apps ADD COLUMN state_seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX device_apps_app ON device_apps(app, device);"
    "CREATE INDEX devices_seen ON devices(last_seen);"
    "ALTER TABLE device_releases ADD COLUMN blocks INTEGER NOT NULL DEFAULT 0;"
    "UPDATE device_releases SET blocks=1 WHERE state='rolled_back';"
    "ALTER TABLE rollouts ADD COLUMN wave_fraction REAL NOT NULL DEFAULT 0.8;"
    "CREATE TABLE release_counts("
    "  app TEXT NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL, code INTEGER NOT NULL,"
    "  n INTEGER NOT NULL, PRIMARY KEY(app, seq, state, code));"
    "INSERT INTO release_counts SELECT app, seq, state, code, count(*) FROM device_releases "
    "  GROUP BY 1, 2, 3, 4;"
    "CREATE TABLE rollout_events("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, rollout INTEGER NOT NULL, at INTEGER NOT NULL,"
    "  event TEXT NOT NULL, by TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX rollout_events_ro ON rollout_events(rollout, id);"
    "CREATE TABLE audit("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, by TEXT NOT NULL,"
    "  method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,"
    "  summary TEXT NOT NULL DEFAULT '');",
    /* 3 -> 4: bundles in the database (used by the PostgreSQL store, where
     * every replica must serve every bundle; SQLite keeps them as files,
     * the table stays empty: one schema, one version, for both stores). */
    "CREATE TABLE bundles(sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);",
    /* 4 -> 5: data cost, bytes on the wire per (device, app, seq) and class
     * (manifest, bundle, reports), added in batches (cost.c); seq 0 = idle
     * polls, device '' = bundle bytes not attributed to one device. */
    "CREATE TABLE data_cost("
    "  device TEXT NOT NULL, app TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  manifest_bytes INTEGER NOT NULL DEFAULT 0, manifest_reqs INTEGER NOT NULL DEFAULT 0,"
    "  bundle_bytes INTEGER NOT NULL DEFAULT 0, bundle_reqs INTEGER NOT NULL DEFAULT 0,"
    "  report_bytes INTEGER NOT NULL DEFAULT 0, report_reqs INTEGER NOT NULL DEFAULT 0,"
    "  updated INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(device, app, seq));"
    "CREATE INDEX data_cost_rel ON data_cost(app, seq);",
};
#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

static void sq_log(sq_store *s, const char *what)
{
    fprintf(stderr, "otad: store: %s: %s\n", what, sqlite3_errmsg(s->db));
}

static int exec(sq_store *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "otad: store: %s\n", err ? err : "exec failed");
        sqlite3_free(err);
        return SRV_STORE_ERR;
    }
    return 0;
}

static sqlite3_stmt *prep(sq_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sq_log(s, "prepare");
        return NULL;
    }
    return st;
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

void srv_time_iso(char out[24], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) { snprintf(out, 24, "1970-01-01T00:00:00Z"); return; }
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ,"name":"<iso time>" */
static void add_time(srv_buf *b, const char *name, int64_t t)
{
    char iso[24];
    srv_time_iso(iso, t);
    srv_buf_printf(b, ",\"%s\":\"%s\"", name, iso);
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

static int step_done(sq_store *s, sqlite3_stmt *q, const char *what)
{
    if (sqlite3_step(q) == SQLITE_DONE) return 0;
    sq_log(s, what);
    return SRV_STORE_ERR;
}

/* ---- releases -------------------------------------------------------------- */

static int sq_release_put(srv_store *base, const srv_release *r)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT statement_sha256 FROM releases WHERE app=? AND seq=?");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)r->seq);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        const unsigned char *h = sqlite3_column_text(q, 0);
        rc = (h && strcmp((const char *)h, r->statement_sha256) == 0) ? SRV_STORE_OK
                                                                        : SRV_STORE_CONFLICT;
        sqlite3_finalize(q);
        if (rc == SRV_STORE_OK) rc = 1; /* already there, identical */
        goto out;
    }
    sqlite3_finalize(q);
    if (step != SQLITE_DONE) { sq_log(s, "release lookup"); goto out; }
    q = prep(s, "INSERT INTO releases(app,seq,statement,statement_sha256,bundle_sha256,size,"
                "label,board,key_id,created) VALUES(?,?,?,?,?,?,?,?,?,?)");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)r->seq);
    sqlite3_bind_blob(q, 3, r->statement, (int)r->statement_len, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, r->statement_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->bundle_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)r->size);
    sqlite3_bind_text(q, 7, r->label, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, r->board, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 9, r->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 10, r->created);
    if (sqlite3_step(q) == SQLITE_DONE) rc = 0;
    else sq_log(s, "release insert");
    sqlite3_finalize(q);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_release_list(srv_store *base, void (*fn)(const srv_release *, void *), void *arg)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT app,seq,statement,statement_sha256,bundle_sha256,size,"
                              "label,board,key_id,created,bytes_served FROM releases "
                              "ORDER BY app, seq");
    if (!q) goto out;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        srv_release r;
        memset(&r, 0, sizeof r);
        copy_text(r.app, sizeof r.app, sqlite3_column_text(q, 0));
        r.seq = (uint64_t)sqlite3_column_int64(q, 1);
        r.statement = (uint8_t *)sqlite3_column_blob(q, 2);
        r.statement_len = (size_t)sqlite3_column_bytes(q, 2);
        copy_text(r.statement_sha256, sizeof r.statement_sha256, sqlite3_column_text(q, 3));
        copy_text(r.bundle_sha256, sizeof r.bundle_sha256, sqlite3_column_text(q, 4));
        r.size = (uint64_t)sqlite3_column_int64(q, 5);
        copy_text(r.label, sizeof r.label, sqlite3_column_text(q, 6));
        copy_text(r.board, sizeof r.board, sqlite3_column_text(q, 7));
        copy_text(r.key_id, sizeof r.key_id, sqlite3_column_text(q, 8));
        r.created = sqlite3_column_int64(q, 9);
        r.bytes_served = (uint64_t)sqlite3_column_int64(q, 10);
        fn(&r, arg);
    }
    if (step == SQLITE_DONE) rc = 0;
    else sq_log(s, "release list");
    sqlite3_finalize(q);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_release_add_served(srv_store *base, const char *app, uint64_t seq, uint64_t bytes)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "UPDATE releases SET bytes_served=bytes_served+? WHERE app=? AND seq=?");
    if (q) {
        sqlite3_bind_int64(q, 1, (sqlite3_int64)bytes);
        sqlite3_bind_text(q, 2, app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
        if (sqlite3_step(q) == SQLITE_DONE) rc = 0;
        else sq_log(s, "bytes served");
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- rollouts -------------------------------------------------------------- */

static int sq_rollout_put(srv_store *base, srv_rollout *r, bool supersede)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&s->mu);
    if (exec(s, "BEGIN IMMEDIATE") != 0) goto out;
    if (supersede) {
        q = prep(s, "UPDATE rollouts SET state='superseded', updated=? "
                    "WHERE app=? AND state IN ('active','paused') AND id<>?");
        if (!q) goto rollback;
        sqlite3_bind_int64(q, 1, r->updated);
        sqlite3_bind_text(q, 2, r->app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, r->id);
        if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "supersede"); goto rollback; }
        sqlite3_finalize(q);
        q = NULL;
    }
    if (r->id == 0) {
        q = prep(s, "INSERT INTO rollouts(app,seq,percent,allow,pins,waves,wave_fraction,state,"
                    "error_threshold,min_reports,reason,created,updated) "
                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
    } else {
        q = prep(s, "UPDATE rollouts SET app=?1,seq=?2,percent=?3,allow=?4,pins=?5,waves=?6,"
                    "wave_fraction=?7,state=?8,error_threshold=?9,min_reports=?10,reason=?11,"
                    "created=?12,updated=?13 WHERE id=?14");
    }
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)r->seq);
    sqlite3_bind_double(q, 3, r->percent);
    sqlite3_bind_text(q, 4, r->allow_json ? r->allow_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->pins_json ? r->pins_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->waves_json ? r->waves_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 7, r->wave_fraction);
    sqlite3_bind_text(q, 8, r->state, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 9, r->error_threshold);
    sqlite3_bind_int64(q, 10, r->min_reports);
    sqlite3_bind_text(q, 11, r->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 12, r->created);
    sqlite3_bind_int64(q, 13, r->updated);
    if (r->id) sqlite3_bind_int64(q, 14, r->id);
    if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "rollout put"); goto rollback; }
    if (r->id == 0) r->id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(q);
    q = NULL;
    if (exec(s, "COMMIT") != 0) goto rollback;
    rc = 0;
    goto out;
rollback:
    sqlite3_finalize(q);
    exec(s, "ROLLBACK");
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_rollout_list(srv_store *base, void (*fn)(const srv_rollout *, void *), void *arg)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT id,app,seq,percent,allow,pins,waves,wave_fraction,state,"
                              "error_threshold,min_reports,reason,created,updated "
                              "FROM rollouts ORDER BY id");
    if (!q) goto out;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        srv_rollout r;
        memset(&r, 0, sizeof r);
        r.id = sqlite3_column_int64(q, 0);
        copy_text(r.app, sizeof r.app, sqlite3_column_text(q, 1));
        r.seq = (uint64_t)sqlite3_column_int64(q, 2);
        r.percent = sqlite3_column_double(q, 3);
        r.allow_json = (char *)sqlite3_column_text(q, 4);
        r.pins_json = (char *)sqlite3_column_text(q, 5);
        r.waves_json = (char *)sqlite3_column_text(q, 6);
        r.wave_fraction = sqlite3_column_double(q, 7);
        copy_text(r.state, sizeof r.state, sqlite3_column_text(q, 8));
        r.error_threshold = sqlite3_column_double(q, 9);
        r.min_reports = sqlite3_column_int64(q, 10);
        copy_text(r.reason, sizeof r.reason, sqlite3_column_text(q, 11));
        r.created = sqlite3_column_int64(q, 12);
        r.updated = sqlite3_column_int64(q, 13);
        fn(&r, arg);
    }
    if (step == SQLITE_DONE) rc = 0;
    else sq_log(s, "rollout list");
    sqlite3_finalize(q);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- devices --------------------------------------------------------------- */

static int sq_device_create(srv_store *base, const char *id, const uint8_t *enc, size_t enc_len,
                            int64_t now)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    /* A device known only from its polls has no secret yet: it may be given
     * one once.  A device that has a secret keeps it (409). */
    sqlite3_stmt *q = prep(s, "INSERT INTO devices(id,secret_enc,created) VALUES(?1,?2,?3) "
                              "ON CONFLICT(id) DO UPDATE SET secret_enc=?2 "
                              "WHERE devices.secret_enc IS NULL AND ?2 IS NOT NULL");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (enc) sqlite3_bind_blob(q, 2, enc, (int)enc_len, SQLITE_STATIC);
    else sqlite3_bind_null(q, 2);
    sqlite3_bind_int64(q, 3, now);
    if (sqlite3_step(q) == SQLITE_DONE) rc = sqlite3_changes(s->db) == 1 ? 0 : SRV_STORE_CONFLICT;
    else sq_log(s, "device create");
    sqlite3_finalize(q);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_device_secrets(srv_store *base,
                             void (*fn)(const char *, const uint8_t *, size_t, void *), void *arg)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT id, secret_enc FROM devices WHERE secret_enc IS NOT NULL");
    if (!q) goto out;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(q, 0), sqlite3_column_blob(q, 1),
           (size_t)sqlite3_column_bytes(q, 1), arg);
    if (step == SQLITE_DONE) rc = 0;
    else sq_log(s, "device secrets");
    sqlite3_finalize(q);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_device_rekey(srv_store *base, const char *id, const uint8_t *enc, size_t enc_len)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "UPDATE devices SET secret_enc=?2 WHERE id=?1");
    if (q) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, enc, (int)enc_len, SQLITE_STATIC);
        if (step_done(s, q, "device rekey") == 0)
            rc = sqlite3_changes(s->db) == 1 ? 0 : SRV_STORE_NOTFOUND;
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Move one device from (state, code) to (nstate, ncode) in the counts of
 * (app, seq); NULL state = not counted before / no longer counted. */
static int count_move(sq_store *s, const char *app, uint64_t seq, const char *state, int code,
                      const char *nstate, int ncode)
{
    if (state && nstate && strcmp(state, nstate) == 0 && code == ncode) return 0;
    if (state) {
        sqlite3_stmt *q = prep(s, "UPDATE release_counts SET n=n-1 WHERE app=? AND seq=? AND state=? AND code=?");
        if (!q) return SRV_STORE_ERR;
        sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
        sqlite3_bind_text(q, 3, state, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 4, code);
        int rc = step_done(s, q, "count down");
        sqlite3_finalize(q);
        if (rc) return rc;
    }
    if (nstate) {
        sqlite3_stmt *q = prep(s, "INSERT INTO release_counts(app,seq,state,code,n) VALUES(?,?,?,?,1) "
                                  "ON CONFLICT(app,seq,state,code) DO UPDATE SET n=n+1");
        if (!q) return SRV_STORE_ERR;
        sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
        sqlite3_bind_text(q, 3, nstate, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 4, ncode);
        int rc = step_done(s, q, "count up");
        sqlite3_finalize(q);
        if (rc) return rc;
    }
    return 0;
}

static int sq_device_delete(srv_store *base, const char *id)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&s->mu);
    if (exec(s, "BEGIN IMMEDIATE") != 0) goto out;
    q = prep(s, "SELECT app, seq, state, code FROM device_releases WHERE device=?");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        char app[33], st[16];
        copy_text(app, sizeof app, sqlite3_column_text(q, 0));
        copy_text(st, sizeof st, sqlite3_column_text(q, 2));
        if (count_move(s, app, (uint64_t)sqlite3_column_int64(q, 1), st, sqlite3_column_int(q, 3),
                       NULL, 0) != 0) goto rollback;
    }
    if (step != SQLITE_DONE) { sq_log(s, "device delete"); goto rollback; }
    sqlite3_finalize(q);
    q = NULL;
    static const char *const del[] = {
        "DELETE FROM device_releases WHERE device=?1", "DELETE FROM device_apps WHERE device=?1",
        "DELETE FROM devices WHERE id=?1",
    };
    for (int i = 0; i < 3; i++) {
        q = prep(s, del[i]);
        if (!q) goto rollback;
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        if (step_done(s, q, "device delete") != 0) goto rollback;
        sqlite3_finalize(q);
        q = NULL;
    }
    int gone = sqlite3_changes(s->db);
    if (exec(s, "COMMIT") != 0) goto rollback;
    rc = gone == 1 ? 0 : SRV_STORE_NOTFOUND;
    goto out;
rollback:
    sqlite3_finalize(q);
    exec(s, "ROLLBACK");
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_blocked_list(srv_store *base,
                           void (*fn)(const char *, const char *, uint64_t, void *), void *arg)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT device, app, seq FROM device_releases WHERE blocks=1");
    if (!q) goto out;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW)
        fn(col_text(q, 0), col_text(q, 1), (uint64_t)sqlite3_column_int64(q, 2), arg);
    if (step == SQLITE_DONE) rc = 0;
    else sq_log(s, "blocked list");
    sqlite3_finalize(q);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_block_clear(srv_store *base, const char *device, const char *app, uint64_t seq,
                          int64_t *n)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, app ? "UPDATE device_releases SET blocks=0 WHERE device=? AND blocks=1 "
                                    "AND app=? AND seq=?"
                                  : "UPDATE device_releases SET blocks=0 WHERE device=? AND blocks=1");
    if (q) {
        sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
        if (app) {
            sqlite3_bind_text(q, 2, app, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
        }
        if (step_done(s, q, "block clear") == 0) {
            *n = sqlite3_changes(s->db);
            rc = 0;
        }
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void code_text(srv_buf *out, const char *state, int code)
{
    const char *t = ota_strerror((ota_err)code);
    if (code) srv_buf_printf(out, "%s: %s (%d)", state, t, code);
    else srv_buf_printf(out, "%s: no code", state);
}

static int blocks_json_locked(sq_store *s, const char *device, srv_buf *out)
{
    sqlite3_stmt *q = prep(s, "SELECT app, seq, state, code, updated FROM device_releases "
                              "WHERE device=? AND blocks=1 ORDER BY app, seq");
    if (!q) return SRV_STORE_ERR;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    srv_buf_addstr(out, "[");
    int n = 0, step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        srv_buf_addstr(out, n++ ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(out, col_text(q, 0));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)sqlite3_column_int64(q, 1));
        srv_buf_json_str(out, col_text(q, 2));
        srv_buf_printf(out, ",\"code\":%d,\"reason\":", sqlite3_column_int(q, 3));
        srv_buf t = {0};
        code_text(&t, col_text(q, 2), sqlite3_column_int(q, 3));
        srv_buf_addstr(&t, "");
        srv_buf_json_str(out, t.data ? t.data : "");
        srv_buf_free(&t);
        add_time(out, "since", sqlite3_column_int64(q, 4));
        srv_buf_addstr(out, "}");
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "]");
    return step == SQLITE_DONE ? 0 : SRV_STORE_ERR;
}

static int sq_blocks_json(srv_store *base, const char *device, srv_buf *out)
{
    sq_store *s = (sq_store *)base;
    pthread_mutex_lock(&s->mu);
    int rc = blocks_json_locked(s, device, out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_seen_flush(srv_store *base, const srv_seen *v, size_t n)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    sqlite3_stmt *d = NULL, *a = NULL, *o = NULL;
    if (n == 0) return 0;
    pthread_mutex_lock(&s->mu);
    if (exec(s, "BEGIN IMMEDIATE") != 0) goto out;
    d = prep(s, "INSERT INTO devices(id,created,last_seen) VALUES(?1,?2,?2) "
                "ON CONFLICT(id) DO UPDATE SET last_seen=max(last_seen, ?2)");
    a = prep(s, "INSERT INTO device_apps(device,app,seq,last_seen,board) VALUES(?1,?2,?3,?4,?5) "
                /* A batched poll must not undo the running seq of a report
                 * of the same second or later (our resolution is one
                 * second); the board it names is news either way. */
                "ON CONFLICT(device,app) DO UPDATE SET "
                "seq=CASE WHEN last_seen < ?4 OR (last_seen = ?4 AND state = '') THEN ?3 ELSE seq END, "
                "last_seen=max(last_seen, ?4), "
                "board=CASE WHEN ?5 <> '' THEN ?5 ELSE board END");
    o = prep(s, "INSERT INTO device_releases(device,app,seq,state,updated) VALUES(?1,?2,?3,'offered',?4) "
                "ON CONFLICT(device,app,seq) DO NOTHING");
    if (!d || !a || !o) goto rollback;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(d, 1, v[i].device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(d, 2, v[i].when);
        if (sqlite3_step(d) != SQLITE_DONE) { sq_log(s, "seen device"); goto rollback; }
        sqlite3_reset(d);
        sqlite3_bind_text(a, 1, v[i].device, -1, SQLITE_STATIC);
        sqlite3_bind_text(a, 2, v[i].app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(a, 3, (sqlite3_int64)v[i].seq);
        sqlite3_bind_int64(a, 4, v[i].when);
        sqlite3_bind_text(a, 5, v[i].board, -1, SQLITE_STATIC);
        if (sqlite3_step(a) != SQLITE_DONE) { sq_log(s, "seen app"); goto rollback; }
        sqlite3_reset(a);
        if (v[i].offered) {
            sqlite3_bind_text(o, 1, v[i].device, -1, SQLITE_STATIC);
            sqlite3_bind_text(o, 2, v[i].app, -1, SQLITE_STATIC);
            sqlite3_bind_int64(o, 3, (sqlite3_int64)v[i].offered);
            sqlite3_bind_int64(o, 4, v[i].when);
            if (sqlite3_step(o) != SQLITE_DONE) { sq_log(s, "seen offer"); goto rollback; }
            sqlite3_reset(o);
            if (sqlite3_changes(s->db) == 1 &&
                count_move(s, v[i].app, v[i].offered, NULL, 0, "offered", 0) != 0) goto rollback;
        }
    }
    sqlite3_finalize(d);
    sqlite3_finalize(a);
    sqlite3_finalize(o);
    d = a = o = NULL;
    if (exec(s, "COMMIT") != 0) goto rollback;
    rc = 0;
    goto out;
rollback:
    sqlite3_finalize(d);
    sqlite3_finalize(a);
    sqlite3_finalize(o);
    exec(s, "ROLLBACK");
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_app_fleet(srv_store *base, const char *app,
                        void (*fn)(const char *, const char *, uint64_t, void *), void *arg)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT device, board, seq FROM device_apps WHERE app=?");
    if (q) {
        sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
        int step;
        while ((step = sqlite3_step(q)) == SQLITE_ROW)
            fn(col_text(q, 0), col_text(q, 1), (uint64_t)sqlite3_column_int64(q, 2), arg);
        if (step == SQLITE_DONE) rc = 0;
        else sq_log(s, "app fleet");
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- reports --------------------------------------------------------------- */

/* Counts of one release from release_counts: a handful of rows, whatever
 * the number of devices or reports. */
static int counts_locked(sq_store *s, const char *app, uint64_t seq, srv_release_counts *c)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *q = prep(s, "SELECT state, sum(n) FROM release_counts "
                              "WHERE app=? AND seq=? GROUP BY state");
    if (!q) return SRV_STORE_ERR;
    sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int i = srv_state_index(col_text(q, 0));
        int64_t n = sqlite3_column_int64(q, 1);
        if (i >= 0) c->by_state[i] = n;
        c->offered += n;
    }
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? 0 : SRV_STORE_ERR;
}

static int sq_report(srv_store *base, const srv_report *r, srv_release_counts *counts, bool *blocked)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&s->mu);
    if (exec(s, "BEGIN IMMEDIATE") != 0) goto out;
    /* Replay protection, first and in the same transaction: the counter
     * must rise, and only a registered device (one with a secret) reports. */
    q = prep(s, "UPDATE devices SET report_ctr=?2 WHERE id=?1 AND secret_enc IS NOT NULL "
                "AND report_ctr < ?2");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)r->ctr);
    if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "report counter"); goto rollback; }
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_changes(s->db) != 1) {
        exec(s, "ROLLBACK");
        rc = SRV_STORE_CONFLICT;
        goto out;
    }
    q = prep(s, "INSERT INTO reports(device,app,seq,state,detail,at,code) VALUES(?,?,?,?,?,?,?)");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)r->seq);
    sqlite3_bind_text(q, 4, r->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, r->when);
    sqlite3_bind_int64(q, 7, (sqlite3_int64)r->code);
    if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "report insert"); goto rollback; }
    sqlite3_finalize(q);
    /* The device's latest state for this release.  A blocked one stays as
     * it is (a late "downloaded" must not wipe a rollback) until the
     * operator clears the block. */
    q = prep(s, "SELECT state, code, blocks FROM device_releases WHERE device=? AND app=? AND seq=?");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)r->seq);
    char old[16] = "";
    int oldcode = 0, step = sqlite3_step(q);
    bool had = step == SQLITE_ROW, was_blocked = false;
    if (had) {
        copy_text(old, sizeof old, sqlite3_column_text(q, 0));
        oldcode = sqlite3_column_int(q, 1);
        was_blocked = sqlite3_column_int(q, 2) != 0;
    } else if (step != SQLITE_DONE) { sq_log(s, "device release"); goto rollback; }
    sqlite3_finalize(q);
    q = NULL;
    if (blocked) *blocked = was_blocked || r->blocks;
    if (!was_blocked) {
        q = prep(s, "INSERT INTO device_releases(device,app,seq,state,detail,updated,code,blocks) "
                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(device,app,seq) DO UPDATE SET "
                    "state=?4, detail=?5, updated=?6, code=?7, blocks=?8");
        if (!q) goto rollback;
        sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, r->app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)r->seq);
        sqlite3_bind_text(q, 4, r->state, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, r->detail, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, r->when);
        sqlite3_bind_int(q, 7, (int)r->code);
        sqlite3_bind_int(q, 8, r->blocks ? 1 : 0);
        if (step_done(s, q, "device release") != 0) goto rollback;
        sqlite3_finalize(q);
        q = NULL;
        if (count_move(s, r->app, r->seq, had ? old : NULL, oldcode, r->state, (int)r->code) != 0)
            goto rollback;
    }
    q = prep(s, "INSERT INTO devices(id,created,last_seen) VALUES(?1,?2,?2) "
                "ON CONFLICT(id) DO UPDATE SET last_seen=max(last_seen, ?2)");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, r->when);
    if (step_done(s, q, "device seen") != 0) goto rollback;
    sqlite3_finalize(q);
    /* Per app: the latest report, and the running sequence once confirmed:
     * the confirmed sequence itself, not the highest ever claimed (a poll
     * batched earlier in the same second, saying something else, must not
     * win over it either: seen_flush only overwrites older rows). */
    bool confirmed = strcmp(r->state, "confirmed") == 0;
    q = prep(s, "INSERT INTO device_apps(device,app,seq,last_seen,state,state_seq) "
                "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(device,app) DO UPDATE SET "
                "seq=CASE WHEN ?7 THEN ?6 ELSE seq END, last_seen=max(last_seen, ?4), "
                "state=?5, state_seq=?6");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, confirmed ? (sqlite3_int64)r->seq : 0);
    sqlite3_bind_int64(q, 4, r->when);
    sqlite3_bind_text(q, 5, r->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)r->seq);
    sqlite3_bind_int(q, 7, confirmed);
    if (step_done(s, q, "device app") != 0) goto rollback;
    sqlite3_finalize(q);
    q = NULL;
    if (counts && counts_locked(s, r->app, r->seq, counts) != 0) goto rollback;
    if (exec(s, "COMMIT") != 0) goto rollback;
    rc = 0;
    goto out;
rollback:
    sqlite3_finalize(q);
    exec(s, "ROLLBACK");
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_release_counts(srv_store *base, const char *app, uint64_t seq, srv_release_counts *c)
{
    sq_store *s = (sq_store *)base;
    pthread_mutex_lock(&s->mu);
    int rc = counts_locked(s, app, seq, c);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* {"rolled_back: program threw at start (80)": n, ...} from the counts. */
static int sq_reasons_json(srv_store *base, const char *app, uint64_t seq, srv_buf *out)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT state, code, n FROM release_counts WHERE app=? AND seq=? AND n>0 "
                              "AND state IN ('rejected','rolled_back','failed') ORDER BY n DESC, state, code");
    if (q) {
        sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
        srv_buf_addstr(out, "{");
        int n = 0, step;
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            srv_buf t = {0};
            code_text(&t, col_text(q, 0), sqlite3_column_int(q, 1));
            if (n++) srv_buf_addstr(out, ",");
            srv_buf_json_str(out, t.data ? t.data : "");
            srv_buf_free(&t);
            srv_buf_printf(out, ":%lld", (long long)sqlite3_column_int64(q, 2));
        }
        srv_buf_addstr(out, "}");
        if (step == SQLITE_DONE) rc = 0;
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void device_apps_json(sq_store *s, sqlite3_stmt *q, const char *id, srv_buf *out)
{
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    srv_buf_addstr(out, "[");
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        srv_buf_addstr(out, n++ ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(out, col_text(q, 0));
        srv_buf_printf(out, ",\"seq\":%lld,\"board\":", (long long)sqlite3_column_int64(q, 1));
        srv_buf_json_str(out, col_text(q, 3));
        add_time(out, "last_seen", sqlite3_column_int64(q, 2));
        srv_buf_addstr(out, ",\"state\":");
        if (*col_text(q, 4)) srv_buf_json_str(out, col_text(q, 4));
        else srv_buf_addstr(out, "null");
        srv_buf_printf(out, ",\"state_seq\":%lld}", (long long)sqlite3_column_int64(q, 5));
    }
    (void)s;
    srv_buf_addstr(out, "]");
}

#define APPS_SQL "SELECT app, seq, last_seen, board, state, state_seq FROM device_apps WHERE device=? ORDER BY app"

static int sq_device_json(srv_store *base, const char *id, srv_buf *out)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT created, last_seen, secret_enc IS NOT NULL, "
                              "(SELECT count(*) FROM reports WHERE device=?1) "
                              "FROM devices WHERE id=?1");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        rc = SRV_STORE_NOTFOUND;
        goto out;
    }
    srv_buf_addstr(out, "{\"id\":");
    srv_buf_json_str(out, id);
    add_time(out, "created", sqlite3_column_int64(q, 0));
    add_time(out, "last_seen", sqlite3_column_int64(q, 1));
    srv_buf_printf(out, ",\"has_secret\":%s,\"report_count\":%lld",
                   sqlite3_column_int(q, 2) ? "true" : "false", (long long)sqlite3_column_int64(q, 3));
    sqlite3_finalize(q);
    srv_buf_addstr(out, ",\"apps\":");
    q = prep(s, APPS_SQL);
    if (!q) goto out;
    device_apps_json(s, q, id, out);
    sqlite3_finalize(q);
    srv_buf_addstr(out, ",\"releases\":[");
    q = prep(s, "SELECT app, seq, state, detail, updated, code, blocks FROM device_releases WHERE device=? "
                "ORDER BY app, seq");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        srv_buf_addstr(out, n++ ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(out, col_text(q, 0));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)sqlite3_column_int64(q, 1));
        srv_buf_json_str(out, col_text(q, 2));
        srv_buf_printf(out, ",\"code\":%d,\"blocked\":%s,\"detail\":", sqlite3_column_int(q, 5),
                       sqlite3_column_int(q, 6) ? "true" : "false");
        srv_buf_json_str(out, col_text(q, 3));
        add_time(out, "updated", sqlite3_column_int64(q, 4));
        srv_buf_addstr(out, "}");
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "],\"blocks\":");
    if (blocks_json_locked(s, id, out) != 0) goto out;
    srv_buf_addstr(out, ",\"reports\":[");
    q = prep(s, "SELECT id, app, seq, state, detail, at, code FROM reports WHERE device=? "
                "ORDER BY id DESC LIMIT 50");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        srv_buf_printf(out, "%s{\"id\":%lld,\"app\":", n++ ? "," : "", (long long)sqlite3_column_int64(q, 0));
        srv_buf_json_str(out, col_text(q, 1));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)sqlite3_column_int64(q, 2));
        srv_buf_json_str(out, col_text(q, 3));
        srv_buf_printf(out, ",\"code\":%d,\"detail\":", sqlite3_column_int(q, 6));
        srv_buf_json_str(out, col_text(q, 4));
        add_time(out, "at", sqlite3_column_int64(q, 5));
        srv_buf_addstr(out, "}");
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "]}");
    rc = out->failed ? SRV_STORE_ERR : 0;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_device_list_json(srv_store *base, const srv_device_filter *f, srv_buf *out)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    char sql[1024];
    int limit = f->limit > 0 ? f->limit : 100;
    /* ?1 app ?2 seq ?3 state ?4 since ?5 before ?6 cursor ?7 limit+1 */
    snprintf(sql, sizeof sql,
             "SELECT d.id, d.created, d.last_seen, d.secret_enc IS NOT NULL FROM devices d%s "
             "WHERE d.id > ?6%s%s%s%s ORDER BY d.id LIMIT ?7",
             f->app ? " JOIN device_apps a ON a.device=d.id AND a.app=?1" : "",
             f->app && f->has_seq ? " AND a.seq=?2" : "",
             f->app && f->state ? " AND a.state=?3" : "",
             f->has_since ? " AND d.last_seen >= ?4" : "",
             f->has_before ? " AND d.last_seen < ?5" : "");
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, sql), *apps = prep(s, APPS_SQL);
    if (!q || !apps) goto out;
    if (f->app) sqlite3_bind_text(q, 1, f->app, -1, SQLITE_STATIC);
    if (f->has_seq) sqlite3_bind_int64(q, 2, (sqlite3_int64)f->seq);
    if (f->state) sqlite3_bind_text(q, 3, f->state, -1, SQLITE_STATIC);
    if (f->has_since) sqlite3_bind_int64(q, 4, f->seen_since);
    if (f->has_before) sqlite3_bind_int64(q, 5, f->seen_before);
    sqlite3_bind_text(q, 6, f->cursor ? f->cursor : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, limit + 1);
    srv_buf_addstr(out, "{\"devices\":[");
    int n = 0, step;
    char last[40] = "";
    bool more = false;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == limit) { more = true; break; }
        copy_text(last, sizeof last, sqlite3_column_text(q, 0));
        srv_buf_addstr(out, n++ ? ",{\"id\":" : "{\"id\":");
        srv_buf_json_str(out, last);
        add_time(out, "created", sqlite3_column_int64(q, 1));
        add_time(out, "last_seen", sqlite3_column_int64(q, 2));
        srv_buf_printf(out, ",\"has_secret\":%s,\"apps\":", sqlite3_column_int(q, 3) ? "true" : "false");
        device_apps_json(s, apps, last, out);
        srv_buf_addstr(out, "}");
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) { sq_log(s, "device list"); goto out; }
    srv_buf_addstr(out, "],\"next_cursor\":");
    if (more) srv_buf_json_str(out, last);
    else srv_buf_addstr(out, "null");
    srv_buf_addstr(out, "}");
    rc = out->failed ? SRV_STORE_ERR : 0;
out:
    sqlite3_finalize(q);
    sqlite3_finalize(apps);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- history and audit ------------------------------------------------------ */

static int sq_event_add(srv_store *base, int64_t rollout, int64_t at, const char *event,
                        const char *by, const char *detail)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "INSERT INTO rollout_events(rollout,at,event,by,detail) VALUES(?,?,?,?,?)");
    if (q) {
        sqlite3_bind_int64(q, 1, rollout);
        sqlite3_bind_int64(q, 2, at);
        sqlite3_bind_text(q, 3, event, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, detail ? detail : "", -1, SQLITE_STATIC);
        rc = step_done(s, q, "rollout event");
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_history_json(srv_store *base, int64_t rollout, srv_buf *out)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT at, event, by, detail FROM rollout_events WHERE rollout=? ORDER BY id");
    if (q) {
        sqlite3_bind_int64(q, 1, rollout);
        srv_buf_addstr(out, "[");
        int n = 0, step;
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            char iso[24];
            srv_time_iso(iso, sqlite3_column_int64(q, 0));
            srv_buf_printf(out, "%s{\"at\":\"%s\",\"event\":", n++ ? "," : "", iso);
            srv_buf_json_str(out, col_text(q, 1));
            srv_buf_addstr(out, ",\"by\":");
            srv_buf_json_str(out, col_text(q, 2));
            srv_buf_addstr(out, ",\"detail\":");
            srv_buf_json_str(out, col_text(q, 3));
            srv_buf_addstr(out, "}");
        }
        srv_buf_addstr(out, "]");
        if (step == SQLITE_DONE) rc = 0;
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_audit_add(srv_store *base, int64_t at, const char *by, const char *method,
                        const char *path, unsigned status, const char *summary)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "INSERT INTO audit(at,by,method,path,status,summary) VALUES(?,?,?,?,?,?)");
    if (q) {
        sqlite3_bind_int64(q, 1, at);
        sqlite3_bind_text(q, 2, by, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, method, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, path, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 5, (int)status);
        sqlite3_bind_text(q, 6, summary ? summary : "", -1, SQLITE_STATIC);
        rc = step_done(s, q, "audit");
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_audit_json(srv_store *base, int limit, int64_t before_id, srv_buf *out)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT id, at, by, method, path, status, summary FROM audit "
                              "WHERE id < ? ORDER BY id DESC LIMIT ?");
    if (q) {
        sqlite3_bind_int64(q, 1, before_id > 0 ? before_id : INT64_MAX);
        sqlite3_bind_int(q, 2, limit + 1);
        srv_buf_addstr(out, "{\"entries\":[");
        int n = 0, step;
        int64_t last = 0;
        bool more = false;
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            if (n == limit) { more = true; break; }
            last = sqlite3_column_int64(q, 0);
            char iso[24];
            srv_time_iso(iso, sqlite3_column_int64(q, 1));
            srv_buf_printf(out, "%s{\"id\":%lld,\"at\":\"%s\",\"by\":", n++ ? "," : "", (long long)last, iso);
            srv_buf_json_str(out, col_text(q, 2));
            srv_buf_addstr(out, ",\"method\":");
            srv_buf_json_str(out, col_text(q, 3));
            srv_buf_addstr(out, ",\"path\":");
            srv_buf_json_str(out, col_text(q, 4));
            srv_buf_printf(out, ",\"status\":%d,\"summary\":", sqlite3_column_int(q, 5));
            srv_buf_json_str(out, col_text(q, 6));
            srv_buf_addstr(out, "}");
        }
        if (more) srv_buf_printf(out, "],\"next_cursor\":\"%lld\"}", (long long)last);
        else srv_buf_addstr(out, "],\"next_cursor\":null}");
        if (step == SQLITE_DONE || step == SQLITE_ROW) rc = out->failed ? SRV_STORE_ERR : 0;
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_report_count(srv_store *base, int64_t *n)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT count(*) FROM reports");
    if (q && sqlite3_step(q) == SQLITE_ROW) {
        *n = sqlite3_column_int64(q, 0);
        rc = 0;
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- data cost ------------------------------------------------------------------ */

static int sq_cost_add(srv_store *base, const srv_cost *v, size_t n)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    sqlite3_stmt *q = NULL;
    if (n == 0) return 0;
    pthread_mutex_lock(&s->mu);
    if (exec(s, "BEGIN IMMEDIATE") != 0) goto out;
    q = prep(s, "INSERT INTO data_cost(device,app,seq,manifest_bytes,manifest_reqs,bundle_bytes,"
                "bundle_reqs,report_bytes,report_reqs,updated) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
                "ON CONFLICT(device,app,seq) DO UPDATE SET "
                "manifest_bytes=manifest_bytes+?4, manifest_reqs=manifest_reqs+?5, "
                "bundle_bytes=bundle_bytes+?6, bundle_reqs=bundle_reqs+?7, "
                "report_bytes=report_bytes+?8, report_reqs=report_reqs+?9, updated=max(updated, ?10)");
    if (!q) goto rollback;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(q, 1, v[i].device, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, v[i].app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)v[i].seq);
        for (int k = 0; k < SRV_COST_NCLASS; k++) {
            sqlite3_bind_int64(q, 4 + 2 * k, (sqlite3_int64)v[i].bytes[k]);
            sqlite3_bind_int64(q, 5 + 2 * k, (sqlite3_int64)v[i].reqs[k]);
        }
        sqlite3_bind_int64(q, 10, v[i].updated);
        if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "data cost"); goto rollback; }
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    q = NULL;
    if (exec(s, "COMMIT") != 0) goto rollback;
    rc = 0;
    goto out;
rollback:
    sqlite3_finalize(q);
    exec(s, "ROLLBACK");
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_cost_list(srv_store *base, const char *device, const char *app, bool has_seq,
                        uint64_t seq, void (*fn)(const srv_cost *, void *), void *arg)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT device, app, seq, manifest_bytes, manifest_reqs, bundle_bytes, "
                              "bundle_reqs, report_bytes, report_reqs, updated FROM data_cost "
                              "WHERE (?1 IS NULL OR device=?1) AND (?2 IS NULL OR app=?2) "
                              "AND (?3 = 0 OR seq=?4) ORDER BY device, app, seq");
    if (q) {
        if (device) sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
        if (app) sqlite3_bind_text(q, 2, app, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 3, has_seq ? 1 : 0);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)seq);
        int st;
        while ((st = sqlite3_step(q)) == SQLITE_ROW) {
            srv_cost c;
            memset(&c, 0, sizeof c);
            copy_text(c.device, sizeof c.device, sqlite3_column_text(q, 0));
            copy_text(c.app, sizeof c.app, sqlite3_column_text(q, 1));
            c.seq = (uint64_t)sqlite3_column_int64(q, 2);
            for (int k = 0; k < SRV_COST_NCLASS; k++) {
                c.bytes[k] = (uint64_t)sqlite3_column_int64(q, 3 + 2 * k);
                c.reqs[k] = (uint64_t)sqlite3_column_int64(q, 4 + 2 * k);
            }
            c.updated = sqlite3_column_int64(q, 9);
            fn(&c, arg);
        }
        if (st == SQLITE_DONE) rc = 0;
        else sq_log(s, "data cost list");
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void sq_close(srv_store *base)
{
    sq_store *s = (sq_store *)base;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    /* Fold the WAL back into the database on a clean shutdown. */
    sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(s->db);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const srv_store_ops sq_ops = {
    .close = sq_close,
    .release_put = sq_release_put,
    .release_list = sq_release_list,
    .release_add_served = sq_release_add_served,
    .rollout_put = sq_rollout_put,
    .rollout_list = sq_rollout_list,
    .device_create = sq_device_create,
    .device_secrets = sq_device_secrets,
    .device_rekey = sq_device_rekey,
    .device_delete = sq_device_delete,
    .blocked_list = sq_blocked_list,
    .block_clear = sq_block_clear,
    .blocks_json = sq_blocks_json,
    .seen_flush = sq_seen_flush,
    .app_fleet = sq_app_fleet,
    .report = sq_report,
    .release_counts = sq_release_counts,
    .reasons_json = sq_reasons_json,
    .device_json = sq_device_json,
    .device_list_json = sq_device_list_json,
    .report_count = sq_report_count,
    .event_add = sq_event_add,
    .history_json = sq_history_json,
    .audit_add = sq_audit_add,
    .audit_json = sq_audit_json,
    .cost_add = sq_cost_add,
    .cost_list = sq_cost_list,
};

static int migrate(sq_store *s)
{
    sqlite3_stmt *q = prep(s, "PRAGMA user_version");
    if (!q || sqlite3_step(q) != SQLITE_ROW) { sqlite3_finalize(q); return -1; }
    int v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (v > (int)NMIGRATIONS) {
        fprintf(stderr, "otad: store: database schema %d is newer than this otad (%d)\n", v,
                (int)NMIGRATIONS);
        return -1;
    }
    for (; v < (int)NMIGRATIONS; v++) {
        char sql[64];
        if (exec(s, "BEGIN IMMEDIATE") != 0) return -1;
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
        if (exec(s, migrations[v]) != 0 || exec(s, sql) != 0 || exec(s, "COMMIT") != 0) {
            exec(s, "ROLLBACK");
            return -1;
        }
    }
    return 0;
}

srv_store *srv_store_sqlite_open(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/otad.db", dir) >= (int)sizeof path) return NULL;
    sq_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->base.ops = &sq_ops;
    pthread_mutex_init(&s->mu, NULL);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf(stderr, "otad: store: cannot open %s: %s\n", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL + synchronous=FULL: a commit is on disk when it returns, so an
     * acknowledged report survives kill -9 and power loss. */
    if (exec(s, "PRAGMA journal_mode=WAL") != 0 || exec(s, "PRAGMA synchronous=FULL") != 0 ||
        exec(s, "PRAGMA foreign_keys=ON") != 0 || migrate(s) != 0)
        goto fail;
    return &s->base;
fail:
    if (s->db) sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}
