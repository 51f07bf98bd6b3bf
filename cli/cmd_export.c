/* cmd_export.c - `backprop export`: a model in another format. Parses the
 * options, loads the model, then one library call per format; the formats
 * themselves live in the library (src/onnx_write.c for onnx). */
#include "cli.h"

#include <string.h>

static const cmd_item items[] = {
    OPT(O_MODEL), OPT(O_FORMAT), OPT(O_OUTPUT), END_ITEMS};

const cmd_desc cmd_export_desc = {
    "export", "--model FILE --format onnx --output FILE.onnx",
    "write a model in another format (ONNX)",
    "Writes the model to --output in the --format asked for. onnx: an ONNX model (IR version 7, "
    "opset 13) that computes what `backprop predict` computes, normalization included: input "
    "\"input\" float (N, inputs), output \"probabilities\" (N, classes) for a classifier or "
    "\"outputs\" for a regression model; labels, normalization and the backprop version in its "
    "metadata (docs/FORMAT.md). The file is written atomically.",
    items, cmd_export};

int cmd_export(int argc, char **argv)
{
    cli_opts o;
    cli_parse(&o, &cmd_export_desc, argc, argv);
    if (!o.v[O_MODEL].given) cli_usage(o.cmd, "--model FILE is required");
    if (!o.v[O_FORMAT].given) cli_usage(o.cmd, "--format FMT is required (onnx)");
    if (!o.v[O_OUTPUT].given) cli_usage(o.cmd, "--output FILE is required");
    bp_model *m = NULL;
    bp_meta *meta = NULL;
    if (cli_load_model(&m, &o, &meta)) return EXIT_RUNTIME;
    const char *format = o.v[O_FORMAT].s, *out = o.v[O_OUTPUT].s;
    bp_status st = BP_ERR_INVALID;
    if (strcmp(format, "onnx") == 0) st = bp_model_save_onnx(m, out, meta);
    if (!st) printf("exported %s as %s: %s\n", o.v[O_MODEL].s, format, out);
    bp_meta_free(meta);
    bp_model_free(m);
    return st ? cli_fail(o.cmd, "--output") : 0;
}
