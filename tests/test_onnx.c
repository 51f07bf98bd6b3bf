/* test_onnx.c - bp_model_save_onnx and the ONNX side of bp_model_load:
 * every architecture feature survives export and import (parameters bit for
 * bit in the float build; rounded to float32 once in the double build),
 * the same model gives the same bytes, files that are cut short or
 * values that cannot be written fail cleanly, and a safetensors file is
 * never mistaken for ONNX. onnxruntime, onnx's checker and PyTorch check
 * the files themselves in tests/test_onnx.py. */
#define _GNU_SOURCE
#include "test.h"
#include "tmpdir.h"
#include "onnx.h" /* the field numbers and the protobuf writer, to build graphs by hand */

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* A model of the given layers with random parameters, and optionally a
 * normalization and labels. */
static bp_model *make(int n_layers, const int *sizes, const bp_activation *acts, bp_loss loss,
                      bool norm, int n_labels, uint64_t seed)
{
    bp_model_config c = bp_model_config_default();
    c.n_layers = n_layers;
    for (int l = 0; l <= n_layers; l++) c.sizes[l] = sizes[l];
    for (int l = 0; l < n_layers; l++) c.act[l] = acts[l];
    c.leaky_slope = (bp_real)0.25; /* a float32 value: the import predicts identically */
    c.loss = loss;
    c.seed = seed;
    bp_model *m = NULL;
    CHECK_OK(bp_model_create(&m, &c));
    if (!m) return NULL;
    bp_rng r;
    bp_rng_seed(&r, seed);
    for (size_t i = 0; i < bp_model_param_count(m); i++) bp_model_params(m)[i] = (bp_real)(bp_rng_normal(&r) * 0.7);
    if (norm) {
        bp_real sh[64], sc[64];
        for (int i = 0; i < sizes[0]; i++) sh[i] = (bp_real)bp_rng_normal(&r), sc[i] = (bp_real)(0.1 + bp_rng_uniform(&r));
        CHECK_OK(bp_model_set_normalization(m, sh, sc));
    }
    if (n_labels) {
        const char *names[] = {"cat", "dog, \"big\"", "émeu", "3"};
        CHECK_OK(bp_model_set_labels(m, n_labels, names));
    }
    return m;
}

/* The value a parameter has once written as float32. */
static bp_real as_f32(bp_real v) { return (bp_real)(float)v; }

static void same_model(const bp_model *a, const bp_model *b, const char *what)
{
    const bp_model_config *ca = bp_model_cfg(a), *cb = bp_model_cfg(b);
    CHECK(ca->n_layers == cb->n_layers, "%s: layers %d vs %d", what, ca->n_layers, cb->n_layers);
    if (ca->n_layers != cb->n_layers) return;
    for (int l = 0; l <= ca->n_layers; l++) CHECK(ca->sizes[l] == cb->sizes[l], "%s: size %d", what, l);
    for (int l = 0; l < ca->n_layers; l++) CHECK(ca->act[l] == cb->act[l], "%s: act %d", what, l);
    CHECK(ca->loss == cb->loss, "%s: loss %d vs %d", what, ca->loss, cb->loss);
    bool leaky = false;
    for (int l = 0; l < ca->n_layers; l++) leaky |= ca->act[l] == BP_ACT_LEAKY_RELU;
    if (leaky) CHECK(as_f32(ca->leaky_slope) == cb->leaky_slope, "%s: slope", what);
    size_t n = bp_model_param_count(a), bad = 0;
    const bp_real *pa = bp_model_params((bp_model *)a), *pb = bp_model_params((bp_model *)b);
    for (size_t i = 0; i < n; i++) bad += memcmp(&(bp_real){as_f32(pa[i])}, &pb[i], sizeof(bp_real)) != 0;
    CHECK(bad == 0, "%s: %zu of %zu parameters differ in their bits", what, bad, n);
    const bp_real *sa = bp_model_norm_shift(a), *sb = bp_model_norm_shift(b);
    CHECK((sa == NULL) == (sb == NULL), "%s: normalization present on one side", what);
    for (int i = 0; sa && sb && i < ca->sizes[0]; i++) {
        CHECK(as_f32(sa[i]) == sb[i], "%s: shift[%d]", what, i);
        CHECK(as_f32(bp_model_norm_scale(a)[i]) == bp_model_norm_scale(b)[i], "%s: scale[%d]", what, i);
    }
    CHECK(bp_model_label_count(a) == bp_model_label_count(b), "%s: labels", what);
    for (int i = 0; i < bp_model_label_count(a) && i < bp_model_label_count(b); i++)
        CHECK(strcmp(bp_model_label(a, i), bp_model_label(b, i)) == 0, "%s: label %d", what, i);
}

typedef struct arch {
    const char *name;
    int n;
    int sizes[6];
    bp_activation act[5];
    bp_loss loss;
    bool norm;
    int labels;
} arch;

static const arch archs[] = {
    {"1 layer softmax", 1, {4, 3}, {BP_ACT_SOFTMAX}, BP_LOSS_XENT, false, 3},
    {"2 layers tanh/sigmoid, 1 output", 2, {3, 5, 1}, {BP_ACT_TANH, BP_ACT_SIGMOID}, BP_LOSS_BCE, true, 2},
    {"3 layers relu/leaky/identity", 3, {6, 7, 5, 2}, {BP_ACT_RELU, BP_ACT_LEAKY_RELU, BP_ACT_IDENTITY},
     BP_LOSS_MSE, true, 0},
    {"4 layers, sigmoid outputs", 4, {2, 3, 4, 3, 3},
     {BP_ACT_SIGMOID, BP_ACT_IDENTITY, BP_ACT_TANH, BP_ACT_SIGMOID}, BP_LOSS_BCE, false, 0},
    {"5 layers", 5, {8, 6, 5, 4, 3, 4},
     {BP_ACT_LEAKY_RELU, BP_ACT_RELU, BP_ACT_TANH, BP_ACT_SIGMOID, BP_ACT_SOFTMAX}, BP_LOSS_XENT, true, 4},
    {"sigmoid + mse regression", 2, {3, 4, 1}, {BP_ACT_RELU, BP_ACT_SIGMOID}, BP_LOSS_MSE, false, 0},
    {"identity + mse, two labels", 2, {3, 4, 1}, {BP_ACT_RELU, BP_ACT_IDENTITY}, BP_LOSS_MSE, true, 2},
};
#define N_ARCHS (int)(sizeof archs / sizeof archs[0])

static void test_round_trip(void)
{
    for (int k = 0; k < N_ARCHS; k++) {
        const arch *A = &archs[k];
        bp_model *m = make(A->n, A->sizes, A->act, A->loss, A->norm, A->labels, 100 + (uint64_t)k);
        bp_extra *extra = NULL, *back_extra = NULL;
        CHECK_OK(bp_extra_create(&extra));
        CHECK_OK(bp_extra_set(extra, "note", "trained on \"x\"\nline 2"));
        CHECK_OK(bp_extra_set(extra, "n", "7"));
        CHECK_OK(bp_model_save_onnx(m, at("rt.onnx"), extra));
        bp_model *r = NULL;
        CHECK_OK(bp_model_load(&r, at("rt.onnx"), &back_extra));
        if (m && r) same_model(m, r, A->name);
        CHECK(bp_extra_count(back_extra) == 2 && strcmp(bp_extra_get(back_extra, "note"), "trained on \"x\"\nline 2") == 0 &&
              strcmp(bp_extra_get(back_extra, "n"), "7") == 0, "%s: extra metadata", A->name);
        /* export -> import -> export: the same bytes */
        size_t n1, n2;
        CHECK_OK(bp_model_save_onnx(r, at("rt2.onnx"), back_extra));
        unsigned char *b1 = read_all(at("rt.onnx"), &n1), *b2 = read_all(at("rt2.onnx"), &n2);
        CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "%s: re-export differs", A->name);
        /* and a safetensors file saved from the import loads the same */
        bp_model *s = NULL;
        CHECK_OK(bp_model_save(r, at("rt.safetensors"), NULL));
        CHECK_OK(bp_model_load(&s, at("rt.safetensors"), NULL));
        if (r && s) same_model(r, s, A->name);
        free(b1), free(b2);
        bp_model_free(m), bp_model_free(r), bp_model_free(s);
        bp_extra_free(extra), bp_extra_free(back_extra);
    }
}

/* The same model twice gives the same bytes; predictions of the import
 * equal the original's on float32-valued parameters. */
static void test_deterministic_and_predicts(void)
{
    const arch *A = &archs[4];
    bp_model *m = make(A->n, A->sizes, A->act, A->loss, A->norm, A->labels, 7);
    CHECK_OK(bp_model_save_onnx(m, at("d1.onnx"), NULL));
    CHECK_OK(bp_model_save_onnx(m, at("d2.onnx"), NULL));
    size_t n1, n2;
    unsigned char *b1 = read_all(at("d1.onnx"), &n1), *b2 = read_all(at("d2.onnx"), &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "two exports differ");
    bp_model *r = NULL;
    CHECK_OK(bp_model_load(&r, at("d1.onnx"), NULL));
    for (size_t i = 0; i < bp_model_param_count(m); i++) bp_model_params(m)[i] = as_f32(bp_model_params(m)[i]);
    bp_real x[3 * 8], ya[3 * 4], yb[3 * 4];
    for (int i = 0; i < 24; i++) x[i] = (bp_real)(i % 5) - 2;
    CHECK_OK(bp_model_predict(m, x, 3, 3, ya));
    CHECK_OK(bp_model_predict(r, x, 3, 3, yb));
    CHECK(memcmp(ya, yb, sizeof ya) == 0, "the import predicts differently");
    free(b1), free(b2);
    bp_model_free(m), bp_model_free(r);
}

/* Every prefix of a valid file fails with BP_ERR_FORMAT (or loads, for none
 * but the whole), with a message naming the file. */
static void test_truncated(void)
{
    const arch *A = &archs[1];
    bp_model *m = make(A->n, A->sizes, A->act, A->loss, A->norm, A->labels, 3);
    CHECK_OK(bp_model_save_onnx(m, at("full.onnx"), NULL));
    size_t n;
    unsigned char *b = read_all(at("full.onnx"), &n);
    int bad = 0;
    for (size_t k = 1; b && k < n; k++) {
        write_all(at("cut.onnx"), b, k);
        bp_model *r = NULL;
        bp_status st = bp_model_load(&r, at("cut.onnx"), NULL);
        if (st != BP_ERR_FORMAT || r || !strstr(bp_last_error(), "cut.onnx")) {
            if (!bad++) CHECK(0, "prefix of %zu bytes: %s %s", k, bp_status_name(st), bp_last_error());
        }
        bp_model_free(r);
    }
    CHECK(bad == 0, "%d of %zu prefixes misbehaved", bad, n);
    free(b);
    bp_model_free(m);
}

static void test_refuses_values(void)
{
    const arch *A = &archs[0];
    bp_model *m = make(A->n, A->sizes, A->act, A->loss, false, 0, 5);
    CHECK_OK(bp_model_save_onnx(m, at("keep.onnx"), NULL));
    size_t n0, n1;
    unsigned char *before = read_all(at("keep.onnx"), &n0);
    bp_model_params(m)[3] = (bp_real)NAN;
    bp_status st = bp_model_save_onnx(m, at("keep.onnx"), NULL);
    CHECK(st == BP_ERR_NUMERIC && strstr(bp_last_error(), "parameter[3]"), "%s %s", bp_status_name(st), bp_last_error());
    if (TEST_DOUBLE) { /* finite as a double, not as a float32 */
        bp_model_params(m)[3] = (bp_real)1e39;
        st = bp_model_save_onnx(m, at("keep.onnx"), NULL);
        CHECK(st == BP_ERR_NUMERIC && strstr(bp_last_error(), "float32"), "%s", bp_last_error());
    }
    unsigned char *after = read_all(at("keep.onnx"), &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0, "the old file changed");
    bp_model_params(m)[3] = 0;
    st = bp_model_save_onnx(m, "/nonexistent_dir_bp/x.onnx", NULL);
    CHECK(st == BP_ERR_IO && strstr(bp_last_error(), "/nonexistent_dir_bp/x.onnx"), "%s", bp_last_error());
    bp_extra *extra = NULL;
    CHECK_OK(bp_extra_create(&extra));
    CHECK_OK(bp_extra_set(extra, "k", "\xff"));
    st = bp_model_save_onnx(m, at("keep.onnx"), extra);
    CHECK(st == BP_ERR_INVALID && strstr(bp_last_error(), "UTF-8"), "%s %s", bp_status_name(st), bp_last_error());
    bp_extra_free(extra);
    /* no temporary file is left behind */
    DIR *d = opendir(dir);
    int tmp = 0;
    for (struct dirent *e; d && (e = readdir(d));) tmp += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    CHECK(tmp == 0, "%d temporary files left", tmp);
    free(before), free(after);
    bp_model_free(m);
}

/* A safetensors file whose data happen to look like protobuf still loads as
 * safetensors; garbage that looks like neither fails as safetensors. */
static void test_sniffing(void)
{
    const arch *A = &archs[2];
    bp_model *m = make(A->n, A->sizes, A->act, A->loss, A->norm, 0, 9);
    CHECK_OK(bp_model_save(m, at("s.safetensors"), NULL));
    CHECK_OK(bp_model_save_onnx(m, at("o.bin"), NULL)); /* any name: decided by content */
    bp_model *r = NULL;
    CHECK_OK(bp_model_load(&r, at("s.safetensors"), NULL));
    bp_model_free(r), r = NULL;
    CHECK_OK(bp_model_load(&r, at("o.bin"), NULL));
    bp_model_free(r), r = NULL;
    write_all(at("junk.onnx"), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 10);
    bp_status st = bp_model_load(&r, at("junk.onnx"), NULL);
    CHECK(st == BP_ERR_FORMAT && strstr(bp_last_error(), "not a model file (safetensors or ONNX): "
                                        "it looks like binary data"), "%s", bp_last_error());
    write_all(at("empty.onnx"), "", 0);
    st = bp_model_load(&r, at("empty.onnx"), NULL);
    CHECK(st == BP_ERR_FORMAT && r == NULL, "%s", bp_last_error());
    bp_model_free(m);
}

/* ----------------------------------------- graphs written field by field */

/* A float TensorProto: dims (rows, cols), or (cols) when rows is 0. */
static void pb_tensor(bp__pbw *w, uint32_t field, const char *name, int rows, int cols, const float *v)
{
    size_t t = bp__pbw_begin(w, field);
    if (rows) bp__pbw_varint_field(w, ONNX_TENSOR_DIMS, (uint64_t)rows);
    bp__pbw_varint_field(w, ONNX_TENSOR_DIMS, (uint64_t)cols);
    bp__pbw_varint_field(w, ONNX_TENSOR_TYPE, ONNX_FLOAT);
    bp__pbw_string_field(w, ONNX_TENSOR_NAME, name);
    bp__pbw_bytes_field(w, ONNX_TENSOR_RAW, v, (size_t)(rows ? rows : 1) * (size_t)cols * sizeof *v);
    bp__pbw_end(w, t);
}

/* A ValueInfoProto: a float (n, width). */
static void pb_value(bp__pbw *w, uint32_t field, const char *name, int width)
{
    size_t v = bp__pbw_begin(w, field);
    bp__pbw_string_field(w, ONNX_VALUE_NAME, name);
    size_t t = bp__pbw_begin(w, ONNX_VALUE_TYPE), tt = bp__pbw_begin(w, ONNX_TYPE_TENSOR);
    bp__pbw_varint_field(w, ONNX_TT_ELEM, ONNX_FLOAT);
    size_t sh = bp__pbw_begin(w, ONNX_TT_SHAPE), d = bp__pbw_begin(w, ONNX_SHAPE_DIM);
    bp__pbw_string_field(w, ONNX_DIM_PARAM, "n");
    bp__pbw_end(w, d);
    d = bp__pbw_begin(w, ONNX_SHAPE_DIM);
    bp__pbw_varint_field(w, ONNX_DIM_VALUE, (uint64_t)width);
    bp__pbw_end(w, d);
    bp__pbw_end(w, sh), bp__pbw_end(w, tt), bp__pbw_end(w, t), bp__pbw_end(w, v);
}

/* A node "op(in0[, in1]) -> out" named name. */
static void pb_node(bp__pbw *w, const char *op, const char *name, const char *in0, const char *in1,
                    const char *out)
{
    size_t n = bp__pbw_begin(w, ONNX_GRAPH_NODE);
    bp__pbw_string_field(w, ONNX_NODE_INPUT, in0);
    if (in1) bp__pbw_string_field(w, ONNX_NODE_INPUT, in1);
    bp__pbw_string_field(w, ONNX_NODE_OUTPUT, out);
    bp__pbw_string_field(w, ONNX_NODE_NAME, name);
    bp__pbw_string_field(w, ONNX_NODE_OP, op);
    bp__pbw_end(w, n);
}

static void pb_meta(bp__pbw *w, const char *key, const char *value)
{
    size_t e = bp__pbw_begin(w, ONNX_MODEL_META);
    bp__pbw_string_field(w, ONNX_ENTRY_KEY, key);
    bp__pbw_string_field(w, ONNX_ENTRY_VALUE, value);
    bp__pbw_end(w, e);
}

/* y = x W + b (x: 3 inputs, W (3, 2) = [[1, 0], [0, 1], [1, 1]] / 2,
 * b = [0.2, 0.3]) with MatMul then Add, as other exporters write a Linear;
 * `graph` writes the nodes and initializers, labels and encoder (JSON
 * text, or NULL) go into the metadata. Written to dir/name. */
static void write_graph(const char *name, void (*graph)(bp__pbw *w), const char *labels,
                        const char *encoder)
{
    bp__pbw w = {0};
    bp__pbw_varint_field(&w, ONNX_MODEL_IR_VERSION, 7);
    size_t o = bp__pbw_begin(&w, ONNX_MODEL_OPSET);
    bp__pbw_varint_field(&w, ONNX_OPSET_VERSION, 13);
    bp__pbw_end(&w, o);
    size_t g = bp__pbw_begin(&w, ONNX_MODEL_GRAPH);
    graph(&w);
    bp__pbw_string_field(&w, ONNX_GRAPH_NAME, "g");
    pb_value(&w, ONNX_GRAPH_INPUT, "x", 3);
    pb_value(&w, ONNX_GRAPH_OUTPUT, "y", 2);
    bp__pbw_end(&w, g);
    if (labels) pb_meta(&w, BP__ONNX_KEY_LABELS, labels);
    if (encoder) pb_meta(&w, BP__ONNX_KEY_ENCODER, encoder);
    CHECK(!w.failed, "out of memory");
    write_all(at(name), w.buf, w.len);
    bp__pbw_free(&w);
}

static const float W3x2[6] = {0.5f, 0, 0, 0.5f, 0.5f, 0.5f}, B2[2] = {0.2f, 0.3f}, B600[2] = {600, 600};

static void inits(bp__pbw *w)
{
    pb_tensor(w, ONNX_GRAPH_INIT, "w", 3, 2, W3x2);
    pb_tensor(w, ONNX_GRAPH_INIT, "b", 0, 2, B2);
}

static void g_linear(bp__pbw *w)     /* MatMul(x, w) -> h, Add(h, b) -> y */
{
    pb_node(w, "MatMul", "mm", "x", "w", "h");
    pb_node(w, "Add", "add", "h", "b", "y");
    inits(w);
}

static void g_softmax(bp__pbw *w)    /* ... -> z, Softmax(z) -> y */
{
    pb_node(w, "MatMul", "mm", "x", "w", "h");
    pb_node(w, "Add", "add", "h", "b", "z");
    pb_node(w, "Softmax", "soft", "z", NULL, "y");
    inits(w);
}

static void g_dup_init(bp__pbw *w)   /* a second initializer "b", of 600s */
{
    g_linear(w);
    pb_tensor(w, ONNX_GRAPH_INIT, "b", 0, 2, B600);
}

static void g_reuse(bp__pbw *w)      /* Add(h, b) -> h: h produced twice */
{
    pb_node(w, "MatMul", "mm", "x", "w", "h");
    pb_node(w, "Add", "add", "h", "b", "h");
    pb_node(w, "Relu", "relu", "h", NULL, "y");
    inits(w);
}

static void g_write_input(bp__pbw *w) /* MatMul(x, w) -> x */
{
    pb_node(w, "MatMul", "mm", "x", "w", "x");
    pb_node(w, "Add", "add", "x", "b", "y");
    inits(w);
}

static void g_write_init(bp__pbw *w) /* MatMul(x, w) -> b, Add(b, b) -> y */
{
    pb_node(w, "MatMul", "mm", "x", "w", "b");
    pb_node(w, "Add", "add", "b", "b", "y");
    inits(w);
}

/* Loads dir/name: must fail with BP_ERR_FORMAT and a message holding each of want[]. */
static void refused(const char *name, const char *const *want, int n_want)
{
    bp_model *m = NULL;
    bp_status st = bp_model_load(&m, at(name), NULL);
    CHECK(st == BP_ERR_FORMAT && !m, "%s: %s (%s)", name, bp_status_name(st),
          st ? bp_last_error() : "loaded");
    for (int i = 0; st && i < n_want; i++)
        CHECK(strstr(bp_last_error(), want[i]), "%s: \"%s\" not in: %s", name, want[i], bp_last_error());
    bp_model_free(m);
}

/* The graph the others break loads, and computes x W + b (by hand: x = [1, 2, 3]
 * gives [2.2, 2.8]): the refusals below are of what they change. */
static void test_hand_built_graph_loads(void)
{
    write_graph("linear.onnx", g_linear, NULL, NULL);
    bp_model *m = NULL;
    CHECK_OK(bp_model_load(&m, at("linear.onnx"), NULL));
    bp_real x[3] = {1, 2, 3}, y[2] = {0, 0};
    if (m) CHECK_OK(bp_model_predict(m, x, 1, 1, y));
    CHECK(fabs(y[0] - 2.2) < 1e-6 && fabs(y[1] - 2.8) < 1e-6, "y = %g %g", (double)y[0], (double)y[1]);
    bp_model_free(m);
}

/* Two initializers named "b": the reader took the last (outputs near 600). */
static void test_duplicate_initializer_refused(void)
{
    write_graph("dup.onnx", g_dup_init, NULL, NULL);
    refused("dup.onnx", (const char *[]){"dup.onnx", "initializer 2 \"b\"", "initializer 1 "}, 3);
}

/* ONNX graphs are SSA: a value written twice (Relu(h) -> h's kind), or a node
 * writing the graph input's or an initializer's name, was read. */
static void test_value_written_twice_refused(void)
{
    write_graph("reuse.onnx", g_reuse, NULL, NULL);
    refused("reuse.onnx", (const char *[]){"node 1 \"add\" (op Add)", "\"h\"", "node 0 \"mm\""}, 3);
    write_graph("input.onnx", g_write_input, NULL, NULL);
    refused("input.onnx", (const char *[]){"node 0 \"mm\" (op MatMul)", "graph input \"x\""}, 2);
    write_graph("init.onnx", g_write_init, NULL, NULL);
    refused("init.onnx", (const char *[]){"node 0 \"mm\" (op MatMul)", "initializer 1 \"b\""}, 2);
}

/* A table model's encoder labels (the order its targets are encoded in) must
 * be the model's labels: swapped ones loaded and scored against the wrong
 * classes, other ones loaded and failed at eval. */
static void test_encoder_labels_must_be_the_models(void)
{
    char enc[512];
    const char *fmt = "{\"version\":1,\"missing\":\"error\",\"impute\":\"mean\",\"task\":"
                      "\"classification\",\"header\":true,\"columns\":["
                      "{\"name\":\"a\",\"role\":\"numeric\",\"fill\":0,\"indicator\":false},"
                      "{\"name\":\"b\",\"role\":\"numeric\",\"fill\":0,\"indicator\":false},"
                      "{\"name\":\"c\",\"role\":\"numeric\",\"fill\":0,\"indicator\":false},"
                      "{\"name\":\"label\",\"role\":\"target\"}],\"targets\":[3],\"labels\":%s}";
    snprintf(enc, sizeof enc, fmt, "[\"big\",\"small\"]");
    write_graph("enc_ok.onnx", g_softmax, "[\"big\",\"small\"]", enc);
    bp_model *m = NULL;
    CHECK_OK(bp_model_load(&m, at("enc_ok.onnx"), NULL));
    CHECK(m && bp_model_encoder(m), "no encoder");
    bp_model_free(m);
    snprintf(enc, sizeof enc, fmt, "[\"small\",\"big\"]");
    write_graph("enc_swapped.onnx", g_softmax, "[\"big\",\"small\"]", enc);
    refused("enc_swapped.onnx", (const char *[]){"metadata \"encoder\"",
                                                 "class label 0 is \"small\" in the encoder",
                                                 "but \"big\" in the model"}, 3);
    snprintf(enc, sizeof enc, fmt, "[\"huge\",\"tiny\"]");
    write_graph("enc_other.onnx", g_softmax, "[\"big\",\"small\"]", enc);
    refused("enc_other.onnx", (const char *[]){"metadata \"encoder\"", "\"huge\""}, 2);
}

int main(void)
{
    if (tmpdir_make("onnx")) return 1;
    bp_set_threads(1);
    RUN(test_round_trip);
    RUN(test_deterministic_and_predicts);
    RUN(test_truncated);
    RUN(test_refuses_values);
    RUN(test_sniffing);
    RUN(test_hand_built_graph_loads);
    RUN(test_duplicate_initializer_refused);
    RUN(test_value_written_twice_refused);
    RUN(test_encoder_labels_must_be_the_models);
    tmpdir_remove();
    return test_summary("test_onnx");
}
