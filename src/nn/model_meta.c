/* model_meta.c - what a model carries besides its parameters: the input
 * normalization, the class label names and the tabular encoder. The one
 * place they are attached, checked against the model and each other, copied
 * and freed, whoever sets them (a program, a model file, an ONNX file).
 * Core code: the encoder is plain data here (model_meta.h); fitting and
 * applying it (data_encode.c) and its JSON (encoder_json.c) live elsewhere. */
#include "model_meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bp_status bp_model_set_normalization(bp_model *m, const bp_real *shift, const bp_real *scale)
{
    int n = bp_model_inputs(m);
    if (!shift || !scale) {
        bp__alloc_free(&m->alloc, m->norm_shift), bp__alloc_free(&m->alloc, m->norm_scale);
        m->norm_shift = m->norm_scale = NULL;
        return BP_OK;
    }
    for (int i = 0; i < n; i++)
        if (!isfinite(shift[i]) || !isfinite(scale[i]))
            return bp__fail(BP_ERR_INVALID, "normalization: feature %d has a non-finite %s", i,
                            isfinite(shift[i]) ? "scale" : "shift");
    if (!m->norm_shift) {
        bp_real *sh = bp__alloc_calloc(&m->alloc, (size_t)n, sizeof *sh);
        bp_real *sc = bp__alloc_calloc(&m->alloc, (size_t)n, sizeof *sc);
        if (!sh || !sc) {
            bp__alloc_free(&m->alloc, sh), bp__alloc_free(&m->alloc, sc);
            return BP_ERR_NOMEM;
        }
        m->norm_shift = sh, m->norm_scale = sc;
    }
    memcpy(m->norm_shift, shift, (size_t)n * sizeof *shift);
    memcpy(m->norm_scale, scale, (size_t)n * sizeof *scale);
    return BP_OK;
}

const bp_real *bp_model_norm_shift(const bp_model *m) { return m->norm_shift; }
const bp_real *bp_model_norm_scale(const bp_model *m) { return m->norm_scale; }

void bp_model_normalize(const bp_model *m, bp_real *x, size_t n)
{
    if (!m->norm_shift) return;
    int k = bp_model_inputs(m);
    for (size_t i = 0; i < n; i++) {
        bp_real *row = x + i * k;
        for (int j = 0; j < k; j++) row[j] = (row[j] - m->norm_shift[j]) * m->norm_scale[j];
    }
}

static void free_labels(bp_model *m)
{
    bp__strings_free_in(&m->alloc, m->labels, m->n_labels);
    m->labels = NULL;
    m->n_labels = 0;
}

void bp__model_free_meta(bp_model *m)
{
    free_labels(m);
    bp_model_set_normalization(m, NULL, NULL);
    bp_encoder_free(m->encoder);
    m->encoder = NULL;
}

/* A classifier's encoder and the model name the same classes in the same
 * order, when both name them: the encoder's one-hot columns are the outputs. */
static bp_status labels_agree(const bp_encoder *e, int n, const char *const *names,
                              const char *what)
{
    if (!e || !e->n_labels || !n) return BP_OK;
    if (e->n_labels != n)
        return bp__fail(BP_ERR_INVALID, "%s: the encoder has %d class labels, the model %d",
                        what, e->n_labels, n);
    for (int i = 0; i < n; i++)
        if (strcmp(e->labels[i], names[i]) != 0)
            return bp__fail(BP_ERR_INVALID, "%s: class label %d is \"%.100s\" in the encoder "
                            "but \"%.100s\" in the model", what, i, e->labels[i], names[i]);
    return BP_OK;
}

bp_status bp_model_set_labels(bp_model *m, int n, const char *const *names)
{
    if (n < 0 || (n > 0 && !names))
        return bp__fail(BP_ERR_INVALID, "labels: n = %d with %s names", n, names ? "some" : "no");
    int k = bp_model_outputs(m);
    if (!bp__labels_fit((size_t)n, k))
        return bp__fail(BP_ERR_INVALID, "labels: %d names for a model with %d outputs (one per "
                        "output, or 2 for a single output)", n, k);
    char **copy;
    bp_status st = bp__strings_copy_in(&m->alloc, &copy, n, names); /* refuses a NULL name */
    if (!st) st = labels_agree(m->encoder, n, (const char *const *)copy, "labels");
    if (st) {
        bp__strings_free_in(&m->alloc, copy, n);
        return st;
    }
    free_labels(m);
    m->labels = copy;
    m->n_labels = n;
    return BP_OK;
}

int bp_model_label_count(const bp_model *m) { return m->n_labels; }
const char *bp_model_label(const bp_model *m, int i)
{
    return i >= 0 && i < m->n_labels ? m->labels[i] : NULL;
}

/* ------------------------------------------------------------ the encoder */

void bp_encoder_free(bp_encoder *e)
{
    if (!e) return;
    for (int c = 0; c < e->n_cols; c++) {
        bp__heap_free(e->col[c].name);
        bp__strings_free(e->col[c].cats, e->col[c].n_cats);
    }
    bp__heap_free(e->col);
    bp__heap_free(e->targets);
    bp__strings_free(e->labels, e->n_labels);
    bp__heap_free(e);
}

bp_status bp__encoder_copy(bp_encoder **out, const bp_encoder *e)
{
    bp_encoder *c = *out = bp__calloc(1, sizeof *c);
    if (!c) return BP_ERR_NOMEM;
    *c = *e; /* the scalars; every pointer is replaced below */
    c->col = NULL, c->n_cols = 0, c->targets = NULL, c->labels = NULL, c->n_labels = 0;
    bp_status st = BP_OK;
    if (!(c->col = bp__calloc((size_t)e->n_cols, sizeof *c->col))) st = BP_ERR_NOMEM;
    for (int i = 0; !st && i < e->n_cols; i++) {
        bp__enc_col *to = &c->col[c->n_cols++];
        *to = e->col[i];
        to->name = NULL, to->cats = NULL, to->n_cats = 0;
        if (!(to->name = bp__strdup(e->col[i].name))) st = BP_ERR_NOMEM;
        if (!st) st = bp__strings_copy(&to->cats, e->col[i].n_cats, (const char *const *)e->col[i].cats);
        if (!st) to->n_cats = e->col[i].n_cats;
    }
    if (!st && e->n_targets && !(c->targets = bp__calloc((size_t)e->n_targets, sizeof *c->targets)))
        st = BP_ERR_NOMEM;
    if (!st && e->n_targets) memcpy(c->targets, e->targets, (size_t)e->n_targets * sizeof *c->targets);
    if (!st) st = bp__strings_copy(&c->labels, e->n_labels, (const char *const *)e->labels);
    if (!st) c->n_labels = e->n_labels;
    if (st) bp_encoder_free(c), *out = NULL;
    return st;
}

static bp_status check_encoder(const bp_model *m, const bp_encoder *e)
{
    int in = bp_model_inputs(m), k = bp_model_outputs(m), outs = bp__enc_outputs(e);
    if (e->n_inputs != in)
        return bp__fail(BP_ERR_INVALID, "encoder: it produces %d inputs but the model takes %d",
                        e->n_inputs, in);
    if (outs && !bp__labels_fit((size_t)outs, k))
        return bp__fail(BP_ERR_INVALID, "encoder: it has %d outputs but the model has %d", outs, k);
    return labels_agree(e, m->n_labels, (const char *const *)m->labels, "encoder");
}

bp_status bp__model_attach_encoder(bp_model *m, bp_encoder *e)
{
    bp_status st = e ? check_encoder(m, e) : BP_OK;
    if (st) {
        bp_encoder_free(e);
        return st;
    }
    bp_encoder_free(m->encoder);
    m->encoder = e;
    return BP_OK;
}

bp_status bp_model_set_encoder(bp_model *m, const bp_encoder *e)
{
    bp_encoder *copy = NULL;
    bp_status st = e ? check_encoder(m, e) : BP_OK; /* before copying what may be refused */
    if (!st && e) st = bp__encoder_copy(&copy, e);
    return st ? st : bp__model_attach_encoder(m, copy);
}

const bp_encoder *bp_model_encoder(const bp_model *m) { return m->encoder; }
