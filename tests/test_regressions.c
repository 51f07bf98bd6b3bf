/* test_regressions.c - every input the fuzzers ever crashed on, and every
 * seed of their corpora, replayed through the fuzz targets' own code
 * (tests/fuzz/fuzz_*.c, included here without their libFuzzer entry point),
 * so that the normal suite (and `make test SANITIZE=1`) keeps them fixed.
 *
 * tests/regressions/{modelfile,csv,idx,onnx}-NAME are the crash inputs, named by
 * what was wrong; the cases below also check the error each one must give.
 * docs/ROBUSTNESS.md lists them with their root causes. */
#define _GNU_SOURCE
#include "test.h"

#include <dirent.h>

#define FUZZ_NO_MAIN
#define FUZZ_ASSERT(cond) CHECK(cond, "fuzz invariant")
#include "fuzz/fuzz_csv.c"
#include "fuzz/fuzz_idx.c"
#include "fuzz/fuzz_modelfile.c"
#include "fuzz/fuzz_onnx.c"

#define TESTS_DIR "tests"

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    *size = 0;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        b = malloc(n > 0 ? (size_t)n : 1);
        rewind(f);
        if (b && n > 0) *size = fread(b, 1, (size_t)n, f);
    }
    if (f) fclose(f);
    return b;
}

/* Runs each file of dir whose name starts with prefix ("" for all) through
 * the target; returns how many it ran. */
static int replay(const char *dir, const char *prefix, void (*target)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t size;
        unsigned char *b = read_file(path, &size);
        CHECK(b != NULL, "cannot read %s", path);
        int failed_before = test_case_failed_;
        test_case_failed_ = 0;
        if (b) target(b, size);
        if (test_case_failed_) fprintf(stderr, "  ^ input %s\n", path);
        test_case_failed_ |= failed_before;
        free(b);
        n++;
    }
    if (d) closedir(d);
    return n;
}

static void test_seed_corpora(void)
{
    CHECK(replay(TESTS_DIR "/fuzz/corpus_modelfile", "", fuzz_modelfile) >= 10, "few model seeds");
    CHECK(replay(TESTS_DIR "/fuzz/corpus_csv", "", fuzz_csv) >= 10, "few CSV seeds");
    CHECK(replay(TESTS_DIR "/fuzz/corpus_idx", "", fuzz_idx) >= 10, "few IDX seeds");
    CHECK(replay(TESTS_DIR "/fuzz/corpus_onnx", "", fuzz_onnx) >= 10, "few ONNX seeds");
}

static void test_crash_inputs(void)
{
    replay(TESTS_DIR "/regressions", "modelfile-", fuzz_modelfile);
    replay(TESTS_DIR "/regressions", "csv-", fuzz_csv);
    replay(TESTS_DIR "/regressions", "idx-", fuzz_idx);
    replay(TESTS_DIR "/regressions", "onnx-", fuzz_onnx);
}

/* A checkpoint must fail to load with BP_ERR_FORMAT and a message holding `text`. */
static void checkpoint_fails(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, TESTS_DIR "/regressions/%s", name);
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_checkpoint_info info;
    bp_status st = bp_checkpoint_load(&m, &o, path, &info, NULL);
    CHECK(st == BP_ERR_FORMAT && strstr(bp_last_error(), text), "%s: %s \"%s\", want \"%s\"",
          name, bp_status_name(st), bp_last_error(), text);
    bp_model_free(m);
    bp_optim_free(o);
}

/* Finding 1: RMSprop's v (a mean of squares) loaded negative, so the first
 * resumed step took sqrt(v < 0) = NaN into the parameters. */
static void test_negative_second_moment(void)
{
    checkpoint_fails("modelfile-negative-v", "optim.v.layers.1.bias\": element 1 is -2013.79");
}

/* Finding 2 (review; the fuzz target's resumed epoch trips UBSan on it): a
 * checkpoint at train.epochs_done 2^31 - 1 resumed, and finishing the next
 * epoch overflowed the int counter. Likewise optim.steps 2^64 - 1 wrapped to
 * step 0, whose bias correction divides by 1 - beta^0 = 0. */
static void test_counters_at_their_maximum(void)
{
    checkpoint_fails("modelfile-epochs-max", "\"train.epochs_done\" is \"2147483647\"");
    checkpoint_fails("modelfile-steps-max", "\"optim.steps\" is \"18446744073709551615\"");
}

/* Finding 5 (review of the checkpoint fields the CLI added; the fuzz target's
 * resume step trips UBSan on it): train.partial_correct = LONG_MAX resumed mid-
 * epoch, and the next batch's correct + c overflowed a long. The sums are now
 * bounded on load: seen <= 2^53, correct <= seen. */
static void test_partial_sums_bounded(void)
{
    checkpoint_fails("modelfile-partial-sums-max", "\"train.partial_seen\" is \"18446744073709551615\"");
    checkpoint_fails("modelfile-partial-correct-over-seen", "more samples correct than seen");
}

/* Finding 3: a CSV value finite as a double but not as a float ("1e308")
 * passed the finiteness check, made in double, and became inf in the float
 * build's data set. Now an error there naming line, column and value; the
 * double build still reads it. */
static void test_csv_value_beyond_float(void)
{
    bp_csv_options o = bp_csv_options_default();
    o.has_target = 0;
    bp_dataset *d = NULL;
    bp_status st = bp_dataset_load_csv(&d, TESTS_DIR "/regressions/csv-float-overflow", &o);
    if (TEST_DOUBLE)
        CHECK(st == BP_OK && bp_dataset_x(d)[0] == 1e308, "%s", bp_last_error());
    else
        CHECK(st == BP_ERR_FORMAT && strstr(bp_last_error(), "csv-float-overflow:1:1: input "
              "column 0: \"1e308\" is out of the range of float32"), "%s", bp_last_error());
    bp_dataset_free(d);
}

/* Finding 6 (fuzz_onnx): a node input with an empty name (ONNX's "omitted")
 * reached memcmp with a NULL pointer (UBSan); names are now compared as
 * slices. This file's graph then has no data input at all. */
static void test_onnx_empty_names(void)
{
    bp_model *m = NULL;
    bp_status st = bp_model_load(&m, TESTS_DIR "/regressions/onnx-empty-name-memcmp", NULL);
    CHECK(st == BP_ERR_FORMAT && strstr(bp_last_error(), "the graph has 0 inputs and 1 outputs"),
          "%s: %s", bp_status_name(st), bp_last_error());
    bp_model_free(m);
}

int main(void)
{
    RUN(test_seed_corpora);
    RUN(test_crash_inputs);
    RUN(test_negative_second_moment);
    RUN(test_counters_at_their_maximum);
    RUN(test_csv_value_beyond_float);
    RUN(test_partial_sums_bounded);
    RUN(test_onnx_empty_names);
    return test_summary("test_regressions");
}
