/* driver.c - the C side of the PyTorch conformance suite (tests/reference/conform.py).
 *
 *   reference_driver pass  MODEL DATA N
 *       one forward and backward pass over all N samples as one batch;
 *   reference_driver train MODEL DATA N key=value ...
 *       trains with bp_trainer_epoch, samples in file order (no shuffling), then
 *       one forward pass over all N samples. Keys: opt (a bp_optim_from_name
 *       name), batch, epochs, and the bp_optim_config fields lr, momentum,
 *       beta1, beta2, alpha, eps, eps_inside_sqrt, weight_decay, clip_norm
 *       (the kind's defaults for those not given).
 *   reference_driver real
 *       prints the size of bp_real in this build (4 or 8).
 *
 * MODEL is a model file (bp_model_load: architecture, loss, initial weights).
 * DATA holds N rows of inputs then N rows of targets, little-endian float64,
 * converted to bp_real on reading (the script writes values that convert exactly).
 *
 * Output: lines "NAME v v ...", every value printed exactly (%.17g):
 *   out             the outputs of the last forward pass (N, outputs), row-major
 *   loss            its loss
 *   layers.I.weight.grad, layers.I.bias.grad   (pass) the gradients
 *   epoch_loss      (train) each epoch's mean training loss
 *   steps           (train) optimizer steps taken
 *   layers.I.weight, layers.I.bias             (train) the trained parameters */
#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "reference_driver: %s: %s\n", what, bp_last_error());
    return 1;
}

static void print_vec(const char *name, int i, const char *suffix, const bp_real *v, size_t n)
{
    if (i >= 0) printf("layers.%d.%s", i, name);
    else printf("%s", name);
    printf("%s", suffix);
    for (size_t j = 0; j < n; j++) printf(" %.17g", (double)v[j]);
    printf("\n");
}

static void print_layers(bp_model *m, int grads)
{
    const bp_model_config *c = bp_model_get_config(m);
    const char *sfx = grads ? ".grad" : "";
    for (int l = 0; l < c->n_layers; l++) {
        size_t in = (size_t)c->sizes[l], out = (size_t)c->sizes[l + 1];
        print_vec("weight", l, sfx, grads ? bp_model_weight_grad(m, l) : bp_model_weight(m, l), out * in);
        print_vec("bias", l, sfx, grads ? bp_model_bias_grad(m, l) : bp_model_bias(m, l), out);
    }
}

/* Reads n rows of x then n rows of y (float64) into new bp_real buffers. */
static int read_data(const char *path, size_t n, int in, int out, bp_real **x, bp_real **y)
{
    size_t nx = n * in, ny = n * out;
    double *raw = malloc((nx + ny) * sizeof *raw);
    *x = malloc(nx * sizeof **x), *y = malloc(ny * sizeof **y);
    FILE *f = fopen(path, "rb");
    int ok = raw && *x && *y && f && fread(raw, sizeof *raw, nx + ny, f) == nx + ny;
    if (f) fclose(f);
    if (ok) {
        for (size_t i = 0; i < nx; i++) (*x)[i] = (bp_real)raw[i];
        for (size_t i = 0; i < ny; i++) (*y)[i] = (bp_real)raw[nx + i];
    } else {
        fprintf(stderr, "reference_driver: cannot read %zu values from %s\n", nx + ny, path);
    }
    free(raw);
    return ok ? 0 : 1;
}

/* forward over all n samples, then print out and loss */
static int forward_all(bp_model *m, const bp_real *x, const bp_real *y, int n)
{
    const bp_real *a;
    bp_real loss;
    if (bp_model_forward(m, x, n, &a) || bp_model_loss(m, y, n, &loss)) return fail("forward");
    print_vec("out", -1, "", a, (size_t)n * bp_model_outputs(m));
    print_vec("loss", -1, "", &loss, 1);
    return 0;
}

static int one_pass(bp_model *m, const bp_real *x, const bp_real *y, int n)
{
    if (forward_all(m, x, y, n)) return 1;
    if (bp_model_backward(m, y, n)) return fail("backward");
    print_layers(m, 1);
    return 0;
}

static int train(bp_model *m, const bp_real *x, const bp_real *y, int n, int argc, char **argv)
{
    bp_optim_kind kind = BP_OPTIM_SGD;
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "opt=", 4) == 0 && bp_optim_from_name(argv[i] + 4, &kind))
            return fail("opt");
    bp_optim_config oc = bp_optim_config_default(kind);
    bp_train_config tc = bp_train_config_default();
    tc.shuffle = 0;
    int epochs = 1;
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return fprintf(stderr, "reference_driver: '%s' is not key=value\n", argv[i]), 1;
        *eq = 0;
        const char *k = argv[i];
        double v = atof(eq + 1);
        if (!strcmp(k, "opt")) continue;
        else if (!strcmp(k, "batch")) tc.batch_size = (int)v;
        else if (!strcmp(k, "epochs")) epochs = (int)v;
        else if (!strcmp(k, "lr")) oc.lr = v;
        else if (!strcmp(k, "momentum")) oc.momentum = v;
        else if (!strcmp(k, "beta1")) oc.beta1 = v;
        else if (!strcmp(k, "beta2")) oc.beta2 = v;
        else if (!strcmp(k, "alpha")) oc.alpha = v;
        else if (!strcmp(k, "eps")) oc.eps = v;
        else if (!strcmp(k, "eps_inside_sqrt")) oc.eps_inside_sqrt = (int)v;
        else if (!strcmp(k, "weight_decay")) oc.weight_decay = v;
        else if (!strcmp(k, "clip_norm")) oc.clip_norm = v;
        else return fprintf(stderr, "reference_driver: unknown key '%s'\n", k), 1;
    }
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    int rc = 0;
    if (bp_optim_create(&o, &oc, bp_model_param_count(m)) || bp_trainer_create(&t, m, o, &tc))
        rc = fail("create");
    printf("epoch_loss");
    for (int e = 0; e < epochs && !rc; e++) {
        bp_epoch_stats st;
        if (bp_trainer_epoch(t, x, y, (size_t)n, &st)) rc = fail("epoch");
        else printf(" %.17g", st.loss);
    }
    printf("\nsteps %llu\n", (unsigned long long)(o ? bp_optim_steps(o) : 0));
    if (!rc) print_layers(m, 0), rc = forward_all(m, x, y, n);
    bp_trainer_free(t);
    bp_optim_free(o);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "real")) {
        printf("%zu\n", bp_real_size());
        return 0;
    }
    int is_pass = argc == 5 && !strcmp(argv[1], "pass");
    if (!is_pass && !(argc >= 5 && !strcmp(argv[1], "train"))) {
        fprintf(stderr, "usage: reference_driver pass MODEL DATA N\n"
                        "       reference_driver train MODEL DATA N key=value ...\n"
                        "       reference_driver real\n");
        return 2;
    }
    bp_set_threads(1); /* small matrices; the suite runs beside other work */
    bp_model *m = NULL;
    bp_real *x = NULL, *y = NULL;
    int n = atoi(argv[4]), rc;
    if (bp_model_load(&m, argv[2], NULL)) return fail(argv[2]);
    if (n < 1) rc = (fprintf(stderr, "reference_driver: N = %d\n", n), 1);
    else rc = read_data(argv[3], (size_t)n, bp_model_inputs(m), bp_model_outputs(m), &x, &y);
    if (!rc) rc = is_pass ? one_pass(m, x, y, n) : train(m, x, y, n, argc - 5, argv + 5);
    free(x), free(y);
    bp_model_free(m);
    return rc;
}
