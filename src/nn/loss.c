/* loss.c - mean squared error, and the two cross-entropies fused with their
 * output activation and computed from the logits, so they stay finite and
 * exact for logits of any size. All losses are batch means (docs/MATH.md). */
#include "internal.h"

#include "exp_nonpos.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__) && defined(__AVX512VL__) && !defined(BP_REAL_DOUBLE)
#define XENT_AVX512 1 /* the lanes by gathers (lanes past `rows` read row 0), the rows as vectors */
#include <immintrin.h>
#else
#define XENT_AVX512 0
#endif

static const char *const loss_names[BP_LOSS_COUNT_] = {"mse", "bce", "xent", "half_sse", "bce_sum"};

const char *bp_loss_name(bp_loss l)
{
    return (unsigned)l < BP_LOSS_COUNT_ ? loss_names[l] : "unknown";
}

bp_status bp_loss_from_name(const char *name, bp_loss *out)
{
    int i;
    bp_status st = bp__lookup("loss", loss_names, BP_LOSS_COUNT_, name, &i);
    if (!st) *out = (bp_loss)i;
    return st;
}

/* (1 / mk) Σ (a - y)² */
static double mse(const bp_real *a, const bp_real *y, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)a[i] - (double)y[i];
        sum += d * d;
    }
    return sum / (double)count;
}

double bp__exp_nonpos(double x) { return bp__exp_nonpos_inline(x, false); }

enum { EXP_CHUNK = 256 }; /* exps taken at once, in a buffer on the stack */

/* -[y log σ(z) + (1 - y) log(1 - σ(z))] = max(z, 0) - z y + log(1 + e^-|z|),
 * the exps a chunk at a time by the inline exp (a loop that vectorizes: 32
 * values 0.31 -> 0.17 us, 1,000 9.3 -> 4.6 us), the terms summed in order. */
static double bce_logits(const bp_real *z, const bp_real *y, size_t count)
{
    double sum = 0, e[EXP_CHUNK];
    for (size_t i0 = 0; i0 < count; i0 += EXP_CHUNK) {
        size_t n = count - i0 < EXP_CHUNK ? count - i0 : EXP_CHUNK;
        for (size_t i = 0; i < n; i++) e[i] = bp__exp_nonpos_inline(-fabs((double)z[i0 + i]), BP__EXP_FUSED);
        for (size_t i = 0; i < n; i++) {
            double zi = z[i0 + i];
            sum += (zi > 0 ? zi : 0) - zi * (double)y[i0 + i] + log1p(e[i]);
        }
    }
    return sum / (double)count;
}

/* -Σ_j y_j log softmax(z)_j = Σ_j y_j (lse(z) - z_j), lse through the max. */

static double row_max(const bp_real *z, int cols)
{
    double mx = z[0];
    for (int j = 1; j < cols; j++) mx = z[j] > mx ? z[j] : mx;
    return mx;
}

/* e^(z - mx) for z <= mx, values of bp_real held in double: where softmax
 * keeps the rows' sums (BP__SOFTMAX_LSE), by softmax's way to it, refined
 * (bp__exp_refined): the sums are then the same from softmax's pass or from
 * here; elsewhere the exp of the difference in double. */
static inline double exp_shifted(double z, double mx)
{
#if BP__SOFTMAX_LSE
    float zf = (float)z, mf = (float)mx, d = zf - mf;
    return bp__exp_refined(bp__exp_nonpos_inline((double)d, BP__EXP_FUSED), zf, mf, d);
#else
    return bp__exp_nonpos_inline(z - mx, BP__EXP_FUSED);
#endif
}

/* Bit j set where y[j] != 0, for j < n <= 32; NaN != 0, so a NaN target is
 * taken. With AVX-512 one or two vector compares (digits' loss, 200 x 10:
 * 1.46 -> 0.92 us alone), else a compare a target. */
static inline uint32_t nonzero_bits(const bp_real *y, int n)
{
#if XENT_AVX512
    __mmask16 lo = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
    __m512 zero = _mm512_setzero_ps();
    uint32_t bits = _mm512_mask_cmp_ps_mask(lo, _mm512_maskz_loadu_ps(lo, y), zero, _CMP_NEQ_UQ);
    if (n <= 16) return bits;
    __mmask16 hi = (__mmask16)(n >= 32 ? 0xffff : (1u << (n - 16)) - 1);
    return bits | (uint32_t)_mm512_mask_cmp_ps_mask(hi, _mm512_maskz_loadu_ps(hi, y + 16), zero,
                                                     _CMP_NEQ_UQ) << 16;
#else
    uint32_t bits = 0;
    for (int j = 0; j < n; j++) bits |= (uint32_t)(y[j] != 0) << j;
    return bits;
#endif
}

/* The row's term Σ_j y_j (lse - z_j) over its nonzero targets, in column
 * order. A test per target, `if (y_j != 0)`, is a branch that each new batch
 * mispredicts about once a row (a one-hot row's 1 is anywhere): the nonzero
 * targets are found as a bit mask first (no branch), then taken lowest bit
 * first: the loss of 200 one-hot rows of 10 in training (digits), 3.9 -> 2.8
 * us a step, though alone, one batch over and over, it took 1.4 -> 1.45. */
static inline double row_xent(const bp_real *z, const bp_real *y, int cols, double lse)
{
    double sum = 0;
    for (int j0 = 0; j0 < cols; j0 += 32) {
        int n = cols - j0 < 32 ? cols - j0 : 32;
        for (uint32_t nonzero = nonzero_bits(y + j0, n); nonzero; nonzero &= nonzero - 1) {
            int j = j0 + __builtin_ctz(nonzero);
            sum += (double)y[j] * (lse - (double)z[j]);
        }
    }
    return sum;
}

/* Σ_j e^(z_j - mx) of a row wider than a chunk, chunk by chunk, in order. */
static double wide_row_sum_exp(const bp_real *z, int cols, double mx)
{
    double e[EXP_CHUNK], s = 0;
    for (int j0 = 0; j0 < cols; j0 += EXP_CHUNK) {
        int n = cols - j0 < EXP_CHUNK ? cols - j0 : EXP_CHUNK;
        for (int j = 0; j < n; j++) e[j] = exp_shifted(z[j0 + j], mx);
        for (int j = 0; j < n; j++) s += e[j];
    }
    return s;
}

/* Up to XENT_LANES rows of at most XENT_COLS with the rows as vector lanes:
 * copied into t[column][row], each row's max, exps, sum, log-sum-exp and term
 * run all rows at once in the row's own column order, the operations of
 * row_max, the chunked exps and row_xent, hence the same bits; adds the
 * rows' terms to *sum in row order. (Row by row, a 10-class row's max and sums
 * are chains of dependent operations.) */
enum { XENT_LANES = 8, XENT_COLS = 16 }; /* 3 KB of stack */

static void xent_rows(const bp_real *z, const bp_real *y, int rows, int cols, double *sum)
{
    double t[XENT_COLS][XENT_LANES], ty[XENT_COLS][XENT_LANES], zt[XENT_COLS][XENT_LANES];
    double mx[XENT_LANES], s[XENT_LANES], term[XENT_LANES];
    bool by_value = true;
#if XENT_AVX512 /* a gather per column, where bp__lanes_gathered (activation.c) */
    if (bp__lanes_gathered()) {
        __m256i at = _mm256_maskz_mullo_epi32((__mmask8)((1u << rows) - 1),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                              _mm256_set1_epi32(cols));
        int j = 0;
        do { /* cols >= 1: column 0 is read below whatever gcc -O2 proves */
            _mm512_storeu_pd(zt[j], _mm512_cvtps_pd(_mm256_i32gather_ps(z + j, at, 4)));
            _mm512_storeu_pd(ty[j], _mm512_cvtps_pd(_mm256_i32gather_ps(y + j, at, 4)));
        } while (++j < cols);
        by_value = false;
    }
#endif
    for (int r = 0; by_value && r < XENT_LANES; r++) /* lanes past `rows` repeat row 0 */
        for (int j = 0; j < cols; j++) {
            size_t i = (size_t)(r < rows ? r : 0) * cols + j;
            zt[j][r] = z[i], ty[j][r] = y[i];
        }
    for (int r = 0; r < XENT_LANES; r++) mx[r] = zt[0][r], s[r] = 0, term[r] = 0;
    for (int j = 1; j < cols; j++)
        for (int r = 0; r < XENT_LANES; r++) mx[r] = zt[j][r] > mx[r] ? zt[j][r] : mx[r];
    for (int j = 0; j < cols; j++)
        for (int r = 0; r < XENT_LANES; r++) t[j][r] = exp_shifted(zt[j][r], mx[r]);
    for (int j = 0; j < cols; j++)
        for (int r = 0; r < XENT_LANES; r++) s[r] += t[j][r];
    for (int r = 0; r < rows; r++) mx[r] += log(s[r]); /* now lse */
    for (int j = 0; j < cols; j++)
        for (int r = 0; r < XENT_LANES; r++) /* a zero target adds nothing, as row_xent skips it */
            term[r] += ty[j][r] != 0 ? ty[j][r] * (mx[r] - zt[j][r]) : 0;
    for (int r = 0; r < rows; r++) *sum += term[r];
}

/* Rows that fit a chunk are taken together: their exps in one buffer, in one
 * loop that vectorizes over each row (a 10-class row alone left 8 + 2), then
 * each row's sum in order. */
static double xent_chunks(const bp_real *z, const bp_real *y, int rows, int cols)
{
    double sum = 0, e[EXP_CHUNK], mx[EXP_CHUNK];
    int per = cols <= EXP_CHUNK ? EXP_CHUNK / cols : 1; /* rows per chunk */
    for (int r0 = 0; r0 < rows; r0 += per) {
        int nr = rows - r0 < per ? rows - r0 : per;
        const bp_real *zc = z + (size_t)r0 * cols, *yc = y + (size_t)r0 * cols;
        for (int r = 0; r < nr; r++) mx[r] = row_max(zc + (size_t)r * cols, cols);
        if (cols > EXP_CHUNK) {
            sum += row_xent(zc, yc, cols, mx[0] + log(wide_row_sum_exp(zc, cols, mx[0])));
            continue;
        }
        for (int r = 0; r < nr; r++)
            for (int j = 0; j < cols; j++) e[r * cols + j] = exp_shifted(zc[r * cols + j], mx[r]);
        for (int r = 0; r < nr; r++) {
            double s = 0;
            for (int j = 0; j < cols; j++) s += e[r * cols + j];
            sum += row_xent(zc + (size_t)r * cols, yc + (size_t)r * cols, cols, mx[r] + log(s));
        }
    }
    return sum / rows;
}

/* Narrow rows by lanes, wider ones by chunks. */
static double xent_logits(const bp_real *z, const bp_real *y, int rows, int cols)
{
    if (cols > XENT_COLS) return xent_chunks(z, y, rows, cols);
    double sum = 0;
    for (int r0 = 0; r0 < rows; r0 += XENT_LANES) {
        int nr = rows - r0 < XENT_LANES ? rows - r0 : XENT_LANES;
        xent_rows(z + (size_t)r0 * cols, y + (size_t)r0 * cols, nr, cols, &sum);
    }
    return sum / rows;
}

/* The same from softmax's row parts of these logits (bp__row_lse): its max
 * and its exps' sum are the ones above (exp_shifted), taken in softmax's pass
 * (the same operations in the same order: the same bits), so only the logs
 * and the terms are left (200 x 10: 7.7 -> 1.85 us on a Zen 5 core). */
static double xent_from_lse(const bp_real *z, const bp_real *y, const bp__row_lse *lse,
                            int rows, int cols)
{
    double sum = 0;
    for (int r = 0; r < rows; r++)
        sum += row_xent(z + (size_t)r * cols, y + (size_t)r * cols, cols,
                        lse[r].max + log(lse[r].sum));
    return sum / rows;
}

/* A probability clipped to [eps, 1 - eps] in double, as scikit-learn clips. */
static double clip_prob(bp_real p, double eps)
{
    double pi = p; /* quiet comparisons: a loop over them vectorizes; NaN stays NaN */
    return isless(pi, eps) ? eps : isgreater(pi, 1 - eps) ? 1 - eps : pi;
}

/* The cross-entropies from probabilities p clipped to [eps, 1 - eps], as
 * scikit-learn's log_loss and binary_log_loss: a term with a zero target
 * weight adds nothing (xlogy). Summed; the caller takes the mean. */
static double clipped_xent_terms(const bp_real *p, const bp_real *y, size_t count, double eps,
                                 bool binary)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double pi = clip_prob(p[i], eps);
        if (y[i] != 0) sum -= (double)y[i] * log(pi);
        if (binary && y[i] != 1) sum -= (1 - (double)y[i]) * log(1 - pi);
    }
    return sum;
}

/* With targets of 0 and 1 alone (a class's one-hot row, a binary label),
 * each term is -log f, f the clipped p where y = 1 (and 1 - p where y = 0 in
 * binary), and the sum of the logs is the log of their product. PROD_LANES
 * products take the factors, each lane brought back to [1, 2) by its exponent
 * after every `per_lane` factors, and one log a lane at the end replaces one
 * a term (eps^(per_lane + 1) >= 2^-1000 keeps a lane normal). 200 x 10
 * softmax outputs: 4.6 -> 1.0 us, and 23.5 -> 0.9 us as binary labels (a log
 * and a branch a term before). Each product's rounding moves the sum by about
 * 2^-53 a factor, less than a float probability's own (tests/test_loss.c). */
enum { PROD_LANES = 16, PROD_BLOCK = 256 }; /* two vectors of lanes; 2 KB of factors */
static const double LN2_HI = 6.93147180369123816490e-01, /* 32 bits: an exponent's product exact */
                    LN2_LO = 1.90821492927058770002e-10;

/* Factors a lane may take between two renormalizations; 0 if eps is too
 * small for products (or not a probability's clip). */
static int factors_per_lane(double eps)
{
    if (!(eps > 0 && eps < 0.5)) return 0; /* the factors would not be in (0, 1) */
    double n = floor(1000 / -log2(eps)) - 1;
    return n < 1 ? 0 : n > PROD_BLOCK / PROD_LANES ? PROD_BLOCK / PROD_LANES : (int)n;
}

/* x in [1, 2), its binary exponent added to *e; x positive and normal. */
static double take_exponent(double x, int64_t *e)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    *e += (int64_t)(b >> 52) - 1023;
    b = (b & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* f[i] = the factor of term i, for n terms; nonzero if a target is neither 0
 * nor 1 (NaN included). */
static int term_factors(double *restrict f, const bp_real *restrict p, const bp_real *restrict y,
                        size_t n, double eps, bool binary)
{
    int other = 0;
    for (size_t i = 0; i < n; i++) {
        double pi = clip_prob(p[i], eps);
        other |= (y[i] != 0) & (y[i] != 1);
        f[i] = y[i] != 0 ? pi : binary ? 1 - pi : 1;
    }
    return other;
}

/* The sum of the terms by products; *other nonzero (and the sum void) if a
 * target is not 0 or 1. */
static double clipped_xent_products(const bp_real *p, const bp_real *y, size_t count, double eps,
                                    bool binary, int per_lane, int *other)
{
    double lane[PROD_LANES], f[PROD_BLOCK];
    int64_t e = 0;
    size_t block = (size_t)per_lane * PROD_LANES;
    for (int j = 0; j < PROD_LANES; j++) lane[j] = 1;
    for (size_t i = 0; i < count; i += block) {
        size_t n = count - i < block ? count - i : block, k;
        *other |= term_factors(f, p + i, y + i, n, eps, binary);
        for (; n % PROD_LANES; n++) f[n] = 1;
        for (k = 0; k < n; k += PROD_LANES)
            for (int j = 0; j < PROD_LANES; j++) lane[j] *= f[k + j];
        for (int j = 0; j < PROD_LANES; j++) {
            if (isnan(lane[j])) return NAN; /* a NaN probability where it counts */
            lane[j] = take_exponent(lane[j], &e);
        }
    }
    double logs = 0;
    for (int j = 0; j < PROD_LANES; j++) logs += log(lane[j]);
    return -((double)e * LN2_HI + ((double)e * LN2_LO + logs));
}

static double clipped_xent_sum(const bp_real *p, const bp_real *y, size_t count, double eps,
                               bool binary)
{
    int per_lane = factors_per_lane(eps), other = 0;
    double sum = per_lane ? clipped_xent_products(p, y, count, eps, binary, per_lane, &other) : 0;
    return per_lane && !other ? sum : clipped_xent_terms(p, y, count, eps, binary);
}

double bp__loss_clipped(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                        int rows, int cols, double eps)
{
    size_t count = (size_t)rows * cols;
    switch (loss) {
    case BP_LOSS_BCE: return clipped_xent_sum(a, y, count, eps, true) / (double)count;
    case BP_LOSS_BCE_SUM: return clipped_xent_sum(a, y, count, eps, true) / rows;
    case BP_LOSS_XENT: return clipped_xent_sum(a, y, count, eps, false) / rows;
    default: return bp__loss(loss, a, z, y, rows, cols, NULL);
    }
}

double bp__loss(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                int rows, int cols, const bp__row_lse *lse)
{
    size_t count = (size_t)rows * cols;
    switch (loss) {
    case BP_LOSS_MSE: return mse(a, y, count);
    case BP_LOSS_BCE: return bce_logits(z, y, count);
    case BP_LOSS_XENT: return lse ? xent_from_lse(z, y, lse, rows, cols) : xent_logits(z, y, rows, cols);
    case BP_LOSS_HALF_SSE: return mse(a, y, count) * cols / 2; /* (1/2m) sum of squares */
    case BP_LOSS_BCE_SUM: return bce_logits(z, y, count) * cols;
    case BP_LOSS_COUNT_: break;
    }
    BP_ASSERT(0);
    return NAN;
}

/* The cross-entropy's dZ = s (a Σy - y) over rows of at most 16 classes, a
 * row a vector: Σy in column order is a chain of dependent adds a row, but
 * where the row's targets are all +0 and 1 (one-hot) every partial sum is a
 * small integer, exact, so Σy is the count of ones whatever the order; other
 * rows add them as the loop below does. The same bits: 200 x 10 0.72 -> 0.25
 * us alone (Zen 5). */
static bool xent_grad_rows16(bp_real *d, const bp_real *a, const bp_real *y, int rows, int cols,
                             bp_real s)
{
#if XENT_AVX512
    if (cols > 16) return false;
    __mmask16 m = (__mmask16)((1u << cols) - 1);
    __m512 vs = _mm512_set1_ps(s);
    for (int r = 0; r < rows; r++) {
        const bp_real *yr = y + (size_t)r * cols;
        __m512i yb = _mm512_maskz_loadu_epi32(m, yr);
        __mmask16 one = _mm512_mask_cmpeq_epi32_mask(m, yb, _mm512_set1_epi32(0x3f800000));
        __mmask16 zero = _mm512_mask_cmpeq_epi32_mask(m, yb, _mm512_setzero_si512());
        bp_real ysum = 0;
        if ((__mmask16)(one | zero) == m)
            ysum = (bp_real)__builtin_popcount(one);
        else
            for (int j = 0; j < cols; j++) ysum += yr[j];
        __m512 ar = _mm512_maskz_loadu_ps(m, a + (size_t)r * cols);
        __m512 t = _mm512_sub_ps(_mm512_mul_ps(ar, _mm512_set1_ps(ysum)), _mm512_castsi512_ps(yb));
        _mm512_mask_storeu_ps(d + (size_t)r * cols, m, _mm512_mul_ps(vs, t));
    }
    return true;
#else
    (void)d, (void)a, (void)y, (void)rows, (void)cols, (void)s;
    return false;
#endif
}

void bp__loss_grad(bp_loss loss, bp_real *d, const bp_real *a, const bp_real *y,
                   int rows, int cols, int mean_rows)
{
    size_t count = (size_t)rows * cols, mean_count = (size_t)mean_rows * cols;
    switch (loss) {
    case BP_LOSS_MSE: { /* dJ/dA = 2 (a - y) / mk */
        bp_real s = (bp_real)(2.0 / (double)mean_count);
        for (size_t i = 0; i < count; i++) d[i] = s * (a[i] - y[i]);
        break;
    }
    case BP_LOSS_BCE: { /* dJ/dZ = (σ(z) - y) / mk */
        bp_real s = (bp_real)(1.0 / (double)mean_count);
        for (size_t i = 0; i < count; i++) d[i] = s * (a[i] - y[i]);
        break;
    }
    case BP_LOSS_HALF_SSE:  /* dJ/dA = (a - y) / m */
    case BP_LOSS_BCE_SUM: { /* dJ/dZ = (σ(z) - y) / m */
        bp_real s = (bp_real)(1.0 / mean_rows);
        for (size_t i = 0; i < count; i++) d[i] = s * (a[i] - y[i]);
        break;
    }
    case BP_LOSS_XENT: { /* dJ/dZ = (softmax(z) Σy - y) / m; Σy = 1 for one-hot targets */
        bp_real s = (bp_real)(1.0 / mean_rows);
        if (xent_grad_rows16(d, a, y, rows, cols, s)) break;
        for (int r = 0; r < rows; r++) {
            const bp_real *ar = a + (size_t)r * cols, *yr = y + (size_t)r * cols;
            bp_real *dr = d + (size_t)r * cols, ysum = 0;
            for (int j = 0; j < cols; j++) ysum += yr[j];
            for (int j = 0; j < cols; j++) dr[j] = s * (ar[j] * ysum - yr[j]);
        }
        break;
    }
    case BP_LOSS_COUNT_: BP_ASSERT(0);
    }
}
