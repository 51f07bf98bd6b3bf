/* modelcfg.c - a bp_model_config from the architecture options, with the
 * defaults that make `--data X --layers ...` give a good model: relu hidden
 * layers, and an output layer and loss that fit the data (softmax +
 * cross-entropy for classes, sigmoid + BCE for a 0/1 target, identity + MSE
 * for numbers). */
#include "cli.h"

#include <string.h>

static int needs_sigmoid(bp_loss loss) { return loss == BP_LOSS_BCE || loss == BP_LOSS_BCE_SUM; }

static bp_activation out_act_for(bp_loss loss)
{
    return loss == BP_LOSS_XENT ? BP_ACT_SOFTMAX : needs_sigmoid(loss) ? BP_ACT_SIGMOID
                                                                         : BP_ACT_IDENTITY;
}

static bp_loss loss_for(bp_activation out)
{
    return out == BP_ACT_SOFTMAX ? BP_LOSS_XENT : out == BP_ACT_SIGMOID ? BP_LOSS_BCE : BP_LOSS_MSE;
}

static bp_loss loss_for_data(data_kind kind, int outputs)
{
    switch (kind) {
    case KIND_CLASSES: return outputs >= 2 ? BP_LOSS_XENT : BP_LOSS_BCE;
    case KIND_BINARY: return BP_LOSS_BCE;
    case KIND_REGRESSION: return BP_LOSS_MSE;
    default: return outputs >= 2 ? BP_LOSS_XENT : BP_LOSS_MSE;
    }
}

static void set_acts(const cli_opts *o, bp_model_config *mc)
{
    int hidden = mc->n_layers - 1;
    if (o->v[O_ACT].given && o->n_acts != 1 && o->n_acts != hidden)
        cli_usage(o->cmd, "--act: %d activations for %d hidden layers (give one for all, or "
                  "one per hidden layer)", o->n_acts, hidden);
    for (int l = 0; l < hidden; l++) mc->act[l] = o->acts[o->n_acts == 1 ? 0 : l];
}

/* The output activation and loss: each defaults from the other, then from the data. */
static void set_output(const cli_opts *o, data_kind kind, bp_model_config *mc)
{
    int outputs = mc->sizes[mc->n_layers];
    bp_activation out;
    bp_loss loss;
    int has_out = o->v[O_OUT_ACT].given, has_loss = o->v[O_LOSS].given;
    if (has_out) bp_activation_from_name(o->v[O_OUT_ACT].s, &out);
    if (has_loss) bp_loss_from_name(o->v[O_LOSS].s, &loss);
    if (!has_loss) loss = has_out ? loss_for(out) : loss_for_data(kind, outputs);
    if (!has_out) out = out_act_for(loss);
    if (loss == BP_LOSS_XENT && out != BP_ACT_SOFTMAX)
        cli_usage(o->cmd, "--loss xent needs --out-act softmax (got %s)", bp_activation_name(out));
    if (needs_sigmoid(loss) && out != BP_ACT_SIGMOID)
        cli_usage(o->cmd, "--loss %s needs --out-act sigmoid (got %s)", bp_loss_name(loss),
                  bp_activation_name(out));
    if (loss == BP_LOSS_XENT && outputs < 2)
        cli_usage(o->cmd, "--loss xent needs at least 2 outputs, --layers ends with %d "
                  "(use bce for a single 0/1 output)", outputs);
    if (out == BP_ACT_SOFTMAX && outputs < 2)
        cli_usage(o->cmd, "--out-act softmax needs at least 2 outputs, --layers ends with %d",
                  outputs);
    mc->act[mc->n_layers - 1] = out;
    mc->loss = loss;
}

void cli_model_config(const cli_opts *o, data_kind kind, bp_model_config *mc)
{
    *mc = bp_model_config_default();
    mc->n_layers = o->n_sizes - 1;
    memcpy(mc->sizes, o->sizes, (size_t)o->n_sizes * sizeof *o->sizes);
    set_acts(o, mc);
    set_output(o, kind, mc);
    bp_init_from_name(o->v[O_INIT].s, &mc->init);
    mc->leaky_slope = (bp_real)o->v[O_LEAKY_SLOPE].r;
    mc->seed = o->v[O_SEED].u;
}

const char *cli_arch_text(char *buf, size_t len, const bp_model_config *mc)
{
    size_t n = 0;
    for (int l = 0; l <= mc->n_layers && n < len; l++)
        n += (size_t)snprintf(buf + n, len - n, "%s%d", l ? "-" : "", mc->sizes[l]);
    for (int l = 0; l < mc->n_layers && n < len; l++) {
        /* one name for runs of equal hidden activations: relu/softmax, not relu/relu/softmax */
        if (l > 0 && l < mc->n_layers - 1 && mc->act[l] == mc->act[l - 1]) continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", l ? "/" : " ", bp_activation_name(mc->act[l]));
    }
    if (n < len) snprintf(buf + n, len - n, " %s", bp_loss_name(mc->loss));
    return buf;
}
