/* cmd_demo.c - `backprop demo`: Fashion-MNIST with good defaults, exactly
 * what `backprop train` does with the options printed at the start. */
#include "dist.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

#define DEMO_EPOCHS "10"
#define TARGET 0.88

static const cmd_item items[] = {
    DEF(O_EPOCHS, DEMO_EPOCHS), OPT(O_SEED), OPT(O_THREADS), OPT(O_SAVE), OPT(O_LOG), OPT(O_PLOT),
    OPT(O_QUIET), END_ITEMS};

const cmd_desc cmd_demo_desc = {
    "demo", "[--epochs N] [--save FILE] [options]",
    "train on Fashion-MNIST and show the test accuracy",
    "Trains 784-256-128-10 (relu, softmax + cross-entropy) with Adam (lr 0.001, batch 128, "
    "cosine decay over the epochs) on the 60000 Fashion-MNIST training images, scaled to "
    "[0, 1], evaluates it on the 10000 "
    "test images after every epoch, and prints the test accuracy and the time taken. Needs "
    "the Debian package dataset-fashion-mnist. With the default epochs it exits 1 if the "
    "test accuracy stays under 88%.",
    items, cmd_demo};

/* The train options of the demo, then the ones given to it. */
static int build_argv(char **out, int argc, char **argv)
{
    static char *fixed[] = {"--data", "fashion-mnist", "--test", "fashion-mnist:test",
                            "--layers", "784,256,128,10", "--act", "relu", "--out-act", "softmax",
                            "--loss", "xent", "--opt", "adam", "--lr", "1e-3", "--batch", "128",
                            "--schedule", "cosine", "--normalize", "global"};
    int n = (int)(sizeof fixed / sizeof *fixed);
    memcpy(out, fixed, sizeof fixed);
    for (int i = 0; i < argc; i++) out[n++] = argv[i];
    return n;
}

int cmd_demo(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_demo_desc, argc, argv); /* validates, and answers --help */
    int enforce = !o.v[O_EPOCHS].given; /* the target holds for the default length */
    char **args = malloc((size_t)(argc + 32) * sizeof *args);
    if (!args) return cli_error("demo", "out of memory");
    int n = build_argv(args, argc, argv);
    if (!o.v[O_EPOCHS].given) args[n++] = "--epochs", args[n++] = DEMO_EPOCHS;
    cli_parse(&o, &cmd_train_desc, n, args);
    o.cmd = "demo";
    dist_init(); /* under mpirun, rank 0 alone prints */
    int lead = dist_rank() == 0;
    if (!o.v[O_QUIET].i && lead) {
        printf("backprop demo: backprop train");
        for (int i = 0; i < n; i++) printf(" %s", args[i]);
        printf("\n\n");
    }
    train_result res;
    int rc = train_run(&o, &res);
    free(args);
    if (rc || !lead) return rc;
    printf("\ndemo: Fashion-MNIST test accuracy %.2f%% after %d epochs, %.1f s of training "
           "(%.0f samples/s)\n", 100 * res.last.test_acc, res.epochs, res.seconds,
           res.seconds > 0 ? 60000.0 * res.epochs / res.seconds : 0);
    if (enforce && !(res.last.test_acc >= TARGET)) {
        printf("demo: below the %.0f%% this demo should reach\n", 100 * TARGET);
        return EXIT_RUNTIME;
    }
    return 0;
}
