/* test_task.c - what a model predicts (bp_model_task, bp_model_classes) for
 * every loss x outputs x labels x encoder combination, against a table
 * written out by hand from the rule in include/backprop.h; and the accuracy
 * and loss that follow from it (bp_model_count_correct, bp_model_evaluate,
 * bp_model_evaluate_outputs) against sums worked out here. tests/test_task.py
 * checks that predict, eval, train and the exporters agree. */
#include "test.h"

#include <unistd.h>

static char csv_path[64];

static const char *const two[] = {"no", "yes"};
static const char *const three[] = {"a", "b", "c"};

/* One dense layer: inputs -> k with the output activation out. */
static bp_model *model_of(bp_loss loss, bp_activation out, int k, int inputs)
{
    bp_model_config c = bp_model_config_default();
    c.n_layers = 1, c.sizes[0] = inputs, c.sizes[1] = k, c.act[0] = out, c.loss = loss;
    bp_model *m = NULL;
    CHECK_OK(bp_model_create(&m, &c));
    return m;
}

static const char *task_name(bp_task t)
{
    static const char *const n[] = {"AUTO", "CLASSIFICATION", "REGRESSION", "MULTILABEL"};
    return (unsigned)t < 4 ? n[t] : "?";
}

/* Without an encoder: labels, then the loss. */
static void test_rule_without_encoder(void)
{
#define C BP_TASK_CLASSIFICATION
#define R BP_TASK_REGRESSION
#define M BP_TASK_MULTILABEL
    static const struct {
        bp_loss loss;
        bp_activation out;
        int k, labels; /* labels: 0 none, else that many */
        bp_task task;
        int classes;
    } rows[] = {
        {BP_LOSS_MSE, BP_ACT_IDENTITY, 1, 0, R, 0},
        {BP_LOSS_MSE, BP_ACT_SIGMOID, 1, 0, R, 0},      /* a value in (0, 1) */
        {BP_LOSS_MSE, BP_ACT_IDENTITY, 1, 2, C, 2},
        {BP_LOSS_MSE, BP_ACT_IDENTITY, 3, 0, R, 0},     /* multi-output regression */
        {BP_LOSS_MSE, BP_ACT_SOFTMAX, 3, 0, R, 0},
        {BP_LOSS_MSE, BP_ACT_SOFTMAX, 3, 3, C, 3},      /* the notes: mse on one-hot classes */
        {BP_LOSS_HALF_SSE, BP_ACT_IDENTITY, 1, 0, R, 0}, /* scikit-learn's MLPRegressor */
        {BP_LOSS_HALF_SSE, BP_ACT_IDENTITY, 1, 2, C, 2},
        {BP_LOSS_HALF_SSE, BP_ACT_IDENTITY, 3, 0, R, 0},
        {BP_LOSS_HALF_SSE, BP_ACT_IDENTITY, 3, 3, C, 3},
        {BP_LOSS_BCE, BP_ACT_SIGMOID, 1, 0, C, 2},
        {BP_LOSS_BCE, BP_ACT_SIGMOID, 1, 2, C, 2},
        {BP_LOSS_BCE, BP_ACT_SIGMOID, 3, 0, M, 3},
        {BP_LOSS_BCE, BP_ACT_SIGMOID, 3, 3, C, 3},      /* bce on a class set */
        {BP_LOSS_BCE_SUM, BP_ACT_SIGMOID, 1, 0, C, 2},  /* MLPClassifier, binary */
        {BP_LOSS_BCE_SUM, BP_ACT_SIGMOID, 1, 2, C, 2},
        {BP_LOSS_BCE_SUM, BP_ACT_SIGMOID, 3, 0, M, 3},  /* MLPClassifier, multi-label */
        {BP_LOSS_BCE_SUM, BP_ACT_SIGMOID, 3, 3, C, 3},
        {BP_LOSS_XENT, BP_ACT_SOFTMAX, 2, 0, C, 2},
        {BP_LOSS_XENT, BP_ACT_SOFTMAX, 3, 0, C, 3},
        {BP_LOSS_XENT, BP_ACT_SOFTMAX, 3, 3, C, 3},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bp_model *m = model_of(rows[i].loss, rows[i].out, rows[i].k, 2);
        CHECK(m, "row %zu", i);
        if (!m) continue;
        if (rows[i].labels) CHECK_OK(bp_model_set_labels(m, rows[i].labels, rows[i].labels == 2 ? two : three));
        bp_task t = bp_model_task(m);
        int c = bp_model_classes(m);
        CHECK(t == rows[i].task && c == rows[i].classes, "%s, %s output, %d outputs, %d labels: %s with %d "
              "classes, want %s with %d", bp_loss_name(rows[i].loss), bp_activation_name(rows[i].out),
              rows[i].k, rows[i].labels, task_name(t), c, task_name(rows[i].task), rows[i].classes);
        bp_model_free(m);
    }
#undef C
#undef R
#undef M
}

static bp_encoder *encoder_of(const char *csv, int n_targets, const char *const *targets, int has_target)
{
    FILE *f = fopen(csv_path, "w");
    CHECK(f, "t.csv");
    if (!f) return NULL;
    fputs(csv, f);
    fclose(f);
    bp_table *t = NULL;
    bp_encoder *e = NULL;
    CHECK_OK(bp_table_load_csv(&t, csv_path, -1, 0));
    bp_encode_options o = bp_encode_options_default();
    o.n_targets = n_targets, o.targets = targets, o.has_target = has_target;
    if (t) CHECK_OK(bp_encoder_fit(&e, t, &o, NULL));
    bp_table_free(t);
    return e;
}

/* An encoder with targets decides, whatever the loss; one without falls back to the rule. */
static void test_encoder_decides(void)
{
    snprintf(csv_path, sizeof csv_path, "/tmp/bp_test_task_XXXXXX");
    int fd = mkstemp(csv_path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    static const char *const yz[] = {"y", "z"};
    static const char *const last[] = {"z"};
    bp_encoder *cls = encoder_of("x,w,z\n1,2,a\n2,3,b\n3,1,c\n", 1, last, 1);
    bp_encoder *reg = encoder_of("x,w,z\n1,2,0.5\n2,3,1.5\n3,1,2.5\n", 1, last, 1);
    bp_encoder *ml = encoder_of("x,w,y,z\n1,2,yes,no\n2,3,no,no\n3,1,yes,yes\n", 2, yz, 1);
    bp_encoder *none = encoder_of("x,w\n1,2\n2,3\n3,1\n", 0, NULL, 0);
    static const struct {
        int enc; /* 0 cls, 1 reg, 2 ml, 3 none */
        bp_loss loss;
        bp_activation out;
        int k;
        bp_task task;
        int classes;
    } rows[] = {
        {0, BP_LOSS_XENT, BP_ACT_SOFTMAX, 3, BP_TASK_CLASSIFICATION, 3},
        {0, BP_LOSS_MSE, BP_ACT_IDENTITY, 3, BP_TASK_CLASSIFICATION, 3}, /* mse on the one-hot classes */
        {1, BP_LOSS_MSE, BP_ACT_IDENTITY, 1, BP_TASK_REGRESSION, 0},
        {1, BP_LOSS_HALF_SSE, BP_ACT_IDENTITY, 1, BP_TASK_REGRESSION, 0},
        {1, BP_LOSS_BCE, BP_ACT_SIGMOID, 1, BP_TASK_REGRESSION, 0},     /* a value in (0, 1) */
        {2, BP_LOSS_BCE, BP_ACT_SIGMOID, 2, BP_TASK_MULTILABEL, 2},
        {2, BP_LOSS_MSE, BP_ACT_SIGMOID, 2, BP_TASK_MULTILABEL, 2},
        {3, BP_LOSS_MSE, BP_ACT_IDENTITY, 2, BP_TASK_REGRESSION, 0},
        {3, BP_LOSS_BCE, BP_ACT_SIGMOID, 2, BP_TASK_MULTILABEL, 2},
        {3, BP_LOSS_BCE, BP_ACT_SIGMOID, 1, BP_TASK_CLASSIFICATION, 2},
    };
    const bp_encoder *encs[] = {cls, reg, ml, none};
    CHECK(cls && bp_encoder_task(cls) == BP_TASK_CLASSIFICATION && reg && bp_encoder_task(reg) ==
          BP_TASK_REGRESSION && ml && bp_encoder_task(ml) == BP_TASK_MULTILABEL && none &&
          bp_encoder_task(none) == BP_TASK_AUTO, "the encoders' tasks");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && cls && reg && ml && none; i++) {
        const bp_encoder *e = encs[rows[i].enc];
        bp_model *m = model_of(rows[i].loss, rows[i].out, rows[i].k, bp_encoder_inputs(e));
        CHECK(m, "row %zu", i);
        if (!m) continue;
        CHECK_OK(bp_model_set_encoder(m, e));
        if (rows[i].enc == 2) CHECK_OK(bp_model_set_labels(m, 2, yz)); /* as train gives them */
        bp_task t = bp_model_task(m);
        CHECK(t == rows[i].task && bp_model_classes(m) == rows[i].classes, "row %zu: %s with %d classes", i,
              task_name(t), bp_model_classes(m));
        bp_model_free(m);
    }
    bp_encoder_free(cls), bp_encoder_free(reg), bp_encoder_free(ml), bp_encoder_free(none);
    unlink(csv_path);
}

/* Four samples of two outputs and their targets; the right counts worked out by hand:
 * argmax (ties: the first) 0,1,0,1 vs 0,0,0,1 -> rows 0, 2, 3 right;
 * each output > 0.5: (1,0) (0,1) (1,1) (0,0) vs (1,0) (1,0) (1,1) (0,1) -> rows 0, 2 right. */
static const bp_real P[8] = {0.9, 0.2, 0.3, 0.8, 0.7, 0.6, 0.1, 0.4};
static const bp_real Y[8] = {1, 0, 1, 0, 1, 1, 0, 1};

static void test_accuracy_follows_task(void)
{
    struct {
        bp_loss loss;
        bp_activation out;
        int labels;
        double acc;
    } rows[] = {
        {BP_LOSS_MSE, BP_ACT_IDENTITY, 0, -1},   /* 2-output regression: no accuracy */
        {BP_LOSS_HALF_SSE, BP_ACT_IDENTITY, 0, -1},
        {BP_LOSS_MSE, BP_ACT_IDENTITY, 2, 0.75}, /* classes: argmax */
        {BP_LOSS_XENT, BP_ACT_SOFTMAX, 0, 0.75},
        {BP_LOSS_BCE, BP_ACT_SIGMOID, 0, 0.5},   /* multi-label: every output */
        {BP_LOSS_BCE_SUM, BP_ACT_SIGMOID, 0, 0.5},
        {BP_LOSS_BCE, BP_ACT_SIGMOID, 2, 0.75},  /* bce on a class set: argmax */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bp_model *m = model_of(rows[i].loss, rows[i].out, 2, 2);
        if (!m) continue;
        if (rows[i].labels) CHECK_OK(bp_model_set_labels(m, 2, two));
        double acc = 7;
        CHECK_OK(bp_model_evaluate_outputs(m, P, Y, 4, NULL, &acc));
        CHECK(acc == rows[i].acc, "%s, %d labels: accuracy %g, want %g", bp_loss_name(rows[i].loss),
              rows[i].labels, acc, rows[i].acc);
        /* the same through a forward pass: identity weights, so outputs = inputs (identity output) */
        if (rows[i].out == BP_ACT_IDENTITY) {
            bp_real *w = bp_model_weight(m, 0), *b = bp_model_bias(m, 0);
            w[0] = 1, w[1] = 0, w[2] = 0, w[3] = 1, b[0] = b[1] = 0;
            double loss;
            CHECK_OK(bp_model_evaluate(m, P, Y, 4, 3, &loss, &acc));
            CHECK(acc == rows[i].acc, "evaluate: accuracy %g, want %g", acc, rows[i].acc);
            const bp_real *out;
            CHECK_OK(bp_model_forward(m, P, 4, &out));
            long c = bp_model_count_correct(m, Y, 4);
            CHECK(c == (rows[i].acc < 0 ? -1 : (long)(4 * rows[i].acc)), "count_correct %ld", c);
        }
        bp_model_free(m);
    }
    /* one output: 2 classes, > 0.5 on both sides */
    bp_model *m = model_of(BP_LOSS_BCE_SUM, BP_ACT_SIGMOID, 1, 2);
    const bp_real p1[4] = {0.9, 0.2, 0.6, 0.4}, y1[4] = {1, 1, 1, 0};
    double acc;
    CHECK_OK(bp_model_evaluate_outputs(m, p1, y1, 4, NULL, &acc));
    CHECK(acc == 0.75, "1 output: accuracy %g", acc);
    bp_model_free(m);
}

/* Losses from outputs, against the definitions summed here in double. */
static void test_loss_of_outputs(void)
{
    double hsse = 0, bces = 0, bce = 0, mse = 0, xent = 0;
    for (int i = 0; i < 4; i++) {
        double s2 = 0, sb = 0;
        for (int j = 0; j < 2; j++) {
            double p = P[2 * i + j], y = Y[2 * i + j], d = p - y;
            s2 += d * d;
            sb -= y * log(p) + (1 - y) * log(1 - p);
            xent -= y * log(p); /* P taken as the softmax's probabilities */
        }
        hsse += 0.5 * s2, bces += sb, bce += sb, mse += s2;
    }
    const struct {
        bp_loss loss;
        bp_activation out;
        double want;
    } rows[] = {
        {BP_LOSS_HALF_SSE, BP_ACT_IDENTITY, hsse / 4}, /* mean over samples of 1/2 the sum */
        {BP_LOSS_MSE, BP_ACT_IDENTITY, mse / 8},       /* mean over samples and outputs */
        {BP_LOSS_BCE_SUM, BP_ACT_SIGMOID, bces / 4},   /* summed over outputs */
        {BP_LOSS_BCE, BP_ACT_SIGMOID, bce / 8},
        {BP_LOSS_XENT, BP_ACT_SOFTMAX, xent / 4},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bp_model *m = model_of(rows[i].loss, rows[i].out, 2, 2);
        double loss = -1;
        CHECK_OK(bp_model_evaluate_outputs(m, P, Y, 4, &loss, NULL));
        CHECK_CLOSE(loss, rows[i].want, TEST_DOUBLE ? 1e-12 : 1e-6);
        bp_model_free(m);
    }
    bp_model *m = model_of(BP_LOSS_BCE, BP_ACT_SIGMOID, 2, 2);
    const bp_real sure[2] = {0, 1}, wrong[2] = {1, 0};
    double loss;
    CHECK_OK(bp_model_evaluate_outputs(m, sure, wrong, 1, &loss, NULL));
    CHECK_CLOSE(loss, -log(1e-7), 1e-6); /* probabilities clipped to [1e-7, 1 - 1e-7] */
    CHECK(bp_model_evaluate_outputs(m, sure, wrong, 0, &loss, NULL) == BP_ERR_INVALID, "n = 0");
    CHECK(bp_model_evaluate_outputs(m, NULL, wrong, 1, &loss, NULL) == BP_ERR_INVALID, "NULL outputs");
    bp_model_free(m);
}

int main(void)
{
    RUN(test_rule_without_encoder);
    RUN(test_encoder_decides);
    RUN(test_accuracy_follows_task);
    RUN(test_loss_of_outputs);
    return test_summary("test_task");
}
