/* driver.c - the C side of the PyTorch conformance suite (tests/reference/conform.py).
 *
 *   reference_driver pass  MODEL DATA N
 *       one forward and backward pass over all N samples as one batch;
 *   reference_driver train MODEL DATA N key=value ...
 *       trains with bp_trainer_epoch, samples in file order unless shuffle=1, then
 *       one forward pass over all N samples. Keys: opt (a bp_optim_from_name
 *       name), batch, epochs, shuffle, seed (bp_train_config's), and the
 *       bp_optim_config fields lr, momentum,
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
 *   order.E         (train, shuffle=1) the sample order of epoch E (0-based)
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

static void print_real(const char *name, const bp_real *v, size_t n)
{
    printf("%s", name);
    for (size_t j = 0; j < n; j++) printf(" %.17g", (double)v[j]);
    printf("\n");
}

static void print_double(const char *name, const double *v, size_t n)
{
    printf("%s", name);
    for (size_t j = 0; j < n; j++) printf(" %.17g", v[j]);
    printf("\n");
}

/* layers.I.weight and layers.I.bias of every layer (".grad" ones if grads) */
static void print_layers(bp_model *m, int grads)
{
    const bp_model_config *c = bp_model_cfg(m);
    const char *sfx = grads ? ".grad" : "";
    char name[64];
    for (int l = 0; l < c->n_layers; l++) {
        size_t in = (size_t)c->sizes[l], out = (size_t)c->sizes[l + 1];
        snprintf(name, sizeof name, "layers.%d.weight%s", l, sfx);
        print_real(name, grads ? bp_model_weight_grad(m, l) : bp_model_weight(m, l), out * in);
        snprintf(name, sizeof name, "layers.%d.bias%s", l, sfx);
        print_real(name, grads ? bp_model_bias_grad(m, l) : bp_model_bias(m, l), out);
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
    print_real("out", a, (size_t)n * bp_model_outputs(m));
    print_real("loss", &loss, 1);
    return 0;
}

static int one_pass(bp_model *m, const bp_real *x, const bp_real *y, int n)
{
    if (forward_all(m, x, y, n)) return 1;
    if (bp_model_backward(m, y, n)) return fail("backward");
    print_layers(m, 1);
    return 0;
}

/* The sample order of the trainer's next epoch, as src/nn/train.c draws it:
 * Fisher-Yates on the identity with the generator seeded by the train seed,
 * its state carried from epoch to epoch. */
static void next_order(double *order, size_t n, bp_rng *r)
{
    for (size_t i = 0; i < n; i++) order[i] = (double)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)bp_rng_below(r, i + 1);
        double t = order[i];
        order[i] = order[j], order[j] = t;
    }
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
        else if (!strcmp(k, "shuffle")) tc.shuffle = (int)v;
        else if (!strcmp(k, "seed")) tc.seed = strtoull(eq + 1, NULL, 10);
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
    double *order = malloc((size_t)n * sizeof *order), *loss = malloc((size_t)epochs * sizeof *loss);
    bp_rng r;
    bp_rng_seed(&r, tc.seed);
    if (!order || !loss) rc = (fprintf(stderr, "reference_driver: out of memory\n"), 1);
    for (int e = 0; e < epochs && !rc; e++) {
        bp_epoch_stats st;
        if (tc.shuffle) {
            char name[32];
            snprintf(name, sizeof name, "order.%d", e);
            next_order(order, (size_t)n, &r);
            print_double(name, order, (size_t)n);
        }
        if (bp_trainer_epoch(t, x, y, (size_t)n, &st)) rc = fail("epoch");
        loss[e] = st.loss;
    }
    if (!rc) print_double("epoch_loss", loss, (size_t)epochs);
    free(order), free(loss);
    printf("steps %llu\n", (unsigned long long)(o ? bp_optim_steps(o) : 0));
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
