/*
 * cost.c: what each device request cost on the wire (data cost).
 *
 * Counting (http.c): when a request is done, http.c knows its bytes above
 * TCP: the request (request line, headers and empty line as libmicrohttpd
 * read them, plus the body read) and the answer (what the kernel was given
 * for the socket during this request: status line, headers as
 * libmicrohttpd wrote them, the body; for a range only the range), read
 * from TCP_INFO (bytes sent less bytes retransmitted, plus bytes not sent
 * yet).  A route tags the request while it handles it (srv_cost_tag):
 *
 *   manifest  a poll (/m/, /manifest/) that the in-memory snapshot answered:
 *             to the release offered (a 202 or an offer), else idle (seq 0)
 *   bundle    /b/, /bundle/ of a known bundle: a bundle request names no
 *             device, and one bundle may be the bytes of several releases
 *             (of several apps); it goes to the device and release of the
 *             latest offer of those bytes made to the same client address
 *             in the last day (devices fetch right after their offer; behind
 *             one NAT address two devices updating at the same moment can be
 *             mixed up), else to device "" (not attributed: no such offer,
 *             e.g. a fetch from another address) and a release whose bytes
 *             they are
 *   reports   /r/, /report/ once the MAC and the body were checked: to the
 *             release the report names (stored, replayed or not stored)
 *
 * Untagged requests (admin, refused before the device and its app are
 * known: bad ids, bad MACs, unknown bundles) are not counted.
 *
 * Sums are kept in memory per (device, app, seq), in shards, and written
 * with the last-seen batch (srv_seen_flush, once a second): never a store
 * write per request.  A batch the store refuses is merged back and written
 * with the next one.  What was flushed survives a restart; at most the
 * last second's requests are lost by a kill -9.
 */
#include "otad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COST_SHARDS 16
#define COST_MAX 262144          /* pending sums; beyond it requests are not counted */
#define OFFERS_MAX 262144        /* remembered offers (address, release) -> device */
#define OFFER_TTL 86400          /* seconds an offer attributes a bundle */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct {
    pthread_mutex_t mu;
    srv_map map;                 /* "device/app/seq" -> srv_cost* */
    char pad[64];
} shards[COST_SHARDS];
static pthread_mutex_t offers_mu;
static srv_map offers;           /* "ip/bundle sha" -> offer_rec* */
static int64_t offers_swept;
static _Atomic uint64_t dropped;

typedef struct offer_rec {
    char device[33];
    char app[33];
    uint64_t seq;
    int64_t when;
} offer_rec;

static _Thread_local srv_cost_tag tl_tag;

static void init(void)
{
    for (int i = 0; i < COST_SHARDS; i++) pthread_mutex_init(&shards[i].mu, NULL);
    pthread_mutex_init(&offers_mu, NULL);
}

void srv_cost_mark_bundle(const char *sha, const char *app, uint64_t seq)
{
    srv_cost_mark(SRV_COST_BUNDLE, "", app, seq);
    snprintf(tl_tag.sha, sizeof tl_tag.sha, "%s", sha);
}

void srv_cost_mark_delta(const uint8_t sha[32])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        tl_tag.delta[2 * i] = hx[sha[i] >> 4];
        tl_tag.delta[2 * i + 1] = hx[sha[i] & 15];
    }
    tl_tag.delta[64] = 0;
}

void srv_cost_mark(int cls, const char *device, const char *app, uint64_t seq)
{
    tl_tag.cls = cls;
    snprintf(tl_tag.device, sizeof tl_tag.device, "%s", device ? device : "");
    snprintf(tl_tag.app, sizeof tl_tag.app, "%s", app ? app : "");
    tl_tag.seq = seq;
    tl_tag.sha[0] = 0;
    tl_tag.delta[0] = 0;
}

void srv_cost_tag_take(srv_cost_tag *out)
{
    *out = tl_tag;
    tl_tag.cls = -1;
}

void srv_cost_tag_clear(void)
{
    tl_tag.cls = -1;
}

uint64_t srv_cost_dropped(void)
{
    return atomic_load(&dropped);
}

/* The bundle (hex SHA-256) of release app/seq, from the snapshot. */
static bool bundle_of(const char *app, uint64_t seq, char sha[65])
{
    char key[64];
    int n = snprintf(key, sizeof key, "%s/%llu", app, (unsigned long long)seq);
    bool found = false;
    pthread_rwlock_rdlock(&g_srv.snap_lock);
    srv_rel *rel = g_srv.snap && n > 0 && (size_t)n < sizeof key ? srv_map_get(&g_srv.snap->rels, key, (size_t)n) : NULL;
    if (rel) { memcpy(sha, rel->r.bundle_sha256, 65); found = true; }
    pthread_rwlock_unlock(&g_srv.snap_lock);
    return found;
}

/* An offer (or a 202) of app/seq to t->device from ip: the next bundle
 * request for that release's bytes from ip is taken to be the device's
 * (the most recent offer of those bytes to that address wins). */
static void remember_sha(const char *ip, const char *sha, const srv_cost_tag *t, int64_t now)
{
    char key[160];
    int n = snprintf(key, sizeof key, "%s/%s", ip, sha);
    if (n <= 0 || (size_t)n >= sizeof key) return;
    pthread_mutex_lock(&offers_mu);
    offer_rec *o = srv_map_get(&offers, key, (size_t)n);
    if (!o && offers.count < OFFERS_MAX && (o = malloc(sizeof *o)) != NULL) {
        bool failed = false;
        srv_map_put(&offers, key, (size_t)n, o, &failed);
        if (failed) { free(o); o = NULL; }
    }
    if (o) {
        snprintf(o->device, sizeof o->device, "%s", t->device);
        snprintf(o->app, sizeof o->app, "%s", t->app);
        o->seq = t->seq;
        o->when = now;
    }
    pthread_mutex_unlock(&offers_mu);
}

static void offer_remember(const char *ip, const srv_cost_tag *t, int64_t now)
{
    char sha[65];
    if (bundle_of(t->app, t->seq, sha)) remember_sha(ip, sha, t, now);
    /* a delta offered with it (a delta's bytes belong to no release of their own) */
    if (t->delta[0]) remember_sha(ip, t->delta, t, now);
}

/* A bundle request from ip: the device and release of the offer that
 * explains it, else device "" and the release the route found. */
static void offer_lookup(const char *ip, srv_cost_tag *t, int64_t now)
{
    char key[160];
    int n = snprintf(key, sizeof key, "%s/%s", ip, t->sha);
    t->device[0] = 0;
    if (n <= 0 || (size_t)n >= sizeof key) return;
    pthread_mutex_lock(&offers_mu);
    offer_rec *o = offers.count ? srv_map_get(&offers, key, (size_t)n) : NULL;
    if (o && now - o->when <= OFFER_TTL) {
        snprintf(t->device, sizeof t->device, "%s", o->device);
        snprintf(t->app, sizeof t->app, "%s", o->app);
        t->seq = o->seq;
    }
    pthread_mutex_unlock(&offers_mu);
}

static void add_locked(srv_map *m, const char *key, size_t kl, const srv_cost *d)
{
    srv_cost *e = m->count ? srv_map_get(m, key, kl) : NULL;
    if (!e) {
        if (m->count >= COST_MAX / COST_SHARDS || (e = malloc(sizeof *e)) == NULL) {
            uint64_t r = 0;
            for (int k = 0; k < SRV_COST_NCLASS; k++) r += d->reqs[k];
            atomic_fetch_add(&dropped, r);
            return;
        }
        *e = *d;
        bool failed = false;
        srv_map_put(m, key, kl, e, &failed);
        if (failed) {
            free(e);
            uint64_t r = 0;
            for (int k = 0; k < SRV_COST_NCLASS; k++) r += d->reqs[k];
            atomic_fetch_add(&dropped, r);
        }
        return;
    }
    for (int k = 0; k < SRV_COST_NCLASS; k++) {
        e->bytes[k] += d->bytes[k];
        e->reqs[k] += d->reqs[k];
    }
    if (d->updated > e->updated) e->updated = d->updated;
}

static void add(const srv_cost *d)
{
    char key[96];
    int n = snprintf(key, sizeof key, "%s/%s/%llu", d->device, d->app, (unsigned long long)d->seq);
    if (n <= 0 || (size_t)n >= sizeof key) return;
    uint64_t h = srv_hash_bytes(key, (size_t)n);
    unsigned sh = (unsigned)(h >> 60) % COST_SHARDS;
    pthread_mutex_lock(&shards[sh].mu);
    add_locked(&shards[sh].map, key, (size_t)n, d);
    pthread_mutex_unlock(&shards[sh].mu);
}

void srv_cost_note(const srv_cost_tag *t, const char *ip, unsigned status, uint64_t bytes)
{
    if (t->cls < 0 || t->cls >= SRV_COST_NCLASS) return;
    pthread_once(&once, init);
    int64_t now = srv_now();
    srv_cost_tag tag = *t;
    if (tag.cls == SRV_COST_MANIFEST && tag.seq && (status == 200 || status == 202))
        offer_remember(ip, &tag, now);
    if (tag.cls == SRV_COST_BUNDLE) offer_lookup(ip, &tag, now);
    /* a delta no offer to this address explains: no release to count it for */
    if (tag.cls == SRV_COST_BUNDLE && !tag.app[0]) return;
    srv_cost d;
    memset(&d, 0, sizeof d);
    snprintf(d.device, sizeof d.device, "%s", tag.device);
    snprintf(d.app, sizeof d.app, "%s", tag.app);
    d.seq = tag.seq;
    d.bytes[tag.cls] = bytes;
    d.reqs[tag.cls] = 1;
    d.updated = now;
    add(&d);
}

typedef struct cost_vec { srv_cost *v; size_t n; } cost_vec;

static void collect(const char *k, void *v, void *arg)
{
    (void)k;
    cost_vec *cv = arg;
    if (cv->v) cv->v[cv->n++] = *(srv_cost *)v;
    free(v);
}

static void readd(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    add(v);
    free(v);
}

static void sweep(const char *k, void *v, void *arg)
{
    (void)k;
    offer_rec *o = v;
    srv_map *keep = arg;
    if (srv_now() - o->when > OFFER_TTL) { free(o); return; }
    bool failed = false;
    srv_map_put(keep, k, strlen(k), o, &failed);
    if (failed) free(o);
}

void srv_cost_flush(void)
{
    pthread_once(&once, init);
    srv_map maps[COST_SHARDS];
    size_t total = 0;
    for (int i = 0; i < COST_SHARDS; i++) {
        pthread_mutex_lock(&shards[i].mu);
        maps[i] = shards[i].map;
        memset(&shards[i].map, 0, sizeof shards[i].map);
        pthread_mutex_unlock(&shards[i].mu);
        total += maps[i].count;
    }
    cost_vec cv = { total ? malloc(total * sizeof(srv_cost)) : NULL, 0 };
    if (total && !cv.v) {
        /* No memory for the batch: nothing is lost, it goes next time. */
        for (int i = 0; i < COST_SHARDS; i++) {
            srv_map_each(&maps[i], readd, NULL);
            srv_map_free(&maps[i]);
        }
        return;
    }
    for (int i = 0; i < COST_SHARDS; i++) {
        srv_map_each(&maps[i], collect, &cv);
        srv_map_free(&maps[i]);
    }
    if (cv.n && g_srv.store->ops->cost_add(g_srv.store, cv.v, cv.n) != 0)
        for (size_t i = 0; i < cv.n; i++) add(&cv.v[i]);   /* written with the next batch */
    free(cv.v);

    /* Forget offers older than a day, once a minute. */
    int64_t now = srv_now();
    pthread_mutex_lock(&offers_mu);
    if (now - offers_swept >= 60 && offers.count) {
        srv_map keep = {0};
        srv_map_each(&offers, sweep, &keep);
        srv_map_free(&offers);
        offers = keep;
        offers_swept = now;
    }
    pthread_mutex_unlock(&offers_mu);
}

static void free_value(const char *k, void *v, void *arg)
{
    (void)k; (void)arg;
    free(v);
}

void srv_cost_free(void)
{
    pthread_once(&once, init);
    for (int i = 0; i < COST_SHARDS; i++) {
        pthread_mutex_lock(&shards[i].mu);
        srv_map_each(&shards[i].map, free_value, NULL);
        srv_map_free(&shards[i].map);
        pthread_mutex_unlock(&shards[i].mu);
    }
    pthread_mutex_lock(&offers_mu);
    srv_map_each(&offers, free_value, NULL);
    srv_map_free(&offers);
    pthread_mutex_unlock(&offers_mu);
}
