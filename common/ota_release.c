/*
 * ota_release.c: release statement and device ticket (parse, verify,
 * encode) and the device's update decision.  Layouts and the order of checks
 * are specified in manifests/FORMAT.md; the offsets below are its tables.
 * Freestanding: no heap, no statics, no stdio; libc use is mem* only.
 */
#include <string.h>
#include "ota_release.h"

/* Statement offsets (FORMAT.md section 2). */
#define S_MAGIC      0
#define S_VERSION    4
#define S_ENCODING   5
#define S_FLAGS      6   /* 1: OTA_SF_* */
#define S_RESERVED0  7   /* 1 */
#define S_KEY_ID     8
#define S_APP        16
#define S_BOARD      48
#define S_SEQ        80
#define S_CREATED    88
#define S_SIZE       96
#define S_ISIZE      100
#define S_SHA        104
#define S_ISHA       136
#define S_SRCSHA     168
#define S_LABEL      200
#define S_TARGET     264
#define S_RESERVED1  266 /* 6 */
#define S_SIG        272

/* Ticket offsets (FORMAT.md section 3). */
#define T_MAGIC      0
#define T_VERSION    4
#define T_NONCE_LEN  5
#define T_RESERVED0  6   /* 2 */
#define T_KEY_ID     8
#define T_DEVICE     16
#define T_NONCE      48
#define T_STSHA      80
#define T_BUNDLESHA  112
#define T_ISSUED     144
#define T_SIG        152

/* ---- little-endian helpers --------------------------------------------- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

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

/* Length of the text in a NUL-padded field of cap bytes; -1 when a non-zero
 * byte follows the first NUL (hidden bytes after the text). */
static long padded_len(const uint8_t *p, size_t cap)
{
    size_t n = 0;
    while (n < cap && p[n] != 0) n++;
    if (!all_zero(p + n, cap - n)) return -1;
    return (long)n;
}

static int bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Board names compare ASCII case-insensitively (PICO = pico; nothing else
 * folds), the same rule as otad's (server/rollout.c, ro_board_match). */
static int board_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen) return 0;
    for (size_t i = 0; i < alen; i++) {
        uint8_t x = (uint8_t)a[i], y = (uint8_t)b[i];
        if (x >= 'A' && x <= 'Z') x = (uint8_t)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (uint8_t)(y + 32);
        if (x != y) return 0;
    }
    return 1;
}

/* ---- field rules --------------------------------------------------------- */

static int is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

ota_err ota_name_valid(const char *s, size_t len, size_t max, int allow_colon)
{
    if (!s || len == 0 || len > max) return OTA_ERR_MALFORMED;
    const uint8_t *u = (const uint8_t *)s;
    if (!is_alnum(u[0])) return OTA_ERR_MALFORMED;
    for (size_t i = 1; i < len; i++) {
        uint8_t c = u[i];
        if (is_alnum(c) || c == '.' || c == '_' || c == '-' || (allow_colon && c == ':')) continue;
        return OTA_ERR_MALFORMED;
    }
    return OTA_OK;
}

ota_err ota_label_valid(const char *s, size_t len)
{
    if (len > OTA_LABEL_MAX) return OTA_ERR_MALFORMED;
    if (len == 0) return OTA_OK;
    if (!s) return OTA_ERR_MALFORMED;
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        uint8_t c = u[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) return OTA_ERR_MALFORMED;
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; min = 0x10000; }
        else return OTA_ERR_MALFORMED;
        if (len - i - 1 < n) return OTA_ERR_MALFORMED;
        for (size_t k = 1; k <= n; k++) {
            uint8_t d = u[i + k];
            if ((d & 0xc0) != 0x80) return OTA_ERR_MALFORMED;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return OTA_ERR_MALFORMED;
        /* C1 controls (U+0080..U+009F) are control characters too. */
        if (cp >= 0x80 && cp <= 0x9f) return OTA_ERR_MALFORMED;
        i += n + 1;
    }
    return OTA_OK;
}

/* A board field may be empty (any board); otherwise a name. */
static ota_err board_valid(const char *s, size_t len)
{
    return len == 0 ? OTA_OK : ota_name_valid(s, len, OTA_NAME_MAX, 0);
}

ota_err ota_release_key_id(uint8_t id[OTA_KEY_ID_SIZE], const uint8_t pub[OTA_ED25519_PUB_SIZE])
{
    uint8_t h[OTA_SHA256_SIZE];
    if (!id || !pub) return OTA_ERR_ARG;
    ota_sha256(h, pub, OTA_ED25519_PUB_SIZE);
    memcpy(id, h, OTA_KEY_ID_SIZE);
    return OTA_OK;
}

/* ---- framing (shared by statement and ticket) ----------------------------- */

/* Steps 1/8 of FORMAT.md: magic, version, exact length.  Accepts the signed
 * size, and the bare body size when allow_body. */
static ota_err framing(const uint8_t *buf, size_t len, const char *magic,
                       size_t body_size, size_t full_size, int allow_body)
{
    if (!buf) return OTA_ERR_ARG;
    size_t m = len < 4 ? len : 4;
    if (memcmp(buf, magic, m) != 0) return OTA_ERR_BAD_MAGIC;
    if (len < 5) return OTA_ERR_TRUNCATED;
    if (buf[4] != OTA_FORMAT_VERSION) return OTA_ERR_VERSION;
    if (len == full_size || (allow_body && len == body_size)) return OTA_OK;
    if (len < full_size) return OTA_ERR_TRUNCATED;
    return OTA_ERR_MALFORMED;
}

/* ---- statement ----------------------------------------------------------- */

/* Step 11: every field rule; fills *out.  Framing already checked. */
static ota_err statement_fields(ota_statement *out, const uint8_t *buf, size_t len)
{
    ota_statement st;
    memset(&st, 0, sizeof st);
    if ((buf[S_FLAGS] & ~OTA_SF_KNOWN) || !all_zero(buf + S_RESERVED0, 1) ||
        !all_zero(buf + S_RESERVED1, 6))
        return OTA_ERR_MALFORMED;
    if ((buf[S_FLAGS] & OTA_SF_PRETOKENISED) && get16(buf + S_TARGET) == 0) return OTA_ERR_MALFORMED;
    long app = padded_len(buf + S_APP, OTA_NAME_MAX);
    long board = padded_len(buf + S_BOARD, OTA_NAME_MAX);
    long label = padded_len(buf + S_LABEL, OTA_LABEL_MAX);
    if (app < 0 || board < 0 || label < 0) return OTA_ERR_MALFORMED;
    st.version = buf[S_VERSION];
    st.encoding = buf[S_ENCODING];
    st.target = get16(buf + S_TARGET);
    st.flags = buf[S_FLAGS];
    st.key_id = buf + S_KEY_ID;
    st.app = (const char *)buf + S_APP;
    st.app_len = (size_t)app;
    st.board = (const char *)buf + S_BOARD;
    st.board_len = (size_t)board;
    st.seq = get64(buf + S_SEQ);
    st.created = get64(buf + S_CREATED);
    st.size = get32(buf + S_SIZE);
    st.installed_size = get32(buf + S_ISIZE);
    st.sha256 = buf + S_SHA;
    st.installed_sha256 = buf + S_ISHA;
    st.source_sha256 = buf + S_SRCSHA;
    st.label = (const char *)buf + S_LABEL;
    st.label_len = (size_t)label;
    st.body = buf;
    st.sig = len == OTA_STATEMENT_SIZE ? buf + S_SIG : NULL;
    if (ota_name_valid(st.app, st.app_len, OTA_NAME_MAX, 0) != OTA_OK) return OTA_ERR_MALFORMED;
    if (board_valid(st.board, st.board_len) != OTA_OK) return OTA_ERR_MALFORMED;
    if (ota_label_valid(st.label, st.label_len) != OTA_OK) return OTA_ERR_MALFORMED;
    if (st.seq == 0 || st.size == 0 || st.installed_size == 0) return OTA_ERR_MALFORMED;
    if (st.encoding == OTA_ENC_IDENTITY &&
        (st.size != st.installed_size || memcmp(st.sha256, st.installed_sha256, OTA_SHA256_SIZE) != 0))
        return OTA_ERR_MALFORMED;
    *out = st;
    return OTA_OK;
}

ota_err ota_statement_parse(ota_statement *out, const uint8_t *buf, size_t len)
{
    ota_err err = OTA_ERR_ARG;
    if (!out) return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf) goto out;
    err = framing(buf, len, OTA_STATEMENT_MAGIC, OTA_STATEMENT_BODY_SIZE, OTA_STATEMENT_SIZE, 1);
    if (err != OTA_OK) goto out;
    err = statement_fields(out, buf, len);
out:
    if (err != OTA_OK) memset(out, 0, sizeof *out);
    return err;
}

/* Find key id among keys; NULL when absent. */
static const ota_trusted_key *find_key(const ota_trusted_key *keys, size_t n, const uint8_t *id)
{
    if (!keys) return NULL;
    for (size_t i = 0; i < n; i++)
        if (memcmp(keys[i].id, id, OTA_KEY_ID_SIZE) == 0) return &keys[i];
    return NULL;
}

/* Signature check with the error for a bad signature chosen by the caller. */
static ota_err check_sig(const uint8_t *sig, const uint8_t *pub, const uint8_t *msg, size_t len,
                         ota_err bad_sig)
{
    ota_err e = ota_ed25519_verify(sig, pub, msg, len);
    if (e == OTA_OK) return OTA_OK;
    if (e == OTA_ERR_BAD_KEY) return OTA_ERR_BAD_KEY;
    return bad_sig;
}

/* Steps 1-3 (or 8-10) of FORMAT.md section 5 for one signed record: framing,
 * a trusted key for the key id at key_off, and the signature at sig_off over
 * the body.  Fields are checked by the caller only after this returns OK. */
static ota_err framed_and_signed(const uint8_t *buf, size_t len, const char *magic,
                                 size_t body_size, size_t size, size_t key_off, size_t sig_off,
                                 const ota_trusted_key *keys, size_t n_keys, ota_err bad_sig)
{
    ota_err err = framing(buf, len, magic, body_size, size, 0);
    if (err != OTA_OK) return err;
    const ota_trusted_key *k = find_key(keys, n_keys, buf + key_off);
    if (!k) return OTA_ERR_UNKNOWN_KEY;
    return check_sig(buf + sig_off, k->pub, buf, body_size, bad_sig);
}

ota_err ota_statement_verify(ota_statement *out, const uint8_t *buf, size_t len,
                             const ota_trusted_key *keys, size_t n_keys)
{
    ota_err err = OTA_ERR_ARG;
    if (!out) return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf) goto out;
    err = framed_and_signed(buf, len, OTA_STATEMENT_MAGIC, OTA_STATEMENT_BODY_SIZE,
                            OTA_STATEMENT_SIZE, S_KEY_ID, S_SIG, keys, n_keys,
                            OTA_ERR_BAD_SIGNATURE);
    if (err != OTA_OK) goto out;
    err = statement_fields(out, buf, len);
out:
    if (err != OTA_OK) memset(out, 0, sizeof *out);
    return err;
}

/* Copy text into a NUL-padded field (length already validated). */
static void put_text(uint8_t *field, size_t cap, const char *s, size_t len)
{
    memset(field, 0, cap);
    if (len) memcpy(field, s, len);
}

ota_err ota_statement_encode(uint8_t out[OTA_STATEMENT_BODY_SIZE], const ota_statement *in)
{
    if (!out || !in || !in->key_id || !in->sha256 || !in->installed_sha256 || !in->source_sha256)
        return OTA_ERR_ARG;
    if (ota_name_valid(in->app, in->app_len, OTA_NAME_MAX, 0) != OTA_OK) return OTA_ERR_MALFORMED;
    if (board_valid(in->board, in->board_len) != OTA_OK) return OTA_ERR_MALFORMED;
    if (ota_label_valid(in->label, in->label_len) != OTA_OK) return OTA_ERR_MALFORMED;
    if (in->seq == 0 || in->size == 0 || in->installed_size == 0) return OTA_ERR_MALFORMED;
    if ((in->flags & ~OTA_SF_KNOWN) || ((in->flags & OTA_SF_PRETOKENISED) && in->target == 0))
        return OTA_ERR_MALFORMED;
    if (in->encoding == OTA_ENC_IDENTITY &&
        (in->size != in->installed_size ||
         memcmp(in->sha256, in->installed_sha256, OTA_SHA256_SIZE) != 0))
        return OTA_ERR_MALFORMED;
    memset(out, 0, OTA_STATEMENT_BODY_SIZE);
    memcpy(out + S_MAGIC, OTA_STATEMENT_MAGIC, 4);
    out[S_VERSION] = OTA_FORMAT_VERSION;
    out[S_ENCODING] = in->encoding;
    out[S_FLAGS] = in->flags;
    memcpy(out + S_KEY_ID, in->key_id, OTA_KEY_ID_SIZE);
    put_text(out + S_APP, OTA_NAME_MAX, in->app, in->app_len);
    put_text(out + S_BOARD, OTA_NAME_MAX, in->board, in->board_len);
    put64(out + S_SEQ, in->seq);
    put64(out + S_CREATED, in->created);
    put32(out + S_SIZE, in->size);
    put32(out + S_ISIZE, in->installed_size);
    memcpy(out + S_SHA, in->sha256, OTA_SHA256_SIZE);
    memcpy(out + S_ISHA, in->installed_sha256, OTA_SHA256_SIZE);
    memcpy(out + S_SRCSHA, in->source_sha256, OTA_SHA256_SIZE);
    put_text(out + S_LABEL, OTA_LABEL_MAX, in->label, in->label_len);
    put16(out + S_TARGET, in->target);
    return OTA_OK;
}

/* ---- ticket -------------------------------------------------------------- */

/* Step 4: ticket field rules; fills *out.  Framing already checked. */
static ota_err ticket_fields(ota_ticket *out, const uint8_t *buf, size_t len)
{
    ota_ticket t;
    memset(&t, 0, sizeof t);
    if (!all_zero(buf + T_RESERVED0, 2)) return OTA_ERR_MALFORMED;
    uint8_t nl = buf[T_NONCE_LEN];
    if (nl < OTA_NONCE_MIN || nl > OTA_NONCE_MAX) return OTA_ERR_MALFORMED;
    if (!all_zero(buf + T_NONCE + nl, OTA_NONCE_MAX - nl)) return OTA_ERR_MALFORMED;
    long dev = padded_len(buf + T_DEVICE, OTA_DEVICE_ID_MAX);
    if (dev < 0) return OTA_ERR_MALFORMED;
    if (ota_name_valid((const char *)buf + T_DEVICE, (size_t)dev, OTA_DEVICE_ID_MAX, 1) != OTA_OK)
        return OTA_ERR_MALFORMED;
    t.version = buf[T_VERSION];
    t.key_id = buf + T_KEY_ID;
    t.device_id = (const char *)buf + T_DEVICE;
    t.device_id_len = (size_t)dev;
    t.nonce = buf + T_NONCE;
    t.nonce_len = nl;
    t.statement_sha256 = buf + T_STSHA;
    t.bundle_sha256 = buf + T_BUNDLESHA;
    t.issued = get64(buf + T_ISSUED);
    t.body = buf;
    t.sig = len == OTA_TICKET_SIZE ? buf + T_SIG : NULL;
    *out = t;
    return OTA_OK;
}

ota_err ota_ticket_parse(ota_ticket *out, const uint8_t *buf, size_t len)
{
    ota_err err = OTA_ERR_ARG;
    if (!out) return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf) goto out;
    err = framing(buf, len, OTA_TICKET_MAGIC, OTA_TICKET_BODY_SIZE, OTA_TICKET_SIZE, 1);
    if (err != OTA_OK) goto out;
    err = ticket_fields(out, buf, len);
out:
    if (err != OTA_OK) memset(out, 0, sizeof *out);
    return err;
}

ota_err ota_ticket_verify(ota_ticket *out, const uint8_t *buf, size_t len,
                          const ota_trusted_key *keys, size_t n_keys)
{
    ota_err err = OTA_ERR_ARG;
    if (!out) return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf) goto out;
    err = framed_and_signed(buf, len, OTA_TICKET_MAGIC, OTA_TICKET_BODY_SIZE, OTA_TICKET_SIZE,
                            T_KEY_ID, T_SIG, keys, n_keys, OTA_ERR_BAD_TICKET_SIG);
    if (err != OTA_OK) goto out;
    err = ticket_fields(out, buf, len);
out:
    if (err != OTA_OK) memset(out, 0, sizeof *out);
    return err;
}

ota_err ota_ticket_encode(uint8_t out[OTA_TICKET_BODY_SIZE], const ota_ticket *in)
{
    if (!out || !in || !in->key_id || !in->nonce || !in->statement_sha256 || !in->bundle_sha256)
        return OTA_ERR_ARG;
    if (ota_name_valid(in->device_id, in->device_id_len, OTA_DEVICE_ID_MAX, 1) != OTA_OK)
        return OTA_ERR_MALFORMED;
    if (in->nonce_len < OTA_NONCE_MIN || in->nonce_len > OTA_NONCE_MAX) return OTA_ERR_MALFORMED;
    memset(out, 0, OTA_TICKET_BODY_SIZE);
    memcpy(out + T_MAGIC, OTA_TICKET_MAGIC, 4);
    out[T_VERSION] = OTA_FORMAT_VERSION;
    out[T_NONCE_LEN] = (uint8_t)in->nonce_len;
    memcpy(out + T_KEY_ID, in->key_id, OTA_KEY_ID_SIZE);
    put_text(out + T_DEVICE, OTA_DEVICE_ID_MAX, in->device_id, in->device_id_len);
    memcpy(out + T_NONCE, in->nonce, in->nonce_len);
    memcpy(out + T_STSHA, in->statement_sha256, OTA_SHA256_SIZE);
    memcpy(out + T_BUNDLESHA, in->bundle_sha256, OTA_SHA256_SIZE);
    put64(out + T_ISSUED, in->issued);
    return OTA_OK;
}

/* ---- stock-firmware tier --------------------------------------------------- */

ota_err ota_ticket_mac(uint8_t mac[OTA_MAC_SIZE], const uint8_t *key, size_t key_len,
                       const uint8_t *ticket, size_t ticket_len)
{
    if (!mac || (!key && key_len) || (!ticket && ticket_len)) return OTA_ERR_ARG;
    ota_hmac_sha256(mac, key, key_len, ticket, ticket_len);
    return OTA_OK;
}

ota_err ota_ticket_mac_verify(const uint8_t mac[OTA_MAC_SIZE], const uint8_t *key, size_t key_len,
                              const uint8_t *ticket, size_t ticket_len)
{
    uint8_t want[OTA_MAC_SIZE];
    ota_err err = OTA_ERR_BAD_MAC;
    if (!mac || !key || key_len == 0 || (!ticket && ticket_len)) goto out;
    ota_hmac_sha256(want, key, key_len, ticket, ticket_len);
    if (ota_ct_memcmp(want, mac, OTA_MAC_SIZE) != 0) goto out;
    err = OTA_OK;
out:
    memset(want, 0, sizeof want);
    return err;
}

/* ---- decision ------------------------------------------------------------ */

ota_err ota_release_decide(ota_offer *out, const ota_device *dev,
                           const uint8_t *statement, size_t statement_len,
                           const uint8_t *ticket, size_t ticket_len,
                           const uint8_t *mac)
{
    ota_err err = OTA_ERR_ARG;
    ota_offer o;
    uint8_t h[OTA_SHA256_SIZE];

    memset(&o, 0, sizeof o);
    if (!out) return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!dev || !statement || !ticket) goto out;
    if (dev->tier != OTA_TIER_SIGNED && dev->tier != OTA_TIER_MAC) goto out;

    /* 1-4: the ticket, by signature or by MAC. */
    if (dev->tier == OTA_TIER_SIGNED) {
        err = ota_ticket_verify(&o.ticket, ticket, ticket_len, dev->server_keys, dev->n_server_keys);
        if (err != OTA_OK) goto out;
    } else {
        err = framing(ticket, ticket_len, OTA_TICKET_MAGIC, OTA_TICKET_BODY_SIZE, OTA_TICKET_SIZE, 0);
        if (err != OTA_OK) goto out;
        err = ota_ticket_mac_verify(mac, dev->mac_key, dev->mac_key_len, ticket, ticket_len);
        if (err != OTA_OK) goto out;
        err = ticket_fields(&o.ticket, ticket, ticket_len);
        if (err != OTA_OK) goto out;
    }
    /* 5: this device. */
    err = OTA_ERR_WRONG_DEVICE;
    if (!dev->device_id ||
        !bytes_eq(o.ticket.device_id, o.ticket.device_id_len, dev->device_id, dev->device_id_len))
        goto out;
    /* 6: this poll. */
    err = OTA_ERR_STALE_NONCE;
    if (!dev->nonce || dev->nonce_len != o.ticket.nonce_len ||
        ota_ct_memcmp(dev->nonce, o.ticket.nonce, o.ticket.nonce_len) != 0)
        goto out;
    /* 7: the statement the ticket names. */
    err = OTA_ERR_WRONG_STATEMENT;
    ota_sha256(h, statement, statement_len);
    if (memcmp(h, o.ticket.statement_sha256, OTA_SHA256_SIZE) != 0) goto out;
    /* 8-11: the statement. */
    if (dev->tier == OTA_TIER_SIGNED) {
        err = ota_statement_verify(&o.statement, statement, statement_len,
                                   dev->release_keys, dev->n_release_keys);
    } else {
        err = framing(statement, statement_len, OTA_STATEMENT_MAGIC, OTA_STATEMENT_BODY_SIZE,
                      OTA_STATEMENT_SIZE, 0);
        if (err == OTA_OK) err = statement_fields(&o.statement, statement, statement_len);
    }
    if (err != OTA_OK) goto out;
    /* 12: the ticket's copy of the bundle hash. */
    err = OTA_ERR_WRONG_STATEMENT;
    if (memcmp(o.ticket.bundle_sha256, o.statement.sha256, OTA_SHA256_SIZE) != 0) goto out;
    /* 13-17: does it apply to this device? */
    err = ota_release_applies(&o.statement, dev);
    if (err != OTA_OK) goto out;
    *out = o;
    err = OTA_OK;
out:
    memset(h, 0, sizeof h);
    return err;
}

ota_err ota_release_applies(const ota_statement *st, const ota_device *dev)
{
    uint32_t enc_mask;
    if (!st || !dev || !st->app) return OTA_ERR_ARG;
    if (!dev->app || !bytes_eq(st->app, st->app_len, dev->app, dev->app_len)) return OTA_ERR_WRONG_APP;
    if (st->board_len != 0 &&
        (!dev->board || !board_eq(st->board, st->board_len, dev->board, dev->board_len)))
        return OTA_ERR_WRONG_BOARD;
    enc_mask = dev->encodings ? dev->encodings : OTA_ENC_MASK(OTA_ENC_IDENTITY);
    if (st->encoding >= 32 || !(enc_mask & OTA_ENC_MASK(st->encoding))) return OTA_ERR_BAD_ENCODING_KIND;
    /* pretokenised code: token ids are those of one firmware */
    if ((st->flags & OTA_SF_PRETOKENISED) && (st->target == 0 || dev->firmware != st->target))
        return OTA_ERR_BAD_ENCODING_KIND;
    if (dev->max_size != 0 && (st->size > dev->max_size || st->installed_size > dev->max_size))
        return OTA_ERR_TOO_BIG;
    if (st->seq <= dev->running_seq) return OTA_ERR_NOT_NEWER;
    return OTA_OK;
}

const char *ota_encoding_name(unsigned enc)
{
    return enc == OTA_ENC_IDENTITY ? "identity" : enc == OTA_ENC_HEATSHRINK ? "heatshrink" : NULL;
}

ota_err ota_release_check_bundle(const ota_statement *st, const uint8_t sha256[OTA_SHA256_SIZE],
                                 uint64_t len)
{
    if (!st || !sha256 || !st->sha256) return OTA_ERR_ARG;
    if (len < st->size) return OTA_ERR_TRUNCATED;
    if (len > st->size) return OTA_ERR_TOO_LONG;
    if (memcmp(sha256, st->sha256, OTA_SHA256_SIZE) != 0) return OTA_ERR_HASH_MISMATCH;
    return OTA_OK;
}
