/* report.h - what training reports: the per-epoch history and its outputs
 * (JSON lines log, SVG plot, progress display), atomic file writes, signals. */
#ifndef BP_CLI_REPORT_H
#define BP_CLI_REPORT_H

#include "backprop.h"

#include <jansson.h>
#include <stdio.h>

/* ------------------------------------------------------------ history */

/* JSON of logs and histories: 10 significant digits are plenty for losses,
 * and printing a value parsed from them gives the same text again, so a
 * resumed run writes the same history as an uninterrupted one. */
#define HISTORY_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/* One epoch's figures; NaN where a figure does not exist (no validation
 * part, no accuracy for regression). Accuracies are fractions. */
typedef struct epoch_rec {
    int epoch;
    double train_loss, train_acc, val_loss, val_acc, test_loss, test_acc;
    double lr, seconds, samples_per_sec;
} epoch_rec;

typedef struct history {
    epoch_rec *r;
    int n, cap;
} history;

/* Room for cap records, so that adding them does not allocate. */
int history_reserve(history *h, int cap);
void history_free(history *h);
/* Appends r, growing the room when it is full (once per epoch at most, never
 * inside an epoch); -1 when out of memory. */
int history_add(history *h, const epoch_rec *r);
/* An epoch as a JSON object; with_timing adds seconds and samples_per_sec
 * (left out of model files, whose bytes must not depend on the clock). */
json_t *epoch_to_json(const epoch_rec *r, int with_timing);
/* The whole history as a compact JSON array text (malloc'ed), or NULL. */
char *history_to_text(const history *h, int with_timing);
/* Parses history_to_text's output into h (reserving at least cap records);
 * 0, or -1 with a message in err. */
int history_from_text(history *h, const char *text, int cap, char *err, size_t errlen);

/* ------------------------------------------------------------ outputs */

/* Loss and accuracy curves of h as a standalone SVG file, written through
 * bp_file (atomically where path is a file). */
int plot_svg(const char *path, const history *h, const char *title, char *err, size_t errlen);

/* The progress display of a training run. */
typedef struct progress {
    int tty;              /* redraw a bar with \r on stdout */
    int quiet;            /* print nothing per epoch */
    int epochs;           /* the run's last epoch */
    size_t n_train;       /* samples per epoch */
    double epoch_start, last_draw;
    bp_trainer *trainer;
    long sigint_at;       /* test hook: raise SIGINT after this many batches (0: never) */
    long batches_run;
} progress;

void progress_init(progress *p, int quiet, int epochs, size_t n_train);
/* bp_train_config.on_batch: redraws the bar at most 10 times a second. */
void progress_on_batch(void *user, const bp_batch_info *info);
void progress_epoch_start(progress *p);
/* The epoch's line (replacing the bar on a terminal). */
void progress_epoch(progress *p, const epoch_rec *r);
/* Formats "88.41%" or "-" for a missing accuracy. */
const char *fmt_acc(char *buf, size_t len, double acc);
/* Formats "0.3612" or "-" for a missing loss. */
const char *fmt_loss(char *buf, size_t len, double loss);

/* ------------------------------------------------------------ signals */

/* SIGINT and SIGTERM ask the trainer to stop after its current batch; a
 * second one kills the process as usual. */
void signals_install(bp_trainer *t);
void signals_restore(void);
int signals_caught(void); /* the signal number, or 0 */

#endif
