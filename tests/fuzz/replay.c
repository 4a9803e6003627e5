/*
 * replay.c: runs a fuzz target's LLVMFuzzerTestOneInput over every file of
 * its corpus (tests/fuzz/corpus/<FUZZ_NAME>/, or the directories/files on
 * the command line), with no libFuzzer: the corpus as regression inputs in
 * `make test`.  The whole corpus is one test case (a loop over its inputs);
 * a property failure aborts (the runner sees the exit status).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error FUZZ_NAME must name the target
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

static long n_inputs;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) { cap *= 2; uint8_t *nb = realloc(buf, cap); if (!nb) { free(buf); buf = NULL; } else buf = nb; }
    }
    fclose(f);
    if (!buf) return -1;
    /* an exact-size copy, so that reading past the input is caught */
    uint8_t *in = malloc(len ? len : 1);
    if (!in) { free(buf); return -1; }
    memcpy(in, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(in, len);
    free(in);
    n_inputs++;
    return 0;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) { perror(path); return -1; }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    DIR *d = opendir(path);
    if (!d) { perror(path); return -1; }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (run_path(p) != 0) rc = -1;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) if (run_path(argv[i]) != 0) rc = -1;
    } else {
        const char *root = getenv("OTA_ROOT");
        char p[4096];
        snprintf(p, sizeof p, "%s/tests/fuzz/corpus/%s", root ? root : ".", STR(FUZZ_NAME));
        rc = run_path(p);
    }
    if (rc != 0 || n_inputs == 0) {
        printf("fuzz-replay-%s: 0 passed, 1 failed (corpus missing or unreadable)\n", STR(FUZZ_NAME));
        return 1;
    }
    printf("fuzz-replay-%s: 1 passed, 0 failed (%ld corpus inputs)\n", STR(FUZZ_NAME), n_inputs);
    return 0;
}
