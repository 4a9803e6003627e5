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
 *   rollouts    rollout_put (insert or update), rollout_list
 *   devices     device_create, device_get, device_list_secrets, seen_flush
 *   reports     report (durable), release_stats, device_info
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
    int64_t  wave_confirmed;   /* confirmed devices needed to go to the next wave */
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
} srv_seen;

/* One device report, as received. */
typedef struct srv_report {
    char     device[33];
    char     app[33];
    uint64_t seq;
    char     state[16];
    char     detail[257];
    int64_t  when;
    uint32_t code;             /* ota_err value the device reported (0 = none) */
    uint64_t ctr;              /* report counter: must exceed the device's last accepted one */
} srv_report;

/* Counts for one release of an app: devices by their latest state. */
#define SRV_NSTATES 7
extern const char *const srv_states[SRV_NSTATES]; /* downloading .. failed */
int srv_state_index(const char *s);               /* -1 when not a state */

typedef struct srv_release_counts {
    int64_t by_state[SRV_NSTATES];
} srv_release_counts;

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
    /* Calls fn for every (device, app, seq) whose latest state is
     * rolled_back or rejected, with that state and its detail; the caller
     * decides (srv_report_blocks) which of them are never offered again. */
    int (*blocked_list)(srv_store *s,
                        void (*fn)(const char *dev, const char *app, uint64_t seq,
                                   const char *state, const char *detail, void *arg),
                        void *arg);
    int (*seen_flush)(srv_store *s, const srv_seen *v, size_t n);
    /* Durable: stored and synced when it returns 0.  *counts gets the
     * counts of (app, seq) after the report.  In the same transaction the
     * device's last accepted report counter becomes r->ctr; CONFLICT (and
     * nothing written) when r->ctr is not above it or the device has no
     * secret (only registered devices report). */
    int (*report)(srv_store *s, const srv_report *r, srv_release_counts *counts);
    int (*release_counts)(srv_store *s, const char *app, uint64_t seq, srv_release_counts *c);
    /* Admin reads: append a JSON value to out. */
    int (*release_detail_json)(srv_store *s, const char *app, uint64_t seq, srv_buf *out);
    int (*device_json)(srv_store *s, const char *id, srv_buf *out);
    int (*report_count)(srv_store *s, int64_t *n);
} srv_store_ops;

struct srv_store {
    const srv_store_ops *ops;
};

/* Open (creating and migrating as needed) the SQLite store in dir/otad.db. */
srv_store *srv_store_sqlite_open(const char *dir);

#endif
