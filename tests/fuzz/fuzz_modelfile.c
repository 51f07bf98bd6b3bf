/* fuzz_modelfile.c - libFuzzer target: bp_model_load and bp_checkpoint_load
 * on arbitrary bytes. A successful load must give finite parameters and
 * optimizer state, a model that predicts, and (for a checkpoint) a trainer
 * that resumes and runs an epoch leaving the parameters finite or stopping
 * with BP_ERR_NUMERIC.
 *
 * The CRC-32 in the header covers the data section, so a mutated tensor byte
 * would almost always stop at "checksum mismatch": each input is also loaded
 * once more with its checksum recomputed, to reach the checks behind it. */
#include "fuzz.h"

/* Rewrites the 8 hex digits after "crc32:" in the header to the CRC of the
 * data section; false when the bytes have no such field or it is right. */
static int mf_fix_checksum(unsigned char *b, size_t size)
{
    if (size < 8) return 0;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
    if (n > size - 8) return 0;
    unsigned char *h = b + 8, *end = h + n, *p = NULL;
    for (unsigned char *q = h; q + 14 <= end && !p; q++)
        if (memcmp(q, "crc32:", 6) == 0) p = q + 6;
    if (!p) return 0;
    char hex[9];
    snprintf(hex, sizeof hex, "%08lx", crc32_z(crc32_z(0L, Z_NULL, 0), end, b + size - end));
    if (memcmp(p, hex, 8) == 0) return 0;
    memcpy(p, hex, 8);
    return 1;
}

/* Three samples of zeros and ones with a first-class target, valid for every loss. */
static void mf_run_epoch(bp_model *m, bp_optim *o, const bp_checkpoint_info *info)
{
    enum { N = 3 };
    int in = bp_model_inputs(m), out = bp_model_outputs(m);
    bp_real *x = calloc((size_t)N * in, sizeof *x), *y = calloc((size_t)N * out, sizeof *y);
    bp_trainer *t = NULL;
    if (x && y && bp_trainer_create(&t, m, o, &info->train) == BP_OK) {
        for (int i = 0; i < N * in; i++) x[i] = (bp_real)(i % 2);
        for (int i = 0; i < N; i++) y[(size_t)i * out] = 1;
        bp_trainer_resume(t, info);
        bp_status st = bp_trainer_epoch(t, x, y, N, NULL);
        FUZZ_ASSERT(st == BP_OK || st == BP_ERR_NUMERIC || st == BP_ERR_INVALID);
        if (st == BP_OK)
            FUZZ_ASSERT(fuzz_all_finite(bp_model_params(m), bp_model_param_count(m)));
    }
    bp_trainer_free(t);
    free(x), free(y);
}

static void mf_check_model(bp_model *m)
{
    FUZZ_ASSERT(fuzz_all_finite(bp_model_params(m), bp_model_param_count(m)));
    int in = bp_model_inputs(m);
    if (bp_model_norm_shift(m)) {
        FUZZ_ASSERT(fuzz_all_finite(bp_model_norm_shift(m), (size_t)in));
        FUZZ_ASSERT(fuzz_all_finite(bp_model_norm_scale(m), (size_t)in));
    }
    int k = bp_model_label_count(m), out = bp_model_outputs(m);
    FUZZ_ASSERT(k == 0 || k == out || (out == 1 && k == 2));
    for (int i = 0; i < k; i++) FUZZ_ASSERT(bp_model_label(m, i) != NULL);
    bp_real *x = calloc((size_t)in, sizeof *x), *y = calloc((size_t)bp_model_outputs(m), sizeof *y);
    if (x && y) FUZZ_ASSERT(bp_model_predict(m, x, 1, 1, y) == BP_OK);
    free(x), free(y);
}

static void mf_load(const char *path)
{
    bp_model *m = NULL;
    bp_extra *extra = NULL;
    bp_status model_st = bp_model_load(&m, path, &extra);
    FUZZ_ASSERT((model_st == BP_OK) == (m != NULL) && (model_st == BP_OK) == (extra != NULL));
    if (m) mf_check_model(m);
    for (int i = 0; i < bp_extra_count(extra); i++)
        FUZZ_ASSERT(bp_extra_key(extra, i) && bp_extra_value(extra, i));
    bp_model_free(m);
    bp_extra_free(extra);

    bp_optim *o = NULL;
    bp_checkpoint_info info;
    bp_status st = bp_checkpoint_load(&m, &o, path, &info, NULL);
    FUZZ_ASSERT((st == BP_OK) == (m != NULL) && (st == BP_OK) == (o != NULL));
    if (st == BP_OK) {
        FUZZ_ASSERT(model_st == BP_OK); /* a checkpoint is also a model file */
        for (int s = 0; s < bp_optim_state_count(o); s++)
            FUZZ_ASSERT(fuzz_all_finite(bp_optim_state(o, s), bp_model_param_count(m)));
        mf_run_epoch(m, o, &info);
    }
    bp_model_free(m);
    bp_optim_free(o);
}

static void fuzz_modelfile(const uint8_t *data, size_t size)
{
    fuzz_init();
    mf_load(fuzz_file(0, data, size));
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return;
    memcpy(copy, data, size);
    if (mf_fix_checksum(copy, size)) mf_load(fuzz_file(0, copy, size));
    free(copy);
}

FUZZ_ENTRY(fuzz_modelfile)
