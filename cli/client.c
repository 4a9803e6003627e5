/*
 * client.c: server and token resolution, one admin request with libcurl,
 * and error messages that say what to do next (see client.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "client.h"
#include "curl_dl.h"

#define MAX_ANSWER (64u * 1024 * 1024)

/* ---- config file ------------------------------------------------------------ */

static char *config_path(void)
{
    const char *e = getenv("OTASIGN_CONFIG");
    if (e && *e) return strdup(e);
    const char *x = getenv("XDG_CONFIG_HOME");
    if (x && *x) return util_path(x, "otasign/config");
    const char *h = getenv("HOME");
    if (h && *h) return util_path(h, ".config/otasign/config");
    return NULL;
}

/* The value of `key = value` in the config file (malloc'd), or NULL. */
static char *config_get(const char *key, char **path_out)
{
    char *path = config_path();
    if (!path) return NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT || getenv("OTASIGN_CONFIG"))
            util_err("%s: cannot open the config file: %s", path, strerror(errno));
        free(path);
        return NULL;
    }
    char line[4096], *val = NULL;
    size_t kl = strlen(key);
    while (!val && fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || strncmp(p, key, kl) != 0) continue;
        p += kl;
        while (*p == ' ' || *p == '\t') p++;
        if (*p != '=') continue;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strcspn(p, "\r\n");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n) val = strndup(p, n);
    }
    fclose(f);
    if (val && path_out) *path_out = path;
    else free(path);
    return val;
}

static int read_token_file(const char *path, char **tok)
{
    uint8_t *d = NULL;
    size_t n = 0;
    if (util_read_file(path, 4096, &d, &n) != 0) return -1;
    size_t l = 0;
    while (l < n && d[l] != '\n' && d[l] != '\r') l++;
    d[l] = 0;
    if (l == 0) {
        util_err("%s: the token file is empty (otad's token is in DATA/admin.token)", path);
        free(d);
        return -1;
    }
    *tok = (char *)d;
    return 0;
}

int client_init(client *c, const client_opts *o)
{
    memset(c, 0, sizeof *c);
    c->json = o->json;
    char *cfgpath = NULL;
    const char *e;
    if (o->server) { c->server = strdup(o->server); c->server_from = "--server"; }
    else if ((e = getenv("OTASIGN_SERVER")) && *e) { c->server = strdup(e); c->server_from = "$OTASIGN_SERVER"; }
    else if ((c->server = config_get("server", NULL))) c->server_from = "the config file";
    if (!c->server) {
        util_err("no server: give --server http://HOST:PORT, set OTASIGN_SERVER, or put "
                 "`server = URL` in ~/.config/otasign/config");
        return EXIT_USAGE;
    }
    if (strncmp(c->server, "http://", 7) != 0 && strncmp(c->server, "https://", 8) != 0) {
        util_err("server '%s' (from %s): expected http://HOST:PORT or https://...", c->server,
                 c->server_from);
        client_free(c);
        return EXIT_USAGE;
    }
    size_t n = strlen(c->server);
    while (n > 8 && c->server[n - 1] == '/') c->server[--n] = 0;

    char *tf = NULL;
    if (o->token_file) { tf = strdup(o->token_file); c->token_from = "--token-file"; }
    else if ((e = getenv("OTASIGN_TOKEN_FILE")) && *e) { tf = strdup(e); c->token_from = "$OTASIGN_TOKEN_FILE"; }
    else if ((e = getenv("OTASIGN_TOKEN")) && *e) { c->token = strdup(e); c->token_from = "$OTASIGN_TOKEN"; }
    else if ((e = getenv("OTASIGN_ADMIN_TOKEN")) && *e) { c->token = strdup(e); c->token_from = "$OTASIGN_ADMIN_TOKEN"; }
    else if ((tf = config_get("token-file", &cfgpath))) c->token_from = "token-file in the config file";
    if (tf) {
        /* A relative token-file in the config file is relative to the config file. */
        if (cfgpath && tf[0] != '/') {
            char *slash = strrchr(cfgpath, '/');
            if (slash) {
                *slash = 0;
                char *abs = util_path(cfgpath, tf);
                free(tf);
                tf = abs;
            }
        }
        int r = tf ? read_token_file(tf, &c->token) : -1;
        free(tf);
        free(cfgpath);
        if (r != 0) { client_free(c); return EXIT_FAIL; }
    }
    if (!c->token) {
        util_err("no admin token: give --token-file FILE (otad writes DATA/admin.token), set "
                 "OTASIGN_TOKEN_FILE or OTASIGN_TOKEN, or put `token-file = FILE` in "
                 "~/.config/otasign/config");
        client_free(c);
        return EXIT_USAGE;
    }
    return 0;
}

void client_free(client *c)
{
    if (c->token) { sodium_memzero(c->token, strlen(c->token)); free(c->token); }
    free(c->server);
    memset(c, 0, sizeof *c);
}

/* ---- requests ------------------------------------------------------------------ */

typedef struct rbuf { char *p; size_t len, cap; int over; } rbuf;

static size_t on_body(char *d, size_t sz, size_t nm, void *arg)
{
    rbuf *b = arg;
    size_t n = sz * nm;
    if (b->len + n + 1 > MAX_ANSWER) { b->over = 1; return 0; }
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->len + n + 1) c *= 2;
        char *q = realloc(b->p, c);
        if (!q) { b->over = 1; return 0; }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
    return n;
}

int client_call(client *c, const char *method, const char *path, const char *body,
                size_t body_len, client_resp *r)
{
    memset(r, 0, sizeof *r);
    const otc_curl_api *cu = otc_curl();
    if (!cu) return -1;
    CURL *h = cu->easy_init();
    if (!h) { util_err("cannot start libcurl"); return -1; }
    size_t ul = strlen(c->server) + strlen(path) + 1, al = strlen(c->token) + 32;
    char *url = malloc(ul), *auth = malloc(al);
    struct curl_slist *hd = NULL;
    rbuf b = {0};
    int rc = -1;
    if (!url || !auth) { util_err("out of memory"); goto out; }
    snprintf(url, ul, "%s%s", c->server, path);
    snprintf(auth, al, "Authorization: Bearer %s", c->token);
    hd = cu->slist_append(hd, auth);
    if (body) hd = cu->slist_append(hd, "Content-Type: application/json");
    hd = cu->slist_append(hd, "Accept: application/json");
    cu->easy_setopt(h, CURLOPT_URL, url);
    cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    cu->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        cu->easy_setopt(h, CURLOPT_POSTFIELDS, body);
        cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    cu->easy_setopt(h, CURLOPT_WRITEDATA, &b);
    cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    cu->easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode e = cu->easy_perform(h);
    if (e != CURLE_OK) {
        if (b.over) util_err("%s: answer too large", url);
        else if (e == CURLE_COULDNT_CONNECT || e == CURLE_COULDNT_RESOLVE_HOST ||
                 e == CURLE_OPERATION_TIMEDOUT)
            util_err("cannot reach otad at %s (%s): is otad running there? check --server "
                     "(this one came from %s)", c->server, cu->easy_strerror(e), c->server_from);
        else
            util_err("%s %s: %s", method, url, cu->easy_strerror(e));
        goto out;
    }
    cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = b.p ? b.p : strdup("");
    r->len = b.len;
    b.p = NULL;
    if (!r->body) { util_err("out of memory"); goto out; }
    r->json = cJSON_ParseWithLength(r->body, r->len);
    rc = 0;
out:
    cu->slist_free_all(hd);
    cu->easy_cleanup(h);
    free(url);
    if (auth) { sodium_memzero(auth, strlen(auth)); free(auth); }
    free(b.p);
    return rc;
}

void client_resp_free(client_resp *r)
{
    cJSON_Delete(r->json);
    free(r->body);
    memset(r, 0, sizeof *r);
}

const char *client_err_text(const client_resp *r)
{
    const char *m = cj_str(r->json, "message", NULL);
    if (m) return m;
    m = cj_str(r->json, "error", NULL);
    if (m) return m;
    return r->body ? r->body : "";
}

int client_fail(client *c, const client_resp *r, const char *what)
{
    const char *msg = client_err_text(r);
    const char *code = cj_str(r->json, "error", "");
    switch (r->status) {
    case 401:
    case 403:
        util_err("%s: otad at %s refused the admin token (%ld): check --token-file (this token "
                 "came from %s); otad's token is DATA/admin.token unless it was started with "
                 "--admin-token-file or $OTAD_ADMIN_TOKEN", what, c->server, r->status, c->token_from);
        break;
    case 404:
        if (strcmp(code, "not_found") == 0)
            util_err("%s: %s has no such endpoint (404): is this otad, and as new as this otasign?",
                     what, c->server);
        else
            util_err("%s: %s (404)", what, msg);
        break;
    case 413:
        util_err("%s: otad refused the upload as too large (413): start otad with a larger "
                 "--max-upload", what);
        break;
    default:
        if (r->status >= 500)
            util_err("%s: otad failed (%ld): %s; see otad's log", what, r->status, msg);
        else
            util_err("%s: otad answered %ld: %s", what, r->status, msg);
    }
    return EXIT_FAIL;
}

/* ---- JSON helpers ------------------------------------------------------------------- */

const cJSON *cj_get(const cJSON *o, const char *name)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

double cj_num(const cJSON *o, const char *name, double dflt)
{
    const cJSON *v = cj_get(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *cj_str(const cJSON *o, const char *name, const char *dflt)
{
    const cJSON *v = cj_get(o, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

long long cj_time(const cJSON *o, const char *name)
{
    const cJSON *v = cj_get(o, name);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d > 1e12) d /= 1000;   /* milliseconds */
        return (long long)d;
    }
    if (cJSON_IsString(v) && v->valuestring) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(v->valuestring, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end) return 0;
        long long t = (long long)timegm(&tm);
        while (*end == '.' || (*end >= '0' && *end <= '9')) end++;   /* fractions */
        if (*end == '+' || *end == '-') {                              /* offset */
            int hh = 0, mm = 0;
            if (sscanf(end + 1, "%2d:%2d", &hh, &mm) >= 1)
                t -= (*end == '+' ? 1 : -1) * (hh * 3600LL + mm * 60LL);
        }
        return t;
    }
    return 0;
}

void fmt_ago(char *out, size_t cap, long long when)
{
    if (when <= 0) { snprintf(out, cap, "never"); return; }
    long long d = (long long)time(NULL) - when;
    if (d < 0) d = 0;
    if (d < 120) snprintf(out, cap, "%llds ago", d);
    else if (d < 7200) snprintf(out, cap, "%lldm ago", d / 60);
    else if (d < 172800) snprintf(out, cap, "%lldh ago", d / 3600);
    else snprintf(out, cap, "%lldd ago", d / 86400);
}

char *client_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = malloc(3 * n + 1), *p = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':') {
            *p++ = (char)ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = 0;
    return o;
}
