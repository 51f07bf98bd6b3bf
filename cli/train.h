/* train.h - the training run shared by `backprop train` and `backprop demo`. */
#ifndef BP_CLI_TRAIN_H
#define BP_CLI_TRAIN_H

#include "cli.h"
#include "report.h"

#include <jansson.h>

/* What a finished run reports to its caller. */
typedef struct train_result {
    epoch_rec last;       /* the figures of the kept model (the best epoch under --early-stop) */
    int epochs;           /* epochs done */
    double seconds;       /* wall time of the epochs run by this process */
} train_result;

/* Trains as the options say (data, model, optimizer, loop, outputs) and
 * saves the model when --save is set. Returns the exit status. */
int train_run(cli_opts *o, train_result *res);

/* The options a checkpoint keeps so that --resume continues the same run. */
int train_is_resumable(opt_id id);
/* Checks of train's command line as given: required options, options that
 * exclude each other (exits 2 on a bad combination). */
void train_check_command_line(const cli_opts *o);
/* Checks of the settings, after a checkpoint's are applied: options used by
 * the optimizer and schedule chosen, early stopping, warmup (exits 2). */
void train_check_settings(const cli_opts *o);
/* Applies a checkpoint's "train_args" (a JSON object of option texts, kept
 * alive in *keep) to o: options given on this command line must agree with
 * them, except --epochs and the data paths. Exits 2 on a conflict; returns
 * EXIT_RUNTIME for a malformed text, else 0. */
int train_apply_stored(cli_opts *o, const char *args, json_t **keep);
/* A hash (dist_hash) of the resumable settings but the data paths,
 * continuing from h: the ranks of a distributed run compare it. */
uint64_t train_settings_hash(const cli_opts *o, uint64_t h);
/* The given resumable options as a JSON object text (malloc'ed). */
char *train_args_text(const cli_opts *o);
/* The schedule (--schedule, --warmup-epochs, ...), the run's length and
 * early stopping (--early-stop) as the trainer's configuration. */
void train_policy_config(const cli_opts *o, bp_train_config *c);
/* Whether the run stops by the library's rule (bp_train_config_auto): no
 * --epochs, or --patience / --tol given; not under --early-stop. */
int train_stops_by_rule(const cli_opts *o);

extern const cmd_item train_items[];

#endif
