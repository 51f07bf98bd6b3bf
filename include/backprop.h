/*
 * backprop.h - train feedforward neural networks by vectorized backpropagation.
 *
 * The one public header of libbackprop. While the version is 0.x the API may
 * change between minor versions (CHANGES lists every change, old -> new); it
 * keeps to one style:
 *   - Names: actions are bp_<object>_<verb> (bp_model_save); a getter is
 *     bp_<object>_<noun> (bp_model_inputs, bp_optim_lr) and a setter
 *     bp_<object>_set_<noun> (bp_optim_set_lr); library-wide settings have no
 *     object (bp_threads, bp_set_threads). A getter whose noun is a type's name
 *     abbreviates it: bp_model_cfg, bp_optim_cfg, bp_trainer_cfg return the
 *     bp_*_config. Enum values are BP_<ENUM>_<VALUE>, and every enum of values
 *     ends with BP_<ENUM>_COUNT_, the number of values (BP_STATUS_COUNT_ for
 *     bp_status). Flags are enums too (bp_encode_flag, bits without a count);
 *     a function takes them as an int of OR-ed flags.
 *   - Arguments: a function that makes new objects (create, load, fit, split,
 *     subset, apply, encode) returns them through its first arguments; every
 *     other function takes its object first, then its inputs, then its
 *     out-parameters. A size follows the buffer it describes.
 *   - Every function that can fail returns bp_status (BP_OK == 0); on failure,
 *     bp_last_error() gives a message naming what was wrong and where. Those
 *     that cannot (the frees, getters, setters of plain values such as
 *     bp_optim_set_lr) return void or the value. The library never prints and
 *     never exits.
 *   - Opaque handles come in create/free pairs; every *_free(NULL) is a no-op.
 *     A function that makes objects stores NULL in each of them when it fails.
 *   - Matrices are row-major, batch first: inputs (batch, n_in), outputs
 *     (batch, n_out), weights (out, in) like torch.nn.Linear.
 *   - bp_real is float, or double when the library and your code are built
 *     with BP_REAL_DOUBLE defined (`make REAL=double`; pkg-config adds it).
 *   - Threads: distinct objects (models, optimizers, trainers, datasets,
 *     qmodels) may be used from several threads at the same time; one object
 *     is used by one thread at a time (a model being trained by a trainer
 *     counts as the trainer's), and read-only calls on one object do not
 *     make it shareable unless its comment says so. bp_set_threads may be
 *     called at any time from any thread; bp_last_error and the allocator
 *     of bp_alloc_set are per thread.
 *     Results never depend on what other threads do: a call that finds the
 *     library's threads busy with another call's work does its own work on
 *     the calling thread, in the same parts, so it gets the same bits, later.
 *
 * Minimal use (examples/xor.c is the complete program):
 *
 *   bp_model_config mc = bp_model_config_default();
 *   mc.n_layers = 2;
 *   mc.sizes[0] = 2; mc.sizes[1] = 4; mc.sizes[2] = 1;
 *   mc.act[0] = BP_ACT_TANH; mc.act[1] = BP_ACT_SIGMOID;
 *   mc.loss = BP_LOSS_BCE;
 *   bp_model *model;   bp_model_create(&model, &mc);
 *   bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
 *   bp_optim *opt;     bp_optim_create(&opt, &oc, bp_model_param_count(model));
 *   bp_train_config tc = bp_train_config_default();
 *   bp_trainer *tr;    bp_trainer_create(&tr, model, opt, &tc);
 *   bp_epoch_stats st;
 *   for (int e = 0; e < 500; e++) bp_trainer_epoch(tr, x, y, 4, &st);
 */
#ifndef BACKPROP_H
#define BACKPROP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BP_VERSION_MAJOR 0
#define BP_VERSION_MINOR 1
#define BP_VERSION_PATCH 0
#define BP_VERSION_STRING "0.1.0"

#ifdef BP_REAL_DOUBLE
typedef double bp_real;
#else
typedef float bp_real;
#endif

/* Size in bytes of bp_real in the library as built: lets a program check
 * that it was compiled with the same BP_REAL_DOUBLE setting as the library. */
size_t bp_real_size(void);
const char *bp_version(void);

/* ------------------------------------------------------------------ status */

typedef enum bp_status {
    BP_OK = 0,
    BP_ERR_INVALID,     /* an argument or configuration field is out of range */
    BP_ERR_NOMEM,       /* an allocation failed */
    BP_ERR_IO,          /* open/read/write/rename failed (errno in the message) */
    BP_ERR_FORMAT,      /* a file or data set is malformed */
    BP_ERR_NUMERIC,     /* a NaN or infinity appeared in a loss or gradient */
    BP_ERR_INTERRUPTED, /* stopped on request (bp_trainer_request_stop) */
    BP_STATUS_COUNT_
} bp_status;

/* Message of the last failure in the calling thread ("" if none). The pointer
 * stays valid until the next failing call in that thread. */
const char *bp_last_error(void);
/* Short constant name of a status, e.g. "BP_ERR_FORMAT". */
const char *bp_status_name(bp_status s);
/* s as the library's messages show a value from data: control bytes and
 * backslashes escaped (\n, \t, \x1b, \\), cut after about size - 24 bytes at
 * a character's start with "...(N bytes)" appended, so that a long value
 * leaves room for the rest of a message. Writes a NUL-terminated string of
 * at most size bytes (size >= 32) into buf and returns buf. */
#define BP_TEXT_SHOWN 96 /* a good size for a value in a one-line message */
const char *bp_text_escape(char *buf, size_t size, const char *s);

/* Number of threads the library computes with (at most 64); n <= 0 selects
 * the number of online cores, which is also the default. The library runs
 * its own pool of threads, each calling OpenBLAS on its share of a layer, so
 * it sets OpenBLAS itself to one thread (openblas_set_num_threads(1), once,
 * at the first call of either function or the first computation), a
 * process-wide setting. Results are reproducible for a given thread count;
 * another count may change the last bits (docs/ARCHITECTURE.md).
 * The count is process-wide. bp_set_threads may be called from any thread at
 * any time, also while other threads compute: each computation step (a
 * layer's forward or backward, an optimizer pass) reads the count once when
 * it starts, so the new count applies from the next step, and a call that
 * spans several steps (an epoch, a predict) should not race with it if its
 * bits matter.
 * A build without threads (-DBP_NO_THREADS for bare metal, or WebAssembly
 * without shared memory) computes on the calling thread: bp_threads() is 1,
 * and bp_set_threads(n > 1) keeps 1 and records why for bp_last_error().
 * A build without BLAS (make BLAS=none) has no OpenBLAS to set. */
void bp_set_threads(int n);
int bp_threads(void);

/* ------------------------------------------------------------------ memory */

/* Where models, optimizers and trainers get their memory: the heap
 * (aligned_alloc and free) unless the creating thread has set an allocator.
 * alloc returns `size` bytes at a multiple of `align` (a power of two), or
 * NULL when it has none; free (may be NULL: nothing is given back) receives
 * what alloc returned. The library zeroes what it gets. */
typedef struct bp_allocator {
    void *(*alloc)(void *ctx, size_t size, size_t align);
    void (*free)(void *ctx, void *p);
    void *ctx;
} bp_allocator;

/* Sets the allocator of the objects the calling thread creates from now on
 * (copied; NULL, or alloc NULL: the heap again). The setting is per thread,
 * like bp_last_error, and is read only when an object is created: a model,
 * optimizer or trainer keeps the allocator it was created with for all its
 * later allocations (a model's workspace when a larger batch comes, a
 * trainer's batch buffers at its first epoch) and for its free, whichever
 * thread makes them. So the allocator must outlive those objects, and one
 * allocator shared by objects used from several threads at once must be
 * thread-safe itself (an arena is not). Covered: model (parameters,
 * gradients, workspace, normalization, labels), optimizer, trainer;
 * gradcheck, rng and statuses allocate nothing. Not covered: an encoder
 * (bp_model_set_encoder, bp_encoder_fit), data sets, files and the other
 * features outside the core, which use the heap. */
void bp_alloc_set(const bp_allocator *a);

/* The alignment of every allocation from an allocator set with bp_alloc_set,
 * and of an arena's start. The library and the program must be compiled with
 * the same value (a device build may pass -DBP_ARENA_ALIGN=8). */
#ifndef BP_ARENA_ALIGN
#define BP_ARENA_ALIGN 64
#endif

/* One caller-given buffer cut into aligned pieces, front to back, for a
 * program that must not use the heap:
 *
 *   static _Alignas(BP_ARENA_ALIGN) unsigned char mem[BYTES]; // BYTES: bp_train_memory
 *   bp_arena arena;  bp_arena_init(&arena, mem, sizeof mem);
 *   bp_allocator a = bp_arena_allocator(&arena);
 *   bp_alloc_set(&a);   then create the model, optimizer and trainer
 *
 * A request that does not fit fails (the create or epoch returns BP_ERR_NOMEM
 * with a message saying how much was asked and left); nothing is written past
 * the end. Pieces are not given back one by one (bp_arena_reset gives back
 * all: call it only when no object from the arena is left). A buffer not
 * aligned to BP_ARENA_ALIGN loses its first bytes up to the next multiple.
 * The fields are the arena's own. */
typedef struct bp_arena {
    unsigned char *base;
    size_t size, used;
} bp_arena;
void bp_arena_init(bp_arena *a, void *buf, size_t size);
/* The allocator that cuts from `a` (which must outlive its objects). */
bp_allocator bp_arena_allocator(bp_arena *a);
size_t bp_arena_used(const bp_arena *a);
void bp_arena_reset(bp_arena *a);

/* ------------------------------------------------------- activations, loss */

typedef enum bp_activation {
    BP_ACT_IDENTITY = 0,
    BP_ACT_SIGMOID,
    BP_ACT_TANH,
    BP_ACT_RELU,
    BP_ACT_LEAKY_RELU,  /* z > 0 ? z : slope*z, slope in [0, 1) */
    BP_ACT_SOFTMAX,     /* over the features of each sample */
    BP_ACT_COUNT_
} bp_activation;

typedef enum bp_loss {
    BP_LOSS_MSE = 0, /* mean over samples and outputs of (a - y)^2, as torch.nn.MSELoss */
    BP_LOSS_BCE,     /* binary cross-entropy on a sigmoid output, computed from the logits,
                        mean over samples and outputs, as torch.nn.BCEWithLogitsLoss */
    BP_LOSS_XENT,    /* categorical cross-entropy on a softmax output through log-sum-exp,
                        mean over samples, as torch.nn.CrossEntropyLoss with soft targets */
    BP_LOSS_HALF_SSE,/* (1/m) sum_i 1/2 ||a_i - y_i||^2: half the squared error summed over
                        the outputs, mean over samples; dJ/dA = (a - y) / m (scikit-learn's
                        squared_error objective, whose reported value is this / outputs) */
    BP_LOSS_BCE_SUM, /* BCE summed over the outputs, mean over samples, dJ/dZ = (sigma(z) - y) / m
                        (scikit-learn's binary/multilabel log loss); = BCE for one output */
    BP_LOSS_COUNT_
} bp_loss;

typedef enum bp_init {
    BP_INIT_AUTO = 0, /* He for relu/leaky_relu layers, Xavier for the others */
    BP_INIT_XAVIER,   /* uniform(-a, a), a = sqrt(6 / (in + out)); biases 0 */
    BP_INIT_HE,       /* normal(0, 2 / ((1 + slope^2) in)); biases 0 */
    BP_INIT_SMALL,    /* the notes' "small random": normal(0, 0.01^2); biases 0 */
    BP_INIT_ZEROS,    /* every parameter 0, no random draws: for a caller that sets
                         them itself (bp_model_params), e.g. from another library */
    BP_INIT_COUNT_
} bp_init;

/* Names as used by the CLI and model files: "identity", "sigmoid", "tanh",
 * "relu", "leaky_relu", "softmax"; "mse", "bce", "xent", "half_sse", "bce_sum"; "auto", "xavier",
 * "he", "small", "zeros". *_from_name returns BP_ERR_INVALID for an unknown name.
 * bp_*_name(i) for i from 0 to the enum's _COUNT_ lists every name (the CLI's
 * choices and help come from there); outside that range it gives "unknown". */
const char *bp_activation_name(bp_activation a);
bp_status bp_activation_from_name(const char *name, bp_activation *out);
const char *bp_loss_name(bp_loss l);
bp_status bp_loss_from_name(const char *name, bp_loss *out);
const char *bp_init_name(bp_init i);
bp_status bp_init_from_name(const char *name, bp_init *out);

/* ------------------------------------------------------------------- model */

#define BP_MAX_LAYERS 32
/* The widest layer, and the most inputs: keeps every GEMM dimension and
 * product of two of them in range. */
#define BP_MAX_WIDTH (1 << 24)

typedef struct bp_model_config {
    int n_layers;                       /* number of dense layers, 1..BP_MAX_LAYERS */
    int sizes[BP_MAX_LAYERS + 1];       /* sizes[0] inputs, sizes[l] width of layer l */
    bp_activation act[BP_MAX_LAYERS];   /* act[l-1]: activation of layer l */
    bp_real leaky_slope;                /* slope of leaky_relu for z < 0 (default 0.01) */
    bp_loss loss;                       /* BCE needs a sigmoid output, XENT a softmax one */
    bp_init init;
    uint64_t seed;                      /* seed of the initialization */
} bp_model_config;

typedef struct bp_model bp_model;

/* Defaults: no layers, relu hidden act, leaky_slope 0.01, MSE, AUTO init, seed 0. */
bp_model_config bp_model_config_default(void);

/* Validates the configuration (message names the field), allocates the flat
 * parameter and gradient buffers and initializes the parameters from cfg->seed. */
bp_status bp_model_create(bp_model **out, const bp_model_config *cfg);
/* A model whose first `frozen` layers are the caller's (0 <= frozen <
 * n_layers): frozen_params holds their values in the flat layout below (W then
 * b of layers 0 .. frozen-1, bp_model_config_param_count(cfg, 0, frozen)
 * values), is read and never written, and must outlive the model (on a device:
 * const arrays in flash). The model allocates parameters and gradients for the
 * later layers only, and initializes them from cfg->seed to the values an
 * ordinary model would have. Those borrowed layers take no gradient: backward
 * stops at layer `frozen`, and a trainer trains at most the other layers. For
 * such a model bp_model_params and bp_model_grads hold the model's own layers
 * only, from layer `frozen`'s W on (bp_model_train_param_count(m, 0) values);
 * bp_model_weight and _bias of a borrowed layer point into frozen_params (do
 * not write through them) and its _weight_grad and _bias_grad are NULL;
 * bp_model_param_count counts every layer. Saving and exporting work; a
 * checkpoint is refused. frozen = 0 is bp_model_create. */
bp_status bp_model_create_frozen(bp_model **out, const bp_model_config *cfg, int frozen,
                                 const bp_real *frozen_params);
/* The parameters of layers first .. last-1 of a configuration (W and b of
 * each; last is clipped to n_layers), without creating a model. */
size_t bp_model_config_param_count(const bp_model_config *cfg, int first, int last);
/* The layers borrowed by bp_model_create_frozen (0 for other models). */
int bp_model_frozen_layers(const bp_model *m);
void bp_model_free(bp_model *m);
/* Re-initializes all parameters from `seed` with the configured scheme. */
void bp_model_init_params(bp_model *m, uint64_t seed);

/* The configuration the model was created with (owned by the model). */
const bp_model_config *bp_model_cfg(const bp_model *m);
int bp_model_inputs(const bp_model *m);
int bp_model_outputs(const bp_model *m);
size_t bp_model_param_count(const bp_model *m);
/* The parameters of the last train_layers layers (0, or more than the model's
 * own layers: all of its own): the size of the optimizer that a trainer with
 * bp_train_config.train_layers = train_layers takes. */
size_t bp_model_train_param_count(const bp_model *m, int train_layers);

/* Flat buffers: for each layer l, the weights (out, in) row-major then the
 * bias (out). Gradients have the same layout. Owned by the model; valid
 * until bp_model_free. */
bp_real *bp_model_params(bp_model *m);
bp_real *bp_model_grads(bp_model *m);
/* Views into the flat buffers for layer l (0-based); a borrowed layer's
 * (bp_model_create_frozen) are the caller's, and its gradients NULL. */
bp_real *bp_model_weight(bp_model *m, int l);       /* (out, in) */
bp_real *bp_model_bias(bp_model *m, int l);         /* (out) */
bp_real *bp_model_weight_grad(bp_model *m, int l);  /* (out, in) */
bp_real *bp_model_bias_grad(bp_model *m, int l);    /* (out) */

/* Grows the cached activations to hold `batch` samples. Forward does this by
 * itself; calling it once up front keeps allocation out of a training loop. */
bp_status bp_model_reserve(bp_model *m, int batch);

/* Forward pass on x (batch, inputs): one GEMM per layer, Z = A_prev W^T + 1 b^T,
 * A = g(Z). *out (optional) receives the output activations (batch, outputs),
 * owned by the model and valid until the next forward or free. The input
 * normalization, if set, is NOT applied here (see bp_model_normalize). */
bp_status bp_model_forward(bp_model *m, const bp_real *x, int batch, const bp_real **out);

/* Loss of the last forward pass against targets y (batch, outputs):
 * the batch mean, as documented at bp_loss. */
bp_status bp_model_loss(const bp_model *m, const bp_real *y, int batch, bp_real *loss);

/* Backward pass of the last forward pass (same x, same batch): writes dJ/dθ of
 * the batch-mean loss into the gradient buffer (overwriting it). */
bp_status bp_model_backward(bp_model *m, const bp_real *y, int batch);

/* Number of samples among the last forward's outputs that are right against
 * y, by bp_model_task: for a classifier the argmax of the outputs is the
 * argmax of y (one output: both > 0.5 or both not); for a multi-label model
 * every output is > 0.5 where y is; -1 for a regression model (any number of
 * outputs: no accuracy). */
long bp_model_count_correct(const bp_model *m, const bp_real *y, int batch);

/* Input normalization x' = (x - shift) * scale, per input feature, stored with
 * the model (and in its file). NULL clears it. */
bp_status bp_model_set_normalization(bp_model *m, const bp_real *shift, const bp_real *scale);
/* Pointers (inputs) owned by the model, or NULL when none is set. */
const bp_real *bp_model_norm_shift(const bp_model *m);
const bp_real *bp_model_norm_scale(const bp_model *m);
/* Applies the normalization in place to x (n, inputs); no-op if none. */
void bp_model_normalize(const bp_model *m, bp_real *x, size_t n);

/* Class label names (for classifiers), stored with the model: one per output,
 * or two for a single (sigmoid) output, and the class labels of the model's
 * encoder (bp_model_set_encoder) if it has some; BP_ERR_INVALID otherwise.
 * n = 0 clears. */
bp_status bp_model_set_labels(bp_model *m, int n, const char *const *names);
int bp_model_label_count(const bp_model *m);
const char *bp_model_label(const bp_model *m, int i);

/* Runs the model over n samples in chunks of `batch` (<= 0: 256), writing
 * the outputs into out (n, outputs). x is taken as already normalized. A NaN
 * in a sample's inputs gives NaN outputs for that sample (relu does not clip
 * it to 0, as torch.relu does not); the other samples are unaffected. */
bp_status bp_model_predict(bp_model *m, const bp_real *x, size_t n, int batch, bp_real *out);

/* The input of the last train_layers layers: x (n, inputs), already
 * normalized as for bp_model_predict, through the layers before them into
 * out (n, sizes[n_layers - train_layers]), `batch` rows at a time (<= 0:
 * 256). train_layers 0 or n_layers: out is a copy of x; outside 0 ..
 * n_layers: BP_ERR_INVALID. What a trainer with
 * bp_train_config.features takes as x. Allocates nothing once the model's
 * workspace holds `batch` rows (a trainer's first epoch reserves its batch). */
bp_status bp_model_features(bp_model *m, int train_layers, const bp_real *x, size_t n, int batch,
                            bp_real *out);

/* Mean loss and accuracy over n samples, in chunks of `batch`. accuracy is
 * set to -1 when it does not apply (bp_model_count_correct). */
bp_status bp_model_evaluate(bp_model *m, const bp_real *x, const bp_real *y, size_t n,
                            int batch, double *loss, double *accuracy);
/* The same from outputs already computed: out (n, outputs) as
 * bp_model_predict or bp_qmodel_predict writes them (probabilities, not
 * logits) against y (n, outputs). The loss is m's, as bp_loss defines it,
 * with the cross-entropies computed from the probabilities clipped to
 * [1e-7, 1 - 1e-7]; accuracy as bp_model_count_correct, -1 for regression.
 * loss and accuracy may be NULL. BP_ERR_INVALID for n == 0 or a NULL buffer. */
bp_status bp_model_evaluate_outputs(const bp_model *m, const bp_real *out, const bp_real *y,
                                    size_t n, double *loss, double *accuracy);

/* --------------------------------------------------------------- optimizer */

typedef enum bp_optim_kind {
    BP_OPTIM_SGD = 0,       /* w -= lr g */
    BP_OPTIM_MOMENTUM,      /* PyTorch SGD(momentum): v = mu v + g; w -= lr v */
    BP_OPTIM_NESTEROV,      /* PyTorch SGD(nesterov): v = mu v + g; w -= lr (g + mu v) */
    BP_OPTIM_NOTES_MOMENTUM,/* the notes: m = b m + (1-b) g; w -= lr m / (1 - b^t) */
    BP_OPTIM_ADAM,          /* Kingma & Ba with bias correction, as torch.optim.Adam */
    BP_OPTIM_ADAMW,         /* Adam with decoupled weight decay, as torch.optim.AdamW */
    BP_OPTIM_RMSPROP,       /* as torch.optim.RMSprop: v = a v + (1-a) g^2; w -= lr g/(sqrt v + eps) */
    BP_OPTIM_COUNT_
} bp_optim_kind;

typedef struct bp_optim_config {
    bp_optim_kind kind;
    double lr;            /* learning rate alpha */
    double momentum;      /* mu for MOMENTUM/NESTEROV/RMSPROP, beta for NOTES_MOMENTUM */
    double beta1, beta2;  /* Adam/AdamW moments */
    double alpha;         /* RMSprop smoothing constant */
    double eps;
    int eps_inside_sqrt;  /* Adam: the notes' m^ / sqrt(v^ + eps) instead of m^ / (sqrt(v^) + eps) */
    double weight_decay;  /* L2 term added to g (coupled); AdamW: decoupled w -= lr wd w */
    double clip_norm;     /* > 0: scale g so that its global L2 norm is at most this */
    /* MOMENTUM/NESTEROV: the velocity holds the step, as scikit-learn's SGD (and
     * Sutskever et al. 2013): v = mu v - lr g; w += v (Nesterov: w += mu v - lr g).
     * The same trajectory as the default form while lr is constant; after
     * bp_optim_set_lr the new rate scales only new gradients. The "velocity"
     * state then holds -lr times the default's. Not saved in checkpoints. */
    int step_in_velocity;
    /* ADAM/ADAMW: both bias corrections folded into the step, as Kingma & Ba's
     * section 2 and scikit-learn: w -= lr sqrt(c2) / c1 * m / (sqrt(v) + eps),
     * c_k = 1 - beta_k^t, so eps is added to the uncorrected sqrt(v) (with
     * eps_inside_sqrt 0). Not saved in checkpoints. */
    int folded_bias_correction;
} bp_optim_config;

typedef struct bp_optim bp_optim;

/* Defaults per kind, as PyTorch's: lr 0.01 (SGD family, RMSprop) or 0.001 (Adam),
 * momentum 0.9, betas (0.9, 0.999), alpha 0.99, eps 1e-8 (Adam) / 1e-8 (RMSprop),
 * weight_decay 0 (AdamW 0.01), no clipping. */
bp_optim_config bp_optim_config_default(bp_optim_kind kind);
const char *bp_optim_name(bp_optim_kind k);  /* "sgd", "momentum", "nesterov", "notes-momentum", "adam", "adamw", "rmsprop" */
bp_status bp_optim_from_name(const char *name, bp_optim_kind *out);

/* An optimizer for n parameters; its state buffers are zeroed. */
bp_status bp_optim_create(bp_optim **out, const bp_optim_config *cfg, size_t n);
void bp_optim_free(bp_optim *o);
/* One update of params from grads (both n long). grads may be modified
 * (clipping, weight decay). Returns BP_ERR_NUMERIC, leaving params untouched,
 * when the gradient norm is not finite. Returns BP_ERR_NUMERIC too when the
 * update itself makes a parameter or state value non-finite (a finite
 * gradient times too large a learning rate, or Adam with eps 0 on a zero
 * gradient): that step is applied, so the parameters are no longer usable
 * (bp_model_save refuses them); go back to the last saved model. */
bp_status bp_optim_step(bp_optim *o, bp_real *params, bp_real *grads);
void bp_optim_set_lr(bp_optim *o, double lr);
double bp_optim_lr(const bp_optim *o);
const bp_optim_config *bp_optim_cfg(const bp_optim *o);
/* Number of parameters the optimizer was created for. */
size_t bp_optim_param_count(const bp_optim *o);
/* Number of steps taken (t of the bias corrections). */
uint64_t bp_optim_steps(const bp_optim *o);
void bp_optim_set_steps(bp_optim *o, uint64_t t);
/* Norm of the last gradient before clipping. */
double bp_optim_last_grad_norm(const bp_optim *o);
/* State buffers (each n long, zero at creation) for checkpoints: slots
 * 0 .. bp_optim_state_count()-1, named "m", "v" or "velocity" (Adam: m, v;
 * momentum/Nesterov: velocity; notes-momentum: m; RMSprop: v, and velocity
 * when momentum > 0; SGD none). NULL for a slot out of range. */
int bp_optim_state_count(const bp_optim *o);
bp_real *bp_optim_state(bp_optim *o, int slot);
const char *bp_optim_state_name(const bp_optim *o, int slot);

/* ------------------------------------------------------------------ training */

/* What bp_train_config.on_batch receives after each mini-batch. */
typedef struct bp_batch_info {
    int epoch;            /* 1-based number of the running epoch */
    size_t batch;         /* 1-based number of the batch just run */
    size_t n_batches;     /* batches in the epoch */
    size_t samples;       /* samples run so far in this epoch */
    double loss;          /* mean training loss over those samples */
} bp_batch_info;

/* The learning rate of 0-based epoch e (bp_train_config.schedule), set on
 * the optimizer by bp_trainer_epoch at the start of each epoch: during the
 * first W = warmup_epochs epochs lr (e + 1) / (W + 1), then, with t = e - W: */
typedef enum bp_schedule {
    BP_SCHEDULE_CONSTANT, /* lr (with W = 0 the trainer leaves the optimizer's rate alone) */
    BP_SCHEDULE_STEP,     /* lr gamma^floor(t / step_epochs): torch's StepLR */
    BP_SCHEDULE_COSINE,   /* min_lr + (lr - min_lr) (1 + cos(pi t / (max_epochs - W))) / 2:
                             torch's CosineAnnealingLR(T_max = max_epochs - W) stepped per epoch */
    BP_SCHEDULE_COUNT_
} bp_schedule;

const char *bp_schedule_name(bp_schedule s); /* "constant", "step", "cosine" */
bp_status bp_schedule_from_name(const char *name, bp_schedule *out);

/* Which loss bp_trainer_end_epoch watches (bp_train_config.monitor). */
typedef enum bp_monitor {
    BP_MONITOR_AUTO,       /* the validation loss when the caller gives one, else the training loss */
    BP_MONITOR_TRAIN_LOSS, /* the epoch's mean training loss (bp_epoch_stats.loss) */
    BP_MONITOR_VAL_LOSS,   /* the validation loss, which the caller must then give */
    BP_MONITOR_COUNT_
} bp_monitor;

/* Why training stopped (bp_trainer_end_epoch, bp_trainer_stop_reason). */
typedef enum bp_stop_reason {
    BP_STOP_NONE,           /* not stopped: run another epoch */
    BP_STOP_MAX_EPOCHS,     /* max_epochs epochs are done */
    BP_STOP_NO_IMPROVEMENT, /* patience epochs in a row without improvement by tol */
    BP_STOP_INTERRUPTED,    /* bp_trainer_request_stop (the epoch returned BP_ERR_INTERRUPTED) */
    BP_STOP_NUMERIC,        /* the loss or an update stopped being finite (BP_ERR_NUMERIC) */
    BP_STOP_COUNT_
} bp_stop_reason;

const char *bp_stop_reason_name(bp_stop_reason r); /* "none", "max epochs", "no improvement", ... */

typedef struct bp_train_config {
    int batch_size;      /* 1: SGD, n: full batch; anything between: mini-batch */
    int shuffle;         /* nonzero: reshuffle the sample order every epoch */
    uint64_t seed;       /* seed of the shuffling */
    /* Optional (NULL: none): called after every batch, e.g. for a progress bar.
     * It may call bp_trainer_request_stop and nothing else of the trainer. */
    void (*on_batch)(void *user, const bp_batch_info *info);
    void *user;          /* passed to on_batch */

    /* Data parallelism (docs/DISTRIBUTED.md): `shards` processes, e.g. MPI
     * ranks, train one model together. Each runs a trainer with the same
     * configuration (seed included) on the same data and an identical model
     * and optimizer; this one is shard `shard`, 0 <= shard < shards. Every
     * global mini-batch of batch_size rows (the last partial one included) is
     * cut into `shards` contiguous slices whose sizes differ by at most one,
     * and this trainer runs forward and backward on its slice only, with the
     * loss gradient divided by the rows of the whole batch. Then it calls
     * reduce(reduce_user, buf, n): buf holds the gradient (the first
     * bp_model_param_count values; with train_layers, the trained layers'
     * bp_model_train_param_count) followed by a few sums of the trainer's
     * own (loss, correct answers, stop request), all bp_real, and reduce
     * must replace each of the n values by its sum over all shards before it
     * returns, e.g. MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT (MPI_DOUBLE
     * in float64 builds), MPI_SUM, comm). Every shard then holds the whole
     * batch's mean gradient and applies the same update, so the models stay
     * identical, up to the rounding of the sums, to one process's; the loss,
     * accuracy, sample counts of bp_batch_info and bp_epoch_stats, and so
     * checkpoints, are those of the whole batch. reduce is called once per
     * batch on every shard (with a zero gradient when its slice is empty),
     * from the thread running bp_trainer_epoch; a status other than BP_OK
     * ends the epoch as a failed step does. A stop request on any shard
     * stops all of them after the same batch: the current one, or the next
     * when it came after this batch's reduce. Defaults: shard 0 of 1 (shards
     * 0 is taken as 1), no reduce (required when shards > 1). */
    int shard, shards;
    bp_status (*reduce)(void *user, bp_real *buf, size_t n);
    void *reduce_user;

    /* L2 penalty on the weights, not the biases (scikit-learn's alpha): a batch
     * of r rows adds (l2 / 2r) sum W^2 to its loss and (l2 / r) W to the weight
     * gradient, after the reduction across shards. 0 (default): none. Unlike
     * bp_optim_config.weight_decay it scales with the batch and spares biases.
     * A training step folds the term into the optimizer's passes, so after it
     * bp_model_grads need not hold it (bp_trainer_objective's gradient does). */
    double l2;
    /* > 0: the loss reported for bce, bce_sum and xent (not its gradient) is
     * computed from the probabilities clipped to [prob_clip, 1 - prob_clip],
     * as scikit-learn's log_loss with its machine-epsilon clip. 0 (default):
     * exact, from the logits. Neither field is saved in checkpoints. */
    double prob_clip;

    /* The learning-rate schedule (bp_schedule gives the formulas), applied by
     * bp_trainer_epoch at the start of every epoch (a resumed one included).
     * lr is the base rate: 0 (default) takes the optimizer's rate at
     * bp_trainer_create. A constant schedule without warmup never touches the
     * optimizer's rate, so a caller may set it with bp_optim_set_lr. */
    bp_schedule schedule;
    double lr;
    int warmup_epochs;   /* >= 0 */
    int step_epochs;     /* STEP: epochs between decays (>= 1; default 5) */
    double gamma;        /* STEP: the factor of each decay (> 0; default 0.1) */
    double min_lr;       /* COSINE: the rate at epoch max_epochs (>= 0; default 0) */

    /* When to stop (bp_trainer_end_epoch). max_epochs: at most this many
     * epochs (0: no limit; COSINE needs max_epochs > warmup_epochs).
     * patience > 0: stop once `patience` judged epochs in a row have not
     * improved the monitored loss by tol. This is scikit-learn's MLP rule
     * (_update_no_improvement_count): an epoch fails to improve when its loss
     * > best - tol, and best becomes its loss when that is < best; its
     * n_iter_no_change is patience - 1 (it stops when the count exceeds it).
     * restore_best: keep a copy of the weights of the epoch with the best
     * monitored loss (one buffer, allocated by bp_trainer_create) and put
     * them back into the model when bp_trainer_end_epoch stops the run. All
     * saved in checkpoints. Defaults: no limit, patience 0 (off), tol 0,
     * BP_MONITOR_AUTO, restore_best 0. */
    int max_epochs;
    int patience;
    double tol;
    bp_monitor monitor;
    int restore_best;

    /* Train only the last train_layers layers (0, default: all). The earlier
     * layers are frozen: they take no gradient (no dW, db, and backward stops
     * at the first trained layer, whose input gradient dA is not computed),
     * no optimizer state, and their weights are only read. The optimizer is
     * created for the trained layers' parameters alone,
     * bp_model_train_param_count(model, train_layers), which are the last
     * values of the flat buffers. Clipping (clip_norm) takes the norm of the
     * trained gradient, as torch.nn.utils.clip_grad_norm_ over the parameters
     * that require a gradient; l2's penalty still counts every layer's
     * weights in the loss. bp_checkpoint_save refuses such a trainer. */
    int train_layers;

    /* Nonzero: the x given to the epochs are features, the input of the first
     * trained layer (bp_model_features, with the same train_layers), not the
     * model's inputs: rows of sizes[first trained layer] values. The frozen
     * layers' forward is then the caller's, once per sample rather than once
     * per epoch, and a device need not hold a batch of raw inputs (784-64-10
     * with layer 0 frozen, batch 16: 4 KB of features instead of 50 KB of
     * pixels). Training on them is training on the inputs: the same bits
     * unshuffled with features computed at the trainer's batch size, and in a
     * BLAS-free build (a device's) always; shuffled with OpenBLAS, the last
     * bits can differ, as its sums for a row depend on the row's place in the
     * batch. Default 0. */
    int features;

    /* Nonzero: no count of right answers during training. The count is a pass
     * over every batch's outputs and targets (an argmax per row) whose only
     * reader is bp_epoch_stats.accuracy, which is then -1, as for a regression
     * model; set it when nothing reads that field. The weights, the loss and
     * everything else are the same either way. 0 (default): counted. Not saved
     * in checkpoints. */
    int skip_accuracy;
} bp_train_config;

/* batch_size 32, shuffle on, seed 0, no callback, shard 0 of 1, a constant
 * rate, no stopping rule. */
bp_train_config bp_train_config_default(void);

/* scikit-learn's MLP training for `rows` training samples: the default
 * configuration with batch_size min(200, rows), at most 200 epochs, and
 * stopping once the monitored loss (BP_MONITOR_AUTO: the validation loss
 * when bp_trainer_end_epoch gets one, else the training loss) has failed to
 * improve by tol 1e-4 for more than n_iter_no_change = 10 epochs in a row
 * (patience 11, the rule of bp_train_config.patience); with `validation`
 * nonzero the best epoch's weights are kept (restore_best). */
#define BP_AUTO_MAX_EPOCHS 200
#define BP_AUTO_HIDDEN 100    /* the hidden layer of a model given no sizes */
#define BP_AUTO_NO_CHANGE 10  /* scikit-learn's n_iter_no_change */
bp_train_config bp_train_config_auto(size_t rows, int validation);

/* The bytes an allocator set with bp_alloc_set (an arena: bp_arena) gives
 * to train: a model of mc with `frozen` borrowed layers (bp_model_create_frozen;
 * 0: bp_model_create), an optimizer oc over the trained layers, a trainer tc,
 * and the first bp_trainer_epoch on n_samples samples (its workspace and
 * batch buffers); nothing more is allocated by later epochs on at most as
 * many samples, nor by forward, predict or evaluate with batches of at most
 * min(batch_size, n_samples) rows (a larger batch grows the workspace; from
 * an arena that takes more than this). An arena of exactly *bytes, at a
 * BP_ARENA_ALIGN boundary, suffices; one byte less fails with BP_ERR_NOMEM.
 * With A = BP_ARENA_ALIGN, r(x) = x bytes (1 if 0) rounded up to a multiple of
 * A, s = sizeof(bp_real), n_l the sizes, L layers, P the parameters of the
 * model's own layers (after the frozen ones), T those of the trained layers
 * (the last train_layers), B = ceil(min(batch_size, n_samples) / shards):
 *   model      r(model) + r(P s) + r((P + 3) s)
 *   workspace  sum over l = 1..L of r(B n_l s) + r(B n_L s) + 2 r(B max n_l s)
 *   optimizer  r(optim) + S r(T s), S state slots: 0 sgd; 1 momentum,
 *              nesterov, notes-momentum, rmsprop; 2 adam, adamw, rmsprop with
 *              momentum
 *   trainer    r(trainer) + [restore_best] r(P s) + [shuffle] (r(n_samples
 *              sizeof(size_t)) + 2 r(B n_x s) + 2 r(B n_L s)), n_x = n_0, or
 *              with tc->features the first trained layer's input size
 * where model, optim and trainer are the library's structs (docs/EXPORT.md
 * gives their sizes). Unshuffled training reads the caller's rows in place:
 * no order, no batch copies. Labels and normalization (model_meta) are not
 * counted: each adds r(...) of what it holds. Fails (BP_ERR_INVALID, with the
 * message bp_model_create, bp_optim_create or bp_trainer_create would give)
 * on an invalid configuration. */
bp_status bp_train_memory(const bp_model_config *mc, int frozen, const bp_optim_config *oc,
                          const bp_train_config *tc, size_t n_samples, size_t *bytes);

typedef struct bp_epoch_stats {
    int epoch;              /* 1-based number of the epoch just run */
    double loss;            /* mean training loss over the epoch's samples */
    double accuracy;        /* fraction correct, or -1 when it does not apply (regression) or
                               was not counted (bp_train_config.skip_accuracy) */
    double seconds;         /* wall time of the epoch */
    double samples_per_sec;
    uint64_t steps;         /* optimizer steps so far */
    double penalty;         /* the part of loss that is bp_train_config.l2's penalty */
} bp_epoch_stats;

typedef struct bp_trainer bp_trainer;

/* A training loop over `model` updated by `opt` (both borrowed: they must
 * outlive the trainer; opt may be NULL for bp_trainer_objective alone).
 * opt must be created for bp_model_param_count(model) parameters (with
 * cfg->train_layers, or a model with borrowed layers:
 * bp_model_train_param_count(model, cfg->train_layers)), else
 * BP_ERR_INVALID naming both counts. The first epoch allocates the model's
 * workspace and, when it shuffles (or for bp_trainer_epoch_order), the
 * sample order and batch buffers (for min(batch_size, n) samples, so a
 * batch size beyond the data costs nothing); later epochs on the same n
 * allocate nothing. bp_train_memory counts all of it. */
bp_status bp_trainer_create(bp_trainer **out, bp_model *model, bp_optim *opt,
                            const bp_train_config *cfg);
void bp_trainer_free(bp_trainer *t);

/* One epoch of the notes' Algorithm 1 over x (n, inputs), y (n, outputs):
 * shuffle (if on), then for each mini-batch (the last partial one included)
 * forward, backward, update. Returns BP_ERR_NUMERIC, naming epoch and batch,
 * if the loss or gradient stops being finite (the bad step is not applied, and
 * the epoch is abandoned: the next call starts it again from its first batch)
 * or the update overflows (see bp_optim_step: the parameters are then lost);
 * BP_ERR_INTERRUPTED if bp_trainer_request_stop was called (the epoch stops
 * after the current batch; the next call resumes it). stats: loss and
 * accuracy over the epoch's batches run so far (a resumed epoch's earlier
 * part included), seconds and samples_per_sec of this call. */
bp_status bp_trainer_epoch(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n,
                           bp_epoch_stats *stats);

/* bp_trainer_epoch over the samples in a caller-given order: the epoch's
 * mini-batches are order[0 .. batch_size), order[batch_size ..), ... (an
 * index may repeat; each must be < n, else BP_ERR_INVALID), whatever
 * cfg.shuffle says; the trainer's generator is not used. E.g. the
 * permutations another library draws, to follow its trajectory. An
 * interrupted epoch resumes with the order passed to the next call. */
bp_status bp_trainer_epoch_order(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n,
                                 const size_t *order, bp_epoch_stats *stats);

/* NumPy's legacy RandomState.shuffle on idx[0 .. n), draw for draw: the
 * Mersenne Twister state as numpy.random.RandomState.get_state() holds it
 * (key: its 624 words, *pos: its position 0..624), advanced in place, so
 * that set_state((..., key, *pos, ...)) continues the stream exactly where
 * RandomState.shuffle would have left it. With bp_trainer_epoch_order it
 * draws the permutation of each epoch of a NumPy-seeded trainer
 * (scikit-learn's). n at most 2^32 (NumPy then switches to 64-bit draws).
 * BP_ERR_INVALID on a NULL argument or pos outside 0..624. */
#define BP_MT19937_WORDS 624
bp_status bp_shuffle_mt19937(uint32_t key[BP_MT19937_WORDS], int *pos, size_t *idx, size_t n);

/* The training objective over all n samples as one batch, for full-batch
 * optimizers such as L-BFGS: forward, the loss (with cfg.prob_clip) plus
 * cfg.l2's penalty into *loss (and that penalty into *penalty, if not NULL),
 * and its gradient into bp_model_grads. The optimizer is not used (the
 * trainer may be created with opt NULL for this alone). The model's
 * workspace grows to n rows on the first call. BP_ERR_INVALID for n == 0 or
 * n > INT_MAX. */
bp_status bp_trainer_objective(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n,
                               double *loss, double *penalty);

/* Asks the running (or next) epoch to stop after its current batch. Safe to
 * call from a signal handler, and from another thread while one runs the epoch
 * (the one call on an object in use by another thread that is allowed). */
void bp_trainer_request_stop(bp_trainer *t);
int bp_trainer_epochs_done(const bp_trainer *t);
/* The configuration the trainer was created with (owned by the trainer). */
const bp_train_config *bp_trainer_cfg(const bp_trainer *t);
/* The model and optimizer the trainer was created with (borrowed; opt may be NULL). */
bp_model *bp_trainer_model(const bp_trainer *t);
bp_optim *bp_trainer_optim(const bp_trainer *t);
void bp_trainer_set_epochs_done(bp_trainer *t, int epochs);
/* What a checkpoint needs to resume bit-exactly: the generator state (4 words)
 * at the start of the next or interrupted epoch (its shuffle is redrawn from
 * it), and the batch an interrupted epoch resumes at (0 otherwise). */
void bp_trainer_rng(const bp_trainer *t, uint64_t state[4]);
void bp_trainer_set_rng(bp_trainer *t, const uint64_t state[4]);
size_t bp_trainer_next_batch(const bp_trainer *t);
void bp_trainer_set_next_batch(bp_trainer *t, size_t batch);
/* The sums of an interrupted epoch (loss summed over samples, samples
 * classified correctly or -1, samples run), carried into its resumed part so
 * that its bp_epoch_stats are those of an uninterrupted epoch. All zero
 * between epochs. */
void bp_trainer_partial(const bp_trainer *t, double *loss_sum, long *correct, size_t *seen);
void bp_trainer_set_partial(bp_trainer *t, double loss_sum, long correct, size_t seen);

/* The learning rate cfg's schedule gives 0-based epoch e: the rate the
 * trainer sets at the start of that epoch when cfg is its configuration
 * (bp_trainer_cfg, whose lr holds the base rate it resolved). */
double bp_train_config_lr(const bp_train_config *cfg, int epoch);

/* Judges the epoch just completed by bp_trainer_epoch, once per epoch: the
 * monitored loss (val_loss, or the epoch's training loss; NAN: no validation
 * loss) updates the stopping state (bp_early_stop_state), and *stop (if not
 * NULL) gets BP_STOP_NO_IMPROVEMENT when patience has run out,
 * BP_STOP_MAX_EPOCHS when max_epochs are done, else BP_STOP_NONE. On a stop
 * with restore_best the best epoch's weights go back into the model.
 * BP_ERR_INVALID when no epoch has completed since the last call, or
 * monitor is BP_MONITOR_VAL_LOSS and val_loss is NAN. Allocates nothing. */
bp_status bp_trainer_end_epoch(bp_trainer *t, double val_loss, bp_stop_reason *stop);

/* The last reason a call of bp_trainer_epoch or bp_trainer_end_epoch gave
 * for stopping (BP_STOP_NONE while training goes on). */
bp_stop_reason bp_trainer_stop_reason(const bp_trainer *t);

/* The stopping rule's state, which a checkpoint keeps. */
typedef struct bp_early_stop_state {
    double best_loss;   /* the lowest monitored loss judged; HUGE_VAL before any */
    int best_epoch;     /* the 1-based epoch that had it; 0 before any */
    int bad_epochs;     /* judged epochs in a row that did not improve by tol */
    double epoch_loss;  /* the training loss of a completed epoch not yet judged, else NAN */
} bp_early_stop_state;

void bp_trainer_early_stop(const bp_trainer *t, bp_early_stop_state *out);
/* Sets it (for a resume), and the best weights from best (bp_model_param_count
 * values) when best is not NULL and the trainer keeps them (restore_best). */
void bp_trainer_set_early_stop(bp_trainer *t, const bp_early_stop_state *s, const bp_real *best);
/* The best epoch's weights under restore_best (bp_model_param_count values,
 * or for a model with borrowed layers its own, bp_model_train_param_count(m, 0),
 * owned by the trainer), or NULL without restore_best. */
const bp_real *bp_trainer_best_params(const bp_trainer *t);

/* ------------------------------------------------------------ gradient check */

typedef struct bp_gradcheck_result {
    double max_rel_error;  /* max over parameters of |a - n| / max(|a|, |n|, floor) */
    double norm_rel_error; /* ||a - n|| / (||a|| + ||n||) over all parameters */
    double grad_norm;      /* ||a||: guards against a trivially zero gradient */
    size_t worst_index;    /* flat index of the worst parameter */
    int worst_layer;       /* its layer (0-based) */
    int worst_is_bias;     /* whether it is a bias */
    double worst_analytic, worst_numeric;
} bp_gradcheck_result;

/* Compares backpropagation with central finite differences
 * (J(θ + h) - J(θ - h)) / 2h for every parameter, on x (batch, inputs),
 * y (batch, outputs). h <= 0 picks 1e-5 (double) or 1e-2 (float); `floor`
 * is the smallest denominator of the relative error (<= 0 picks 1e-8).
 * The parameters are restored exactly. */
bp_status bp_gradcheck(bp_model *m, const bp_real *x, const bp_real *y, int batch,
                       double h, double floor, bp_gradcheck_result *res);

/* -------------------------------------------------------------- random */

/* The library's generator (xoshiro256**, seeded through splitmix64). */
typedef struct bp_rng { uint64_t s[4]; } bp_rng;
void bp_rng_seed(bp_rng *r, uint64_t seed);
uint64_t bp_rng_next(bp_rng *r);
double bp_rng_uniform(bp_rng *r);                 /* [0, 1) */
double bp_rng_normal(bp_rng *r);                  /* standard normal */
uint64_t bp_rng_below(bp_rng *r, uint64_t bound); /* uniform in [0, bound), unbiased */

/* --------------------------------------------------------------- data sets */

/* A data set: n samples of inputs x (n, inputs) and targets y (n, outputs),
 * both bp_real, row-major. A classification set has one class label name per
 * output and one-hot targets; a regression set has no labels. A set read
 * only to be predicted on may have outputs == 0 (no targets, y NULL). */
typedef struct bp_dataset bp_dataset;

/* A set of n >= 1 samples with inputs >= 1 and outputs >= 0, x and y zeroed,
 * no labels. BP_ERR_INVALID for bad sizes, BP_ERR_NOMEM. */
bp_status bp_dataset_create(bp_dataset **out, size_t n, int inputs, int outputs);
void bp_dataset_free(bp_dataset *d);

size_t bp_dataset_count(const bp_dataset *d);
int bp_dataset_inputs(const bp_dataset *d);
int bp_dataset_outputs(const bp_dataset *d);
/* The buffers, owned by the set and valid until bp_dataset_free. Writable, so
 * that the inputs can be normalized in place (bp_model_normalize). */
bp_real *bp_dataset_x(bp_dataset *d); /* (n, inputs) */
bp_real *bp_dataset_y(bp_dataset *d); /* (n, outputs), NULL when outputs == 0 */

/* Makes d a classification set with n == outputs class names (copied; name i
 * belongs to output i); names NULL gives "0", "1", ... . n == 0 removes the
 * labels (regression). The targets are not checked to be one-hot. */
bp_status bp_dataset_set_labels(bp_dataset *d, int n, const char *const *names);
int bp_dataset_label_count(const bp_dataset *d);          /* 0: regression */
const char *bp_dataset_label(const bp_dataset *d, int i); /* NULL if out of range */
/* The label_count names (owned by d), ready for bp_model_set_labels; NULL if none. */
const char *const *bp_dataset_labels(const bp_dataset *d);
int bp_dataset_is_classification(const bp_dataset *d);    /* label_count > 0 */

/* A new set holding copies of samples idx[0..n) of d, in that order (an
 * index may repeat), with d's labels. BP_ERR_INVALID for n == 0 or an
 * index >= count. */
bp_status bp_dataset_subset(bp_dataset **out, const bp_dataset *d, const size_t *idx,
                            size_t n);

/* Splits d into two new sets (d is unchanged): round(fraction * count)
 * samples (fraction in [0, 1]), drawn uniformly by the library's generator
 * seeded with `seed`, go to *val, the others to *train; each part keeps the
 * original sample order. The same seed gives the same split. BP_ERR_INVALID
 * when a part would be empty; both outputs are NULL on failure. */
bp_status bp_dataset_split(bp_dataset **train, bp_dataset **val, const bp_dataset *d,
                           double fraction, uint64_t seed);

/* Input normalization, x' = (x - shift) * scale per feature. */
typedef enum bp_norm_kind {
    BP_NORM_NONE = 0, /* shift 0, scale 1 */
    BP_NORM_SCALE,    /* min-max to [0, 1]: shift = min, scale = 1 / (max - min) */
    BP_NORM_STANDARD, /* shift = mean, scale = 1 / std (population std, divisor n) */
    BP_NORM_GLOBAL,   /* one min-max scale for every feature: shift = the smallest value of
                         all, scale = 1 / (largest - smallest): x / 255 for 0..255 pixels */
    BP_NORM_COUNT_
} bp_norm_kind;

/* "none", "scale", "standard", "global"; from_name returns BP_ERR_INVALID for others. */
const char *bp_norm_name(bp_norm_kind k);
bp_status bp_norm_from_name(const char *name, bp_norm_kind *out);

/* Computes, in double, the shift and scale (inputs) of d's inputs for
 * bp_model_set_normalization. A constant feature (max == min, or a spread so
 * small that its inverse is not finite in bp_real) gets scale 1, so that it
 * is only shifted. BP_ERR_INVALID for a bad kind or NULL buffer. */
bp_status bp_normalization_compute(const bp_dataset *d, bp_norm_kind kind,
                                   bp_real *shift, bp_real *scale);

/* Whether encoded input i of m is a 0/1 input of its encoder (a one-hot
 * category or a missing-value indicator); 0 without an encoder. */
int bp_model_input_is_binary(const bp_model *m, int i);
/* The normalization a training run gives m, computed on d (m's inputs, not
 * yet normalized) and set on m (BP_NORM_NONE clears it): as
 * bp_normalization_compute, except that under SCALE and STANDARD the 0/1
 * inputs of m's encoder (bp_model_input_is_binary) get shift 0 and scale 1,
 * so that they stay exactly 0 or 1. A model file keeps the shift and scale
 * it was saved with, so files written before this rule predict as before. */
bp_status bp_model_fit_normalization(bp_model *m, bp_dataset *d, bp_norm_kind kind);

/* Regression targets standardized for training: the per-output mean and
 * population std of d's targets into mean, std (outputs); a constant target
 * gets std 1. BP_ERR_INVALID when d has no targets. */
bp_status bp_dataset_target_stats(bp_dataset *d, bp_real *mean, bp_real *std);
/* y' = (y - mean) / std in place (no-op without targets). */
void bp_dataset_standardize_targets(bp_dataset *d, const bp_real *mean, const bp_real *std);
/* Makes a model trained on standardized targets predict in the target's
 * units, y = mean + std * y', by scaling the last layer's weights and bias:
 * predict, eval and every export then give target units with nothing more
 * to apply. Needs an identity output (BP_ERR_INVALID otherwise, or for a
 * non-finite mean or std <= 0; the model is then unchanged). */
bp_status bp_model_fold_targets(bp_model *m, const bp_real *mean, const bp_real *std);

/* What the targets of a CSV file are. */
typedef enum bp_task {
    BP_TASK_AUTO = 0,       /* see bp_csv_options.task */
    BP_TASK_CLASSIFICATION, /* target values are class labels: one-hot outputs */
    BP_TASK_REGRESSION,     /* target values are numbers: one output */
    BP_TASK_MULTILABEL,     /* several two-valued target columns: one 0/1 output each
                               (bp_encoder only; bp_csv_options refuses it) */
    BP_TASK_COUNT_
} bp_task;

#define BP_CSV_MAX_CLASSES 65536

typedef struct bp_csv_options {
    int header;              /* -1: auto (default): the first row is a header when
                                one of its fields is not a number while the same
                                column of the second row is; when every field of
                                both rows is text, BP_ERR_FORMAT asks for 0 or 1;
                                0: none; 1: header */
    char delimiter;          /* 0 (default): whichever of ',' ';' '\t' occurs most
                                in the first line (',' on a tie or none) */
    const char *target_name; /* target column by header name; NULL (default): by index */
    int target_index;        /* 0-based target column; negative counts from the
                                end: -1 (default) is the last column */
    int has_target;          /* 1 (default); 0: every column is an input and the
                                set has no outputs (data to predict on) */
    bp_task task;            /* AUTO (default): classification when the targets
                                are not numbers, or when they are all integers
                                with 2..max_classes distinct values; regression
                                otherwise. A mix of numbers and non-numbers is an
                                error under AUTO (force CLASSIFICATION). */
    int max_classes;         /* for AUTO; default 20 */
    int n_labels;            /* a fixed class list (e.g. the model's labels) in */
    const char *const *labels; /* output order: forces classification, a label not
                                in it is an error. NULL (default): the distinct
                                targets, sorted (numerically when all are
                                numbers, else by strcmp) */
} bp_csv_options;

bp_csv_options bp_csv_options_default(void);

/* Reads a CSV file (gzip-compressed or not) into a new set; opt NULL means
 * the defaults. Quoted fields ("a,b", "" for a quote, line breaks inside),
 * LF or CRLF, a last line with or without a newline; blank lines and a UTF-8
 * byte order mark are skipped, blanks around fields trimmed. Every
 * non-target column is an input and must hold a number (strtod over the
 * whole field) that is finite as a bp_real; so must a regression target. Errors: BP_ERR_IO
 * (open/read, with errno); BP_ERR_FORMAT with "path:line:column: what" for a
 * ragged row (expected vs got fields), a field that is not a number or not
 * finite, a label not in opt->labels, a quoting error, and "path: what" for
 * an empty or header-only file, a missing target column, a single class, a
 * NUL byte; BP_ERR_INVALID for inconsistent options. */
bp_status bp_dataset_load_csv(bp_dataset **out, const char *path, const bp_csv_options *opt);

/* Reads MNIST-style IDX files (gzip-compressed or not). Images: magic bytes
 * 00 00 08 D (unsigned bytes, D = 2..8 dimensions, 0x00000803 for
 * n x rows x cols), then D big-endian sizes; each sample becomes rows*cols
 * inputs holding the raw pixel values 0..255 (scale them with a
 * normalization). Labels: magic 0x00000801, one byte per sample, one-hot
 * encoded with max(10, largest label + 1) classes named "0", "1", ...;
 * labels_path NULL gives a set with no outputs. Headers are checked before
 * anything is allocated, and the buffers grow only as data actually arrives,
 * so a header claiming more than the file holds fails with "truncated"
 * (BP_ERR_FORMAT) without a large allocation. Errors name the file and the
 * problem: bad magic, unsupported type, zero or overflowing dimensions,
 * image and label counts that differ, truncated or corrupt data. */
bp_status bp_dataset_load_idx(bp_dataset **out, const char *images_path, const char *labels_path);

/* Loads a data set named by a spec string:
 *   xor                        the 4 XOR samples: 2 inputs, 1 output 0/1 (a
 *                              single target for a sigmoid + BCE model, so not
 *                              a classification set: no labels)
 *   fashion-mnist[:train|:test] Fashion-MNIST (Debian package dataset-fashion-mnist),
 *                              60000 or 10000 samples of 784 pixels 0..255,
 *                              10 classes named "T-shirt/top", "Trouser", ...
 *   mnist[:train|:test]        MNIST, when installed the same way
 *   idx:IMAGES[,LABELS]        bp_dataset_load_idx
 *   csv:PATH, or a PATH ending in .csv/.tsv (optionally .gz)  bp_dataset_load_csv with opt
 * The data sets directory is /usr/share/datasets, or $BP_DATASETS_DIR when set.
 * An unknown spec gives BP_ERR_INVALID with a message listing these forms. */
bp_status bp_dataset_load_spec(bp_dataset **out, const char *spec, const bp_csv_options *opt);

/* What a spec names, taken apart without reading anything: the one parser of
 * the forms above, used by bp_dataset_load_spec and by front ends that ask
 * about a spec before loading it (is it CSV? which files must exist?). */
typedef enum bp_data_source {
    BP_DATA_XOR = 0,
    BP_DATA_FASHION_MNIST,  /* from the data sets directory */
    BP_DATA_MNIST,
    BP_DATA_IDX,            /* paths: IMAGES[, LABELS] */
    BP_DATA_CSV,            /* paths: the file ("csv:" removed) */
    BP_DATA_COUNT_
} bp_data_source;

typedef struct bp_data_spec {
    bp_data_source source;
    int test;               /* FASHION_MNIST, MNIST: the ":test" part (else the training part) */
    int n_paths;            /* files the spec names itself: IDX 1 or 2, CSV 1, others 0 */
    const char *path[2];    /* into the spec text: path[i] is path_len[i] bytes; the last one */
    size_t path_len[2];     /* ends the spec (NUL-terminated), IDX's images end at the comma */
} bp_data_spec;

/* Fills *out from spec (which must outlive it); BP_ERR_INVALID with the
 * message of bp_dataset_load_spec for an empty or unknown spec. */
bp_status bp_data_spec_parse(bp_data_spec *out, const char *spec);

/* ------------------------------------------------------ tabular encoders */
/*
 * Real tables hold text categories, empty cells and columns to skip. A
 * bp_table is a CSV file read as strings; a bp_encoder, fitted on a training
 * table, turns the raw rows into the numeric inputs (and targets) of a model:
 * numbers as they are, categories one-hot over the sorted training
 * categories, missing values imputed with an indicator input, or rows dropped
 * (docs/DATA.md, "Tables and encoders"). A model carries its encoder in its
 * file (bp_model_set_encoder), so that predict, eval, the Python package and
 * the exporters apply exactly what training saw, through bp_model_encode.
 */

/* A CSV file as strings: rows x columns of NUL-terminated cells, with the
 * header's names when it has one. */
typedef struct bp_table bp_table;

/* Reads a CSV file (gzip or not) with the quoting, delimiter and header rules
 * of bp_dataset_load_csv (header: -1 auto, 0 none, 1 a header; delimiter 0:
 * detected). Every row must have as many fields as the first. Memory: the
 * file plus one pointer and a few bytes per cell. Errors: BP_ERR_IO,
 * BP_ERR_FORMAT ("path:line:column: what"), BP_ERR_INVALID for bad options. */
bp_status bp_table_load_csv(bp_table **out, const char *path, int header, char delimiter);
void bp_table_free(bp_table *t);
size_t bp_table_rows(const bp_table *t);     /* data rows, the header excluded */
int bp_table_columns(const bp_table *t);
/* The header name of column c, or NULL without a header or out of range. */
const char *bp_table_name(const bp_table *t, int c);
/* Cell (row, c), trimmed and unquoted, owned by t; NULL out of range. */
const char *bp_table_cell(const bp_table *t, size_t row, int c);

/* Whether a cell is a missing value: empty, NA, N/A, NaN, null or ? (any case). */
int bp_is_missing(const char *cell);

/* What to do with missing values. */
typedef enum bp_missing {
    BP_MISSING_ERROR = 0, /* an error naming line and column (default) */
    BP_MISSING_IMPUTE,    /* numeric: the training mean (or median) plus a 0/1 indicator input
                             for a column that had missing values in training; categorical: a
                             "missing" category; a row with a missing target is dropped */
    BP_MISSING_DROP,      /* rows with any missing input or target are dropped */
    BP_MISSING_COUNT_
} bp_missing;

typedef struct bp_encode_options {
    /* Columns are named by header name, or by 0-based index as decimal text
     * ("-1" is the last column). */
    int n_targets;               /* 0 (default): the last column is the target */
    const char *const *targets;  /* several: multi-label (all two-valued) or multi-output
                                    regression (all numeric) */
    int has_target;              /* 1 (default); 0: no target, every kept column is an input */
    int n_categorical;           /* columns to one-hot encode even if they look numeric */
    const char *const *categorical;
    int n_ignore;                /* columns to drop (ids, free text) */
    const char *const *ignore;
    bp_missing missing;          /* default BP_MISSING_ERROR */
    int impute_median;           /* numeric imputation by the median instead of the mean */
    int max_categories;          /* per categorical input column; default 1000 */
    bp_task task;                /* for one target column: AUTO (default) as in
                                    bp_csv_options.task, or CLASSIFICATION / REGRESSION */
    int max_classes;             /* for AUTO; default 20 */
} bp_encode_options;

bp_encode_options bp_encode_options_default(void);

/* Counts from fitting or applying an encoder. */
typedef struct bp_encode_report {
    size_t rows;            /* rows read */
    size_t dropped;         /* rows dropped (missing values under DROP, a missing target) */
    size_t unknown;         /* cells holding a category not seen in training (encoded as zeros) */
    int unknown_column;     /* raw column of the first such cell, -1 if none */
    size_t imputed;         /* missing cells imputed */
} bp_encode_report;

typedef struct bp_encoder bp_encoder;

/* Fits an encoder on table t: decides each column's role (target, ignored,
 * numeric, categorical: a column whose non-missing cells are all non-numbers,
 * or named in o->categorical), the sorted categories, the imputation values,
 * and the target task and class names. Errors (BP_ERR_FORMAT, naming line,
 * column and what to do): a column mixing numbers and text not named
 * categorical, a missing value under BP_MISSING_ERROR, more categories than
 * o->max_categories in a column (checked before any per-category allocation),
 * an unknown column name or index, a column both target and ignored, no input
 * left, target columns of mixed kinds. rep (optional) gets the row counts. */
bp_status bp_encoder_fit(bp_encoder **out, const bp_table *t, const bp_encode_options *o,
                         bp_encode_report *rep);
void bp_encoder_free(bp_encoder *e);

/* Number of numeric inputs the encoder produces (the model's inputs). */
int bp_encoder_inputs(const bp_encoder *e);
/* Number of outputs the targets need: classes (one-hot), one per multi-label
 * column, one per regression column. */
int bp_encoder_outputs(const bp_encoder *e);
bp_task bp_encoder_task(const bp_encoder *e);   /* CLASSIFICATION, REGRESSION or MULTILABEL */
bp_missing bp_encoder_missing(const bp_encoder *e);

/* The raw columns the encoder knows, in training file order. */
typedef enum bp_column_role {
    BP_COLUMN_NUMERIC = 0,  /* one input (plus an indicator input when imputed) */
    BP_COLUMN_CATEGORICAL,  /* one input per category */
    BP_COLUMN_TARGET,
    BP_COLUMN_IGNORED,
    BP_COLUMN_COUNT_
} bp_column_role;
int bp_encoder_columns(const bp_encoder *e);
/* Name of raw column c: its header name, or "#c" (0-based) for a file without a header. */
const char *bp_encoder_column_name(const bp_encoder *e, int c);
bp_column_role bp_encoder_column_role(const bp_encoder *e, int c);
/* The target columns in output order: bp_encoder_targets of them; the raw
 * column of target i, or -1 out of range. */
int bp_encoder_targets(const bp_encoder *e);
int bp_encoder_target_column(const bp_encoder *e, int i);

/* What encoded input i (0 <= i < bp_encoder_inputs) is, for exporters and
 * tools: *column gets its raw column; *category the category it is the
 * one-hot of (owned by e), or NULL for a numeric value or an indicator;
 * *indicator 1 for a missing-value indicator, else 0. BP_ERR_INVALID out of range. */
bp_status bp_encoder_input_info(const bp_encoder *e, int i, int *column, const char **category,
                                int *indicator);
/* Encoded input i described for people and exporters, into buf (cut to len,
 * NUL-terminated): the column's name for a number ("temp_max"),
 * "column=category" for a one-hot input ("weather=rain"), and
 * "column missing" for a missing-value indicator. BP_ERR_INVALID out of range. */
bp_status bp_encoder_input_describe(const bp_encoder *e, int i, char *buf, size_t len);

/* The whole encoder as compact JSON text (as stored in the model file,
 * docs/FORMAT.md), malloc'd: free() it. NULL on failure. */
char *bp_encoder_to_json(const bp_encoder *e);
/* The reverse: an encoder from that JSON text (as bp_encoder_to_json writes
 * it), checked as a model file's is; *out owned by the caller
 * (bp_encoder_free), NULL on failure. BP_ERR_FORMAT naming the field that is
 * wrong; BP_ERR_NOMEM. The Python package builds the encoder of a model fitted
 * on named columns this way (backprop.save). */
bp_status bp_encoder_from_json(bp_encoder **out, const char *json);

/* Flags of bp_encoder_apply and bp_model_encode, which take an int of
 * OR-ed flags (0: none). Bits, so no count. */
typedef enum bp_encode_flag {
    BP_ENCODE_TARGETS = 1,        /* the targets must be present and are encoded into y */
    BP_ENCODE_TARGETS_IF_ANY = 2, /* targets encoded when every target column is present,
                                     else a set without outputs */
    BP_ENCODE_UNKNOWN_ERROR = 4,  /* an unseen category is an error, not zeros */
    BP_ENCODE_NO_DROP = 8         /* a row the policy would drop is an error (predict) */
} bp_encode_flag;

/* Applies e to table t into a new data set (inputs bp_encoder_inputs; with
 * targets, outputs bp_encoder_outputs and class labels for classification).
 * With a header, columns are found by name in any order (ignored and target
 * columns may be absent); without one, t must have the training columns in
 * their order, or the same without the target columns. Missing values follow
 * the encoder's policy; an unseen category encodes as zeros and is counted
 * in rep. Errors (BP_ERR_FORMAT): an input column absent (naming it), a
 * non-number in a numeric column, an unknown class label, a missing value
 * under BP_MISSING_ERROR, no rows left. */
bp_status bp_encoder_apply(bp_dataset **out, const bp_encoder *e, const bp_table *t, int flags,
                           bp_encode_report *rep);

/* A model's encoder: a copy of e is stored with the model and its file;
 * NULL clears. e's inputs must equal the model's, its outputs fit the
 * model's as labels do (one per output, or two for one sigmoid output), and
 * a classifier's class labels must be the model's labels in the same order
 * when the model has labels (BP_ERR_INVALID otherwise, the model unchanged).
 * A model file's or ONNX file's encoder is checked the same way. */
bp_status bp_model_set_encoder(bp_model *m, const bp_encoder *e);
/* The model's encoder (owned by the model), or NULL: a model trained on
 * numbers alone, or written before encoders existed. */
const bp_encoder *bp_model_encoder(const bp_model *m);
/* bp_encoder_apply with the model's encoder: raw rows in, the model's
 * (not yet normalized) inputs out. BP_ERR_INVALID when the model has none. */
bp_status bp_model_encode(bp_dataset **out, const bp_model *m, const bp_table *t, int flags,
                          bp_encode_report *rep);

/* What a model predicts, decided here once for every front end and exporter
 * (train's and eval's accuracy, predict's columns, the C and ONNX exports):
 *   1. the task of the model's encoder, when it has one with targets;
 *   2. else CLASSIFICATION when the model has class labels, whatever its loss
 *      (e.g. mse on one-hot targets, as the notes train Fashion-MNIST; bce on
 *      a class set: the class is still the argmax);
 *   3. else by the loss: xent -> CLASSIFICATION; bce and bce_sum ->
 *      CLASSIFICATION (2 classes) with one output, MULTILABEL with several;
 *      mse and half_sse -> REGRESSION, with any number of outputs and any
 *      output activation (a sigmoid output under mse is a value in (0, 1)).
 * Never BP_TASK_AUTO. */
bp_task bp_model_task(const bp_model *m);
/* The class probabilities `backprop predict` writes per sample: for
 * CLASSIFICATION the classes (the labels, else the outputs, 2 for a single
 * output); for MULTILABEL the outputs (one 0/1 label each); 0 for REGRESSION. */
int bp_model_classes(const bp_model *m);

/* ------------------------------------------------------------- model files */
/*
 * A model file is a safetensors file (docs/FORMAT.md gives the byte layout):
 * an 8-byte little-endian header length N, N bytes of JSON, then the raw
 * little-endian tensors "layers.{i}.weight" (out, in) and "layers.{i}.bias"
 * (out), so torch.nn.Linear loads them as they are. The JSON's __metadata__
 * holds the architecture, labels, extra metadata and a CRC-32 of the data.
 *
 * Saving is atomic: a temporary file in the same directory is written,
 * fsynced and renamed over `path`, so `path` holds the old file or the new
 * one, never a mix, and no temporary file is left behind. The same model and
 * metadata always give the same bytes. Loading checks the whole file (header
 * bounds, JSON, metadata, dtypes, shapes, offsets, checksum, finiteness)
 * before it allocates the model; failures are BP_ERR_IO (cannot read, with
 * errno's text) or BP_ERR_FORMAT, the message naming the file and the field
 * or byte offset that is wrong.
 */

/* A small string map of the caller's extra metadata saved with a model, e.g.
 * the CLI's training history (not the normalization and labels, which are the
 * model's own). Keys are kept in insertion order; keys and values are copied.
 * Saved as "user.{key}" entries of __metadata__. */
typedef struct bp_extra bp_extra;

bp_status bp_extra_create(bp_extra **out);
void bp_extra_free(bp_extra *m);
/* Sets key to value, replacing an earlier value (the key keeps its place; a
 * new key goes last). value NULL removes the key. key must be non-empty. */
bp_status bp_extra_set(bp_extra *m, const char *key, const char *value);
/* The value of key, or NULL when absent. Owned by the map; valid until that
 * key is set or removed, or the map is freed. */
const char *bp_extra_get(const bp_extra *m, const char *key);
int bp_extra_count(const bp_extra *m);
/* Key and value of entry i, 0 <= i < count, in insertion order; NULL when i
 * is out of range. Same lifetime as bp_extra_get's. */
const char *bp_extra_key(const bp_extra *m, int i);
const char *bp_extra_value(const bp_extra *m, int i);

/* Writes the parameters (as F32 or F64, the build's bp_real), architecture,
 * input normalization, labels and `extra` (NULL for none) to path.
 * BP_ERR_NUMERIC, writing nothing, if a parameter is not finite;
 * BP_ERR_INVALID if a label or metadata string is not valid UTF-8; BP_ERR_IO
 * if writing fails. On failure the file at path is left as it was. Written
 * through bp_file (below): a symbolic link at path is kept and the file it
 * names replaced; a FIFO or device is written in place. */
bp_status bp_model_save(const bp_model *m, const char *path, const bp_extra *extra);

/* Reads a model file, or the model of a checkpoint (its optimizer state is
 * ignored), or an ONNX file (below, bp_model_save_onnx): a file whose bytes
 * 4-7 are zero is safetensors (its header length is under 4 GiB); otherwise
 * a file whose first byte is the tag of a ModelProto field (0x08
 * ir_version, 0x3a graph, ...) is ONNX; anything else is read as
 * safetensors and fails as one. F32 and F64 tensors are
 * both accepted and converted to bp_real.
 * *out gets a new model, owned by the caller (bp_model_free). If extra_out is
 * not NULL, *extra_out gets a new map of the extra metadata (empty if none),
 * owned by the caller (bp_extra_free). On failure both are set to NULL. */
bp_status bp_model_load(bp_model **out, const char *path, bp_extra **extra_out);

/* Writes the model as ONNX (IR version 7, opset 13; docs/FORMAT.md gives the
 * mapping): input "input" float (N, inputs), output "probabilities" (N,
 * bp_model_classes; the columns `backprop predict` prints, so 1 - p and p
 * for one sigmoid output) for a classifier or multi-label model
 * (bp_model_task) or "outputs" (N, outputs) for a regression model; the
 * normalization as Sub and Mul, each layer a Gemm over the (out, in)
 * weights and its activation node. Values are float32 (a double
 * build rounds them). metadata_props hold backprop_version, backprop_loss,
 * labels and normalization (JSON) and `extra` (NULL for none) as "user.KEY".
 * Written atomically like bp_model_save; same failures (BP_ERR_NUMERIC when
 * a value is not finite as a float32).
 *
 * bp_model_load reads such files back, and the ONNX files of MLPs other
 * tools write (torch.onnx.export of Linear layers and these activations):
 * Gemm (transB 0 or 1) or MatMul + Add, Flatten / Identity / Reshape that
 * change nothing, opsets 9 to 17, float initializers or Constant nodes in
 * raw_data or float_data. Any other node is refused (BP_ERR_FORMAT) with
 * its index, name and op type. The loss is backprop_loss when present, else
 * xent after a softmax, bce after a sigmoid, mse otherwise; labels come from
 * the "labels" metadata, extra metadata from the "user.KEY" entries. */
bp_status bp_model_save_onnx(const bp_model *m, const char *path, const bp_extra *extra);

/* What a trainer needs to resume exactly where a checkpoint was taken. */
typedef struct bp_checkpoint_info {
    bp_train_config train; /* the trainer's configuration (batch size, shuffle, seed) */
    int epochs_done;       /* bp_trainer_epochs_done */
    size_t next_batch;     /* bp_trainer_next_batch: where an interrupted epoch resumes */
    uint64_t rng[4];       /* bp_trainer_rng */
    double loss_sum;       /* bp_trainer_partial: the interrupted epoch's sums */
    long correct;          /* (all 0 when the checkpoint is between epochs) */
    size_t seen;
    bp_early_stop_state early_stop; /* bp_trainer_early_stop (defaults in older files) */
    /* The best epoch's weights under restore_best once an epoch was judged
     * (bp_model_param_count values), else NULL: owned by the info, which
     * bp_checkpoint_info_clear frees. */
    bp_real *best_params;
} bp_checkpoint_info;

/* Frees what bp_checkpoint_load allocated in info (best_params); NULL is a no-op. */
void bp_checkpoint_info_clear(bp_checkpoint_info *info);

/* A model file (as bp_model_save writes) of t's model plus its optimizer's
 * configuration, step count and state buffers, and the trainer's
 * configuration, epoch counter, batch position and generator state (the
 * configuration fields a checkpoint does not hold are listed in
 * docs/FORMAT.md, "Checkpoint keys"). BP_ERR_INVALID when t has no optimizer
 * (created with opt NULL); otherwise the same failures as bp_model_save. */
bp_status bp_checkpoint_save(const bp_trainer *t, const char *path, const bp_extra *extra);

/* Reads a checkpoint: *model and *opt get a new model and optimizer (owned by
 * the caller) with the saved parameters, configuration, steps and state;
 * *info what bp_trainer_resume needs; *extra_out (if not NULL) the extra
 * metadata. A plain model file fails with BP_ERR_FORMAT ("not a checkpoint").
 * On failure *model, *opt (and *extra_out) are NULL. To continue training:
 *   bp_trainer_create(&t, model, opt, &info.train); bp_trainer_resume(t, &info);
 *   bp_checkpoint_info_clear(&info); */
bp_status bp_checkpoint_load(bp_model **model, bp_optim **opt, const char *path,
                             bp_checkpoint_info *info, bp_extra **extra_out);

/* Restores a trainer's epoch counter, batch position, generator state,
 * partial epoch sums and stopping state (best weights included) from a
 * checkpoint, so that the next bp_trainer_epoch continues bit-exactly (its
 * statistics included) and bp_trainer_end_epoch judges as the uninterrupted
 * run would. */
void bp_trainer_resume(bp_trainer *t, const bp_checkpoint_info *info);


/* ------------------------------------------------------ int8 quantization */
/*
 * Post-training quantization as TFLite does it (Jacob et al. 2018;
 * docs/EXPORT.md gives the formulas): weights int8 symmetric per output row,
 * activations int8 asymmetric per tensor with ranges from calibration data,
 * int32 biases and accumulators, requantization by a Q31 multiplier and a
 * shift, sigmoid / tanh / leaky_relu through 256-entry tables, and for a
 * softmax model int8 logits (the class is their argmax). The arithmetic is
 * the same as that of the C that bp_model_export_c generates, bit for bit.
 */
typedef struct bp_qmodel bp_qmodel;

/* What calibration saw. */
typedef struct bp_qcalib_info {
    size_t samples;              /* calibration samples */
    double input_min, input_max; /* range of the normalized inputs */
} bp_qcalib_info;

/* Quantizes model m with calibration inputs x (n, inputs), raw: the model's
 * normalization is applied to a copy, as at training. m's parameters are
 * copied (m may be freed afterwards); its workspace is used for the float
 * forward passes. BP_ERR_INVALID for n == 0 or a non-finite input, or when
 * the normalized inputs or a layer's pre-activation or output reach 2^64
 * (1.8e19) or are not finite on the calibration data (the message names
 * the range and the layer), BP_ERR_NUMERIC when a bias or multiplier does
 * not fit its integer type,
 * BP_ERR_NOMEM. */
bp_status bp_qmodel_create(bp_qmodel **out, bp_model *m, const bp_real *x, size_t n);
void bp_qmodel_free(bp_qmodel *q);
int bp_qmodel_inputs(const bp_qmodel *q);
int bp_qmodel_outputs(const bp_qmodel *q);
const bp_qcalib_info *bp_qmodel_calib_info(const bp_qmodel *q);
/* The quantization real = scale (q - zero_point) of the int8 input (the
 * normalized features) and of the int8 output (logits for softmax models,
 * probabilities for sigmoid ones, values for regression). */
void bp_qmodel_input_quant(const bp_qmodel *q, double *scale, int *zero_point);
void bp_qmodel_output_quant(const bp_qmodel *q, double *scale, int *zero_point);
/* Raw inputs x (n, inputs) to int8 xq (n, inputs): normalized, divided by
 * the input scale, rounded half away from zero, plus the zero point,
 * clamped; in float32 arithmetic, exactly as the generated C does it. */
void bp_qmodel_quantize(const bp_qmodel *q, const bp_real *x, size_t n, int8_t *xq);
/* The integer-only forward pass: xq (n, inputs) to yq (n, outputs). Uses
 * scratch held by q: one call at a time per q. Allocates nothing. */
void bp_qmodel_predict_int8(bp_qmodel *q, const int8_t *xq, size_t n, int8_t *yq);
/* Raw inputs x (n, inputs) to outputs (n, outputs) as bp_model_predict
 * gives them (probabilities or values): quantize, the int8 forward pass,
 * dequantize, softmax for softmax models. One call at a time per q. */
void bp_qmodel_predict(bp_qmodel *q, const bp_real *x, size_t n, bp_real *out);

/* ------------------------------------------------------------- C export */

/* What the generated file's header comment reports (every field optional). */
typedef struct bp_export_info {
    const char *source;   /* where the model came from, e.g. its file name */
    double accuracy;      /* float accuracy measured at export, < 0: unknown */
    double accuracy_int8; /* int8 accuracy, < 0: unknown */
    const char *test_set; /* the data those were measured on */
} bp_export_info;

/* Fills every field: no source, accuracies unknown. */
bp_export_info bp_export_info_default(void);

/* Writes dependency-free C99 for model m to path (NAME.c) and to the same
 * path with ".h" for ".c" (path must end in ".c"): the float32 forward
 * pass, or the int8 one of q when q is not NULL (q made from m). name is the
 * prefix of every generated symbol and must be a C identifier (of any
 * length). Both files are written through bp_file (below); the same model,
 * q, name and info give the same bytes. BP_ERR_INVALID for a bad name or
 * path, BP_ERR_IO when writing fails. docs/EXPORT.md documents the API. */
bp_status bp_model_export_c(const bp_model *m, const bp_qmodel *q, const char *path,
                            const char *name, const bp_export_info *info);
/* Writes model m as trainable C for the library's core (a device build,
 * docs/EXPORT.md "Training on the device"): path (NAME.c, ending in ".c")
 * holds the first n_layers - train_layers layers' weights as const arrays,
 * borrowed read-only by bp_model_create_frozen, the last train_layers layers'
 * weights as the starting values copied into the model, and the model's
 * normalization; the header beside it (".h") declares NAME_create(&m, &o, &t,
 * &optim_config, &train_config), which creates model, optimizer and trainer,
 * with a usage block. BP_ERR_INVALID for a bad path, name or train_layers
 * (1..n_layers), BP_ERR_IO when writing fails. */
bp_status bp_model_export_c_train(const bp_model *m, const char *path, const char *name, int train_layers);

/* ------------------------------------------------------------------- files */
/*
 * How the library writes every file (model files, checkpoints, ONNX, the C
 * export), offered for a caller's own outputs (the CLI's predictions, plots):
 *   - a regular file, or a path that does not exist: written to a temporary
 *     file in the same directory (PATH.tmp.XXXXXX), flushed, fsynced, renamed
 *     over path, then the directory fsynced. path holds the old bytes or the
 *     new, never a mix; on failure the old file stays and the temporary file
 *     is removed.
 *   - a symbolic link: the file it names (the chain of links followed) is
 *     replaced the same way, in its own directory; the link stays a link.
 *   - a FIFO or a character or block device (/dev/stdout, /dev/null): opened
 *     and written in place, as the shell's `>` would (a FIFO waits for its
 *     reader); failures are still reported (/dev/full: "No space left on
 *     device"), but nothing is atomic there. A directory is refused.
 * A new file gets the permission bits 0666 less the umask, as with fopen; a
 * replaced file keeps its own. Failures are BP_ERR_IO with a message naming
 * path, the step that failed and errno's text. Not for concurrent writers of
 * one path (the last rename wins).
 */
typedef struct bp_file bp_file;

/* Starts writing path: *out gets a handle (NULL on failure) to write through
 * bp_file_stream and then end with exactly one bp_file_commit or
 * bp_file_abort. */
bp_status bp_file_open(bp_file **out, const char *path);
/* The stream to write into; owned by f, valid until the commit or abort.
 * Write errors need not be checked: the commit reports the first one. */
FILE *bp_file_stream(bp_file *f);
/* Flushes, syncs and puts the file in place; frees f whatever happens. */
bp_status bp_file_commit(bp_file *f);
/* Drops what was written (the old file stays; a FIFO or device has already
 * had what was flushed) and frees f. NULL does nothing. */
void bp_file_abort(bp_file *f);
/* bp_file_open, len bytes of data, bp_file_commit. */
bp_status bp_file_write(const char *path, const void *data, size_t len);

/* ---------------------------------------------------------------- ABI table */
/*
 * The layouts and constants of this header as the library was compiled, for
 * bindings that mirror them by hand (python/backprop/_lib.py checks its
 * ctypes Structures and constants against it when it loads each build):
 *   "bp_optim_config"     BP_ABI_STRUCT   value sizeof,   size _Alignof
 *   "bp_optim_config.lr"  BP_ABI_FIELD    value offsetof, size sizeof the field
 *   "BP_OPTIM_ADAM"       BP_ABI_CONSTANT value the enum value or #define, size 0
 * Every public struct's every field, every enum value and every integer
 * #define of this header is listed (src/abi.c: one line per entry; a field
 * added here needs its line there, and tests/python/test_abi.py fails
 * naming any that is missing).
 */
typedef enum bp_abi_kind {
    BP_ABI_STRUCT = 0,
    BP_ABI_FIELD,
    BP_ABI_CONSTANT,
    BP_ABI_COUNT_
} bp_abi_kind;

typedef struct bp_abi_entry {
    const char *name;  /* "bp_train_config", "bp_train_config.l2", "BP_MAX_LAYERS" */
    bp_abi_kind kind;
    long long value;   /* sizeof, offsetof or the constant's value */
    long long size;    /* a struct's alignment, a field's sizeof, 0 for a constant */
} bp_abi_entry;

/* The table (static storage, never freed); *count gets its length. */
const bp_abi_entry *bp_abi_table(size_t *count);

#ifdef __cplusplus
}
#endif
#endif /* BACKPROP_H */
