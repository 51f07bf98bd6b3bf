/* cmd_info.c - `backprop info`: what a model file (or checkpoint) holds:
 * architecture, parameter count, loss, normalization, labels, and the
 * training settings and history that `backprop train` stored with it. */
#include "cli.h"
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cmd_item items[] = {OPT(O_MODEL), OPT(O_JSON), END_ITEMS};

const cmd_desc cmd_info_desc = {
    "info", "--model FILE",
    "describe a model file or checkpoint",
    "Prints a model file's architecture (layer by layer, with parameter counts), loss, "
    "initialization, input normalization, class labels, and, for a model saved by "
    "`backprop train`, the options it was trained with and its per-epoch history. For a "
    "checkpoint it also prints where training stopped and the optimizer's state. A model "
    "trained on a CSV lists the raw columns and what each became (inputs, categories, "
    "imputation, targets, ignored). --json prints all of it as one JSON object.",
    items, cmd_info};

static void print_layers(const bp_model_config *c)
{
    size_t total = 0;
    for (int l = 0; l < c->n_layers; l++) {
        size_t n = (size_t)c->sizes[l + 1] * (size_t)(c->sizes[l] + 1);
        total += n;
        printf("%-14s%d: %d -> %d %s (%zu parameters)\n", l ? "" : "layers", l + 1, c->sizes[l],
               c->sizes[l + 1], bp_activation_name(c->act[l]), n);
    }
    printf("%-14s%zu\n", "parameters", total);
    printf("%-14s%s\n", "loss", bp_loss_name(c->loss));
    printf("%-14s%s, seed %llu\n", "init", bp_init_name(c->init), (unsigned long long)c->seed);
}

/* Which inputs the normalization changes, and which it leaves as they are
 * (shift 0, scale 1: a one-hot or indicator input keeps its 0/1). */
static void print_scaled(const bp_model *m)
{
    const bp_real *sh = bp_model_norm_shift(m), *sc = bp_model_norm_scale(m);
    const bp_encoder *e = bp_model_encoder(m);
    int n = bp_model_inputs(m), kept = 0;
    for (int i = 0; i < n; i++) kept += sh[i] == 0 && sc[i] == 1;
    printf("%-14s%d of %d inputs scaled, %d as they are%s", "", n - kept, n, kept, kept ? ":" : "");
    int shown = 0;
    for (int i = 0; i < n && shown < 30; i++) {
        if (!(sh[i] == 0 && sc[i] == 1)) continue;
        char what[160] = "", t[BP_TEXT_SHOWN];
        if (e) bp_encoder_input_describe(e, i, what, sizeof what);
        printf("%s %d%s%s%s", shown++ ? "," : "", i, *what ? " (" : "",
               bp_text_escape(t, sizeof t, what), *what ? ")" : ""); /* a category is data */
    }
    printf("%s\n", kept > shown ? ", ..." : "");
}

static void print_norm(const bp_model *m, const bp_extra *meta)
{
    const bp_real *sh = bp_model_norm_shift(m), *sc = bp_model_norm_scale(m);
    const char *kind = meta ? bp_extra_get(meta, "normalize") : NULL;
    if (!sh) {
        printf("%-14snone\n", "normalize");
        return;
    }
    double lo = HUGE_VAL, hi = -HUGE_VAL, slo = HUGE_VAL, shi = -HUGE_VAL;
    for (int i = 0; i < bp_model_inputs(m); i++) {
        lo = fmin(lo, sh[i]), hi = fmax(hi, sh[i]);
        slo = fmin(slo, sc[i]), shi = fmax(shi, sc[i]);
    }
    printf("%-14s%s: x' = (x - shift) * scale, shift in [%g, %g], scale in [%g, %g]\n",
           "normalize", kind ? kind : "custom", lo, hi, slo, shi);
    print_scaled(m);
}

static void print_labels(const bp_model *m)
{
    int n = bp_model_label_count(m);
    if (!n) return;
    printf("%-14s%d:", "labels", n);
    char t[BP_TEXT_SHOWN]; /* labels come from data: control bytes escaped */
    for (int i = 0; i < n && i < 50; i++)
        printf("%s %s", i ? "," : "", bp_text_escape(t, sizeof t, bp_model_label(m, i)));
    printf("%s\n", n > 50 ? ", ..." : "");
}

static void print_args(const char *args)
{
    json_t *j = json_loads(args, 0, NULL);
    const char *key;
    json_t *v;
    printf("%-13s", "trained with");
    json_object_foreach(j, key, v) {
        int id = cli_find_option(key);
        printf(" --%s", key);
        if (id < 0 || cli_specs[id].type != OT_FLAG) printf(" %s", json_string_value(v));
    }
    putchar('\n');
    json_decref(j);
}

static void print_history(const char *text)
{
    history h = {0};
    char err[256], a[6][32];
    if (history_from_text(&h, text, 0, err, sizeof err)) {
        printf("%-14s(unreadable: %s)\n", "history", err);
        return;
    }
    printf("%-14s%d epochs\n  %5s %10s %9s %10s %9s %10s %9s %9s\n", "history", h.n, "epoch",
           "train loss", "train acc", "val loss", "val acc", "test loss", "test acc", "lr");
    for (int i = 0; i < h.n; i++) {
        const epoch_rec *r = &h.r[i];
        printf("  %5d %10s %9s %10s %9s %10s %9s %9.3g\n", r->epoch,
               fmt_loss(a[0], 32, r->train_loss), fmt_acc(a[1], 32, r->train_acc),
               fmt_loss(a[2], 32, r->val_loss), fmt_acc(a[3], 32, r->val_acc),
               fmt_loss(a[4], 32, r->test_loss), fmt_acc(a[5], 32, r->test_acc), r->lr);
    }
    history_free(&h);
}

static void print_checkpoint(const bp_optim *opt, const bp_checkpoint_info *info)
{
    const bp_optim_config *c = bp_optim_cfg(opt);
    printf("%-14scheckpoint after %d epochs and %zu batches of the next (batch size %d)\n",
           "state", info->epochs_done, info->next_batch, info->train.batch_size);
    printf("%-14s%s lr %g, %llu steps\n", "optimizer", bp_optim_name(c->kind), c->lr,
           (unsigned long long)bp_optim_steps(opt));
}

static const char *role_name(bp_column_role r)
{
    static const char *const names[] = {"numeric", "categorical", "target", "ignored"};
    return (unsigned)r < 4 ? names[r] : "?";
}

/* The raw columns and what each became. */
static void print_columns(const bp_model *m)
{
    const bp_encoder *e = bp_model_encoder(m);
    if (!e) return;
    json_t *j = NULL;
    char *text = bp_encoder_to_json(e);
    if (text) j = json_loads(text, 0, NULL);
    free(text);
    json_t *cols = json_object_get(j, "columns");
    static const char *const missing[] = {"error", "impute", "drop"};
    printf("%-14s%d raw columns -> %d inputs; missing values: %s%s\n", "columns",
           bp_encoder_columns(e), bp_encoder_inputs(e), missing[bp_encoder_missing(e)],
           bp_encoder_missing(e) == BP_MISSING_IMPUTE
               ? strcmp(json_string_value(json_object_get(j, "impute")), "median") == 0
                     ? " (numbers: median)" : " (numbers: mean)" : "");
    int first = 0;
    for (int c = 0; c < bp_encoder_columns(e); c++) {
        json_t *col = json_array_get(cols, (size_t)c);
        bp_column_role r = bp_encoder_column_role(e, c);
        char t[BP_TEXT_SHOWN];
        printf("  %-24.24s %-12s", bp_text_escape(t, sizeof t, bp_encoder_column_name(e, c)),
               role_name(r));
        if (r == BP_COLUMN_NUMERIC) {
            int ind = json_is_true(json_object_get(col, "indicator"));
            printf("input %d", first);
            if (ind) printf(", missing indicator input %d", first + 1);
            if (bp_encoder_missing(e) == BP_MISSING_IMPUTE) /* the fill value is used then only */
                printf("; missing -> %.17g", json_number_value(json_object_get(col, "fill")));
            first += 1 + ind;
        } else if (r == BP_COLUMN_CATEGORICAL) {
            json_t *cats = json_object_get(col, "categories");
            size_t k = json_array_size(cats);
            printf("inputs %d..%d, one-hot over %zu categories:", first, first + (int)k - 1, k);
            for (size_t i = 0; i < k && i < 20; i++)
                printf("%s %s", i ? "," : "",
                       bp_text_escape(t, sizeof t, json_string_value(json_array_get(cats, i))));
            if (k > 20) printf(", ...");
            first += (int)k;
        } else if (r == BP_COLUMN_TARGET) {
            static const char *const tasks[] = {"", "classification", "regression", "multi-label"};
            printf("%s", tasks[bp_encoder_task(e)]);
        }
        putchar('\n');
    }
    json_decref(j);
}

/* Everything info prints, as one JSON object. */
static void print_json(const bp_model *m, const bp_extra *meta, const char *path, int ckpt,
                       const bp_optim *opt, const bp_checkpoint_info *info)
{
    const bp_model_config *c = bp_model_cfg(m);
    char arch[256];
    json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "file", path, "kind",
                          ckpt ? "checkpoint" : "model", "architecture",
                          cli_arch_text(arch, sizeof arch, c), "parameters",
                          (json_int_t)bp_model_param_count(m));
    json_t *layers = json_array();
    for (int l = 0; l < c->n_layers; l++)
        json_array_append_new(layers, json_pack("{s:i, s:i, s:s}", "in", c->sizes[l], "out",
                                                c->sizes[l + 1], "activation",
                                                bp_activation_name(c->act[l])));
    json_object_set_new(j, "layers", layers);
    json_object_set_new(j, "loss", json_string(bp_loss_name(c->loss)));
    json_object_set_new(j, "init", json_string(bp_init_name(c->init)));
    json_object_set_new(j, "seed", json_integer((json_int_t)c->seed));
    const char *kind = meta ? bp_extra_get(meta, "normalize") : NULL;
    json_t *norm = json_null();
    if (bp_model_norm_shift(m)) {
        json_t *sh = json_array(), *sc = json_array();
        for (int i = 0; i < bp_model_inputs(m); i++) {
            json_array_append_new(sh, json_real(bp_model_norm_shift(m)[i]));
            json_array_append_new(sc, json_real(bp_model_norm_scale(m)[i]));
        }
        json_t *scaled = json_array();
        for (int i = 0; i < bp_model_inputs(m); i++)
            json_array_append_new(scaled, json_boolean(!(bp_model_norm_shift(m)[i] == 0 &&
                                                         bp_model_norm_scale(m)[i] == 1)));
        norm = json_pack("{s:s, s:o, s:o, s:o}", "kind", kind ? kind : "custom", "scaled", scaled,
                         "shift", sh, "scale", sc);
    }
    json_object_set_new(j, "normalization", norm);
    json_t *labels = json_array();
    for (int i = 0; i < bp_model_label_count(m); i++)
        json_array_append_new(labels, json_string(bp_model_label(m, i)));
    json_object_set_new(j, "labels", labels);
    const bp_encoder *e = bp_model_encoder(m);
    char *text = e ? bp_encoder_to_json(e) : NULL;
    json_object_set_new(j, "encoder", text ? json_loads(text, 0, NULL) : json_null());
    free(text);
    json_t *extra = json_object();
    for (int i = 0; i < bp_extra_count(meta); i++) {
        const char *v = bp_extra_value(meta, i);
        json_t *parsed = json_loads(v, JSON_DECODE_ANY, NULL);
        json_object_set_new(extra, bp_extra_key(meta, i), parsed ? parsed : json_string(v));
    }
    json_object_set_new(j, "metadata", extra);
    if (ckpt)
        json_object_set_new(j, "checkpoint",
                            json_pack("{s:i, s:I, s:i, s:s, s:f, s:I}", "epochs_done",
                                      info->epochs_done, "next_batch",
                                      (json_int_t)info->next_batch, "batch_size",
                                      info->train.batch_size, "optimizer",
                                      bp_optim_name(bp_optim_cfg(opt)->kind), "lr",
                                      bp_optim_cfg(opt)->lr, "steps",
                                      (json_int_t)bp_optim_steps(opt)));
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    putchar('\n');
    json_decref(j);
}

int cmd_info(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_info_desc, argc, argv);
    if (!o.v[O_MODEL].given) cli_usage(o.cmd, "--model FILE is required");
    bp_model *m = NULL;
    bp_optim *opt = NULL;
    bp_extra *meta = NULL;
    bp_checkpoint_info info;
    int ckpt = bp_checkpoint_load(&m, &opt, o.v[O_MODEL].s, &info, &meta) == BP_OK;
    if (!ckpt && cli_load_model(&m, &o, &meta)) return EXIT_RUNTIME;
    if (o.v[O_JSON].i) {
        print_json(m, meta, o.v[O_MODEL].s, ckpt, opt, &info);
        bp_extra_free(meta);
        bp_optim_free(opt);
        bp_model_free(m);
        return 0;
    }
    char arch[256];
    const bp_model_config *c = bp_model_cfg(m);
    printf("%-14s%s (%s)\n", "file", o.v[O_MODEL].s, ckpt ? "checkpoint" : "model");
    printf("%-14s%s\n", "architecture", cli_arch_text(arch, sizeof arch, c));
    print_layers(c);
    print_norm(m, meta);
    print_labels(m);
    print_columns(m);
    if (ckpt) print_checkpoint(opt, &info);
    const char *args = bp_extra_get(meta, "train_args"), *hist = bp_extra_get(meta, "history"),
               *best = bp_extra_get(meta, "best_epoch");
    if (args) print_args(args);
    if (best) printf("%-14s%s (early stopping kept its weights)\n", "best epoch", best);
    const char *stopped = bp_extra_get(meta, "stopped"), *tm = bp_extra_get(meta, "target_mean");
    if (stopped) printf("%-14s%s\n", "stopped", stopped);
    if (tm) printf("%-14strained on standardized targets, mean %s std %s; %s\n", "targets", tm,
                   bp_extra_get(meta, "target_std"), ckpt ? "this checkpoint's outputs are in "
                   "standard units" : "folded into the last layer: outputs in target units");
    if (hist) print_history(hist);
    bp_extra_free(meta);
    bp_optim_free(opt);
    bp_model_free(m);
    return 0;
}
