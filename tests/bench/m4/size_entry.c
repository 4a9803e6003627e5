/*
 * size_entry.c: the smallest program that keeps the Ed25519 verify path
 * (SHA-512 included) alive under --gc-sections, for `make size`.  It also
 * carries byte-loop memcpy/memset/memcmp/memmove, so the image is complete
 * and their few bytes are counted too.  Built with -fno-builtin and
 * -fno-tree-loop-distribute-patterns so gcc does not turn the loops back
 * into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include "ota_crypto.h"

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *a = d;
    const uint8_t *b = s;
    while (n--) *a++ = *b++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    uint8_t *a = d;
    const uint8_t *b = s;
    if (a < b) {
        while (n--) *a++ = *b++;
    } else {
        while (n--) a[n] = b[n];
    }
    return d;
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *a = d;
    while (n--) *a++ = (uint8_t)c;
    return d;
}

int memcmp(const void *x, const void *y, size_t n)
{
    const uint8_t *a = x, *b = y;
    for (; n; n--, a++, b++)
        if (*a != *b) return *a - *b;
    return 0;
}

/* Entry point (no C runtime): verify whatever the caller left in memory. */
int size_entry(const uint8_t *sig, const uint8_t *pub, const uint8_t *msg, size_t len);
int size_entry(const uint8_t *sig, const uint8_t *pub, const uint8_t *msg, size_t len)
{
    return (int)ota_ed25519_verify(sig, pub, msg, len);
}
