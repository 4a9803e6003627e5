/*
 * manifest.c: read the JSON manifest of GET /manifest/<id> (FORMAT.md
 * section 6) for `otasign verify --manifest`: decode the binary statement,
 * ticket and mac, and check that every readable copy agrees with the bytes.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_encode.h"
#include "manifest.h"

static const char *str(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Compare an optional readable member with the expected text; 0 when it
 * agrees or is absent. */
static int same_str(const cJSON *j, const char *path, const char *name, const char *want, size_t wlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!v) return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) != wlen || memcmp(v->valuestring, want, wlen) != 0) {
        util_err("%s: member \"%s\" disagrees with the signed bytes (%.*s)", path, name, (int)wlen, want);
        return -1;
    }
    return 0;
}

static int same_hex(const cJSON *j, const char *path, const char *name, const uint8_t *b, size_t n)
{
    char h[2 * 64 + 1];
    util_hex(h, b, n);
    return same_str(j, path, name, h, 2 * n);
}

/* cJSON keeps numbers as doubles: exact up to 2^53, as close as a double
 * gets above.  A member that is not a number disagrees. */
static int same_u64(const cJSON *j, const char *path, const char *name, uint64_t want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != (double)want) {
        util_err("%s: member \"%s\" disagrees with the signed bytes (%" PRIu64 ")", path, name, want);
        return -1;
    }
    return 0;
}

static int b64(const char *path, const char *name, const char *s, uint8_t *out, size_t cap, size_t *len)
{
    if (!s) { util_err("%s: member \"%s\" missing or not a string", path, name); return -1; }
    if (ota_base64_decode(out, cap, len, s, strlen(s), OTA_B64_STD) != OTA_OK) {
        util_err("%s: member \"%s\" is not standard base64 of at most %zu bytes", path, name, cap);
        return -1;
    }
    return 0;
}

int manifest_load(manifest_bin *m, const char *path)
{
    int rc = -1;
    uint8_t *buf = NULL;
    size_t len = 0;
    cJSON *j = NULL;
    ota_statement st;
    ota_ticket t;
    ota_err e;
    memset(m, 0, sizeof *m);
    if (util_read_file(path, 1 << 20, &buf, &len) != 0) goto out;
    j = cJSON_ParseWithLength((const char *)buf, len);
    if (!cJSON_IsObject(j)) { util_err("%s: not a JSON object", path); goto out; }
    if (b64(path, "statement", str(j, "statement"), m->statement, sizeof m->statement, &m->statement_len) != 0 ||
        b64(path, "ticket", str(j, "ticket"), m->ticket, sizeof m->ticket, &m->ticket_len) != 0)
        goto out;
    const char *mac = str(j, "mac");
    if (mac) {
        size_t ml = 0;
        if (ota_hex_decode(m->mac, sizeof m->mac, &ml, mac, strlen(mac)) != OTA_OK || ml != OTA_MAC_SIZE) {
            util_err("%s: member \"mac\" is not %d hex characters", path, 2 * OTA_MAC_SIZE);
            goto out;
        }
        m->has_mac = 1;
    }
    const char *dev = str(j, "device"), *nonce = str(j, "nonce");
    if (dev && strlen(dev) < sizeof m->device) strcpy(m->device, dev);
    if (nonce && strlen(nonce) < sizeof m->nonce_hex) strcpy(m->nonce_hex, nonce);

    /* Readable copies against the bytes (structure only: the signatures are
     * the caller's decision). */
    e = ota_statement_parse(&st, m->statement, m->statement_len);
    if (e == OTA_OK && !st.sig) e = OTA_ERR_TRUNCATED;
    if (e != OTA_OK) { util_err("%s: statement: %s (%s)", path, ota_strerror(e), util_err_name(e)); goto out; }
    e = ota_ticket_parse(&t, m->ticket, m->ticket_len);
    if (e == OTA_OK && !t.sig) e = OTA_ERR_TRUNCATED;
    if (e != OTA_OK) { util_err("%s: ticket: %s (%s)", path, ota_strerror(e), util_err_name(e)); goto out; }
    char url[8 + 64 + 1], sha[65];
    util_hex(sha, st.sha256, 32);
    snprintf(url, sizeof url, "/bundle/%s", sha);
    const char *u = str(j, "url");
    if (!u) { util_err("%s: member \"url\" missing", path); goto out; }
    size_t ul = strlen(u);
    /* Relative (/bundle/<sha>) or absolute ending in it (a CDN). */
    if (ul < strlen(url) || strcmp(u + ul - strlen(url), url) != 0) {
        util_err("%s: member \"url\" does not name the bundle /bundle/%s", path, sha);
        goto out;
    }
    if (!cJSON_GetObjectItemCaseSensitive(j, "size") || !cJSON_GetObjectItemCaseSensitive(j, "sha256") ||
        !cJSON_GetObjectItemCaseSensitive(j, "app") || !cJSON_GetObjectItemCaseSensitive(j, "seq")) {
        util_err("%s: one of the required members app, seq, size, sha256 is missing", path);
        goto out;
    }
    if (same_str(j, path, "app", st.app, st.app_len) || same_str(j, path, "board", st.board, st.board_len) ||
        same_u64(j, path, "seq", st.seq) || same_str(j, path, "label", st.label, st.label_len) ||
        same_u64(j, path, "created", st.created) || same_hex(j, path, "key_id", st.key_id, OTA_KEY_ID_SIZE) ||
        same_str(j, path, "encoding", ota_encoding_name(st.encoding) ? ota_encoding_name(st.encoding) : "?",
                 strlen(ota_encoding_name(st.encoding) ? ota_encoding_name(st.encoding) : "?")) ||
        same_u64(j, path, "size", st.size) || same_u64(j, path, "installed_size", st.installed_size) ||
        same_hex(j, path, "sha256", st.sha256, 32) ||
        same_hex(j, path, "installed_sha256", st.installed_sha256, 32) ||
        same_hex(j, path, "source_sha256", st.source_sha256, 32) ||
        same_str(j, path, "device", t.device_id, t.device_id_len) ||
        same_hex(j, path, "nonce", t.nonce, t.nonce_len) || same_u64(j, path, "issued", t.issued))
        goto out;
    const cJSON *poll = cJSON_GetObjectItemCaseSensitive(j, "poll");
    if (!cJSON_IsNumber(poll) || poll->valuedouble < 1) { util_err("%s: member \"poll\" missing or below 1", path); goto out; }
    rc = 0;
out:
    cJSON_Delete(j);
    free(buf);
    return rc;
}
