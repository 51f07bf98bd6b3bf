/* gradcheck.c - the notes' "Testing" section: backpropagation against central
 * finite differences (J(θ + h) - J(θ - h)) / 2h, parameter by parameter. */
#include "internal.h"

#include <math.h>
#include <string.h>

static bp_status loss_at(bp_model *m, const bp_real *x, const bp_real *y, int batch, double *j)
{
    bp_real l = 0;
    bp_status st = bp_model_forward(m, x, batch, NULL);
    if (!st) st = bp_model_loss(m, y, batch, &l);
    *j = l;
    return st;
}

/* Which layer and part a flat index belongs to. */
static void locate(const bp_model *m, size_t i, int *layer, int *is_bias)
{
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const bp_layer *L = &m->layers[l];
        if (i < L->b_off + (size_t)L->out) {
            *layer = l;
            *is_bias = i >= L->b_off;
            return;
        }
    }
    BP_ASSERT(0);
}

bp_status bp_gradcheck(bp_model *m, const bp_real *x, const bp_real *y, int batch,
                       double h, double floor, bp_gradcheck_result *res)
{
    if (h <= 0) h = sizeof(bp_real) == sizeof(double) ? 1e-5 : 1e-2;
    if (floor <= 0) floor = 1e-8;
    memset(res, 0, sizeof *res);
    double j;
    bp_status st = loss_at(m, x, y, batch, &j);
    if (!st) st = bp_model_backward(m, y, batch);
    if (st) return st;
    double diff2 = 0, a2 = 0, n2 = 0;
    /* The model's own values: a borrowed layer (bp_model_create_frozen) has no gradient. */
    for (size_t i = 0; i < m->n_params - m->own_off; i++) {
        bp_real saved = m->params[i];
        double jp, jm;
        m->params[i] = (bp_real)(saved + h);
        st = loss_at(m, x, y, batch, &jp);
        m->params[i] = (bp_real)(saved - h);
        if (!st) st = loss_at(m, x, y, batch, &jm);
        m->params[i] = saved;
        if (st) return st;
        /* divide by the step actually taken, which rounding may have changed */
        double num = (jp - jm) / ((double)(bp_real)(saved + h) - (double)(bp_real)(saved - h));
        double ana = m->grads[i];
        double denom = fmax(fmax(fabs(ana), fabs(num)), floor);
        double rel = fabs(ana - num) / denom;
        if (rel > res->max_rel_error || i == 0) {
            res->max_rel_error = rel;
            res->worst_index = m->own_off + i;
            res->worst_analytic = ana;
            res->worst_numeric = num;
        }
        diff2 += (ana - num) * (ana - num), a2 += ana * ana, n2 += num * num;
    }
    locate(m, res->worst_index, &res->worst_layer, &res->worst_is_bias);
    res->grad_norm = sqrt(a2);
    res->norm_rel_error = a2 + n2 > 0 ? sqrt(diff2) / (sqrt(a2) + sqrt(n2)) : 0;
    return BP_OK;
}
