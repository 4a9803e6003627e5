/*
 * harness.h: the project's small C test harness (header only).
 *
 * Each test program includes this once, uses CHECK()/CHECK_MEM()/CHECK_EQ()
 * and ends main() with `return t_done();`, which prints the line the test
 * runner reads ("name: N passed, N failed (M checks)") and returns the exit
 * status.  A failed check prints file:line and the expression, then the run
 * goes on, so one broken case does not hide the others.
 *
 * What is counted is test cases, not checks: a case passes when every check
 * in it passed, however many that were (a loop of 3,000 random inputs inside
 * one case is one case).  A case is
 *   - T_RUN(call): the call, named by its text (e.g. T_RUN(test_hex()));
 *   - T_CASE("fmt", ...): from here to the next T_CASE/T_RUN/t_done, named;
 *   - otherwise, checks made directly by one function in a row (an
 *     unnamed case per function, for code that does not name its cases).
 * The number of checks is printed too, for information.
 *
 * Random inputs: t_seed() is the run's seed, taken from $OTA_SEED when set
 * (decimal or 0x hex), else from the clock; it is printed once ("seed: N;
 * rerun with OTA_SEED=N"), so a failure can be replayed.  t_rand64() and
 * t_rand_bytes() draw from it (splitmix64).
 */
#ifndef OTA_TEST_HARNESS_H
#define OTA_TEST_HARNESS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long t_pass_count, t_fail_count, t_checks;
static const char *t_suite_name = "test";

/* The case being run. */
static struct {
    int open;          /* a case is open */
    int named;         /* opened by T_RUN/T_CASE (else: implicit, per function) */
    const char *func;  /* implicit case: the function whose checks it holds */
    unsigned long fails;
    char name[160];
} t_cur;

static void t_case_close(void)
{
    if (!t_cur.open) return;
    if (t_cur.fails) {
        t_fail_count++;
        fprintf(stderr, "FAILED CASE: %s (%lu failed checks)\n", t_cur.name, t_cur.fails);
    } else {
        t_pass_count++;
    }
    t_cur.open = 0;
}

static void t_case_open(int named, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void t_case_open(int named, const char *func, const char *fmt, ...)
{
    t_case_close();
    t_cur.open = 1;
    t_cur.named = named;
    t_cur.func = func;
    t_cur.fails = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_cur.name, sizeof t_cur.name, fmt, ap);
    va_end(ap);
}

/* Start a named case (ends the one before). */
#define T_CASE(...) t_case_open(1, __func__, __VA_ARGS__)
/* Run one call as one named case. */
#define T_RUN(call) do { t_case_open(1, __func__, "%s", #call); call; t_case_close(); } while (0)

/* Record one check.  Returns cond so callers can stop a dependent block. */
static int t_check_in(const char *func, int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int t_check_in(const char *func, int cond, const char *file, int line, const char *fmt, ...)
{
    t_checks++;
    if (!t_cur.open || (!t_cur.named && strcmp(t_cur.func, func) != 0))
        t_case_open(0, func, "%s (%s)", func, file);
    if (cond) return 1;
    t_cur.fails++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

#define t_check(cond, file, line, ...) t_check_in(__func__, (cond), (file), (line), __VA_ARGS__)
#define CHECK(cond) t_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) t_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Each operand is evaluated exactly once (a call with side effects is safe). */
static inline int t_check_eq_in(const char *func, long long a, long long b, const char *file, int line,
                                const char *sa, const char *sb)
{
    return t_check_in(func, a == b, file, line, "%s == %s (%lld != %lld)", sa, sb, a, b);
}
#define CHECK_EQ(a, b) t_check_eq_in(__func__, (long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_MEM(a, b, n) t_check(memcmp((a), (b), (n)) == 0, __FILE__, __LINE__, \
                                   "memcmp(%s, %s, %s) != 0", #a, #b, #n)

/* ---- seeded randomness ---------------------------------------------------- */

static uint64_t t_seed_value, t_rand_state;
static int t_seed_set;

static inline uint64_t t_seed(void)
{
    if (!t_seed_set) {
        const char *e = getenv("OTA_SEED");
        if (e && *e) {
            t_seed_value = strtoull(e, NULL, 0);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            t_seed_value = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec;
            t_seed_value %= 1000000000000ULL;   /* short enough to retype */
        }
        t_rand_state = t_seed_value;
        t_seed_set = 1;
        printf("%s: seed: %llu; rerun with OTA_SEED=%llu\n", t_suite_name,
               (unsigned long long)t_seed_value, (unsigned long long)t_seed_value);
        fflush(stdout);
    }
    return t_seed_value;
}

static inline uint64_t t_rand64(void)
{
    t_seed();
    uint64_t z = (t_rand_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline void t_rand_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        uint64_t r = t_rand64();
        size_t k = n < 8 ? n : 8;
        memcpy(p, &r, k);
        p += k;
        n -= k;
    }
}

/* Print the summary line and return the process exit status. */
static int t_done(void)
{
    t_case_close();
    printf("%s: %lu passed, %lu failed (%lu checks)\n", t_suite_name, t_pass_count, t_fail_count, t_checks);
    return t_fail_count ? 1 : 0;
}

#endif
