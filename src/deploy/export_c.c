/* export_c.c - bp_model_export_c: the model as dependency-free C99, a
 * header (NAME.h: what the model is, what it needs, how to call it) and a
 * source file (NAME.c: static const tensors, one function per layer, the
 * entry points), float32 or int8 (docs/EXPORT.md). One emitter per section,
 * each printing straight into the file's stream (bp_file): no line passes
 * through a fixed-size buffer, so a symbol of any length comes out whole. */
#define _POSIX_C_SOURCE 200809L
#include "quant.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen {
    FILE *f;                 /* the file being emitted (bp_file's stream) */
    const bp_model *m;
    const bp_qmodel *q;      /* NULL: float32 */
    const char *name;        /* prefix of every symbol */
    const char *stem;        /* the header's file name without ".h" */
    const bp_export_info *info;
    int L, in, out;
    int classes;             /* 0: regression */
    int hidden;              /* widest hidden layer (0 when there is none) */
    bool bad_value;          /* a parameter is not finite as a float */
    bool norm;               /* the code normalizes the input */
    bool norm_uniform;       /* ... with one shift and one scale for every feature */
    float *shift, *scale;    /* (in): the normalization as float32, when norm */
} gen;

/* ------------------------------------------------------------ helpers */

static bool is_identifier(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
    return true;
}

/* A float literal that reads back as the same float: "%.9g", with ".0"
 * when that looks like an integer, and the f suffix. */
static const char *flit(gen *g, char *buf, size_t len, double v)
{
    float x = (float)v;
    if (!isfinite(x)) g->bad_value = true, x = 0;
    snprintf(buf, len - 3, "%.9g", (double)x);
    if (!strpbrk(buf, ".e")) strcat(buf, ".0");
    strcat(buf, "f");
    return buf;
}

/* s as the inside of a C string literal: quotes, backslashes, '?' (no
 * trigraph can form) and every byte outside printable ASCII escaped; in a
 * comment, '*' too, so that no label can end it. */
static void put_escaped(FILE *f, const char *s, bool comment)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?') fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p > 0x7e || (comment && *p == '*')) fprintf(f, "\\%03o", *p);
        else fputc(*p, f);
    }
}

static const char *act_text(bp_activation a)
{
    return bp_activation_name(a);
}

/* Bytes of the constant tensors (the flash the model needs beside code). */
static size_t const_bytes(const gen *g)
{
    size_t b = 0;
    for (int l = 0; l < g->L; l++) {
        size_t in = (size_t)g->m->layers[l].in, out = (size_t)g->m->layers[l].out;
        if (!g->q) b += 4 * (in * out + out);
        else b += in * out + out * (4 + 4 + 1) + (g->q->layers[l].has_lut ? 256 : 0);
    }
    if (g->norm && !g->norm_uniform) b += 8 * (size_t)g->in;
    return b;
}

/* Stack bytes of NAME_predict (and of NAME_predict_int8 for int8). */
static size_t stack_bytes(const gen *g, bool int8_entry)
{
    size_t scratch = g->hidden ? 2 * (size_t)g->hidden : 0;
    if (!g->q) return 4 * (scratch + (g->norm ? (size_t)g->in : 0));
    if (int8_entry) return scratch;
    return scratch + (size_t)g->in + (size_t)g->out;
}

/* ------------------------------------------------------------- header */

static void emit_arch(gen *g, FILE *f)
{
    fprintf(f, " * Model: ");
    for (int l = 0; l <= g->L; l++) fprintf(f, "%s%d", l ? "-" : "", g->m->cfg.sizes[l]);
    fprintf(f, " (inputs-...-outputs), %d dense layer%s:", g->L, g->L > 1 ? "s" : "");
    for (int l = 0; l < g->L; l++) fprintf(f, " %s", act_text(g->m->cfg.act[l]));
    fprintf(f, "; loss %s.\n", bp_loss_name(g->m->cfg.loss));
    if (g->q)
        fprintf(f, " * Arithmetic: int8 (weights symmetric per output row, activations asymmetric\n"
                   " *   per tensor from %zu calibration samples, int32 accumulators, Q31\n"
                   " *   requantization%s).\n", g->q->calib.samples,
                g->q->out_act == BP_ACT_SOFTMAX ? "; the class is the argmax of the int8 logits" : "");
    else fprintf(f, " * Arithmetic: float32.\n");
    if (g->q && g->q->folded)
        fprintf(f, " * Normalization: as at training, folded into layer 1's weights; the raw inputs\n"
                   " *   are integers that int8 holds exactly. %s_predict%s takes raw features.\n",
                g->name, g->classes ? " (and _classify)" : "");
    else if (g->norm)
        fprintf(f, " * Normalization: x' = (x - shift) * scale per feature, as at training, applied\n"
                   " *   inside %s_predict%s: give it %s.\n", g->name,
                g->classes ? " (and _classify)" : "",
                bp_model_encoder(g->m) ? "the encoded inputs listed below" : "raw features");
    else fprintf(f, " * Normalization: none (the features go in as they are).\n");
}

/* A model trained on a table takes the encoded vector: say what each input is. */
static void emit_inputs_comment(gen *g, FILE *f)
{
    const bp_encoder *e = bp_model_encoder(g->m);
    if (!e) return;
    fprintf(f, " * Inputs: the table's columns as the model's encoder turns them into numbers\n"
               " *   (one-hot categories, 0/1 missing indicators, imputed values; `backprop info`\n"
               " *   lists it); %s_predict takes that encoded vector:", g->name);
    for (int i = 0; i < g->in; i++) { /* bp_encoder_input_describe's text, uncut */
        int c, indicator;
        const char *category;
        if (bp_encoder_input_info(e, i, &c, &category, &indicator)) break;
        fprintf(f, "%s x[%d] ", i % 3 == 0 ? "\n *  " : ",", i);
        put_escaped(f, bp_encoder_column_name(e, c), true);
        if (category) fputc('=', f), put_escaped(f, category, true);
        else if (indicator) fputs(" missing", f);
    }
    fprintf(f, "\n *   To encode a row: x[i] of COLUMN=CATEGORY is 1 when the column holds that\n"
               " *   category, else 0; a number goes in as it is (the normalization is inside);\n"
               " *   a missing number as its fill value (`backprop info`) with its missing\n"
               " *   indicator 1. Off the device, bp_model_encode computes the same vector.\n");
}

static void emit_labels_comment(gen *g, FILE *f)
{
    if (!g->classes) {
        fprintf(f, " * Outputs: %d regression value%s.\n", g->out, g->out > 1 ? "s" : "");
        return;
    }
    fprintf(f, " * Classes (%d):", g->classes);
    for (int c = 0; c < g->classes; c++) {
        const char *l = bp_model_label(g->m, c);
        char num[16];
        if (!l) snprintf(num, sizeof num, "%d", c), l = num;
        fprintf(f, "%s%d \"", c % 4 == 0 ? "\n *   " : " ", c);
        put_escaped(f, l, true);
        fprintf(f, "\"%s", c + 1 == g->classes ? "\n" : ",");
    }
    if (g->out == 1)
        fprintf(f, " * Output: the probability of class 1; %s_classify thresholds it at 0.5.\n", g->name);
}

static void emit_figures(gen *g, FILE *f)
{
    const bp_export_info *in = g->info;
    if (in && (in->accuracy >= 0 || in->accuracy_int8 >= 0)) {
        fprintf(f, " * Accuracy at export%s%s:", in->test_set ? " on " : "", in->test_set ? in->test_set : "");
        if (in->accuracy >= 0) fprintf(f, " %.2f%% float32", 100 * in->accuracy);
        if (in->accuracy_int8 >= 0)
            fprintf(f, "%s %.2f%% int8", in->accuracy >= 0 ? "," : "", 100 * in->accuracy_int8);
        fprintf(f, ".\n");
    }
    fprintf(f, " * Flash: %zu bytes of constant tensors, plus the code.\n", const_bytes(g));
    fprintf(f, " * RAM: no static or global mutable state; %s_predict uses %zu bytes of stack\n"
               " *   scratch besides its input and output. Reentrant and thread-safe.\n",
            g->name, stack_bytes(g, false));
}

static void emit_usage(gen *g, FILE *f)
{
    const char *n = g->name;
    fprintf(f, " *\n * Usage:\n"
               " *   #include \"%s.h\"\n"
               " *\n"
               " *   float x[%s_INPUTS];    // %s\n"
               " *   float y[%s_OUTPUTS];\n"
               " *   %s(x);\n"
               " *   %s_predict(x, y);      // %s\n",
            g->stem, n,
            bp_model_encoder(g->m) ? "one sample's encoded vector: the Inputs above, in order"
                                   : "one sample's raw features, in training order",
            n, bp_model_encoder(g->m) ? "encode_row" : "read_sensors", n,
            g->classes ? (g->m->cfg.act[g->L - 1] == BP_ACT_SOFTMAX ? "class probabilities"
                                                                   : "probabilities")
                       : "the predicted values");
    if (g->classes)
        fprintf(f, " *   int c = %s_classify(x); // index into %s_labels\n"
                   " *   show(%s_labels[c], y[%s]);\n", n, n, n, g->out == 1 ? "0" : "c");
    else fprintf(f, " *   use(y[0]);\n *\n");
    if (g->q)
        fprintf(f, " *   // no FPU: %s_predict_int8(xq, yq) on int8 data, real = scale (q - zero point)\n", n);
    else fprintf(f, " *\n");
    fprintf(f, " */\n");
}

static void emit_header(gen *g)
{
    FILE *f = g->f;
    const char *n = g->name;
    fprintf(f, "/*\n * %s.h - %s, generated by backprop %s%s%s: do not edit.\n *\n", g->stem,
            g->q ? "an int8 neural network" : "a float32 neural network", BP_VERSION_STRING,
            g->info && g->info->source ? " from " : "", g->info && g->info->source ? g->info->source : "");
    emit_arch(g, f);
    emit_inputs_comment(g, f);
    emit_labels_comment(g, f);
    emit_figures(g, f);
    emit_usage(g, f);
    fprintf(f, "#ifndef %s_H_\n#define %s_H_\n\n#include <stdint.h>\n\n"
               "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", n, n);
    fprintf(f, "#define %s_INPUTS %d\n#define %s_OUTPUTS %d\n", n, g->in, n, g->out);
    if (g->classes) fprintf(f, "#define %s_CLASSES %d\n", n, g->classes);
    char b1[40];
    if (g->q) {
        double s;
        int zp;
        bp_qmodel_input_quant(g->q, &s, &zp);
        fprintf(f, "\n/* int8 data: real = SCALE (q - ZERO_POINT). The input is %s;\n"
                   " * the output %s. */\n",
                g->q->folded ? "the raw features (the normalization is folded into layer 1)"
                             : "the normalized features",
                g->q->out_act == BP_ACT_SOFTMAX ? "the logits (softmax comes after)"
                : g->classes ? "the probabilities" : "the predicted values");
        fprintf(f, "#define %s_INPUT_SCALE %s\n#define %s_INPUT_ZERO_POINT %d\n", n,
                flit(g, b1, sizeof b1, s), n, zp);
        bp_qmodel_output_quant(g->q, &s, &zp);
        fprintf(f, "#define %s_OUTPUT_SCALE %s\n#define %s_OUTPUT_ZERO_POINT %d\n", n,
                flit(g, b1, sizeof b1, s), n, zp);
    }
    if (g->classes)
        fprintf(f, "\n/* Class names, %s_labels[c] for class c. */\n"
                   "extern const char *const %s_labels[%s_CLASSES];\n", n, n, n);
    const char *xs = bp_model_encoder(g->m) ? "the encoded vector" : "raw features";
    fprintf(f, "\n/* y (%s_OUTPUTS) from %s x (%s_INPUTS): what `backprop predict` gives. */\n"
               "void %s_predict(const float *x, float *y);\n", n, xs, n, n);
    if (g->classes)
        fprintf(f, "/* The predicted class of %s x (%s_INPUTS). */\n"
                   "int %s_classify(const float *x);\n", xs, n, n);
    if (g->q)
        fprintf(f, "/* Raw features x to int8 xq (%s_INPUTS): normalized, then quantized. */\n"
                   "void %s_quantize(const float *x, int8_t *xq);\n"
                   "/* Integer-only forward pass: xq (%s_INPUTS) to yq (%s_OUTPUTS); %zu bytes of stack. */\n"
                   "void %s_predict_int8(const int8_t *xq, int8_t *yq);\n",
                n, n, n, n, stack_bytes(g, true), n);
    fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s_H_ */\n", n);
}

/* ------------------------------------------------------------ tensors */

typedef enum { T_F32, T_FLOAT, T_I8, T_I32, T_U8 } ttype; /* T_F32: bp_real data */

static void put_value(gen *g, ttype t, const void *data, size_t i)
{
    char b[40];
    switch (t) {
    case T_F32: fputs(flit(g, b, sizeof b, (double)((const bp_real *)data)[i]), g->f); break;
    case T_FLOAT: fputs(flit(g, b, sizeof b, (double)((const float *)data)[i]), g->f); break;
    case T_I8: fprintf(g->f, "%d", ((const int8_t *)data)[i]); break;
    case T_I32: fprintf(g->f, "%ld", (long)((const int32_t *)data)[i]); break;
    case T_U8: fprintf(g->f, "%d", (int)((const int32_t *)data)[i]); break;
    }
}

static void put_row(gen *g, ttype t, const void *data, size_t off, size_t n, const char *indent)
{
    int per = t == T_F32 || t == T_FLOAT ? 6 : t == T_I32 ? 8 : 16;
    for (size_t i = 0; i < n; i++) {
        fputs(i % per == 0 ? indent : " ", g->f);
        put_value(g, t, data, off + i);
        fputs(i + 1 < n ? "," : "", g->f);
        if (i % per == (size_t)per - 1 || i + 1 == n) fputc('\n', g->f);
    }
}

static const char *ctype_of(ttype t)
{
    return t == T_F32 || t == T_FLOAT ? "float" : t == T_I8 ? "int8_t" : t == T_I32 ? "int32_t" : "uint8_t";
}

static void emit_vector(gen *g, ttype t, const char *what, const char *sym, const void *data, size_t n)
{
    fprintf(g->f, "/* %s (%zu) */\nstatic const %s %s_%s[%zu] = {\n", what, n, ctype_of(t), g->name,
            sym, n);
    put_row(g, t, data, 0, n, "    ");
    fprintf(g->f, "};\n\n");
}

static void emit_matrix(gen *g, ttype t, const char *what, const char *sym, const void *data,
                        int rows, int cols)
{
    fprintf(g->f, "/* %s (%d, %d), row-major: one row per output unit */\n"
                  "static const %s %s_%s[%d][%d] = {\n", what, rows, cols, ctype_of(t), g->name,
            sym, rows, cols);
    int per = t == T_F32 ? 6 : 16;
    for (int r = 0; r < rows; r++) {
        if (cols <= per) { /* a short row on one line */
            fprintf(g->f, "    {");
            for (int k = 0; k < cols; k++) {
                fputs(k ? ", " : "", g->f);
                put_value(g, t, data, (size_t)r * cols + k);
            }
            fprintf(g->f, "}%s\n", r + 1 < rows ? "," : "");
            continue;
        }
        fprintf(g->f, "    {\n");
        put_row(g, t, data, (size_t)r * cols, (size_t)cols, "        ");
        fprintf(g->f, "    }%s\n", r + 1 < rows ? "," : "");
    }
    fprintf(g->f, "};\n\n");
}

/* The normalization's shift (what "shift") or scale of feature k as C: the
 * per-feature array's element, or the one constant when every feature has
 * the same. */
static void put_norm_term(gen *g, const char *what)
{
    char b[40];
    bool shift = strcmp(what, "shift") == 0;
    if (g->norm_uniform) fputs(flit(g, b, sizeof b, (double)(shift ? g->shift[0] : g->scale[0])), g->f);
    else fprintf(g->f, "%s_norm_%s[k]", g->name, what);
}

static void emit_normalization(gen *g)
{
    if (!g->norm || g->norm_uniform) return;
    emit_vector(g, T_FLOAT, "Input normalization x' = (x - shift) * scale: shift", "norm_shift",
                g->shift, (size_t)g->in);
    emit_vector(g, T_FLOAT, "Input normalization: scale", "norm_scale", g->scale, (size_t)g->in);
}

static void emit_labels(gen *g)
{
    if (!g->classes) return;
    fprintf(g->f, "const char *const %s_labels[%s_CLASSES] = {", g->name, g->name);
    for (int c = 0; c < g->classes; c++) {
        const char *l = bp_model_label(g->m, c);
        char num[16];
        if (!l) snprintf(num, sizeof num, "%d", c), l = num;
        fprintf(g->f, "%s\"", c % 4 == 0 ? "\n    " : " ");
        put_escaped(g->f, l, false);
        fprintf(g->f, "\"%s", c + 1 < g->classes ? "," : "\n");
    }
    fprintf(g->f, "};\n\n");
}

static void emit_tensors(gen *g)
{
    char what[128], sym[32];
    for (int l = 0; l < g->L; l++) {
        const bp_layer *ly = &g->m->layers[l];
        fprintf(g->f, "/* ---- layer %d of %d: %d -> %d, %s */\n\n", l + 1, g->L, ly->in, ly->out,
                act_text(ly->act));
        if (!g->q) {
            snprintf(what, sizeof what, "W%d", l + 1), snprintf(sym, sizeof sym, "w%d", l + 1);
            emit_matrix(g, T_F32, what, sym, ly->w, ly->out, ly->in);
            snprintf(what, sizeof what, "b%d", l + 1), snprintf(sym, sizeof sym, "b%d", l + 1);
            emit_vector(g, T_F32, what, sym, ly->b, (size_t)ly->out);
            continue;
        }
        const bp__qlayer *ql = &g->q->layers[l];
        snprintf(what, sizeof what, "W%d as int8, W = w_scale[row] w: symmetric per row", l + 1);
        snprintf(sym, sizeof sym, "w%d", l + 1);
        emit_matrix(g, T_I8, what, sym, ql->w, ql->out, ql->in);
        snprintf(what, sizeof what, "b%d as int32, with the input zero point folded in: "
                 "round(b / (s_in w_scale)) - zp_in sum_k w[row][k]", l + 1);
        snprintf(sym, sizeof sym, "b%d", l + 1);
        emit_vector(g, T_I32, what, sym, ql->bias, (size_t)ql->out);
        snprintf(what, sizeof what, "Requantization multipliers of layer %d, Q31: M = m 2^-shift", l + 1);
        snprintf(sym, sizeof sym, "m%d", l + 1);
        emit_vector(g, T_I32, what, sym, ql->mult, (size_t)ql->out);
        snprintf(what, sizeof what, "Requantization right shifts of layer %d", l + 1);
        snprintf(sym, sizeof sym, "s%d", l + 1);
        emit_vector(g, T_U8, what, sym, ql->shift, (size_t)ql->out);
        if (ql->has_lut) {
            snprintf(what, sizeof what, "%s of layer %d as a table: a = lut[zq + 128]",
                     act_text(ql->act), l + 1);
            snprintf(sym, sizeof sym, "lut%d", l + 1);
            emit_vector(g, T_I8, what, sym, ql->lut, 256);
        }
    }
}

/* ------------------------------------------------------------- kernels */

static bool uses_act(const gen *g, bp_activation a)
{
    for (int l = 0; l < g->L; l++)
        if (g->m->cfg.act[l] == a) return true;
    return false;
}

/* NAME_dot: w . x over n values of type `elem`, summed in `acc`, eight at a
 * time (a loop of loads and multiply-adds), the float and int8 paths alike. */
static void emit_dot(gen *g, const char *what, const char *elem, const char *acc,
                     const char *zero)
{
    fprintf(g->f,
            "/* w . x over n %s, eight at a time: a loop of loads and multiply-adds. */\n"
            "static %s %s_dot(const %s *w, const %s *x, int n)\n{\n"
            "    const %s *end = w + (n & ~7);\n    %s s = %s;\n"
            "    for (; w != end; w += 8, x += 8) {\n"
            "        s += w[0] * x[0];\n        s += w[1] * x[1];\n        s += w[2] * x[2];\n"
            "        s += w[3] * x[3];\n        s += w[4] * x[4];\n        s += w[5] * x[5];\n"
            "        s += w[6] * x[6];\n        s += w[7] * x[7];\n    }\n"
            "    for (n &= 7; n > 0; n--) s += *w++ * *x++;\n    return s;\n}\n\n",
            what, acc, g->name, elem, elem, elem, acc, zero);
}

static void emit_helpers_float(gen *g)
{
    const char *n = g->name;
    emit_dot(g, "values", "float", "float", "0.0f");
    if (uses_act(g, BP_ACT_SIGMOID))
        fprintf(g->f, "/* 1 / (1 + e^-z), written so that no exp overflows. */\n"
                      "static float %s_sigmoid(float z)\n{\n"
                      "    float e;\n    if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));\n"
                      "    e = expf(z);\n    return e / (1.0f + e);\n}\n\n", n);
}

static void emit_softmax(gen *g)
{
    fprintf(g->f, "/* Softmax of a (n) in place, the largest subtracted first so that exp never overflows. */\n"
                  "static void %s_softmax(float *a, int n)\n{\n"
                  "    float mx = a[0], sum = 0.0f;\n    int j;\n"
                  "    for (j = 1; j < n; j++) mx = a[j] > mx ? a[j] : mx;\n"
                  "    for (j = 0; j < n; j++) {\n        a[j] = expf(a[j] - mx);\n        sum += a[j];\n    }\n"
                  "    for (j = 0; j < n; j++) a[j] = a[j] / sum;\n}\n\n", g->name);
}

/* g(z) as a C expression of z (softmax: z, the layer applies it after). */
static void put_float_act(gen *g, bp_activation a)
{
    char b[40];
    switch (a) {
    case BP_ACT_SIGMOID: fprintf(g->f, "%s_sigmoid(z)", g->name); break;
    case BP_ACT_TANH: fputs("tanhf(z)", g->f); break;
    case BP_ACT_RELU: fputs("z < 0.0f ? 0.0f : z", g->f); break;
    case BP_ACT_LEAKY_RELU:
        fprintf(g->f, "z > 0.0f ? z : %s * z", flit(g, b, sizeof b, (double)g->m->cfg.leaky_slope));
        break;
    default: fputs("z", g->f); break;
    }
}

static void emit_layers_float(gen *g)
{
    for (int l = 0; l < g->L; l++) {
        const bp_layer *ly = &g->m->layers[l];
        int i = l + 1;
        fprintf(g->f, "/* Layer %d: a%d = %s(W%d a%d + b%d), the notes' z[l] = W[l] a[l-1] + b[l],\n"
                      " * a[l] = g(z[l]). a%d (%d) in, a%d (%d) out. */\n"
                      "static void %s_layer%d(const float *a%d, float *a%d)\n{\n"
                      "    int j;\n    for (j = 0; j < %d; j++) {\n"
                      "        float z = %s_dot(%s_w%d[j], a%d, %d) + %s_b%d[j];\n",
                i, i, act_text(ly->act), i, l, i, l, ly->in, i, ly->out, g->name, i, l, i, ly->out,
                g->name, g->name, i, l, ly->in, g->name, i);
        fprintf(g->f, "        a%d[j] = ", i);
        put_float_act(g, ly->act);
        fprintf(g->f, ";\n    }\n");
        if (ly->act == BP_ACT_SOFTMAX) fprintf(g->f, "    %s_softmax(a%d, %d);\n", g->name, i, ly->out);
        fprintf(g->f, "}\n\n");
    }
}

/* The calls of the layers, ping-ponging between a[0] and a[1]. */
static void emit_layer_calls(gen *g, const char *in, const char *out)
{
    for (int l = 0; l < g->L; l++) {
        char src[16], dst[16];
        snprintf(src, sizeof src, "a[%d]", (l + 1) & 1);
        snprintf(dst, sizeof dst, "a[%d]", l & 1);
        fprintf(g->f, "    %s_layer%d(%s, %s);\n", g->name, l + 1, l == 0 ? in : src,
                l == g->L - 1 ? out : dst);
    }
}

/* The end of NAME_classify, whose opening the entry emitters print: the
 * class from the outputs v, thresholded for one output. */
static void emit_classify_end(gen *g, const char *v, const char *threshold)
{
    const char *n = g->name;
    if (g->out == 1) fprintf(g->f, "    return %s[0] > %s;\n}\n", v, threshold);
    else
        fprintf(g->f, "    int best = 0, j;\n    for (j = 1; j < %s_OUTPUTS; j++)\n"
                      "        if (%s[j] > %s[best]) best = j;\n    return best;\n}\n", n, v, v);
}

static void emit_entry_float(gen *g)
{
    const char *n = g->name;
    bool norm = g->norm;
    fprintf(g->f, "void %s_predict(const float *x, float *y)\n{\n", n);
    if (norm) fprintf(g->f, "    float x0[%s_INPUTS]; /* the normalized features */\n", n);
    if (g->hidden) fprintf(g->f, "    float a[2][%d];      /* the hidden layers' outputs, ping-pong */\n", g->hidden);
    if (norm) {
        fprintf(g->f, "    int k;\n    for (k = 0; k < %s_INPUTS; k++) x0[k] = (x[k] - ", n);
        put_norm_term(g, "shift");
        fputs(") * ", g->f);
        put_norm_term(g, "scale");
        fputs(";\n", g->f);
    }
    emit_layer_calls(g, norm ? "x0" : "x", "y");
    fprintf(g->f, "}\n\n");
    if (g->classes) {
        fprintf(g->f, "int %s_classify(const float *x)\n{\n    float y[%s_OUTPUTS];\n"
                      "    %s_predict(x, y);\n", n, n, n);
        emit_classify_end(g, "y", "0.5f");
    }
}

/* ---------------------------------------------------------------- int8 */

static void emit_helpers_int8(gen *g)
{
    const char *n = g->name;
    emit_dot(g, "int8 values into int32", "int8_t", "int32_t", "0");
    fprintf(g->f,
            "/* zp + acc m 2^-shift, rounded half up, clamped to [lo, hi]: the\n"
            " * requantization, int64 only for the product. */\n"
            "static int %s_requant(int32_t acc, int32_t m, int shift, int zp, int lo, int hi)\n{\n"
            "    int64_t p = ((int64_t)acc * m + ((int64_t)1 << (shift - 1))) >> shift;\n"
            "    p += zp;\n    return p < lo ? lo : p > hi ? hi : (int)p;\n}\n\n", n);
}

/* Layers whose rows the Arm DSP path takes four at a time (inputs a multiple of 8). */
static bool dsp_layer(const bp__qlayer *ql) { return ql->in % 8 == 0 && ql->out >= 4; }

static bool any_dsp_layer(const gen *g)
{
    for (int l = 0; l < g->L; l++)
        if (dsp_layer(&g->q->layers[l])) return true;
    return false;
}

/* With the DSP extension (Cortex-M4, M7, M33...): SXTB16 sign-extends two
 * bytes to halfwords, SMLAD does two 16-bit multiply-accumulates; the same
 * sums as NAME_dot in another order, so the same int32 results. */
static void emit_helpers_dsp(gen *g)
{
    const char *n = g->name;
    fprintf(g->f, "#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)\n#define %s_DSP 1\n\n"
                  "/* Four bytes from p, any alignment (LDR allows it on these cores). */\n"
                  "static int32_t %s_load4(const int8_t *p)\n{\n    int32_t v;\n    memcpy(&v, p, 4);\n"
                  "    return v;\n}\n\n"
                  "/* Bytes 1 and 3 of v sign-extended to two halfwords: SXTB16 with its rotation. */\n"
                  "static int32_t %s_sxtb16_ror8(int32_t v)\n{\n    int32_t r;\n"
                  "    __asm__(\"sxtb16 %%0, %%1, ror #8\" : \"=r\"(r) : \"r\"(v));\n    return r;\n}\n\n",
            n, n, n);
    fprintf(g->f, "/* s[r] += w[r] . x for the four consecutive rows of n values at w (n a\n"
                  " * multiple of 8): four inputs at a time are sign-extended to halfword pairs\n"
                  " * once and shared by the four rows, two multiply-accumulates per SMLAD.\n"
                  " * Inlined, so that n is a constant and the rows' offsets immediates. */\n"
                  "__attribute__((always_inline)) static inline void\n"
                  "%s_dot4(const int8_t *w, const int8_t *x, int n, int32_t *s)\n{\n"
                  "    const int8_t *end = x + n;\n"
                  "    int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], xv, xe, xo, v;\n"
                  "    for (; x != end; x += 8, w += 8) {\n", n);
    for (int k = 0; k < 8; k += 4) {
        fprintf(g->f, "        xv = %s_load4(x + %d), xe = __sxtb16(xv), xo = %s_sxtb16_ror8(xv);\n", n, k, n);
        for (int r = 0; r < 4; r++) {
            char off[32];
            if (r == 0) snprintf(off, sizeof off, "%d", k);
            else if (r == 1) snprintf(off, sizeof off, "n + %d", k);
            else snprintf(off, sizeof off, "%d * n + %d", r, k);
            fprintf(g->f, "        v = %s_load4(w + %s);\n"
                          "        s%d = __smlad(__sxtb16(v), xe, s%d);\n"
                          "        s%d = __smlad(%s_sxtb16_ror8(v), xo, s%d);\n", n, off, r, r, r, n, r);
        }
    }
    fprintf(g->f, "    }\n    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;\n}\n#endif\n\n");
}

/* a[idx] = the requantized acc, through the table if the layer has one. */
static void emit_requant(gen *g, const bp__qlayer *ql, int i, const char *idx, const char *acc,
                         const char *indent)
{
    const char *n = g->name;
    if (ql->has_lut)
        fprintf(g->f, "%sa%d[%s] = %s_lut%d[%s_requant(%s, %s_m%d[%s], %s_s%d[%s], %d, -128, 127) + 128];\n",
                indent, i, idx, n, i, n, acc, n, i, idx, n, i, idx, ql->req_zp);
    else
        fprintf(g->f, "%sa%d[%s] = (int8_t)%s_requant(%s, %s_m%d[%s], %s_s%d[%s], %d, %d, %d);\n", indent,
                i, idx, n, acc, n, i, idx, n, i, idx, ql->req_zp, ql->req_lo, ql->req_hi);
}

static void emit_layers_int8(gen *g)
{
    const char *n = g->name;
    for (int l = 0; l < g->L; l++) {
        const bp__qlayer *ql = &g->q->layers[l];
        int i = l + 1;
        const char *act = ql->act == BP_ACT_SOFTMAX ? "logits" : act_text(ql->act);
        fprintf(g->f, "/* Layer %d in int8: a%d = %s(W%d a%d + b%d). acc = b%d[j] + sum_k w%d[j][k] a%d[k]\n"
                      " * (int32), the notes' z = W a + b at scale s_in w_scale[j]; requantized by\n"
                      " * m%d[j] 2^-s%d[j] %s. a%d (%d) in, a%d (%d) out. */\n"
                      "static void %s_layer%d(const int8_t *a%d, int8_t *a%d)\n{\n    int j = 0;\n",
                i, i, act, i, l, i, i, i, l, i, i,
                ql->has_lut ? "to the table's index, then the table" :
                ql->act == BP_ACT_RELU ? "to the output, clamped below at its zero point (relu)" :
                "to the output",
                l, ql->in, i, ql->out, n, i, l, i);
        if (dsp_layer(ql)) {
            fprintf(g->f, "#ifdef %s_DSP\n    for (; j + 4 <= %d; j += 4) {\n        int32_t acc[4];\n        int r;\n"
                          "        for (r = 0; r < 4; r++) acc[r] = %s_b%d[j + r];\n"
                          "        %s_dot4(%s_w%d[j], a%d, %d, acc);\n        for (r = 0; r < 4; r++)\n",
                    n, ql->out, n, i, n, n, i, l, ql->in);
            emit_requant(g, ql, i, "j + r", "acc[r]", "            ");
            /* no rows left: the portable loop only without DSP (gcc -O2 would warn
             * about the out-of-bounds rows of a loop it cannot prove dead) */
            fprintf(g->f, "    }\n%s", ql->out % 4 ? "#endif\n" : "#else\n");
        }
        fprintf(g->f, "    for (; j < %d; j++) {\n        int32_t acc = %s_b%d[j] + %s_dot(%s_w%d[j], a%d, %d);\n",
                ql->out, n, i, n, n, i, l, ql->in);
        emit_requant(g, ql, i, "j", "acc", "        ");
        fprintf(g->f, "    }\n%s}\n\n", dsp_layer(ql) && ql->out % 4 == 0 ? "#endif\n" : "");
    }
}

static void emit_entry_int8(gen *g)
{
    const char *n = g->name;
    bool norm = g->norm;
    fprintf(g->f, "void %s_quantize(const float *x, int8_t *xq)\n{\n    int k;\n"
                  "    for (k = 0; k < %s_INPUTS; k++) {\n        float v = x[k];\n        int r;\n", n, n);
    if (norm) {
        fputs("        v = v - ", g->f);
        put_norm_term(g, "shift");
        fputs(";\n        v = v * ", g->f);
        put_norm_term(g, "scale");
        fputs(";\n", g->f);
    }
    fprintf(g->f, "        v = v / %s_INPUT_SCALE;\n"
                  "        if (!(v > -1048576.0f)) v = -1048576.0f; /* 2^20: (int) stays defined; NaN too */\n"
                  "        if (v > 1048576.0f) v = 1048576.0f;\n"
                  "        r = v >= 0.0f ? (int)(v + 0.5f) : -(int)(0.5f - v);\n"
                  "        r += %s_INPUT_ZERO_POINT;\n"
                  "        xq[k] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);\n    }\n}\n\n", n, n);
    fprintf(g->f, "void %s_predict_int8(const int8_t *xq, int8_t *yq)\n{\n", n);
    if (g->hidden) fprintf(g->f, "    int8_t a[2][%d]; /* the hidden layers' outputs, ping-pong */\n", g->hidden);
    emit_layer_calls(g, "xq", "yq");
    fprintf(g->f, "}\n\n");
    fprintf(g->f, "void %s_predict(const float *x, float *y)\n{\n"
                  "    int8_t xq[%s_INPUTS], yq[%s_OUTPUTS];\n    int j;\n"
                  "    %s_quantize(x, xq);\n    %s_predict_int8(xq, yq);\n"
                  "    for (j = 0; j < %s_OUTPUTS; j++) y[j] = %s_OUTPUT_SCALE * (float)(yq[j] - %s_OUTPUT_ZERO_POINT);\n",
            n, n, n, n, n, n, n, n);
    if (g->q->out_act == BP_ACT_SOFTMAX) fprintf(g->f, "    %s_softmax(y, %s_OUTPUTS);\n", n, n);
    fprintf(g->f, "}\n\n");
    if (g->classes) {
        /* one output: the largest q whose dequantized value is <= 0.5, as predict computes it */
        char thr[16] = "0";
        if (g->out == 1) {
            double s;
            int zp, t = -129;
            bp_qmodel_output_quant(g->q, &s, &zp);
            for (int v = -128; v <= 127; v++)
                if ((float)s * (float)(v - zp) <= 0.5f) t = v;
            snprintf(thr, sizeof thr, "%d", t);
        }
        fprintf(g->f, "int %s_classify(const float *x)\n{\n    int8_t xq[%s_INPUTS], yq[%s_OUTPUTS];\n"
                      "    %s_quantize(x, xq);\n    %s_predict_int8(xq, yq);\n", n, n, n, n, n);
        emit_classify_end(g, "yq", thr);
    }
}

/* ---------------------------------------------------------------- source */

static void emit_source(gen *g)
{
    FILE *f = g->f;
    fprintf(f, "/* %s.c - %s, generated by backprop %s: do not edit. %s.h says what it is\n"
               " * and how to call it; docs/EXPORT.md gives the arithmetic. C99, no malloc, no stdio. */\n"
               "#include \"%s.h\"\n", g->stem, g->q ? "an int8 neural network" : "a float32 neural network",
            BP_VERSION_STRING, g->stem, g->stem);
    bool need_math = !g->q ? (uses_act(g, BP_ACT_SIGMOID) || uses_act(g, BP_ACT_TANH) ||
                              uses_act(g, BP_ACT_SOFTMAX))
                           : g->q->out_act == BP_ACT_SOFTMAX;
    if (need_math) fprintf(f, "#include <math.h>\n");
    if (g->q && any_dsp_layer(g))
        fprintf(f, "#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)\n#include <arm_acle.h>\n"
                   "#include <string.h>\n#endif\n");
    fprintf(f, "\n");
    emit_labels(g);
    emit_normalization(g);
    emit_tensors(g);
    fprintf(f, "/* ---- the forward pass */\n\n");
    if (uses_act(g, BP_ACT_SOFTMAX)) emit_softmax(g);
    if (!g->q) {
        emit_helpers_float(g);
        emit_layers_float(g);
        emit_entry_float(g);
    } else {
        emit_helpers_int8(g);
        if (any_dsp_layer(g)) emit_helpers_dsp(g);
        emit_layers_int8(g);
        emit_entry_int8(g);
    }
}

/* ------------------------------------------------------------------ API */

bp_export_info bp_export_info_default(void)
{
    bp_export_info i = {NULL, -1, -1, NULL};
    return i;
}

typedef void (*emitter)(gen *g);

/* Runs one emitter into path's bp_file; a value that is not finite drops
 * the file (the old one stays). */
static bp_status emit_file(gen *g, emitter fn, const char *path)
{
    bp_file *file;
    bp_status st = bp_file_open(&file, path);
    if (st) return st;
    g->f = bp_file_stream(file);
    fn(g);
    g->f = NULL;
    if (!g->bad_value) return bp_file_commit(file);
    bp_file_abort(file);
    return bp__fail(BP_ERR_NUMERIC, "export: a parameter is not finite as a float32");
}

bp_status bp_model_export_c(const bp_model *m, const bp_qmodel *q, const char *path,
                            const char *name, const bp_export_info *info)
{
    if (!m || !path || !name) return bp__fail(BP_ERR_INVALID, "export: %s is NULL", !m ? "model" : !path ? "path" : "name");
    if (!is_identifier(name))
        return bp__fail(BP_ERR_INVALID, "export: name '%s' is not a C identifier (letters, digits "
                        "and '_', not starting with a digit)", name);
    size_t n = strlen(path);
    if (n < 3 || strcmp(path + n - 2, ".c") != 0 || path[n - 3] == '/')
        return bp__fail(BP_ERR_INVALID, "export: output '%s' must be a file name ending in .c", path);
    if (q && (q->n_layers != m->cfg.n_layers || memcmp(q->sizes, m->cfg.sizes, sizeof q->sizes)))
        return bp__fail(BP_ERR_INVALID, "export: the quantized model was not made from this model");
    gen g = {.m = m, .q = q, .name = name, .info = info, .L = m->cfg.n_layers,
             .in = m->cfg.sizes[0], .out = m->cfg.sizes[m->cfg.n_layers]};
    g.classes = bp_model_classes(m); /* the columns predict reports: 0 for a regressor */
    float *own = NULL; /* the float export's copy of the normalization */
    if (q && q->norm_shift) g.shift = q->norm_shift, g.scale = q->norm_scale;
    else if (!q && m->norm_shift) {
        if (!(own = bp__calloc(2 * (size_t)g.in, sizeof *own))) return BP_ERR_NOMEM;
        g.shift = own, g.scale = own + g.in;
        for (int k = 0; k < g.in; k++) g.shift[k] = (float)m->norm_shift[k], g.scale[k] = (float)m->norm_scale[k];
    }
    g.norm = g.shift != NULL;
    g.norm_uniform = g.norm;
    for (int k = 1; g.norm && k < g.in; k++)
        if (g.shift[k] != g.shift[0] || g.scale[k] != g.scale[0]) g.norm_uniform = false;
    for (int l = 1; l < g.L; l++) g.hidden = m->cfg.sizes[l] > g.hidden ? m->cfg.sizes[l] : g.hidden;
    char *hpath = bp__strdup(path);
    if (!hpath) {
        free(own);
        return BP_ERR_NOMEM;
    }
    hpath[n - 1] = 'h';
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char *stem = bp__strdup(base);
    if (!stem) {
        free(hpath), free(own);
        return BP_ERR_NOMEM;
    }
    stem[strlen(stem) - 2] = '\0';
    g.stem = stem;
    bp_status st = emit_file(&g, emit_header, hpath);
    if (!st) st = emit_file(&g, emit_source, path);
    free(hpath), free(stem), free(own);
    return st;
}
