/*
 * keyset.c: otad's current key set and trusted release keys (keyset.h).
 *
 * State lives in one struct guarded by one mutex (ks_mu, a leaf lock: it is
 * never held while another lock is taken).  Polls take it briefly to copy
 * what they need; loads and reloads build a complete new state outside the
 * lock, then swap it in, so a request sees the old state or the new one.
 */
#include "keyset.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_encode.h"
#include "ota_keyset.h"

#define MAX_ROOTS 8

static struct {
    const char *file;                    /* --keyset */
    const char *root_files[MAX_ROOTS];   /* --root-pub */
    int n_root_files;
    unsigned threshold;                  /* --root-threshold (default 1) */
} cfg = { .threshold = 1 };

typedef struct ks_state {
    ota_trusted_key roots[MAX_ROOTS];
    size_t n_roots;
    ota_trusted_key pubs[SRV_MAX_RELEASE_KEYS];   /* --release-pub keys */
    size_t n_pubs;
    bool have;                                    /* a key set is in force */
    uint8_t bytes[OTA_KEYSET_MAX_SIZE];
    size_t len;
    uint64_t version;
    ota_trusted_key keys[OTA_KEYSET_MAX_KEYS];    /* its release keys */
    size_t n_keys;
    char b64[SRV_KEYSET_B64_MAX];
} ks_state;

static pthread_mutex_t ks_mu = PTHREAD_MUTEX_INITIALIZER;
static ks_state cur;                              /* under ks_mu */

/* ---- options ------------------------------------------------------------------ */

int srv_keyset_option(int argc, char **argv, int i)
{
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--keyset") && strcmp(a, "--root-pub") && strcmp(a, "--root-threshold")) return 0;
    if (!v) { fprintf(stderr, "otad: %s needs a value\n", a); return -1; }
    if (!strcmp(a, "--keyset")) cfg.file = v;
    else if (!strcmp(a, "--root-pub")) {
        if (cfg.n_root_files >= MAX_ROOTS) { fprintf(stderr, "otad: at most %d --root-pub\n", MAX_ROOTS); return -1; }
        cfg.root_files[cfg.n_root_files++] = v;
    } else {
        char *end;
        unsigned long t = strtoul(v, &end, 10);
        if (*v < '1' || *v > '9' || *end || t > OTA_KEYSET_MAX_THRESHOLD) {
            fprintf(stderr, "otad: --root-threshold: 1..%d\n", OTA_KEYSET_MAX_THRESHOLD);
            return -1;
        }
        cfg.threshold = (unsigned)t;
    }
    return 2;
}

void srv_keyset_usage(FILE *f)
{
    fprintf(f,
        "  --keyset FILE           key set in force (otasign keyset make): devices that poll\n"
        "                          with ks=<older version> get it; only its release keys are\n"
        "                          trusted (then --release-pub is optional and ignored).\n"
        "                          Re-read on SIGHUP; POST /admin/keysets publishes a newer one\n"
        "  --root-pub FILE         root public key the key set must be signed by (repeat for\n"
        "                          k of n; required with --keyset or /admin/keysets)\n"
        "  --root-threshold K      root signatures required (default 1)\n");
}

bool srv_keyset_configured(void) { return cfg.file != NULL; }

/* ---- loading -------------------------------------------------------------------- */

static int read_pub(ota_trusted_key *k, const char *f, const char *what)
{
    size_t len = 0, got = 0;
    uint8_t *b = srv_read_file(f, 4096, &len);
    if (!b) { fprintf(stderr, "otad: cannot read %s %s: %s\n", what, f, strerror(errno)); return -1; }
    size_t n = len;
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ')) n--;
    int ok = n == 64 && ota_hex_decode(k->pub, 32, &got, (char *)b, 64) == OTA_OK && got == 32;
    if (!ok && len == 32) { memcpy(k->pub, b, 32); ok = 1; }   /* raw bytes, as keys.c accepts */
    free(b);
    if (!ok) { fprintf(stderr, "otad: %s: not a %s (one line of 64 hex)\n", f, what); return -1; }
    ota_release_key_id(k->id, k->pub);
    return 0;
}

/* Verify a key set against st's roots (and, when require_newer, the version
 * in force); on success put it into st.  why gets a reason on failure. */
static int accept_set(ks_state *st, const uint8_t *b, size_t len, uint64_t above, char *why, size_t cap)
{
    ota_keyset v;
    if (st->n_roots == 0) { snprintf(why, cap, "no --root-pub given: cannot verify a key set"); return -1; }
    ota_err e = ota_keyset_verify(&v, b, len, st->roots, st->n_roots, (uint8_t)cfg.threshold, above);
    if (e != OTA_OK) { snprintf(why, cap, "%s", ota_strerror(e)); return -1; }
    if (v.expires && v.expires <= (uint64_t)srv_now()) {
        snprintf(why, cap, "expired at %" PRIu64, v.expires);
        return -1;
    }
    memcpy(st->bytes, b, len);
    st->len = len;
    st->version = v.version;
    /* v points into b; take the keys while it is valid. */
    st->n_keys = ota_keyset_trusted(st->keys, &v);
    ota_base64_encode(st->b64, sizeof st->b64, NULL, st->bytes, len, OTA_B64_STD);
    st->have = true;
    return 0;
}

static void published_path(char *out, size_t cap)
{
    snprintf(out, cap, "%s/keyset.ks", g_srv.cfg.data_dir);
}

/* Try one key-set file into st when newer than what st holds. -1 on error. */
static int load_file(ks_state *st, const char *path, bool must_exist)
{
    size_t len = 0;
    char why[160];
    uint8_t *b = srv_read_file(path, 4096, &len);
    if (!b) {
        if (!must_exist && errno == ENOENT) return 0;
        fprintf(stderr, "otad: cannot read key set %s: %s\n", path, strerror(errno));
        return -1;
    }
    ota_keyset v;
    ota_err pe = ota_keyset_parse(&v, b, len);
    if (pe == OTA_OK && st->have && v.version <= st->version) { free(b); return 0; }  /* older: ignore */
    int rc = accept_set(st, b, len, 0, why, sizeof why);
    free(b);
    if (rc != 0) fprintf(stderr, "otad: key set %s refused: %s\n", path, why);
    return rc;
}

/* Build a complete state from the files. */
static int build(ks_state *st)
{
    memset(st, 0, sizeof *st);
    for (int i = 0; i < cfg.n_root_files; i++)
        if (read_pub(&st->roots[st->n_roots++], cfg.root_files[i], "root public key") != 0) return -1;
    for (int i = 0; i < g_srv.cfg.n_release_pub; i++)
        if (read_pub(&st->pubs[st->n_pubs++], g_srv.cfg.release_pub[i], "release public key") != 0) return -1;
    if (cfg.file && load_file(st, cfg.file, true) != 0) return -1;
    char path[4096];
    published_path(path, sizeof path);
    if (load_file(st, path, false) != 0) return -1;
    return 0;
}

/* Keep the set in force in DIR/keyset.ks too, so that a restart with an
 * older --keyset file never goes back to it.  0, or -1 (logged). */
static int persist(const ks_state *st)
{
    char path[4096];
    size_t len = 0;
    if (!st->have) return 0;
    published_path(path, sizeof path);
    uint8_t *old = srv_read_file(path, 4096, &len);
    int same = old && len == st->len && memcmp(old, st->bytes, len) == 0;
    free(old);
    if (same) return 0;
    if (srv_write_file_atomic(path, st->bytes, st->len, 0644) != 0) {
        fprintf(stderr, "otad: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void announce(const ks_state *st, const char *how)
{
    if (st->have)
        fprintf(stderr, "otad: %s key set version %" PRIu64 " in force: %zu trusted release key(s)%s\n",
                how, st->version, st->n_keys, st->n_pubs ? " (--release-pub keys ignored)" : "");
    else
        fprintf(stderr, "otad: %s %zu trusted release key(s) from --release-pub (no key set)\n", how, st->n_pubs);
}

int srv_keyset_init(void)
{
    static ks_state st;
    if (build(&st) != 0) return -1;
    if (!st.have && st.n_pubs == 0) {
        fprintf(stderr, "otad: no release key trusted (--release-pub or --keyset)\n");
        return -1;
    }
    if (persist(&st) != 0) return -1;
    pthread_mutex_lock(&ks_mu);
    cur = st;
    pthread_mutex_unlock(&ks_mu);
    announce(&st, "start:");
    return 0;
}

int srv_keyset_reload(void)
{
    static ks_state st;     /* only the main thread reloads */
    int rc = -1;
    /* admin_mu serialises this with POST /admin/keysets (lock order:
     * admin_mu, then ks_mu), so neither can undo the other. */
    pthread_mutex_lock(&g_srv.admin_mu);
    if (build(&st) != 0 || (!st.have && st.n_pubs == 0)) {
        fprintf(stderr, "otad: SIGHUP: reload failed, keys unchanged\n");
        goto out;
    }
    pthread_mutex_lock(&ks_mu);
    bool back = cur.have && (!st.have || st.version < cur.version);
    uint8_t b[OTA_KEYSET_MAX_SIZE];
    size_t len = cur.len;
    if (back) memcpy(b, cur.bytes, len);
    pthread_mutex_unlock(&ks_mu);
    if (back) {
        /* Never go back to an older set (or to none): a file was replaced by
         * an older one.  Keep the newest, with the re-read roots and
         * --release-pub keys. */
        char why[160];
        if (accept_set(&st, b, len, 0, why, sizeof why) != 0) {
            fprintf(stderr, "otad: SIGHUP: the key set in force no longer verifies (%s); keys unchanged\n", why);
            goto out;
        }
    }
    /* Durable before in force (the admin publish does the same). */
    if (persist(&st) != 0) {
        fprintf(stderr, "otad: SIGHUP: reload failed, keys unchanged\n");
        goto out;
    }
    pthread_mutex_lock(&ks_mu);
    cur = st;
    pthread_mutex_unlock(&ks_mu);
    announce(&st, "SIGHUP:");
    rc = 0;
out:
    pthread_mutex_unlock(&g_srv.admin_mu);
    return rc;
}

/* ---- trust --------------------------------------------------------------------------- */

ota_err srv_keyset_verify_statement(ota_statement *st, const uint8_t *stmt, size_t len)
{
    ota_trusted_key k[SRV_MAX_RELEASE_KEYS];
    size_t n;
    pthread_mutex_lock(&ks_mu);
    n = cur.have ? cur.n_keys : cur.n_pubs;
    memcpy(k, cur.have ? cur.keys : cur.pubs, n * sizeof k[0]);
    pthread_mutex_unlock(&ks_mu);
    return ota_statement_verify(st, stmt, len, k, n);
}

bool srv_keyset_offerable(const uint8_t key_id[OTA_KEY_ID_SIZE])
{
    bool ok = false;
    pthread_mutex_lock(&ks_mu);
    const ota_trusted_key *k = cur.have ? cur.keys : cur.pubs;
    size_t n = cur.have ? cur.n_keys : cur.n_pubs;
    for (size_t i = 0; i < n && !ok; i++) ok = memcmp(k[i].id, key_id, OTA_KEY_ID_SIZE) == 0;
    pthread_mutex_unlock(&ks_mu);
    return ok;
}

uint64_t srv_keyset_version(void)
{
    pthread_mutex_lock(&ks_mu);
    uint64_t v = cur.have ? cur.version : 0;
    pthread_mutex_unlock(&ks_mu);
    return v;
}

size_t srv_keyset_b64_if_newer(char *out, size_t cap, uint64_t dev_ks)
{
    size_t n = 0;
    pthread_mutex_lock(&ks_mu);
    if (cur.have && cur.version > dev_ks) {
        n = strlen(cur.b64);
        if (n < cap) memcpy(out, cur.b64, n + 1);
        else n = 0;
    }
    pthread_mutex_unlock(&ks_mu);
    return n;
}

/* ---- admin ------------------------------------------------------------------------------ */

static enum MHD_Result show(srv_req *q)
{
    srv_buf b = {0};
    pthread_mutex_lock(&ks_mu);
    if (cur.have) {
        srv_buf_printf(&b, "{\"version\":%" PRIu64 ",\"keys\":[", cur.version);
        for (size_t i = 0; i < cur.n_keys; i++) {
            char id[17];
            ota_hex_encode(id, sizeof id, cur.keys[i].id, OTA_KEY_ID_SIZE);
            srv_buf_printf(&b, "%s\"%s\"", i ? "," : "", id);
        }
        srv_buf_printf(&b, "],\"keyset\":\"%s\"}\n", cur.b64);
    } else {
        srv_buf_addstr(&b, "{\"version\":0,\"keys\":[");
        for (size_t i = 0; i < cur.n_pubs; i++) {
            char id[17];
            ota_hex_encode(id, sizeof id, cur.pubs[i].id, OTA_KEY_ID_SIZE);
            srv_buf_printf(&b, "%s\"%s\"", i ? "," : "", id);
        }
        srv_buf_addstr(&b, "]}\n");
    }
    pthread_mutex_unlock(&ks_mu);
    return srv_reply_buf(q, 200, &b);
}

static enum MHD_Result publish(srv_req *q)
{
    static const char usage[] = "body: {\"keyset\": base64 of a signed key set}";
    cJSON *j = cJSON_ParseWithLength(q->body, q->body_len);
    cJSON *jk = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "keyset") : NULL;
    uint8_t b[OTA_KEYSET_MAX_SIZE + 4];
    size_t len = 0;
    if (!cJSON_IsString(jk) ||
        ota_base64_decode(b, sizeof b, &len, jk->valuestring, strlen(jk->valuestring), OTA_B64_STD) != OTA_OK) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_keyset", usage);
    }
    cJSON_Delete(j);
    static ks_state st;     /* under admin_mu */
    char why[160], msg[220], path[4096];
    pthread_mutex_lock(&g_srv.admin_mu);
    pthread_mutex_lock(&ks_mu);
    st = cur;
    pthread_mutex_unlock(&ks_mu);
    int rc = accept_set(&st, b, len, st.have ? st.version : 0, why, sizeof why);
    if (rc != 0) {
        pthread_mutex_unlock(&g_srv.admin_mu);
        snprintf(msg, sizeof msg, "key set refused: %s", why);
        return srv_reply_error(q, 422, "bad_keyset", msg);
    }
    /* Durable first, then in force: a restart finds what was acknowledged. */
    published_path(path, sizeof path);
    if (srv_write_file_atomic(path, b, len, 0644) != 0) {
        pthread_mutex_unlock(&g_srv.admin_mu);
        return srv_reply_error(q, 500, "store", "cannot write the key set");
    }
    pthread_mutex_lock(&ks_mu);
    cur = st;
    pthread_mutex_unlock(&ks_mu);
    pthread_mutex_unlock(&g_srv.admin_mu);
    announce(&st, "published:");
    return show(q);
}

enum MHD_Result srv_keyset_admin(srv_req *q)
{
    if (strcmp(q->method, "POST") == 0) return publish(q);
    if (strcmp(q->method, "GET") == 0 || q->head) return show(q);
    return srv_reply_error(q, 405, "method", "use GET or POST");
}

enum MHD_Result srv_keyset_reply_alone(srv_req *q, const char *b64)
{
    /* The same jittered poll hint as an offer (routes_device.c). */
    unsigned base = g_srv.cfg.poll_interval, span = base / 5;
    unsigned poll = base - base / 10 + (span ? randombytes_uniform(span + 1) : 0);
    srv_buf b = {0};
    srv_buf_printf(&b, "{\"keyset\":\"%s\",\"poll\":%u}\n", b64, poll);
    return srv_reply_buf(q, 200, &b);
}
