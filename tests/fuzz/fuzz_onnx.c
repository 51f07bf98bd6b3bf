/* fuzz_onnx.c - libFuzzer target: the ONNX reader (src/io/onnx_read.c) on
 * arbitrary bytes, straight from memory (bp_model_load hands it the file's
 * bytes the same way once its first bytes say ONNX, src/io/modelfile_load.c). A successful load must
 * give a valid model: finite parameters and normalization, labels that fit,
 * one predict that runs. (Export and re-import are checked by test_onnx.c:
 * a file written per input would slow the fuzzer a hundredfold.) */
#include "fuzz.h"
#include "onnx.h"

static void ox_check_model(bp_model *m, const bp_extra *extra)
{
    FUZZ_ASSERT(fuzz_all_finite(bp_model_params(m), bp_model_param_count(m)));
    int in = bp_model_inputs(m), out = bp_model_outputs(m);
    if (bp_model_norm_shift(m)) {
        FUZZ_ASSERT(fuzz_all_finite(bp_model_norm_shift(m), (size_t)in));
        FUZZ_ASSERT(fuzz_all_finite(bp_model_norm_scale(m), (size_t)in));
    }
    int k = bp_model_label_count(m);
    FUZZ_ASSERT(k == 0 || k == out || (out == 1 && k == 2));
    for (int i = 0; i < k; i++) FUZZ_ASSERT(bp_model_label(m, i) != NULL);
    for (int i = 0; i < bp_extra_count(extra); i++)
        FUZZ_ASSERT(bp_extra_key(extra, i) && bp_extra_value(extra, i));
    bp_real *x = calloc((size_t)in, sizeof *x), *y = calloc((size_t)out, sizeof *y);
    if (x && y) FUZZ_ASSERT(bp_model_predict(m, x, 1, 1, y) == BP_OK);
    free(x), free(y);
}

static void fuzz_onnx(const uint8_t *data, size_t size)
{
    fuzz_init();
    bp_model *m = NULL;
    bp_extra *extra = NULL;
    bp_status st = bp__onnx_parse(data, size, "fuzz.onnx", &m, &extra);
    FUZZ_ASSERT((st == BP_OK) == (m != NULL) && (st == BP_OK) == (extra != NULL));
    FUZZ_ASSERT(st == BP_OK || st == BP_ERR_FORMAT || st == BP_ERR_NOMEM);
    FUZZ_ASSERT(st == BP_OK || bp_last_error()[0] != '\0');
    if (m) ox_check_model(m, extra);
    bp_model_free(m);
    bp_extra_free(extra);
}

FUZZ_ENTRY(fuzz_onnx)
