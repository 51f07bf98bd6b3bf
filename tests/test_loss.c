/* test_loss.c - the cross-entropy's own exp (loss.c, bp__exp_nonpos) against
 * long double expl, and the cross-entropy of logits against a long double
 * log-sum-exp: the loss is reported to the last digits, so its exp must stay
 * within 2 ulp of the true value (measured: see test_exp_nonpos's output). */
#include "test.h"

#include "internal.h"

#include "exp_nonpos.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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

/* Rounded to float, the exp (both forms, Horner steps fused or not) is the
 * correctly rounded e^x: all 1.12e9 floats in [-104, 0] were checked once
 * (docs/PERFORMANCE.md); here 4 M of them, drawn at random bit patterns. */
static void test_exp_nonpos_float_correctly_rounded(void)
{
    long wrong[2] = {0, 0};
    float at = 0;
    uint64_t s = 777;
    for (int i = 0; i < 4000000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t bits = 0x80000000u + (uint32_t)((s >> 20) % (0xC2D00001u - 0x80000000u));
        float x;
        memcpy(&x, &bits, sizeof x);
        float want = (float)expl((long double)x);
        for (int fused = 0; fused < 2; fused++)
            if ((float)bp__exp_nonpos_inline(x, fused) != want) wrong[fused]++, at = x;
    }
    CHECK(wrong[0] == 0 && wrong[1] == 0, "%ld and %ld floats not correctly rounded (one at %a)",
          wrong[0], wrong[1], at);
    CHECK(isnan(bp__exp_nonpos_inline(NAN, true)) && isnan(bp__exp_nonpos_inline(NAN, false)),
          "NaN stays NaN");
    CHECK(bp__exp_nonpos_inline(-INFINITY, true) == 0 && bp__exp_nonpos_inline(-1e300, true) == 0,
          "below -708: 0");
}

/* The exp softmax takes, as activation.c picks it, rounded as it rounds. */
static bp_real softmax_exp(bp_real x)
{
#if !defined(BP_REAL_DOUBLE) && !defined(BP_NO_BLAS)
    return (float)expl((long double)x);
#else
    return R_EXP(x);
#endif
}

/* Softmax takes 16 rows at once as vector lanes: the same bits as one row at
 * a time in the row's own order, for a ragged last block, rows of 3, 10, 16, 64 (the
 * widest it takes so) and 65 columns, NaN and infinite logits. */
static void test_softmax_rows_bits(void)
{
    enum { ROWS = 37, MAXC = 65 };
    static bp_real z[ROWS * MAXC], a[ROWS * MAXC + 16], bias[MAXC];
    const int widths[] = {3, 10, 15, 16, 17, 64, 65};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        int cols = widths[w];
        uint64_t s = 5 + w;
        for (int i = 0; i < ROWS * cols; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            a[i] = z[i] = (bp_real)(40 * ((double)(s >> 11) * 0x1p-53 - 0.5));
        }
        a[3 * cols + 2] = z[3 * cols + 2] = NAN;
        a[5 * cols] = z[5 * cols] = -INFINITY;
        a[6 * cols + 1] = z[6 * cols + 1] = INFINITY;
        enum { PAST = 16 }; /* the values after the block: a ragged last block writes none */
        for (int k = 0; k < PAST; k++) a[ROWS * cols + k] = 12345;
        bp__bias_activate(a, cols, bias, ROWS, cols, BP_ACT_SOFTMAX, 0);
        int mismatches = 0;
        for (int k = 0; k < PAST; k++) mismatches += a[ROWS * cols + k] != 12345;
        for (int r = 0; r < ROWS; r++) {
            const bp_real *zr = z + r * cols;
            bp_real mx = zr[0], sum = 0, e[MAXC];
            for (int j = 1; j < cols; j++) mx = zr[j] > mx ? zr[j] : mx;
            for (int j = 0; j < cols; j++) sum += (e[j] = softmax_exp(zr[j] - mx));
            bp_real inv = 1 / sum;
            for (int j = 0; j < cols; j++) {
                bp_real want = e[j] * inv, got = a[r * cols + j];
                mismatches += memcmp(&want, &got, sizeof got) != 0 && !(isnan(want) && isnan(got));
            }
        }
        CHECK(mismatches == 0, "%d columns: %d outputs differ from row-by-row softmax", cols, mismatches);
        /* and, independently, near softmax in long double: z_j - max rounded
         * to bp_real moves e^(z_j - max) by up to |z_j - max| ulps, the sum
         * adds up to cols, the rest a few */
        double worst = 0;
        for (int r = 0; r < ROWS; r++) {
            if (r == 3 || r == 5 || r == 6) continue; /* the rows with NaN and infinities */
            const bp_real *zr = z + r * cols;
            long double mx = zr[0], sum = 0;
            for (int j = 1; j < cols; j++) mx = zr[j] > mx ? zr[j] : mx;
            for (int j = 0; j < cols; j++) sum += expl(zr[j] - mx);
            for (int j = 0; j < cols; j++) {
                long double want = expl(zr[j] - mx) / sum;
                long double ulp = ldexpl(1.0L, ilogbl(want) - (sizeof(bp_real) == 4 ? 23 : 52));
                long double bound = fabsl(zr[j] - mx) + cols + 4;
                double e = want < 1e-30L ? 0 : (double)(fabsl(a[r * cols + j] - want) / ulp / bound);
                worst = e > worst ? e : worst;
            }
        }
        CHECK(worst <= 1, "%d columns: %.2f of the error bound from long double softmax", cols, worst);
        CHECK(isnan(a[3 * cols]) && a[5 * cols] == 0, "%d columns: NaN row NaN, e^-inf 0", cols);
    }
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

/* Rows of 10 and 16 classes take loss.c's 8-row lanes, 17 and 150 its chunks
 * of exps (150: past one chunk's 64-wide vector loop); 37 rows: a ragged end. */
static void test_xent_matches_long_double(void)
{
    enum { ROWS = 37, MAXC = 150 };
    static bp_real z[ROWS * MAXC], y[ROWS * MAXC], a[ROWS * MAXC];
    const double scales[] = {1e-3, 1, 30, 1e3};
    const int widths[] = {10, 16, 17, 150};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
        for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
            int cols = widths[w];
            uint64_t s = 99 + k;
            for (int i = 0; i < ROWS * cols; i++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                z[i] = (bp_real)(scales[k] * ((double)(s >> 11) * 0x1p-53 - 0.5));
                y[i] = (bp_real)((i % cols) == (i / cols) % cols); /* one-hot */
            }
            double got = bp__loss(BP_LOSS_XENT, a, z, y, ROWS, cols, NULL);
            int keep = bp__lanes_by_value; /* either copy into the lanes gives the same bits */
            double copy[2];
            for (int by_value = 0; by_value < 2; by_value++) {
                bp__lanes_by_value = by_value;
                copy[by_value] = bp__loss(BP_LOSS_XENT, a, z, y, ROWS, cols, NULL);
            }
            bp__lanes_by_value = keep;
            CHECK(memcmp(&got, &copy[0], sizeof got) == 0 && memcmp(&got, &copy[1], sizeof got) == 0,
                  "%d classes: %.17g as chosen, %.17g with the lanes gathered, %.17g copied by value",
                  cols, got, copy[0], copy[1]);
            long double want = xent_ref(z, y, ROWS, cols);
            double rel = (double)(fabsl(got - want) / fabsl(want));
            CHECK(rel < 1e-14, "%d classes, logits of scale %g: %.17g vs %.17Lg (rel %.2e)", cols,
                  scales[k], got, want, rel);
        }
}

/* Binary cross-entropy from logits (bce, bce_sum) against long double: the
 * terms max(z, 0) - z y + log(1 + e^-|z|) of logits from 1e-3 to 1e3 in
 * scale (the exps a chunk of 256 at a time: 370 values cross a chunk), soft
 * targets; a NaN or infinite logit makes the loss NaN (the step refuses it);
 * logits of 1e30 give their terms exactly. */
static void test_bce_matches_long_double(void)
{
    enum { N = 370 };
    static bp_real z[N], y[N], a[N];
    const double scales[] = {1e-3, 1, 30, 1e3};
    for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
        uint64_t s = 7 + k;
        long double want = 0;
        for (int i = 0; i < N; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            z[i] = (bp_real)(scales[k] * ((double)(s >> 11) * 0x1p-53 - 0.5));
            y[i] = (bp_real)(i % 5 == 0 ? 0.25 : i % 2);
            long double zi = z[i];
            want += (zi > 0 ? zi : 0) - zi * y[i] + log1pl(expl(-fabsl(zi)));
        }
        double got = bp__loss(BP_LOSS_BCE, a, z, y, N, 1, NULL);
        double rel = (double)(fabsl(got - want / N) / (want / N));
        CHECK(rel < 1e-14, "logits of scale %g: %.17g vs %.17Lg (rel %.2e)", scales[k], got, want / N, rel);
        double sum = bp__loss(BP_LOSS_BCE_SUM, a, z, y, N / 10, 10, NULL);
        CHECK(fabs(sum - got * 10) <= 1e-13 * fabs(got * 10), "bce_sum %.17g, 10 x bce %.17g", sum, got * 10);
    }
    z[300] = NAN;
    CHECK(isnan(bp__loss(BP_LOSS_BCE, a, z, y, N, 1, NULL)), "a NaN logit: NaN");
    z[300] = INFINITY, y[300] = 1;
    CHECK(isnan(bp__loss(BP_LOSS_BCE, a, z, y, N, 1, NULL)), "an infinite logit: NaN");
    for (int i = 0; i < N; i++) z[i] = i % 2 ? 1e30f : -1e30f, y[i] = i % 2 ? 1 : 0;
    CHECK(bp__loss(BP_LOSS_BCE, a, z, y, N, 1, NULL) == 0, "1e30 logits on their labels: 0");
    y[1] = 0;
    CHECK(bp__loss(BP_LOSS_BCE, a, z, y, N, 1, NULL) == (double)1e30f / N, "one 1e30 off its label");
}

/* The cross-entropy from softmax's row parts (bp__row_lse, which the float
 * build with a BLAS keeps from softmax's pass) against the loss taking its
 * own exps: the same bits, for rows the lanes take (3, 10, 16: the loss's
 * lanes; 17, 64: its chunks) and rows softmax takes one by one (65, 150; 300,
 * wider than the loss's chunk of exps), a ragged last block, soft targets,
 * NaN and infinite logits. Then through a
 * model on 2 threads, whose output layer's forward splits the rows (a
 * product of 10 MFLOP): bp_model_loss as the loss of its logits. */
static void test_xent_from_softmax_lse(void)
{
    enum { ROWS = 37, MAXC = 300 };
    static bp_real z[ROWS * MAXC], zk[ROWS * MAXC], a[ROWS * MAXC], y[ROWS * MAXC], bias[MAXC];
    static bp__row_lse lse[ROWS];
    CHECK(bp__softmax_gives_lse() == BP__SOFTMAX_LSE,
          "softmax keeps its row parts in the float build with a BLAS only");
    if (!bp__softmax_gives_lse()) return;
    const int widths[] = {3, 10, 16, 17, 64, 65, 150, 300}; /* 300: the loss's chunks of 256 */
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        int cols = widths[w];
        uint64_t s = 31 + w;
        for (int i = 0; i < ROWS * cols; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            z[i] = (bp_real)(30 * ((double)(s >> 11) * 0x1p-53 - 0.5));
            y[i] = (bp_real)(i / cols == 4 ? 1.0 / cols : (i % cols) == (i / cols) % cols);
        }
        z[3 * cols + 2] = NAN, z[5 * cols] = -INFINITY;
        z[6 * cols + 1] = INFINITY, z[7 * cols + cols - 1] = 1e30f;
        memcpy(zk, z, sizeof(bp_real) * ROWS * cols);
        bp__bias_activate_keep(a, zk, cols, bias, ROWS, cols, BP_ACT_SOFTMAX, 0, lse);
        /* row by row (a row's loss alone shows its last bit), then the 29 rows
         * after the odd ones together (the loss's lanes and chunks); only the
         * NaN and +inf rows are NaN */
        for (int r = 0; r <= ROWS; r++) {
            int first = r < ROWS ? r : 8, rows = r < ROWS ? 1 : ROWS - 8;
            const bp_real *zo = zk + first * cols, *yo = y + first * cols;
            double from = bp__loss(BP_LOSS_XENT, a, zo, yo, rows, cols, lse + first);
            double own = bp__loss(BP_LOSS_XENT, a, zo, yo, rows, cols, NULL);
            bool nan_row = r == 3 || r == 6;
            CHECK(nan_row ? isnan(from) && isnan(own) : memcmp(&from, &own, sizeof own) == 0,
                  "%d classes, rows %d..%d: %.17g from softmax's sums, %.17g from the loss's own",
                  cols, first, first + rows - 1, from, own);
        }
        CHECK(isnan(bp__loss(BP_LOSS_XENT, a, zk, y, ROWS, cols, lse)), "%d classes: NaN row", cols);
    }
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2, mc.sizes[0] = 7, mc.sizes[1] = 512, mc.sizes[2] = 10; /* 10 MFLOP: cut in 2 */
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_SOFTMAX, mc.loss = BP_LOSS_XENT, mc.seed = 3;
    bp_model *m;
    CHECK_OK(bp_model_create(&m, &mc));
    if (!m) return;
    enum { B = 1000 };
    static bp_real x[B * 7], t[B * 10];
    for (int i = 0; i < B * 7; i++) x[i] = (bp_real)(3 * sin(0.37 * i));
    for (int i = 0; i < B * 10; i++) t[i] = (bp_real)(i % 10 == (i / 10) % 7);
    for (int threads = 1; threads <= 2; threads++) {
        bp_set_threads(threads);
        CHECK_OK(bp_model_forward(m, x, B, NULL));
        bp_real got;
        CHECK_OK(bp_model_loss(m, t, B, &got));
        bp_real want = (bp_real)bp__loss(BP_LOSS_XENT, m->acts[1], m->logits, t, B, 10, NULL);
        CHECK(m->lse != NULL && memcmp(&got, &want, sizeof got) == 0,
              "%d threads: the model's loss %.9g, its logits' %.9g", threads, (double)got, (double)want);
    }
    bp_set_threads(1);
    bp_model_free(m);
}

/* The cross-entropy from softmax's row parts adds each row's terms over its
 * nonzero targets in column order (loss.c, row_xent): soft targets, several
 * nonzero a row (about a third of the rows' sums change in reverse order),
 * rows wider than the 32 targets of one mask and nonzero on both sides of the
 * boundary, a NaN target (taken: the row is NaN); bit for bit against the
 * plain loop. Any precision: the row parts are made up here. */
static void test_xent_terms_in_column_order(void)
{
    enum { ROWS = 64, MAXC = 70 };
    static bp_real z[ROWS * MAXC], y[ROWS * MAXC];
    static bp__row_lse lse[ROWS];
    const int widths[] = {3, 10, 16, 31, 32, 33, 40, 64, 70};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        int cols = widths[w];
        uint64_t s = 7 + w;
        for (int i = 0; i < ROWS * cols; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(s >> 11) * 0x1p-53;
            int j = i % cols;
            z[i] = (bp_real)(30 * (u - 0.5));
            bool on = j == 0 || j == cols - 1 || j == 31 || j == 32 || (s >> 7) % 3 == 0;
            y[i] = on ? (bp_real)(0.05 + 0.3 * u) : 0;
        }
        for (int r = 0; r < ROWS; r++) lse[r] = (bp__row_lse){(bp_real)(r % 5), 1 + 0.37 * r};
        for (int nan_target = 0; nan_target < 2; nan_target++) {
            if (nan_target) y[9 * cols + cols / 2] = NAN;
            double want = 0;
            for (int r = 0; r < ROWS; r++) {
                double l = (double)lse[r].max + log(lse[r].sum), t = 0;
                for (int j = 0; j < cols; j++) {
                    bp_real yj = y[r * cols + j];
                    if (yj != 0) t += (double)yj * (l - (double)z[r * cols + j]);
                }
                want += t;
            }
            want /= ROWS;
            double got = bp__loss(BP_LOSS_XENT, z, z, y, ROWS, cols, lse);
            CHECK(nan_target ? isnan(got) : memcmp(&got, &want, sizeof got) == 0,
                  "%d classes%s: %.17g, the terms in column order %.17g", cols,
                  nan_target ? ", a NaN target" : "", got, want);
        }
    }
}

/* scikit-learn's log_loss / binary_log_loss on probabilities clipped to
 * [eps, 1 - eps], summed in long double with logl. */
static long double clipped_ref(const bp_real *p, const bp_real *y, size_t count, double eps,
                               bool binary)
{
    long double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double pi = p[i] < eps ? eps : p[i] > 1 - eps ? 1 - eps : p[i];
        if (y[i] != 0) sum -= (long double)y[i] * logl(pi);
        if (binary && y[i] != 1) sum -= (1 - (long double)y[i]) * logl(1 - (long double)pi);
    }
    return sum;
}

/* bp__loss_clipped takes the log of products of the factors rather than one
 * log a term (loss.c): each product's rounding may move the sum by about
 * 2^-53 a factor, less than a float probability's own rounding, so the bound
 * is absolute per term, plus a sum's own in double (2^-53 an addition). */
static void check_clipped(const char *what, bp_loss loss, const bp_real *p, const bp_real *y,
                          int rows, int cols, double eps)
{
    size_t count = (size_t)rows * cols;
    bool binary = loss != BP_LOSS_XENT;
    double per = loss == BP_LOSS_BCE ? (double)count : rows;
    double got = bp__loss_clipped(loss, p, p, y, rows, cols, eps) * per;
    long double want = clipped_ref(p, y, count, eps, binary);
    double err = (double)fabsl(got - want), bound = 0x1p-50 * (double)count * (1 + (double)fabsl(want) / 8);
    CHECK(err <= bound, "%s (%d x %d, eps %g): %.17g vs %.17Lg, off by %.3g > %.3g", what, rows,
          cols, eps, got, want, err, bound);
}

static void test_clipped_xent(void)
{
    enum { ROWS = 301, COLS = 10, N = ROWS * COLS, LONG = 20000 };
    static bp_real p[LONG], y[LONG];
    const double feps = 1.1920928955078125e-07, deps = 2.220446049250313e-16;
    const double eps = TEST_DOUBLE ? deps : feps;
    uint64_t s = 7;
    for (int r = 0; r < ROWS; r++) { /* softmax-like rows, some saturated; one-hot targets */
        double row[COLS], sum = 0, spread = r % 3 == 0 ? 40 : r % 3 == 1 ? 4 : 0.01;
        for (int j = 0; j < COLS; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            row[j] = exp(spread * ((double)(s >> 11) * 0x1p-53 - 0.5)), sum += row[j];
        }
        for (int j = 0; j < COLS; j++) {
            p[r * COLS + j] = (bp_real)(row[j] / sum);
            y[r * COLS + j] = (bp_real)(j == (int)((s >> 20) % COLS));
        }
    }
    p[0] = 0, p[1] = 1, y[0] = 1, y[1] = 0; /* both clips */
    for (int rows = 1; rows <= ROWS; rows += 37) /* counts off the lanes' multiples */
        check_clipped("one-hot", BP_LOSS_XENT, p, y, rows, COLS, eps);
    check_clipped("one-hot, float's eps", BP_LOSS_XENT, p, y, ROWS, COLS, feps);
    for (int i = 0; i < N; i++) y[i] = (bp_real)((i * 7 + i / 3) % 2); /* binary labels */
    check_clipped("binary", BP_LOSS_BCE, p, y, ROWS, COLS, eps);
    check_clipped("binary, summed", BP_LOSS_BCE_SUM, p, y, ROWS, COLS, eps);
    check_clipped("binary, one output", BP_LOSS_BCE, p, y, 33, 1, eps);
    /* every factor the smallest, eps: the lanes renormalize at their limit
     * (at most 16 factors a lane; fewer where eps^17 would leave 2^-1000) */
    for (int i = 0; i < LONG; i++) p[i] = 0, y[i] = 1;
    check_clipped("all clipped to eps", BP_LOSS_XENT, p, y, LONG, 1, eps);
    check_clipped("all clipped, double's eps", BP_LOSS_XENT, p, y, LONG, 1, deps);
    check_clipped("all clipped, eps 2^-70", BP_LOSS_XENT, p, y, LONG, 1, 0x1p-70); /* 13 a lane */
    check_clipped("all clipped, eps 2^-300", BP_LOSS_XENT, p, y, LONG, 1, 0x1p-300); /* 2 a lane */
    check_clipped("all clipped, eps 1e-300 (term by term)", BP_LOSS_XENT, p, y, 100, 1, 1e-300);
    for (int i = 0; i < LONG; i++) p[i] = 1, y[i] = 0;
    check_clipped("binary, all clipped to 1 - eps", BP_LOSS_BCE, p, y, LONG, 1, eps);
    /* soft targets: the terms one by one */
    for (int i = 0; i < N; i++) p[i] = (bp_real)((i % 97 + 1) / 99.0), y[i] = (bp_real)((i % 5) / 4.0);
    check_clipped("soft targets", BP_LOSS_XENT, p, y, ROWS, COLS, eps);
    check_clipped("soft targets, binary", BP_LOSS_BCE, p, y, ROWS, COLS, eps);
    /* NaN: where a term counts, the loss is NaN; where its target is 0, not */
    for (int i = 0; i < N; i++) y[i] = (bp_real)(i % COLS == 3);
    p[5 * COLS + 4] = NAN; /* target 0 */
    double a = bp__loss_clipped(BP_LOSS_XENT, p, p, y, ROWS, COLS, eps);
    CHECK(isfinite(a), "a NaN probability under a zero target: %g", a);
    CHECK(isnan(bp__loss_clipped(BP_LOSS_BCE, p, p, y, ROWS, COLS, eps)), "NaN under y = 0, binary");
    p[5 * COLS + 4] = 0.5f, p[7 * COLS + 3] = NAN; /* target 1 */
    CHECK(isnan(bp__loss_clipped(BP_LOSS_XENT, p, p, y, ROWS, COLS, eps)), "NaN under y = 1");
    p[7 * COLS + 3] = 0.5f, y[9] = NAN;
    CHECK(isnan(bp__loss_clipped(BP_LOSS_XENT, p, p, y, ROWS, COLS, eps)), "a NaN target");
}

/* A softmax layer in the lanes (bp__dense_softmax_lanes) gives the bits of
 * its two steps, the own kernel's forward and bp__bias_activate_keep: z, a
 * and the rows' lse parts, on ragged row blocks, k across the kernel's
 * 256-step blocks, 1 to 16 outputs, NaN and infinities among the inputs. It
 * runs where the own kernel's AVX-512 path and softmax's lanes in registers
 * are there (the hook bp__lanes_by_value 2), and refuses the other lanes and
 * the AVX2 path. Independently, z is near x Wᵀ + b in double (bp__gemm_ref). */
static bool same_or_both_nan(const bp_real *x, const bp_real *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(x + i, y + i, sizeof *x) && !(isnan(x[i]) && isnan(y[i]))) return false;
    return true;
}

static bool same_double(double x, double y)
{
    return !memcmp(&x, &y, sizeof x) || (isnan(x) && isnan(y));
}

static void test_softmax_layer_in_lanes(void)
{
    const int rows_[] = {1, 5, 16, 17, 37, 200}, ins[] = {1, 3, 17, 100, 257, 600},
              outs[] = {1, 2, 7, 10, 15, 16};
    enum { MAXR = 200, MAXI = 600, MAXO = 16 };
    static bp_real x[MAXR * MAXI], w[MAXO * MAXI], b[MAXO], a1[MAXR * MAXO], z1[MAXR * MAXO],
        a2[MAXR * MAXO], z2[MAXR * MAXO], zref[MAXR * MAXO];
    static bp__row_lse l1[MAXR], l2[MAXR];
    bp_rng r;
    bp_rng_seed(&r, 29);
    bool can = bp__gemm_x86_isa() == BP__GEMM_ISA_AVX512 && bp__softmax_gives_lse();
    int ran = 0;
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 6; k++)
            for (int o = 0; o < 6; o++) {
                int m = rows_[i], in = ins[k], out = outs[o];
                for (int e = 0; e < m * in; e++) x[e] = (bp_real)(4 * bp_rng_uniform(&r) - 2);
                for (int e = 0; e < out * in; e++) w[e] = (bp_real)(bp_rng_uniform(&r) - 0.5);
                for (int e = 0; e < out; e++) b[e] = (bp_real)(bp_rng_uniform(&r) - 0.5);
                if (m > 5) x[2 * in] = NAN, x[3 * in + in / 2] = INFINITY, x[4 * in] = -INFINITY;
                bp__lanes_by_value = 2;
                bool done = bp__dense_softmax_lanes(a1, z1, x, w, b, m, in, out, l1);
                CHECK(done == can, "rows %d in %d out %d: %s", m, in, out,
                      done ? "ran without the AVX-512 path" : "refused");
                bp__lanes_by_value = 0;
                CHECK(!bp__dense_softmax_lanes(a2, z2, x, w, b, m, in, out, l2),
                      "ran with the lanes gathered");
                bp__lanes_by_value = 2;
                if (bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX2))
                    CHECK(!bp__dense_softmax_lanes(a2, z2, x, w, b, m, in, out, l2),
                          "ran on the AVX2 path");
                bp__gemm_x86_isa_set((bp__gemm_isa)-1);
                bp__lanes_by_value = -1;
                if (!done) continue;
                ran++;
                bp__gemm_x86(BP_NO_TRANS, BP_TRANS, m, out, in, 1, x, in, w, in, 0, z2, out);
                bp__bias_activate_keep(a2, z2, out, b, m, out, BP_ACT_SOFTMAX, 0, l2);
                CHECK(same_or_both_nan(z1, z2, (size_t)m * out) && same_or_both_nan(a1, a2, (size_t)m * out),
                      "rows %d in %d out %d: z or a differ from the product and softmax", m, in, out);
                bp__gemm_ref(BP_NO_TRANS, BP_TRANS, m, out, in, 1, x, in, w, in, 0, zref, out);
                double worst = 0;
                for (int e = 0; e < m * out; e++) {
                    int row = e / out;
                    if (m > 5 && row >= 2 && row <= 4) continue; /* NaN and infinities */
                    double want = (double)zref[e] + b[e % out];
                    double err = fabs((double)z1[e] - want) / (1 + fabs(want));
                    worst = err > worst || err != err ? err : worst;
                }
                CHECK(worst <= 1e-5 * sqrt((double)in), "rows %d in %d out %d: z %g from x Wᵀ + b",
                      m, in, out, worst);
                int lse_diff = 0;
                for (int e = 0; e < m; e++)
                    lse_diff += !same_double(l1[e].max, l2[e].max) || !same_double(l1[e].sum, l2[e].sum);
                CHECK(lse_diff == 0, "rows %d in %d out %d: %d rows' lse parts differ", m, in, out, lse_diff);
            }
    if (!can) printf("     not run: no AVX-512 own kernel or inline exp in this build or core\n");
    else CHECK(ran == 216, "ran %d of 216 shapes", ran);
}

/* The cross-entropy's dZ = s (a Σy - y), Σy added in column order from 0,
 * against that done by hand, bit for bit: one-hot rows (which AVX-512 takes
 * as a count), soft targets, -0, NaN and a 2 among the targets, 1 to 17
 * classes, a ragged number of rows. */
static void test_xent_grad_by_hand(void)
{
    enum { ROWS = 37, MAXC = 17 };
    static bp_real a[ROWS * MAXC], y[ROWS * MAXC], d[ROWS * MAXC];
    bp_rng r;
    bp_rng_seed(&r, 41);
    for (int cols = 1; cols <= MAXC; cols++) {
        for (int i = 0; i < ROWS; i++) {
            bp_real *yi = y + i * cols;
            for (int j = 0; j < cols; j++) {
                a[i * cols + j] = (bp_real)bp_rng_uniform(&r);
                yi[j] = 0;
            }
            int kind = i % 6;
            if (kind < 2) yi[bp_rng_below(&r, (uint64_t)cols)] = 1; /* one-hot */
            else if (kind == 2) /* soft: smoothed labels */
                for (int j = 0; j < cols; j++) yi[j] = (bp_real)(0.1 / cols + (j == 0 ? 0.9 : 0));
            else if (kind == 3) yi[0] = (bp_real)-0.0, yi[cols - 1] = 1;
            else if (kind == 4) yi[cols / 2] = cols > 1 ? NAN : 2;
            /* kind 5: all zero */
        }
        int mean_rows = ROWS + 3;
        bp__loss_grad(BP_LOSS_XENT, d, a, y, ROWS, cols, mean_rows);
        bp_real s = (bp_real)(1.0 / mean_rows);
        int wrong = 0;
        for (int i = 0; i < ROWS; i++) {
            bp_real ysum = 0;
            for (int j = 0; j < cols; j++) ysum += y[i * cols + j];
            for (int j = 0; j < cols; j++) {
                bp_real want = s * (a[i * cols + j] * ysum - y[i * cols + j]);
                wrong += !same_or_both_nan(&want, d + i * cols + j, 1);
            }
        }
        CHECK(wrong == 0, "%d classes: %d of dZ's values differ from the step by hand", cols, wrong);
    }
}

/* The same tests with the lanes copied each way (bp__lanes_by_value): by
 * gathers, Intel's; value by value, the copy of a build without AVX-512; and
 * softmax's rows of up to 16 in registers, AMD's; whichever this core takes
 * by default. */
static void test_lanes_each_way(void)
{
    for (int by_value = 0; by_value < 3; by_value++) {
        bp__lanes_by_value = by_value;
        test_softmax_rows_bits();
        test_xent_matches_long_double();
        test_xent_from_softmax_lse();
    }
    bp__lanes_by_value = -1;
}

int main(void)
{
    RUN(test_exp_nonpos);
    RUN(test_exp_nonpos_float_correctly_rounded);
    RUN(test_softmax_rows_bits);
    RUN(test_xent_matches_long_double);
    RUN(test_lanes_each_way);
    RUN(test_softmax_layer_in_lanes);
    RUN(test_xent_grad_by_hand);
    RUN(test_xent_terms_in_column_order);
    RUN(test_xent_from_softmax_lse);
    RUN(test_bce_matches_long_double);
    RUN(test_clipped_xent);
    return test_summary("test_loss");
}
