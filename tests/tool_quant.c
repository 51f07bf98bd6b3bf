/* tool_quant.c - the library's int8 side for tests/test_export_c.py.
 *
 *   tool_quant MODEL CALIB.csv DATA.csv
 *       quantizes MODEL with every sample of CALIB.csv (inputs, then a
 *       target column) and, for every sample of DATA.csv, prints
 *       "xq v v ..." (bp_qmodel_quantize), "yq v v ..." (bp_qmodel_predict_int8)
 *       and "p v v ..." (bp_qmodel_predict, %.9g).
 *   tool_quant MODEL CALIB.csv DATA.csv empty
 *       the same with an empty calibration set: must fail (exit 1).
 */
#include "backprop.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "tool_quant: %s: %s\n", what, bp_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: tool_quant MODEL CALIB.csv DATA.csv [empty]\n");
        return 2;
    }
    bp_model *m = NULL;
    bp_dataset *cal = NULL, *d = NULL;
    bp_qmodel *q = NULL;
    bp_csv_options o = bp_csv_options_default();
    if (bp_model_load(&m, argv[1], NULL)) return fail(argv[1]);
    if (bp_dataset_load_csv(&cal, argv[2], &o)) return fail(argv[2]);
    if (bp_dataset_load_csv(&d, argv[3], &o)) return fail(argv[3]);
    size_t nc = argc > 4 ? 0 : bp_dataset_count(cal);
    if (bp_qmodel_create(&q, m, bp_dataset_x(cal), nc)) return fail("quantize");
    size_t n = bp_dataset_count(d);
    int in = bp_qmodel_inputs(q), k = bp_qmodel_outputs(q);
    int8_t *xq = malloc(n * (size_t)in), *yq = malloc(n * (size_t)k);
    bp_real *p = malloc(n * (size_t)k * sizeof *p);
    if (!xq || !yq || !p) return 1;
    bp_qmodel_quantize(q, bp_dataset_x(d), n, xq);
    bp_qmodel_predict_int8(q, xq, n, yq);
    bp_qmodel_predict(q, bp_dataset_x(d), n, p);
    for (size_t i = 0; i < n; i++) {
        printf("xq");
        for (int j = 0; j < in; j++) printf(" %d", xq[i * in + j]);
        printf("\nyq");
        for (int j = 0; j < k; j++) printf(" %d", yq[i * k + j]);
        printf("\np");
        for (int j = 0; j < k; j++) printf(" %.9g", (double)p[i * k + j]);
        printf("\n");
    }
    free(xq), free(yq), free(p);
    bp_qmodel_free(q);
    bp_dataset_free(cal), bp_dataset_free(d);
    bp_model_free(m);
    return 0;
}
