/* test_determinism.c - what docs/ROBUSTNESS.md promises: the same seed and
 * thread count give byte-identical model files, through the whole pipeline
 * (split, normalization, initialization, shuffled mini-batch training,
 * saving); a different seed gives a different file. Whether 1 and 2 threads
 * agree is printed, not promised. (Save/load/save identity of model files
 * and checkpoints, and bit-exact resume, are in tests/test_modelfile.c.) */
#include "util.h"

#include <unistd.h>

enum { N = 600, IN = 256, OUT = 10 }; /* big enough for the layers to use 2 threads */
static bp_real X[N * IN], Y[N * OUT];
static char dir[] = "/tmp/bp_test_determinism.XXXXXX";

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = malloc(1 << 20);
    *n = f ? fread(b, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    return b;
}

/* The bytes of the model file a seeded run at `threads` threads saves. */
static unsigned char *run(int threads, uint64_t seed, size_t *size)
{
    bp_set_threads(threads);
    bp_dataset *all = NULL, *train = NULL, *val = NULL;
    CHECK_OK(bp_dataset_create(&all, N, IN, OUT));
    memcpy(bp_dataset_x(all), X, sizeof X);
    memcpy(bp_dataset_y(all), Y, sizeof Y);
    CHECK_OK(bp_dataset_split(&train, &val, all, 0.2, seed));
    bp_real shift[IN], scale[IN];
    CHECK_OK(bp_normalization_compute(train, BP_NORM_STANDARD, shift, scale));
    size_t n = bp_dataset_count(train);
    const int sizes[] = {IN, 256, 64, OUT};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_TANH, BP_ACT_SOFTMAX};
    bp_model *m = make_model(3, sizes, acts, BP_LOSS_XENT, seed);
    CHECK_OK(bp_model_set_normalization(m, shift, scale));
    bp_model_normalize(m, bp_dataset_x(train), n);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = {.batch_size = 50, .shuffle = 1, .seed = seed};
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    for (int e = 0; e < 3; e++) CHECK_OK(bp_trainer_epoch(t, bp_dataset_x(train), bp_dataset_y(train), n, NULL));
    char path[300];
    snprintf(path, sizeof path, "%s/model", dir);
    CHECK_OK(bp_model_save(m, path, NULL));
    unsigned char *b = read_file(path, size);
    unlink(path);
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    bp_dataset_free(all), bp_dataset_free(train), bp_dataset_free(val);
    return b;
}

static bool same(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

static void test_same_seed_same_bytes(void)
{
    size_t n[5];
    unsigned char *a = run(1, 42, &n[0]), *b = run(1, 42, &n[1]), *c = run(1, 43, &n[2]);
    unsigned char *d = run(2, 42, &n[3]), *e = run(2, 42, &n[4]);
    CHECK(n[0] > 1000 && same(a, n[0], b, n[1]), "1 thread: two runs differ");
    CHECK(!same(a, n[0], c, n[2]), "the seed changed nothing");
    CHECK(same(d, n[3], e, n[4]), "2 threads: two runs differ");
    printf("note: 1 and 2 threads give %s files here\n", same(a, n[0], d, n[3]) ? "identical" : "different");
    free(a), free(b), free(c), free(d), free(e);
}

int main(void)
{
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    random_data(X, Y, N, IN, OUT, BP_LOSS_XENT, 5);
    RUN(test_same_seed_same_bytes);
    rmdir(dir);
    return test_summary("test_determinism");
}
