/* data_encode.c - tabular encoders: from a table of strings (bp_table) to
 * the numeric inputs and targets of a model. Fitting decides each column's
 * role, the sorted categories of the categorical columns, the imputation
 * values and the target task; applying encodes raw rows with what fitting
 * decided. The encoder is part of the model, saved in its file as JSON
 * (encoder_json.c reads and writes it); the model attaches, checks, copies
 * and frees it (model_meta.c). docs/DATA.md, "Tables and encoders". */
#include "encode.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bp_encode_options bp_encode_options_default(void)
{
    bp_encode_options o = {0};
    o.has_target = 1;
    o.max_categories = 1000;
    o.max_classes = 20;
    return o;
}

int bp_is_missing(const char *s)
{
    static const char *const tokens[] = {"", "NA", "N/A", "NaN", "null", "?"};
    for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++)
        if (strcasecmp(s, tokens[i]) == 0) return 1;
    return 0;
}

/* A finite number over the whole cell, finite in bp_real too. */
int bp__enc_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*v) && isfinite((bp_real)*v);
}

/* Why a cell that reads as a number is not one the model can take: "is not
 * finite" (inf), "is out of the range of float32" (1e400, or 3.5e38 in a
 * float32 build); NULL for a finite number or text. */
static const char *number_trouble(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) return NULL;
    if (isinf(v) && !strpbrk(s, "eE")) return "is not finite";
    if (isnan(v)) return "is not a number";
    if (!isfinite(v)) return "is out of the range of float64";
    if (!isfinite((bp_real)v)) return "is out of the range of " BP_REAL_NAME;
    return NULL;
}

int bp__utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                   : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (more < 0 || (more == 1 && c < 0xC2) || c > 0xF4) return 0;
        unsigned cp = c & (0x3F >> more);
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (*p & 0x3F);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
    }
    return 1;
}

static int cmp_str(const void *a, const void *b);

const char *bp__duplicate_name(char *const *names, int n)
{
    const char **s = bp__calloc((size_t)n + 1, sizeof *s);
    const char *dup = NULL;
    if (!s) return NULL;
    memcpy(s, names, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_str);
    for (int i = 1; i < n && !dup; i++)
        if (strcmp(s[i - 1], s[i]) == 0) dup = s[i];
    free(s);
    return dup;
}

/* bp_encoder_free is the model's (model_meta.c): models free their encoders. */

int bp_encoder_inputs(const bp_encoder *e) { return e->n_inputs; }
bp_task bp_encoder_task(const bp_encoder *e) { return e->task; }
bp_missing bp_encoder_missing(const bp_encoder *e) { return e->missing; }
int bp_encoder_columns(const bp_encoder *e) { return e->n_cols; }

int bp_encoder_targets(const bp_encoder *e) { return e->n_targets; }
int bp_encoder_target_column(const bp_encoder *e, int i)
{
    return i >= 0 && i < e->n_targets ? e->targets[i] : -1;
}

int bp_encoder_outputs(const bp_encoder *e) { return bp__enc_outputs(e); }

const char *bp_encoder_column_name(const bp_encoder *e, int c)
{
    return c >= 0 && c < e->n_cols ? e->col[c].name : NULL;
}

bp_column_role bp_encoder_column_role(const bp_encoder *e, int c)
{
    return c >= 0 && c < e->n_cols ? e->col[c].role : BP_COLUMN_IGNORED;
}

/* Inputs column c produces. */
int bp__enc_width(const bp__enc_col *c)
{
    if (c->role == BP_COLUMN_NUMERIC) return 1 + c->indicator;
    if (c->role == BP_COLUMN_CATEGORICAL) return c->n_cats;
    return 0;
}

void bp__enc_layout(bp_encoder *e)
{
    int k = 0;
    for (int c = 0; c < e->n_cols; c++) {
        e->col[c].first = k;
        k += bp__enc_width(&e->col[c]);
    }
    e->n_inputs = k;
}

bp_status bp_encoder_input_info(const bp_encoder *e, int i, int *column, const char **category,
                                int *indicator)
{
    if (i < 0 || i >= e->n_inputs)
        return bp__fail(BP_ERR_INVALID, "encoder: input %d out of range (%d inputs)", i,
                        e->n_inputs);
    for (int c = 0; c < e->n_cols; c++) {
        const bp__enc_col *col = &e->col[c];
        int w = bp__enc_width(col);
        if (i < col->first || i >= col->first + w) continue;
        *column = c;
        *category = col->role == BP_COLUMN_CATEGORICAL ? col->cats[i - col->first] : NULL;
        *indicator = col->role == BP_COLUMN_NUMERIC && i > col->first;
        return BP_OK;
    }
    return bp__fail(BP_ERR_INVALID, "encoder: input %d not found", i); /* not reached */
}

bp_status bp_encoder_input_describe(const bp_encoder *e, int i, char *buf, size_t len)
{
    int c, indicator;
    const char *category;
    bp_status st = bp_encoder_input_info(e, i, &c, &category, &indicator);
    if (st) return st;
    const char *name = e->col[c].name;
    if (category) snprintf(buf, len, "%s=%s", name, category);
    else snprintf(buf, len, indicator ? "%s missing" : "%s", name);
    return BP_OK;
}

/* ------------------------------------------------------------- fitting */

typedef struct fit {
    const bp_table *t;
    const bp_encode_options *o;
    bp_encoder *e;
    char *keep;     /* (rows) 1 for the rows fitted on */
    size_t kept;
} fit;

enum { COL_DESC = 160 }; /* room for a column's description in messages */

/* A column's stored name: its header name, or "#INDEX" (0-based, as the
 * options take it) in a table without a header. */
static const char *cname(const bp_table *t, int c, char buf[COL_DESC])
{
    if (t->names) return t->names[c];
    snprintf(buf, COL_DESC, "#%d", c);
    return buf;
}

/* A column as messages name it: its 0-based index, as --target, --ignore and
 * --categorical take it, and its header name where it has one. */
static const char *cdesc(const bp_table *t, int c, char buf[COL_DESC])
{
    char name[BP_TEXT_SHOWN];
    if (t->names)
        snprintf(buf, COL_DESC, "column %d (\"%s\")", c, bp_text_escape(name, sizeof name, t->names[c]));
    else
        snprintf(buf, COL_DESC, "column %d", c);
    return buf;
}

/* A cell's value as messages show it: escaped and cut (bp_text_escape). */
#define SHOWN(buf, s) bp_text_escape(buf, sizeof buf, s)

/* Column spec: a decimal index (negative from the end) or a header name. */
static bp_status resolve(const bp_table *t, const char *spec, const char *what, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(spec, &end, 10);
    if (*spec && !*end && !errno) {
        long i = v < 0 ? t->cols + v : v;
        if (i < 0 || i >= t->cols)
            return bp__fail(BP_ERR_FORMAT, "%s: %s column index %ld is out of range: rows have "
                            "%d fields", t->path, what, v, t->cols);
        *out = (int)i;
        return BP_OK;
    }
    for (int c = 0; t->names && c < t->cols; c++)
        if (strcmp(t->names[c], spec) == 0) {
            *out = c;
            return BP_OK;
        }
    char sv[BP_TEXT_SHOWN];
    if (!t->names)
        return bp__fail(BP_ERR_FORMAT, "%s: %s column \"%s\" is named but the file has no "
                        "header", t->path, what, SHOWN(sv, spec));
    return bp__fail(BP_ERR_FORMAT, "%s:%ld: %s column \"%s\": no column of that name in the "
                    "header", t->path, t->names_line, what, SHOWN(sv, spec));
}

static bp_status set_roles(fit *f, char *forced)
{
    const bp_table *t = f->t;
    const bp_encode_options *o = f->o;
    bp_encoder *e = f->e;
    char b1[COL_DESC];
    for (int c = 0; t->names && c < t->cols; c++)
        if (!bp__utf8_valid(t->names[c]))
            return bp__fail(BP_ERR_FORMAT, "%s:%ld: the name of column %d is not valid UTF-8",
                            t->path, t->names_line, c);
    const char *dup = t->names ? bp__duplicate_name(t->names, t->cols) : NULL;
    char v[BP_TEXT_SHOWN];
    if (dup)
        return bp__fail(BP_ERR_FORMAT, "%s:%ld: two columns are named \"%s\": columns are found "
                        "by name, so rename one", t->path, t->names_line, SHOWN(v, dup));
    int n_t = o->has_target ? (o->n_targets ? o->n_targets : 1) : 0;
    if (n_t && !(e->targets = bp__calloc((size_t)n_t, sizeof *e->targets))) return BP_ERR_NOMEM;
    for (int i = 0; i < o->n_ignore; i++) {
        int c;
        bp_status st = resolve(t, o->ignore[i], "ignored", &c);
        if (st) return st;
        e->col[c].role = BP_COLUMN_IGNORED;
    }
    for (int i = 0; i < n_t; i++) {
        int c;
        bp_status st = resolve(t, o->n_targets ? o->targets[i] : "-1", "target", &c);
        if (st) return st;
        if (e->col[c].role == BP_COLUMN_IGNORED)
            return bp__fail(BP_ERR_FORMAT, "%s: %s is both a target and ignored",
                            t->path, cdesc(t, c, b1));
        if (e->col[c].role == BP_COLUMN_TARGET)
            return bp__fail(BP_ERR_FORMAT, "%s: %s is named twice as a target",
                            t->path, cdesc(t, c, b1));
        e->col[c].role = BP_COLUMN_TARGET;
        e->targets[e->n_targets++] = c;
    }
    for (int i = 0; i < o->n_categorical; i++) {
        int c;
        bp_status st = resolve(t, o->categorical[i], "categorical", &c);
        if (st) return st;
        if (e->col[c].role != BP_COLUMN_NUMERIC)
            return bp__fail(BP_ERR_FORMAT, "%s: %s is named categorical but is "
                            "%s", t->path, cdesc(t, c, b1),
                            e->col[c].role == BP_COLUMN_TARGET ? "a target" : "ignored");
        forced[c] = 1;
    }
    int inputs = 0;
    for (int c = 0; c < t->cols; c++) inputs += e->col[c].role == BP_COLUMN_NUMERIC;
    if (!inputs)
        return bp__fail(BP_ERR_FORMAT, "%s: no input column left (every column is a target or "
                        "ignored)", t->path);
    return BP_OK;
}

/* hint: what the user can do, which differs between fitting and applying. */
static bp_status missing_error(const bp_table *t, size_t r, int c, const char *what,
                               const char *hint)
{
    char b[COL_DESC];
    char v[BP_TEXT_SHOWN];
    return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: %s %s: missing value \"%s\" "
                    "(%s)", t->path, t->line[r], bp__table_col(t, r, c), what,
                    cdesc(t, c, b), SHOWN(v, t->cells[r * (size_t)t->cols + (size_t)c]), hint);
}

/* Which rows the fit uses, under the missing-value policy. */
static bp_status choose_rows(fit *f, bp_encode_report *rep)
{
    const bp_table *t = f->t;
    bp_encoder *e = f->e;
    if (!(f->keep = bp__calloc(t->rows ? t->rows : 1, 1))) return BP_ERR_NOMEM;
    for (size_t r = 0; r < t->rows; r++) {
        int drop = 0;
        for (int c = 0; c < t->cols && !drop; c++) {
            bp_column_role role = e->col[c].role;
            if (role == BP_COLUMN_IGNORED || !bp_is_missing(t->cells[r * (size_t)t->cols + (size_t)c]))
                continue;
            if (e->missing == BP_MISSING_ERROR)
                return missing_error(t, r, c, role == BP_COLUMN_TARGET ? "target" : "input",
                                     "choose --missing impute to fill it in, or --missing drop to "
                                     "drop the row");
            if (e->missing == BP_MISSING_DROP || role == BP_COLUMN_TARGET) drop = 1;
        }
        f->keep[r] = !drop;
        f->kept += !drop;
        rep->dropped += drop;
    }
    if (!f->kept)
        return bp__fail(BP_ERR_FORMAT, "%s: no rows left: all %zu have missing values", t->path,
                        t->rows);
    return BP_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The kept, non-missing cells of column c into cells (rows), sorted and
 * made distinct: *n of them. `plus` (or NULL) is added as a value. */
static size_t distinct_cells(const fit *f, int c, const char **cells, const char *plus)
{
    const bp_table *t = f->t;
    size_t n = 0;
    for (size_t r = 0; r < t->rows; r++) {
        const char *s = t->cells[r * (size_t)t->cols + (size_t)c];
        if (f->keep[r] && !bp_is_missing(s)) cells[n++] = s;
    }
    if (plus) cells[n++] = plus;
    qsort(cells, n, sizeof *cells, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || strcmp(cells[m - 1], cells[i]) != 0) cells[m++] = cells[i];
    return m;
}

static int has_missing(const fit *f, int c)
{
    const bp_table *t = f->t;
    for (size_t r = 0; r < t->rows; r++)
        if (f->keep[r] && bp_is_missing(t->cells[r * (size_t)t->cols + (size_t)c])) return 1;
    return 0;
}

static bp_status fit_categorical(fit *f, int c, const char **cells)
{
    const bp_table *t = f->t;
    bp__enc_col *col = &f->e->col[c];
    char b[COL_DESC];
    int imputed = f->e->missing == BP_MISSING_IMPUTE && has_missing(f, c);
    size_t m = distinct_cells(f, c, cells, imputed ? BP_MISSING_CATEGORY : NULL);
    if (m > (size_t)f->o->max_categories)
        return bp__fail(BP_ERR_FORMAT, "%s: categorical %s has %zu categories, "
                        "more than the limit of %d (raise --max-categories, or --ignore the "
                        "column if it is an id or free text)", t->path, cdesc(t, c, b), m,
                        f->o->max_categories);
    for (size_t i = 0; i < m; i++)
        if (!bp__utf8_valid(cells[i]))
            return bp__fail(BP_ERR_FORMAT, "%s: %s: a category is not valid "
                            "UTF-8 (convert the file to UTF-8)", t->path, cdesc(t, c, b));
    col->role = BP_COLUMN_CATEGORICAL;
    bp_status st = bp__strings_copy(&col->cats, (int)m, cells);
    if (!st) col->n_cats = (int)m;
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The imputation value: mean or median of the kept, non-missing values. */
static bp_status fit_numeric(fit *f, int c)
{
    const bp_table *t = f->t;
    bp__enc_col *col = &f->e->col[c];
    double *v = bp__calloc(t->rows, sizeof *v), sum = 0;
    if (!v) return BP_ERR_NOMEM;
    size_t n = 0;
    for (size_t r = 0; r < t->rows; r++) {
        const char *s = t->cells[r * (size_t)t->cols + (size_t)c];
        if (f->keep[r] && !bp_is_missing(s) && bp__enc_number(s, &v[n])) sum += v[n++];
    }
    if (f->o->impute_median && n) {
        qsort(v, n, sizeof *v, cmp_double);
        col->fill = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    } else {
        col->fill = n ? sum / (double)n : 0;
    }
    free(v);
    col->indicator = f->e->missing == BP_MISSING_IMPUTE && has_missing(f, c);
    return BP_OK;
}

/* Numeric or categorical, from the kept cells: a mix is an error. */
static bp_status fit_input(fit *f, int c, int forced, const char **cells)
{
    const bp_table *t = f->t;
    if (forced) return fit_categorical(f, c, cells);
    size_t numbers = 0, texts = 0, first_text = 0, first_number = 0;
    for (size_t r = 0; r < t->rows; r++) {
        const char *s = t->cells[r * (size_t)t->cols + (size_t)c];
        double v;
        if (!f->keep[r] || bp_is_missing(s)) continue;
        const char *why = number_trouble(s);
        char b[COL_DESC], sv[BP_TEXT_SHOWN];
        if (why)
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: input %s: \"%s\" %s: fix the value, or "
                            "name the column with --categorical if it is text", t->path, t->line[r],
                            bp__table_col(t, r, c), cdesc(t, c, b), SHOWN(sv, s), why);
        if (bp__enc_number(s, &v)) {
            if (!numbers++) first_number = r;
        } else if (!texts++) {
            first_text = r;
        }
    }
    char b[COL_DESC], sv[BP_TEXT_SHOWN];
    if (!numbers && !texts)
        return bp__fail(BP_ERR_FORMAT, "%s: %s holds only missing values (ignore "
                        "it with --ignore)", t->path, cdesc(t, c, b));
    if (numbers && texts) {
        /* the odd one out: the first text in a column of numbers, or the other way round */
        size_t r = texts <= numbers ? first_text : first_number;
        return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: input %s mixes numbers and "
                        "text (numbers: %zu, text: %zu, here \"%s\"): name it with "
                        "--categorical to one-hot encode it, or fix the value", t->path,
                        t->line[r], bp__table_col(t, r, c), cdesc(t, c, b), numbers, texts,
                        SHOWN(sv, t->cells[r * (size_t)t->cols + (size_t)c]));
    }
    return texts ? fit_categorical(f, c, cells) : fit_numeric(f, c);
}

/* ------------------------------------------------------------- targets */

typedef struct tval {
    double v;
    const char *s;
} tval;

static int cmp_tnum(const void *a, const void *b)
{
    return cmp_double(&((const tval *)a)->v, &((const tval *)b)->v);
}

static int cmp_tstr(const void *a, const void *b)
{
    return strcmp(((const tval *)a)->s, ((const tval *)b)->s);
}

/* The shortest %g that reads back as v ("%.0f" for integers): class names. */
static void format_number(char *buf, size_t size, double v)
{
    if (floor(v) == v && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v + 0.0);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

typedef struct tstats {
    size_t n, numbers, integers, distinct;
    size_t first_bad;  /* a row whose target is not a number (when numbers < n) */
    int numeric;       /* every value is a number: sorted numerically */
} tstats;

/* Sorted distinct values of target column c over the kept rows into u. */
static void target_values(const fit *f, int c, tval *u, tstats *s)
{
    const bp_table *t = f->t;
    memset(s, 0, sizeof *s);
    for (size_t r = 0; r < t->rows; r++) {
        if (!f->keep[r]) continue;
        tval *k = &u[s->n++];
        k->s = t->cells[r * (size_t)t->cols + (size_t)c];
        if (bp__enc_number(k->s, &k->v)) {
            s->numbers++;
            s->integers += floor(k->v) == k->v && fabs(k->v) <= 9007199254740992.0;
        } else if (!s->first_bad) {
            s->first_bad = r + 1;
        }
    }
    s->numeric = s->numbers == s->n;
    int (*cmp)(const void *, const void *) = s->numeric ? cmp_tnum : cmp_tstr;
    qsort(u, s->n, sizeof *u, cmp);
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (m == 0 || cmp(&u[m - 1], &u[i]) != 0) u[m++] = u[i];
    s->distinct = m;
}

/* Names of the m sorted distinct values (numbers formatted) into *out. */
static bp_status value_names(const tval *u, size_t m, int numeric, char ***out)
{
    const char **names = bp__calloc(m, sizeof *names);
    char (*buf)[40] = bp__calloc(m, sizeof *buf); /* numbers' names (m <= 65536) */
    if (!names || !buf) {
        free(names), free(buf);
        return BP_ERR_NOMEM;
    }
    bp_status st = BP_OK;
    for (size_t i = 0; i < m; i++) {
        if (numeric) format_number(buf[i], sizeof buf[i], u[i].v);
        names[i] = numeric ? buf[i] : u[i].s;
        if (!bp__utf8_valid(names[i]))
            st = bp__fail(BP_ERR_FORMAT, "a target value is not valid UTF-8 (convert the file to "
                          "UTF-8)");
    }
    if (!st) st = bp__strings_copy(out, (int)m, names);
    free(names);
    free(buf);
    return st;
}

/* Target values become label names, which must be UTF-8: the first that is
 * not, with its file, line and column. */
static bp_status target_utf8(const fit *f, int c)
{
    const bp_table *t = f->t;
    for (size_t r = 0; r < t->rows; r++)
        if (f->keep[r] && !bp__utf8_valid(t->cells[r * (size_t)t->cols + (size_t)c])) {
            char v[BP_TEXT_SHOWN], b[COL_DESC];
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: target %s: \"%s\" is not valid UTF-8 "
                            "(convert the file to UTF-8)", t->path, t->line[r],
                            bp__table_col(t, r, c), cdesc(t, c, b),
                            SHOWN(v, t->cells[r * (size_t)t->cols + (size_t)c]));
        }
    return BP_OK;
}

static bp_status fit_one_target(fit *f, tval *u)
{
    const bp_table *t = f->t;
    bp_encoder *e = f->e;
    int c = e->targets[0];
    char b[COL_DESC];
    tstats s;
    target_values(f, c, u, &s);
    bp_task task = f->o->task;
    if (task == BP_TASK_AUTO) {
        if (s.numbers && s.numbers < s.n) {
            size_t r = s.first_bad - 1;
            const char *cv = t->cells[r * (size_t)t->cols + (size_t)c], *why = number_trouble(cv);
            char sv[BP_TEXT_SHOWN];
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: target \"%s\" %s while other targets are "
                            "numbers (for class labels, set the task to classification)", t->path,
                            t->line[r], bp__table_col(t, r, c), SHOWN(sv, cv),
                            why ? why : "is not a finite number");
        }
        task = !s.numbers || (s.integers == s.n && s.distinct >= 2 &&
                              s.distinct <= (size_t)f->o->max_classes)
                   ? BP_TASK_CLASSIFICATION : BP_TASK_REGRESSION;
    }
    e->task = task;
    if (task == BP_TASK_REGRESSION) {
        if (s.numbers < s.n) {
            size_t r = s.first_bad - 1;
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: regression target %s: "
                            "\"%s\" is not a number", t->path, t->line[r], bp__table_col(t, r, c),
                            cdesc(t, c, b), t->cells[r * (size_t)t->cols + (size_t)c]);
        }
        return BP_OK;
    }
    if (s.distinct < 2)
    {
        char v[BP_TEXT_SHOWN];
        return bp__fail(BP_ERR_FORMAT, "%s: the target column has a single class \"%s\"", t->path,
                        SHOWN(v, u[0].s));
    }
    if (s.distinct > BP_CSV_MAX_CLASSES)
        return bp__fail(BP_ERR_FORMAT, "%s: %zu distinct target values: more than %d classes",
                        t->path, s.distinct, BP_CSV_MAX_CLASSES);
    bp_status st = target_utf8(f, c);
    if (!st) st = value_names(u, s.distinct, s.numeric, &e->labels);
    if (!st) e->n_labels = (int)s.distinct;
    return st;
}

/* Several targets: all two-valued (multi-label) or all numeric (regression). */
static bp_status fit_targets(fit *f)
{
    const bp_table *t = f->t;
    bp_encoder *e = f->e;
    if (!e->n_targets) return BP_OK;
    tval *u = bp__calloc(t->rows ? t->rows : 1, sizeof *u);
    if (!u) return BP_ERR_NOMEM;
    bp_status st = BP_OK;
    if (e->n_targets == 1) {
        st = fit_one_target(f, u);
        free(u);
        return st;
    }
    int two = 1, numeric = 1;
    for (int i = 0; i < e->n_targets; i++) {
        tstats s;
        target_values(f, e->targets[i], u, &s);
        two &= s.distinct == 2;
        numeric &= s.numeric;
    }
    char b[COL_DESC];
    e->task = two && f->o->task != BP_TASK_REGRESSION ? BP_TASK_MULTILABEL
              : numeric ? BP_TASK_REGRESSION : BP_TASK_AUTO;
    for (int i = 0; e->task == BP_TASK_MULTILABEL && !st && i < e->n_targets; i++) {
        bp__enc_col *col = &e->col[e->targets[i]];
        tstats s;
        target_values(f, e->targets[i], u, &s);
        st = target_utf8(f, e->targets[i]);
        if (!st) st = value_names(u, 2, s.numeric, &col->cats);
        if (!st) col->n_cats = 2;
    }
    if (e->task == BP_TASK_AUTO) {
        int bad = -1;
        for (int i = 0; i < e->n_targets && bad < 0; i++) {
            tstats s;
            target_values(f, e->targets[i], u, &s);
            if (s.distinct != 2 && !s.numeric) bad = e->targets[i];
        }
        char why[COL_DESC + 16] = "some have two values, others are numbers with more";
        if (bad >= 0) snprintf(why, sizeof why, "%s is neither", cdesc(t, bad, b));
        st = bp__fail(BP_ERR_FORMAT, "%s: %d target columns must all have two values "
                      "(multi-label) or all be numbers (multi-output regression); %s",
                      t->path, e->n_targets, why);
    }
    free(u);
    return st;
}

static bp_status fit_columns(fit *f, const char *forced)
{
    const bp_table *t = f->t;
    const char **cells = bp__calloc(t->rows + 1, sizeof *cells);
    if (!cells) return BP_ERR_NOMEM;
    bp_status st = BP_OK;
    for (int c = 0; !st && c < t->cols; c++) {
        bp__enc_col *col = &f->e->col[c];
        char b[COL_DESC];
        if (!(col->name = bp__strdup(cname(t, c, b)))) st = BP_ERR_NOMEM;
        else if (col->role == BP_COLUMN_NUMERIC) st = fit_input(f, c, forced[c], cells);
    }
    free(cells);
    return st;
}

bp_status bp_encoder_fit(bp_encoder **out, const bp_table *t, const bp_encode_options *opt,
                         bp_encode_report *rep)
{
    *out = NULL;
    bp_encode_options defaults = bp_encode_options_default();
    const bp_encode_options *o = opt ? opt : &defaults;
    bp_encode_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    rep->unknown_column = -1;
    rep->rows = t->rows;
    if ((unsigned)o->missing >= BP_MISSING_COUNT_ || o->max_categories < 1 ||
        (unsigned)o->task > BP_TASK_REGRESSION || o->n_targets < 0 || o->n_ignore < 0 ||
        o->n_categorical < 0)
        return bp__fail(BP_ERR_INVALID, "encode options: bad missing %d, max_categories %d, task "
                        "%d or a negative count", (int)o->missing, o->max_categories, (int)o->task);
    bp_encoder *e = bp__calloc(1, sizeof *e);
    char *forced = bp__calloc((size_t)t->cols, 1);
    fit f = {.t = t, .o = o, .e = e};
    bp_status st = e && forced ? BP_OK : BP_ERR_NOMEM;
    if (!st && !(e->col = bp__calloc((size_t)t->cols, sizeof *e->col))) st = BP_ERR_NOMEM;
    if (!st) {
        e->n_cols = t->cols;
        e->has_header = t->names != NULL;
        e->missing = o->missing;
        e->impute_median = o->impute_median;
        e->task = BP_TASK_AUTO;
        st = set_roles(&f, forced);
    }
    if (!st) st = choose_rows(&f, rep);
    if (!st) st = fit_columns(&f, forced);
    if (!st) st = fit_targets(&f);
    if (!st) bp__enc_layout(e);
    free(forced);
    free(f.keep);
    if (st) bp_encoder_free(e);
    else *out = e;
    return st;
}

/* ------------------------------------------------------------ applying */

typedef struct apply {
    const bp_encoder *e;
    const bp_table *t;
    int flags;
    int *src;          /* (e->n_cols) table column of each encoder column, -1 if absent */
    int targets;       /* whether the targets are encoded */
    bp_encode_report *rep;
} apply;

typedef struct named {
    const char *name;
    int index;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Each encoder column found by name in the header (sorted once: a header of
 * many columns costs n log n, not n^2); the first of equal names wins. */
static bp_status map_by_name(apply *a)
{
    const bp_encoder *e = a->e;
    const bp_table *t = a->t;
    named *sorted = bp__calloc((size_t)t->cols, sizeof *sorted);
    if (!sorted) return BP_ERR_NOMEM;
    for (int k = 0; k < t->cols; k++) sorted[k] = (named){t->names[k], k};
    qsort(sorted, (size_t)t->cols, sizeof *sorted, cmp_named);
    bp_status st = BP_OK;
    for (int c = 0; !st && c < e->n_cols; c++) {
        named key = {e->col[c].name, -1};
        size_t lo = 0, hi = (size_t)t->cols; /* the first entry not below key */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp_named(&sorted[mid], &key) < 0) lo = mid + 1;
            else hi = mid;
        }
        a->src[c] = lo < (size_t)t->cols && strcmp(sorted[lo].name, key.name) == 0
                        ? sorted[lo].index : -1;
        if (a->src[c] < 0 && e->col[c].role != BP_COLUMN_TARGET &&
            e->col[c].role != BP_COLUMN_IGNORED)
            st = bp__fail(BP_ERR_FORMAT, "%s:%ld: no column \"%s\" in the header: the model "
                          "takes it as an input", t->path, t->names_line, e->col[c].name);
    }
    free(sorted);
    return st;
}

/* Without a header: the training columns, or those without the targets. */
static bp_status map_by_position(apply *a)
{
    const bp_encoder *e = a->e;
    const bp_table *t = a->t;
    int skip_targets = t->cols != e->n_cols;
    if (skip_targets && t->cols != e->n_cols - e->n_targets)
        return bp__fail(BP_ERR_FORMAT, "%s: %d columns and no header: the model was trained on "
                        "%d columns (%d without the targets)", t->path, t->cols, e->n_cols,
                        e->n_cols - e->n_targets);
    for (int c = 0, k = 0; c < e->n_cols; c++)
        a->src[c] = skip_targets && e->col[c].role == BP_COLUMN_TARGET ? -1 : k++;
    return BP_OK;
}

static bp_status map_columns(apply *a)
{
    const bp_encoder *e = a->e;
    bp_status st = a->t->names ? map_by_name(a) : map_by_position(a);
    if (st) return st;
    int present = 0;
    for (int i = 0; i < e->n_targets; i++) present += a->src[e->targets[i]] >= 0;
    if ((a->flags & BP_ENCODE_TARGETS) && present < e->n_targets) {
        for (int i = 0; i < e->n_targets; i++)
            if (a->src[e->targets[i]] < 0)
                return bp__fail(BP_ERR_FORMAT, "%s: no target column \"%s\"", a->t->path,
                                e->col[e->targets[i]].name);
        if (!e->n_targets)
            return bp__fail(BP_ERR_FORMAT, "%s: the model has no targets", a->t->path);
    }
    a->targets = e->n_targets > 0 && present == e->n_targets &&
                 (a->flags & (BP_ENCODE_TARGETS | BP_ENCODE_TARGETS_IF_ANY));
    return BP_OK;
}

static const char *cell(const apply *a, size_t r, int c)
{
    return a->t->cells[r * (size_t)a->t->cols + (size_t)a->src[c]];
}

/* Whether row r is dropped; an error where the policy forbids it. */
static bp_status row_dropped(const apply *a, size_t r, int *drop)
{
    const bp_encoder *e = a->e;
    *drop = 0;
    for (int c = 0; c < e->n_cols; c++) {
        bp_column_role role = e->col[c].role;
        if (role == BP_COLUMN_IGNORED || a->src[c] < 0 || !bp_is_missing(cell(a, r, c))) continue;
        if (role == BP_COLUMN_TARGET && !a->targets) continue;
        if (e->missing == BP_MISSING_ERROR || (a->flags & BP_ENCODE_NO_DROP &&
                                               (e->missing == BP_MISSING_DROP ||
                                                role == BP_COLUMN_TARGET)))
            return missing_error(a->t, r, a->src[c], role == BP_COLUMN_TARGET ? "target" : "input",
                                 e->missing == BP_MISSING_IMPUTE
                                     ? "a missing target cannot be scored: leave the row out"
                                     : "the model was trained with --missing error or drop, and "
                                       "prediction keeps every row: fill in the value, or train "
                                       "the model with --missing impute");
        if (e->missing == BP_MISSING_DROP || role == BP_COLUMN_TARGET) *drop = 1;
    }
    return BP_OK;
}

static bp_status not_number(const apply *a, size_t r, int c, const char *what)
{
    char n[BP_TEXT_SHOWN], v[BP_TEXT_SHOWN];
    const char *why = number_trouble(cell(a, r, c));
    return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: %s column %d (\"%s\"): \"%s\" %s",
                    a->t->path, a->t->line[r], bp__table_col(a->t, r, a->src[c]), what, a->src[c],
                    SHOWN(n, a->e->col[c].name), SHOWN(v, cell(a, r, c)),
                    why ? why : "is not a finite number");
}

static int find_cat(const bp__enc_col *col, const char *s)
{
    char **hit = bsearch(&s, col->cats, (size_t)col->n_cats, sizeof *col->cats, cmp_str);
    return hit ? (int)(hit - col->cats) : -1;
}

static bp_status encode_inputs(const apply *a, size_t r, bp_real *x /* (inputs) */)
{
    const bp_encoder *e = a->e;
    for (int c = 0; c < e->n_cols; c++) {
        const bp__enc_col *col = &e->col[c];
        if (col->role != BP_COLUMN_NUMERIC && col->role != BP_COLUMN_CATEGORICAL) continue;
        const char *s = cell(a, r, c);
        int missing = bp_is_missing(s);
        a->rep->imputed += missing;
        if (col->role == BP_COLUMN_NUMERIC) {
            double v = col->fill;
            if (!missing && !bp__enc_number(s, &v)) return not_number(a, r, c, "input");
            x[col->first] = (bp_real)v;
            if (col->indicator) x[col->first + 1] = (bp_real)missing;
            continue;
        }
        int k = find_cat(col, missing ? BP_MISSING_CATEGORY : s);
        if (k >= 0) {
            x[col->first + k] = 1;
        } else if (!missing) {
            if (a->flags & BP_ENCODE_UNKNOWN_ERROR)
            {
                char n[BP_TEXT_SHOWN], v[BP_TEXT_SHOWN];
                return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: column %d (\"%s\"): category \"%s\" "
                                "was not seen in training", a->t->path, a->t->line[r],
                                bp__table_col(a->t, r, a->src[c]), a->src[c],
                                SHOWN(n, col->name), SHOWN(v, s));
            }
            if (!a->rep->unknown++) a->rep->unknown_column = c;
        }
    }
    return BP_OK;
}

/* Index of value s among two or more names (same text, or same number). */
static int match_value(char *const *names, int n, const char *s)
{
    double v, w;
    int num = bp__enc_number(s, &v);
    for (int j = 0; j < n; j++)
        if (strcmp(s, names[j]) == 0 || (num && bp__enc_number(names[j], &w) && v == w)) return j;
    return -1;
}

static bp_status encode_targets(const apply *a, size_t r, bp_real *y /* (outputs) */)
{
    const bp_encoder *e = a->e;
    for (int i = 0; i < e->n_targets; i++) {
        int c = e->targets[i];
        const char *s = cell(a, r, c);
        if (e->task == BP_TASK_REGRESSION) {
            double v;
            if (!bp__enc_number(s, &v)) return not_number(a, r, c, "target");
            y[i] = (bp_real)v;
            continue;
        }
        int multi = e->task == BP_TASK_MULTILABEL;
        int k = multi ? match_value(e->col[c].cats, 2, s) : match_value(e->labels, e->n_labels, s);
        if (k < 0)
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: target column \"%s\": \"%s\" is not one "
                            "of the %d %s the model knows", a->t->path, a->t->line[r],
                            bp__table_col(a->t, r, a->src[c]), e->col[c].name, s,
                            multi ? 2 : e->n_labels, multi ? "values" : "labels");
        if (multi) y[i] = (bp_real)k;
        else y[k] = 1;
    }
    return BP_OK;
}

static bp_status encode_rows(apply *a, const char *keep, size_t kept, bp_dataset **out)
{
    const bp_encoder *e = a->e;
    int k = a->targets ? bp_encoder_outputs(e) : 0;
    bp_real *x = bp__calloc(kept * (size_t)e->n_inputs, sizeof *x);
    bp_real *y = k ? bp__calloc(kept * (size_t)k, sizeof *y) : NULL;
    bp_status st = x && (y || !k) ? BP_OK : BP_ERR_NOMEM;
    for (size_t r = 0, i = 0; !st && r < a->t->rows; r++) {
        if (!keep[r]) continue;
        st = encode_inputs(a, r, x + i * (size_t)e->n_inputs);
        if (!st && k) st = encode_targets(a, r, y + i * (size_t)k);
        i++;
    }
    if (st) {
        free(x), free(y);
        return st;
    }
    st = bp__dataset_adopt(out, kept, e->n_inputs, k, x, y);
    if (!st && k && e->task == BP_TASK_CLASSIFICATION)
        st = bp_dataset_set_labels(*out, e->n_labels, (const char *const *)e->labels);
    return st;
}

bp_status bp_encoder_apply(bp_dataset **out, const bp_encoder *e, const bp_table *t, int flags,
                           bp_encode_report *rep)
{
    *out = NULL;
    bp_encode_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    rep->unknown_column = -1;
    rep->rows = t->rows;
    apply a = {.e = e, .t = t, .flags = flags, .rep = rep};
    char *keep = bp__calloc(t->rows ? t->rows : 1, 1);
    a.src = bp__calloc((size_t)e->n_cols, sizeof *a.src);
    bp_status st = keep && a.src ? map_columns(&a) : BP_ERR_NOMEM;
    size_t kept = 0;
    for (size_t r = 0; !st && r < t->rows; r++) {
        int drop;
        st = row_dropped(&a, r, &drop);
        keep[r] = !drop;
        kept += !drop;
        rep->dropped += drop;
    }
    if (!st && !kept)
        st = bp__fail(BP_ERR_FORMAT, "%s: no rows left to encode (%zu dropped for missing values)",
                      t->path, rep->dropped);
    if (!st) st = encode_rows(&a, keep, kept, out);
    if (st) bp_dataset_free(*out), *out = NULL;
    free(keep);
    free(a.src);
    return st;
}

/* ------------------------------------------------------------ the model */

/* bp_model_set_encoder and bp_model_encoder: model_meta.c. */

bp_status bp_model_encode(bp_dataset **out, const bp_model *m, const bp_table *t, int flags,
                          bp_encode_report *rep)
{
    *out = NULL;
    if (!m->encoder) return bp__fail(BP_ERR_INVALID, "the model has no encoder");
    return bp_encoder_apply(out, m->encoder, t, flags, rep);
}
