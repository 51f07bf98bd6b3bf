/* internal.h - private structures and helpers shared across src/ files. */
#ifndef BP_INTERNAL_H
#define BP_INTERNAL_H

#include "backprop.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Internal invariants only: user input and I/O errors are statuses. */
#define BP_ASSERT(cond) assert(cond)

/* Math at bp_real precision: float loops must not round-trip through double. */
#ifdef BP_REAL_DOUBLE
#define BP_REAL_NAME "float64"
#define R_EXP exp
#define R_TANH tanh
#define R_SQRT sqrt
#define R_FLOOR floor
#else
#define BP_REAL_NAME "float32"
#define R_EXP expf
#define R_TANH tanhf
#define R_SQRT sqrtf
#define R_FLOOR floorf
#endif

/* Records a printf-style message as the thread's last error and returns s.
 * Usage: return bp__fail(BP_ERR_INVALID, "sizes[%d] = %d: must be >= 1", l, n); */
bp_status bp__fail(bp_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Index of `name` in names[0..n) into *out, or BP_ERR_INVALID with a message
 * "unknown WHAT 'name' (expected a, b or c)". */
bp_status bp__lookup(const char *what, const char *const *names, int n, const char *name, int *out);

/* calloc of n * size with overflow check, aligned to BP__LINE; NULL on
 * failure (message set). */
#define BP__LINE 64 /* bytes in a cache line */
void *bp__calloc(size_t n, size_t size);

/* A heap copy of s; NULL (message set) when out of memory. */
char *bp__strdup(const char *s);
/* Copies n strings into a new array (names NULL: "0", "1", ...); *out is NULL
 * for n == 0. bp__strings_free frees such an array of n. */
bp_status bp__strings_copy(char ***out, int n, const char *const *names);
void bp__strings_free(char **list, int n);

/* Writes path through bp_file (file_atomic.c; backprop.h gives the rules):
 * fill(f, ctx) writes the contents and returns false if a write failed. On
 * any failure a replaced file is left as it was and no temporary file stays;
 * the message names the path and the step that failed. */
bp_status bp__file_write_with(const char *path, bool (*fill)(FILE *f, const void *ctx),
                              const void *ctx);

/* Monotonic wall clock in seconds. */
double bp__now(void);

/* ------------------------------------------------------------------ gemm */

typedef enum { BP_NO_TRANS = 0, BP_TRANS = 1 } bp__trans;

/* C (m, n) = alpha op(A) op(B) + beta C, row-major, cblas argument order.
 * op(A) is (m, k), op(B) is (k, n). The BLAS kernel (OpenBLAS). */
void bp__gemm(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
              const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
              bp_real *c, int ldc);
/* The naive triple loop with the same contract, kept as the tests' reference. */
void bp__gemm_ref(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                  const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                  bp_real *c, int ldc);

/* The matrix products of the library, each C (m, n) = op(A) op(B) with op(A)
 * (m, k) and op(B) (k, n), row-major, C overwritten. A layer's three: */
typedef enum bp__product {
    BP__PRODUCT_FORWARD,     /* Z = A · Wᵀ:   A (m, k), W (n, k) */
    BP__PRODUCT_WEIGHT_GRAD, /* dW = dZᵀ · A: dZ (k, m), A (k, n) */
    BP__PRODUCT_INPUT_GRAD,  /* dA = dZ · W:  dZ (m, k), W (k, n) */
    BP__PRODUCT_COUNT
} bp__product;

typedef enum bp__kernel {
    BP__KERNEL_BLAS,      /* bp__gemm */
    BP__KERNEL_GEMV_ROWS, /* bp__gemv_rows: W read once, in place (FORWARD only) */
    BP__KERNEL_COUNT
} bp__kernel;

/* One row of the table of which kernel serves which product and shape: it
 * matches `product` when m <= max_m and k >= min_k. The first row that
 * matches wins; a product no row matches takes the BLAS kernel. */
typedef struct bp__kernel_rule {
    bp__product product;
    int max_m, min_k;
    bp__kernel kernel;
} bp__kernel_rule;

/* The kernel the table gives for a product of this shape. A caller that
 * splits one product over threads asks once, for the whole product, so that
 * every part takes the same kernel whatever the thread count. */
bp__kernel bp__kernel_for(bp__product p, int m, int n, int k);
/* The one entry for a product: C = op(A) op(B) by `kernel` (from
 * bp__kernel_for for the whole product; this call may be one part of it). */
void bp__product_run(bp__kernel kernel, bp__product p, int m, int n, int k, const bp_real *a,
                     int lda, const bp_real *b, int ldb, bp_real *c, int ldc);
/* Test hook: replaces the table (rules NULL: the default one). Not for use
 * while another thread computes. */
void bp__kernel_table_set(const bp__kernel_rule *rules, int n);

/* -------------------------------------------------------------- threads */

/* The most parts a job runs in (bp_set_threads caps the threads here). */
#define BP__MAX_THREADS 64
/* A job run in `parts` pieces: part p of parts does its share. */
typedef void (*bp__job_fn)(void *ctx, int part, int parts);
/* Runs fn on up to bp_get_threads() parts at once (the caller runs part 0,
 * then any part that no worker has started yet), fewer when the job's `flops`
 * are too few to pay for waking a thread, and returns when all are done. A
 * part must not wait for another part: any thread may run any part p >= 1. */
void bp__parallel(bp__job_fn fn, void *ctx, double flops);
/* The share [lo, hi) of n items that part p of parts takes. */
void bp__split(size_t n, int part, int parts, size_t *lo, size_t *hi);

/* ----------------------------------------------------------- activations */

/* a (rows, cols) = g(z + bias) in place over z, bias (cols) added per row;
 * rows are ld apart (ld > cols: a block of columns of a wider matrix, which
 * softmax, a function of the whole row, must not be given). */
void bp__bias_activate(bp_real *z, int ld, const bp_real *bias, int rows, int cols,
                       bp_activation act, bp_real slope);
/* Same, but keeps z + bias in z and writes g(z) into a (both ld apart). */
void bp__bias_activate_keep(bp_real *a, bp_real *z, int ld, const bp_real *bias, int rows,
                            int cols, bp_activation act, bp_real slope);
/* dz (rows, cols) = da * g'(z) in place over da, computed from the layer's
 * output a = g(z) (softmax: the Jacobian-vector product). */
void bp__activation_backward(bp_real *da, const bp_real *a, int rows, int cols,
                             bp_activation act, bp_real slope);

/* ------------------------------------------------------------------ loss */

/* Batch-mean loss of outputs a / logits z (both (rows, cols)) against y. */
double bp__loss(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                int rows, int cols);
/* The same, but bce, bce_sum and xent from the probabilities a clipped to
 * [eps, 1 - eps] (bp_train_config.prob_clip); the other losses as bp__loss. */
double bp__loss_clipped(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                        int rows, int cols, double eps);
/* dJ/dA for MSE, or dJ/dZ for the fused BCE/XENT (both (a - y) / count),
 * written into d (rows, cols), for a loss that is the mean over mean_rows
 * samples (rows, or more when these rows are one shard of a larger batch). */
void bp__loss_grad(bp_loss loss, bp_real *d, const bp_real *a, const bp_real *y,
                   int rows, int cols, int mean_rows);

/* ----------------------------------------------------------------- dense */

/* z (m, units), rows ldz apart = x (m, in) · w (units, in)ᵀ, for a few rows of
 * x: W read once, in place (gemv.c); the kernel table (gemm.c) says when. */
void bp__gemv_rows(const bp_real *x, const bp_real *w, int m, int in, int units, bp_real *z,
                   int ldz);

void bp__dense_forward(bp_real *a, bp_real *z, const bp_real *a_prev, const bp_real *w,
                       const bp_real *b, int m, int in, int out, bp_activation act,
                       bp_real slope);
void bp__dense_backward(bp_real *dw, bp_real *db, bp_real *dz_prev, const bp_real *dz,
                        const bp_real *a_prev, const bp_real *w, int m, int in, int out,
                        bp_activation prev_act, bp_real slope);

/* ------------------------------------------------------------- optimizer */

/* A block of `rows` rows of `cols` values at `off` in the flat parameter and
 * gradient buffers: a layer's W (out, in) or b (out, 1). */
typedef struct bp__block {
    size_t off, rows, cols;
} bp__block;

/* Work to run beside an optimizer step, on one of the threads (the trainer
 * gathers the next batch there): fn(ctx). */
typedef struct bp__side_job {
    void (*fn)(void *ctx);
    void *ctx;
} bp__side_job;

/* bp_optim_step with the work split over the threads by the rows of each
 * block, as the layers split their output units (bp__dense_forward and
 * _backward), so that each thread updates the rows it computed the gradient
 * of and reads in the next forward, and they stay in its core's cache. The
 * blocks must tile [0, n). side, if not NULL, runs on the last thread before
 * it joins the update; the others take over its rows meanwhile. It runs only
 * if the update does (not on a non-finite gradient). */
bp_status bp__optim_step_blocks(bp_optim *o, bp_real *w, bp_real *g, const bp__block *blocks,
                                int n_blocks, const bp__side_job *side);

/* ----------------------------------------------------------------- model */

/* Whether n class names fit a model with `outputs` outputs: one per output,
 * or two for a single (sigmoid) output; 0 means none. */
static inline bool bp__labels_fit(size_t n, int outputs)
{
    return n == 0 || n == (size_t)outputs || (outputs == 1 && n == 2);
}

typedef struct bp_layer {
    int in, out;
    bp_activation act;
    size_t w_off, b_off;  /* offsets of W (out, in) and b (out) in the flat buffers */
} bp_layer;

struct bp_model {
    bp_model_config cfg;
    bp_layer layers[BP_MAX_LAYERS];
    size_t n_params;
    bp_real *params;     /* (n_params) */
    bp_real *grads;      /* (n_params + BP__REDUCE_EXTRA) */

    /* Workspace for `capacity` samples. */
    int capacity;
    int last_batch;      /* batch of the last forward, 0 if none */
    const bp_real *last_x;  /* input of the last forward (caller's memory) */
    bp_real *acts[BP_MAX_LAYERS]; /* acts[l]: (capacity, layers[l].out) */
    bp_real *logits;     /* (capacity, outputs): Z of the last layer */
    bp_real *delta[2];   /* (capacity, max width): ping-pong dZ / dA */
    int max_width;

    bp_real *norm_shift, *norm_scale; /* (inputs) or NULL */
    int n_labels;
    char **labels;
    bp_encoder *encoder; /* raw table columns -> inputs, or NULL (src/data_encode.c) */
};

/* bp_model_backward for rows that are one shard of a batch of mean_rows
 * samples: the gradient of the batch mean restricted to these rows, so that
 * the shards' gradients sum to the whole batch's. */
bp_status bp__model_backward(bp_model *m, const bp_real *y, int batch, int mean_rows);

/* bp_model_forward that also keeps the pre-activation of each layer l with
 * z[l] not NULL in z[l] (batch, layers[l].out); the last layer's is in
 * m->logits in any case. For quantization's calibration ranges. */
bp_status bp__model_forward_keep(bp_model *m, const bp_real *x, int batch, bp_real *const *z);

/* The gradient buffer is this much longer than the parameters: a sharded
 * trainer puts its batch sums there, to reduce them in the same call as the
 * gradient (train.c). */
#define BP__REDUCE_EXTRA 3

/* The model's parameter blocks in order, W then b of each layer (2 per layer);
 * returns how many. */
int bp__model_blocks(const bp_model *m, bp__block *blocks);

/* Frees the normalization and labels (model_meta.c). */
void bp__model_free_meta(bp_model *m);

#endif
