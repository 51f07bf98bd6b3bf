/* test.h - the tests' tiny harness. Each tests/test_*.c is one program:
 *
 *   static void test_something(void) { CHECK(x == 1, "x = %d", x); }
 *   int main(void) { RUN(test_something); return test_summary("test_x"); }
 *
 * A case passes when none of its CHECKs failed. The program prints one line
 * per case and a last line "cases: P ok, F failed" that scripts/run-tests.sh
 * adds up; it exits non-zero on any failure. */
#ifndef BP_TEST_H
#define BP_TEST_H

#include "backprop.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_ok_, test_failed_, test_case_failed_;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            test_case_failed_ = 1;                                              \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__,  \
                    #cond);                                                     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* Checks that a bp_status expression is BP_OK, printing the library's message. */
#define CHECK_OK(expr)                                                          \
    do {                                                                        \
        bp_status st_ = (expr);                                                 \
        CHECK(st_ == BP_OK, "%s: %s", bp_status_name(st_), bp_last_error());    \
    } while (0)

/* |a - b| <= tol * max(1, |a|, |b|) */
#define CHECK_CLOSE(a, b, tol)                                                  \
    do {                                                                        \
        double a_ = (a), b_ = (b), s_ = fabs(a_) > fabs(b_) ? fabs(a_) : fabs(b_); \
        CHECK(fabs(a_ - b_) <= (tol) * (s_ > 1 ? s_ : 1), "%s = %.17g, %s = %.17g", \
              #a, a_, #b, b_);                                                  \
    } while (0)

#define RUN(fn) test_run_(#fn, fn)

static void test_run_(const char *name, void (*fn)(void))
{
    test_case_failed_ = 0;
    fn();
    if (test_case_failed_) test_failed_++; else test_ok_++;
    printf("%s %s\n", test_case_failed_ ? "FAIL" : "ok  ", name);
    fflush(stdout);
}

static int test_summary(const char *program)
{
    printf("cases: %d ok, %d failed (%s, %s)\n", test_ok_, test_failed_, program,
           sizeof(bp_real) == 8 ? "float64" : "float32");
    return test_failed_ ? 1 : 0;
}

/* True in the float64 build: the gradient checks use tight bounds there. */
#define TEST_DOUBLE (sizeof(bp_real) == sizeof(double))

#endif
