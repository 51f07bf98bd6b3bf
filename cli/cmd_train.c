/* cmd_train.c - `backprop train`: its options and help; the run itself is
 * cli/train.c. */
#include "train.h"

const cmd_item train_items[] = {
    GROUP("Data"), OPT(O_DATA), OPT(O_TEST), OPT(O_VAL_SPLIT), OPT(O_NORMALIZE), OPT(O_TARGET),
    OPT(O_NO_HEADER), OPT(O_HEADER), OPT(O_CATEGORICAL), OPT(O_IGNORE), OPT(O_MISSING), OPT(O_IMPUTE),
    OPT(O_MAX_CATEGORIES), OPT(O_UNKNOWN),
    GROUP("Model"), OPT(O_LAYERS), OPT(O_HIDDEN), OPT(O_ACT), OPT(O_OUT_ACT), OPT(O_LOSS), OPT(O_INIT),
    OPT(O_LEAKY_SLOPE), OPT(O_INIT_FROM),
    GROUP("Optimizer"), OPT(O_OPT), OPT(O_LR), OPT(O_MOMENTUM), OPT(O_BETA1), OPT(O_BETA2),
    OPT(O_ALPHA), OPT(O_EPS), OPT(O_EPS_INSIDE_SQRT), OPT(O_WEIGHT_DECAY), OPT(O_CLIP),
    GROUP("Training"), OPT(O_EPOCHS), OPT(O_BATCH), OPT(O_SEED), OPT(O_NO_SHUFFLE),
    OPT(O_SCHEDULE), OPT(O_LR_STEP_EPOCHS), OPT(O_LR_GAMMA), OPT(O_WARMUP_EPOCHS), OPT(O_MIN_LR),
    OPT(O_PATIENCE), OPT(O_STOP_TOL), OPT(O_EARLY_STOP), OPT(O_TRAIN_LAYERS), OPT(O_THREADS),
    GROUP("Output"), OPT(O_SAVE), OPT(O_CHECKPOINT), OPT(O_RESUME), OPT(O_LOG), OPT(O_PLOT),
    OPT(O_QUIET),
    END_ITEMS};

const cmd_desc cmd_train_desc = {
    "train", "--data SPEC --save FILE [options]",
    "train a network on a data set and save it",
    "Trains a feedforward network by mini-batch backpropagation and saves it as a safetensors "
    "model file. The defaults give a good model from --data and --save alone: one hidden layer of "
    "100 relu units (--hidden or --layers to change); softmax + cross-entropy for class labels, sigmoid + binary cross-entropy "
    "for a 0/1 target, identity + MSE for numbers (on standardized targets; the model predicts "
    "in the target's units); Adam with lr 0.001; batch min(200, rows); at most 200 epochs, "
    "stopping as scikit-learn's MLP does (--patience, --tol; --epochs N runs exactly N); "
    "inputs normalized on the training data (standard for CSV numbers, one-hot and indicator inputs "
    "left 0/1; one global scale for images). "
    "CSV columns of text are one-hot encoded, and the encoders (categories, imputation) are "
    "saved with the model. On a "
    "terminal a progress bar shows the running epoch, otherwise one line per epoch. Ctrl-C "
    "stops after the current batch and saves a checkpoint (FILE.ckpt) that --resume "
    "continues exactly; exit status 130.",
    train_items, cmd_train};

int cmd_train(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_train_desc, argc, argv);
    if (!o.v[O_SAVE].given) cli_usage(o.cmd, "--save FILE is required (where the model goes)");
    return train_run(&o, NULL);
}
