/* model_meta.c - what a model carries besides its parameters: the input
 * normalization and the class label names. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bp_status bp_model_set_normalization(bp_model *m, const bp_real *shift, const bp_real *scale)
{
    int n = bp_model_inputs(m);
    if (!shift || !scale) {
        free(m->norm_shift), free(m->norm_scale);
        m->norm_shift = m->norm_scale = NULL;
        return BP_OK;
    }
    for (int i = 0; i < n; i++)
        if (!isfinite(shift[i]) || !isfinite(scale[i]))
            return bp__fail(BP_ERR_INVALID, "normalization: feature %d has a non-finite %s", i,
                            isfinite(shift[i]) ? "scale" : "shift");
    if (!m->norm_shift) {
        bp_real *sh = bp__calloc((size_t)n, sizeof *sh), *sc = bp__calloc((size_t)n, sizeof *sc);
        if (!sh || !sc) {
            free(sh), free(sc);
            return BP_ERR_NOMEM;
        }
        m->norm_shift = sh, m->norm_scale = sc;
    }
    memcpy(m->norm_shift, shift, (size_t)n * sizeof *shift);
    memcpy(m->norm_scale, scale, (size_t)n * sizeof *scale);
    return BP_OK;
}

const bp_real *bp_model_norm_shift(const bp_model *m) { return m->norm_shift; }
const bp_real *bp_model_norm_scale(const bp_model *m) { return m->norm_scale; }

void bp_model_normalize(const bp_model *m, bp_real *x, size_t n)
{
    if (!m->norm_shift) return;
    int k = bp_model_inputs(m);
    for (size_t i = 0; i < n; i++) {
        bp_real *row = x + i * k;
        for (int j = 0; j < k; j++) row[j] = (row[j] - m->norm_shift[j]) * m->norm_scale[j];
    }
}

static void free_labels(bp_model *m)
{
    bp__strings_free(m->labels, m->n_labels);
    m->labels = NULL;
    m->n_labels = 0;
}

void bp__model_free_meta(bp_model *m)
{
    free_labels(m);
    bp_model_set_normalization(m, NULL, NULL);
    bp_encoder_free(m->encoder);
    m->encoder = NULL;
}

bp_status bp_model_set_labels(bp_model *m, int n, const char *const *names)
{
    if (n < 0 || (n > 0 && !names))
        return bp__fail(BP_ERR_INVALID, "labels: n = %d with %s names", n, names ? "some" : "no");
    int k = bp_model_outputs(m);
    if (!bp__labels_fit((size_t)n, k))
        return bp__fail(BP_ERR_INVALID, "labels: %d names for a model with %d outputs (one per "
                        "output, or 2 for a single output)", n, k);
    char **copy;
    bp_status st = bp__strings_copy(&copy, n, names);
    if (st) return st;
    free_labels(m);
    m->labels = copy;
    m->n_labels = n;
    return BP_OK;
}

int bp_model_label_count(const bp_model *m) { return m->n_labels; }
const char *bp_model_label(const bp_model *m, int i)
{
    return i >= 0 && i < m->n_labels ? m->labels[i] : NULL;
}
