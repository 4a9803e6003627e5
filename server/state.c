/*
 * state.c: what otad keeps in memory so that polls never touch the disk.
 *
 *   releases   srv_rel objects, one per published release, kept for the life
 *              of the process (releases are immutable), each with its
 *              precomputed manifest members and a shared bundle response
 *   snapshot   apps -> current rollout (active or paused), rebuilt from the
 *              store after every change and swapped under snap_lock
 *   devices    per-device secrets (decrypted at start), and the offers never
 *              to be made again (device rolled back from or rejected them)
 *   last seen  polls note (device, app, seq, time) in a map; the main loop
 *              flushes it to the store once a second and at shutdown
 */
#include "otad.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ota_encode.h"

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
                   st.created, kid, st.encoding == OTA_ENC_IDENTITY ? "identity" : "compressed",
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
    free(a->ro.allow_json);
    free(a->ro.pins_json);
    free(a->ro.waves_json);
    srv_map_free(&a->allow);
    srv_map_free(&a->pins);
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
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

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
    /* An allow list or pins that cannot be read in full would let devices
     * in that must not be: the snapshot fails instead. */
    cJSON *j = cJSON_Parse(a->ro.allow_json);
    cJSON *it;
    if (!cJSON_IsArray(j)) s->failed = true;
    else
        cJSON_ArrayForEach(it, j)
            if (cJSON_IsString(it)) srv_map_put(&a->allow, it->valuestring, strlen(it->valuestring), a, &s->failed);
    cJSON_Delete(j);
    j = cJSON_Parse(a->ro.pins_json);
    if (!cJSON_IsObject(j)) s->failed = true;
    else
        cJSON_ArrayForEach(it, j)
            if (cJSON_IsNumber(it) && it->valuedouble >= 0)
                srv_map_put(&a->pins, it->string, strlen(it->string),
                            (void *)(uintptr_t)((uint64_t)it->valuedouble + 1), &s->failed);
    cJSON_Delete(j);
    j = cJSON_Parse(a->ro.waves_json);
    if (!cJSON_IsArray(j)) s->failed = true;
    else
        cJSON_ArrayForEach(it, j)
            if (cJSON_IsNumber(it) && a->nwaves < SRV_MAX_WAVES) a->waves[a->nwaves++] = it->valuedouble;
    cJSON_Delete(j);
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
    if (strcmp(a->ro.state, SRV_RO_ACTIVE) == 0) ((srv_snapshot *)arg)->n_rollouts_active++;
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
    return 0;
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
    free(old);
    if (failed) { free(copy); return -1; }
    return 0;
}

bool srv_secret_lookup(const char *device, uint8_t secret[SRV_SECRET_SIZE])
{
    pthread_mutex_lock(&g_srv.dev_mu);
    const uint8_t *v = g_srv.secrets.count ? srv_map_get(&g_srv.secrets, device, strlen(device)) : NULL;
    if (v) memcpy(secret, v, SRV_SECRET_SIZE);
    pthread_mutex_unlock(&g_srv.dev_mu);
    return v != NULL;
}

bool srv_report_blocks(const char *state, const char *detail)
{
    if (!state) return false;
    if (strcmp(state, "rolled_back") == 0) return true;
    if (strcmp(state, "rejected") != 0) return false;
    /* Reasons that say nothing about the release itself: the bytes or the
     * ticket were damaged or replayed on the way (a GSM link, a proxy, an
     * attacker).  Blocking on them would let whoever can tamper with one
     * offer keep a device off a good release for ever; the next poll gets a
     * fresh ticket instead.  Devices report ota_strerror() text first in the
     * detail, after an optional "bundle: " (otadev) prefix. */
    static const ota_err transient[] = {
        OTA_ERR_STALE_NONCE, OTA_ERR_BAD_MAC, OTA_ERR_HASH_MISMATCH, OTA_ERR_BAD_TICKET_SIG,
        OTA_ERR_WRONG_STATEMENT, OTA_ERR_WRONG_DEVICE, OTA_ERR_TRUNCATED, OTA_ERR_TOO_LONG,
    };
    const char *d = detail ? detail : "";
    if (strncmp(d, "manifest:", 9) == 0) return false;   /* the offer did not even parse */
    if (strncmp(d, "bundle: ", 8) == 0) d += 8;
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        const char *why = ota_strerror(transient[i]);
        if (strncmp(d, why, strlen(why)) == 0) return false;
    }
    return true;
}

int srv_block(const char *device, const char *app, uint64_t seq)
{
    char key[128];
    int n = snprintf(key, sizeof key, "%s/%s/%" PRIu64, device, app, seq);
    bool failed = false;
    pthread_mutex_lock(&g_srv.dev_mu);
    srv_map_put(&g_srv.blocked, key, (size_t)n, (void *)1, &failed);
    pthread_mutex_unlock(&g_srv.dev_mu);
    return failed ? -1 : 0;
}

void srv_unblock(const char *device, const char *app, uint64_t seq)
{
    char key[128];
    int n = snprintf(key, sizeof key, "%s/%s/%" PRIu64, device, app, seq);
    pthread_mutex_lock(&g_srv.dev_mu);
    /* The key is there (srv_block put it): replacing its value allocates
     * nothing, so this cannot fail. */
    if (g_srv.blocked.count && srv_map_get(&g_srv.blocked, key, (size_t)n))
        srv_map_put(&g_srv.blocked, key, (size_t)n, NULL, NULL);
    pthread_mutex_unlock(&g_srv.dev_mu);
}

bool srv_blocked(const char *device, const char *app, uint64_t seq)
{
    char key[128];
    int n = snprintf(key, sizeof key, "%s/%s/%" PRIu64, device, app, seq);
    pthread_mutex_lock(&g_srv.dev_mu);
    bool b = g_srv.blocked.count && srv_map_get(&g_srv.blocked, key, (size_t)n) != NULL;
    pthread_mutex_unlock(&g_srv.dev_mu);
    return b;
}

/* ---- last seen ----------------------------------------------------------------- */

void srv_seen_note(const char *device, const char *app, uint64_t seq, int64_t when)
{
    char key[80];
    int n = snprintf(key, sizeof key, "%s/%s", device, app);
    uint64_t h = srv_hash_bytes(key, (size_t)n);
    /* The shard comes from the high bits; the map uses the low ones. */
    unsigned sh = (unsigned)(h >> 60) % SRV_SEEN_SHARDS;
    pthread_mutex_lock(&g_srv.seen[sh].mu);
    srv_map *m = &g_srv.seen[sh].map;
    srv_seen *e = m->count ? srv_map_get(m, key, (size_t)n) : NULL;
    if (e) {
        e->seq = seq;
        e->when = when;
    } else if (m->count < SEEN_MAX / SRV_SEEN_SHARDS && (e = malloc(sizeof *e)) != NULL) {
        snprintf(e->device, sizeof e->device, "%s", device);
        snprintf(e->app, sizeof e->app, "%s", app);
        e->seq = seq;
        e->when = when;
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
    }
    free(sv.v);
    pthread_mutex_lock(&g_srv.admin_mu);
    srv_map_each(&g_srv.rels_all, served_flush, NULL);
    pthread_mutex_unlock(&g_srv.admin_mu);
}

/* ---- rollout rules ---------------------------------------------------------- */

unsigned srv_bucket(int64_t rollout_id, const char *device)
{
    /* SHA-256("otad-bucket-v1" 0x00 || u64le rollout id || device id). */
    uint8_t msg[15 + 8 + OTA_DEVICE_ID_MAX], h[32];
    size_t dl = strlen(device);
    if (dl > OTA_DEVICE_ID_MAX) dl = OTA_DEVICE_ID_MAX;
    memcpy(msg, "otad-bucket-v1", 15);
    for (int i = 0; i < 8; i++) msg[15 + i] = (uint8_t)((uint64_t)rollout_id >> (8 * i));
    memcpy(msg + 23, device, dl);
    ota_sha256(h, msg, 23 + dl);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)h[i] << (8 * i);
    return (unsigned)(v % 10000);
}

srv_rel *srv_decide(const srv_snapshot *s, const char *device, const char *app, uint64_t running)
{
    if (!s || s->apps.count == 0) return NULL;
    srv_appview *a = srv_map_get(&s->apps, app, strlen(app));
    if (!a) return NULL;
    size_t dl = strlen(device);
    srv_rel *t;
    void *pin = a->pins.count ? srv_map_get(&a->pins, device, dl) : NULL;
    if (pin) {
        /* A pin names the release this device gets, whatever the rollout's
         * state and percentage; a pin to 0 holds the device where it is. */
        uint64_t ps = (uint64_t)(uintptr_t)pin - 1;
        if (ps == 0) return NULL;
        char key[64];
        size_t klen = relkey(key, sizeof key, app, ps);
        t = srv_map_get(&s->rels, key, klen);
    } else {
        if (strcmp(a->ro.state, SRV_RO_ACTIVE) != 0) return NULL;
        if (a->allow.count && !srv_map_get(&a->allow, device, dl)) return NULL;
        if (a->ro.percent < 100.0) {
            unsigned limit = a->ro.percent <= 0 ? 0 : (unsigned)(a->ro.percent * 100.0 + 0.5);
            if (srv_bucket(a->ro.id, device) >= limit) return NULL;
        }
        t = a->target;
    }
    if (!t || t->r.seq <= running) return NULL;
    if (srv_blocked(device, app, t->r.seq)) return NULL;
    return t;
}

void srv_rollout_after_report(const char *app, uint64_t seq, const srv_release_counts *c)
{
    pthread_mutex_lock(&g_srv.admin_mu);
    /* Holding admin_mu, the snapshot cannot be swapped under us. */
    srv_appview *a = g_srv.snap ? srv_map_get(&g_srv.snap->apps, app, strlen(app)) : NULL;
    if (!a || a->ro.seq != seq || strcmp(a->ro.state, SRV_RO_ACTIVE) != 0) goto out;
    int64_t confirmed = c->by_state[3];
    int64_t bad = c->by_state[4] + c->by_state[5] + c->by_state[6];
    int64_t outcomes = bad + confirmed;
    srv_rollout ro = a->ro;
    bool change = false;
    if (ro.error_threshold <= 1.0 && outcomes >= ro.min_reports && outcomes > 0 &&
        (double)bad > ro.error_threshold * (double)outcomes) {
        snprintf(ro.state, sizeof ro.state, "%s", SRV_RO_PAUSED);
        snprintf(ro.reason, sizeof ro.reason,
                 "error threshold crossed: %lld of %lld outcomes failed (%lld rolled back, "
                 "%lld rejected, %lld failed) > %.0f%%",
                 (long long)bad, (long long)outcomes, (long long)c->by_state[4],
                 (long long)c->by_state[5], (long long)c->by_state[6], ro.error_threshold * 100);
        SRV_ADD(rollouts_paused_auto, 1);
        fprintf(stderr, "otad: rollout %lld (%s seq %llu) paused: %s\n", (long long)ro.id, app,
                (unsigned long long)seq, ro.reason);
        change = true;
    } else if (a->nwaves > 0 && ro.wave_confirmed > 0) {
        /* Waves advance on confirmed devices only: after wave k (k waves at or
         * below the current percentage) the next needs k * wave_confirmed. */
        int passed = 0;
        double next = -1;
        for (int i = 0; i < a->nwaves; i++) {
            if (a->waves[i] <= ro.percent) passed++;
            else if (next < 0 || a->waves[i] < next) next = a->waves[i];
        }
        if (next > 0 && confirmed >= (int64_t)(passed > 0 ? passed : 1) * ro.wave_confirmed) {
            ro.percent = next > 100 ? 100 : next;
            change = true;
        }
    }
    if (change) {
        ro.updated = srv_now();
        if (g_srv.store->ops->rollout_put(g_srv.store, &ro, false) == 0) srv_snapshot_rebuild();
    }
out:
    pthread_mutex_unlock(&g_srv.admin_mu);
}

/* ---- init ------------------------------------------------------------------- */

static void secret_cb(const char *id, const uint8_t *enc, size_t len, void *arg)
{
    (void)arg;
    uint8_t secret[SRV_SECRET_SIZE];
    if (srv_secret_open(secret, enc, len, id) != 0) {
        fprintf(stderr, "otad: secret of device %s does not decrypt (wrong secrets.key?)\n", id);
        return;
    }
    if (srv_secret_remember(id, secret) != 0) *(bool *)arg = true;
    memset(secret, 0, sizeof secret);
}

static void blocked_cb(const char *dev, const char *app, uint64_t seq, const char *state,
                       const char *detail, void *arg)
{
    if (srv_report_blocks(state, detail) && srv_block(dev, app, seq) != 0) *(bool *)arg = true;
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
    snapshot_free(g_srv.snap);
    g_srv.snap = NULL;
    srv_map_each(&g_srv.rels_all, free_rel, NULL);
    srv_map_free(&g_srv.rels_all);
    srv_map_each(&g_srv.secrets, free_value, NULL);
    srv_map_free(&g_srv.secrets);
    srv_map_free(&g_srv.blocked);
    for (int i = 0; i < SRV_SEEN_SHARDS; i++) {
        srv_map_each(&g_srv.seen[i].map, free_value, NULL);
        srv_map_free(&g_srv.seen[i].map);
    }
}
