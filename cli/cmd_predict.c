/* cmd_predict.c - `backprop predict`: one CSV row per sample, the predicted
 * class and each class's probability, or the predicted values. */
#include "cli.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

static const cmd_item items[] = {
    OPT(O_MODEL), OPT(O_DATA), OPT(O_OUTPUT), OPT(O_TARGET), OPT(O_NO_HEADER), OPT(O_HEADER), OPT(O_UNKNOWN),
    DEF(O_BATCH, "256"), OPT(O_THREADS), END_ITEMS};

const cmd_desc cmd_predict_desc = {
    "predict", "--model FILE --data SPEC [--output FILE.csv]",
    "write a model's predictions as CSV",
    "Runs the model on every sample of the data (normalized with the model's normalization) "
    "and writes a CSV with a header and one row per sample, in the data's order: for a "
    "classifier the predicted label then one probability column per class (prob_LABEL); for "
    "a regression model the predicted values (output, or output_0, output_1, ...). A CSV may "
    "hold just the model's inputs, or the inputs and a target column (ignored; --target "
    "names it when it is not the last). A model trained on a CSV with a header reads its "
    "columns by name, in any order, through its encoder (targets and ignored columns may be "
    "there or not); a multi-label model gives one probability column per label (prob_LABEL). "
    "The file is written atomically.",
    items, cmd_predict};

/* Writes s as one CSV field, quoted when it holds a delimiter, quote, line break or edge blank. */
static void csv_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || (n && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *label(const bp_model *m, int c, char *buf, size_t len)
{
    const char *l = bp_model_label(m, c);
    if (l) return l;
    snprintf(buf, len, "%d", c);
    return buf;
}

static int is_multilabel(const bp_model *m) { return bp_model_task(m) == BP_TASK_MULTILABEL; }

#define PREC (sizeof(bp_real) == 8 ? 17 : 9) /* digits that give back the same bp_real */

static void write_header(FILE *f, const bp_model *m, int classes)
{
    char buf[32], name[256];
    int k = bp_model_outputs(m);
    if (is_multilabel(m)) {
        for (int j = 0; j < k; j++) {
            snprintf(name, sizeof name, "prob_%s", label(m, j, buf, sizeof buf));
            if (j) fputc(',', f);
            csv_field(f, name);
        }
        fputc('\n', f);
        return;
    }
    if (!classes) {
        for (int j = 0; j < k; j++) {
            if (k == 1) fputs("output", f);
            else fprintf(f, "%soutput_%d", j ? "," : "", j);
        }
        fputc('\n', f);
        return;
    }
    fputs("label", f);
    for (int c = 0; c < classes; c++) {
        snprintf(name, sizeof name, "prob_%s", label(m, c, buf, sizeof buf));
        fputc(',', f);
        csv_field(f, name);
    }
    fputc('\n', f);
}

static void write_rows(FILE *f, const bp_model *m, const bp_real *pred, size_t n, int classes)
{
    char buf[32];
    int k = bp_model_outputs(m);
    for (size_t i = 0; i < n; i++) {
        const bp_real *p = pred + i * k;
        if (classes && !is_multilabel(m)) {
            int best = 0;
            for (int j = 1; j < k; j++) if (p[j] > p[best]) best = j;
            if (k == 1) best = p[0] > (bp_real)0.5;
            csv_field(f, label(m, best, buf, sizeof buf));
            if (k == 1) fprintf(f, ",%.*g", PREC, 1 - (double)p[0]);
        }
        int lead = classes && !is_multilabel(m);
        for (int j = 0; j < k; j++) fprintf(f, "%s%.*g", lead || j ? "," : "", PREC, (double)p[j]);
        fputc('\n', f);
    }
}

/* A CSV of just the inputs, or of the inputs and a target column. */
static int load(bp_dataset **d, const cli_opts *o, const bp_model *m)
{
    int in = bp_model_inputs(m);
    if (cli_uses_encoder(o->v[O_DATA].s, m)) /* a row per input row: none dropped */
        return cli_encode(d, o, O_DATA, m, BP_ENCODE_NO_DROP);
    int columns = 0; /* of the CSV read as inputs only */
    if (cli_spec_is_csv(o->v[O_DATA].s) && !o->v[O_TARGET].given) {
        if (cli_read_data(d, o, O_DATA, m, 0) == BP_OK) {
            if (bp_dataset_inputs(*d) == in) return 0;
            columns = bp_dataset_inputs(*d);
        }
        bp_dataset_free(*d), *d = NULL;
    }
    int rc = cli_load_data(d, o, O_DATA, m, 1);
    if (!rc && bp_dataset_inputs(*d) != in && columns && columns != in + 1)
        rc = cli_error(o->cmd, "--data has %d columns but the model takes %d inputs (and "
                       "predict takes an optional target column)", columns, in);
    else if (!rc && bp_dataset_inputs(*d) != in)
        rc = cli_error(o->cmd, "--data has %d input columns but the model takes %d inputs",
                       bp_dataset_inputs(*d), in);
    return rc;
}

static int write_csv(const cli_opts *o, const bp_model *m, const bp_real *pred, size_t n)
{
    int classes = bp_model_classes(m); /* 0: values */
    if (!o->v[O_OUTPUT].given) {
        write_header(stdout, m, classes);
        write_rows(stdout, m, pred, n, classes);
        return fflush(stdout) ? cli_error(o->cmd, "writing the output failed") : 0;
    }
    bp_file *f;
    if (bp_file_open(&f, o->v[O_OUTPUT].s)) return cli_fail(o->cmd, "--output");
    write_header(bp_file_stream(f), m, classes);
    write_rows(bp_file_stream(f), m, pred, n, classes);
    return bp_file_commit(f) ? cli_fail(o->cmd, "--output") : 0;
}

int cmd_predict(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_predict_desc, argc, argv);
    if (!o.v[O_MODEL].given) cli_usage(o.cmd, "--model FILE is required");
    if (!o.v[O_DATA].given) cli_usage(o.cmd, "--data SPEC is required");
    bp_set_threads((int)o.v[O_THREADS].i);
    bp_model *m = NULL;
    bp_dataset *d = NULL;
    bp_real *pred = NULL;
    int rc = cli_load_model(&m, &o, NULL);
    if (!rc) rc = load(&d, &o, m);
    if (!rc) {
        size_t n = bp_dataset_count(d);
        bp_model_normalize(m, bp_dataset_x(d), n);
        pred = malloc(n * (size_t)bp_model_outputs(m) * sizeof *pred);
        if (!pred) rc = cli_error(o.cmd, "out of memory");
        else if (bp_model_predict(m, bp_dataset_x(d), n, cli_batch(&o, n), pred))
            rc = cli_fail(o.cmd, NULL);
        else rc = write_csv(&o, m, pred, n);
    }
    free(pred);
    bp_dataset_free(d);
    bp_model_free(m);
    return rc;
}
