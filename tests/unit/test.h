/* test.h — the unit test framework: TEST(name) registers a test at load time; CHECK*
 * record a failure and continue, REQUIRE* stop the test. The runner (tests/unit/main.c)
 * prints one line per failing check and ends with the line "N passed, N failed".
 * Run a subset with: build/unit_tests PREFIX...  (tests whose name starts with a prefix). */
#ifndef RODEO_TEST_H
#define RODEO_TEST_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <math.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn, const char *file);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
extern int test_failed_now;     /* set by test_fail; reset by the runner per test */
/* A fresh empty temporary directory for this test (removed after the run); caller frees. */
char *test_tmpdir(void);

#define TEST(name)                                                              \
    static void test_##name(void);                                              \
    __attribute__((constructor)) static void test_reg_##name(void)              \
    { test_register(#name, test_##name, __FILE__); }                           \
    static void test_##name(void)

#define CHECK(cond) do { if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)
#define REQUIRE(cond) do { if (!(cond)) { test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond); return; } } while (0)
#define CHECK_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
    if (_a != _b) test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, _a, #b, _b); } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
    if (!_a || !_b || strcmp(_a, _b)) test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define CHECK_NEAR(a, b, tol) do { double _a = (a), _b = (b); \
    if (!(fabs(_a - _b) <= (tol))) test_fail(__FILE__, __LINE__, "%s == %g, expected %g (tol %g)", #a, _a, _b, (double)(tol)); } while (0)
#endif
