/* model_task.c - what a model predicts (classes, labels or values), decided
 * once for every front end and exporter, and the accuracy that follows from
 * it. The rule is documented at bp_model_task in include/backprop.h. */
#include "model_meta.h"

#include <stdbool.h>

bp_task bp_model_task(const bp_model *m)
{
    bp_task t = m->encoder ? m->encoder->task : BP_TASK_AUTO;
    if (t != BP_TASK_AUTO) return t; /* AUTO: an encoder without targets */
    if (m->n_labels > 0) return BP_TASK_CLASSIFICATION;
    switch (m->cfg.loss) {
    case BP_LOSS_XENT: return BP_TASK_CLASSIFICATION;
    case BP_LOSS_BCE:
    case BP_LOSS_BCE_SUM:
        return bp_model_outputs(m) == 1 ? BP_TASK_CLASSIFICATION : BP_TASK_MULTILABEL;
    default: return BP_TASK_REGRESSION; /* mse, half_sse */
    }
}

int bp_model_classes(const bp_model *m)
{
    int k = bp_model_outputs(m);
    switch (bp_model_task(m)) {
    case BP_TASK_CLASSIFICATION: return m->n_labels > 0 ? m->n_labels : k == 1 ? 2 : k;
    case BP_TASK_MULTILABEL: return k;
    default: return 0;
    }
}

static int argmax(const bp_real *v, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++) if (v[j] > v[best]) best = j;
    return best;
}

/* Samples of a (rows, k) right against y (rows, k) for task t; -1 for regression. */
static long count_correct(bp_task t, const bp_real *a, const bp_real *y, int rows, int k)
{
    if (t == BP_TASK_REGRESSION) return -1;
    bool thresholded = t == BP_TASK_MULTILABEL || k == 1; /* each output its own 0/1 answer */
    long correct = 0;
    for (int i = 0; i < rows; i++) {
        const bp_real *ai = a + (size_t)i * k, *yi = y + (size_t)i * k;
        bool ok = true;
        if (thresholded)
            for (int j = 0; j < k; j++) ok &= (ai[j] > (bp_real)0.5) == (yi[j] > (bp_real)0.5);
        else
            ok = argmax(ai, k) == argmax(yi, k);
        correct += ok;
    }
    return correct;
}

long bp_model_count_correct(const bp_model *m, const bp_real *y, int batch)
{
    int L = m->cfg.n_layers;
    return count_correct(bp_model_task(m), m->acts[L - 1], y, batch, m->cfg.sizes[L]);
}

bp_status bp_model_evaluate_outputs(const bp_model *m, const bp_real *out, const bp_real *y,
                                    size_t n, double *loss, double *accuracy)
{
    if (n == 0) return bp__fail(BP_ERR_INVALID, "evaluate_outputs: no samples");
    if (!out || !y) return bp__fail(BP_ERR_INVALID, "evaluate_outputs: %s is NULL", out ? "y" : "out");
    enum { CHUNK = 4096 }; /* rows per bp__loss_clipped call: an int */
    int k = bp_model_outputs(m);
    bp_task t = bp_model_task(m);
    double loss_sum = 0;
    long correct = 0;
    for (size_t i = 0; i < n; i += CHUNK) {
        int rows = n - i < CHUNK ? (int)(n - i) : CHUNK;
        const bp_real *a = out + i * k, *yi = y + i * k;
        loss_sum += bp__loss_clipped(m->cfg.loss, a, a, yi, rows, k, 1e-7) * rows;
        long c = count_correct(t, a, yi, rows, k);
        correct = c < 0 || correct < 0 ? -1 : correct + c;
    }
    if (loss) *loss = loss_sum / (double)n;
    if (accuracy) *accuracy = correct < 0 ? -1 : (double)correct / (double)n;
    return BP_OK;
}
