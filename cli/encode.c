/* encode.c - the command's side of tabular encoders: the encoder options
 * from the command line, and the warnings about what encoding dropped or
 * could not match. Fitting and encoding are the library's
 * (src/data/data_encode.c, bp_encoder_fit and bp_model_encode). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_split_list(const char *s, char **buf, const char ***items)
{
    *items = NULL;
    if (!(*buf = malloc(strlen(s) + 1))) return -1;
    strcpy(*buf, s);
    int n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    if (!(*items = malloc((size_t)n * sizeof **items))) return -1;
    char *p = *buf;
    for (int i = 0; i < n; i++) {
        (*items)[i] = p;
        p += strcspn(p, ",");
        if (*p) *p++ = '\0';
    }
    return n;
}

/* The CSV file a spec names, or NULL when it names no CSV. */
static const char *csv_path(const char *spec)
{
    bp_data_spec d;
    return bp_data_spec_parse(&d, spec) == BP_OK && d.source == BP_DATA_CSV ? d.path[0] : NULL;
}

int cli_uses_encoder(const char *spec, const bp_model *model)
{
    return csv_path(spec) && (!model || bp_model_encoder(model));
}

static int load_table(bp_table **t, const cli_opts *o, opt_id flag)
{
    int header = o->v[O_HEADER].i ? 1 : o->v[O_NO_HEADER].i ? 0 : -1;
    const char *path = csv_path(o->v[flag].s);
    if (!path) /* callers check cli_uses_encoder first */
        return cli_error(o->cmd, "--%s: not a CSV file, which an encoder needs", cli_specs[flag].name);
    if (bp_table_load_csv(t, path, header, 0))
        return cli_error(o->cmd, "--%s: %s", cli_specs[flag].name, bp_last_error());
    return 0;
}

static void report(const cli_opts *o, opt_id flag, const bp_encode_report *rep,
                   const bp_encoder *e)
{
    if (rep->dropped)
        fprintf(stderr, "backprop %s: --%s: %zu of %zu rows dropped for missing values "
                "(--missing %s)\n", o->cmd, cli_specs[flag].name, rep->dropped, rep->rows,
                bp_encoder_missing(e) == BP_MISSING_DROP ? "drop" : "impute: a missing target");
    if (rep->unknown)
        fprintf(stderr, "backprop %s: warning: --%s: %zu values are categories not seen in "
                "training (first in column \"%s\"); they were encoded as all zeros (--unknown "
                "error refuses them)\n", o->cmd, cli_specs[flag].name, rep->unknown,
                bp_encoder_column_name(e, rep->unknown_column));
}

int cli_fit_encoded(bp_dataset **out, bp_encoder **enc, const cli_opts *o, opt_id flag)
{
    bp_encode_options eo = bp_encode_options_default();
    char *bufs[3] = {NULL, NULL, NULL};
    const char **lists[3] = {NULL, NULL, NULL};
    static const opt_id ids[3] = {O_TARGET, O_CATEGORICAL, O_IGNORE};
    int counts[3] = {0, 0, 0}, rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        if (o->v[ids[i]].s && (counts[i] = cli_split_list(o->v[ids[i]].s, &bufs[i], &lists[i])) < 0)
            rc = cli_error(o->cmd, "out of memory");
    eo.n_targets = counts[0], eo.targets = lists[0];
    eo.n_categorical = counts[1], eo.categorical = lists[1];
    eo.n_ignore = counts[2], eo.ignore = lists[2];
    eo.missing = strcmp(o->v[O_MISSING].s, "impute") == 0 ? BP_MISSING_IMPUTE
                 : strcmp(o->v[O_MISSING].s, "drop") == 0 ? BP_MISSING_DROP : BP_MISSING_ERROR;
    eo.impute_median = strcmp(o->v[O_IMPUTE].s, "median") == 0;
    eo.max_categories = (int)o->v[O_MAX_CATEGORIES].i;
    bp_table *t = NULL;
    bp_encode_report rep;
    if (!rc) rc = load_table(&t, o, flag);
    if (!rc && bp_encoder_fit(enc, t, &eo, &rep))
        rc = cli_error(o->cmd, "--%s: %s", cli_specs[flag].name, bp_last_error());
    if (!rc && bp_encoder_apply(out, *enc, t, BP_ENCODE_TARGETS, &rep))
        rc = cli_error(o->cmd, "--%s: %s", cli_specs[flag].name, bp_last_error());
    if (!rc) report(o, flag, &rep, *enc);
    bp_table_free(t);
    for (int i = 0; i < 3; i++) free(bufs[i]), free(lists[i]);
    return rc;
}

/* Whether row 0 of a table read without a header is the model's column
 * names: every cell the name of one of the encoder's columns. */
static int names_row(const bp_table *t, const bp_encoder *e)
{
    if (!bp_table_rows(t)) return 0;
    for (int c = 0; c < bp_table_columns(t); c++) {
        int found = 0;
        for (int k = 0; k < bp_encoder_columns(e) && !found; k++)
            found = strcmp(bp_table_cell(t, 0, c), bp_encoder_column_name(e, k)) == 0;
        if (!found) return 0;
    }
    return 1;
}

/* Without --header or --no-header, the model's column names recognise a
 * header (a table of text columns only cannot tell it by itself). */
static int load_for_model(bp_table **t, const cli_opts *o, opt_id flag, const bp_model *m)
{
    const char *path = csv_path(o->v[flag].s);
    if (o->v[O_HEADER].i || o->v[O_NO_HEADER].i || !path) return load_table(t, o, flag);
    if (bp_table_load_csv(t, path, 0, 0) == BP_OK) {
        int header = names_row(*t, bp_model_encoder(m));
        bp_table_free(*t), *t = NULL;
        if (header && bp_table_load_csv(t, path, 1, 0) == BP_OK) return 0;
    }
    return load_table(t, o, flag);
}

int cli_encode(bp_dataset **out, const cli_opts *o, opt_id flag, const bp_model *m, int flags)
{
    bp_table *t = NULL;
    bp_encode_report rep;
    if (o->v[O_UNKNOWN].s && strcmp(o->v[O_UNKNOWN].s, "error") == 0) flags |= BP_ENCODE_UNKNOWN_ERROR;
    int rc = load_for_model(&t, o, flag, m);
    if (!rc && bp_model_encode(out, m, t, flags, &rep))
        rc = cli_error(o->cmd, "--%s: %s", cli_specs[flag].name, bp_last_error());
    if (!rc) report(o, flag, &rep, bp_model_encoder(m));
    bp_table_free(t);
    return rc;
}
