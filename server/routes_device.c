/*
 * routes_device.c: what devices call, plus /healthz and /metrics.
 *
 *   GET  /manifest/<device>?app=&seq=&nonce=&board=   200 offer (JSON) or 204
 *   GET  /bundle/<sha256>  (and HEAD)          200, 206 (Range), 304, 416
 *   POST /report/<device>  {app,seq,state,code,ctr,detail} + X-OTA-MAC  200 once stored
 *
 * A 204 poll reads only the in-memory snapshot, notes last-seen in memory
 * and answers with one shared, pre-built response: no disk, no signature.
 * An offer signs exactly one ticket (Ed25519, server key).
 */
#include "otad.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ota_crypto.h"
#include "ota_encode.h"
#include "delta.h"
#include "keyset.h"
#include "request.h"

bool srv_device_id_ok(const char *s, size_t len)
{
    return ota_name_valid(s, len, OTA_DEVICE_ID_MAX, 1) == OTA_OK;
}

bool srv_app_ok(const char *s, size_t len)
{
    return ota_name_valid(s, len, OTA_NAME_MAX, 0) == OTA_OK;
}

/* Decimal u64, digits only, no sign, no leading junk, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strlen(s) > 20) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* The ticket for an offer: this device, this nonce, this statement, signed
 * with the server key; and its MAC under the device's secret when the
 * device has one (srv_rel objects live as long as the process, so no lock
 * is needed).  0, or -1 when the ticket cannot be encoded. */
static int make_ticket(const char *device, size_t dl, const uint8_t *nbytes, size_t nlen,
                       const srv_rel *rel, int64_t now, uint8_t tk[OTA_TICKET_SIZE],
                       uint8_t mac[OTA_MAC_SIZE], bool *has_mac)
{
    ota_ticket t;
    memset(&t, 0, sizeof t);
    t.key_id = g_srv.server_key_id;
    t.device_id = device;
    t.device_id_len = dl;
    t.nonce = nbytes;
    t.nonce_len = nlen;
    t.statement_sha256 = rel->statement_hash;
    t.bundle_sha256 = rel->bundle_hash;
    t.issued = (uint64_t)now;
    if (ota_ticket_encode(tk, &t) != OTA_OK) return -1;
    crypto_sign_detached(tk + OTA_TICKET_BODY_SIZE, NULL, tk, OTA_TICKET_BODY_SIZE, g_srv.server_sk);
    uint8_t secret[SRV_SECRET_SIZE];
    *has_mac = srv_secret_lookup(device, secret);
    memset(mac, 0, OTA_MAC_SIZE);
    if (*has_mac) {
        /* Only releases whose operator signature this server verified at
         * upload are in the snapshot, so only those are ever MAC'd. */
        ota_ticket_mac(mac, secret, sizeof secret, tk, OTA_TICKET_SIZE);
        sodium_memzero(secret, sizeof secret);
        SRV_ADD(offers_mac, 1);
    }
    return 0;
}

/* A suggested poll interval, +-10 %. */
static unsigned poll_jitter(void)
{
    unsigned base = g_srv.cfg.poll_interval;
    unsigned span = base / 5;
    return base - base / 10 + (span ? randombytes_uniform(span + 1) : 0);
}

/* The release (app, seq) in the snapshot, for a delta from it; call with
 * snap_lock held (srv_rel objects live as long as the process). */
static srv_rel *base_rel(const char *app, uint64_t seq)
{
    char key[64];
    int kl = snprintf(key, sizeof key, "%s/%" PRIu64, app, seq);
    if (!g_srv.snap || kl <= 0 || (size_t)kl >= sizeof key) return NULL;
    return srv_map_get(&g_srv.snap->rels, key, (size_t)kl);
}

/* The delta (FORMAT.md 2b) to offer with rel to a device running base, into
 * tag (SRV_DELTA_TAG_SIZE bytes), unless --no-delta or it does not pay
 * (delta.c).  Its download then counts for this release (cost.c). */
static bool offer_delta(const srv_rel *base, const srv_rel *rel, uint8_t *tag)
{
    if (!base || g_srv.cfg.no_delta || !srv_delta_tag(base, rel, tag)) return false;
    srv_cost_mark_delta(tag + 32);
    return true;
}

/* ---- manifest ------------------------------------------------------------ */

enum MHD_Result srv_route_manifest(srv_req *q, const char *device)
{
    size_t dl = strlen(device);
    if (!srv_device_id_ok(device, dl))
        return srv_reply_error(q, 400, "bad_device",
                               "device id: 1..32 characters of [A-Za-z0-9._:-], first a letter or digit");
    const char *app = srv_query(q, "app");
    const char *seqs = srv_query(q, "seq");
    const char *nonce = srv_query(q, "nonce");
    const char *board = srv_query(q, "board");
    if (board && *board && ota_name_valid(board, strlen(board), OTA_NAME_MAX, 0) != OTA_OK)
        return srv_reply_error(q, 400, "bad_board",
                               "board: 1..32 characters of [A-Za-z0-9._-], first a letter or digit");
    if (!app || !srv_app_ok(app, strlen(app)))
        return srv_reply_error(q, 400, "bad_app",
                               "app: 1..32 characters of [A-Za-z0-9._-], first a letter or digit");
    uint64_t running;
    if (!parse_u64(seqs, &running))
        return srv_reply_error(q, 400, "bad_seq", "seq: the running sequence, decimal (0 = none)");
    size_t nl = nonce ? strlen(nonce) : 0;
    uint8_t nbytes[OTA_NONCE_MAX];
    size_t nlen = 0;
    if (nl < 2 * OTA_NONCE_MIN || nl > 2 * OTA_NONCE_MAX || (nl & 1) ||
        ota_hex_decode(nbytes, sizeof nbytes, &nlen, nonce, nl) != OTA_OK)
        return srv_reply_error(q, 400, "bad_nonce", "nonce: 32..64 hex characters (16..32 bytes)");

    /* fw: the firmware it runs (FORMAT.md 6); without it no pretokenised
     * release is offered (older agents cannot run one) */
    const char *fws = srv_query(q, "fw");
    uint16_t fw = RO_FW_UNKNOWN;
    if (fws && *fws) {
        if (!srv_firmware_parse(fws, &fw))
            return srv_reply_error(q, 400, "bad_fw",
                                   "fw: the firmware, as process.version: e.g. 2v29 or 2v29.277");
        srv_firmware_note(device, fw);
    }

    /* ks: the device's key-set version (FORMAT.md 13.4); absent = no key sets. */
    const char *kss = srv_query(q, "ks");
    uint64_t dev_ks = 0;
    if (kss && !parse_u64(kss, &dev_ks))
        return srv_reply_error(q, 400, "bad_ks", "ks: the device's key-set version, decimal (0 = none)");
    char ksb64[SRV_KEYSET_B64_MAX];
    size_t ksn = kss ? srv_keyset_b64_if_newer(ksb64, sizeof ksb64, dev_ks) : 0;

    SRV_ADD(polls, 1);
    int64_t now = srv_now();

    /* d=1: the device takes deltas (FORMAT.md 2b): "delta" in the offer */
    const char *dq = srv_query(q, "d");
    bool want_delta = dq && strcmp(dq, "1") == 0;
    pthread_rwlock_rdlock(&g_srv.snap_lock);
    srv_rel *rel = srv_decide(g_srv.snap, device, app, running, board, fw);
    srv_rel *base = rel && want_delta && running ? base_rel(app, running) : NULL;
    pthread_rwlock_unlock(&g_srv.snap_lock);
    /* Only releases signed by a key trusted now (keyset.c), whatever the db holds. */
    if (rel && !srv_keyset_offerable(rel->r.statement + 8)) rel = NULL;
    srv_seen_note(device, app, running, now, board, rel ? rel->r.seq : 0);
    if (!rel && ksn) return srv_keyset_reply_alone(q, ksb64);
    if (!rel) {
        SRV_ADD(polls_204, 1);
        return srv_reply_shared(q, 204, g_srv.resp_204, 0);
    }

    uint8_t tk[OTA_TICKET_SIZE], mac[OTA_MAC_SIZE];
    bool has_mac;
    if (make_ticket(device, dl, nbytes, nlen, rel, now, tk, mac, &has_mac) != 0)
        return srv_reply_error(q, 500, "internal", "cannot encode ticket");
    char tk64[300];
    ota_base64_encode(tk64, sizeof tk64, NULL, tk, sizeof tk, OTA_B64_STD);
    char machex[2 * OTA_MAC_SIZE + 1] = "";
    if (has_mac) ota_hex_encode(machex, sizeof machex, mac, sizeof mac);
    unsigned poll = poll_jitter();
    uint8_t dtag[SRV_DELTA_TAG_SIZE];
    char dmem[240] = "";
    if (offer_delta(base, rel, dtag)) {
        char bh[65], dh[65];
        ota_hex_encode(bh, sizeof bh, dtag, 32);
        ota_hex_encode(dh, sizeof dh, dtag + 32, 32);
        snprintf(dmem, sizeof dmem, ",\"delta\":{\"base\":\"%s\",\"sha256\":\"%s\",\"size\":%lu}", bh, dh,
                 (unsigned long)((uint32_t)dtag[64] << 24 | (uint32_t)dtag[65] << 16 | (uint32_t)dtag[66] << 8 | dtag[67]));
    }

    size_t cap = rel->manifest_head_len + 600 + sizeof dmem + (ksn ? ksn + 16 : 0);
    char *out = malloc(cap);
    if (!out) return MHD_NO;
    memcpy(out, rel->manifest_head, rel->manifest_head_len);
    char nlow[2 * OTA_NONCE_MAX + 1];
    ota_hex_encode(nlow, sizeof nlow, nbytes, nlen);
    int n = snprintf(out + rel->manifest_head_len, cap - rel->manifest_head_len,
                     ",\"device\":\"%s\",\"nonce\":\"%s\",\"issued\":%" PRId64 ",\"ticket\":\"%s\"%s%s%s"
                     "%s%s%s%s,\"poll\":%u}\n",
                     device, nlow, now, tk64, has_mac ? ",\"mac\":\"" : "", machex,
                     has_mac ? "\"" : "", ksn ? ",\"keyset\":\"" : "", ksn ? ksb64 : "", ksn ? "\"" : "",
                     dmem, poll);
    if (n < 0 || (size_t)n >= cap - rel->manifest_head_len) {
        free(out);
        return srv_reply_error(q, 500, "internal", "manifest too large");
    }
    size_t len = rel->manifest_head_len + (size_t)n;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(out); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    SRV_ADD(offers, 1);
    return srv_reply(q, 200, r, len);
}

/* ---- manifest, compact form (FORMAT.md 6b) --------------------------------
 *
 *   GET /m/<device>?a=<app>&s=<running seq>[&b=<board>][&n=<nonce hex>][&f=<firmware>]
 *
 * Without n= (an idle poll): 204 when there is nothing to do, 202 when an
 * offer waits (the agent polls again at once with a fresh nonce).  With n=:
 * 204, or 200 with the offer as tagged binary fields.  f= (the agent sends
 * it with n=) is remembered in memory: a pretokenised release is offered
 * only to a device that said it runs its target; an idle poll of a device
 * not heard from yet may get 202, its nonce poll then settles it.  No Date, no
 * Content-Type: what the board reads is the status, Content-Length and the
 * body. */

static size_t tlv(uint8_t *o, char tag, const void *v, size_t n)
{
    o[0] = (uint8_t)tag;
    o[1] = (uint8_t)(n >> 8);
    o[2] = (uint8_t)n;
    memcpy(o + 3, v, n);
    return 3 + n;
}

enum MHD_Result srv_route_cpoll(srv_req *q, const char *device)
{
    size_t dl = strlen(device);
    if (!srv_device_id_ok(device, dl))
        return srv_reply_error(q, 400, "bad_device",
                               "device id: 1..32 characters of [A-Za-z0-9._:-], first a letter or digit");
    const char *app = srv_query(q, "a");
    const char *seqs = srv_query(q, "s");
    const char *nonce = srv_query(q, "n");
    const char *board = srv_query(q, "b");
    if (board && *board && ota_name_valid(board, strlen(board), OTA_NAME_MAX, 0) != OTA_OK)
        return srv_reply_error(q, 400, "bad_board",
                               "b: 1..32 characters of [A-Za-z0-9._-], first a letter or digit");
    if (!app || !srv_app_ok(app, strlen(app)))
        return srv_reply_error(q, 400, "bad_app",
                               "a: 1..32 characters of [A-Za-z0-9._-], first a letter or digit");
    uint64_t running;
    if (!parse_u64(seqs, &running))
        return srv_reply_error(q, 400, "bad_seq", "s: the running sequence, decimal (0 = none)");
    size_t nl = nonce ? strlen(nonce) : 0;
    uint8_t nbytes[OTA_NONCE_MAX];
    size_t nlen = 0;
    if (nonce && (nl < 2 * OTA_NONCE_MIN || nl > 2 * OTA_NONCE_MAX || (nl & 1) ||
                  ota_hex_decode(nbytes, sizeof nbytes, &nlen, nonce, nl) != OTA_OK))
        return srv_reply_error(q, 400, "bad_nonce", "n: 32..64 hex characters (16..32 bytes)");

    /* f: the firmware (FORMAT.md 6b).  Given: noted.  A nonce poll without
     * it: what otad remembers, else "said nothing" (no pretokenised offer,
     * and noted, so that later idle polls are not told an offer waits). */
    const char *fs = srv_query(q, "f");
    int fw = SRV_FW_RECALL;
    if (fs && *fs) {
        uint16_t v;
        if (!srv_firmware_parse(fs, &v))
            return srv_reply_error(q, 400, "bad_fw", "f: the firmware, as process.version: e.g. 2v29 or 2v29.277");
        srv_firmware_note(device, v);
        fw = v;
    }

    SRV_ADD(polls, 1);
    int64_t now = srv_now();
    if (nonce && fw == SRV_FW_RECALL) {
        uint16_t k = srv_firmware_known(device);
        if (k == RO_FW_UNASKED) srv_firmware_note(device, k = RO_FW_UNKNOWN);
        fw = k;
    }
    pthread_rwlock_rdlock(&g_srv.snap_lock);
    srv_rel *rel = srv_decide(g_srv.snap, device, app, running, board, fw);
    /* the release the device runs, for a delta (srv_rel objects live as
     * long as the process) */
    srv_rel *base = rel && nonce && running ? base_rel(app, running) : NULL;
    pthread_rwlock_unlock(&g_srv.snap_lock);
    if (rel && !srv_keyset_offerable(rel->r.statement + 8)) rel = NULL;
    srv_seen_note(device, app, running, now, board, rel ? rel->r.seq : 0);
    if (!rel) {
        SRV_ADD(polls_204, 1);
        return srv_reply_shared(q, 204, g_srv.resp_c204, 0);
    }
    /* An offer waits: it is made only for a nonce, and this poll has none. */
    if (!nonce) return srv_reply_shared(q, 202, g_srv.resp_c202, 0);

    uint8_t tk[OTA_TICKET_SIZE], mac[OTA_MAC_SIZE];
    bool has_mac;
    if (make_ticket(device, dl, nbytes, nlen, rel, now, tk, mac, &has_mac) != 0)
        return srv_reply_error(q, 500, "internal", "cannot encode ticket");
    char poll[16];
    int pn = snprintf(poll, sizeof poll, "%u", poll_jitter());
    /* D (FORMAT.md 2b, 6b): the delta from the program the device runs,
     * when it is much smaller than the bundle; a hint, not signed */
    uint8_t dtag[SRV_DELTA_TAG_SIZE];
    bool has_delta = offer_delta(base, rel, dtag);
    size_t cap = 5 * 3 + OTA_TICKET_SIZE + rel->r.statement_len + OTA_MAC_SIZE + sizeof poll + sizeof dtag;
    uint8_t *out = malloc(cap), *o = out;
    if (!out) return MHD_NO;
    o += tlv(o, 'T', tk, sizeof tk);
    o += tlv(o, 'S', rel->r.statement, rel->r.statement_len);
    if (has_mac) o += tlv(o, 'M', mac, sizeof mac);
    o += tlv(o, 'P', poll, (size_t)pn);
    if (has_delta) o += tlv(o, 'D', dtag, sizeof dtag);
    size_t len = (size_t)(o - out);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(out); return MHD_NO; }
    SRV_ADD(offers, 1);
    return srv_reply(q, 200, r, len);
}

/* ---- bundle ---------------------------------------------------------------- */

/* Parse a single "bytes=" range against size.  Returns 1 and sets
 * [*first, *last] for a satisfiable range, 0 for "ignore the header"
 * (multiple ranges, other units, syntax we do not serve: send it all),
 * -1 when unsatisfiable (416). */
static int parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (strncmp(h, "bytes=", 6) != 0) return 0;
    h += 6;
    while (*h == ' ') h++;
    if (strchr(h, ',')) return 0;
    const char *dash = strchr(h, '-');
    if (!dash) return 0;
    char a[24] = "", b[24] = "";
    size_t al = (size_t)(dash - h), bl = strlen(dash + 1);
    while (bl > 0 && dash[bl] == ' ') bl--;
    if (al >= sizeof a || bl >= sizeof b) return 0;
    memcpy(a, h, al);
    memcpy(b, dash + 1, bl);
    uint64_t x, y;
    if (al == 0) {                       /* suffix: the last y bytes */
        if (!parse_u64(b, &y)) return 0;
        if (y == 0 || size == 0) return -1;
        if (y > size) y = size;
        *first = size - y;
        *last = size - 1;
        return 1;
    }
    if (!parse_u64(a, &x)) return 0;
    if (bl == 0) y = size ? size - 1 : 0;
    else if (!parse_u64(b, &y)) return 0;
    if (bl != 0 && y < x) return 0;      /* invalid syntax: ignore */
    if (x >= size) return -1;
    if (y >= size) y = size - 1;
    *first = x;
    *last = y;
    return 1;
}

static bool etag_matches(const char *h, const char *etag)
{
    /* If-None-Match: "*" or a list of (possibly weak) tags. */
    if (strstr(h, "*")) return true;
    return strstr(h, etag) != NULL;
}

/* 416: the range asked for is outside the size bytes of a bundle or delta. */
static enum MHD_Result reply_416(srv_req *q, uint64_t size)
{
    char cr[64];
    snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
    static const char body[] = "{\"error\":\"range\",\"message\":\"range not satisfiable\"}\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Content-Range", cr);
    return srv_reply(q, 416, r, sizeof body - 1);
}

/* A delta (FORMAT.md 2b) by its sha256, from DATA/deltas/: GET /b/ only,
 * the compact form's headers, resumable with Range like a bundle. */
static enum MHD_Result delta_route(srv_req *q, const char *sha)
{
    char path[4096];
    srv_delta_path(path, sizeof path, sha);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
        if (fd >= 0) close(fd);
        return srv_reply_error(q, 404, "not_found", "no such bundle");
    }
    uint64_t size = (uint64_t)sb.st_size, first = 0, last = size - 1;
    const char *range = srv_header(q, "Range");
    int pr = range ? parse_range(range, size, &first, &last) : 0;
    if (pr < 0) {
        close(fd);
        return reply_416(q, size);
    }
    if (pr == 0) { first = 0; last = size - 1; }
    /* data cost: the device and release of the offer that named it (cost.c) */
    srv_cost_mark_bundle(sha, "", 0);
    uint64_t len = last - first + 1;
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, (int64_t)first);
    if (!r) { close(fd); return MHD_NO; }
    bool part = len != size;
    if (part) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        MHD_add_response_header(r, "Content-Range", cr);
        SRV_ADD(bundle_206, 1);
    }
    if (!q->head) SRV_ADD(bundle_bytes, len);
    return srv_reply(q, part ? 206 : 200, r, len);
}

enum MHD_Result srv_route_bundle(srv_req *q, const char *sha)
{
    size_t sl = strlen(sha);
    if (sl != 64 || !srv_valid_hex(sha, 64, true))
        return srv_reply_error(q, 400, "bad_hash", "bundle: 64 lower-case hex characters (SHA-256)");
    SRV_ADD(bundle_requests, 1);
    pthread_rwlock_rdlock(&g_srv.snap_lock);
    srv_rel *rel = g_srv.snap ? srv_map_get(&g_srv.snap->bundles, sha, 64) : NULL;
    pthread_rwlock_unlock(&g_srv.snap_lock);
    if ((!rel || !rel->full) && q->compact) return delta_route(q, sha);
    if (!rel || !rel->full) return srv_reply_error(q, 404, "not_found", "no such bundle");
    srv_cost_mark_bundle(sha, rel->r.app, rel->r.seq);   /* data cost: device and release by cost.c */
    uint64_t size = rel->r.size;
    char etag[70];
    snprintf(etag, sizeof etag, "\"%s\"", sha);

    /* The compact form (GET /b/<sha256>, FORMAT.md 6b) answers with the
     * bytes, Content-Length and, for a range, Content-Range: what the agent
     * reads.  The caching headers stay on /bundle/ (CDNs, caches). */
    bool cache_hdrs = !q->compact;
    const char *inm = srv_header(q, "If-None-Match");
    if (inm && etag_matches(inm, etag)) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, "ETag", etag);
        MHD_add_response_header(r, "Cache-Control", "public, max-age=31536000, immutable");
        SRV_ADD(bundle_304, 1);
        return srv_reply(q, 304, r, 0);
    }
    const char *range = srv_header(q, "Range");
    const char *ifr = srv_header(q, "If-Range");
    if (range && (!ifr || strcmp(ifr, etag) == 0)) {
        uint64_t first = 0, last = 0;
        int pr = parse_range(range, size, &first, &last);
        if (pr < 0) {
            return reply_416(q, size);
        }
        if (pr > 0 && !(first == 0 && last == size - 1)) {
            uint64_t len = last - first + 1;
            struct MHD_Response *r;
            if (rel->mem) {
                /* The release (and its bytes) live as long as the process. */
                r = MHD_create_response_from_buffer(len, rel->mem + first, MHD_RESPMEM_PERSISTENT);
                if (!r) return MHD_NO;
            } else {
                char path[4096];
                snprintf(path, sizeof path, "%s/bundles/%s", g_srv.cfg.data_dir, sha);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) return srv_reply_error(q, 500, "internal", "bundle file unreadable");
                r = MHD_create_response_from_fd_at_offset64(len, fd, (int64_t)first);
                if (!r) { close(fd); return MHD_NO; }
            }
            char cr[96];
            snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
            MHD_add_response_header(r, "Content-Range", cr);
            if (cache_hdrs) {
                MHD_add_response_header(r, "Content-Type", "application/javascript");
                MHD_add_response_header(r, "ETag", etag);
                MHD_add_response_header(r, "Accept-Ranges", "bytes");
                MHD_add_response_header(r, "Cache-Control", "public, max-age=31536000, immutable");
            }
            if (!q->head) {
                atomic_fetch_add(&rel->served_pending, len);
                SRV_ADD(bundle_bytes, len);
            }
            SRV_ADD(bundle_206, 1);
            return srv_reply(q, 206, r, len);
        }
    }
    if (!q->head) {
        atomic_fetch_add(&rel->served_pending, size);
        SRV_ADD(bundle_bytes, size);
    }
    if (!cache_hdrs) {
        struct MHD_Response *r;
        if (rel->mem) {
            r = MHD_create_response_from_buffer(size, rel->mem, MHD_RESPMEM_PERSISTENT);
            if (!r) return MHD_NO;
        } else {
            char path[4096];
            snprintf(path, sizeof path, "%s/bundles/%s", g_srv.cfg.data_dir, sha);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) return srv_reply_error(q, 500, "internal", "bundle file unreadable");
            r = MHD_create_response_from_fd_at_offset64(size, fd, 0);
            if (!r) { close(fd); return MHD_NO; }
        }
        return srv_reply(q, 200, r, size);
    }
    return srv_reply_shared(q, 200, rel->full, size);
}

/* ---- report ------------------------------------------------------------------ */

static enum MHD_Result report_store(srv_req *q, const char *device, const srv_report_in *in);

/* Report wire format v2 (manifests/FORMAT.md section 6a).  Every report is
 * authenticated: the device must be registered (POST /admin/devices gave it
 * its secret), the body must carry a MAC under that secret over the device id
 * and the body, and a counter above the last one accepted from it.  The
 * order of the checks is fixed: unknown device or bad MAC (401) before the
 * body is even parsed, then the strict parse (400), then the counter (409,
 * checked and advanced in the same transaction that stores the report).
 * Nothing is changed by a refused report. */
enum MHD_Result srv_route_report(srv_req *q, const char *device)
{
    size_t dl = strlen(device);
    if (!srv_device_id_ok(device, dl))
        return srv_reply_error(q, 400, "bad_device",
                               "device id: 1..32 characters of [A-Za-z0-9._:-], first a letter or digit");
    SRV_ADD(reports, 1);
    uint8_t secret[SRV_SECRET_SIZE];
    if (!srv_secret_lookup(device, secret)) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 401, "unknown_device",
                               "no such registered device: only a device registered with "
                               "POST /admin/devices reports, with its own secret");
    }
    uint8_t want[32], got[32];
    srv_report_mac(want, secret, sizeof secret, device, q->body, q->body_len);
    sodium_memzero(secret, sizeof secret);
    if (!srv_mac_hex_ok(srv_header(q, "X-OTA-MAC"), got) || ota_ct_memcmp(want, got, 32) != 0) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 401, "bad_mac",
                               "X-OTA-MAC: 64 lower-case hex of HMAC-SHA256(device secret, "
                               "\"OTAR\" || device id || \"\\n\" || body)");
    }
    srv_report_in in;
    const char *why = NULL;
    if (srv_report_parse(q->body, q->body_len, &in, &why) != 0) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 400, "bad_report", why ? why : "malformed report");
    }
    return report_store(q, device, &in);
}

/* A report whose MAC and shape were checked: counter, block, store, answer. */
static enum MHD_Result report_store(srv_req *q, const char *device, const srv_report_in *inp)
{
    const srv_report_in in = *inp;
    srv_cost_mark(SRV_COST_REPORTS, device, in.app, in.seq);   /* data cost */
    srv_report r;
    memset(&r, 0, sizeof r);
    snprintf(r.device, sizeof r.device, "%s", device);
    snprintf(r.app, sizeof r.app, "%s", in.app);
    r.seq = in.seq;
    snprintf(r.state, sizeof r.state, "%s", in.state);
    snprintf(r.detail, sizeof r.detail, "%s", in.detail);
    r.code = in.code;
    r.ctr = in.ctr;
    /* Which reports block is the policy's (rollout.c): state and code only,
     * never the free text. */
    r.blocks = ro_report_blocks(ro_state_parse(r.state), (int)r.code);
    r.when = srv_now();

    /* The block (never offer this release again) is taken before the report
     * is stored, so that a stored report is never left without it: if it
     * cannot be taken, nothing is stored and the device retries; if the
     * store then refuses the report, the block is undone (a refused report
     * changes nothing). */
    bool blocks = r.blocks;
    bool was_blocked = blocks && srv_blocked(r.device, r.app, r.seq);
    if (blocks && !was_blocked && srv_block(r.device, r.app, r.seq) != 0) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 503, "memory", "report not applied; retry");
    }
    srv_release_counts counts;
    bool blocked = false;
    int rc = g_srv.store->ops->report(g_srv.store, &r, &counts, &blocked);
    if (rc != 0 && blocks && !was_blocked) srv_unblock(r.device, r.app, r.seq);
    if (rc == SRV_STORE_CONFLICT) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 409, "replay",
                               "ctr: not above the last report counter accepted from this device");
    }
    if (rc != 0) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 503, "store", "report not stored; retry");
    }
    /* Durable from here on: the reply below acknowledges it. */
    /* A device the store already had blocked (a block cleared in memory
     * only by a failed earlier attempt) is blocked in memory too. */
    if (blocked && !blocks && srv_block(r.device, r.app, r.seq) != 0)
        fprintf(stderr, "otad: block of %s from %s seq %llu kept in the store only (no memory)\n",
                r.device, r.app, (unsigned long long)r.seq);
    srv_fleet_note(r.app, r.device, NULL, r.seq, strcmp(r.state, "confirmed") == 0, r.when, true);
    srv_rollout_after_report(r.app, r.seq, &counts);
    if (q->compact) return srv_reply_shared(q, 204, g_srv.resp_r204, 0);
    static const char ok[] = "{\"ok\":true}\n";
    return srv_reply_json(q, 200, ok, sizeof ok - 1);
}

/* The compact report (FORMAT.md 6b): POST /r/<device>, the body is the
 * 32-byte MAC, then the text it covers: HMAC-SHA256(device secret, "OTAR"
 * || device || "\n" || text), the same key and construction as the JSON
 * form.  Checked in the same order; 204 once stored. */
enum MHD_Result srv_route_creport(srv_req *q, const char *device)
{
    size_t dl = strlen(device);
    if (!srv_device_id_ok(device, dl))
        return srv_reply_error(q, 400, "bad_device",
                               "device id: 1..32 characters of [A-Za-z0-9._:-], first a letter or digit");
    SRV_ADD(reports, 1);
    uint8_t secret[SRV_SECRET_SIZE];
    if (!srv_secret_lookup(device, secret)) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 401, "unknown_device",
                               "no such registered device: only a device registered with "
                               "POST /admin/devices reports, with its own secret");
    }
    uint8_t want[32];
    const char *text = q->body_len >= 32 ? q->body + 32 : "";
    size_t tl = q->body_len >= 32 ? q->body_len - 32 : 0;
    srv_report_mac(want, secret, sizeof secret, device, text, tl);
    sodium_memzero(secret, sizeof secret);
    if (q->body_len < 32 || ota_ct_memcmp(want, q->body, 32) != 0) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 401, "bad_mac",
                               "body: HMAC-SHA256(device secret, \"OTAR\" || device id || \"\\n\" || text) "
                               "(32 bytes), then the text");
    }
    srv_report_in in;
    const char *why = NULL;
    if (srv_report_parse_compact(text, tl, &in, &why) != 0) {
        SRV_ADD(reports_failed, 1);
        return srv_reply_error(q, 400, "bad_report", why ? why : "malformed report");
    }
    return report_store(q, device, &in);
}

/* ---- health and metrics ---------------------------------------------------------- */

enum MHD_Result srv_route_healthz(srv_req *q)
{
    char pk[65], kid[17];
    ota_hex_encode(pk, sizeof pk, g_srv.server_pk, 32);
    ota_hex_encode(kid, sizeof kid, g_srv.server_key_id, 8);
    pthread_rwlock_rdlock(&g_srv.snap_lock);
    size_t rels = g_srv.snap ? g_srv.snap->rels.count : 0;
    size_t active = g_srv.snap ? g_srv.snap->n_rollouts_active : 0;
    pthread_rwlock_unlock(&g_srv.snap_lock);
    char out[512];
    int n = snprintf(out, sizeof out,
                     "{\"status\":\"ok\",\"uptime\":%lld,\"releases\":%zu,\"rollouts_active\":%zu,"
                     "\"server_key\":\"%s\",\"server_key_id\":\"%s\"}\n",
                     (long long)(srv_now() - g_srv.started), rels, active, pk, kid);
    return srv_reply_json(q, 200, out, (size_t)n);
}

enum MHD_Result srv_route_metrics(srv_req *q)
{
    srv_buf b = {0};
#define C(name, help, v) srv_buf_printf(&b, "# HELP otad_" name " " help "\n# TYPE otad_" name \
                                            " counter\notad_" name " %llu\n", (unsigned long long)(v))
#define G(name, help, v) srv_buf_printf(&b, "# HELP otad_" name " " help "\n# TYPE otad_" name \
                                            " gauge\notad_" name " %llu\n", (unsigned long long)(v))
    C("requests_total", "HTTP requests routed.", SRV_SUM(requests));
    srv_buf_addstr(&b, "# HELP otad_responses_total HTTP responses by status class.\n"
                       "# TYPE otad_responses_total counter\n");
    for (int i = 1; i <= 5; i++)
        srv_buf_printf(&b, "otad_responses_total{class=\"%dxx\"} %llu\n", i,
                       (unsigned long long)srv_metric_sum(offsetof(srv_metrics, status) + (size_t)i * sizeof(uint64_t)));
    C("polls_total", "Manifest polls answered.", SRV_SUM(polls));
    C("polls_nothing_total", "Polls answered 204 (nothing to do).", SRV_SUM(polls_204));
    C("offers_total", "Offers made (one ticket signed each).", SRV_SUM(offers));
    C("offers_mac_total", "Offers carrying a device MAC.", SRV_SUM(offers_mac));
    C("bundle_requests_total", "Bundle requests.", SRV_SUM(bundle_requests));
    C("bundle_bytes_total", "Bundle bytes queued for sending.", SRV_SUM(bundle_bytes));
    C("bundle_not_modified_total", "Bundle requests answered 304.", SRV_SUM(bundle_304));
    C("bundle_partial_total", "Bundle requests answered 206.", SRV_SUM(bundle_206));
    C("reports_total", "Device reports received.", SRV_SUM(reports));
    C("reports_refused_total", "Device reports refused or not stored.", SRV_SUM(reports_failed));
    C("admin_requests_total", "Admin API requests.", SRV_SUM(admin_requests));
    C("admin_denied_total", "Admin API requests without a valid token.", SRV_SUM(admin_denied));
    C("connections_accepted_total", "TCP connections accepted.", SRV_SUM(conns_accepted));
    G("connections_active", "TCP connections open.", SRV_SUM(conns_active));
    C("connections_timed_out_total", "Connections closed for sending a request too slowly.",
      SRV_SUM(conns_reaped));
    C("connections_refused_total", "Connections answered 503 at once (over a connection limit).",
      SRV_SUM(conns_refused));
    C("connections_lingered_total", "Connections answered before their request was read, closed lingering.",
      SRV_SUM(conns_lingered));
    C("bodies_too_large_total", "Requests refused with 413.", SRV_SUM(body_too_large));
    C("seen_flushes_total", "Batched last-seen writes.", SRV_SUM(seen_flushes));
    C("seen_flushed_total", "Last-seen entries written.", SRV_SUM(seen_flushed));
    C("seen_dropped_total", "Last-seen entries dropped (batch full).", SRV_SUM(seen_dropped));
    C("cost_uncounted_total", "Device requests left out of the data cost (its memory was full).",
      srv_cost_dropped());
    C("rollouts_auto_paused_total", "Rollouts paused by their error threshold.",
      SRV_SUM(rollouts_paused_auto));
    G("requests_in_flight", "Requests being handled.", SRV_SUM(in_flight));
    pthread_rwlock_rdlock(&g_srv.snap_lock);
    size_t rels = g_srv.snap ? g_srv.snap->rels.count : 0;
    size_t active = g_srv.snap ? g_srv.snap->n_rollouts_active : 0;
    pthread_rwlock_unlock(&g_srv.snap_lock);
    G("releases", "Releases published.", rels);
    G("rollouts_active", "Rollouts active.", active);
    G("uptime_seconds", "Seconds since start.", (uint64_t)(srv_now() - g_srv.started));
#undef C
#undef G
    if (b.failed) { srv_buf_free(&b); return MHD_NO; }
    struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_FREE);
    if (!r) { srv_buf_free(&b); return MHD_NO; }
    size_t len = b.len;
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return srv_reply(q, 200, r, len);
}
