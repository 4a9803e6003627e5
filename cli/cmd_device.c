/*
 * cmd_device.c: `otasign device add ID ...` registers a device with otad
 * (POST /admin/devices), which makes its per-device secret and shows it
 * once, and writes the one-time provisioning script for that device: the
 * Espruino agent (device/espruino/, minified here), its configuration with
 * the secret and the trusted keys, the boot code and the golden program.
 * The script is uploaded once with the Espruino IDE or CLI, then deleted.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "curl_dl.h"
#include "cmd_device.h"
#include "cmd_cost.h"
#include "jsmin.h"
#include "ota_crypto.h"
#include "ota_encode.h"
#include "util.h"

#define SECRET_SIZE 32
#define MAX_ANSWER (64 * 1024)
#define MAX_AGENT_FILE (256 * 1024)

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign device add ID --server URL --app NAME [options]\n"
        "       otasign device cost ID [--json]   bytes the device spent on the wire, per update\n"
        "                                         and idle (see otasign device cost --help)\n"
        "\n"
        "Register device ID with otad (POST /admin/devices): the server makes the\n"
        "device's secret and shows it once.  Writes the one-time provisioning script\n"
        "(agent, configuration with the secret and keys, boot code, golden program)\n"
        "to upload to the board with the Espruino IDE or CLI; delete it afterwards.\n"
        "\n"
        "  --server URL            otad's admin address, http://HOST:PORT or https://...\n"
        "  --token-file FILE       admin bearer token, first line (else $OTASIGN_ADMIN_TOKEN)\n"
        "  --app NAME              the app this device runs (required)\n"
        "  --board NAME            its board class (releases for other boards are refused)\n"
        "  --device-server URL     address the device polls, http://HOST[:PORT]\n"
        "                          (default: --server; must be plain http)\n"
        "  --out FILE              the script (default ID.provision.js, mode 0600)\n"
        "  --force                 replace FILE if it exists\n"
        "  --release-pub FILE      trusted release key (repeatable): a board with the\n"
        "                          Ed25519 verifier built in verifies both signatures\n"
        "  --golden FILE           golden recovery program (default: the agent's own; put\n"
        "                          the code that brings a GSM modem up in front of ota.golden())\n"
        "  --agent-dir DIR         where ota.js, boot0.js, bootcde.js, golden.js are\n"
        "                          (default: $OTASIGN_AGENT_DIR, else PREFIX/share/otasign/espruino\n"
        "                          of an installed otasign, else device/espruino of the source\n"
        "                          tree this otasign was built in, else ./device/espruino)\n"
        "  --no-minify             upload the agent as written\n"
        "  --poll SECONDS          default poll interval (3600); the golden program and\n"
        "                          otad's suggestions are held to at least min(SECONDS, 60)\n"
        "  --nudge PORT            listen for UDP nudges (otad --nudge, otasign nudge) on\n"
        "                          PORT: a nudge only makes the board poll now (off by default)\n"
        "  --trial SECONDS         time a new program has to call ota.confirm() (600)\n"
        "  --tries N               trial starts before going back (3)\n"
        "  --max BYTES             largest bundle accepted (16000: a Pico's 48 KB Storage)\n"
        "\n"
        "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

/* ---- small growable text buffer ----------------------------------------- */
typedef struct buf { char *p; size_t len, cap; int oom; } buf;

static void badd(buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 1024;
        while (c < b->len + n + 1) c *= 2;
        char *q = realloc(b->p, c);
        if (!q) { b->oom = 1; return; }
        b->p = q; b->cap = c;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void bstr(buf *b, const char *s) { badd(b, s, strlen(s)); }
static void bfmt(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bfmt(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) { b->oom = 1; return; }
    badd(b, tmp, (size_t)n);
}
/* A JavaScript/JSON string literal of s[0..n): quotes, \\, control and
 * non-ASCII bytes escaped, so the script is plain ASCII whatever it holds. */
static void bjs(buf *b, const char *s, size_t n)
{
    badd(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[8];
        if (c == '"' || c == '\\') { e[0] = '\\'; e[1] = (char)c; badd(b, e, 2); }
        else if (c == '\n') badd(b, "\\n", 2);
        else if (c < 0x20 || c >= 0x7f) { snprintf(e, sizeof e, "\\u%04x", c); badd(b, e, 6); }
        else badd(b, (const char *)&c, 1);
    }
    badd(b, "\"", 1);
}
static void bwipe(buf *b)
{
    if (b->p) sodium_memzero(b->p, b->cap);
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- inputs --------------------------------------------------------------- */

/* The agent directory: option, env, the source tree of this binary
 * (BUILD/bin/otasign -> ../../device/espruino), then ./device/espruino. */
static char *agent_dir(const char *opt)
{
    if (opt) return strdup(opt);
    const char *e = getenv("OTASIGN_AGENT_DIR");
    if (e && *e) return strdup(e);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        /* An installed otasign: PREFIX/bin/otasign -> PREFIX/share/otasign/espruino
         * (make install puts the agent there; i16 hook). */
        static const char rel[] = "/../share/otasign/espruino/ota.js";
        char *inst = malloc(strlen(exe) + sizeof rel), *sl;
        if (inst) {
            strcpy(inst, exe);
            if ((sl = strrchr(inst, '/'))) {
                memcpy(sl, rel, sizeof rel);
                if (util_exists(inst)) { *strrchr(inst, '/') = 0; return inst; }
            }
        }
        free(inst);
        for (int up = 0; up < 3; up++) {      /* strip otasign, bin, BUILD */
            char *s = strrchr(exe, '/');
            if (!s) break;
            *s = 0;
        }
        char *d = util_path(exe, "device/espruino");
        char *probe = d ? util_path(d, "ota.js") : NULL;
        int ok = probe && util_exists(probe);
        free(probe);
        if (ok) return d;
        free(d);
        /* build/asan/bin/otasign: one level more */
        char *s = strrchr(exe, '/');
        if (s) {
            *s = 0;
            d = util_path(exe, "device/espruino");
            probe = d ? util_path(d, "ota.js") : NULL;
            ok = probe && util_exists(probe);
            free(probe);
            if (ok) return d;
            free(d);
        }
    }
    return strdup("device/espruino");
}

/* Read DIR/NAME (or PATH when dir is NULL), minified unless raw. */
static int read_js(const char *dir, const char *name, int minify, uint8_t **out, size_t *len,
                   size_t *raw_len)
{
    char *path = dir ? util_path(dir, name) : strdup(name);
    uint8_t *src = NULL;
    size_t n = 0;
    int rc = -1;
    if (!path) return -1;
    if (util_read_file(path, MAX_AGENT_FILE, &src, &n) != 0) goto out;
    if (raw_len) *raw_len = n;
    if (!minify) { *out = src; *len = n; src = NULL; rc = 0; goto out; }
    jsmin_opts o;
    jsmin_opts_default(&o);
    int warn = 0, r = jsmin_run(path, src, n, &o, out, len, &warn, stderr);
    if (r != 0) {
        util_err("%s: the minifier refused it (try --no-minify)", path);
        goto out;
    }
    rc = 0;
out:
    free(src);
    free(path);
    return rc;
}

/* First line of a file (token), without the line end. */
static int read_token(const char *path, char **tok)
{
    uint8_t *d = NULL;
    size_t n = 0;
    if (util_read_file(path, 4096, &d, &n) != 0) return -1;
    size_t l = 0;
    while (l < n && d[l] != '\n' && d[l] != '\r') l++;
    d[l] = 0;
    if (l == 0) { util_err("%s: empty token file", path); free(d); return -1; }
    *tok = (char *)d;
    return 0;
}

/* http://HOST[:PORT][/] -> host, port.  0 ok, -1 bad. */
static int parse_http_url(const char *url, char *host, size_t cap, unsigned *port)
{
    if (strncmp(url, "http://", 7) != 0) return -1;
    const char *h = url + 7, *end = h + strcspn(h, ":/");
    size_t hl = (size_t)(end - h);
    if (hl == 0 || hl >= cap) return -1;
    for (size_t i = 0; i < hl; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return -1;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = 80;
    if (*end == ':') {
        char *e;
        unsigned long p = strtoul(end + 1, &e, 10);
        if (e == end + 1 || p == 0 || p > 65535) return -1;
        *port = (unsigned)p;
        end = e;
    }
    if (*end == '/') end++;
    return *end ? -1 : 0;
}

/* The 64-hex value of string member `name` of the JSON object j, or -1. */
static int json_hex32(const cJSON *j, const char *name, uint8_t out[32])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    size_t got = 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 64 ||
        ota_hex_decode(out, 32, &got, v->valuestring, 64) != OTA_OK || got != 32)
        return -1;
    return 0;
}

/* ---- the admin call --------------------------------------------------------- */
static size_t on_body(char *d, size_t sz, size_t n, void *arg)
{
    buf *b = arg;
    if (b->len + sz * n > MAX_ANSWER) return 0;
    badd(b, d, sz * n);
    return b->oom ? 0 : sz * n;
}

/* POST {"id":..,"secret":..} to URL/admin/devices; *status and the body. */
static int admin_post(const char *server, const char *token, const char *id, int secret,
                      long *status, buf *answer)
{
    const otc_curl_api *cu = otc_curl();
    if (!cu) return -1;
    CURL *c = cu->easy_init();
    struct curl_slist *h = NULL;
    buf url = {0}, body = {0}, auth = {0};
    int rc = -1;
    if (!c) { util_err("cannot start libcurl"); return -1; }
    bstr(&url, server);
    while (url.len && url.p[url.len - 1] == '/') url.p[--url.len] = 0;
    bstr(&url, "/admin/devices");
    bstr(&body, "{\"id\":");
    bjs(&body, id, strlen(id));
    bstr(&body, secret ? ",\"secret\":true}" : ",\"secret\":false}");
    bstr(&auth, "Authorization: Bearer ");
    bstr(&auth, token);
    if (url.oom || body.oom || auth.oom) { util_err("out of memory"); goto out; }
    h = cu->slist_append(h, auth.p);
    h = cu->slist_append(h, "Content-Type: application/json");
    cu->easy_setopt(c, CURLOPT_URL, url.p);
    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cu->easy_setopt(c, CURLOPT_POSTFIELDS, body.p);
    cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    cu->easy_setopt(c, CURLOPT_WRITEDATA, answer);
    cu->easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode e = cu->easy_perform(c);
    if (e != CURLE_OK) { util_err("%s: %s", url.p, cu->easy_strerror(e)); goto out; }
    cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    rc = 0;
out:
    cu->slist_free_all(h);
    cu->easy_cleanup(c);
    free(url.p);
    free(body.p);
    bwipe(&auth);
    return rc;
}

/* ---- the script ----------------------------------------------------------- *
 * The script is typed into the board's console by the Espruino IDE or CLI, so
 * it is written for that path (device/espruino/README.md, "How the script
 * survives the console"):
 *  - Every line is at most PROV_LINE_MAX bytes.  The console's input FIFO holds
 *    1024 bytes (IOBUFFERMASK+1 on a Pico and on Linux) and fills only while the
 *    interpreter executes a line; EspruinoTools waits 250 ms after each line
 *    `require("Storage").write(...)`, so at most one or two such lines arrive
 *    while one executes: two lines of 400 bytes (plus 2 bytes per 64-byte USB
 *    or telnet event) fit even where nothing throttles the sender.
 *  - Each file goes into a staging file (.otap0 ...) in pieces, written at their
 *    offsets into a file pre-allocated to its full size; nothing the board runs
 *    is touched while the pieces arrive.
 *  - Every piece re-arms a 10 s watchdog: an upload cut short prints
 *    "otasign: provisioning FAILED: the upload stopped before its end ...";
 *    every fifth of the bytes prints "otasign: received N of M bytes", and
 *    each file checked and installed prints a line: the espruino CLI leaves
 *    after 500 ms of silence, so it stays to show the end on most boards.
 *  - The last line runs otaC() (defined at the top): it checks the length and
 *    SHA-256 of every staged file against the values in this script, and only
 *    then replaces the old files, checks the copies, erases the staging files
 *    and restarts.  A cut or damaged upload prints "otasign: provisioning
 *    FAILED: ... upload again" and changes nothing the board runs.
 *  - Only printable ASCII: bytes outside it are written as \xHH, which the
 *    lexer copies verbatim (a \u00HH escape would be UTF-8 encoded on builds
 *    with ESPR_UNICODE_SUPPORT, doubling every byte >= 0x80). */
#define PROV_LINE_MAX 400
#define PROV_FILES 5

typedef struct prov_file {
    const char *name;        /* the Storage file it becomes */
    const uint8_t *data;
    size_t len;
} prov_file;

/* Bytes of the JavaScript string literal form of byte c (see prov_esc). */
static size_t prov_esc_len(unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\n') return 2;
    if (c < 0x20 || c >= 0x7f) return 4;
    return 1;
}
static void prov_esc(buf *b, unsigned char c)
{
    char e[8];
    if (c == '"' || c == '\\') { e[0] = '\\'; e[1] = (char)c; badd(b, e, 2); }
    else if (c == '\n') badd(b, "\\n", 2);
    else if (c < 0x20 || c >= 0x7f) { snprintf(e, sizeof e, "\\x%02x", c); badd(b, e, 4); }
    else badd(b, (const char *)&c, 1);
}

/* The lines require("Storage").write(".otapI","piece",OFFSET,SIZE);otaW() of
 * file i (EspruinoTools pauses 250 ms after each line that matches
 * /require\("Storage"\).write\([^\n]*\);?\n/, which these do). */
static void prov_pieces(buf *s, int i, const prov_file *f, size_t *sent, size_t total)
{
    size_t off = 0;
    while (off < f->len) {
        char head[64], tail[48];
        int hn = snprintf(head, sizeof head, "require(\"Storage\").write(\".otap%d\",\"", i);
        /* the tail is longest with the largest offset: reserve for that */
        int tn = snprintf(tail, sizeof tail, "\",%zu,%zu);otaW(%zu)\n", f->len, f->len, total);
        size_t room = PROV_LINE_MAX - (size_t)hn - (size_t)tn, used = 0, end = off;
        while (end < f->len && used + prov_esc_len(f->data[end]) <= room)
            used += prov_esc_len(f->data[end++]);
        badd(s, head, (size_t)hn);
        for (size_t k = off; k < end; k++) prov_esc(s, f->data[k]);
        *sent += end - off;
        bfmt(s, "\",%zu,%zu);otaW(%zu)\n", off, f->len, *sent);
        off = end;
    }
}

/* The whole script (layout above). */
static void write_script(buf *s, const char *id, const prov_file *files, size_t agent_len,
                         size_t agent_raw, int minified)
{
    size_t total = 0, sent = 0;
    bfmt(s,
         "// otasign provisioning for device %s: upload ONCE to the board (Espruino IDE\n"
         "// with \"Reset before Send\", or the espruino CLI), then DELETE this file:\n"
         "// it holds the device's secret.  Agent %zu bytes (%s %zu).\n",
         id, agent_len, minified ? "minified from" : "as written,", agent_raw);
    bstr(s,
         "// The files arrive in pieces, in lines of at most 400 bytes; the last line\n"
         "// checks them (length, SHA-256), only then installs them and restarts.\n"
         "// Success ends with \"otasign: provisioned, restarting\"; a cut or damaged\n"
         "// upload prints \"otasign: provisioning FAILED: ...\", changes nothing the\n"
         "// board runs, and is simply uploaded again.\n");
    /* otaW(bytes so far), called by every piece: re-arms a watchdog (an upload
     * that stops says so) and prints progress every fifth of the way (which
     * also keeps the espruino CLI, which leaves after 500 ms of silence,
     * listening until the board has answered) */
    for (int i = 0; i < PROV_FILES; i++) total += files[i].len;
    bstr(s, "clearTimeout();clearInterval();var otaT=0,otaD=0;\n");
    bfmt(s, "function otaW(n){if(otaT)clearTimeout(otaT);otaT=setTimeout(function(){otaT=0;"
            "print(\"otasign: provisioning FAILED: the upload stopped before its end; "
            "nothing was changed: upload again\")},10000);var k=Math.floor(n*5/%zu);"
            "if(k>otaD){otaD=k;print(\"otasign: received \"+n+\" of %zu bytes\")}}otaW(0);\n",
         total, total);
    bstr(s,
         "function otaC(){var S=require(\"Storage\"),e=[],n=0,P=[\n");
    for (int i = 0; i < PROV_FILES; i++) {
        uint8_t h[crypto_hash_sha256_BYTES];
        char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        crypto_hash_sha256(h, files[i].data, files[i].len);
        sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
        bfmt(s, "[\".otap%d\",", i);
        bjs(s, files[i].name, strlen(files[i].name));
        bfmt(s, ",%zu,\"%s\"]%s\n", files[i].len, b64, i + 1 < PROV_FILES ? "," : "];");
    }
    bstr(s,
         "function h(d){return btoa(E.toString(require(\"crypto\").SHA256(d)))}\n"
         "P.forEach(function(p){var d=S.read(p[0]);if(d===undefined)e.push(p[1]+\" missing\");"
         "else if(d.length!=p[2])e.push(p[1]+\" \"+d.length+\" of \"+p[2]+\" bytes\");"
         "else if(h(d)!=p[3])e.push(p[1]+\" damaged (SHA-256)\");else print(\"otasign: checked \"+p[1]);n+=p[2]});\n"
         "if(e.length)return print(\"otasign: provisioning FAILED: \"+e.join(\", \")+\"; nothing was changed: upload again\");\n"
         "print(\"otasign: \"+P.length+\" files, \"+n+\" bytes checked (SHA-256), installing\");\n"
         "clearTimeout();clearInterval();\n"
         "[\".boot0\",\".bootcde\"].concat(S.list(/^ota/)).forEach(function(f){S.erase(f)});\n"
         "P.forEach(function(p){if(e.length)return;try{S.write(p[1],S.read(p[0]));var d=S.read(p[1]);"
         "if(!d||d.length!=p[2]||h(d)!=p[3])e.push(p[1]+\" not stored\");else print(\"otasign: installed \"+p[1])}"
         "catch(x){e.push(p[1]+\": \"+x)}});\n"
         "if(e.length){S.erase(\".boot0\");S.erase(\".bootcde\");return print(\"otasign: provisioning FAILED while installing: \"+e.join(\", \")+\": upload again\")}\n"
         "P.forEach(function(p){S.erase(p[0])});\n"
         "print(\"otasign: provisioned, restarting\");load()}\n");
    for (int i = 0; i < PROV_FILES; i++) prov_pieces(s, i, &files[i], &sent, total);
    bstr(s,
         "clearTimeout();if(typeof otaC==\"function\")otaC();"
         "else print(\"otasign: provisioning FAILED: the checking code was lost on the way; upload again\");\n");
}

/* Longest line of the script (it must stay within PROV_LINE_MAX). */
static size_t longest_line(const buf *s)
{
    size_t best = 0, cur = 0;
    for (size_t i = 0; i < s->len; i++) {
        cur++;
        if (s->p[i] == '\n') { if (cur > best) best = cur; cur = 0; }
    }
    return cur > best ? cur : best;
}

static int device_add(int argc, char **argv)
{
    const char *server = NULL, *tokfile = NULL, *app = NULL, *board = "", *devserver = NULL,
               *out = NULL, *golden = NULL, *adir_opt = NULL, *poll_s = "3600", *trial_s = "600",
               *tries_s = "3", *max_s = "16000", *nudge_s = NULL;
    const char *pubs[OPT_MULTI_MAX];
    int npubs = 0, force = 0, no_minify = 0, help_flag = 0, npos = 0;
    const char *pos[1];
    util_opt opts[] = {
        { "--server", OPT_STR, &server, NULL },
        { "--token-file", OPT_STR, &tokfile, NULL },
        { "--app", OPT_STR, &app, NULL },
        { "--board", OPT_STR, &board, NULL },
        { "--device-server", OPT_STR, &devserver, NULL },
        { "--out", OPT_STR, &out, NULL },
        { "--force", OPT_FLAG, &force, NULL },
        { "--release-pub", OPT_MULTI, pubs, &npubs },
        { "--golden", OPT_STR, &golden, NULL },
        { "--agent-dir", OPT_STR, &adir_opt, NULL },
        { "--no-minify", OPT_FLAG, &no_minify, NULL },
        { "--poll", OPT_STR, &poll_s, NULL },
        { "--trial", OPT_STR, &trial_s, NULL },
        { "--tries", OPT_STR, &tries_s, NULL },
        { "--max", OPT_STR, &max_s, NULL },
        { "--nudge", OPT_STR, &nudge_s, NULL },
    };
    int rc = EXIT_FAIL;
    char *token = NULL, *adir = NULL, *outpath = NULL, host[256];
    uint8_t *agent = NULL, *gold = NULL, *boot0 = NULL, *bootcde = NULL;
    size_t agent_len = 0, agent_raw = 0, gold_len = 0, boot0_len = 0, bootcde_len = 0;
    uint8_t secret[SECRET_SIZE], server_pk[32], server_id[OTA_KEY_ID_SIZE];
    ota_trusted_key rel[OPT_MULTI_MAX];
    uint64_t poll, trial, tries, max, nudge = 0;
    unsigned port;
    long status = 0;
    buf answer = {0}, cfg = {0}, script = {0};
    cJSON *js = NULL;

    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1 || !server || !app) {
        util_err("ID, --server and --app are required");
        help(stderr);
        return EXIT_USAGE;
    }
    const char *id = pos[0];
    if (ota_name_valid(id, strlen(id), OTA_DEVICE_ID_MAX, 1) != OTA_OK) {
        util_err("device id '%s': 1..32 characters of [A-Za-z0-9._:-], first a letter or digit", id);
        return EXIT_USAGE;
    }
    if (ota_name_valid(app, strlen(app), OTA_NAME_MAX, 0) != OTA_OK ||
        (*board && ota_name_valid(board, strlen(board), OTA_NAME_MAX, 0) != OTA_OK)) {
        util_err("--app/--board: 1..32 characters of [A-Za-z0-9._-], first a letter or digit");
        return EXIT_USAGE;
    }
    if (util_parse_u64(poll_s, &poll) || poll < 1 || poll > 30 * 86400 ||
        util_parse_u64(trial_s, &trial) || trial < 1 || trial > 86400 ||
        util_parse_u64(tries_s, &tries) || tries < 1 || tries > 100 ||
        util_parse_u64(max_s, &max) || max < 1 || max > 0xffffffffu ||
        (nudge_s && (util_parse_u64(nudge_s, &nudge) || nudge < 1 || nudge > 65535))) {
        util_err("--poll, --trial, --tries, --max, --nudge: whole numbers in range (see --help)");
        return EXIT_USAGE;
    }
    if (parse_http_url(devserver ? devserver : server, host, sizeof host, &port) != 0) {
        util_err("%s: the device needs a plain http://HOST[:PORT] address (--device-server)",
                 devserver ? devserver : server);
        return EXIT_USAGE;
    }
    if (tokfile) { if (read_token(tokfile, &token) != 0) goto out; }
    else {
        const char *e = getenv("OTASIGN_ADMIN_TOKEN");
        if (!e || !*e) { util_err("no admin token: --token-file FILE or OTASIGN_ADMIN_TOKEN"); rc = EXIT_USAGE; goto out; }
        token = strdup(e);
        if (!token) goto out;
    }
    for (int i = 0; i < npubs; i++)
        if (util_load_pub(&rel[i], pubs[i]) != 0) goto out;

    /* Everything local first, so a secret is never made for nothing. */
    adir = agent_dir(adir_opt);
    if (read_js(adir, "ota.js", !no_minify, &agent, &agent_len, &agent_raw) != 0 ||
        read_js(adir, "boot0.js", 0, &boot0, &boot0_len, NULL) != 0 ||
        read_js(adir, "bootcde.js", 0, &bootcde, &bootcde_len, NULL) != 0 ||
        read_js(golden ? NULL : adir, golden ? golden : "golden.js", !no_minify, &gold, &gold_len, NULL) != 0)
        goto out;
    if (!agent_len || !boot0_len || !bootcde_len || !gold_len) {   /* Storage has no empty files */
        util_err("%s: empty", !gold_len ? (golden ? golden : "golden.js") : "a file of the agent");
        goto out;
    }
    if (out) outpath = strdup(out);
    else {
        outpath = malloc(strlen(id) + 16);
        if (outpath) sprintf(outpath, "%s.provision.js", id);
    }
    if (!outpath) goto out;
    if (!force && util_exists(outpath)) {
        util_err("%s exists (use --force)", outpath);
        goto out;
    }

    /* Every device has a secret, in every tier: its reports are MAC'd with it. */
    if (admin_post(server, token, id, 1, &status, &answer) != 0) goto out;
    if (status == 409) {
        util_err("device %s already exists: its secret was shown once, when it was added", id);
        goto out;
    }
    if (status != 201 && status != 200) {
        util_err("%s/admin/devices answered %ld: %s", server, status, answer.p ? answer.p : "");
        goto out;
    }
    js = cJSON_ParseWithLength(answer.p ? answer.p : "", answer.len);
    if (!cJSON_IsObject(js) || json_hex32(js, "server_key", server_pk) != 0) {
        util_err("%s/admin/devices: no server_key in the answer", server);
        goto out;
    }
    ota_release_key_id(server_id, server_pk);
    if (json_hex32(js, "secret", secret) != 0) {
        util_err("%s/admin/devices: no secret in the answer", server);
        goto out;
    }

    /* ota.cfg (device/espruino/README.md lists every member). */
    char hex[65];
    bstr(&cfg, "{\"id\":");
    bjs(&cfg, id, strlen(id));
    bstr(&cfg, ",\"app\":");
    bjs(&cfg, app, strlen(app));
    bstr(&cfg, ",\"board\":");
    bjs(&cfg, board, strlen(board));
    bstr(&cfg, ",\"host\":");
    bjs(&cfg, host, strlen(host));
    bfmt(&cfg, ",\"port\":%u", port);
    util_hex(hex, secret, SECRET_SIZE);
    bfmt(&cfg, ",\"key\":\"%s\"", hex);
    sodium_memzero(hex, sizeof hex);
    if (npubs) {
        char idh[17];
        util_hex(idh, server_id, sizeof server_id);
        util_hex(hex, server_pk, 32);
        bfmt(&cfg, ",\"srv\":[[\"%s\",\"%s\"]],\"rel\":[", idh, hex);
        for (int i = 0; i < npubs; i++) {
            util_hex(idh, rel[i].id, sizeof rel[i].id);
            util_hex(hex, rel[i].pub, 32);
            bfmt(&cfg, "%s[\"%s\",\"%s\"]", i ? "," : "", idh, hex);
        }
        bstr(&cfg, "]");
    }
    /* pmin: the shortest interval (the golden program polls at it, otad's
     * suggestions are held to it): 60 s, or --poll when that is shorter. */
    bfmt(&cfg, ",\"poll\":%llu,\"pmin\":%llu,\"trial\":%llu,\"tries\":%llu,\"max\":%llu",
         (unsigned long long)poll * 1000, (unsigned long long)(poll < 60 ? poll : 60) * 1000,
         (unsigned long long)trial * 1000, (unsigned long long)tries, (unsigned long long)max);
    if (nudge) bfmt(&cfg, ",\"nudge\":%llu", (unsigned long long)nudge);
    bstr(&cfg, "}");

    prov_file files[PROV_FILES] = {
        { "ota", agent, agent_len },
        { "ota.cfg", (const uint8_t *)cfg.p, cfg.len },
        { "ota.gold", gold, gold_len },
        { ".bootcde", bootcde, bootcde_len },
        { ".boot0", boot0, boot0_len },     /* last: the agent runs only once all is there */
    };
    write_script(&script, id, files, agent_len, agent_raw, !no_minify);
    if (!script.oom && longest_line(&script) > PROV_LINE_MAX) {
        util_err("internal error: a line of the script is %zu bytes (at most %d)",
                 longest_line(&script), PROV_LINE_MAX);
        goto out;
    }
    if (cfg.oom || script.oom) { util_err("out of memory"); goto out; }
    if (util_write_atomic(outpath, script.p, script.len, 0600, force) != 0) {
        util_err("%s: not written; the device exists on the server but its secret is lost: "
                 "remove the device there and add it again", outpath);
        goto out;
    }
    printf("device %s added; wrote %s (%zu bytes, mode 0600): upload it once, then delete it\n",
           id, outpath, script.len);
    printf("agent: %zu bytes (%zu before minifying); tier: %s\n", agent_len, agent_raw,
           npubs ? "Ed25519 where the firmware verifies, else HMAC" : "HMAC (stock firmware)");
    rc = EXIT_OK;
out:
    if (js) {   /* the parsed answer holds the secret too */
        cJSON *v = cJSON_GetObjectItemCaseSensitive(js, "secret");
        if (cJSON_IsString(v)) sodium_memzero(v->valuestring, strlen(v->valuestring));
        cJSON_Delete(js);
    }
    sodium_memzero(secret, sizeof secret);
    if (token) { sodium_memzero(token, strlen(token)); free(token); }
    bwipe(&answer);
    bwipe(&cfg);
    bwipe(&script);
    free(agent); free(gold); free(boot0); free(bootcde);
    free(adir); free(outpath);
    return rc;
}

/* ---- otasign nudge ---------------------------------------------------------- */
static void nudge_help(FILE *f)
{
    fprintf(f,
        "usage: otasign nudge ADDR:PORT [--app NAME]\n"
        "\n"
        "Send one UDP datagram \"OTAN <app>\" to ADDR:PORT (numeric IPv4; a broadcast\n"
        "address such as 192.168.1.255 reaches every board on the LAN).  Boards\n"
        "provisioned with `otasign device add --nudge PORT` (for that app, or for any\n"
        "app when --app is not given) poll now.  A nudge carries no authority: the\n"
        "poll it triggers is checked as always; a board heeds at most one a minute.\n"
        "otad sends the same nudge itself when a rollout starts or changes (--nudge).\n"
        "\n"
        "Exit status: 0 sent, 1 failure, 2 usage.\n");
}

int cmd_nudge(int argc, char **argv)
{
    const char *app = "";
    int help_flag = 0, npos = 0;
    const char *pos[1];
    util_opt opts[] = { { "--app", OPT_STR, &app, NULL } };
    if (util_parse_args(argc, argv, opts, 1, pos, 1, &npos, &help_flag) != 0) { nudge_help(stderr); return EXIT_USAGE; }
    if (help_flag) { nudge_help(stdout); return EXIT_OK; }
    if (npos != 1) { util_err("ADDR:PORT is required"); nudge_help(stderr); return EXIT_USAGE; }
    if (*app && ota_name_valid(app, strlen(app), OTA_NAME_MAX, 0) != OTA_OK) {
        util_err("--app: 1..32 characters of [A-Za-z0-9._-], first a letter or digit");
        return EXIT_USAGE;
    }
    const char *t = pos[0], *colon = strrchr(t, ':');
    char host[64], *end = NULL;
    size_t hl = colon ? (size_t)(colon - t) : 0;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    if (!colon || hl == 0 || hl >= sizeof host || !end || end == colon + 1 || *end || port == 0 || port > 65535) {
        util_err("%s: expected IPV4ADDR:PORT", t);
        return EXIT_USAGE;
    }
    memcpy(host, t, hl);
    host[hl] = 0;
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { util_err("%s: not a numeric IPv4 address", host); return EXIT_USAGE; }
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    char msg[64];
    int n = snprintf(msg, sizeof msg, "OTAN %s", app);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) { util_err("socket: %s", strerror(errno)); return EXIT_FAIL; }
    int one = 1;
    (void)setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    ssize_t w = sendto(s, msg, (size_t)n, 0, (const struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(s);
    if (w != n) { util_err("%s: %s", t, w < 0 ? strerror(e) : "short send"); return EXIT_FAIL; }
    printf("nudged %s (\"%s\")\n", t, msg);
    return EXIT_OK;
}

int cmd_device(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0) return device_add(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "cost") == 0) return cmd_device_cost(argc, argv);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        help(stdout);
        return EXIT_OK;
    }
    util_err("expected: otasign device add ID ... or otasign device cost ID (see --help)");
    help(stderr);
    return EXIT_USAGE;
}
