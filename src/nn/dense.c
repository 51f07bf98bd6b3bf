/* dense.c - one dense layer on a whole batch, exactly the notes' matrix form
 * with samples as rows (docs/MATH.md):
 *   forward   Z = A_prev · Wᵀ + 1 bᵀ,  A = g(Z)
 *   backward  dW = dZᵀ · A_prev,  db = column sums of dZ,  dA_prev = dZ · W
 * Each runs on the library's threads: dW and db split the output units, dA_prev
 * the batch rows, forward either (forward_part); the parts write disjoint slices. */
#include "internal.h"

#include <string.h>
#if defined(__AVX512F__) && !defined(BP_REAL_DOUBLE)
#include <immintrin.h>
#define SUMS_AVX512 1
#endif

#define GEMV_FLOPS_PER_WEIGHT 10.0

/* A GEMM cut over the cores also moves data between their caches (the shared
 * operand in, each part's output back), which a part of the optimizer (its own
 * rows of w and the state) does not: with its 2.56 MFLOP products cut in two,
 * 2 threads trained digits (64-100-10, batch 200) at 0.9x the speed of 1;
 * whole, at 1.0-1.09x. A product of 5 MFLOP (784-100-10, batch 32) still
 * gains from the cut. So a GEMM counts this share of its flops toward the
 * pool's threshold (bp__parallel): parts of 2 MFLOP or more. */
#define GEMM_SPLIT_SHARE 0.5

typedef struct {
    bp_real *a, *z;          /* (m, out); z NULL unless the logits are kept */
    const bp_real *a_prev;   /* (m, in) */
    const bp_real *w, *b;    /* (out, in), (out) */
    int m, in, out;
    bp_activation act;
    bp_real slope;
    bp__kernel kernel;       /* chosen for the whole product (gemm.c's table) */
    bp__row_lse *lse;        /* (m): softmax's row parts, or NULL */
} forward_job;

/* Z[r0:r1, o0:o1] = A_prev[r0:r1] · W[o0:o1]ᵀ + b[o0:o1], then A = g(Z) there. */
static void forward_block(const forward_job *j, size_t r0, size_t r1, size_t o0, size_t o1)
{
    int rows = (int)(r1 - r0), units = (int)(o1 - o0);
    if (rows == 0 || units == 0) return;
    size_t at = r0 * j->out + o0;
    bp_real *a = j->a + at, *z = j->z ? j->z + at : NULL;
    if (j->act == BP_ACT_SOFTMAX && j->kernel == BP__KERNEL_X86 && units == j->out &&
        bp__dense_softmax_lanes(a, z, j->a_prev + r0 * j->in, j->w, j->b, rows, j->in, j->out,
                                j->lse ? j->lse + r0 : NULL))
        return;
    bp__product_run(j->kernel, BP__PRODUCT_FORWARD, rows, units, j->in, j->a_prev + r0 * j->in,
                    j->in, j->w + o0 * j->in, j->in, z ? z : a, j->out);
    if (z)
        bp__bias_activate_keep(a, z, j->out, j->b + o0, rows, units, j->act, j->slope,
                               j->lse ? j->lse + r0 : NULL);
    else
        bp__bias_activate(a, j->out, j->b + o0, rows, units, j->act, j->slope);
}

/* A training batch no wider than the layer is split by output units: each
 * thread then reads only the rows of W that it also computes the gradient of
 * and updates (the optimizer splits the same way), so W does not move between
 * the cores' caches, and each packs half of W rather than all of it. A wide
 * batch (inference), or softmax, which needs whole rows, is split by rows. */
static void forward_part(void *ctx, int part, int parts)
{
    const forward_job *j = ctx;
    size_t lo, hi;
    if (j->m <= j->out && j->act != BP_ACT_SOFTMAX) {
        bp__split((size_t)j->out, part, parts, &lo, &hi);
        forward_block(j, 0, (size_t)j->m, lo, hi);
    } else {
        bp__split((size_t)j->m, part, parts, &lo, &hi);
        forward_block(j, lo, hi, 0, (size_t)j->out);
    }
}

/* a (m, out); z (m, out) or NULL: where to keep the pre-activation (the loss
 * needs the output layer's logits); a_prev (m, in); w (out, in); b (out);
 * lse (m) or NULL: softmax's row parts (with z). */
void bp__dense_forward(bp_real *a, bp_real *z, const bp_real *a_prev, const bp_real *w,
                       const bp_real *b, int m, int in, int out, bp_activation act,
                       bp_real slope, bp__row_lse *lse)
{
    forward_job j = {a, z, a_prev, w, b, m, in, out, act, slope,
                     bp__kernel_for(BP__PRODUCT_FORWARD, m, out, in), lse};
    /* The small-batch path is bound by streaming W, not by its flops: a weight
     * read costs about what GEMV_FLOPS_PER_WEIGHT flops of a GEMM do, so that
     * a W of 200,000 weights or more (784x256) is split over 2 threads even
     * for one sample: each core streams its half from its own L2. */
    double flops = 2.0 * m * in * out;
    if (j.kernel != BP__KERNEL_GEMV_ROWS)
        flops *= GEMM_SPLIT_SHARE;
    else if (flops < GEMV_FLOPS_PER_WEIGHT * in * out)
        flops = GEMV_FLOPS_PER_WEIGHT * (double)in * out;
    bp__parallel(forward_part, &j, flops);
}

typedef struct {
    bp_real *dw, *db, *da_prev;  /* (out, in), (out), (m, in) or NULL */
    const bp_real *dz, *a_prev, *w; /* (m, out), (m, in), (out, in) */
    int m, in, out;
    bp_activation prev_act;
    bp_real slope;
    bp__kernel wgrad, igrad;        /* chosen for the whole products */
} backward_job;

#ifdef SUMS_AVX512
/* Columns [0, width <= 64) of the rows, in 4 accumulators held in registers
 * over all rows; the lanes past width are masked off. */
static void column_sums64(float *sum, const float *x, int rows, int width, int ld)
{
    __mmask16 mask[4];
    __m512 acc[4];
    for (int v = 0; v < 4; v++) {
        int n = width - 16 * v;
        mask[v] = (__mmask16)(n >= 16 ? 0xffff : n > 0 ? (1u << n) - 1 : 0);
        acc[v] = _mm512_maskz_loadu_ps(mask[v], x + 16 * v);
    }
    for (int i = 1; i < rows; i++) {
        const float *row = x + (size_t)i * ld;
        for (int v = 0; v < 4; v++)
            acc[v] = _mm512_add_ps(acc[v], _mm512_maskz_loadu_ps(mask[v], row + 16 * v));
    }
    for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(sum + 16 * v, mask[v], acc[v]);
}
#endif

/* Added row by row into sum in memory, each value costs a load and a store
 * a row; held in registers (AVX-512), 64 columns at a time, 200 x 100
 * (digits' hidden layer) took 1.75 -> 0.72 us, 200 x 10 0.74 -> 0.23, 32 x 64
 * 0.16 -> 0.04 (a Zen 5 core): the same additions in the same order, so the
 * same bits. */
void bp__column_sums(bp_real *sum, const bp_real *x, int rows, int cols, int ld)
{
#ifdef SUMS_AVX512
    for (int j = 0; j < cols; j += 64) column_sums64(sum + j, x + j, rows, cols - j < 64 ? cols - j : 64, ld);
#else
    memcpy(sum, x, (size_t)cols * sizeof *sum);
    for (int i = 1; i < rows; i++) {
        const bp_real *row = x + (size_t)i * ld;
        for (int j = 0; j < cols; j++) sum[j] += row[j];
    }
#endif
}

static void backward_part(void *ctx, int part, int parts)
{
    const backward_job *j = ctx;
    size_t o0, o1, r0, r1;
    bp__split((size_t)j->out, part, parts, &o0, &o1);
    int units = (int)(o1 - o0);
    if (units > 0) {
        /* dW[o0:o1] = dZ[:, o0:o1]ᵀ · A_prev;  db[o0:o1] = column sums */
        bp__product_run(j->wgrad, BP__PRODUCT_WEIGHT_GRAD, units, j->in, j->m, j->dz + o0, j->out,
                        j->a_prev, j->in, j->dw + o0 * j->in, j->in);
        bp__column_sums(j->db + o0, j->dz + o0, j->m, units, j->out);
    }
    if (!j->da_prev) return;
    bp__split((size_t)j->m, part, parts, &r0, &r1);
    int rows = (int)(r1 - r0);
    if (rows == 0) return;
    /* dA_prev[r0:r1] = dZ[r0:r1] · W, then dZ_prev = dA_prev ⊙ g'(A_prev) in place */
    bp_real *da = j->da_prev + r0 * j->in;
    bp__product_run(j->igrad, BP__PRODUCT_INPUT_GRAD, rows, j->in, j->out, j->dz + r0 * j->out,
                    j->out, j->w, j->in, da, j->in);
    bp__activation_backward(da, j->a_prev + r0 * j->in, rows, j->in, j->prev_act, j->slope);
}

/* dw (out, in); db (out); dz_prev (m, in) or NULL for the first layer, whose
 * input needs no gradient: receives dA_prev ⊙ g'(A_prev), the previous layer's
 * dZ, with g = prev_act; dz (m, out); a_prev (m, in); w (out, in). */
void bp__dense_backward(bp_real *dw, bp_real *db, bp_real *dz_prev, const bp_real *dz,
                        const bp_real *a_prev, const bp_real *w, int m, int in, int out,
                        bp_activation prev_act, bp_real slope)
{
    backward_job j = {dw, db, dz_prev, dz, a_prev, w, m, in, out, prev_act, slope,
                      bp__kernel_for(BP__PRODUCT_WEIGHT_GRAD, out, in, m),
                      bp__kernel_for(BP__PRODUCT_INPUT_GRAD, m, in, out)};
    bp__parallel(backward_part, &j, GEMM_SPLIT_SHARE * (dz_prev ? 4.0 : 2.0) * m * in * out);
}
