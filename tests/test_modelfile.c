/* test_modelfile.c - model files and checkpoints: exact round trips, byte-identical
 * output, atomic saves, and a loader that turns every kind of damage (flipped,
 * truncated, hostile or inconsistent) into a clean error. */
#include "util.h"
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


static bool same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = read_all(a, &na), *y = read_all(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x), free(y);
    return same;
}

static int count_entries(const char *d)
{
    DIR *dp = opendir(d);
    int n = 0;
    for (struct dirent *e; dp && (e = readdir(dp));) n += e->d_name[0] != '.';
    if (dp) closedir(dp);
    return n;
}

static uint64_t header_len(const unsigned char *b)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
    return n;
}

static void put_len(unsigned char *b, uint64_t n)
{
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
}

/* Copies src to dst with the first `from` in the header replaced by `to`
 * (the header length updated); false if `from` is not in the header. */
static bool patch(const char *src, const char *dst, const char *from, const char *to)
{
    size_t n;
    unsigned char *b = read_all(src, &n);
    uint64_t h = header_len(b);
    char *hdr = calloc(h + 1, 1);
    memcpy(hdr, b + 8, h);
    char *p = strstr(hdr, from);
    if (!p) {
        free(hdr), free(b);
        return false;
    }
    size_t lf = strlen(from), lt = strlen(to), nh = h - lf + lt;
    unsigned char *o = malloc(n - h + nh);
    put_len(o, nh);
    memcpy(o + 8, hdr, (size_t)(p - hdr));
    memcpy(o + 8 + (p - hdr), to, lt);
    memcpy(o + 8 + (p - hdr) + lt, p + lf, h - (size_t)(p - hdr) - lf);
    memcpy(o + 8 + nh, b + 8 + h, n - 8 - h);
    write_all(dst, o, n - h + nh);
    free(o), free(hdr), free(b);
    return true;
}

/* Loads path expecting status `want` and a message containing `text`. */
#define LOAD_FAILS(path, want, text)                                                    \
    do {                                                                                \
        bp_model *m_ = (bp_model *)1;                                                   \
        bp_status st_ = bp_model_load(&m_, path, NULL);                                 \
        CHECK(st_ == (want) && m_ == NULL && strstr(bp_last_error(), text),              \
              "%s: got %s \"%s\", want %s \"%s\"", path, bp_status_name(st_),          \
              bp_last_error(), bp_status_name(want), text);                             \
        bp_model_free(m_ == (bp_model *)1 ? NULL : m_);                                 \
    } while (0)

/* 3 -> 4 -> 3 -> 2: tanh, leaky_relu, softmax, with labels and normalization. */
static bp_model *sample_model(uint64_t seed)
{
    int sizes[] = {3, 4, 3, 2};
    bp_activation acts[] = {BP_ACT_TANH, BP_ACT_LEAKY_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(3, sizes, acts, BP_LOSS_XENT, seed);
    bp_real shift[3] = {(bp_real)0.5, -1, (bp_real)1e-3}, scale[3] = {2, (bp_real)0.1, 3};
    const char *labels[] = {"cat", "d\xc3\xb6g \"quoted\""};
    bp_model_set_normalization(m, shift, scale);
    bp_model_set_labels(m, 2, labels);
    return m;
}

static bp_extra *sample_meta(void)
{
    bp_extra *x;
    bp_extra_create(&x);
    bp_extra_set(x, "history", "[{\"epoch\":1,\"loss\":0.5}]");
    bp_extra_set(x, "command", "backprop train --epochs 3");
    return x;
}

static bool same_params(bp_model *a, bp_model *b)
{
    return bp_model_param_count(a) == bp_model_param_count(b) &&
           memcmp(bp_model_params(a), bp_model_params(b),
                  bp_model_param_count(a) * sizeof(bp_real)) == 0;
}

/* ------------------------------------------------------------------ cases */

static void test_extra_map(void)
{
    bp_extra *x;
    CHECK_OK(bp_extra_create(&x));
    CHECK(bp_extra_count(x) == 0 && bp_extra_get(x, "a") == NULL, "empty map");
    CHECK_OK(bp_extra_set(x, "a", "1"));
    CHECK_OK(bp_extra_set(x, "b", "2"));
    CHECK_OK(bp_extra_set(x, "a", "3")); /* replaced in place */
    CHECK(bp_extra_count(x) == 2, "count %d", bp_extra_count(x));
    CHECK(!strcmp(bp_extra_key(x, 0), "a") && !strcmp(bp_extra_value(x, 0), "3"), "entry 0");
    CHECK(!strcmp(bp_extra_key(x, 1), "b") && !strcmp(bp_extra_get(x, "b"), "2"), "entry 1");
    CHECK(bp_extra_key(x, 2) == NULL && bp_extra_value(x, -1) == NULL, "out of range");
    CHECK(bp_extra_set(x, "", "v") == BP_ERR_INVALID, "empty key refused");
    CHECK_OK(bp_extra_set(x, "a", NULL)); /* removes */
    CHECK(bp_extra_count(x) == 1 && !strcmp(bp_extra_key(x, 0), "b"), "after removal");
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        CHECK_OK(bp_extra_set(x, k, k));
    }
    CHECK(bp_extra_count(x) == 101 && !strcmp(bp_extra_get(x, "k99"), "k99"), "grows");
    bp_extra_free(x);
    bp_extra_free(NULL);
}

static void test_round_trip(void)
{
    bp_model *m = sample_model(7), *r = NULL;
    bp_extra *x = sample_meta(), *rx = NULL;
    CHECK_OK(bp_model_save(m, at("rt.safetensors"), x));
    CHECK_OK(bp_model_load(&r, at("rt.safetensors"), &rx));
    if (!r) goto out;
    CHECK(same_params(m, r), "parameters differ");
    const bp_model_config *a = bp_model_cfg(m), *b = bp_model_cfg(r);
    CHECK(a->n_layers == b->n_layers && a->loss == b->loss && a->init == b->init &&
          a->seed == b->seed && a->leaky_slope == b->leaky_slope, "config differs");
    for (int l = 0; l < a->n_layers; l++)
        CHECK(a->sizes[l + 1] == b->sizes[l + 1] && a->act[l] == b->act[l], "layer %d", l);
    CHECK(a->sizes[0] == b->sizes[0], "inputs");
    CHECK(bp_model_norm_shift(r) && !memcmp(bp_model_norm_shift(m), bp_model_norm_shift(r), 3 * sizeof(bp_real)) &&
          !memcmp(bp_model_norm_scale(m), bp_model_norm_scale(r), 3 * sizeof(bp_real)), "normalization");
    CHECK(bp_model_label_count(r) == 2 && !strcmp(bp_model_label(r, 1), bp_model_label(m, 1)), "labels");
    CHECK(bp_extra_count(rx) == 2, "extra count %d", bp_extra_count(rx));
    for (int i = 0; i < bp_extra_count(x); i++)
        CHECK(!strcmp(bp_extra_key(x, i), bp_extra_key(rx, i)) &&
              !strcmp(bp_extra_value(x, i), bp_extra_value(rx, i)), "extra %d", i);
out:
    bp_model_free(m), bp_model_free(r);
    bp_extra_free(x), bp_extra_free(rx);
}

/* A model with no normalization, labels or extras round-trips as such. */
static void test_round_trip_bare(void)
{
    int sizes[] = {2, 1};
    bp_activation acts[] = {BP_ACT_IDENTITY};
    bp_model *m = make_model(1, sizes, acts, BP_LOSS_MSE, 3), *r = NULL;
    bp_extra *rx = NULL;
    CHECK_OK(bp_model_save(m, at("bare.safetensors"), NULL));
    CHECK_OK(bp_model_load(&r, at("bare.safetensors"), &rx));
    CHECK(r && same_params(m, r) && !bp_model_norm_shift(r) && bp_model_label_count(r) == 0 &&
          rx && bp_extra_count(rx) == 0, "bare round trip");
    bp_model_free(m), bp_model_free(r), bp_extra_free(rx);
}

static void test_identical_bytes(void)
{
    bp_model *m = sample_model(11), *r = NULL;
    bp_extra *x = sample_meta(), *rx = NULL;
    CHECK_OK(bp_model_save(m, at("b1.safetensors"), x));
    CHECK_OK(bp_model_save(m, at("b2.safetensors"), x));
    CHECK(same_file(at("b1.safetensors"), at("b2.safetensors")), "save twice: bytes differ");
    CHECK_OK(bp_model_load(&r, at("b1.safetensors"), &rx));
    if (r) CHECK_OK(bp_model_save(r, at("b3.safetensors"), rx));
    CHECK(same_file(at("b1.safetensors"), at("b3.safetensors")), "save/load/save: bytes differ");
    size_t n;
    unsigned char *b = read_all(at("b1.safetensors"), &n);
    CHECK(header_len(b) % 8 == 0, "header length %llu not padded to 8", (unsigned long long)header_len(b));
    free(b);
    bp_model_free(m), bp_model_free(r), bp_extra_free(x), bp_extra_free(rx);
}

static void test_no_temp_left(void)
{
    int before = count_entries(dir);
    bp_model *m = sample_model(1);
    CHECK_OK(bp_model_save(m, at("tmp.safetensors"), NULL));
    CHECK_OK(bp_model_save(m, at("tmp.safetensors"), NULL)); /* replacing */
    CHECK(count_entries(dir) == before + 1, "%d entries, expected %d", count_entries(dir), before + 1);
    struct stat s;
    mode_t mask = umask(022); /* 0666 less the umask, as fopen gives (test_file_output.py: 077 too) */
    umask(mask);
    CHECK(stat(at("tmp.safetensors"), &s) == 0 && (s.st_mode & 0777) == (0666 & ~mask), "mode %o",
          (unsigned)(s.st_mode & 0777));
    bp_model_free(m);
}

static void test_flipped_bytes(void)
{
    bp_model *m = sample_model(5);
    bp_model_save(m, at("flip.safetensors"), NULL);
    size_t n;
    unsigned char *b = read_all(at("flip.safetensors"), &n);
    size_t data = 8 + (size_t)header_len(b);
    int clean = 0;
    for (size_t i = data; i < n; i++) {
        b[i] ^= 0x10;
        write_all(at("flipped.safetensors"), b, n);
        b[i] ^= 0x10;
        bp_model *r = NULL;
        bp_status st = bp_model_load(&r, at("flipped.safetensors"), NULL);
        clean += st == BP_ERR_FORMAT && !r && strstr(bp_last_error(), "checksum mismatch");
        bp_model_free(r);
    }
    CHECK(clean == (int)(n - data), "%d of %zu flips reported as checksum mismatch", clean, n - data);
    free(b);
    bp_model_free(m);
}

static void test_truncated(void)
{
    bp_model *m = sample_model(5);
    bp_model_save(m, at("full.safetensors"), NULL);
    size_t n;
    unsigned char *b = read_all(at("full.safetensors"), &n);
    int clean = 0;
    for (size_t len = 0; len < n; len++) {
        write_all(at("cut.safetensors"), b, len);
        bp_model *r = NULL;
        bp_status st = bp_model_load(&r, at("cut.safetensors"), NULL);
        clean += st == BP_ERR_FORMAT && !r && strstr(bp_last_error(), "cut.safetensors");
        bp_model_free(r);
    }
    CHECK(clean == (int)n, "%d of %zu truncations failed cleanly", clean, n);
    free(b);
    bp_model_free(m);
}

static void test_header_bounds(void)
{
    bp_model *m = sample_model(5);
    bp_model_save(m, at("hb.safetensors"), NULL);
    size_t n;
    unsigned char *b = read_all(at("hb.safetensors"), &n);
    put_len(b, n - 7); /* one byte more than the file has after the prefix */
    write_all(at("hb_long.safetensors"), b, n);
    LOAD_FAILS(at("hb_long.safetensors"), BP_ERR_FORMAT, "runs past the end");
    put_len(b, 200000000); /* under 4 GiB, the shape of safetensors, but over its limit */
    write_all(at("hb_big.safetensors"), b, n);
    LOAD_FAILS(at("hb_big.safetensors"), BP_ERR_FORMAT, "exceeds the limit");
    /* bytes 4-7 not zero: no safetensors file (nor ONNX), said as such */
    put_len(b, (uint64_t)1 << 63);
    write_all(at("hb_huge.safetensors"), b, n);
    LOAD_FAILS(at("hb_huge.safetensors"), BP_ERR_FORMAT,
               "not a model file (safetensors or ONNX): it looks like binary data");
    put_len(b, UINT64_MAX);
    write_all(at("hb_max.safetensors"), b, n);
    LOAD_FAILS(at("hb_max.safetensors"), BP_ERR_FORMAT, "not a model file (safetensors or ONNX)");
    put_len(b, 0);
    write_all(at("hb_zero.safetensors"), b, n);
    LOAD_FAILS(at("hb_zero.safetensors"), BP_ERR_FORMAT, "header JSON, line");
    free(b);
    bp_model_free(m);
    LOAD_FAILS(at("does-not-exist"), BP_ERR_IO, "No such file");
    LOAD_FAILS(dir, BP_ERR_IO, "not a regular file");
}

static void test_garbage_json(void)
{
    const char *s = "\x10\0\0\0\0\0\0\0{\"a\": [1, 2,, }";
    write_all(at("garbage.safetensors"), s, 24);
    LOAD_FAILS(at("garbage.safetensors"), BP_ERR_FORMAT, "line 1, column");
    const char *t = "\x08\0\0\0\0\0\0\0[1,2,3] ";
    write_all(at("array.safetensors"), t, 16);
    LOAD_FAILS(at("array.safetensors"), BP_ERR_FORMAT, "not an object");
    const char *u = "\x02\0\0\0\0\0\0\0{}";
    write_all(at("empty.safetensors"), u, 10);
    LOAD_FAILS(at("empty.safetensors"), BP_ERR_FORMAT, "no __metadata__");
}

/* Each edit of a valid file's header, and the error it must give. */
static void test_bad_headers(void)
{
    bp_model *m = sample_model(5);
    bp_model_save(m, at("good.safetensors"), NULL);
    bp_model_free(m);
    static const struct { const char *from, *to, *error; } cases[] = {
        {"\"shape\":[4,3]", "\"shape\":[3,4]", "shape [3, 4], the architecture needs [4, 3]"},
        {"\"shape\":[4,3]", "\"shape\":[12]", "shape [12], the architecture needs [4, 3]"},
        {"\"shape\":[4,3]", "\"shape\":[4,3,1]", "shape [4, 3, ...]"},
        {"\"shape\":[4,3]", "\"shape\":[4611686018427387904,4]", "more bytes than 2^64"},
        {"\"shape\":[4,3]", "\"shape\":[1073741824,3]", "elements need"},
        {"\"shape\":[4,3]", "\"shape\":[4,-3]", "shape[1] is not a non-negative integer"},
        {"\"shape\":[4,3]", "\"shape\":[4,3.0]", "shape[1] is not a non-negative integer"},
        {"\"shape\":[4,3]", "\"shape\":[4,99999999999999999999999]", "header JSON"},
        {"\"dtype\":\"F", "\"dtype\":\"Q", "is not a safetensors dtype"},
        {"tanh,", "tanhh,", "unknown activation 'tanhh'"},
        {"\"loss\":\"xent\"", "\"loss\":\"hinge\"", "__metadata__ \"loss\""},
        {"\"init\":\"auto\"", "\"init\":\"zero\"", "__metadata__ \"init\""},
        {"\"loss\":\"xent\"", "\"loss\":\"bce\"", "loss bce needs a sigmoid output"},
        {"\"layer_sizes\":\"3,4,3,2\"", "\"layer_sizes\":\"3,4,x,2\"", "positive integers"},
        {"\"layer_sizes\":\"3,4,3,2\"", "\"layer_sizes\":\"3,4,0,2\"", "positive integers"},
        {"\"layer_sizes\":\"3,4,3,2\"", "\"layer_sizes\":\"3,4,3,2,\"", "positive integers"},
        {"\"layer_sizes\":\"3,4,3,2\"", "\"layer_sizes\":\"3\"", "expected 2 to"},
        {"\"layer_sizes\":\"3,4,3,2\"",
         "\"layer_sizes\":\"1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\"",
         "expected 2 to"},
        {"\"layer_sizes\":\"3,4,3,2\"", "\"layer_sizes\":\"3,4,3,2,2\"", "one activation per layer"},
        {"\"leaky_slope\":\"0.01\"", "\"leaky_slope\":\"nan\"", "not a finite number"},
        {"\"leaky_slope\":\"0.01\"", "\"leaky_slope\":\"1e999\"", "not a finite number"},
        {"\"seed\":\"5\"", "\"seed\":5", "\"seed\" is not a string"},
        {"\"seed\":\"5\"", "\"seed\":\"-5\"", "not an unsigned integer"},
        {"\"seed\":\"5\"", "\"seed\":\"99999999999999999999\"", "not an unsigned integer"},
        {"\"format\":\"backprop\"", "\"format\":\"pt\"", "\"format\" is \"pt\""},
        {"\"format_version\":\"2\"", "\"format_version\":\"3\"", "reads versions 1 to 2"},
        {"\"format_version\":\"2\"", "\"format_version\":\"0\"", "reads versions 1 to 2"},
        {"\"checksum\":\"crc32:", "\"checksum\":\"md5:", "\"checksum\" is md5:"},
        {"\"checksum\":\"crc32:", "\"checksum\":\"crc32:0", "8 hex digits"},
        {"\"labels\":\"[", "\"labels\":\"[1,", "JSON array of strings"},
        {"\"labels\":\"[", "\"labels\":\"[\\\"x\\\",", "holds 3 names for a model with 2 outputs"},
        {"layers.2.bias", "layers.2.biaz", "tensor \"layers.2.bias\" is missing"},
        {"normalization.scale", "normalization.scalx", "\"normalization.scale\" is missing"},
        {"\"format\":\"backprop\"", "\"format\":\"backprop\",\"format\":\"backprop\"", "duplicate"},
        {"\"__metadata__\":{", "\"__metadata__\":{\"x\":{},", "\"x\" is not a string"},
        {"}}", "}}x", "end of file expected"},
        {"\"layers.1.bias\":{", "\"junk\":7,\"layers.1.bias\":{", "\"junk\": entry is not an object"},
    };
    char name[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(name, sizeof name, "bad%zu.safetensors", i);
        bool found = patch(at("good.safetensors"), at(name), cases[i].from, cases[i].to);
        CHECK(found, "case %zu: '%s' not in the header", i, cases[i].from);
        if (found) LOAD_FAILS(at(name), BP_ERR_FORMAT, cases[i].error);
    }
    /* Offsets: layers.0.weight is [0, 12 E), layers.0.bias [12 E, 16 E). */
    size_t E = sizeof(bp_real);
    char w[64], b[64], to[64];
    snprintf(w, sizeof w, "\"data_offsets\":[0,%zu]", 12 * E);
    snprintf(b, sizeof b, "\"data_offsets\":[%zu,%zu]", 12 * E, 16 * E);
    const struct { const char *from; size_t to0, to1; const char *error; } offs[] = {
        {w, 8, 12 * E + 8, "should begin at 0"},                    /* gap, then overlap */
        {b, 12 * E - 8, 16 * E - 8, "should begin at"},             /* overlaps the weight */
        {w, 12 * E, 0, "0 <= begin <= end"},
        {w, 0, (size_t)1 << 62, "data_offsets [0, 4611686018427387904] hold"},
    };
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        snprintf(to, sizeof to, "\"data_offsets\":[%zu,%zu]", offs[i].to0, offs[i].to1);
        bool found = patch(at("good.safetensors"), at("badoff.safetensors"), offs[i].from, to);
        CHECK(found, "offsets case %zu: '%s' not in the header", i, offs[i].from);
        if (found) LOAD_FAILS(at("badoff.safetensors"), BP_ERR_FORMAT, offs[i].error);
    }
    CHECK(patch(at("good.safetensors"), at("badoff.safetensors"), w, "\"data_offsets\":[0]"), "patch");
    LOAD_FAILS(at("badoff.safetensors"), BP_ERR_FORMAT, "data_offsets must be");
}

/* Extra tensors (of any dtype) and unknown metadata keys are ignored. */
static void test_extra_tensors_ignored(void)
{
    bp_model *m = sample_model(5), *r = NULL;
    bp_model_save(m, at("ext.safetensors"), NULL);
    size_t n;
    unsigned char *b = read_all(at("ext.safetensors"), &n);
    uint64_t h = header_len(b), data = n - 8 - h;
    /* An extra 2-byte BF16 tensor at the end of the data and a metadata key. */
    char *hdr = calloc(h + 200, 1);
    memcpy(hdr, b + 8, h);
    while (hdr[strlen(hdr) - 1] == ' ') hdr[strlen(hdr) - 1] = '\0';
    hdr[strlen(hdr) - 1] = '\0'; /* the closing brace */
    char extra[128];
    snprintf(extra, sizeof extra, ",\"aux\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[%llu,%llu]}}",
             (unsigned long long)data, (unsigned long long)data + 2);
    strcat(hdr, extra);
    char *p = strstr(hdr, "\"checksum\"");
    size_t nh = strlen(hdr);
    unsigned char *o = calloc(8 + nh + data + 2, 1);
    put_len(o, nh);
    memcpy(o + 8 + nh, b + 8 + h, data);
    o[8 + nh + data] = 0x80, o[8 + nh + data + 1] = 0x3f;
    char crc[16];
    snprintf(crc, sizeof crc, "%08lx", crc32(0, o + 8 + nh, (uInt)(data + 2)));
    memcpy(p + strlen("\"checksum\":\"crc32:"), crc, 8);
    memcpy(o + 8, hdr, nh);
    write_all(at("ext2.safetensors"), o, 8 + nh + data + 2);
    CHECK_OK(bp_model_load(&r, at("ext2.safetensors"), NULL));
    CHECK(r && same_params(m, r), "extra tensor changed the model");
    free(o), free(hdr), free(b);
    bp_model_free(m), bp_model_free(r);
}

/* Writes a 1-layer 2 -> 1 identity model file by hand with the given dtype
 * and values (w0, w1, b), its checksum computed here. */
static void write_dtype_file(const char *path, bool f64, const double v[3], bool add_nan)
{
    unsigned char data[24];
    size_t es = f64 ? 8 : 4;
    for (int i = 0; i < 3; i++) {
        double d = add_nan && i == 1 ? NAN : v[i];
        float x = (float)d;
        memcpy(data + i * es, f64 ? (void *)&d : (void *)&x, es);
    }
    char hdr[1024];
    int nh = snprintf(hdr, sizeof hdr,
        "{\"__metadata__\":{\"format\":\"backprop\",\"format_version\":\"1\","
        "\"checksum\":\"crc32:%08lx\",\"layer_sizes\":\"2,1\",\"activations\":\"identity\","
        "\"leaky_slope\":\"0.01\",\"loss\":\"mse\",\"init\":\"auto\",\"seed\":\"0\"},"
        "\"layers.0.bias\":{\"dtype\":\"%s\",\"shape\":[1],\"data_offsets\":[%zu,%zu]},"
        "\"layers.0.weight\":{\"dtype\":\"%s\",\"shape\":[1,2],\"data_offsets\":[0,%zu]}}",
        crc32(0, data, (uInt)(3 * es)), f64 ? "F64" : "F32", 2 * es, 3 * es,
        f64 ? "F64" : "F32", 2 * es);
    unsigned char out[1100];
    put_len(out, (uint64_t)nh);
    memcpy(out + 8, hdr, (size_t)nh);
    memcpy(out + 8 + nh, data, 3 * es);
    write_all(path, out, 8 + (size_t)nh + 3 * es);
}

/* Both dtypes load in either build; a hand-written file (header in another
 * order than ours, no padding) checks that the reader follows the format. */
static void test_dtypes(void)
{
    const double v[3] = {0.25, -1.5, 1e-3};
    for (int f64 = 0; f64 < 2; f64++) {
        write_dtype_file(at("dt.safetensors"), f64, v, false);
        bp_model *r = NULL;
        CHECK_OK(bp_model_load(&r, at("dt.safetensors"), NULL));
        if (!r) continue;
        bp_real *p = bp_model_params(r);
        for (int i = 0; i < 3; i++)
            CHECK(p[i] == (bp_real)(f64 ? v[i] : (double)(float)v[i]), "%s value %d = %g",
                  f64 ? "F64" : "F32", i, (double)p[i]);
        bp_model_free(r);
        write_dtype_file(at("dtnan.safetensors"), f64, v, true);
        LOAD_FAILS(at("dtnan.safetensors"), BP_ERR_FORMAT, "element 1 is nan");
    }
    /* A double too large for a float loads in the float64 build only. */
    const double big[3] = {1e300, 0, 0};
    write_dtype_file(at("dtbig.safetensors"), true, big, false);
    if (TEST_DOUBLE) {
        bp_model *r = NULL;
        CHECK_OK(bp_model_load(&r, at("dtbig.safetensors"), NULL));
        bp_model_free(r);
    } else {
        LOAD_FAILS(at("dtbig.safetensors"), BP_ERR_FORMAT, "element 0 is inf as a float32");
    }
}

static void test_save_refuses_nonfinite(void)
{
    bp_model *m = sample_model(2);
    CHECK_OK(bp_model_save(m, at("nf.safetensors"), NULL));
    size_t n0, n1;
    unsigned char *before = read_all(at("nf.safetensors"), &n0);
    bp_model_bias(m, 1)[2] = (bp_real)INFINITY;
    bp_status st = bp_model_save(m, at("nf.safetensors"), NULL);
    CHECK(st == BP_ERR_NUMERIC && strstr(bp_last_error(), "layers.1.bias[2] is inf"), "%s: %s",
          bp_status_name(st), bp_last_error());
    unsigned char *after = read_all(at("nf.safetensors"), &n1);
    CHECK(n0 == n1 && !memcmp(before, after, n0), "old file changed");
    free(before), free(after);
    bp_model_free(m);
}

static void test_save_io_errors(void)
{
    bp_model *m = sample_model(2);
    bp_extra *x = sample_meta();
    bp_model_save(m, at("plain"), NULL);
    /* A path under a regular file: ENOTDIR even for root. */
    bp_status st = bp_model_save(m, at("plain/model.safetensors"), NULL);
    CHECK(st == BP_ERR_IO && strstr(bp_last_error(), "plain/model.safetensors") &&
          strstr(bp_last_error(), "Not a directory"), "%s: %s", bp_status_name(st), bp_last_error());
    st = bp_model_save(m, at("no-such-dir/model.safetensors"), NULL);
    CHECK(st == BP_ERR_IO && strstr(bp_last_error(), "No such file"), "%s: %s",
          bp_status_name(st), bp_last_error());
    /* A directory in the way: refused before writing; the directory stays, no temp file. */
    mkdir(at("adir"), 0755);
    int before = count_entries(dir);
    st = bp_model_save(m, at("adir"), NULL);
    CHECK(st == BP_ERR_IO && strstr(bp_last_error(), "Is a directory"), "%s: %s",
          bp_status_name(st), bp_last_error());
    CHECK(count_entries(dir) == before, "temporary file left behind");
    /* A full disk (a file size limit): the write fails, the old file stays. */
    CHECK_OK(bp_model_save(m, at("old.safetensors"), NULL));
    struct rlimit old, small = {200, 0};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    bp_model_bias(m, 0)[0] += 1;
    st = bp_model_save(m, at("old.safetensors"), x);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK(st == BP_ERR_IO && strstr(bp_last_error(), "unchanged"), "%s: %s",
          bp_status_name(st), bp_last_error());
    CHECK(count_entries(dir) == before + 1, "temporary file left behind after a failed write");
    bp_model *r = NULL;
    CHECK_OK(bp_model_load(&r, at("old.safetensors"), NULL));
    CHECK(r && bp_model_bias(r, 0)[0] == bp_model_bias(m, 0)[0] - 1, "old file not intact");
    bp_model_free(r), bp_model_free(m), bp_extra_free(x);
    CHECK(bp_model_save(NULL, at("x"), NULL) == BP_ERR_INVALID, "NULL model");
}

/* JSON holds UTF-8 only: a byte string that is not is refused, nothing written. */
static void test_save_refuses_bad_utf8(void)
{
    bp_model *m = sample_model(2);
    bp_extra *x = sample_meta();
    bp_extra_set(x, "note", "caf\xe9");
    int before = count_entries(dir);
    bp_status st = bp_model_save(m, at("utf8.safetensors"), x);
    CHECK(st == BP_ERR_INVALID && strstr(bp_last_error(), "user.note"), "%s: %s",
          bp_status_name(st), bp_last_error());
    const char *bad[] = {"ok", "\xff"};
    bp_model_set_labels(m, 2, bad);
    st = bp_model_save(m, at("utf8.safetensors"), NULL);
    CHECK(st == BP_ERR_INVALID && strstr(bp_last_error(), "labels"), "%s: %s",
          bp_status_name(st), bp_last_error());
    CHECK(count_entries(dir) == before, "a file was written");
    bp_model_free(m), bp_extra_free(x);
}

/* ------------------------------------------------------------ checkpoints */

#define N_SAMPLES 23

typedef struct run {
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
} run;

static void run_free(run *r)
{
    bp_trainer_free(r->t), bp_optim_free(r->o), bp_model_free(r->m);
}

static bool epochs(run *r, const bp_real *x, const bp_real *y, int k)
{
    for (int e = 0; e < k; e++)
        if (bp_trainer_epoch(r->t, x, y, N_SAMPLES, NULL)) return false;
    return true;
}

/* Trains, checkpoints, trains k more epochs; then resumes from the checkpoint
 * for the same k epochs: the parameters must agree bit for bit. With
 * `interrupt`, the checkpoint is taken in the middle of an epoch. */
static void checkpoint_case(bp_optim_config oc, bool interrupt)
{
    int sizes[] = {4, 6, 3};
    bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SOFTMAX};
    bp_real x[N_SAMPLES * 4], y[N_SAMPLES * 3];
    random_data(x, y, N_SAMPLES, 4, 3, BP_LOSS_XENT, 99);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 5, tc.seed = 1234;
    run a = {make_model(2, sizes, acts, BP_LOSS_XENT, 17), NULL, NULL}, b = {0};
    bp_checkpoint_info info;
    bp_extra *rx = NULL, *x0 = sample_meta();
    const char *name = bp_optim_name(oc.kind);
    CHECK_OK(bp_optim_create(&a.o, &oc, bp_model_param_count(a.m)));
    CHECK_OK(bp_trainer_create(&a.t, a.m, a.o, &tc));
    if (!a.t) goto out;
    CHECK(epochs(&a, x, y, 2), "%s: training failed: %s", name, bp_last_error());
    if (interrupt) {
        bp_trainer_request_stop(a.t);
        CHECK(bp_trainer_epoch(a.t, x, y, N_SAMPLES, NULL) == BP_ERR_INTERRUPTED, "not interrupted");
        CHECK(bp_trainer_next_batch(a.t) == 1, "next batch %zu", bp_trainer_next_batch(a.t));
    }
    CHECK_OK(bp_checkpoint_save(a.t, at("ck.safetensors"), x0));
    CHECK(epochs(&a, x, y, 3), "%s: training failed", name);

    CHECK_OK(bp_checkpoint_load(&b.m, &b.o, at("ck.safetensors"), &info, &rx));
    if (!b.o) goto out;
    CHECK(info.train.batch_size == 5 && info.train.shuffle == 1 && info.train.seed == 1234 &&
          info.epochs_done == 2 && info.next_batch == (interrupt ? 1u : 0u), "%s: info", name);
    CHECK(rx && bp_extra_get(rx, "history") && !strcmp(bp_extra_get(rx, "history"), bp_extra_get(x0, "history")), "extra");
    const bp_optim_config *lc = bp_optim_cfg(b.o);
    CHECK(memcmp(&oc, lc, sizeof oc) == 0 || (lc->kind == oc.kind && lc->lr == oc.lr &&
          lc->momentum == oc.momentum && lc->beta1 == oc.beta1 && lc->beta2 == oc.beta2 &&
          lc->alpha == oc.alpha && lc->eps == oc.eps && lc->eps_inside_sqrt == oc.eps_inside_sqrt &&
          lc->weight_decay == oc.weight_decay && lc->clip_norm == oc.clip_norm), "%s: config", name);
    CHECK_OK(bp_trainer_create(&b.t, b.m, b.o, &info.train));
    if (!b.t) goto out;
    bp_trainer_resume(b.t, &info);
    /* Save/load/save of a checkpoint is byte-identical too. */
    CHECK_OK(bp_checkpoint_save(b.t, at("ck2.safetensors"), rx));
    CHECK(same_file(at("ck.safetensors"), at("ck2.safetensors")), "%s: checkpoint bytes differ", name);
    CHECK(epochs(&b, x, y, 3), "%s: resumed training failed", name);
    CHECK(same_params(a.m, b.m), "%s%s: resumed parameters differ", name, interrupt ? " (interrupted)" : "");
    CHECK(bp_optim_steps(a.o) == bp_optim_steps(b.o), "%s: steps %llu vs %llu", name,
          (unsigned long long)bp_optim_steps(a.o), (unsigned long long)bp_optim_steps(b.o));
    CHECK(bp_trainer_epochs_done(a.t) == bp_trainer_epochs_done(b.t), "epochs");
    for (int s = 0; s < bp_optim_state_count(a.o); s++)
        CHECK(!memcmp(bp_optim_state(a.o, s), bp_optim_state(b.o, s),
                      bp_model_param_count(a.m) * sizeof(bp_real)), "%s: state %d", name, s);
out:
    run_free(&a), run_free(&b);
    bp_extra_free(rx), bp_extra_free(x0);
}

static void test_checkpoint_resume(void)
{
    for (int k = 0; k < BP_OPTIM_COUNT_; k++) {
        bp_optim_config oc = bp_optim_config_default((bp_optim_kind)k);
        oc.lr = 0.03;
        if (k == BP_OPTIM_RMSPROP) oc.momentum = 0.5; /* two state slots */
        if (k == BP_OPTIM_ADAM) oc.weight_decay = 1e-4, oc.clip_norm = 0.7;
        checkpoint_case(oc, false);
    }
}

static void test_checkpoint_resume_interrupted(void)
{
    checkpoint_case(bp_optim_config_default(BP_OPTIM_ADAM), true);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.eps_inside_sqrt = 1, oc.lr = 0.1 / 3;
    checkpoint_case(oc, true);
}

/* A checkpoint loads as a model; a model file is not a checkpoint. */
static void test_checkpoint_vs_model(void)
{
    bp_model *m = sample_model(3), *r = NULL, *cm = NULL;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_optim *o = NULL, *co = NULL;
    bp_trainer *t = NULL;
    bp_train_config tc = bp_train_config_default();
    bp_checkpoint_info info;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    CHECK_OK(bp_checkpoint_save(t, at("ckm.safetensors"), NULL));
    CHECK_OK(bp_model_load(&r, at("ckm.safetensors"), NULL));
    CHECK(r && same_params(m, r) && bp_model_label_count(r) == 2, "checkpoint as model");
    bp_model_save(m, at("plainm.safetensors"), NULL);
    bp_status st = bp_checkpoint_load(&cm, &co, at("plainm.safetensors"), &info, NULL);
    CHECK(st == BP_ERR_FORMAT && !cm && !co && strstr(bp_last_error(), "not a checkpoint"), "%s: %s",
          bp_status_name(st), bp_last_error());
    /* A checkpoint missing one optimizer tensor. */
    CHECK(patch(at("ckm.safetensors"), at("ckbad.safetensors"), "optim.v.layers.1.bias", "optim.v.layers.1.bias_"), "patch");
    st = bp_checkpoint_load(&cm, &co, at("ckbad.safetensors"), &info, NULL);
    CHECK(st == BP_ERR_FORMAT && !cm && !co && strstr(bp_last_error(), "\"optim.v.layers.1.bias\" is missing"),
          "%s: %s", bp_status_name(st), bp_last_error());
    CHECK(patch(at("ckm.safetensors"), at("ckbad2.safetensors"), "\"train.rng\":\"", "\"train.rng\":\"x"), "patch");
    st = bp_checkpoint_load(&cm, &co, at("ckbad2.safetensors"), &info, NULL);
    CHECK(st == BP_ERR_FORMAT && strstr(bp_last_error(), "train.rng"), "%s", bp_last_error());
    CHECK(patch(at("ckm.safetensors"), at("ckbad3.safetensors"), "\"optim.lr\":\"", "\"optim.lr\":\"-"), "patch");
    st = bp_checkpoint_load(&cm, &co, at("ckbad3.safetensors"), &info, NULL);
    CHECK(st == BP_ERR_FORMAT && strstr(bp_last_error(), "lr = -0.001"), "%s", bp_last_error());
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m), bp_model_free(r);
}

/* bp_checkpoint_save takes the model and optimizer from the trainer: they are
 * the trainer's (so they cannot disagree), and a trainer made for
 * bp_trainer_objective alone (opt NULL) has nothing to checkpoint. */
static void test_checkpoint_from_trainer(void)
{
    bp_model *m = sample_model(3);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_SGD);
    bp_optim *o = NULL;
    bp_trainer *t = NULL, *no_opt = NULL;
    bp_train_config tc = bp_train_config_default();
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    CHECK_OK(bp_trainer_create(&no_opt, m, NULL, &tc));
    CHECK(bp_trainer_model(t) == m && bp_trainer_optim(t) == o && bp_trainer_optim(no_opt) == NULL,
          "trainer's model and optimizer");
    bp_status st = bp_checkpoint_save(no_opt, at("ck_noopt.safetensors"), NULL);
    CHECK(st == BP_ERR_INVALID && strstr(bp_last_error(), "no optimizer"), "%s: %s", bp_status_name(st),
          bp_last_error());
    CHECK(access(at("ck_noopt.safetensors"), F_OK) != 0, "nothing written without an optimizer");
    st = bp_checkpoint_save(NULL, at("ck_noopt.safetensors"), NULL);
    CHECK(st == BP_ERR_INVALID, "NULL trainer: %s", bp_status_name(st));
    bp_trainer_free(no_opt), bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
}

int main(void)
{
    if (tmpdir_make("modelfile")) return 1;
    RUN(test_extra_map);
    RUN(test_round_trip);
    RUN(test_round_trip_bare);
    RUN(test_identical_bytes);
    RUN(test_no_temp_left);
    RUN(test_flipped_bytes);
    RUN(test_truncated);
    RUN(test_header_bounds);
    RUN(test_garbage_json);
    RUN(test_bad_headers);
    RUN(test_extra_tensors_ignored);
    RUN(test_dtypes);
    RUN(test_save_refuses_nonfinite);
    RUN(test_save_io_errors);
    RUN(test_save_refuses_bad_utf8);
    RUN(test_checkpoint_resume);
    RUN(test_checkpoint_resume_interrupted);
    RUN(test_checkpoint_vs_model);
    RUN(test_checkpoint_from_trainer);
    tmpdir_remove();
    return test_summary("test_modelfile");
}
