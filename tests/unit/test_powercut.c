/*
 * test_powercut.c: power cut at EVERY flash operation (write or erase) of an
 * install, of a trial boot + confirm, of a revert after failed trials, and of
 * a first install on a device that only has its golden program; each cut in
 * three ways (the operation does not happen / half happens / half happens
 * and leaves a garbage byte).  After each cut the device "reboots" from
 * flash alone and must
 *   - boot a program that reads back byte for byte as either the old
 *     confirmed one or the new one (never garbage, never nothing),
 *   - never have written over non-erased bytes nor touched the running
 *     program's slot,
 *   - finish the interrupted job when simply carried on, ending in the state
 *     the rules say (new confirmed; or old confirmed + rolled_back).
 * A sample of cut points gets a second cut at every operation of the
 * recovery.  Reads are not cut points: they change nothing.  Then random
 * walks: thousands of update steps (installs, trial boots, confirms,
 * failing programs) with power cuts at random operations in between.
 */
#include "../harness.h"
#include "update_fixture.h"

enum { SC_INSTALL, SC_CONFIRM, SC_REVERT, SC_FIRST, SC_COUNT };
static const char *sc_name[SC_COUNT] = { "install", "trial+confirm", "revert", "first-install" };

static const geom geoms[] = {
    { "small-256", { 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256,
                     256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256,
                     256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 0 },
      4, 0xFF, {0, 1}, {1, 2}, {2, 18}, {18, 34}, {34, 44} },
    { "pico-scaled", { 1024, 1024, 1024, 8192, 1024, 0 }, 8, 0xFF, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5} },
    /* the Espruino Pico itself (otadev's default): 3 x 16 KB + 128 KB, golden 16 KB */
    { "pico", { 16384, 16384, 16384, 131072, 16384, 0 }, 4, 0xFF, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5} },
    { "align1-erased00", { 512, 512, 2048, 2048, 2048, 0 }, 1, 0x00, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5} },
};

/* One test world: the flash, the device, the programs, what is expected. */
typedef struct world {
    emu e;
    ota_dev dev;
    uint8_t *snap;          /* flash contents at the scenario's start */
    uint8_t old_prog[4000], new_prog[4000], gold[600];
    uint32_t n_old, n_new, n_gold;
    uint64_t old_seq, new_seq;  /* old_seq 0: only golden before */
    uint8_t new_slot;
    int scenario;
} world;

static long cut_points, cases, double_cases, resumed, bad_cases;

/* Did the last failure come from the power cut? */
static int cut(const world *w, ota_err e)
{
    return e == OTA_ERR_FLASH && w->e.dead;
}

/* Check that boot chose old or new (per what the scenario allows) and the
 * bytes are right. */
static int boot_ok(world *w, const ota_boot_info *bi, int allow_old, int allow_new)
{
    if (allow_old) {
        if (w->old_seq == 0 && bi->which == OTA_RUN_GOLDEN && fx_runs(&w->e, bi, w->gold, w->n_gold))
            return 1;
        if (w->old_seq != 0 && bi->which == (w->new_slot ^ 1) && bi->seq == w->old_seq
            && fx_runs(&w->e, bi, w->old_prog, w->n_old))
            return 1;
    }
    if (allow_new && bi->which == w->new_slot && bi->seq == w->new_seq
        && fx_runs(&w->e, bi, w->new_prog, w->n_new))
        return 1;
    return 0;
}

/* The operation sequence that gets interrupted. */
static ota_err run_scenario(world *w)
{
    ota_boot_info bi;
    ota_err e;
    switch (w->scenario) {
    case SC_INSTALL:
        return fx_install(&w->dev, w->new_prog, w->n_new, w->new_seq, 0, 0, 100, NULL);
    case SC_CONFIRM:
        if ((e = ota_boot(&bi, &w->dev)) != OTA_OK)
            return e;
        return ota_confirm(&w->dev, &bi);
    case SC_REVERT:
        for (int i = 0; i < 4; i++)
            if ((e = ota_boot(&bi, &w->dev)) != OTA_OK)
                return e;
        return OTA_OK;
    case SC_FIRST:
        if ((e = fx_install(&w->dev, w->new_prog, w->n_new, w->new_seq, 0, 0, 100, NULL)) != OTA_OK)
            return e;
        if ((e = ota_boot(&bi, &w->dev)) != OTA_OK)
            return e;
        return ota_confirm(&w->dev, &bi);
    }
    return OTA_ERR_ARG;
}

/* After a reboot: check, then carry on to the end.  Returns OTA_OK when
 * done (and *ok says whether every check held), OTA_ERR_FLASH when a second
 * power cut stopped it. */
static ota_err recover(world *w, int *ok)
{
    ota_boot_info bi;
    ota_status st;
    ota_err e;
    uint32_t at = 0;
    *ok = 1;
#define REQUIRE(c) do { if (!(c)) { *ok = 0; return OTA_OK; } } while (0)
#define STEP(call) do { e = (call); if (cut(w, e)) return e; REQUIRE(e == OTA_OK); } while (0)
    switch (w->scenario) {
    case SC_INSTALL:
    case SC_FIRST:
        /* what the device would report right after power returns */
        STEP(ota_status_read(&st, &w->dev));
        REQUIRE(st.state == OTA_STATE_TRIAL || st.state == OTA_STATE_DOWNLOADING
                || st.state == OTA_STATE_DOWNLOADED
                || st.state == (w->old_seq ? OTA_STATE_CONFIRMED : OTA_STATE_NONE));
        REQUIRE(ota_running_seq(&st) == w->old_seq);
        REQUIRE(st.pending_seq == 0 || st.pending_seq == w->new_seq);
        REQUIRE(st.state != OTA_STATE_TRIAL || st.trial_seq == w->new_seq);
        STEP(ota_boot(&bi, &w->dev));
        REQUIRE(boot_ok(w, &bi, 1, 1));
        if (!bi.trial && bi.which != w->new_slot) {
            /* the old program runs: the same offer comes again, resume it */
            e = fx_install(&w->dev, w->new_prog, w->n_new, w->new_seq, 0, 0, 100, &at);
            if (cut(w, e))
                return e;
            REQUIRE(e == OTA_OK);
            if (at > 0)
                resumed++;
            STEP(ota_boot(&bi, &w->dev));
            REQUIRE(bi.trial && boot_ok(w, &bi, 0, 1));
        }
        STEP(ota_confirm(&w->dev, &bi));
        STEP(ota_boot(&bi, &w->dev));
        REQUIRE(!bi.trial && boot_ok(w, &bi, 0, 1));
        STEP(ota_status_read(&st, &w->dev));
        REQUIRE(st.state == OTA_STATE_CONFIRMED && st.active_seq == w->new_seq);
        return OTA_OK;
    case SC_CONFIRM:
        STEP(ota_boot(&bi, &w->dev));
        REQUIRE(boot_ok(w, &bi, 0, 1));
        STEP(ota_confirm(&w->dev, &bi));
        STEP(ota_boot(&bi, &w->dev));
        REQUIRE(!bi.trial && boot_ok(w, &bi, 0, 1));
        STEP(ota_status_read(&st, &w->dev));
        REQUIRE(st.state == OTA_STATE_CONFIRMED && st.active_seq == w->new_seq);
        return OTA_OK;
    case SC_REVERT:
        for (int i = 0;; i++) {
            REQUIRE(i < 8);
            STEP(ota_boot(&bi, &w->dev));
            REQUIRE(boot_ok(w, &bi, 1, 1));
            REQUIRE(bi.trial == (bi.which == w->new_slot));
            if (!bi.trial)
                break;               /* the candidate never confirms */
        }
        STEP(ota_status_read(&st, &w->dev));
        REQUIRE(st.state == OTA_STATE_ROLLED_BACK && st.event_seq == w->new_seq
                && st.active_seq == w->old_seq);
        return OTA_OK;
    }
#undef STEP
#undef REQUIRE
    *ok = 0;
    return OTA_OK;
}

static void restore(world *w, const uint8_t *snap)
{
    memcpy(w->e.mem, snap, w->e.size);
    emu_power_on(&w->e);
    w->e.ops = 0;
    w->e.violations = 0;
}

/* Protect what must never change during the scenario: the running
 * program's slot during installs, both slots otherwise. */
static void protect(world *w)
{
    ota_region a = w->dev.layout.slot[0], b = w->dev.layout.slot[1];
    if (w->scenario == SC_INSTALL || w->scenario == SC_FIRST) {
        ota_region keep = w->dev.layout.slot[w->new_slot ^ 1];
        w->e.prot_off = keep.off;
        w->e.prot_len = w->old_seq ? keep.len : 0;
    } else {
        uint32_t lo = a.off < b.off ? a.off : b.off;
        uint32_t hi = a.off + a.len > b.off + b.len ? a.off + a.len : b.off + b.len;
        w->e.prot_off = lo;
        w->e.prot_len = hi - lo;
    }
}

/* Run one cut case from the scenario snapshot; returns 1 when it held. */
static int one_case(world *w, long n, int tear, int second)
{
    int ok = 1, ok2 = 1;
    restore(w, w->snap);
    protect(w);
    w->e.cut_at = n;
    w->e.tear = tear;
    ota_err e = run_scenario(w);
    if (!w->e.dead)
        return 0;               /* the cut must have happened */
    (void)e;
    emu_power_on(&w->e);
    protect(w);
    if (second) {
        /* a second cut at every operation of the recovery */
        uint8_t *mid = malloc(w->e.size);
        memcpy(mid, w->e.mem, w->e.size);
        long base = w->e.ops;
        if (recover(w, &ok) != OTA_OK || !ok)
            ok = 0;
        long rec_ops = w->e.ops - base;
        for (long m = 0; m < rec_ops && ok; m++) {
            memcpy(w->e.mem, mid, w->e.size);
            emu_power_on(&w->e);
            protect(w);
            w->e.ops = 0;
            w->e.cut_at = m;
            w->e.tear = (int)(m % 3);
            int okm = 1;
            e = recover(w, &okm);
            if (!okm)
                ok = 0;
            if (e == OTA_OK && !w->e.dead)
                continue;       /* the recovery wrote less this time: fine */
            emu_power_on(&w->e);
            protect(w);
            if (recover(w, &ok2) != OTA_OK || !ok2)
                ok = 0;
            double_cases++;
        }
        free(mid);
    } else if (recover(w, &ok) != OTA_OK) {
        ok = 0;
    }
    if (w->e.violations != 0)
        ok = 0;
    return ok;
}

/* Build the start state: golden, v1 confirmed (unless first-install), then
 * `cycles` earlier updates (install, trial, confirm), so the journal sits
 * at a different place in its copies each time. */
static int build_start(world *w, const geom *g, int scenario, int cycles)
{
    ota_boot_info bi;
    fx_setup(&w->e, &w->dev, g);
    w->scenario = scenario;
    uint32_t cap = ota_slot_capacity(&w->dev, w->dev.layout.slot[0]);
    uint32_t capb = ota_slot_capacity(&w->dev, w->dev.layout.slot[1]);
    if (capb < cap)
        cap = capb;
    if (cap > sizeof w->new_prog)
        cap = sizeof w->new_prog;
    w->n_gold = 500;
    fx_program(w->gold, w->n_gold, 0);
    if (fx_install(&w->dev, w->gold, w->n_gold, 0, OTA_INSTALL_GOLDEN, 0, 100, NULL) != OTA_OK)
        return 0;
    uint64_t seq = 0;
    if (scenario != SC_FIRST) {
        seq = 1;
        w->n_old = cap * 3 / 4 + 11;
        fx_program(w->old_prog, w->n_old, seq);
        if (fx_install(&w->dev, w->old_prog, w->n_old, seq, 0, OTA_INSTALL_CONFIRMED, 100, NULL) != OTA_OK)
            return 0;
        for (int i = 0; i < cycles; i++) {
            seq++;
            w->n_old = cap - 7 - (uint32_t)i * 100;
            fx_program(w->old_prog, w->n_old, seq);
            if (fx_install(&w->dev, w->old_prog, w->n_old, seq, 0, 0, 100, NULL) != OTA_OK
                || ota_boot(&bi, &w->dev) != OTA_OK || ota_confirm(&w->dev, &bi) != OTA_OK)
                return 0;
        }
    }
    ota_status st;
    if (ota_status_read(&st, &w->dev) != OTA_OK)
        return 0;
    w->old_seq = seq;
    w->new_seq = seq + 1;
    w->new_slot = st.active == 0 ? 1 : 0;
    w->n_new = cap - 5;
    fx_program(w->new_prog, w->n_new, w->new_seq);
    if (scenario == SC_CONFIRM || scenario == SC_REVERT) {
        /* start with the candidate installed, on trial, 0 attempts */
        if (fx_install(&w->dev, w->new_prog, w->n_new, w->new_seq, 0, 0, 100, NULL) != OTA_OK)
            return 0;
    }
    w->snap = malloc(w->e.size);
    memcpy(w->snap, w->e.mem, w->e.size);
    return 1;
}

/* A random walk: many update cycles where each step (install from a random
 * resume point, boot, confirm, a program that fails) may be cut at a random
 * flash operation.  After every step: boot runs the exact bytes of the
 * release it names, the confirmed sequence never goes down, NOR rules hold
 * and the running program's slot is never written. */
static uint32_t rw_size(uint64_t seq, uint32_t cap)
{
    return 1 + (uint32_t)((seq * 2654435761u) % cap);
}

static long random_walk(const geom *g, uint32_t seed, int steps)
{
    static uint8_t prog[4000];
    emu e;
    ota_dev dev;
    ota_boot_info bi;
    ota_status st;
    long bad = 0, cuts = 0;
    fx_setup(&e, &dev, g);
    uint32_t cap = ota_slot_capacity(&dev, dev.layout.slot[0]);
    if (ota_slot_capacity(&dev, dev.layout.slot[1]) < cap)
        cap = ota_slot_capacity(&dev, dev.layout.slot[1]);
    if (cap > sizeof prog)
        cap = sizeof prog;
    fx_program(prog, 200, 0);
    if (fx_install(&dev, prog, 200, 0, OTA_INSTALL_GOLDEN, 0, 50, NULL) != OTA_OK)
        return 1;
    uint64_t next_seq = 1, confirmed_floor = 0;
    for (int step = 0; step < steps; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 8) & 0xFFFF;
        emu_power_on(&e);
        e.violations = 0;
        if (r % 3 == 0) {                      /* maybe cut within the next 40 ops */
            e.ops = 0;
            e.cut_at = (long)(r % 40);
            e.tear = (int)(r % 3);
        }
        if (ota_status_read(&st, &dev) != OTA_OK) {
            if (!e.dead) bad++;
            continue;
        }
        if (st.state == OTA_STATE_TRIAL) {
            if (ota_boot(&bi, &dev) == OTA_OK && bi.trial && (r & 8)) {
                ota_confirm(&dev, &bi);        /* half of the trials prove themselves */
            }
        } else {
            uint64_t seq = st.pending_seq ? st.pending_seq : next_seq++;
            uint32_t n = rw_size(seq, cap);
            fx_program(prog, n, seq);
            ota_region keep = dev.layout.slot[st.active == 1 ? 1 : 0];
            e.prot_off = keep.off;
            e.prot_len = st.active == OTA_SLOT_NONE ? 0 : keep.len;
            fx_install(&dev, prog, n, seq, 0, 0, 1 + r % 300, NULL);
            e.prot_len = 0;
        }
        if (e.dead)
            cuts++;
        if (e.violations)
            bad++;
        /* power back on: the boot must give a verified, known program */
        emu_power_on(&e);
        if (ota_boot(&bi, &dev) != OTA_OK) {
            bad++;
            continue;
        }
        if (bi.which == OTA_RUN_GOLDEN) {
            fx_program(prog, 200, 0);
            if (!fx_runs(&e, &bi, prog, 200)) bad++;
        } else {
            uint32_t n = rw_size(bi.seq, cap);
            fx_program(prog, n, bi.seq);
            if (!fx_runs(&e, &bi, prog, n)) bad++;
        }
        if (ota_status_read(&st, &dev) != OTA_OK || st.active_seq < confirmed_floor)
            bad++;
        else
            confirmed_floor = st.active_seq;
        /* a trial boot that just ran: it confirms sometimes */
        if (bi.trial && (r & 16))
            ota_confirm(&dev, &bi);
    }
    if (!CHECKF(bad == 0, "%s: random walk seed %u: %ld bad steps", g->name, seed, bad))
        return -1;
    CHECKF(confirmed_floor > 10, "%s: random walk made progress (confirmed seq %llu)", g->name,
           (unsigned long long)confirmed_floor);
    emu_free(&e);
    return cuts;
}

int main(void)
{
    t_suite_name = "test_powercut";
    long per_sc[SC_COUNT] = { 0 };
    for (size_t gi = 0; gi < sizeof geoms / sizeof geoms[0]; gi++) {
        for (int sc = 0; sc < SC_COUNT; sc++) {
            /* cycles 4 and 5: 1 and 2 cycles, then the journal renumbered so
             * that its newest record is 0xFFFFFFFF: the scenario's records
             * wrap to 0, 1, ... (serial-number order, issue 12) */
            for (int cycles = 0; cycles < 6; cycles++) {
                static world w;
                if (cycles >= 4 && sc == SC_FIRST)
                    continue;   /* golden only: no journal record to renumber */
                T_CASE("%s %s cycles %d%s: every cut point", geoms[gi].name, sc_name[sc],
                       cycles >= 4 ? cycles - 3 : cycles, cycles >= 4 ? ", journal at 0xFFFFFFFF" : "");
                memset(&w, 0, sizeof w);
                if (!CHECKF(build_start(&w, &geoms[gi], sc, cycles >= 4 ? cycles - 3 : cycles),
                            "%s %s: start state", geoms[gi].name, sc_name[sc]))
                    continue;
                if (cycles >= 4) {
                    CHECKF(fx_journal_rebase(&w.e, &w.dev, 0xFFFFFFFFu) > 0, "%s %s: journal at 0xFFFFFFFF",
                           geoms[gi].name, sc_name[sc]);
                    memcpy(w.snap, w.e.mem, w.e.size);
                    ota_status st;
                    CHECKF(ota_status_read(&st, &w.dev) == OTA_OK && st.record_seq == 0xFFFFFFFFu,
                           "%s %s: newest record 0xFFFFFFFF", geoms[gi].name, sc_name[sc]);
                }
                /* count the operations of an uninterrupted run, and check it */
                restore(&w, w.snap);
                protect(&w);
                ota_err e = run_scenario(&w);
                long total = w.e.ops;
                CHECKF(e == OTA_OK && w.e.violations == 0 && total > 0, "%s %s: clean run",
                       geoms[gi].name, sc_name[sc]);
                for (long n = 0; n < total; n++) {
                    cut_points++;
                    per_sc[sc]++;
                    for (int tear = 0; tear < 3; tear++) {
                        int second = (n % 4 == 0 && tear == 1);
                        cases++;
                        if (!one_case(&w, n, tear, second)) {
                            bad_cases++;
                            CHECKF(0, "%s %s cycles=%d: cut at op %ld/%ld tear %d%s fails",
                                   geoms[gi].name, sc_name[sc], cycles, n, total, tear,
                                   second ? " (+second cut)" : "");
                        }
                    }
                }
                free(w.snap);
                emu_free(&w.e);
            }
        }
    }
    long walk_cuts = 0;
    for (size_t gi = 0; gi < sizeof geoms / sizeof geoms[0]; gi++)
        for (uint32_t seed = 1; seed <= 3; seed++) {
            /* seeds from the run's seed (printed; OTA_SEED=N reruns it) */
            uint32_t s = (uint32_t)(t_seed() * 2654435761u) + seed * 7919u;
            T_CASE("%s random walk seed %u", geoms[gi].name, s);
            long c = random_walk(&geoms[gi], s, 1000);
            if (c > 0)
                walk_cuts += c;
        }
    printf("random walks: %zu x 1000 steps, %ld of them cut by a power failure\n",
           3 * (sizeof geoms / sizeof geoms[0]), walk_cuts);
    T_CASE("totals");
    CHECK(resumed > 0);
    CHECK_EQ(bad_cases, 0);
    printf("power-cut points: %ld (install %ld, trial+confirm %ld, revert %ld, first-install %ld)\n",
           cut_points, per_sc[SC_INSTALL], per_sc[SC_CONFIRM], per_sc[SC_REVERT], per_sc[SC_FIRST]);
    printf("cases: %ld single cuts (3 tear modes each), %ld double cuts, %ld installs resumed mid-way\n",
           cases, double_cases, resumed);
    CHECK(cut_points > 0);
    return t_done();
}
