/* train_policy.h - private to src/train*.c: the trainer's training policy,
 * the learning-rate schedule and the stopping rule (train_policy.c). */
#ifndef BP_TRAIN_POLICY_H
#define BP_TRAIN_POLICY_H

#include "internal.h"

/* The stopping rule's state inside a trainer. */
typedef struct bp__policy {
    bp_early_stop_state es;
    bp_stop_reason reason; /* the last verdict */
    bp_real *best;         /* (n_params): the best epoch's weights under restore_best, else NULL */
    size_t n_params;
    bp__alloc alloc;       /* the trainer's, for best */
} bp__policy;

/* "auto", "train_loss", "val_loss": a checkpoint's train.monitor. */
const char *bp__monitor_name(bp_monitor m);
bool bp__monitor_from_name(const char *name, bp_monitor *out);

/* BP_ERR_INVALID, naming the field, for schedule and stopping fields out of range. */
bp_status bp__policy_check(const bp_train_config *c);
/* The initial state, and the best-weights buffer under c->restore_best. */
bp_status bp__policy_init(bp__policy *p, const bp_train_config *c, size_t n_params,
                          const bp__alloc *a);
void bp__policy_free(bp__policy *p);
/* Whether the schedule sets the optimizer's rate (not constant without warmup). */
bool bp__policy_sets_lr(const bp_train_config *c);
/* Judges a completed epoch (epoch: its 1-based number; loss: the monitored
 * one) on the live parameters `params`; returns the verdict and, on a stop
 * under restore_best, copies the best weights back into params. */
bp_stop_reason bp__policy_judge(bp__policy *p, const bp_train_config *c, int epoch, double loss,
                                bp_real *params);
/* Sets the state from a checkpoint's (best weights copied when both have them). */
void bp__policy_resume(bp__policy *p, const bp_early_stop_state *es, const bp_real *best);

#endif
