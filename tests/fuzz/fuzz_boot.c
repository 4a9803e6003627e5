/*
 * fuzz_boot.c: the update state machine booting from an arbitrary flash
 * image (common/ota_update.c on the emulated NOR flash of the unit tests).
 *
 * Input: byte 0 max trial attempts (1..8), byte 1 number of boots (1..16),
 * byte 2 bit i: confirm after boot i (i < 7), bit 7: fix up the CRC of every
 * block that looks like a boot record ("OTAB") or a slot header ("OTAP"), so
 * that mutations of their fields get past the CRC; then the flash image
 * (5,632 bytes: boot copies 256 + 256, slots A and B 2,048 each, golden
 * 1,024; missing bytes are erased).
 *
 * Properties, checked independently of ota_update.c (raw offsets, libsodium
 * SHA-256):
 *   - every program ota_boot runs hashes to the SHA-256 in its region's
 *     header, has the header's size, and lies inside its region;
 *   - no trial runs more times than max attempts without a confirm, and
 *     the attempt it reports never exceeds max attempts.
 */
#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "../unit/emuflash.h"
#include "ota_update.h"

static const uint32_t pages[] = { 256, 256, 2048, 2048, 1024, 0 };
#define IMG_SIZE (256 + 256 + 2048 + 2048 + 1024)

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void fix_crcs(emu *e)
{
    for (uint32_t off = 0; off + 64 <= 512; off += 64)          /* boot records */
        if (memcmp(e->mem + off, "OTAB", 4) == 0) wr32(e->mem + off + 60, ota_crc32(0, e->mem + off, 60));
    static const uint32_t slots[] = { 512, 2560, 4608 };        /* slot headers */
    for (int i = 0; i < 3; i++)
        if (memcmp(e->mem + slots[i], "OTAP", 4) == 0)
            wr32(e->mem + slots[i] + 88, ota_crc32(0, e->mem + slots[i], 88));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { if (sodium_init() < 0) abort(); init = 1; }
    if (size < 3) return 0;
    emu e;
    emu_init(&e, pages, 4, 0xFF);
    size_t n = size - 3 < IMG_SIZE ? size - 3 : IMG_SIZE;
    memcpy(e.mem, data + 3, n);
    if (data[2] & 0x80) fix_crcs(&e);
    ota_dev dev;
    memset(&dev, 0, sizeof dev);
    dev.flash = &e.port;
    dev.layout.boot[0] = (ota_region){ 0, 256 };
    dev.layout.boot[1] = (ota_region){ 256, 256 };
    dev.layout.slot[0] = (ota_region){ 512, 2048 };
    dev.layout.slot[1] = (ota_region){ 2560, 2048 };
    dev.layout.golden = (ota_region){ 4608, 1024 };
    unsigned max = 1 + (data[0] & 7);
    dev.max_attempts = (uint8_t)max;
    unsigned boots = 1 + (data[1] & 15);
    uint64_t trial_seq = 0;
    int trial_which = -1;
    unsigned trial_runs = 0;
    for (unsigned b = 0; b < boots; b++) {
        ota_boot_info bi;
        memset(&bi, 0, sizeof bi);
        if (ota_boot(&bi, &dev) != OTA_OK) continue;
        ota_region r = bi.which == OTA_RUN_GOLDEN ? dev.layout.golden : dev.layout.slot[bi.which & 1];
        FUZZ_ASSERT(bi.which == OTA_RUN_GOLDEN || bi.which == OTA_RUN_SLOT_A || bi.which == OTA_RUN_SLOT_B,
                    "which %u", bi.which);
        const uint8_t *h = e.mem + r.off;
        FUZZ_ASSERT(memcmp(h, "OTAP", 4) == 0, "a header at the region's start");
        FUZZ_ASSERT(bi.off == r.off + 128 && bi.size == rd32(h + 16) && bi.size <= r.len - 128,
                    "the program lies in its region (off %u size %u)", bi.off, bi.size);
        uint8_t sha[32];
        crypto_hash_sha256(sha, e.mem + bi.off, bi.size);
        FUZZ_ASSERT(memcmp(sha, h + 24, 32) == 0, "the program hashes to its header's SHA-256");
        FUZZ_ASSERT(memcmp(sha, bi.sha256, 32) == 0, "and to the hash boot reports");
        if (bi.trial) {
            FUZZ_ASSERT(bi.attempt >= 1 && bi.attempt <= max, "attempt %u of %u", bi.attempt, max);
            if (trial_which != bi.which || trial_seq != bi.seq) {
                trial_which = bi.which;
                trial_seq = bi.seq;
                trial_runs = 0;
            }
            trial_runs++;
            FUZZ_ASSERT(trial_runs <= max, "trial of seq %llu ran %u times (max %u)",
                        (unsigned long long)bi.seq, trial_runs, max);
            if (b < 7 && (data[2] >> b) & 1) {
                if (ota_confirm(&dev, &bi) == OTA_OK) trial_which = -1;
            }
        }
    }
    emu_free(&e);
    return 0;
}
