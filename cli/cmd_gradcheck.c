/* cmd_gradcheck.c - `backprop gradcheck`: a random model and batch from the
 * architecture options, backpropagation against central finite differences,
 * the largest relative error and where it is; exit 1 above --tol. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>

static const cmd_item items[] = {
    GROUP("Model"), DEF(O_LAYERS, "4,5,3"), DEF(O_ACT, "tanh"), OPT(O_OUT_ACT), OPT(O_LOSS), OPT(O_INIT),
    OPT(O_LEAKY_SLOPE),
    GROUP("Check"), DEF(O_BATCH, "4"), OPT(O_SEED), OPT(O_TOL), OPT(O_STEP), OPT(O_FLOOR), DEF(O_THREADS, "1"),
    END_ITEMS};

const cmd_desc cmd_gradcheck_desc = {
    "gradcheck", "[--layers N,N,...] [--act NAME] [--loss NAME] [--batch M] [options]",
    "check backpropagation against finite differences",
    "Builds a random model (from --seed) and a random batch (inputs uniform in [-1, 1), "
    "targets one-hot for xent, 0/1 for bce and bce_sum, uniform in [0, 1) otherwise), computes "
    "every gradient by backpropagation and by central finite differences (J(w + h) - J(w - h)) / 2h, "
    "and prints the largest relative error |a - n| / max(|a|, |n|, floor) and where it is. "
    "Exits 1 when it exceeds --tol or when the gradient is all zero. The float32 build's "
    "differences are coarse (h = 1e-2, 7 digits), so its defaults are looser: errors "
    "up to 2e-2, denominators from 1e-3. The default activation is tanh because relu's "
    "kink at 0 makes a finite difference wrong wherever a pre-activation lies within h of "
    "0 (likely with h = 1e-2); such a failure is the check's, not backpropagation's.",
    items, cmd_gradcheck};

static void random_batch(bp_real *x, bp_real *y, int m, int in, int out, bp_loss loss, uint64_t seed)
{
    bp_rng r;
    bp_rng_seed(&r, seed ^ 0x9e3779b97f4a7c15u); /* a stream apart from the init's */
    for (long i = 0; i < (long)m * in; i++) x[i] = (bp_real)(2 * bp_rng_uniform(&r) - 1);
    for (int i = 0; i < m; i++) {
        bp_real *yi = y + (size_t)i * out;
        int c = (int)bp_rng_below(&r, (uint64_t)out);
        int binary = loss == BP_LOSS_BCE || loss == BP_LOSS_BCE_SUM;
        for (int j = 0; j < out; j++)
            yi[j] = loss == BP_LOSS_XENT ? (bp_real)(j == c)
                    : binary             ? (bp_real)bp_rng_below(&r, 2)
                                         : (bp_real)bp_rng_uniform(&r);
    }
}

static void print_result(const bp_model_config *mc, const bp_gradcheck_result *res, int batch,
                         size_t n_params, double tol)
{
    char arch[256];
    const bp_model_config *c = mc;
    int l = res->worst_layer, in = c->sizes[l];
    size_t off = 0;
    for (int k = 0; k < l; k++) off += (size_t)c->sizes[k + 1] * (c->sizes[k] + 1);
    size_t i = res->worst_index - off;
    printf("gradcheck %s, batch %d, %zu parameters (%s)\n", cli_arch_text(arch, sizeof arch, c),
           batch, n_params, bp_real_size() == 8 ? "float64" : "float32");
    if (res->worst_is_bias)
        printf("largest relative error %.3g at layer %d bias[%zu]", res->max_rel_error, l + 1,
               i - (size_t)c->sizes[l + 1] * in);
    else
        printf("largest relative error %.3g at layer %d weight[%zu][%zu]", res->max_rel_error,
               l + 1, i / (size_t)in, i % (size_t)in);
    printf(" (backprop %.10g, numeric %.10g)\n", res->worst_analytic, res->worst_numeric);
    printf("relative error of the whole gradient %.3g, gradient norm %.6g, tolerance %g\n",
           res->norm_rel_error, res->grad_norm, tol);
}

int cmd_gradcheck(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_gradcheck_desc, argc, argv);
    bp_model_config mc;
    cli_model_config(&o, KIND_NONE, &mc);
    int m = (int)o.v[O_BATCH].i, in = mc.sizes[0], out = mc.sizes[mc.n_layers];
    if ((double)m * (in > out ? in : out) > 1e8)
        cli_usage(o.cmd, "--batch %d with %d-wide layers is too large for a gradient check", m,
                  in > out ? in : out);
    double tol = o.v[O_TOL].given ? o.v[O_TOL].r : bp_real_size() == 8 ? 1e-6 : 2e-2;
    double h = o.v[O_STEP].given ? o.v[O_STEP].r : 0;
    double floor = o.v[O_FLOOR].given ? o.v[O_FLOOR].r : bp_real_size() == 8 ? 1e-4 : 1e-3;
    bp_set_threads((int)o.v[O_THREADS].i);
    bp_model *model = NULL;
    bp_real *x = calloc((size_t)m * in, sizeof *x), *y = calloc((size_t)m * out, sizeof *y);
    int rc = EXIT_RUNTIME;
    if (!x || !y) {
        cli_error(o.cmd, "out of memory");
        goto done;
    }
    if (bp_model_create(&model, &mc)) {
        cli_fail(o.cmd, NULL);
        goto done;
    }
    random_batch(x, y, m, in, out, mc.loss, o.v[O_SEED].u);
    bp_gradcheck_result res;
    if (bp_gradcheck(model, x, y, m, h, floor, &res)) {
        cli_fail(o.cmd, NULL);
        goto done;
    }
    print_result(&mc, &res, m, bp_model_param_count(model), tol);
    if (res.grad_norm == 0)
        printf("FAIL: the gradient is all zero, so the check proves nothing\n");
    else if (!(res.max_rel_error <= tol))
        printf("FAIL: largest relative error %.3g > --tol %g\n", res.max_rel_error, tol);
    else {
        printf("ok\n");
        rc = 0;
    }
done:
    bp_model_free(model);
    free(x), free(y);
    return rc;
}
