/* test_arena.c - training with no heap: bp_alloc_set, bp_arena and
 * bp_train_memory.
 *
 * For each configuration: bp_train_memory's figure, an arena of exactly that
 * size (a heap block of that many bytes, so that AddressSanitizer sees any
 * write past it), and the whole life of a model, optimizer and trainer in it:
 * create, epochs, predict, free. The run must use the arena to its last byte,
 * call malloc not once (counted, outside the sanitizers), and give the same
 * weights, bit for bit, as the same run on the heap; with one byte less, the
 * run must stop with BP_ERR_NOMEM and the arena's message, writing nothing
 * past the end. Frozen layers (train_layers, borrowed ones) must lower the
 * figure. */
#include "count_allocs.h"
#include "test.h"

#include <stdint.h>

static const bp_real X[] = {0, 0, 0, 1, 1, 0, 1, 1}, Y[] = {0, 1, 1, 0};

typedef struct setup {
    const char *name;
    int sizes[4], n_layers;
    bp_optim_kind opt;
    double momentum;
    int batch, shuffle, restore_best, train_layers, frozen, epochs;
    int features; /* train on bp_model_features of the frozen layers */
} setup;

static bp_model_config model_config(const setup *s)
{
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = s->n_layers;
    for (int l = 0; l <= s->n_layers; l++) mc.sizes[l] = s->sizes[l];
    for (int l = 0; l < s->n_layers - 1; l++) mc.act[l] = BP_ACT_TANH;
    mc.act[s->n_layers - 1] = BP_ACT_SIGMOID;
    mc.loss = BP_LOSS_BCE;
    mc.seed = 4;
    return mc;
}

static bp_optim_config optim_config(const setup *s)
{
    bp_optim_config oc = bp_optim_config_default(s->opt);
    oc.lr = s->opt == BP_OPTIM_ADAM ? 0.05 : 0.5;
    oc.momentum = s->momentum;
    return oc;
}

static bp_train_config train_config(const setup *s)
{
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = s->batch;
    tc.shuffle = s->shuffle;
    tc.seed = 9;
    tc.restore_best = s->restore_best;
    tc.train_layers = s->train_layers;
    tc.features = s->features;
    return tc;
}

/* The first `frozen` layers' values of the setup's model, for a borrowed one
 * (stands for const data in flash; made on the heap, before counting). */
static bp_real frozen_values[64];

/* The run's outcome: the first failing status, and the trained weights of the
 * model's own layers and the predictions (when it got that far). */
typedef struct outcome {
    bp_status st;
    char msg[256];
    bp_real params[128];
    size_t n_params;
    bp_real pred[4];
    double accuracy;
} outcome;

static void run(const setup *s, outcome *out)
{
    bp_model_config mc = model_config(s);
    bp_optim_config oc = optim_config(s);
    bp_train_config tc = train_config(s);
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    memset(out, 0, sizeof *out);
    bp_status st = s->frozen ? bp_model_create_frozen(&m, &mc, s->frozen, frozen_values)
                             : bp_model_create(&m, &mc);
    if (!st) st = bp_optim_create(&o, &oc, bp_model_train_param_count(m, s->train_layers));
    if (!st) st = bp_trainer_create(&t, m, o, &tc);
    bp_real h[4 * 8]; /* the features, at most 8 wide */
    if (!st && s->features) st = bp_model_features(m, s->train_layers, X, 4, s->batch, h);
    for (int e = 0; !st && e < s->epochs; e++)
        st = bp_trainer_epoch(t, s->features ? h : X, Y, 4, NULL);
    if (!st) st = bp_model_predict(m, X, 4, s->batch < 4 ? s->batch : 4, out->pred);
    if (!st) st = bp_model_evaluate(m, X, Y, 4, s->batch < 4 ? s->batch : 4, NULL, &out->accuracy);
    if (!st) {
        out->n_params = bp_model_train_param_count(m, 0);
        memcpy(out->params, bp_model_params(m), out->n_params * sizeof(bp_real));
    }
    out->st = st;
    if (st) snprintf(out->msg, sizeof out->msg, "%s", bp_last_error());
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
}

/* The run in an arena of `bytes` (a heap block of exactly that size). */
static void run_in_arena(const setup *s, size_t bytes, outcome *out, size_t *used, long *allocs)
{
    void *buf = NULL;
    CHECK(posix_memalign(&buf, BP_ARENA_ALIGN, bytes ? bytes : 1) == 0, "no block");
    bp_arena arena;
    bp_arena_init(&arena, buf, bytes);
    bp_allocator a = bp_arena_allocator(&arena);
    bp_alloc_set(&a);
    long before = n_allocs;
    run(s, out);
    *allocs = n_allocs - before;
    bp_alloc_set(NULL);
    *used = bp_arena_used(&arena);
    free(buf);
}

static void check_setup(const setup *s)
{
    bp_model_config mc = model_config(s);
    bp_optim_config oc = optim_config(s);
    bp_train_config tc = train_config(s);
    size_t bytes = 0, used = 0;
    long allocs = 0;
    CHECK_OK(bp_train_memory(&mc, s->frozen, &oc, &tc, 4, &bytes));
    CHECK(bytes % BP_ARENA_ALIGN == 0, "%s: %zu bytes", s->name, bytes);
    outcome heap, exact, short1;
    run(s, &heap); /* the reference, and any one-time set-up of the libraries */
    CHECK(heap.st == BP_OK, "%s on the heap: %s", s->name, heap.msg);
    run_in_arena(s, bytes, &exact, &used, &allocs);
    CHECK(exact.st == BP_OK, "%s in %zu bytes: %s", s->name, bytes, exact.msg);
    CHECK(used == bytes, "%s: %zu bytes reported, %zu used", s->name, bytes, used);
#ifdef COUNTING_ALLOCS
    CHECK(allocs == 0, "%s: %ld heap allocations with the arena set", s->name, allocs);
#endif
    CHECK(exact.n_params == heap.n_params &&
          memcmp(exact.params, heap.params, heap.n_params * sizeof(bp_real)) == 0 &&
          memcmp(exact.pred, heap.pred, sizeof heap.pred) == 0,
          "%s: the arena's run differs from the heap's", s->name);
    run_in_arena(s, bytes - 1, &short1, &used, &allocs);
    CHECK(short1.st == BP_ERR_NOMEM, "%s in %zu - 1 bytes: %s", s->name, bytes,
          bp_status_name(short1.st));
    CHECK(strstr(short1.msg, "arena") && strstr(short1.msg, "bp_train_memory"), "%s: '%s'",
          s->name, short1.msg);
    CHECK(used <= bytes - 1, "%s: %zu of %zu - 1 bytes used", s->name, used, bytes);
    printf("     %-28s %6zu bytes, exact; one less: %s\n", s->name, bytes, short1.msg);
}

static const setup setups[] = {
    {"xor 2-4-1 adam shuffled", {2, 4, 1}, 2, BP_OPTIM_ADAM, 0, 4, 1, 0, 0, 0, 300, 0},
    {"2-8-1 sgd in order", {2, 8, 1}, 2, BP_OPTIM_SGD, 0, 3, 0, 0, 0, 0, 20, 0},
    {"2-5-3-1 rmsprop+mom best", {2, 5, 3, 1}, 3, BP_OPTIM_RMSPROP, 0.5, 2, 1, 1, 0, 0, 20, 0},
    {"2-6-4-1 momentum last 1", {2, 6, 4, 1}, 3, BP_OPTIM_MOMENTUM, 0.9, 4, 1, 0, 1, 0, 20, 0},
    {"2-6-4-1 adam borrowed 1", {2, 6, 4, 1}, 3, BP_OPTIM_ADAM, 0, 4, 1, 0, 0, 1, 20, 0},
    {"2-6-4-1 adam borrowed 2", {2, 6, 4, 1}, 3, BP_OPTIM_ADAM, 0, 3, 0, 0, 0, 2, 20, 0},
    {"2-6-4-1 adam on features", {2, 6, 4, 1}, 3, BP_OPTIM_ADAM, 0, 4, 1, 0, 1, 1, 20, 1},
};

static void test_exact_size_suffices_one_byte_less_fails(void)
{
    for (size_t i = 0; i < sizeof setups / sizeof *setups; i++) {
        if (setups[i].frozen) { /* the borrowed layers: an ordinary model's first ones */
            bp_model_config mc = model_config(&setups[i]);
            bp_model *m = NULL;
            CHECK_OK(bp_model_create(&m, &mc));
            if (!m) return;
            memcpy(frozen_values, bp_model_params(m),
                   bp_model_config_param_count(&mc, 0, setups[i].frozen) * sizeof(bp_real));
            bp_model_free(m);
        }
        check_setup(&setups[i]);
    }
#ifndef COUNTING_ALLOCS
    printf("     (heap allocations not counted under a sanitizer)\n");
#endif
}

/* The notes' XOR, trained from scratch in an arena, reaches 100%. */
static void test_xor_learns_in_the_arena(void)
{
    size_t bytes = 0, used = 0;
    long allocs = 0;
    bp_model_config mc = model_config(&setups[0]);
    bp_optim_config oc = optim_config(&setups[0]);
    bp_train_config tc = train_config(&setups[0]);
    CHECK_OK(bp_train_memory(&mc, 0, &oc, &tc, 4, &bytes));
    outcome out;
    run_in_arena(&setups[0], bytes, &out, &used, &allocs);
    CHECK(out.st == BP_OK && out.accuracy == 1.0, "accuracy %g: %s", out.accuracy, out.msg);
    printf("     xor in %zu bytes: predictions %.3f %.3f %.3f %.3f\n", bytes, (double)out.pred[0],
           (double)out.pred[1], (double)out.pred[2], (double)out.pred[3]);
}

/* Frozen layers need less: no optimizer state for them (train_layers), and
 * borrowed ones no parameters or gradients either. */
static void test_frozen_layers_need_less(void)
{
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2, mc.sizes[0] = 784, mc.sizes[1] = 64, mc.sizes[2] = 10;
    mc.act[1] = BP_ACT_SOFTMAX, mc.loss = BP_LOSS_XENT;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 16, tc.shuffle = 0;
    size_t all = 0, last = 0, borrowed = 0;
    CHECK_OK(bp_train_memory(&mc, 0, &oc, &tc, 200, &all));
    tc.train_layers = 1;
    CHECK_OK(bp_train_memory(&mc, 0, &oc, &tc, 200, &last));
    CHECK_OK(bp_train_memory(&mc, 1, &oc, &tc, 200, &borrowed));
    size_t w1 = (size_t)784 * 64 + 64, s = sizeof(bp_real);
    CHECK(last < all && all - last >= 2 * w1 * s, "all %zu, last layer %zu", all, last);
    CHECK(borrowed < last && last - borrowed >= 2 * w1 * s, "last %zu, borrowed %zu", last,
          borrowed);
    printf("     784-64-10 adam batch 16: %zu bytes all layers, %zu the last one, %zu with "
           "the first borrowed\n", all, last, borrowed);
    tc.train_layers = 2;
    CHECK(bp_train_memory(&mc, 1, &oc, &tc, 200, &all) == BP_ERR_INVALID, "a borrowed layer trained");
    CHECK(bp_train_memory(&mc, 0, &oc, &tc, 0, &all) == BP_ERR_INVALID, "no samples");
    oc.lr = -1;
    CHECK(bp_train_memory(&mc, 0, &oc, &tc, 10, &all) == BP_ERR_INVALID, "lr -1");
}

/* An arena never hands out past its end, aligns its pieces and its start. */
static void test_arena_bounds(void)
{
    _Alignas(BP_ARENA_ALIGN) static unsigned char buf[4 * BP_ARENA_ALIGN + 1];
    bp_arena a;
    bp_arena_init(&a, buf + 1, 4 * BP_ARENA_ALIGN); /* loses A - 1 bytes at the start */
    CHECK(a.size == 3 * BP_ARENA_ALIGN + 1, "size %zu", a.size);
    bp_allocator al = bp_arena_allocator(&a);
    void *p = al.alloc(al.ctx, 1, BP_ARENA_ALIGN), *q = al.alloc(al.ctx, 2 * BP_ARENA_ALIGN, 8);
    CHECK(p == buf + BP_ARENA_ALIGN && (uintptr_t)q % 8 == 0, "p %p q %p", p, q);
    CHECK(al.alloc(al.ctx, SIZE_MAX, BP_ARENA_ALIGN) == NULL, "SIZE_MAX given");
    size_t left = a.size - bp_arena_used(&a);
    CHECK(al.alloc(al.ctx, left + 1, 1) == NULL, "past the end given");
    CHECK(strstr(bp_last_error(), "arena"), "%s", bp_last_error());
    CHECK(al.alloc(al.ctx, left, 1) != NULL && bp_arena_used(&a) == a.size, "the last bytes");
    CHECK(al.alloc(al.ctx, 1, 1) == NULL, "a byte past the end given");
    bp_arena_reset(&a);
    CHECK(bp_arena_used(&a) == 0, "reset");
    bp_arena_init(&a, NULL, 100);
    CHECK(a.size == 0 && al.alloc != NULL, "NULL buffer");
}

int main(void)
{
    bp_set_threads(1);
    RUN(test_arena_bounds);
    RUN(test_exact_size_suffices_one_byte_less_fails);
    RUN(test_xor_learns_in_the_arena);
    RUN(test_frozen_layers_need_less);
    return test_summary("test_arena");
}
