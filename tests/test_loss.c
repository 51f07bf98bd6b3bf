/* test_loss.c - the cross-entropy's own exp (loss.c, bp__exp_nonpos) against
 * long double expl, and the cross-entropy of logits against a long double
 * log-sum-exp: the loss is reported to the last digits, so its exp must stay
 * within 2 ulp of the true value (measured: see test_exp_nonpos's output). */
#include "test.h"

#include "internal.h"

#include <stdint.h>

static double ulps(double got, long double want)
{
    if (got == want) return 0;
    return (double)(fabsl((long double)got - want) / ldexpl(1.0L, ilogbl(want) - 52));
}

static void test_exp_nonpos(void)
{
    double worst = 0, at = 0;
    uint64_t s = 12345;
    for (int i = 0; i < 4000000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) * 0x1p-53;                  /* [0, 1) */
        double x = i % 2 ? -708.0 * u : -pow(10.0, 3 * u - 300 * (i % 4 == 0)) * (u < .5);
        if (x < -708) continue;
        double e = ulps(bp__exp_nonpos(x), expl((long double)x));
        if (e > worst) worst = e, at = x;
    }
    printf("  exp_nonpos: worst %.3f ulp at x = %.17g\n", worst, at);
    CHECK(worst <= 2, "%.3f ulp at %.17g", worst, at);
    const double edges[] = {0.0, -0.0, -0x1p-1074, -1e-300, -0.34657359027997264, -0.34657359027997270,
                            -1.0, -700, -708};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        double e = ulps(bp__exp_nonpos(edges[i]), expl((long double)edges[i]));
        CHECK(e <= 2, "x = %.17g: %.3f ulp", edges[i], e);
    }
    CHECK(bp__exp_nonpos(0.0) == 1.0, "e^0 = %.17g", bp__exp_nonpos(0.0));
    CHECK(bp__exp_nonpos(-708.5) == 0 && bp__exp_nonpos(-1e300) == 0 && bp__exp_nonpos(-INFINITY) == 0,
          "below -708: 0");
}

/* Σ_j y_j (lse(z) - z_j) / rows in long double. */
static long double xent_ref(const bp_real *z, const bp_real *y, int rows, int cols)
{
    long double sum = 0;
    for (int r = 0; r < rows; r++) {
        long double mx = z[r * cols], s = 0;
        for (int j = 1; j < cols; j++) mx = z[r * cols + j] > mx ? z[r * cols + j] : mx;
        for (int j = 0; j < cols; j++) s += expl(z[r * cols + j] - mx);
        for (int j = 0; j < cols; j++) sum += y[r * cols + j] * (mx + logl(s) - z[r * cols + j]);
    }
    return sum / rows;
}

static void test_xent_matches_long_double(void)
{
    enum { ROWS = 37, COLS = 150 }; /* past one 64-wide chunk of exps, ragged */
    static bp_real z[ROWS * COLS], y[ROWS * COLS], a[ROWS * COLS];
    const double scales[] = {1e-3, 1, 30, 1e3};
    for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
        uint64_t s = 99 + k;
        for (int i = 0; i < ROWS * COLS; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            z[i] = (bp_real)(scales[k] * ((double)(s >> 11) * 0x1p-53 - 0.5));
            y[i] = (bp_real)((i % COLS) == (i / COLS) % COLS); /* one-hot */
        }
        double got = bp__loss(BP_LOSS_XENT, a, z, y, ROWS, COLS);
        long double want = xent_ref(z, y, ROWS, COLS);
        double rel = (double)(fabsl(got - want) / fabsl(want));
        CHECK(rel < 1e-14, "logits of scale %g: %.17g vs %.17Lg (rel %.2e)", scales[k], got, want, rel);
    }
}

int main(void)
{
    RUN(test_exp_nonpos);
    RUN(test_xent_matches_long_double);
    return test_summary("test_loss");
}
