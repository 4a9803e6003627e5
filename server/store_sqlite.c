/*
 * store_sqlite.c: the embedded store, one SQLite file in WAL mode.
 *
 * One connection, one mutex: reports are the only frequent writes and each
 * must be synced before its reply anyway (synchronous=FULL), and polls never
 * come here (their last-seen updates arrive in batches).  Schema changes are
 * numbered migrations applied in a transaction at open.
 */
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        q = prep(s, "INSERT INTO rollouts(app,seq,percent,allow,pins,waves,wave_confirmed,state,"
                    "error_threshold,min_reports,reason,created,updated) "
                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
    } else {
        q = prep(s, "UPDATE rollouts SET app=?1,seq=?2,percent=?3,allow=?4,pins=?5,waves=?6,"
                    "wave_confirmed=?7,state=?8,error_threshold=?9,min_reports=?10,reason=?11,"
                    "created=?12,updated=?13 WHERE id=?14");
    }
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)r->seq);
    sqlite3_bind_double(q, 3, r->percent);
    sqlite3_bind_text(q, 4, r->allow_json ? r->allow_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->pins_json ? r->pins_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->waves_json ? r->waves_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, r->wave_confirmed);
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
    sqlite3_stmt *q = prep(s, "SELECT id,app,seq,percent,allow,pins,waves,wave_confirmed,state,"
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
        r.wave_confirmed = sqlite3_column_int64(q, 7);
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

static int sq_blocked_list(srv_store *base,
                           void (*fn)(const char *, const char *, uint64_t, const char *,
                                      const char *, void *),
                           void *arg)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT device, app, seq, state, detail FROM device_releases "
                              "WHERE state IN ('rolled_back','rejected')");
    if (!q) goto out;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
           (uint64_t)sqlite3_column_int64(q, 2), (const char *)sqlite3_column_text(q, 3),
           (const char *)sqlite3_column_text(q, 4), arg);
    if (step == SQLITE_DONE) rc = 0;
    else sq_log(s, "blocked list");
    sqlite3_finalize(q);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_seen_flush(srv_store *base, const srv_seen *v, size_t n)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    sqlite3_stmt *d = NULL, *a = NULL;
    if (n == 0) return 0;
    pthread_mutex_lock(&s->mu);
    if (exec(s, "BEGIN IMMEDIATE") != 0) goto out;
    d = prep(s, "INSERT INTO devices(id,created,last_seen) VALUES(?1,?2,?2) "
                "ON CONFLICT(id) DO UPDATE SET last_seen=max(last_seen, ?2)");
    a = prep(s, "INSERT INTO device_apps(device,app,seq,last_seen) VALUES(?1,?2,?3,?4) "
                "ON CONFLICT(device,app) DO UPDATE SET seq=?3, last_seen=?4 "
                /* A batched poll must not undo a newer report; within one
                 * second (our resolution) the higher sequence wins. */
                "WHERE last_seen < ?4 OR (last_seen = ?4 AND seq <= ?3)");
    if (!d || !a) goto rollback;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(d, 1, v[i].device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(d, 2, v[i].when);
        if (sqlite3_step(d) != SQLITE_DONE) { sq_log(s, "seen device"); goto rollback; }
        sqlite3_reset(d);
        sqlite3_bind_text(a, 1, v[i].device, -1, SQLITE_STATIC);
        sqlite3_bind_text(a, 2, v[i].app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(a, 3, (sqlite3_int64)v[i].seq);
        sqlite3_bind_int64(a, 4, v[i].when);
        if (sqlite3_step(a) != SQLITE_DONE) { sq_log(s, "seen app"); goto rollback; }
        sqlite3_reset(a);
    }
    sqlite3_finalize(d);
    sqlite3_finalize(a);
    d = a = NULL;
    if (exec(s, "COMMIT") != 0) goto rollback;
    rc = 0;
    goto out;
rollback:
    sqlite3_finalize(d);
    sqlite3_finalize(a);
    exec(s, "ROLLBACK");
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- reports --------------------------------------------------------------- */

static int counts_locked(sq_store *s, const char *app, uint64_t seq, srv_release_counts *c)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *q = prep(s, "SELECT state, count(*) FROM device_releases "
                              "WHERE app=? AND seq=? GROUP BY state");
    if (!q) return SRV_STORE_ERR;
    sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int i = srv_state_index((const char *)sqlite3_column_text(q, 0));
        if (i >= 0) c->by_state[i] = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? 0 : SRV_STORE_ERR;
}

static int sq_report(srv_store *base, const srv_report *r, srv_release_counts *counts)
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
    /* The device's latest state for this release.  A device that rolled
     * back stays rolled back: a late "downloaded" must not wipe it. */
    q = prep(s, "INSERT INTO device_releases(device,app,seq,state,detail,updated,code) "
                "VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(device,app,seq) DO UPDATE SET "
                "state=?4, detail=?5, updated=?6, code=?7 WHERE device_releases.state <> 'rolled_back'");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)r->seq);
    sqlite3_bind_text(q, 4, r->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, r->when);
    sqlite3_bind_int64(q, 7, (sqlite3_int64)r->code);
    if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "device release"); goto rollback; }
    sqlite3_finalize(q);
    q = prep(s, "INSERT INTO devices(id,created,last_seen) VALUES(?1,?2,?2) "
                "ON CONFLICT(id) DO UPDATE SET last_seen=max(last_seen, ?2)");
    if (!q) goto rollback;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, r->when);
    if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "device seen"); goto rollback; }
    sqlite3_finalize(q);
    q = NULL;
    if (strcmp(r->state, "confirmed") == 0) {
        q = prep(s, "INSERT INTO device_apps(device,app,seq,last_seen) VALUES(?1,?2,?3,?4) "
                    "ON CONFLICT(device,app) DO UPDATE SET seq=max(seq, ?3), last_seen=?4");
        if (!q) goto rollback;
        sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, r->app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)r->seq);
        sqlite3_bind_int64(q, 4, r->when);
        if (sqlite3_step(q) != SQLITE_DONE) { sq_log(s, "device app"); goto rollback; }
        sqlite3_finalize(q);
        q = NULL;
    }
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

/* {"states":{...},"rejected_reasons":{...},"devices":[...]} for one release. */
static int sq_release_detail_json(srv_store *base, const char *app, uint64_t seq, srv_buf *out)
{
    sq_store *s = (sq_store *)base;
    int rc = SRV_STORE_ERR;
    srv_release_counts c;
    pthread_mutex_lock(&s->mu);
    if (counts_locked(s, app, seq, &c) != 0) goto out;
    srv_buf_addstr(out, "{\"states\":{");
    for (int i = 0; i < SRV_NSTATES; i++)
        srv_buf_printf(out, "%s\"%s\":%lld", i ? "," : "", srv_states[i], (long long)c.by_state[i]);
    srv_buf_addstr(out, "},\"reasons\":{");
    sqlite3_stmt *q = prep(s, "SELECT state || ': ' || detail, count(*) FROM device_releases "
                              "WHERE app=? AND seq=? AND state IN ('rejected','rolled_back','failed') "
                              "GROUP BY 1 ORDER BY 2 DESC LIMIT 50");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n++) srv_buf_addstr(out, ",");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 0));
        srv_buf_printf(out, ":%lld", (long long)sqlite3_column_int64(q, 1));
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "},\"devices\":[");
    q = prep(s, "SELECT r.device, r.state, r.detail, r.updated, coalesce(d.last_seen,0) "
                "FROM device_releases r LEFT JOIN devices d ON d.id=r.device "
                "WHERE r.app=? AND r.seq=? ORDER BY r.updated DESC LIMIT 1000");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        srv_buf_addstr(out, n++ ? ",{\"id\":" : "{\"id\":");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 0));
        srv_buf_addstr(out, ",\"state\":");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 1));
        srv_buf_addstr(out, ",\"detail\":");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 2));
        srv_buf_printf(out, ",\"updated\":%lld,\"last_seen\":%lld}",
                       (long long)sqlite3_column_int64(q, 3), (long long)sqlite3_column_int64(q, 4));
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "]}");
    rc = out->failed ? SRV_STORE_ERR : 0;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

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
    srv_buf_printf(out, ",\"created\":%lld,\"last_seen\":%lld,\"has_secret\":%s,\"report_count\":%lld",
                   (long long)sqlite3_column_int64(q, 0), (long long)sqlite3_column_int64(q, 1),
                   sqlite3_column_int(q, 2) ? "true" : "false", (long long)sqlite3_column_int64(q, 3));
    sqlite3_finalize(q);
    srv_buf_addstr(out, ",\"apps\":[");
    q = prep(s, "SELECT app, seq, last_seen FROM device_apps WHERE device=? ORDER BY app");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        srv_buf_addstr(out, n++ ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 0));
        srv_buf_printf(out, ",\"seq\":%lld,\"last_seen\":%lld}", (long long)sqlite3_column_int64(q, 1),
                       (long long)sqlite3_column_int64(q, 2));
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "],\"releases\":[");
    q = prep(s, "SELECT app, seq, state, detail, updated FROM device_releases WHERE device=? "
                "ORDER BY app, seq");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        srv_buf_addstr(out, n++ ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 0));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)sqlite3_column_int64(q, 1));
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 2));
        srv_buf_addstr(out, ",\"detail\":");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 3));
        srv_buf_printf(out, ",\"updated\":%lld}", (long long)sqlite3_column_int64(q, 4));
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "],\"reports\":[");
    q = prep(s, "SELECT id, app, seq, state, detail, at FROM reports WHERE device=? "
                "ORDER BY id DESC LIMIT 50");
    if (!q) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        srv_buf_printf(out, "%s{\"id\":%lld,\"app\":", n++ ? "," : "", (long long)sqlite3_column_int64(q, 0));
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 1));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)sqlite3_column_int64(q, 2));
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 3));
        srv_buf_addstr(out, ",\"detail\":");
        srv_buf_json_str(out, (const char *)sqlite3_column_text(q, 4));
        srv_buf_printf(out, ",\"at\":%lld}", (long long)sqlite3_column_int64(q, 5));
    }
    sqlite3_finalize(q);
    srv_buf_addstr(out, "]}");
    rc = out->failed ? SRV_STORE_ERR : 0;
out:
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
    .blocked_list = sq_blocked_list,
    .seen_flush = sq_seen_flush,
    .report = sq_report,
    .release_counts = sq_release_counts,
    .release_detail_json = sq_release_detail_json,
    .device_json = sq_device_json,
    .report_count = sq_report_count,
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
