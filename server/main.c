/*
 * main.c: otad's command line, start-up and orderly shutdown.
 *
 * The main thread owns the housekeeping: once a second it flushes the
 * batched last-seen updates and the request log, and reaps connections that
 * are too slow; on SIGTERM/SIGINT it stops accepting, lets requests in
 * flight finish (every acknowledged report is already committed), flushes
 * and exits 0.
 */
#include "otad.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ota_encode.h"
#include "keyset.h"
#include "nudge.h"
#include "request.h"

srv_server g_srv;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: otad --data DIR --listen ADDR:PORT --release-pub FILE [--release-pub FILE ...]\n"
        "            [options]\n"
        "\n"
        "The otasign update server.  Devices poll GET /manifest/<id>, download\n"
        "GET /bundle/<sha256> and POST /report/<id>; admins use /admin/ with a bearer token.\n"
        "\n"
        "  --data DIR              state directory (created): otad.db (SQLite, WAL),\n"
        "                          bundles/, server.key (0600), server.pub, secrets.key\n"
        "  --store URL             keep the state in PostgreSQL instead of DIR/otad.db:\n"
        "                          postgresql://USER@HOST/DB?... or postgres://... (libpq);\n"
        "                          several otad on one database serve one fleet\n"
        "  --listen ADDR:PORT      numeric address and port, e.g. 127.0.0.1:8080, [::1]:8080;\n"
        "                          port 0 picks a free port (printed: \"otad: listening on ...\")\n"
        "  --release-pub FILE      trusted release public key (otasign keygen's NAME.pub);\n"
        "                          repeat for several keys (rotation)\n"
        "  --admin-token-file FILE admin bearer token (else $OTAD_ADMIN_TOKEN, else\n"
        "                          DIR/admin.token, made on first start)\n"
        "  --port-file FILE        also write the bound port to FILE\n"
        "  --threads N             HTTP worker threads (default 2)\n"
        "  --idle-timeout S        close idle connections after S seconds (default 5)\n"
        "  --header-timeout S      a new connection must send its first request's headers\n"
        "                          within S seconds, else 408 (default 4)\n"
        "  --request-timeout S     a later request (keep-alive) and a device request's body\n"
        "                          must arrive within S seconds (default 10)\n"
        "  --upload-timeout S      an admin upload's body must arrive within S seconds\n"
        "                          (default 120)\n"
        "  --max-connections N     total connections; above it 503 at once (default 1000)\n"
        "  --max-per-ip N          connections per client address (IPv6: per /64); above\n"
        "                          it 503 at once (default 64)\n"
        "  --max-body BYTES        device report bodies, 413 above (default and most 768)\n"
        "  --max-upload BYTES      admin uploads (default 16777216)\n"
        "  --poll-interval S       suggested poll interval, jittered +-10%% (default 3600)\n"
        "  --bundle-mem-max BYTES  bundles up to this size are served from memory (one\n"
        "                          send per response), larger ones with sendfile (default 1048576)\n"
        "  --reuseport             one SO_REUSEPORT listener per thread instead of one socket\n"
        "                          shared by a thread pool (limits then apply per listener;\n"
        "                          a second otad on the same port would share the traffic)\n"
        "  --nudge ADDR:PORT       UDP nudge \"OTAN <app>\" to ADDR:PORT (IPv4, broadcast ok)\n"
        "                          when a rollout starts or changes (devices just poll now)\n"
        "  --quiet                 no per-request log lines\n"
        "  --no-delta              never offer deltas (FORMAT.md 2b) in compact offers\n"
        "  --help                  this text\n");
    srv_keyset_usage(f);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_listen(const char *s)
{
    const char *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') return -1;
        hl = (size_t)(rb - s - 1);
        if (hl == 0 || hl >= sizeof g_srv.cfg.listen_host) return -1;
        memcpy(g_srv.cfg.listen_host, s + 1, hl);
        g_srv.cfg.listen_host[hl] = 0;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return -1;
        hl = (size_t)(colon - s);
        if (hl == 0 || hl >= sizeof g_srv.cfg.listen_host) return -1;
        memcpy(g_srv.cfg.listen_host, s, hl);
        g_srv.cfg.listen_host[hl] = 0;
    }
    unsigned long long port;
    if (parse_uint(colon + 1, 65535, &port) != 0) return -1;
    g_srv.cfg.port = (unsigned)port;
    return 0;
}

static int parse_args(int argc, char **argv)
{
    srv_config *c = &g_srv.cfg;
    c->threads = 2;
    c->idle_timeout = 5;
    c->header_timeout = 4;
    c->request_timeout = 10;
    c->upload_timeout = 120;
    c->max_connections = 1000;
    c->max_per_ip = 64;
    c->max_body = SRV_REPORT_BODY_MAX;
    c->max_admin_body = 16u << 20;
    c->poll_interval = 3600;
    c->bundle_mem_max = 1u << 20;
    c->reuseport = false;
    bool listen = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long n;
        int kr;
#define NEEDV() do { if (!v) { fprintf(stderr, "otad: %s needs a value\n", a); return 2; } i++; } while (0)
#define NUM(field, lo, hi) do { NEEDV(); if (parse_uint(v, hi, &n) != 0 || n < (lo)) { \
            fprintf(stderr, "otad: %s: expected a whole number from %llu to %llu\n", a, \
                    (unsigned long long)(lo), (unsigned long long)(hi)); return 2; } field = n; } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); return 1; }
        else if (strcmp(a, "--data") == 0) { NEEDV(); c->data_dir = v; }
        else if (strcmp(a, "--store") == 0) {
            NEEDV();
            if (strncmp(v, "postgresql://", 13) != 0 && strncmp(v, "postgres://", 11) != 0) {
                fprintf(stderr, "otad: --store: expected a postgresql:// or postgres:// URL\n");
                return 2;
            }
            c->store_url = v;
        }
        else if (strcmp(a, "--listen") == 0) {
            NEEDV();
            if (parse_listen(v) != 0) { fprintf(stderr, "otad: --listen: expected ADDR:PORT, got '%s'\n", v); return 2; }
            listen = true;
        } else if (strcmp(a, "--release-pub") == 0) {
            NEEDV();
            if (c->n_release_pub >= SRV_MAX_RELEASE_KEYS) { fprintf(stderr, "otad: too many --release-pub\n"); return 2; }
            c->release_pub[c->n_release_pub++] = v;
        } else if (strcmp(a, "--admin-token-file") == 0) { NEEDV(); c->admin_token_file = v; }
        else if (strcmp(a, "--port-file") == 0) { NEEDV(); c->port_file = v; }
        else if (strcmp(a, "--threads") == 0) NUM(c->threads, 1, 64);
        else if (strcmp(a, "--idle-timeout") == 0) NUM(c->idle_timeout, 1, 3600);
        else if (strcmp(a, "--request-timeout") == 0) NUM(c->request_timeout, 1, 3600);
        else if (strcmp(a, "--header-timeout") == 0) NUM(c->header_timeout, 1, 3600);
        else if (strcmp(a, "--upload-timeout") == 0) NUM(c->upload_timeout, 1, 86400);
        else if (strcmp(a, "--max-connections") == 0) NUM(c->max_connections, 1, 1000000);
        else if (strcmp(a, "--max-per-ip") == 0) NUM(c->max_per_ip, 1, 1000000);
        else if (strcmp(a, "--max-body") == 0) NUM(c->max_body, 64, SRV_REPORT_BODY_MAX);
        else if (strcmp(a, "--max-upload") == 0) NUM(c->max_admin_body, 1024, 1u << 30);
        else if (strcmp(a, "--poll-interval") == 0) NUM(c->poll_interval, 1, 86400 * 30);
        else if (strcmp(a, "--bundle-mem-max") == 0) {
            NEEDV();
            if (parse_uint(v, 1u << 30, &n) != 0) {
                fprintf(stderr, "otad: %s: expected a byte count up to %u\n", a, 1u << 30);
                return 2;
            }
            c->bundle_mem_max = n;
        }
        else if (strcmp(a, "--nudge") == 0) { NEEDV(); if (srv_nudge_set(v) != 0) return 2; }
        else if (strcmp(a, "--quiet") == 0) c->quiet = true;
        else if (strcmp(a, "--no-delta") == 0) c->no_delta = true;
        else if (strcmp(a, "--reuseport") == 0) c->reuseport = true;
        else if (strcmp(a, "--no-reuseport") == 0) c->reuseport = false;
        else if ((kr = srv_keyset_option(argc, argv, i)) != 0) { if (kr < 0) return 2; i += kr - 1; }
        else { fprintf(stderr, "otad: unknown option '%s' (see --help)\n", a); return 2; }
#undef NUM
#undef NEEDV
    }
    if (c->request_timeout <= c->idle_timeout) {
        /* The reaper would otherwise answer 408 to idle keep-alive
         * connections before MHD closes them quietly. */
        c->request_timeout = c->idle_timeout + 1;
        fprintf(stderr, "otad: --request-timeout raised to %u (must exceed --idle-timeout)\n",
                c->request_timeout);
    }
    if (!c->data_dir || !listen || (c->n_release_pub == 0 && !srv_keyset_configured())) {
        fprintf(stderr, "otad: --data, --listen and at least one --release-pub are required (see --help)\n");
        return 2;
    }
    return 0;
}

static int make_dirs(void)
{
    char path[4096];
    if (mkdir(g_srv.cfg.data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "otad: cannot create %s: %s\n", g_srv.cfg.data_dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/bundles", g_srv.cfg.data_dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "otad: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) { printf("otad %s\n", OTA_VERSION); return 0; }  /* i16 hook */
    int rc = parse_args(argc, argv);
    if (rc == 1) return 0;     /* --help */
    if (rc) return 2;
    if (sodium_init() < 0) { fprintf(stderr, "otad: libsodium failed to initialise\n"); return 1; }
    g_srv.started = srv_now();
    pthread_mutex_init(&g_srv.metrics_mu, NULL);

    /* Signals are taken by sigtimedwait in this thread only: block them
     * before any other thread exists. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Every connection is a descriptor: allow as many as the hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (make_dirs() != 0 || srv_keys_load() != 0 || srv_keyset_init() != 0) return 1;
    g_srv.store = g_srv.cfg.store_url ? srv_store_pg_open(g_srv.cfg.store_url)
                                      : srv_store_sqlite_open(g_srv.cfg.data_dir);
    if (!g_srv.store) return 1;
    if (srv_secrets_check() != 0) return 1;
    if (srv_state_init() != 0) {
        fprintf(stderr, "otad: cannot load state from the store\n");
        return 1;
    }
    if (srv_http_start() != 0) return 1;

    char pk[65], kid[17];
    ota_hex_encode(pk, sizeof pk, g_srv.server_pk, 32);
    ota_hex_encode(kid, sizeof kid, g_srv.server_key_id, 8);
    const char *h = g_srv.cfg.listen_host;
    bool v6 = strchr(h, ':') != NULL;
    printf("otad: listening on %s%s%s:%u\n", v6 ? "[" : "", h, v6 ? "]" : "", g_srv.bound_port);
    printf("otad: server key %s (id %s), %zu trusted release key(s), data in %s\n", pk, kid,
           g_srv.n_release_keys, g_srv.cfg.data_dir);
    fflush(stdout);
    if (g_srv.cfg.port_file) {
        char line[16];
        int n = snprintf(line, sizeof line, "%u\n", g_srv.bound_port);
        if (srv_write_file_atomic(g_srv.cfg.port_file, line, (size_t)n, 0644) != 0)
            fprintf(stderr, "otad: cannot write %s: %s\n", g_srv.cfg.port_file, strerror(errno));
    }

    for (;;) {
        struct timespec ts = { 1, 0 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) break;
        if (sig == SIGHUP) srv_reload_signal();   /* release keys (keyset.c) and admin token */
        srv_http_reap();
        srv_sync();
        srv_seen_flush();
        srv_log_flush();
    }
    fprintf(stderr, "otad: shutting down\n");
    srv_http_stop();
    srv_seen_flush();
    srv_log_free();
    g_srv.store->ops->close(g_srv.store);
    srv_state_free();
    sodium_memzero(g_srv.server_sk, sizeof g_srv.server_sk);
    sodium_memzero(g_srv.secrets_key, sizeof g_srv.secrets_key);
    if (g_srv.admin_token) sodium_memzero(g_srv.admin_token, g_srv.admin_token_len);
    free(g_srv.admin_token);
    while (g_srv.metrics) {
        srv_metrics *m = g_srv.metrics;
        g_srv.metrics = m->next;
        free(m);
    }
    fprintf(stderr, "otad: stopped\n");
    return 0;
}
