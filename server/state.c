/*
 * state.c: what otad keeps in memory so that polls never touch the disk.
 *
 *   releases   srv_rel objects, one per published release, kept for the life
 *              of the process (releases are immutable), each with its
 *              precomputed manifest members and a shared bundle response
 *   snapshot   apps -> current rollout (active or paused), rebuilt from the
 *              store after every change and swapped under snap_lock
 *   devices    per-device secrets (decrypted at start), and the releases never
 *              to be offered again (blocks; decided by ro_report_blocks)
 *   waves      the last evaluation of each rollout's wave (ro_wave_eval over
 *              the app's known devices), redone at most once a second after
 *              reports or polls; an advance is stored, logged and recorded
 *   reload     release keys and admin token re-read (SIGHUP, POST /admin/reload)
 *
 * Every rule lives in rollout.c (pure); this file only feeds it.
 *   last seen  polls note (device, app, seq, time) in a map; the main loop
 *              flushes it to the store once a second and at shutdown
 */
#include "otad.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ota_encode.h"
#include "keyset.h"

#define SEEN_MAX 262144   /* pending last-seen entries; beyond it polls are not noted */

static void hex32(char out[65], const uint8_t *b)
{
    ota_hex_encode(out, 65, b, 32);
}

static size_t relkey(char *out, size_t cap, const char *app, uint64_t seq)
{
    int n = snprintf(out, cap, "%s/%" PRIu64, app, seq);
    return n < 0 ? 0 : (size_t)n;
}

/* ---- releases ------------------------------------------------------------ */

/* Set by srv_rel_add when it skips a stored release that does not parse
 * (damage, reported), as opposed to failing for lack of memory. */
static _Thread_local bool rel_skipped;

srv_rel *srv_rel_add(const srv_release *r)
{
    char key[64];
    size_t klen = relkey(key, sizeof key, r->app, r->seq);
    srv_rel *x = srv_map_get(&g_srv.rels_all, key, klen);
    rel_skipped = false;
    if (x) return x;
    x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->r = *r;
    x->r.statement = malloc(r->statement_len);
    if (!x->r.statement) { free(x); return NULL; }
    memcpy(x->r.statement, r->statement, r->statement_len);

    ota_statement st;
    if (ota_statement_parse(&st, x->r.statement, x->r.statement_len) != OTA_OK) {
        fprintf(stderr, "otad: stored statement %s does not parse; skipped\n", key);
        rel_skipped = true;
        free(x->r.statement);
        free(x);
        return NULL;
    }
    ota_sha256(x->statement_hash, x->r.statement, x->r.statement_len);
    memcpy(x->bundle_hash, st.sha256, 32);
    /* FORMAT.md 2c: a pretokenised program runs on its target firmware only */
    if (st.flags & OTA_SF_PRETOKENISED)
        x->fw = st.target && st.target < RO_FW_NONE ? st.target : (uint16_t)RO_FW_NONE;
    ota_base64_encode(x->statement_b64, sizeof x->statement_b64, NULL, x->r.statement,
                      x->r.statement_len, OTA_B64_STD);

    /* The readable members of the manifest (FORMAT.md section 6), once. */
    char label[OTA_LABEL_MAX + 1], board[OTA_NAME_MAX + 1], app[OTA_NAME_MAX + 1];
    char kid[17], sha[65], isha[65], ssha[65];
    memcpy(label, st.label, st.label_len); label[st.label_len] = 0;
    memcpy(board, st.board, st.board_len); board[st.board_len] = 0;
    memcpy(app, st.app, st.app_len); app[st.app_len] = 0;
    ota_hex_encode(kid, sizeof kid, st.key_id, OTA_KEY_ID_SIZE);
    hex32(sha, st.sha256);
    hex32(isha, st.installed_sha256);
    hex32(ssha, st.source_sha256);
    srv_buf b = {0};
    srv_buf_addstr(&b, "{\"app\":");
    srv_buf_json_str(&b, app);
    srv_buf_addstr(&b, ",\"board\":");
    srv_buf_json_str(&b, board);
    srv_buf_printf(&b, ",\"seq\":%" PRIu64 ",\"label\":", st.seq);
    srv_buf_json_str(&b, label);
    srv_buf_printf(&b, ",\"created\":%" PRIu64 ",\"key_id\":\"%s\",\"encoding\":\"%s\","
                       "\"size\":%" PRIu32 ",\"installed_size\":%" PRIu32 ",\"sha256\":\"%s\","
                       "\"installed_sha256\":\"%s\",\"source_sha256\":\"%s\","
                       "\"url\":\"/bundle/%s\",\"statement\":\"%s\"",
                   st.created, kid, ota_encoding_name(st.encoding) ? ota_encoding_name(st.encoding) : "unknown",
                   st.size, st.installed_size, sha, isha, ssha, sha, x->statement_b64);
    if (b.failed || b.len >= sizeof x->manifest_head) {
        srv_buf_free(&b);
        free(x->r.statement);
        free(x);
        return NULL;
    }
    memcpy(x->manifest_head, b.data, b.len + 1);
    x->manifest_head_len = b.len;
    srv_buf_free(&b);

    /* One shared response serves every full GET/HEAD of this bundle:
     * MHD sends it with sendfile() at a per-connection offset. */
    char path[4096];
    snprintf(path, sizeof path, "%s/bundles/%s", g_srv.cfg.data_dir, sha);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && g_srv.store->ops->bundle_get) {
        /* A shared store keeps every bundle (published through any
         * replica): DIR/bundles is then this replica's cache of it. */
        uint8_t *data = NULL;
        size_t len = 0;
        uint8_t h[32];
        if (g_srv.store->ops->bundle_get(g_srv.store, sha, &data, &len) == 0) {
            ota_sha256(h, data, len);
            if (len == st.size && memcmp(h, st.sha256, 32) == 0 &&
                srv_write_file_atomic(path, data, len, 0644) == 0)
                fd = open(path, O_RDONLY | O_CLOEXEC);
            else
                fprintf(stderr, "otad: bundle %s from the store does not match its statement\n", sha);
        }
        free(data);
    }
    if (fd >= 0) {
        /* Small bundles (what Espruino devices get) are served from memory:
         * MHD then sends headers and body with one sendmsg().  Large ones
         * go out with sendfile(). */
        x->full = NULL;
        if (st.size <= g_srv.cfg.bundle_mem_max) {
            x->mem = malloc(st.size);
            ssize_t got = x->mem ? pread(fd, x->mem, st.size, 0) : -1;
            if (got == (ssize_t)st.size) {
                x->full = MHD_create_response_from_buffer(st.size, x->mem, MHD_RESPMEM_PERSISTENT);
                close(fd);
                fd = -1;
            } else {
                free(x->mem);
                x->mem = NULL;
            }
        }
        if (!x->full) x->full = MHD_create_response_from_fd_at_offset64(st.size, fd, 0);
        if (x->full) {
            char etag[70];
            snprintf(etag, sizeof etag, "\"%s\"", sha);
            MHD_add_response_header(x->full, "Content-Type", "application/javascript");
            MHD_add_response_header(x->full, "ETag", etag);
            MHD_add_response_header(x->full, "Accept-Ranges", "bytes");
            MHD_add_response_header(x->full, "Cache-Control", "public, max-age=31536000, immutable");
        } else if (fd >= 0) {
            close(fd);
        }
    } else {
        fprintf(stderr, "otad: bundle file %s missing: %s cannot be downloaded\n", path, key);
    }
    bool failed = false;
    srv_map_put(&g_srv.rels_all, key, klen, x, &failed);
    if (failed) {   /* not registered: do not hand out an object nobody owns */
        if (x->full) MHD_destroy_response(x->full);
        free(x->mem);
        free(x->r.statement);
        free(x);
        return NULL;
    }
    return x;
}

/* ---- snapshot ------------------------------------------------------------- */

static void appview_free(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    srv_appview *a = v;
    if (!a) return;
    free(a->ro.allow_json);
    free(a->ro.pins_json);
    free(a->ro.waves_json);
    for (size_t i = 0; i < a->n_allow; i++) free(a->allow[i]);
    free(a->allow);
    for (size_t i = 0; i < a->n_pins; i++) free((char *)a->pins[i].device);
    free(a->pins);
    free(a->rels);
    free(a);
}

/* What polls see after a failed rebuild: nothing offered, nothing served,
 * until a rebuild succeeds (never freed). */
static srv_snapshot closed_snap;

static void snapshot_free(srv_snapshot *s)
{
    if (!s || s == &closed_snap) return;
    srv_map_each(&s->apps, appview_free, NULL);
    srv_map_free(&s->apps);
    srv_map_free(&s->rels);
    srv_map_free(&s->bundles);
    free(s->relv);
    free(s);
}

/* Every failure while building a snapshot (memory, a member that does not
 * parse) marks it failed: it is then never used (fail closed). */
static void rel_cb(const srv_release *r, void *arg)
{
    srv_snapshot *s = arg;
    srv_rel *x = srv_rel_add(r);
    if (!x) {
        if (!rel_skipped) s->failed = true;
        return;
    }
    char key[64];
    size_t klen = relkey(key, sizeof key, r->app, r->seq);
    srv_map_put(&s->rels, key, klen, x, &s->failed);
    srv_map_put(&s->bundles, r->bundle_sha256, strlen(r->bundle_sha256), x, &s->failed);
    srv_rel **nv = realloc(s->relv, (s->n_relv + 1) * sizeof *nv);
    if (!nv) { s->failed = true; return; }
    s->relv = nv;
    s->relv[s->n_relv++] = x;
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_pin(const void *a, const void *b)
{
    return strcmp(((const ro_pin *)a)->device, ((const ro_pin *)b)->device);
}

/* The policy view (ro_rollout) of a stored rollout; arrays owned by a. */
/* An allow list or pins that cannot be read in full would let devices in
 * that must not be: the snapshot is marked failed instead (fail closed). */
static void appview_policy(srv_appview *a, srv_snapshot *s)
{
    cJSON *j = cJSON_Parse(a->ro.allow_json), *it;
    if (!cJSON_IsArray(j)) s->failed = true;
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 0;
    a->allow = n ? calloc((size_t)n, sizeof *a->allow) : NULL;
    if (n && !a->allow) s->failed = true;
    if (a->allow)
        cJSON_ArrayForEach(it, j)
            if (cJSON_IsString(it)) {
                char *d = srv_strdup_entry(it->valuestring);
                if (d) a->allow[a->n_allow++] = d;   /* never a NULL entry: qsort compares them */
                else s->failed = true;
            }
    cJSON_Delete(j);
    if (a->n_allow) qsort(a->allow, a->n_allow, sizeof *a->allow, cmp_str);
    j = cJSON_Parse(a->ro.pins_json);
    if (!cJSON_IsObject(j)) s->failed = true;
    n = cJSON_IsObject(j) ? cJSON_GetArraySize(j) : 0;
    a->pins = n ? calloc((size_t)n, sizeof *a->pins) : NULL;
    if (n && !a->pins) s->failed = true;
    if (a->pins)
        cJSON_ArrayForEach(it, j)
            if (cJSON_IsNumber(it) && it->valuedouble >= 0) {
                if (!(a->pins[a->n_pins].device = srv_strdup_entry(it->string))) { s->failed = true; continue; }
                a->pins[a->n_pins++].seq = (uint64_t)it->valuedouble;
            }
    cJSON_Delete(j);
    if (a->n_pins) qsort(a->pins, a->n_pins, sizeof *a->pins, cmp_pin);
    j = cJSON_Parse(a->ro.waves_json);
    if (!cJSON_IsArray(j)) s->failed = true;
    else
        cJSON_ArrayForEach(it, j)
            if (cJSON_IsNumber(it) && a->nwaves < SRV_MAX_WAVES) a->waves[a->nwaves++] = it->valuedouble;
    cJSON_Delete(j);
    size_t nr = 0;
    for (size_t i = 0; i < s->n_relv; i++) nr += strcmp(s->relv[i]->r.app, a->ro.app) == 0;
    a->rels = nr ? calloc(nr, sizeof *a->rels) : NULL;
    if (nr && !a->rels) s->failed = true;
    for (size_t i = 0; a->rels && i < s->n_relv; i++)
        if (strcmp(s->relv[i]->r.app, a->ro.app) == 0) {
            a->rels[a->n_rels].seq = s->relv[i]->r.seq;
            a->rels[a->n_rels].fw = s->relv[i]->fw;
            a->rels[a->n_rels++].board = s->relv[i]->r.board;
        }
    ro_rollout *p = &a->pol;
    p->id = a->ro.id;
    p->seq = a->ro.seq;
    int ph = ro_phase_parse(a->ro.state);
    p->phase = ph < 0 ? RO_PAUSED : (ro_phase)ph;
    p->percent = a->ro.percent;
    p->allow = (const char *const *)a->allow;
    p->n_allow = a->n_allow;
    p->pins = a->pins;
    p->n_pins = a->n_pins;
    p->waves = a->waves;
    p->n_waves = a->nwaves;
    p->wave_fraction = a->ro.wave_fraction;
    p->error_threshold = a->ro.error_threshold;
    p->min_reports = a->ro.min_reports;
    p->wave_since = a->ro.updated;
}

typedef struct rb_ctx { srv_snapshot *s; } rb_ctx;

static void rollout_cb(const srv_rollout *r, void *arg)
{
    srv_snapshot *s = arg;
    if (strcmp(r->state, SRV_RO_ACTIVE) != 0 && strcmp(r->state, SRV_RO_PAUSED) != 0) return;
    srv_appview *a = calloc(1, sizeof *a);
    if (!a) { s->failed = true; return; }
    a->ro = *r;
    a->ro.allow_json = dupstr(r->allow_json);
    a->ro.pins_json = dupstr(r->pins_json);
    a->ro.waves_json = dupstr(r->waves_json);
    if (!a->ro.allow_json || !a->ro.pins_json || !a->ro.waves_json) {
        s->failed = true;
        appview_free(NULL, a, NULL);
        return;
    }
    char key[64];
    size_t klen = relkey(key, sizeof key, r->app, r->seq);
    a->target = srv_map_get(&s->rels, key, klen);
    appview_policy(a, s);
    /* Later rollouts of the same app replace earlier ones (ordered by id). */
    bool put_failed = false;
    srv_appview *old = srv_map_put(&s->apps, r->app, strlen(r->app), a, &put_failed);
    if (put_failed) { s->failed = true; appview_free(NULL, a, NULL); }
    if (old) appview_free(NULL, old, NULL);
}

static void count_active(const char *k, void *v, void *arg)
{
    (void)k;
    srv_appview *a = v;
    if (a && strcmp(a->ro.state, SRV_RO_ACTIVE) == 0) ((srv_snapshot *)arg)->n_rollouts_active++;
}

/* Fail closed: when the new snapshot cannot be built in full, polls get the
 * closed one (no offers) rather than the old one, which may hold what the
 * admin just withdrew (a pause, a pin to 0, a narrower allow list). */
static int snapshot_close(void)
{
    pthread_rwlock_wrlock(&g_srv.snap_lock);
    srv_snapshot *old = g_srv.snap;
    g_srv.snap = &closed_snap;
    pthread_rwlock_unlock(&g_srv.snap_lock);
    snapshot_free(old);
    fprintf(stderr, "otad: the rollout snapshot could not be rebuilt: no offers until it is\n");
    return -1;
}

int srv_snapshot_rebuild(void)
{
    srv_snapshot *s = calloc(1, sizeof *s);
    if (!s) return snapshot_close();
    if (g_srv.store->ops->release_list(g_srv.store, rel_cb, s) != 0 ||
        g_srv.store->ops->rollout_list(g_srv.store, rollout_cb, s) != 0 || s->failed) {
        snapshot_free(s);
        return snapshot_close();
    }
    srv_map_each(&s->apps, count_active, s);
    pthread_rwlock_wrlock(&g_srv.snap_lock);
    srv_snapshot *old = g_srv.snap;
    g_srv.snap = s;
    pthread_rwlock_unlock(&g_srv.snap_lock);
    snapshot_free(old);
    atomic_fetch_add(&g_srv.wave_dirty, 1);   /* a change: evaluate again */
    return 0;
}

srv_appview *srv_appview_get(const char *app)
{
    return g_srv.snap && g_srv.snap->apps.count ? srv_map_get(&g_srv.snap->apps, app, strlen(app))
                                                : NULL;
}

/* ---- devices ---------------------------------------------------------------- */

int srv_secret_remember(const char *device, const uint8_t secret[SRV_SECRET_SIZE])
{
    uint8_t *copy = malloc(SRV_SECRET_SIZE);
    if (!copy) return -1;
    memcpy(copy, secret, SRV_SECRET_SIZE);
    bool failed = false;
    pthread_mutex_lock(&g_srv.dev_mu);
    uint8_t *old = srv_map_put(&g_srv.secrets, device, strlen(device), copy, &failed);
    pthread_mutex_unlock(&g_srv.dev_mu);
    if (old) sodium_memzero(old, SRV_SECRET_SIZE);
    free(old);
    if (failed) { free(copy); return -1; }
    return 0;
}

void srv_secret_forget(const char *device)
{
    pthread_mutex_lock(&g_srv.dev_mu);
    uint8_t *old = g_srv.secrets.count ? srv_map_put(&g_srv.secrets, device, strlen(device), NULL, NULL)
                                       : NULL;
    pthread_mutex_unlock(&g_srv.dev_mu);
    if (old) sodium_memzero(old, SRV_SECRET_SIZE);
    free(old);
}

bool srv_secret_lookup(const char *device, uint8_t secret[SRV_SECRET_SIZE])
{
    pthread_mutex_lock(&g_srv.dev_mu);
    const uint8_t *v = g_srv.secrets.count ? srv_map_get(&g_srv.secrets, device, strlen(device)) : NULL;
    if (v) memcpy(secret, v, SRV_SECRET_SIZE);
    pthread_mutex_unlock(&g_srv.dev_mu);
    return v != NULL;
}

/* Blocks of one (device, app): a few sequences. */
typedef struct srv_blocks {
    size_t n, cap;
    uint64_t seq[];
} srv_blocks;

#define HIST_MAX 64   /* blocks of one device and app looked at per poll */

static int devapp_key(char *key, size_t cap, const char *device, const char *app)
{
    return snprintf(key, cap, "%s/%s", device, app);
}

static int block_locked(const char *device, const char *app, uint64_t seq);

int srv_block(const char *device, const char *app, uint64_t seq)
{
    pthread_mutex_lock(&g_srv.dev_mu);
    int rc = block_locked(device, app, seq);
    pthread_mutex_unlock(&g_srv.dev_mu);
    return rc;
}

/* srv_block with dev_mu held. */
static int block_locked(const char *device, const char *app, uint64_t seq)
{
    char key[80];
    int n = devapp_key(key, sizeof key, device, app);
    int rc = 0;
    srv_blocks *b = g_srv.blocked.count ? srv_map_get(&g_srv.blocked, key, (size_t)n) : NULL;
    bool have = false;
    for (size_t i = 0; b && i < b->n; i++) have |= b->seq[i] == seq;
    if (!have) {
        if (!b || b->n == b->cap) {
            size_t cap = b ? b->cap * 2 : 4;
            srv_blocks *nb = realloc(b, sizeof *nb + cap * sizeof nb->seq[0]);
            bool failed = false;
            if (nb) {
                if (!b) nb->n = 0;
                nb->cap = cap;
                srv_map_put(&g_srv.blocked, key, (size_t)n, nb, &failed);
                if (failed && !b) { free(nb); nb = NULL; }
                b = nb;
            }
            if (!nb || failed) rc = -1;
        }
        if (rc == 0 && b && b->n < b->cap) b->seq[b->n++] = seq;
    }
    return rc;
}

typedef struct unblock_ctx { const char *prefix; size_t plen; } unblock_ctx;

static void unblock_prefix(const char *k, void *v, void *arg)
{
    unblock_ctx *u = arg;
    if (v && strncmp(k, u->prefix, u->plen) == 0) ((srv_blocks *)v)->n = 0;
}

void srv_unblock(const char *device, const char *app, uint64_t seq)
{
    pthread_mutex_lock(&g_srv.dev_mu);
    if (app) {
        char key[80];
        int n = devapp_key(key, sizeof key, device, app);
        srv_blocks *b = g_srv.blocked.count ? srv_map_get(&g_srv.blocked, key, (size_t)n) : NULL;
        for (size_t i = 0; b && i < b->n; i++)
            if (b->seq[i] == seq) b->seq[i--] = b->seq[--b->n];
    } else {
        char pre[40];
        int n = snprintf(pre, sizeof pre, "%s/", device);
        unblock_ctx u = { pre, (size_t)n };
        srv_map_each(&g_srv.blocked, unblock_prefix, &u);
    }
    pthread_mutex_unlock(&g_srv.dev_mu);
}

static size_t blocks_copy(const char *device, const char *app, uint64_t *out, size_t cap)
{
    char key[80];
    int n = devapp_key(key, sizeof key, device, app);
    size_t got = 0;
    pthread_mutex_lock(&g_srv.dev_mu);
    const srv_blocks *b = g_srv.blocked.count ? srv_map_get(&g_srv.blocked, key, (size_t)n) : NULL;
    for (size_t i = 0; b && i < b->n && got < cap; i++) out[got++] = b->seq[i];
    pthread_mutex_unlock(&g_srv.dev_mu);
    return got;
}

bool srv_blocked(const char *device, const char *app, uint64_t seq)
{
    uint64_t v[HIST_MAX];
    ro_history h = { v, blocks_copy(device, app, v, HIST_MAX) };
    return ro_blocked(&h, seq);
}

/* ---- last seen ----------------------------------------------------------------- */

void srv_seen_note(const char *device, const char *app, uint64_t seq, int64_t when,
                   const char *board, uint64_t offered)
{
    /* Data cost: a poll answered from the snapshot, to the release it
     * offered (202 or an offer), else idle (cost.c). */
    srv_cost_mark(SRV_COST_MANIFEST, device, app, offered);
    char key[80];
    int n = devapp_key(key, sizeof key, device, app);
    uint64_t h = srv_hash_bytes(key, (size_t)n);
    /* The shard comes from the high bits; the map uses the low ones. */
    unsigned sh = (unsigned)(h >> 60) % SRV_SEEN_SHARDS;
    pthread_mutex_lock(&g_srv.seen[sh].mu);
    srv_map *m = &g_srv.seen[sh].map;
    srv_seen *e = m->count ? srv_map_get(m, key, (size_t)n) : NULL;
    if (e) {
        e->seq = seq;
        e->when = when;
        if (board && *board) snprintf(e->board, sizeof e->board, "%s", board);
        if (offered) e->offered = offered;
    } else if (m->count < SEEN_MAX / SRV_SEEN_SHARDS && (e = malloc(sizeof *e)) != NULL) {
        snprintf(e->device, sizeof e->device, "%s", device);
        snprintf(e->app, sizeof e->app, "%s", app);
        snprintf(e->board, sizeof e->board, "%s", board ? board : "");
        e->seq = seq;
        e->when = when;
        e->offered = offered;
        bool failed = false;
        srv_map_put(m, key, (size_t)n, e, &failed);
        if (failed) { free(e); SRV_ADD(seen_dropped, 1); }
    } else {
        SRV_ADD(seen_dropped, 1);
    }
    pthread_mutex_unlock(&g_srv.seen[sh].mu);
}

typedef struct seen_vec { srv_seen *v; size_t n; } seen_vec;

static void seen_collect(const char *k, void *v, void *arg)
{
    (void)k;
    seen_vec *sv = arg;
    sv->v[sv->n++] = *(srv_seen *)v;
    free(v);
}

static void free_seen(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    free(v);
}

static void served_flush(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    srv_rel *x = v;
    uint64_t n = atomic_exchange(&x->served_pending, 0);
    if (n && g_srv.store->ops->release_add_served(g_srv.store, x->r.app, x->r.seq, n) != 0)
        atomic_fetch_add(&x->served_pending, n);
}

void srv_seen_flush(void)
{
    srv_cost_flush();   /* data cost: the same cadence, its own transaction */
    srv_map maps[SRV_SEEN_SHARDS];
    size_t total = 0;
    for (int i = 0; i < SRV_SEEN_SHARDS; i++) {
        pthread_mutex_lock(&g_srv.seen[i].mu);
        maps[i] = g_srv.seen[i].map;
        memset(&g_srv.seen[i].map, 0, sizeof g_srv.seen[i].map);
        pthread_mutex_unlock(&g_srv.seen[i].mu);
        total += maps[i].count;
    }
    seen_vec sv = { total ? malloc(total * sizeof(srv_seen)) : NULL, 0 };
    for (int i = 0; i < SRV_SEEN_SHARDS; i++) {
        if (sv.v) srv_map_each(&maps[i], seen_collect, &sv);
        else srv_map_each(&maps[i], free_seen, NULL);
        srv_map_free(&maps[i]);
    }
    if (sv.v && sv.n && g_srv.store->ops->seen_flush(g_srv.store, sv.v, sv.n) == 0) {
        SRV_ADD(seen_flushes, 1);
        SRV_ADD(seen_flushed, sv.n);
        atomic_fetch_add(&g_srv.wave_dirty, 1);
        for (size_t i = 0; i < sv.n; i++)
            srv_fleet_note(sv.v[i].app, sv.v[i].device, sv.v[i].board, sv.v[i].seq, true, sv.v[i].when,
                           false);
    }
    free(sv.v);
    pthread_mutex_lock(&g_srv.admin_mu);
    srv_map_each(&g_srv.rels_all, served_flush, NULL);
    srv_waves_tick(false);
    pthread_mutex_unlock(&g_srv.admin_mu);
}

/* ---- rollout rules (the policy is rollout.c) ----------------------------------- */

srv_rel *srv_decide(const srv_snapshot *s, const char *device, const char *app, uint64_t running,
                    const char *board, int firmware)
{
    if (!s || s->apps.count == 0) return NULL;
    srv_appview *a = srv_map_get(&s->apps, app, strlen(app));
    if (!a) return NULL;
    ro_device d = { device, running, board,
                    firmware == SRV_FW_RECALL ? (uint16_t)RO_FW_UNASKED : (uint16_t)firmware };
    uint64_t seq = 0;
    /* Blocks are the policy's last rule, and what otad remembers of the
     * device's firmware matters only for a pretokenised release: look them
     * up (a lock each) only for a device that would otherwise get an offer,
     * so a 204 poll takes no lock. */
    if (ro_decide(&a->pol, a->rels, a->n_rels, &d, NULL, &seq) != RO_OFFER) return NULL;
    srv_rel *rel;
    if (seq == a->ro.seq && a->target) rel = a->target;
    else {
        char key[64];
        size_t klen = relkey(key, sizeof key, app, seq);
        rel = srv_map_get(&s->rels, key, klen);
    }
    if (!rel) return NULL;
    bool again = false;
    if (firmware == SRV_FW_RECALL && rel->fw) {
        d.firmware = srv_firmware_known(device);
        again = true;
    }
    uint64_t bl[HIST_MAX];
    ro_history h = { bl, blocks_copy(device, app, bl, HIST_MAX) };
    if ((again || h.n_blocked) && ro_decide(&a->pol, a->rels, a->n_rels, &d, &h, &seq) != RO_OFFER)
        return NULL;
    return rel;
}

/* ---- firmware the devices said ---------------------------------------------- */

#define FW_MAX 1048576   /* devices remembered; beyond it a device is asked again */
static pthread_mutex_t fw_mu = PTHREAD_MUTEX_INITIALIZER;
static srv_map fw_mem;   /* device -> (void *)(0x10000 | firmware) (under fw_mu) */

void srv_firmware_note(const char *device, uint16_t fw)
{
    size_t dl = strlen(device);
    void *v = (void *)(uintptr_t)(0x10000u | fw);
    pthread_mutex_lock(&fw_mu);
    if (fw_mem.count < FW_MAX || (fw_mem.count && srv_map_get(&fw_mem, device, dl)))
        srv_map_put(&fw_mem, device, dl, v, NULL);
    pthread_mutex_unlock(&fw_mu);
}

uint16_t srv_firmware_known(const char *device)
{
    pthread_mutex_lock(&fw_mu);
    uintptr_t v = fw_mem.count ? (uintptr_t)srv_map_get(&fw_mem, device, strlen(device)) : 0;
    pthread_mutex_unlock(&fw_mu);
    return v ? (uint16_t)(v & 0xFFFFu) : (uint16_t)RO_FW_UNASKED;
}

static void firmware_forget(const char *device)
{
    pthread_mutex_lock(&fw_mu);
    if (fw_mem.count && srv_map_get(&fw_mem, device, strlen(device)))
        srv_map_put(&fw_mem, device, strlen(device), NULL, NULL);
    pthread_mutex_unlock(&fw_mu);
}

bool srv_firmware_parse(const char *s, uint16_t *fw)
{
    if (!s) return false;
    size_t i = 0, major = 0;
    unsigned v = 0;
    while (s[i] >= '0' && s[i] <= '9' && major < 2) { v = v * 10 + (unsigned)(s[i++] - '0'); major++; }
    if (major == 0 || s[i++] != 'v') return false;
    for (int k = 0; k < 2; k++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (unsigned)(s[i++] - '0');
    }
    if (s[i] == '.') {
        size_t b = 0;
        for (i++; s[i] >= '0' && s[i] <= '9' && b < 6; i++) b++;
        if (b == 0) return false;
    }
    if (s[i] != 0 || v == 0) return false;
    *fw = (uint16_t)v;
    return true;
}

void srv_rollout_event(int64_t rollout, const char *event, const char *by, const char *detail)
{
    if (g_srv.store->ops->event_add(g_srv.store, rollout, srv_now(), event, by, detail) != 0)
        fprintf(stderr, "otad: rollout %lld: history event %s not stored\n", (long long)rollout, event);
}

/* Store a decision otad took itself (threshold, wave): only over the state
 * it was taken on, so that among several replicas one decides (rollout_cas;
 * a store used by one process has no rival: plain put). */
static int rollout_store_cas(const srv_rollout *from, srv_rollout *to)
{
    if (g_srv.store->ops->rollout_cas) return g_srv.store->ops->rollout_cas(g_srv.store, from, to);
    return g_srv.store->ops->rollout_put(g_srv.store, to, false);
}

void srv_rollout_after_report(const char *app, uint64_t seq, const srv_release_counts *c)
{
    atomic_fetch_add(&g_srv.wave_dirty, 1);
    pthread_mutex_lock(&g_srv.admin_mu);
    /* Holding admin_mu, the snapshot cannot be swapped under us. */
    srv_appview *a = srv_appview_get(app);
    if (!a || a->ro.seq != seq || a->pol.phase != RO_ACTIVE) goto out;
    ro_counts rc;
    memcpy(rc.by_state, c->by_state, sizeof rc.by_state);
    srv_rollout ro = a->ro;
    if (ro_threshold_crossed(&a->pol, &rc, ro.reason, sizeof ro.reason)) {
        snprintf(ro.state, sizeof ro.state, "%s", SRV_RO_PAUSED);
        ro.updated = srv_now();
        int sr = rollout_store_cas(&a->ro, &ro);
        if (sr == 0) {
            SRV_ADD(rollouts_paused_auto, 1);
            fprintf(stderr, "otad: rollout %lld (%s seq %llu) paused: %s\n", (long long)ro.id, app,
                    (unsigned long long)seq, ro.reason);
            srv_rollout_event(ro.id, "threshold", "otad", ro.reason);
            srv_snapshot_rebuild();
        } else if (sr == SRV_STORE_CONFLICT) {
            /* Another replica changed the rollout first (it paused it on
             * the same counts, or an admin did something): take its state. */
            srv_snapshot_rebuild();
        }
    }
out:
    pthread_mutex_unlock(&g_srv.admin_mu);
}

/* ---- waves --------------------------------------------------------------------- */

/* The known devices of each app, in memory, for the wave evaluations: loaded
 * from the store once per app, then kept up to date by the batched polls
 * (srv_seen_flush) and by confirmed reports (srv_fleet_note), so a wave
 * evaluation is one pass over memory, and each device's bucket is hashed
 * once per rollout, not once per evaluation. */
typedef struct fleet_ent {
    char     id[OTA_DEVICE_ID_MAX + 1];
    char     board[OTA_NAME_MAX + 1];
    uint64_t running;
    int64_t  at;                        /* time of the latest poll or report noted */
    bool     rep;                       /* ... and it was a report */
    int64_t  bucket_for;                /* rollout id the bucket belongs to (0: none) */
    unsigned bucket;
    bool     gone;                      /* retired */
} fleet_ent;

typedef struct app_fleet {
    srv_map  idx;                       /* device -> (uintptr_t)(index + 1) */
    fleet_ent *v;
    size_t   n, cap;
} app_fleet;

static pthread_mutex_t fleet_mu = PTHREAD_MUTEX_INITIALIZER;
static srv_map fleets;                  /* app -> app_fleet* (under fleet_mu) */

static fleet_ent *fleet_put(app_fleet *f, const char *device)
{
    size_t dl = strlen(device);
    uintptr_t i = f->idx.count ? (uintptr_t)srv_map_get(&f->idx, device, dl) : 0;
    if (i) return &f->v[i - 1];
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        fleet_ent *nv = realloc(f->v, cap * sizeof *nv);
        if (!nv) return NULL;
        f->v = nv;
        f->cap = cap;
    }
    fleet_ent *e = &f->v[f->n];
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", device);
    bool failed = false;
    srv_map_put(&f->idx, device, dl, (void *)(uintptr_t)(f->n + 1), &failed);
    if (failed) return NULL;
    f->n++;
    return e;
}

static void fleet_load_cb(const char *id, const char *board, uint64_t running, void *arg)
{
    fleet_ent *e = fleet_put(arg, id);
    if (!e) return;
    snprintf(e->board, sizeof e->board, "%s", board);
    e->running = running;
}

/* The app's fleet (fleet_mu held), loaded from the store on first use. */
static app_fleet *fleet_of(const char *app, bool load)
{
    app_fleet *f = fleets.count ? srv_map_get(&fleets, app, strlen(app)) : NULL;
    if (f || !load) return f;
    f = calloc(1, sizeof *f);
    if (!f) return NULL;
    if (g_srv.store->ops->app_fleet(g_srv.store, app, fleet_load_cb, f) != 0) {
        srv_map_free(&f->idx);
        free(f->v);
        free(f);
        return NULL;
    }
    srv_map_put(&fleets, app, strlen(app), f, NULL);
    return f;
}

void srv_fleet_note(const char *app, const char *device, const char *board, uint64_t running,
                    bool set_running, int64_t when, bool report)
{
    pthread_mutex_lock(&fleet_mu);
    app_fleet *f = fleet_of(app, false);   /* not loaded yet: the load will see it */
    fleet_ent *e = f ? fleet_put(f, device) : NULL;
    if (e) {
        if (board && *board) snprintf(e->board, sizeof e->board, "%s", board);
        if (report) {
            if (set_running) e->running = running;
            if (when >= e->at) { e->at = when; e->rep = true; }
        } else if (when > e->at || (when == e->at && !e->rep)) {
            /* a batched poll flushed after a report of its second (or a
             * later one) must not undo what the report set */
            if (set_running) e->running = running;
            e->at = when;
            e->rep = false;
        }
        e->gone = false;
    }
    pthread_mutex_unlock(&fleet_mu);
}

typedef struct forget_ctx { const char *device; } forget_ctx;

static void fleet_forget_one(const char *k, void *v, void *arg)
{
    (void)k;
    app_fleet *f = v;
    const char *d = ((forget_ctx *)arg)->device;
    uintptr_t i = f && f->idx.count ? (uintptr_t)srv_map_get(&f->idx, d, strlen(d)) : 0;
    if (i) f->v[i - 1].gone = true;
}

void srv_fleet_forget(const char *device)
{
    firmware_forget(device);
    forget_ctx c = { device };
    pthread_mutex_lock(&fleet_mu);
    srv_map_each(&fleets, fleet_forget_one, &c);
    pthread_mutex_unlock(&fleet_mu);
}

static void fleet_free_one(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    app_fleet *f = v;
    if (!f) return;
    srv_map_free(&f->idx);
    free(f->v);
    free(f);
}

/* Evaluate one app's rollout; advance its wave if it may (stored: the
 * caller rebuilds the snapshot).  admin_mu held.  True when advanced. */
static bool wave_eval_app(const char *app, srv_appview *a, bool may_advance)
{
    /* The policy's input: every known device of the app, with its bucket
     * in this rollout (hashed once per device and rollout). */
    /* A pretokenised release: a device that said another firmware, or none,
     * is never offered it, so it is not in any wave (as another board);
     * one otad has not heard from yet is (srv_firmware_known). */
    uint16_t rfw = a->target ? a->target->fw : 0;
    pthread_mutex_lock(&fleet_mu);
    app_fleet *fl = fleet_of(app, true);
    size_t n = 0;
    ro_fleet_dev *devs = fl && fl->n ? malloc(fl->n * sizeof *devs) : NULL;
    for (size_t i = 0; devs && i < fl->n; i++) {
        fleet_ent *e = &fl->v[i];
        if (e->gone) continue;
        if (rfw && !ro_firmware_match(rfw, srv_firmware_known(e->id))) continue;
        if (e->bucket_for != a->ro.id) {
            e->bucket = ro_bucket(a->ro.id, e->id);
            e->bucket_for = a->ro.id;
        }
        devs[n++] = (ro_fleet_dev){ e->id, e->board, e->running, (int)e->bucket };
    }
    ro_wave_status *st = srv_map_get(&g_srv.waves, app, strlen(app));
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) { pthread_mutex_unlock(&fleet_mu); free(devs); return false; }
        srv_map_put(&g_srv.waves, app, strlen(app), st, NULL);
    }
    ro_wave_eval(&a->pol, a->target ? a->target->r.board : "", devs, n, srv_now(), st);
    pthread_mutex_unlock(&fleet_mu);
    free(devs);
    if (!may_advance || !st->advance || st->next_percent < 0) return false;
    srv_rollout ro = a->ro;
    char detail[256];
    snprintf(detail, sizeof detail, "wave %d -> %g%%: %s", st->wave, st->next_percent, st->waiting);
    ro.percent = st->next_percent;
    ro.updated = srv_now();
    int rc = rollout_store_cas(&a->ro, &ro);
    if (rc == SRV_STORE_CONFLICT) {
        /* Another replica advanced it first: the rebuild shows its wave. */
        st->advance = false;
        return true;
    }
    if (rc != 0) return false;
    fprintf(stderr, "otad: rollout %lld (%s seq %llu): %s\n", (long long)ro.id, app,
            (unsigned long long)ro.seq, detail);
    srv_rollout_event(ro.id, "wave", "otad", detail);
    st->advance = false;
    return true;
}

typedef struct app_list { char (*v)[33]; size_t n; } app_list;

static void collect_app(const char *k, void *v, void *arg)
{
    app_list *l = arg;
    if (v) snprintf(l->v[l->n++], 33, "%s", k);
}

void srv_waves_tick(bool force)
{
    if (!force && atomic_exchange(&g_srv.wave_dirty, 0) == 0) return;
    if (!g_srv.snap || g_srv.snap->apps.count == 0) return;
    app_list l = { calloc(g_srv.snap->apps.count, 33), 0 };
    if (!l.v) return;
    srv_map_each(&g_srv.snap->apps, collect_app, &l);
    bool changed = false;
    for (size_t i = 0; i < l.n; i++) {
        srv_appview *a = srv_appview_get(l.v[i]);
        if (a) changed |= wave_eval_app(l.v[i], a, true);
    }
    free(l.v);
    /* Advances are stored; polls see them after one rebuild (which marks
     * the waves dirty again: the next tick looks at the new wave). */
    if (changed) srv_snapshot_rebuild();
}

const ro_wave_status *srv_wave_status(const char *app)
{
    ro_wave_status *st = srv_map_get(&g_srv.waves, app, strlen(app));
    srv_appview *a = st ? NULL : srv_appview_get(app);
    if (a) {
        /* Evaluate only: an advance (which rebuilds the snapshot under the
         * caller's feet) waits for the next tick. */
        wave_eval_app(app, a, false);
        st = srv_map_get(&g_srv.waves, app, strlen(app));
    }
    return st;
}

/* ---- reload ---------------------------------------------------------------------- */

static int read_release_key(const char *f, ota_trusted_key *k, char *err, size_t cap)
{
    size_t len;
    uint8_t *b = srv_read_file(f, 4096, &len);
    if (!b) { snprintf(err, cap, "cannot read release key %s: %s", f, strerror(errno)); return -1; }
    size_t n = len, got = 0;
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ')) n--;
    int ok = 0;
    if (n == 64) ok = ota_hex_decode(k->pub, 32, &got, (char *)b, 64) == OTA_OK && got == 32;
    else if (len == 32) { memcpy(k->pub, b, 32); ok = 1; }
    free(b);
    if (!ok) { snprintf(err, cap, "%s: not a release public key (one line of 64 hex)", f); return -1; }
    ota_release_key_id(k->id, k->pub);
    return 0;
}

/* Check every --release-pub file and read the admin token (the same source
 * as at start; an environment token cannot change).  *tok: a new token
 * buffer, or NULL when the token comes from the environment. */
/* Admin tokens replaced by a reload: wiped (the old token authorizes
 * nothing from now on), but kept allocated, since a request may be reading
 * one at this moment, and reachable (freed by srv_state_free), so that
 * nothing is lost to a leak checker. */
static pthread_mutex_t retired_mu = PTHREAD_MUTEX_INITIALIZER;
static char **retired;
static size_t nretired, capretired;

static void token_swap(char *tok, size_t tlen)
{
    size_t oldlen = __atomic_load_n(&g_srv.admin_token_len, __ATOMIC_SEQ_CST);
    char *old = __atomic_exchange_n(&g_srv.admin_token, tok, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_srv.admin_token_len, tlen, __ATOMIC_SEQ_CST);
    if (!old) return;
    sodium_memzero(old, oldlen);
    pthread_mutex_lock(&retired_mu);
    if (nretired == capretired) {
        size_t nc = capretired ? capretired * 2 : 8;
        char **nv = realloc(retired, nc * sizeof *nv);
        if (nv) { retired = nv; capretired = nc; }
    }
    if (nretired < capretired) retired[nretired++] = old;   /* else: stays allocated, unreachable */
    pthread_mutex_unlock(&retired_mu);
}

static int read_token(char *err, size_t cap, char **tok, size_t *tlen)
{
    *tok = NULL;
    *tlen = 0;
    const char *file = g_srv.cfg.admin_token_file;
    char path[4096];
    const char *env = getenv("OTAD_ADMIN_TOKEN");
    if (!file && env && *env) return 0;
    if (!file) {
        snprintf(path, sizeof path, "%s/admin.token", g_srv.cfg.data_dir);
        file = path;
    }
    size_t len;
    uint8_t *b = srv_read_file(file, 4096, &len);
    if (!b) { snprintf(err, cap, "cannot read admin token %s: %s", file, strerror(errno)); return -1; }
    while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == '\r' || b[len - 1] == ' ')) len--;
    if (len < 16) {
        sodium_memzero(b, len);
        free(b);
        snprintf(err, cap, "admin token in %s is shorter than 16 characters", file);
        return -1;
    }
    /* Padded to at least the old length: a request checked while the
     * pointer and the length change reads inside the buffer (and fails). */
    size_t old = __atomic_load_n(&g_srv.admin_token_len, __ATOMIC_SEQ_CST);
    *tok = calloc(1, (len > old ? len : old) + 1);
    if (!*tok) { free(b); snprintf(err, cap, "out of memory"); return -1; }
    memcpy(*tok, b, len);
    *tlen = len;
    sodium_memzero(b, len);
    free(b);
    return 0;
}

int srv_reload(char *err, size_t cap, int *nkeys)
{
    char *tok;
    size_t tlen;
    /* Everything is checked first: on a bad file nothing changes. */
    ota_trusted_key k;
    *nkeys = 0;
    for (int i = 0; i < g_srv.cfg.n_release_pub; i++, (*nkeys)++)
        if (read_release_key(g_srv.cfg.release_pub[i], &k, err, cap) != 0) return -1;
    if (read_token(err, cap, &tok, &tlen) != 0) return -1;
    /* The release keys in force are keyset.c's (it re-reads --release-pub
     * and any key set; it takes admin_mu itself). */
    if (srv_keyset_reload() != 0) {
        free(tok);
        snprintf(err, cap, "the release keys could not be reloaded (see otad's log); nothing changed");
        return -1;
    }
    if (tok) token_swap(tok, tlen);
    fprintf(stderr, "otad: reloaded %d release key file(s)%s\n", *nkeys, tok ? " and the admin token" : "");
    return 0;
}

void srv_reload_signal(void)
{
    /* The release keys as keyset.c reloads them (it logs what it did), and
     * the admin token: each all or nothing. */
    char err[300] = "";
    char *tok;
    size_t tlen;
    int krc = srv_keyset_reload();
    int trc = read_token(err, sizeof err, &tok, &tlen);
    if (trc == 0 && tok) {
        token_swap(tok, tlen);
        fprintf(stderr, "otad: SIGHUP: reloaded the admin token\n");
    } else if (trc != 0) {
        fprintf(stderr, "otad: SIGHUP: admin token unchanged: %s\n", err);
    }
    if (krc != 0 && !err[0]) snprintf(err, sizeof err, "release keys unchanged (see the log)");
    if (g_srv.store->ops->audit_add(g_srv.store, srv_now(), "signal:SIGHUP", "SIGHUP", "/admin/reload",
                                    krc == 0 && trc == 0 ? 200 : 422,
                                    krc == 0 && trc == 0 ? "reloaded" : err) != 0)
        fprintf(stderr, "otad: audit entry not stored: SIGHUP\n");
}

/* ---- replicas ------------------------------------------------------------------ */

/* Several otad on one store (PostgreSQL): what another replica committed
 * reaches this one's memory here, once a second (main loop), from the
 * store's change notifications (store.h: changes). */
typedef struct chg {
    bool all, snap, secrets, fleet;
    bool failed;
} chg;

typedef struct block_row { char dev[OTA_DEVICE_ID_MAX + 1], app[OTA_NAME_MAX + 1]; uint64_t seq; } block_row;
typedef struct block_vec { block_row *v; size_t n, cap; bool failed; } block_vec;

static void block_row_cb(const char *dev, const char *app, uint64_t seq, void *arg)
{
    block_vec *bv = arg;
    if (bv->n == bv->cap) {
        size_t cap = bv->cap ? bv->cap * 2 : 64;
        block_row *nv = realloc(bv->v, cap * sizeof *nv);
        if (!nv) { bv->failed = true; return; }
        bv->v = nv;
        bv->cap = cap;
    }
    block_row *r = &bv->v[bv->n++];
    snprintf(r->dev, sizeof r->dev, "%s", dev);
    snprintf(r->app, sizeof r->app, "%s", app);
    r->seq = seq;
}

static void block_zero(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    if (v) ((srv_blocks *)v)->n = 0;
}

/* Every block as the store has it, swapped in under one hold of dev_mu (a
 * poll never sees a half-loaded set).  -1 when it could not be read: the
 * old set stays. */
static int blocks_reload(void)
{
    block_vec bv = {0};
    if (g_srv.store->ops->blocked_list(g_srv.store, block_row_cb, &bv) != 0 || bv.failed) {
        free(bv.v);
        return -1;
    }
    int rc = 0;
    pthread_mutex_lock(&g_srv.dev_mu);
    srv_map_each(&g_srv.blocked, block_zero, NULL);
    for (size_t i = 0; i < bv.n; i++)
        if (block_locked(bv.v[i].dev, bv.v[i].app, bv.v[i].seq) != 0) rc = -1;
    pthread_mutex_unlock(&g_srv.dev_mu);
    free(bv.v);
    return rc;
}

static void secret_reload_cb(const char *id, const uint8_t *enc, size_t len, void *arg);

static void change_cb(const char *m, void *arg)
{
    chg *c = arg;
    char dev[OTA_DEVICE_ID_MAX + 1], app[OTA_NAME_MAX + 1];
    unsigned long long seq;
    int n;
    switch (m[0]) {
    case 'S': c->snap = true; break;
    case 'D': c->secrets = true; break;
    case 'F': c->fleet = true; break;
    case 'X':
        if (sscanf(m + 1, " %32s", dev) == 1) {
            srv_secret_forget(dev);
            srv_unblock(dev, NULL, 0);
            srv_fleet_forget(dev);
        }
        break;
    case 'B':
        if (sscanf(m + 1, " %32s %32s %llu", dev, app, &seq) == 3 && srv_block(dev, app, seq) != 0)
            c->all = true;   /* no memory for it: try the whole set */
        break;
    case 'U':
        n = sscanf(m + 1, " %32s %32s %llu", dev, app, &seq);
        if (n == 3) srv_unblock(dev, app, seq);
        else if (n >= 1) srv_unblock(dev, NULL, 0);
        break;
    default:
        c->all = true;       /* a change this otad does not know: reload */
    }
}

static void secret_reload_cb(const char *id, const uint8_t *enc, size_t len, void *arg)
{
    uint8_t secret[SRV_SECRET_SIZE];
    if (srv_secret_open(secret, enc, len, id) != 0) return;   /* reported at start */
    if (srv_secret_remember(id, secret) != 0) *(bool *)arg = true;
    sodium_memzero(secret, sizeof secret);
}

static void fleets_drop(void)
{
    pthread_mutex_lock(&fleet_mu);
    srv_map_each(&fleets, fleet_free_one, NULL);
    srv_map_free(&fleets);
    memset(&fleets, 0, sizeof fleets);
    pthread_mutex_unlock(&fleet_mu);
}

static bool sync_pending;   /* a reload failed: everything again next second */

void srv_sync(void)
{
    if (!g_srv.store->ops->changes) return;
    chg c = {0};
    int rc = g_srv.store->ops->changes(g_srv.store, change_cb, &c);
    if (rc < 0) return;
    if (rc == 1 || sync_pending) c.all = true;
    sync_pending = false;
    if (c.all) {
        c.snap = c.secrets = c.fleet = true;
        if (blocks_reload() != 0) sync_pending = true;
    }
    if (c.secrets) {
        bool failed = false;
        if (g_srv.store->ops->device_secrets(g_srv.store, secret_reload_cb, &failed) != 0 || failed)
            sync_pending = true;
    }
    if (c.fleet) {
        /* Reloaded from the store at the next wave evaluation. */
        fleets_drop();
        atomic_fetch_add(&g_srv.wave_dirty, 1);
    }
    if (c.snap) {
        pthread_mutex_lock(&g_srv.admin_mu);
        if (srv_snapshot_rebuild() != 0) sync_pending = true;
        pthread_mutex_unlock(&g_srv.admin_mu);
    }
}

/* ---- init ------------------------------------------------------------------- */

static void secret_cb(const char *id, const uint8_t *enc, size_t len, void *arg)
{
    uint8_t secret[SRV_SECRET_SIZE];
    if (srv_secret_open(secret, enc, len, id) != 0) {
        fprintf(stderr, "otad: secret of device %s does not decrypt (wrong secrets.key?)\n", id);
        return;
    }
    if (srv_secret_remember(id, secret) != 0) *(bool *)arg = true;
    memset(secret, 0, sizeof secret);
}

static void blocked_cb(const char *dev, const char *app, uint64_t seq, void *arg)
{
    if (srv_block(dev, app, seq) != 0) *(bool *)arg = true;
}

int srv_state_init(void)
{
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* Admin changes must not starve behind a steady stream of polls. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&g_srv.snap_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&g_srv.admin_mu, NULL);
    pthread_mutex_init(&g_srv.dev_mu, NULL);
    for (int i = 0; i < SRV_SEEN_SHARDS; i++) pthread_mutex_init(&g_srv.seen[i].mu, NULL);
    bool failed = false;
    if (g_srv.store->ops->device_secrets(g_srv.store, secret_cb, &failed) != 0 || failed) return -1;
    if (g_srv.store->ops->blocked_list(g_srv.store, blocked_cb, &failed) != 0 || failed) return -1;
    pthread_mutex_lock(&g_srv.admin_mu);
    int rc = srv_snapshot_rebuild();
    pthread_mutex_unlock(&g_srv.admin_mu);
    return rc;
}

static void free_value(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    free(v);
}

static void free_rel(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    srv_rel *x = v;
    if (x->full) MHD_destroy_response(x->full);
    free(x->mem);
    free(x->r.statement);
    free(x);
}

void srv_state_free(void)
{
    pthread_mutex_lock(&retired_mu);
    for (size_t i = 0; i < nretired; i++) free(retired[i]);
    free(retired);
    retired = NULL;
    nretired = capretired = 0;
    pthread_mutex_unlock(&retired_mu);
    snapshot_free(g_srv.snap);
    g_srv.snap = NULL;
    srv_map_each(&g_srv.rels_all, free_rel, NULL);
    srv_map_free(&g_srv.rels_all);
    srv_map_each(&g_srv.secrets, free_value, NULL);
    srv_map_free(&g_srv.secrets);
    srv_map_each(&g_srv.blocked, free_value, NULL);
    srv_map_free(&g_srv.blocked);
    srv_map_each(&g_srv.waves, free_value, NULL);
    srv_map_free(&g_srv.waves);
    srv_map_each(&fleets, fleet_free_one, NULL);
    srv_map_free(&fleets);
    srv_map_free(&fw_mem);   /* values are not pointers */
    for (int i = 0; i < SRV_SEEN_SHARDS; i++) {
        srv_map_each(&g_srv.seen[i].map, free_value, NULL);
        srv_map_free(&g_srv.seen[i].map);
    }
    srv_cost_free();
}
