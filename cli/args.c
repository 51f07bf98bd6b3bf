/* args.c - the option table, strict parsing of every value (the whole text
 * must be a number in range, a known name, ...), and the --help text. Any
 * bad argument, or an input file that does not exist, ends the program with
 * one line naming the option and what it allows, and exit status 2. The
 * names of activations, losses, inits and optimizers are the library's
 * (choice()); so are the forms of a data spec and the width limit. It calls
 * only the library and cli/errors.c. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const norms[] = {"none", "scale", "standard", "global", NULL};
static const char *const missings[] = {"error", "impute", "drop", NULL};
static const char *const imputes[] = {"mean", "median", NULL};
static const char *const unknowns[] = {"zeros", "error", NULL};
static const char *const schedules[] = {"none", "step", "cosine", "warmup", NULL};
static const char *const formats[] = {"c", "onnx", "c-train", NULL};
static const char *const quantizations[] = {"none", "int8", NULL};

#define INF HUGE_VAL
/* name, type, metavar, default, min, max, min_open, max_open, choices, help[, names] */
const opt_spec cli_specs[O_COUNT] = {
    [O_DATA] = {"data", OT_STR, "SPEC", NULL, 0, 0, 0, 0, NULL,
                "data set: xor, fashion-mnist[:test], mnist[:test], idx:IMAGES[,LABELS], "
                "or FILE.csv (docs/CLI.md)"},
    [O_TEST] = {"test", OT_STR, "SPEC", NULL, 0, 0, 0, 0, NULL,
                "test data, evaluated after every epoch (same forms as --data)"},
    [O_TARGET] = {"target", OT_STR, "COL", NULL, 0, 0, 0, 0, NULL,
                  "CSV target column: a header name, or a 0-based index where -1 is the "
                  "last column (default: the last column); several, comma-separated, for "
                  "multi-label classification (two-valued columns) or multi-output regression"},
    [O_NO_HEADER] = {"no-header", OT_FLAG, NULL, NULL, 0, 0, 0, 0, NULL,
                     "the CSV's first row is data (default: a header is detected)"},
    [O_NORMALIZE] = {"normalize", OT_CHOICE, "KIND", NULL, 0, 0, 0, 0, norms,
                     "input normalization computed on the training data and saved with the "
                     "model: none, scale (min-max to [0, 1] per input), standard (mean 0, std 1) "
                     "or global (one min-max for all inputs: x / 255 for pixels) (default: "
                     "global for images, standard for CSV)"},
    [O_VAL_SPLIT] = {"val-split", OT_REAL, "F", "0", 0, 1, 0, 1, NULL,
                     "hold out this fraction of the training data for validation, drawn "
                     "with --seed (0: none)"},
    [O_LAYERS] = {"layers", OT_LAYERS, "N,N,...", NULL, 0, 0, 0, 0, NULL,
                  "layer sizes from inputs to outputs, e.g. 784,256,128,10"},
    [O_ACT] = {"act", OT_ACTS, "NAME[,...]", "relu", 0, 0, 0, 0, NULL,
               "hidden activation: {}; one for every hidden layer, or a list with one per "
               "hidden layer", NAMES_HIDDEN_ACT},
    [O_OUT_ACT] = {"out-act", OT_CHOICE, "NAME", NULL, 0, 0, 0, 0, NULL,
                   "output activation: {} (default: softmax for xent, sigmoid for bce and "
                   "bce_sum, identity for mse and half_sse)", NAMES_ACT},
    [O_LOSS] = {"loss", OT_CHOICE, "NAME", NULL, 0, 0, 0, 0, NULL,
                "loss: {}; bce and bce_sum need a sigmoid output, xent a softmax one "
                "(default: from --out-act, else from the data: xent for classes, bce for a "
                "0/1 target or 2 classes on 1 output, mse for numbers)", NAMES_LOSS},
    [O_INIT] = {"init", OT_CHOICE, "NAME", "auto", 0, 0, 0, 0, NULL,
                "weight initialization: {}; auto is he for relu layers and xavier for the "
                "others, zeros sets every weight and bias to 0",
                NAMES_INIT},
    [O_LEAKY_SLOPE] = {"leaky-slope", OT_REAL, "S", "0.01", 0, 1, 0, 1, NULL,
                       "slope of leaky_relu below zero"},
    [O_OPT] = {"opt", OT_CHOICE, "NAME", "adam", 0, 0, 0, 0, NULL, "optimizer: {}", NAMES_OPTIM},
    [O_LR] = {"lr", OT_REAL, "RATE", NULL, 0, INF, 1, 1, NULL,
              "learning rate (default: 0.001 for adam and adamw, 0.01 for the others)"},
    [O_MOMENTUM] = {"momentum", OT_REAL, "B", NULL, 0, 1, 0, 1, NULL,
                    "momentum of momentum/nesterov/rmsprop, beta of notes-momentum "
                    "(default: 0.9; rmsprop 0)"},
    [O_BETA1] = {"beta1", OT_REAL, "B", "0.9", 0, 1, 0, 1, NULL, "adam/adamw first moment decay"},
    [O_BETA2] = {"beta2", OT_REAL, "B", "0.999", 0, 1, 0, 1, NULL,
                 "adam/adamw second moment decay"},
    [O_ALPHA] = {"alpha", OT_REAL, "A", "0.99", 0, 1, 0, 1, NULL, "rmsprop smoothing constant"},
    [O_EPS] = {"eps", OT_REAL, "E", "1e-8", 0, 1, 1, 0, NULL, "adam/adamw/rmsprop epsilon"},
    [O_EPS_INSIDE_SQRT] = {"eps-inside-sqrt", OT_FLAG, NULL, NULL, 0, 0, 0, 0, NULL,
                           "adam/adamw: the notes' m / sqrt(v + eps) instead of "
                           "m / (sqrt(v) + eps)"},
    [O_WEIGHT_DECAY] = {"weight-decay", OT_REAL, "L", NULL, 0, INF, 0, 1, NULL,
                        "L2 weight decay (decoupled for adamw) (default: 0; adamw 0.01)"},
    [O_CLIP] = {"clip", OT_REAL, "NORM", "0", 0, INF, 0, 1, NULL,
                "scale each gradient so its global L2 norm is at most NORM (0: off)"},
    [O_BATCH] = {"batch", OT_INT, "M", NULL, 1, 10000000, 0, 0, NULL,
                 "mini-batch size (default: min(200, training rows), as scikit-learn)"},
    [O_EPOCHS] = {"epochs", OT_INT, "N", NULL, 1, 1000000, 0, 0, NULL,
                  "run exactly N epochs (a resumed run counts the epochs already done) "
                  "(default: at most 200, stopping by --patience and --tol)"},
    [O_SEED] = {"seed", OT_SEED, "S", "0", 0, 0, 0, 0, NULL,
                "seed of the initialization, shuffling and validation split"},
    [O_NO_SHUFFLE] = {"no-shuffle", OT_FLAG, NULL, NULL, 0, 0, 0, 0, NULL,
                      "keep the data's order in every epoch"},
    [O_SCHEDULE] = {"schedule", OT_CHOICE, "KIND", "none", 0, 0, 0, 0, schedules,
                    "learning rate per epoch: none (constant), step (times --lr-gamma every "
                    "--lr-step-epochs), cosine (down to --min-lr at the last epoch), warmup "
                    "(linear ramp over --warmup-epochs, then constant)"},
    [O_LR_STEP_EPOCHS] = {"lr-step-epochs", OT_INT, "N", "5", 1, 1000000, 0, 0, NULL,
                          "step schedule: epochs between decays"},
    [O_LR_GAMMA] = {"lr-gamma", OT_REAL, "G", "0.1", 0, 1, 1, 0, NULL,
                    "step schedule: factor of each decay"},
    [O_WARMUP_EPOCHS] = {"warmup-epochs", OT_INT, "N", NULL, 0, 1000000, 0, 0, NULL,
                         "epochs of linear warmup, lr * (e + 1) / (N + 1) for epoch e < N, "
                         "before any schedule (default: 2 with --schedule warmup, else 0)"},
    [O_MIN_LR] = {"min-lr", OT_REAL, "RATE", "0", 0, INF, 0, 1, NULL,
                  "cosine schedule: the final learning rate"},
    [O_TRAIN_LAYERS] = {"train-layers", OT_INT, "K", "0", 0, 1000000, 0, 0, NULL,
                        "train only the last K layers; the earlier ones stay frozen (no "
                        "gradient, no optimizer state; 0: all). Not with --resume or "
                        "--checkpoint"},
    [O_EARLY_STOP] = {"early-stop", OT_INT, "N", "0", 0, 1000000, 0, 0, NULL,
                      "stop after N epochs without a lower validation loss and keep the best "
                      "weights (needs --val-split; 0: off)"},
    [O_THREADS] = {"threads", OT_INT, "N", "0", 0, 1024, 0, 0, NULL,
                   "threads for OpenBLAS and the library (0: all cores)"},
    [O_INIT_FROM] = {"init-from", OT_STR, "FILE", NULL, 0, 0, 0, 0, NULL,
                     "start from this model's weights, architecture, normalization and labels "
                     "(a model from `backprop init` gets them from the data)"},
    [O_RESUME] = {"resume", OT_STR, "CKPT", NULL, 0, 0, 0, 0, NULL,
                  "continue an interrupted run from its checkpoint, with its settings "
                  "(--data and the other training options may be left out)"},
    [O_SAVE] = {"save", OT_STR, "FILE", NULL, 0, 0, 0, 0, NULL,
                "where to write the model (safetensors)"},
    [O_CHECKPOINT] = {"checkpoint", OT_STR, "FILE", NULL, 0, 0, 0, 0, NULL,
                      "where Ctrl-C saves a checkpoint (default: the --save path + .ckpt)"},
    [O_LOG] = {"log", OT_STR, "FILE.jsonl", NULL, 0, 0, 0, 0, NULL,
               "write one JSON object per epoch"},
    [O_PLOT] = {"plot", OT_STR, "FILE.svg", NULL, 0, 0, 0, 0, NULL,
                "draw loss and accuracy curves, redrawn as training goes (at most once a "
                "second) and at the end"},
    [O_QUIET] = {"quiet", OT_FLAG, NULL, NULL, 0, 0, 0, 0, NULL, "print only the final summary"},
    [O_MODEL] = {"model", OT_STR, "FILE", NULL, 0, 0, 0, 0, NULL,
                 "a model file (or a checkpoint)"},
    [O_JSON] = {"json", OT_FLAG, NULL, NULL, 0, 0, 0, 0, NULL, "print the results as JSON"},
    [O_OUTPUT] = {"output", OT_STR, "FILE", NULL, 0, 0, 0, 0, NULL,
                  "predict: write the CSV there (default: standard output); export: the "
                  "file to write (NAME.c, and NAME.h beside it, for --format c)"},
    [O_TOL] = {"tol", OT_REAL, "T", NULL, 0, INF, 1, 1, NULL,
               "fail (exit 1) above this relative error (default: 1e-6 in a float64 "
               "build, 2e-2 in float32, whose finite differences are coarse)"},
    [O_STEP] = {"step", OT_REAL, "H", NULL, 0, 1, 1, 0, NULL,
                "finite-difference step (default: 1e-5 in float64, 1e-2 in float32)"},
    [O_FLOOR] = {"floor", OT_REAL, "F", NULL, 0, INF, 1, 1, NULL,
                 "smallest denominator of the relative error, so that gradients near zero "
                 "are compared absolutely (default: 1e-4 in float64, as the library's tests, 1e-3 in float32)"},
    [O_FORMAT] = {"format", OT_CHOICE, "FMT", NULL, 0, 0, 0, 0, formats,
                  "what to export: c (dependency-free C99 source and header, docs/EXPORT.md) or "
                  "onnx (an ONNX model for onnxruntime and other runtimes, docs/FORMAT.md)"},
    [O_NAME] = {"name", OT_STR, "NAME", NULL, 0, 0, 0, 0, NULL,
                "prefix of the generated symbols, a C identifier (default: the output "
                "file's stem)"},
    [O_QUANTIZE] = {"quantize", OT_CHOICE, "KIND", "none", 0, 0, 0, 0, quantizations,
                    "none (float32) or int8 (post-training quantization, needs --calibrate)"},
    [O_CALIBRATE] = {"calibrate", OT_STR, "SPEC", NULL, 0, 0, 0, 0, NULL,
                     "data whose activation ranges set the int8 scales, normalized as at "
                     "training (e.g. the training set; same forms as --data)"},
    [O_CALIBRATE_SAMPLES] = {"calibrate-samples", OT_INT, "N", "1000", 1, 100000000, 0, 0, NULL,
                             "use the first N samples of --calibrate"},
    [O_CATEGORICAL] = {"categorical", OT_STR, "COL,...", NULL, 0, 0, 0, 0, NULL,
                       "CSV columns to one-hot encode although they look numeric (codes, zip "
                       "codes), by header name or 0-based index; a column of text is "
                       "categorical anyway"},
    [O_IGNORE] = {"ignore", OT_STR, "COL,...", NULL, 0, 0, 0, 0, NULL,
                  "CSV columns to leave out (ids, dates, free text), by name or 0-based index"},
    [O_MISSING] = {"missing", OT_CHOICE, "HOW", "error", 0, 0, 0, 0, missings,
                   "CSV missing values (empty, NA, N/A, NaN, null, ?): error, impute (numbers: "
                   "the training mean or median plus a 0/1 indicator input; text: a \"missing\" "
                   "category; rows without a target dropped) or drop (rows dropped); saved with "
                   "the model"},
    [O_IMPUTE] = {"impute", OT_CHOICE, "STAT", "mean", 0, 0, 0, 0, imputes,
                  "--missing impute: fill numbers with the training mean or median"},
    [O_UNKNOWN] = {"unknown", OT_CHOICE, "HOW", "zeros", 0, 0, 0, 0, unknowns,
                   "a category not seen in training: zeros (all its one-hot inputs 0, counted "
                   "in a warning) or error"},
    [O_MAX_CATEGORIES] = {"max-categories", OT_INT, "N", "1000", 1, BP_MAX_WIDTH, 0, 0, NULL,
                          "most categories a categorical CSV column may have"},
    [O_HEADER] = {"header", OT_FLAG, NULL, NULL, 0, 0, 0, 0, NULL,
                  "the CSV's first row is a header (default: detected; a table of text "
                  "columns only needs this)"},
    [O_HIDDEN] = {"hidden", OT_HIDDEN, "N,N,...", NULL, 0, 0, 0, 0, NULL,
                  "hidden layer sizes only (e.g. 64,32): the inputs and outputs come from the "
                  "encoded data (instead of --layers) (default without --layers: one hidden "
                  "layer of 100)"},
    [O_PATIENCE] = {"patience", OT_INT, "N", "10", 1, 1000000, 0, 0, NULL,
                    "without --epochs: stop when the training loss (the validation loss under "
                    "--val-split) has failed to improve by --tol for more than N epochs in a "
                    "row (scikit-learn's n_iter_no_change)"},
    [O_STOP_TOL] = {"tol", OT_REAL, "T", "1e-4", 0, INF, 0, 1, NULL,
                    "the improvement --patience asks for: a loss below the best so far minus T"},
};

/* ------------------------------------------------------------ values */

static int parse_long(const char *s, long *out)
{
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    /* Decimal only: strtod would also take "0x10" and "0x1p-3". */
    if (!*s || s[strspn(s, "0123456789+-.eE")]) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || (errno == ERANGE && v != 0)) return -1;
    if (errno == ERANGE) return -1; /* underflow: not representable */
    *out = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s)) return -1; /* strtoull would accept "-1" */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int in_range(const opt_spec *sp, double v)
{
    if (sp->min_open ? !(v > sp->min) : !(v >= sp->min)) return 0;
    if (sp->max == INF) return 1;
    return sp->max_open ? v < sp->max : v <= sp->max;
}

/* The i-th name option sp accepts, NULL past the last. */
static const char *choice(const opt_spec *sp, int i)
{
    switch (sp->names) {
    case NAMES_NONE: return sp->choices ? sp->choices[i] : NULL;
    case NAMES_ACT: return i < BP_ACT_COUNT_ ? bp_activation_name((bp_activation)i) : NULL;
    case NAMES_HIDDEN_ACT: /* softmax belongs to an output layer only */
        for (int a = 0; a < BP_ACT_COUNT_; a++)
            if (a != BP_ACT_SOFTMAX && i-- == 0) return bp_activation_name((bp_activation)a);
        return NULL;
    case NAMES_LOSS: return i < BP_LOSS_COUNT_ ? bp_loss_name((bp_loss)i) : NULL;
    case NAMES_INIT: return i < BP_INIT_COUNT_ ? bp_init_name((bp_init)i) : NULL;
    case NAMES_OPTIM: return i < BP_OPTIM_COUNT_ ? bp_optim_name((bp_optim_kind)i) : NULL;
    }
    return NULL;
}

/* The names of sp into buf: "a, b, c" or, with last " or ", "a, b or c". */
static void join_names(const opt_spec *sp, const char *last, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; choice(sp, i) && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i == 0 ? "" : choice(sp, i + 1) ? ", " : last,
                              choice(sp, i));
}

/* What the option accepts, for messages: "an integer in 1..1000000". */
static void describe(const opt_spec *sp, char *buf, size_t len)
{
    switch (sp->type) {
    case OT_INT:
        snprintf(buf, len, "an integer in %.0f..%.0f", sp->min, sp->max);
        break;
    case OT_REAL:
        if (sp->max == INF)
            snprintf(buf, len, "a number %s %g", sp->min_open ? ">" : ">=", sp->min);
        else
            snprintf(buf, len, "a number in %c%g, %g%c", sp->min_open ? '(' : '[', sp->min,
                     sp->max, sp->max_open ? ')' : ']');
        break;
    case OT_SEED: snprintf(buf, len, "an integer in 0..18446744073709551615"); break;
    case OT_CHOICE: {
        size_t n = (size_t)snprintf(buf, len, "one of ");
        if (n < len) join_names(sp, ", ", buf + n, len - n);
        break;
    }
    case OT_LAYERS:
        snprintf(buf, len, "2 to %d comma-separated sizes in 1..%d, inputs first (e.g. 784,256,10)",
                 BP_MAX_LAYERS + 1, BP_MAX_WIDTH);
        break;
    case OT_HIDDEN:
        snprintf(buf, len, "1 to %d comma-separated hidden sizes in 1..%d (e.g. 64,32)",
                 BP_MAX_LAYERS - 1, BP_MAX_WIDTH);
        break;
    case OT_ACTS: {
        join_names(sp, " or ", buf, len);
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, ", or a comma-separated list of them (one per hidden layer)");
        break;
    }
    default: snprintf(buf, len, "a non-empty value"); break;
    }
}

static int parse_layers(cli_opts *o, const char *s)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        char item[32];
        size_t len = strcspn(p, ",");
        long v;
        if (len == 0 || len >= sizeof item || n > BP_MAX_LAYERS) return -1;
        memcpy(item, p, len), item[len] = 0;
        if (parse_long(item, &v) || v < 1 || v > BP_MAX_WIDTH) return -1;
        o->sizes[n++] = (int)v;
        if (!p[len]) break;
        p += len + 1;
    }
    if (n < 2) return -1;
    o->n_sizes = n;
    return 0;
}

static int check_hidden(const char *s)
{
    cli_opts tmp;
    char buf[4096];
    /* the hidden sizes between a dummy input and output must make valid --layers */
    if (snprintf(buf, sizeof buf, "1,%s,1", s) >= (int)sizeof buf) return -1;
    return parse_layers(&tmp, buf) || tmp.n_sizes > BP_MAX_LAYERS + 1;
}

static int parse_acts(cli_opts *o, const char *s)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        char item[32];
        size_t len = strcspn(p, ",");
        bp_activation a;
        if (len == 0 || len >= sizeof item || n >= BP_MAX_LAYERS) return -1;
        memcpy(item, p, len), item[len] = 0;
        if (bp_activation_from_name(item, &a) || a == BP_ACT_SOFTMAX) return -1;
        o->acts[n++] = a;
        if (!p[len]) break;
        p += len + 1;
    }
    o->n_acts = n;
    return 0;
}

static int parse_choice(const opt_spec *sp, const char *s)
{
    for (int i = 0; choice(sp, i); i++)
        if (strcmp(s, choice(sp, i)) == 0) return 0;
    return -1;
}

/* Parses text into o->v[id] (not marking it given); -1 on a bad value. */
static int set_value(cli_opts *o, opt_id id, const char *text)
{
    const opt_spec *sp = &cli_specs[id];
    opt_value *v = &o->v[id];
    int bad = 0;
    switch (sp->type) {
    case OT_FLAG: v->i = 1; break;
    case OT_INT: bad = parse_long(text, &v->i) || !in_range(sp, (double)v->i); break;
    case OT_REAL: bad = parse_double(text, &v->r) || !in_range(sp, v->r); break;
    case OT_SEED: bad = parse_seed(text, &v->u); break;
    case OT_STR: bad = !*text; break;
    case OT_CHOICE: bad = parse_choice(sp, text); break;
    case OT_LAYERS: bad = parse_layers(o, text); break;
    case OT_ACTS: bad = parse_acts(o, text); break;
    case OT_HIDDEN: bad = check_hidden(text); break;
    }
    if (!bad) v->s = text;
    return bad ? -1 : 0;
}

int cli_set(cli_opts *o, opt_id id, const char *text, char *err, size_t errlen)
{
    if (set_value(o, id, text)) {
        char what[256];
        describe(&cli_specs[id], what, sizeof what);
        snprintf(err, errlen, "--%s: expected %s, got '%s'", cli_specs[id].name, what, text);
        return -1;
    }
    o->v[id].given = 1;
    return 0;
}

/* ------------------------------------------------------------- parsing */

/* Exits with a usage error when `path`, named by option `flag`, does not exist. */
static void need_file(const cli_opts *o, opt_id flag, const char *path, size_t len)
{
    char p[4096];
    if (len >= sizeof p) return; /* the library reports it */
    memcpy(p, path, len);
    p[len] = '\0';
    if (access(p, F_OK) != 0 && (errno == ENOENT || errno == ENOTDIR))
        cli_usage(o->cmd, "--%s: no such file '%s'", cli_specs[flag].name, p);
}

/* Exclusive flags, and the files that the input options name (a data spec's
 * files as the library's parser finds them in it) must exist. */
static void check_input_files(const cli_opts *o)
{
    if (o->v[O_HEADER].i && o->v[O_NO_HEADER].i)
        cli_usage(o->cmd, "--header and --no-header exclude each other");
    static const opt_id files[] = {O_MODEL, O_RESUME, O_INIT_FROM}, specs[] = {O_DATA, O_TEST, O_CALIBRATE};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (o->v[files[i]].given) need_file(o, files[i], o->v[files[i]].s, strlen(o->v[files[i]].s));
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        bp_data_spec d; /* an unknown spec is reported when it is loaded */
        if (!o->v[specs[i]].given || bp_data_spec_parse(&d, o->v[specs[i]].s)) continue;
        for (int k = 0; k < d.n_paths; k++) need_file(o, specs[i], d.path[k], d.path_len[k]);
    }
}

static const cmd_item *find_item(const cmd_desc *cmd, const char *name, size_t len)
{
    for (const cmd_item *it = cmd->items; it->id != O_COUNT; it++)
        if (it->id >= 0 && strlen(cli_specs[it->id].name) == len &&
            strncmp(cli_specs[it->id].name, name, len) == 0)
            return it;
    return NULL;
}

int cli_find_option(const char *name)
{
    for (int i = 0; i < O_COUNT; i++)
        if (strcmp(cli_specs[i].name, name) == 0) return i;
    return -1;
}

static int cli_find_option_n(const char *name, size_t len)
{
    for (int i = 0; i < O_COUNT; i++)
        if (strlen(cli_specs[i].name) == len && strncmp(cli_specs[i].name, name, len) == 0) return i;
    return -1;
}

int cli_accepts(const cmd_desc *cmd, opt_id id)
{
    for (const cmd_item *it = cmd->items; it->id != O_COUNT; it++)
        if (it->id == (int)id) return 1;
    return 0;
}

/* Levenshtein distance of a[0..la) and b, both short option names. */
static size_t edit_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Exits naming the nearest option of cmd: a typo, at most a third of the
 * name's letters (and one) wrong. */
static void unknown_option(const cmd_desc *cmd, const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = len / 3 + 2;
    for (const cmd_item *it = cmd->items; it->id != O_COUNT; it++) {
        size_t d = it->id < 0 ? (size_t)-1 : edit_distance(name, len, cli_specs[it->id].name);
        if (d < best_d) best = cli_specs[it->id].name, best_d = d;
    }
    if (best)
        cli_usage(cmd->name, "unknown option '--%.*s'; did you mean --%s?", (int)len, name, best);
    if (cli_find_option_n(name, len) >= 0)
        cli_usage(cmd->name, "unknown option '--%.*s' ('%s' does not take it)", (int)len, name,
                  cmd->name);
    cli_usage(cmd->name, "unknown option '--%.*s'", (int)len, name);
}

/* Exits for an argument that is no option: a file where an option naming
 * a file was meant (`info iris.st`) gets that option suggested. */
static void positional(const cmd_desc *cmd, const char *arg)
{
    bp_data_spec d; /* a CSV file is data; another file, a model */
    int csv = bp_data_spec_parse(&d, arg) == BP_OK && d.source == BP_DATA_CSV;
    const opt_id file_opts[] = {csv ? O_DATA : O_MODEL, csv ? O_MODEL : O_DATA};
    if (access(arg, F_OK) == 0)
        for (size_t i = 0; i < sizeof file_opts / sizeof *file_opts; i++)
            if (cli_accepts(cmd, file_opts[i]))
                cli_usage(cmd->name, "unexpected argument '%s' (options start with --); "
                                     "did you mean --%s %s?", arg, cli_specs[file_opts[i]].name, arg);
    cli_usage(cmd->name, "unexpected argument '%s' (options start with --)", arg);
}

static void set_defaults(cli_opts *o, const cmd_desc *cmd)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd->name;
    for (const cmd_item *it = cmd->items; it->id != O_COUNT; it++) {
        if (it->id < 0) continue;
        const char *def = it->text ? it->text : cli_specs[it->id].def;
        if (def && set_value(o, (opt_id)it->id, def))
            cli_usage(cmd->name, "internal error: bad default '%s' for --%s", def,
                      cli_specs[it->id].name);
    }
}

void cli_parse(cli_opts *o, const cmd_desc *cmd, int argc, char **argv)
{
    set_defaults(o, cmd);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_print_help(stdout, cmd);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) positional(cmd, arg);
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cmd_item *it = find_item(cmd, name, len);
        if (!it) unknown_option(cmd, name, len);
        const opt_spec *sp = &cli_specs[it->id];
        const char *val = eq ? eq + 1 : NULL;
        if (sp->type == OT_FLAG) {
            if (val) cli_usage(cmd->name, "--%s takes no value", sp->name);
            val = "1";
        } else if (!val) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                cli_usage(cmd->name, "--%s needs a value (%s)", sp->name, sp->metavar);
            val = argv[++i];
        }
        char err[512];
        if (cli_set(o, (opt_id)it->id, val, err, sizeof err)) cli_usage(cmd->name, "%s", err);
    }
    check_input_files(o);
}

/* ---------------------------------------------------------------- help */

/* Prints text word-wrapped to 79 columns from column `col` (already
 * reached), continuing lines indented to `indent`. */
static void wrap(FILE *f, const char *text, int col, int indent)
{
    int first = 1;
    for (const char *p = text; *p; first = 0) {
        size_t w = strcspn(p, " ");
        if (!first && col + 1 + (int)w > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, w, f);
        col += (int)w;
        p += w;
        while (*p == ' ') p++;
    }
    fputc('\n', f);
}

/* sp's help with "{}" replaced by its names, "a, b or c". */
static void help_text(const opt_spec *sp, char *buf, size_t len)
{
    const char *at = strstr(sp->help, "{}");
    char names[256];
    if (!at) {
        snprintf(buf, len, "%s", sp->help);
        return;
    }
    join_names(sp, " or ", names, sizeof names);
    snprintf(buf, len, "%.*s%s%s", (int)(at - sp->help), sp->help, names, at + 2);
}

void cli_print_help(FILE *f, const cmd_desc *cmd)
{
    fprintf(f, "usage: backprop %s %s\n\n", cmd->name, cmd->usage);
    wrap(f, cmd->about, 0, 0);
    for (const cmd_item *it = cmd->items; it->id != O_COUNT; it++) {
        if (it->id < 0) {
            fprintf(f, "\n%s:\n", it->text);
            continue;
        }
        const opt_spec *sp = &cli_specs[it->id];
        char head[64], text[1024], help[1100];
        snprintf(head, sizeof head, "  --%s%s%s", sp->name, sp->metavar ? " " : "",
                 sp->metavar ? sp->metavar : "");
        help_text(sp, text, sizeof text);
        const char *def = it->text ? it->text : sp->def;
        int said = strstr(text, "(default") || (strcmp(def ? def : "", "0") == 0 &&
                                                 strstr(text, "0: "));
        if (def && sp->type != OT_FLAG && !said)
            snprintf(help, sizeof help, "%s (default: %s)", text, def);
        else
            snprintf(help, sizeof help, "%s", text);
        int col = (int)strlen(head);
        fprintf(f, "%s%s%*s", head, col >= 27 ? "\n" : "", col >= 27 ? 27 : 27 - col, "");
        wrap(f, help, 27, 27);
    }
    fprintf(f, "\n  --help                   this text\n");
}
