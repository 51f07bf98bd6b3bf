/* test_encode.c - the tabular encoder's library contracts (src/data/data_encode.c,
 * src/io/encoder_json.c): roles, one-hot layout, imputation values computed by
 * hand, missing-value policies, unseen categories, columns by name, the
 * exporters' query, the model file round trip, and the failures the header
 * documents. tests/test_tabular.py compares the same code with scikit-learn. */
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[8][256];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    if (!text) return p; /* the path alone */
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static bp_table *table(const char *name, const char *text)
{
    bp_table *t = NULL;
    CHECK_OK(bp_table_load_csv(&t, write_file(name, text), -1, 0));
    return t;
}

static const char *const train_csv =
    "id,color,size,zip,label\n"
    "1,red,1.0,07,a\n"
    "2,blue,NA,01,b\n"
    "3,red,3.0,07,a\n"
    "4,,5.0,01,b\n"
    "5,green,7.0,07,?\n";

static void test_table(void)
{
    bp_table *t = table("t.csv", train_csv);
    if (!t) return;
    CHECK(bp_table_rows(t) == 5 && bp_table_columns(t) == 5, "%zu x %d", bp_table_rows(t),
          bp_table_columns(t));
    CHECK(strcmp(bp_table_name(t, 1), "color") == 0, "name");
    CHECK(strcmp(bp_table_cell(t, 3, 1), "") == 0 && strcmp(bp_table_cell(t, 1, 2), "NA") == 0, "cells");
    CHECK(bp_table_cell(t, 5, 0) == NULL && bp_table_name(t, 9) == NULL, "out of range");
    CHECK(bp_is_missing("") && bp_is_missing("na") && bp_is_missing("N/a") && bp_is_missing("NAN") &&
          bp_is_missing("Null") && bp_is_missing("?") && !bp_is_missing("0") && !bp_is_missing("none"),
          "missing tokens");
    bp_table_free(t);
    bp_table *r = NULL;
    CHECK(bp_table_load_csv(&r, write_file("ragged.csv", "a,b\n1,2\n3\n"), -1, 0) == BP_ERR_FORMAT &&
          !r && strstr(bp_last_error(), "ragged.csv:3:"), "%s", bp_last_error());
}

/* How the tests encode train_csv: id ignored, zip one-hot, gaps imputed. */
static const char *train_ignored[] = {"id"}, *train_categorical[] = {"zip"};
static bp_encode_options train_options(void)
{
    bp_encode_options o = bp_encode_options_default();
    o.ignore = train_ignored, o.n_ignore = 1;
    o.categorical = train_categorical, o.n_categorical = 1;
    o.missing = BP_MISSING_IMPUTE;
    return o;
}

/* impute: rows with a missing target dropped; size: mean of 1, 3, 5 (row 2's NA
 * excluded, row 5 dropped) = 3 with an indicator; color: blue, missing, red. */
static void test_fit_impute(void)
{
    bp_table *t = table("t.csv", train_csv);
    bp_encode_options o = train_options();
    bp_encoder *e = NULL;
    bp_encode_report rep;
    CHECK_OK(bp_encoder_fit(&e, t, &o, &rep));
    if (!e) return;
    CHECK(rep.rows == 5 && rep.dropped == 1, "rows %zu dropped %zu", rep.rows, rep.dropped);
    /* color: blue, missing, red (3); size: value, indicator (2); zip: 01, 07 (2) */
    CHECK(bp_encoder_inputs(e) == 7 && bp_encoder_outputs(e) == 2, "%d inputs %d outputs",
          bp_encoder_inputs(e), bp_encoder_outputs(e));
    CHECK(bp_encoder_task(e) == BP_TASK_CLASSIFICATION, "task");
    CHECK(bp_encoder_column_role(e, 0) == BP_COLUMN_IGNORED &&
          bp_encoder_column_role(e, 1) == BP_COLUMN_CATEGORICAL &&
          bp_encoder_column_role(e, 2) == BP_COLUMN_NUMERIC &&
          bp_encoder_column_role(e, 3) == BP_COLUMN_CATEGORICAL &&
          bp_encoder_column_role(e, 4) == BP_COLUMN_TARGET, "roles");
    CHECK(bp_encoder_targets(e) == 1 && bp_encoder_target_column(e, 0) == 4 &&
          bp_encoder_target_column(e, 1) == -1, "targets");
    static const char *const want_cat[] = {"blue", "missing", "red", NULL, NULL, "01", "07"};
    static const int want_col[] = {1, 1, 1, 2, 2, 3, 3}, want_ind[] = {0, 0, 0, 0, 1, 0, 0};
    for (int i = 0; i < 7; i++) {
        int col, ind;
        const char *c;
        CHECK_OK(bp_encoder_input_info(e, i, &col, &c, &ind));
        CHECK(col == want_col[i] && ind == want_ind[i] &&
              (want_cat[i] ? c && strcmp(c, want_cat[i]) == 0 : c == NULL),
              "input %d: column %d indicator %d category %s", i, col, ind, c ? c : "-");
    }
    int col, ind;
    const char *c;
    CHECK(bp_encoder_input_info(e, 7, &col, &c, &ind) == BP_ERR_INVALID, "input 7");
    /* the rows of a new file, columns in another order, the ignored one absent */
    bp_table *n = table("new.csv", "label,zip,size,color\nb,01,,blue\na,09,2,purple\n");
    bp_dataset *d = NULL;
    CHECK_OK(bp_encoder_apply(&d, e, n, BP_ENCODE_TARGETS, &rep));
    if (d) {
        static const bp_real want[2][7] = {{1, 0, 0, 3, 1, 1, 0}, {0, 0, 0, 2, 0, 0, 0}};
        const bp_real *x = bp_dataset_x(d), *y = bp_dataset_y(d);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 7; j++)
                CHECK(x[i * 7 + j] == want[i][j], "x[%d][%d] = %g", i, j, (double)x[i * 7 + j]);
        CHECK(y[0] == 0 && y[1] == 1 && y[2] == 1 && y[3] == 0, "one-hot targets");
        CHECK(rep.unknown == 2 && rep.unknown_column == 1 && rep.imputed == 1,
              "unknown %zu in column %d, imputed %zu", rep.unknown, rep.unknown_column, rep.imputed);
        CHECK(bp_dataset_label_count(d) == 2 && strcmp(bp_dataset_label(d, 1), "b") == 0, "labels");
    }
    bp_dataset_free(d);
    CHECK(bp_encoder_apply(&d, e, n, BP_ENCODE_UNKNOWN_ERROR, NULL) == BP_ERR_FORMAT && !d &&
              strstr(bp_last_error(), "new.csv:3:8: column 3 (\"color\"): category \"purple\""),
          "%s", bp_last_error());
    bp_table *no = table("nosize.csv", "color,zip\nred,01\n");
    CHECK(bp_encoder_apply(&d, e, no, 0, NULL) == BP_ERR_FORMAT &&
              strstr(bp_last_error(), "no column \"size\""), "%s", bp_last_error());
    CHECK(bp_encoder_apply(&d, e, no, BP_ENCODE_TARGETS_IF_ANY, NULL) == BP_ERR_FORMAT, "absent input");
    bp_table_free(no);
    /* the model keeps a copy, and its file too */
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 1, mc.sizes[0] = 7, mc.sizes[1] = 2, mc.act[0] = BP_ACT_SOFTMAX;
    mc.loss = BP_LOSS_XENT;
    bp_model *m = NULL, *back = NULL;
    CHECK_OK(bp_model_create(&m, &mc));
    CHECK(bp_model_encode(&d, m, n, 0, NULL) == BP_ERR_INVALID, "no encoder yet");
    CHECK_OK(bp_model_set_encoder(m, e));
    bp_encoder_free(e);
    const char *path = write_file("m.st", "");
    CHECK_OK(bp_model_save(m, path, NULL));
    CHECK_OK(bp_model_load(&back, path, NULL));
    if (back) {
        char *a = bp_encoder_to_json(bp_model_encoder(m)), *b = bp_encoder_to_json(bp_model_encoder(back));
        CHECK(a && b && strcmp(a, b) == 0, "round trip: %s vs %s", a, b);
        free(a), free(b);
        CHECK_OK(bp_model_encode(&d, back, n, BP_ENCODE_TARGETS, NULL));
        CHECK(d && bp_dataset_inputs(d) == 7, "encode after load");
        bp_dataset_free(d);
    }
    mc.sizes[0] = 6;
    bp_model *wrong = NULL;
    CHECK_OK(bp_model_create(&wrong, &mc));
    CHECK(bp_model_set_encoder(wrong, bp_model_encoder(m)) == BP_ERR_INVALID, "input count");
    bp_model_free(wrong);
    bp_model_free(back);
    bp_model_free(m);
    bp_table_free(n);
    bp_table_free(t);
}

static void test_median_and_drop(void)
{
    bp_table *t = table("med.csv", "a,y\n1,0\n10,1\n2,0\nNA,1\n4,1\n");
    bp_encode_options o = bp_encode_options_default();
    o.missing = BP_MISSING_IMPUTE, o.impute_median = 1;
    bp_encoder *e = NULL;
    CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    bp_dataset *d = NULL;
    if (e) CHECK_OK(bp_encoder_apply(&d, e, t, BP_ENCODE_TARGETS, NULL));
    if (d) CHECK(bp_dataset_x(d)[6] == 3 && bp_dataset_x(d)[7] == 1, "median of 1 2 4 10 = 3: %g",
                 (double)bp_dataset_x(d)[6]);
    bp_dataset_free(d);
    bp_encoder_free(e);
    o.missing = BP_MISSING_DROP;
    bp_encode_report rep;
    CHECK_OK(bp_encoder_fit(&e, t, &o, &rep));
    CHECK(rep.dropped == 1 && e && bp_encoder_inputs(e) == 1, "drop: %zu", rep.dropped);
    if (e) {
        CHECK(bp_encoder_apply(&d, e, t, BP_ENCODE_NO_DROP, NULL) == BP_ERR_FORMAT &&
                  strstr(bp_last_error(), "med.csv:5:1"), "%s", bp_last_error());
        CHECK_OK(bp_encoder_apply(&d, e, t, 0, &rep));
        CHECK(d && bp_dataset_count(d) == 4 && rep.dropped == 1, "dropped at apply");
        bp_dataset_free(d);
    }
    bp_encoder_free(e);
    o.missing = BP_MISSING_ERROR;
    CHECK(bp_encoder_fit(&e, t, &o, NULL) == BP_ERR_FORMAT && !e &&
              strstr(bp_last_error(), "med.csv:5:1: input column 0 (\"a\"): missing value \"NA\""),
          "%s", bp_last_error());
    bp_table_free(t);
}

static void test_targets_and_errors(void)
{
    bp_table *t = table("mt.csv", "x,c,r,s,v\n1,u,yes,0,0.5\n2,w,no,1,1.5\n3,u,yes,1,2.5\n");
    const char *ml[] = {"r", "s"}, *reg[] = {"v", "x"}, *bad[] = {"r", "v"}, *ign[] = {"s"};
    bp_encode_options o = bp_encode_options_default();
    o.targets = ml, o.n_targets = 2;
    bp_encoder *e = NULL;
    bp_dataset *d = NULL;
    CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    CHECK(e && bp_encoder_task(e) == BP_TASK_MULTILABEL && bp_encoder_outputs(e) == 2, "multi-label");
    if (e) CHECK_OK(bp_encoder_apply(&d, e, t, BP_ENCODE_TARGETS, NULL));
    if (d) {
        const bp_real *y = bp_dataset_y(d);
        CHECK(y[0] == 1 && y[1] == 0 && y[2] == 0 && y[3] == 1 && y[4] == 1 && y[5] == 1,
              "yes sorts after no; 1 after 0");
    }
    bp_dataset_free(d), bp_encoder_free(e);
    o.targets = reg;
    CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    CHECK(e && bp_encoder_task(e) == BP_TASK_REGRESSION && bp_encoder_outputs(e) == 2 &&
          bp_encoder_target_column(e, 0) == 4 && bp_encoder_target_column(e, 1) == 0, "regression");
    bp_encoder_free(e);
    o.targets = bad;
    CHECK(bp_encoder_fit(&e, t, &o, NULL) == BP_ERR_FORMAT &&
              strstr(bp_last_error(), "some have two values, others are numbers"),
          "%s", bp_last_error());
    o.targets = ml, o.ignore = ign, o.n_ignore = 1;
    CHECK(bp_encoder_fit(&e, t, &o, NULL) == BP_ERR_FORMAT &&
          strstr(bp_last_error(), "both a target and ignored"), "%s", bp_last_error());
    o = bp_encode_options_default();
    o.max_categories = 1;
    const char *t2[] = {"v"};
    o.targets = t2, o.n_targets = 1;
    CHECK(bp_encoder_fit(&e, t, &o, NULL) == BP_ERR_FORMAT &&
          strstr(bp_last_error(), "has 2 categories, more than the limit of 1"), "%s", bp_last_error());
    const char *nope[] = {"nope"};
    o.targets = nope;
    CHECK(bp_encoder_fit(&e, t, &o, NULL) == BP_ERR_FORMAT && strstr(bp_last_error(), "\"nope\""),
          "%s", bp_last_error());
    bp_table_free(t);
    t = table("dup.csv", "a,a,y\n1,2,0\n3,4,1\n");
    o = bp_encode_options_default();
    CHECK(bp_encoder_fit(&e, t, &o, NULL) == BP_ERR_FORMAT &&
          strstr(bp_last_error(), "two columns are named \"a\""), "%s", bp_last_error());
    bp_table_free(t);
    t = table("latin1.csv", "a,c,y\n1,caf\xe9,0\n3,b,1\n");
    CHECK(bp_encoder_fit(&e, t, &o, NULL) == BP_ERR_FORMAT && strstr(bp_last_error(), "UTF-8"),
          "%s", bp_last_error());
    bp_table_free(t);
}

/* The whole file at path (malloc'ed, *n bytes), or NULL. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    *n = 0;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        rewind(f);
        b = len >= 0 ? malloc((size_t)len + 1) : NULL;
        *n = b ? fread(b, 1, (size_t)len, f) : 0;
    }
    if (f) fclose(f);
    return b;
}

static void spill(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n, "write %s", path);
    if (f) fclose(f);
}

/* A copy of safetensors file src at dst with __metadata__ "labels" set to labels. */
static void st_with_labels(const char *src, const char *dst, const char *labels)
{
    size_t n;
    unsigned char *b = slurp(src, &n);
    uint64_t h = 0;
    for (int i = 7; b && n >= 8 && i >= 0; i--) h = h << 8 | b[i];
    json_t *root = b && h <= n - 8 ? json_loadb((const char *)b + 8, (size_t)h, 0, NULL) : NULL;
    json_object_set_new(json_object_get(root, "__metadata__"), "labels", json_string(labels));
    char *hdr = root ? json_dumps(root, JSON_COMPACT) : NULL;
    CHECK(hdr, "patching %s", src);
    if (hdr) {
        size_t hn = strlen(hdr), total = 8 + hn + (n - 8 - (size_t)h);
        unsigned char *out = malloc(total);
        for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)hn >> (8 * i));
        memcpy(out + 8, hdr, hn);
        memcpy(out + 8 + hn, b + 8 + h, n - 8 - (size_t)h);
        spill(dst, out, total);
        free(out);
    }
    free(hdr);
    json_decref(root);
    free(b);
}

/* A copy of ONNX file src at dst with one more metadata_props entry key: value. */
static void onnx_with_entry(const char *src, const char *dst, const char *key, const char *value)
{
    size_t n, kn = strlen(key), vn = strlen(value);
    unsigned char *b = slurp(src, &n);
    if (!b || kn > 100 || vn > 100) return;
    unsigned char *out = malloc(n + 8 + kn + vn), *p = out + n;
    memcpy(out, b, n);
    *p++ = 14 << 3 | 2, *p++ = (unsigned char)(4 + kn + vn); /* ModelProto.metadata_props */
    *p++ = 1 << 3 | 2, *p++ = (unsigned char)kn, memcpy(p, key, kn), p += kn;
    *p++ = 2 << 3 | 2, *p++ = (unsigned char)vn, memcpy(p, value, vn), p += vn;
    spill(dst, out, (size_t)(p - out));
    free(out);
    free(b);
}

/* One check of an encoder against its model, whether it comes from a call
 * or from a file: inputs, outputs, and a classifier's labels. */
static void test_encoder_checked_alike(void)
{
    bp_table *t = table("t.csv", train_csv);
    bp_encode_options o = train_options();
    bp_encoder *e = NULL;
    CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    bp_table_free(t);
    if (!e) return;
    const char *const ab[] = {"a", "b"}, *const xy[] = {"x", "y"};
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 1, mc.sizes[0] = 7, mc.sizes[1] = 3, mc.act[0] = BP_ACT_SOFTMAX;
    mc.loss = BP_LOSS_XENT;
    bp_model *m = NULL;
    /* outputs: 2 classes do not fit 3 outputs */
    CHECK_OK(bp_model_create(&m, &mc));
    CHECK(m && bp_model_set_encoder(m, e) == BP_ERR_INVALID &&
              strstr(bp_last_error(), "2 outputs but the model has 3") && !bp_model_encoder(m),
          "%s", bp_last_error());
    bp_model_free(m), m = NULL;
    /* one sigmoid output takes two classes */
    mc.sizes[1] = 1, mc.act[0] = BP_ACT_SIGMOID, mc.loss = BP_LOSS_BCE;
    CHECK_OK(bp_model_create(&m, &mc));
    if (m) CHECK_OK(bp_model_set_labels(m, 2, ab));
    if (m) CHECK_OK(bp_model_set_encoder(m, e));
    bp_model_free(m), m = NULL;
    /* labels: the model's must be the encoder's, set in either order */
    mc.sizes[1] = 2, mc.act[0] = BP_ACT_SOFTMAX, mc.loss = BP_LOSS_XENT;
    CHECK_OK(bp_model_create(&m, &mc));
    if (!m) return;
    CHECK_OK(bp_model_set_labels(m, 2, xy));
    CHECK(bp_model_set_encoder(m, e) == BP_ERR_INVALID &&
              strstr(bp_last_error(), "class label 0 is \"a\" in the encoder but \"x\" in the model"),
          "%s", bp_last_error());
    char call_reason[300];
    const char *reason = strstr(bp_last_error(), "class label");
    snprintf(call_reason, sizeof call_reason, "%s", reason ? reason : "(no refusal)");
    CHECK_OK(bp_model_set_labels(m, 0, NULL));
    CHECK_OK(bp_model_set_encoder(m, e));
    CHECK(bp_model_set_labels(m, 2, xy) == BP_ERR_INVALID && bp_model_label_count(m) == 0,
          "%s", bp_last_error());
    CHECK_OK(bp_model_set_labels(m, 2, ab));
    /* the same refusal from a model file and from an ONNX file */
    CHECK_OK(bp_model_set_labels(m, 0, NULL));
    const char *st_path = write_file("enc.st", ""), *onnx_path = write_file("enc.onnx", "");
    CHECK_OK(bp_model_save(m, st_path, NULL));
    CHECK_OK(bp_model_save_onnx(m, onnx_path, NULL));
    st_with_labels(st_path, write_file("xy.st", ""), "[\"x\",\"y\"]");
    st_with_labels(st_path, write_file("ab.st", ""), "[\"a\",\"b\"]");
    onnx_with_entry(onnx_path, write_file("xy.onnx", ""), "labels", "[\"x\",\"y\"]");
    bp_model *back = NULL;
    const char *bad[] = {"xy.st", "xy.onnx"}, *where[] = {"__metadata__ \"encoder\"",
                                                        "ONNX metadata \"encoder\""};
    for (int i = 0; i < 2; i++) {
        CHECK(bp_model_load(&back, write_file(bad[i], NULL), NULL) == BP_ERR_FORMAT && !back &&
                  strstr(bp_last_error(), where[i]) && strstr(bp_last_error(), call_reason),
              "%s: %s", bad[i], bp_last_error());
    }
    CHECK_OK(bp_model_load(&back, write_file("ab.st", NULL), NULL));
    CHECK(back && bp_model_encoder(back) && bp_model_label_count(back) == 2, "a, b loads");
    bp_model_free(back);
    bp_model_free(m);
    bp_encoder_free(e);
}

/* Under standard and min-max normalization a model's one-hot and missing-
 * indicator inputs keep shift 0 and scale 1, so that after normalization they
 * are exactly 0 or 1; the numeric value is standardized by hand's figures
 * (size 1, 3, 3, 5 after imputing row 2 with 3: mean 3, std sqrt(2)). */
static void test_norm_keeps_binary(void)
{
    bp_table *t = table("t.csv", train_csv);
    bp_encode_options o = train_options();
    bp_encoder *e = NULL;
    bp_dataset *d = NULL;
    bp_model *m = NULL;
    CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    if (e) CHECK_OK(bp_encoder_apply(&d, e, t, BP_ENCODE_TARGETS, NULL));
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2, mc.sizes[0] = 7, mc.sizes[1] = 4, mc.sizes[2] = 2;
    mc.act[0] = BP_ACT_RELU, mc.act[1] = BP_ACT_SOFTMAX, mc.loss = BP_LOSS_XENT;
    if (d) CHECK_OK(bp_model_create(&m, &mc));
    if (m) CHECK_OK(bp_model_set_encoder(m, e));
    for (int kind = BP_NORM_SCALE; m && kind <= BP_NORM_STANDARD; kind++) {
        CHECK_OK(bp_model_fit_normalization(m, d, (bp_norm_kind)kind));
        const bp_real *sh = bp_model_norm_shift(m), *sc = bp_model_norm_scale(m);
        for (int i = 0; i < 7; i++) {
            int binary = i != 3; /* input 3 is size's value; 4 its indicator */
            CHECK(bp_model_input_is_binary(m, i) == binary, "input %d binary", i);
            if (binary) CHECK(sh[i] == 0 && sc[i] == 1, "kind %d input %d: shift %g scale %g", kind,
                              i, (double)sh[i], (double)sc[i]);
        }
        double want_sh = kind == BP_NORM_STANDARD ? 3 : 1;
        double want_sc = kind == BP_NORM_STANDARD ? 1 / sqrt(2.0) : 0.25;
        CHECK(fabs(sh[3] - want_sh) < 1e-6 && fabs(sc[3] - want_sc) < 1e-6, "size: %g %g",
              (double)sh[3], (double)sc[3]);
        size_t n = bp_dataset_count(d);
        bp_real *x = malloc(n * 7 * sizeof *x);
        memcpy(x, bp_dataset_x(d), n * 7 * sizeof *x);
        bp_model_normalize(m, x, n);
        for (size_t r = 0; r < n; r++)
            for (int i = 0; i < 7; i++)
                if (i != 3)
                    CHECK(x[r * 7 + i] == 0 || x[r * 7 + i] == 1, "row %zu input %d = %.9g after "
                          "normalization", r, i, (double)x[r * 7 + i]);
        free(x);
    }
    /* one global range (pixels) is not per input: it is left whole */
    if (m) CHECK_OK(bp_model_fit_normalization(m, d, BP_NORM_GLOBAL));
    if (m) CHECK(bp_model_norm_scale(m)[0] == bp_model_norm_scale(m)[3], "global");
    bp_model_free(m);
    bp_dataset_free(d);
    bp_encoder_free(e);
    bp_table_free(t);
}

/* Regression targets: their mean and std, standardized in place, and a model
 * whose last layer takes the inverse predicts mean + std * (its output). */
static void test_target_fold(void)
{
    bp_table *t = table("r.csv", "a,b,y\n1,2,10\n2,0,20\n3,1,60\n");
    bp_encoder *e = NULL;
    bp_dataset *d = NULL;
    bp_model *m = NULL;
    bp_encode_options o = bp_encode_options_default();
    o.task = BP_TASK_REGRESSION;
    CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    if (e) CHECK_OK(bp_encoder_apply(&d, e, t, BP_ENCODE_TARGETS, NULL));
    if (!d) goto out;
    bp_real mean, std;
    CHECK_OK(bp_dataset_target_stats(d, &mean, &std));
    double want_sd = sqrt(((10 - 30.0) * (10 - 30.0) + 100 + 900) / 3);
    CHECK(fabs(mean - 30) < 1e-5 && fabs(std - want_sd) < 1e-4, "mean %g std %g", (double)mean,
          (double)std);
    bp_dataset_standardize_targets(d, &mean, &std);
    CHECK(fabs(bp_dataset_y(d)[2] - 30 / want_sd) < 1e-5, "y'[2] = %g", (double)bp_dataset_y(d)[2]);
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2, mc.sizes[0] = 2, mc.sizes[1] = 3, mc.sizes[2] = 1;
    mc.act[0] = BP_ACT_RELU, mc.act[1] = BP_ACT_IDENTITY, mc.loss = BP_LOSS_MSE;
    CHECK_OK(bp_model_create(&m, &mc));
    if (!m) goto out;
    bp_real x[2] = {0.5, -1}, before, after;
    CHECK_OK(bp_model_predict(m, x, 1, 1, &before));
    CHECK_OK(bp_model_fold_targets(m, &mean, &std));
    CHECK_OK(bp_model_predict(m, x, 1, 1, &after));
    CHECK(fabs(after - (mean + std * before)) < 1e-4, "folded %g, want %g", (double)after,
          (double)(mean + std * before));
    bp_real zero = 0;
    CHECK(bp_model_fold_targets(m, &mean, &zero) == BP_ERR_INVALID, "std 0 refused");
out:
    bp_model_free(m);
    bp_dataset_free(d);
    bp_encoder_free(e);
    bp_table_free(t);
}

/* bp_encoder_from_json: what bp_encoder_to_json wrote comes back the same; an
 * encoder of named numeric columns (as backprop.save builds) reads a table by
 * header name in any order; bad text is BP_ERR_FORMAT naming the field. */
static void test_from_json(void)
{
    bp_table *t = table("t.csv", train_csv);
    bp_encode_options o = train_options();
    bp_encoder *e = NULL, *back = NULL;
    CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    char *a = e ? bp_encoder_to_json(e) : NULL;
    CHECK_OK(bp_encoder_from_json(&back, a ? a : ""));
    char *b = back ? bp_encoder_to_json(back) : NULL;
    CHECK(a && b && strcmp(a, b) == 0, "round trip: %s vs %s", a, b);
    free(a), free(b), bp_encoder_free(back), bp_encoder_free(e), bp_table_free(t);

    const char *named = "{\"version\":1,\"missing\":\"error\",\"impute\":\"mean\",\"task\":"
        "\"none\",\"header\":true,\"columns\":[{\"name\":\"b\",\"role\":\"numeric\",\"fill\":0,"
        "\"indicator\":false},{\"name\":\"a\",\"role\":\"numeric\",\"fill\":0,\"indicator\":false}],"
        "\"targets\":[]}";
    CHECK_OK(bp_encoder_from_json(&e, named));
    bp_table *u = table("u.csv", "a,c,b\n1,9,2\n3,9,4\n");
    bp_dataset *d = NULL;
    if (e) CHECK_OK(bp_encoder_apply(&d, e, u, 0, NULL));
    if (d) {
        const bp_real *x = bp_dataset_x(d);
        CHECK(bp_dataset_inputs(d) == 2 && x[0] == 2 && x[1] == 1 && x[2] == 4 && x[3] == 3,
              "columns b, a by name");
    }
    bp_dataset_free(d), bp_encoder_free(e), bp_table_free(u);

    CHECK(bp_encoder_from_json(&e, "{\"version\":1}") == BP_ERR_FORMAT && !e &&
          strstr(bp_last_error(), "encoder"), "%s", bp_last_error());
    CHECK(bp_encoder_from_json(&e, "not json") == BP_ERR_FORMAT && !e, "not JSON");
    CHECK(bp_encoder_from_json(&e, NULL) == BP_ERR_INVALID && !e, "NULL text");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bp-test-encode-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_table);
    RUN(test_fit_impute);
    RUN(test_median_and_drop);
    RUN(test_targets_and_errors);
    RUN(test_encoder_checked_alike);
    RUN(test_norm_keeps_binary);
    RUN(test_target_fold);
    RUN(test_from_json);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_encode");
}
