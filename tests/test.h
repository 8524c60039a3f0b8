/* test.h — the unit-test harness: self-registering tests and checks.
 *
 *   TEST(test_name) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-5); }
 *
 * Every tests/<name>.c file is linked into one binary (build/.../cltower_tests);
 * run it with substrings to select tests: `cltower_tests loader grad`.
 * Tests that need ../shared/data call test_data_path() and SKIP when absent. */
#ifndef CLT_TEST_H
#define CLT_TEST_H

#include <math.h>
#include <stdio.h>

typedef void (*TestFn)(void);
void test_register(const char *name, TestFn fn, const char *file);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void test_skip(const char *reason);
int test_failed_now(void);
/* Path under the shared data directory ($CLT_DATA_DIR or ../shared/data), or NULL if absent. */
const char *test_data_path(const char *rel);
/* A fresh scratch directory for this test (removed at exit). */
const char *test_tmpdir(void);
/* Writes text to tmpdir/name and returns the full path (static buffer per call slot). */
const char *test_write_file(const char *name, const char *text);

#define TEST(fn)                                                                  \
    static void fn(void);                                                         \
    __attribute__((constructor)) static void fn##_register(void)                  \
    {                                                                             \
        test_register(#fn, fn, __FILE__);                                         \
    }                                                                             \
    static void fn(void)

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);          \
    } while (0)

#define REQUIRE(cond)                                                             \
    do {                                                                          \
        if (!(cond)) {                                                            \
            test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                 \
            return;                                                               \
        }                                                                         \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                        \
    do {                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                       \
        if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                     \
    do {                                                                          \
        double a_ = (double)(a), b_ = (double)(b);                                \
        if (!(fabs(a_ - b_) <= (tol)))                                            \
            test_fail(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
    } while (0)

#define CHECK_STR(a, b)                                                           \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                    \
            test_fail(__FILE__, __LINE__, "%s == %s: '%s' vs '%s'", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)

#define SKIP(reason)                                                              \
    do {                                                                          \
        test_skip(reason);                                                        \
        return;                                                                   \
    } while (0)

#endif
