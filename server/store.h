/*
 * store.h: otad's persistent state behind one small interface.
 *
 * The embedded backend is SQLite in WAL mode (store_sqlite.c).  A second
 * backend (PostgreSQL for many stateless otad processes) is an addition: it
 * fills in another srv_store_ops table; nothing else in the server knows
 * which backend runs.
 *
 * Every call is thread-safe (the backend serialises as it must).  Every
 * write returns only after it is durable (committed, synced): a report is
 * acknowledged to a device after srv_store_report returned 0.
 * Calls return 0 on success, SRV_STORE_NOTFOUND, SRV_STORE_CONFLICT, or
 * SRV_STORE_ERR (logged by the backend).
 *
 *   releases    release_put, release_list
 *   rollouts    rollout_put (insert or update), rollout_list, event_add, history_json
 *   devices     device_create, device_rekey, device_delete, device_secrets,
 *               seen_flush, app_fleet, device_json, device_list_json
 *   blocks      blocked_list, block_clear, blocks_json
 *   reports     report (durable; counts kept incrementally), release_counts,
 *               reasons_json
 *   audit       audit_add, audit_json
 *   data cost   cost_add (batched), cost_list
 *
 * Admin JSON timestamps are ISO 8601 UTC (srv_time_iso).
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "util.h"

#define SRV_STORE_OK 0
#define SRV_STORE_ERR (-1)
#define SRV_STORE_NOTFOUND (-2)
#define SRV_STORE_CONFLICT (-3)

/* One published release: the operator-signed statement and what the server
 * learnt from it when it verified it. */
typedef struct srv_release {
    char     app[33];
    uint64_t seq;
    uint8_t *statement;        /* signed statement bytes (malloc'd) */
    size_t   statement_len;
    char     statement_sha256[65]; /* hex of SHA-256(statement bytes) */
    char     bundle_sha256[65];    /* hex, the bundle as transferred */
    uint64_t size;             /* bundle bytes */
    char     label[65];
    char     board[33];
    char     key_id[65];       /* hex */
    int64_t  created;          /* when published to this server */
    uint64_t bytes_served;     /* bundle bytes sent (flushed periodically) */
} srv_release;

/* Rollout states. */
#define SRV_RO_ACTIVE "active"
#define SRV_RO_PAUSED "paused"
#define SRV_RO_ABORTED "aborted"
#define SRV_RO_SUPERSEDED "superseded"

typedef struct srv_rollout {
    int64_t  id;               /* 0 = not stored yet */
    char     app[33];
    uint64_t seq;              /* release offered */
    double   percent;          /* 0..100, share of buckets offered */
    char    *allow_json;       /* JSON array of device ids ("[]" = everybody) */
    char    *pins_json;        /* JSON object device -> seq (0 = hold) */
    char    *waves_json;       /* JSON array of percentages, ascending ("[]") */
    double   wave_fraction;    /* (0,1]: share of a wave's devices that must confirm */
    char     state[16];        /* SRV_RO_* */
    double   error_threshold;  /* 0..1; > 1 = never pause */
    int64_t  min_reports;      /* outcomes needed before the threshold applies */
    char     reason[256];      /* why paused/aborted ("" when not) */
    int64_t  created, updated;
} srv_rollout;

/* A last-seen update collected in memory by polls and flushed in batches. */
typedef struct srv_seen {
    char     device[33];
    char     app[33];
    uint64_t seq;              /* what the device said it runs */
    int64_t  when;
    char     board[33];        /* what it said its board is ("" = not sent) */
    uint64_t offered;          /* release offered on this poll (0 = none) */
} srv_seen;

/* One device report, as received. */
typedef struct srv_report {
    char     device[33];
    char     app[33];
    uint64_t seq;
    char     state[16];
    char     detail[257];
    bool     blocks;           /* decided by the caller (ro_report_blocks) */
    int64_t  when;
    uint32_t code;             /* ota_err value the device reported (0 = none) */
    uint64_t ctr;              /* report counter: must exceed the device's last accepted one */
} srv_report;

/* Counts for one release of an app: devices by their latest state
 * (indices: ro_rstate in rollout.h), and every device offered it. */
#define SRV_NSTATES 7
extern const char *const srv_states[SRV_NSTATES]; /* downloading .. failed */
int srv_state_index(const char *s);               /* -1 when not a state */

typedef struct srv_release_counts {
    int64_t by_state[SRV_NSTATES];
    int64_t offered;           /* devices with any state for it, "offered" included */
} srv_release_counts;

/* GET /admin/devices filters (NULL / 0 = not set). */
typedef struct srv_device_filter {
    const char *app;
    bool     has_seq;
    uint64_t seq;              /* running this sequence of app */
    const char *state;         /* latest report for app in this state */
    bool     has_since, has_before;
    int64_t  seen_since, seen_before;
    const char *cursor;        /* ids after this one */
    int      limit;
} srv_device_filter;

/* Data cost: bytes devices' requests took on the wire (request and answer,
 * above TCP), by class, summed per (device, app, seq).  seq 0: idle polls
 * (answered without an offer).  device "": bundle bytes otad could not
 * attribute to one device (cost.c says how it attributes them). */
#define SRV_COST_MANIFEST 0     /* polls that led to an offer (202, 200) */
#define SRV_COST_BUNDLE 1       /* bundle GET/HEAD, ranges as sent */
#define SRV_COST_REPORTS 2      /* reports about the release */
#define SRV_COST_NCLASS 3
typedef struct srv_cost {
    char     device[33];
    char     app[33];
    uint64_t seq;
    uint64_t bytes[SRV_COST_NCLASS];
    uint64_t reqs[SRV_COST_NCLASS];
    int64_t  updated;          /* last request counted */
} srv_cost;

/* "2026-12-03T19:12:05Z" (21 bytes with the NUL). */
void srv_time_iso(char out[24], int64_t t);

typedef struct srv_store srv_store;

typedef struct srv_store_ops {
    void (*close)(srv_store *s);
    /* 0 stored, 1 already stored with the same statement, CONFLICT when
     * (app, seq) holds another statement. */
    int (*release_put)(srv_store *s, const srv_release *r);
    /* Calls fn for each release (ordered by app, seq); r is only valid during the call. */
    int (*release_list)(srv_store *s, void (*fn)(const srv_release *r, void *arg), void *arg);
    int (*release_add_served)(srv_store *s, const char *app, uint64_t seq, uint64_t bytes);
    /* Insert (r->id == 0: sets r->id) or update; `supersede` marks the app's
     * other active/paused rollouts superseded in the same transaction. */
    int (*rollout_put)(srv_store *s, srv_rollout *r, bool supersede);
    int (*rollout_list)(srv_store *s, void (*fn)(const srv_rollout *r, void *arg), void *arg);
    int (*device_create)(srv_store *s, const char *id, const uint8_t *secret_enc, size_t enc_len,
                         int64_t now);
    int (*device_secrets)(srv_store *s,
                          void (*fn)(const char *id, const uint8_t *enc, size_t len, void *arg),
                          void *arg);
    /* New secret for an existing device (NOTFOUND otherwise). */
    int (*device_rekey)(srv_store *s, const char *id, const uint8_t *secret_enc, size_t enc_len);
    /* Retire: the device, its apps, releases and blocks (counts follow);
     * its reports stay.  NOTFOUND when unknown. */
    int (*device_delete)(srv_store *s, const char *id);
    /* Calls fn for every (device, app, seq) that is blocked. */
    int (*blocked_list)(srv_store *s,
                        void (*fn)(const char *dev, const char *app, uint64_t seq, void *arg),
                        void *arg);
    /* Clear the block of (device, app, seq), or every block of the device
     * when app is NULL; *n gets how many were cleared. */
    int (*block_clear)(srv_store *s, const char *device, const char *app, uint64_t seq, int64_t *n);
    int (*blocks_json)(srv_store *s, const char *device, srv_buf *out);
    int (*seen_flush)(srv_store *s, const srv_seen *v, size_t n);
    /* Every known device of app: id, last board sent, running sequence. */
    int (*app_fleet)(srv_store *s, const char *app,
                     void (*fn)(const char *id, const char *board, uint64_t running, void *arg),
                     void *arg);
    /* Durable: stored and synced when it returns 0.  *counts gets the
     * counts of (app, seq) after the report (kept incrementally, not
     * recounted).  *blocked says whether the device is now blocked from it.
     * In the same transaction the device's last accepted report counter
     * becomes r->ctr; CONFLICT (and nothing written) when r->ctr is not
     * above it or the device has no secret (only registered devices report). */
    int (*report)(srv_store *s, const srv_report *r, srv_release_counts *counts, bool *blocked);
    int (*release_counts)(srv_store *s, const char *app, uint64_t seq, srv_release_counts *c);
    /* Admin reads: append a JSON value to out. */
    int (*reasons_json)(srv_store *s, const char *app, uint64_t seq, srv_buf *out);
    int (*device_json)(srv_store *s, const char *id, srv_buf *out);
    int (*device_list_json)(srv_store *s, const srv_device_filter *f, srv_buf *out);
    int (*report_count)(srv_store *s, int64_t *n);
    /* Rollout history and the admin audit log. */
    int (*event_add)(srv_store *s, int64_t rollout, int64_t at, const char *event, const char *by,
                     const char *detail);
    int (*history_json)(srv_store *s, int64_t rollout, srv_buf *out);
    int (*audit_add)(srv_store *s, int64_t at, const char *by, const char *method, const char *path,
                     unsigned status, const char *summary);
    int (*audit_json)(srv_store *s, int limit, int64_t before_id, srv_buf *out);

    /* ---- several otad on one store (PostgreSQL).  NULL in a store only one
     * process ever opens (SQLite): bundles then stay files under DIR/bundles,
     * and nothing changes behind the process's back. */
    /* Keep a bundle's bytes under its hex SHA-256 (idempotent, durable). */
    int (*bundle_put)(srv_store *s, const char *sha, const uint8_t *data, size_t len);
    /* *data malloc'd (the caller frees); NOTFOUND when not stored. */
    int (*bundle_get)(srv_store *s, const char *sha, uint8_t **data, size_t *len);
    /* The changes other processes committed since the last call, one fn call
     * each, in commit order (see store_pg.c for the change strings).  Returns
     * 0, 1 when changes may have been missed (the first call, a reconnect):
     * the caller then reloads everything, or SRV_STORE_ERR. */
    int (*changes)(srv_store *s, void (*fn)(const char *change, void *arg), void *arg);
    /* Update rollout to->id from `from` only if the stored row still has
     * from's state, percent and updated time: CONFLICT (nothing written)
     * when another process changed it first, so that a threshold or a wave
     * advance is decided once. */
    int (*rollout_cas)(srv_store *s, const srv_rollout *from, srv_rollout *to);

    /* ---- data cost (cost.c batches it; added with schema 5) */
    /* Add each entry's bytes and requests to the stored sums of its
     * (device, app, seq), all in one transaction, durable when it returns 0. */
    int (*cost_add)(srv_store *s, const srv_cost *v, size_t n);
    /* Calls fn for each stored sum of device (NULL: any) and app (NULL: any)
     * and, when has_seq, of that seq; ordered by device, app, seq.  c is only
     * valid during the call; fn must not call the store. */
    int (*cost_list)(srv_store *s, const char *device, const char *app, bool has_seq, uint64_t seq,
                     void (*fn)(const srv_cost *c, void *arg), void *arg);
} srv_store_ops;

struct srv_store {
    const srv_store_ops *ops;
};

/* Open (creating and migrating as needed) the SQLite store in dir/otad.db. */
srv_store *srv_store_sqlite_open(const char *dir);
/* Connect to PostgreSQL (a libpq connection string or postgresql:// URL) and
 * migrate its schema; NULL (printed why) when it cannot, or when the
 * database's schema is newer than this otad's. */
srv_store *srv_store_pg_open(const char *conninfo);

#endif
