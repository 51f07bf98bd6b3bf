/* cli.h - what the files of the backprop command share: exit codes, the
 * option table and its parsed values, and each command's entry point.
 * Only cli/ prints or exits; the library returns statuses. */
#ifndef BP_CLI_H
#define BP_CLI_H

#include "backprop.h"
#include "errors.h" /* exit codes, cli_usage, cli_error, cli_fail */

#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------- options */

typedef enum opt_id {
    O_DATA, O_TEST, O_TARGET, O_NO_HEADER, O_NORMALIZE, O_VAL_SPLIT,
    O_LAYERS, O_ACT, O_OUT_ACT, O_LOSS, O_INIT, O_LEAKY_SLOPE,
    O_OPT, O_LR, O_MOMENTUM, O_BETA1, O_BETA2, O_ALPHA, O_EPS, O_EPS_INSIDE_SQRT,
    O_WEIGHT_DECAY, O_CLIP,
    O_BATCH, O_EPOCHS, O_SEED, O_NO_SHUFFLE,
    O_SCHEDULE, O_LR_STEP_EPOCHS, O_LR_GAMMA, O_WARMUP_EPOCHS, O_MIN_LR, O_EARLY_STOP,
    O_THREADS, O_INIT_FROM, O_RESUME, O_SAVE, O_CHECKPOINT, O_LOG, O_PLOT, O_QUIET,
    O_MODEL, O_JSON, O_OUTPUT, O_TOL, O_STEP, O_FLOOR,
    O_FORMAT, O_NAME, O_QUANTIZE, O_CALIBRATE, O_CALIBRATE_SAMPLES,
    O_CATEGORICAL, O_IGNORE, O_MISSING, O_IMPUTE, O_UNKNOWN, O_MAX_CATEGORIES, O_HIDDEN,
    O_HEADER, O_PATIENCE, O_STOP_TOL, O_TRAIN_LAYERS,
    O_COUNT
} opt_id;

typedef enum opt_type {
    OT_FLAG,   /* no value */
    OT_INT,    /* long in [min, max] */
    OT_REAL,   /* finite double in the range */
    OT_SEED,   /* unsigned 64-bit */
    OT_STR,    /* non-empty text: a path or data spec */
    OT_CHOICE, /* one of choices[] */
    OT_LAYERS, /* comma-separated sizes */
    OT_ACTS,   /* one activation, or one per hidden layer */
    OT_HIDDEN  /* comma-separated hidden sizes (checked; train.c reads them) */
} opt_type;

/* Choices that are the library's names (bp_activation_name ... up to the
 * enum's _COUNT_), so that the command accepts and lists exactly its names. */
typedef enum name_list {
    NAMES_NONE,       /* choices[] instead */
    NAMES_ACT,        /* every activation */
    NAMES_HIDDEN_ACT, /* every activation but softmax */
    NAMES_LOSS,
    NAMES_INIT,
    NAMES_OPTIM
} name_list;

typedef struct opt_spec {
    const char *name;            /* without the leading "--" */
    opt_type type;
    const char *metavar;
    const char *def;             /* default as text, parsed like a given value; NULL: none */
    double min, max;             /* OT_INT, OT_REAL */
    int min_open, max_open;      /* exclusive bounds */
    const char *const *choices;  /* OT_CHOICE, NULL-terminated */
    const char *help;            /* "{}" stands for the list of names */
    name_list names;             /* OT_CHOICE, OT_ACTS: the library's names */
} opt_spec;

extern const opt_spec cli_specs[O_COUNT];

typedef struct opt_value {
    int given;          /* on the command line (or restored from a checkpoint) */
    const char *s;      /* the text, for every type (NULL: no value, no default) */
    long i;             /* OT_INT, OT_FLAG */
    double r;           /* OT_REAL */
    uint64_t u;         /* OT_SEED */
} opt_value;

typedef struct cli_opts {
    const char *cmd;                     /* "train", "eval", ... */
    opt_value v[O_COUNT];
    int n_sizes;                         /* --layers: n_layers + 1 sizes */
    int sizes[BP_MAX_LAYERS + 1];
    int n_acts;                          /* --act: 1 or one per hidden layer */
    bp_activation acts[BP_MAX_LAYERS];
} cli_opts;

/* A command's options, in help order: {id} or {id, "default"} overriding
 * the table's default for this command; {-1, "Title"} starts a group. */
typedef struct cmd_item {
    int id;
    const char *text;
} cmd_item;
#define OPT(id) {id, NULL}
#define DEF(id, text) {id, text}
#define GROUP(title) {-1, title}
#define END_ITEMS {O_COUNT, NULL}

typedef struct cmd_desc {
    const char *name;
    const char *usage;           /* after "backprop NAME " */
    const char *summary;         /* one line for `backprop --help` */
    const char *about;           /* paragraph for `backprop NAME --help` */
    const cmd_item *items;       /* terminated by END_ITEMS */
    int (*run)(int argc, char **argv);
} cmd_desc;

/* Parses argv (after the command name) into o, first setting every
 * default. --help prints the command's help and exits 0; any error, an
 * input file that does not exist included, prints one line naming the
 * option and exits EXIT_USAGE. */
void cli_parse(cli_opts *o, const cmd_desc *cmd, int argc, char **argv);
/* Sets option id from text as if given (a checkpoint's stored setting);
 * returns 0, or -1 with a message in err. */
int cli_set(cli_opts *o, opt_id id, const char *text, char *err, size_t errlen);
void cli_print_help(FILE *f, const cmd_desc *cmd);
/* The id of the option named name (without "--"), or -1. */
int cli_find_option(const char *name);
/* Whether cmd accepts option id. */
int cli_accepts(const cmd_desc *cmd, opt_id id);

/* ------------------------------------------------------- model config */

/* What the data says the output layer should be, for the defaults of
 * --out-act and --loss. */
typedef enum data_kind {
    KIND_NONE,       /* no data (init, gradcheck) */
    KIND_CLASSES,    /* class labels: one-hot targets, one output per class */
    KIND_BINARY,     /* one 0/1 target */
    KIND_REGRESSION  /* numbers */
} data_kind;

/* Fills mc from --layers, --act, --out-act, --loss, --init, --leaky-slope and
 * --seed, with --out-act and --loss defaulting from each other, then from
 * kind. An inconsistent combination is a usage error (exits). */
void cli_model_config(const cli_opts *o, data_kind kind, bp_model_config *mc);
/* "784-256-10 relu/softmax xent" into buf. */
const char *cli_arch_text(char *buf, size_t len, const bp_model_config *mc);

/* ---------------------------------------------------------------- data */

/* Loads the data set named by option `flag` (--data, --test) with the CSV
 * settings of --no-header and --target, reading class labels in the order of
 * `model` when it has labels (so that a test set matches the training
 * order). has_target 0 reads every CSV column as an input. An unknown spec
 * is a usage error (exits 2); a file or data error prints bp_last_error()
 * naming the flag and returns EXIT_RUNTIME; 0 on success. */
int cli_load_data(bp_dataset **out, const cli_opts *o, opt_id flag, const bp_model *model,
                  int has_target);
/* The same without printing: the library's status. */
bp_status cli_read_data(bp_dataset **out, const cli_opts *o, opt_id flag, const bp_model *model,
                        int has_target);
/* Loads --model (a model file or checkpoint) and its extra metadata (meta
 * may be NULL); prints the error and returns EXIT_RUNTIME on failure. */
int cli_load_model(bp_model **m, const cli_opts *o, bp_extra **meta);
/* --batch, or n when that is smaller: a chunk beyond the data is the data. */
int cli_batch(const cli_opts *o, size_t n);
/* Whether spec names CSV data (whose default normalization is standard). */
int cli_spec_is_csv(const char *spec);
/* CSV tables through the library's encoders (cli/encode.c). */
/* Whether a CSV spec is read through an encoder: a fresh model (model NULL)
 * or a model that has one. */
int cli_uses_encoder(const char *spec, const bp_model *model);
/* Reads CSV option `flag` as a table and fits an encoder on it from
 * --target, --categorical, --ignore, --missing, --impute and
 * --max-categories, then encodes it with its targets into *out. Prints
 * what was dropped; returns 0, or prints the error and returns EXIT_RUNTIME. */
int cli_fit_encoded(bp_dataset **out, bp_encoder **enc, const cli_opts *o, opt_id flag);
/* Reads CSV option `flag` and encodes it with the model's encoder; flags as
 * bp_encoder_apply's (--unknown error adds BP_ENCODE_UNKNOWN_ERROR). Warns
 * about unseen categories and dropped rows; 0 or EXIT_RUNTIME. */
int cli_encode(bp_dataset **out, const cli_opts *o, opt_id flag, const bp_model *m, int flags);
/* Splits a comma-separated list into *items (malloc'd array of pointers into
 * *buf, also malloc'd); returns the count, or -1 when out of memory. */
int cli_split_list(const char *s, char **buf, const char ***items);

/* Classes, a single 0/1 target, or numbers. */
data_kind cli_data_kind(const bp_dataset *d);
/* Checks that model m fits data *d (inputs, outputs), replacing a two-class
 * set by its single 0/1 target (the second class) for a model with one
 * sigmoid output. On a mismatch prints what differs and returns EXIT_USAGE
 * when --layers chose the sizes (from_layers), else EXIT_RUNTIME; 0 if fine. */
int cli_match_data(const cli_opts *o, const bp_model *m, bp_dataset **d, opt_id flag,
                   int from_layers);

/* ------------------------------------------------------------ commands */

int cmd_train(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_export(int argc, char **argv);

extern const cmd_desc cmd_train_desc, cmd_init_desc, cmd_eval_desc, cmd_predict_desc,
    cmd_gradcheck_desc, cmd_info_desc, cmd_demo_desc, cmd_export_desc;

/* ------------------------------------------------------- quantization */

/* --quantize int8: reads --calibrate (the first --calibrate-samples
 * samples), prints what calibration saw to stderr (samples, classes
 * present, input range) and makes *q from m. Prints the error and returns
 * EXIT_RUNTIME (an empty set, bad data); 0 on success. */
int cli_make_qmodel(bp_qmodel **q, const cli_opts *o, bp_model *m);
/* 0 when every prediction p (n, k) is finite; else prints an error naming
 * `what` (e.g. "int8") and the first sample whose output is not, and returns
 * EXIT_RUNTIME: no accuracy, agreement or difference is reported over a NaN
 * (a comparison with NaN is false, so a maximum skips it and an argmax
 * picks class 0). */
int cli_check_finite(const char *cmd, const char *what, const bp_real *p, size_t n, int k);

#endif
