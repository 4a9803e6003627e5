/*
 * keys.c: the server's key material.
 *
 *   DIR/server.key   the ticket-signing key, FORMAT.md section 7 layout
 *                    (OTAK, kdf 0), mode 0600, made on first start
 *   DIR/server.pub   its public key as one line of hex (paste into devices)
 *   DIR/secrets.key  32 random bytes, mode 0600: encrypts the per-device
 *                    secrets stored in the database; made only while the
 *                    database holds no secret (else otad refuses to start)
 *   admin token      --admin-token-file FILE, else $OTAD_ADMIN_TOKEN, else
 *                    DIR/admin.token (made on first start, mode 0600)
 *   release keys     --release-pub FILE (one line of 64 hex, as
 *                    `otasign keygen` writes NAME.pub), one or more
 */
#include "otad.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ota_encode.h"

#define KEYFILE_SIZE 152

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_srv.cfg.data_dir, name);
}

static int load_server_key(void)
{
    char path[4096], pubpath[4096];
    path_in(path, sizeof path, "server.key");
    path_in(pubpath, sizeof pubpath, "server.pub");
    size_t len = 0;
    uint8_t *buf = srv_read_file(path, 4096, &len);
    if (!buf && errno == ENOENT) {
        /* First start: make the key, write it 0600 (temp + fsync + rename). */
        uint8_t seed[32], file[KEYFILE_SIZE];
        randombytes_buf(seed, sizeof seed);
        crypto_sign_seed_keypair(g_srv.server_pk, g_srv.server_sk, seed);
        ota_release_key_id(g_srv.server_key_id, g_srv.server_pk);
        memset(file, 0, sizeof file);
        memcpy(file, "OTAK", 4);
        file[4] = 1;
        file[5] = 0;
        memcpy(file + 8, g_srv.server_key_id, 8);
        memcpy(file + 16, g_srv.server_pk, 32);
        memcpy(file + 104, seed, 32);
        int rc = srv_write_file_atomic(path, file, sizeof file, 0600);
        sodium_memzero(seed, sizeof seed);
        sodium_memzero(file, sizeof file);
        if (rc != 0) {
            fprintf(stderr, "otad: cannot write %s: %s\n", path, strerror(errno));
            return -1;
        }
        fprintf(stderr, "otad: made a new server key %s\n", path);
    } else if (!buf) {
        fprintf(stderr, "otad: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    } else {
        int ok = len == KEYFILE_SIZE && memcmp(buf, "OTAK", 4) == 0 && buf[4] == 1 && buf[5] == 0;
        if (ok) {
            crypto_sign_seed_keypair(g_srv.server_pk, g_srv.server_sk, buf + 104);
            ota_release_key_id(g_srv.server_key_id, g_srv.server_pk);
            ok = memcmp(buf + 16, g_srv.server_pk, 32) == 0 &&
                 memcmp(buf + 8, g_srv.server_key_id, 8) == 0;
        }
        sodium_memzero(buf, len);
        free(buf);
        if (!ok) {
            fprintf(stderr, "otad: %s is not a valid plain (unencrypted) OTAK key file\n", path);
            return -1;
        }
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077))
            fprintf(stderr, "otad: warning: %s is readable by others (chmod 600)\n", path);
    }
    char hex[65], line[66];
    ota_hex_encode(hex, sizeof hex, g_srv.server_pk, 32);
    snprintf(line, sizeof line, "%s\n", hex);
    size_t plen = 0;
    uint8_t *old = srv_read_file(pubpath, 4096, &plen);
    if (!old || plen != 65 || memcmp(old, line, 65) != 0) {
        if (srv_write_file_atomic(pubpath, line, 65, 0644) != 0) {
            fprintf(stderr, "otad: cannot write %s: %s\n", pubpath, strerror(errno));
            free(old);
            return -1;
        }
    }
    free(old);
    return 0;
}

static int set_token(const char *t, size_t len, const char *from)
{
    while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' ')) len--;
    if (len < 16) {
        fprintf(stderr, "otad: admin token from %s is shorter than 16 characters\n", from);
        return -1;
    }
    g_srv.admin_token = malloc(len + 1);
    if (!g_srv.admin_token) return -1;
    memcpy(g_srv.admin_token, t, len);
    g_srv.admin_token[len] = 0;
    g_srv.admin_token_len = len;
    return 0;
}

static int load_admin_token(void)
{
    const char *file = g_srv.cfg.admin_token_file;
    const char *env = getenv("OTAD_ADMIN_TOKEN");
    char path[4096];
    if (!file && env && *env) return set_token(env, strlen(env), "OTAD_ADMIN_TOKEN");
    if (!file) {
        path_in(path, sizeof path, "admin.token");
        file = path;
        size_t len;
        uint8_t *b = srv_read_file(file, 4096, &len);
        if (!b && errno == ENOENT) {
            uint8_t rnd[24];
            char hex[49], line[50];
            randombytes_buf(rnd, sizeof rnd);
            ota_hex_encode(hex, sizeof hex, rnd, sizeof rnd);
            snprintf(line, sizeof line, "%s\n", hex);
            if (srv_write_file_atomic(file, line, 49, 0600) != 0) {
                fprintf(stderr, "otad: cannot write %s: %s\n", file, strerror(errno));
                return -1;
            }
            fprintf(stderr, "otad: made an admin token in %s\n", file);
        }
        free(b);
    }
    size_t len;
    uint8_t *b = srv_read_file(file, 4096, &len);
    if (!b) { fprintf(stderr, "otad: cannot read admin token %s: %s\n", file, strerror(errno)); return -1; }
    int rc = set_token((char *)b, len, file);
    sodium_memzero(b, len);
    free(b);
    return rc;
}

static int load_release_keys(void)
{
    for (int i = 0; i < g_srv.cfg.n_release_pub; i++) {
        const char *f = g_srv.cfg.release_pub[i];
        size_t len;
        uint8_t *b = srv_read_file(f, 4096, &len);
        if (!b) { fprintf(stderr, "otad: cannot read release key %s: %s\n", f, strerror(errno)); return -1; }
        ota_trusted_key *k = &g_srv.release_keys[g_srv.n_release_keys];
        size_t n = len, got = 0;
        while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ')) n--;
        int ok = 0;
        if (n == 64) ok = ota_hex_decode(k->pub, 32, &got, (char *)b, 64) == OTA_OK && got == 32;
        else if (len == 32) { memcpy(k->pub, b, 32); ok = 1; }
        free(b);
        if (!ok) {
            fprintf(stderr, "otad: %s: not a release public key (one line of 64 hex)\n", f);
            return -1;
        }
        ota_release_key_id(k->id, k->pub);
        g_srv.n_release_keys++;
    }
    return 0;
}

/* secrets.key: read it; when it is missing, make a new key in memory only.
 * srv_secrets_check() decides, once the store is open, whether a new key
 * may be written (no device secrets in the database) or otad must refuse to
 * start (secrets it could no longer read: never silently replaced). */
static bool secrets_key_new;

static int load_secrets_key(void)
{
    char path[4096];
    path_in(path, sizeof path, "secrets.key");
    size_t len = 0;
    uint8_t *buf = srv_read_file(path, 4096, &len);
    if (buf) {
        int ok = len == sizeof g_srv.secrets_key;
        if (ok) memcpy(g_srv.secrets_key, buf, len);
        sodium_memzero(buf, len);
        free(buf);
        if (!ok) {
            fprintf(stderr, "otad: %s: expected %zu bytes\n", path, sizeof g_srv.secrets_key);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        fprintf(stderr, "otad: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    randombytes_buf(g_srv.secrets_key, sizeof g_srv.secrets_key);
    secrets_key_new = true;
    return 0;
}

typedef struct secret_count { size_t n, bad; } secret_count;

static void count_secret(const char *id, const uint8_t *enc, size_t len, void *arg)
{
    secret_count *c = arg;
    uint8_t secret[SRV_SECRET_SIZE];
    c->n++;
    if (srv_secret_open(secret, enc, len, id) != 0) c->bad++;
    sodium_memzero(secret, sizeof secret);
}

int srv_secrets_check(void)
{
    char path[4096];
    path_in(path, sizeof path, "secrets.key");
    secret_count c = { 0, 0 };
    if (g_srv.store->ops->device_secrets(g_srv.store, count_secret, &c) != 0) {
        fprintf(stderr, "otad: cannot read the device secrets from the store\n");
        return -1;
    }
    if (secrets_key_new) {
        if (c.n > 0) {
            fprintf(stderr,
                    "otad: %s is missing but otad.db holds %zu device secret(s) encrypted with it: "
                    "restore secrets.key from a backup (otad will not make a new one, every "
                    "device's reports would be refused)\n", path, c.n);
            return -1;
        }
        if (srv_write_file_atomic(path, g_srv.secrets_key, sizeof g_srv.secrets_key, 0600) != 0) {
            fprintf(stderr, "otad: cannot write %s: %s\n", path, strerror(errno));
            return -1;
        }
        secrets_key_new = false;
        return 0;
    }
    if (c.n > 0 && c.bad == c.n) {
        fprintf(stderr, "otad: %s does not decrypt any of the %zu device secrets in otad.db "
                        "(a different secrets.key?): refusing to start\n", path, c.n);
        return -1;
    }
    if (c.bad)
        fprintf(stderr, "otad: warning: %zu of %zu device secrets do not decrypt; reports from "
                        "those devices will be refused\n", c.bad, c.n);
    return 0;
}

int srv_keys_load(void)
{
    if (load_server_key() != 0) return -1;
    if (load_secrets_key() != 0) return -1;
    if (load_admin_token() != 0) return -1;
    if (load_release_keys() != 0) return -1;
    return 0;
}

void srv_secret_seal(uint8_t enc[SRV_SECRET_ENC_SIZE], const uint8_t secret[SRV_SECRET_SIZE],
                     const char *device)
{
    randombytes_buf(enc, 24);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(enc + 24, &clen, secret, SRV_SECRET_SIZE,
                                               (const unsigned char *)device, strlen(device),
                                               NULL, enc, g_srv.secrets_key);
}

int srv_secret_open(uint8_t secret[SRV_SECRET_SIZE], const uint8_t *enc, size_t len,
                    const char *device)
{
    unsigned long long mlen = 0;
    if (len != SRV_SECRET_ENC_SIZE) return -1;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(secret, &mlen, NULL, enc + 24, len - 24,
                                                   (const unsigned char *)device, strlen(device),
                                                   enc, g_srv.secrets_key) != 0 ||
        mlen != SRV_SECRET_SIZE)
        return -1;
    return 0;
}

bool srv_admin_authorized(const char *h)
{
    if (!h || !g_srv.admin_token) return false;
    if (strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ') h++;
    size_t len = strlen(h);
    /* Hash both sides first so the compare is constant-time whatever the
     * lengths (sodium_memcmp needs equal lengths). */
    uint8_t a[32], b[32];
    crypto_generichash(a, sizeof a, (const uint8_t *)h, len, NULL, 0);
    crypto_generichash(b, sizeof b, (const uint8_t *)g_srv.admin_token, g_srv.admin_token_len,
                       NULL, 0);
    return sodium_memcmp(a, b, sizeof a) == 0;
}
