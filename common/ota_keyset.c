/*
 * ota_keyset.c: key-set statements (parse, verify, encode) and their
 * power-cut-safe storage.  Layouts and the order of checks are specified in
 * manifests/FORMAT.md section 13; the offsets below are its tables.
 * Freestanding: no heap, no statics, no stdio; libc use is mem* only.
 */
#include <string.h>
#include "ota_keyset.h"

/* Key-set body offsets (FORMAT.md 13.1). */
#define K_MAGIC      0
#define K_FORMAT     4
#define K_THRESHOLD  5
#define K_NKEYS      6
#define K_RESERVED0  7
#define K_VERSION    8
#define K_CREATED    16
#define K_EXPIRES    24
#define K_KEYS       32
#define K_SIGS       OTA_KEYSET_BODY_SIZE

/* Storage record header offsets (FORMAT.md 13.5). */
#define R_MAGIC      0
#define R_FORMAT     4
#define R_RESERVED0  5   /* 3 */
#define R_LEN        8
#define R_SEQ        12
#define R_RESERVED1  16  /* 16 */
#define R_HASH       32  /* SHA-256(header bytes 0..31 || key set) */
#define R_HASHED     32

/* ---- little-endian helpers --------------------------------------------- */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

/* ---- statement ----------------------------------------------------------- */

/* Step 1: magic, format version, a length of body + m signature entries
 * (m 1..8; m 0 too when allow_body).  *m gets the entry count. */
static ota_err framing(const uint8_t *buf, size_t len, int allow_body, size_t *m)
{
    size_t n = len < 4 ? len : 4;
    *m = 0;
    if (memcmp(buf, OTA_KEYSET_MAGIC, n) != 0) return OTA_ERR_BAD_MAGIC;
    if (len < 5) return OTA_ERR_TRUNCATED;
    if (buf[K_FORMAT] != OTA_KEYSET_FORMAT_VERSION) return OTA_ERR_VERSION;
    if (len == OTA_KEYSET_BODY_SIZE && allow_body) return OTA_OK;
    if (len < OTA_KEYSET_MIN_SIZE) return OTA_ERR_TRUNCATED;
    if (len > OTA_KEYSET_MAX_SIZE || (len - OTA_KEYSET_BODY_SIZE) % OTA_KEYSET_SIG_ENTRY_SIZE != 0)
        return OTA_ERR_MALFORMED;
    *m = (len - OTA_KEYSET_BODY_SIZE) / OTA_KEYSET_SIG_ENTRY_SIZE;
    return OTA_OK;
}

/* Step 2: no root key id twice among the signature entries. */
static ota_err sig_ids_distinct(const uint8_t *sigs, size_t m)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < i; j++)
            if (memcmp(sigs + i * OTA_KEYSET_SIG_ENTRY_SIZE, sigs + j * OTA_KEYSET_SIG_ENTRY_SIZE,
                       OTA_KEY_ID_SIZE) == 0)
                return OTA_ERR_MALFORMED;
    return OTA_OK;
}

/* Step 4: every field rule of the body; fills *out (not n_sigs/sigs). */
static ota_err fields(ota_keyset *out, const uint8_t *b)
{
    uint8_t id[OTA_KEY_ID_SIZE];
    ota_keyset k;
    memset(&k, 0, sizeof k);
    k.format = b[K_FORMAT];
    k.threshold = b[K_THRESHOLD];
    k.n_keys = b[K_NKEYS];
    k.version = get64(b + K_VERSION);
    k.created = get64(b + K_CREATED);
    k.expires = get64(b + K_EXPIRES);
    k.keys = b + K_KEYS;
    k.body = b;
    if (b[K_RESERVED0] != 0) return OTA_ERR_MALFORMED;
    if (k.threshold < 1 || k.threshold > OTA_KEYSET_MAX_THRESHOLD) return OTA_ERR_MALFORMED;
    if (k.n_keys < 1 || k.n_keys > OTA_KEYSET_MAX_KEYS) return OTA_ERR_MALFORMED;
    if (k.version == 0) return OTA_ERR_MALFORMED;
    if (k.expires != 0 && k.expires <= k.created) return OTA_ERR_MALFORMED;
    for (size_t i = 0; i < k.n_keys; i++) {
        const uint8_t *e = k.keys + i * OTA_KEYSET_ENTRY_SIZE;
        /* The id must be the key's own id: a set cannot name a key by a
         * false id (devices look release statements up by it). */
        ota_release_key_id(id, e + OTA_KEY_ID_SIZE);
        if (memcmp(id, e, OTA_KEY_ID_SIZE) != 0) return OTA_ERR_MALFORMED;
        for (size_t j = 0; j < i; j++)
            if (memcmp(e, k.keys + j * OTA_KEYSET_ENTRY_SIZE, OTA_KEY_ID_SIZE) == 0)
                return OTA_ERR_MALFORMED;
    }
    if (!all_zero(k.keys + (size_t)k.n_keys * OTA_KEYSET_ENTRY_SIZE,
                  (size_t)(OTA_KEYSET_MAX_KEYS - k.n_keys) * OTA_KEYSET_ENTRY_SIZE))
        return OTA_ERR_MALFORMED;
    *out = k;
    return OTA_OK;
}

ota_err ota_keyset_parse(ota_keyset *out, const uint8_t *buf, size_t len)
{
    ota_err err = OTA_ERR_ARG;
    size_t m = 0;
    if (!out) return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf) goto out;
    err = framing(buf, len, 1, &m);
    if (err != OTA_OK) goto out;
    err = sig_ids_distinct(buf + K_SIGS, m);
    if (err != OTA_OK) goto out;
    err = fields(out, buf);
    if (err != OTA_OK) goto out;
    out->n_sigs = (uint8_t)m;
    out->sigs = m ? buf + K_SIGS : NULL;
out:
    if (err != OTA_OK) memset(out, 0, sizeof *out);
    return err;
}

static const ota_trusted_key *find_root(const ota_trusted_key *roots, size_t n, const uint8_t *id)
{
    if (!roots) return NULL;
    for (size_t i = 0; i < n; i++)
        if (memcmp(roots[i].id, id, OTA_KEY_ID_SIZE) == 0) return &roots[i];
    return NULL;
}

/* Step 3: verify every entry by a provisioned root; *valid = how many did.
 * Entries are distinct (step 2) and roots are looked up by id, so each
 * verified entry is a distinct root. */
static ota_err root_sigs(size_t *valid, const uint8_t *buf, size_t m,
                         const ota_trusted_key *roots, size_t n_roots)
{
    *valid = 0;
    for (size_t i = 0; i < m; i++) {
        const uint8_t *e = buf + K_SIGS + i * OTA_KEYSET_SIG_ENTRY_SIZE;
        const ota_trusted_key *r = find_root(roots, n_roots, e);
        if (!r) continue;
        ota_err v = ota_ed25519_verify(e + OTA_KEY_ID_SIZE, r->pub, buf, OTA_KEYSET_BODY_SIZE);
        if (v == OTA_ERR_BAD_KEY) return OTA_ERR_BAD_KEY;
        if (v != OTA_OK) return OTA_ERR_BAD_SIGNATURE;
        (*valid)++;
    }
    return OTA_OK;
}

ota_err ota_keyset_verify(ota_keyset *out, const uint8_t *buf, size_t len,
                          const ota_trusted_key *roots, size_t n_roots, uint8_t threshold,
                          uint64_t current_version)
{
    ota_err err = OTA_ERR_ARG;
    size_t m = 0, valid = 0;
    if (!out) return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf) goto out;
    /* 1: framing (a bare body has no signature: truncated). */
    err = framing(buf, len, 0, &m);
    if (err != OTA_OK) goto out;
    /* 2: distinct signers. */
    err = sig_ids_distinct(buf + K_SIGS, m);
    if (err != OTA_OK) goto out;
    /* 3: the provisioned roots' signatures, at least the device's threshold. */
    err = root_sigs(&valid, buf, m, roots, n_roots);
    if (err != OTA_OK) goto out;
    err = OTA_ERR_UNKNOWN_KEY;
    if (valid < (threshold ? threshold : 1)) goto out;
    /* 4: fields, read only now that the body is signed. */
    err = fields(out, buf);
    if (err != OTA_OK) goto out;
    /* 5: the set's own threshold (it may raise the bar, never lower it). */
    err = OTA_ERR_UNKNOWN_KEY;
    if (valid < out->threshold) goto out;
    /* 6: anti-rollback. */
    err = OTA_ERR_NOT_NEWER;
    if (out->version <= current_version) goto out;
    out->n_sigs = (uint8_t)m;
    out->sigs = buf + K_SIGS;
    out->n_valid = (uint8_t)valid;
    err = OTA_OK;
out:
    if (err != OTA_OK) memset(out, 0, sizeof *out);
    return err;
}

ota_err ota_keyset_encode(uint8_t out[OTA_KEYSET_BODY_SIZE], uint64_t version, uint8_t threshold,
                          uint64_t created, uint64_t expires,
                          const ota_trusted_key *keys, size_t n_keys)
{
    uint8_t body[OTA_KEYSET_BODY_SIZE];
    ota_keyset chk;
    if (!out || !keys) return OTA_ERR_ARG;
    if (n_keys < 1 || n_keys > OTA_KEYSET_MAX_KEYS) return OTA_ERR_MALFORMED;
    memset(body, 0, sizeof body);
    memcpy(body + K_MAGIC, OTA_KEYSET_MAGIC, 4);
    body[K_FORMAT] = OTA_KEYSET_FORMAT_VERSION;
    body[K_THRESHOLD] = threshold;
    body[K_NKEYS] = (uint8_t)n_keys;
    put64(body + K_VERSION, version);
    put64(body + K_CREATED, created);
    put64(body + K_EXPIRES, expires);
    for (size_t i = 0; i < n_keys; i++) {
        memcpy(body + K_KEYS + i * OTA_KEYSET_ENTRY_SIZE, keys[i].id, OTA_KEY_ID_SIZE);
        memcpy(body + K_KEYS + i * OTA_KEYSET_ENTRY_SIZE + OTA_KEY_ID_SIZE, keys[i].pub,
               OTA_ED25519_PUB_SIZE);
    }
    /* The same rules the device applies, so no tool can make a set it refuses. */
    if (fields(&chk, body) != OTA_OK) return OTA_ERR_MALFORMED;
    memcpy(out, body, sizeof body);
    return OTA_OK;
}

/* ---- keys ------------------------------------------------------------------ */

ota_err ota_keyset_key(ota_trusted_key *out, const ota_keyset *ks, size_t i)
{
    if (!out || !ks || !ks->keys || i >= ks->n_keys) return OTA_ERR_ARG;
    memcpy(out->id, ks->keys + i * OTA_KEYSET_ENTRY_SIZE, OTA_KEY_ID_SIZE);
    memcpy(out->pub, ks->keys + i * OTA_KEYSET_ENTRY_SIZE + OTA_KEY_ID_SIZE, OTA_ED25519_PUB_SIZE);
    return OTA_OK;
}

size_t ota_keyset_trusted(ota_trusted_key out[OTA_KEYSET_MAX_KEYS], const ota_keyset *ks)
{
    size_t n = 0;
    if (!out || !ks) return 0;
    for (; n < ks->n_keys && n < OTA_KEYSET_MAX_KEYS; n++)
        ota_keyset_key(&out[n], ks, n);
    return n;
}

/* ---- storage ------------------------------------------------------------------- */

static uint32_t round_up(uint32_t v, uint32_t a) { return (v + a - 1) & ~(a - 1); }

static uint32_t rec_space(const ota_flash *f)
{
    return OTA_KEYSET_REC_HDR_SIZE + round_up(OTA_KEYSET_MAX_SIZE, f->write_align);
}

static ota_err fread_(const ota_keyset_store *s, uint32_t off, uint8_t *buf, size_t len)
{
    return s->flash->read(s->flash->ctx, off, buf, len) == OTA_OK ? OTA_OK : OTA_ERR_FLASH;
}

/* Write, then read back and compare (a write that did not stick is a
 * failure now, not a surprise at the next boot). */
static ota_err fwrite_(const ota_keyset_store *s, uint32_t off, const uint8_t *data, size_t len)
{
    uint8_t chk[32];
    if (s->flash->write(s->flash->ctx, off, data, len) != OTA_OK) return OTA_ERR_FLASH;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof chk ? len - done : sizeof chk;
        if (fread_(s, off + (uint32_t)done, chk, n) != OTA_OK || memcmp(chk, data + done, n) != 0)
            return OTA_ERR_FLASH;
        done += n;
    }
    return OTA_OK;
}

ota_err ota_keyset_store_check(const ota_keyset_store *s)
{
    if (!s || !s->flash || !s->flash->read || !s->flash->write || !s->flash->erase ||
        !s->flash->page_size)
        return OTA_ERR_ARG;
    uint32_t a = s->flash->write_align;
    if (a == 0 || a > OTA_FLASH_MAX_ALIGN || (a & (a - 1)) != 0) return OTA_ERR_ALIGN;
    for (int i = 0; i < 2; i++) {
        ota_region r = s->copy[i];
        if (r.len < rec_space(s->flash)) return OTA_ERR_ARG;
        if (r.off % a != 0 || r.off > 0xFFFFFFFFu - r.len) return OTA_ERR_ALIGN;
        uint32_t off = r.off, end = r.off + r.len;
        while (off < end) {
            uint32_t ps = s->flash->page_size(s->flash->ctx, off);
            if (ps == 0 || ps > end - off) return OTA_ERR_ALIGN;
            off += ps;
        }
    }
    if (s->copy[0].off < s->copy[1].off + s->copy[1].len &&
        s->copy[1].off < s->copy[0].off + s->copy[0].len)
        return OTA_ERR_ARG;
    return OTA_OK;
}

/* Read copy c into buf: OTA_OK with *len and *rseq when the header is
 * intact and the hash covers what follows; OTA_ERR_MALFORMED when the copy
 * holds no intact record; OTA_ERR_FLASH. */
static ota_err rec_read(const ota_keyset_store *s, int c, uint8_t buf[OTA_KEYSET_MAX_SIZE],
                        size_t *len, uint32_t *rseq)
{
    uint8_t h[OTA_KEYSET_REC_HDR_SIZE], d[OTA_SHA256_SIZE];
    ota_sha256_ctx sh;
    ota_err e = fread_(s, s->copy[c].off, h, sizeof h);
    if (e != OTA_OK) return e;
    uint32_t n = get32(h + R_LEN);
    if (memcmp(h + R_MAGIC, OTA_KEYSET_REC_MAGIC, 4) != 0 || h[R_FORMAT] != 1 ||
        !all_zero(h + R_RESERVED0, 3) || !all_zero(h + R_RESERVED1, 16) ||
        n < OTA_KEYSET_MIN_SIZE || n > OTA_KEYSET_MAX_SIZE)
        return OTA_ERR_MALFORMED;
    e = fread_(s, s->copy[c].off + OTA_KEYSET_REC_HDR_SIZE, buf, n);
    if (e != OTA_OK) return e;
    ota_sha256_init(&sh);
    ota_sha256_update(&sh, h, R_HASHED);
    ota_sha256_update(&sh, buf, n);
    ota_sha256_final(&sh, d);
    if (ota_ct_memcmp(d, h + R_HASH, OTA_SHA256_SIZE) != 0) return OTA_ERR_MALFORMED;
    *len = n;
    *rseq = get32(h + R_SEQ);
    return OTA_OK;
}

/* One copy fully checked into cur (hash, then the roots' signatures). */
static ota_err load_copy(ota_keyset_current *cur, const ota_keyset_store *s, int c,
                         const ota_trusted_key *roots, size_t n_roots, uint8_t threshold)
{
    size_t len = 0;
    uint32_t rseq = 0;
    ota_err e = rec_read(s, c, cur->buf, &len, &rseq);
    if (e != OTA_OK) return e;
    e = ota_keyset_verify(&cur->ks, cur->buf, len, roots, n_roots, threshold, 0);
    if (e != OTA_OK) return e;
    cur->found = 1;
    cur->copy = (uint8_t)c;
    cur->rseq = rseq;
    cur->len = len;
    return OTA_OK;
}

/* Like ota_keyset_load; *max_rseq gets the highest journal sequence of any
 * intact record (verified or not), so a new record is numbered above it. */
static ota_err load(ota_keyset_current *cur, const ota_keyset_store *s,
                    const ota_trusted_key *roots, size_t n_roots, uint8_t threshold,
                    uint32_t *max_rseq)
{
    uint32_t seq[2] = { 0, 0 };
    int ok[2] = { 0, 0 };
    memset(cur, 0, sizeof *cur);
    *max_rseq = 0;
    for (int c = 0; c < 2; c++) {
        size_t len;
        ota_err e = rec_read(s, c, cur->buf, &len, &seq[c]);
        if (e == OTA_ERR_FLASH) return e;
        ok[c] = e == OTA_OK;
        if (ok[c] && seq[c] > *max_rseq) *max_rseq = seq[c];
    }
    /* Newest first; fall back to the other copy when it does not verify. */
    int first = (ok[1] && (!ok[0] || seq[1] > seq[0])) ? 1 : 0;
    for (int k = 0; k < 2; k++) {
        int c = k == 0 ? first : first ^ 1;
        if (!ok[c]) continue;
        ota_err e = load_copy(cur, s, c, roots, n_roots, threshold);
        if (e == OTA_OK) return OTA_OK;
        if (e == OTA_ERR_FLASH) { memset(cur, 0, sizeof *cur); return e; }
    }
    memset(cur, 0, sizeof *cur);
    return OTA_OK;
}

ota_err ota_keyset_load(ota_keyset_current *cur, const ota_keyset_store *s,
                        const ota_trusted_key *roots, size_t n_roots, uint8_t threshold)
{
    uint32_t max_rseq;
    if (!cur) return OTA_ERR_ARG;
    memset(cur, 0, sizeof *cur);
    if (ota_keyset_store_check(s) != OTA_OK) return OTA_ERR_ARG;
    return load(cur, s, roots, n_roots, threshold, &max_rseq);
}

/* Erase every page of a region, first to last. */
static ota_err erase_region(const ota_keyset_store *s, ota_region r)
{
    uint32_t off = r.off, end = r.off + r.len;
    while (off < end) {
        uint32_t ps = s->flash->page_size(s->flash->ctx, off);
        if (ps == 0) return OTA_ERR_ALIGN;
        if (s->flash->erase(s->flash->ctx, off) != OTA_OK) return OTA_ERR_FLASH;
        off += ps;
    }
    return OTA_OK;
}

ota_err ota_keyset_update(ota_keyset_current *cur, const ota_keyset_store *s,
                          const uint8_t *ks, size_t len,
                          const ota_trusted_key *roots, size_t n_roots, uint8_t threshold)
{
    uint8_t h[OTA_KEYSET_REC_HDR_SIZE];
    uint8_t pad[OTA_FLASH_MAX_ALIGN];
    ota_keyset v;
    ota_sha256_ctx sh;
    uint32_t max_rseq = 0;
    ota_err e;

    if (!cur) return OTA_ERR_ARG;
    if (!ks || ota_keyset_store_check(s) != OTA_OK) { memset(cur, 0, sizeof *cur); return OTA_ERR_ARG; }
    e = load(cur, s, roots, n_roots, threshold, &max_rseq);
    if (e != OTA_OK) return e;
    /* Decide before touching flash: a refused set writes nothing. */
    e = ota_keyset_verify(&v, ks, len, roots, n_roots, threshold, cur->found ? cur->ks.version : 0);
    if (e != OTA_OK) return e;
    if (max_rseq == 0xFFFFFFFFu) return OTA_ERR_STATE;

    /* The copy that does not hold the current set (copy 0 when none). */
    int c = cur->found ? cur->copy ^ 1 : 0;
    ota_region r = s->copy[c];
    uint32_t a = s->flash->write_align;
    uint32_t body = (uint32_t)len - (uint32_t)len % a;   /* aligned part of the set */

    memset(h, 0, sizeof h);
    memcpy(h + R_MAGIC, OTA_KEYSET_REC_MAGIC, 4);
    h[R_FORMAT] = 1;
    put32(h + R_LEN, (uint32_t)len);
    put32(h + R_SEQ, max_rseq + 1);
    ota_sha256_init(&sh);
    ota_sha256_update(&sh, h, R_HASHED);
    ota_sha256_update(&sh, ks, len);
    ota_sha256_final(&sh, h + R_HASH);

    /* Erase, then the set (payload), then the header that makes it valid. */
    if ((e = erase_region(s, r)) != OTA_OK) return e;
    if (body && (e = fwrite_(s, r.off + OTA_KEYSET_REC_HDR_SIZE, ks, body)) != OTA_OK) return e;
    if (body < len) {
        memset(pad, s->flash->erased, sizeof pad);
        memcpy(pad, ks + body, len - body);
        if ((e = fwrite_(s, r.off + OTA_KEYSET_REC_HDR_SIZE + body, pad, a)) != OTA_OK) return e;
    }
    if ((e = fwrite_(s, r.off, h, sizeof h)) != OTA_OK) return e;
    e = load(cur, s, roots, n_roots, threshold, &max_rseq);
    if (e != OTA_OK) return e;
    /* What is current now must be what was written. */
    if (!cur->found || cur->copy != c || cur->len != len || memcmp(cur->buf, ks, len) != 0)
        return OTA_ERR_FLASH;
    return OTA_OK;
}
