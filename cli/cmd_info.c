/* cmd_info.c - `backprop info`: what a model file (or checkpoint) holds:
 * architecture, parameter count, loss, normalization, labels, and the
 * training settings and history that `backprop train` stored with it. */
#include "cli.h"
#include "report.h"

#include <math.h>
#include <string.h>

static const cmd_item items[] = {OPT(O_MODEL), END_ITEMS};

const cmd_desc cmd_info_desc = {
    "info", "--model FILE",
    "describe a model file or checkpoint",
    "Prints a model file's architecture (layer by layer, with parameter counts), loss, "
    "initialization, input normalization, class labels, and, for a model saved by "
    "`backprop train`, the options it was trained with and its per-epoch history. For a "
    "checkpoint it also prints where training stopped and the optimizer's state.",
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

static void print_norm(const bp_model *m, const bp_meta *meta)
{
    const bp_real *sh = bp_model_norm_shift(m), *sc = bp_model_norm_scale(m);
    const char *kind = meta ? bp_meta_get(meta, "normalize") : NULL;
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
}

static void print_labels(const bp_model *m)
{
    int n = bp_model_label_count(m);
    if (!n) return;
    printf("%-14s%d:", "labels", n);
    for (int i = 0; i < n && i < 50; i++) printf("%s %s", i ? "," : "", bp_model_label(m, i));
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
    const bp_optim_config *c = bp_optim_get_config(opt);
    printf("%-14scheckpoint after %d epochs and %zu batches of the next (batch size %d)\n",
           "state", info->epochs_done, info->next_batch, info->train.batch_size);
    printf("%-14s%s lr %g, %llu steps\n", "optimizer", bp_optim_name(c->kind), c->lr,
           (unsigned long long)bp_optim_steps(opt));
}

int cmd_info(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_info_desc, argc, argv);
    if (!o.v[O_MODEL].given) cli_usage(o.cmd, "--model FILE is required");
    bp_model *m = NULL;
    bp_optim *opt = NULL;
    bp_meta *meta = NULL;
    bp_checkpoint_info info;
    int ckpt = bp_checkpoint_load(o.v[O_MODEL].s, &m, &opt, &info, &meta) == BP_OK;
    if (!ckpt && cli_load_model(&m, &o, &meta)) return EXIT_RUNTIME;
    char arch[256];
    const bp_model_config *c = bp_model_get_config(m);
    printf("%-14s%s (%s)\n", "file", o.v[O_MODEL].s, ckpt ? "checkpoint" : "model");
    printf("%-14s%s\n", "architecture", cli_arch_text(arch, sizeof arch, c));
    print_layers(c);
    print_norm(m, meta);
    print_labels(m);
    if (ckpt) print_checkpoint(opt, &info);
    const char *args = bp_meta_get(meta, "train_args"), *hist = bp_meta_get(meta, "history"),
               *best = bp_meta_get(meta, "best_epoch");
    if (args) print_args(args);
    if (best) printf("%-14s%s (early stopping kept its weights)\n", "best epoch", best);
    if (hist) print_history(hist);
    bp_meta_free(meta);
    bp_optim_free(opt);
    bp_model_free(m);
    return 0;
}
