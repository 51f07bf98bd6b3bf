/* quant.c - post-training int8 quantization (TFLite's scheme, Jacob et al.
 * 2018): calibration ranges from float forward passes, int8 weights per
 * output row, int32 biases, Q31 multipliers, activation tables, and the host
 * int8 forward pass that the generated C repeats bit for bit
 * (docs/EXPORT.md). */
#include "quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256 /* calibration samples per forward pass */

/* Calibration ranges of one layer: its pre-activation z and output a. */
typedef struct range {
    double zmin, zmax, amin, amax;
} range;

/* The raw calibration inputs: their range, and whether all are integers. */
typedef struct raw_range {
    double lo, hi;
    bool integers;
} raw_range;

/* real = scale (q - zp) over [lo, hi] widened to hold 0 exactly (a zero
 * padding or a relu's 0 must be exact). */
static void choose_quant(double lo, double hi, double *scale, int *zp)
{
    lo = lo < 0 ? lo : 0, hi = hi > 0 ? hi : 0;
    double s = (hi - lo) / 255;
    if (!(s > 1e-30)) s = 1.0 / 255; /* a constant 0: any scale represents it */
    double z = round(-128 - lo / s);
    *scale = s, *zp = z < -128 ? -128 : z > 127 ? 127 : (int)z;
}

static int clamp8(double v) { return v < -128 ? -128 : v > 127 ? 127 : (int)v; }

/* M = mult 2^-shift with mult in [2^30, 2^31): frexp gives M = f 2^e, f in [0.5, 1). */
static bp_status quantize_multiplier(double M, int32_t *mult, int32_t *shift, int l, int r)
{
    if (!isfinite(M))
        return bp__fail(BP_ERR_NUMERIC, "quantize: layer %d row %d: requantization multiplier %g "
                        "is not finite (a calibration range is degenerate)", l, r, M);
    int e;
    double f = frexp(M, &e);
    int64_t q = (int64_t)llround(f * 2147483648.0);
    if (q == ((int64_t)1 << 31)) q /= 2, e++;
    int s = 31 - e;
    if (M == 0 || s > 62) { /* below 2^-31: every accumulator requantizes to 0 */
        *mult = 0, *shift = 1;
        return BP_OK;
    }
    if (s < 1)
        return bp__fail(BP_ERR_NUMERIC, "quantize: layer %d row %d: requantization multiplier %g "
                        "is too large (a calibration range is degenerate)", l, r, M);
    *mult = (int32_t)q, *shift = s;
    return BP_OK;
}

static double act_value(bp_activation a, double z, double slope)
{
    switch (a) {
    case BP_ACT_SIGMOID: return 1 / (1 + exp(-z));
    case BP_ACT_TANH: return tanh(z);
    case BP_ACT_LEAKY_RELU: return z > 0 ? z : slope * z;
    default: return z;
    }
}

/* ---------------------------------------------------------- calibration */

/* A NaN sticks in lo and hi (no comparison moves them off it), so that
 * check_ranges sees it. */
static void widen(double *lo, double *hi, const bp_real *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] < *lo || isnan(v[i])) *lo = v[i];
        if (v[i] > *hi || isnan(v[i])) *hi = v[i];
    }
}

/* Ranges beyond 2^64 (1.8e19) are refused: their squares overflow float32
 * (the float model's MSE, a norm), and at 256 steps they round every
 * ordinary value to one (a sentinel such as 1e30 in the data: the model
 * then predicts one class). Within it, every scale below is a finite
 * float32 and every multiplier finite. */
#define RANGE_LIMIT 18446744073709551616.0

static bp_status check_range(double lo, double hi, const char *what, int l)
{
    if (fabs(lo) < RANGE_LIMIT && fabs(hi) < RANGE_LIMIT) return BP_OK;
    char layer[32] = "";
    if (l >= 0) snprintf(layer, sizeof layer, "layer %d's ", l);
    return bp__fail(BP_ERR_INVALID, "quantize: the calibration data drive %s%s to [%g, %g], "
                    "beyond +-2^64 (1.8e19) or not finite: check the calibration data for "
                    "huge values (a sentinel such as 1e30, another unit or column)",
                    layer, what, lo, hi);
}

/* Every range that calibration saw, before a scale is chosen from it. */
static bp_status check_ranges(const range *rg, int n_layers, const bp_qcalib_info *ci)
{
    bp_status st = check_range(ci->input_min, ci->input_max, "normalized inputs", -1);
    for (int l = 0; !st && l < n_layers; l++) {
        st = check_range(rg[l].zmin, rg[l].zmax, "pre-activation", l);
        if (!st) st = check_range(rg[l].amin, rg[l].amax, "output", l);
    }
    return st;
}

/* Runs the float model over x (n, inputs) in chunks, widening each layer's
 * z and a ranges and the normalized input range. */
static bp_status calibrate(bp_model *m, const bp_real *x, size_t n, range *rg, bp_qcalib_info *ci,
                           raw_range *raw)
{
    *raw = (raw_range){HUGE_VAL, -HUGE_VAL, true};
    int in = bp_model_inputs(m), wmax = 0, L = m->cfg.n_layers;
    for (int l = 0; l < L; l++) wmax = m->layers[l].out > wmax ? m->layers[l].out : wmax;
    bp_real *xb = bp__calloc((size_t)CHUNK * in, sizeof *xb);  /* (CHUNK, inputs) */
    /* z[l] (CHUNK, layers[l].out): the hidden layers' pre-activations, which
     * the forward keeps there (the last layer's are the model's logits) */
    bp_real *zbuf = bp__calloc((size_t)CHUNK * wmax * (L > 1 ? L - 1 : 1), sizeof *zbuf);
    bp_real *z[BP_MAX_LAYERS] = {0};
    for (int l = 0; zbuf && l + 1 < L; l++) z[l] = zbuf + (size_t)l * CHUNK * wmax;
    bp_status st = xb && zbuf ? BP_OK : BP_ERR_NOMEM;
    ci->input_min = HUGE_VAL, ci->input_max = -HUGE_VAL, ci->samples = n;
    for (int l = 0; l < L; l++) rg[l] = (range){HUGE_VAL, -HUGE_VAL, HUGE_VAL, -HUGE_VAL};
    for (size_t i = 0; !st && i < n; i += CHUNK) {
        int rows = n - i < CHUNK ? (int)(n - i) : CHUNK;
        size_t cnt = (size_t)rows * in;
        memcpy(xb, x + i * in, cnt * sizeof *xb);
        for (size_t j = 0; j < cnt; j++)
            if (!isfinite(xb[j])) {
                st = bp__fail(BP_ERR_INVALID, "quantize: calibration sample %zu, feature %zu "
                              "is not finite", i + j / in, j % in);
                break;
            }
        if (st) break;
        widen(&raw->lo, &raw->hi, xb, cnt);
        for (size_t j = 0; j < cnt && raw->integers; j++) raw->integers = xb[j] == R_FLOOR(xb[j]);
        bp_model_normalize(m, xb, (size_t)rows);
        widen(&ci->input_min, &ci->input_max, xb, cnt);
        if ((st = bp__model_forward_keep(m, xb, rows, z))) break;
        for (int l = 0; l < L; l++) {
            size_t cells = (size_t)rows * m->layers[l].out;
            widen(&rg[l].zmin, &rg[l].zmax, l + 1 < L ? z[l] : m->logits, cells);
            widen(&rg[l].amin, &rg[l].amax, m->acts[l], cells);
        }
    }
    free(xb), free(zbuf);
    return st;
}

/* ---------------------------------------------------------------- layers */

/* Weights per output row: w_scale = max|W[r,:]| / 127, w = round(W / w_scale). */
static void quantize_weights(bp__qlayer *q, const bp_real *W)
{
    for (int r = 0; r < q->out; r++) {
        const bp_real *row = W + (size_t)r * q->in;
        double mx = 0;
        for (int k = 0; k < q->in; k++) mx = fabs(row[k]) > mx ? fabs(row[k]) : mx;
        q->w_scale[r] = mx > 0 ? mx / 127 : 1;
        for (int k = 0; k < q->in; k++)
            q->w[(size_t)r * q->in + k] = (int8_t)clamp8(round(row[k] / q->w_scale[r]));
    }
}

/* The output side: where acc requantizes to, and the table when there is one. */
static void choose_output(bp__qlayer *q, const range *rg, double slope)
{
    q->req_lo = -128, q->req_hi = 127;
    switch (q->act) {
    case BP_ACT_SIGMOID: case BP_ACT_TANH: case BP_ACT_LEAKY_RELU:
        q->has_lut = 1;
        choose_quant(rg->zmin, rg->zmax, &q->z_scale, &q->z_zp);
        if (q->act == BP_ACT_SIGMOID) q->out_scale = 1.0 / 256, q->out_zp = -128;
        else if (q->act == BP_ACT_TANH) q->out_scale = 1.0 / 128, q->out_zp = 0;
        else choose_quant(rg->amin, rg->amax, &q->out_scale, &q->out_zp);
        for (int i = 0; i < 256; i++) {
            double a = act_value(q->act, q->z_scale * (i - 128 - q->z_zp), slope);
            q->lut[i] = (int8_t)clamp8(round(a / q->out_scale) + q->out_zp);
        }
        q->req_zp = q->z_zp;
        break;
    case BP_ACT_RELU:
        choose_quant(0, rg->amax, &q->out_scale, &q->out_zp);
        q->req_zp = q->req_lo = q->out_zp; /* relu is the clamp at the zero point */
        break;
    default: /* identity, and the logits of softmax */
        choose_quant(rg->zmin, rg->zmax, &q->out_scale, &q->out_zp);
        q->req_zp = q->out_zp;
        break;
    }
}

/* bias = round(b / (in_scale w_scale)) - in_zp sum_k w[r,k], and the
 * multiplier in_scale w_scale / target_scale of each row. */
static bp_status quantize_rows(bp__qlayer *q, const bp_real *b, int l)
{
    double target = q->has_lut ? q->z_scale : q->out_scale;
    for (int r = 0; r < q->out; r++) {
        double s = q->in_scale * q->w_scale[r];
        int64_t wsum = 0;
        for (int k = 0; k < q->in; k++) wsum += q->w[(size_t)r * q->in + k];
        double bq = round(b[r] / s);
        int64_t bias = (int64_t)bq - (int64_t)q->in_zp * wsum;
        /* |acc| <= |bias| + in 127 128 must stay inside int32 */
        if (!(fabs(bq) < 1e12) || llabs(bias) + (int64_t)q->in * 127 * 128 > INT32_MAX)
            return bp__fail(BP_ERR_NUMERIC, "quantize: layer %d row %d: the bias %g does not fit "
                            "an int32 accumulator at scale %g", l, r, (double)b[r], s);
        q->bias[r] = (int32_t)bias;
        bp_status st = quantize_multiplier(s / target, &q->mult[r], &q->shift[r], l, r);
        if (st) return st;
    }
    return BP_OK;
}

static bp_status alloc_layer(bp__qlayer *q, int in, int out)
{
    q->in = in, q->out = out;
    q->w = bp__calloc((size_t)in * out, 1);
    q->w_scale = bp__calloc((size_t)out, sizeof *q->w_scale);
    q->bias = bp__calloc((size_t)out, sizeof *q->bias);
    q->mult = bp__calloc((size_t)out, sizeof *q->mult);
    q->shift = bp__calloc((size_t)out, sizeof *q->shift);
    return q->w && q->w_scale && q->bias && q->mult && q->shift ? BP_OK : BP_ERR_NOMEM;
}

/* Layer 1 with the normalization folded in: W x' + b with x' = (x - shift)
 * scale is W' x + b', W'[r,k] = W[r,k] scale[k], b' = b - W' shift; into
 * w (out, in) and b (out), in bp_real like the model's. */
static void fold_normalization(const bp_model *m, bp_real *w, bp_real *b)
{
    const bp_layer *ly = &m->layers[0];
    for (int r = 0; r < ly->out; r++) {
        double acc = ly->b[r];
        for (int k = 0; k < ly->in; k++) {
            double v = (double)ly->w[(size_t)r * ly->in + k] * m->norm_scale[k];
            w[(size_t)r * ly->in + k] = (bp_real)v;
            acc -= v * m->norm_shift[k];
        }
        b[r] = (bp_real)acc;
    }
}

static bp_status build(bp_qmodel *q, bp_model *m, const range *rg, const raw_range *raw)
{
    const bp_model_config *c = &m->cfg;
    int in = c->sizes[0];
    double s;
    /* Integer raw inputs spanning at most 256 values (pixels) are held
     * exactly by int8 at scale 1: the normalization then folds into layer 1
     * and costs neither flash nor time (docs/EXPORT.md). */
    q->folded = m->norm_shift && raw->integers && raw->hi - raw->lo <= 255 && fabs(raw->lo) <= 65536;
    if (q->folded) {
        q->in_scale = 1.0f;
        q->in_zp = (int)(-128 - raw->lo);
    } else {
        choose_quant(q->calib.input_min, q->calib.input_max, &s, &q->in_zp);
        q->in_scale = (float)s;
    }
    double prev_scale = q->in_scale;
    int prev_zp = q->in_zp;
    bp_real *w1 = NULL, *b1 = NULL; /* layer 1 folded: (out, in), (out) */
    if (q->folded) {
        w1 = bp__calloc((size_t)m->layers[0].out * in, sizeof *w1);
        b1 = bp__calloc((size_t)m->layers[0].out, sizeof *b1);
        if (!w1 || !b1) {
            free(w1), free(b1);
            return BP_ERR_NOMEM;
        }
        fold_normalization(m, w1, b1);
    } else if (m->norm_shift) {
        q->norm_shift = bp__calloc((size_t)in, sizeof(float));
        q->norm_scale = bp__calloc((size_t)in, sizeof(float));
        if (!q->norm_shift || !q->norm_scale) return BP_ERR_NOMEM;
        /* (w1 and b1 are NULL here) */
        for (int k = 0; k < in; k++)
            q->norm_shift[k] = (float)m->norm_shift[k], q->norm_scale[k] = (float)m->norm_scale[k];
    }
    bp_status st = BP_OK;
    for (int l = 0; l < c->n_layers; l++) {
        bp__qlayer *ql = &q->layers[l];
        const bp_layer *ly = &m->layers[l];
        if ((st = alloc_layer(ql, ly->in, ly->out))) break;
        ql->act = ly->act;
        ql->in_scale = prev_scale, ql->in_zp = prev_zp;
        bool f = l == 0 && q->folded;
        quantize_weights(ql, f ? w1 : ly->w);
        choose_output(ql, &rg[l], (double)c->leaky_slope);
        if ((st = quantize_rows(ql, f ? b1 : ly->b, l))) break;
        prev_scale = ql->out_scale, prev_zp = ql->out_zp;
    }
    free(w1), free(b1);
    return st;
}

bp_status bp_qmodel_create(bp_qmodel **out, bp_model *m, const bp_real *x, size_t n)
{
    *out = NULL;
    if (!m || !x) return bp__fail(BP_ERR_INVALID, "quantize: %s is NULL", m ? "x" : "model");
    if (n == 0) return bp__fail(BP_ERR_INVALID, "quantize: the calibration set is empty");
    bp_qmodel *q = bp__calloc(1, sizeof *q);
    if (!q) return BP_ERR_NOMEM;
    const bp_model_config *c = &m->cfg;
    for (int l = 0; l < c->n_layers - 1; l++)
        if (c->act[l] == BP_ACT_SOFTMAX) {
            bp_qmodel_free(q);
            return bp__fail(BP_ERR_INVALID, "quantize: layer %d: softmax is supported only as the "
                            "output layer's activation", l);
        }
    q->n_layers = c->n_layers;
    memcpy(q->sizes, c->sizes, sizeof q->sizes);
    q->out_act = c->act[c->n_layers - 1];
    for (int l = 0; l <= c->n_layers; l++) q->max_width = c->sizes[l] > q->max_width ? c->sizes[l] : q->max_width;
    range rg[BP_MAX_LAYERS];
    raw_range raw;
    bp_status st = calibrate(m, x, n, rg, &q->calib, &raw);
    if (!st) st = check_ranges(rg, c->n_layers, &q->calib);
    if (!st) st = build(q, m, rg, &raw);
    if (!st) {
        q->buf[0] = bp__calloc((size_t)q->max_width, 1);
        q->buf[1] = bp__calloc((size_t)q->max_width, 1);
        q->fbuf = bp__calloc((size_t)bp_model_outputs(m), sizeof *q->fbuf);
        if (!q->buf[0] || !q->buf[1] || !q->fbuf) st = BP_ERR_NOMEM;
    }
    if (st) {
        bp_qmodel_free(q);
        return st;
    }
    *out = q;
    return BP_OK;
}

void bp_qmodel_free(bp_qmodel *q)
{
    if (!q) return;
    for (int l = 0; l < q->n_layers; l++) {
        bp__qlayer *ql = &q->layers[l];
        free(ql->w), free(ql->w_scale), free(ql->bias), free(ql->mult), free(ql->shift);
    }
    free(q->norm_shift), free(q->norm_scale), free(q->buf[0]), free(q->buf[1]), free(q->fbuf);
    free(q);
}

int bp_qmodel_inputs(const bp_qmodel *q) { return q->sizes[0]; }
int bp_qmodel_outputs(const bp_qmodel *q) { return q->sizes[q->n_layers]; }
const bp_qcalib_info *bp_qmodel_calib_info(const bp_qmodel *q) { return &q->calib; }

void bp_qmodel_input_quant(const bp_qmodel *q, double *scale, int *zero_point)
{
    *scale = q->in_scale, *zero_point = q->in_zp;
}

void bp_qmodel_output_quant(const bp_qmodel *q, double *scale, int *zero_point)
{
    *scale = q->layers[q->n_layers - 1].out_scale, *zero_point = q->layers[q->n_layers - 1].out_zp;
}

/* ------------------------------------------------------------- forward */

/* float32 steps kept in separate statements, so that no compiler fuses
 * them into an fma: the generated C does exactly these operations. */
static int8_t quantize_one(const bp_qmodel *q, float x, int k)
{
    float t = x;
    if (q->norm_shift) {
        t = t - q->norm_shift[k];
        t = t * q->norm_scale[k];
    }
    float v = t / q->in_scale;
    if (!(v > -1048576.0f)) v = -1048576.0f; /* 2^20: (int) stays defined; NaN too */
    if (v > 1048576.0f) v = 1048576.0f;
    int r = v >= 0.0f ? (int)(v + 0.5f) : -(int)(0.5f - v);
    return (int8_t)clamp8((double)r + q->in_zp);
}

void bp_qmodel_quantize(const bp_qmodel *q, const bp_real *x, size_t n, int8_t *xq)
{
    int in = q->sizes[0];
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < in; k++) xq[i * in + k] = quantize_one(q, (float)x[i * in + k], k);
}

/* y (out) = requant(bias + W x) through the table if any: one layer. */
static void layer_int8(const bp__qlayer *ql, const int8_t *x, int8_t *y)
{
    for (int r = 0; r < ql->out; r++) {
        const int8_t *w = ql->w + (size_t)r * ql->in;
        int32_t acc = ql->bias[r];
        for (int k = 0; k < ql->in; k++) acc += (int32_t)w[k] * x[k];
        int v = bp__requant(acc, ql->mult[r], ql->shift[r], ql->req_zp, ql->req_lo, ql->req_hi);
        y[r] = ql->has_lut ? ql->lut[v + 128] : (int8_t)v;
    }
}

void bp_qmodel_predict_int8(bp_qmodel *q, const int8_t *xq, size_t n, int8_t *yq)
{
    int in = q->sizes[0], k = q->sizes[q->n_layers];
    for (size_t i = 0; i < n; i++) {
        const int8_t *a = xq + i * in;
        for (int l = 0; l < q->n_layers; l++) {
            int8_t *y = l == q->n_layers - 1 ? yq + i * k : q->buf[l & 1];
            layer_int8(&q->layers[l], a, y);
            a = y;
        }
    }
}

void bp_qmodel_predict(bp_qmodel *q, const bp_real *x, size_t n, bp_real *out)
{
    int in = q->sizes[0], k = q->sizes[q->n_layers];
    const bp__qlayer *last = &q->layers[q->n_layers - 1];
    float s = (float)last->out_scale;
    for (size_t i = 0; i < n; i++) {
        int8_t *xq = q->buf[0]; /* until the first layer has read it */
        bp_qmodel_quantize(q, x + i * in, 1, xq);
        const int8_t *a = xq;
        for (int l = 0; l < q->n_layers; l++) {
            int8_t *y = q->buf[(l + 1) & 1];
            layer_int8(&q->layers[l], a, y);
            a = y;
        }
        const int8_t *yq = a;
        float *f = q->fbuf;
        for (int j = 0; j < k; j++) f[j] = s * (float)(yq[j] - last->out_zp);
        if (q->out_act == BP_ACT_SOFTMAX) {
            float mx = f[0], sum = 0;
            for (int j = 1; j < k; j++) mx = f[j] > mx ? f[j] : mx;
            for (int j = 0; j < k; j++) {
                f[j] = expf(f[j] - mx);
                sum += f[j];
            }
            for (int j = 0; j < k; j++) f[j] = f[j] / sum;
        }
        for (int j = 0; j < k; j++) out[i * k + j] = f[j];
    }
}
