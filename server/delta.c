/*
 * delta.c: deltas for the compact offer; see delta.h.
 */
#include "otad.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delta.h"
#include "ota_crypto.h"
#include "ota_encode.h"
#include "ota_hsz.h"
#include "ota_release.h"
#include "../cli/delta_enc.h"

/* Pairs already decided: (base statement, target statement) -> the tag, or
 * "none" (ok = false).  A ring: the oldest entry goes first. */
#define CACHE_N 64
typedef struct {
    bool used, ok;
    uint8_t base[32], target[32];
    uint8_t tag[SRV_DELTA_TAG_SIZE];
} entry;
static entry cache[CACHE_N];
static unsigned cache_next;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

void srv_delta_path(char *out, size_t cap, const char *sha_hex)
{
    snprintf(out, cap, "%s/deltas/%s", g_srv.cfg.data_dir, sha_hex);
}

/* The program as installed of a release: its bundle (memory or file),
 * decoded when it is heatshrink blocks, checked against the installed hash. */
static uint8_t *program(const srv_rel *r, uint32_t *len)
{
    ota_statement st;
    if (ota_statement_parse(&st, r->r.statement, r->r.statement_len) != OTA_OK) return NULL;
    if (st.installed_size > SRV_DELTA_MAX_PROG || st.size > SRV_DELTA_MAX_PROG) return NULL;
    uint8_t *b = NULL;
    size_t bn = st.size;
    if (r->mem) {
        if (!(b = malloc(bn))) return NULL;
        memcpy(b, r->mem, bn);
    } else {
        char path[4096];
        snprintf(path, sizeof path, "%s/bundles/%s", g_srv.cfg.data_dir, r->r.bundle_sha256);
        if (!(b = srv_read_file(path, SRV_DELTA_MAX_PROG, &bn)) || bn != st.size) { free(b); return NULL; }
    }
    uint8_t *p = b;
    if (st.encoding == OTA_ENC_HEATSHRINK) {
        if (!(p = malloc(st.installed_size)) ||
            ota_hsz_decode(p, st.installed_size, b, bn) != OTA_OK) { free(p); free(b); return NULL; }
        free(b);
    } else if (st.encoding != OTA_ENC_IDENTITY) {
        free(b);
        return NULL;
    }
    uint8_t h[32];
    ota_sha256(h, p, st.installed_size);
    if (memcmp(h, st.installed_sha256, 32) != 0) { free(p); return NULL; }
    *len = st.installed_size;
    return p;
}

static bool make(const srv_rel *base, const srv_rel *target, uint8_t tag[SRV_DELTA_TAG_SIZE])
{
    ota_statement bs, ts;
    if (ota_statement_parse(&bs, base->r.statement, base->r.statement_len) != OTA_OK ||
        ota_statement_parse(&ts, target->r.statement, target->r.statement_len) != OTA_OK)
        return false;
    /* the same program (a re-release): nothing to send but the bundle */
    if (memcmp(bs.installed_sha256, ts.installed_sha256, 32) == 0) return false;
    uint32_t an = 0, tn = 0;
    uint8_t *a = program(base, &an), *t = a ? program(target, &tn) : NULL, *d = NULL;
    size_t dn = 0;
    bool ok = false;
    if (a && t && delta_encode(a, an, t, tn, &d, &dn) == 0 &&
        dn * 100 <= (uint64_t)ts.size * SRV_DELTA_MAX_PCT && dn + SRV_DELTA_MIN_SAVING <= ts.size) {
        uint8_t h[32];
        char hex[65], path[4096], dir[4096];
        ota_sha256(h, d, dn);
        ota_hex_encode(hex, sizeof hex, h, 32);
        snprintf(dir, sizeof dir, "%s/deltas", g_srv.cfg.data_dir);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "otad: cannot create %s: %s\n", dir, strerror(errno));
        } else {
            srv_delta_path(path, sizeof path, hex);
            struct stat sb;
            if ((stat(path, &sb) == 0 && (uint64_t)sb.st_size == dn) ||
                srv_write_file_atomic(path, d, dn, 0644) == 0) {
                memcpy(tag, bs.installed_sha256, 32);
                memcpy(tag + 32, h, 32);
                tag[64] = (uint8_t)(dn >> 24);
                tag[65] = (uint8_t)(dn >> 16);
                tag[66] = (uint8_t)(dn >> 8);
                tag[67] = (uint8_t)dn;
                ok = true;
            } else {
                fprintf(stderr, "otad: cannot write %s: %s\n", path, strerror(errno));
            }
        }
    }
    free(a);
    free(t);
    free(d);
    return ok;
}

bool srv_delta_tag(const srv_rel *base, const srv_rel *target, uint8_t tag[SRV_DELTA_TAG_SIZE])
{
    if (!base || !target || base == target) return false;
    pthread_mutex_lock(&cache_mu);
    for (unsigned i = 0; i < CACHE_N; i++) {
        entry *e = &cache[i];
        if (e->used && memcmp(e->base, base->statement_hash, 32) == 0 &&
            memcmp(e->target, target->statement_hash, 32) == 0) {
            bool ok = e->ok;
            if (ok) memcpy(tag, e->tag, SRV_DELTA_TAG_SIZE);
            pthread_mutex_unlock(&cache_mu);
            /* the file may have gone (an operator cleaned DATA/deltas): remade below */
            if (!ok) return false;
            char hex[65], path[4096];
            ota_hex_encode(hex, sizeof hex, tag + 32, 32);
            srv_delta_path(path, sizeof path, hex);
            if (access(path, R_OK) == 0) return true;
            pthread_mutex_lock(&cache_mu);
            e->used = false;
            goto make;
        }
    }
make:
    pthread_mutex_unlock(&cache_mu);
    /* made outside the lock (a few ms for a 16 KB program); two polls may
     * make the same delta at once: the same bytes, the same file */
    entry n = { .used = true };
    n.ok = make(base, target, n.tag);
    memcpy(n.base, base->statement_hash, 32);
    memcpy(n.target, target->statement_hash, 32);
    pthread_mutex_lock(&cache_mu);
    cache[cache_next] = n;
    cache_next = (cache_next + 1) % CACHE_N;
    pthread_mutex_unlock(&cache_mu);
    if (n.ok) memcpy(tag, n.tag, SRV_DELTA_TAG_SIZE);
    return n.ok;
}
