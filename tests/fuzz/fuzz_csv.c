/* fuzz_csv.c - libFuzzer target: bp_dataset_load_csv on arbitrary bytes,
 * under the default options and four other combinations (forced header and
 * a first-column target; no target and ';'; classification into a fixed
 * label list; regression by header name, tab-separated). A successful load
 * must give consistent sizes, finite inputs, and one-hot targets for a
 * classification set. The reader inflates gzip by itself, so gzip seeds
 * fuzz that path too.
 *
 * Then the tabular path: bp_table_load_csv, bp_encoder_fit under five sets
 * of encoder options (categorical, ignored, several targets, missing values
 * as error / impute / drop, a small category cap), the encoder's JSON read
 * back to the same JSON (what a model file stores must load), the encoder
 * copied into a model, and bp_model_encode of the same table and of the
 * table read without a header (columns by position). */
#include "fuzz.h"
#include "encode.h" /* bp__encoder_from_json: the model file's reader */

static void csv_check_set(bp_dataset *d, const bp_csv_options *o)
{
    size_t n = bp_dataset_count(d);
    int in = bp_dataset_inputs(d), out = bp_dataset_outputs(d), k = bp_dataset_label_count(d);
    FUZZ_ASSERT(n >= 1 && in >= 1 && out >= 0);
    FUZZ_ASSERT(fuzz_all_finite(bp_dataset_x(d), n * (size_t)in));
    FUZZ_ASSERT(o->has_target ? out >= 1 : out == 0 && !bp_dataset_y(d));
    FUZZ_ASSERT(k == 0 || k == out);
    if (o->labels) FUZZ_ASSERT(k == o->n_labels);
    for (int j = 0; j < k; j++) FUZZ_ASSERT(bp_dataset_label(d, j) != NULL);
    if (out) FUZZ_ASSERT(fuzz_all_finite(bp_dataset_y(d), n * (size_t)out));
    for (size_t i = 0; k && i < n; i++) {
        const bp_real *y = bp_dataset_y(d) + i * (size_t)k;
        int ones = 0;
        for (int j = 0; j < k; j++) {
            FUZZ_ASSERT(y[j] == 0 || y[j] == 1);
            ones += y[j] == 1;
        }
        FUZZ_ASSERT(ones == 1);
    }
}

/* A successful encoding: sizes as the encoder says, finite inputs, one-hot
 * or 0/1 targets. */
static void encode_check_set(const bp_encoder *e, const bp_dataset *d)
{
    bp_dataset *dd = (bp_dataset *)d;
    size_t n = bp_dataset_count(d);
    int in = bp_dataset_inputs(d), out = bp_dataset_outputs(d);
    FUZZ_ASSERT(n >= 1 && in == bp_encoder_inputs(e));
    FUZZ_ASSERT(out == 0 || out == bp_encoder_outputs(e));
    FUZZ_ASSERT(fuzz_all_finite(bp_dataset_x(dd), n * (size_t)in));
    if (out) FUZZ_ASSERT(fuzz_all_finite(bp_dataset_y(dd), n * (size_t)out));
    bp_task task = bp_encoder_task(e);
    for (size_t i = 0; out && task != BP_TASK_REGRESSION && i < n; i++) {
        const bp_real *y = bp_dataset_y(dd) + i * (size_t)out;
        int ones = 0;
        for (int j = 0; j < out; j++) {
            FUZZ_ASSERT(y[j] == 0 || y[j] == 1);
            ones += y[j] == 1;
        }
        if (task == BP_TASK_CLASSIFICATION) FUZZ_ASSERT(ones == 1);
    }
    for (int i = 0; i < in; i++) {
        int col, ind;
        const char *cat;
        FUZZ_ASSERT(bp_encoder_input_info(e, i, &col, &cat, &ind) == BP_OK);
        FUZZ_ASSERT(col >= 0 && col < bp_encoder_columns(e));
    }
}

static void encode_one(bp_model *m, const bp_table *t, int flags)
{
    bp_dataset *d = (bp_dataset *)1;
    bp_status st = bp_model_encode(&d, m, t, flags, NULL);
    FUZZ_ASSERT((st == BP_OK) == (d != NULL));
    FUZZ_ASSERT(st == BP_OK || st == BP_ERR_FORMAT);
    if (d) encode_check_set(bp_model_encoder(m), d);
    bp_dataset_free(d);
}

/* Whatever fitting makes, the model file's reader takes back unchanged. */
static void json_round_trip(const bp_encoder *e)
{
    char *text = bp_encoder_to_json(e), *again = NULL;
    FUZZ_ASSERT(text != NULL);
    bp_encoder *back = NULL;
    FUZZ_ASSERT(bp__encoder_from_json(&back, text, "fuzz") == BP_OK);
    again = bp_encoder_to_json(back);
    FUZZ_ASSERT(again && strcmp(text, again) == 0);
    free(text), free(again);
    bp_encoder_free(back);
}

/* The encoder copied into a one-layer model with its outputs, then the table
 * encoded by name, and by position when read without a header. */
static void encode_all(const bp_encoder *e, const bp_table *t, const bp_table *raw)
{
    json_round_trip(e);
    bp_model_config mc = bp_model_config_default();
    int outs = bp_encoder_outputs(e);
    mc.n_layers = 1, mc.sizes[0] = bp_encoder_inputs(e), mc.sizes[1] = outs ? outs : 1;
    mc.act[0] = BP_ACT_IDENTITY;
    bp_model *m = NULL;
    if (bp_model_create(&m, &mc)) return; /* out of memory for a huge input count */
    FUZZ_ASSERT(bp_model_set_encoder(m, e) == BP_OK);
    const bp_encoder *copy = bp_model_encoder(m);
    FUZZ_ASSERT(copy && bp_encoder_inputs(copy) == bp_encoder_inputs(e) &&
                bp_encoder_outputs(copy) == bp_encoder_outputs(e));
    encode_one(m, t, BP_ENCODE_TARGETS);
    encode_one(m, t, BP_ENCODE_NO_DROP | BP_ENCODE_UNKNOWN_ERROR);
    if (raw) encode_one(m, raw, BP_ENCODE_TARGETS_IF_ANY);
    bp_model_free(m);
}

static void fuzz_tables(const char *path)
{
    static const char *const t0[] = {"-1"}, *const t2[] = {"-1", "-2"}, *const tyz[] = {"y", "z"};
    static const char *const c0[] = {"0"}, *const ca[] = {"a"}, *const i1[] = {"1"},
                             *const ix[] = {"x"};
    bp_encode_options eo[5];
    for (int i = 0; i < 5; i++) eo[i] = bp_encode_options_default();
    eo[1].missing = BP_MISSING_IMPUTE, eo[1].categorical = c0, eo[1].n_categorical = 1;
    eo[1].ignore = i1, eo[1].n_ignore = 1, eo[1].targets = t0, eo[1].n_targets = 1;
    eo[2].missing = BP_MISSING_DROP, eo[2].targets = t2, eo[2].n_targets = 2;
    eo[2].max_categories = 3;
    eo[3].has_target = 0, eo[3].missing = BP_MISSING_IMPUTE, eo[3].impute_median = 1;
    eo[3].ignore = ix, eo[3].n_ignore = 1, eo[3].categorical = ca, eo[3].n_categorical = 1;
    eo[4].targets = tyz, eo[4].n_targets = 2, eo[4].task = BP_TASK_REGRESSION;
    eo[4].missing = BP_MISSING_IMPUTE;
    bp_table *t = (bp_table *)1, *raw = NULL;
    bp_status st = bp_table_load_csv(&t, path, -1, 0);
    FUZZ_ASSERT((st == BP_OK) == (t != NULL));
    FUZZ_ASSERT(st == BP_OK || st == BP_ERR_FORMAT || st == BP_ERR_IO);
    if (!t) return;
    FUZZ_ASSERT(bp_table_rows(t) >= 1 && bp_table_columns(t) >= 1);
    if (bp_table_load_csv(&raw, path, 0, 0)) raw = NULL;
    for (int i = 0; i < 5; i++) {
        bp_encoder *e = (bp_encoder *)1;
        st = bp_encoder_fit(&e, t, &eo[i], NULL);
        FUZZ_ASSERT((st == BP_OK) == (e != NULL));
        FUZZ_ASSERT(st == BP_OK || st == BP_ERR_FORMAT);
        if (!e) continue;
        FUZZ_ASSERT(bp_encoder_inputs(e) >= 1);
        encode_all(e, t, raw);
        bp_encoder_free(e);
    }
    bp_table_free(raw);
    bp_table_free(t);
}

static void fuzz_csv(const uint8_t *data, size_t size)
{
    fuzz_init();
    static const char *const labels[] = {"0", "1", "a", "b c"};
    bp_csv_options opts[5];
    for (int i = 0; i < 5; i++) opts[i] = bp_csv_options_default();
    opts[1].header = 1, opts[1].target_index = 0, opts[1].max_classes = 3;
    opts[2].has_target = 0, opts[2].delimiter = ';', opts[2].header = 0;
    opts[3].labels = labels, opts[3].n_labels = 4, opts[3].target_index = -2;
    opts[4].task = BP_TASK_REGRESSION, opts[4].target_name = "y", opts[4].delimiter = '\t';
    const char *path = fuzz_file(0, data, size);
    for (int i = 0; i < 5; i++) {
        bp_dataset *d = (bp_dataset *)1;
        bp_status st = bp_dataset_load_csv(&d, path, &opts[i]);
        FUZZ_ASSERT((st == BP_OK) == (d != NULL));
        FUZZ_ASSERT(st == BP_OK || st == BP_ERR_FORMAT || st == BP_ERR_IO);
        if (d) csv_check_set(d, &opts[i]);
        bp_dataset_free(d);
    }
    fuzz_tables(path);
}

FUZZ_ENTRY(fuzz_csv)
