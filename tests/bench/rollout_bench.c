/*
 * rollout_bench.c: the driver of tests/bench/rollout-bench.sh (figures, never
 * pass/fail).  Three commands:
 *
 *   setup DATA_DIR N         register devices bd-000000.. in a stopped otad's
 *                            store (one transaction; 100,000 admin calls would
 *                            take minutes and measure the admin path, not the
 *                            report path).  Secrets are sealed with DATA_DIR/
 *                            secrets.key exactly as otad seals them; each is
 *                            SHA-256("bench" || id) so `report` can recompute it
 *   report PORT FROM COUNT STATE CTR
 *                            POST /report/<id> (wire format v2, MAC'd) for
 *                            devices FROM..FROM+COUNT-1 over 8 keep-alive
 *                            connections; prints "reports/s"
 *   read PORT TOKEN APP K    GET /admin/rollouts/APP K times; prints the median ms
 *   secrets DATA_DIR N       the same devices as CSV (id, secret_enc as \\x hex,
 *                            created) for PostgreSQL's COPY (store-bench.sh)
 *   poll PORT FROM COUNT SEQ GET /manifest/<id>?app=bench&seq=SEQ for devices
 *                            FROM..FROM+COUNT-1 over 8 keep-alive connections;
 *                            prints "polls/s ok bad offers" (ok: 200 or 204)
 *   rollout PORT_A PORT_B FROM COUNT CTR DONEFILE
 *                            one round of a rollout: each device not yet on v2
 *                            (DONEFILE: a byte per device, kept between rounds;
 *                            even devices on PORT_A, odd ones on PORT_B) polls
 *                            running seq 1 (a device on v2: seq 2, an idle poll);
 *                            when offered it reports downloading,
 *                            downloaded, trial, confirmed (counters CTR..CTR+3)
 *                            as a device that installed it would; prints
 *                            "offered reports_ok bad confirmed_total"
 *
 * Loopback only.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NCONN 8

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dev_id(char out[16], long i) { snprintf(out, 16, "bd-%06ld", i % 1000000); }

static void dev_secret(uint8_t s[32], const char *id)
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)"bench", 5);
    crypto_hash_sha256_update(&h, (const uint8_t *)id, strlen(id));
    crypto_hash_sha256_final(&h, s);
}

static int setup(const char *dir, long n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/secrets.key", dir);
    FILE *f = fopen(path, "rb");
    uint8_t key[32];
    if (!f || fread(key, 1, 32, f) != 32) { fprintf(stderr, "bench: cannot read %s\n", path); return 1; }
    fclose(f);
    snprintf(path, sizeof path, "%s/otad.db", dir);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) { fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db)); return 1; }
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "INSERT INTO devices(id, secret_enc, created) VALUES(?,?,?)", -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    for (long i = 0; i < n; i++) {
        char id[16];
        uint8_t s[32], enc[24 + 32 + 16];
        unsigned long long clen = 0;
        dev_id(id, i);
        dev_secret(s, id);
        randombytes_buf(enc, 24);
        crypto_aead_xchacha20poly1305_ietf_encrypt(enc + 24, &clen, s, 32, (const uint8_t *)id, strlen(id),
                                                   NULL, enc, key);
        sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(q, 2, enc, sizeof enc, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
        if (sqlite3_step(q) != SQLITE_DONE) { fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db)); return 1; }
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return 0;
}

static int secrets_csv(const char *dir, long n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/secrets.key", dir);
    FILE *f = fopen(path, "rb");
    uint8_t key[32];
    if (!f || fread(key, 1, 32, f) != 32) { fprintf(stderr, "bench: cannot read %s\n", path); return 1; }
    fclose(f);
    for (long i = 0; i < n; i++) {
        char id[16], hex[2 * (24 + 32 + 16) + 1];
        uint8_t s[32], enc[24 + 32 + 16];
        unsigned long long clen = 0;
        dev_id(id, i);
        dev_secret(s, id);
        randombytes_buf(enc, 24);
        crypto_aead_xchacha20poly1305_ietf_encrypt(enc + 24, &clen, s, 32, (const uint8_t *)id, strlen(id),
                                                   NULL, enc, key);
        sodium_bin2hex(hex, sizeof hex, enc, sizeof enc);
        printf("%s,\\x%s,%lld\n", id, hex, (long long)time(NULL));
    }
    return 0;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    return fd;
}

/* Send req, read one response; returns the status (0 on a failure). */
static int roundtrip(int *fd, int port, const char *req, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0) *fd = connect_to(port);
        if (*fd < 0) return 0;
        size_t off = 0;
        while (off < len) {
            ssize_t w = send(*fd, req + off, len - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
        char buf[1 << 16];
        size_t have = 0;
        long need = -1;
        int status = 0;
        while (off == len) {
            ssize_t r = recv(*fd, buf + have, sizeof buf - 1 - have, 0);
            if (r <= 0) break;
            have += (size_t)r;
            buf[have] = 0;
            char *end = strstr(buf, "\r\n\r\n");
            if (end && need < 0) {
                status = atoi(buf + 9);
                char *cl = strcasestr(buf, "Content-Length:");
                need = (long)(end + 4 - buf) + (cl ? atol(cl + 15) : 0);
            }
            if (need >= 0 && (long)have >= need) {
                if (need > (long)sizeof buf - 2) return status;
                return status;
            }
            if (have >= sizeof buf - 1) {   /* a large body: drain it */
                if (need < 0) break;
                long left = need - (long)have;
                while (left > 0) {
                    r = recv(*fd, buf, sizeof buf, 0);
                    if (r <= 0) break;
                    left -= r;
                }
                return status;
            }
        }
        close(*fd);
        *fd = -1;
    }
    return 0;
}

typedef struct job {
    int port;
    long from, count, ctr;
    const char *state;
    int t;
    long ok, bad;
} job;

static void *report_thread(void *arg)
{
    job *j = arg;
    int fd = -1;
    for (long i = j->from + j->t; i < j->from + j->count; i += NCONN) {
        char id[16], body[160], req[512], hex[65];
        uint8_t s[32], mac[32];
        dev_id(id, i);
        dev_secret(s, id);
        int bl = snprintf(body, sizeof body, "{\"app\":\"bench\",\"seq\":2,\"state\":\"%s\",\"code\":%d,\"ctr\":%ld}",
                          j->state, strcmp(j->state, "rolled_back") == 0 ? 80 : 0, j->ctr);
        crypto_auth_hmacsha256_state h;
        crypto_auth_hmacsha256_init(&h, s, 32);
        crypto_auth_hmacsha256_update(&h, (const uint8_t *)"OTAR", 4);
        crypto_auth_hmacsha256_update(&h, (const uint8_t *)id, strlen(id));
        crypto_auth_hmacsha256_update(&h, (const uint8_t *)"\n", 1);
        crypto_auth_hmacsha256_update(&h, (const uint8_t *)body, (size_t)bl);
        crypto_auth_hmacsha256_final(&h, mac);
        sodium_bin2hex(hex, sizeof hex, mac, 32);
        int rl = snprintf(req, sizeof req,
                          "POST /report/%s HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                          "X-OTA-MAC: %s\r\nContent-Length: %d\r\n\r\n%s", id, hex, bl, body);
        if (roundtrip(&fd, j->port, req, (size_t)rl) == 200) j->ok++;
        else j->bad++;
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int report(int port, long from, long count, const char *state, long ctr)
{
    job jobs[NCONN];
    pthread_t th[NCONN];
    double t0 = now_s();
    for (int t = 0; t < NCONN; t++) {
        jobs[t] = (job){ port, from, count, ctr, state, t, 0, 0 };
        pthread_create(&th[t], NULL, report_thread, &jobs[t]);
    }
    long ok = 0, bad = 0;
    for (int t = 0; t < NCONN; t++) {
        pthread_join(th[t], NULL);
        ok += jobs[t].ok;
        bad += jobs[t].bad;
    }
    double dt = now_s() - t0;
    printf("%.0f %ld %ld\n", (double)ok / dt, ok, bad);
    return bad ? 1 : 0;
}

/* One MAC'd report of device id; the HTTP status. */
static int post_report(int *fd, int port, const char *id, const char *state, long ctr)
{
    char body[160], req[512], hex[65];
    uint8_t s[32], mac[32];
    dev_secret(s, id);
    int bl = snprintf(body, sizeof body, "{\"app\":\"bench\",\"seq\":2,\"state\":\"%s\",\"code\":0,\"ctr\":%ld}",
                      state, ctr);
    crypto_auth_hmacsha256_state h;
    crypto_auth_hmacsha256_init(&h, s, 32);
    crypto_auth_hmacsha256_update(&h, (const uint8_t *)"OTAR", 4);
    crypto_auth_hmacsha256_update(&h, (const uint8_t *)id, strlen(id));
    crypto_auth_hmacsha256_update(&h, (const uint8_t *)"\n", 1);
    crypto_auth_hmacsha256_update(&h, (const uint8_t *)body, (size_t)bl);
    crypto_auth_hmacsha256_final(&h, mac);
    sodium_bin2hex(hex, sizeof hex, mac, 32);
    int rl = snprintf(req, sizeof req,
                      "POST /report/%s HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                      "X-OTA-MAC: %s\r\nContent-Length: %d\r\n\r\n%s", id, hex, bl, body);
    return roundtrip(fd, port, req, (size_t)rl);
}

typedef struct pjob {
    int port_a, port_b;
    long from, count, seq, ctr;
    int t;
    bool rollout;
    unsigned char *done;        /* rollout: one byte per device, 1 = confirmed v2 */
    long ok, bad, offers;
} pjob;

static void *poll_thread(void *arg)
{
    pjob *j = arg;
    int fd_a = -1, fd_b = -1;
    for (long i = j->from + j->t; i < j->from + j->count; i += NCONN) {
        char id[16], req[256];
        dev_id(id, i);
        /* A device on v2 keeps polling (idle: 204), as devices do. */
        bool on_v2 = j->rollout && j->done[i - j->from];
        bool on_b = j->rollout && (i % 2) == 1;
        int port = on_b ? j->port_b : j->port_a;
        int *fd = on_b ? &fd_b : &fd_a;
        int rl = snprintf(req, sizeof req, "GET /manifest/%s?app=bench&seq=%ld&nonce=%032lx HTTP/1.1\r\nHost: b\r\n\r\n",
                          id, j->rollout ? (on_v2 ? 2L : 1L) : j->seq, (unsigned long)i);
        int st = roundtrip(fd, port, req, (size_t)rl);
        if (st == 200 && !on_v2) j->offers++;
        if (st != 200 && st != 204) { j->bad++; continue; }
        if (!j->rollout) { j->ok++; continue; }
        if (on_v2) { if (st != 204) j->bad++; continue; }
        if (st != 200) continue;
        static const char *const states[] = { "downloading", "downloaded", "trial", "confirmed" };
        int good = 0;
        for (int k = 0; k < 4; k++) {
            if (post_report(fd, port, id, states[k], j->ctr + k) == 200) { j->ok++; good++; }
            else j->bad++;
        }
        if (good == 4) j->done[i - j->from] = 1;
    }
    if (fd_a >= 0) close(fd_a);
    if (fd_b >= 0) close(fd_b);
    return NULL;
}

static int polls(int port_a, int port_b, long from, long count, long seq, long ctr, const char *donef)
{
    pjob jobs[NCONN];
    pthread_t th[NCONN];
    bool rollout = donef != NULL;
    unsigned char *done = calloc((size_t)count + 1, 1);
    if (!done) return 1;
    if (rollout) {
        FILE *f = fopen(donef, "rb");
        if (f) { if (fread(done, 1, (size_t)count, f)) {} fclose(f); }
    }
    double t0 = now_s();
    for (int t = 0; t < NCONN; t++) {
        jobs[t] = (pjob){ port_a, port_b, from, count, seq, ctr, t, rollout, done, 0, 0, 0 };
        pthread_create(&th[t], NULL, poll_thread, &jobs[t]);
    }
    long ok = 0, bad = 0, offers = 0;
    for (int t = 0; t < NCONN; t++) {
        pthread_join(th[t], NULL);
        ok += jobs[t].ok;
        bad += jobs[t].bad;
        offers += jobs[t].offers;
    }
    double dt = now_s() - t0;
    long ndone = 0;
    for (long i = 0; i < count; i++) ndone += done[i];
    if (rollout) {
        FILE *f = fopen(donef, "wb");
        if (!f || fwrite(done, 1, (size_t)count, f) != (size_t)count) bad++;
        if (f) fclose(f);
    }
    free(done);
    if (rollout) printf("%ld %ld %ld %ld\n", offers, ok, bad, ndone);
    else printf("%.0f %ld %ld %ld\n", (double)ok / dt, ok, bad, offers);
    return bad ? 1 : 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of k reads (the machine may be shared: the median, not the mean). */
static int read_rollout(int port, const char *token, const char *app, int k)
{
    char req[512];
    int rl = snprintf(req, sizeof req, "GET /admin/rollouts/%s HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer %s\r\n\r\n",
                      app, token);
    int fd = -1;
    roundtrip(&fd, port, req, (size_t)rl);   /* warm */
    double *t = calloc((size_t)k, sizeof *t);
    int bad = 0;
    for (int i = 0; i < k; i++) {
        double t0 = now_s();
        bad += roundtrip(&fd, port, req, (size_t)rl) != 200;
        t[i] = now_s() - t0;
    }
    if (fd >= 0) close(fd);
    qsort(t, (size_t)k, sizeof *t, cmp_d);
    printf("%.3f %d\n", t[k / 2] * 1000.0, bad);
    free(t);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) return 1;
    if (argc == 4 && strcmp(argv[1], "setup") == 0) return setup(argv[2], atol(argv[3]));
    if (argc == 7 && strcmp(argv[1], "report") == 0)
        return report(atoi(argv[2]), atol(argv[3]), atol(argv[4]), argv[5], atol(argv[6]));
    if (argc == 6 && strcmp(argv[1], "read") == 0) return read_rollout(atoi(argv[2]), argv[3], argv[4], atoi(argv[5]));
    if (argc == 4 && strcmp(argv[1], "secrets") == 0) return secrets_csv(argv[2], atol(argv[3]));
    if (argc == 6 && strcmp(argv[1], "poll") == 0)
        return polls(atoi(argv[2]), 0, atol(argv[3]), atol(argv[4]), atol(argv[5]), 0, NULL);
    if (argc == 8 && strcmp(argv[1], "rollout") == 0)
        return polls(atoi(argv[2]), atoi(argv[3]), atol(argv[4]), atol(argv[5]), 0, atol(argv[6]), argv[7]);
    fprintf(stderr, "usage: bench-rollout setup DIR N | report PORT FROM COUNT STATE CTR | read PORT TOKEN APP K\n"
                    "       | secrets DIR N | poll PORT FROM COUNT SEQ | rollout PORT_A PORT_B FROM COUNT CTR DONEFILE\n");
    return 2;
}
