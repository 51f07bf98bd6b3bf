/* make_images.c - writes the first N images of a data set (default
 * fashion-mnist:test) as a C header for the embedded demo: their raw pixels,
 * their true classes and the class names. Runs on the host, with libbackprop.
 *
 *   make_images [SPEC [N]] > images.h */
#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *spec = argc > 1 ? argv[1] : "fashion-mnist:test";
    int n = argc > 2 ? atoi(argv[2]) : 8;
    bp_dataset *d;
    if (bp_dataset_load_spec(&d, spec, NULL)) {
        fprintf(stderr, "make_images: %s\n", bp_last_error());
        return 1;
    }
    if (n < 1 || (size_t)n > bp_dataset_count(d)) n = (int)bp_dataset_count(d);
    int in = bp_dataset_inputs(d), k = bp_dataset_outputs(d);
    const bp_real *x = bp_dataset_x(d), *y = bp_dataset_y(d);
    printf("/* images.h - the first %d images of %s (make_images), raw pixels. */\n"
           "#define N_IMAGES %d\n#define IMAGE_SIZE %d\n\n"
           "static const unsigned char images[N_IMAGES][IMAGE_SIZE] = {\n", n, spec, n, in);
    for (int i = 0; i < n; i++) {
        printf("    {");
        for (int j = 0; j < in; j++)
            printf("%s%d", j ? (j % 28 ? "," : ",\n     ") : "", (int)x[(size_t)i * in + j]);
        printf("}%s\n", i + 1 < n ? "," : "");
    }
    printf("};\n\nstatic const int truth[N_IMAGES] = {");
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int j = 1; j < k; j++)
            if (y[(size_t)i * k + j] > y[(size_t)i * k + c]) c = j;
        printf("%s%d", i ? ", " : "", c);
    }
    printf("};\n");
    bp_dataset_free(d);
    return 0;
}
