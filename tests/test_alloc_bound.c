/* test_alloc_bound.c - no file makes a reader allocate more than a small
 * multiple of its own size plus a constant. Each hostile file is loaded in a
 * forked child whose address space is capped (RLIMIT_AS) at its current size
 * + 256 MiB + 64 x the file's size: a reader that trusted a size the file
 * merely claims would need gigabytes to exabytes there. The child must end
 * with the expected status and message, not with a crash. The IDX claims
 * (2^31 images, and 2^52 bytes) are in tests/test_data.c's capped test. */
#define _GNU_SOURCE /* memmem */
#include "util.h"
#include "onnx.h" /* the field numbers, and the protobuf writer to build hostile files */

#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/bp_test_alloc_bound.XXXXXX";
static char path[2][300];

static size_t file_size(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 ? (size_t)s.st_size : 0;
}

static void write_file(const char *p, const void *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) perror(p), abort();
}

/* A safetensors container: length prefix, the JSON, `data` zero bytes. */
static const char *container(const char *name, const char *json, size_t data)
{
    snprintf(path[0], sizeof path[0], "%s/%s", dir, name);
    size_t n = strlen(json);
    unsigned char *b = calloc(8 + n + data, 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    write_file(path[0], b, 8 + n + data);
    free(b);
    return path[0];
}

/* Runs fn in a child under the cap for a file of `size` bytes; fn returns
 * the status it got, and the child exits 0 when that status is `want` and
 * the message holds `text`. */
static void capped(const char *what, size_t size, bp_status (*fn)(void), bp_status want,
                   const char *text)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        unsigned long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (f && fscanf(f, "%lu", &pages) != 1) pages = 0;
        if (f) fclose(f);
        rlim_t lim = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20) +
                     64 * (rlim_t)size;
        struct rlimit rl = {lim, lim};
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
        bp_status st = fn();
        int ok = st == want && strstr(bp_last_error(), text);
        if (!ok) fprintf(stderr, "  %s: %s \"%s\"\n", what, bp_status_name(st), bp_last_error());
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait failed");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %s %d (want %s \"%s\")",
          what, WIFSIGNALED(status) ? "killed by signal" : "exited", WIFSIGNALED(status)
          ? WTERMSIG(status) : WEXITSTATUS(status), bp_status_name(want), text);
}

static bp_status load_model(void)
{
    bp_model *m = NULL;
    bp_status st = bp_model_load(&m, path[0], NULL);
    bp_model_free(m);
    return st;
}

#define META "\"__metadata__\":{\"format\":\"backprop\",\"format_version\":\"1\"," \
             "\"checksum\":\"crc32:00000000\",\"layer_sizes\":\"1000000000,1000000000\"," \
             "\"activations\":\"relu\",\"leaky_slope\":\"0.01\",\"loss\":\"mse\",\"init\":\"auto\"," \
             "\"seed\":\"1\"}"

static void test_model_file_claims(void)
{
    /* A header length of 99,999,999 bytes (under the 10^8 limit) in a tiny file. */
    const char *p = container("long-header", "{" META "}", 16);
    unsigned char b[8] = {0xff, 0xe0, 0xf5, 0x05, 0, 0, 0, 0};
    FILE *f = fopen(p, "r+b");
    fwrite(b, 1, 8, f);
    fclose(f);
    capped("header length past the end", file_size(p), load_model, BP_ERR_FORMAT,
           "runs past the end");
    /* A shape whose element count overflows 64 bits. */
    p = container("shape-overflow", "{" META ",\"layers.0.weight\":{\"dtype\":\"F32\","
                  "\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}", 16);
    capped("shape product overflows", file_size(p), load_model, BP_ERR_FORMAT,
           "more bytes than 2^64");
    /* A 10^9 x 10^9 layer (4 EB of weights) with offsets to match, over 16 bytes. */
    p = container("huge-layer", "{" META ",\"layers.0.weight\":{\"dtype\":\"F32\","
                  "\"shape\":[1000000000,1000000000],\"data_offsets\":[0,4000000000000000000]},"
                  "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1000000000],"
                  "\"data_offsets\":[4000000000000000000,4000000004000000000]}}", 16);
    capped("huge claimed layer", file_size(p), load_model, BP_ERR_FORMAT,
           "but the data section");
    /* The JSON itself: a shape of 10^6 ones is 2 MB of text and about 20 times
     * that as jansson's tree, the densest header there is; it must fit. */
    size_t n = 1000000;
    size_t cap = 2 * n + 1000;
    char *json = malloc(cap);
    size_t k = (size_t)snprintf(json, cap, "{" META ",\"junk\":{\"dtype\":\"U8\",\"shape\":[");
    for (size_t i = 0; i < n; i++) json[k++] = '1', json[k++] = ',';
    snprintf(json + k - 1, cap - k + 1, "],\"data_offsets\":[0,1]}}");
    p = container("json-tree", json, 1);
    free(json);
    capped("a 10^6-element shape", file_size(p), load_model, BP_ERR_FORMAT, "checksum mismatch");
}

/* A real checkpoint whose train.batch_size says 2^31 - 1: resuming it over 10
 * samples must size the batch buffers by the data, not by the claim. */
static bp_status resume_huge_batch(void)
{
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    bp_checkpoint_info info;
    bp_status st = bp_checkpoint_load(&m, &o, path[1], &info, NULL);
    if (!st && info.train.batch_size != INT_MAX) st = BP_ERR_INVALID; /* the patch failed */
    if (!st) st = bp_trainer_create(&t, m, o, &info.train);
    bp_real x[10 * 3], y[10 * 2];
    random_data(x, y, 10, 3, 2, BP_LOSS_XENT, 1);
    if (!st) bp_trainer_resume(t, &info), st = bp_trainer_epoch(t, x, y, 10, NULL);
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    return st;
}

/* Replaces `from` by `to` in the header of file src, writing dst. */
static bool patch_header(const char *src, const char *dst, const char *from, const char *to)
{
    FILE *f = fopen(src, "rb");
    unsigned char *b = malloc(1 << 16);
    size_t n = f ? fread(b, 1, 1 << 16, f) : 0;
    if (f) fclose(f);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | b[i];
    char *p = n > 8 + h ? memmem(b + 8, h, from, strlen(from)) : NULL;
    if (p) {
        size_t lf = strlen(from), lt = strlen(to), head = (size_t)((unsigned char *)p - b);
        unsigned char *o = malloc(n - lf + lt);
        memcpy(o, b, head);
        memcpy(o + head, to, lt);
        memcpy(o + head + lt, p + lf, n - head - lf);
        for (int i = 0; i < 8; i++) o[i] = (unsigned char)((h - lf + lt) >> (8 * i));
        write_file(dst, o, n - lf + lt);
        free(o);
    }
    free(b);
    return p != NULL;
}

static void test_checkpoint_batch_claim(void)
{
    const int sizes[] = {3, 5, 2};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 1);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 2;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    snprintf(path[0], sizeof path[0], "%s/ckpt", dir);
    snprintf(path[1], sizeof path[1], "%s/ckpt-huge-batch", dir);
    CHECK_OK(bp_checkpoint_save(t, path[0], NULL));
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    CHECK(patch_header(path[0], path[1], "\"train.batch_size\":\"2\"",
                       "\"train.batch_size\":\"2147483647\""), "patch");
    capped("checkpoint batch size 2^31 - 1", file_size(path[1]), resume_huge_batch, BP_OK, "");
}

/* CSV has no size claims, but its per-field records must stay proportional:
 * two rows of 2^20 - 1 inputs and a target (4 MiB), then one column more
 * than the reader takes. */
static const char *wide_csv(const char *name, size_t cols)
{
    snprintf(path[0], sizeof path[0], "%s/%s", dir, name);
    size_t n = 2 * 2 * cols;
    char *b = malloc(n);
    for (size_t i = 0; i < n; i += 2) b[i] = i % (2 * cols) < cols ? '0' : '1', b[i + 1] = ',';
    b[2 * cols - 1] = b[n - 1] = '\n';
    write_file(path[0], b, n);
    free(b);
    return path[0];
}

static bp_status load_csv(void)
{
    bp_dataset *d = NULL;
    bp_csv_options o = bp_csv_options_default();
    o.header = 0;
    bp_status st = bp_dataset_load_csv(&d, path[0], &o);
    bp_dataset_free(d);
    return st;
}

static void test_csv_wide(void)
{
    const char *p = wide_csv("wide.csv", (size_t)1 << 20);
    capped("CSV of 2^20 columns", file_size(p), load_csv, BP_OK, "");
    p = wide_csv("wider.csv", ((size_t)1 << 20) + 1);
    capped("CSV of 2^20 + 1 columns", file_size(p), load_csv, BP_ERR_FORMAT, "more than 1048576 columns");
}

/* An ONNX file whose Gemm weight claims (2^31 - 1) x (2^31 - 1) floats (and
 * whose graph claims a huge input width) but holds 8 bytes of them: refused
 * from the counts the file holds, before anything is sized by the claim. */
static void test_onnx_claims(void)
{
    bp__pbw w = {0};
    size_t g = bp__pbw_begin(&w, ONNX_MODEL_GRAPH);
    size_t n = bp__pbw_begin(&w, ONNX_GRAPH_NODE);
    bp__pbw_string_field(&w, ONNX_NODE_INPUT, "x");
    bp__pbw_string_field(&w, ONNX_NODE_INPUT, "w");
    bp__pbw_string_field(&w, ONNX_NODE_OUTPUT, "y");
    bp__pbw_string_field(&w, ONNX_NODE_OP, "MatMul");
    bp__pbw_end(&w, n);
    size_t t = bp__pbw_begin(&w, ONNX_GRAPH_INIT);
    bp__pbw_varint_field(&w, ONNX_TENSOR_DIMS, INT32_MAX);
    bp__pbw_varint_field(&w, ONNX_TENSOR_DIMS, INT32_MAX);
    bp__pbw_varint_field(&w, ONNX_TENSOR_TYPE, ONNX_FLOAT);
    bp__pbw_string_field(&w, ONNX_TENSOR_NAME, "w");
    bp__pbw_bytes_field(&w, ONNX_TENSOR_RAW, "\0\0\0\0\0\0\0\0", 8);
    bp__pbw_end(&w, t);
    bp__pbw_end(&w, g);
    size_t o = bp__pbw_begin(&w, ONNX_MODEL_OPSET);
    bp__pbw_varint_field(&w, ONNX_OPSET_VERSION, 13);
    bp__pbw_end(&w, o);
    CHECK(!w.failed, "building the file");
    snprintf(path[0], sizeof path[0], "%s/claims.onnx", dir);
    write_file(path[0], w.buf, w.len);
    capped("ONNX weight claim", w.len, load_model, BP_ERR_FORMAT,
           "raw_data holds 2 values, its dimensions say 4611686014132420609");
    bp__pbw_free(&w);
}

int main(void)
{
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    bp_set_threads(1);
    RUN(test_model_file_claims);
    RUN(test_checkpoint_batch_claim);
    RUN(test_csv_wide);
    RUN(test_onnx_claims);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_alloc_bound");
}
