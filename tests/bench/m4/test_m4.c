/*
 * test_m4.c: the verifier and both hashes as built for Cortex-M4 (UMAAL
 * field arithmetic, -Os), run on qemu by scripts/test-m4.sh against the
 * cases gen_cases.c wrote: Wycheproof plus libsodium-signed messages and
 * mutations, one-shot and streamed in 7-byte chunks; and the field
 * arithmetic against the reference in tests/unit/fe_check.h.  Prints
 * "test_m4: N passed, N failed" and exits (semihosting) with 1 on a failure.
 */
#include <stdint.h>
#include <string.h>
#include "ota_crypto.h"
/* Included rather than linked, so fe_check.h can reach the field code. */
#include "../../../common/ota_ed25519.c"
#include "cases.h"

void sh_puts(const char *s);

static unsigned pass, fail;

static void put_num(char *p, unsigned v)
{
    char buf[12];
    int n = 0;
    do { buf[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = buf[--n];
    *p = 0;
}

static void check(int cond, const char *what, unsigned idx);
#include "../../unit/fe_check.h"

static void check(int cond, const char *what, unsigned idx)
{
    char line[80];
    if (cond) { pass++; return; }
    fail++;
    strcpy(line, "FAIL case ");
    put_num(line + strlen(line), idx);
    strcat(line, ": ");
    strcat(line, what);
    strcat(line, "\n");
    sh_puts(line);
}

int main(void)
{
    char line[80];
    fe_check_all(check, 300);
    for (unsigned i = 0; i < NCASES; i++) {
        const struct m4_case *c = &CASES[i];
        const uint8_t *msg = BLOB + c->off;
        uint8_t d[64];
        ota_err e = ota_ed25519_verify(c->sig, c->pub, msg, c->len);
        check((e == OTA_OK) == c->ok, "verify verdict differs from libsodium", i);
        ota_ed25519_verify_ctx ctx;
        ota_ed25519_verify_init(&ctx, c->sig, c->pub);
        for (uint32_t off = 0; off < c->len; off += 7)
            ota_ed25519_verify_update(&ctx, msg + off, c->len - off < 7 ? c->len - off : 7);
        check(ota_ed25519_verify_final(&ctx) == e, "streamed verdict differs", i);
        ota_sha256(d, msg, c->len);
        check(memcmp(d, c->d256, 32) == 0, "sha256", i);
        ota_sha512(d, msg, c->len);
        check(memcmp(d, c->d512, 64) == 0, "sha512", i);
    }
    strcpy(line, "test_m4: ");
    put_num(line + strlen(line), pass);
    strcat(line, " passed, ");
    put_num(line + strlen(line), fail);
    strcat(line, " failed\n");
    sh_puts(line);
    return fail ? 1 : 0;
}
