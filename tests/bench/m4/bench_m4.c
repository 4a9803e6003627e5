/*
 * bench_m4.c: instructions per Ed25519 verify on Cortex-M4, run by
 * scripts/qemu-count.sh on qemu-system-arm -M mps2-an386 -icount shift=0.
 *
 * With -icount shift=0 qemu advances its virtual clock by exactly 1 ns per
 * executed guest instruction.  SysTick runs from the 25 MHz system clock of
 * the board, so one SysTick tick = 40 ns of virtual time = 40 instructions.
 * A calibration loop with a known instruction count checks that relation in
 * every run, and the counts printed are ticks * 40 (resolution 40).
 */
#include <stdint.h>
#include <string.h>
#include "ota_crypto.h"
/* The verifier's source is included (not linked) so its internal steps can
 * be timed one by one below. */
#include "../../../common/ota_ed25519.c"
#include "vector.h"   /* generated: BENCH_PUB, BENCH_SIG, BENCH_MSG (600 bytes) */

void sh_puts(const char *s);

#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
#define INSNS_PER_TICK 40u

static void put_num(const char *label, uint32_t v, const char *unit)
{
    char buf[16], line[96];
    int n = 0, k = 0;
    do { buf[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (*label) line[k++] = *label++;
    while (n) line[k++] = buf[--n];
    while (*unit) line[k++] = *unit++;
    line[k++] = '\n';
    line[k] = 0;
    sh_puts(line);
}

static uint32_t ticks_since(uint32_t start)
{
    return (start - SYST_CVR) & 0xFFFFFF;   /* down-counter */
}

/* 2 instructions per iteration (subs + bne), plus a couple around it. */
static void __attribute__((noinline)) spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
}

int main(void)
{
    uint32_t t, ticks;
    int bad = 0;

    SYST_RVR = 0xFFFFFF;
    SYST_CVR = 0;
    SYST_CSR = 5;                           /* enable, processor clock, no interrupt */

    t = SYST_CVR;
    spin(100000);
    ticks = ticks_since(t);
    put_num("calibration: 200000-instruction loop measured as ", ticks * INSNS_PER_TICK, " instructions");

    t = SYST_CVR;
    ota_err e = ota_ed25519_verify(BENCH_SIG, BENCH_PUB, BENCH_MSG, sizeof BENCH_MSG);
    ticks = ticks_since(t);
    put_num("verify (600-byte message): ", ticks * INSNS_PER_TICK, " instructions");
    if (e != OTA_OK) { sh_puts("verify FAILED on the device build\n"); bad = 1; }

    uint8_t sig[64];
    memcpy(sig, BENCH_SIG, 64);
    sig[0] ^= 1;
    t = SYST_CVR;
    e = ota_ed25519_verify(sig, BENCH_PUB, BENCH_MSG, sizeof BENCH_MSG);
    ticks = ticks_since(t);
    put_num("verify of a bad signature: ", ticks * INSNS_PER_TICK, " instructions");
    if (e == OTA_OK) { sh_puts("bad signature ACCEPTED on the device build\n"); bad = 1; }

    /* Where the instructions go. */
    {
        fe x, y, z;
        uint8_t h[32], dg[64];
        ge_p3 P;
        ge_p1p1 pp;
        memcpy(x, BENCH_MSG, 32);
        memcpy(y, BENCH_MSG + 32, 32);
        x[7] &= 0x7fffffff;
        y[7] &= 0x7fffffff;
        t = SYST_CVR;
        for (int i = 0; i < 100; i++) fe_mul(z, x, y);
        put_num("  fe_mul x100: ", ticks_since(t) * INSNS_PER_TICK, "");
        t = SYST_CVR;
        for (int i = 0; i < 100; i++) fe_sq(z, x);
        put_num("  fe_sq x100: ", ticks_since(t) * INSNS_PER_TICK, "");
        t = SYST_CVR;
        for (int i = 0; i < 100; i++) fe_add(z, x, y);
        put_num("  fe_add x100: ", ticks_since(t) * INSNS_PER_TICK, "");
        t = SYST_CVR;
        for (int i = 0; i < 100; i++) fe_sub(z, x, y);
        put_num("  fe_sub x100: ", ticks_since(t) * INSNS_PER_TICK, "");
        ota_sha512(dg, BENCH_MSG, 64);
        t = SYST_CVR;
        sc_reduce(h, dg);
        put_num("  sc_reduce: ", ticks_since(t) * INSNS_PER_TICK, "");
        t = SYST_CVR;
        ge_frombytes(&P, BENCH_PUB);
        put_num("  ge_frombytes: ", ticks_since(t) * INSNS_PER_TICK, "");
        t = SYST_CVR;
        for (int i = 0; i < 10; i++) ge_dbl(&pp, &P);
        put_num("  ge_dbl x10: ", ticks_since(t) * INSNS_PER_TICK, "");
        t = SYST_CVR;
        double_scalarmult(&P, h, BENCH_SIG + 32);
        put_num("  double_scalarmult: ", ticks_since(t) * INSNS_PER_TICK, "");
        t = SYST_CVR;
        ge_tobytes(h, &P);
        put_num("  ge_tobytes: ", ticks_since(t) * INSNS_PER_TICK, "");
    }

    uint8_t d[64];
    t = SYST_CVR;
    ota_sha512(d, BENCH_MSG, sizeof BENCH_MSG);
    ticks = ticks_since(t);
    put_num("sha512 of the 600-byte message: ", ticks * INSNS_PER_TICK, " instructions");

    t = SYST_CVR;
    ota_sha256(d, BENCH_MSG, sizeof BENCH_MSG);
    ticks = ticks_since(t);
    put_num("sha256 of the 600-byte message: ", ticks * INSNS_PER_TICK, " instructions");
    return bad;
}
