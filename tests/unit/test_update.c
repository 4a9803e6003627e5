/*
 * test_update.c: the device update state machine (common/ota_update.c) on
 * emulated flash, without power cuts (those are test_powercut.c): layouts,
 * provisioning, install/trial/confirm, revert after failed trials, hash
 * failures, resume, journal rotation, several geometries.
 */
#include "../harness.h"
#include "update_fixture.h"

static const geom geoms[] = {
    /* 256-byte pages: boot copies of 4 records, so the journal rotates often */
    { "small-256", { 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256,
                     256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256,
                     256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 0 },
      4, 0xFF, {0, 1}, {1, 2}, {2, 18}, {18, 34}, {34, 44} },
    /* Pico-like, scaled by 1/16: three small pages and one big, plus golden */
    { "pico-scaled", { 1024, 1024, 1024, 8192, 1024, 0 }, 8, 0xFF, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5} },
    /* byte-writable flash that erases to 0x00 */
    { "align1-erased00", { 512, 512, 2048, 2048, 2048, 0 }, 1, 0x00, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5} },
    /* 64-byte write units (a record per write unit) */
    { "align64", { 2048, 2048, 4096, 4096, 4096, 0 }, 64, 0xFF, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5} },
};

static uint8_t prog1[4000], prog2[4000], prog3[4000], gold[1000];

static void test_crc(void)
{
    CHECK_EQ(ota_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);
    CHECK_EQ(ota_crc32(0, NULL, 0), 0);
}

static void test_layout_checks(void)
{
    emu e;
    ota_dev dev;
    fx_setup(&e, &dev, &geoms[1]);
    CHECK_EQ(ota_dev_check(&dev), OTA_OK);
    ota_dev bad = dev;
    bad.layout.slot[1] = bad.layout.slot[0];                       /* overlap */
    CHECK_EQ(ota_dev_check(&bad), OTA_ERR_ARG);
    bad = dev;
    bad.layout.slot[0].len = 1000;                                 /* not whole pages */
    CHECK_EQ(ota_dev_check(&bad), OTA_ERR_ALIGN);
    bad = dev;
    bad.layout.boot[1].off += 8;                                   /* not a page start */
    CHECK_EQ(ota_dev_check(&bad), OTA_ERR_ALIGN);
    bad = dev;
    bad.layout.slot[1].len = 0;
    CHECK_EQ(ota_dev_check(&bad), OTA_ERR_ARG);
    bad = dev;
    bad.layout.golden.len = 0;                                     /* golden may be absent */
    CHECK_EQ(ota_dev_check(&bad), OTA_OK);
    ota_flash f = e.port;
    f.write_align = 3;
    bad = dev;
    bad.flash = &f;
    CHECK_EQ(ota_dev_check(&bad), OTA_ERR_ALIGN);
    CHECK_EQ(ota_dev_check(NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_slot_capacity(&dev, dev.layout.slot[0]), 3 * 256);   /* (1024-128)/(256+8) = 3 */
    emu_free(&e);
}

/* The whole life of a device on one geometry. */
static void test_lifecycle(const geom *g)
{
    emu e;
    ota_dev dev;
    ota_boot_info bi;
    ota_status st;
    fx_setup(&e, &dev, g);
    CHECKF(ota_dev_check(&dev) == OTA_OK, "%s: layout", g->name);
    uint32_t cap = ota_slot_capacity(&dev, dev.layout.slot[0]);
    uint32_t capb = ota_slot_capacity(&dev, dev.layout.slot[1]);
    if (capb < cap)
        cap = capb;
    uint32_t n1 = cap * 2 / 3 + 17, n2 = cap - 3, n3 = cap / 2 + 1;
    uint32_t ng = ota_slot_capacity(&dev, dev.layout.golden) / 2 + 5;
    if (ng > sizeof gold)
        ng = sizeof gold;
    fx_program(prog1, n1, 1);
    fx_program(prog2, n2, 2);
    fx_program(prog3, n3, 3);
    fx_program(gold, ng, 0);

    /* fresh device: nothing to run at all */
    CHECK_EQ(ota_boot(&bi, &dev), OTA_ERR_NO_PROGRAM);
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_NONE);
    CHECK_EQ(st.found, 0);

    /* provisioning: golden, then v1 confirmed */
    CHECKF(fx_install(&dev, gold, ng, 0, OTA_INSTALL_GOLDEN, 0, 100, NULL) == OTA_OK, "%s: golden", g->name);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_GOLDEN);
    CHECK(fx_runs(&e, &bi, gold, ng));
    CHECKF(fx_install(&dev, prog1, n1, 1, 0, OTA_INSTALL_CONFIRMED, 333, NULL) == OTA_OK, "%s: v1", g->name);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_A);
    CHECK_EQ(bi.seq, 1);
    CHECK_EQ(bi.trial, 0);
    CHECK(fx_runs(&e, &bi, prog1, n1));
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_CONFIRMED);
    CHECK_EQ(ota_running_seq(&st), 1);

    /* v2: written to B while A runs, trial, confirm */
    uint32_t crc_a = ota_crc32(0, e.mem + dev.layout.slot[0].off, dev.layout.slot[0].len);
    CHECK_EQ(fx_install(&dev, prog2, n2, 2, 0, 0, 1, NULL), OTA_OK);  /* byte by byte */
    CHECK_EQ(ota_crc32(0, e.mem + dev.layout.slot[0].off, dev.layout.slot[0].len), crc_a);
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_TRIAL);
    CHECK_EQ(st.trial, 1);
    CHECK_EQ(st.attempts, 0);
    CHECK_EQ(ota_running_seq(&st), 1);
    /* no second install while a trial is pending */
    CHECK_EQ(fx_install(&dev, prog3, n3, 3, 0, 0, 100, NULL), OTA_ERR_STATE);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_B);
    CHECK_EQ(bi.trial, 1);
    CHECK_EQ(bi.attempt, 1);
    CHECK(fx_runs(&e, &bi, prog2, n2));
    CHECK_EQ(ota_confirm(&dev, &bi), OTA_OK);
    CHECK_EQ(ota_confirm(&dev, &bi), OTA_OK);   /* idempotent */
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_CONFIRMED);
    CHECK_EQ(st.active, 1);
    CHECK_EQ(ota_running_seq(&st), 2);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_B);
    CHECK_EQ(bi.trial, 0);

    /* v3 never confirms: three trial boots, the fourth reverts to v2 */
    CHECK_EQ(fx_install(&dev, prog3, n3, 3, 0, 0, 700, NULL), OTA_OK);
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
        CHECK_EQ(bi.which, OTA_RUN_SLOT_A);
        CHECK_EQ(bi.trial, 1);
        CHECK_EQ(bi.attempt, i);
        CHECK(fx_runs(&e, &bi, prog3, n3));
    }
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_B);
    CHECK_EQ(bi.reverted, 1);
    CHECK(fx_runs(&e, &bi, prog2, n2));
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_ROLLED_BACK);
    CHECK_EQ(st.event_seq, 3);
    CHECK_EQ(ota_running_seq(&st), 2);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);      /* and it stays there */
    CHECK_EQ(bi.which, OTA_RUN_SLOT_B);
    CHECK_EQ(bi.reverted, 0);

    /* a tampered download: hash mismatch, slot wiped, v2 still runs */
    uint8_t bad[4000];
    memcpy(bad, prog3, n3);
    bad[n3 / 2] ^= 1;
    {
        ota_install in;
        ota_image img;
        uint32_t at;
        fx_image(&img, prog3, n3, 4);
        CHECK_EQ(ota_install_begin(&in, &dev, &img, 0, &at), OTA_OK);
        CHECK_EQ(at, 0);
        CHECK_EQ(ota_install_write(&in, &dev, bad, n3 - 1), OTA_OK);
        CHECK_EQ(ota_install_finish(&in, &dev, 0), OTA_ERR_TRUNCATED);  /* not done yet */
        CHECK_EQ(ota_install_write(&in, &dev, bad + n3 - 1, 2), OTA_ERR_TOO_LONG);
        CHECK_EQ(ota_install_finish(&in, &dev, 0), OTA_ERR_TOO_LONG);    /* sticky */
        CHECK_EQ(ota_install_begin(&in, &dev, &img, 0, &at), OTA_OK);   /* resume */
        CHECK_EQ(at, (n3 - 1) / OTA_BLOCK_SIZE * OTA_BLOCK_SIZE);
        CHECK_EQ(ota_install_write(&in, &dev, bad + at, n3 - at), OTA_OK);
        CHECK_EQ(ota_install_finish(&in, &dev, 0), OTA_ERR_HASH_MISMATCH);
        CHECK_EQ(ota_install_begin(&in, &dev, &img, 0, &at), OTA_OK);   /* wiped: from 0 */
        CHECK_EQ(at, 0);
    }
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_B);
    CHECK_EQ(bi.seq, 2);

    /* too big for the slot */
    {
        ota_install in;
        ota_image img;
        fx_image(&img, prog3, n3, 5);
        img.size = ota_slot_capacity(&dev, dev.layout.slot[0]) + 1;
        CHECK_EQ(ota_install_begin(&in, &dev, &img, 0, NULL), OTA_ERR_TOO_BIG);
        CHECK_EQ(ota_install_write(&in, &dev, prog3, 1), OTA_ERR_STATE);
    }

    /* resume after a dropped link: same image -> durable prefix kept;
     * another image -> start over */
    {
        ota_install in;
        ota_image img;
        uint32_t at;
        fx_image(&img, prog3, n3, 6);
        CHECK_EQ(ota_install_begin(&in, &dev, &img, 0, &at), OTA_OK);
        CHECK_EQ(ota_install_write(&in, &dev, prog3, n3 / 2 + 3), OTA_OK);
        CHECK_EQ(ota_install_offset(&in), n3 / 2 + 3);
        CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
        CHECK_EQ(st.state, OTA_STATE_DOWNLOADING);
        CHECK_EQ(st.pending_seq, 6);
        CHECK_EQ(st.pending_bytes, (n3 / 2 + 3) / OTA_BLOCK_SIZE * OTA_BLOCK_SIZE);
        CHECK_EQ(ota_running_seq(&st), 2);
        CHECK_EQ(ota_install_begin(&in, &dev, &img, 0, &at), OTA_OK);
        CHECK_EQ(at, (n3 / 2 + 3) / OTA_BLOCK_SIZE * OTA_BLOCK_SIZE);
        ota_image other;
        fx_image(&other, prog1, n1, 7);
        ota_install in2;
        CHECK_EQ(ota_install_begin(&in2, &dev, &other, 0, &at), OTA_OK);
        CHECK_EQ(at, 0);
    }
    CHECK_EQ(fx_install(&dev, prog3, n3, 8, 0, 0, 64, NULL), OTA_OK);

    /* the candidate's slot corrupted after install: reported failed, v2 runs */
    e.mem[dev.layout.slot[0].off + OTA_SLOT_HDR_SIZE + 10] ^= 0x40;
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_B);
    CHECK_EQ(bi.reverted, 1);
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_FAILED);
    CHECK_EQ(st.event_seq, 8);

    /* the confirmed program corrupted: golden runs; golden too: nothing */
    e.mem[dev.layout.slot[1].off + OTA_SLOT_HDR_SIZE + n2 - 1] ^= 0x01;
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_GOLDEN);
    CHECK(fx_runs(&e, &bi, gold, ng));
    e.mem[dev.layout.golden.off + OTA_SLOT_HDR_SIZE] ^= 0x01;
    CHECK_EQ(ota_boot(&bi, &dev), OTA_ERR_NO_PROGRAM);
    CHECK_EQ(e.violations, 0);
    emu_free(&e);
}

/* Many update cycles: the journal rotates between its copies many times
 * and the state stays right. */
static void test_many_cycles(const geom *g)
{
    emu e;
    ota_dev dev;
    ota_boot_info bi;
    ota_status st;
    fx_setup(&e, &dev, g);
    uint32_t n = 700;
    fx_program(gold, 300, 0);
    CHECK_EQ(fx_install(&dev, gold, 300, 0, OTA_INSTALL_GOLDEN, 0, 100, NULL), OTA_OK);
    int bad = 0;
    for (uint64_t seq = 1; seq <= 60; seq++) {
        fx_program(prog1, n, seq);
        if (fx_install(&dev, prog1, n, seq, 0, 0, 200, NULL) != OTA_OK) { bad++; continue; }
        if (seq % 3 == 0) {          /* every third release fails its trial */
            for (int i = 0; i < 4; i++)
                if (ota_boot(&bi, &dev) != OTA_OK) bad++;
            if (ota_status_read(&st, &dev) != OTA_OK || st.state != OTA_STATE_ROLLED_BACK
                || st.event_seq != seq)
                bad++;
        } else {
            if (ota_boot(&bi, &dev) != OTA_OK || !bi.trial || !fx_runs(&e, &bi, prog1, n)) bad++;
            if (ota_confirm(&dev, &bi) != OTA_OK) bad++;
            if (ota_status_read(&st, &dev) != OTA_OK || st.state != OTA_STATE_CONFIRMED
                || st.active_seq != seq)
                bad++;
        }
    }
    CHECKF(bad == 0, "%s: %d bad steps over 60 cycles", g->name, bad);
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.active_seq, 59);
    CHECK(st.record_seq > 150);
    CHECK_EQ(e.violations, 0);
    emu_free(&e);
}

/* From the golden program: a first install with no confirmed program. */
static void test_from_golden(void)
{
    emu e;
    ota_dev dev;
    ota_boot_info bi;
    ota_status st;
    fx_setup(&e, &dev, &geoms[1]);
    fx_program(gold, 500, 0);
    fx_program(prog1, 600, 1);
    CHECK_EQ(fx_install(&dev, gold, 500, 0, OTA_INSTALL_GOLDEN, 0, 100, NULL), OTA_OK);
    CHECK_EQ(fx_install(&dev, prog1, 600, 1, 0, 0, 100, NULL), OTA_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
        CHECK_EQ(bi.trial, 1);
    }
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_GOLDEN);
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_ROLLED_BACK);
    CHECK_EQ(ota_running_seq(&st), 0);
    CHECK_EQ(fx_install(&dev, prog1, 600, 2, 0, 0, 100, NULL), OTA_OK);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(ota_confirm(&dev, &bi), OTA_OK);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_A);
    CHECK_EQ(bi.seq, 2);
    CHECK_EQ(e.violations, 0);
    emu_free(&e);
}

/* A board's flash is not erased when it first meets this code (old saved
 * code, random bits): provisioning and updates must still work. */
static void test_dirty_flash(void)
{
    emu e;
    ota_dev dev;
    ota_boot_info bi;
    ota_status st;
    fx_setup(&e, &dev, &geoms[0]);
    uint32_t x = 99;
    for (uint32_t i = 0; i < e.size; i++) {
        x = x * 1103515245u + 12345u;
        e.mem[i] = (uint8_t)(x >> 16);
    }
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.found, 0);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_ERR_NO_PROGRAM);
    fx_program(gold, 500, 0);
    fx_program(prog1, 900, 1);
    fx_program(prog2, 1900, 2);
    CHECK_EQ(fx_install(&dev, gold, 500, 0, OTA_INSTALL_GOLDEN, 0, 100, NULL), OTA_OK);
    CHECK_EQ(fx_install(&dev, prog1, 900, 1, 0, OTA_INSTALL_CONFIRMED, 100, NULL), OTA_OK);
    CHECK_EQ(fx_install(&dev, prog2, 1900, 2, 0, 0, 100, NULL), OTA_OK);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK(bi.trial && fx_runs(&e, &bi, prog2, 1900));
    CHECK_EQ(ota_confirm(&dev, &bi), OTA_OK);
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.state, OTA_STATE_CONFIRMED);
    CHECK_EQ(st.active_seq, 2);
    CHECK_EQ(e.violations, 0);
    emu_free(&e);
}

/* Flash that stops accepting writes: boots still run a verified program,
 * never an uncounted trial; installs fail cleanly. */
static void test_write_failures(void)
{
    emu e;
    ota_dev dev;
    ota_boot_info bi;
    fx_setup(&e, &dev, &geoms[1]);
    fx_program(gold, 300, 0);
    fx_program(prog1, 500, 1);
    fx_program(prog2, 600, 2);
    CHECK_EQ(fx_install(&dev, gold, 300, 0, OTA_INSTALL_GOLDEN, 0, 100, NULL), OTA_OK);
    CHECK_EQ(fx_install(&dev, prog1, 500, 1, 0, OTA_INSTALL_CONFIRMED, 100, NULL), OTA_OK);
    CHECK_EQ(fx_install(&dev, prog2, 600, 2, 0, 0, 100, NULL), OTA_OK);
    e.fail_writes = 1;
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);          /* could not count the trial boot */
    CHECK_EQ(bi.trial, 0);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_A);
    CHECK(fx_runs(&e, &bi, prog1, 500));
    CHECK_EQ(ota_confirm(&dev, &bi), OTA_ERR_STATE);   /* the old program cannot vouch for v2 */
    CHECK_EQ(fx_install(&dev, prog2, 600, 3, 0, 0, 100, NULL), OTA_ERR_STATE);
    e.fail_writes = 0;
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);          /* writable again: the trial runs */
    CHECK_EQ(bi.trial, 1);
    CHECK_EQ(bi.attempt, 1);
    CHECK_EQ(ota_confirm(&dev, &bi), OTA_OK);
    e.fail_writes = 1;
    CHECK_EQ(fx_install(&dev, prog1, 500, 3, 0, 0, 100, NULL), OTA_ERR_FLASH);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECK_EQ(bi.which, OTA_RUN_SLOT_B);
    CHECK(fx_runs(&e, &bi, prog2, 600));
    emu_free(&e);
}

static void test_args(void)
{
    ota_boot_info bi;
    ota_status st;
    ota_install in;
    CHECK_EQ(ota_boot(NULL, NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_boot(&bi, NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_status_read(&st, NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_confirm(NULL, NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_install_begin(NULL, NULL, NULL, 0, NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_install_begin(&in, NULL, NULL, 0, NULL), OTA_ERR_ARG);
    CHECK_EQ(ota_install_write(&in, NULL, NULL, 0), OTA_ERR_ARG);
    CHECK(strcmp(ota_state_name(OTA_STATE_ROLLED_BACK), "rolled_back") == 0);
    CHECK(strcmp(ota_state_name((ota_state)99), "unknown") == 0);
}

/* Set the journal sequence of the record at position pos of boot copy c
 * (CRC recomputed); 0 when there is no valid record there. */
static int set_rseq(emu *e, const ota_dev *dev, int c, uint32_t pos, uint32_t rseq)
{
    uint8_t *b = e->mem + dev->layout.boot[c].off + pos * OTA_RECORD_SIZE;
    if (memcmp(b, "OTAB", 4) != 0)
        return 0;
    b[8] = (uint8_t)rseq; b[9] = (uint8_t)(rseq >> 8); b[10] = (uint8_t)(rseq >> 16); b[11] = (uint8_t)(rseq >> 24);
    uint32_t crc = ota_crc32(0, b, 60);
    b[60] = (uint8_t)crc; b[61] = (uint8_t)(crc >> 8); b[62] = (uint8_t)(crc >> 16); b[63] = (uint8_t)(crc >> 24);
    return 1;
}

/* A device whose journal counter is at the end of its range (issue 12,
 * point 7): with a trial pending and the newest record at `top`, the trial
 * boots are counted (1, 2, 3), the device reverts, installs again and
 * confirms -- records after the wrap win over those before it.  With
 * `spread`, an older record is also moved exactly 2^31 away (a corrupt
 * image: not ordered against the newest), which the writer must compact. */
static void test_journal_wrap(const geom *g, uint32_t top, int spread)
{
    emu e;
    ota_dev dev;
    ota_boot_info bi;
    ota_status st;
    fx_setup(&e, &dev, g);
    uint32_t cap = ota_slot_capacity(&dev, dev.layout.slot[0]);
    uint32_t n = cap / 2 + 3;
    fx_program(gold, 300, 0);
    fx_program(prog1, n, 1);
    fx_program(prog2, n + 1, 2);
    fx_program(prog3, n + 2, 3);
    CHECK_EQ(fx_install(&dev, gold, 300, 0, OTA_INSTALL_GOLDEN, 0, 100, NULL), OTA_OK);
    CHECK_EQ(fx_install(&dev, prog1, n, 1, 0, OTA_INSTALL_CONFIRMED, 100, NULL), OTA_OK);
    CHECK_EQ(fx_install(&dev, prog2, n + 1, 2, 0, 0, 100, NULL), OTA_OK);
    int k = fx_journal_rebase(&e, &dev, top);
    CHECKF(k >= 1, "%s top %08x: journal rebased (%d records)", g->name, top, k);
    if (spread) {
        /* the oldest record in copy 0 (position 0) moved 2^31 from the top */
        CHECKF(set_rseq(&e, &dev, 0, 0, top + 0x80000000u) || set_rseq(&e, &dev, 1, 0, top + 0x80000000u),
               "%s: a record to spread", g->name);
    }
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    if (!spread) CHECKF(st.record_seq == top, "%s: newest record %08x, want %08x", g->name, st.record_seq, top);
    CHECKF(st.state == OTA_STATE_TRIAL || st.state == OTA_STATE_DOWNLOADED, "%s top %08x: pending trial (%d)",
           g->name, top, (int)st.state);
    if (!spread) {
        for (unsigned a = 1; a <= 3; a++) {
            CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
            CHECKF(bi.trial && bi.attempt == a && bi.seq == 2, "%s top %08x: trial boot %u counted (trial %d attempt %u)",
                   g->name, top, a, bi.trial, bi.attempt);
        }
        CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
        CHECKF(!bi.trial && bi.reverted && bi.seq == 1 && fx_runs(&e, &bi, prog1, n),
               "%s top %08x: reverted to 1 after 3 trial boots", g->name, top);
        CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
        CHECK_EQ(st.state, OTA_STATE_ROLLED_BACK);
    } else {
        /* Not ordered against the newest, the moved record may win the scan
         * (an older state: the trial not started).  Either way trial boots
         * are counted, at most 3, and the device then runs a confirmed
         * program, byte for byte. */
        unsigned trials = 0, last = 0;
        int counted = 1;
        for (int b = 0; b < 6; b++) {
            CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
            if (bi.trial) {
                trials++;
                if (bi.attempt != last + 1) counted = 0;
                last = bi.attempt;
            }
        }
        CHECKF(counted && trials <= 3, "%s top %08x spread: %u trial boots, counted %d", g->name, top, trials, counted);
        CHECKF(!bi.trial && bi.seq == 1 && fx_runs(&e, &bi, prog1, n), "%s top %08x spread: runs 1 confirmed",
               g->name, top);
    }
    CHECK_EQ(fx_install(&dev, prog3, n + 2, 3, 0, 0, 100, NULL), OTA_OK);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECKF(bi.trial && bi.seq == 3, "%s top %08x: trial of 3", g->name, top);
    CHECK_EQ(ota_confirm(&dev, &bi), OTA_OK);
    CHECK_EQ(ota_boot(&bi, &dev), OTA_OK);
    CHECKF(!bi.trial && bi.seq == 3 && fx_runs(&e, &bi, prog3, n + 2), "%s top %08x%s: 3 confirmed and running",
           g->name, top, spread ? " spread" : "");
    CHECK_EQ(ota_status_read(&st, &dev), OTA_OK);
    CHECK_EQ(st.active_seq, 3);
    if (!spread)
        CHECKF(st.record_seq - top < 64u, "%s: journal carried on from %08x to %08x", g->name, top, st.record_seq);
    CHECK_EQ(e.violations, 0);
    emu_free(&e);
}

int main(void)
{
    t_suite_name = "test_update";
    T_RUN(test_crc());
    T_RUN(test_args());
    T_RUN(test_layout_checks());
    for (size_t i = 0; i < sizeof geoms / sizeof geoms[0]; i++) {
        T_CASE("lifecycle %s", geoms[i].name);
        test_lifecycle(&geoms[i]);
        T_CASE("many cycles %s", geoms[i].name);
        test_many_cycles(&geoms[i]);
    }
    static const uint32_t tops[] = { 0xFFFFFFFFu, 0xFFFFFFFEu, 0xFFFFFFFDu, 0x7FFFFFFFu, 0x80000000u, 1u };
    for (size_t i = 0; i < sizeof geoms / sizeof geoms[0]; i++) {
        for (size_t t = 0; t < sizeof tops / sizeof tops[0]; t++) {
            T_CASE("journal wrap %s newest %08x", geoms[i].name, tops[t]);
            test_journal_wrap(&geoms[i], tops[t], 0);
        }
        T_CASE("journal spread %s", geoms[i].name);
        test_journal_wrap(&geoms[i], 0xFFFFFFFFu, 1);
        test_journal_wrap(&geoms[i], 0x12345678u, 1);
    }
    T_RUN(test_from_golden());
    T_RUN(test_dirty_flash());
    T_RUN(test_write_failures());
    return t_done();
}
