/* modelfile_extra.c - bp_extra, the small insertion-ordered string map of extra
 * metadata (e.g. training history) saved with a model. Linear lookups: it
 * holds a handful of entries. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct bp_extra {
    int n, cap;
    char **keys, **values; /* (cap) each; entries 0..n-1 in insertion order */
};

bp_status bp_extra_create(bp_extra **out)
{
    *out = bp__calloc(1, sizeof **out);
    return *out ? BP_OK : BP_ERR_NOMEM;
}

void bp_extra_free(bp_extra *m)
{
    if (!m) return;
    for (int i = 0; i < m->n; i++) free(m->keys[i]), free(m->values[i]);
    free(m->keys);
    free(m->values);
    free(m);
}

static int find(const bp_extra *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) return i;
    return -1;
}

static bp_status grow(bp_extra *m)
{
    if (m->n < m->cap) return BP_OK;
    int cap = m->cap ? 2 * m->cap : 8;
    char **k = realloc(m->keys, (size_t)cap * sizeof *k);
    if (k) m->keys = k;
    char **v = k ? realloc(m->values, (size_t)cap * sizeof *v) : NULL;
    if (v) m->values = v;
    if (!k || !v) return bp__fail(BP_ERR_NOMEM, "metadata: out of memory for %d entries", cap);
    m->cap = cap;
    return BP_OK;
}

static void remove_at(bp_extra *m, int i)
{
    free(m->keys[i]), free(m->values[i]);
    memmove(m->keys + i, m->keys + i + 1, (size_t)(m->n - i - 1) * sizeof *m->keys);
    memmove(m->values + i, m->values + i + 1, (size_t)(m->n - i - 1) * sizeof *m->values);
    m->n--;
}

bp_status bp_extra_set(bp_extra *m, const char *key, const char *value)
{
    if (!m || !key || !*key) return bp__fail(BP_ERR_INVALID, "metadata: empty key");
    int i = find(m, key);
    if (!value) {
        if (i >= 0) remove_at(m, i);
        return BP_OK;
    }
    char *v = bp__strdup(value);
    if (!v) return BP_ERR_NOMEM;
    if (i >= 0) { /* replace in place: the key keeps its position */
        free(m->values[i]);
        m->values[i] = v;
        return BP_OK;
    }
    char *k = bp__strdup(key);
    bp_status st = k ? grow(m) : BP_ERR_NOMEM;
    if (st) {
        free(k), free(v);
        return st;
    }
    m->keys[m->n] = k, m->values[m->n] = v;
    m->n++;
    return BP_OK;
}

const char *bp_extra_get(const bp_extra *m, const char *key)
{
    int i = m && key ? find(m, key) : -1;
    return i >= 0 ? m->values[i] : NULL;
}

int bp_extra_count(const bp_extra *m) { return m ? m->n : 0; }

const char *bp_extra_key(const bp_extra *m, int i)
{
    return m && i >= 0 && i < m->n ? m->keys[i] : NULL;
}

const char *bp_extra_value(const bp_extra *m, int i)
{
    return m && i >= 0 && i < m->n ? m->values[i] : NULL;
}
