/*
 * util.c: helpers shared by the otasign subcommands (see util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "util.h"

const char *util_cmd = "";

void util_err(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "otasign%s%s: ", *util_cmd ? " " : "", util_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- arguments ------------------------------------------------------------ */

int util_parse_args(int argc, char **argv, const util_opt *opts, size_t nopts,
                    const char **pos, int pos_cap, int *npos, int *help)
{
    int only_pos = 0;
    *npos = 0;
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == 0) {
            if (*npos >= pos_cap) {
                util_err("unexpected argument '%s' (try --help)", a);
                return -1;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { *help = 1; continue; }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const util_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, a, nlen) == 0) o = &opts[k];
        if (!o) {
            util_err("unknown option '%.*s' (try --help)", (int)nlen, a);
            return -1;
        }
        if (o->kind == OPT_FLAG) {
            if (eq) { util_err("option %s takes no value", o->name); return -1; }
            *(int *)o->dst = 1;
            continue;
        }
        const char *val;
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else { util_err("option %s needs a value", o->name); return -1; }
        if (o->kind == OPT_STR) {
            *(const char **)o->dst = val;
        } else {
            if (*o->count >= OPT_MULTI_MAX) {
                util_err("option %s given more than %d times", o->name, OPT_MULTI_MAX);
                return -1;
            }
            ((const char **)o->dst)[(*o->count)++] = val;
        }
    }
    return 0;
}

int util_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s) return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* ---- files ---------------------------------------------------------------- */

int util_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    int fd = -1, rc = -1;
    uint8_t *buf = NULL;
    size_t cap = 4096, n = 0;
    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { util_err("%s: cannot open: %s", path, strerror(errno)); goto out; }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) { util_err("%s: is a directory", path); goto out; }
    buf = malloc(cap + 1);
    if (!buf) { util_err("%s: out of memory", path); goto out; }
    for (;;) {
        if (n == cap) {
            if (cap > max) break;
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb) { util_err("%s: out of memory", path); goto out; }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            util_err("%s: cannot read: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (n > max) { util_err("%s: larger than %zu bytes", path, max); goto out; }
    buf[n] = 0;
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0) close(fd);
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int util_write_new(const char *path, const void *data, size_t len, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) { util_err("%s: cannot create: %s", path, strerror(errno)); return -1; }
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        util_err("%s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    if (close(fd) != 0) {
        util_err("%s: cannot write: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

char *util_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

char *util_sig_path(const char *tbs)
{
    size_t n = strlen(tbs);
    char *p = malloc(n + 5);
    if (!p) return NULL;
    strcpy(p, tbs);
    if (n > 4 && strcmp(tbs + n - 4, ".tbs") == 0) strcpy(p + n - 4, ".sig");
    else strcat(p, ".sig");
    return p;
}

int util_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) { util_err("%s: cannot open directory: %s", dir, strerror(errno)); return -1; }
    int r = fsync(fd);
    close(fd);
    if (r != 0 && errno != EINVAL) {
        util_err("%s: cannot sync directory: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Directory part of path ("." when none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int util_write_output(const char *path, const void *data, size_t len, int mode)
{
    if (!path || strcmp(path, "-") == 0) {
        if (write_all(1, data, len) == 0) return 0;
        util_err("stdout: write failed: %s", strerror(errno));
        return -1;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        /* A device or pipe (/dev/null, a FIFO): write into it.  Renaming a temp
         * file over it would replace the device node. */
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) { util_err("%s: cannot open: %s", path, strerror(errno)); return -1; }
        int rc = write_all(fd, data, len);
        if (rc != 0) util_err("%s: write failed: %s", path, strerror(errno));
        if (close(fd) != 0 && rc == 0) { util_err("%s: close failed: %s", path, strerror(errno)); rc = -1; }
        return rc;
    }
    return util_write_atomic(path, data, len, mode, 1);
}

int util_write_atomic(const char *path, const void *data, size_t len, int mode, int overwrite)
{
    int rc = -1;
    char *dir = NULL;
    char tmp[PATH_MAX];
    struct stat sb;
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* Never rename over a directory, device, pipe or symlink: only regular
         * files are replaced atomically. */
        util_err("%s: exists and is not a regular file", path);
        return -1;
    }
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) { util_err("%s: path too long", path); return -1; }
    unlink(tmp); /* a leftover of an earlier crash of a process with our pid */
    if (util_write_new(tmp, data, len, mode) != 0) return -1;
    const char *hook = getenv("OTASIGN_TEST_CRASH");
    if (hook && strcmp(hook, "before-rename") == 0) _exit(99);
    if (overwrite) {
        if (rename(tmp, path) != 0) {
            util_err("%s: cannot rename into place: %s", path, strerror(errno));
            goto out;
        }
    } else {
        if (link(tmp, path) != 0) {
            if (errno == EEXIST) util_err("%s: already exists (use --force to replace it)", path);
            else util_err("%s: cannot create: %s", path, strerror(errno));
            goto out;
        }
        unlink(tmp);
    }
    dir = dir_of(path);
    if (!dir || util_fsync_dir(dir) != 0) goto out;
    rc = 0;
out:
    if (rc != 0) unlink(tmp);
    free(dir);
    return rc;
}

int util_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

int util_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ---- passphrases ---------------------------------------------------------- */

/* Read one line from the terminal with echo off into a sodium buffer. */
static int tty_read(char *buf, size_t cap, const char *prompt)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return 1;
    struct termios old, quiet;
    int have_tc = tcgetattr(fd, &old) == 0;
    if (have_tc) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSANOW, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) { /* prompt is best effort */ }
    size_t n = 0;
    int rc = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || c == '\n' || c == '\r') break;
        if (n + 1 >= cap) { rc = -1; break; }
        buf[n++] = c;
    }
    buf[n] = 0;
    if (have_tc) tcsetattr(fd, TCSANOW, &old);
    if (write(fd, "\n", 1) < 0) { /* cosmetic */ }
    close(fd);
    return rc;
}

#define PASS_MAX 1024

int util_get_passphrase(char **out, const char *passfile, int confirm, const char *prompt)
{
    char *p = sodium_malloc(PASS_MAX + 1);
    *out = NULL;
    if (!p) { util_err("out of memory"); return -1; }
    memset(p, 0, PASS_MAX + 1);
    if (passfile) {
        uint8_t *buf;
        size_t len;
        if (util_read_file(passfile, PASS_MAX, &buf, &len) != 0) { sodium_free(p); return -1; }
        size_t n = 0;
        while (n < len && buf[n] != '\n' && buf[n] != '\r') n++;
        memcpy(p, buf, n);
        p[n] = 0;
        sodium_memzero(buf, len);
        free(buf);
    } else if (getenv("OTASIGN_PASSPHRASE")) {
        const char *e = getenv("OTASIGN_PASSPHRASE");
        if (strlen(e) > PASS_MAX) { util_err("OTASIGN_PASSPHRASE too long"); sodium_free(p); return -1; }
        strcpy(p, e);
    } else {
        int r = tty_read(p, PASS_MAX + 1, prompt);
        if (r == 1) { sodium_free(p); return 1; }
        if (r < 0) { util_err("passphrase too long"); sodium_free(p); return -1; }
        if (confirm) {
            char *q = sodium_malloc(PASS_MAX + 1);
            if (!q) { sodium_free(p); return -1; }
            r = tty_read(q, PASS_MAX + 1, "Repeat passphrase: ");
            int same = r == 0 && strcmp(p, q) == 0;
            sodium_free(q);
            if (!same) { util_err("passphrases differ"); sodium_free(p); return -1; }
        }
    }
    if (!*p) { util_err("empty passphrase"); sodium_free(p); return -1; }
    *out = p;
    return 0;
}

void util_free_passphrase(char *p)
{
    if (p) sodium_free(p); /* sodium_free wipes */
}

/* ---- keys ------------------------------------------------------------------- */

/* Key file offsets (FORMAT.md section 7). */
#define K_MAGIC 0
#define K_VERSION 4
#define K_KDF 5
#define K_RESERVED 6
#define K_ID 8
#define K_PUB 16
#define K_OPS 48
#define K_MEM 56
#define K_SALT 64
#define K_NONCE 80
#define K_SEALED 104

static void le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int util_encode_secret_key(uint8_t out[KEYFILE_SIZE], const util_secret_key *k,
                           const char *pass, size_t pass_len)
{
    int rc = -1;
    uint8_t key[crypto_secretbox_KEYBYTES];
    memset(out, 0, KEYFILE_SIZE);
    memcpy(out + K_MAGIC, "OTAK", 4);
    out[K_VERSION] = 1;
    memcpy(out + K_ID, k->id, OTA_KEY_ID_SIZE);
    memcpy(out + K_PUB, k->pub, 32);
    if (!pass) {
        out[K_KDF] = KEYFILE_KDF_NONE;
        memcpy(out + K_SEALED, k->sk, 32); /* the seed is the first half of sk */
        return 0;
    }
    out[K_KDF] = KEYFILE_KDF_ARGON2;
    uint64_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE, mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    le64(out + K_OPS, ops);
    le64(out + K_MEM, mem);
    randombytes_buf(out + K_SALT, crypto_pwhash_SALTBYTES);
    randombytes_buf(out + K_NONCE, crypto_secretbox_NONCEBYTES);
    if (crypto_pwhash(key, sizeof key, pass, pass_len, out + K_SALT, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        util_err("key derivation failed (out of memory?)");
        goto out;
    }
    crypto_secretbox_easy(out + K_SEALED, k->sk, 32, out + K_NONCE, key);
    rc = 0;
out:
    sodium_memzero(key, sizeof key);
    return rc;
}

int util_load_secret_key(util_secret_key *k, const char *path, const char *passfile)
{
    int rc = -1;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint8_t seed[32], key[crypto_secretbox_KEYBYTES];
    char *pass = NULL;
    memset(k, 0, sizeof *k);
    if (util_read_file(path, 4096, &buf, &len) != 0) goto out;
    if (len < 4 || memcmp(buf, "OTAK", 4) != 0) { util_err("%s: not an otasign secret key file", path); goto out; }
    if (len != KEYFILE_SIZE) { util_err("%s: secret key file has %zu bytes, expected %d", path, len, KEYFILE_SIZE); goto out; }
    if (buf[K_VERSION] != 1) { util_err("%s: unsupported key file version %u", path, buf[K_VERSION]); goto out; }
    if (buf[K_RESERVED] || buf[K_RESERVED + 1]) { util_err("%s: malformed key file (reserved bytes)", path); goto out; }
    if (buf[K_KDF] == KEYFILE_KDF_NONE) {
        memcpy(seed, buf + K_SEALED, 32);
        for (int i = 32; i < 48; i++)
            if (buf[K_SEALED + i]) { util_err("%s: malformed key file", path); goto out; }
    } else if (buf[K_KDF] == KEYFILE_KDF_ARGON2) {
        uint64_t ops = rd64(buf + K_OPS), mem = rd64(buf + K_MEM);
        if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
            mem < crypto_pwhash_MEMLIMIT_MIN || mem > ((uint64_t)1 << 32)) {
            util_err("%s: malformed key file (kdf limits)", path);
            goto out;
        }
        int r = util_get_passphrase(&pass, passfile, 0, "Passphrase for the secret key: ");
        if (r == 1) { util_err("%s: key is passphrase-protected and no passphrase was given (--passphrase-file, OTASIGN_PASSPHRASE or a terminal)", path); goto out; }
        if (r != 0) goto out;
        if (crypto_pwhash(key, sizeof key, pass, strlen(pass), buf + K_SALT, ops, (size_t)mem,
                          crypto_pwhash_ALG_ARGON2ID13) != 0) {
            util_err("%s: key derivation failed (out of memory?)", path);
            goto out;
        }
        if (crypto_secretbox_open_easy(seed, buf + K_SEALED, 48, buf + K_NONCE, key) != 0) {
            util_err("%s: wrong passphrase (or corrupt key file)", path);
            goto out;
        }
    } else {
        util_err("%s: unknown key protection %u", path, buf[K_KDF]);
        goto out;
    }
    crypto_sign_seed_keypair(k->pub, k->sk, seed);
    ota_release_key_id(k->id, k->pub);
    if (memcmp(k->pub, buf + K_PUB, 32) != 0 || memcmp(k->id, buf + K_ID, OTA_KEY_ID_SIZE) != 0) {
        util_err("%s: corrupt key file (public key does not match the secret)", path);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) sodium_memzero(k, sizeof *k);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(key, sizeof key);
    if (buf) { sodium_memzero(buf, len); free(buf); }
    util_free_passphrase(pass);
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int util_load_pub(ota_trusted_key *k, const char *path)
{
    int rc = -1;
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(k, 0, sizeof *k);
    if (util_read_file(path, 4096, &buf, &len) != 0) goto out;
    if (len >= 4 && memcmp(buf, "OTAK", 4) == 0) {
        if (len != KEYFILE_SIZE) { util_err("%s: malformed secret key file", path); goto out; }
        memcpy(k->pub, buf + K_PUB, 32);
    } else {
        size_t n = len;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t')) n--;
        if (n != 64) { util_err("%s: not a public key file (expected 64 hex characters)", path); goto out; }
        for (size_t i = 0; i < 32; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
            if (hi < 0 || lo < 0) { util_err("%s: not a public key file (bad hex)", path); goto out; }
            k->pub[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    ota_release_key_id(k->id, k->pub);
    rc = 0;
out:
    if (buf) { sodium_memzero(buf, len); free(buf); }
    return rc;
}

/* ---- text ----------------------------------------------------------------- */

void util_hex(char *out, const uint8_t *in, size_t len)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * len] = 0;
}

static const struct { ota_err e; const char *name; } err_names[] = {
    { OTA_OK, "OTA_OK" },
    { OTA_ERR_ARG, "OTA_ERR_ARG" },
    { OTA_ERR_TRUNCATED, "OTA_ERR_TRUNCATED" },
    { OTA_ERR_TOO_LONG, "OTA_ERR_TOO_LONG" },
    { OTA_ERR_ENCODING, "OTA_ERR_ENCODING" },
    { OTA_ERR_STATE, "OTA_ERR_STATE" },
    { OTA_ERR_BAD_SIGNATURE, "OTA_ERR_BAD_SIGNATURE" },
    { OTA_ERR_BAD_KEY, "OTA_ERR_BAD_KEY" },
    { OTA_ERR_HASH_MISMATCH, "OTA_ERR_HASH_MISMATCH" },
    { OTA_ERR_MALFORMED, "OTA_ERR_MALFORMED" },
    { OTA_ERR_BAD_MAGIC, "OTA_ERR_BAD_MAGIC" },
    { OTA_ERR_VERSION, "OTA_ERR_VERSION" },
    { OTA_ERR_UNKNOWN_KEY, "OTA_ERR_UNKNOWN_KEY" },
    { OTA_ERR_WRONG_APP, "OTA_ERR_WRONG_APP" },
    { OTA_ERR_WRONG_BOARD, "OTA_ERR_WRONG_BOARD" },
    { OTA_ERR_NOT_NEWER, "OTA_ERR_NOT_NEWER" },
    { OTA_ERR_WRONG_DEVICE, "OTA_ERR_WRONG_DEVICE" },
    { OTA_ERR_STALE_NONCE, "OTA_ERR_STALE_NONCE" },
    { OTA_ERR_WRONG_STATEMENT, "OTA_ERR_WRONG_STATEMENT" },
    { OTA_ERR_BAD_TICKET_SIG, "OTA_ERR_BAD_TICKET_SIG" },
    { OTA_ERR_BAD_MAC, "OTA_ERR_BAD_MAC" },
    { OTA_ERR_BAD_ENCODING_KIND, "OTA_ERR_BAD_ENCODING_KIND" },
    { OTA_ERR_TOO_BIG, "OTA_ERR_TOO_BIG" },
};

const char *util_err_name(ota_err e)
{
    for (size_t i = 0; i < sizeof err_names / sizeof err_names[0]; i++)
        if (err_names[i].e == e) return err_names[i].name;
    return "OTA_ERR_UNKNOWN";
}

int util_err_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof err_names / sizeof err_names[0]; i++)
        if (strcmp(err_names[i].name, name) == 0) return (int)err_names[i].e;
    return -1;
}

void util_json_str(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}
