/*
 * gen_seeds.c: writes the starting corpora of the offer and boot fuzz
 * targets (valid offers in both tiers and near misses; flash images of a
 * device in each state of the update state machine).  Run once by hand:
 *   make build/bin/fuzz-gen-seeds && build/bin/fuzz-gen-seeds tests/fuzz/corpus
 * The files it wrote are committed; libFuzzer adds what it finds.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/emuflash.h"
#include "ota_release.h"
#include "ota_update.h"

static const char *dir;

static void put(const char *target, const char *name, const uint8_t *b, size_t n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, target);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", dir, target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) { perror(p); exit(1); }
}

static void le(uint8_t *p, uint64_t v, int n) { for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* ---- offer ---- */
static void offer_seed(const char *name, uint8_t flags, uint8_t sync, const char *app, const char *board,
                       uint64_t seq, uint32_t size, uint64_t running, uint32_t max, size_t nonce_len,
                       uint8_t enc)
{
    uint8_t in[698];
    memset(in, 0, sizeof in);
    in[0] = flags;
    in[1] = sync;
    uint8_t kid[8] = {0}, sha[32], src[32], nonce[32];
    memset(sha, 0xab, 32);
    memset(src, 0xcd, 32);
    for (int i = 0; i < 32; i++) nonce[i] = (uint8_t)(i * 7 + 1);
    ota_statement s;
    memset(&s, 0, sizeof s);
    s.encoding = enc;
    s.key_id = kid;
    s.app = app; s.app_len = strlen(app);
    s.board = board; s.board_len = strlen(board);
    s.seq = seq; s.created = 1700000000;
    s.size = size; s.installed_size = size;
    s.sha256 = sha; s.installed_sha256 = sha; s.source_sha256 = src;
    s.label = "fuzz seed"; s.label_len = 9;
    s.target = 229;
    if (ota_statement_encode(in + 2, &s) != OTA_OK) { fprintf(stderr, "statement %s\n", name); exit(1); }
    ota_ticket t;
    memset(&t, 0, sizeof t);
    uint8_t z[32] = {0};
    t.key_id = kid;
    t.device_id = "dev-0001"; t.device_id_len = 8;
    t.nonce = nonce; t.nonce_len = nonce_len;
    t.statement_sha256 = z; t.bundle_sha256 = sha;
    t.issued = 1700000100;
    if (ota_ticket_encode(in + 274, &t) != OTA_OK) { fprintf(stderr, "ticket %s\n", name); exit(1); }
    uint8_t *dp = in + 554;
    le(dp, running, 8);
    le(dp + 8, max, 4);
    dp[12] = (uint8_t)strlen("demo"); dp[13] = (uint8_t)strlen("pico"); dp[14] = 8; dp[15] = (uint8_t)nonce_len;
    memcpy(dp + 16, "demo", 4);
    memcpy(dp + 48, "pico", 4);
    memcpy(dp + 80, "dev-0001", 8);
    memcpy(dp + 112, nonce, nonce_len);
    put("offer", name, in, sizeof in);
}

/* ---- boot ---- */
static const uint32_t pages[] = { 256, 256, 2048, 2048, 1024, 0 };

static void setup(emu *e, ota_dev *d)
{
    emu_init(e, pages, 4, 0xFF);
    memset(d, 0, sizeof *d);
    d->flash = &e->port;
    d->layout.boot[0] = (ota_region){ 0, 256 };
    d->layout.boot[1] = (ota_region){ 256, 256 };
    d->layout.slot[0] = (ota_region){ 512, 2048 };
    d->layout.slot[1] = (ota_region){ 2560, 2048 };
    d->layout.golden = (ota_region){ 4608, 1024 };
    d->max_attempts = 3;
}

static ota_err install(ota_dev *d, uint64_t seq, uint32_t n, unsigned bflags, unsigned fflags, uint32_t stop)
{
    uint8_t prog[2048];
    for (uint32_t i = 0; i < n; i++) prog[i] = (uint8_t)(i * 31 + seq);
    ota_image img;
    memset(&img, 0, sizeof img);
    img.seq = seq;
    img.size = n;
    ota_sha256(img.sha256, prog, n);
    ota_install in;
    uint32_t at = 0;
    ota_err e = ota_install_begin(&in, d, &img, bflags, &at);
    if (e != OTA_OK) return e;
    uint32_t end = stop ? stop : n;
    if ((e = ota_install_write(&in, d, prog + at, end - at)) != OTA_OK) return e;
    return stop ? OTA_OK : ota_install_finish(&in, d, fflags);
}

static void boot_seed(const char *name, const emu *e, uint8_t max, uint8_t boots, uint8_t confirm)
{
    static uint8_t in[3 + 5632];
    in[0] = max; in[1] = boots; in[2] = confirm;
    memcpy(in + 3, e->mem, 5632);
    put("boot", name, in, sizeof in);
}

int main(int argc, char **argv)
{
    dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
    mkdir(dir, 0755);
    offer_seed("signed-accept", 0, 0x7f, "demo", "pico", 5, 100, 1, 0, 16, 0);
    offer_seed("mac-accept", 1, 0x7f, "demo", "pico", 5, 100, 1, 4096, 32, 0);
    offer_seed("signed-any-board", 0, 0x3f, "demo", "", 5, 100, 0, 0, 16, 0);
    offer_seed("signed-not-newer", 0, 0x7f, "demo", "pico", 5, 100, 5, 0, 16, 0);
    offer_seed("signed-too-big", 0, 0x7f, "demo", "pico", 9, 5000, 1, 4096, 16, 0);
    offer_seed("signed-wrong-app", 0, 0x3f, "other", "pico", 9, 10, 1, 0, 16, 0);
    offer_seed("signed-untrusted", 2, 0x7f, "demo", "pico", 9, 10, 1, 0, 16, 0);
    offer_seed("signed-compressed", 64, 0x7f, "demo", "pico", 9, 10, 1, 0, 16, 1);
    offer_seed("unsynced", 0, 0x00, "demo", "pico", 9, 10, 1, 0, 16, 0);

    emu e;
    ota_dev d;
    ota_boot_info bi;
    setup(&e, &d);
    boot_seed("erased", &e, 3, 4, 0);
    install(&d, 0, 600, OTA_INSTALL_GOLDEN, 0, 0);
    boot_seed("golden-only", &e, 3, 4, 0);
    install(&d, 1, 1500, 0, OTA_INSTALL_CONFIRMED, 0);
    boot_seed("confirmed", &e, 3, 4, 0);
    install(&d, 2, 1400, 0, 0, 0);
    boot_seed("trial-pending", &e, 3, 6, 0x80);
    boot_seed("trial-pending-confirm", &e, 2, 6, 0x82);
    ota_boot(&bi, &d);
    boot_seed("trial-1-used", &e, 3, 5, 0x80);
    ota_boot(&bi, &d);
    ota_boot(&bi, &d);
    ota_boot(&bi, &d);
    boot_seed("rolled-back", &e, 3, 4, 0);
    install(&d, 3, 1000, 0, 0, 700);
    boot_seed("downloading", &e, 3, 4, 0);
    emu_free(&e);
    printf("seeds written to %s\n", dir);
    return 0;
}
