/* history.c - the per-epoch figures of a training run, and their JSON form
 * (the --log lines, and the history kept in model files and checkpoints). */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int history_reserve(history *h, int cap)
{
    if (cap <= h->cap) return 0;
    epoch_rec *r = realloc(h->r, (size_t)cap * sizeof *r);
    if (!r) return -1;
    h->r = r;
    h->cap = cap;
    return 0;
}

void history_free(history *h)
{
    free(h->r);
    memset(h, 0, sizeof *h);
}

int history_add(history *h, const epoch_rec *r)
{
    if (h->n == h->cap && history_reserve(h, h->cap ? 2 * h->cap : 64)) return -1;
    h->r[h->n++] = *r;
    return 0;
}

/* A number, or null for NaN (JSON has no NaN). */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *epoch_to_json(const epoch_rec *r, int with_timing)
{
    json_t *o = json_object();
    json_object_set_new(o, "epoch", json_integer(r->epoch));
    json_object_set_new(o, "train_loss", num(r->train_loss));
    json_object_set_new(o, "train_acc", num(r->train_acc));
    json_object_set_new(o, "val_loss", num(r->val_loss));
    json_object_set_new(o, "val_acc", num(r->val_acc));
    json_object_set_new(o, "test_loss", num(r->test_loss));
    json_object_set_new(o, "test_acc", num(r->test_acc));
    json_object_set_new(o, "lr", num(r->lr));
    if (with_timing) {
        json_object_set_new(o, "seconds", num(r->seconds));
        json_object_set_new(o, "samples_per_sec", num(r->samples_per_sec));
    }
    return o;
}

char *history_to_text(const history *h, int with_timing)
{
    json_t *a = json_array();
    for (int i = 0; i < h->n; i++) json_array_append_new(a, epoch_to_json(&h->r[i], with_timing));
    char *text = json_dumps(a, HISTORY_JSON_FLAGS);
    json_decref(a);
    return text;
}

static double get_num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int history_from_text(history *h, const char *text, int cap, char *err, size_t errlen)
{
    json_error_t je;
    json_t *a = json_loads(text, 0, &je);
    if (!json_is_array(a)) {
        snprintf(err, errlen, "training history is not a JSON array (%s)", je.text);
        json_decref(a);
        return -1;
    }
    int n = (int)json_array_size(a);
    if (history_reserve(h, n > cap ? n : cap)) {
        json_decref(a);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->n = 0;
    for (int i = 0; i < n; i++) {
        json_t *o = json_array_get(a, (size_t)i);
        epoch_rec r = {(int)json_integer_value(json_object_get(o, "epoch")),
                       get_num(o, "train_loss"), get_num(o, "train_acc"),
                       get_num(o, "val_loss"), get_num(o, "val_acc"),
                       get_num(o, "test_loss"), get_num(o, "test_acc"),
                       get_num(o, "lr"), get_num(o, "seconds"), get_num(o, "samples_per_sec")};
        history_add(h, &r);
    }
    json_decref(a);
    return 0;
}
