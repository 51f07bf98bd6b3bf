/* data.c - the command's side of data sets: the CSV options from the
 * command line, class labels in a model's order, and the check that a
 * model fits the data. Reading and parsing are the library's (src/data_*.c;
 * a spec's form and files come from bp_data_spec_parse). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int cli_spec_is_csv(const char *spec)
{
    bp_data_spec d;
    return bp_data_spec_parse(&d, spec) == BP_OK && d.source == BP_DATA_CSV;
}

/* --target: an integer is a column index, anything else a header name. */
static void set_target(bp_csv_options *c, const char *target)
{
    char *end;
    errno = 0;
    long v = strtol(target, &end, 10);
    if (*target && !*end && !errno && v >= INT_MIN && v <= INT_MAX)
        c->target_index = (int)v;
    else
        c->target_name = target;
}

/* Reads with the model's labels as the class list. */
static bp_status cli_read_labeled(bp_dataset **out, const cli_opts *o, opt_id flag,
                                  const bp_model *model, bp_csv_options *c)
{
    int n = model ? bp_model_label_count(model) : 0;
    const char **names = n ? malloc((size_t)n * sizeof *names) : NULL;
    for (int i = 0; i < n && names; i++) names[i] = bp_model_label(model, i);
    if (names) c->n_labels = n, c->labels = names;
    bp_status st = bp_dataset_load_spec(out, o->v[flag].s, c);
    c->labels = NULL;
    free(names);
    return st;
}

bp_status cli_read_data(bp_dataset **out, const cli_opts *o, opt_id flag, const bp_model *model,
                        int has_target)
{
    bp_csv_options c = bp_csv_options_default();
    if (o->v[O_NO_HEADER].i) c.header = 0;
    if (o->v[O_HEADER].i) c.header = 1;
    if (o->v[O_TARGET].s) set_target(&c, o->v[O_TARGET].s);
    c.has_target = has_target;
    bp_status st = cli_read_labeled(out, o, flag, model, &c);
    if (st == BP_ERR_FORMAT && c.n_labels) {
        /* A label the model does not know may only be the sign of other data
         * (iris for an image model): a set of the wrong width goes back, and
         * the caller names the width, the first problem. */
        bp_csv_options free_labels = c;
        free_labels.n_labels = 0;
        if (bp_dataset_load_spec(out, o->v[flag].s, &free_labels) == BP_OK &&
            bp_dataset_inputs(*out) != bp_model_inputs(model))
            return BP_OK;
        bp_dataset_free(*out), *out = NULL;
        st = cli_read_labeled(out, o, flag, model, &c); /* again, for its message */
    }
    return st;
}

int cli_load_data(bp_dataset **out, const cli_opts *o, opt_id flag, const bp_model *model,
                  int has_target)
{
    if (model && cli_uses_encoder(o->v[flag].s, model))
        return cli_encode(out, o, flag, model, has_target ? BP_ENCODE_TARGETS : 0);
    bp_status st = cli_read_data(out, o, flag, model, has_target);
    if (st == BP_ERR_INVALID)
        cli_usage(o->cmd, "--%s: %s", cli_specs[flag].name, bp_last_error());
    if (st) return cli_error(o->cmd, "--%s: %s", cli_specs[flag].name, bp_last_error());
    return 0;
}

int cli_load_model(bp_model **m, const cli_opts *o, bp_extra **meta)
{
    if (bp_model_load(m, o->v[O_MODEL].s, meta)) return cli_fail(o->cmd, "--model");
    return 0;
}

data_kind cli_data_kind(const bp_dataset *d)
{
    if (bp_dataset_label_count(d) > 0) return KIND_CLASSES;
    if (bp_dataset_outputs(d) != 1) return KIND_REGRESSION;
    const bp_real *y = bp_dataset_y((bp_dataset *)d);
    for (size_t i = 0; i < bp_dataset_count(d); i++)
        if (y[i] != 0 && y[i] != 1) return KIND_REGRESSION;
    return KIND_BINARY;
}

/* A copy of two-class set *d with the second class's column as its one target. */
static int binary_target(const char *cmd, bp_dataset **d)
{
    bp_dataset *src = *d, *dst = NULL;
    size_t n = bp_dataset_count(src);
    int in = bp_dataset_inputs(src);
    if (bp_dataset_create(&dst, n, in, 1)) return cli_fail(cmd, NULL);
    memcpy(bp_dataset_x(dst), bp_dataset_x(src), n * (size_t)in * sizeof(bp_real));
    const bp_real *ys = bp_dataset_y(src);
    bp_real *yd = bp_dataset_y(dst);
    for (size_t i = 0; i < n; i++) yd[i] = ys[2 * i + 1];
    bp_dataset_free(src);
    *d = dst;
    return 0;
}

static int mismatch(const cli_opts *o, int from_layers, const char *fmt, int a, int b)
{
    char what[256];
    snprintf(what, sizeof what, fmt, a, b);
    if (from_layers) cli_usage(o->cmd, "%s", what);
    return cli_error(o->cmd, "%s", what);
}

int cli_match_data(const cli_opts *o, const bp_model *m, bp_dataset **d, opt_id flag,
                   int from_layers)
{
    char fmt[256];
    const char *src = from_layers ? "--layers" : "the model";
    const char *name = cli_specs[flag].name;
    int in = bp_model_inputs(m), out = bp_model_outputs(m);
    int din = bp_dataset_inputs(*d), dout = bp_dataset_outputs(*d), classes = bp_dataset_label_count(*d);
    if (din != in) {
        snprintf(fmt, sizeof fmt, "--%s has %%d inputs per sample but %s %s %%d", name, src,
                 from_layers ? "starts with" : "takes");
        return mismatch(o, from_layers, fmt, din, in);
    }
    if (dout == 0 || dout == out) return 0;
    const bp_model_config *mc = bp_model_cfg(m);
    if (classes == 2 && out == 1 && mc->act[mc->n_layers - 1] == BP_ACT_SIGMOID)
        return binary_target(o->cmd, d);
    snprintf(fmt, sizeof fmt, "--%s has %%d %s but %s %s %%d outputs", name,
             classes ? "classes" : "targets", src, from_layers ? "ends with" : "has");
    if (classes == 2 && from_layers)
        strncat(fmt, " (2 classes fit 2 softmax outputs or 1 sigmoid output)",
                sizeof fmt - strlen(fmt) - 1);
    return mismatch(o, from_layers, fmt, classes ? classes : dout, out);
}

int cli_batch(const cli_opts *o, size_t n)
{
    return (size_t)o->v[O_BATCH].i < n ? (int)o->v[O_BATCH].i : (int)n;
}
