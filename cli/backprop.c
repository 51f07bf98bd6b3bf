/* backprop.c - the command's entry point: picks the subcommand, prints the
 * top-level help and the version. Each subcommand lives in cli/cmd_*.c. */
#include "cli.h"

#include <string.h>

#ifdef BP_MPI
#define BUILD_NOTE ", MPI" /* make MPI=1: train runs under mpirun */
#else
#define BUILD_NOTE ""
#endif

static const cmd_desc *const commands[] = {
    &cmd_train_desc, &cmd_eval_desc, &cmd_predict_desc, &cmd_init_desc,
    &cmd_info_desc, &cmd_gradcheck_desc, &cmd_demo_desc, &cmd_export_desc,
};
#define N_COMMANDS (int)(sizeof commands / sizeof *commands)

static void print_help(FILE *f)
{
    fprintf(f, "usage: backprop COMMAND [options]\n\n"
               "Trains feedforward neural networks by backpropagation, on your data.\n\n"
               "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n'backprop COMMAND --help' lists a command's options; docs/CLI.md has examples.\n"
               "  --version   print the version and precision\n"
               "  --help      this text\n\n"
               "example:\n"
               "  backprop train --data fashion-mnist --test fashion-mnist:test \\\n"
               "                 --layers 784,256,128,10 --epochs 10 --save fm.safetensors\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("backprop %s (%s%s, library %s)\n", BP_VERSION_STRING,
               bp_real_size() == 8 ? "float64" : "float32", BUILD_NOTE, bp_version());
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i]->name) == 0) return commands[i]->run(argc - 2, argv + 2);
    cli_usage(NULL, "unknown command '%s' (commands: train, eval, predict, init, info, "
                    "gradcheck, demo, export)", name);
}
