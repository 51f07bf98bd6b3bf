/* gen_corpus.c - writes the fuzzers' seed corpora: valid model files and
 * checkpoints made by the library, valid CSV and IDX files, and broken
 * variants of each (truncated, lying headers, bad quoting, ...).
 *
 *   gen_corpus DIR    writes DIR/corpus_{modelfile,csv,idx}/ (they must exist)
 *
 * `make fuzz-corpus` runs it for both precisions into tests/fuzz/; the files
 * are committed so that `make fuzz` starts from them. */
#include "backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *dir;
static const char *real = sizeof(bp_real) == 8 ? "f64" : "f32";

static void put(const char *sub, const char *name, const void *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/corpus_%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) perror(path), exit(1);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) perror(path), exit(1);
    unsigned char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static void put_gz(const char *sub, const char *name, const void *b, size_t n)
{
    unsigned char out[1 << 16];
    z_stream z = {0};
    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)(uintptr_t)b, z.avail_in = (uInt)n;
    z.next_out = out, z.avail_out = sizeof out;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) exit(1);
    put(sub, name, out, z.total_out);
    deflateEnd(&z);
}

/* ------------------------------------------------------------ model files */

static bp_model *model(int n_layers, const int *sizes, const bp_activation *acts, bp_loss loss,
                       int extras)
{
    bp_model_config c = bp_model_config_default();
    c.n_layers = n_layers, c.loss = loss, c.seed = 7;
    for (int l = 0; l <= n_layers; l++) c.sizes[l] = sizes[l];
    for (int l = 0; l < n_layers; l++) c.act[l] = acts[l];
    bp_model *m;
    if (bp_model_create(&m, &c)) fprintf(stderr, "%s\n", bp_last_error()), exit(1);
    if (extras) {
        bp_real shift[8] = {0.5, -1, 2, 0, 0, 0, 0, 0}, scale[8] = {2, 0.25, 1, 1, 1, 1, 1, 1};
        const char *labels[2] = {"cat", "d\xc3\xb6g"};
        bp_model_set_normalization(m, shift, scale);
        if (sizes[n_layers] == 2) bp_model_set_labels(m, 2, labels);
    }
    return m;
}

/* Saves through the library (the temporary file beside DIR), then copies the
 * bytes into the corpus; also writes damaged variants of the first file. */
static void save_model(const char *name, bp_model *m, bp_optim *o, bp_trainer *t, int damage)
{
    char tmp[512], full[128];
    snprintf(tmp, sizeof tmp, "%s/gen.tmp", dir);
    bp_extra *x;
    bp_extra_create(&x);
    bp_extra_set(x, "history", "[{\"epoch\":1,\"loss\":0.5}]");
    bp_status st = o ? bp_checkpoint_save(t, tmp, x) : bp_model_save(m, tmp, x);
    bp_extra_free(x);
    if (st) fprintf(stderr, "%s\n", bp_last_error()), exit(1);
    size_t n;
    unsigned char *b = slurp(tmp, &n);
    remove(tmp);
    snprintf(full, sizeof full, "%s-%s", name, real);
    put("modelfile", full, b, n);
    if (damage) {
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--) h = h << 8 | b[i];
        snprintf(full, sizeof full, "%s-%s-truncated", name, real);
        put("modelfile", full, b, n - 5);
        snprintf(full, sizeof full, "%s-%s-cut-header", name, real);
        put("modelfile", full, b, 8 + h / 2);
        snprintf(full, sizeof full, "%s-%s-flipped-data", name, real);
        b[n - 3] ^= 0x40;
        put("modelfile", full, b, n);
        b[n - 3] ^= 0x40;
        snprintf(full, sizeof full, "%s-%s-long-header", name, real);
        b[0] = (unsigned char)(h + 1000), b[1] = (unsigned char)((h + 1000) >> 8);
        put("modelfile", full, b, n);
    }
    free(b);
}

static void model_files(void)
{
    int s1[] = {3, 4, 2}, s2[] = {2, 1}, s3[] = {3, 4, 3, 2};
    bp_activation a1[] = {BP_ACT_LEAKY_RELU, BP_ACT_SOFTMAX}, a2[] = {BP_ACT_SIGMOID},
                  a3[] = {BP_ACT_TANH, BP_ACT_RELU, BP_ACT_IDENTITY};
    bp_model *m = model(2, s1, a1, BP_LOSS_XENT, 1);
    save_model("model-xent", m, NULL, NULL, 1);
    bp_model_free(m);
    m = model(1, s2, a2, BP_LOSS_BCE, 0);
    save_model("model-bce-bare", m, NULL, NULL, 0);
    bp_model_free(m);
    static const bp_optim_kind kinds[] = {BP_OPTIM_ADAM, BP_OPTIM_MOMENTUM, BP_OPTIM_RMSPROP,
                                          BP_OPTIM_SGD};
    for (int k = 0; k < 4; k++) {
        m = model(3, s3, a3, BP_LOSS_MSE, k == 0);
        bp_optim_config oc = bp_optim_config_default(kinds[k]);
        if (kinds[k] == BP_OPTIM_RMSPROP) oc.momentum = 0.5;
        bp_optim *o;
        bp_train_config tc = bp_train_config_default();
        tc.batch_size = 2;
        bp_trainer *t;
        bp_optim_create(&o, &oc, bp_model_param_count(m));
        bp_trainer_create(&t, m, o, &tc);
        bp_real x[3 * 3] = {0.1, 0.2, 0.3, -1, 0, 1, 2, 2, 2}, y[3 * 2] = {1, 0, 0, 1, 0.5, 0.5};
        bp_trainer_epoch(t, x, y, 3, NULL);
        char name[64];
        snprintf(name, sizeof name, "ckpt-%s", bp_optim_name(kinds[k]));
        save_model(name, m, o, t, k == 0);
        if (k == 0) { /* stopped after the first batch: partial sums, next_batch 1 */
            bp_trainer_request_stop(t);
            bp_trainer_epoch(t, x, y, 3, NULL);
            save_model("ckpt-adam-interrupted", m, o, t, 0);
        }
        bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    }
    if (sizeof(bp_real) == 8) return; /* hand-made files once */
    put("modelfile", "empty", "", 0);
    put("modelfile", "eight-bytes", "\2\0\0\0\0\0\0\0", 8);
    put("modelfile", "empty-object", "\2\0\0\0\0\0\0\0{}", 10);
    const char *j = "{\"__metadata__\":{\"format\":\"backprop\",\"format_version\":\"1\"},"
                    "\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
                    "\"data_offsets\":[0,0]}}";
    unsigned char b[512] = {(unsigned char)strlen(j)};
    memcpy(b + 8, j, strlen(j));
    put("modelfile", "shape-overflow", b, 8 + strlen(j));
}

/* ------------------------------------------------------------------- CSV */

static void csv(const char *name, const char *text)
{
    put("csv", name, text, strlen(text));
}

static void csv_files(void)
{
    if (sizeof(bp_real) == 8) return;
    csv("header-strings.csv", "a,b,label\n1,2,cat\n3.5,-4e2,dog\n0,0,cat\n");
    csv("numeric-classes.csv", "1,2,0\n3,4,1\n5,6,2\n7,8,1\n");
    csv("regression.csv", "x,y\n0.5,1.25\n1e-3,-7\n2,3.75\n");
    csv("quoted.csv", "\"a,1\",b,label\n\"1\",\" 2 \",\"x\"\"y\"\n3,4,\"line\nbreak\"\n5,6,\"x\"\"y\"\n");
    csv("crlf-bom-blank.csv", "\xEF\xBB\xBFh1,h2,t\r\n\r\n1,2,a\r\n  \r\n3,4,b\r\n");
    csv("semicolon.csv", "p;q;r\n1,5;2;0\n3;4;1\n");
    csv("tab.tsv", "x\ty\tz\n1\t2\t3.5\n4\t5\t6.5\n");
    csv("fixed-labels.csv", "f,g,label,y\n1,2,a,0\n3,4,b c,1\n5,6,1.0,2\n");
    csv("no-target.csv", "1;2;3\n4;5;6\n");
    csv("ragged.csv", "1,2,3\n4,5\n");
    csv("unclosed.csv", "1,\"2,3\n4,5,6\n");
    csv("after-quote.csv", "1,\"2\"x,3\n");
    csv("nonfinite.csv", "1,nan,0\n2,inf,1\n1e999,3,0\n");
    csv("header-only.csv", "a,b,c\n");
    csv("one-class.csv", "1,2,a\n3,4,a\n");
    csv("mixed-target.csv", "1,2,3\n4,5,x\n");
    put("csv", "nul.csv", "1,2,3\n4,\0,6\n", 12);
    const char *g = "x,y,c\n1,2,a\n3,4,b\n5,6,a\n";
    put_gz("csv", "gzip.csv.gz", g, strlen(g));
}

/* ------------------------------------------------------------------- IDX */

static size_t idx(unsigned char *b, int type, int nd, const uint32_t *dims, const void *data,
                  size_t len)
{
    size_t p = 4;
    b[0] = b[1] = 0, b[2] = (unsigned char)type, b[3] = (unsigned char)nd;
    for (int i = 0; i < nd; i++)
        for (int k = 3; k >= 0; k--) b[p++] = (unsigned char)(dims[i] >> (8 * k));
    memcpy(b + p, data, len);
    return p + len;
}

static void idx_files(void)
{
    if (sizeof(bp_real) == 8) return;
    static const unsigned char px[24] = {0, 1, 2, 3, 10, 20, 30, 40, 255, 254, 128, 7,
                                         9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 99, 100};
    static const unsigned char lab[3] = {3, 0, 9};
    unsigned char b[256];
    uint32_t d3[3] = {3, 2, 2}, d1[1] = {3}, d4[4] = {2, 3, 2, 2}, huge[3] = {0x80000000u, 28, 28};
    size_t n = idx(b, 8, 3, d3, px, 12);
    put("idx", "images", b, n);
    put_gz("idx", "images.gz", b, n);
    n += idx(b + n, 8, 1, d1, lab, 3);
    put("idx", "images+labels", b, n);
    static const unsigned char big[3] = {3, 200, 11}; /* more than 10 classes */
    n = idx(b, 8, 3, d3, px, 12);
    n += idx(b + n, 8, 1, d1, big, 3);
    put("idx", "images+labels-200", b, n);
    put("idx", "4d", b, idx(b, 8, 4, d4, px, 24));
    put("idx", "truncated", b, idx(b, 8, 3, d3, px, 7));
    put("idx", "huge-claim", b, idx(b, 8, 3, huge, px, 16));
    uint32_t zero[3] = {3, 0, 2};
    put("idx", "zero-dim", b, idx(b, 8, 3, zero, px, 12));
    put("idx", "float-type", b, idx(b, 0x0D, 3, d3, px, 12));
    n = idx(b, 8, 3, d3, px, 12);
    uint32_t d2[1] = {2};
    n += idx(b + n, 8, 1, d2, lab, 2);
    put("idx", "count-mismatch", b, n);
    put("idx", "bad-magic", "\x12\x34\x08\x03\0\0\0\1", 8);
}

int main(int argc, char **argv)
{
    if (argc != 2) return fprintf(stderr, "usage: gen_corpus DIR\n"), 2;
    dir = argv[1];
    model_files();
    csv_files();
    idx_files();
    return 0;
}
