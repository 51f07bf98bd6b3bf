/* cmd_init.c - `backprop init`: a freshly initialized, untrained model file. */
#include "cli.h"

static const cmd_item items[] = {
    GROUP("Model"), OPT(O_LAYERS), OPT(O_ACT), OPT(O_OUT_ACT), OPT(O_LOSS), OPT(O_INIT),
    OPT(O_LEAKY_SLOPE), OPT(O_SEED),
    GROUP("Output"), OPT(O_SAVE),
    END_ITEMS};

const cmd_desc cmd_init_desc = {
    "init", "--layers N,N,... --save FILE [options]",
    "write a freshly initialized (untrained) model",
    "Creates a model with the given architecture, initializes its weights from --seed (he "
    "for relu layers, xavier for the others, biases 0) and saves it, untrained, with no "
    "normalization and no labels. Without --out-act and --loss, a model with several outputs "
    "gets softmax + cross-entropy and one with a single output identity + MSE. "
    "`backprop train --init-from FILE` trains it.",
    items, cmd_init};

int cmd_init(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_init_desc, argc, argv);
    if (!o.v[O_LAYERS].given) cli_usage(o.cmd, "--layers N,N,... is required");
    if (!o.v[O_SAVE].given) cli_usage(o.cmd, "--save FILE is required");
    bp_model_config mc;
    cli_model_config(&o, KIND_NONE, &mc);
    bp_model *m = NULL;
    if (bp_model_create(&m, &mc)) return cli_fail(o.cmd, NULL);
    bp_status st = bp_model_save(m, o.v[O_SAVE].s, NULL);
    char arch[256];
    if (!st)
        printf("saved %s: %s, %zu parameters, seed %s\n", o.v[O_SAVE].s,
               cli_arch_text(arch, sizeof arch, &mc), bp_model_param_count(m), o.v[O_SEED].s);
    bp_model_free(m);
    return st ? cli_fail(o.cmd, "--save") : 0;
}
