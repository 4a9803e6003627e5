/*
 * test_fe25519.c: the field arithmetic inside ota_ed25519.c (included here
 * to reach its static functions) against the reference in fe_check.h, plus
 * scalar reduction mod L against libsodium.  The same field checks run on
 * the Cortex-M4 build in scripts/test-m4.sh.
 */
#include <stdio.h>
#include <sodium.h>
#include "../../common/ota_ed25519.c"
#include "fe_check.h"
#include "../harness.h"
#include "seeded_sodium.h"

static void check_cb(int ok, const char *what, unsigned idx)
{
    CHECKF(ok, "%s, case %u", what, idx);
}

int main(void)
{
    t_suite_name = "test_fe25519";
    t_seed_sodium();
    if (sodium_init() < 0) return 2;
    T_CASE("field arithmetic against the reference (fe_check_all)");
    fe_check_all(check_cb, 3000);

    /* sc_reduce (in place too) against crypto_core_ed25519_scalar_reduce, on
     * random and extreme 64-byte inputs. */
    T_CASE("sc_reduce against libsodium");
    for (int i = 0; i < 3000; i++) {
        uint8_t in[64], want[32], got[32], buf[64];
        if (i < 3) memset(in, i == 0 ? 0x00 : i == 1 ? 0xff : 0x80, 64);
        else randombytes_buf(in, 64);
        if (i % 7 == 3) memset(in + 32, 0xff, 32);
        crypto_core_ed25519_scalar_reduce(want, in);
        sc_reduce(got, in);
        CHECKF(memcmp(got, want, 32) == 0, "sc_reduce case %d", i);
        memcpy(buf, in, 64);
        sc_reduce(buf, buf);
        CHECKF(memcmp(buf, want, 32) == 0, "sc_reduce in place, case %d", i);
        CHECK(sc_is_canonical(want));
    }
    /* NAF digit lists recombine to the scalar for both widths. */
    T_CASE("NAF digits recombine");
    for (int i = 0; i < 2000; i++) {
        uint8_t s[32], back[32], tmp[32];
        unsigned w = 4 + (i & 1);
        naf_digit d[64];
        randombytes_buf(s, 32);
        s[31] &= 0x1f;                      /* below 2^253 */
        if (i < 2) memset(s, 0, 32);
        if (i == 1) { memset(s, 0xff, 31); s[31] = 0x1f; }
        unsigned n = sc_naf(d, NAF_MAX(w), s, w);
        /* rebuild sum d 2^pos mod L with libsodium's scalar ops */
        memset(back, 0, 32);
        for (int k = (int)n - 1, pos = 255; pos >= 0; pos--) {
            crypto_core_ed25519_scalar_add(tmp, back, back);
            memcpy(back, tmp, 32);
            if (k >= 0 && d[k].pos == pos) {
                uint8_t v[32] = {0};
                v[0] = (uint8_t)(d[k].d < 0 ? -d[k].d : d[k].d);
                if (d[k].d < 0) crypto_core_ed25519_scalar_sub(tmp, back, v);
                else crypto_core_ed25519_scalar_add(tmp, back, v);
                memcpy(back, tmp, 32);
                CHECK(d[k].d & 1);
                CHECK(d[k].d < (1 << (w - 1)) && d[k].d > -(1 << (w - 1)));
                if (k + 1 < (int)n) CHECK(d[k + 1].pos >= d[k].pos + w);
                k--;
            }
        }
        uint8_t sred[64] = {0};
        memcpy(sred, s, 32);
        crypto_core_ed25519_scalar_reduce(tmp, sred);
        CHECKF(memcmp(back, tmp, 32) == 0, "naf width %u, case %d", w, i);
    }
    return t_done();
}
