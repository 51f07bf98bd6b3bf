/* export_c_train.c - bp_model_export_c_train: a model as trainable C for the
 * bare-metal core (make embedded-core, docs/EXPORT.md "Training on the
 * device"). NAME.c holds the frozen layers' weights as const arrays (flash,
 * borrowed by bp_model_create_frozen) and the trained layers' starting
 * weights, which NAME_create copies into the model's RAM; NAME.h declares
 * NAME_create and carries the usage block. Only the public API is used. */
#define _POSIX_C_SOURCE 200809L
#include "backprop.h"
#include "base.h"

#include <string.h>

/* n values as hex float literals (exact for either precision), 6 a line. */
static void put_values(FILE *f, const char *type, const char *name, const bp_real *v, size_t n)
{
    fprintf(f, "%s %s[%zu] = {", type, name, n ? n : 1);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%a", i % 6 ? ", " : (i ? ",\n    " : "\n    "), (double)v[i]);
    fprintf(f, "%s};\n\n", n ? "\n" : "0");
}

static void put_header(FILE *f, const bp_model *m, const char *name, int train_layers)
{
    const bp_model_config *c = bp_model_cfg(m);
    fprintf(f,
            "/* %s.h - written by backprop export --format c-train: model %d", name, c->sizes[0]);
    for (int l = 1; l <= c->n_layers; l++) fprintf(f, "-%d", c->sizes[l]);
    fprintf(f,
            ", its last %d layer(s) trainable, the\n"
            " * %d before them const (flash). Link with the library's core (for a Cortex-M:\n"
            " * make embedded-core, build/embedded/core-m4/libbackprop-core.a, and -lm).\n"
            " *\n"
            " *   bp_model *m; bp_optim *o; bp_trainer *t;\n"
            " *   bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);\n"
            " *   bp_train_config tc = bp_train_config_default();\n"
            " *   tc.batch_size = 16, tc.shuffle = 0;  (unshuffled: batches are read in place)\n"
            " *   if (%s_create(&m, &o, &t, &oc, &tc)) fail(bp_last_error());\n"
            " *   collect samples x (n, %d) and one-hot or target y (n, %d), raw: the model\n"
            " *   normalizes them as on the host with bp_model_normalize(m, x, n);\n"
            " *   bp_epoch_stats st; bp_trainer_epoch(t, x, y, n, &st);  (as often as needed)\n"
            " *   bp_model_predict(m, x, n, 16, out);\n"
            " *   bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);\n"
            " */\n"
            "#ifndef %s_TRAIN_H\n#define %s_TRAIN_H\n\n#include <backprop.h>\n\n"
            "#define %s_TRAIN_LAYERS %d\n#define %s_INPUTS %d\n#define %s_OUTPUTS %d\n\n"
            "/* Creates the model (frozen layers borrowed from flash, trained layers\n"
            " * copied to RAM), the optimizer (oc, its size set here) and the trainer\n"
            " * (tc, with train_layers set here). */\n"
            "bp_status %s_create(bp_model **m, bp_optim **o, bp_trainer **t,\n"
            "                    const bp_optim_config *oc, const bp_train_config *tc);\n\n#endif\n",
            train_layers, c->n_layers - train_layers, name, c->sizes[0], c->sizes[c->n_layers], name, name, name,
            train_layers, name, c->sizes[0], name, c->sizes[c->n_layers], name);
}

static void put_source(FILE *f, bp_model *m, const char *name, const char *stem, int train_layers)
{
    const bp_model_config *c = bp_model_cfg(m);
    int frozen = c->n_layers - train_layers;
    size_t nf = bp_model_config_param_count(c, 0, frozen);
    size_t nt = bp_model_config_param_count(c, frozen, c->n_layers);
    char sym[300];
    fprintf(f, "/* %s.c - written by backprop export --format c-train (see %s.h). */\n"
               "#include \"%s.h\"\n\n#include <string.h>\n\n", stem, stem, stem);
    snprintf(sym, sizeof sym, "%s_frozen", name);
    put_values(f, "static const bp_real", sym, nf ? bp_model_weight(m, 0) : NULL, nf);
    snprintf(sym, sizeof sym, "%s_start", name);
    put_values(f, "static const bp_real", sym, bp_model_weight(m, frozen), nt);
    const bp_real *shift = bp_model_norm_shift(m), *scale = bp_model_norm_scale(m);
    if (shift) {
        snprintf(sym, sizeof sym, "%s_shift", name);
        put_values(f, "static const bp_real", sym, shift, (size_t)c->sizes[0]);
        snprintf(sym, sizeof sym, "%s_scale", name);
        put_values(f, "static const bp_real", sym, scale, (size_t)c->sizes[0]);
    }
    fprintf(f, "bp_status %s_create(bp_model **m, bp_optim **o, bp_trainer **t,\n"
               "                    const bp_optim_config *oc, const bp_train_config *tc)\n{\n"
               "    bp_model_config mc = bp_model_config_default();\n    bp_status st;\n"
               "    *m = NULL, *o = NULL, *t = NULL;\n    mc.n_layers = %d;\n",
            name, c->n_layers);
    for (int l = 0; l <= c->n_layers; l++) fprintf(f, "    mc.sizes[%d] = %d;\n", l, c->sizes[l]);
    for (int l = 0; l < c->n_layers; l++) fprintf(f, "    mc.act[%d] = (bp_activation)%d;\n", l, (int)c->act[l]);
    fprintf(f, "    mc.leaky_slope = (bp_real)%a;\n    mc.loss = (bp_loss)%d;\n", (double)c->leaky_slope, (int)c->loss);
    fprintf(f, "    if ((st = bp_model_create_frozen(m, &mc, %d, %s%s))) return st;\n", frozen,
            frozen ? name : "NULL", frozen ? "_frozen" : "");
    fprintf(f, "    memcpy(bp_model_weight(*m, %d), %s_start, sizeof %s_start);\n", frozen, name, name);
    if (shift)
        fprintf(f, "    if ((st = bp_model_set_normalization(*m, %s_shift, %s_scale))) return st;\n", name, name);
    fprintf(f, "    bp_train_config tcc = *tc;\n    tcc.train_layers = %d;\n"
               "    if ((st = bp_optim_create(o, oc, bp_model_train_param_count(*m, %d)))) return st;\n"
               "    return bp_trainer_create(t, *m, *o, &tcc);\n}\n",
            train_layers, train_layers);
}

bp_status bp_model_export_c_train(const bp_model *cm, const char *path, const char *name, int train_layers)
{
    bp_model *m = (bp_model *)cm; /* read only: the views are not written */
    const bp_model_config *c = bp_model_cfg(m);
    size_t len = path ? strlen(path) : 0;
    if (len < 3 || strcmp(path + len - 2, ".c") != 0)
        return bp__fail(BP_ERR_INVALID, "export c-train: path '%s' must end in .c", path ? path : "(null)");
    if (!name || !*name || strlen(name) > 200 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") != strlen(name) ||
        (name[0] >= '0' && name[0] <= '9'))
        return bp__fail(BP_ERR_INVALID, "export c-train: name '%s' is not a C identifier", name ? name : "(null)");
    if (train_layers < 1 || train_layers > c->n_layers)
        return bp__fail(BP_ERR_INVALID, "export c-train: train_layers = %d, must be 1..%d (the model's layers)",
                        train_layers, c->n_layers);
    if (bp_model_frozen_layers(m))
        return bp__fail(BP_ERR_INVALID, "export c-train: the model borrows its first layers; export it from a file");
    char stem[4096], hpath[4096];
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (len >= sizeof hpath) return bp__fail(BP_ERR_INVALID, "export c-train: path too long");
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(base) - 2), base);
    snprintf(hpath, sizeof hpath, "%.*sh", (int)len - 1, path);
    bp_file *f;
    bp_status st = bp_file_open(&f, hpath);
    if (st) return st;
    put_header(bp_file_stream(f), m, name, train_layers);
    if ((st = bp_file_commit(f))) return st;
    if ((st = bp_file_open(&f, path))) return st;
    put_source(bp_file_stream(f), m, name, stem, train_layers);
    return bp_file_commit(f);
}
