/*
 * otad.h: the update server's internal interfaces (one process, one server).
 *
 *   config         srv_config, filled by main.c from the command line
 *   server state   srv_server g_srv: keys, store, in-memory snapshot of
 *                  releases and rollouts, device secrets, blocked offers,
 *                  batched last-seen updates, metrics
 *   snapshot       srv_snapshot_rebuild (after every admin change), read
 *                  under g_srv.snap_lock by polls (no disk, no signing)
 *   rollout        rollout.h: the policy (pure functions); srv_decide feeds
 *                  it the snapshot, the device's poll and its blocks
 *   http glue      http.c: srv_http_start/stop, replies, logging, limits
 *   routes         routes_device.c, routes_admin.c
 */
#ifndef SRV_OTAD_H
#define SRV_OTAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <microhttpd.h>

#include "ota_release.h"
#include "rollout.h"
#include "store.h"
#include "util.h"

#define SRV_MAX_RELEASE_KEYS 16
#define SRV_MAX_WAVES 16
#define SRV_SECRET_SIZE 32      /* per-device secret (every device, every tier) */
/* What one connection's incomplete request may hold in libmicrohttpd's
 * pool (request line, headers, read buffer); over it: 414/431. */
#define SRV_CONN_MEMORY 16384

typedef struct srv_config {
    const char *data_dir;
    const char *store_url;      /* --store postgresql://... (NULL: SQLite in data_dir) */
    char     listen_host[64];   /* numeric IPv4 or IPv6 address */
    unsigned port;              /* 0 = any free port */
    const char *release_pub[SRV_MAX_RELEASE_KEYS];
    int      n_release_pub;
    const char *admin_token_file;
    const char *port_file;      /* write the bound port here (tests) */
    unsigned threads;           /* MHD thread pool size */
    unsigned idle_timeout;      /* seconds a connection may sit idle */
    unsigned header_timeout;    /* seconds for a new connection's first request headers */
    unsigned request_timeout;   /* seconds to receive a request's headers/body */
    unsigned upload_timeout;    /* seconds to receive an admin request's body */
    unsigned max_connections;
    unsigned max_per_ip;
    size_t   max_body;          /* device request bodies (413 above) */
    size_t   max_admin_body;    /* admin uploads (releases) */
    unsigned poll_interval;     /* suggested seconds between polls (jittered +-10%) */
    size_t   bundle_mem_max;    /* bundles up to this size are served from memory */
    bool     quiet;             /* no request log lines */
    bool     reuseport;         /* one SO_REUSEPORT listener per thread */
    bool     no_delta;          /* --no-delta: no `D` in compact offers (FORMAT.md 2b) */
} srv_config;

/* A published release, kept for the whole life of the process (releases are
 * immutable and never deleted), so snapshots can point at it freely. */
typedef struct srv_rel {
    srv_release r;                      /* statement is a malloc'd copy */
    uint8_t statement_hash[32];         /* SHA-256 of the whole statement */
    uint8_t bundle_hash[32];
    char    statement_b64[460];         /* base64 of the 336 bytes */
    char    manifest_head[1200];        /* readable JSON members, precomputed */
    size_t  manifest_head_len;
    uint16_t fw;                        /* firmware it runs on only (ro_release.fw): 0 = any */
    struct MHD_Response *full;          /* shared 200 response for GET/HEAD of the bundle */
    uint8_t *mem;                       /* the bundle in memory (small bundles), or NULL */
    _Atomic uint64_t served_pending;    /* bytes served, not yet flushed to the store */
} srv_rel;

/* One app's current rollout, as polls see it: the policy's inputs
 * (rollout.h) with the arrays they point into. */
typedef struct srv_appview {
    srv_rollout ro;                     /* json members malloc'd */
    srv_rel *target;                    /* the release of ro.seq */
    ro_rollout pol;                     /* points into the arrays below */
    char   **allow;                     /* sorted */
    size_t   n_allow;
    ro_pin  *pins;                      /* sorted by device; device strings malloc'd */
    size_t   n_pins;
    double   waves[SRV_MAX_WAVES];
    int      nwaves;
    ro_release *rels;                   /* the app's releases, by seq */
    size_t   n_rels;
} srv_appview;

typedef struct srv_snapshot {
    srv_map apps;                       /* app -> srv_appview* (active or paused rollouts) */
    srv_map rels;                       /* "app/seq" -> srv_rel* */
    srv_map bundles;                    /* sha256 hex -> srv_rel* */
    size_t  n_rollouts_active;
    srv_rel **relv;                     /* every release, ordered by app, seq */
    size_t  n_relv;
    bool    failed;                     /* building it failed: never used */
} srv_snapshot;

/* Counters, one set per thread (no cache line shared between the HTTP
 * threads on the hot path); /metrics sums them.  Each set has one writer,
 * its thread; readers load with relaxed atomics. */
typedef struct srv_metrics {
    struct srv_metrics *next;           /* list of every thread's set */
    _Atomic uint64_t requests;
    _Atomic uint64_t status[6];         /* by class: [1]=1xx .. [5]=5xx */
    _Atomic uint64_t polls, polls_204, offers, offers_mac;
    _Atomic uint64_t bundle_requests, bundle_bytes, bundle_304, bundle_206;
    _Atomic uint64_t reports, reports_failed;
    _Atomic uint64_t admin_requests, admin_denied;
    _Atomic uint64_t conns_accepted, conns_active, conns_reaped, conns_refused, conns_lingered;
    _Atomic uint64_t body_too_large, bad_requests;
    _Atomic uint64_t seen_flushes, seen_flushed, seen_dropped;
    _Atomic uint64_t rollouts_paused_auto;
    _Atomic uint64_t in_flight;         /* gauges: inc and dec may be on different threads; */
} srv_metrics;                          /* the sum (mod 2^64) is still right */

extern _Thread_local srv_metrics *srv_tl_metrics;
srv_metrics *srv_metrics_register(void);
static inline srv_metrics *srv_m(void)
{
    return srv_tl_metrics ? srv_tl_metrics : srv_metrics_register();
}
#define SRV_ADD(f, n) do { srv_metrics *m_ = srv_m(); \
        atomic_store_explicit(&m_->f, atomic_load_explicit(&m_->f, memory_order_relaxed) + \
                              (uint64_t)(n), memory_order_relaxed); } while (0)
#define SRV_SUB(f, n) SRV_ADD(f, -(uint64_t)(n))
/* Sum of one counter over every thread; off = offsetof(srv_metrics, field). */
uint64_t srv_metric_sum(size_t off);
#define SRV_SUM(f) srv_metric_sum(offsetof(srv_metrics, f))

typedef struct srv_server {
    srv_config cfg;
    srv_store *store;
#define SRV_MAX_DAEMONS 64
    struct MHD_Daemon *daemons[SRV_MAX_DAEMONS]; /* one, or one per thread (--reuseport) */
    unsigned n_daemons;
    unsigned bound_port;
    int64_t  started;

    uint8_t  server_sk[64];             /* libsodium Ed25519 secret key (seed || pub) */
    uint8_t  server_pk[32];
    uint8_t  server_key_id[OTA_KEY_ID_SIZE];
    uint8_t  secrets_key[32];           /* encrypts device secrets at rest */
    ota_trusted_key release_keys[SRV_MAX_RELEASE_KEYS];
    size_t   n_release_keys;
    char    *admin_token;
    size_t   admin_token_len;

    pthread_rwlock_t snap_lock;         /* guards snap (pointer and contents) */
    srv_snapshot *snap;
    pthread_mutex_t admin_mu;           /* serialises admin changes and rebuilds */
    srv_map  rels_all;                  /* "app/seq" -> srv_rel* (under admin_mu) */

    pthread_mutex_t dev_mu;             /* guards secrets and blocked */
    srv_map  secrets;                   /* device -> uint8_t[SRV_SECRET_SIZE] (NULL: none) */
    srv_map  blocked;                   /* "device/app" -> srv_blocks* (seqs never offered again) */

    srv_map  waves;                     /* app -> ro_wave_status* (under admin_mu) */
    _Atomic unsigned wave_dirty;        /* reports or polls since the last evaluation */

    /* "device/app" -> srv_seen* (pending flush), in shards so that polls on
     * different threads rarely meet on one lock */
#define SRV_SEEN_SHARDS 16
    struct {
        pthread_mutex_t mu;
        srv_map map;
        char pad[64];
    } seen[SRV_SEEN_SHARDS];

    struct MHD_Response *resp_204;      /* shared: nothing to do */
    struct MHD_Response *resp_c204;     /* shared, compact form: nothing to do */
    struct MHD_Response *resp_c202;     /* shared, compact form: an offer waits, poll with n= */
    struct MHD_Response *resp_r204;     /* shared, compact form: report stored */
    pthread_mutex_t metrics_mu;         /* guards the list head */
    srv_metrics *metrics;               /* every thread's counters */
} srv_server;

extern srv_server g_srv;

/* ---- keys and secrets (keys.c) ---------------------------------------------- */
/* Load or create (first start) DIR/server.key, DIR/server.pub,
 * DIR/secrets.key and the admin token; load the --release-pub files.
 * Returns 0, or -1 after printing what failed. */
int srv_keys_load(void);
/* After the store is open: write a newly made secrets.key when the store
 * holds no device secret; refuse (-1, message printed) when secrets.key was
 * missing but secrets exist, or when it decrypts none of them. */
int srv_secrets_check(void);
/* Encrypt/decrypt a device secret for storage (XChaCha20-Poly1305, the
 * device id as associated data).  enc needs SRV_SECRET_ENC_SIZE bytes. */
#define SRV_SECRET_ENC_SIZE (24 + SRV_SECRET_SIZE + 16)
void srv_secret_seal(uint8_t enc[SRV_SECRET_ENC_SIZE], const uint8_t secret[SRV_SECRET_SIZE],
                     const char *device);
int srv_secret_open(uint8_t secret[SRV_SECRET_SIZE], const uint8_t *enc, size_t len,
                    const char *device);
/* Constant-time check of an "Authorization: Bearer <token>" header value. */
bool srv_admin_authorized(const char *header);

/* ---- state (state.c) --------------------------------------------------------- */
int  srv_state_init(void);              /* load everything from the store */
void srv_state_free(void);
/* Rebuild the snapshot from the store; call with admin_mu held.  -1 when it
 * could not be built in full: polls then get a closed snapshot (no offers)
 * until a rebuild succeeds, and the caller must report the failure. */
int  srv_snapshot_rebuild(void);
/* Register a newly stored release (admin_mu held); returns the kept object. */
srv_rel *srv_rel_add(const srv_release *r);
/* Device-scoped memory: */
int  srv_secret_remember(const char *device, const uint8_t secret[SRV_SECRET_SIZE]); /* -1: no memory */
bool srv_secret_lookup(const char *device, uint8_t secret[SRV_SECRET_SIZE]);
void srv_secret_forget(const char *device);
/* Blocks (the decision is ro_report_blocks): in memory, mirrored from the store. */
int  srv_block(const char *device, const char *app, uint64_t seq);   /* -1: no memory */
/* Undo a srv_block, or clear a block (app NULL: every block of the device). */
void srv_unblock(const char *device, const char *app, uint64_t seq);
bool srv_blocked(const char *device, const char *app, uint64_t seq);
/* Record a poll in the pending last-seen batch (memory only); board "" when
 * not sent, offered the sequence offered (0 = none). */
void srv_seen_note(const char *device, const char *app, uint64_t seq, int64_t when,
                   const char *board, uint64_t offered);
/* Write the pending batch (and bytes served) to the store, then evaluate
 * the waves of the rollouts (at most once per call, only after changes). */
void srv_seen_flush(void);

/* The firmware each device said on a poll (FORMAT.md 6, 6b: fw=, f=), in
 * memory only (empty after a restart), so that an idle compact poll is not
 * told an offer waits that its firmware cannot run.  RO_FW_UNKNOWN records
 * "said nothing"; srv_firmware_known answers RO_FW_UNASKED for a device
 * not noted.  Forgotten on retire (srv_fleet_forget). */
void     srv_firmware_note(const char *device, uint16_t fw);
uint16_t srv_firmware_known(const char *device);
/* Parse what a device sends as its firmware: process.version as Espruino
 * reports it, "2v29" or "2v29.277" (a build after the release): 1..2
 * digits, 'v', 2 digits, optionally '.' and 1..6 digits; the build number
 * is ignored, as the agent's own check does.  2v29 -> 229.  False on
 * anything else. */
bool     srv_firmware_parse(const char *s, uint16_t *fw);

/* Under the snapshot read lock: the release to offer this device, or NULL
 * (nothing to do).  running is the sequence the device says it runs, board
 * what it says its board is (NULL/"" = not sent); firmware what it said it
 * runs (2v29 -> 229, RO_FW_UNKNOWN: nothing), or SRV_FW_RECALL: what otad
 * remembers of it (srv_firmware_known), looked up only when the release it
 * would get is pretokenised. */
#define SRV_FW_RECALL (-1)
srv_rel *srv_decide(const srv_snapshot *s, const char *device, const char *app, uint64_t running,
                    const char *board, int firmware);
/* After a durable report: apply the error threshold to the app's rollout
 * and mark the waves for evaluation.  Takes admin_mu. */
void srv_rollout_after_report(const char *app, uint64_t seq, const srv_release_counts *c);
/* The policy view of an app's current rollout (admin_mu held), or NULL. */
srv_appview *srv_appview_get(const char *app);
/* The last wave evaluation of the app's current rollout (admin_mu held;
 * evaluates now if there is none).  NULL without a rollout. */
const ro_wave_status *srv_wave_status(const char *app);
/* The in-memory fleet the waves are evaluated over: a device's board and
 * running sequence after a poll or a report (set_running: a poll, or a
 * confirmed report); `when` the poll's or report's time, `report` whether it
 * is a report.  As in the stores' seen_flush, a batched poll never undoes
 * the running sequence a report of the same second (or a later one) set;
 * forget on retire. */
void srv_fleet_note(const char *app, const char *device, const char *board, uint64_t running,
                    bool set_running, int64_t when, bool report);
void srv_fleet_forget(const char *device);
/* Several otad on one store: apply what the other replicas committed
 * (store.h: changes); the main loop calls it once a second.  No-op on a
 * store one process owns (SQLite). */
void srv_sync(void);
/* Evaluate waves now (admin_mu held): advance what can advance. */
void srv_waves_tick(bool force);
/* Append a rollout history event (by: a token fingerprint or "otad"). */
void srv_rollout_event(int64_t rollout, const char *event, const char *by, const char *detail);
/* Re-read the release keys (through keyset.c) and the admin token (SIGHUP,
 * POST /admin/reload); every file is checked first.  0 (*nkeys: the
 * --release-pub files read), or -1 with why in err (nothing changed).
 * Call without admin_mu (keyset.c takes it). */
int srv_reload(char *err, size_t cap, int *nkeys);
/* SIGHUP: srv_reload, logged and audited. */
void srv_reload_signal(void);

/* ---- data cost (cost.c) ------------------------------------------------------ */
/* What the route handling a request says it is (store.h SRV_COST_*; cls -1:
 * not counted): device "" for a bundle (cost.c attributes it). */
typedef struct srv_cost_tag {
    int      cls;
    char     device[33];
    char     app[33];
    uint64_t seq;                       /* 0: an idle poll */
    char     sha[65];                   /* a bundle: its hex SHA-256 */
    char     delta[65];                 /* an offer with a delta (FORMAT.md 2b): the delta's hex SHA-256 */
} srv_cost_tag;
/* Tag the request this thread is handling (routes call it). */
void srv_cost_mark(int cls, const char *device, const char *app, uint64_t seq);
void srv_cost_mark_bundle(const char *sha, const char *app, uint64_t seq);
/* The offer being made carries a delta (32 raw bytes of its SHA-256): the
 * device's fetch of it counts as bundle bytes of the offered release. */
void srv_cost_mark_delta(const uint8_t sha[32]);
void srv_cost_tag_take(srv_cost_tag *out);   /* http.c: get and clear the tag */
void srv_cost_tag_clear(void);
/* A tagged request is done: `bytes` it cost on the wire, both ways. */
void srv_cost_note(const srv_cost_tag *t, const char *ip, unsigned status, uint64_t bytes);
/* Add the pending sums to the store (srv_seen_flush calls it); what the
 * store refuses stays pending. */
void srv_cost_flush(void);
void srv_cost_free(void);
uint64_t srv_cost_dropped(void);        /* requests not counted (memory) */

/* ---- http (http.c) ----------------------------------------------------------- */
typedef struct srv_conn srv_conn;

/* The request being answered (lives on the handler's stack). */
typedef struct srv_req {
    struct MHD_Connection *c;
    srv_conn *conn;
    const char *method;
    const char *url;
    bool head;                          /* HEAD: like GET without a body */
    const char *body;                   /* request body (NUL-terminated), may be NULL */
    size_t body_len;
    unsigned status;                    /* set by the reply helpers */
    uint64_t reply_len;
    bool compact;                       /* the compact device form: no Date header */
    const char *version;                /* "HTTP/1.1", "HTTP/1.0" */
} srv_req;

int  srv_http_start(void);
/* Stop accepting, let requests in flight finish (bounded), stop. */
void srv_http_stop(void);
void srv_http_reap(void);               /* close connections past their time limit */
void srv_log_flush(void);
void srv_log_free(void);                /* flush, then free the per-thread buffers */

/* Queue a response and log the request.  Takes over r (destroys our ref). */
enum MHD_Result srv_reply(srv_req *q, unsigned status, struct MHD_Response *r, uint64_t len);
/* Same for a response shared between requests (we keep our reference). */
enum MHD_Result srv_reply_shared(srv_req *q, unsigned status, struct MHD_Response *r, uint64_t len);
enum MHD_Result srv_reply_json(srv_req *q, unsigned status, const char *json, size_t len);
enum MHD_Result srv_reply_buf(srv_req *q, unsigned status, srv_buf *b);  /* frees b */
enum MHD_Result srv_reply_error(srv_req *q, unsigned status, const char *code, const char *msg);
enum MHD_Result srv_reply_text(srv_req *q, unsigned status, const char *ctype, const char *t,
                               size_t len);
const char *srv_query(srv_req *q, const char *key);
const char *srv_header(srv_req *q, const char *key);

/* ---- routes ------------------------------------------------------------------ */
enum MHD_Result srv_route_manifest(srv_req *q, const char *device);
enum MHD_Result srv_route_bundle(srv_req *q, const char *sha);
enum MHD_Result srv_route_report(srv_req *q, const char *device);
enum MHD_Result srv_route_cpoll(srv_req *q, const char *device);     /* GET /m/<id> */
enum MHD_Result srv_route_creport(srv_req *q, const char *device);   /* POST /r/<id> */
enum MHD_Result srv_route_admin(srv_req *q, const char *rest);
enum MHD_Result srv_route_metrics(srv_req *q);
enum MHD_Result srv_route_healthz(srv_req *q);

/* Device ids: FORMAT.md, 1..32 of [A-Za-z0-9._:-], first alnum. */
bool srv_device_id_ok(const char *s, size_t len);
/* App names: 1..32 of [A-Za-z0-9._-], first alnum. */
bool srv_app_ok(const char *s, size_t len);

#endif
