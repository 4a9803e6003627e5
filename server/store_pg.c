/*
 * store_pg.c: the shared store, PostgreSQL through libpq, for one or many
 * otad processes (replicas) on one database.
 *
 * Same semantics as store_sqlite.c, op for op: every write is committed
 * before the call returns (synchronous_commit as the server has it: on by
 * default, so a report is on the database's disk before its 2xx), CONFLICT
 * and NOTFOUND as there, the report counter checked and raised in the
 * report's own transaction, the counts of a release kept incrementally in
 * the same transaction as the report that changes them.
 *
 * Several replicas write at once: a report locks its device's row first
 * (the counter update), so the reports of one device are serialised however
 * many replicas receive them; a count is moved by one upsert (n = n +- 1,
 * atomic in PostgreSQL); a transaction that meets a deadlock or a
 * serialisation failure is retried (at most 3 times).
 *
 * One connection, one mutex (otad's writes are reports, each one
 * transaction; polls never come here).  A lost connection fails the call in
 * progress; the next call reconnects.  The schema is versioned in the table
 * schema_version, migrated forward at open under an advisory lock (replicas
 * starting together migrate once); a database newer than this otad is
 * refused.
 */
#include "store.h"
#include "ota_err.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

typedef struct pg_store {
    srv_store base;
    PGconn *db;
    char *conninfo;
    pthread_mutex_t mu;
    PGconn *ln;                 /* LISTEN otad (changes; the main thread only) */
    bool ln_lost;               /* the listener reconnected: changes may be missed */
    char origin[17];            /* this process's id in its notifications */
} pg_store;

/* Migration i brings the schema from version i to i+1: the same numbers as
 * store_sqlite.c's, in PostgreSQL's dialect.  Never edit one that has
 * shipped; append (and append to store_sqlite.c in step). */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE releases("
    "  app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL, statement BYTEA NOT NULL,"
    "  statement_sha256 TEXT NOT NULL, bundle_sha256 TEXT NOT NULL, size BIGINT NOT NULL,"
    "  label TEXT NOT NULL DEFAULT '', board TEXT NOT NULL DEFAULT '',"
    "  key_id TEXT NOT NULL DEFAULT '', created BIGINT NOT NULL,"
    "  bytes_served BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(app, seq));"
    "CREATE TABLE rollouts("
    "  id BIGSERIAL PRIMARY KEY, app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL,"
    "  percent DOUBLE PRECISION NOT NULL, allow TEXT NOT NULL DEFAULT '[]',"
    "  pins TEXT NOT NULL DEFAULT '{}',"
    "  waves TEXT NOT NULL DEFAULT '[]', wave_confirmed BIGINT NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL, error_threshold DOUBLE PRECISION NOT NULL, min_reports BIGINT NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '', created BIGINT NOT NULL, updated BIGINT NOT NULL);"
    "CREATE INDEX rollouts_app ON rollouts(app);"
    "CREATE TABLE devices("
    "  id TEXT COLLATE \"C\" PRIMARY KEY, secret_enc BYTEA, created BIGINT NOT NULL,"
    "  last_seen BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE device_apps("
    "  device TEXT COLLATE \"C\" NOT NULL, app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL,"
    "  last_seen BIGINT NOT NULL, PRIMARY KEY(device, app));"
    "CREATE TABLE device_releases("
    "  device TEXT COLLATE \"C\" NOT NULL, app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL,"
    "  state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', updated BIGINT NOT NULL,"
    "  PRIMARY KEY(device, app, seq));"
    "CREATE INDEX device_releases_rel ON device_releases(app, seq, state);"
    "CREATE TABLE reports("
    "  id BIGSERIAL PRIMARY KEY, device TEXT COLLATE \"C\" NOT NULL, app TEXT COLLATE \"C\" NOT NULL,"
    "  seq BIGINT NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '',"
    "  at BIGINT NOT NULL);"
    "CREATE INDEX reports_device ON reports(device, id);",
    /* 1 -> 2 */
    "ALTER TABLE devices ADD COLUMN report_ctr BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE reports ADD COLUMN code BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE device_releases ADD COLUMN code BIGINT NOT NULL DEFAULT 0;",
    /* 2 -> 3 */
    "ALTER TABLE device_apps ADD COLUMN board TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE device_apps ADD COLUMN state TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE device_apps ADD COLUMN state_seq BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX device_apps_app ON device_apps(app, device);"
    "CREATE INDEX devices_seen ON devices(last_seen);"
    "ALTER TABLE device_releases ADD COLUMN blocks INTEGER NOT NULL DEFAULT 0;"
    "UPDATE device_releases SET blocks=1 WHERE state='rolled_back';"
    "ALTER TABLE rollouts ADD COLUMN wave_fraction DOUBLE PRECISION NOT NULL DEFAULT 0.8;"
    "CREATE TABLE release_counts("
    "  app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL, state TEXT NOT NULL,"
    "  code BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY(app, seq, state, code));"
    "INSERT INTO release_counts SELECT app, seq, state, code, count(*) FROM device_releases "
    "  GROUP BY 1, 2, 3, 4;"
    "CREATE TABLE rollout_events("
    "  id BIGSERIAL PRIMARY KEY, rollout BIGINT NOT NULL, at BIGINT NOT NULL,"
    "  event TEXT NOT NULL, \"by\" TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX rollout_events_ro ON rollout_events(rollout, id);"
    "CREATE TABLE audit("
    "  id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, \"by\" TEXT NOT NULL,"
    "  method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,"
    "  summary TEXT NOT NULL DEFAULT '');",
    /* 3 -> 4: bundles, so that every replica serves every bundle; and a
     * report as one server-side call (one round trip instead of ten: the
     * report path is otad's one frequent write).  The same steps in the
     * same order as store_sqlite.c's sq_report, in one transaction: the
     * counter first (its row lock serialises a device's reports across
     * replicas), the report, the device's state for the release unless
     * blocked, the counts moved by one, last seen, the app's running
     * sequence; then the release's counts. */
    "CREATE TABLE bundles(sha256 TEXT COLLATE \"C\" PRIMARY KEY, data BYTEA NOT NULL);"
    "CREATE FUNCTION otad_report(p_device TEXT, p_app TEXT, p_seq BIGINT, p_state TEXT, p_detail TEXT,"
    "  p_at BIGINT, p_code BIGINT, p_ctr BIGINT, p_blocks INTEGER, p_origin TEXT)"
    " RETURNS TABLE(r_kind INTEGER, r_blocked INTEGER, r_state TEXT, r_n BIGINT)"
    " LANGUAGE plpgsql AS $f$\n"
    "DECLARE o_state TEXT; o_code BIGINT; o_blocks INTEGER; had BOOLEAN;\n"
    "BEGIN\n"
    "  UPDATE devices SET report_ctr = p_ctr WHERE id = p_device AND secret_enc IS NOT NULL\n"
    "    AND report_ctr < p_ctr;\n"
    "  IF NOT FOUND THEN r_kind := -3; r_blocked := 0; RETURN NEXT; RETURN; END IF;\n"
    "  INSERT INTO reports(device, app, seq, state, detail, at, code)\n"
    "    VALUES(p_device, p_app, p_seq, p_state, p_detail, p_at, p_code);\n"
    "  SELECT d.state, d.code, d.blocks INTO o_state, o_code, o_blocks FROM device_releases d\n"
    "    WHERE d.device = p_device AND d.app = p_app AND d.seq = p_seq;\n"
    "  had := FOUND;\n"
    "  IF NOT had OR o_blocks = 0 THEN\n"
    "    INSERT INTO device_releases(device, app, seq, state, detail, updated, code, blocks)\n"
    "      VALUES(p_device, p_app, p_seq, p_state, p_detail, p_at, p_code, p_blocks)\n"
    "      ON CONFLICT(device, app, seq) DO UPDATE SET state = EXCLUDED.state,\n"
    "      detail = EXCLUDED.detail, updated = EXCLUDED.updated, code = EXCLUDED.code,\n"
    "      blocks = EXCLUDED.blocks;\n"
    "    IF NOT (had AND o_state = p_state AND o_code = p_code) THEN\n"
    "      IF had THEN\n"
    "        UPDATE release_counts c SET n = c.n - 1 WHERE c.app = p_app AND c.seq = p_seq\n"
    "          AND c.state = o_state AND c.code = o_code;\n"
    "      END IF;\n"
    "      INSERT INTO release_counts(app, seq, state, code, n) VALUES(p_app, p_seq, p_state, p_code, 1)\n"
    "        ON CONFLICT(app, seq, state, code) DO UPDATE SET n = release_counts.n + 1;\n"
    "    END IF;\n"
    "    IF p_blocks <> 0 THEN\n"
    "      PERFORM pg_notify('otad', p_origin || ' B ' || p_device || ' ' || p_app || ' ' || p_seq);\n"
    "    END IF;\n"
    "  END IF;\n"
    "  INSERT INTO devices(id, created, last_seen) VALUES(p_device, p_at, p_at)\n"
    "    ON CONFLICT(id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, EXCLUDED.last_seen);\n"
    "  INSERT INTO device_apps(device, app, seq, last_seen, state, state_seq)\n"
    "    VALUES(p_device, p_app, CASE WHEN p_state = 'confirmed' THEN p_seq ELSE 0 END, p_at, p_state, p_seq)\n"
    "    ON CONFLICT(device, app) DO UPDATE SET\n"
    "    seq = CASE WHEN p_state = 'confirmed' THEN p_seq ELSE device_apps.seq END,\n"
    "    last_seen = GREATEST(device_apps.last_seen, p_at), state = p_state, state_seq = p_seq;\n"
    "  IF p_state = 'confirmed' THEN PERFORM pg_notify('otad', p_origin || ' F'); END IF;\n"
    "  r_kind := 0;\n"
    "  r_blocked := CASE WHEN (had AND o_blocks <> 0) OR p_blocks <> 0 THEN 1 ELSE 0 END;\n"
    "  RETURN NEXT;\n"
    "  RETURN QUERY SELECT 1, 0, c.state, sum(c.n)::BIGINT FROM release_counts c\n"
    "    WHERE c.app = p_app AND c.seq = p_seq GROUP BY c.state;\n"
    "END $f$;",
    /* 4 -> 5: data cost (see store_sqlite.c). */
    "CREATE TABLE data_cost("
    "  device TEXT COLLATE \"C\" NOT NULL, app TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL,"
    "  manifest_bytes BIGINT NOT NULL DEFAULT 0, manifest_reqs BIGINT NOT NULL DEFAULT 0,"
    "  bundle_bytes BIGINT NOT NULL DEFAULT 0, bundle_reqs BIGINT NOT NULL DEFAULT 0,"
    "  report_bytes BIGINT NOT NULL DEFAULT 0, report_reqs BIGINT NOT NULL DEFAULT 0,"
    "  updated BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(device, app, seq));"
    "CREATE INDEX data_cost_rel ON data_cost(app, seq);",
};
#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

/* ---- plumbing ---------------------------------------------------------------- */

#define MAXP 24   /* the most a statement here takes: 17 (rollout_cas) */
typedef struct params {
    int n;
    const char *v[MAXP];
    int len[MAXP];
    int fmt[MAXP];
    char num[MAXP][32];
} params;

/* Never more than MAXP parameters (a programming error otherwise: abort
 * rather than write past the arrays). */
static void p_room(const params *p)
{
    if (p->n >= MAXP) {
        fprintf(stderr, "otad: store: too many statement parameters\n");
        abort();
    }
}

static void p_text(params *p, const char *t)
{
    p_room(p);
    p->v[p->n] = t ? t : "";
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}
static void p_null(params *p)
{
    p_room(p);
    p->v[p->n] = NULL;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}
static void p_i64(params *p, int64_t x)
{
    p_room(p);
    snprintf(p->num[p->n], sizeof p->num[0], "%lld", (long long)x);
    p_text(p, p->num[p->n]);
}
/* Sequences are 64-bit unsigned; stored as SQLite stores them (two's
 * complement in a signed 64-bit column). */
static void p_u64(params *p, uint64_t x) { p_i64(p, (int64_t)x); }
static void p_dbl(params *p, double x)
{
    p_room(p);
    snprintf(p->num[p->n], sizeof p->num[0], "%.17g", x);
    p_text(p, p->num[p->n]);
}
static void p_blob(params *p, const uint8_t *b, size_t len)
{
    p_room(p);
    p->v[p->n] = (const char *)b;
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1;
    p->n++;
}

/* The transaction hit a deadlock or a serialisation failure: retry it. */
#define PG_RETRY (-100)

static void pg_log(pg_store *s, const char *what, PGresult *r)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m) m = PQerrorMessage(s->db);
    fprintf(stderr, "otad: store: %s: %s", what, m && *m ? m : "failed\n");
    size_t l = m ? strlen(m) : 0;
    if (l && m[l - 1] != '\n') fputc('\n', stderr);
}

static bool retryable(PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0);
}

/* Run one statement; NULL (logged) on failure, else the result (PQclear it).
 * *retry (when given) says whether a failure is worth a new transaction. */
static PGresult *run(pg_store *s, const char *what, const char *sql, const params *p, bool *retry)
{
    PGresult *r = PQexecParams(s->db, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL,
                               p ? p->fmt : NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    if (retry) *retry = retryable(r);
    if (!retry || !*retry) pg_log(s, what, r);
    PQclear(r);
    return NULL;
}

/* Run a statement whose result is not needed: 0, SRV_STORE_ERR or PG_RETRY;
 * *changed (when given) gets the rows it changed. */
static int exec_p(pg_store *s, const char *what, const char *sql, const params *p, int64_t *changed)
{
    bool retry = false;
    PGresult *r = run(s, what, sql, p, &retry);
    if (!r) return retry ? PG_RETRY : SRV_STORE_ERR;
    if (changed) *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

static int exec0(pg_store *s, const char *sql) { return exec_p(s, sql, sql, NULL, NULL); }

/* A connection with a bounded connect time (5 s unless the URL sets one:
 * its parameters come after ours and win), so that a database that is down
 * does not hold otad's main loop for the system's TCP timeout. */
static PGconn *pg_connect(const char *conninfo)
{
    const char *const keys[] = { "connect_timeout", "dbname", NULL };
    const char *const vals[] = { "5", conninfo, NULL };
    return PQconnectdbParams(keys, vals, 1);
}

/* Connected, or reconnected now (a lost connection failed the call before). */
static int ensure(pg_store *s)
{
    if (s->db && PQstatus(s->db) == CONNECTION_OK && PQtransactionStatus(s->db) == PQTRANS_IDLE)
        return 0;
    if (s->db) {
        if (PQstatus(s->db) == CONNECTION_OK) {
            /* A transaction left open by a failed call: end it. */
            PQclear(PQexec(s->db, "ROLLBACK"));
            if (PQtransactionStatus(s->db) == PQTRANS_IDLE) return 0;
        }
        fprintf(stderr, "otad: store: reconnecting to PostgreSQL\n");
        PQreset(s->db);
    } else {
        s->db = pg_connect(s->conninfo);
    }
    if (!s->db || PQstatus(s->db) != CONNECTION_OK) {
        fprintf(stderr, "otad: store: cannot connect to PostgreSQL: %s",
                s->db ? PQerrorMessage(s->db) : "out of memory\n");
        return SRV_STORE_ERR;
    }
    PQclear(PQexec(s->db, "SET client_min_messages=warning"));
    return 0;
}

static void lock(pg_store *s) { pthread_mutex_lock(&s->mu); }
static void unlock(pg_store *s) { pthread_mutex_unlock(&s->mu); }

static const char *val(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}
static int64_t ival(PGresult *r, int row, int col) { return strtoll(val(r, row, col), NULL, 10); }
static double dval(PGresult *r, int row, int col) { return strtod(val(r, row, col), NULL); }
static bool bval(PGresult *r, int row, int col)
{
    const char *v = val(r, row, col);
    return v[0] == 't' || (v[0] >= '1' && v[0] <= '9');
}
static void copy_text(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src); }

/* ,"name":"<iso time>" */
static void add_time(srv_buf *b, const char *name, int64_t t)
{
    char iso[24];
    srv_time_iso(iso, t);
    srv_buf_printf(b, ",\"%s\":\"%s\"", name, iso);
}

static void code_text(srv_buf *out, const char *state, int code)
{
    const char *t = ota_strerror((ota_err)code);
    if (code) srv_buf_printf(out, "%s: %s (%d)", state, t, code);
    else srv_buf_printf(out, "%s: no code", state);
}

/* A transaction body: 0, SRV_STORE_* or PG_RETRY (after which it runs again). */
typedef int (*txn_fn)(pg_store *s, void *arg);

static int txn(pg_store *s, txn_fn fn, void *arg)
{
    int rc = SRV_STORE_ERR;
    lock(s);
    for (int attempt = 0; attempt < 4; attempt++) {
        if (ensure(s) != 0) { rc = SRV_STORE_ERR; break; }
        if (exec0(s, "BEGIN") != 0) { rc = SRV_STORE_ERR; break; }
        rc = fn(s, arg);
        if (rc == 0 || rc == 1 || rc == SRV_STORE_NOTFOUND || rc == SRV_STORE_CONFLICT) {
            /* NOTFOUND/CONFLICT wrote nothing that matters: commit is
             * harmless, and one code path keeps it simple. */
            int c = exec_p(s, "COMMIT", "COMMIT", NULL, NULL);
            if (c == 0) break;
            rc = c;
        }
        PQclear(PQexec(s->db, "ROLLBACK"));
        if (rc != PG_RETRY) break;
        rc = SRV_STORE_ERR;
    }
    if (rc == PG_RETRY) rc = SRV_STORE_ERR;
    unlock(s);
    return rc;
}

/* One statement outside an explicit transaction (auto-commit). */
static PGresult *one(pg_store *s, const char *what, const char *sql, const params *p)
{
    if (ensure(s) != 0) return NULL;
    return run(s, what, sql, p, NULL);
}

/* Tell the other replicas (LISTEN otad) what this transaction changed: sent
 * by PostgreSQL at commit, and only if it commits.  The change strings:
 *   S                       releases or rollouts changed: rebuild the snapshot
 *   D <device>              a device secret was made or replaced
 *   X <device>              a device was retired
 *   B <device> <app> <seq>  a device is now blocked from a release
 *   U <device> [<app> <seq>] blocks cleared
 *   F                       devices' boards or running sequences changed
 * each after "<origin> " (a process ignores its own). */
static int notify(pg_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int notify(pg_store *s, const char *fmt, ...)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "%s ", s->origin);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    params p = {0};
    p_text(&p, msg);
    return exec_p(s, "notify", "SELECT pg_notify('otad', $1)", &p, NULL);
}

/* ---- releases -------------------------------------------------------------- */

static int release_put_tx(pg_store *s, void *arg)
{
    const srv_release *r = arg;
    params p = {0};
    p_text(&p, r->app);
    p_u64(&p, r->seq);
    p_blob(&p, r->statement, r->statement_len);
    p_text(&p, r->statement_sha256);
    p_text(&p, r->bundle_sha256);
    p_u64(&p, r->size);
    p_text(&p, r->label);
    p_text(&p, r->board);
    p_text(&p, r->key_id);
    p_i64(&p, r->created);
    int64_t n = 0;
    int rc = exec_p(s, "release insert",
                    "INSERT INTO releases(app,seq,statement,statement_sha256,bundle_sha256,size,"
                    "label,board,key_id,created) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) "
                    "ON CONFLICT(app,seq) DO NOTHING", &p, &n);
    if (rc) return rc;
    if (n == 1) return notify(s, "S");
    params q = {0};
    p_text(&q, r->app);
    p_u64(&q, r->seq);
    bool retry = false;
    PGresult *res = run(s, "release lookup", "SELECT statement_sha256 FROM releases WHERE app=$1 AND seq=$2",
                        &q, &retry);
    if (!res) return retry ? PG_RETRY : SRV_STORE_ERR;
    rc = PQntuples(res) == 1 && strcmp(val(res, 0, 0), r->statement_sha256) == 0 ? 1 : SRV_STORE_CONFLICT;
    PQclear(res);
    return rc;
}

static int pg_release_put(srv_store *base, const srv_release *r)
{
    return txn((pg_store *)base, release_put_tx, (void *)r);
}

static int pg_release_list(srv_store *base, void (*fn)(const srv_release *, void *), void *arg)
{
    pg_store *s = (pg_store *)base;
    int rc = SRV_STORE_ERR;
    lock(s);
    PGresult *q = one(s, "release list",
                      "SELECT app,seq,statement,statement_sha256,bundle_sha256,size,"
                      "label,board,key_id,created,bytes_served FROM releases ORDER BY app, seq", NULL);
    unlock(s);   /* the result is ours: callbacks may call the store */
    if (q) {
        rc = 0;
        for (int i = 0; i < PQntuples(q); i++) {
            srv_release r;
            memset(&r, 0, sizeof r);
            copy_text(r.app, sizeof r.app, val(q, i, 0));
            r.seq = (uint64_t)ival(q, i, 1);
            size_t len = 0;
            unsigned char *st = PQunescapeBytea((const unsigned char *)val(q, i, 2), &len);
            if (!st) { rc = SRV_STORE_ERR; break; }
            r.statement = st;
            r.statement_len = len;
            copy_text(r.statement_sha256, sizeof r.statement_sha256, val(q, i, 3));
            copy_text(r.bundle_sha256, sizeof r.bundle_sha256, val(q, i, 4));
            r.size = (uint64_t)ival(q, i, 5);
            copy_text(r.label, sizeof r.label, val(q, i, 6));
            copy_text(r.board, sizeof r.board, val(q, i, 7));
            copy_text(r.key_id, sizeof r.key_id, val(q, i, 8));
            r.created = ival(q, i, 9);
            r.bytes_served = (uint64_t)ival(q, i, 10);
            fn(&r, arg);
            PQfreemem(st);
        }
        PQclear(q);
    }
    return rc;
}

static int pg_release_add_served(srv_store *base, const char *app, uint64_t seq, uint64_t bytes)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_u64(&p, bytes);
    p_text(&p, app);
    p_u64(&p, seq);
    lock(s);
    PGresult *q = one(s, "bytes served",
                      "UPDATE releases SET bytes_served=bytes_served+$1 WHERE app=$2 AND seq=$3", &p);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    PQclear(q);
    return 0;
}

/* ---- rollouts -------------------------------------------------------------- */

typedef struct rollout_put_arg { srv_rollout *r; bool supersede; const srv_rollout *from; } rollout_put_arg;

static int rollout_put_tx(pg_store *s, void *arg)
{
    rollout_put_arg *a = arg;
    srv_rollout *r = a->r;
    int rc;
    if (a->supersede) {
        params p = {0};
        p_i64(&p, r->updated);
        p_text(&p, r->app);
        p_i64(&p, r->id);
        rc = exec_p(s, "supersede", "UPDATE rollouts SET state='superseded', updated=$1 "
                    "WHERE app=$2 AND state IN ('active','paused') AND id<>$3", &p, NULL);
        if (rc) return rc;
    }
    params p = {0};
    p_text(&p, r->app);
    p_u64(&p, r->seq);
    p_dbl(&p, r->percent);
    p_text(&p, r->allow_json ? r->allow_json : "[]");
    p_text(&p, r->pins_json ? r->pins_json : "{}");
    p_text(&p, r->waves_json ? r->waves_json : "[]");
    p_dbl(&p, r->wave_fraction);
    p_text(&p, r->state);
    p_dbl(&p, r->error_threshold);
    p_i64(&p, r->min_reports);
    p_text(&p, r->reason);
    p_i64(&p, r->created);
    p_i64(&p, r->updated);
    if (r->id == 0) {
        bool retry = false;
        PGresult *q = run(s, "rollout put",
                          "INSERT INTO rollouts(app,seq,percent,allow,pins,waves,wave_fraction,state,"
                          "error_threshold,min_reports,reason,created,updated) "
                          "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id", &p, &retry);
        if (!q) return retry ? PG_RETRY : SRV_STORE_ERR;
        int64_t id = PQntuples(q) == 1 ? ival(q, 0, 0) : 0;
        PQclear(q);
        if (!id) return SRV_STORE_ERR;
        r->id = id;
        return notify(s, "S");
    }
    p_i64(&p, r->id);
    int64_t n = 0;
    if (a->from) {
        /* Only from the state the caller decided on (rollout_cas). */
        p_text(&p, a->from->state);
        p_dbl(&p, a->from->percent);
        p_i64(&p, a->from->updated);
    }
    rc = exec_p(s, "rollout put",
                a->from ? "UPDATE rollouts SET app=$1,seq=$2,percent=$3,allow=$4,pins=$5,waves=$6,"
                          "wave_fraction=$7,state=$8,error_threshold=$9,min_reports=$10,reason=$11,"
                          "created=$12,updated=$13 WHERE id=$14 AND state=$15 AND percent=$16 "
                          "AND updated=$17"
                        : "UPDATE rollouts SET app=$1,seq=$2,percent=$3,allow=$4,pins=$5,waves=$6,"
                          "wave_fraction=$7,state=$8,error_threshold=$9,min_reports=$10,reason=$11,"
                          "created=$12,updated=$13 WHERE id=$14", &p, &n);
    if (rc) return rc;
    if (a->from && n != 1) return SRV_STORE_CONFLICT;
    return notify(s, "S");
}

static int pg_rollout_put(srv_store *base, srv_rollout *r, bool supersede)
{
    int64_t id0 = r->id;
    rollout_put_arg a = { r, supersede, NULL };
    int rc = txn((pg_store *)base, rollout_put_tx, &a);
    if (rc != 0) r->id = id0;   /* a rolled-back insert has no id */
    return rc;
}

static int pg_rollout_cas(srv_store *base, const srv_rollout *from, srv_rollout *to)
{
    if (to->id == 0 || to->id != from->id) return SRV_STORE_ERR;
    rollout_put_arg a = { to, false, from };
    return txn((pg_store *)base, rollout_put_tx, &a);
}

static int pg_rollout_list(srv_store *base, void (*fn)(const srv_rollout *, void *), void *arg)
{
    pg_store *s = (pg_store *)base;
    int rc = SRV_STORE_ERR;
    lock(s);
    PGresult *q = one(s, "rollout list",
                      "SELECT id,app,seq,percent,allow,pins,waves,wave_fraction,state,"
                      "error_threshold,min_reports,reason,created,updated FROM rollouts ORDER BY id", NULL);
    unlock(s);   /* the result is ours: callbacks may call the store */
    if (q) {
        for (int i = 0; i < PQntuples(q); i++) {
            srv_rollout r;
            memset(&r, 0, sizeof r);
            r.id = ival(q, i, 0);
            copy_text(r.app, sizeof r.app, val(q, i, 1));
            r.seq = (uint64_t)ival(q, i, 2);
            r.percent = dval(q, i, 3);
            r.allow_json = PQgetvalue(q, i, 4);
            r.pins_json = PQgetvalue(q, i, 5);
            r.waves_json = PQgetvalue(q, i, 6);
            r.wave_fraction = dval(q, i, 7);
            copy_text(r.state, sizeof r.state, val(q, i, 8));
            r.error_threshold = dval(q, i, 9);
            r.min_reports = ival(q, i, 10);
            copy_text(r.reason, sizeof r.reason, val(q, i, 11));
            r.created = ival(q, i, 12);
            r.updated = ival(q, i, 13);
            fn(&r, arg);
        }
        PQclear(q);
        rc = 0;
    }
    return rc;
}

/* ---- devices --------------------------------------------------------------- */

typedef struct dev_arg { const char *id; const uint8_t *enc; size_t enc_len; int64_t now; } dev_arg;

static int device_create_tx(pg_store *s, void *arg)
{
    dev_arg *a = arg;
    params p = {0};
    p_text(&p, a->id);
    if (a->enc) p_blob(&p, a->enc, a->enc_len);
    else p_null(&p);
    p_i64(&p, a->now);
    /* A device known only from its polls has no secret yet: it may be given
     * one once.  A device that has a secret keeps it (409). */
    int64_t n = 0;
    int rc = exec_p(s, "device create",
                    "INSERT INTO devices(id,secret_enc,created) VALUES($1,$2::bytea,$3) "
                    "ON CONFLICT(id) DO UPDATE SET secret_enc=EXCLUDED.secret_enc "
                    "WHERE devices.secret_enc IS NULL AND EXCLUDED.secret_enc IS NOT NULL", &p, &n);
    if (rc) return rc;
    if (n != 1) return SRV_STORE_CONFLICT;
    return a->enc ? notify(s, "D %s", a->id) : 0;
}

static int pg_device_create(srv_store *base, const char *id, const uint8_t *enc, size_t enc_len,
                            int64_t now)
{
    dev_arg a = { id, enc, enc_len, now };
    return txn((pg_store *)base, device_create_tx, &a);
}

static int pg_device_secrets(srv_store *base,
                             void (*fn)(const char *, const uint8_t *, size_t, void *), void *arg)
{
    pg_store *s = (pg_store *)base;
    int rc = SRV_STORE_ERR;
    lock(s);
    PGresult *q = one(s, "device secrets", "SELECT id, secret_enc FROM devices WHERE secret_enc IS NOT NULL",
                      NULL);
    unlock(s);   /* the result is ours: callbacks may call the store */
    if (q) {
        rc = 0;
        for (int i = 0; i < PQntuples(q); i++) {
            size_t len = 0;
            unsigned char *b = PQunescapeBytea((const unsigned char *)val(q, i, 1), &len);
            if (!b) { rc = SRV_STORE_ERR; break; }
            fn(val(q, i, 0), b, len, arg);
            PQfreemem(b);
        }
        PQclear(q);
    }
    return rc;
}

static int device_rekey_tx(pg_store *s, void *arg)
{
    dev_arg *a = arg;
    params p = {0};
    p_text(&p, a->id);
    p_blob(&p, a->enc, a->enc_len);
    int64_t n = 0;
    int rc = exec_p(s, "device rekey", "UPDATE devices SET secret_enc=$2 WHERE id=$1", &p, &n);
    if (rc) return rc;
    if (n != 1) return SRV_STORE_NOTFOUND;
    return notify(s, "D %s", a->id);
}

static int pg_device_rekey(srv_store *base, const char *id, const uint8_t *enc, size_t enc_len)
{
    dev_arg a = { id, enc, enc_len, 0 };
    return txn((pg_store *)base, device_rekey_tx, &a);
}

/* Move one device from (state, code) to (nstate, ncode) in the counts of
 * (app, seq); NULL state = not counted before / no longer counted. */
static int count_move(pg_store *s, const char *app, uint64_t seq, const char *state, int64_t code,
                      const char *nstate, int64_t ncode)
{
    if (state && nstate && strcmp(state, nstate) == 0 && code == ncode) return 0;
    int rc;
    if (state) {
        params p = {0};
        p_text(&p, app);
        p_u64(&p, seq);
        p_text(&p, state);
        p_i64(&p, code);
        rc = exec_p(s, "count down", "UPDATE release_counts SET n=n-1 WHERE app=$1 AND seq=$2 "
                    "AND state=$3 AND code=$4", &p, NULL);
        if (rc) return rc;
    }
    if (nstate) {
        params p = {0};
        p_text(&p, app);
        p_u64(&p, seq);
        p_text(&p, nstate);
        p_i64(&p, ncode);
        rc = exec_p(s, "count up", "INSERT INTO release_counts(app,seq,state,code,n) VALUES($1,$2,$3,$4,1) "
                    "ON CONFLICT(app,seq,state,code) DO UPDATE SET n=release_counts.n+1", &p, NULL);
        if (rc) return rc;
    }
    return 0;
}

static int device_delete_tx(pg_store *s, void *arg)
{
    const char *id = arg;
    params p = {0};
    p_text(&p, id);
    bool retry = false;
    /* The device's row first: its reports (on any replica) wait for us. */
    PGresult *q = run(s, "device delete", "SELECT 1 FROM devices WHERE id=$1 FOR UPDATE", &p, &retry);
    if (!q) return retry ? PG_RETRY : SRV_STORE_ERR;
    bool known = PQntuples(q) == 1;
    PQclear(q);
    if (!known) return SRV_STORE_NOTFOUND;
    q = run(s, "device delete", "SELECT app, seq, state, code FROM device_releases WHERE device=$1", &p, &retry);
    if (!q) return retry ? PG_RETRY : SRV_STORE_ERR;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(q); i++)
        rc = count_move(s, val(q, i, 0), (uint64_t)ival(q, i, 1), val(q, i, 2), ival(q, i, 3), NULL, 0);
    PQclear(q);
    if (rc) return rc;
    static const char *const del[] = {
        "DELETE FROM device_releases WHERE device=$1", "DELETE FROM device_apps WHERE device=$1",
        "DELETE FROM devices WHERE id=$1",
    };
    for (int i = 0; i < 3; i++)
        if ((rc = exec_p(s, "device delete", del[i], &p, NULL)) != 0) return rc;
    return notify(s, "X %s", id);
}

static int pg_device_delete(srv_store *base, const char *id)
{
    return txn((pg_store *)base, device_delete_tx, (void *)id);
}

static int pg_blocked_list(srv_store *base,
                           void (*fn)(const char *, const char *, uint64_t, void *), void *arg)
{
    pg_store *s = (pg_store *)base;
    lock(s);
    PGresult *q = one(s, "blocked list", "SELECT device, app, seq FROM device_releases WHERE blocks=1", NULL);
    unlock(s);   /* the result is ours: callbacks may call the store */
    if (q) {
        for (int i = 0; i < PQntuples(q); i++)
            fn(val(q, i, 0), val(q, i, 1), (uint64_t)ival(q, i, 2), arg);
        PQclear(q);
    }
    return q ? 0 : SRV_STORE_ERR;
}

typedef struct clear_arg { const char *device, *app; uint64_t seq; int64_t *n; } clear_arg;

static int block_clear_tx(pg_store *s, void *arg)
{
    clear_arg *a = arg;
    params p = {0};
    p_text(&p, a->device);
    if (a->app) {
        p_text(&p, a->app);
        p_u64(&p, a->seq);
    }
    int rc = exec_p(s, "block clear",
                    a->app ? "UPDATE device_releases SET blocks=0 WHERE device=$1 AND blocks=1 "
                             "AND app=$2 AND seq=$3"
                           : "UPDATE device_releases SET blocks=0 WHERE device=$1 AND blocks=1", &p, a->n);
    if (rc || *a->n == 0) return rc;
    if (a->app) return notify(s, "U %s %s %llu", a->device, a->app, (unsigned long long)a->seq);
    return notify(s, "U %s", a->device);
}

static int pg_block_clear(srv_store *base, const char *device, const char *app, uint64_t seq,
                          int64_t *n)
{
    clear_arg a = { device, app, seq, n };
    *n = 0;
    return txn((pg_store *)base, block_clear_tx, &a);
}

static int blocks_json_locked(pg_store *s, const char *device, srv_buf *out)
{
    params p = {0};
    p_text(&p, device);
    PGresult *q = run(s, "blocks", "SELECT app, seq, state, code, updated FROM device_releases "
                                   "WHERE device=$1 AND blocks=1 ORDER BY app, seq", &p, NULL);
    if (!q) return SRV_STORE_ERR;
    srv_buf_addstr(out, "[");
    for (int i = 0; i < PQntuples(q); i++) {
        srv_buf_addstr(out, i ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(out, val(q, i, 0));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)ival(q, i, 1));
        srv_buf_json_str(out, val(q, i, 2));
        srv_buf_printf(out, ",\"code\":%d,\"reason\":", (int)ival(q, i, 3));
        srv_buf t = {0};
        code_text(&t, val(q, i, 2), (int)ival(q, i, 3));
        srv_buf_addstr(&t, "");
        srv_buf_json_str(out, t.data ? t.data : "");
        srv_buf_free(&t);
        add_time(out, "since", ival(q, i, 4));
        srv_buf_addstr(out, "}");
    }
    PQclear(q);
    srv_buf_addstr(out, "]");
    return 0;
}

static int pg_blocks_json(srv_store *base, const char *device, srv_buf *out)
{
    pg_store *s = (pg_store *)base;
    lock(s);
    int rc = ensure(s) == 0 ? blocks_json_locked(s, device, out) : SRV_STORE_ERR;
    unlock(s);
    return rc;
}

typedef struct seen_arg { const srv_seen *v; size_t n; } seen_arg;

static int seen_flush_tx(pg_store *s, void *arg)
{
    seen_arg *a = arg;
    int rc;
    for (size_t i = 0; i < a->n; i++) {
        const srv_seen *v = &a->v[i];
        params d = {0};
        p_text(&d, v->device);
        p_i64(&d, v->when);
        rc = exec_p(s, "seen device", "INSERT INTO devices(id,created,last_seen) VALUES($1,$2,$2) "
                    "ON CONFLICT(id) DO UPDATE SET last_seen=GREATEST(devices.last_seen, EXCLUDED.last_seen)",
                    &d, NULL);
        if (rc) return rc;
        params p = {0};
        p_text(&p, v->device);
        p_text(&p, v->app);
        p_u64(&p, v->seq);
        p_i64(&p, v->when);
        p_text(&p, v->board);
        /* A batched poll must not undo the running seq of a report of the
         * same second or later (see store_sqlite.c). */
        rc = exec_p(s, "seen app",
                    "INSERT INTO device_apps(device,app,seq,last_seen,board) VALUES($1,$2,$3,$4,$5) "
                    "ON CONFLICT(device,app) DO UPDATE SET "
                    "seq=CASE WHEN device_apps.last_seen < $4 OR (device_apps.last_seen = $4 AND "
                    "device_apps.state = '') THEN $3 ELSE device_apps.seq END, "
                    "last_seen=GREATEST(device_apps.last_seen, $4), "
                    "board=CASE WHEN $5 <> '' THEN $5 ELSE device_apps.board END", &p, NULL);
        if (rc) return rc;
        if (v->offered) {
            params o = {0};
            int64_t n = 0;
            p_text(&o, v->device);
            p_text(&o, v->app);
            p_u64(&o, v->offered);
            p_i64(&o, v->when);
            rc = exec_p(s, "seen offer",
                        "INSERT INTO device_releases(device,app,seq,state,updated) "
                        "VALUES($1,$2,$3,'offered',$4) ON CONFLICT(device,app,seq) DO NOTHING", &o, &n);
            if (rc) return rc;
            if (n == 1 && (rc = count_move(s, v->app, v->offered, NULL, 0, "offered", 0)) != 0) return rc;
        }
    }
    return notify(s, "F");
}

static int pg_seen_flush(srv_store *base, const srv_seen *v, size_t n)
{
    if (n == 0) return 0;
    seen_arg a = { v, n };
    return txn((pg_store *)base, seen_flush_tx, &a);
}

static int pg_app_fleet(srv_store *base, const char *app,
                        void (*fn)(const char *, const char *, uint64_t, void *), void *arg)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_text(&p, app);
    lock(s);
    PGresult *q = one(s, "app fleet", "SELECT device, board, seq FROM device_apps WHERE app=$1", &p);
    unlock(s);   /* the result is ours: callbacks may call the store */
    if (q) {
        for (int i = 0; i < PQntuples(q); i++) fn(val(q, i, 0), val(q, i, 1), (uint64_t)ival(q, i, 2), arg);
        PQclear(q);
    }
    return q ? 0 : SRV_STORE_ERR;
}

/* ---- reports --------------------------------------------------------------- */

static int counts_locked(pg_store *s, const char *app, uint64_t seq, srv_release_counts *c, bool *retry)
{
    memset(c, 0, sizeof *c);
    params p = {0};
    p_text(&p, app);
    p_u64(&p, seq);
    PGresult *q = run(s, "counts", "SELECT state, sum(n) FROM release_counts WHERE app=$1 AND seq=$2 "
                                   "GROUP BY state", &p, retry);
    if (!q) return SRV_STORE_ERR;
    for (int i = 0; i < PQntuples(q); i++) {
        int k = srv_state_index(val(q, i, 0));
        int64_t n = ival(q, i, 1);
        if (k >= 0) c->by_state[k] = n;
        c->offered += n;
    }
    PQclear(q);
    return 0;
}

/* One report: one call of otad_report (migration 3 -> 4), in its own
 * transaction, committed when the call returns. */
static int pg_report(srv_store *base, const srv_report *r, srv_release_counts *counts, bool *blocked)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_text(&p, r->device);
    p_text(&p, r->app);
    p_u64(&p, r->seq);
    p_text(&p, r->state);
    p_text(&p, r->detail);
    p_i64(&p, r->when);
    p_i64(&p, (int64_t)r->code);
    p_u64(&p, r->ctr);
    p_i64(&p, r->blocks ? 1 : 0);
    p_text(&p, s->origin);
    int rc = SRV_STORE_ERR;
    lock(s);
    for (int attempt = 0; attempt < 4; attempt++) {
        if (ensure(s) != 0) break;
        bool retry = false;
        PGresult *q = run(s, "report", "SELECT r_kind, r_blocked, r_state, r_n FROM "
                          "otad_report($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)", &p, &retry);
        if (!q) {
            if (retry) continue;
            break;
        }
        srv_release_counts c;
        memset(&c, 0, sizeof c);
        rc = SRV_STORE_ERR;
        for (int i = 0; i < PQntuples(q); i++) {
            int kind = (int)ival(q, i, 0);
            if (kind == -3) rc = SRV_STORE_CONFLICT;
            else if (kind == 0) {
                rc = 0;
                if (blocked) *blocked = ival(q, i, 1) != 0;
            } else {
                int k = srv_state_index(val(q, i, 2));
                int64_t n = ival(q, i, 3);
                if (k >= 0) c.by_state[k] = n;
                c.offered += n;
            }
        }
        PQclear(q);
        if (rc == 0 && counts) *counts = c;
        break;
    }
    unlock(s);
    return rc;
}

static int pg_release_counts(srv_store *base, const char *app, uint64_t seq, srv_release_counts *c)
{
    pg_store *s = (pg_store *)base;
    lock(s);
    int rc = ensure(s) == 0 ? counts_locked(s, app, seq, c, NULL) : SRV_STORE_ERR;
    unlock(s);
    return rc;
}

static int pg_reasons_json(srv_store *base, const char *app, uint64_t seq, srv_buf *out)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_text(&p, app);
    p_u64(&p, seq);
    lock(s);
    PGresult *q = one(s, "reasons", "SELECT state, code, n FROM release_counts WHERE app=$1 AND seq=$2 "
                      "AND n>0 AND state IN ('rejected','rolled_back','failed') "
                      "ORDER BY n DESC, state COLLATE \"C\", code", &p);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    srv_buf_addstr(out, "{");
    for (int i = 0; i < PQntuples(q); i++) {
        srv_buf t = {0};
        code_text(&t, val(q, i, 0), (int)ival(q, i, 1));
        if (i) srv_buf_addstr(out, ",");
        srv_buf_json_str(out, t.data ? t.data : "");
        srv_buf_free(&t);
        srv_buf_printf(out, ":%lld", (long long)ival(q, i, 2));
    }
    srv_buf_addstr(out, "}");
    PQclear(q);
    return 0;
}

static void device_apps_json(PGresult *q, int i, srv_buf *out, int first)
{
    srv_buf_addstr(out, first ? "{\"app\":" : ",{\"app\":");
    srv_buf_json_str(out, val(q, i, 0));
    srv_buf_printf(out, ",\"seq\":%lld,\"board\":", (long long)ival(q, i, 1));
    srv_buf_json_str(out, val(q, i, 3));
    add_time(out, "last_seen", ival(q, i, 2));
    srv_buf_addstr(out, ",\"state\":");
    if (*val(q, i, 4)) srv_buf_json_str(out, val(q, i, 4));
    else srv_buf_addstr(out, "null");
    srv_buf_printf(out, ",\"state_seq\":%lld}", (long long)ival(q, i, 5));
}

static int apps_json(pg_store *s, const char *id, srv_buf *out)
{
    params p = {0};
    p_text(&p, id);
    PGresult *q = run(s, "device apps", "SELECT app, seq, last_seen, board, state, state_seq FROM device_apps "
                      "WHERE device=$1 ORDER BY app", &p, NULL);
    if (!q) return SRV_STORE_ERR;
    srv_buf_addstr(out, "[");
    for (int i = 0; i < PQntuples(q); i++) device_apps_json(q, i, out, i == 0);
    srv_buf_addstr(out, "]");
    PQclear(q);
    return 0;
}

static int pg_device_json(srv_store *base, const char *id, srv_buf *out)
{
    pg_store *s = (pg_store *)base;
    int rc = SRV_STORE_ERR;
    params p = {0};
    p_text(&p, id);
    lock(s);
    /* One snapshot for the whole answer (REPEATABLE READ, read only). */
    if (ensure(s) != 0 || exec0(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) goto out;
    PGresult *q = run(s, "device", "SELECT created, last_seen, secret_enc IS NOT NULL, "
                      "(SELECT count(*) FROM reports WHERE device=$1) FROM devices WHERE id=$1", &p, NULL);
    if (!q) goto end;
    if (PQntuples(q) != 1) {
        PQclear(q);
        rc = SRV_STORE_NOTFOUND;
        goto end;
    }
    srv_buf_addstr(out, "{\"id\":");
    srv_buf_json_str(out, id);
    add_time(out, "created", ival(q, 0, 0));
    add_time(out, "last_seen", ival(q, 0, 1));
    srv_buf_printf(out, ",\"has_secret\":%s,\"report_count\":%lld", bval(q, 0, 2) ? "true" : "false",
                   (long long)ival(q, 0, 3));
    PQclear(q);
    srv_buf_addstr(out, ",\"apps\":");
    if (apps_json(s, id, out) != 0) goto end;
    srv_buf_addstr(out, ",\"releases\":[");
    q = run(s, "device releases", "SELECT app, seq, state, detail, updated, code, blocks FROM device_releases "
            "WHERE device=$1 ORDER BY app, seq", &p, NULL);
    if (!q) goto end;
    for (int i = 0; i < PQntuples(q); i++) {
        srv_buf_addstr(out, i ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(out, val(q, i, 0));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)ival(q, i, 1));
        srv_buf_json_str(out, val(q, i, 2));
        srv_buf_printf(out, ",\"code\":%d,\"blocked\":%s,\"detail\":", (int)ival(q, i, 5),
                       ival(q, i, 6) ? "true" : "false");
        srv_buf_json_str(out, val(q, i, 3));
        add_time(out, "updated", ival(q, i, 4));
        srv_buf_addstr(out, "}");
    }
    PQclear(q);
    srv_buf_addstr(out, "],\"blocks\":");
    if (blocks_json_locked(s, id, out) != 0) goto end;
    srv_buf_addstr(out, ",\"reports\":[");
    q = run(s, "device reports", "SELECT id, app, seq, state, detail, at, code FROM reports WHERE device=$1 "
            "ORDER BY id DESC LIMIT 50", &p, NULL);
    if (!q) goto end;
    for (int i = 0; i < PQntuples(q); i++) {
        srv_buf_printf(out, "%s{\"id\":%lld,\"app\":", i ? "," : "", (long long)ival(q, i, 0));
        srv_buf_json_str(out, val(q, i, 1));
        srv_buf_printf(out, ",\"seq\":%lld,\"state\":", (long long)ival(q, i, 2));
        srv_buf_json_str(out, val(q, i, 3));
        srv_buf_printf(out, ",\"code\":%d,\"detail\":", (int)ival(q, i, 6));
        srv_buf_json_str(out, val(q, i, 4));
        add_time(out, "at", ival(q, i, 5));
        srv_buf_addstr(out, "}");
    }
    PQclear(q);
    srv_buf_addstr(out, "]}");
    rc = out->failed ? SRV_STORE_ERR : 0;
end:
    PQclear(PQexec(s->db, "ROLLBACK"));
out:
    unlock(s);
    return rc;
}

static int pg_device_list_json(srv_store *base, const srv_device_filter *f, srv_buf *out)
{
    pg_store *s = (pg_store *)base;
    int rc = SRV_STORE_ERR;
    char sql[1024];
    int limit = f->limit > 0 ? f->limit : 100;
    /* Only the parameters used are sent, numbered in order. */
    params p = {0};
    char w[512] = "";
    size_t wl = 0;
    char join[128] = "";
    if (f->app) {
        p_text(&p, f->app);
        snprintf(join, sizeof join, " JOIN device_apps a ON a.device=d.id AND a.app=$%d", p.n);
        if (f->has_seq) { p_u64(&p, f->seq); wl += (size_t)snprintf(w + wl, sizeof w - wl, " AND a.seq=$%d", p.n); }
        if (f->state) { p_text(&p, f->state); wl += (size_t)snprintf(w + wl, sizeof w - wl, " AND a.state=$%d", p.n); }
    }
    if (f->has_since) { p_i64(&p, f->seen_since); wl += (size_t)snprintf(w + wl, sizeof w - wl, " AND d.last_seen >= $%d", p.n); }
    if (f->has_before) { p_i64(&p, f->seen_before); wl += (size_t)snprintf(w + wl, sizeof w - wl, " AND d.last_seen < $%d", p.n); }
    p_text(&p, f->cursor ? f->cursor : "");
    int pc = p.n;
    p_i64(&p, limit + 1);
    snprintf(sql, sizeof sql,
             "SELECT d.id, d.created, d.last_seen, d.secret_enc IS NOT NULL FROM devices d%s "
             "WHERE d.id > $%d%s ORDER BY d.id LIMIT $%d", join, pc, w, p.n);
    lock(s);
    if (ensure(s) != 0 || exec0(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) goto out;
    PGresult *q = run(s, "device list", sql, &p, NULL);
    if (!q) goto end;
    srv_buf_addstr(out, "{\"devices\":[");
    int n = 0;
    char last[40] = "";
    bool more = false;
    for (int i = 0; i < PQntuples(q); i++) {
        if (n == limit) { more = true; break; }
        copy_text(last, sizeof last, val(q, i, 0));
        srv_buf_addstr(out, n++ ? ",{\"id\":" : "{\"id\":");
        srv_buf_json_str(out, last);
        add_time(out, "created", ival(q, i, 1));
        add_time(out, "last_seen", ival(q, i, 2));
        srv_buf_printf(out, ",\"has_secret\":%s,\"apps\":", bval(q, i, 3) ? "true" : "false");
        if (apps_json(s, last, out) != 0) { PQclear(q); goto end; }
        srv_buf_addstr(out, "}");
    }
    PQclear(q);
    srv_buf_addstr(out, "],\"next_cursor\":");
    if (more) srv_buf_json_str(out, last);
    else srv_buf_addstr(out, "null");
    srv_buf_addstr(out, "}");
    rc = out->failed ? SRV_STORE_ERR : 0;
end:
    PQclear(PQexec(s->db, "ROLLBACK"));
out:
    unlock(s);
    return rc;
}

/* ---- history and audit ------------------------------------------------------ */

static int pg_event_add(srv_store *base, int64_t rollout, int64_t at, const char *event,
                        const char *by, const char *detail)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_i64(&p, rollout);
    p_i64(&p, at);
    p_text(&p, event);
    p_text(&p, by);
    p_text(&p, detail ? detail : "");
    lock(s);
    PGresult *q = one(s, "rollout event", "INSERT INTO rollout_events(rollout,at,event,\"by\",detail) "
                      "VALUES($1,$2,$3,$4,$5)", &p);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    PQclear(q);
    return 0;
}

static int pg_history_json(srv_store *base, int64_t rollout, srv_buf *out)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_i64(&p, rollout);
    lock(s);
    PGresult *q = one(s, "history", "SELECT at, event, \"by\", detail FROM rollout_events WHERE rollout=$1 "
                      "ORDER BY id", &p);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    srv_buf_addstr(out, "[");
    for (int i = 0; i < PQntuples(q); i++) {
        char iso[24];
        srv_time_iso(iso, ival(q, i, 0));
        srv_buf_printf(out, "%s{\"at\":\"%s\",\"event\":", i ? "," : "", iso);
        srv_buf_json_str(out, val(q, i, 1));
        srv_buf_addstr(out, ",\"by\":");
        srv_buf_json_str(out, val(q, i, 2));
        srv_buf_addstr(out, ",\"detail\":");
        srv_buf_json_str(out, val(q, i, 3));
        srv_buf_addstr(out, "}");
    }
    srv_buf_addstr(out, "]");
    PQclear(q);
    return 0;
}

static int pg_audit_add(srv_store *base, int64_t at, const char *by, const char *method,
                        const char *path, unsigned status, const char *summary)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_i64(&p, at);
    p_text(&p, by);
    p_text(&p, method);
    p_text(&p, path);
    p_i64(&p, (int64_t)status);
    p_text(&p, summary ? summary : "");
    lock(s);
    PGresult *q = one(s, "audit", "INSERT INTO audit(at,\"by\",method,path,status,summary) "
                      "VALUES($1,$2,$3,$4,$5,$6)", &p);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    PQclear(q);
    return 0;
}

static int pg_audit_json(srv_store *base, int limit, int64_t before_id, srv_buf *out)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_i64(&p, before_id > 0 ? before_id : INT64_MAX);
    p_i64(&p, (int64_t)limit + 1);
    lock(s);
    PGresult *q = one(s, "audit list", "SELECT id, at, \"by\", method, path, status, summary FROM audit "
                      "WHERE id < $1 ORDER BY id DESC LIMIT $2", &p);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    srv_buf_addstr(out, "{\"entries\":[");
    int n = 0;
    int64_t last = 0;
    bool more = false;
    for (int i = 0; i < PQntuples(q); i++) {
        if (n == limit) { more = true; break; }
        last = ival(q, i, 0);
        char iso[24];
        srv_time_iso(iso, ival(q, i, 1));
        srv_buf_printf(out, "%s{\"id\":%lld,\"at\":\"%s\",\"by\":", n++ ? "," : "", (long long)last, iso);
        srv_buf_json_str(out, val(q, i, 2));
        srv_buf_addstr(out, ",\"method\":");
        srv_buf_json_str(out, val(q, i, 3));
        srv_buf_addstr(out, ",\"path\":");
        srv_buf_json_str(out, val(q, i, 4));
        srv_buf_printf(out, ",\"status\":%d,\"summary\":", (int)ival(q, i, 5));
        srv_buf_json_str(out, val(q, i, 6));
        srv_buf_addstr(out, "}");
    }
    PQclear(q);
    if (more) srv_buf_printf(out, "],\"next_cursor\":\"%lld\"}", (long long)last);
    else srv_buf_addstr(out, "],\"next_cursor\":null}");
    return out->failed ? SRV_STORE_ERR : 0;
}

static int pg_report_count(srv_store *base, int64_t *n)
{
    pg_store *s = (pg_store *)base;
    lock(s);
    PGresult *q = one(s, "report count", "SELECT count(*) FROM reports", NULL);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    *n = ival(q, 0, 0);
    PQclear(q);
    return 0;
}

typedef struct bundle_arg { const char *sha; const uint8_t *data; size_t len; } bundle_arg;

static int bundle_put_tx(pg_store *s, void *arg)
{
    bundle_arg *a = arg;
    params p = {0};
    p_text(&p, a->sha);
    p_blob(&p, a->data, a->len);
    return exec_p(s, "bundle put", "INSERT INTO bundles(sha256, data) VALUES($1, $2) "
                  "ON CONFLICT(sha256) DO NOTHING", &p, NULL);
}

static int pg_bundle_put(srv_store *base, const char *sha, const uint8_t *data, size_t len)
{
    bundle_arg a = { sha, data, len };
    return txn((pg_store *)base, bundle_put_tx, &a);
}

static int pg_bundle_get(srv_store *base, const char *sha, uint8_t **data, size_t *len)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    p_text(&p, sha);
    *data = NULL;
    *len = 0;
    lock(s);
    PGresult *q = one(s, "bundle get", "SELECT data FROM bundles WHERE sha256=$1", &p);
    unlock(s);
    if (!q) return SRV_STORE_ERR;
    int rc = SRV_STORE_NOTFOUND;
    if (PQntuples(q) == 1) {
        size_t n = 0;
        unsigned char *b = PQunescapeBytea((const unsigned char *)val(q, 0, 0), &n);
        rc = SRV_STORE_ERR;
        if (b) {
            *data = malloc(n ? n : 1);
            if (*data) {
                memcpy(*data, b, n);
                *len = n;
                rc = 0;
            }
            PQfreemem(b);
        }
    }
    PQclear(q);
    return rc;
}

static int listen_open(pg_store *s)
{
    if (s->ln) PQfinish(s->ln);
    s->ln = pg_connect(s->conninfo);
    if (!s->ln || PQstatus(s->ln) != CONNECTION_OK) {
        fprintf(stderr, "otad: store: listener cannot connect to PostgreSQL: %s",
                s->ln ? PQerrorMessage(s->ln) : "out of memory\n");
        return SRV_STORE_ERR;
    }
    PGresult *r = PQexec(s->ln, "LISTEN otad");
    bool good = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!good) fprintf(stderr, "otad: store: LISTEN: %s", PQerrorMessage(s->ln));
    PQclear(r);
    return good ? 0 : SRV_STORE_ERR;
}

static int pg_changes(srv_store *base, void (*fn)(const char *, void *), void *arg)
{
    pg_store *s = (pg_store *)base;
    if (!s->ln || PQstatus(s->ln) != CONNECTION_OK) {
        s->ln_lost = true;
        if (listen_open(s) != 0) return SRV_STORE_ERR;
    }
    if (!PQconsumeInput(s->ln)) {
        fprintf(stderr, "otad: store: listener: %s", PQerrorMessage(s->ln));
        s->ln_lost = true;
        if (listen_open(s) != 0) return SRV_STORE_ERR;
    }
    PGnotify *n;
    while ((n = PQnotifies(s->ln)) != NULL) {
        const char *m = n->extra ? n->extra : "";
        if (!(strncmp(m, s->origin, 16) == 0 && m[16] == ' ') && strlen(m) > 17) fn(m + 17, arg);
        PQfreemem(n);
    }
    int rc = s->ln_lost ? 1 : 0;
    s->ln_lost = false;
    return rc;
}

static void pg_close(srv_store *base)
{
    pg_store *s = (pg_store *)base;
    if (!s) return;
    lock(s);
    if (s->db) PQfinish(s->db);
    s->db = NULL;
    if (s->ln) PQfinish(s->ln);
    s->ln = NULL;
    unlock(s);
    pthread_mutex_destroy(&s->mu);
    free(s->conninfo);
    free(s);
}

/* ---- data cost ------------------------------------------------------------------ */

typedef struct cost_arg { const srv_cost *v; size_t n; } cost_arg;

static int cost_add_tx(pg_store *s, void *arg)
{
    cost_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        const srv_cost *c = &a->v[i];
        params p = {0};
        p_text(&p, c->device);
        p_text(&p, c->app);
        p_u64(&p, c->seq);
        for (int k = 0; k < SRV_COST_NCLASS; k++) {
            p_u64(&p, c->bytes[k]);
            p_u64(&p, c->reqs[k]);
        }
        p_i64(&p, c->updated);
        /* An upsert adds atomically: replicas adding to one row at once both count. */
        int rc = exec_p(s, "data cost",
                        "INSERT INTO data_cost(device,app,seq,manifest_bytes,manifest_reqs,bundle_bytes,"
                        "bundle_reqs,report_bytes,report_reqs,updated) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) "
                        "ON CONFLICT(device,app,seq) DO UPDATE SET "
                        "manifest_bytes=data_cost.manifest_bytes+$4, manifest_reqs=data_cost.manifest_reqs+$5, "
                        "bundle_bytes=data_cost.bundle_bytes+$6, bundle_reqs=data_cost.bundle_reqs+$7, "
                        "report_bytes=data_cost.report_bytes+$8, report_reqs=data_cost.report_reqs+$9, "
                        "updated=GREATEST(data_cost.updated, $10)", &p, NULL);
        if (rc) return rc;
    }
    return 0;
}

static int pg_cost_add(srv_store *base, const srv_cost *v, size_t n)
{
    if (n == 0) return 0;
    cost_arg a = { v, n };
    return txn((pg_store *)base, cost_add_tx, &a);
}

static int pg_cost_list(srv_store *base, const char *device, const char *app, bool has_seq,
                        uint64_t seq, void (*fn)(const srv_cost *, void *), void *arg)
{
    pg_store *s = (pg_store *)base;
    params p = {0};
    if (device) p_text(&p, device); else p_null(&p);
    if (app) p_text(&p, app); else p_null(&p);
    p_i64(&p, has_seq ? 1 : 0);
    p_u64(&p, seq);
    lock(s);
    PGresult *q = one(s, "data cost list",
                      "SELECT device, app, seq, manifest_bytes, manifest_reqs, bundle_bytes, bundle_reqs, "
                      "report_bytes, report_reqs, updated FROM data_cost "
                      "WHERE ($1::TEXT IS NULL OR device=$1) AND ($2::TEXT IS NULL OR app=$2) "
                      "AND ($3::BIGINT = 0 OR seq=$4::BIGINT) ORDER BY device, app, seq", &p);
    unlock(s);   /* the result is ours */
    if (!q) return SRV_STORE_ERR;
    for (int i = 0; i < PQntuples(q); i++) {
        srv_cost c;
        memset(&c, 0, sizeof c);
        copy_text(c.device, sizeof c.device, val(q, i, 0));
        copy_text(c.app, sizeof c.app, val(q, i, 1));
        c.seq = (uint64_t)ival(q, i, 2);
        for (int k = 0; k < SRV_COST_NCLASS; k++) {
            c.bytes[k] = (uint64_t)ival(q, i, 3 + 2 * k);
            c.reqs[k] = (uint64_t)ival(q, i, 4 + 2 * k);
        }
        c.updated = ival(q, i, 9);
        fn(&c, arg);
    }
    PQclear(q);
    return 0;
}

static const srv_store_ops pg_ops = {
    .close = pg_close,
    .release_put = pg_release_put,
    .release_list = pg_release_list,
    .release_add_served = pg_release_add_served,
    .rollout_put = pg_rollout_put,
    .rollout_list = pg_rollout_list,
    .device_create = pg_device_create,
    .device_secrets = pg_device_secrets,
    .device_rekey = pg_device_rekey,
    .device_delete = pg_device_delete,
    .blocked_list = pg_blocked_list,
    .block_clear = pg_block_clear,
    .blocks_json = pg_blocks_json,
    .seen_flush = pg_seen_flush,
    .app_fleet = pg_app_fleet,
    .report = pg_report,
    .release_counts = pg_release_counts,
    .reasons_json = pg_reasons_json,
    .device_json = pg_device_json,
    .device_list_json = pg_device_list_json,
    .report_count = pg_report_count,
    .event_add = pg_event_add,
    .history_json = pg_history_json,
    .audit_add = pg_audit_add,
    .audit_json = pg_audit_json,
    .bundle_put = pg_bundle_put,
    .bundle_get = pg_bundle_get,
    .changes = pg_changes,
    .rollout_cas = pg_rollout_cas,
    .cost_add = pg_cost_add,
    .cost_list = pg_cost_list,
};

/* Bring the schema to NMIGRATIONS, in one transaction per step, holding an
 * advisory lock so that replicas starting together migrate once. */
static int migrate(pg_store *s)
{
    int rc = -1;
    if (exec0(s, "BEGIN") != 0) return -1;
    /* 0x6f746164 = "otad" */
    if (exec0(s, "SELECT pg_advisory_xact_lock(1869898084)") != 0 ||
        exec0(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)") != 0)
        goto out;
    PGresult *q = run(s, "schema version", "SELECT version FROM schema_version", NULL, NULL);
    if (!q) goto out;
    int v = 0, rows = PQntuples(q);
    if (rows > 0) v = (int)ival(q, 0, 0);
    PQclear(q);
    if (rows > 1) {
        fprintf(stderr, "otad: store: schema_version holds %d rows (expected one)\n", rows);
        goto out;
    }
    if (v > (int)NMIGRATIONS || v < 0) {
        fprintf(stderr, "otad: store: database schema %d is newer than this otad (%d)\n", v, (int)NMIGRATIONS);
        goto out;
    }
    if (rows == 0 && exec0(s, "INSERT INTO schema_version VALUES(0)") != 0) goto out;
    for (; v < (int)NMIGRATIONS; v++) {
        char sql[80];
        snprintf(sql, sizeof sql, "UPDATE schema_version SET version=%d", v + 1);
        /* Several statements: the simple query protocol (no parameters). */
        PGresult *m = PQexec(s->db, migrations[v]);
        bool good = PQresultStatus(m) == PGRES_COMMAND_OK;
        if (!good) pg_log(s, "migration", m);
        PQclear(m);
        if (!good || exec0(s, sql) != 0) {
            fprintf(stderr, "otad: store: migration to schema %d failed\n", v + 1);
            goto out;
        }
    }
    if (exec0(s, "COMMIT") != 0) goto out;
    return 0;
out:
    PQclear(PQexec(s->db, "ROLLBACK"));
    return rc;
}

srv_store *srv_store_pg_open(const char *conninfo)
{
    pg_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->base.ops = &pg_ops;
    pthread_mutex_init(&s->mu, NULL);
    s->conninfo = strdup(conninfo);
    if (!s->conninfo) goto fail;
    s->db = pg_connect(conninfo);
    if (!s->db || PQstatus(s->db) != CONNECTION_OK) {
        fprintf(stderr, "otad: store: cannot connect to PostgreSQL: %s",
                s->db ? PQerrorMessage(s->db) : "out of memory\n");
        goto fail;
    }
    PQclear(PQexec(s->db, "SET client_min_messages=warning"));
    if (migrate(s) != 0) goto fail;
    /* Listening before anything is loaded: no change falls in between. */
    uint8_t id[8];
    randombytes_buf(id, sizeof id);
    for (int i = 0; i < 8; i++) snprintf(s->origin + 2 * i, 3, "%02x", id[i]);
    if (listen_open(s) != 0) goto fail;
    return &s->base;
fail:
    if (s->ln) PQfinish(s->ln);
    if (s->db) PQfinish(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s->conninfo);
    free(s);
    return NULL;
}
