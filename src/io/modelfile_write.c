/* modelfile_write.c - bp_model_save and bp_checkpoint_save: list the tensors,
 * describe them in __metadata__, then write header and data through bp_file
 * (file_atomic.c: a temporary file beside the target, fsynced and renamed). */
#include "modelfile.h"
#include "file_atomic.h"
#include "train_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* normalization (2), parameters (2 per layer), up to 2 optimizer slots and the best weights like them */
#define MAX_TENSORS (2 + 2 * BP_MAX_LAYERS * 4)
#define DTYPE (sizeof(bp_real) == 8 ? "F64" : "F32")
#define SINGLE (sizeof(bp_real) == 4)

typedef struct wtensor {
    char name[BP__MF_NAME_MAX];
    const bp_real *data;
    int ndim;
    size_t shape[2];
} wtensor;

typedef struct writer {
    const char *path;
    json_t *meta; /* __metadata__: string values, in insertion order */
    wtensor t[MAX_TENSORS];
    int n;
} writer;

static size_t numel(const wtensor *t) { return t->ndim == 1 ? t->shape[0] : t->shape[0] * t->shape[1]; }

static void add_tensor(writer *w, const char *name, const bp_real *data, int ndim, size_t d0,
                       size_t d1)
{
    BP_ASSERT(w->n < MAX_TENSORS);
    wtensor *t = &w->t[w->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->data = data, t->ndim = ndim, t->shape[0] = d0, t->shape[1] = d1;
}

/* The layers' weights and biases in a buffer laid out like the parameters
 * (an optimizer state slot, the best weights), or base NULL: the parameters
 * themselves, through the layers' views (a borrowed layer's are the caller's). */
static void add_layers(writer *w, const bp_model *m, const char *prefix, const bp_real *base)
{
    char name[BP__MF_NAME_MAX];
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const bp_layer *L = &m->layers[l];
        bp__mf_param_name(name, prefix, l, false);
        add_tensor(w, name, base ? base + L->w_off : L->w, 2, (size_t)L->out, (size_t)L->in);
        bp__mf_param_name(name, prefix, l, true);
        add_tensor(w, name, base ? base + L->b_off : L->b, 1, (size_t)L->out, 0);
    }
}

static bp_status begin(writer *w, const char *path, const bp_model *m)
{
    memset(w, 0, sizeof *w);
    w->path = path;
    if (!m || !path) return bp__fail(BP_ERR_INVALID, "save: %s is NULL", m ? "path" : "model");
    if (!(w->meta = json_object())) return bp__fail(BP_ERR_NOMEM, "%s: out of memory", path);
    add_layers(w, m, NULL, NULL);
    if (m->norm_shift) {
        add_tensor(w, "normalization.shift", m->norm_shift, 1, (size_t)m->cfg.sizes[0], 0);
        add_tensor(w, "normalization.scale", m->norm_scale, 1, (size_t)m->cfg.sizes[0], 0);
    }
    return BP_OK;
}

/* A file must never hold a NaN or an infinity: it would load and poison. */
static bp_status check_finite(const writer *w)
{
    for (int i = 0; i < w->n; i++)
        for (size_t j = 0, n = numel(&w->t[i]); j < n; j++)
            if (!isfinite(w->t[i].data[j]))
                return bp__fail(BP_ERR_NUMERIC, "%s: not saved: %s[%zu] is %g", w->path,
                                w->t[i].name, j, (double)w->t[i].data[j]);
    return BP_OK;
}

/* CRC-32 of the data section: the tensors' bytes in order, as written. */
static uint32_t data_crc(const writer *w)
{
    uLong crc = crc32_z(0L, Z_NULL, 0);
    for (int i = 0; i < w->n; i++)
        crc = crc32_z(crc, (const Bytef *)w->t[i].data, numel(&w->t[i]) * sizeof(bp_real));
    return (uint32_t)crc;
}

static bp_status set(writer *w, const char *key, const char *value)
{
    json_t *v = json_string(value); /* NULL unless valid UTF-8, as JSON requires */
    if (!v || json_object_set_new(w->meta, key, v))
        return bp__fail(BP_ERR_INVALID, "%s: metadata \"%s\": key or value is not valid UTF-8",
                        w->path, key);
    return BP_OK;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bp_status setf(writer *w, const char *key, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return set(w, key, buf);
}

static bp_status set_real(writer *w, const char *key, double v, bool single)
{
    char buf[40];
    bp__mf_format_real(buf, v, single);
    return set(w, key, buf);
}

/* "784,256,10" and "relu,relu,softmax". */
static bp_status set_architecture(writer *w, const bp_model_config *c)
{
    char sizes[BP_MAX_LAYERS * 12], acts[BP_MAX_LAYERS * 12];
    size_t ns = 0, na = 0;
    for (int l = 0; l <= c->n_layers; l++)
        ns += (size_t)snprintf(sizes + ns, sizeof sizes - ns, "%s%d", l ? "," : "", c->sizes[l]);
    for (int l = 0; l < c->n_layers; l++)
        na += (size_t)snprintf(acts + na, sizeof acts - na, "%s%s", l ? "," : "",
                               bp_activation_name(c->act[l]));
    bp_status st = set(w, "layer_sizes", sizes);
    if (!st) st = set(w, "activations", acts);
    if (!st) st = set_real(w, "leaky_slope", c->leaky_slope, SINGLE);
    if (!st) st = set(w, "loss", bp_loss_name(c->loss));
    if (!st) st = set(w, "init", bp_init_name(c->init));
    if (!st) st = setf(w, "seed", "%" PRIu64, c->seed);
    return st;
}

/* The labels as a compact JSON array inside a string: ["cat","dog"]. */
static bp_status set_labels(writer *w, const bp_model *m)
{
    if (m->n_labels == 0) return BP_OK;
    json_t *a = json_array();
    bool ok = a != NULL;
    for (int i = 0; ok && i < m->n_labels; i++)
        ok = json_array_append_new(a, json_string(m->labels[i])) == 0;
    char *s = ok ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    bp_status st = s ? set(w, "labels", s)
                     : bp__fail(BP_ERR_INVALID, "%s: labels: a label is not valid UTF-8", w->path);
    free(s);
    return st;
}

/* Everything bp_model_load needs; call after all tensors are added. */
static bp_status describe_model(writer *w, const bp_model *m)
{
    bp_status st = check_finite(w);
    if (!st) st = set(w, "format", BP__MF_FORMAT);
    if (!st) st = set(w, "format_version", BP__MF_VERSION);
    if (!st) st = setf(w, "checksum", "crc32:%08" PRIx32, data_crc(w));
    if (!st) st = set_architecture(w, &m->cfg);
    if (!st) st = set_labels(w, m);
    if (!st && m->encoder) {
        char *enc = bp_encoder_to_json(m->encoder);
        st = enc ? set(w, "encoder", enc) : BP_ERR_INVALID;
        free(enc);
    }
    return st;
}

static bp_status describe_extra(writer *w, const bp_extra *extra)
{
    char key[512];
    for (int i = 0; i < bp_extra_count(extra); i++) {
        if ((size_t)snprintf(key, sizeof key, BP__MF_USER "%s", bp_extra_key(extra, i)) >= sizeof key)
            return bp__fail(BP_ERR_INVALID, "%s: metadata key \"%.40s...\" is too long (max %zu)",
                            w->path, bp_extra_key(extra, i), sizeof key - sizeof BP__MF_USER);
        bp_status st = set(w, key, bp_extra_value(extra, i));
        if (st) return st;
    }
    return BP_OK;
}

static bp_status describe_optim(writer *w, const bp_optim *o)
{
    const bp_optim_config *c = bp_optim_cfg(o);
    char key[64];
    bp_status st = set(w, "optim.kind", bp_optim_name(c->kind));
    for (int i = 0; !st && i < bp__mf_optim_field_count; i++) {
        snprintf(key, sizeof key, "optim.%s", bp__mf_optim_fields[i].key);
        st = set_real(w, key, *(const double *)((const char *)c + bp__mf_optim_fields[i].offset), false);
    }
    if (!st) st = setf(w, "optim.eps_inside_sqrt", "%d", c->eps_inside_sqrt ? 1 : 0);
    if (!st) st = setf(w, "optim.steps", "%" PRIu64, bp_optim_steps(o));
    return st;
}

static bp_status describe_trainer(writer *w, const bp_trainer *t)
{
    const bp_train_config *c = bp_trainer_cfg(t);
    uint64_t r[4];
    bp_trainer_rng(t, r);
    bp_status st = setf(w, "train.batch_size", "%d", c->batch_size);
    if (!st) st = setf(w, "train.shuffle", "%d", c->shuffle ? 1 : 0);
    if (!st) st = setf(w, "train.seed", "%" PRIu64, c->seed);
    if (!st) st = setf(w, "train.epochs_done", "%d", bp_trainer_epochs_done(t));
    if (!st) st = setf(w, "train.next_batch", "%zu", bp_trainer_next_batch(t));
    if (!st) st = setf(w, "train.rng", "%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64,
                       r[0], r[1], r[2], r[3]);
    double loss_sum;
    long correct;
    size_t seen;
    bp_trainer_partial(t, &loss_sum, &correct, &seen);
    if (!st) st = set_real(w, "train.partial_loss_sum", loss_sum, false);
    if (!st) st = setf(w, "train.partial_correct", "%ld", correct);
    if (!st) st = setf(w, "train.partial_seen", "%zu", seen);
    return st;
}

/* The best weights of the stopping rule, once there are some. */
static void add_best(writer *w, const bp_model *m, const bp_trainer *t)
{
    bp_early_stop_state es;
    bp_trainer_early_stop(t, &es);
    const bp_real *best = bp_trainer_best_params(t);
    if (best && es.best_epoch > 0) add_layers(w, m, "train.best", best);
}

/* The schedule and stopping rule of bp_train_config, and the rule's state. */
static bp_status describe_policy(writer *w, const bp_trainer *t)
{
    const bp_train_config *c = bp_trainer_cfg(t);
    bp_early_stop_state es;
    bp_trainer_early_stop(t, &es);
    bp_status st = set(w, "train.schedule", bp_schedule_name(c->schedule));
    if (!st) st = set_real(w, "train.lr", c->lr, false);
    if (!st) st = setf(w, "train.warmup_epochs", "%d", c->warmup_epochs);
    if (!st) st = setf(w, "train.step_epochs", "%d", c->step_epochs);
    if (!st) st = set_real(w, "train.gamma", c->gamma, false);
    if (!st) st = set_real(w, "train.min_lr", c->min_lr, false);
    if (!st) st = setf(w, "train.max_epochs", "%d", c->max_epochs);
    if (!st) st = setf(w, "train.patience", "%d", c->patience);
    if (!st) st = set_real(w, "train.tol", c->tol, false);
    if (!st) st = set(w, "train.monitor", bp__monitor_name(c->monitor));
    if (!st) st = setf(w, "train.restore_best", "%d", c->restore_best ? 1 : 0);
    if (!st) st = setf(w, "train.best_epoch", "%d", es.best_epoch);
    if (!st) st = setf(w, "train.bad_epochs", "%d", es.bad_epochs);
    if (!st && es.best_epoch > 0) st = set_real(w, "train.best_loss", es.best_loss, false);
    if (!st && !isnan(es.epoch_loss)) st = set_real(w, "train.epoch_loss", es.epoch_loss, false);
    return st;
}

/* {"__metadata__":{...},"layers.0.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]},...} */
static char *header_json(const writer *w)
{
    json_t *root = json_object();
    bool ok = root && json_object_set(root, "__metadata__", w->meta) == 0;
    size_t off = 0;
    for (int i = 0; ok && i < w->n; i++) {
        const wtensor *t = &w->t[i];
        size_t end = off + numel(t) * sizeof(bp_real);
        json_t *shape = t->ndim == 1 ? json_pack("[I]", (json_int_t)t->shape[0])
                                     : json_pack("[II]", (json_int_t)t->shape[0], (json_int_t)t->shape[1]);
        json_t *entry = json_pack("{s:s, s:o, s:[I,I]}", "dtype", DTYPE, "shape", shape,
                                  "data_offsets", (json_int_t)off, (json_int_t)end);
        ok = entry && json_object_set_new(root, t->name, entry) == 0;
        off = end;
    }
    char *s = ok ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

static void put_le64(unsigned char b[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

/* The header length prefix, the JSON padded with spaces to a multiple of 8
 * (so the data section starts 8-aligned), then the tensors. */
static bool write_contents(FILE *f, const writer *w, const char *json)
{
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    unsigned char prefix[8];
    put_le64(prefix, padded);
    bool ok = fwrite(prefix, 1, 8, f) == 8 && fwrite(json, 1, len, f) == len;
    for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < w->n; i++) {
        size_t n = numel(&w->t[i]);
        ok = fwrite(w->t[i].data, sizeof(bp_real), n, f) == n;
    }
    return ok;
}

typedef struct contents {
    const writer *w;
    const char *json;
} contents;

static bool fill_contents(FILE *f, const void *ctx)
{
    const contents *c = ctx;
    return write_contents(f, c->w, c->json);
}

static bp_status finish(writer *w)
{
    char *json = header_json(w);
    contents c = {w, json};
    bp_status st = json ? bp__file_write_with(w->path, fill_contents, &c)
                        : bp__fail(BP_ERR_NOMEM, "%s: out of memory building the header", w->path);
    free(json);
    return st;
}

bp_status bp_model_save(const bp_model *m, const char *path, const bp_extra *extra)
{
    writer w;
    bp_status st = begin(&w, path, m);
    if (!st) st = describe_model(&w, m);
    if (!st) st = describe_extra(&w, extra);
    if (!st) st = finish(&w);
    json_decref(w.meta);
    return st;
}

bp_status bp_checkpoint_save(const bp_trainer *t, const char *path, const bp_extra *extra)
{
    if (!t) return bp__fail(BP_ERR_INVALID, "checkpoint: the trainer is NULL");
    const bp_model *m = bp_trainer_model(t);
    const bp_optim *opt = bp_trainer_optim(t);
    if (!opt) return bp__fail(BP_ERR_INVALID, "checkpoint: the trainer has no optimizer (created with opt NULL)");
    /* The state layout of a checkpoint is the whole model's (docs/FORMAT.md):
     * an optimizer over the trained layers alone does not fill it. */
    int frozen = m->cfg.n_layers - (bp_trainer_cfg(t)->train_layers ? bp_trainer_cfg(t)->train_layers
                                                                   : m->cfg.n_layers - m->n_borrowed);
    if (frozen > 0)
        return bp__fail(BP_ERR_INVALID, "checkpoint: not supported with frozen layers (%d of %d "
                        "frozen by train_layers or a borrowed model): the optimizer holds state "
                        "for the trained layers only; save the model (bp_model_save) and train "
                        "on from it instead", frozen, m->cfg.n_layers);
    if (bp_optim_param_count(opt) != bp_model_param_count(m))
        return bp__fail(BP_ERR_INVALID, "checkpoint: the optimizer has %zu parameters, the model %zu",
                        bp_optim_param_count(opt), bp_model_param_count(m));
    writer w;
    bp_status st = begin(&w, path, m);
    char prefix[BP__MF_NAME_MAX];
    for (int s = 0; !st && s < bp_optim_state_count(opt); s++) {
        snprintf(prefix, sizeof prefix, "optim.%s", bp_optim_state_name(opt, s));
        /* bp_optim_state hands out a mutable pointer; we only read through it. */
        add_layers(&w, m, prefix, bp_optim_state((bp_optim *)opt, s));
    }
    if (!st) add_best(&w, m, t); /* every tensor before describe_model's checksum */
    if (!st) st = describe_model(&w, m);
    if (!st) st = describe_optim(&w, opt);
    if (!st) st = describe_trainer(&w, t);
    if (!st) st = describe_policy(&w, t);
    if (!st) st = describe_extra(&w, extra);
    if (!st) st = finish(&w);
    json_decref(w.meta);
    return st;
}
