/*
 * seeded_sodium.h: libsodium's random numbers drawn from the test run's seed
 * (harness.h t_seed(): $OTA_SEED, else the clock, printed), so a test that
 * feeds random inputs through randombytes_buf(), crypto_core_ed25519_random()
 * and the like can be rerun exactly.  Call t_seed_sodium() before
 * sodium_init().  Test code only: never a source of keys.
 */
#ifndef OTA_TEST_SEEDED_SODIUM_H
#define OTA_TEST_SEEDED_SODIUM_H

#include <sodium.h>
#include "../harness.h"

static const char *t_rb_name(void) { return "otasign-tests-seeded"; }
static uint32_t t_rb_random(void) { return (uint32_t)t_rand64(); }
static void t_rb_stir(void) {}
static uint32_t t_rb_uniform(const uint32_t upper)
{
    if (upper < 2) return 0;
    uint32_t min = (uint32_t)(-upper) % upper, r;
    do r = (uint32_t)t_rand64(); while (r < min);
    return r % upper;
}
static void t_rb_buf(void *const buf, const size_t size) { t_rand_bytes(buf, size); }
static int t_rb_close(void) { return 0; }

static void t_seed_sodium(void)
{
    static struct randombytes_implementation impl = {
        t_rb_name, t_rb_random, t_rb_stir, t_rb_uniform, t_rb_buf, t_rb_close,
    };
    t_seed();
    randombytes_set_implementation(&impl);
}

#endif
