/* tool_predict.c - the C side of tests/test_torch_model.py.
 *
 *   tool_predict save FILE SEED SIZES ACTS SLOPE NORM N
 *       creates a model (SIZES "5,8,4", ACTS "relu,softmax", leaky slope SLOPE,
 *       random nonzero biases, input normalization if NORM is 1) from SEED,
 *       saves it to FILE, and prints predictions for N inputs drawn from SEED.
 *   tool_predict load FILE SEED N
 *       loads FILE and prints its predictions for N inputs drawn from SEED.
 *   tool_predict real
 *       prints the size of bp_real in this build (4 or 8).
 *
 * Output: N lines "x v v ..." (the raw inputs), then N lines "y v v ..."
 * (the outputs, normalization applied first), every value exact (%.17g). */
#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "tool_predict: %s: %s\n", what, bp_last_error());
    return 1;
}

/* "5,8,4" and "relu,softmax" into a configuration. */
static int parse_arch(bp_model_config *c, char *sizes, char *acts)
{
    int n = 0;
    for (char *s = strtok(sizes, ","); s && n <= BP_MAX_LAYERS; s = strtok(NULL, ","))
        c->sizes[n++] = atoi(s);
    c->n_layers = n - 1;
    int k = 0;
    for (char *s = strtok(acts, ","); s && k < BP_MAX_LAYERS; s = strtok(NULL, ","))
        if (bp_activation_from_name(s, &c->act[k++])) return fail("activations");
    return k == c->n_layers ? 0 : (fprintf(stderr, "tool_predict: %d activations for %d layers\n",
                                           k, c->n_layers), 1);
}

static bp_model *create(uint64_t seed, char *sizes, char *acts, double slope, int norm)
{
    bp_model_config c = bp_model_config_default();
    c.seed = seed;
    c.leaky_slope = (bp_real)slope;
    bp_model *m = NULL;
    if (parse_arch(&c, sizes, acts)) return NULL;
    if (bp_model_create(&m, &c)) {
        fail("create");
        return NULL;
    }
    /* Initialization zeroes the biases: make them count. */
    bp_rng r;
    bp_rng_seed(&r, seed ^ 0xb1a5);
    for (int l = 0; l < c.n_layers; l++)
        for (int j = 0; j < c.sizes[l + 1]; j++)
            bp_model_bias(m, l)[j] = (bp_real)(0.2 * bp_rng_normal(&r));
    if (norm) {
        bp_real shift[1024], scale[1024];
        for (int j = 0; j < c.sizes[0] && j < 1024; j++)
            shift[j] = (bp_real)(0.1 * j - 0.3), scale[j] = (bp_real)(1.0 + 0.25 * j);
        if (c.sizes[0] > 1024 || bp_model_set_normalization(m, shift, scale)) {
            bp_model_free(m);
            return NULL;
        }
    }
    return m;
}

static void print_rows(const char *tag, const bp_real *v, int n, int k)
{
    for (int i = 0; i < n; i++) {
        printf("%s", tag);
        for (int j = 0; j < k; j++) printf(" %.17g", (double)v[(size_t)i * k + j]);
        printf("\n");
    }
}

/* N inputs uniform in [-2, 2) from seed, their predictions, both printed. */
static int predict(bp_model *m, uint64_t seed, int n)
{
    int in = bp_model_inputs(m), out = bp_model_outputs(m);
    bp_real *x = calloc((size_t)n * in, sizeof *x), *xn = calloc((size_t)n * in, sizeof *x);
    bp_real *y = calloc((size_t)n * out, sizeof *y);
    bp_rng r;
    bp_rng_seed(&r, seed + 1);
    for (size_t i = 0; i < (size_t)n * in; i++) xn[i] = x[i] = (bp_real)(4 * bp_rng_uniform(&r) - 2);
    bp_model_normalize(m, xn, (size_t)n);
    int rc = bp_model_predict(m, xn, (size_t)n, 0, y) ? fail("predict") : 0;
    if (!rc) print_rows("x", x, n, in), print_rows("y", y, n, out);
    free(x), free(xn), free(y);
    return rc;
}

int main(int argc, char **argv)
{
    bp_model *m = NULL;
    int rc;
    if (argc == 9 && strcmp(argv[1], "save") == 0) {
        uint64_t seed = strtoull(argv[3], NULL, 10);
        if (!(m = create(seed, argv[4], argv[5], atof(argv[6]), atoi(argv[7])))) return 1;
        rc = bp_model_save(m, argv[2], NULL) ? fail(argv[2]) : predict(m, seed, atoi(argv[8]));
    } else if (argc == 2 && strcmp(argv[1], "real") == 0) {
        printf("%zu\n", bp_real_size());
        return 0;
    } else if (argc == 5 && strcmp(argv[1], "load") == 0) {
        if (bp_model_load(&m, argv[2], NULL)) return fail(argv[2]);
        rc = predict(m, strtoull(argv[3], NULL, 10), atoi(argv[4]));
    } else {
        fprintf(stderr, "usage: tool_predict save FILE SEED SIZES ACTS SLOPE NORM N\n"
                        "       tool_predict load FILE SEED N\n"
                        "       tool_predict real\n");
        return 2;
    }
    bp_model_free(m);
    return rc;
}
