/* cmd_eval.c - `backprop eval`: a model's loss on a data set and, for a
 * classifier, accuracy, per-class precision / recall / F1 and the confusion
 * matrix; for a regression model MSE, MAE and R^2 per output. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cmd_item items[] = {
    OPT(O_MODEL), OPT(O_DATA), OPT(O_TARGET), OPT(O_NO_HEADER), OPT(O_HEADER), OPT(O_UNKNOWN), OPT(O_JSON),
    DEF(O_BATCH, "256"), OPT(O_THREADS), GROUP("int8"), OPT(O_QUANTIZE), OPT(O_CALIBRATE),
    OPT(O_CALIBRATE_SAMPLES), END_ITEMS};

const cmd_desc cmd_eval_desc = {
    "eval", "--model FILE --data SPEC [--json]",
    "evaluate a model on a data set",
    "Reads the data with the model's class labels and input normalization, and prints the "
    "mean loss; for a classifier the accuracy, each class's precision, recall, F1 and support, "
    "and the confusion matrix (rows: true class, columns: predicted class); for a regression "
    "model the root mean squared error, mean squared and absolute errors and R^2 of each "
    "output; for a multi-label model (several two-valued targets) each label's precision, "
    "recall, F1 and support, and the subset accuracy (every label right). A CSV is read "
    "through the model's encoder, its columns found by name. --json prints the same as one "
    "JSON object. --quantize int8 --calibrate SPEC reports the int8 model that `backprop "
    "export --quantize int8` writes, computed by the library's integer arithmetic (its loss "
    "from the int8 outputs, probabilities clamped to [1e-7, 1 - 1e-7]).",
    items, cmd_eval};

typedef struct eval {
    bp_model *model;
    bp_dataset *data;
    bp_real *pred;      /* (n, outputs) */
    size_t n;
    int k;              /* model outputs */
    double loss, acc;
    int classes;        /* 0: regression */
    int multilabel;     /* several sigmoid outputs, one per two-valued target column */
    long *confusion;    /* (classes, classes): [true][predicted] */
    bp_qmodel *q;       /* --quantize int8: the int8 model, NULL for float */
} eval;

static int argmax(const bp_real *v, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

static int class_of(const bp_real *v, int k) { return k == 1 ? v[0] > (bp_real)0.5 : argmax(v, k); }

static const char *label(const eval *e, int c, char *buf, size_t len)
{
    const char *l = bp_model_label(e->model, c);
    if (l) return l;
    snprintf(buf, len, "%d", c);
    return buf;
}

/* x holds the raw inputs; the float model gets them normalized. */
static int compute(eval *e, const char *cmd, int batch)
{
    bp_real *x = bp_dataset_x(e->data), *y = bp_dataset_y(e->data);
    e->pred = malloc(e->n * (size_t)e->k * sizeof *e->pred);
    if (!e->pred) return cli_error(cmd, "out of memory");
    if (e->q) { /* int8: quantizes the raw inputs itself; loss and accuracy from its outputs */
        bp_qmodel_predict(e->q, x, e->n, e->pred);
        int rc = cli_check_finite(cmd, "int8", e->pred, e->n, e->k);
        if (rc) return rc;
        if (bp_model_evaluate_outputs(e->model, e->pred, y, e->n, &e->loss, &e->acc))
            return cli_fail(cmd, NULL);
    } else {
        bp_model_normalize(e->model, x, e->n);
        if (bp_model_evaluate(e->model, x, y, e->n, batch, &e->loss, &e->acc) ||
            bp_model_predict(e->model, x, e->n, batch, e->pred))
            return cli_fail(cmd, NULL);
    }
    e->classes = bp_model_classes(e->model);
    if (!e->classes || e->multilabel) return 0;
    e->confusion = calloc((size_t)e->classes * (size_t)e->classes, sizeof *e->confusion);
    if (!e->confusion) return cli_error(cmd, "out of memory");
    for (size_t i = 0; i < e->n; i++) {
        int t = class_of(y + i * e->k, e->k), p = class_of(e->pred + i * e->k, e->k);
        if (t < e->classes && p < e->classes) e->confusion[t * e->classes + p]++;
    }
    return 0;
}

/* Precision, recall, F1 and support of class c (0 where undefined, as scikit-learn). */
static void class_stats(const eval *e, int c, double *p, double *r, double *f1, long *support)
{
    long tp = e->confusion[c * e->classes + c], pred = 0, real = 0;
    for (int j = 0; j < e->classes; j++) {
        pred += e->confusion[j * e->classes + c];
        real += e->confusion[c * e->classes + j];
    }
    *p = pred ? (double)tp / (double)pred : 0;
    *r = real ? (double)tp / (double)real : 0;
    *f1 = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
    *support = real;
}

/* Multi-label: precision, recall, F1 and support (positives) of output j,
 * each output thresholded at 0.5 (0 where undefined, as scikit-learn). */
static void label_stats(const eval *e, int j, double *p, double *r, double *f1, long *support)
{
    const bp_real *y = bp_dataset_y(e->data);
    long tp = 0, pred = 0, real = 0;
    for (size_t i = 0; i < e->n; i++) {
        int t = y[i * e->k + j] > (bp_real)0.5, q = e->pred[i * e->k + j] > (bp_real)0.5;
        tp += t && q, pred += q, real += t;
    }
    *p = pred ? (double)tp / (double)pred : 0;
    *r = real ? (double)tp / (double)real : 0;
    *f1 = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
    *support = real;
}

/* Squared and absolute error sums and R^2 of output j. */
static void output_stats(const eval *e, int j, double *mse, double *mae, double *r2)
{
    const bp_real *y = bp_dataset_y(e->data);
    double mean = 0, sse = 0, sae = 0, sst = 0;
    for (size_t i = 0; i < e->n; i++) mean += y[i * e->k + j];
    mean /= (double)e->n;
    for (size_t i = 0; i < e->n; i++) {
        double t = y[i * e->k + j], d = e->pred[i * e->k + j] - t;
        sse += d * d, sae += fabs(d), sst += (t - mean) * (t - mean);
    }
    *mse = sse / (double)e->n, *mae = sae / (double)e->n;
    *r2 = sst > 0 ? 1 - sse / sst : NAN;
}

/* The name of output j: its target column when the model has an encoder. */
static const char *output_name(const eval *e, int j, char *buf, size_t len)
{
    const bp_encoder *enc = bp_model_encoder(e->model);
    int c = enc ? bp_encoder_target_column(enc, j) : -1;
    if (c >= 0 && bp_encoder_task(enc) == BP_TASK_REGRESSION) return bp_encoder_column_name(enc, c);
    snprintf(buf, len, "%d", j);
    return buf;
}

/* ---------------------------------------------------------------- text */

static void print_classes(const eval *e)
{
    char buf[32];
    double sp = 0, sr = 0, sf = 0;
    printf("\n%-20s %9s %7s %7s %8s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < e->classes; c++) {
        double p, r, f;
        long s;
        class_stats(e, c, &p, &r, &f, &s);
        sp += p, sr += r, sf += f;
        printf("%-20.20s %9.3f %7.3f %7.3f %8ld\n", label(e, c, buf, sizeof buf), p, r, f, s);
    }
    printf("%-20s %9.3f %7.3f %7.3f %8zu\n", "macro average", sp / e->classes, sr / e->classes,
           sf / e->classes, e->n);
    int w = 5;
    for (size_t n = e->n; n >= 10000; n /= 10) w++;
    printf("\nconfusion matrix (rows: true class, columns: predicted class)\n%-20s", "");
    for (int c = 0; c < e->classes; c++) printf(" %*d", w, c);
    putchar('\n');
    for (int t = 0; t < e->classes; t++) {
        char head[64];
        snprintf(head, sizeof head, "%d %s", t, label(e, t, buf, sizeof buf));
        printf("%-20.20s", head);
        for (int p = 0; p < e->classes; p++) printf(" %*ld", w, e->confusion[t * e->classes + p]);
        putchar('\n');
    }
}

static void print_labels(const eval *e)
{
    char buf[32];
    printf("\n%-20s %9s %7s %7s %8s\n", "label", "precision", "recall", "f1", "support");
    for (int j = 0; j < e->k; j++) {
        double p, r, f;
        long s;
        label_stats(e, j, &p, &r, &f, &s);
        printf("%-20.20s %9.3f %7.3f %7.3f %8ld\n", label(e, j, buf, sizeof buf), p, r, f, s);
    }
}

static void print_text(const eval *e, const cli_opts *o)
{
    char arch[256];
    printf("model %s: %s%s\n", o->v[O_MODEL].s,
           cli_arch_text(arch, sizeof arch, bp_model_cfg(e->model)),
           e->q ? ", int8 (quantized with --calibrate)" : "");
    printf("data %s: %zu samples\n", o->v[O_DATA].s, e->n);
    printf("loss %.6g\n", e->loss);
    if (e->acc >= 0)
        printf("%saccuracy %.2f%% (%.0f of %zu)\n", e->multilabel ? "subset " : "", 100 * e->acc,
               e->acc * (double)e->n, e->n);
    if (e->multilabel) {
        print_labels(e);
        return;
    }
    if (e->classes) {
        print_classes(e);
        return;
    }
    printf("\n%-20s %12s %12s %12s %12s\n", "output", "rmse", "mse", "mae", "r2");
    for (int j = 0; j < e->k; j++) {
        double mse, mae, r2;
        char name[32];
        output_stats(e, j, &mse, &mae, &r2);
        printf("%-20.20s %12.6g %12.6g %12.6g %12.6g\n", output_name(e, j, name, sizeof name),
               sqrt(mse), mse, mae, r2);
    }
}

/* ---------------------------------------------------------------- json */

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *classes_json(const eval *e)
{
    char buf[32];
    json_t *a = json_array(), *m = json_array();
    for (int c = 0; c < e->classes; c++) {
        double p, r, f;
        long s;
        class_stats(e, c, &p, &r, &f, &s);
        json_array_append_new(a, json_pack("{s:s, s:f, s:f, s:f, s:I}", "label",
                                           label(e, c, buf, sizeof buf), "precision", p, "recall", r,
                                           "f1", f, "support", (json_int_t)s));
        json_t *row = json_array();
        for (int q = 0; q < e->classes; q++)
            json_array_append_new(row, json_integer(e->confusion[c * e->classes + q]));
        json_array_append_new(m, row);
    }
    return json_pack("{s:o, s:o}", "classes", a, "confusion", m);
}

static json_t *outputs_json(const eval *e)
{
    json_t *a = json_array();
    for (int j = 0; j < e->k; j++) {
        double mse, mae, r2;
        output_stats(e, j, &mse, &mae, &r2);
        char name[32];
        json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:o, s:o}", "name",
                                           output_name(e, j, name, sizeof name), "rmse",
                                           num(sqrt(mse)), "mse", num(mse), "mae", num(mae),
                                           "r2", num(r2)));
    }
    return a;
}

static void print_json(const eval *e, const cli_opts *o)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:o}", "model", o->v[O_MODEL].s, "data",
                          o->v[O_DATA].s, "samples", (json_int_t)e->n, "loss", num(e->loss));
    json_object_set_new(j, "accuracy", e->acc >= 0 ? json_real(e->acc) : json_null());
    json_object_set_new(j, "arithmetic", json_string(e->q ? "int8" : "float"));
    if (e->multilabel) {
        json_t *a = json_array();
        char buf[32];
        for (int q = 0; q < e->k; q++) {
            double p, r, f;
            long s;
            label_stats(e, q, &p, &r, &f, &s);
            json_array_append_new(a, json_pack("{s:s, s:f, s:f, s:f, s:I}", "label",
                                               label(e, q, buf, sizeof buf), "precision", p,
                                               "recall", r, "f1", f, "support", (json_int_t)s));
        }
        json_object_set_new(j, "subset_accuracy", json_real(e->acc));
        json_object_set_new(j, "labels", a);
    } else if (e->classes) {
        json_t *c = classes_json(e);
        json_object_update(j, c);
        json_decref(c);
    } else {
        json_object_set_new(j, "outputs", outputs_json(e));
    }
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    putchar('\n');
    json_decref(j);
}

int cmd_eval(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_eval_desc, argc, argv);
    if (!o.v[O_MODEL].given) cli_usage(o.cmd, "--model FILE is required");
    if (!o.v[O_DATA].given) cli_usage(o.cmd, "--data SPEC is required");
    int int8 = strcmp(o.v[O_QUANTIZE].s, "int8") == 0;
    if (!int8 && o.v[O_CALIBRATE].given) cli_usage(o.cmd, "--calibrate needs --quantize int8");
    bp_set_threads((int)o.v[O_THREADS].i);
    eval e;
    memset(&e, 0, sizeof e);
    int rc = cli_load_model(&e.model, &o, NULL);
    if (!rc && int8) rc = cli_make_qmodel(&e.q, &o, e.model);
    if (!rc) rc = cli_load_data(&e.data, &o, O_DATA, e.model, 1);
    if (!rc) rc = cli_match_data(&o, e.model, &e.data, O_DATA, 0);
    if (!rc && bp_dataset_outputs(e.data) == 0)
        rc = cli_error(o.cmd, "--data %s has no targets to evaluate against", o.v[O_DATA].s);
    if (!rc) {
        e.multilabel = bp_model_task(e.model) == BP_TASK_MULTILABEL;
        e.n = bp_dataset_count(e.data), e.k = bp_model_outputs(e.model);
        rc = compute(&e, o.cmd, cli_batch(&o, e.n));
    }
    if (!rc && o.v[O_JSON].i) print_json(&e, &o);
    else if (!rc) print_text(&e, &o);
    free(e.pred), free(e.confusion);
    bp_dataset_free(e.data);
    bp_qmodel_free(e.q);
    bp_model_free(e.model);
    return rc;
}
