/* make_train_data.c - writes the C header of the on-device fine-tune demo
 * (train_demo.c): a 784-64-10 model trained on the host, its first layer as
 * const arrays (flash), its last layer's starting weights, the model's
 * normalization, and Fashion-MNIST images shifted by SHIFT pixels right and
 * down (a distribution shift the model has not seen): N_FT training images
 * for the fine-tune and N_TEST test images, raw pixels. UNSHIFTED_PERCENT is
 * the host model's accuracy on the same test images unshifted.
 * Runs on the host, with libbackprop.
 *
 *   make_train_data MODEL.safetensors > train_data.h */
#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SIDE = 28, SHIFT = 3, N_FT = 200, N_TEST = 500 };

static int argmax(const bp_real *v, int k)
{
    int c = 0;
    for (int j = 1; j < k; j++)
        if (v[j] > v[c]) c = j;
    return c;
}

static void floats(const char *name, const bp_real *v, size_t n)
{
    printf("static const float %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) printf("%s%a", i % 8 ? ", " : ",\n    " + (i == 0), (double)v[i]);
    printf("};\n");
}

/* The first n images of d shifted by SHIFT pixels right and down (zeros in). */
static void images(const char *name, const bp_dataset *d0, int n)
{
    bp_dataset *d = (bp_dataset *)d0;
    const bp_real *x = bp_dataset_x(d), *y = bp_dataset_y(d);
    printf("static const unsigned char %s_x[%d][%d] = {\n", name, n, SIDE * SIDE);
    for (int i = 0; i < n; i++) {
        printf("    {");
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) {
                int v = r >= SHIFT && c >= SHIFT ? (int)x[(size_t)i * SIDE * SIDE + (r - SHIFT) * SIDE + c - SHIFT] : 0;
                printf("%s%d", r || c ? "," : "", v);
            }
        printf("},\n");
    }
    printf("};\nstatic const unsigned char %s_y[%d] = {", name, n);
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", argmax(y + (size_t)i * 10, 10));
    printf("};\n");
}

int main(int argc, char **argv)
{
    bp_model *m;
    bp_dataset *train, *test;
    if (argc != 2 || bp_model_load(&m, argv[1], NULL) || bp_dataset_load_spec(&train, "fashion-mnist", NULL) ||
        bp_dataset_load_spec(&test, "fashion-mnist:test", NULL)) {
        fprintf(stderr, "make_train_data: %s\n", argc == 2 ? bp_last_error() : "usage: make_train_data MODEL");
        return 1;
    }
    const bp_model_config *c = bp_model_cfg(m);
    if (c->n_layers != 2 || c->sizes[0] != SIDE * SIDE || c->sizes[2] != 10) {
        fprintf(stderr, "make_train_data: expected a 784-H-10 model\n");
        return 1;
    }
    /* The host model's accuracy on the unshifted test images (normalized as it was trained). */
    int right = 0;
    bp_real *x = malloc(sizeof(bp_real) * N_TEST * SIDE * SIDE), out[N_TEST * 10];
    memcpy(x, bp_dataset_x(test), sizeof(bp_real) * N_TEST * SIDE * SIDE);
    bp_model_normalize(m, x, N_TEST);
    if (bp_model_predict(m, x, N_TEST, 100, out)) return 1;
    for (int i = 0; i < N_TEST; i++)
        right += argmax(out + i * 10, 10) == argmax(bp_dataset_y(test) + (size_t)i * 10, 10);
    free(x);

    printf("/* train_data.h - written by make_train_data from %s. */\n", argv[1]);
    printf("#define HIDDEN %d\n#define ACT0 %d\n#define ACT1 %d\n#define LOSS %d\n", c->sizes[1], (int)c->act[0],
           (int)c->act[1], (int)c->loss);
    printf("#define N_FT %d\n#define N_TEST %d\n#define SHIFT %d\n#define UNSHIFTED_PERCENT %.1f\n", N_FT, N_TEST,
           SHIFT, 100.0 * right / N_TEST);
    floats("frozen0", bp_model_weight(m, 0), (size_t)c->sizes[1] * (SIDE * SIDE + 1)); /* W0 then b0 */
    floats("start1", bp_model_weight(m, 1), (size_t)10 * (c->sizes[1] + 1));          /* W1 then b1 */
    const bp_real *shift = bp_model_norm_shift(m), *scale = bp_model_norm_scale(m);
    printf("#define HAS_NORM %d\n", shift != NULL);
    if (shift) floats("norm_shift", shift, SIDE * SIDE), floats("norm_scale", scale, SIDE * SIDE);
    images("ft", train, N_FT);
    images("test", test, N_TEST);
    bp_model_free(m);
    bp_dataset_free(train);
    bp_dataset_free(test);
    return 0;
}
