/* data_csv.c - CSV reader. The whole file is read into memory (through zlib,
 * so a .csv.gz reads the same) and its fields are unquoted in place: every
 * field then stays valid, NUL-terminated, until the end of the load. Inputs
 * are converted as rows arrive; the targets are kept as strings until all
 * are seen, since the task and the class order depend on all of them. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_COLUMNS (1 << 20)

bp_csv_options bp_csv_options_default(void)
{
    bp_csv_options o = {0};
    o.header = -1;
    o.target_index = -1;
    o.has_target = 1;
    o.task = BP_TASK_AUTO;
    o.max_classes = 20;
    return o;
}

/* ------------------------------------------------------------- reading */

static bp_status read_all(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) return bp__fail(BP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0;
    bp_status st = BP_OK;
    for (;;) {
        /* One byte more than the data, for the NUL after the last field. */
        if ((st = bp__grow((void **)buf, &cap, *len + 65536 + 1, 1))) break;
        int got = gzread(gz, *buf + *len, 65536);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            st = bp__fail(BP_ERR_IO, "%s: read failed: %s", path,
                          zerr == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        if (got == 0) break;
        *len += (size_t)got;
    }
    gzclose(gz);
    if (st) {
        free(*buf);
        *buf = NULL;
        return st;
    }
    (*buf)[*len] = '\0';
    return BP_OK;
}

/* ------------------------------------------------------------- parsing */

typedef struct csv_reader {
    const char *path;
    char *buf;          /* (len + 1) the file; fields are unquoted in place */
    size_t len, pos;
    size_t line_start;  /* offset of the first byte of the current line */
    long line;          /* 1-based number of the line at pos */
    char delim;
} csv_reader;

typedef struct csv_field {
    char *s;            /* unquoted, trimmed, NUL-terminated, inside the buffer */
    long col;           /* 1-based column where the field starts */
} csv_field;

typedef struct csv_record {
    csv_field *f;       /* (n) */
    size_t n, cap;
    long line;          /* line where the record starts */
    long end_col;       /* column just past the record's last field */
} csv_record;

static int is_blank(char c, char delim) { return (c == ' ' || c == '\t' || c == '\r') && c != delim; }

static long column(const csv_reader *r, size_t p) { return (long)(p - r->line_start) + 1; }

/* Reads one field at r->pos; *term is what ended it: the delimiter, '\n' or
 * '\0' at the end of the data. */
static bp_status read_field(csv_reader *r, char **out, long *col, char *term)
{
    char *b = r->buf;
    size_t p = r->pos;
    while (p < r->len && is_blank(b[p], r->delim)) p++;
    *col = column(r, p);
    if (p < r->len && b[p] == '"') {
        long qline = r->line, qcol = *col;
        size_t w = p++;
        *out = b + w;
        for (;;) {
            if (p >= r->len)
                return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: quoted field not closed",
                                r->path, qline, qcol);
            char c = b[p++];
            if (c == '"') {
                if (p < r->len && b[p] == '"') p++; /* "" is a quote */
                else break;
            } else if (c == '\n') {
                r->line++;
                r->line_start = p;
            }
            b[w++] = c;
        }
        while (p < r->len && is_blank(b[p], r->delim)) p++;
        if (p < r->len && b[p] != r->delim && b[p] != '\n')
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: unexpected '%c' after a closing quote",
                            r->path, r->line, column(r, p), b[p]);
        *term = p < r->len ? b[p] : '\0';
        b[w] = '\0'; /* w < p: the quotes took at least two bytes */
    } else {
        size_t s = p;
        while (p < r->len && b[p] != r->delim && b[p] != '\n') p++;
        *term = p < r->len ? b[p] : '\0';
        size_t e = p;
        while (e > s && is_blank(b[e - 1], r->delim)) e--;
        *out = b + s;
        b[e] = '\0';
    }
    r->pos = p;
    return BP_OK;
}

/* Skips lines holding nothing but blanks. */
static void skip_blank_lines(csv_reader *r)
{
    size_t p = r->pos;
    while (p < r->len) {
        size_t q = p;
        while (q < r->len && r->buf[q] != '\n' && is_blank(r->buf[q], 0)) q++;
        if (q < r->len && r->buf[q] != '\n') break;
        if (q == r->len) {
            p = q;
            break;
        }
        p = q + 1;
        r->line++;
        r->line_start = p;
    }
    r->pos = p;
}

/* Reads the next record into rec; *got is 0 at the end of the data. */
static bp_status read_record(csv_reader *r, csv_record *rec, int *got)
{
    skip_blank_lines(r);
    *got = 0;
    if (r->pos >= r->len) return BP_OK;
    rec->n = 0;
    rec->line = r->line;
    for (;;) {
        char *f, term = 0;
        long col;
        bp_status st = read_field(r, &f, &col, &term);
        if (st) return st;
        if (rec->n == MAX_COLUMNS)
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: more than %d columns", r->path,
                            r->line, col, MAX_COLUMNS);
        if ((st = bp__grow((void **)&rec->f, &rec->cap, rec->n + 1, sizeof *rec->f))) return st;
        rec->f[rec->n++] = (csv_field){f, col};
        rec->end_col = column(r, r->pos);
        if (term == '\0') break;
        r->pos++;
        if (term == '\n') {
            r->line++;
            r->line_start = r->pos;
            break;
        }
    }
    *got = 1;
    return BP_OK;
}

/* The candidate that occurs most often outside quotes in the first line. */
static char detect_delimiter(const char *b, size_t len)
{
    const char cand[3] = {',', ';', '\t'};
    size_t count[3] = {0, 0, 0}, p = 0;
    int quoted = 0;
    while (p < len && (b[p] == '\n' || is_blank(b[p], 0))) p++; /* leading blank lines */
    for (; p < len && (quoted || b[p] != '\n'); p++) {
        if (b[p] == '"') quoted = !quoted;
        for (int k = 0; !quoted && k < 3; k++) count[k] += b[p] == cand[k];
    }
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (count[k] > count[best]) best = k;
    return cand[best];
}

/* A number fills the whole field (strtod accepts nan and inf: the callers
 * check finiteness where it matters). */
static int parse_number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

/* -------------------------------------------------------------- loading */

typedef struct target {
    const char *s;  /* the field, inside the reader's buffer */
    long line, col;
} target;

typedef struct csv_load {
    const char *path;
    const bp_csv_options *opt;
    size_t n_cols;      /* fields per row */
    size_t tcol;        /* target column, n_cols when there is none */
    int n_in;
    const csv_field *names; /* the header (n_cols), or NULL */
    size_t n, cap;      /* rows read, rows allocated */
    bp_real *x;         /* (cap, n_in) */
    size_t tcap;
    target *t;          /* (n) targets, when there is a target column */
} csv_load;

static bp_status check_number(const csv_load *L, const char *s, long line, long col,
                              size_t c, double *v)
{
    const char *what = c == L->tcol ? "target" : "input";
    char name[BP_TEXT_SHOWN + 8] = "", n[BP_TEXT_SHOWN], sv[BP_TEXT_SHOWN];
    if (L->names) snprintf(name, sizeof name, " (\"%s\")", bp_text_escape(n, sizeof n, L->names[c].s));
    bp_text_escape(sv, sizeof sv, s);
    /* columns numbered from 0, as --target takes them */
    if (!parse_number(s, v))
        return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: %s column %zu%s: \"%s\" is not a number",
                        L->path, line, col, what, c, name, sv);
    if (!isfinite(*v))
        return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: %s column %zu%s: \"%s\" is not finite",
                        L->path, line, col, what, c, name, sv);
    if (!isfinite((bp_real)*v)) /* 1e308 is a double but no float */
        return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: %s column %zu%s: \"%s\" is out of the "
                        "range of " BP_REAL_NAME, L->path, line, col, what, c, name, sv);
    return BP_OK;
}

static bp_status add_row(csv_load *L, const csv_record *rec)
{
    if (rec->n != L->n_cols) {
        long col = rec->n > L->n_cols ? rec->f[L->n_cols].col : rec->end_col;
        return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: expected %zu fields, got %zu", L->path,
                        rec->line, col, L->n_cols, rec->n);
    }
    bp_status st = bp__grow((void **)&L->x, &L->cap, L->n + 1, (size_t)L->n_in * sizeof *L->x);
    if (!st && L->tcol < L->n_cols) st = bp__grow((void **)&L->t, &L->tcap, L->n + 1, sizeof *L->t);
    if (st) return st;
    bp_real *row = L->x + L->n * (size_t)L->n_in;
    for (size_t c = 0; c < L->n_cols; c++) {
        if (c == L->tcol) {
            L->t[L->n] = (target){rec->f[c].s, rec->line, rec->f[c].col};
            continue;
        }
        double v;
        if ((st = check_number(L, rec->f[c].s, rec->line, rec->f[c].col, c, &v))) return st;
        *row++ = (bp_real)v;
    }
    L->n++;
    return BP_OK;
}

/* Header when some field of the first row is not a number while the same
 * field of the second row is: a data row of string labels is no header. */
static int looks_like_header(const csv_record *first, const csv_record *second, int have_second)
{
    double v;
    for (size_t c = 0; c < first->n; c++)
        if (!parse_number(first->f[c].s, &v) &&
            (!have_second || (c < second->n && parse_number(second->f[c].s, &v))))
            return 1;
    return 0;
}

/* Whether every field of both first rows is text: then the first row may be
 * a header or data, and guessing would silently misread one or the other. */
static int all_text(const csv_record *first, const csv_record *second, int have_second)
{
    double v;
    for (size_t c = 0; c < first->n; c++)
        if (parse_number(first->f[c].s, &v) || bp_is_missing(first->f[c].s) ||
            (have_second && (c >= second->n || parse_number(second->f[c].s, &v))))
            return 0;
    return have_second;
}

static bp_status header_unknown(const char *path, long line)
{
    return bp__fail(BP_ERR_FORMAT, "%s:%ld: every column of the first rows is text, so whether "
                    "line %ld is a header or data cannot be told: say which with --header or "
                    "--no-header (bp_csv_options.header, bp_table_load_csv's header: 1 or 0)",
                    path, line, line);
}

static bp_status find_target(csv_load *L, const csv_record *first)
{
    const bp_csv_options *o = L->opt;
    L->tcol = L->n_cols;
    if (!o->has_target) return BP_OK;
    if (o->target_name) {
        if (!L->names)
            return bp__fail(BP_ERR_FORMAT, "%s: target column \"%s\" is named but the file "
                            "has no header", L->path, o->target_name);
        for (size_t c = 0; c < L->n_cols; c++)
            if (strcmp(L->names[c].s, o->target_name) == 0) L->tcol = c;
        if (L->tcol == L->n_cols)
            return bp__fail(BP_ERR_FORMAT, "%s:%ld: no column named \"%s\" in the header",
                            L->path, first->line, o->target_name);
        return BP_OK;
    }
    long i = o->target_index < 0 ? (long)L->n_cols + o->target_index : o->target_index;
    if (i < 0 || i >= (long)L->n_cols)
        return bp__fail(BP_ERR_FORMAT, "%s:%ld: target column index %d is out of range: "
                        "rows have %zu fields", L->path, first->line, o->target_index, L->n_cols);
    L->tcol = (size_t)i;
    return BP_OK;
}

/* ------------------------------------------------------------- targets */

typedef struct tkey {
    double v;
    const char *s;
} tkey;

static int cmp_num(const void *a, const void *b)
{
    double x = ((const tkey *)a)->v, y = ((const tkey *)b)->v;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(((const tkey *)a)->s, ((const tkey *)b)->s);
}

/* The shortest %g that reads back as v, for labels such as 0.5. */
static void format_number(char *buf, size_t size, double v, int integer)
{
    if (integer) {
        snprintf(buf, size, "%.0f", v + 0.0); /* + 0.0: -0 prints as 0 */
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static bp_status one_hot(const csv_load *L, const int *cls, int k, bp_real **y)
{
    if (L->n > SIZE_MAX / (size_t)k)
        return bp__fail(BP_ERR_NOMEM, "%s: %zu x %d one-hot targets overflow", L->path, L->n, k);
    *y = bp__calloc(L->n * (size_t)k, sizeof **y);
    if (!*y) return BP_ERR_NOMEM;
    for (size_t i = 0; i < L->n; i++) (*y)[i * (size_t)k + (size_t)cls[i]] = 1;
    return BP_OK;
}

/* Classes from a fixed list: a target matches a label with the same text, or
 * the same value when both are numbers ("1.0" is label "1"). */
static bp_status classes_fixed(const csv_load *L, int *cls)
{
    const bp_csv_options *o = L->opt;
    for (size_t i = 0; i < L->n; i++) {
        double v, w;
        int num = parse_number(L->t[i].s, &v);
        cls[i] = -1;
        for (int j = 0; j < o->n_labels && cls[i] < 0; j++)
            if (strcmp(L->t[i].s, o->labels[j]) == 0 ||
                (num && parse_number(o->labels[j], &w) && v == w))
                cls[i] = j;
        char sv[BP_TEXT_SHOWN];
        if (cls[i] < 0)
            return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: label \"%s\" is not one of the %d "
                            "given labels", L->path, L->t[i].line, L->t[i].col,
                            bp_text_escape(sv, sizeof sv, L->t[i].s), o->n_labels);
    }
    return BP_OK;
}

/* Sorted distinct keys; *k is their number. */
static tkey *distinct(const tkey *keys, size_t n, int (*cmp)(const void *, const void *), size_t *k)
{
    tkey *u = bp__calloc(n, sizeof *u);
    if (!u) return NULL;
    memcpy(u, keys, n * sizeof *u);
    qsort(u, n, sizeof *u, cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || cmp(&u[m - 1], &u[i]) != 0) u[m++] = u[i];
    *k = m;
    return u;
}

/* Labels from the data, sorted; cls[i] the class of row i; *names (k) to free. */
static bp_status classes_found(const csv_load *L, const tkey *keys, int numeric, int integer,
                               int *cls, char ***names, int *k)
{
    int (*cmp)(const void *, const void *) = numeric ? cmp_num : cmp_str;
    size_t m;
    tkey *u = distinct(keys, L->n, cmp, &m);
    if (!u) return BP_ERR_NOMEM;
    bp_status st = BP_OK;
    char sv[BP_TEXT_SHOWN];
    if (m < 2)
        st = bp__fail(BP_ERR_FORMAT, "%s: the target column has a single class \"%s\"",
                      L->path, bp_text_escape(sv, sizeof sv, L->t[0].s));
    else if (m > BP_CSV_MAX_CLASSES)
        st = bp__fail(BP_ERR_FORMAT, "%s: %zu distinct target values: more than %d classes",
                      L->path, m, BP_CSV_MAX_CLASSES);
    else if (!(*names = bp__calloc(m, sizeof **names)))
        st = BP_ERR_NOMEM;
    for (size_t j = 0; !st && j < m; j++) {
        char num[40];
        if (numeric) format_number(num, sizeof num, u[j].v, integer);
        const char *s = numeric ? num : u[j].s;
        if (!((*names)[j] = bp__calloc(strlen(s) + 1, 1))) st = BP_ERR_NOMEM;
        else strcpy((*names)[j], s);
    }
    for (size_t i = 0; !st && i < L->n; i++)
        cls[i] = (int)((const tkey *)bsearch(&keys[i], u, m, sizeof *u, cmp) - u);
    *k = *names ? (int)m : 0; /* the caller frees the names, even on failure */
    free(u);
    return st;
}

typedef enum { KIND_MIXED, KIND_STRINGS, KIND_NUMBERS, KIND_INTEGERS } target_kind;

/* Parses every target; *first_bad is the first that is not a finite number. */
static target_kind scan_targets(const csv_load *L, tkey *keys, size_t *first_bad)
{
    size_t numbers = 0, integers = 0;
    *first_bad = L->n;
    for (size_t i = 0; i < L->n; i++) {
        tkey *k = &keys[i];
        k->s = L->t[i].s;
        if (parse_number(k->s, &k->v) && isfinite(k->v)) {
            numbers++;
            integers += floor(k->v) == k->v && fabs(k->v) <= 9007199254740992.0; /* 2^53 */
        } else if (*first_bad == L->n) {
            *first_bad = i;
        }
    }
    if (numbers == 0) return KIND_STRINGS;
    if (numbers < L->n) return KIND_MIXED;
    return integers == L->n ? KIND_INTEGERS : KIND_NUMBERS;
}

/* BP_TASK_AUTO's rule, documented at bp_csv_options.task. */
static bp_status auto_task(const csv_load *L, const tkey *keys, target_kind kind,
                           size_t first_bad, bp_task *task)
{
    if (kind == KIND_MIXED) {
        const target *t = &L->t[first_bad];
        char sv[BP_TEXT_SHOWN];
        return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: target \"%s\" is not a finite number while "
                        "other targets are numbers (for class labels, set the task to "
                        "classification)", L->path, t->line, t->col,
                        bp_text_escape(sv, sizeof sv, t->s));
    }
    size_t k = 0;
    if (kind == KIND_INTEGERS) {
        tkey *u = distinct(keys, L->n, cmp_num, &k);
        if (!u) return BP_ERR_NOMEM;
        free(u);
    }
    *task = kind == KIND_STRINGS || (k >= 2 && k <= (size_t)L->opt->max_classes)
                ? BP_TASK_CLASSIFICATION : BP_TASK_REGRESSION;
    return BP_OK;
}

static bp_status regression_targets(const csv_load *L, bp_real **y)
{
    if (!(*y = bp__calloc(L->n, sizeof **y))) return BP_ERR_NOMEM;
    for (size_t i = 0; i < L->n; i++) {
        double v;
        bp_status st = check_number(L, L->t[i].s, L->t[i].line, L->t[i].col, L->tcol, &v);
        if (st) return st;
        (*y)[i] = (bp_real)v;
    }
    return BP_OK;
}

/* Decides the task, builds y, then the data set with its labels. */
static bp_status finish(csv_load *L, bp_dataset **out)
{
    const bp_csv_options *o = L->opt;
    if (L->tcol == L->n_cols) {
        bp_status st = bp__dataset_adopt(out, L->n, L->n_in, 0, L->x, NULL);
        L->x = NULL;
        return st;
    }
    tkey *keys = bp__calloc(L->n, sizeof *keys);
    int *cls = bp__calloc(L->n, sizeof *cls);
    bp_real *y = NULL;
    char **names = NULL;
    int k = 1;
    size_t first_bad = 0;
    bp_task task = o->labels ? BP_TASK_CLASSIFICATION : o->task;
    bp_status st = keys && cls ? BP_OK : BP_ERR_NOMEM;
    target_kind kind = st ? KIND_MIXED : scan_targets(L, keys, &first_bad);
    if (!st && task == BP_TASK_AUTO) st = auto_task(L, keys, kind, first_bad, &task);
    if (!st && task == BP_TASK_REGRESSION) {
        st = regression_targets(L, &y);
    } else if (!st) {
        int numeric = kind == KIND_NUMBERS || kind == KIND_INTEGERS;
        if (o->labels) {
            k = o->n_labels;
            st = classes_fixed(L, cls);
        } else {
            st = classes_found(L, keys, numeric, kind == KIND_INTEGERS, cls, &names, &k);
        }
        if (!st) st = one_hot(L, cls, k, &y);
    }
    if (!st) {
        st = bp__dataset_adopt(out, L->n, L->n_in, k, L->x, y);
        L->x = NULL;
        y = NULL;
    }
    if (!st && task == BP_TASK_CLASSIFICATION)
        st = bp_dataset_set_labels(*out, k, o->labels ? o->labels : (const char *const *)names);
    if (st) {
        bp_dataset_free(*out);
        *out = NULL;
    }
    for (int j = 0; names && j < k; j++) free(names[j]);
    free(names);
    free(y);
    free(keys);
    free(cls);
    return st;
}

static bp_status check_options(const bp_csv_options *o)
{
    if (o->header < -1 || o->header > 1)
        return bp__fail(BP_ERR_INVALID, "csv options: header %d (use -1, 0 or 1)", o->header);
    if ((unsigned)o->task > BP_TASK_REGRESSION)
        return bp__fail(BP_ERR_INVALID, "csv options: bad task %d", (int)o->task);
    if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r')
        return bp__fail(BP_ERR_INVALID, "csv options: the delimiter cannot be a quote or line break");
    if (o->labels && (o->n_labels < 1 || o->n_labels > BP_CSV_MAX_CLASSES))
        return bp__fail(BP_ERR_INVALID, "csv options: %d fixed labels", o->n_labels);
    if (o->labels && o->task == BP_TASK_REGRESSION)
        return bp__fail(BP_ERR_INVALID, "csv options: fixed labels with a regression task");
    for (int i = 0; o->labels && i < o->n_labels; i++) {
        if (!o->labels[i]) return bp__fail(BP_ERR_INVALID, "csv options: label %d is NULL", i);
        for (int j = 0; j < i; j++)
            if (strcmp(o->labels[i], o->labels[j]) == 0)
                return bp__fail(BP_ERR_INVALID, "csv options: label \"%s\" given twice",
                                o->labels[i]);
    }
    return BP_OK;
}

static bp_status load(csv_load *L, csv_reader *r, csv_record rec[2], bp_dataset **out)
{
    const bp_csv_options *o = L->opt;
    int got0, got1 = 0;
    bp_status st = read_record(r, &rec[0], &got0);
    if (!st && got0) st = read_record(r, &rec[1], &got1);
    if (st) return st;
    if (!got0) return bp__fail(BP_ERR_FORMAT, "%s: empty file", L->path);
    if (o->header < 0 && all_text(&rec[0], &rec[1], got1)) return header_unknown(L->path, rec[0].line);
    int header = o->header >= 0 ? o->header : looks_like_header(&rec[0], &rec[1], got1);
    if (header && !got1)
        return bp__fail(BP_ERR_FORMAT, "%s: a header and no data rows", L->path);
    L->n_cols = rec[0].n;
    L->names = header ? rec[0].f : NULL;
    if ((st = find_target(L, &rec[0]))) return st;
    L->n_in = (int)(L->n_cols - (L->tcol < L->n_cols));
    if (L->n_in < 1)
        return bp__fail(BP_ERR_FORMAT, "%s:%ld: a single column, the target: no inputs",
                        L->path, rec[0].line);
    /* rec[0] (the header's names, if any) stays untouched from here on. */
    if (!header) st = add_row(L, &rec[0]);
    if (!st && got1) st = add_row(L, &rec[1]);
    for (int got = got1; !st && got;) {
        st = read_record(r, &rec[1], &got);
        if (!st && got) st = add_row(L, &rec[1]);
    }
    return st ? st : finish(L, out);
}

bp_status bp_dataset_load_csv(bp_dataset **out, const char *path, const bp_csv_options *opt)
{
    *out = NULL;
    bp_csv_options defaults = bp_csv_options_default();
    const bp_csv_options *o = opt ? opt : &defaults;
    bp_status st = check_options(o);
    if (st) return st;
    csv_reader r = {.path = path, .line = 1};
    if ((st = read_all(path, &r.buf, &r.len))) return st;
    const char *nul = memchr(r.buf, '\0', r.len);
    if (nul) {
        st = bp__fail(BP_ERR_FORMAT, "%s: a NUL byte at offset %zu: not a text file", path,
                      (size_t)(nul - r.buf));
        free(r.buf);
        return st;
    }
    if (r.len >= 3 && memcmp(r.buf, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark */
        r.pos = r.line_start = 3;
    r.delim = o->delimiter ? o->delimiter : detect_delimiter(r.buf, r.len);
    csv_record rec[2] = {{0}, {0}};
    csv_load L = {.path = path, .opt = o};
    st = load(&L, &r, rec, out);
    for (int i = 0; i < 2; i++) {
        free(rec[i].f);
    }
    free(L.x);
    free(L.t);
    free(r.buf);
    return st;
}

/* -------------------------------------------------------------- tables */

long bp__table_col(const bp_table *t, size_t r, int c)
{
    return (long)(t->cells[r * (size_t)t->cols + (size_t)c] - (t->buf + t->line_start[r])) + 1;
}

void bp_table_free(bp_table *t)
{
    if (!t) return;
    free(t->path);
    free(t->buf);
    free(t->names);
    free(t->cells);
    free(t->line);
    free(t->line_start);
    free(t);
}

size_t bp_table_rows(const bp_table *t) { return t->rows; }
int bp_table_columns(const bp_table *t) { return t->cols; }
const char *bp_table_name(const bp_table *t, int c)
{
    return t->names && c >= 0 && c < t->cols ? t->names[c] : NULL;
}
const char *bp_table_cell(const bp_table *t, size_t r, int c)
{
    return r < t->rows && c >= 0 && c < t->cols ? t->cells[r * (size_t)t->cols + (size_t)c] : NULL;
}

/* Appends record rec as a row of t (cap: rows allocated). */
static bp_status table_add(bp_table *t, const csv_record *rec, size_t line_start, size_t cap[3])
{
    if (rec->n != (size_t)t->cols) {
        long col = rec->n > (size_t)t->cols ? rec->f[t->cols].col : rec->end_col;
        return bp__fail(BP_ERR_FORMAT, "%s:%ld:%ld: expected %d fields, got %zu", t->path,
                        rec->line, col, t->cols, rec->n);
    }
    bp_status st = bp__grow((void **)&t->cells, &cap[0], t->rows + 1,
                            (size_t)t->cols * sizeof *t->cells);
    if (!st) st = bp__grow((void **)&t->line, &cap[1], t->rows + 1, sizeof *t->line);
    if (!st) st = bp__grow((void **)&t->line_start, &cap[2], t->rows + 1, sizeof *t->line_start);
    if (st) return st;
    for (int c = 0; c < t->cols; c++) t->cells[t->rows * (size_t)t->cols + (size_t)c] = rec->f[c].s;
    t->line[t->rows] = rec->line;
    t->line_start[t->rows] = line_start;
    t->rows++;
    return BP_OK;
}

static bp_status table_read(bp_table *t, csv_reader *r, csv_record rec[2], int header_opt)
{
    size_t start0, start1 = 0, cap[3] = {0, 0, 0};
    int got0, got1 = 0;
    skip_blank_lines(r);
    start0 = r->line_start;
    bp_status st = read_record(r, &rec[0], &got0);
    if (!st && got0) {
        skip_blank_lines(r);
        start1 = r->line_start;
        st = read_record(r, &rec[1], &got1);
    }
    if (st) return st;
    if (!got0) return bp__fail(BP_ERR_FORMAT, "%s: empty file", t->path);
    if (header_opt < 0 && all_text(&rec[0], &rec[1], got1)) return header_unknown(t->path, rec[0].line);
    int header = header_opt >= 0 ? header_opt : looks_like_header(&rec[0], &rec[1], got1);
    if (header && !got1) return bp__fail(BP_ERR_FORMAT, "%s: a header and no data rows", t->path);
    t->cols = (int)rec[0].n;
    if (header) {
        if (!(t->names = bp__calloc((size_t)t->cols, sizeof *t->names))) return BP_ERR_NOMEM;
        for (int c = 0; c < t->cols; c++) t->names[c] = rec[0].f[c].s;
        t->names_line = rec[0].line;
    } else if ((st = table_add(t, &rec[0], start0, cap))) {
        return st;
    }
    if (got1 && (st = table_add(t, &rec[1], start1, cap))) return st;
    for (int got = got1; !st && got;) {
        skip_blank_lines(r);
        size_t start = r->line_start;
        st = read_record(r, &rec[1], &got);
        if (!st && got) st = table_add(t, &rec[1], start, cap);
    }
    return st;
}

bp_status bp_table_load_csv(bp_table **out, const char *path, int header, char delimiter)
{
    *out = NULL;
    if (header < -1 || header > 1)
        return bp__fail(BP_ERR_INVALID, "csv table: header %d (use -1, 0 or 1)", header);
    if (delimiter == '"' || delimiter == '\n' || delimiter == '\r')
        return bp__fail(BP_ERR_INVALID, "csv table: the delimiter cannot be a quote or line break");
    bp_table *t = bp__calloc(1, sizeof *t);
    if (!t || !(t->path = bp__strdup(path))) {
        free(t);
        return BP_ERR_NOMEM;
    }
    csv_reader r = {.path = path, .line = 1};
    bp_status st = read_all(path, &r.buf, &r.len);
    t->buf = r.buf;
    const char *nul = st ? NULL : memchr(r.buf, '\0', r.len);
    if (nul)
        st = bp__fail(BP_ERR_FORMAT, "%s: a NUL byte at offset %zu: not a text file", path,
                      (size_t)(nul - r.buf));
    csv_record rec[2] = {{0}, {0}};
    if (!st) {
        if (r.len >= 3 && memcmp(r.buf, "\xEF\xBB\xBF", 3) == 0) r.pos = r.line_start = 3;
        r.delim = delimiter ? delimiter : detect_delimiter(r.buf, r.len);
        st = table_read(t, &r, rec, header);
    }
    free(rec[0].f), free(rec[1].f);
    if (st) bp_table_free(t);
    else *out = t;
    return st;
}
