/* ota_ct.c: constant-time comparison (see ota_crypto.h). */
#include "ota_crypto.h"

int ota_ct_memcmp(const void *a, const void *b, size_t len)
{
    /* Volatile reads keep the compiler from turning the loop into an early
     * exit; the OR accumulates every difference. */
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    uint8_t d = 0;
    size_t i;

    for (i = 0; i < len; i++) d |= (uint8_t)(x[i] ^ y[i]);
    /* Map any non-zero d to 1 without a branch. */
    return (int)((d + 0xffu) >> 8);
}
