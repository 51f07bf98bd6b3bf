/* encoder_json.c - an encoder as JSON text, the form a model file stores it
 * in (docs/FORMAT.md, "encoder"), and back. Reading checks everything that
 * applying relies on (sorted distinct categories, target columns, counts),
 * since the text comes from a file. */
#include "encode.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const roles[] = {"numeric", "categorical", "target", "ignored"};
static const char *const policies[] = {"error", "impute", "drop"};
static const char *const tasks[] = {"none", "classification", "regression", "multilabel"};

#define MAX_ENC_COLUMNS (1 << 20)
#define MAX_ENC_CATEGORIES BP_MAX_WIDTH /* each category is an input */

static json_t *strings(char *const *s, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(s[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *column_json(const bp__enc_col *c)
{
    json_t *j = json_pack("{s:s, s:s}", "name", c->name, "role", roles[c->role]);
    if (!j) return NULL;
    int bad = 0;
    if (c->role == BP_COLUMN_NUMERIC) {
        bad |= json_object_set_new(j, "fill", json_real(c->fill));
        bad |= json_object_set_new(j, "indicator", json_boolean(c->indicator));
    } else if (c->n_cats) {
        bad |= json_object_set_new(j, c->role == BP_COLUMN_TARGET ? "values" : "categories",
                                   strings(c->cats, c->n_cats));
    }
    if (bad) json_decref(j), j = NULL;
    return j;
}

char *bp_encoder_to_json(const bp_encoder *e)
{
    json_t *cols = json_array(), *tg = json_array();
    for (int c = 0; cols && c < e->n_cols; c++)
        if (json_array_append_new(cols, column_json(&e->col[c]))) json_decref(cols), cols = NULL;
    for (int i = 0; tg && i < e->n_targets; i++)
        if (json_array_append_new(tg, json_integer(e->targets[i]))) json_decref(tg), tg = NULL;
    json_t *j = cols && tg ? json_pack("{s:i, s:s, s:s, s:s, s:b, s:o, s:o}", "version", 1,
                                       "missing", policies[e->missing], "impute",
                                       e->impute_median ? "median" : "mean", "task",
                                       tasks[e->task], "header", e->has_header, "columns", cols,
                                       "targets", tg)
                           : NULL;
    if (!j) json_decref(cols), json_decref(tg);
    if (j && e->n_labels && json_object_set_new(j, "labels", strings(e->labels, e->n_labels)))
        json_decref(j), j = NULL;
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (!s) bp__fail(BP_ERR_INVALID, "encoder: cannot write it as JSON (a name or category is "
                     "not valid UTF-8?)");
    return s;
}

/* ------------------------------------------------------------- reading */

typedef struct reader {
    const char *where;
    bp_encoder *e;
} reader;

static bp_status bad(const reader *r, const char *what)
{
    return bp__fail(BP_ERR_FORMAT, "%s: %s", r->where, what);
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

/* An array of n >= min strings, strictly increasing when `sorted`. */
static bp_status read_strings(const reader *r, json_t *a, int min, int sorted, char ***out,
                              int *n, const char *what)
{
    size_t k = json_array_size(a);
    char msg[160];
    snprintf(msg, sizeof msg, "%s: expected an array of at least %d strings%s", what, min,
             sorted ? ", sorted and distinct" : "");
    if (!json_is_array(a) || k < (size_t)min || k > MAX_ENC_CATEGORIES) return bad(r, msg);
    const char **s = bp__calloc(k, sizeof *s);
    if (!s) return BP_ERR_NOMEM;
    bp_status st = BP_OK;
    for (size_t i = 0; !st && i < k; i++) {
        s[i] = json_string_value(json_array_get(a, i));
        if (!s[i] || (sorted && i && strcmp(s[i - 1], s[i]) >= 0)) st = bad(r, msg);
    }
    if (!st) st = bp__strings_copy(out, (int)k, s);
    if (!st) *n = (int)k;
    free(s);
    return st;
}

static bp_status read_column(const reader *r, json_t *j, bp__enc_col *c)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    int role = lookup(roles, 4, json_string_value(json_object_get(j, "role")));
    if (!json_is_object(j) || !name || role < 0)
        return bad(r, "a column needs a \"name\" and a \"role\" (numeric, categorical, target "
                   "or ignored)");
    if (!(c->name = bp__strdup(name))) return BP_ERR_NOMEM;
    c->role = (bp_column_role)role;
    if (role == BP_COLUMN_NUMERIC) {
        json_t *fill = json_object_get(j, "fill"), *ind = json_object_get(j, "indicator");
        if (!json_is_number(fill) || !isfinite(json_number_value(fill)) ||
            !isfinite((bp_real)json_number_value(fill)) || !json_is_boolean(ind))
            return bad(r, "a numeric column needs a finite \"fill\" and a boolean \"indicator\"");
        c->fill = json_number_value(fill);
        c->indicator = json_is_true(ind);
        return BP_OK;
    }
    if (role == BP_COLUMN_CATEGORICAL)
        return read_strings(r, json_object_get(j, "categories"), 1, 1, &c->cats, &c->n_cats,
                            "categories");
    json_t *values = json_object_get(j, "values");
    if (role == BP_COLUMN_TARGET && values)
        return read_strings(r, values, 2, 0, &c->cats, &c->n_cats, "values");
    return BP_OK;
}

static bp_status read_targets(const reader *r, json_t *a)
{
    bp_encoder *e = r->e;
    size_t k = json_array_size(a);
    int n_target_cols = 0;
    for (int c = 0; c < e->n_cols; c++) n_target_cols += e->col[c].role == BP_COLUMN_TARGET;
    if (!json_is_array(a) || k != (size_t)n_target_cols)
        return bad(r, "\"targets\" must list every target column once");
    if (k && !(e->targets = bp__calloc(k, sizeof *e->targets))) return BP_ERR_NOMEM;
    for (size_t i = 0; i < k; i++) {
        json_t *v = json_array_get(a, i);
        json_int_t c = json_is_integer(v) ? json_integer_value(v) : -1;
        if (c < 0 || c >= e->n_cols || e->col[c].role != BP_COLUMN_TARGET)
            return bad(r, "\"targets\" holds something that is not a target column's index");
        for (size_t q = 0; q < i; q++)
            if (e->targets[q] == (int)c) return bad(r, "\"targets\" names a column twice");
        e->targets[e->n_targets++] = (int)c;
    }
    return BP_OK;
}

/* The task agrees with the targets: labels for classification, two values per
 * multi-label column, nothing for regression or no targets. */
static bp_status check_task(const reader *r, json_t *labels)
{
    bp_encoder *e = r->e;
    bp_status st = BP_OK;
    int multi = e->task == BP_TASK_MULTILABEL;
    if ((e->n_targets == 0) != (e->task == BP_TASK_AUTO) ||
        (e->task == BP_TASK_CLASSIFICATION && e->n_targets != 1))
        return bad(r, "\"task\" does not fit the target columns");
    for (int i = 0; i < e->n_targets; i++)
        if ((e->col[e->targets[i]].n_cats == 2) != multi)
            return bad(r, "a target column has \"values\" if and only if the task is multilabel");
    if (e->task == BP_TASK_CLASSIFICATION)
        st = read_strings(r, labels, 2, 0, &e->labels, &e->n_labels, "labels");
    else if (labels)
        st = bad(r, "\"labels\" belong to a classification task only");
    if (!st && e->n_labels > BP_CSV_MAX_CLASSES) st = bad(r, "too many labels");
    return st;
}

static bp_status read_encoder(reader *r, json_t *j)
{
    bp_encoder *e = r->e;
    json_t *cols = json_object_get(j, "columns"), *ver = json_object_get(j, "version");
    int miss = lookup(policies, 3, json_string_value(json_object_get(j, "missing")));
    const char *imp = json_string_value(json_object_get(j, "impute"));
    int task = lookup(tasks, 4, json_string_value(json_object_get(j, "task")));
    json_t *header = json_object_get(j, "header");
    if (!json_is_object(j) || !json_is_integer(ver) || json_integer_value(ver) != 1)
        return bad(r, "expected a JSON object with \"version\": 1");
    if (miss < 0 || !imp || (strcmp(imp, "mean") && strcmp(imp, "median")) || task < 0 ||
        !json_is_boolean(header))
        return bad(r, "\"missing\", \"impute\", \"task\" or \"header\" is absent or unknown");
    size_t k = json_array_size(cols);
    if (!json_is_array(cols) || k == 0 || k > MAX_ENC_COLUMNS)
        return bad(r, "\"columns\" must be a non-empty array");
    e->missing = (bp_missing)miss;
    e->impute_median = strcmp(imp, "median") == 0;
    e->task = (bp_task)task;
    e->has_header = json_is_true(header);
    if (!(e->col = bp__calloc(k, sizeof *e->col))) return BP_ERR_NOMEM;
    e->n_cols = (int)k;
    bp_status st = BP_OK;
    for (size_t c = 0; !st && c < k; c++) st = read_column(r, json_array_get(cols, c), &e->col[c]);
    char **names = st ? NULL : bp__calloc((size_t)e->n_cols, sizeof *names);
    if (!st && !names) st = BP_ERR_NOMEM;
    for (int c = 0; !st && c < e->n_cols; c++) names[c] = e->col[c].name;
    if (!st && bp__duplicate_name(names, e->n_cols)) st = bad(r, "two columns share a name");
    free(names);
    if (!st) st = read_targets(r, json_object_get(j, "targets"));
    if (!st) st = check_task(r, json_object_get(j, "labels"));
    if (st) return st;
    long inputs = 0;
    for (int c = 0; c < e->n_cols; c++) inputs += bp__enc_width(&e->col[c]);
    if (inputs < 1 || inputs > BP_MAX_WIDTH) return bad(r, "no inputs, or too many");
    bp__enc_layout(e);
    return BP_OK;
}

bp_status bp__encoder_from_json(bp_encoder **out, const char *text, const char *where)
{
    *out = NULL;
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j) return bp__fail(BP_ERR_FORMAT, "%s: not JSON: %s", where, err.text);
    reader r = {.where = where, .e = bp__calloc(1, sizeof(bp_encoder))};
    bp_status st = r.e ? read_encoder(&r, j) : BP_ERR_NOMEM;
    json_decref(j);
    if (st) bp_encoder_free(r.e);
    else *out = r.e;
    return st;
}

bp_status bp_encoder_from_json(bp_encoder **out, const char *json)
{
    if (!out) return bp__fail(BP_ERR_INVALID, "bp_encoder_from_json: out is NULL");
    *out = NULL;
    if (!json) return bp__fail(BP_ERR_INVALID, "bp_encoder_from_json: json is NULL");
    return bp__encoder_from_json(out, json, "encoder");
}
