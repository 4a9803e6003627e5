/*
 * otadev: a host simulator of an OTA-updated device.  It runs the portable
 * state machine (common/ota_update.c) and the offer decision
 * (common/ota_release.c) on a flash image kept in a file, talks to otad over
 * HTTP with libcurl exactly as a device would (poll, download with Range,
 * report), and can be told to lose power at any flash operation or lose the
 * link mid-download.  Programs "run" by script: a release behaves as told by
 * --behave SEQ=WHAT or by a marker in its bytes (otadev:throws,
 * otadev:hangs, otadev:noconfirm); otherwise it is healthy and confirms.
 *
 *   otadev provision --flash F [--geometry G] --golden FILE [--program FILE --seq N] [--force]
 *                    [--secret HEX]   (kept in F.secret: the device's reports are MAC'd with it)
 *   otadev run --flash F --server URL --id DEV --app APP --release-pub K.pub
 *              --server-pub S.pub|HEX [--board B] [--polls N] [--interval S]
 *              [--behave SEQ=WHAT,...] [--cut-power-at N] [--drop-after BYTES]
 *              [--max-attempts N] [--secret HEX] [--tier signed|mac] [--delta] [--quiet]
 *   otadev status --flash F     state as one JSON line
 *   otadev run|status --fleet LIST ...   many devices in turn, one per line
 *                                        "ID FLASH [SEQ=WHAT,...]" (one poll each)
 *   otadev boot --flash F       one boot (no network)
 *   otadev keyset --flash F --root-pub R.pub   the stored key set (FLASH.ks)
 *
 * Exit status: 0 ok, 1 failure, 2 usage, 3 power cut (--cut-power-at).
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flashfile.h"
#include "ota_crypto.h"
#include "ota_delta.h"
#include "ota_encode.h"
#include "ota_hsz.h"
#include "ota_keyset.h"
#include "ota_release.h"
#include "ota_update.h"

#define MAX_KEYS 8
#define MAX_BEHAVE 64
#define MAX_FILE (4u << 20)

typedef enum { B_HEALTHY, B_THROWS, B_HANGS, B_NOCONFIRM } behaviour;
static const char *behave_name[] = { "healthy", "throws", "hangs", "noconfirm" };

/* Everything one run knows. */
typedef struct opts {
    const char *flash, *server, *id, *app, *board, *geometry, *golden, *program, *fleet;
    uint64_t seq;
    int force, quiet, polls, max_attempts, tier, delta;
    uint8_t secret[64];          /* per-device secret: reports are MAC'd with it (every tier) */
    size_t secret_len;
    uint8_t cli_secret[64];      /* --secret; else FLASH.secret (otadev provision --secret) */
    size_t cli_secret_len;
    double interval;
    long cut_at, drop_after;
    ota_trusted_key release_keys[MAX_KEYS], server_keys[MAX_KEYS];
    size_t n_release, n_server;
    ota_trusted_key root_keys[MAX_KEYS];   /* --root-pub: key sets (FORMAT.md 13) */
    size_t n_root;
    int root_threshold;
    long ks_cut_at;                         /* --cut-keyset-power-at */
    uint64_t behave_seq[MAX_BEHAVE];
    behaviour behave_what[MAX_BEHAVE];
    int n_behave;
} opts;

static opts o;
static flashfile ff;
static ota_dev dev;
static behaviour last_trial = B_HEALTHY;   /* how the last failed trial program behaved */

/* The report codes for a trial that ended without a confirm (CONTRACT.md,
 * appended to common/ota_err.h's table by issue 13 with these numbers). */
#define OTADEV_ERR_APP_THREW 80       /* program threw at start */
#define OTADEV_ERR_NOT_CONFIRMED 81   /* not confirmed after N attempts */

static void say(const char *fmt, ...)
{
    if (o.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "otadev[%s]: ", o.id ? o.id : "-");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "otadev: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(1, "%s: %s", path, strerror(errno));
    uint8_t *buf = malloc(MAX_FILE + 1);
    size_t n = fread(buf, 1, MAX_FILE + 1, f);
    fclose(f);
    if (n > MAX_FILE)
        die(1, "%s: larger than %u bytes", path, MAX_FILE);
    *len = n;
    return buf;
}

/* A public key: a NAME.pub file (64 hex characters) or the hex itself. */
static void add_key(ota_trusted_key *keys, size_t *n, const char *arg)
{
    char hex[80] = "";
    size_t got = 0;
    if (*n >= MAX_KEYS)
        die(2, "too many keys");
    if (strlen(arg) == 64 && access(arg, F_OK) != 0) {
        snprintf(hex, sizeof hex, "%s", arg);
    } else {
        FILE *f = fopen(arg, "r");
        if (!f || !fgets(hex, sizeof hex, f))
            die(1, "%s: cannot read public key", arg);
        fclose(f);
        hex[strcspn(hex, "\r\n")] = 0;
    }
    if (strlen(hex) != 64 || ota_hex_decode(keys[*n].pub, 32, &got, hex, 64) != OTA_OK || got != 32)
        die(1, "%s: not a 64-hex-character public key", arg);
    ota_release_key_id(keys[*n].id, keys[*n].pub);
    (*n)++;
}

static behaviour parse_behaviour(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, behave_name[i]) == 0)
            return (behaviour)i;
    die(2, "--behave: '%s' is not healthy, throws, hangs or noconfirm", s);
    return B_HEALTHY;
}

static void parse_behave(const char *arg)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (!eq || o.n_behave >= MAX_BEHAVE)
            die(2, "--behave: expected SEQ=WHAT[,SEQ=WHAT...]");
        *eq = 0;
        o.behave_seq[o.n_behave] = strtoull(tok, NULL, 10);
        o.behave_what[o.n_behave] = parse_behaviour(eq + 1);
        o.n_behave++;
    }
}

/* ---- the flash ---------------------------------------------------------- */

/* Files next to the flash image: FLASH.secret (the device secret, 64 hex,
 * written by `otadev provision --secret`), FLASH.ctr (the last report
 * counter used), FLASH.outbox (reports not yet delivered).  Each is replaced
 * atomically (temp, fsync, rename): a power cut leaves the old or the new. */
static void side_path(char *out, size_t cap, const char *ext) { snprintf(out, cap, "%s.%s", o.flash, ext); }

static int side_store(const char *ext, const char *data, size_t len, int mode)
{
    char path[1024], tmp[1100];
    side_path(path, sizeof path, ext);
    if (len == 0) return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    if (mode) fchmod(fileno(f), (mode_t)mode);
    int ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) { unlink(tmp); return -1; }
    return 0;
}

/* The secret for this device: --secret, else FLASH.secret, else none. */
static void load_secret(void)
{
    if (o.cli_secret_len) {
        memcpy(o.secret, o.cli_secret, o.cli_secret_len);
        o.secret_len = o.cli_secret_len;
        return;
    }
    o.secret_len = 0;
    char path[1024], hex[80] = "";
    side_path(path, sizeof path, "secret");
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (!fgets(hex, sizeof hex, f)) hex[0] = 0;
    fclose(f);
    hex[strcspn(hex, "\r\n")] = 0;
    if (strlen(hex) != 64 || ota_hex_decode(o.secret, sizeof o.secret, &o.secret_len, hex, 64) != OTA_OK)
        die(1, "%s: not 64 hex characters", path);
}

/* The next report counter, made durable before it is used: a power cut
 * after this never lets a later report reuse the value (gaps are fine). */
static int next_ctr(uint64_t *out)
{
    char path[1024], buf[32] = "";
    side_path(path, sizeof path, "ctr");
    uint64_t c = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(buf, sizeof buf, f)) c = strtoull(buf, NULL, 10);
        fclose(f);
    }
    c++;
    int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)c);
    if (side_store("ctr", buf, (size_t)n, 0) != 0) return -1;
    *out = c;
    return 0;
}

static void open_flash(void)
{
    char err[512];
    if (!o.flash)
        die(2, "--flash FILE is required");
    if (ff_open(&ff, o.flash, err, sizeof err) != 0)
        die(1, "%s", err);
    ff.cut_at = o.cut_at;
    load_secret();
    memset(&dev, 0, sizeof dev);
    dev.flash = &ff.port;
    dev.layout = ff.layout;
    dev.max_attempts = (uint8_t)o.max_attempts;
}

static uint32_t capacity(void)
{
    uint32_t a = ota_slot_capacity(&dev, dev.layout.slot[0]);
    uint32_t b = ota_slot_capacity(&dev, dev.layout.slot[1]);
    return a < b ? a : b;
}

/* How the program in this slot behaves: --behave first, then a marker. */
static behaviour program_behaviour(const ota_boot_info *bi)
{
    if (bi->which == OTA_RUN_GOLDEN)
        return B_HEALTHY;
    for (int i = 0; i < o.n_behave; i++)
        if (o.behave_seq[i] == bi->seq)
            return o.behave_what[i];
    uint8_t *p = malloc(bi->size + 1);
    behaviour b = B_HEALTHY;
    if (p && ff.port.read(ff.port.ctx, bi->off, p, bi->size) == OTA_OK) {
        p[bi->size] = 0;
        if (memmem(p, bi->size, "otadev:throws", 13))
            b = B_THROWS;
        else if (memmem(p, bi->size, "otadev:hangs", 12))
            b = B_HANGS;
        else if (memmem(p, bi->size, "otadev:noconfirm", 16))
            b = B_NOCONFIRM;
    }
    free(p);
    return b;
}

/* ---- HTTP ----------------------------------------------------------------- */

typedef struct membuf {
    char *data;
    size_t len, cap;
} membuf;

static size_t to_membuf(char *p, size_t sz, size_t n, void *ud)
{
    membuf *m = ud;
    size_t k = sz * n;
    if (m->len + k + 1 > 65536)
        return 0;   /* a manifest is small: refuse anything huge */
    if (m->len + k + 1 > m->cap) {
        m->cap = (m->len + k + 1) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->len, p, k);
    m->len += k;
    m->data[m->len] = 0;
    return k;
}

static CURL *easy(const char *url)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "otadev/1");
    return c;
}

static void json_escape(char *out, size_t cap, const char *s)
{
    size_t j = 0;
    for (; *s && j + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[j++] = '\\';
            out[j++] = (char)ch;
        } else if (ch < 0x20) {
            j += (size_t)snprintf(out + j, cap - j, "\\u%04x", ch);
        } else {
            out[j++] = (char)ch;
        }
    }
    out[j] = 0;
}

/* POST /report/<id> {app, seq, state, detail}; 0 when the server stored it. */
/* POST one report body.  0 delivered, -1 refused for good (4xx: resending
 * the same bytes cannot help), 1 not delivered (network, 5xx): keep it. */
static int post_report(const char *body)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/report/%s", o.server, o.id);
    for (int attempt = 0; attempt < 3; attempt++) {
        CURL *c = easy(url);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        {
            /* report wire format v2: HMAC(secret, "OTAR" || id || "\n" || body) */
            ota_hmac_sha256_ctx hc;
            uint8_t mac[32];
            char hdr[100], hex[65];
            ota_hmac_sha256_init(&hc, o.secret, o.secret_len);
            ota_hmac_sha256_update(&hc, (const uint8_t *)"OTAR", 4);
            ota_hmac_sha256_update(&hc, (const uint8_t *)o.id, strlen(o.id));
            ota_hmac_sha256_update(&hc, (const uint8_t *)"\n", 1);
            ota_hmac_sha256_update(&hc, (const uint8_t *)body, strlen(body));
            ota_hmac_sha256_final(&hc, mac);
            ota_hex_encode(hex, sizeof hex, mac, sizeof mac);
            snprintf(hdr, sizeof hdr, "X-OTA-MAC: %s", hex);
            h = curl_slist_append(h, hdr);
        }
        membuf m = { 0 };
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_membuf);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        free(m.data);
        if (rc == CURLE_OK && status == 200) {
            /* The server committed it (tests count these against its store). */
            say("report acknowledged: %s", body);
            return 0;
        }
        say("report failed (%s, HTTP %ld)%s", curl_easy_strerror(rc), status, attempt < 2 ? ", retrying" : "");
        if (status >= 400 && status < 500)
            return -1;
        usleep(200000u << attempt);
    }
    return 1;
}

/* Reports that could not be delivered wait in FLASH.outbox, one JSON body a
 * line, and go out (oldest first) before the next report or poll: a device
 * on a flaky GSM link must not lose "rolled_back" because the server was
 * unreachable at that moment.  The file is replaced atomically (temp, fsync,
 * rename), so a power cut leaves the old queue or the new one. */
#define OUTBOX_MAX (64u * 1024u)

static void outbox_path(char *out, size_t cap) { snprintf(out, cap, "%s.outbox", o.flash); }

static int outbox_store(const char *data, size_t len)
{
    return side_store("outbox", data, len, 0);
}

/* Read the queue into a malloc'd, NUL-terminated buffer (NULL when empty). */
static char *outbox_load(size_t *len)
{
    char path[1024];
    outbox_path(path, sizeof path);
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(OUTBOX_MAX + 1);
    if (buf) {
        *len = fread(buf, 1, OUTBOX_MAX, f);
        buf[*len] = 0;
    }
    fclose(f);
    if (buf && *len == 0) { free(buf); buf = NULL; }
    return buf;
}

/* Send what waits in the outbox; keep what still cannot go.  Returns 0 when
 * the outbox is empty afterwards. */
static int outbox_flush(void)
{
    size_t len;
    char *q = outbox_load(&len);
    if (!q) return 0;
    char *line = q, *end = q + len;
    int rc = 0;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) nl = end;
        *nl = 0;
        if (*line) {
            say("sending a queued report");
            if (post_report(line) == 1) { *nl = nl < end ? '\n' : 0; rc = 1; break; }
        }
        line = nl + 1;
    }
    if (rc == 0) line = end;
    if (outbox_store(line < end ? line : "", line < end ? (size_t)(end - line) : 0) != 0)
        say("cannot rewrite the report queue %s.outbox", o.flash);
    free(q);
    return rc;
}

static void outbox_add(const char *body)
{
    size_t len;
    char *q = outbox_load(&len);
    size_t bl = strlen(body);
    if (len + bl + 1 > OUTBOX_MAX) { say("report queue full: dropping the oldest reports"); len = 0; }
    char *n = malloc(len + bl + 2);
    if (n) {
        if (len) memcpy(n, q, len);
        memcpy(n + len, body, bl);
        n[len + bl] = '\n';
        if (outbox_store(n, len + bl + 1) != 0) say("cannot queue the report");
        free(n);
    }
    free(q);
}

/* Report wire format v2 (FORMAT.md section 6a): {"app","seq","state",
 * "code","ctr","detail"}, detail cut to 200 bytes (otadev's are ASCII). */
static int report(uint64_t seq, const char *state, int code, const char *detail)
{
    char body[1600], det[1300], cut[201];
    uint64_t ctr;
    if (!o.secret_len) {
        say("report %s seq %llu not sent: no device secret (--secret, or otadev provision --secret)",
            state, (unsigned long long)seq);
        return -1;
    }
    snprintf(cut, sizeof cut, "%s", detail ? detail : "");
    json_escape(det, sizeof det, cut);
    if (next_ctr(&ctr) != 0) {
        say("cannot store the report counter %s.ctr: report not sent", o.flash);
        return -1;
    }
    snprintf(body, sizeof body,
             "{\"app\":\"%s\",\"seq\":%llu,\"state\":\"%s\",\"code\":%d,\"ctr\":%llu,\"detail\":\"%s\"}",
             o.app, (unsigned long long)seq, state, code, (unsigned long long)ctr, det);
    say("report %s seq %llu%s%s", state, (unsigned long long)seq, detail ? ": " : "", detail ? detail : "");
    /* Order matters to the server (a late "downloaded" must not follow
     * "rolled_back"): while older reports wait, this one waits behind them. */
    int r = outbox_flush() == 0 ? post_report(body) : 1;
    if (r == 1) {
        say("report queued until the server can be reached");
        outbox_add(body);
    }
    return r == 0 ? 0 : -1;
}

/* The download sink: bytes straight into the candidate slot (identity), or
 * through the heatshrink-block decoder into it (encoding 1). */
typedef struct sink {
    ota_install *in;
    uint32_t skip;       /* bytes to drop first (a 200 answer to a Range request) */
    long budget;         /* --drop-after: bytes left before the link "drops"; <0 none */
    ota_err err;
    ota_hsz *hsz;        /* encoding 1: the decoder, else NULL */
    ota_sha256_ctx xfer; /* encoding 1: SHA-256 of the bytes as transferred */
    uint32_t xfer_len;   /* encoding 1: transferred bytes received */
    uint32_t durable;    /* encoding 1: installed bytes already in the slot (resume) */
    uint32_t decoded;    /* encoding 1: installed bytes decoded so far */
    ota_err derr;        /* encoding 1: the decoder refused the bytes (the transfer
                            goes on, hashed only: a bad transferred hash then says
                            "damaged on the way", a good one "a bad release") */
    const uint8_t *stmt_sha; /* encoding 1: the release, for the checkpoint */
    uint32_t ck_at;      /* encoding 1: installed offset of the last checkpoint */
} sink;

/* Encoding 1 checkpoint, FLASH.hsz: at each block boundary (every installed
 * byte before it durable in the slot) the transferred offset and the SHA-256
 * midstate of the bytes as sent, so that after a power cut the transfer
 * resumes with Range at that block instead of from 0.  A real device keeps
 * the same in its flash beside the install marker. */
typedef struct hz_ckpt {
    char magic[4];                  /* "OTHZ" */
    uint8_t stmt[32];               /* SHA-256 of the statement */
    uint32_t log2, block, xoff;     /* block size, next block, its frame's offset */
    ota_sha256_ctx xfer;            /* hash of bytes [0, xoff) */
    uint32_t crc;                   /* ota_crc32 of everything before */
} hz_ckpt;

static void hz_save(sink *s)
{
    hz_ckpt c;
    memset(&c, 0, sizeof c);
    memcpy(c.magic, "OTHZ", 4);
    memcpy(c.stmt, s->stmt_sha, 32);
    uint32_t b = ota_hsz_block_size(s->hsz), l = 0;
    while (l < 31 && (1u << l) < b) l++;
    c.log2 = l;
    c.block = ota_hsz_installed(s->hsz) >> l;
    c.xoff = s->xfer_len;
    c.xfer = s->xfer;
    c.crc = ota_crc32(0, (const uint8_t *)&c, offsetof(hz_ckpt, crc));
    if (side_store("hsz", (const char *)&c, sizeof c, 0600) == 0) s->ck_at = ota_hsz_installed(s->hsz);
}

/* The checkpoint for this release, if there is a valid one at or before
 * `durable` installed bytes. */
static int hz_load(hz_ckpt *c, const uint8_t stmt[32], uint32_t durable)
{
    char path[1024];
    side_path(path, sizeof path, "hsz");
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(c, 1, sizeof *c, f);
    fclose(f);
    return n == sizeof *c && memcmp(c->magic, "OTHZ", 4) == 0 && memcmp(c->stmt, stmt, 32) == 0 &&
           c->crc == ota_crc32(0, (const uint8_t *)c, offsetof(hz_ckpt, crc)) &&
           c->log2 >= OTA_HSZ_LOG2_MIN && c->log2 <= OTA_HSZ_LOG2_MAX &&
           ((uint64_t)c->block << c->log2) <= durable;
}

/* Decoded bytes of encoding 1 into the slot; the first `durable` ones are
 * there already (an install resumed after a power cut re-decodes them). */
static ota_err hsz_to_slot(void *ctx, const uint8_t *d, size_t n)
{
    sink *s = ctx;
    size_t drop = 0;
    if (s->decoded < s->durable) {
        drop = s->durable - s->decoded < n ? s->durable - s->decoded : n;
    }
    s->decoded += (uint32_t)n;
    return n > drop ? ota_install_write(s->in, &dev, d + drop, n - drop) : OTA_OK;
}

static ota_err sink_write(sink *s, const uint8_t *p, size_t n)
{
    if (!s->hsz) return ota_install_write(s->in, &dev, p, n);
    /* byte by byte, to checkpoint exactly at each frame boundary */
    for (size_t i = 0; i < n; i++) {
        ota_sha256_update(&s->xfer, p + i, 1);
        s->xfer_len++;
        if (s->derr) continue;
        ota_err e = ota_hsz_feed(s->hsz, p + i, 1, hsz_to_slot, s);
        if (e == OTA_ERR_BAD_BLOCK || e == OTA_ERR_TOO_LONG) { s->derr = e; continue; }
        if (e != OTA_OK) return e;
        uint32_t done = ota_hsz_installed(s->hsz);
        if (ota_hsz_at_frame(s->hsz) && done > s->ck_at && done < s->in->img.size)
            hz_save(s);
    }
    return OTA_OK;
}

static size_t to_slot(char *p, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    size_t k = sz * n, used = 0;
    if (s->skip) {
        size_t d = k < s->skip ? k : s->skip;
        s->skip -= (uint32_t)d;
        used = d;
    }
    size_t take = k - used;
    int drop = 0;
    if (s->budget >= 0 && (long)take > s->budget) {
        take = (size_t)s->budget;
        drop = 1;
    }
    if (take) {
        ota_err e = sink_write(s, (const uint8_t *)p + used, take);
        if (e != OTA_OK) {
            s->err = e;
            return 0;
        }
        if (s->budget >= 0)
            s->budget -= (long)take;
    }
    return drop ? 0 : k;
}

/* ---- boot and the programs ------------------------------------------------ */

/* Boot until a program runs for good: a trial that fails is reset (a
 * throw at start, a watchdog reset after a hang, or a day without confirm)
 * and booted again until the state machine reverts.  Reports the outcome. */
static int boot_and_run(ota_boot_info *out)
{
    ota_status st;
    for (int boots = 0; boots < 16; boots++) {
        ota_err e = ota_boot(out, &dev);
        if (e != OTA_OK)
            die(1, "boot: %s", ota_strerror(e));
        const char *which = out->which == OTA_RUN_GOLDEN ? "golden" : out->which == 0 ? "A" : "B";
        if (out->reverted) {
            ota_status_read(&st, &dev);
            say("boot: trial of seq %llu ended (%s); back on %s seq %llu",
                (unsigned long long)st.event_seq, ota_state_name(st.state), which,
                (unsigned long long)out->seq);
            char det[160];
            snprintf(det, sizeof det, "%s; running %s seq %llu",
                     st.state == OTA_STATE_FAILED ? "candidate failed verification at boot"
                                                 : "no confirm within the trial boots",
                     which, (unsigned long long)out->seq);
            /* A trial that never confirmed: why, as the program behaved. */
            int code = st.state == OTA_STATE_FAILED ? OTA_ERR_HASH_MISMATCH
                       : last_trial == B_THROWS ? OTADEV_ERR_APP_THREW : OTADEV_ERR_NOT_CONFIRMED;
            report(st.event_seq, ota_state_name(st.state), code, det);
        }
        behaviour b = program_behaviour(out);
        char tb[40] = "";
        if (out->trial)
            snprintf(tb, sizeof tb, ", trial boot %u of %u", out->attempt,
                     o.max_attempts ? (unsigned)o.max_attempts : OTA_DEFAULT_MAX_ATTEMPTS);
        say("boot: running %s seq %llu (%u bytes, sha256 verified)%s", which,
            (unsigned long long)out->seq, (unsigned)out->size, tb);
        if (!out->trial)
            return 0;
        if (out->attempt == 1)
            report(out->seq, "trial", 0, "first trial boot");
        if (b == B_HEALTHY) {
            if ((e = ota_confirm(&dev, out)) != OTA_OK)
                die(1, "confirm: %s", ota_strerror(e));
            say("program seq %llu confirmed itself", (unsigned long long)out->seq);
            report(out->seq, "confirmed", 0, "program confirmed after its trial boot");
            return 0;
        }
        last_trial = b;
        say("program seq %llu %s: reset", (unsigned long long)out->seq,
            b == B_THROWS ? "throws at start" : b == B_HANGS ? "hangs (watchdog)" : "never confirms");
    }
    die(1, "boot loop without end");
    return 1;
}

/* ---- key sets (FORMAT.md section 13) -----------------------------------------
 *
 * A device provisioned with root keys (--root-pub) keeps its current key set
 * in a separate emulated flash, FLASH.ks (two 1 KB pages, the two copies of
 * common/ota_keyset's journal; the rest of that file is unused), polls with
 * ks=<version> and takes a "keyset" from the answer before it decides on
 * the release.  Once a set is stored, the device trusts exactly its release
 * keys; --release-pub keys only until then. */

static flashfile ksff;
static ota_keyset_store kstore;
static ota_keyset_current kscur;
static int ks_open_done;

static int ks_enabled(void) { return o.n_root > 0; }

/* Open (create on first use) FLASH.ks and load the current set. */
static void ks_open(void)
{
    char path[4200], err[512];
    if (!ks_enabled() || ks_open_done)
        return;
    snprintf(path, sizeof path, "%s.ks", o.flash);
    if (access(path, F_OK) != 0 && ff_create(path, "uniform:1024:5", 0, err, sizeof err) != 0)
        die(1, "%s", err);
    if (ff_open(&ksff, path, err, sizeof err) != 0)
        die(1, "%s", err);
    ksff.cut_at = o.ks_cut_at;
    kstore.flash = &ksff.port;
    kstore.copy[0].off = ksff.page_off[0];
    kstore.copy[0].len = ksff.page_off[1] - ksff.page_off[0];
    kstore.copy[1].off = ksff.page_off[1];
    kstore.copy[1].len = ksff.page_off[2] - ksff.page_off[1];
    ota_err e = ota_keyset_load(&kscur, &kstore, o.root_keys, o.n_root, (uint8_t)o.root_threshold);
    if (e != OTA_OK)
        die(1, "key set store %s: %s", path, ota_strerror(e));
    ks_open_done = 1;
}

static void ks_close(void)
{
    if (ks_open_done)
        ff_close(&ksff);
    ks_open_done = 0;
}

static uint64_t ks_version(void)
{
    return ks_open_done && kscur.found ? kscur.ks.version : 0;
}

/* The release keys this device trusts now (into keys, capacity MAX_KEYS). */
static size_t ks_release_keys(ota_trusted_key *keys)
{
    if (ks_open_done && kscur.found)
        return ota_keyset_trusted(keys, &kscur.ks);
    memcpy(keys, o.release_keys, o.n_release * sizeof keys[0]);
    return o.n_release;
}

static void ks_say_keys(const char *what)
{
    char ids[8 * 18 + 1] = "";
    ota_trusted_key k[MAX_KEYS];
    size_t n = ks_release_keys(k);
    for (size_t i = 0; i < n; i++) {
        char h[17];
        ota_hex_encode(h, sizeof h, k[i].id, OTA_KEY_ID_SIZE);
        strcat(ids, i ? " " : "");
        strcat(ids, h);
    }
    say("%s key set version %llu: trusts release key(s) %s", what, (unsigned long long)ks_version(), ids);
}

/* A "keyset" member in a poll answer: verify with the roots and store it
 * power-cut safely before anything else of the answer is looked at. */
static void ks_take(cJSON *j)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "keyset");
    if (!ks_enabled() || !cJSON_IsString(v))
        return;
    uint8_t b[OTA_KEYSET_MAX_SIZE + 4];
    size_t len = 0;
    ota_err e = OTA_ERR_MALFORMED;
    if (ota_base64_decode(b, sizeof b, &len, v->valuestring, strlen(v->valuestring), OTA_B64_STD) == OTA_OK)
        e = ota_keyset_update(&kscur, &kstore, b, len, o.root_keys, o.n_root, (uint8_t)o.root_threshold);
    if (e == OTA_OK) {
        ks_say_keys("accepted and stored");
        return;
    }
    if (e == OTA_ERR_FLASH)
        die(1, "key set store: flash failure");
    /* Refused: the device keeps the set it has (reload: update left *kscur
     * in an unknown state on some errors). */
    say("key set refused: %s (ota_err %d); keeping version %llu", ota_strerror(e), (int)e,
        (unsigned long long)(ota_keyset_load(&kscur, &kstore, o.root_keys, o.n_root,
                                             (uint8_t)o.root_threshold) == OTA_OK && kscur.found
                             ? kscur.ks.version : 0));
}

/* otadev keyset --flash F --root-pub R.pub: the stored key set as JSON. */
static int cmd_keyset_show(void)
{
    if (!o.flash || !ks_enabled())
        die(2, "keyset: --flash FILE and --root-pub R.pub are required");
    ks_open();
    ota_trusted_key k[MAX_KEYS];
    size_t n = ks_release_keys(k);
    printf("{\"keyset\":%llu,\"keys\":[", (unsigned long long)ks_version());
    for (size_t i = 0; i < n; i++) {
        char h[17];
        ota_hex_encode(h, sizeof h, k[i].id, OTA_KEY_ID_SIZE);
        printf("%s\"%s\"", i ? "," : "", h);
    }
    printf("]}\n");
    fprintf(stderr, "otadev: %ld flash operations on the key-set store\n", ksff.ops);
    ks_close();
    return 0;
}

/* ---- one poll -------------------------------------------------------------- */

static const char *jstr(cJSON *j, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Poll once; install what is offered and accepted.  Returns 0 when nothing
 * went wrong on the network side (204, an offer handled, a rejection
 * reported), -1 on a network failure (the caller backs off). */
/* ---- deltas (FORMAT.md 2b) ------------------------------------------------- */

static ota_err base_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    const ota_boot_info *b = ctx;
    return dev.flash->read(dev.flash->ctx, b->off + off, buf, len);
}

static ota_err delta_to_slot(void *ctx, const uint8_t *d, size_t n)
{
    return ota_install_write(ctx, &dev, d, n);
}

/* The manifest's "delta" (base, sha256, size) applied from the confirmed
 * program (slot `active`) into the install `in`, whose first `at` bytes are
 * durable already (a power cut during an earlier apply: the ops are walked
 * again, only the rest is written).  OTA_OK when the whole program is in the
 * slot (ota_install_finish then checks it); OTA_ERR_FLASH for the flash;
 * anything else: not usable, the bundle follows. */
static ota_err try_delta(cJSON *dj, const ota_statement *sp, ota_install *in, uint32_t at, uint8_t active)
{
    const char *bh = jstr(dj, "base"), *dh = jstr(dj, "sha256");
    cJSON *sz = cJSON_GetObjectItemCaseSensitive(dj, "size");
    uint8_t base_sha[32], dsha[32], got[32];
    size_t l1 = 0, l2 = 0;
    if (!bh || !dh || strlen(bh) != 64 || strlen(dh) != 64 || !cJSON_IsNumber(sz) ||
        ota_hex_decode(base_sha, sizeof base_sha, &l1, bh, 64) != OTA_OK ||
        ota_hex_decode(dsha, sizeof dsha, &l2, dh, 64) != OTA_OK)
        return OTA_ERR_MALFORMED;
    /* only a delta smaller than the bundle, from the program confirmed here */
    if (sz->valuedouble < OTA_DELTA_HDR_SIZE || sz->valuedouble >= sp->size || active > 1)
        return OTA_ERR_TOO_BIG;
    ota_boot_info base;
    ota_err e = ota_slot_verify(&base, &dev, dev.layout.slot[active]);
    if (e != OTA_OK) return e == OTA_ERR_FLASH ? e : OTA_ERR_DELTA_BASE;
    if (memcmp(base.sha256, base_sha, 32) != 0) return OTA_ERR_DELTA_BASE;
    char url[2048];
    snprintf(url, sizeof url, "%s/b/%s", o.server, dh);
    membuf m = { 0 };
    long status = 0;
    for (int tries = 0; tries < 3; tries++) {
        m.len = 0;
        CURL *c = easy(url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_membuf);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (rc == CURLE_OK && status == 200) break;
        status = 0;
    }
    if (status != 200 || !m.data) { free(m.data); return OTA_ERR_TRUNCATED; }
    ota_sha256(got, (const uint8_t *)m.data, m.len);
    if (m.len != (size_t)sz->valuedouble || memcmp(got, dsha, 32) != 0) { free(m.data); return OTA_ERR_HASH_MISMATCH; }
    say("delta: %zu bytes from seq %llu's program%s", m.len, (unsigned long long)base.seq,
        at ? " (applying again from the start, writing from the durable byte)" : "");
    ota_delta d;
    e = ota_delta_init(&d, base.sha256, base.size, sp->installed_sha256, sp->installed_size);
    if (e == OTA_OK) e = ota_delta_skip(&d, at);
    if (e == OTA_OK) e = ota_delta_feed(&d, (const uint8_t *)m.data, m.len, base_read, &base, delta_to_slot, in);
    if (e == OTA_OK) e = ota_delta_finish(&d);
    free(m.data);
    return e;
}

static int poll_once(double *next_interval)
{
    ota_status st;
    ota_err e = ota_status_read(&st, &dev);
    if (e != OTA_OK)
        die(1, "status: %s", ota_strerror(e));
    uint64_t running = ota_running_seq(&st);
    outbox_flush();   /* reports that could not go out earlier go first */

    uint8_t nonce[16];
    char nonce_hex[33], url[2048];
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
        die(1, "getrandom failed");
    ota_hex_encode(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
    snprintf(url, sizeof url, "%s/manifest/%s?app=%s&seq=%llu&nonce=%s&board=%s%s", o.server, o.id, o.app,
             (unsigned long long)running, nonce_hex, o.board, o.delta ? "&d=1" : "");
    if (ks_enabled()) {
        ks_open();
        size_t ul = strlen(url);
        snprintf(url + ul, sizeof url - ul, "&ks=%llu", (unsigned long long)ks_version());
    }
    CURL *c = easy(url);
    membuf m = { 0 };
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_membuf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || (status != 200 && status != 204)) {
        say("poll failed: %s, HTTP %ld", curl_easy_strerror(rc), status);
        free(m.data);
        return -1;
    }
    if (status == 204) {
        say("poll: nothing new (running seq %llu)", (unsigned long long)running);
        free(m.data);
        return 0;
    }

    cJSON *j = cJSON_Parse(m.data ? m.data : "");
    free(m.data);
    if (!j) {
        report(running, "rejected", OTA_ERR_MALFORMED, "manifest: not JSON");
        return 0;
    }
    cJSON *pj = cJSON_GetObjectItemCaseSensitive(j, "poll");
    if (cJSON_IsNumber(pj) && pj->valuedouble >= 0 && next_interval)
        *next_interval = pj->valuedouble;
    ks_take(j);   /* a newer key set first: the release is judged by the keys it lists */
    if (!cJSON_GetObjectItemCaseSensitive(j, "statement") && cJSON_GetObjectItemCaseSensitive(j, "keyset")) {
        cJSON_Delete(j);   /* an answer that carries only a key set */
        return 0;
    }
    uint8_t stmt[OTA_STATEMENT_SIZE + 8], tick[OTA_TICKET_SIZE + 8], mac[OTA_MAC_SIZE];
    size_t sl = 0, tl = 0, ml = 0;
    const char *s64 = jstr(j, "statement"), *t64 = jstr(j, "ticket"), *bu = jstr(j, "url");
    const char *mh = jstr(j, "mac");
    cJSON *seqj = cJSON_GetObjectItemCaseSensitive(j, "seq");
    uint64_t offered = cJSON_IsNumber(seqj) && seqj->valuedouble >= 0 ? (uint64_t)seqj->valuedouble : 0;
    ota_err de = OTA_OK;
    if (!s64 || !t64 || !bu
        || ota_base64_decode(stmt, sizeof stmt, &sl, s64, strlen(s64), OTA_B64_STD) != OTA_OK
        || ota_base64_decode(tick, sizeof tick, &tl, t64, strlen(t64), OTA_B64_STD) != OTA_OK)
        de = OTA_ERR_MALFORMED;
    if (mh && (strlen(mh) != 64 || ota_hex_decode(mac, sizeof mac, &ml, mh, 64) != OTA_OK))
        de = OTA_ERR_MALFORMED;

    ota_offer offer;
    ota_device me;
    memset(&me, 0, sizeof me);
    me.app = o.app;
    me.app_len = strlen(o.app);
    me.board = o.board;
    me.board_len = strlen(o.board);
    me.running_seq = running;
    me.device_id = o.id;
    me.device_id_len = strlen(o.id);
    me.nonce = nonce;
    me.nonce_len = sizeof nonce;
    ota_trusted_key relkeys[MAX_KEYS];
    me.release_keys = relkeys;
    me.n_release_keys = ks_release_keys(relkeys);
    me.server_keys = o.server_keys;
    me.n_server_keys = o.n_server;
    me.max_size = capacity();
    me.encodings = OTA_ENC_MASK(OTA_ENC_IDENTITY) | OTA_ENC_MASK(OTA_ENC_HEATSHRINK);
    me.tier = o.tier;
    me.mac_key = o.secret_len ? o.secret : NULL;
    me.mac_key_len = o.secret_len;
    if (de == OTA_OK)
        de = ota_release_decide(&offer, &me, stmt, sl, tick, tl, ml ? mac : NULL);
    if (de != OTA_OK) {
        char det[200];
        snprintf(det, sizeof det, "%s (ota_err %d); still running seq %llu", ota_strerror(de), (int)de,
                 (unsigned long long)running);
        say("offer of seq %llu rejected: %s", (unsigned long long)offered, ota_strerror(de));
        report(offered, "rejected", (int)de, det);
        cJSON_Delete(j);
        return 0;
    }
    const ota_statement *sp = &offer.statement;
    say("offer accepted: seq %llu, %u bytes", (unsigned long long)sp->seq, (unsigned)sp->size);

    /* Install: begin (maybe resuming after a power cut), then stream. */
    ota_image img;
    memset(&img, 0, sizeof img);
    img.seq = sp->seq;
    img.size = sp->installed_size;
    memcpy(img.sha256, sp->installed_sha256, 32);
    ota_sha256(img.statement_sha256, stmt, sl);
    ota_install in;
    uint32_t at = 0;
    if ((e = ota_install_begin(&in, &dev, &img, 0, &at)) != OTA_OK) {
        report(sp->seq, e == OTA_ERR_TOO_BIG ? "rejected" : "failed", (int)e, ota_strerror(e));
        cJSON_Delete(j);
        return 0;
    }
    if (at > 0)
        say("resuming the install at byte %u (durable after the last power cut)", (unsigned)at);
    report(sp->seq, "downloading", 0, at ? "resuming" : "starting");
    /* A delta (asked for with --delta): into the candidate slot from the
     * confirmed program; any failure but the flash's: the bundle instead. */
    cJSON *dj = o.delta ? cJSON_GetObjectItemCaseSensitive(j, "delta") : NULL;
    if (cJSON_IsObject(dj)) {
        e = try_delta(dj, sp, &in, at, st.active);
        if (e == OTA_OK) {
            e = ota_install_finish(&in, &dev, 0);   /* the installed hash; wipes the slot if wrong */
            if (e == OTA_OK) {
                say("delta applied and verified");
                goto installed;
            }
            if (e == OTA_ERR_HASH_MISMATCH) e = OTA_ERR_INSTALLED_HASH;
        } else if (e != OTA_ERR_FLASH) {
            ota_install_abort(&in, &dev);
        }
        if (e == OTA_ERR_FLASH) {
            report(sp->seq, "failed", (int)e, "delta: flash error");
            cJSON_Delete(j);
            return -1;
        }
        say("delta refused: %s (ota_err %d); fetching the bundle", ota_strerror(e), (int)e);
        if ((e = ota_install_begin(&in, &dev, &img, 0, &at)) != OTA_OK) {
            report(sp->seq, "failed", (int)e, ota_strerror(e));
            cJSON_Delete(j);
            return 0;
        }
    }
    char burl[2048];
    if (strncmp(bu, "http://", 7) == 0 || strncmp(bu, "https://", 8) == 0)
        snprintf(burl, sizeof burl, "%s", bu);
    else
        snprintf(burl, sizeof burl, "%s%s", o.server, bu);
    sink sk;
    memset(&sk, 0, sizeof sk);
    sk.in = &in;
    sk.budget = o.drop_after > 0 ? o.drop_after : -1;
    sk.err = OTA_OK;
    /* Encoding 1: the transferred bytes are decoded as they arrive.  A
     * dropped link resumes at the exact transferred byte (the decoder's
     * state is kept); after a power cut the transfer starts again at 0 and
     * the installed bytes already durable are decoded again, not rewritten. */
    ota_hsz hz;
    if (sp->encoding == OTA_ENC_HEATSHRINK) {
        hz_ckpt ck;
        ota_hsz_init(&hz, sp->installed_size);
        sk.hsz = &hz;
        sk.stmt_sha = img.statement_sha256;
        ota_sha256_init(&sk.xfer);
        sk.durable = at;
        if (at > 0 && hz_load(&ck, img.statement_sha256, at) && ck.block > 0 &&
            ota_hsz_init_at(&hz, sp->installed_size, ck.log2, ck.block) == OTA_OK) {
            sk.xfer = ck.xfer;
            sk.xfer_len = ck.xoff;
            sk.decoded = ck.block << ck.log2;
            sk.ck_at = sk.decoded;
            say("resuming the transfer at byte %u (block %u, checkpointed before the power cut)",
                (unsigned)ck.xoff, (unsigned)ck.block);
        }
    }
#define XFER_AT() (sk.hsz ? sk.xfer_len : ota_install_offset(&in))
    int tries = 0;
    while (XFER_AT() < sp->size && tries < 6) {
        uint32_t from = XFER_AT();
        c = easy(burl);
        char range[64];
        if (from > 0) {
            snprintf(range, sizeof range, "%u-", (unsigned)from);
            curl_easy_setopt(c, CURLOPT_RANGE, range);
            say("download: Range: bytes=%s", range);
        }
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_slot);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sk);
        sk.skip = 0;
        rc = curl_easy_perform(c);
        status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (sk.err != OTA_OK)
            break;
        if (rc == CURLE_OK && from > 0 && status == 200) {
            /* the server ignored Range: the body started at 0 and the
             * sink wrote it at `from` - cannot happen with otad; fail */
            sk.err = OTA_ERR_INSTALL;
            break;
        }
        if (rc != CURLE_OK || (status != 200 && status != 206)) {
            say("download dropped at byte %u (%s, HTTP %ld)", (unsigned)XFER_AT(),
                curl_easy_strerror(rc), status);
            if (sk.budget == 0)
                sk.budget = -1;     /* the simulated drop happens once */
            tries++;
            usleep(100000u * (unsigned)tries);
        }
    }
    if (sk.err == OTA_OK && XFER_AT() < sp->size)
        sk.err = OTA_ERR_TRUNCATED;
    if (sk.err == OTA_OK) {
        uint8_t digest[32];
        if (sk.hsz) {
            /* both hashes: the bytes as sent, then (ota_install_finish) the
             * program as installed against the statement's installed sha256 */
            ota_sha256_final(&sk.xfer, digest);
            sk.err = ota_release_check_bundle(sp, digest, sk.xfer_len);
            if (sk.err == OTA_OK) sk.err = sk.derr;
            if (sk.err == OTA_OK) sk.err = ota_hsz_finish(&hz);
            if (sk.err == OTA_OK && ota_install_offset(&in) != sp->installed_size) sk.err = OTA_ERR_BAD_BLOCK;
        } else {
            ota_install_digest(&in, digest);
            sk.err = ota_release_check_bundle(sp, digest, ota_install_offset(&in));
        }
        if (!sk.hsz || sk.err == OTA_OK) {
            ota_err fe = ota_install_finish(&in, &dev, 0);   /* wipes the slot on a bad hash */
            /* encoding 1: the bytes as sent were right, the program is not */
            if (sk.hsz && fe == OTA_ERR_HASH_MISMATCH) fe = OTA_ERR_INSTALLED_HASH;
            if (sk.err == OTA_OK)
                sk.err = fe;
        }
    }
    if (sk.hsz && sk.err != OTA_ERR_TRUNCATED && sk.err != OTA_ERR_FLASH)
        side_store("hsz", NULL, 0, 0);   /* done with (or refused): no resume from its checkpoint */
    if (sk.hsz && (sk.err == OTA_ERR_BAD_BLOCK || sk.err == OTA_ERR_TOO_LONG || sk.err == OTA_ERR_HASH_MISMATCH)) {
        /* framing or transferred hash refused: nothing written may be resumed */
        ota_err ae = ota_install_abort(&in, &dev);
        if (ae != OTA_OK) say("could not erase the candidate slot: %s", ota_strerror(ae));
    }
    if (sk.err != OTA_OK) {
        char det[200];
        snprintf(det, sizeof det, "bundle: %s (ota_err %d); still running seq %llu", ota_strerror(sk.err),
                 (int)sk.err, (unsigned long long)running);
        say("install of seq %llu failed: %s", (unsigned long long)sp->seq, ota_strerror(sk.err));
        int bad_bytes = sk.err == OTA_ERR_HASH_MISMATCH || sk.err == OTA_ERR_TOO_LONG ||
                        sk.err == OTA_ERR_BAD_BLOCK || sk.err == OTA_ERR_INSTALLED_HASH;
        report(sp->seq, bad_bytes ? "rejected" : "failed", (int)sk.err, det);
        cJSON_Delete(j);
        return bad_bytes ? 0 : -1;
    }
installed:
    report(sp->seq, "downloaded", 0, "verified in the candidate slot; rebooting into the trial");
    cJSON_Delete(j);

    /* Reboot into the candidate. */
    ota_boot_info bi;
    boot_and_run(&bi);
    return 0;
}

/* ---- commands -------------------------------------------------------------- */

static int cmd_provision(void)
{
    char err[512];
    if (!o.flash || !o.golden)
        die(2, "provision: --flash FILE and --golden FILE are required");
    if (ff_create(o.flash, o.geometry ? o.geometry : "pico", o.force, err, sizeof err) != 0)
        die(1, "%s", err);
    open_flash();
    size_t gl, pl;
    uint8_t *g = read_file(o.golden, &gl);
    ota_install in;
    ota_image img;
    memset(&img, 0, sizeof img);
    img.size = (uint32_t)gl;
    ota_sha256(img.sha256, g, gl);
    ota_err e = ota_install_begin(&in, &dev, &img, OTA_INSTALL_GOLDEN, NULL);
    if (e == OTA_OK)
        e = ota_install_write(&in, &dev, g, gl);
    if (e == OTA_OK)
        e = ota_install_finish(&in, &dev, 0);
    free(g);
    if (e != OTA_OK)
        die(1, "golden program %s: %s", o.golden, ota_strerror(e));
    if (o.program) {
        uint8_t *p = read_file(o.program, &pl);
        img.seq = o.seq ? o.seq : 1;
        img.size = (uint32_t)pl;
        ota_sha256(img.sha256, p, pl);
        e = ota_install_begin(&in, &dev, &img, 0, NULL);
        if (e == OTA_OK)
            e = ota_install_write(&in, &dev, p, pl);
        if (e == OTA_OK)
            e = ota_install_finish(&in, &dev, OTA_INSTALL_CONFIRMED);
        free(p);
        if (e != OTA_OK)
            die(1, "program %s: %s", o.program, ota_strerror(e));
    }
    if (o.cli_secret_len) {
        char hex[130];
        ota_hex_encode(hex, sizeof hex, o.cli_secret, o.cli_secret_len);
        strcat(hex, "\n");
        if (side_store("secret", hex, strlen(hex), 0600) != 0)
            die(1, "%s.secret: cannot write: %s", o.flash, strerror(errno));
    }
    printf("provisioned %s (%s): golden %zu bytes%s, slot capacity %u bytes\n", o.flash, ff.spec, gl,
           o.program ? ", program confirmed" : "", (unsigned)capacity());
    return 0;
}

/* --fleet FILE: lines "ID FLASH [SEQ=WHAT,...]"; calls fn for each device
 * with o.id, o.flash and the behaviours set.  One process simulating many
 * devices in turn (each with its own flash file) keeps a 1,000-device test
 * from being dominated by process start-up. */
static int for_each_device(int (*fn)(void))
{
    FILE *f = fopen(o.fleet, "r");
    char line[4096];
    int rc = 0;
    if (!f)
        die(1, "%s: %s", o.fleet, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char id[128], flash[3000], beh[900] = "";
        int n = sscanf(line, "%127s %2999s %899s", id, flash, beh);
        if (n < 2 || id[0] == '#')
            continue;
        o.id = id;
        o.flash = flash;
        o.n_behave = 0;
        if (n == 3)
            parse_behave(beh);
        rc |= fn();
        ff_close(&ff);
        ks_close();
    }
    fclose(f);
    o.id = NULL;
    return rc;
}

static int status_one(void)
{
    ota_status st;
    open_flash();
    ota_err e = ota_status_read(&st, &dev);
    if (e != OTA_OK)
        die(1, "status: %s", ota_strerror(e));
    if (o.fleet)
        printf("{\"id\":\"%s\",", o.id);
    else
        putchar('{');
    printf("\"state\":\"%s\",\"running_seq\":%llu,\"active\":\"%s\",\"trial\":\"%s\",\"trial_seq\":%llu,"
           "\"attempts\":%u,\"event_seq\":%llu,\"record_seq\":%u,\"pending_seq\":%llu,\"pending_bytes\":%u}\n",
           ota_state_name(st.state), (unsigned long long)ota_running_seq(&st),
           st.active == 0 ? "A" : st.active == 1 ? "B" : "golden",
           st.trial == 0 ? "A" : st.trial == 1 ? "B" : "", (unsigned long long)st.trial_seq,
           st.attempts, (unsigned long long)st.event_seq, (unsigned)st.record_seq,
           (unsigned long long)st.pending_seq, (unsigned)st.pending_bytes);
    return 0;
}

static int cmd_status(void)
{
    return o.fleet ? for_each_device(status_one) : status_one();
}

static int cmd_boot(void)
{
    ota_boot_info bi;
    open_flash();
    ota_err e = ota_boot(&bi, &dev);
    if (e != OTA_OK)
        die(1, "boot: %s", ota_strerror(e));
    printf("{\"run\":\"%s\",\"seq\":%llu,\"size\":%u,\"trial\":%s,\"attempt\":%u,\"reverted\":%s}\n",
           bi.which == OTA_RUN_GOLDEN ? "golden" : bi.which == 0 ? "A" : "B", (unsigned long long)bi.seq,
           (unsigned)bi.size, bi.trial ? "true" : "false", bi.attempt, bi.reverted ? "true" : "false");
    fprintf(stderr, "otadev: %ld flash operations\n", ff.ops);
    return 0;
}

/* One poll of one device of a fleet (after its boot). */
static int fleet_one(void)
{
    ota_boot_info bi;
    open_flash();
    boot_and_run(&bi);
    double next = 0;
    return poll_once(&next) == 0 ? 0 : 1;
}

static int cmd_run(void)
{
    if (o.fleet && o.server && o.app && (o.n_release || o.n_root) && o.n_server) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = for_each_device(fleet_one);
        curl_global_cleanup();
        return rc;
    }
    if (o.tier == OTA_TIER_MAC && !o.cli_secret_len && !o.fleet) {
        char path[1024];
        if (!o.flash) die(2, "run: --flash is required");
        side_path(path, sizeof path, "secret");
        if (access(path, R_OK) != 0) die(2, "run: --tier mac needs --secret (or otadev provision --secret)");
    }
    if (!o.flash || !o.server || !o.id || !o.app || !(o.n_release || o.n_root) || !o.n_server)
        die(2, "run: --flash (or --fleet), --server, --id, --app, --release-pub (or --root-pub) and --server-pub are required");
    open_flash();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ota_boot_info bi;
    boot_and_run(&bi);
    double backoff = 1, hint = 3600;   /* until the server suggests otherwise */
    for (int i = 0; o.polls == 0 || i < o.polls; i++) {
        int rc = poll_once(&hint);
        /* the command line wins over the server's hint */
        double next = o.interval >= 0 ? o.interval : hint;
        if (o.polls != 0 && i + 1 >= o.polls)
            break;
        double wait = rc == 0 ? next : backoff;
        backoff = rc == 0 ? 1 : (backoff * 2 > 3600 ? 3600 : backoff * 2);
        /* +-10% jitter so a fleet does not poll in lock step */
        uint32_t r;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r = 0;
        wait *= 0.9 + 0.2 * (r / 4294967295.0);
        if (wait > 0)
            usleep((useconds_t)(wait * 1e6));
    }
    curl_global_cleanup();
    fprintf(stderr, "otadev: %ld flash operations\n", ff.ops);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: otadev provision --flash FILE [--geometry G] --golden FILE [--program FILE --seq N] [--force]\n"
        "                        [--secret HEX]\n"
        "       otadev run --flash FILE --server URL --id DEVICE --app APP --release-pub K.pub\n"
        "                  --server-pub S.pub|HEX [options]\n"
        "       otadev status --flash FILE | --fleet FILE\n"
        "       otadev boot --flash FILE\n"
        "       otadev keyset --flash FILE --root-pub R.pub   stored key set as JSON\n"
        "\n"
        "A simulated device: the common/ update state machine on a flash image in FILE.\n"
        "  --geometry G         pico (default: 3 x 16 KB + 128 KB Storage, 16 KB golden)\n"
        "                       or uniform:PAGE:COUNT, with ,align=N ,erased=0|255\n"
        "  --board B            board class the device reports (default pico)\n"
        "  --polls N            polls to make (default 1; 0 = forever)\n"
        "  --interval S         seconds between polls (default: the server's hint), +-10%% jitter;\n"
        "                       network failures back off 1, 2, 4 ... s\n"
        "  --behave SEQ=WHAT    release SEQ behaves as healthy|throws|hangs|noconfirm\n"
        "                       (default: markers otadev:throws|hangs|noconfirm in its bytes)\n"
        "  --max-attempts N     trial boots before reverting (default 3)\n"
        "  --cut-power-at N     lose power at the Nth flash write/erase (half done); exit 3\n"
        "  --drop-after BYTES   lose the link after BYTES of the bundle (once); resume with Range\n"
        "  --secret HEX         the device secret (otad POST /admin/devices); with provision\n"
        "                       it is kept in FLASH.secret.  Reports (v2) carry a counter\n"
        "                       kept in FLASH.ctr and X-OTA-MAC = HMAC-SHA256(secret,\n"
        "                       \"OTAR\" || id || \"\\n\" || body); no secret, no reports\n"
        "  --tier signed|mac    verify offers by Ed25519 signatures (default) or, as stock\n"
        "                       firmware does, by the ticket's HMAC under --secret\n"
        "  --fleet FILE         run/status many devices in turn, one per line \"ID FLASH [SEQ=WHAT,..]\"\n"
        "                       (run: one boot + one poll each)\n"
        "  --root-pub R.pub     root key (repeatable): the device takes signed key sets\n"
        "                       (FORMAT.md 13) from otad, stores them in FLASH.ks and then\n"
        "                       trusts exactly the release keys of the newest one\n"
        "  --root-threshold K   root signatures a key set needs (default 1)\n"
        "  --cut-keyset-power-at N  lose power at the Nth write/erase of FLASH.ks; exit 3\n"
        "  --delta              ask for deltas (poll with d=1, FORMAT.md 2b): a delta from the\n"
        "                       confirmed program is applied into the candidate slot and\n"
        "                       checked like a bundle; any failure falls back to the bundle\n"
        "  --quiet              no progress lines\n"
        "Exit status: 0 ok, 1 failure, 2 usage, 3 power cut.\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "flash", 1, 0, 'f' }, { "server", 1, 0, 's' }, { "id", 1, 0, 'i' }, { "app", 1, 0, 'a' },
        { "board", 1, 0, 'b' }, { "geometry", 1, 0, 'g' }, { "golden", 1, 0, 'G' },
        { "program", 1, 0, 'p' }, { "seq", 1, 0, 'q' }, { "force", 0, 0, 'F' }, { "quiet", 0, 0, 'Q' },
        { "polls", 1, 0, 'n' }, { "interval", 1, 0, 't' }, { "behave", 1, 0, 'B' },
        { "cut-power-at", 1, 0, 'c' }, { "drop-after", 1, 0, 'd' }, { "max-attempts", 1, 0, 'm' },
        { "fleet", 1, 0, 'L' }, { "secret", 1, 0, 'K' }, { "tier", 1, 0, 'T' }, { "release-pub", 1, 0, 'r' }, { "server-pub", 1, 0, 'S' }, { "help", 0, 0, 'h' },
        { "delta", 0, 0, 'D' }, { "root-pub", 1, 0, 'R' }, { "root-threshold", 1, 0, 'k' }, { "cut-keyset-power-at", 1, 0, 'C' },
        { 0, 0, 0, 0 }
    };
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0) { printf("otadev %s\n", OTA_VERSION); return 0; }  /* i16 hook */
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    o.board = "pico";
    o.polls = 1;
    o.interval = -1;
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'f': o.flash = optarg; break;
        case 's': o.server = optarg; break;
        case 'i': o.id = optarg; break;
        case 'a': o.app = optarg; break;
        case 'b': o.board = optarg; break;
        case 'g': o.geometry = optarg; break;
        case 'G': o.golden = optarg; break;
        case 'p': o.program = optarg; break;
        case 'q': o.seq = strtoull(optarg, NULL, 10); break;
        case 'F': o.force = 1; break;
        case 'Q': o.quiet = 1; break;
        case 'D': o.delta = 1; break;
        case 'n': o.polls = atoi(optarg); break;
        case 't': o.interval = atof(optarg); break;
        case 'B': parse_behave(optarg); break;
        case 'c': o.cut_at = atol(optarg); break;
        case 'd': o.drop_after = atol(optarg); break;
        case 'm': o.max_attempts = atoi(optarg); break;
        case 'L': o.fleet = optarg; break;
        case 'K':
            if (strlen(optarg) != 64 || ota_hex_decode(o.cli_secret, sizeof o.cli_secret, &o.cli_secret_len, optarg, 64) != OTA_OK)
                die(2, "--secret: 64 hex characters (the device secret otad showed once)");
            break;
        case 'T':
            if (strcmp(optarg, "signed") == 0) o.tier = OTA_TIER_SIGNED;
            else if (strcmp(optarg, "mac") == 0) o.tier = OTA_TIER_MAC;
            else die(2, "--tier: signed or mac");
            break;
        case 'r': add_key(o.release_keys, &o.n_release, optarg); break;
        case 'S': add_key(o.server_keys, &o.n_server, optarg); break;
        case 'R': add_key(o.root_keys, &o.n_root, optarg); break;
        case 'k': o.root_threshold = atoi(optarg); break;
        case 'C': o.ks_cut_at = atol(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (o.root_threshold < 0 || o.root_threshold > OTA_KEYSET_MAX_THRESHOLD)
        die(2, "--root-threshold: 1..%d", OTA_KEYSET_MAX_THRESHOLD);
    if (o.max_attempts < 0 || o.max_attempts > 250 || o.polls < 0)
        die(2, "bad --max-attempts or --polls");
    if (strcmp(cmd, "provision") == 0)
        return cmd_provision();
    if (strcmp(cmd, "run") == 0)
        return cmd_run();
    if (strcmp(cmd, "status") == 0)
        return cmd_status();
    if (strcmp(cmd, "boot") == 0)
        return cmd_boot();
    if (strcmp(cmd, "keyset") == 0)
        return cmd_keyset_show();
    usage(stderr);
    return 2;
}
