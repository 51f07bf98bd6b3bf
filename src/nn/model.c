/* model.c - an L-layer network: configuration, flat parameter and gradient
 * buffers with per-layer views, forward and backward over a whole batch. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const init_names[BP_INIT_COUNT_] = {"auto", "xavier", "he", "small", "zeros"};

const char *bp_init_name(bp_init i)
{
    return (unsigned)i < BP_INIT_COUNT_ ? init_names[i] : "unknown";
}

bp_status bp_init_from_name(const char *name, bp_init *out)
{
    int i;
    bp_status st = bp__lookup("init", init_names, BP_INIT_COUNT_, name, &i);
    if (!st) *out = (bp_init)i;
    return st;
}

bp_model_config bp_model_config_default(void)
{
    bp_model_config c;
    memset(&c, 0, sizeof c);
    for (int l = 0; l < BP_MAX_LAYERS; l++) c.act[l] = BP_ACT_RELU;
    c.leaky_slope = (bp_real)0.01;
    c.loss = BP_LOSS_MSE;
    c.init = BP_INIT_AUTO;
    return c;
}

static bp_status validate_config(const bp_model_config *c)
{
    if (c->n_layers < 1 || c->n_layers > BP_MAX_LAYERS)
        return bp__fail(BP_ERR_INVALID, "model config: n_layers = %d, must be 1..%d",
                        c->n_layers, BP_MAX_LAYERS);
    for (int l = 0; l <= c->n_layers; l++)
        if (c->sizes[l] < 1 || c->sizes[l] > BP_MAX_WIDTH)
            return bp__fail(BP_ERR_INVALID, "model config: sizes[%d] = %d, must be 1..%d",
                            l, c->sizes[l], BP_MAX_WIDTH);
    for (int l = 0; l < c->n_layers; l++) {
        if ((unsigned)c->act[l] >= BP_ACT_COUNT_)
            return bp__fail(BP_ERR_INVALID, "model config: act[%d] = %d is not an activation",
                            l, (int)c->act[l]);
        if (c->act[l] == BP_ACT_LEAKY_RELU && !(c->leaky_slope >= 0 && c->leaky_slope < 1))
            return bp__fail(BP_ERR_INVALID, "model config: leaky_slope = %g, must be in [0, 1)",
                            (double)c->leaky_slope);
    }
    bp_activation out_act = c->act[c->n_layers - 1];
    int outputs = c->sizes[c->n_layers];
    switch (c->loss) {
    case BP_LOSS_MSE:
    case BP_LOSS_HALF_SSE: break;
    case BP_LOSS_BCE:
    case BP_LOSS_BCE_SUM:
        if (out_act != BP_ACT_SIGMOID)
            return bp__fail(BP_ERR_INVALID,
                            "model config: loss %s needs a sigmoid output layer, act[%d] is %s",
                            bp_loss_name(c->loss), c->n_layers - 1, bp_activation_name(out_act));
        break;
    case BP_LOSS_XENT:
        if (out_act != BP_ACT_SOFTMAX || outputs < 2)
            return bp__fail(BP_ERR_INVALID,
                            "model config: loss xent needs a softmax output layer of at least 2 "
                            "units, got act[%d] = %s with %d units",
                            c->n_layers - 1, bp_activation_name(out_act), outputs);
        break;
    default:
        return bp__fail(BP_ERR_INVALID, "model config: loss = %d is not a loss", (int)c->loss);
    }
    if ((unsigned)c->init >= BP_INIT_COUNT_)
        return bp__fail(BP_ERR_INVALID, "model config: init = %d is not an init scheme", (int)c->init);
    return BP_OK;
}

static void init_layer(bp_real *w, bp_real *b, const bp_layer *L, bp_init scheme,
                       bp_real slope, bp_rng *rng)
{
    if (scheme == BP_INIT_AUTO)
        scheme = L->act == BP_ACT_RELU || L->act == BP_ACT_LEAKY_RELU ? BP_INIT_HE : BP_INIT_XAVIER;
    size_t n = (size_t)L->out * L->in;
    double s = slope, bound = sqrt(6.0 / (L->in + L->out));
    double he_std = sqrt(2.0 / ((1.0 + (L->act == BP_ACT_LEAKY_RELU ? s * s : 0)) * L->in));
    for (size_t i = 0; i < n; i++) {
        switch (scheme) {
        case BP_INIT_XAVIER: w[i] = (bp_real)(bound * (2 * bp_rng_uniform(rng) - 1)); break;
        case BP_INIT_HE: w[i] = (bp_real)(he_std * bp_rng_normal(rng)); break;
        default: w[i] = (bp_real)(0.01 * bp_rng_normal(rng)); break;
        }
    }
    memset(b, 0, (size_t)L->out * sizeof *b);
}

/* Draws what init_layer would for L, and discards it: a borrowed layer's
 * draws, so that the owned layers start as an ordinary model's would. */
static void skip_layer(const bp_layer *L, bp_init scheme, bp_rng *rng)
{
    if (scheme == BP_INIT_AUTO)
        scheme = L->act == BP_ACT_RELU || L->act == BP_ACT_LEAKY_RELU ? BP_INIT_HE : BP_INIT_XAVIER;
    for (size_t i = 0, n = (size_t)L->out * L->in; i < n; i++)
        (void)(scheme == BP_INIT_XAVIER ? bp_rng_uniform(rng) : bp_rng_normal(rng));
}

void bp_model_init_params(bp_model *m, uint64_t seed)
{
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    if (m->cfg.init == BP_INIT_ZEROS) { /* calloc'ed at create; zeroed again on re-init */
        memset(m->params, 0, (m->n_params - m->own_off) * sizeof *m->params);
        return;
    }
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const bp_layer *L = &m->layers[l];
        if (l < m->n_borrowed)
            skip_layer(L, m->cfg.init, &rng);
        else
            init_layer(L->w, L->b, L, m->cfg.init, m->cfg.leaky_slope, &rng);
    }
}

/* Lays out the layers and points their views at the buffers (model.h's
 * bp_layer): values before m->own_off at `borrowed`, the rest in m->params. */
static void set_views(bp_model *m, const bp_real *borrowed)
{
    for (int l = 0; l < m->cfg.n_layers; l++) {
        bp_layer *L = &m->layers[l];
        if (l < m->n_borrowed) {
            L->w = (bp_real *)(uintptr_t)(borrowed + L->w_off); /* read only: never written */
            L->b = (bp_real *)(uintptr_t)(borrowed + L->b_off);
            L->dw = L->db = NULL;
        } else {
            L->w = m->params + (L->w_off - m->own_off), L->b = m->params + (L->b_off - m->own_off);
            L->dw = m->grads + (L->w_off - m->own_off), L->db = m->grads + (L->b_off - m->own_off);
        }
    }
}

static void lay_out(bp_model *m, const bp_model_config *cfg)
{
    size_t off = 0;
    for (int l = 0; l < cfg->n_layers; l++) {
        bp_layer *L = &m->layers[l];
        L->in = cfg->sizes[l];
        L->out = cfg->sizes[l + 1];
        L->act = cfg->act[l];
        L->w_off = off;
        L->b_off = off + (size_t)L->out * L->in;
        off = L->b_off + L->out;
        if (L->out > m->max_width) m->max_width = L->out;
    }
    m->n_params = off;
}

static bp_status create(bp_model **out, const bp_model_config *cfg, int frozen,
                        const bp_real *frozen_params)
{
    *out = NULL;
    bp_status st = validate_config(cfg);
    if (st) return st;
    if (frozen < 0 || frozen >= cfg->n_layers)
        return bp__fail(BP_ERR_INVALID, "model: frozen = %d borrowed layers, must be 0..%d "
                        "(n_layers - 1: at least one layer is the model's own)",
                        frozen, cfg->n_layers - 1);
    if (frozen > 0 && !frozen_params)
        return bp__fail(BP_ERR_INVALID, "model: frozen = %d layers but frozen_params is NULL", frozen);
    bp__alloc a = bp__alloc_current();
    bp_model *m = bp__alloc_calloc(&a, 1, sizeof *m);
    if (!m) return BP_ERR_NOMEM;
    m->alloc = a;
    m->cfg = *cfg;
    lay_out(m, cfg);
    m->n_borrowed = frozen;
    m->own_off = frozen ? m->layers[frozen].w_off : 0;
    size_t own = m->n_params - m->own_off;
    m->params = bp__alloc_calloc(&a, own, sizeof(bp_real));
    m->grads = m->params ? bp__alloc_calloc(&a, own + BP__REDUCE_EXTRA, sizeof(bp_real)) : NULL;
    if (!m->params || !m->grads) {
        bp_model_free(m);
        return BP_ERR_NOMEM;
    }
    set_views(m, frozen_params);
    bp_model_init_params(m, cfg->seed);
    *out = m;
    return BP_OK;
}

bp_status bp_model_create(bp_model **out, const bp_model_config *cfg)
{
    return create(out, cfg, 0, NULL);
}

bp_status bp_model_create_frozen(bp_model **out, const bp_model_config *cfg, int frozen,
                                 const bp_real *frozen_params)
{
    return create(out, cfg, frozen, frozen_params);
}

bp_status bp__model_bytes(const bp_model_config *cfg, int frozen, size_t *bytes)
{
    bp_status st = validate_config(cfg);
    if (st) return st;
    if (frozen < 0 || frozen >= cfg->n_layers)
        return bp__fail(BP_ERR_INVALID, "model: frozen = %d borrowed layers, must be 0..%d",
                        frozen, cfg->n_layers - 1);
    size_t own = bp_model_config_param_count(cfg, frozen, cfg->n_layers);
    *bytes = bp__alloc_bytes(1, sizeof(bp_model)) + bp__alloc_bytes(own, sizeof(bp_real)) +
             bp__alloc_bytes(own + BP__REDUCE_EXTRA, sizeof(bp_real));
    return BP_OK;
}

/* Whether the forward keeps softmax's row parts for the cross-entropy. */
static bool wants_lse(const bp_model_config *cfg)
{
    return cfg->loss == BP_LOSS_XENT && cfg->act[cfg->n_layers - 1] == BP_ACT_SOFTMAX &&
           bp__softmax_gives_lse();
}

size_t bp__model_workspace_bytes(const bp_model_config *cfg, size_t rows)
{
    int widest = 0, L = cfg->n_layers;
    size_t bytes = 0;
    for (int l = 0; l < L; l++) {
        bytes += bp__alloc_bytes(rows * (size_t)cfg->sizes[l + 1], sizeof(bp_real)); /* acts[l] */
        if (cfg->sizes[l + 1] > widest) widest = cfg->sizes[l + 1];
    }
    bytes += bp__alloc_bytes(rows * (size_t)cfg->sizes[L], sizeof(bp_real));    /* logits */
    if (wants_lse(cfg)) bytes += bp__alloc_bytes(rows, sizeof(bp__row_lse));    /* lse */
    return bytes + 2 * bp__alloc_bytes(rows * (size_t)widest, sizeof(bp_real)); /* delta[2] */
}

size_t bp_model_config_param_count(const bp_model_config *cfg, int first, int last)
{
    size_t n = 0;
    for (int l = first; l < last && l < cfg->n_layers; l++)
        n += (size_t)cfg->sizes[l + 1] * ((size_t)cfg->sizes[l] + 1);
    return n;
}

static void free_workspace(bp_model *m)
{
    const bp__alloc *a = &m->alloc;
    for (int l = 0; l < m->cfg.n_layers; l++) bp__alloc_free(a, m->acts[l]), m->acts[l] = NULL;
    bp__alloc_free(a, m->logits), m->logits = NULL;
    bp__alloc_free(a, m->lse), m->lse = NULL;
    bp__alloc_free(a, m->delta[0]), bp__alloc_free(a, m->delta[1]);
    m->delta[0] = m->delta[1] = NULL;
    m->capacity = 0;
}

void bp_model_free(bp_model *m)
{
    if (!m) return;
    free_workspace(m);
    bp__model_free_meta(m);
    bp__alloc a = m->alloc;
    bp__alloc_free(&a, m->params);
    bp__alloc_free(&a, m->grads);
    bp__alloc_free(&a, m);
}

bp_status bp_model_reserve(bp_model *m, int batch)
{
    if (batch < 1) return bp__fail(BP_ERR_INVALID, "batch = %d, must be >= 1", batch);
    if (batch <= m->capacity) return BP_OK;
    free_workspace(m);
    size_t cap = (size_t)batch;
    bool ok = true;
    const bp__alloc *a = &m->alloc; /* stops at the first failure: its message stands */
    for (int l = 0; ok && l < m->cfg.n_layers; l++)
        ok = (m->acts[l] = bp__alloc_calloc(a, cap * m->layers[l].out, sizeof(bp_real))) != NULL;
    ok = ok && (m->logits = bp__alloc_calloc(a, cap * bp_model_outputs(m), sizeof(bp_real)));
    if (ok && wants_lse(&m->cfg)) ok = (m->lse = bp__alloc_calloc(a, cap, sizeof(bp__row_lse))) != NULL;
    for (int i = 0; ok && i < 2; i++)
        ok = (m->delta[i] = bp__alloc_calloc(a, cap * m->max_width, sizeof(bp_real))) != NULL;
    if (!ok) {
        free_workspace(m);
        return BP_ERR_NOMEM;
    }
    m->capacity = batch;
    m->last_batch = 0;
    return BP_OK;
}

const bp_model_config *bp_model_cfg(const bp_model *m) { return &m->cfg; }
int bp_model_inputs(const bp_model *m) { return m->cfg.sizes[0]; }
int bp_model_outputs(const bp_model *m) { return m->cfg.sizes[m->cfg.n_layers]; }
size_t bp_model_param_count(const bp_model *m) { return m->n_params; }

int bp__model_blocks(const bp_model *m, int first, bp__block *blocks)
{
    size_t base = m->layers[first].w_off;
    int n = 0;
    for (int l = first; l < m->cfg.n_layers; l++) {
        const bp_layer *L = &m->layers[l];
        blocks[n++] = (bp__block){L->w_off - base, (size_t)L->out, (size_t)L->in, true};
        blocks[n++] = (bp__block){L->b_off - base, (size_t)L->out, 1, false};
    }
    return n;
}
bp_real *bp_model_params(bp_model *m) { return m->params; }
bp_real *bp_model_grads(bp_model *m) { return m->grads; }
bp_real *bp_model_weight(bp_model *m, int l) { return m->layers[l].w; }
bp_real *bp_model_bias(bp_model *m, int l) { return m->layers[l].b; }
bp_real *bp_model_weight_grad(bp_model *m, int l) { return m->layers[l].dw; }
bp_real *bp_model_bias_grad(bp_model *m, int l) { return m->layers[l].db; }
int bp_model_frozen_layers(const bp_model *m) { return m->n_borrowed; }

/* Layers from..to-1 on x (batch, layers[from].in) into acts; z as in
 * bp__model_forward_keep. The caller has reserved the batch. */
static void forward_layers(bp_model *m, int from, int to, const bp_real *x, int batch,
                           bp_real *const *z)
{
    int last = m->cfg.n_layers - 1;
    const bp_real *a_prev = x; /* (batch, layers[l].in) */
    for (int l = from; l < to; l++) {
        const bp_layer *L = &m->layers[l];
        bp_real *keep = l == last ? m->logits : z ? z[l] : NULL;
        bp__dense_forward(m->acts[l], keep, a_prev, L->w, L->b, batch, L->in, L->out, L->act,
                          m->cfg.leaky_slope, l == last ? m->lse : NULL);
        a_prev = m->acts[l];
    }
}

static bp_status forward_whole(bp_model *m, int from, const bp_real *x, int batch, bp_real *const *z)
{
    bp_status st = bp_model_reserve(m, batch);
    if (st) return st;
    forward_layers(m, from, m->cfg.n_layers, x, batch, z);
    m->last_batch = batch;
    m->last_x = x;
    m->last_from = from;
    return BP_OK;
}

bp_status bp__model_forward_keep(bp_model *m, const bp_real *x, int batch, bp_real *const *z)
{
    return forward_whole(m, 0, x, batch, z);
}

bp_status bp__model_forward_from(bp_model *m, int from, const bp_real *x, int batch)
{
    return forward_whole(m, from, x, batch, NULL);
}

bp_status bp_model_features(bp_model *m, int train_layers, const bp_real *x, size_t n, int batch,
                            bp_real *out)
{
    int L = m->cfg.n_layers;
    if (train_layers < 0 || train_layers > L)
        return bp__fail(BP_ERR_INVALID, "features: train_layers = %d, must be 0 .. %d (the model's layers)",
                        train_layers, L);
    int F = train_layers > 0 && train_layers < L ? L - train_layers : 0;
    int in = bp_model_inputs(m), width = m->cfg.sizes[F];
    if (batch <= 0) batch = 256;
    if (F == 0) { /* nothing is frozen: the features are the inputs */
        memmove(out, x, n * (size_t)in * sizeof *out);
        return BP_OK;
    }
    for (size_t i = 0; i < n; i += (size_t)batch) {
        int rows = n - i < (size_t)batch ? (int)(n - i) : batch;
        bp_status st = bp_model_reserve(m, rows);
        if (st) return st;
        forward_layers(m, 0, F, x + i * in, rows, NULL);
        memcpy(out + i * width, m->acts[F - 1], (size_t)rows * width * sizeof *out);
    }
    m->last_batch = 0; /* acts no longer hold a whole forward for a backward */
    return BP_OK;
}

bp_status bp_model_forward(bp_model *m, const bp_real *x, int batch, const bp_real **out)
{
    bp_status st = bp__model_forward_keep(m, x, batch, NULL);
    if (!st && out) *out = m->acts[m->cfg.n_layers - 1];
    return st;
}

static bp_status check_last_forward(const bp_model *m, int batch, const char *what)
{
    if (m->last_batch == 0)
        return bp__fail(BP_ERR_INVALID, "%s: no forward pass to take it from", what);
    if (batch != m->last_batch)
        return bp__fail(BP_ERR_INVALID, "%s: batch = %d but the last forward pass had %d samples",
                        what, batch, m->last_batch);
    return BP_OK;
}

bp_status bp_model_loss(const bp_model *m, const bp_real *y, int batch, bp_real *loss)
{
    bp_status st = check_last_forward(m, batch, "loss");
    if (st) return st;
    int L = m->cfg.n_layers;
    *loss = (bp_real)bp__loss(m->cfg.loss, m->acts[L - 1], m->logits, y, batch, m->cfg.sizes[L],
                              m->lse);
    return BP_OK;
}

bp_status bp_model_backward(bp_model *m, const bp_real *y, int batch)
{
    return bp__model_backward(m, y, batch, batch);
}

bp_status bp__model_backward(bp_model *m, const bp_real *y, int batch, int mean_rows)
{
    return bp__model_backward_from(m, y, batch, mean_rows, 0);
}

bp_status bp__model_backward_from(bp_model *m, const bp_real *y, int batch, int mean_rows,
                                  int first)
{
    if (first < m->n_borrowed) first = m->n_borrowed;
    if (first < m->last_from) first = m->last_from; /* the layers below took no forward */
    bp_status st = check_last_forward(m, batch, "backward");
    if (st) return st;
    int last = m->cfg.n_layers - 1, cur = 0;
    const bp_layer *out = &m->layers[last];
    /* dZ of the output layer: fused (A - Y)/count for bce/xent; for mse dA ⊙ g'(Z). */
    bp__loss_grad(m->cfg.loss, m->delta[0], m->acts[last], y, batch, out->out, mean_rows);
    if (m->cfg.loss == BP_LOSS_MSE || m->cfg.loss == BP_LOSS_HALF_SSE)
        bp__activation_backward(m->delta[0], m->acts[last], batch, out->out, out->act,
                                m->cfg.leaky_slope);
    for (int l = last; l >= first; l--) {
        const bp_layer *L = &m->layers[l];
        bp_real *dz = m->delta[cur];                          /* (batch, L->out) */
        bp_real *dz_prev = l > first ? m->delta[!cur] : NULL; /* (batch, L->in) */
        const bp_real *a_prev = l > m->last_from ? m->acts[l - 1] : m->last_x;
        bp__dense_backward(L->dw, L->db, dz_prev, dz, a_prev, L->w, batch, L->in, L->out,
                           l ? m->layers[l - 1].act : BP_ACT_IDENTITY, m->cfg.leaky_slope);
        cur = !cur;
    }
    return BP_OK;
}

bp_status bp_model_predict(bp_model *m, const bp_real *x, size_t n, int batch, bp_real *out)
{
    if (batch <= 0) batch = 256;
    int k = bp_model_outputs(m), in = bp_model_inputs(m);
    for (size_t i = 0; i < n; i += (size_t)batch) {
        int rows = n - i < (size_t)batch ? (int)(n - i) : batch;
        const bp_real *y;
        bp_status st = bp_model_forward(m, x + i * in, rows, &y);
        if (st) return st;
        memcpy(out + i * k, y, (size_t)rows * k * sizeof *out);
    }
    return BP_OK;
}

bp_status bp_model_evaluate(bp_model *m, const bp_real *x, const bp_real *y, size_t n,
                            int batch, double *loss, double *accuracy)
{
    if (n == 0) return bp__fail(BP_ERR_INVALID, "evaluate: no samples");
    if (batch <= 0) batch = 256;
    int k = bp_model_outputs(m), in = bp_model_inputs(m);
    double loss_sum = 0;
    long correct = 0;
    for (size_t i = 0; i < n; i += (size_t)batch) {
        int rows = n - i < (size_t)batch ? (int)(n - i) : batch;
        bp_real l;
        bp_status st = bp_model_forward(m, x + i * in, rows, NULL);
        if (!st) st = bp_model_loss(m, y + i * k, rows, &l);
        if (st) return st;
        loss_sum += (double)l * rows;
        long c = bp_model_count_correct(m, y + i * k, rows);
        correct = c < 0 || correct < 0 ? -1 : correct + c;
    }
    if (loss) *loss = loss_sum / (double)n;
    if (accuracy) *accuracy = correct < 0 ? -1 : (double)correct / (double)n;
    return BP_OK;
}
