/* activation.c - identity, sigmoid, tanh, relu, leaky_relu, softmax:
 * forward fused with the bias add, and the derivative from the output. */
#include "internal.h"

#include "exp_nonpos.h"

#include <math.h>
#if defined(__AVX512F__) && !defined(BP_REAL_DOUBLE)
#include <immintrin.h>

#include "transpose512.h"
#endif
#include <string.h>

static const char *const act_names[BP_ACT_COUNT_] = {
    "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"};

const char *bp_activation_name(bp_activation a)
{
    return (unsigned)a < BP_ACT_COUNT_ ? act_names[a] : "unknown";
}

bp_status bp_activation_from_name(const char *name, bp_activation *out)
{
    int i;
    bp_status st = bp__lookup("activation", act_names, BP_ACT_COUNT_, name, &i);
    if (!st) *out = (bp_activation)i;
    return st;
}

/* e^x for x <= 0, all that sigmoid and softmax take. The float build with a
 * BLAS rounds the inline double exp once: correctly rounded, and the loops
 * vectorize (exp_nonpos.h). The double build and the BLAS-free build, whose
 * bits a device must reproduce in float arithmetic alone, keep R_EXP. */
#if BP__SOFTMAX_LSE
#define EXP_NONPOS(x) ((float)bp__exp_nonpos_inline((double)(x), BP__EXP_FUSED))
#define EXP_INLINE 1
#else
#define EXP_NONPOS(x) R_EXP(x)
#define EXP_INLINE 0
#endif

bool bp__softmax_gives_lse(void) { return EXP_INLINE; }

/* sigma(z) = 1 / (1 + e^-z), written so that no exp overflows. */
static inline bp_real sigmoid(bp_real z)
{
    bp_real e = EXP_NONPOS(z >= 0 ? -z : z); /* e^-|z| */
    return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/* relu(z), written so that NaN stays NaN, as torch.relu; leaky relu. */
static inline bp_real relu(bp_real z) { return z < 0 ? 0 : z; }
static inline bp_real leaky_relu(bp_real z, bp_real slope) { return z > 0 ? z : slope * z; }

/* Softmax of one row in place: subtract the max so exp never overflows.
 * Where the exp is inline (EXP_INLINE), its double value also goes, refined
 * to e^(z - max) of the exact difference (bp__exp_refined), into a double
 * sum: the row's lse parts, into lse if it is not NULL. */
static void softmax_row(bp_real *z, int n, bp__row_lse *lse)
{
    bp_real mx = z[0];
    for (int j = 1; j < n; j++) mx = z[j] > mx ? z[j] : mx;
    bp_real sum = 0;
#if EXP_INLINE
    double wide = 0;
    for (int j = 0; j < n; j++) {
        bp_real d = z[j] - mx;
        double e = bp__exp_nonpos_inline((double)d, BP__EXP_FUSED);
        wide += bp__exp_refined(e, z[j], mx, d);
        sum += (z[j] = (bp_real)e);
    }
    if (lse) *lse = (bp__row_lse){mx, wide};
#else
    (void)lse;
    for (int j = 0; j < n; j++) sum += (z[j] = EXP_NONPOS(z[j] - mx));
#endif
    bp_real inv = 1 / sum;
    for (int j = 0; j < n; j++) z[j] *= inv;
}

/* Softmax of up to SM_LANES contiguous rows of at most SM_COLS, with the
 * rows as the vector lanes: copied into t[column][row], each row's max, exps,
 * sum (in the row's own column order) and scaling run all rows at once, the
 * same operations as softmax_row, hence the same bits. A 10-class row alone
 * is too narrow to fill a vector, and its sum is a chain of dependent adds. */
enum { SM_LANES = 16, SM_COLS = 64 };

/* The lanes' copies, t[j][r] = a[r cols + j] in and back: with AVX-512 a
 * gather and a scatter per column (lanes past `rows` read row 0 and write
 * nothing), or value by value. An Intel core's gathers are the faster:
 * softmax of 200 x 10 took 4.3 us against 5.2 value by value, the
 * cross-entropy's 7.5 against 8.0 (Emerald Rapids); a Zen 5 core's the
 * slower: 3.9 against 3.8, and 6.5 against 5.6 (timed alone, best of
 * 3,000-20,000). So the lanes are gathered but on AMD's cores, or as the
 * test hook bp__lanes_by_value says (0 gathered, 1 by value, 2 in
 * registers). On AMD's cores softmax's rows of up to 16 go in registers
 * instead: 16 rows loaded, a 16 x 16 transpose (transpose512.h), and back
 * the same way; 200 x 10 4.3-4.5 -> 3.5 us on a Zen 5 core. */
int bp__lanes_by_value = -1;

bool bp__lanes_gathered(void)
{
#if defined(__AVX512F__) && !defined(BP_REAL_DOUBLE) && defined(__GNUC__)
    if (bp__lanes_by_value >= 0) return bp__lanes_by_value == 0;
    return !bp__cpu_amd();
#else
    return false;
#endif
}

#if defined(__AVX512F__) && !defined(BP_REAL_DOUBLE) && EXP_INLINE
#define LANES_GATHER 1
static __mmask16 live_lanes(int rows) { return (__mmask16)((1u << rows) - 1); }
static __m512i lane_rows(int rows, int cols)
{
    __m512i r = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_maskz_mullo_epi32(live_lanes(rows), r, _mm512_set1_epi32(cols));
}
#else
#define LANES_GATHER 0
#endif

#if EXP_INLINE
#if LANES_GATHER
/* Whether rows of `cols` go into the lanes by a register transpose: on AMD's
 * cores, or as the test hook says. */
static bool lanes_in_registers(int cols)
{
    return cols <= 16 && (bp__lanes_by_value == 2 || (bp__lanes_by_value < 0 && bp__cpu_amd()));
}

static __mmask16 row_mask(int cols) { return (__mmask16)((1u << cols) - 1); }

/* Rows of at most 16 in registers: row r (lanes past cols zero; rows past
 * `rows` repeat row 0) transposed into t's columns. */
static void lanes_in16(bp_real t[][SM_LANES], const bp_real *a, int rows, int cols)
{
    __mmask16 m = row_mask(cols);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(m, a + (size_t)(i < rows ? i : 0) * cols);
    bp__transpose16(r);
    for (int j = 0; j < cols; j++) _mm512_storeu_ps(t[j], r[j]);
}

/* a[r cols + j] = t[j][r] scale[r], the rows < `rows` stored through a mask. */
static void lanes_out16(bp_real *a, bp_real t[][SM_LANES], const bp_real *scale, int rows, int cols)
{
    __mmask16 m = row_mask(cols);
    __m512 r[16], s = _mm512_loadu_ps(scale);
    for (int j = 0; j < 16; j++) r[j] = j < cols ? _mm512_mul_ps(_mm512_loadu_ps(t[j]), s) : _mm512_setzero_ps();
    bp__transpose16(r);
    for (int i = 0; i < rows; i++) _mm512_mask_storeu_ps(a + (size_t)i * cols, m, r[i]);
}
#endif

static void lanes_in(bp_real t[][SM_LANES], const bp_real *a, int rows, int cols)
{
#if LANES_GATHER
    if (lanes_in_registers(cols)) {
        lanes_in16(t, a, rows, cols);
        return;
    }
    if (bp__lanes_gathered()) {
        __m512i at = lane_rows(rows, cols);
        int j = 0;
        do /* cols >= 1: column 0 is read after, whatever gcc -O2 proves */
            _mm512_storeu_ps(t[j], _mm512_i32gather_ps(at, a + j, 4));
        while (++j < cols);
        return;
    }
#endif
    for (int r = 0; r < SM_LANES; r++) /* lanes past `rows` repeat row 0 */
        for (int j = 0; j < cols; j++) t[j][r] = a[(size_t)(r < rows ? r : 0) * cols + j];
}

/* a[r cols + j] = t[j][r] scale[r] for the block's rows. */
static void lanes_out(bp_real *a, bp_real t[][SM_LANES], const bp_real *scale, int rows, int cols)
{
#if LANES_GATHER
    if (lanes_in_registers(cols)) {
        lanes_out16(a, t, scale, rows, cols);
        return;
    }
    if (bp__lanes_gathered()) {
        __m512i at = lane_rows(rows, cols);
        __m512 s = _mm512_loadu_ps(scale);
        for (int j = 0; j < cols; j++)
            _mm512_mask_i32scatter_ps(a + j, live_lanes(rows), at,
                                      _mm512_mul_ps(_mm512_loadu_ps(t[j]), s), 4);
        return;
    }
#endif
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) a[(size_t)r * cols + j] = t[j][r] * scale[r];
}

/* Softmax of the block's rows in the lanes, t[j][r], written to a as rows. */
static void softmax_lanes(bp_real *a, bp_real t[][SM_LANES], int rows, int cols, bp__row_lse *lse)
{
    bp_real mx[SM_LANES], sum[SM_LANES];
    double wide[SM_LANES];
    for (int r = 0; r < SM_LANES; r++) mx[r] = t[0][r], sum[r] = 0, wide[r] = 0;
    for (int j = 1; j < cols; j++)
        for (int r = 0; r < SM_LANES; r++) mx[r] = t[j][r] > mx[r] ? t[j][r] : mx[r];
    for (int j = 0; j < cols; j++)
        for (int r = 0; r < SM_LANES; r++) {
            bp_real d = t[j][r] - mx[r];
            double e = bp__exp_nonpos_inline((double)d, BP__EXP_FUSED);
            wide[r] += bp__exp_refined(e, t[j][r], mx[r], d);
            t[j][r] = (bp_real)e;
        }
    for (int j = 0; j < cols; j++)
        for (int r = 0; r < SM_LANES; r++) sum[r] += t[j][r];
    for (int r = 0; lse && r < rows; r++) lse[r] = (bp__row_lse){mx[r], wide[r]};
    for (int r = 0; r < SM_LANES; r++) sum[r] = 1 / sum[r];
    lanes_out(a, t, sum, rows, cols);
}

static void softmax_rows(bp_real *a, int rows, int cols, bp__row_lse *lse)
{
    bp_real t[SM_COLS][SM_LANES];
    lanes_in(t, a, rows, cols);
    softmax_lanes(a, t, rows, cols, lse);
}
#endif

/* Softmax of contiguous rows of cols, in place; lse as softmax_row's. */
static void softmax(bp_real *a, int rows, int cols, bp__row_lse *lse)
{
#if EXP_INLINE
    if (cols <= SM_COLS) {
        for (int r = 0; r < rows; r += SM_LANES)
            softmax_rows(a + (size_t)r * cols, rows - r < SM_LANES ? rows - r : SM_LANES, cols,
                         lse ? lse + r : NULL);
        return;
    }
#endif
    /* Row by row where the exp is a call (the lanes would gain little) and a
     * device's stack may be small: the double and the BLAS-free builds. */
    for (int r = 0; r < rows; r++) softmax_row(a + (size_t)r * cols, cols, lse ? lse + r : NULL);
}

/* a = g(a) in place over rows of cols: one switch for the whole block, so that
 * each case is one flat loop the compiler vectorizes, however narrow the rows. */
static void activate(bp_real *a, int rows, int cols, bp_activation act, bp_real slope,
                     bp__row_lse *lse)
{
    size_t n = (size_t)rows * cols;
    switch (act) {
    case BP_ACT_IDENTITY: break;
    case BP_ACT_SIGMOID: for (size_t i = 0; i < n; i++) a[i] = sigmoid(a[i]); break;
    case BP_ACT_TANH: for (size_t i = 0; i < n; i++) a[i] = R_TANH(a[i]); break;
    case BP_ACT_RELU: for (size_t i = 0; i < n; i++) a[i] = relu(a[i]); break;
    case BP_ACT_LEAKY_RELU: for (size_t i = 0; i < n; i++) a[i] = leaky_relu(a[i], slope); break;
    case BP_ACT_SOFTMAX: softmax(a, rows, cols, lse); break;
    case BP_ACT_COUNT_: BP_ASSERT(0);
    }
}

/* z[i][j] += bias[j] over rows of cols, rows ld apart. */
static void add_bias(bp_real *z, int ld, const bp_real *bias, int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        bp_real *row = z + (size_t)i * ld;
        for (int j = 0; j < cols; j++) row[j] += bias[j];
    }
}

/* a = g(a) over rows of cols, rows ld apart: whole rows (ld == cols) as one
 * flat run, a block of columns row by row; lse as softmax's. */
static void activate_block(bp_real *a, int ld, int rows, int cols, bp_activation act,
                           bp_real slope, bp__row_lse *lse)
{
    if (ld == cols) {
        activate(a, rows, cols, act, slope, lse);
        return;
    }
    for (int i = 0; i < rows; i++)
        activate(a + (size_t)i * ld, 1, cols, act, slope, lse ? lse + i : NULL);
}

/* The piecewise-linear activations take the bias in the same pass: one read
 * and write of Z instead of two (200 x 100 ReLU: 3.2 -> 1.6 us), the same
 * operations in the same order, so the same bits. */
void bp__bias_activate(bp_real *z, int ld, const bp_real *restrict bias, int rows, int cols,
                       bp_activation act, bp_real slope)
{
    if (act != BP_ACT_RELU && act != BP_ACT_LEAKY_RELU) {
        add_bias(z, ld, bias, rows, cols);
        activate_block(z, ld, rows, cols, act, slope, NULL);
        return;
    }
    for (int i = 0; i < rows; i++) {
        bp_real *restrict row = z + (size_t)i * ld;
        if (act == BP_ACT_RELU)
            for (int j = 0; j < cols; j++) row[j] = relu(row[j] + bias[j]);
        else
            for (int j = 0; j < cols; j++) row[j] = leaky_relu(row[j] + bias[j], slope);
    }
}

void bp__bias_activate_keep(bp_real *a, bp_real *z, int ld, const bp_real *bias, int rows,
                            int cols, bp_activation act, bp_real slope, bp__row_lse *lse)
{
    for (int i = 0; i < rows; i++) {
        bp_real *zr = z + (size_t)i * ld, *ar = a + (size_t)i * ld;
        for (int j = 0; j < cols; j++) ar[j] = (zr[j] += bias[j]);
    }
    activate_block(a, ld, rows, cols, act, slope, lse);
}

/* A softmax layer of at most 16 outputs, 16 rows at a time: the product
 * comes with the rows in the lanes (bp__forward_lanes_x86), where softmax
 * computes, so that softmax's copy into the lanes and the bias's pass are not
 * paid. The same operations as the product, then bp__bias_activate_keep: the
 * same bits. Where softmax's lanes are in registers (AMD's cores, or as the
 * hook bp__lanes_by_value says), where it was measured: digits' 200 x 10 x
 * 100 took 6.85 us against 7.75 (the product alone 3.68 against 3.79: its
 * transposes cost what the tiles' idle lanes do), training 1.02x. */
bool bp__dense_softmax_lanes(bp_real *a, bp_real *z, const bp_real *a_prev, const bp_real *w,
                             const bp_real *bias, int rows, int in, int out, bp__row_lse *lse)
{
#if LANES_GATHER
    if (!lanes_in_registers(out)) return false;
    _Alignas(64) bp_real t[SM_COLS][SM_LANES];
    static const bp_real one[SM_LANES] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int r0 = 0; r0 < rows; r0 += SM_LANES) {
        int n = rows - r0 < SM_LANES ? rows - r0 : SM_LANES;
        /* refused (not the AVX-512 path) at the first block, before anything is written */
        if (!bp__forward_lanes_x86(t, a_prev + (size_t)r0 * in, in, w, in, n, out, in)) return false;
        for (int j = 0; j < out; j++)
            _mm512_storeu_ps(t[j], _mm512_add_ps(_mm512_loadu_ps(t[j]), _mm512_set1_ps(bias[j])));
        if (z) lanes_out(z + (size_t)r0 * out, t, one, n, out); /* z x 1: the same bits */
        softmax_lanes(a + (size_t)r0 * out, t, n, out, lse ? lse + r0 : NULL);
    }
    return true;
#else
    (void)a, (void)z, (void)a_prev, (void)w, (void)bias, (void)rows, (void)in, (void)out, (void)lse;
    return false;
#endif
}

/* dZ = dA ⊙ g'(Z), with g' written in terms of A = g(Z):
 * sigmoid a(1-a), tanh 1-a², relu [a>0], leaky [a>0] + slope [a<=0] (valid
 * because slope >= 0 keeps the sign of z), softmax a ⊙ (dA - <dA, a>). */
void bp__activation_backward(bp_real *da, const bp_real *a, int rows, int cols,
                             bp_activation act, bp_real slope)
{
    size_t n = (size_t)rows * cols;
    switch (act) {
    case BP_ACT_IDENTITY: break;
    case BP_ACT_SIGMOID: for (size_t i = 0; i < n; i++) da[i] *= a[i] * (1 - a[i]); break;
    case BP_ACT_TANH: for (size_t i = 0; i < n; i++) da[i] *= 1 - a[i] * a[i]; break;
    case BP_ACT_RELU: for (size_t i = 0; i < n; i++) da[i] = a[i] > 0 ? da[i] : 0; break;
    case BP_ACT_LEAKY_RELU: for (size_t i = 0; i < n; i++) da[i] = a[i] > 0 ? da[i] : slope * da[i]; break;
    case BP_ACT_SOFTMAX:
        for (int r = 0; r < rows; r++) {
            bp_real *d = da + (size_t)r * cols;
            const bp_real *ar = a + (size_t)r * cols;
            bp_real dot = 0;
            for (int j = 0; j < cols; j++) dot += d[j] * ar[j];
            for (int j = 0; j < cols; j++) d[j] = ar[j] * (d[j] - dot);
        }
        break;
    case BP_ACT_COUNT_: BP_ASSERT(0);
    }
}
