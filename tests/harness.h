/*
 * harness.h: the project's small C test harness (header only).
 *
 * Each test program includes this once, uses CHECK()/CHECK_MEM()/CHECK_EQ()
 * and ends main() with `return t_done();`, which prints the line the test
 * runner reads ("name: N passed, N failed") and returns the exit status.
 * A failed check prints file:line and the expression, then the run goes on,
 * so one broken case does not hide the others.
 */
#ifndef OTA_TEST_HARNESS_H
#define OTA_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>
#include <stdarg.h>

static unsigned long t_pass_count, t_fail_count;
static const char *t_suite_name = "test";

/* Record one check.  Returns cond so callers can stop a dependent block. */
static int t_check(int cond, const char *file, int line, const char *fmt, ...)
{
    if (cond) {
        t_pass_count++;
        return 1;
    }
    t_fail_count++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

#define CHECK(cond) t_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) t_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Each operand is evaluated exactly once (a call with side effects is safe). */
static inline int t_check_eq(long long a, long long b, const char *file, int line,
                      const char *sa, const char *sb)
{
    return t_check(a == b, file, line, "%s == %s (%lld != %lld)", sa, sb, a, b);
}
#define CHECK_EQ(a, b) t_check_eq((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_MEM(a, b, n) t_check(memcmp((a), (b), (n)) == 0, __FILE__, __LINE__, \
                                   "memcmp(%s, %s, %s) != 0", #a, #b, #n)

/* Print the summary line and return the process exit status. */
static int t_done(void)
{
    printf("%s: %lu passed, %lu failed\n", t_suite_name, t_pass_count, t_fail_count);
    return t_fail_count ? 1 : 0;
}

#endif
