/* The test runner: runs every registered test (or those whose name or file
 * contains one of the arguments), reports failures and skips, exits 1 on failure. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "util/fileio.h"
#include "util/timer.h"

typedef struct {
    const char *name, *file;
    TestFn fn;
} TestCase;

static TestCase g_tests[1024];
static int g_ntests;
static int g_cur_failed, g_cur_skipped;
static char g_skip_reason[256];
static char g_tmpdir[256];

void test_register(const char *name, TestFn fn, const char *file)
{
    if (g_ntests < (int)(sizeof g_tests / sizeof g_tests[0]))
        g_tests[g_ntests++] = (TestCase){name, file, fn};
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g_cur_failed++;
}

int test_failed_now(void) { return g_cur_failed > 0; }

void test_skip(const char *reason)
{
    g_cur_skipped = 1;
    snprintf(g_skip_reason, sizeof g_skip_reason, "%s", reason);
}

const char *test_data_path(const char *rel)
{
    static char buf[8][1024];
    static int slot;
    const char *root = getenv("CLT_DATA_DIR");
    if (!root) root = "../shared/data";
    char *p = buf[slot++ % 8];
    snprintf(p, 1024, "%s/%s", root, rel);
    return path_exists(p) ? p : NULL;
}

const char *test_tmpdir(void)
{
    if (!g_tmpdir[0]) {
        snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/cltower-test-XXXXXX");
        if (!mkdtemp(g_tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return g_tmpdir;
}

const char *test_write_file(const char *name, const char *text)
{
    static char buf[8][1024];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 1024, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return p;
}

static int selected(const TestCase *t, int argc, char **argv)
{
    if (argc <= 1) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(t->name, argv[i]) || strstr(t->file, argv[i])) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0, skipped = 0, ran = 0;
    double t0 = now_seconds();
    for (int i = 0; i < g_ntests; i++) {
        const TestCase *t = &g_tests[i];
        if (!selected(t, argc, argv)) continue;
        g_cur_failed = g_cur_skipped = 0;
        double s = now_seconds();
        t->fn();
        double el = now_seconds() - s;
        ran++;
        if (g_cur_failed) {
            failed++;
            fprintf(stderr, "FAIL %s (%s)\n", t->name, t->file);
        } else if (g_cur_skipped) {
            skipped++;
            fprintf(stderr, "skip %s: %s\n", t->name, g_skip_reason);
        } else {
            fprintf(stderr, "ok   %s (%.2fs)\n", t->name, el);
        }
    }
    if (g_tmpdir[0]) rm_rf(g_tmpdir);
    fprintf(stderr, "\n%d tests, %d failed, %d skipped, %.1fs\n", ran, failed, skipped, now_seconds() - t0);
    return failed ? 1 : 0;
}
