/* data_norm.c - the scaling a model's training decides from its data: the
 * input normalization, which leaves the 0/1 inputs of the model's encoder
 * (one-hot categories, missing-value indicators) as they are, and the
 * standardization of regression targets, whose inverse the model takes into
 * its last layer (bp_model_fold_targets) so that it predicts in the
 * target's units. */
#include "encode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bp_model_input_is_binary(const bp_model *m, int i)
{
    const bp_encoder *e = bp_model_encoder(m);
    int c, indicator;
    const char *category;
    if (!e || bp_encoder_input_info(e, i, &c, &category, &indicator)) return 0;
    return category != NULL || indicator;
}

bp_status bp_model_fit_normalization(bp_model *m, bp_dataset *d, bp_norm_kind kind)
{
    int in = bp_model_inputs(m);
    if (bp_dataset_inputs(d) != in)
        return bp__fail(BP_ERR_INVALID, "normalization: the data has %d inputs, the model %d",
                        bp_dataset_inputs(d), in);
    if (kind == BP_NORM_NONE) return bp_model_set_normalization(m, NULL, NULL);
    bp_real *shift = bp__calloc((size_t)in, sizeof *shift), *scale = bp__calloc((size_t)in, sizeof *scale);
    bp_status st = shift && scale ? bp_normalization_compute(d, kind, shift, scale) : BP_ERR_NOMEM;
    /* A one-hot or indicator input keeps its meaning, 0 or 1, as scikit-learn's
     * StandardScaler on numbers beside a OneHotEncoder does; one global range
     * (pixels) is not per input, so it is left whole. */
    for (int j = 0; !st && kind != BP_NORM_GLOBAL && j < in; j++)
        if (bp_model_input_is_binary(m, j)) shift[j] = 0, scale[j] = 1;
    if (!st) st = bp_model_set_normalization(m, shift, scale);
    free(shift), free(scale);
    return st;
}

bp_status bp_dataset_target_stats(bp_dataset *d, bp_real *mean, bp_real *std)
{
    size_t n = bp_dataset_count(d), k = (size_t)bp_dataset_outputs(d);
    const bp_real *y = bp_dataset_y(d);
    if (!y || n == 0)
        return bp__fail(BP_ERR_INVALID, "target standardization: the data has no targets");
    for (size_t j = 0; j < k; j++) {
        double sum = 0, ss = 0;
        for (size_t i = 0; i < n; i++) sum += y[i * k + j];
        double mu = sum / (double)n;
        for (size_t i = 0; i < n; i++) ss += (y[i * k + j] - mu) * (y[i * k + j] - mu);
        double sd = sqrt(ss / (double)n); /* population std, as the inputs' */
        mean[j] = (bp_real)mu;
        std[j] = sd > 0 && isfinite(sd) ? (bp_real)sd : 1; /* a constant target is only shifted */
    }
    return BP_OK;
}

void bp_dataset_standardize_targets(bp_dataset *d, const bp_real *mean, const bp_real *std)
{
    size_t n = bp_dataset_count(d), k = (size_t)bp_dataset_outputs(d);
    bp_real *y = bp_dataset_y(d);
    if (!y) return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++) y[i * k + j] = (y[i * k + j] - mean[j]) / std[j];
}
