/*
 * fuzz.h: what every fuzz target shares.  Each target defines
 * LLVMFuzzerTestOneInput; built with clang -fsanitize=fuzzer it is a
 * libFuzzer binary (`make fuzz`), built with gcc and replay.c it replays
 * tests/fuzz/corpus/<target>/ as regression inputs in `make test`.
 * A property that does not hold aborts with a message (libFuzzer saves the
 * input; the replay counts a failure).
 */
#ifndef OTA_FUZZ_H
#define OTA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...) do { if (!(cond)) { \
        fprintf(stderr, "fuzz property failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } } while (0)

#endif
