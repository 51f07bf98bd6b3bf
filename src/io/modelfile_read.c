/* modelfile_read.c - the safetensors reader behind bp_model_load and
 * bp_checkpoint_load (modelfile_load.c reads the file and picks the format).
 * The whole file is checked (header bounds, JSON, metadata, tensor table,
 * checksum, shapes, finiteness) before a model is allocated. Every
 * allocation size comes from the file's real length or from the already
 * validated architecture, never from a number the file merely claims. */
#include "modelfile.h"
#include "train_policy.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct rtensor {
    const char *name;     /* its key in the header (owned by the JSON) */
    const char *dtype;
    int elem;             /* bytes per element */
    int ndim;
    uint64_t dim[2];      /* the first two dimensions */
    uint64_t begin, end;  /* data_offsets, relative to the data section */
} rtensor;

typedef struct mfile {
    const char *path;
    const unsigned char *buf;    /* the whole file (size), the caller's */
    size_t size;
    json_t *root, *meta;         /* the header; meta is root's __metadata__ */
    const unsigned char *data;   /* the data section (data_len) */
    uint64_t data_len;
    rtensor *t;                  /* (n), sorted by name once validated */
    size_t n;
} mfile;

/* Prefixes the message of a failed library call with the file and field.
 * A value the library finds invalid is, coming from a file, a format error. */
static bp_status wrap(bp_status st, const mfile *f, const char *where)
{
    char why[900];
    snprintf(why, sizeof why, "%s", bp_last_error());
    return bp__fail(st == BP_ERR_INVALID ? BP_ERR_FORMAT : st, "%s: %s: %s", f->path, where, why);
}

/* ------------------------------------------------------------ the container */

/* Bytes 0-7: the header length N, little-endian; the JSON is bytes 8 .. 8+N. */
static bp_status parse_json(mfile *f)
{
    if (f->size < 8)
        return bp__fail(BP_ERR_FORMAT, "%s: %zu bytes, too short for the 8-byte header length",
                        f->path, f->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | f->buf[i];
    if (n > BP__MF_MAX_HEADER)
        return bp__fail(BP_ERR_FORMAT, "%s: header length %" PRIu64 " (bytes 0-7) exceeds the "
                        "limit of %u bytes", f->path, n, BP__MF_MAX_HEADER);
    if (n > f->size - 8)
        return bp__fail(BP_ERR_FORMAT, "%s: header length %" PRIu64 " (bytes 0-7) runs past the "
                        "end of the %zu-byte file", f->path, n, f->size);
    json_error_t e;
    f->root = json_loadb((const char *)f->buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &e);
    if (!f->root)
        return bp__fail(BP_ERR_FORMAT, "%s: header JSON, line %d, column %d (file offset %d): %s",
                        f->path, e.line, e.column, e.position + 8, e.text);
    if (!json_is_object(f->root))
        return bp__fail(BP_ERR_FORMAT, "%s: header JSON is not an object", f->path);
    f->data = f->buf + 8 + n;
    f->data_len = f->size - 8 - n;
    return BP_OK;
}

static const char *meta_get(const mfile *f, const char *key)
{
    return json_string_value(json_object_get(f->meta, key));
}

/* __metadata__: an object of strings that says format backprop, version 1. */
static bp_status parse_meta(mfile *f)
{
    f->meta = json_object_get(f->root, "__metadata__");
    if (!json_is_object(f->meta))
        return bp__fail(BP_ERR_FORMAT, "%s: header has no __metadata__ object: not a backprop "
                        "model file", f->path);
    const char *key;
    json_t *v;
    json_object_foreach(f->meta, key, v)
        if (!json_is_string(v))
            return bp__fail(BP_ERR_FORMAT, "%s: __metadata__ \"%s\" is not a string", f->path, key);
    const char *format = meta_get(f, "format"), *version = meta_get(f, "format_version");
    if (!format || strcmp(format, BP__MF_FORMAT) != 0)
        return bp__fail(BP_ERR_FORMAT, "%s: __metadata__ \"format\" is %s%s%s, expected \"%s\"",
                        f->path, format ? "\"" : "", format ? format : "missing",
                        format ? "\"" : "", BP__MF_FORMAT);
    if (!version || (strcmp(version, BP__MF_VERSION) != 0 && strcmp(version, "1") != 0))
        return bp__fail(BP_ERR_FORMAT, "%s: __metadata__ \"format_version\" is \"%s\"; this "
                        "library reads versions %d to %s", f->path,
                        version ? version : "(missing)", BP__MF_VERSION_OLDEST, BP__MF_VERSION);
    return BP_OK;
}

static int dtype_size(const char *dtype)
{
    static const struct { const char *name; int size; } table[] = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
        {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
        {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8},
    };
    for (size_t i = 0; dtype && i < sizeof table / sizeof table[0]; i++)
        if (strcmp(dtype, table[i].name) == 0) return table[i].size;
    return 0;
}

static bool get_u64(const json_t *j, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0) return false;
    *out = (uint64_t)json_integer_value(j);
    return true;
}

/* One tensor entry: {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]},
 * its byte count consistent with its shape (no overflow). */
static bp_status parse_tensor(const mfile *f, const char *name, const json_t *v, rtensor *t)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = json_string_value(json_object_get(v, "dtype"));
    const json_t *shape = json_object_get(v, "shape"), *offs = json_object_get(v, "data_offsets");
    if (!json_is_object(v))
        return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": entry is not an object", f->path, name);
    if (!(t->elem = dtype_size(t->dtype)))
        return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": dtype %s%s%s is not a safetensors "
                        "dtype", f->path, name, t->dtype ? "\"" : "",
                        t->dtype ? t->dtype : "missing", t->dtype ? "\"" : "");
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !get_u64(json_array_get(offs, 0), &t->begin) || !get_u64(json_array_get(offs, 1), &t->end) ||
        t->begin > t->end)
        return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": data_offsets must be [begin, end] "
                        "with 0 <= begin <= end", f->path, name);
    if (!json_is_array(shape))
        return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": shape is not an array", f->path, name);
    uint64_t count = 1, d;
    t->ndim = (int)(json_array_size(shape) < INT_MAX ? json_array_size(shape) : INT_MAX);
    for (size_t i = 0; i < json_array_size(shape); i++) {
        if (!get_u64(json_array_get(shape, i), &d))
            return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": shape[%zu] is not a non-negative "
                            "integer", f->path, name, i);
        if (i < 2) t->dim[i] = d;
        if (d && count > UINT64_MAX / d / (uint64_t)t->elem)
            return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": shape has more bytes than 2^64",
                            f->path, name);
        count *= d;
    }
    if (count * (uint64_t)t->elem != t->end - t->begin)
        return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": %" PRIu64 " %s elements need %" PRIu64
                        " bytes but data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64,
                        f->path, name, count, t->dtype, count * (uint64_t)t->elem, t->begin,
                        t->end, t->end - t->begin);
    return BP_OK;
}

static int by_offset(const void *a, const void *b)
{
    const rtensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const rtensor *)a)->name, ((const rtensor *)b)->name);
}

/* As the safetensors library checks: sorted by offset, the tensors tile the
 * data section exactly, with no gap, no overlap and nothing after them. */
static bp_status check_layout(mfile *f)
{
    qsort(f->t, f->n, sizeof *f->t, by_offset);
    uint64_t at = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->t[i].begin != at)
            return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                            "] should begin at %" PRIu64 " (tensors must tile the data section "
                            "without gaps or overlaps)", f->path, f->t[i].name, f->t[i].begin,
                            f->t[i].end, at);
        at = f->t[i].end;
    }
    if (at != f->data_len)
        return bp__fail(BP_ERR_FORMAT, "%s: the tensors end at data offset %" PRIu64 " but the "
                        "data section (file size - 8 - header length) is %" PRIu64 " bytes",
                        f->path, at, f->data_len);
    qsort(f->t, f->n, sizeof *f->t, by_name);
    return BP_OK;
}

static bp_status parse_tensors(mfile *f)
{
    if (!(f->t = bp__calloc(json_object_size(f->root), sizeof *f->t))) return BP_ERR_NOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(f->root, key, v) {
        if (strcmp(key, "__metadata__") == 0) continue;
        bp_status st = parse_tensor(f, key, v, &f->t[f->n]);
        if (st) return st;
        f->n++;
    }
    return check_layout(f);
}

/* "checksum": "crc32:1a2b3c4d", the CRC-32 (zlib's) of the whole data section. */
static bp_status check_checksum(const mfile *f)
{
    const char *s = meta_get(f, "checksum");
    uint64_t want;
    if (!s || strncmp(s, "crc32:", 6) != 0 || !bp__mf_parse_hex(s + 6, 8, &want))
        return bp__fail(BP_ERR_FORMAT, "%s: __metadata__ \"checksum\" is %s, expected "
                        "\"crc32:\" and 8 hex digits", f->path, s ? s : "missing");
    uLong crc = crc32_z(crc32_z(0L, Z_NULL, 0), f->data, (z_size_t)f->data_len);
    if (crc != want)
        return bp__fail(BP_ERR_FORMAT, "%s: checksum mismatch: the data section's crc32 is "
                        "%08lx, __metadata__ says %08" PRIx64 " (the file is corrupt)",
                        f->path, (unsigned long)crc, want);
    return BP_OK;
}

static void close_file(mfile *f)
{
    json_decref(f->root);
    free(f->t);
}

/* Checks the container: everything but the architecture. */
static bp_status open_file(mfile *f, const uint8_t *bytes, size_t len, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->buf = bytes;
    f->size = len;
    bp_status st = parse_json(f);
    if (!st) st = parse_meta(f);
    if (!st) st = parse_tensors(f);
    if (!st) st = check_checksum(f);
    return st;
}

/* --------------------------------------------------------------- the model */

/* The metadata string `key`, or NULL with *st set when it is missing (a
 * no-op once *st is set, so several can be fetched in a row). */
static const char *need(const mfile *f, const char *key, bp_status *st)
{
    if (*st) return NULL;
    const char *s = meta_get(f, key);
    if (!s) *st = bp__fail(BP_ERR_FORMAT, "%s: __metadata__ has no \"%s\"", f->path, key);
    return s;
}

#define ITEM_MAX 32

/* Splits "a,b,c" into items; -1 when there are more than max or one is too long. */
static int split(const char *s, char items[][ITEM_MAX], int max)
{
    int n = 0;
    for (;;) {
        size_t len = strcspn(s, ",");
        if (n == max || len >= ITEM_MAX) return -1;
        memcpy(items[n], s, len);
        items[n++][len] = '\0';
        if (!s[len]) return n;
        s += len + 1;
    }
}

static bool parse_int(const char *s, int min, int *out)
{
    uint64_t v;
    if (!bp__mf_parse_u64(s, &v) || v > INT_MAX || (int)v < min) return false;
    *out = (int)v;
    return true;
}

static bp_status bad(const mfile *f, const char *key, const char *value, const char *expected)
{
    return bp__fail(BP_ERR_FORMAT, "%s: __metadata__ \"%s\" is \"%.200s\": %s", f->path, key,
                    value, expected);
}

/* "784,256,10" and "relu,relu,softmax". */
static bp_status read_layers(const mfile *f, const char *sizes, const char *acts, bp_model_config *c)
{
    char items[BP_MAX_LAYERS + 1][ITEM_MAX];
    int n = split(sizes, items, BP_MAX_LAYERS + 1);
    if (n < 2) {
        char expected[64];
        snprintf(expected, sizeof expected, "expected 2 to %d comma-separated sizes", BP_MAX_LAYERS + 1);
        return bad(f, "layer_sizes", sizes, expected);
    }
    c->n_layers = n - 1;
    for (int l = 0; l < n; l++)
        if (!parse_int(items[l], 1, &c->sizes[l]))
            return bad(f, "layer_sizes", sizes, "sizes must be positive integers");
    if (split(acts, items, BP_MAX_LAYERS + 1) != c->n_layers)
        return bad(f, "activations", acts, "expected one activation per layer");
    for (int l = 0; l < c->n_layers; l++)
        if (bp_activation_from_name(items[l], &c->act[l]))
            return wrap(BP_ERR_FORMAT, f, "__metadata__ \"activations\"");
    return BP_OK;
}

static bp_status read_config(const mfile *f, bp_model_config *c)
{
    *c = bp_model_config_default();
    bp_status st = BP_OK;
    const char *sizes = need(f, "layer_sizes", &st), *acts = need(f, "activations", &st),
               *slope = need(f, "leaky_slope", &st), *loss = need(f, "loss", &st),
               *init = need(f, "init", &st), *seed = need(f, "seed", &st);
    if (!st) st = read_layers(f, sizes, acts, c);
    if (st) return st;
    double d;
    if (!bp__mf_parse_real(slope, &d)) return bad(f, "leaky_slope", slope, "not a finite number");
    c->leaky_slope = (bp_real)d;
    if (bp_loss_from_name(loss, &c->loss)) return wrap(BP_ERR_FORMAT, f, "__metadata__ \"loss\"");
    if (bp_init_from_name(init, &c->init)) return wrap(BP_ERR_FORMAT, f, "__metadata__ \"init\"");
    if (!bp__mf_parse_u64(seed, &c->seed)) return bad(f, "seed", seed, "not an unsigned integer");
    return BP_OK;
}

static const rtensor *find(const mfile *f, const char *name)
{
    rtensor key = {.name = name};
    return f->n ? bsearch(&key, f->t, f->n, sizeof *f->t, by_name) : NULL;
}

static bp_real element(const mfile *f, const rtensor *t, size_t i)
{
    const unsigned char *p = f->data + t->begin + i * (size_t)t->elem;
    if (t->elem == 8) {
        double d;
        memcpy(&d, p, 8); /* memcpy: the data need not be aligned */
        return (bp_real)d;
    }
    float x;
    memcpy(&x, p, 4);
    return (bp_real)x;
}

static const char *shape_text(char buf[64], int ndim, uint64_t d0, uint64_t d1)
{
    if (ndim == 0) snprintf(buf, 64, "[]");
    else if (ndim == 1) snprintf(buf, 64, "[%" PRIu64 "]", d0);
    else snprintf(buf, 64, "[%" PRIu64 ", %" PRIu64 "%s]", d0, d1, ndim > 2 ? ", ..." : "");
    return buf;
}

/* The tensor `name`, checked: present, F32 or F64, shape [d0] (d1 < 0) or
 * [d0, d1], every value finite once converted to bp_real, and not negative
 * in an optimizer's "v" slot (a mean of squares, of which Adam and RMSprop
 * take the square root). */
static bp_status get_tensor(const mfile *f, const char *name, int d0, int d1, const rtensor **out)
{
    bool squares = strncmp(name, "optim.v.", 8) == 0;
    const rtensor *t = *out = find(f, name);
    if (!t) return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\" is missing", f->path, name);
    if (strcmp(t->dtype, "F32") != 0 && strcmp(t->dtype, "F64") != 0)
        return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": dtype \"%s\", expected F32 or F64",
                        f->path, name, t->dtype);
    int ndim = d1 < 0 ? 1 : 2;
    char got[64], want[64];
    if (t->ndim != ndim || t->dim[0] != (uint64_t)d0 || (ndim == 2 && t->dim[1] != (uint64_t)d1))
        return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": shape %s, the architecture needs %s",
                        f->path, name, shape_text(got, t->ndim, t->dim[0], t->dim[1]),
                        shape_text(want, ndim, (uint64_t)d0, (uint64_t)d1));
    for (size_t i = 0, n = (size_t)((t->end - t->begin) / (uint64_t)t->elem); i < n; i++) {
        bp_real v = element(f, t, i);
        if (!isfinite(v))
            return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": element %zu is %g%s", f->path,
                            name, i, (double)v, t->elem == 8 && sizeof(bp_real) == 4 && isinf(v)
                            ? " as a float32" : "");
        if (squares && v < 0)
            return bp__fail(BP_ERR_FORMAT, "%s: tensor \"%s\": element %zu is %g, but this "
                            "mean of squared gradients cannot be negative", f->path, name, i,
                            (double)v);
    }
    return BP_OK;
}

static void copy(const mfile *f, const rtensor *t, bp_real *dst)
{
    for (size_t i = 0, n = (size_t)((t->end - t->begin) / (uint64_t)t->elem); i < n; i++)
        dst[i] = element(f, t, i);
}

/* Checks the weights and biases of every layer (with a prefix such as
 * "optim.m"), and copies them into base laid out like m's parameters when
 * base is not NULL. */
static bp_status read_layers_tensors(const mfile *f, const bp_model_config *c, const char *prefix,
                                     const bp_model *m, bp_real *base)
{
    char name[BP__MF_NAME_MAX];
    const rtensor *w, *b;
    for (int l = 0; l < c->n_layers; l++) {
        bp__mf_param_name(name, prefix, l, false);
        bp_status st = get_tensor(f, name, c->sizes[l + 1], c->sizes[l], &w);
        bp__mf_param_name(name, prefix, l, true);
        if (!st) st = get_tensor(f, name, c->sizes[l + 1], -1, &b);
        if (st) return st;
        if (base) copy(f, w, base + m->layers[l].w_off), copy(f, b, base + m->layers[l].b_off);
    }
    return BP_OK;
}

/* normalization.shift and .scale [inputs], both or neither. */
static bp_status check_normalization(const mfile *f, int inputs, const rtensor **shift,
                                     const rtensor **scale)
{
    *shift = *scale = NULL;
    bool has_shift = find(f, "normalization.shift"), has_scale = find(f, "normalization.scale");
    if (!has_shift && !has_scale) return BP_OK;
    bp_status st = get_tensor(f, "normalization.shift", inputs, -1, shift);
    if (!st) st = get_tensor(f, "normalization.scale", inputs, -1, scale);
    return st;
}

/* The __metadata__ strings, for bp__mf_read_tail; *out NULL when out of memory. */
static bp_status collect_entries(const mfile *f, bp__mf_entry **out, size_t *n)
{
    *n = 0;
    if (!(*out = bp__calloc(json_object_size(f->meta), sizeof **out))) return BP_ERR_NOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(f->meta, key, v) /* all strings: parse_meta checked */
        (*out)[(*n)++] = (bp__mf_entry){key, json_string_value(v), strlen(key), json_string_length(v)};
    return BP_OK;
}

/* The model, everything checked before bp_model_create allocates it; then
 * what it carries (normalization, labels, encoder, and the user entries into
 * *extra when not NULL) through bp__mf_read_tail. */
static bp_status read_model(const mfile *f, bp_model **out, bp_extra **extra)
{
    *out = NULL;
    bp_model_config c;
    const rtensor *shift = NULL, *scale = NULL;
    bp_model *m = NULL;
    bp_real *norm = NULL; /* shift, scale (inputs) each */
    bp__mf_tail tail = {.path = f->path, .container = "__metadata__"};
    bp__mf_entry *entries = NULL;
    bp_status st = read_config(f, &c);
    if (!st) st = read_layers_tensors(f, &c, NULL, NULL, NULL);
    if (!st) st = check_normalization(f, c.sizes[0], &shift, &scale);
    if (!st && (st = bp_model_create(&m, &c))) st = wrap(st, f, "__metadata__ architecture");
    if (!st) st = read_layers_tensors(f, &c, NULL, m, m->params);
    if (!st && shift && !(norm = bp__calloc(2 * (size_t)c.sizes[0], sizeof *norm))) st = BP_ERR_NOMEM;
    if (!st && shift) {
        copy(f, shift, norm), copy(f, scale, norm + c.sizes[0]);
        tail.shift = norm, tail.scale = norm + c.sizes[0];
    }
    if (!st) st = collect_entries(f, &entries, &tail.n);
    tail.entry = entries;
    if (!st) st = bp__mf_read_tail(m, &tail, extra);
    free(norm);
    free(entries);
    if (st) bp_model_free(m);
    else *out = m;
    return st;
}

/* ------------------------------------------------------------- checkpoints */

static bp_status read_optim_config(const mfile *f, bp_optim_config *c, uint64_t *steps)
{
    const char *kind = meta_get(f, "optim.kind");
    if (!kind)
        return bp__fail(BP_ERR_FORMAT, "%s: not a checkpoint (__metadata__ has no \"optim.kind\"); "
                        "a model file loads with bp_model_load", f->path);
    if (bp_optim_from_name(kind, &c->kind)) return wrap(BP_ERR_FORMAT, f, "__metadata__ \"optim.kind\"");
    *c = bp_optim_config_default(c->kind);
    char key[64];
    bp_status st = BP_OK;
    for (int i = 0; i < bp__mf_optim_field_count; i++) {
        snprintf(key, sizeof key, "optim.%s", bp__mf_optim_fields[i].key);
        const char *s = need(f, key, &st);
        if (st) return st;
        if (!bp__mf_parse_real(s, (double *)((char *)c + bp__mf_optim_fields[i].offset)))
            return bad(f, key, s, "not a finite number");
    }
    const char *inside = need(f, "optim.eps_inside_sqrt", &st), *t = need(f, "optim.steps", &st);
    if (st) return st;
    if (strcmp(inside, "0") != 0 && strcmp(inside, "1") != 0)
        return bad(f, "optim.eps_inside_sqrt", inside, "expected 0 or 1");
    c->eps_inside_sqrt = inside[0] == '1';
    /* The counters must be able to count once more: the next step or epoch. */
    if (!bp__mf_parse_u64(t, steps) || *steps == UINT64_MAX)
        return bad(f, "optim.steps", t, "not an unsigned integer below 2^64 - 1");
    return BP_OK;
}

/* The interrupted epoch's sums; a checkpoint without them is taken between epochs. */
static bp_status read_partial(const mfile *f, bp_checkpoint_info *info)
{
    const char *sum = meta_get(f, "train.partial_loss_sum"),
               *correct = meta_get(f, "train.partial_correct"), *seen = meta_get(f, "train.partial_seen");
    uint64_t u;
    if (sum && !bp__mf_parse_real(sum, &info->loss_sum))
        return bad(f, "train.partial_loss_sum", sum, "not a finite number");
    if (correct && strcmp(correct, "-1") == 0)
        info->correct = -1;
    else if (correct && (!bp__mf_parse_u64(correct, &u) || u > LONG_MAX))
        return bad(f, "train.partial_correct", correct, "not -1 or a non-negative integer");
    else if (correct)
        info->correct = (long)u;
    /* The trainer keeps adding to these sums: bounded here, they cannot overflow. */
    if (seen && (!bp__mf_parse_u64(seen, &u) || u > (uint64_t)1 << 53))
        return bad(f, "train.partial_seen", seen, "not an unsigned integer up to 2^53");
    if (seen) info->seen = (size_t)u;
    if (info->correct > 0 && (uint64_t)info->correct > info->seen)
        return bad(f, "train.partial_correct", correct, "more samples correct than seen");
    return BP_OK;
}

/* An optional key: absent keeps *out. */
static bp_status opt_int(const mfile *f, const char *key, int *out)
{
    const char *s = meta_get(f, key);
    if (s && !parse_int(s, 0, out)) return bad(f, key, s, "not an integer from 0 to 2147483647");
    return BP_OK;
}

static bp_status opt_real(const mfile *f, const char *key, double *out)
{
    const char *s = meta_get(f, key);
    if (s && !bp__mf_parse_real(s, out)) return bad(f, key, s, "not a finite number");
    return BP_OK;
}

/* The schedule, the stopping rule and its state: each key optional (files
 * written before they existed get the defaults). */
static bp_status read_policy(const mfile *f, bp_checkpoint_info *info)
{
    bp_train_config *c = &info->train;
    bp_early_stop_state *es = &info->early_stop;
    *es = (bp_early_stop_state){.best_loss = HUGE_VAL, .epoch_loss = NAN};
    const char *sched = meta_get(f, "train.schedule"), *mon = meta_get(f, "train.monitor");
    if (sched && bp_schedule_from_name(sched, &c->schedule))
        return bad(f, "train.schedule", sched, "expected constant, step or cosine");
    if (mon && !bp__monitor_from_name(mon, &c->monitor))
        return bad(f, "train.monitor", mon, "expected auto, train_loss or val_loss");
    bp_status st = opt_real(f, "train.lr", &c->lr);
    if (!st) st = opt_int(f, "train.warmup_epochs", &c->warmup_epochs);
    if (!st) st = opt_int(f, "train.step_epochs", &c->step_epochs);
    if (!st) st = opt_real(f, "train.gamma", &c->gamma);
    if (!st) st = opt_real(f, "train.min_lr", &c->min_lr);
    if (!st) st = opt_int(f, "train.max_epochs", &c->max_epochs);
    if (!st) st = opt_int(f, "train.patience", &c->patience);
    if (!st) st = opt_real(f, "train.tol", &c->tol);
    if (!st) st = opt_int(f, "train.restore_best", &c->restore_best);
    if (!st) st = opt_int(f, "train.best_epoch", &es->best_epoch);
    if (!st) st = opt_int(f, "train.bad_epochs", &es->bad_epochs);
    if (!st) st = opt_real(f, "train.best_loss", &es->best_loss);
    if (!st) st = opt_real(f, "train.epoch_loss", &es->epoch_loss);
    if (st) return st;
    if (c->restore_best > 1)
        return bad(f, "train.restore_best", meta_get(f, "train.restore_best"), "expected 0 or 1");
    if (es->best_epoch > info->epochs_done || es->bad_epochs > info->epochs_done)
        return bp__fail(BP_ERR_FORMAT, "%s: __metadata__ \"train.best_epoch\" %d or "
                        "\"train.bad_epochs\" %d is beyond \"train.epochs_done\" %d", f->path,
                        es->best_epoch, es->bad_epochs, info->epochs_done);
    if ((es->best_epoch > 0) != (meta_get(f, "train.best_loss") != NULL))
        return bp__fail(BP_ERR_FORMAT, "%s: __metadata__ \"train.best_loss\" must be present "
                        "exactly when \"train.best_epoch\" is above 0", f->path);
    st = bp__policy_check(c);
    return st ? wrap(st, f, "__metadata__ train.*") : BP_OK;
}

static bp_status read_train_info(const mfile *f, bp_checkpoint_info *info)
{
    memset(info, 0, sizeof *info);
    info->train = bp_train_config_default(); /* fields a later version adds keep defaults */
    bp_status st = BP_OK;
    const char *batch = need(f, "train.batch_size", &st), *shuffle = need(f, "train.shuffle", &st),
               *seed = need(f, "train.seed", &st), *epochs = need(f, "train.epochs_done", &st),
               *next = need(f, "train.next_batch", &st), *rng = need(f, "train.rng", &st);
    if (st) return st;
    uint64_t u;
    char items[4][ITEM_MAX];
    if (!parse_int(batch, 1, &info->train.batch_size))
        return bad(f, "train.batch_size", batch, "not a positive integer");
    if (!parse_int(shuffle, 0, &info->train.shuffle) || info->train.shuffle > 1)
        return bad(f, "train.shuffle", shuffle, "expected 0 or 1");
    if (!bp__mf_parse_u64(seed, &info->train.seed))
        return bad(f, "train.seed", seed, "not an unsigned integer");
    if (!parse_int(epochs, 0, &info->epochs_done) || info->epochs_done == INT_MAX)
        return bad(f, "train.epochs_done", epochs, "not an integer from 0 to 2147483646");
    if (!bp__mf_parse_u64(next, &u) || u > SIZE_MAX)
        return bad(f, "train.next_batch", next, "not an unsigned integer");
    info->next_batch = (size_t)u;
    bool ok = split(rng, items, 4) == 4;
    for (int i = 0; ok && i < 4; i++) ok = bp__mf_parse_hex(items[i], 16, &info->rng[i]);
    if (!ok) return bad(f, "train.rng", rng, "expected 4 comma-separated 16-digit hex numbers");
    st = read_partial(f, info);
    return st ? st : read_policy(f, info);
}

/* The best weights (tensors train.best.layers.*), which a checkpoint under
 * restore_best holds once an epoch was judged: checked, then allocated. */
static bp_status read_best(const mfile *f, const bp_model *m, bp_checkpoint_info *info)
{
    if (!info->train.restore_best || info->early_stop.best_epoch == 0) return BP_OK;
    bp_status st = read_layers_tensors(f, &m->cfg, "train.best", m, NULL);
    if (st) return st;
    if (!(info->best_params = bp__calloc(m->n_params, sizeof *info->best_params))) return BP_ERR_NOMEM;
    return read_layers_tensors(f, &m->cfg, "train.best", m, info->best_params);
}

/* The optimizer for m with the saved state slots (tensors optim.{slot}.layers.*). */
static bp_status read_optim(const mfile *f, const bp_optim_config *c, uint64_t steps,
                            const bp_model *m, bp_optim **out)
{
    bp_status st = bp_optim_create(out, c, m->n_params);
    if (st) return wrap(st, f, "__metadata__ optim.*");
    char prefix[BP__MF_NAME_MAX];
    for (int s = 0; !st && s < bp_optim_state_count(*out); s++) {
        snprintf(prefix, sizeof prefix, "optim.%s", bp_optim_state_name(*out, s));
        st = read_layers_tensors(f, &m->cfg, prefix, m, bp_optim_state(*out, s));
    }
    bp_optim_set_steps(*out, steps);
    if (st) bp_optim_free(*out), *out = NULL;
    return st;
}

bp_status bp__safetensors_parse(const uint8_t *bytes, size_t len, const char *path,
                                bp_model **model, bp_extra **extra, bp_optim **opt,
                                bp_checkpoint_info *info)
{
    *model = NULL;
    if (extra) *extra = NULL;
    if (opt) *opt = NULL, info->best_params = NULL;
    mfile f;
    bp_optim_config oc;
    uint64_t steps = 0;
    bp_status st = open_file(&f, bytes, len, path);
    if (!st && opt) st = read_optim_config(&f, &oc, &steps);
    if (!st && opt) st = read_train_info(&f, info);
    if (!st) st = read_model(&f, model, extra);
    if (!st && opt) st = read_optim(&f, &oc, steps, *model, opt);
    if (!st && opt) st = read_best(&f, *model, info);
    if (st) {
        bp_model_free(*model), *model = NULL;
        if (extra) bp_extra_free(*extra), *extra = NULL;
        if (opt) bp_optim_free(*opt), *opt = NULL, bp_checkpoint_info_clear(info);
    }
    close_file(&f);
    return st;
}

void bp_trainer_resume(bp_trainer *t, const bp_checkpoint_info *info)
{
    bp_trainer_set_epochs_done(t, info->epochs_done);
    bp_trainer_set_next_batch(t, info->next_batch);
    bp_trainer_set_rng(t, info->rng);
    bp_trainer_set_partial(t, info->loss_sum, info->correct, info->seen);
    bp_trainer_set_early_stop(t, &info->early_stop, info->best_params);
}

void bp_checkpoint_info_clear(bp_checkpoint_info *info)
{
    if (!info) return;
    free(info->best_params);
    info->best_params = NULL;
}
