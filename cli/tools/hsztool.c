/*
 * hsztool: bundle encoding 1 (heatshrink blocks) from the command line, for
 * tests and benchmarks.
 *   hsztool encode LOG2 IN OUT      write IN encoded with blocks of 2^LOG2
 *   hsztool decode IN OUT           decode IN (installed size: the sum of
 *                                   the blocks, found by trying; OUT <= 16 MB)
 *   hsztool frames IN               print "offset length" of every frame
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_hsz.h"
#include "../hsz_enc.h"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    size_t cap = 1 << 16, len = 0;
    uint8_t *p = malloc(cap), *q;
    for (;;) {
        if (!p) { fclose(f); fprintf(stderr, "out of memory\n"); return NULL; }
        if (len == cap) {
            if (!(q = realloc(p, cap *= 2))) { free(p); p = NULL; continue; }
            p = q;
        }
        size_t k = fread(p + len, 1, cap - len, f);
        if (!k) break;
        len += k;
    }
    fclose(f);
    *n = len;
    return p;
}

static int spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) { perror(path); return 1; }
    return 0;
}

typedef struct { uint8_t *p; size_t len, cap; } obuf;
static ota_err grow(void *ctx, const uint8_t *d, size_t n)
{
    obuf *o = ctx;
    if (o->len + n > o->cap) return OTA_ERR_TOO_LONG;
    memcpy(o->p + o->len, d, n);
    o->len += n;
    return OTA_OK;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    uint8_t *in;
    if (argc == 5 && strcmp(argv[1], "encode") == 0) {
        uint8_t *out = NULL;
        size_t olen = 0;
        if (!(in = slurp(argv[3], &n)) || !n) { free(in); return 1; }
        int rc = hsz_encode(in, n, (unsigned)atoi(argv[2]), &out, &olen) != 0;
        if (rc) fprintf(stderr, "encode failed\n");
        else rc = spit(argv[4], out, olen);
        free(in);
        free(out);
        return rc;
    }
    if (argc == 4 && strcmp(argv[1], "decode") == 0) {
        if (!(in = slurp(argv[2], &n))) return 1;
        /* the installed size is the sum of the blocks: all full but the last,
         * so decode with a generous size and take what came out */
        obuf o = { malloc(16u << 20), 0, 16u << 20 };
        int rc = 1, found = 0;
        if (!o.p) { free(in); return 1; }
        ota_hsz z;
        uint32_t frames = 0;
        for (size_t at = OTA_HSZ_HDR_SIZE; at + 2 <= n; at += 2 + (in[at] | in[at + 1] << 8)) frames++;
        if (n < OTA_HSZ_HDR_SIZE || in[3] < OTA_HSZ_LOG2_MIN || in[3] > OTA_HSZ_LOG2_MAX || !frames) {
            fprintf(stderr, "not an encoding-1 bundle\n");
            free(in); free(o.p);
            return 1;
        }
        /* try every last-block length: the right one decodes completely */
        uint32_t bs = 1u << in[3];
        for (uint32_t last = 1; last <= bs; last++) {
            o.len = 0;
            ota_hsz_init(&z, (frames - 1) * bs + last);
            if (ota_hsz_feed(&z, in, n, grow, &o) == OTA_OK && ota_hsz_finish(&z) == OTA_OK) {
                found = 1;
                rc = spit(argv[3], o.p, o.len);
                break;
            }
        }
        if (!found) fprintf(stderr, "does not decode\n");
        free(in); free(o.p);
        return rc;
    }
    if (argc == 3 && strcmp(argv[1], "frames") == 0) {
        if (!(in = slurp(argv[2], &n))) return 1;
        for (size_t at = OTA_HSZ_HDR_SIZE; at + 2 <= n; at += 2 + (in[at] | in[at + 1] << 8))
            printf("%zu %u\n", at, in[at] | in[at + 1] << 8);
        free(in);
        return 0;
    }
    fprintf(stderr, "usage: hsztool encode LOG2 IN OUT | decode IN OUT | frames IN\n");
    return 2;
}
