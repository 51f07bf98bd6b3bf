/* train_policy.c - the trainer's training policy: the learning rate of each
 * epoch, and when to stop (scikit-learn's MLP rule), with the best epoch's
 * weights kept in one buffer allocated up front. The CLI, Python and the
 * playground share it through bp_train_config and bp_trainer_end_epoch. */
#include "train_policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const schedule_names[] = {"constant", "step", "cosine"};
static const char *const stop_names[] = {"none", "max epochs", "no improvement", "interrupted",
                                         "numeric"};

const char *bp_schedule_name(bp_schedule s)
{
    return (unsigned)s < BP_SCHEDULE_COUNT_ ? schedule_names[s] : "?";
}

bp_status bp_schedule_from_name(const char *name, bp_schedule *out)
{
    int i;
    bp_status st = bp__lookup("schedule", schedule_names, BP_SCHEDULE_COUNT_, name, &i);
    if (!st) *out = (bp_schedule)i;
    return st;
}

static const char *const monitor_names[] = {"auto", "train_loss", "val_loss"};

const char *bp__monitor_name(bp_monitor m)
{
    return (unsigned)m < BP_MONITOR_COUNT_ ? monitor_names[m] : "?";
}

bool bp__monitor_from_name(const char *name, bp_monitor *out)
{
    for (int i = 0; i < BP_MONITOR_COUNT_; i++)
        if (strcmp(name, monitor_names[i]) == 0) return *out = (bp_monitor)i, true;
    return false;
}

const char *bp_stop_reason_name(bp_stop_reason r)
{
    return (unsigned)r <= BP_STOP_NUMERIC ? stop_names[r] : "?";
}

double bp_train_config_lr(const bp_train_config *c, int e)
{
    double lr = c->lr;
    int w = c->warmup_epochs;
    if (e < w) return lr * (double)(e + 1) / (double)(w + 1);
    if (c->schedule == BP_SCHEDULE_STEP) return lr * pow(c->gamma, (double)((e - w) / c->step_epochs));
    if (c->schedule == BP_SCHEDULE_COSINE) {
        double min = c->min_lr, t = (double)(e - w), T = (double)(c->max_epochs - w);
        return min + (lr - min) * (1 + cos(3.14159265358979323846 * t / T)) / 2;
    }
    return lr;
}

bool bp__policy_sets_lr(const bp_train_config *c)
{
    return c->schedule != BP_SCHEDULE_CONSTANT || c->warmup_epochs > 0;
}

static bool nonneg(double v) { return isfinite(v) && v >= 0; }

bp_status bp__policy_check(const bp_train_config *c)
{
    if ((unsigned)c->schedule >= BP_SCHEDULE_COUNT_)
        return bp__fail(BP_ERR_INVALID, "train config: schedule = %d is not a bp_schedule", (int)c->schedule);
    if (!nonneg(c->lr))
        return bp__fail(BP_ERR_INVALID, "train config: lr = %g, must be finite and >= 0", c->lr);
    if (c->warmup_epochs < 0 || c->max_epochs < 0 || c->patience < 0)
        return bp__fail(BP_ERR_INVALID, "train config: warmup_epochs = %d, max_epochs = %d, "
                        "patience = %d: none may be negative", c->warmup_epochs, c->max_epochs,
                        c->patience);
    if (c->schedule == BP_SCHEDULE_STEP && (c->step_epochs < 1 || !(isfinite(c->gamma) && c->gamma > 0)))
        return bp__fail(BP_ERR_INVALID, "train config: step schedule with step_epochs = %d, gamma "
                        "= %g: needs step_epochs >= 1 and gamma > 0", c->step_epochs, c->gamma);
    if (c->schedule == BP_SCHEDULE_COSINE && (c->max_epochs <= c->warmup_epochs || !nonneg(c->min_lr)))
        return bp__fail(BP_ERR_INVALID, "train config: cosine schedule with max_epochs = %d, "
                        "warmup_epochs = %d, min_lr = %g: needs max_epochs > warmup_epochs and "
                        "min_lr >= 0", c->max_epochs, c->warmup_epochs, c->min_lr);
    if (!nonneg(c->tol))
        return bp__fail(BP_ERR_INVALID, "train config: tol = %g, must be finite and >= 0", c->tol);
    if ((unsigned)c->monitor >= BP_MONITOR_COUNT_)
        return bp__fail(BP_ERR_INVALID, "train config: monitor = %d is not a bp_monitor", (int)c->monitor);
    return BP_OK;
}

bp_status bp__policy_init(bp__policy *p, const bp_train_config *c, size_t n_params,
                          const bp__alloc *a)
{
    memset(p, 0, sizeof *p);
    p->es = (bp_early_stop_state){.best_loss = HUGE_VAL, .epoch_loss = NAN};
    p->n_params = n_params;
    p->alloc = *a;
    if (c->restore_best && !(p->best = bp__alloc_calloc(a, n_params, sizeof *p->best)))
        return BP_ERR_NOMEM;
    return BP_OK;
}

void bp__policy_free(bp__policy *p)
{
    bp__alloc_free(&p->alloc, p->best);
    p->best = NULL;
}

/* scikit-learn's _update_no_improvement_count on a loss: the count grows
 * unless loss <= best - tol, and best (with its weights) follows any lower
 * loss, however small the gain. */
bp_stop_reason bp__policy_judge(bp__policy *p, const bp_train_config *c, int epoch, double loss,
                                bp_real *params)
{
    bp_early_stop_state *s = &p->es;
    if (loss > s->best_loss - c->tol) s->bad_epochs++;
    else s->bad_epochs = 0;
    if (loss < s->best_loss) {
        s->best_loss = loss, s->best_epoch = epoch;
        if (p->best) memcpy(p->best, params, p->n_params * sizeof *params);
    }
    s->epoch_loss = NAN;
    bp_stop_reason r = BP_STOP_NONE;
    if (c->patience > 0 && s->bad_epochs >= c->patience) r = BP_STOP_NO_IMPROVEMENT;
    else if (c->max_epochs > 0 && epoch >= c->max_epochs) r = BP_STOP_MAX_EPOCHS;
    if (r && p->best && s->best_epoch > 0) memcpy(params, p->best, p->n_params * sizeof *params);
    return p->reason = r;
}

void bp__policy_resume(bp__policy *p, const bp_early_stop_state *es, const bp_real *best)
{
    p->es = *es;
    p->reason = BP_STOP_NONE;
    if (p->best && best) memcpy(p->best, best, p->n_params * sizeof *best);
}
