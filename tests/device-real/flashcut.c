/*
 * flashcut.c: LD_PRELOAD shim for the Linux build of Espruino (test only).
 * Its Storage lives in ./espruino.flash, and every flash operation (page
 * erase or write) is one fwrite() to that file.  This counts them and cuts
 * the power at one:
 *   OTA_FLASH_LOG=FILE   after each operation, FILE holds the count so far
 *   OTA_FLASH_CUT=N      at operation N, write only the first half of its
 *                        bytes, rounded down to 4-byte units (a torn write or
 *                        erase), then SIGKILL itself
 *   OTA_FLASH_TRACE=FILE append one line per operation (debugging)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *(*real_fopen)(const char *, const char *);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static FILE *flash[8];
static long ops, cut = -1;
static const char *logf;

static void init(void)
{
    if (real_fopen) return;
    /* the POSIX idiom for a function pointer from dlsym */
    *(void **)&real_fopen = dlsym(RTLD_NEXT, "fopen");
    *(void **)&real_fwrite = dlsym(RTLD_NEXT, "fwrite");
    const char *c = getenv("OTA_FLASH_CUT");
    if (c && *c) cut = atol(c);
    logf = getenv("OTA_FLASH_LOG");
}

FILE *fopen(const char *path, const char *mode)
{
    init();
    FILE *f = real_fopen(path, mode);
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (f && strcmp(b, "espruino.flash") == 0)
        for (int i = 0; i < 8; i++) if (!flash[i]) { flash[i] = f; break; }
    return f;
}

int fclose(FILE *f)
{
    static int (*real_fclose)(FILE *);
    if (!real_fclose) *(void **)&real_fclose = dlsym(RTLD_NEXT, "fclose");
    for (int i = 0; i < 8; i++) if (flash[i] == f) flash[i] = NULL;
    return real_fclose(f);
}

size_t fwrite(const void *p, size_t sz, size_t n, FILE *f)
{
    init();
    int isflash = 0;
    for (int i = 0; i < 8; i++) if (flash[i] && flash[i] == f) isflash = 1;
    if (!isflash || sz * n > 65536) return real_fwrite(p, sz, n, f);   /* > 64 KB: the file's creation */
    ops++;
    if (ops == cut) {
        /* flash programs in 4-byte units (FLASH_UNITARY_WRITE_SIZE on the
         * STM32 boards): a unit is written or not, a page half erased */
        real_fwrite(p, 1, (sz * n / 2) & ~(size_t)3, f);
        fflush(f);
        kill(getpid(), SIGKILL);
    }
    if (getenv("OTA_FLASH_TRACE")) {
        FILE *t = real_fopen(getenv("OTA_FLASH_TRACE"), "a");
        if (t) {
            const unsigned char *c = p;
            fprintf(t, "%ld at %ld len %zu:", ops, ftell(f), sz * n);
            for (size_t i = 0; i < sz * n && i < 200; i++) fprintf(t, "%c", c[i] >= 32 && c[i] < 127 ? c[i] : '.');
            fprintf(t, "\n");
            fclose(t);
        }
    }
    size_t r = real_fwrite(p, sz, n, f);
    if (logf) {
        FILE *l = real_fopen(logf, "w");
        if (l) { fprintf(l, "%ld\n", ops); fflush(l); fclose(l); }
    }
    return r;
}
