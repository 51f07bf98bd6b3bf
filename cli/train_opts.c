/* train_opts.c - the rules between train's options, the learning-rate
 * schedules, and the settings a checkpoint keeps for --resume. */
#include "dist.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Everything that decides what the run computes; not where it writes. */
static const opt_id resumable[] = {
    O_DATA, O_TEST, O_TARGET, O_NO_HEADER, O_NORMALIZE, O_VAL_SPLIT, O_LAYERS, O_ACT,
    O_OUT_ACT, O_LOSS, O_INIT, O_LEAKY_SLOPE, O_OPT, O_LR, O_MOMENTUM, O_BETA1, O_BETA2,
    O_ALPHA, O_EPS, O_EPS_INSIDE_SQRT, O_WEIGHT_DECAY, O_CLIP, O_BATCH, O_EPOCHS, O_SEED,
    O_NO_SHUFFLE, O_SCHEDULE, O_LR_STEP_EPOCHS, O_LR_GAMMA, O_WARMUP_EPOCHS, O_MIN_LR,
    O_EARLY_STOP, O_INIT_FROM, O_CATEGORICAL, O_IGNORE, O_MISSING, O_IMPUTE, O_MAX_CATEGORIES,
    O_HIDDEN, O_HEADER, O_PATIENCE, O_STOP_TOL};
#define N_RESUMABLE (int)(sizeof resumable / sizeof *resumable)

int train_is_resumable(opt_id id)
{
    for (int i = 0; i < N_RESUMABLE; i++)
        if (resumable[i] == id) return 1;
    return 0;
}

uint64_t train_settings_hash(const cli_opts *o, uint64_t h)
{
    for (int i = 0; i < N_RESUMABLE; i++) {
        opt_id id = resumable[i];
        if (id == O_DATA || id == O_TEST || id == O_INIT_FROM) continue; /* paths */
        const char *text = o->v[id].s ? o->v[id].s : "";
        h = dist_hash(h, text, strlen(text) + 1);
    }
    return h;
}

/* An option that only some optimizers (or schedules) use. */
typedef struct only_for {
    opt_id id;
    opt_id by;            /* O_OPT or O_SCHEDULE */
    const char *allowed;  /* space-separated names, with spaces around */
} only_for;

static const only_for limits[] = {
    {O_MOMENTUM, O_OPT, " momentum nesterov notes-momentum rmsprop "},
    {O_BETA1, O_OPT, " adam adamw "},
    {O_BETA2, O_OPT, " adam adamw "},
    {O_EPS_INSIDE_SQRT, O_OPT, " adam adamw "},
    {O_EPS, O_OPT, " adam adamw rmsprop "},
    {O_ALPHA, O_OPT, " rmsprop "},
    {O_LR_STEP_EPOCHS, O_SCHEDULE, " step "},
    {O_LR_GAMMA, O_SCHEDULE, " step "},
    {O_MIN_LR, O_SCHEDULE, " cosine "},
};

static void check_limits(const cli_opts *o)
{
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        const only_for *l = &limits[i];
        char key[64];
        snprintf(key, sizeof key, " %s ", o->v[l->by].s);
        if (o->v[l->id].given && !strstr(l->allowed, key))
            cli_usage(o->cmd, "--%s is not used by --%s %s (only by:%.*s)", cli_specs[l->id].name,
                      cli_specs[l->by].name, o->v[l->by].s, (int)strlen(l->allowed) - 1,
                      l->allowed);
    }
}

/* Options the model file decides when training starts from one. */
static const opt_id arch_opts[] = {O_LAYERS, O_HIDDEN, O_ACT, O_OUT_ACT, O_LOSS, O_INIT,
                                   O_LEAKY_SLOPE};

void train_check_command_line(const cli_opts *o)
{
    int resuming = o->v[O_RESUME].given;
    if (!resuming && !o->v[O_DATA].given) cli_usage(o->cmd, "--data SPEC is required");
    if (o->v[O_LAYERS].given && o->v[O_HIDDEN].given)
        cli_usage(o->cmd, "--layers and --hidden exclude each other (--hidden gives the hidden "
                  "sizes only, --layers all of them)");
    if (o->v[O_INIT_FROM].given && resuming)
        cli_usage(o->cmd, "--init-from and --resume exclude each other (a checkpoint has its model)");
    for (size_t i = 0; i < sizeof arch_opts / sizeof *arch_opts; i++)
        if (o->v[O_INIT_FROM].given && o->v[arch_opts[i]].given)
            cli_usage(o->cmd, "--%s cannot be combined with --init-from (the model file gives it)",
                      cli_specs[arch_opts[i]].name);
}

void train_check_settings(const cli_opts *o)
{
    check_limits(o);
    if (o->v[O_TRAIN_LAYERS].i > 0 && (o->v[O_RESUME].given || o->v[O_CHECKPOINT].given))
        cli_usage(o->cmd, "--train-layers cannot be combined with --%s: checkpoints hold the "
                  "whole model's optimizer state, and frozen layers have none (save the model "
                  "with --save and train on from it with --init-from)",
                  o->v[O_RESUME].given ? "resume" : "checkpoint");
    if (o->v[O_EARLY_STOP].i > 0 && !(o->v[O_VAL_SPLIT].r > 0))
        cli_usage(o->cmd, "--early-stop needs --val-split F (a validation part to watch)");
    if (o->v[O_EARLY_STOP].i > 0 && (o->v[O_PATIENCE].given || o->v[O_STOP_TOL].given))
        cli_usage(o->cmd, "--early-stop N is its own rule: leave out --patience and --tol");
    long warmup = o->v[O_WARMUP_EPOCHS].given ? o->v[O_WARMUP_EPOCHS].i : 0;
    if (warmup >= o->v[O_EPOCHS].i)
        cli_usage(o->cmd, "--warmup-epochs %ld must be less than --epochs %ld", warmup,
                  o->v[O_EPOCHS].i);
    if (strcmp(o->v[O_OPT].s, "notes-momentum") == 0 && o->v[O_MOMENTUM].given &&
        o->v[O_MOMENTUM].r == 0)
        cli_usage(o->cmd, "--momentum 0: notes-momentum needs a beta in (0, 1) (use --opt sgd)");
}

/* --schedule's names: the library's schedule, and the warmup it implies. */
static const struct {
    const char *name;
    bp_schedule kind;
    int warmup;
} schedule_kinds[] = {{"none", BP_SCHEDULE_CONSTANT, 0}, {"step", BP_SCHEDULE_STEP, 0},
                      {"cosine", BP_SCHEDULE_COSINE, 0}, {"warmup", BP_SCHEDULE_CONSTANT, 2}};

void train_policy_config(const cli_opts *o, bp_train_config *c)
{
    for (size_t i = 0; i < sizeof schedule_kinds / sizeof *schedule_kinds; i++)
        if (strcmp(o->v[O_SCHEDULE].s, schedule_kinds[i].name) == 0)
            c->schedule = schedule_kinds[i].kind, c->warmup_epochs = schedule_kinds[i].warmup;
    if (o->v[O_WARMUP_EPOCHS].given) c->warmup_epochs = (int)o->v[O_WARMUP_EPOCHS].i;
    c->lr = o->v[O_LR].r;
    c->step_epochs = (int)o->v[O_LR_STEP_EPOCHS].i;
    c->gamma = o->v[O_LR_GAMMA].r;
    c->min_lr = o->v[O_MIN_LR].r;
    c->max_epochs = (int)o->v[O_EPOCHS].i;
    /* --early-stop N: N epochs in a row without a lower validation loss */
    c->patience = (int)o->v[O_EARLY_STOP].i;
    c->tol = 0;
    c->monitor = c->patience > 0 ? BP_MONITOR_VAL_LOSS : BP_MONITOR_AUTO;
    c->restore_best = c->patience > 0;
    if (c->patience == 0 && train_stops_by_rule(o)) { /* the library's (scikit-learn's) rule */
        bp_train_config a = bp_train_config_auto((size_t)c->batch_size, o->v[O_VAL_SPLIT].r > 0);
        c->patience = (int)o->v[O_PATIENCE].i + 1; /* more than N epochs: patience N + 1 */
        c->tol = o->v[O_STOP_TOL].r;
        c->monitor = a.monitor, c->restore_best = a.restore_best;
    }
}

int train_stops_by_rule(const cli_opts *o)
{
    return o->v[O_EARLY_STOP].i == 0 &&
           (!o->v[O_EPOCHS].given || o->v[O_PATIENCE].given || o->v[O_STOP_TOL].given);
}

/* ------------------------------------------------------------- resume */

char *train_args_text(const cli_opts *o)
{
    json_t *obj = json_object();
    for (int i = 0; i < N_RESUMABLE; i++)
        if (o->v[resumable[i]].given)
            json_object_set_new(obj, cli_specs[resumable[i]].name, json_string(o->v[resumable[i]].s));
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

static int same_value(const cli_opts *a, const cli_opts *b, opt_id id)
{
    const opt_value *x = &a->v[id], *y = &b->v[id];
    switch (cli_specs[id].type) {
    case OT_FLAG:
    case OT_INT: return x->i == y->i;
    case OT_REAL: return x->r == y->r;
    case OT_SEED: return x->u == y->u;
    case OT_LAYERS:
        return a->n_sizes == b->n_sizes &&
               memcmp(a->sizes, b->sizes, (size_t)a->n_sizes * sizeof *a->sizes) == 0;
    case OT_ACTS:
        return a->n_acts == b->n_acts &&
               memcmp(a->acts, b->acts, (size_t)a->n_acts * sizeof *a->acts) == 0;
    default: return (!x->s && !y->s) || (x->s && y->s && strcmp(x->s, y->s) == 0);
    }
}

/* Whether this command line may change a stored setting: the run length,
 * and where the data lives (not what it is). */
static int may_override(opt_id id) { return id == O_EPOCHS || id == O_DATA || id == O_TEST || id == O_INIT_FROM; }

static int load_stored(cli_opts *stored, const cli_opts *o, const char *args, json_t **keep)
{
    cli_parse(stored, &cmd_train_desc, 0, NULL);
    stored->cmd = o->cmd;
    json_error_t je;
    *keep = json_loads(args, 0, &je);
    if (!json_is_object(*keep))
        return cli_error(o->cmd, "--resume: the checkpoint's train_args is not a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(*keep, key, val) {
        char err[512];
        int id = -1;
        for (int i = 0; i < N_RESUMABLE && id < 0; i++)
            if (strcmp(cli_specs[resumable[i]].name, key) == 0) id = (int)resumable[i];
        if (id < 0 || !json_is_string(val) ||
            cli_set(stored, (opt_id)id, json_string_value(val), err, sizeof err))
            return cli_error(o->cmd, "--resume: the checkpoint's setting '%s' is not valid", key);
    }
    return 0;
}

int train_apply_stored(cli_opts *o, const char *args, json_t **keep)
{
    cli_opts stored;
    int rc = load_stored(&stored, o, args, keep);
    if (rc) return rc;
    for (int i = 0; i < N_RESUMABLE; i++) {
        opt_id id = resumable[i];
        if (o->v[id].given && may_override(id)) continue;
        if (o->v[id].given && !same_value(o, &stored, id))
            cli_usage(o->cmd, "--%s %s differs from the checkpoint's %s (a resumed run keeps its "
                      "settings; only --epochs and data paths may change)", cli_specs[id].name,
                      o->v[id].s, stored.v[id].s ? stored.v[id].s : "default");
        o->v[id] = stored.v[id];
    }
    o->n_sizes = stored.n_sizes, o->n_acts = stored.n_acts;
    memcpy(o->sizes, stored.sizes, sizeof o->sizes);
    memcpy(o->acts, stored.acts, sizeof o->acts);
    return 0;
}
