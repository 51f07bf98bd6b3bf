/* modelfile_tail.c - what a model file carries besides its layers, read the
 * same way from either format: the normalization (the reader has turned it
 * into numbers), the class labels, the encoder and the caller's "user.KEY"
 * entries (key/value strings the reader collected). Each goes to the model
 * through the call a program would make, so model_meta.c's checks apply to
 * files and programs alike; a refusal becomes a format error that names the
 * file and the entry. */
#include "encode.h"
#include "modelfile.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LABELS "labels"   /* a JSON array of strings, in both formats */
#define KEY_ENCODER "encoder" /* the encoder's JSON (encoder_json.c) */

/* The first entry named key, or NULL. */
static const bp__mf_entry *find(const bp__mf_tail *t, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < t->n; i++)
        if (t->entry[i].key_len == n && memcmp(t->entry[i].key, key, n) == 0) return &t->entry[i];
    return NULL;
}

/* Prefixes the message of a failed library call with the file and entry. A
 * value the library finds invalid is, coming from a file, a format error. */
static bp_status wrap(bp_status st, const bp__mf_tail *t, const char *key)
{
    char why[900];
    snprintf(why, sizeof why, "%s", bp_last_error());
    return bp__fail(st == BP_ERR_INVALID ? BP_ERR_FORMAT : st, "%s: %s \"%s\": %s", t->path,
                    t->container, key, why);
}

/* A string's bytes as a new C string; *text NULL (message set) when they
 * hold a NUL byte or are not UTF-8, which no model file string may be. */
static bp_status text_of(const bp__mf_tail *t, const char *s, size_t n, const char *key,
                         char **text)
{
    *text = NULL;
    json_t *valid = json_stringn(s ? s : "", n); /* NULL when not UTF-8 */
    bool ok = valid && !(n && memchr(s, 0, n));
    json_decref(valid);
    if (!ok)
        return bp__fail(BP_ERR_FORMAT, "%s: %s \"%s\": not a UTF-8 string without NUL bytes",
                        t->path, t->container, key);
    if (!(*text = bp__calloc(n + 1, 1))) return BP_ERR_NOMEM;
    if (n) memcpy(*text, s, n);
    return BP_OK;
}

static bp_status normalization(bp_model *m, const bp__mf_tail *t)
{
    if (!t->shift) return BP_OK;
    bp_status st = bp_model_set_normalization(m, t->shift, t->scale);
    return st ? wrap(st, t, "normalization") : BP_OK;
}

/* "labels": one name per output, or two for one sigmoid output. */
static bp_status labels(bp_model *m, const bp__mf_tail *t)
{
    const bp__mf_entry *e = find(t, KEY_LABELS);
    if (!e) return BP_OK;
    char *s;
    bp_status st = text_of(t, e->value, e->value_len, KEY_LABELS, &s);
    if (st) return st;
    json_t *a = json_loads(s, 0, NULL);
    size_t n = json_array_size(a);
    bool ok = json_is_array(a);
    for (size_t i = 0; ok && i < n; i++) ok = json_is_string(json_array_get(a, i));
    const char **names = NULL;
    if (!ok)
        st = bp__fail(BP_ERR_FORMAT, "%s: %s \"%s\" is \"%.200s\": expected a JSON array of "
                      "strings", t->path, t->container, KEY_LABELS, s);
    else if (!bp__labels_fit(n, bp_model_outputs(m)))
        st = bp__fail(BP_ERR_FORMAT, "%s: %s \"%s\" holds %zu names for a model with %d outputs "
                      "(one per output, or two for one sigmoid output)", t->path, t->container,
                      KEY_LABELS, n, bp_model_outputs(m));
    else if (n && !(names = bp__calloc(n, sizeof *names)))
        st = BP_ERR_NOMEM;
    for (size_t i = 0; names && i < n; i++) names[i] = json_string_value(json_array_get(a, i));
    if (!st && n && (st = bp_model_set_labels(m, (int)n, names))) st = wrap(st, t, KEY_LABELS);
    free(names);
    json_decref(a);
    free(s);
    return st;
}

/* "encoder": parsed (encoder_json.c), then attached as bp_model_set_encoder
 * attaches one. */
static bp_status encoder(bp_model *m, const bp__mf_tail *t)
{
    const bp__mf_entry *e = find(t, KEY_ENCODER);
    if (!e) return BP_OK;
    char *s, where[600];
    bp_status st = text_of(t, e->value, e->value_len, KEY_ENCODER, &s);
    if (st) return st;
    snprintf(where, sizeof where, "%.500s: %s \"%s\"", t->path, t->container, KEY_ENCODER);
    bp_encoder *enc = NULL;
    st = bp__encoder_from_json(&enc, s, where);
    if (!st && (st = bp__model_attach_encoder(m, enc))) st = wrap(st, t, KEY_ENCODER);
    free(s);
    return st;
}

/* The "user.KEY" entries, in file order ("user." alone, which bp_extra cannot
 * hold, is skipped like any key we do not know). */
static bp_status user_entries(const bp__mf_tail *t, bp_extra **out)
{
    size_t plen = strlen(BP__MF_USER);
    bp_status st = bp_extra_create(out);
    for (size_t i = 0; !st && i < t->n; i++) {
        const bp__mf_entry *e = &t->entry[i];
        if (e->key_len <= plen || memcmp(e->key, BP__MF_USER, plen) != 0) continue;
        char *key = NULL, *value = NULL, shown[68];
        size_t k = e->key_len < 60 ? e->key_len : 60;
        for (size_t j = 0; j < k; j++)
            shown[j] = e->key[j] >= 0x20 && e->key[j] < 0x7f ? e->key[j] : '?';
        snprintf(shown + k, sizeof shown - k, "%s", e->key_len > 60 ? "..." : "");
        st = text_of(t, e->key, e->key_len, shown, &key);
        if (!st) st = text_of(t, e->value, e->value_len, shown, &value);
        if (!st && (st = bp_extra_set(*out, key + plen, value))) st = wrap(st, t, BP__MF_USER);
        free(key), free(value);
    }
    if (st) bp_extra_free(*out), *out = NULL;
    return st;
}

bp_status bp__mf_read_tail(bp_model *m, const bp__mf_tail *t, bp_extra **extra)
{
    bp_status st = normalization(m, t);
    if (!st) st = labels(m, t);
    if (!st) st = encoder(m, t);
    if (!st && extra) st = user_entries(t, extra);
    return st;
}
