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
    const bp_model_config *ca = bp_model_get_config(a), *cb = bp_model_get_config(b);
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
        bp_meta *extra = NULL, *back_extra = NULL;
        CHECK_OK(bp_meta_create(&extra));
        CHECK_OK(bp_meta_set(extra, "note", "trained on \"x\"\nline 2"));
        CHECK_OK(bp_meta_set(extra, "n", "7"));
        CHECK_OK(bp_model_save_onnx(m, at("rt.onnx"), extra));
        bp_model *r = NULL;
        CHECK_OK(bp_model_load(&r, at("rt.onnx"), &back_extra));
        if (m && r) same_model(m, r, A->name);
        CHECK(bp_meta_count(back_extra) == 2 && strcmp(bp_meta_get(back_extra, "note"), "trained on \"x\"\nline 2") == 0 &&
              strcmp(bp_meta_get(back_extra, "n"), "7") == 0, "%s: extra metadata", A->name);
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
        bp_meta_free(extra), bp_meta_free(back_extra);
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
    bp_meta *extra = NULL;
    CHECK_OK(bp_meta_create(&extra));
    CHECK_OK(bp_meta_set(extra, "k", "\xff"));
    st = bp_model_save_onnx(m, at("keep.onnx"), extra);
    CHECK(st == BP_ERR_INVALID && strstr(bp_last_error(), "UTF-8"), "%s %s", bp_status_name(st), bp_last_error());
    bp_meta_free(extra);
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
    CHECK(st == BP_ERR_FORMAT && strstr(bp_last_error(), "header length"), "%s", bp_last_error());
    write_all(at("empty.onnx"), "", 0);
    st = bp_model_load(&r, at("empty.onnx"), NULL);
    CHECK(st == BP_ERR_FORMAT && r == NULL, "%s", bp_last_error());
    bp_model_free(m);
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
    tmpdir_remove();
    return test_summary("test_onnx");
}
