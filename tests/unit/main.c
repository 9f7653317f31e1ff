/* main.c — unit test runner. Tests run in registration order, each isolated only by
 * discipline (no shared state between tests). Exit status 1 when any test failed. */
#include "test.h"
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include "core/buf.h"

#define MAX_TESTS 4096
typedef struct { const char *name; test_fn fn; const char *file; } test_entry_t;
static test_entry_t tests[MAX_TESTS];
static int ntests;
int test_failed_now;
static char tmp_root[256];
static int tmp_seq;

void test_register(const char *name, test_fn fn, const char *file)
{
    if (ntests < MAX_TESTS) tests[ntests++] = (test_entry_t){name, fn, file};
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "    %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    test_failed_now = 1;
}

char *test_tmpdir(void)
{
    if (!tmp_root[0]) {
        snprintf(tmp_root, sizeof tmp_root, "/tmp/rodeo-unit-XXXXXX");
        if (!mkdtemp(tmp_root)) { perror("mkdtemp"); exit(2); }
    }
    buf_t b = {0};
    buf_printf(&b, "%s/t%d", tmp_root, ++tmp_seq);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", b.data);
    if (system(cmd) != 0) { perror("mkdir"); exit(2); }
    return buf_steal(&b);
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (!strncmp(name, argv[i], strlen(argv[i]))) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < ntests; i++) {
        if (!selected(tests[i].name, argc, argv)) continue;
        test_failed_now = 0;
        tests[i].fn();
        if (test_failed_now) { failed++; printf("FAIL %s (%s)\n", tests[i].name, tests[i].file); }
        else { passed++; if (getenv("TEST_VERBOSE")) printf("ok   %s\n", tests[i].name); }
    }
    if (tmp_root[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmp_root);
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
