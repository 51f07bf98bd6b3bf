/* fuzz_csv.c - libFuzzer target: bp_dataset_load_csv on arbitrary bytes,
 * under the default options and four other combinations (forced header and
 * a first-column target; no target and ';'; classification into a fixed
 * label list; regression by header name, tab-separated). A successful load
 * must give consistent sizes, finite inputs, and one-hot targets for a
 * classification set. The reader inflates gzip by itself, so gzip seeds
 * fuzz that path too. */
#include "fuzz.h"

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
}

FUZZ_ENTRY(fuzz_csv)
