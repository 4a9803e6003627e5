/*
 * update_fixture.h: geometries, programs and helpers shared by the update
 * state machine tests (test_update.c, test_powercut.c).  Header only.
 */
#ifndef OTA_TEST_UPDATE_FIXTURE_H
#define OTA_TEST_UPDATE_FIXTURE_H

#include <stdio.h>
#include "emuflash.h"
#include "ota_update.h"
#include "ota_crypto.h"

/* A test geometry: page sizes (0-terminated), alignment, erased value and
 * the layout over it, by page index ranges [first, last). */
typedef struct geom {
    const char *name;
    uint32_t pages[EMU_MAX_PAGES];
    uint32_t align;
    uint8_t erased;
    int boot0[2], boot1[2], slotA[2], slotB[2], golden[2];
} geom;

static ota_region fx_region(const emu *e, const int r[2])
{
    ota_region g = { e->page_off[r[0]], e->page_off[r[1]] - e->page_off[r[0]] };
    return g;
}

static void fx_setup(emu *e, ota_dev *dev, const geom *g)
{
    emu_init(e, g->pages, g->align, g->erased);
    memset(dev, 0, sizeof *dev);
    dev->flash = &e->port;
    dev->layout.boot[0] = fx_region(e, g->boot0);
    dev->layout.boot[1] = fx_region(e, g->boot1);
    dev->layout.slot[0] = fx_region(e, g->slotA);
    dev->layout.slot[1] = fx_region(e, g->slotB);
    dev->layout.golden = fx_region(e, g->golden);
    dev->max_attempts = 3;
}

/* A deterministic program of n bytes for release seq (looks like a script,
 * with some bytes equal to the erased value to keep the code honest). */
static void fx_program(uint8_t *buf, uint32_t n, uint64_t seq)
{
    uint32_t x = (uint32_t)seq * 2654435761u + 12345u;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint8_t c = (uint8_t)(x >> 16);
        buf[i] = (i % 97 == 5) ? 0xFF : (i % 89 == 7) ? 0x00 : c;
    }
}

static void fx_image(ota_image *img, const uint8_t *prog, uint32_t n, uint64_t seq)
{
    memset(img, 0, sizeof *img);
    img->seq = seq;
    img->size = n;
    ota_sha256(img->sha256, prog, n);
    img->statement_sha256[0] = (uint8_t)seq;   /* stands in for a statement hash */
}

/* Install prog in chunks of `chunk` bytes starting at its resume offset. */
static ota_err fx_install(const ota_dev *dev, const uint8_t *prog, uint32_t n, uint64_t seq,
                          unsigned begin_flags, unsigned finish_flags, size_t chunk,
                          uint32_t *resumed_from)
{
    ota_install in;
    ota_image img;
    uint32_t at = 0;
    fx_image(&img, prog, n, seq);
    ota_err e = ota_install_begin(&in, dev, &img, begin_flags, &at);
    if (resumed_from)
        *resumed_from = at;
    if (e != OTA_OK)
        return e;
    while (at < n) {
        size_t k = n - at < chunk ? n - at : chunk;
        if ((e = ota_install_write(&in, dev, prog + at, k)) != OTA_OK)
            return e;
        at += (uint32_t)k;
    }
    return ota_install_finish(&in, dev, finish_flags);
}

/* 1 when the program ota_boot chose reads back as exactly prog. */
static int fx_runs(const emu *e, const ota_boot_info *bi, const uint8_t *prog, uint32_t n)
{
    return bi->size == n && bi->off + n <= e->size && memcmp(e->mem + bi->off, prog, n) == 0;
}

/* Renumber the boot journal so that its newest record has journal sequence
 * `newest` (the others keep their distance below it, modulo 2^32), as a
 * device whose counter reached the end of its range would have it; valid
 * records only, CRC recomputed.  Returns how many records it rewrote. */
static int fx_journal_rebase(emu *e, const ota_dev *dev, uint32_t newest)
{
    uint32_t max = 0;
    int found = 0, n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int c = 0; c < 2; c++) {
            ota_region r = dev->layout.boot[c];
            for (uint32_t p = 0; p + OTA_RECORD_SIZE <= r.len; p += OTA_RECORD_SIZE) {
                uint8_t *b = e->mem + r.off + p;
                uint32_t crc = (uint32_t)b[60] | (uint32_t)b[61] << 8 | (uint32_t)b[62] << 16 |
                               (uint32_t)b[63] << 24;
                if (memcmp(b, "OTAB", 4) != 0 || crc != ota_crc32(0, b, 60))
                    continue;
                uint32_t rs = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 |
                              (uint32_t)b[11] << 24;
                if (pass == 0) {
                    if (!found || rs > max) max = rs;   /* written by the code: no wrap yet */
                    found = 1;
                    continue;
                }
                rs += newest - max;
                b[8] = (uint8_t)rs; b[9] = (uint8_t)(rs >> 8); b[10] = (uint8_t)(rs >> 16);
                b[11] = (uint8_t)(rs >> 24);
                crc = ota_crc32(0, b, 60);
                b[60] = (uint8_t)crc; b[61] = (uint8_t)(crc >> 8); b[62] = (uint8_t)(crc >> 16);
                b[63] = (uint8_t)(crc >> 24);
                n++;
            }
        }
    }
    return n;
}

#endif
