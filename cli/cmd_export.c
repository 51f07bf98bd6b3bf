/* cmd_export.c - `backprop export`: a model as code or another format. It
 * parses the options, loads the model, and hands it to the library's
 * exporter of --format (src/deploy/export_c.c for c, src/io/onnx_write.c for onnx);
 * --test measures the model on data first. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cmd_item items[] = {
    OPT(O_MODEL), OPT(O_FORMAT), OPT(O_OUTPUT), OPT(O_NAME), OPT(O_TRAIN_LAYERS),
    GROUP("int8"), OPT(O_QUANTIZE), OPT(O_CALIBRATE), OPT(O_CALIBRATE_SAMPLES),
    GROUP("Measure"), OPT(O_TEST), OPT(O_TARGET), OPT(O_NO_HEADER), OPT(O_HEADER), OPT(O_UNKNOWN),
    DEF(O_BATCH, "256"),
    OPT(O_THREADS), END_ITEMS};

const cmd_desc cmd_export_desc = {
    "export", "--model FILE --format c|onnx|c-train --output FILE [--quantize int8 --calibrate SPEC]",
    "export a model as dependency-free C, or as ONNX",
    "Writes the model for use without libbackprop. --format onnx: an ONNX model (IR version 7, "
    "opset 13) that computes what `backprop predict` computes, normalization included: input "
    "\"input\" float (N, inputs), output \"probabilities\" (N, classes) for a classifier or "
    "\"outputs\" for a regression model; labels, normalization and the backprop version in its "
    "metadata (docs/FORMAT.md). --format c: NAME.c and NAME.h, C99 with no "
    "malloc and no stdio, the model's normalization and labels inside: NAME_predict(x, y) and "
    "NAME_classify(x) on raw features. --quantize int8 quantizes it with the ranges seen on "
    "--calibrate (weights per row, activations per tensor, integer-only NAME_predict_int8). "
    "--test measures the accuracy (float and int8, their agreement and largest output "
    "difference) and writes it into the header. The same model and options give the same "
    "bytes (docs/EXPORT.md). Files are written atomically.",
    items, cmd_export};

/* Accuracy of predictions p against targets y, as the library counts it; -1 for regression. */
static double accuracy(const bp_model *m, const bp_real *p, const bp_real *y, size_t n)
{
    double acc = -1;
    bp_model_evaluate_outputs(m, p, y, n, NULL, &acc);
    return acc;
}

/* Float (and int8) predictions on --test: accuracies, top-1 agreement, largest difference. */
static int measure(const cli_opts *o, bp_model *m, bp_qmodel *q, bp_export_info *info)
{
    bp_dataset *d = NULL;
    int rc = cli_load_data(&d, o, O_TEST, m, 1);
    if (!rc) rc = cli_match_data(o, m, &d, O_TEST, 0);
    if (!rc && bp_dataset_outputs(d) == 0)
        rc = cli_error(o->cmd, "--test %s has no targets to measure against", o->v[O_TEST].s);
    size_t n = rc ? 0 : bp_dataset_count(d);
    int k = bp_model_outputs(m);
    bp_real *pf = rc ? NULL : malloc(n * (size_t)k * sizeof *pf);
    bp_real *pq = rc || !q ? NULL : malloc(n * (size_t)k * sizeof *pq);
    if (!rc && (!pf || (q && !pq))) rc = cli_error(o->cmd, "out of memory");
    if (!rc && q) bp_qmodel_predict(q, bp_dataset_x(d), n, pq); /* raw inputs */
    if (!rc) {
        bp_model_normalize(m, bp_dataset_x(d), n);
        if (bp_model_predict(m, bp_dataset_x(d), n, cli_batch(o, n), pf)) rc = cli_fail(o->cmd, "--test");
    }
    if (!rc) rc = cli_check_finite(o->cmd, "float32", pf, n, k);
    if (!rc && q) rc = cli_check_finite(o->cmd, "int8", pq, n, k);
    if (!rc) {
        const bp_real *y = bp_dataset_y(d);
        info->test_set = o->v[O_TEST].s;
        info->accuracy = accuracy(m, pf, y, n);
        printf("test %s: %zu samples\n", o->v[O_TEST].s, n);
        if (info->accuracy >= 0) printf("float32 accuracy %.2f%%\n", 100 * info->accuracy);
        if (q) {
            info->accuracy_int8 = accuracy(m, pq, y, n);
            double agree = accuracy(m, pq, pf, n); /* the float predictions as targets */
            double diff = 0;
            for (size_t i = 0; i < n * (size_t)k; i++) diff = fmax(diff, fabs((double)pf[i] - pq[i]));
            if (info->accuracy_int8 >= 0)
                printf("int8 accuracy %.2f%% (%+.2f points), top-1 agreement %.2f%%\n",
                       100 * info->accuracy_int8, 100 * (info->accuracy_int8 - info->accuracy),
                       100 * agree);
            printf("largest output difference float32 vs int8: %.4g\n", diff);
        }
    }
    free(pf), free(pq);
    bp_dataset_free(d);
    return rc;
}

/* The stem of path: "out/fm.c" gives "fm". */
static void stem_of(const char *path, char *buf, size_t len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, len, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = '\0';
}

int cmd_export(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_export_desc, argc, argv);
    if (!o.v[O_MODEL].given) cli_usage(o.cmd, "--model FILE is required");
    if (!o.v[O_FORMAT].given) cli_usage(o.cmd, "--format FMT is required (c or onnx)");
    if (!o.v[O_OUTPUT].given) cli_usage(o.cmd, "--output FILE is required");
    int int8 = strcmp(o.v[O_QUANTIZE].s, "int8") == 0;
    if (!int8 && o.v[O_CALIBRATE].given) cli_usage(o.cmd, "--calibrate needs --quantize int8");
    int onnx = strcmp(o.v[O_FORMAT].s, "onnx") == 0;
    if (strcmp(o.v[O_FORMAT].s, "c-train") == 0 && int8) cli_usage(o.cmd, "--quantize applies to --format c only");
    if (o.v[O_TRAIN_LAYERS].given && strcmp(o.v[O_FORMAT].s, "c-train") != 0)
        cli_usage(o.cmd, "--train-layers applies to --format c-train only");
    if (onnx && (int8 || o.v[O_NAME].given))
        cli_usage(o.cmd, "--%s applies to --format c only", int8 ? "quantize" : "name");
    char name[256];
    stem_of(o.v[O_OUTPUT].s, name, sizeof name);
    if (o.v[O_NAME].given) snprintf(name, sizeof name, "%s", o.v[O_NAME].s);
    bp_set_threads((int)o.v[O_THREADS].i);

    bp_model *m = NULL;
    bp_extra *meta = NULL;
    bp_qmodel *q = NULL;
    bp_export_info info = bp_export_info_default();
    info.source = o.v[O_MODEL].s;
    int rc = cli_load_model(&m, &o, &meta);
    if (!rc && int8) rc = cli_make_qmodel(&q, &o, m);
    if (!rc && o.v[O_TEST].given) rc = measure(&o, m, q, &info);
    if (!rc && strcmp(o.v[O_FORMAT].s, "c") == 0) {
        bp_status st = bp_model_export_c(m, q, o.v[O_OUTPUT].s, name, &info);
        const char *why = bp_last_error(); /* the command's name says "export:" already */
        if (strncmp(why, "export: ", 8) == 0) why += 8;
        if (st == BP_ERR_INVALID)
            cli_usage(o.cmd, "%s%s", why,
                      o.v[O_NAME].given ? "" : " (the name is --output's stem unless --name gives one)");
        /* NUMERIC: a value of the model (a double build's) beyond float32, not the file */
        if (st) rc = cli_fail(o.cmd, st == BP_ERR_NUMERIC ? "--model" : "--output");
        else printf("wrote %s and its header (%s, %s)\n", o.v[O_OUTPUT].s, name, int8 ? "int8" : "float32");
    }
    if (!rc && strcmp(o.v[O_FORMAT].s, "c-train") == 0) { /* trainable C: frozen layers const */
        int k = o.v[O_TRAIN_LAYERS].given ? (int)o.v[O_TRAIN_LAYERS].i : 1;
        bp_status st = bp_model_export_c_train(m, o.v[O_OUTPUT].s, name, k);
        if (st == BP_ERR_INVALID) cli_usage(o.cmd, "%s", bp_last_error());
        if (st) rc = cli_fail(o.cmd, "--output");
        else printf("wrote %s and its header (%s, trainable: last %d layer(s))\n", o.v[O_OUTPUT].s, name, k);
    }
    if (!rc && onnx) {
        if (bp_model_save_onnx(m, o.v[O_OUTPUT].s, meta)) rc = cli_fail(o.cmd, "--output");
        else printf("exported %s as onnx: %s\n", o.v[O_MODEL].s, o.v[O_OUTPUT].s);
    }
    bp_extra_free(meta);
    bp_qmodel_free(q);
    bp_model_free(m);
    return rc;
}
