/* internal.h - the network's private structures and kernels (src/nn/):
 * activations, losses, dense layers, the optimizer's blocks and the model.
 * Builds on base.h alone: nothing here includes data/, io/ or deploy/. */
#ifndef BP_INTERNAL_H
#define BP_INTERNAL_H

#include "base.h"

/* ----------------------------------------------------------- activations */

/* A softmax row's log-sum-exp in two parts, lse = max + log(sum): its max
 * and Σ_j e^(z_j - max) in double, as the cross-entropy sums them (loss.c),
 * which takes them from softmax's pass rather than taking the exps again. */
typedef struct bp__row_lse {
    double max, sum;
} bp__row_lse;
/* Whether softmax gives them (the float build with a BLAS, where softmax and
 * the cross-entropy take the same exps: bp__exp_refined; elsewhere the loss
 * takes its own). */
bool bp__softmax_gives_lse(void);

/* a (rows, cols) = g(z + bias) in place over z, bias (cols) added per row;
 * rows are ld apart (ld > cols: a block of columns of a wider matrix, which
 * softmax, a function of the whole row, must not be given). */
void bp__bias_activate(bp_real *z, int ld, const bp_real *bias, int rows, int cols,
                       bp_activation act, bp_real slope);
/* Same, but keeps z + bias in z and writes g(z) into a (both ld apart); for
 * softmax, where bp__softmax_gives_lse, each row's lse parts into lse (rows)
 * unless it is NULL. */
void bp__bias_activate_keep(bp_real *a, bp_real *z, int ld, const bp_real *bias, int rows,
                            int cols, bp_activation act, bp_real slope, bp__row_lse *lse);
/* dz (rows, cols) = da * g'(z) in place over da, computed from the layer's
 * output a = g(z) (softmax: the Jacobian-vector product). */
void bp__activation_backward(bp_real *da, const bp_real *a, int rows, int cols,
                             bp_activation act, bp_real slope);

/* ------------------------------------------------------------------ loss */

/* Batch-mean loss of outputs a / logits z (both (rows, cols)) against y;
 * xent takes each row's log-sum-exp from lse where it is not NULL (softmax's
 * parts of these logits: the same bits as without). */
double bp__loss(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                int rows, int cols, const bp__row_lse *lse);
/* The same, but bce, bce_sum and xent from the probabilities a clipped to
 * [eps, 1 - eps] (bp_train_config.prob_clip); the other losses as bp__loss. */
double bp__loss_clipped(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                        int rows, int cols, double eps);
/* e^x for x <= 0 (0 below -708), double arithmetic alone, within 2 ulp: the
 * cross-entropy's exps, vectorized (loss.c). */
double bp__exp_nonpos(double x);
/* Z = A_prev Wᵀ + bias (kept in z unless it is NULL) and A = softmax(Z) for
 * rows of A_prev (in wide) and out <= 16 outputs (rows contiguous), with the
 * bits of bp__gemm_x86's forward followed by bp__bias_activate_keep; lse as
 * there. False, and nothing done, where the own kernel's AVX-512 path or the
 * lanes are not there (the caller then takes those two steps). */
bool bp__dense_softmax_lanes(bp_real *a, bp_real *z, const bp_real *a_prev, const bp_real *w,
                             const bp_real *bias, int rows, int in, int out, bp__row_lse *lse);

/* dJ/dA for MSE, or dJ/dZ for the fused BCE/XENT (both (a - y) / count),
 * written into d (rows, cols), for a loss that is the mean over mean_rows
 * samples (rows, or more when these rows are one shard of a larger batch). */
void bp__loss_grad(bp_loss loss, bp_real *d, const bp_real *a, const bp_real *y,
                   int rows, int cols, int mean_rows);

/* ----------------------------------------------------------------- dense */

/* lse: softmax's row parts (bp__bias_activate_keep), or NULL. */
void bp__dense_forward(bp_real *a, bp_real *z, const bp_real *a_prev, const bp_real *w,
                       const bp_real *b, int m, int in, int out, bp_activation act,
                       bp_real slope, bp__row_lse *lse);
void bp__dense_backward(bp_real *dw, bp_real *db, bp_real *dz_prev, const bp_real *dz,
                        const bp_real *a_prev, const bp_real *w, int m, int in, int out,
                        bp_activation prev_act, bp_real slope);
/* sum[j] = x[0][j] + x[1][j] + ... + x[rows-1][j] for j < cols, rows >= 1 ld
 * apart, each column's rows added in that order (a bias's gradient: db = Σ_i dZ[i]). */
void bp__column_sums(bp_real *sum, const bp_real *x, int rows, int cols, int ld);

/* ------------------------------------------------------------- optimizer */

/* A block of `rows` rows of `cols` values at `off` in the flat parameter and
 * gradient buffers: a layer's W (out, in) or b (out, 1). penalized: the
 * trainer's l2 applies to it (a W; biases are spared). */
typedef struct bp__block {
    size_t off, rows, cols;
    bool penalized;
} bp__block;

/* bp_train_config.l2 folded into an optimizer step (train.c): the rules of
 * the penalized blocks see g + c w, rounded to bp_real as by the separate
 * pass g += c w that it replaces (g itself is left as it was, unless clipped,
 * or at -Os: optim.c); the norm pass sums those values' squares, and Σ w²
 * over the penalized blocks, which it hands to check before any update: a
 * status other than BP_OK ends the step there, nothing updated. */
typedef struct bp__l2_step {
    bp_real c;                                   /* l2 / the batch's rows */
    bp_status (*check)(void *ctx, double sum_w2);
    void *ctx;
} bp__l2_step;

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
 * blocks must tile [0, n), in order. side, if not NULL, runs on the last
 * thread before it joins the update; the others take over its rows meanwhile.
 * It runs only if the update does (not on a non-finite gradient). l2, if not
 * NULL, folds the trainer's penalty into the step (bp__l2_step). */
bp_status bp__optim_step_blocks(bp_optim *o, bp_real *w, bp_real *g, const bp__block *blocks,
                                int n_blocks, const bp__side_job *side, const bp__l2_step *l2);

/* What bp_optim_create(cfg, n) takes from an allocator (bp__alloc_bytes). */
bp_status bp__optim_bytes(const bp_optim_config *cfg, size_t n, size_t *bytes);
/* What bp_model_create(_frozen) with `frozen` borrowed layers takes, and a
 * bp_model_reserve(rows) after it. */
bp_status bp__model_bytes(const bp_model_config *cfg, int frozen, size_t *bytes);
size_t bp__model_workspace_bytes(const bp_model_config *cfg, size_t rows);

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
    size_t w_off, b_off;  /* offsets of W (out, in) and b (out) in the flat layout */
    /* Views: W (out, in), b (out) and their gradients. In m->params and
     * m->grads, or, for a borrowed layer (bp_model_create_frozen), W and b in
     * the caller's read-only memory (never written: the const is cast away
     * only to share the type) and no gradient (dw, db NULL). */
    bp_real *w, *b, *dw, *db;
} bp_layer;

struct bp_model {
    bp__alloc alloc;     /* where its memory comes from (alloc.c) */
    bp_model_config cfg;
    bp_layer layers[BP_MAX_LAYERS];
    size_t n_params;     /* of every layer, borrowed ones included */
    /* The first n_borrowed layers' parameters are the caller's (values
     * [0, own_off) of the flat layout, bp_model_create_frozen); the model owns
     * the rest, values [own_off, n_params), in params and grads. 0 and 0 for
     * an ordinary model, whose params and grads are the whole layout. */
    int n_borrowed;
    size_t own_off;
    bp_real *params;     /* (n_params - own_off) */
    bp_real *grads;      /* (n_params - own_off + BP__REDUCE_EXTRA) */

    /* Workspace for `capacity` samples. */
    int capacity;
    int last_batch;      /* batch of the last forward, 0 if none */
    const bp_real *last_x;  /* input of the last forward (caller's memory) */
    int last_from;       /* the layer it entered at: last_x is (last_batch, layers[last_from].in) */
    bp_real *acts[BP_MAX_LAYERS]; /* acts[l]: (capacity, layers[l].out) */
    bp_real *logits;     /* (capacity, outputs): Z of the last layer */
    bp__row_lse *lse;    /* (capacity): softmax's row parts of the logits, for the
                          * cross-entropy (the float build with a BLAS), else NULL */
    bp_real *delta[2];   /* (capacity, max width): ping-pong dZ / dA */
    int max_width;

    bp_real *norm_shift, *norm_scale; /* (inputs) or NULL */
    int n_labels;
    char **labels;
    bp_encoder *encoder; /* raw table columns -> inputs, or NULL (src/data/data_encode.c) */
};

/* bp_model_backward for rows that are one shard of a batch of mean_rows
 * samples: the gradient of the batch mean restricted to these rows, so that
 * the shards' gradients sum to the whole batch's. */
bp_status bp__model_backward(bp_model *m, const bp_real *y, int batch, int mean_rows);
/* The same, for layers first.. only: no dW, db below layer `first`, and the
 * dA into its input is not computed (frozen layers: no backward GEMM). A
 * model with borrowed layers starts at n_borrowed at the earliest. */
bp_status bp__model_backward_from(bp_model *m, const bp_real *y, int batch, int mean_rows,
                                  int first);

/* bp_model_forward from layer `from` on: x is that layer's input (batch,
 * layers[from].in), the features of the layers before it (bp_model_features).
 * A backward after it reaches down to layer `from` at the earliest. */
bp_status bp__model_forward_from(bp_model *m, int from, const bp_real *x, int batch);

/* bp_model_forward that also keeps the pre-activation of each layer l with
 * z[l] not NULL in z[l] (batch, layers[l].out); the last layer's is in
 * m->logits in any case. For quantization's calibration ranges. */
bp_status bp__model_forward_keep(bp_model *m, const bp_real *x, int batch, bp_real *const *z);

/* The gradient buffer is this much longer than the parameters: a sharded
 * trainer puts its batch sums there, to reduce them in the same call as the
 * gradient (train.c). */
#define BP__REDUCE_EXTRA 3

/* The parameter blocks of layers first.. in order, W (penalized) then b of
 * each (2 per layer), with offsets from layers[first].w_off; returns how many. */
int bp__model_blocks(const bp_model *m, int first, bp__block *blocks);

/* Test hook of optim.c's wide form (the float build on x86; elsewhere there
 * is none) for Adam's and the momentum rules' loops: 2 each run chooses it
 * by its values, 1 every run takes it, -1 none does (one float loop over
 * all); 0 (the default) by the core: -1 on AMD's, else 2. */
extern int bp__wide_form;
/* Which of Adam's operations a run of n values takes in double, by the bounds
 * given (0 none, 1 m's, 3 all; -1 in a build without the wide form): the
 * choice that bp__wide_form 0 leaves to each run. */
int bp__adam_tiny_set(const float *g, const float *m, const float *v, size_t n, float tiny_g,
                      float tiny_m, float tiny_v);
/* The small lanes (0 < |x| < t) of a run of 16 by the vector mask of width
 * bits (512 or 256), as a bit mask; -1 where this build has not that one. */
long bp__small_lanes(const float *x, float t, int bits);

/* How activation.c and loss.c copy softmax's and the cross-entropy's row
 * blocks into their vector lanes where the build has AVX-512: -1 (the
 * default) by the core (bp__lanes_gathered), 0 by gathers, 1 value by value,
 * as a build without AVX-512 does, 2 softmax's rows of up to 16 by a register
 * transpose (the loss's value by value). A test hook: all give the same bits. */
extern int bp__lanes_by_value;
bool bp__lanes_gathered(void);

/* Frees the normalization and labels (model_meta.c). */
void bp__model_free_meta(bp_model *m);

#endif
