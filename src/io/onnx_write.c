/* onnx_write.c - bp_model_save_onnx: the model as an ONNX graph (IR 7,
 * opset 13) that computes what bp_model_predict computes on normalized
 * input, normalization included:
 *
 *   input (N, in) -> Sub(norm_shift) -> Mul(norm_scale)          if normalized
 *     -> Gemm(layers_0_weight (out, in), layers_0_bias, transB=1) -> act -> ...
 *     -> probabilities (N, classes) | outputs (N, outputs)
 *
 * A classifier with one sigmoid output gets the two columns predict prints,
 * 1 - p and p: Sub(one, p) and Concat(axis=1). docs/FORMAT.md has the
 * mapping; onnx_read.c reads it back. */
#include "modelfile.h"
#include "file_atomic.h"
#include "onnx.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_ 48

typedef struct owriter {
    bp__pbw w;
    const char *path;
    bp_status st;
} owriter;

/* ---------------------------------------------------------------- tensors */

/* An initializer (field of GraphProto) of float32 values, raw little-endian. */
static void put_tensor(owriter *o, const char *name, int ndim, const int64_t *dims,
                       const bp_real *data, size_t n)
{
    float *f = bp__calloc(n ? n : 1, sizeof *f);
    if (!f) {
        o->w.failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++) f[i] = (float)data[i];
    size_t mk = bp__pbw_begin(&o->w, ONNX_GRAPH_INIT);
    for (int d = 0; d < ndim; d++) bp__pbw_varint_field(&o->w, ONNX_TENSOR_DIMS, (uint64_t)dims[d]);
    bp__pbw_varint_field(&o->w, ONNX_TENSOR_TYPE, ONNX_FLOAT);
    bp__pbw_string_field(&o->w, ONNX_TENSOR_NAME, name);
    bp__pbw_bytes_field(&o->w, ONNX_TENSOR_RAW, f, n * sizeof *f);
    bp__pbw_end(&o->w, mk);
    free(f);
}

/* A graph input or output: float (N, width), N symbolic. */
static void put_value_info(owriter *o, uint32_t field, const char *name, int width)
{
    bp__pbw *w = &o->w;
    size_t vi = bp__pbw_begin(w, field);
    bp__pbw_string_field(w, ONNX_VALUE_NAME, name);
    size_t ty = bp__pbw_begin(w, ONNX_VALUE_TYPE), tt = bp__pbw_begin(w, ONNX_TYPE_TENSOR);
    bp__pbw_varint_field(w, ONNX_TT_ELEM, ONNX_FLOAT);
    size_t sh = bp__pbw_begin(w, ONNX_TT_SHAPE), d = bp__pbw_begin(w, ONNX_SHAPE_DIM);
    bp__pbw_string_field(w, ONNX_DIM_PARAM, "N");
    bp__pbw_end(w, d);
    d = bp__pbw_begin(w, ONNX_SHAPE_DIM);
    bp__pbw_varint_field(w, ONNX_DIM_VALUE, (uint64_t)width);
    bp__pbw_end(w, d);
    bp__pbw_end(w, sh);
    bp__pbw_end(w, tt);
    bp__pbw_end(w, ty);
    bp__pbw_end(w, vi);
}

/* ------------------------------------------------------------------ nodes */

/* Opens a node: inputs (NULL-terminated), one output, name and op type; the
 * caller adds attributes and closes it with bp__pbw_end. */
static size_t begin_node(owriter *o, const char *op, const char *name, const char *out,
                         const char *const *in)
{
    size_t mk = bp__pbw_begin(&o->w, ONNX_GRAPH_NODE);
    for (; *in; in++) bp__pbw_string_field(&o->w, ONNX_NODE_INPUT, *in);
    bp__pbw_string_field(&o->w, ONNX_NODE_OUTPUT, out);
    bp__pbw_string_field(&o->w, ONNX_NODE_NAME, name);
    bp__pbw_string_field(&o->w, ONNX_NODE_OP, op);
    return mk;
}

static void put_node(owriter *o, const char *op, const char *name, const char *out,
                     const char *const *in)
{
    bp__pbw_end(&o->w, begin_node(o, op, name, out, in));
}

static void put_attr_int(owriter *o, const char *name, int64_t v)
{
    size_t mk = bp__pbw_begin(&o->w, ONNX_NODE_ATTR);
    bp__pbw_string_field(&o->w, ONNX_ATTR_NAME, name);
    bp__pbw_varint_field(&o->w, ONNX_ATTR_I, (uint64_t)v);
    bp__pbw_varint_field(&o->w, ONNX_ATTR_TYPE, ONNX_ATTR_INT);
    bp__pbw_end(&o->w, mk);
}

static void put_attr_float(owriter *o, const char *name, float v)
{
    size_t mk = bp__pbw_begin(&o->w, ONNX_NODE_ATTR);
    bp__pbw_string_field(&o->w, ONNX_ATTR_NAME, name);
    bp__pbw_float_field(&o->w, ONNX_ATTR_F, v);
    bp__pbw_varint_field(&o->w, ONNX_ATTR_TYPE, ONNX_ATTR_FLOAT);
    bp__pbw_end(&o->w, mk);
}

static const char *act_op(bp_activation a)
{
    switch (a) {
    case BP_ACT_SIGMOID: return "Sigmoid";
    case BP_ACT_TANH: return "Tanh";
    case BP_ACT_RELU: return "Relu";
    case BP_ACT_LEAKY_RELU: return "LeakyRelu";
    case BP_ACT_SOFTMAX: return "Softmax";
    default: return NULL; /* identity: no node */
    }
}

/* Gemm then the activation of layer l, from value `x` into value `y`. */
static void put_layer(owriter *o, const bp_model *m, int l, const char *x, const char *y)
{
    const bp_layer *L = &m->layers[l];
    char w[NAME_MAX_], b[NAME_MAX_], z[NAME_MAX_], name[NAME_MAX_];
    snprintf(w, sizeof w, "layers_%d_weight", l);
    snprintf(b, sizeof b, "layers_%d_bias", l);
    snprintf(z, sizeof z, "layers_%d_z", l);
    snprintf(name, sizeof name, "layers_%d_gemm", l);
    const char *op = act_op(L->act);
    size_t mk = begin_node(o, "Gemm", name, op ? z : y, (const char *[]){x, w, b, NULL});
    put_attr_int(o, "transB", 1);
    bp__pbw_end(&o->w, mk);
    if (!op) return;
    snprintf(name, sizeof name, "layers_%d_%s", l, bp_activation_name(L->act));
    mk = begin_node(o, op, name, y, (const char *[]){z, NULL});
    if (L->act == BP_ACT_LEAKY_RELU) put_attr_float(o, "alpha", (float)m->cfg.leaky_slope);
    if (L->act == BP_ACT_SOFTMAX) put_attr_int(o, "axis", 1);
    bp__pbw_end(&o->w, mk);
}

static void put_nodes(owriter *o, const bp_model *m, const char *output, bool two_columns)
{
    const char *x = "input";
    if (m->norm_shift) {
        put_node(o, "Sub", "normalize_sub", "centered", (const char *[]){x, "norm_shift", NULL});
        put_node(o, "Mul", "normalize_mul", "normalized",
                 (const char *[]){"centered", "norm_scale", NULL});
        x = "normalized";
    }
    char a[2][NAME_MAX_];
    int n = m->cfg.n_layers;
    for (int l = 0; l < n; l++) {
        const char *y = a[l % 2];
        if (l == n - 1 && !two_columns) y = output;
        else snprintf(a[l % 2], NAME_MAX_, "layers_%d_a", l);
        put_layer(o, m, l, x, y);
        x = y;
    }
    if (two_columns) {
        put_node(o, "Sub", "complement_sub", "complement", (const char *[]){"one", x, NULL});
        size_t mk = begin_node(o, "Concat", "probabilities_concat", output,
                               (const char *[]){"complement", x, NULL});
        put_attr_int(o, "axis", 1);
        bp__pbw_end(&o->w, mk);
    }
}

static void put_initializers(owriter *o, const bp_model *m, bool two_columns)
{
    char name[NAME_MAX_];
    int64_t in = m->cfg.sizes[0];
    if (m->norm_shift) {
        put_tensor(o, "norm_shift", 1, &in, m->norm_shift, (size_t)in);
        put_tensor(o, "norm_scale", 1, &in, m->norm_scale, (size_t)in);
    }
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const bp_layer *L = &m->layers[l];
        int64_t dims[2] = {L->out, L->in};
        snprintf(name, sizeof name, "layers_%d_weight", l);
        put_tensor(o, name, 2, dims, L->w, (size_t)L->out * (size_t)L->in);
        snprintf(name, sizeof name, "layers_%d_bias", l);
        put_tensor(o, name, 1, dims, L->b, (size_t)L->out);
    }
    if (two_columns) {
        bp_real one = 1;
        put_tensor(o, "one", 0, NULL, &one, 1);
    }
}

/* -------------------------------------------------------------- metadata */

static void put_meta(owriter *o, const char *key, const char *value)
{
    /* protobuf strings are UTF-8; jansson checks that for us */
    json_t *k = json_string(key), *v = json_string(value);
    if ((!k || !v) && !o->st)
        o->st = bp__fail(BP_ERR_INVALID, "%s: metadata \"%.60s\": key or value is not valid UTF-8",
                         o->path, key);
    json_decref(k), json_decref(v);
    size_t mk = bp__pbw_begin(&o->w, ONNX_MODEL_META);
    bp__pbw_string_field(&o->w, ONNX_ENTRY_KEY, key);
    bp__pbw_string_field(&o->w, ONNX_ENTRY_VALUE, value);
    bp__pbw_end(&o->w, mk);
}

/* {"shift":[..],"scale":[..]}, each value the shortest text of its float32. */
static char *norm_text(const bp_model *m)
{
    size_t in = (size_t)m->cfg.sizes[0], cap = 2 * in * 42 + 32, n = 0;
    char *s = bp__calloc(cap, 1), buf[40];
    if (!s) return NULL;
    for (int k = 0; k < 2; k++) {
        const bp_real *v = k ? m->norm_scale : m->norm_shift;
        n += (size_t)snprintf(s + n, cap - n, "%s\"%s\":[", k ? "]," : "{", k ? "scale" : "shift");
        for (size_t i = 0; i < in; i++) {
            bp__mf_format_real(buf, (float)v[i], true);
            n += (size_t)snprintf(s + n, cap - n, "%s%s", i ? "," : "", buf);
        }
    }
    snprintf(s + n, cap - n, "]}");
    return s;
}

/* A model with a tabular encoder takes the encoded vector: the metadata
 * carries the encoder (read back by bp_model_load) and, for people and other
 * runtimes, what each input is ("temp_max", "weather=rain", ...). */
static void put_encoder(owriter *o, const bp_encoder *e)
{
    char *text = bp_encoder_to_json(e), buf[512];
    json_t *a = json_array();
    for (int i = 0; a && i < bp_encoder_inputs(e); i++)
        if (bp_encoder_input_describe(e, i, buf, sizeof buf) ||
            json_array_append_new(a, json_string(buf)))
            json_decref(a), a = NULL;
    char *inputs = a ? json_dumps(a, JSON_COMPACT) : NULL;
    if (text && inputs) {
        put_meta(o, BP__ONNX_KEY_ENCODER, text);
        put_meta(o, BP__ONNX_KEY_INPUTS, inputs);
    } else {
        o->w.failed = true;
    }
    json_decref(a);
    free(text), free(inputs);
}

static void put_metadata(owriter *o, const bp_model *m, const bp_extra *extra)
{
    put_meta(o, BP__ONNX_KEY_VERSION, BP_VERSION_STRING);
    put_meta(o, BP__ONNX_KEY_LOSS, bp_loss_name(m->cfg.loss));
    if (m->n_labels) {
        json_t *a = json_array();
        for (int i = 0; a && i < m->n_labels; i++)
            if (json_array_append_new(a, json_string(m->labels[i]))) json_decref(a), a = NULL;
        char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
        if (s) put_meta(o, BP__ONNX_KEY_LABELS, s);
        else if (!o->st) o->st = bp__fail(BP_ERR_INVALID, "%s: labels: a label is not valid UTF-8", o->path);
        json_decref(a);
        free(s);
    }
    if (m->norm_shift) {
        char *s = norm_text(m);
        if (s) put_meta(o, BP__ONNX_KEY_NORM, s);
        else o->w.failed = true;
        free(s);
    }
    if (bp_model_encoder(m)) put_encoder(o, bp_model_encoder(m));
    for (int i = 0; i < bp_extra_count(extra); i++) {
        const char *k = bp_extra_key(extra, i);
        char *key = bp__calloc(strlen(k) + sizeof BP__ONNX_KEY_USER, 1);
        if (!key) {
            o->w.failed = true;
            break;
        }
        strcat(strcpy(key, BP__ONNX_KEY_USER), k);
        put_meta(o, key, bp_extra_value(extra, i));
        free(key);
    }
}

/* ------------------------------------------------------------------ model */

/* Every value must be finite as a float32, the type the file holds. */
static bp_status check_values(const bp_model *m, const char *path)
{
    const char *what[3] = {"parameter", "norm_shift", "norm_scale"};
    const bp_real *v[3] = {m->params, m->norm_shift, m->norm_scale};
    size_t n[3] = {m->n_params - m->own_off, (size_t)m->cfg.sizes[0], (size_t)m->cfg.sizes[0]};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; v[k] && i < n[k]; i++)
            if (!isfinite((float)v[k][i]))
                return bp__fail(BP_ERR_NUMERIC, "%s: not saved: %s[%zu] = %g is not a finite "
                                "float32", path, what[k], i, (double)v[k][i]);
    if (!isfinite((float)m->cfg.leaky_slope))
        return bp__fail(BP_ERR_NUMERIC, "%s: not saved: leaky_slope is not finite", path);
    return BP_OK;
}

static void put_model(owriter *o, const bp_model *m, const bp_extra *extra)
{
    bp__pbw *w = &o->w;
    int classes = bp_model_classes(m), outputs = m->cfg.sizes[m->cfg.n_layers];
    bool classifier = classes > 0;            /* predict's probability columns */
    bool two_columns = classes > outputs;     /* one sigmoid output, two classes */
    const char *output = classifier ? "probabilities" : "outputs";
    bp__pbw_varint_field(w, ONNX_MODEL_IR_VERSION, BP__ONNX_IR_VERSION);
    bp__pbw_string_field(w, ONNX_MODEL_PRODUCER, "backprop");
    bp__pbw_string_field(w, ONNX_MODEL_PRODUCER_VERSION, BP_VERSION_STRING);
    size_t g = bp__pbw_begin(w, ONNX_MODEL_GRAPH);
    put_nodes(o, m, output, two_columns);
    bp__pbw_string_field(w, ONNX_GRAPH_NAME, "backprop_mlp");
    put_initializers(o, m, two_columns);
    put_value_info(o, ONNX_GRAPH_INPUT, "input", m->cfg.sizes[0]);
    put_value_info(o, ONNX_GRAPH_OUTPUT, output, two_columns ? 2 : outputs);
    bp__pbw_end(w, g);
    put_metadata(o, m, extra);
    /* Last: a protobuf message cut at a field boundary is still a valid
     * message, but a file cut short anywhere then lacks its opset and fails
     * to load instead of loading without its labels. */
    size_t op = bp__pbw_begin(w, ONNX_MODEL_OPSET);
    bp__pbw_string_field(w, ONNX_OPSET_DOMAIN, "");
    bp__pbw_varint_field(w, ONNX_OPSET_VERSION, BP__ONNX_OPSET);
    bp__pbw_end(w, op);
}

static bool fill(FILE *f, const void *ctx)
{
    const bp__pbw *w = ctx;
    return fwrite(w->buf, 1, w->len, f) == w->len;
}

bp_status bp_model_save_onnx(const bp_model *m, const char *path, const bp_extra *extra)
{
    if (!m || !path) return bp__fail(BP_ERR_INVALID, "save_onnx: %s is NULL", m ? "path" : "model");
    bp_status st = check_values(m, path);
    if (st) return st;
    owriter o = {.path = path};
    put_model(&o, m, extra);
    st = o.st;
    if (!st && o.w.failed) st = bp__fail(BP_ERR_NOMEM, "%s: out of memory building the ONNX model", path);
    if (!st) st = bp__file_write_with(path, fill, &o.w);
    bp__pbw_free(&o.w);
    return st;
}
