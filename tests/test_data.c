/* test_data.c - the data layer: bp_dataset, split, normalization, the CSV
 * and IDX readers and data set specs. Files are written into a mkdtemp
 * directory; every error case checks the status and the message. */
#include "test.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];
static char *created[64];
static int n_created;

/* tmpdir/name; the returned buffer lives until cleanup() removes the file. */
static const char *tpath(const char *name)
{
    char *p = malloc(strlen(tmpdir) + strlen(name) + 2);
    if (!p) abort();
    sprintf(p, "%s/%s", tmpdir, name);
    for (int i = 0; i < n_created; i++)
        if (strcmp(created[i], p) == 0) {
            free(p);
            return created[i];
        }
    if (n_created == 64) abort();
    return created[n_created++] = p;
}

static void cleanup(void)
{
    for (int i = 0; i < n_created; i++) {
        unlink(created[i]);
        free(created[i]);
    }
    const char *subdirs[] = {"mnist", "fashion-mnist", ""};
    for (int i = 0; i < 3; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", tmpdir, subdirs[i]);
        rmdir(p);
    }
}

static const char *write_bytes(const char *name, const void *data, size_t len, int gz)
{
    const char *path = tpath(name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || gzwrite(f, data, (unsigned)len) != (int)len || gzclose(f) != Z_OK) abort();
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) abort();
    }
    return path;
}

static const char *write_text(const char *name, const char *text)
{
    return write_bytes(name, text, strlen(text), 0);
}

/* Loads text as t.csv with opt (NULL: defaults). */
static bp_status load_text(bp_dataset **d, const char *text, const bp_csv_options *opt)
{
    return bp_dataset_load_csv(d, write_text("t.csv", text), opt);
}

/* The load must fail with status `want` and a message holding both needles. */
#define CHECK_FAILS(call, want, needle1, needle2)                                 \
    do {                                                                          \
        bp_dataset *d_ = (bp_dataset *)1;                                         \
        bp_status st_ = call(&d_);                                                \
        const char *m_ = bp_last_error();                                         \
        CHECK(st_ == (want), "status %s, want %s (%s)", bp_status_name(st_),      \
              bp_status_name(want), m_);                                          \
        CHECK(d_ == NULL, "output not NULL on failure");                          \
        CHECK(strstr(m_, needle1) && strstr(m_, needle2),                         \
              "message \"%s\" lacks \"%s\" or \"%s\"", m_, needle1, needle2);     \
        if (st_ == BP_OK) bp_dataset_free(d_);                                    \
    } while (0)

static const char *csv_text;
static bp_csv_options csv_opt;
static bp_status load_csv_text(bp_dataset **d) { return load_text(d, csv_text, &csv_opt); }

/* The CSV `text` with options `o` must fail with BP_ERR_FORMAT naming both needles. */
#define CSV_FAILS(text, o, needle1, needle2)                                      \
    do {                                                                          \
        csv_text = (text);                                                        \
        csv_opt = (o);                                                            \
        CHECK_FAILS(load_csv_text, BP_ERR_FORMAT, needle1, needle2);              \
    } while (0)

static void check_row(bp_dataset *d, size_t i, const double *x, const double *y)
{
    int m = bp_dataset_inputs(d), k = bp_dataset_outputs(d);
    for (int j = 0; j < m; j++) CHECK_CLOSE(bp_dataset_x(d)[i * (size_t)m + (size_t)j], x[j], 1e-6);
    for (int j = 0; j < k; j++) CHECK_CLOSE(bp_dataset_y(d)[i * (size_t)k + (size_t)j], y[j], 1e-6);
}

static void check_labels(const bp_dataset *d, int n, const char *const *want)
{
    CHECK(bp_dataset_label_count(d) == n, "%d labels, want %d", bp_dataset_label_count(d), n);
    for (int i = 0; i < n && i < bp_dataset_label_count(d); i++)
        CHECK(strcmp(bp_dataset_label(d, i), want[i]) == 0, "label %d \"%s\", want \"%s\"", i,
              bp_dataset_label(d, i), want[i]);
}

/* ------------------------------------------------------------ bp_dataset */

static void test_dataset_basics(void)
{
    bp_dataset_free(NULL);
    bp_dataset *d;
    CHECK(bp_dataset_create(&d, 0, 2, 1) == BP_ERR_INVALID && d == NULL, "n = 0 accepted");
    CHECK(bp_dataset_create(&d, 3, 0, 1) == BP_ERR_INVALID, "0 inputs accepted");
    CHECK(bp_dataset_create(&d, SIZE_MAX / 2, 4, 1) == BP_ERR_NOMEM, "overflow not caught");
    CHECK_OK(bp_dataset_create(&d, 3, 2, 2));
    CHECK(bp_dataset_count(d) == 3 && bp_dataset_inputs(d) == 2 && bp_dataset_outputs(d) == 2, "sizes");
    CHECK(bp_dataset_x(d)[5] == 0 && bp_dataset_y(d)[5] == 0, "not zeroed");
    CHECK(!bp_dataset_is_classification(d) && bp_dataset_labels(d) == NULL, "labels at start");
    CHECK(bp_dataset_set_labels(d, 3, NULL) == BP_ERR_INVALID, "3 labels for 2 outputs");
    CHECK_OK(bp_dataset_set_labels(d, 2, NULL));
    check_labels(d, 2, (const char *[]){"0", "1"});
    const char *names[] = {"cat", "dog"};
    CHECK_OK(bp_dataset_set_labels(d, 2, names));
    check_labels(d, 2, names);
    CHECK(bp_dataset_is_classification(d), "not classification");
    CHECK(bp_dataset_label(d, 2) == NULL && bp_dataset_label(d, -1) == NULL, "out of range label");
    CHECK_OK(bp_dataset_set_labels(d, 0, NULL));
    CHECK(!bp_dataset_is_classification(d), "labels not cleared");
    bp_dataset_free(d);
}

static bp_dataset *numbered(size_t n)
{
    /* x = (i, -i), y = one-hot of i % 2 */
    bp_dataset *d;
    if (bp_dataset_create(&d, n, 2, 2)) abort();
    for (size_t i = 0; i < n; i++) {
        bp_dataset_x(d)[2 * i] = (bp_real)i;
        bp_dataset_x(d)[2 * i + 1] = -(bp_real)i;
        bp_dataset_y(d)[2 * i + i % 2] = 1;
    }
    bp_dataset_set_labels(d, 2, (const char *[]){"even", "odd"});
    return d;
}

static void test_dataset_subset(void)
{
    bp_dataset *d = numbered(5), *s;
    size_t idx[] = {4, 1, 1};
    CHECK_OK(bp_dataset_subset(&s, d, idx, 3));
    CHECK(bp_dataset_count(s) == 3, "count");
    check_row(s, 0, (double[]){4, -4}, (double[]){1, 0});
    check_row(s, 2, (double[]){1, -1}, (double[]){0, 1});
    check_labels(s, 2, (const char *[]){"even", "odd"});
    bp_dataset_free(s);
    size_t bad[] = {0, 5};
    CHECK(bp_dataset_subset(&s, d, bad, 2) == BP_ERR_INVALID && s == NULL, "index 5 of 5 accepted");
    CHECK(strstr(bp_last_error(), "index 5"), "%s", bp_last_error());
    bp_dataset_free(d);
}

/* Values of column 0 (the sample numbers) of a split part. */
static void split_ids(bp_dataset *p, size_t *ids)
{
    for (size_t i = 0; i < bp_dataset_count(p); i++) ids[i] = (size_t)bp_dataset_x(p)[2 * i];
}

static void test_dataset_split(void)
{
    bp_dataset *d = numbered(100), *tr, *va, *tr2, *va2;
    CHECK_OK(bp_dataset_split(&tr, &va, d, 0.2, 42));
    CHECK(bp_dataset_count(tr) == 80 && bp_dataset_count(va) == 20, "sizes %zu %zu",
          bp_dataset_count(tr), bp_dataset_count(va));
    size_t a[100], b[100], seen[100] = {0};
    split_ids(tr, a);
    split_ids(va, b);
    for (size_t i = 0; i < 80; i++) seen[a[i]]++;
    for (size_t i = 0; i < 20; i++) seen[b[i]]++;
    int partition = 1, ordered = 1;
    for (size_t i = 0; i < 100; i++) partition &= seen[i] == 1;
    for (size_t i = 1; i < 80; i++) ordered &= a[i] > a[i - 1];
    for (size_t i = 1; i < 20; i++) ordered &= b[i] > b[i - 1];
    CHECK(partition, "the parts are not a partition of the samples");
    CHECK(ordered, "the parts do not keep the original order");
    check_row(va, 0, (double[]){(double)b[0], -(double)b[0]},
              (double[]){b[0] % 2 == 0, b[0] % 2 == 1});
    check_labels(va, 2, (const char *[]){"even", "odd"});
    /* Same seed, same split; another seed, another one. */
    CHECK_OK(bp_dataset_split(&tr2, &va2, d, 0.2, 42));
    size_t c[20];
    split_ids(va2, c);
    CHECK(memcmp(b, c, sizeof c) == 0, "same seed, different split");
    bp_dataset_free(tr2);
    bp_dataset_free(va2);
    CHECK_OK(bp_dataset_split(&tr2, &va2, d, 0.2, 43));
    split_ids(va2, c);
    CHECK(memcmp(b, c, sizeof c) != 0, "another seed, same split");
    bp_dataset_free(tr2);
    bp_dataset_free(va2);
    bp_dataset_free(tr);
    bp_dataset_free(va);
    /* Rounding, and parts that would be empty. */
    CHECK_OK(bp_dataset_split(&tr, &va, d, 0.333, 1));
    CHECK(bp_dataset_count(va) == 33, "round(33.3) = %zu", bp_dataset_count(va));
    bp_dataset_free(tr);
    bp_dataset_free(va);
    CHECK(bp_dataset_split(&tr, &va, d, 0.001, 1) == BP_ERR_INVALID && !tr && !va, "empty val");
    CHECK(strstr(bp_last_error(), "empty"), "%s", bp_last_error());
    CHECK(bp_dataset_split(&tr, &va, d, 1.0, 1) == BP_ERR_INVALID, "empty train");
    CHECK(bp_dataset_split(&tr, &va, d, -0.5, 1) == BP_ERR_INVALID, "negative fraction");
    CHECK(bp_dataset_split(&tr, &va, d, NAN, 1) == BP_ERR_INVALID, "NaN fraction");
    bp_dataset_free(d);
}

/* ---------------------------------------------------------- normalization */

static void test_normalization(void)
{
    bp_norm_kind k;
    CHECK_OK(bp_norm_from_name("standard", &k));
    CHECK(k == BP_NORM_STANDARD && strcmp(bp_norm_name(BP_NORM_SCALE), "scale") == 0, "names");
    CHECK(bp_norm_from_name("zscore", &k) == BP_ERR_INVALID, "unknown name accepted");
    CHECK(strstr(bp_last_error(), "zscore"), "%s", bp_last_error());
    for (int i = 0; i < BP_NORM_COUNT_; i++) {
        CHECK_OK(bp_norm_from_name(bp_norm_name((bp_norm_kind)i), &k));
        CHECK((int)k == i, "round trip %d", i);
    }
    /* Columns: 1 3 5 (spread 4), 5 5 5 (constant), 2 4 9 (spread 7). */
    bp_dataset *d;
    CHECK_OK(bp_dataset_create(&d, 3, 3, 1));
    const bp_real x[9] = {1, 5, 2, 3, 5, 4, 5, 5, 9};
    memcpy(bp_dataset_x(d), x, sizeof x);
    bp_real shift[3], scale[3];
    CHECK_OK(bp_normalization_compute(d, BP_NORM_NONE, shift, scale));
    for (int j = 0; j < 3; j++) CHECK(shift[j] == 0 && scale[j] == 1, "none %d", j);
    CHECK_OK(bp_normalization_compute(d, BP_NORM_SCALE, shift, scale));
    const double smin[3] = {1, 5, 2}, sscale[3] = {1.0 / 4, 1, 1.0 / 7};
    for (int j = 0; j < 3; j++) {
        CHECK_CLOSE(shift[j], smin[j], 1e-7);
        CHECK_CLOSE(scale[j], sscale[j], 1e-7);
    }
    CHECK_OK(bp_normalization_compute(d, BP_NORM_STANDARD, shift, scale));
    /* Population std: sqrt(((1-3)^2 + 0 + (5-3)^2) / 3), sqrt((9 + 1 + 16) / 3). */
    const double mean[3] = {3, 5, 5}, sd[3] = {sqrt(8.0 / 3), 0, sqrt(26.0 / 3)};
    for (int j = 0; j < 3; j++) {
        CHECK_CLOSE(shift[j], mean[j], 1e-7);
        CHECK_CLOSE(scale[j], sd[j] ? 1 / sd[j] : 1, 1e-6);
    }
    CHECK(bp_normalization_compute(d, (bp_norm_kind)7, shift, scale) == BP_ERR_INVALID, "kind 7");
    bp_dataset_free(d);
}

/* ------------------------------------------------------------------ CSV */

static void test_csv_header_string_labels(void)
{
    bp_dataset *d;
    CHECK_OK(load_text(&d, "a,b,label\n1,2,cat\n3,4.5,dog\n-5,6e1,cat\n", NULL));
    if (!d) return;
    CHECK(bp_dataset_count(d) == 3 && bp_dataset_inputs(d) == 2 && bp_dataset_outputs(d) == 2,
          "shape %zu %d %d", bp_dataset_count(d), bp_dataset_inputs(d), bp_dataset_outputs(d));
    check_labels(d, 2, (const char *[]){"cat", "dog"});
    check_row(d, 0, (double[]){1, 2}, (double[]){1, 0});
    check_row(d, 1, (double[]){3, 4.5}, (double[]){0, 1});
    check_row(d, 2, (double[]){-5, 60}, (double[]){1, 0});
    bp_dataset_free(d);
}

static void test_csv_no_header(void)
{
    bp_dataset *d;
    /* A string label in the first row does not make it a header. */
    CHECK_OK(load_text(&d, "1.5,2,cat\n3,4,dog\n", NULL));
    if (d) {
        CHECK(bp_dataset_count(d) == 2, "count %zu", bp_dataset_count(d));
        check_row(d, 0, (double[]){1.5, 2}, (double[]){1, 0});
        bp_dataset_free(d);
    }
    CHECK_OK(load_text(&d, "1,2,0\n3,4,1\n5,6,1\n", NULL));
    if (d) {
        CHECK(bp_dataset_count(d) == 3 && bp_dataset_outputs(d) == 2, "integer classes");
        check_labels(d, 2, (const char *[]){"0", "1"});
        bp_dataset_free(d);
    }
    /* header = 1 forces it, header = 0 makes a word row an error. */
    bp_csv_options o = bp_csv_options_default();
    o.header = 1;
    o.task = BP_TASK_REGRESSION;
    CHECK_OK(load_text(&d, "1,2,3\n4,5,6\n7,8,9\n", &o));
    if (d) {
        CHECK(bp_dataset_count(d) == 2, "forced header: %zu rows", bp_dataset_count(d));
        check_row(d, 0, (double[]){4, 5}, (double[]){6});
        bp_dataset_free(d);
    }
    o = bp_csv_options_default();
    o.header = 0;
    CSV_FAILS("a,b,c\n1,2,3\n", o, "t.csv:1:1:", "\"a\" is not a number");
}

static void test_csv_quoted(void)
{
    bp_dataset *d;
    const char *text = "\"x,1\",\"y\"\"\",\"la\nbel\"\n"
                       "\"1\", 2 ,\"a,b\"\n"
                       "3,\"4\",\"say \"\"hi\"\"\"\n"
                       "5 , 6,\"a,b\"\n";
    bp_csv_options o = bp_csv_options_default();
    o.target_name = "la\nbel";
    CHECK_OK(load_text(&d, text, &o));
    if (!d) return;
    CHECK(bp_dataset_count(d) == 3, "count %zu", bp_dataset_count(d));
    check_labels(d, 2, (const char *[]){"a,b", "say \"hi\""});
    check_row(d, 0, (double[]){1, 2}, (double[]){1, 0});
    check_row(d, 1, (double[]){3, 4}, (double[]){0, 1});
    check_row(d, 2, (double[]){5, 6}, (double[]){1, 0});
    bp_dataset_free(d);
    /* Line numbers count the line break inside the quoted header field. */
    CSV_FAILS("\"a\nb\",c,y\n1,x,0.5\n", bp_csv_options_default(), "t.csv:3:3:", "\"x\" is not a number");
    CSV_FAILS("a,b\n1,\"2\n", bp_csv_options_default(), "t.csv:2:3:", "not closed");
    CSV_FAILS("a,b\n1,\"2\"x\n", bp_csv_options_default(), "t.csv:2:6:", "after a closing quote");
}

static void test_csv_crlf_and_blank_lines(void)
{
    bp_dataset *d;
    CHECK_OK(load_text(&d, "a,b,y\r\n1,2,0.5\r\n\r\n3,4,1.5\r\n\r\n  \r\n\n", NULL));
    if (d) {
        CHECK(bp_dataset_count(d) == 2 && bp_dataset_outputs(d) == 1, "count %zu",
              bp_dataset_count(d));
        CHECK(!bp_dataset_is_classification(d), "0.5, 1.5 taken as classes");
        check_row(d, 1, (double[]){3, 4}, (double[]){1.5});
        bp_dataset_free(d);
    }
    CHECK_OK(load_text(&d, "1,2,3.5\n4,5,6.5", NULL)); /* no final newline */
    if (d) {
        CHECK(bp_dataset_count(d) == 2, "count %zu", bp_dataset_count(d));
        check_row(d, 1, (double[]){4, 5}, (double[]){6.5});
        bp_dataset_free(d);
    }
    /* A UTF-8 byte order mark is skipped: the header's first name is "a". */
    bp_csv_options o = bp_csv_options_default();
    o.target_name = "a";
    CHECK_OK(load_text(&d, "\xEF\xBB\xBF" "a,b\n0.5,1\n1.5,2\n", &o));
    if (d) {
        check_row(d, 1, (double[]){2}, (double[]){1.5});
        bp_dataset_free(d);
    }
    o = bp_csv_options_default();
    o.header = 0;
    CSV_FAILS("\xEF\xBB\xBF" "x,1\n", o, "t.csv:1:1:", "\"x\" is not a number");
    /* The line numbers of errors count the blank lines. */
    CSV_FAILS("a,b\r\n\r\n1,2\r\n\r\n3,?\r\n", bp_csv_options_default(), "t.csv:5:3:", "\"?\"");
}

static void test_csv_label_order(void)
{
    bp_dataset *d;
    /* Integers sort numerically ("2" < "10"), strings by strcmp. */
    CHECK_OK(load_text(&d, "x,y\n0,10\n1,2\n2,1\n3,2\n4,10\n", NULL));
    if (d) {
        check_labels(d, 3, (const char *[]){"1", "2", "10"});
        check_row(d, 0, (double[]){0}, (double[]){0, 0, 1});
        check_row(d, 2, (double[]){2}, (double[]){1, 0, 0});
        bp_dataset_free(d);
    }
    CHECK_OK(load_text(&d, "x,y\n0,b\n1,a\n2,c\n3,B\n", NULL));
    if (d) {
        check_labels(d, 4, (const char *[]){"B", "a", "b", "c"});
        check_row(d, 0, (double[]){0}, (double[]){0, 0, 1, 0});
        bp_dataset_free(d);
    }
    /* Forced classification of non-integers: numeric order, shortest names. */
    bp_csv_options o = bp_csv_options_default();
    o.task = BP_TASK_CLASSIFICATION;
    CHECK_OK(load_text(&d, "x,y\n0,0.5\n1,-1\n2,0.1\n", &o));
    if (d) {
        check_labels(d, 3, (const char *[]){"-1", "0.1", "0.5"});
        bp_dataset_free(d);
    }
}

static void test_csv_regression(void)
{
    bp_dataset *d;
    /* More distinct integers than max_classes: regression. */
    bp_csv_options o = bp_csv_options_default();
    o.max_classes = 3;
    CHECK_OK(load_text(&d, "x,y\n1,10\n2,20\n3,30\n4,40\n", &o));
    if (d) {
        CHECK(!bp_dataset_is_classification(d) && bp_dataset_outputs(d) == 1, "not regression");
        check_row(d, 3, (double[]){4}, (double[]){40});
        bp_dataset_free(d);
    }
    o = bp_csv_options_default();
    o.task = BP_TASK_REGRESSION;
    CHECK_OK(load_text(&d, "x,y\n1,0\n2,1\n", &o));
    if (d) {
        CHECK(!bp_dataset_is_classification(d) && bp_dataset_outputs(d) == 1, "forced regression");
        bp_dataset_free(d);
    }
    CSV_FAILS("x,y\n1,0\n2,one\n", o, "t.csv:3:3:", "\"one\" is not a number");
    CSV_FAILS("x,y\n1,0\n2,inf\n", o, "t.csv:3:3:", "not finite");
    CSV_FAILS("x,y\n1,0.5\n2,nan\n", bp_csv_options_default(), "t.csv:3:3:", "not a finite number");
}

static void test_csv_target_column(void)
{
    bp_dataset *d;
    bp_csv_options o = bp_csv_options_default();
    o.target_name = "y";
    CHECK_OK(load_text(&d, "a,y,b\n1,0.5,2\n3,1.5,4\n", &o));
    if (d) {
        CHECK(bp_dataset_inputs(d) == 2, "inputs %d", bp_dataset_inputs(d));
        check_row(d, 1, (double[]){3, 4}, (double[]){1.5});
        bp_dataset_free(d);
    }
    o = bp_csv_options_default();
    o.target_index = 0;
    CHECK_OK(load_text(&d, "0.5,1,2\n1.5,3,4\n", &o));
    if (d) {
        check_row(d, 1, (double[]){3, 4}, (double[]){1.5});
        bp_dataset_free(d);
    }
    o.target_index = -2;
    CHECK_OK(load_text(&d, "1,0.5,2\n3,1.5,4\n", &o));
    if (d) {
        check_row(d, 1, (double[]){3, 4}, (double[]){1.5});
        bp_dataset_free(d);
    }
    o.target_index = 3;
    CSV_FAILS("1,0.5,2\n3,1.5,4\n", o, "t.csv:1:", "index 3 is out of range");
    o.target_index = -4;
    CSV_FAILS("1,0.5,2\n3,1.5,4\n", o, "t.csv:1:", "index -4 is out of range");
    o = bp_csv_options_default();
    o.target_name = "zz";
    CSV_FAILS("a,b\n1,2\n", o, "t.csv:1:", "no column named \"zz\"");
    CSV_FAILS("1,2\n3,4\n", o, "t.csv", "no header");
    /* No target at all: data to predict on. */
    o = bp_csv_options_default();
    o.has_target = 0;
    CHECK_OK(load_text(&d, "a,b\n1,2\n3,4\n", &o));
    if (d) {
        CHECK(bp_dataset_inputs(d) == 2 && bp_dataset_outputs(d) == 0 && bp_dataset_y(d) == NULL,
              "no-target shape");
        check_row(d, 1, (double[]){3, 4}, NULL);
        bp_dataset_free(d);
    }
}

static void test_csv_delimiters(void)
{
    bp_dataset *d;
    CHECK_OK(load_text(&d, "a;b;y\n1;2;0.5\n3;4;1.5\n", NULL));
    if (d) {
        CHECK(bp_dataset_inputs(d) == 2, "';' not detected");
        bp_dataset_free(d);
    }
    CHECK_OK(load_text(&d, "a\tb\ty\n1\t2\t0.5\n3\t4\t1.5\n", NULL));
    if (d) {
        CHECK(bp_dataset_inputs(d) == 2, "tab not detected");
        check_row(d, 1, (double[]){3, 4}, (double[]){1.5});
        bp_dataset_free(d);
    }
    bp_csv_options o = bp_csv_options_default();
    o.delimiter = '|';
    CHECK_OK(load_text(&d, "1|2|0.5\n3|4|1.5\n", &o));
    if (d) {
        check_row(d, 1, (double[]){3, 4}, (double[]){1.5});
        bp_dataset_free(d);
    }
}

static void test_csv_fixed_labels(void)
{
    bp_dataset *d;
    const char *labels[] = {"dog", "cat", "bird"};
    bp_csv_options o = bp_csv_options_default();
    o.labels = labels;
    o.n_labels = 3;
    CHECK_OK(load_text(&d, "x,y\n1,cat\n2,dog\n", &o));
    if (d) {
        CHECK(bp_dataset_outputs(d) == 3, "outputs %d", bp_dataset_outputs(d));
        check_labels(d, 3, labels);
        check_row(d, 0, (double[]){1}, (double[]){0, 1, 0});
        check_row(d, 1, (double[]){2}, (double[]){1, 0, 0});
        bp_dataset_free(d);
    }
    CSV_FAILS("x,y\n1,cat\n2,cow\n", o, "t.csv:3:3:", "\"cow\"");
    /* Numeric labels match by value. */
    const char *nums[] = {"0", "1"};
    o.labels = nums;
    o.n_labels = 2;
    CHECK_OK(load_text(&d, "x,y\n1,1.0\n2,0\n", &o));
    if (d) {
        check_row(d, 0, (double[]){1}, (double[]){0, 1});
        bp_dataset_free(d);
    }
    CSV_FAILS("x,y\n1,1\n2,2\n", o, "t.csv:3:3:", "\"2\" is not one of the 2 given labels");
    const char *twice[] = {"a", "a"};
    o.labels = twice;
    bp_dataset *dd = (bp_dataset *)1;
    CHECK(load_text(&dd, "x,y\n1,a\n", &o) == BP_ERR_INVALID && !dd, "duplicate labels accepted");
    CHECK(strstr(bp_last_error(), "twice"), "%s", bp_last_error());
}

static bp_status load_missing(bp_dataset **d)
{
    return bp_dataset_load_csv(d, tpath("no-such.csv"), NULL);
}

static void test_csv_errors(void)
{
    bp_csv_options o = bp_csv_options_default();
    CSV_FAILS("1,2,3\n4,5\n", o, "t.csv:2:4:", "expected 3 fields, got 2");
    CSV_FAILS("1,2,3\n4,5,6,7\n", o, "t.csv:2:7:", "expected 3 fields, got 4");
    CSV_FAILS("a,b,c\n1,2,3\n4,x,6\n", o, "t.csv:3:3:", "input column 1 (\"b\"): \"x\" is not a number");
    CSV_FAILS("1,2,3\n4,,6\n", o, "t.csv:2:3:", "\"\" is not a number");
    CSV_FAILS("1,2,3\n4,1.5e,6\n", o, "t.csv:2:3:", "\"1.5e\" is not a number");
    CSV_FAILS("1,nan,3\n4,5,6\n", o, "t.csv:1:3:", "not finite");
    CSV_FAILS("1,2,3\n-inf,5,6\n", o, "t.csv:2:1:", "not finite");
    CSV_FAILS("1,2,3\n1e999,5,6\n", o, "t.csv:2:1:", "not finite");
    /* every field of the first two rows text: header or data cannot be told (issue 26) */
    CSV_FAILS("a,b\nc,d\ne,f\n", bp_csv_options_default(), "t.csv:1:", "--header or --no-header");
    /* a value from the file is escaped and cut in the message */
    CSV_FAILS("a,b,c\n1,2,3\n4,\"x\ny\x1b\",6\n", o, "t.csv:3:3:", "\"x\\ny\\x1b\" is not a number");
    CSV_FAILS("", o, "t.csv", "empty file");
    CSV_FAILS("\n  \r\n\n", o, "t.csv", "empty file");
    CSV_FAILS("a,b,c\n", o, "t.csv", "no data rows");
    CSV_FAILS("a,b,c\n\n\n", o, "t.csv", "no data rows");
    CSV_FAILS("a\n1\n2\n", o, "t.csv", "no inputs");
    CSV_FAILS("x,y\n1,0.5\n2,1\n3,zz\n", o, "t.csv:4:3:", "\"zz\"");
    CSV_FAILS("x,y\n1,a\n2,a\n", o, "t.csv", "single class \"a\"");
    CHECK_FAILS(load_missing, BP_ERR_IO, "no-such.csv", "cannot open");
    const char binary[] = "1,2\n3\0,4\n";
    csv_text = NULL;
    bp_dataset *d = (bp_dataset *)1;
    CHECK(bp_dataset_load_csv(&d, write_bytes("t.csv", binary, sizeof binary - 1, 0), NULL) ==
              BP_ERR_FORMAT && !d, "NUL byte accepted");
    CHECK(strstr(bp_last_error(), "offset 5: not a text file"), "%s", bp_last_error());
}

static void test_csv_gzip(void)
{
    const char *text = "a,b,y\n1,2,x\n3,4,y\n";
    const char *path = write_bytes("t.csv.gz", text, strlen(text), 1);
    bp_dataset *d;
    CHECK_OK(bp_dataset_load_csv(&d, path, NULL));
    if (!d) return;
    CHECK(bp_dataset_count(d) == 2, "count %zu", bp_dataset_count(d));
    check_row(d, 1, (double[]){3, 4}, (double[]){0, 1});
    bp_dataset_free(d);
}

/* ------------------------------------------------------------------ IDX */

/* An IDX file: magic 00 00 type nd, big-endian dimensions, then data. */
static const char *write_idx(const char *name, int gz, int type, int nd, const uint32_t *dims,
                             const unsigned char *data, size_t len)
{
    unsigned char buf[4096];
    size_t p = 4;
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)nd;
    for (int i = 0; i < nd; i++)
        for (int b = 3; b >= 0; b--) buf[p++] = (unsigned char)(dims[i] >> (8 * b));
    if (p + len > sizeof buf) abort();
    memcpy(buf + p, data, len);
    return write_bytes(name, buf, p + len, gz);
}

static const unsigned char pixels[12] = {0, 1, 2, 3, 10, 20, 30, 40, 255, 254, 128, 7};
static const unsigned char digits[3] = {3, 0, 9};

static void check_idx_set(bp_dataset *d, int classes)
{
    CHECK(bp_dataset_count(d) == 3 && bp_dataset_inputs(d) == 4 &&
              bp_dataset_outputs(d) == classes,
          "shape %zu %d %d", bp_dataset_count(d), bp_dataset_inputs(d), bp_dataset_outputs(d));
    CHECK(bp_dataset_label_count(d) == classes, "labels %d", bp_dataset_label_count(d));
    CHECK(strcmp(bp_dataset_label(d, 3), "3") == 0, "label 3 is %s", bp_dataset_label(d, 3));
    for (int i = 0; i < 12; i++) CHECK(bp_dataset_x(d)[i] == pixels[i], "pixel %d", i);
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < classes; c++)
            CHECK(bp_dataset_y(d)[i * classes + c] == (c == digits[i]), "y[%d][%d]", i, c);
}

static void test_idx_read(void)
{
    const uint32_t dims[3] = {3, 2, 2}, n[1] = {3};
    for (int gz = 0; gz < 2; gz++) {
        const char *img = write_idx(gz ? "img.gz" : "img", gz, 8, 3, dims, pixels, 12);
        const char *lab = write_idx(gz ? "lab.gz" : "lab", gz, 8, 1, n, digits, 3);
        bp_dataset *d;
        CHECK_OK(bp_dataset_load_idx(&d, img, lab));
        if (d) check_idx_set(d, 10);
        bp_dataset_free(d);
        CHECK_OK(bp_dataset_load_idx(&d, img, NULL));
        if (d) CHECK(bp_dataset_outputs(d) == 0 && bp_dataset_y(d) == NULL, "no labels");
        bp_dataset_free(d);
    }
    /* More than 10 classes: largest label + 1. 2 dimensions: n x features. */
    const uint32_t dims2[2] = {2, 3}, n2[1] = {2};
    const unsigned char lab2[2] = {12, 0};
    bp_dataset *d;
    CHECK_OK(bp_dataset_load_idx(&d, write_idx("img2", 0, 8, 2, dims2, pixels, 6),
                                 write_idx("lab2", 0, 8, 1, n2, lab2, 2)));
    if (d) {
        CHECK(bp_dataset_inputs(d) == 3 && bp_dataset_outputs(d) == 13, "%d x %d",
              bp_dataset_inputs(d), bp_dataset_outputs(d));
        CHECK(bp_dataset_y(d)[12] == 1 && bp_dataset_y(d)[13] == 1, "one-hot");
        CHECK(strcmp(bp_dataset_label(d, 12), "12") == 0, "label 12");
    }
    bp_dataset_free(d);
}

static const char *idx_img, *idx_lab;
static bp_status load_idx_files(bp_dataset **d) { return bp_dataset_load_idx(d, idx_img, idx_lab); }

#define IDX_FAILS(img, lab, want, needle1, needle2)                               \
    do {                                                                          \
        idx_img = (img);                                                          \
        idx_lab = (lab);                                                          \
        CHECK_FAILS(load_idx_files, want, needle1, needle2);                      \
    } while (0)

static void test_idx_errors(void)
{
    const uint32_t dims[3] = {3, 2, 2}, n[1] = {3}, n2[1] = {2};
    const char *img = write_idx("ok-img", 0, 8, 3, dims, pixels, 12);
    const char *lab = write_idx("ok-lab", 0, 8, 1, n, digits, 3);
    const unsigned char junk[8] = {0x12, 0x34, 0x08, 0x03, 0, 0, 0, 1};
    IDX_FAILS(write_bytes("junk", junk, 8, 0), lab, BP_ERR_FORMAT, "junk", "not an IDX file");
    IDX_FAILS(write_idx("float-img", 0, 0x0D, 3, dims, pixels, 12), lab, BP_ERR_FORMAT,
              "float-img", "type 0x0d is not supported");
    IDX_FAILS(img, write_idx("lab-2d", 0, 8, 2, dims, digits, 3), BP_ERR_FORMAT, "lab-2d",
              "2 dimensions, expected 1 to 1");
    IDX_FAILS(write_idx("img-1d", 0, 8, 1, n, pixels, 3), lab, BP_ERR_FORMAT, "img-1d",
              "1 dimensions, expected 2");
    IDX_FAILS(img, write_idx("lab-2", 0, 8, 1, n2, digits, 2), BP_ERR_FORMAT, "3 images",
              "lab-2 has 2 labels");
    const uint32_t zero[3] = {3, 0, 2}, wide[3] = {1, 65536, 65536};
    IDX_FAILS(write_idx("img-zero", 0, 8, 3, zero, pixels, 12), lab, BP_ERR_FORMAT, "img-zero",
              "dimension 1 is 0");
    IDX_FAILS(write_idx("img-wide", 0, 8, 3, wide, pixels, 12), NULL, BP_ERR_FORMAT, "img-wide",
              "overflow");
    IDX_FAILS(write_idx("img-short", 0, 8, 3, dims, pixels, 10), lab, BP_ERR_FORMAT, "img-short",
              "truncated");
    const unsigned char hdr[6] = {0, 0, 8, 3, 0, 0};
    IDX_FAILS(write_bytes("img-hdr", hdr, 3, 0), NULL, BP_ERR_FORMAT, "img-hdr", "truncated");
    IDX_FAILS(write_bytes("img-hdr2", hdr, 6, 0), NULL, BP_ERR_FORMAT, "img-hdr2",
              "ends inside the IDX header");
    IDX_FAILS(tpath("no-such-idx"), NULL, BP_ERR_IO, "no-such-idx", "cannot open");
    /* A gzip stream cut short: zlib reports the missing end. */
    unsigned char big[3000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7919 % 251);
    const uint32_t bdims[3] = {3, 25, 40};
    const char *full = write_idx("img-full.gz", 1, 8, 3, bdims, big, sizeof big);
    FILE *f = fopen(full, "rb");
    unsigned char gzbuf[4096];
    size_t len = fread(gzbuf, 1, sizeof gzbuf, f);
    fclose(f);
    CHECK(len > 100, "gzip of %zu bytes", len);
    IDX_FAILS(write_bytes("img-cut.gz", gzbuf, len / 2, 0), NULL, BP_ERR_FORMAT, "img-cut.gz",
              "truncated");
}

/* Caps this process's address space at its current size plus `extra` bytes. */
static void limit_address_space(size_t extra)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%lu", &pages) != 1) pages = 0;
    if (f) fclose(f);
    rlim_t lim = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
    struct rlimit rl = {lim, lim};
    setrlimit(RLIMIT_AS, &rl);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Headers claiming 2^31 images of 28 x 28 (1.7 TB), or 2^32 - 1 images of
 * 1024 x 1024 (2^52 bytes), over 16 bytes of data: the load must end in
 * "truncated", in a child whose address space is capped 256 MiB above its
 * size (a trusting reader would get BP_ERR_NOMEM there). Valgrind's own
 * mappings do not fit under such a cap, so it is left off there. */
static void test_idx_huge_claim(void)
{
    const uint32_t dims[3] = {1u << 31, 28, 28}, n[1] = {1u << 31};
    const uint32_t most[3] = {0xffffffffu, 1024, 1024};
    const unsigned char px[16] = {0};
    const char *raw = write_idx("huge", 0, 8, 3, dims, px, 16);
    const char *gz = write_idx("huge.gz", 1, 8, 3, dims, px, 16);
    const char *lab = write_idx("huge-lab", 0, 8, 1, n, px, 16);
    const char *top = write_idx("huge-2^52", 0, 8, 3, most, px, 16);
    const char *cases[4][2] = {{raw, NULL}, {gz, NULL}, {raw, lab}, {top, NULL}};
    const char *preload = getenv("LD_PRELOAD");
    int capped = !(preload && strstr(preload, "valgrind"));
    for (int c = 0; c < 4; c++) {
        double t0 = now();
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            if (capped) limit_address_space((size_t)256 << 20);
            bp_dataset *d;
            bp_status st = bp_dataset_load_idx(&d, cases[c][0], cases[c][1]);
            int ok = st == BP_ERR_FORMAT && strstr(bp_last_error(), "truncated");
            if (!ok) fprintf(stderr, "  child: %s: %s\n", bp_status_name(st), bp_last_error());
            bp_dataset_free(d);
            _exit(ok ? 0 : 1);
        }
        int status = 0;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait failed");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "case %d: status %d", c, status);
        CHECK(now() - t0 < 10, "case %d took %.1f s", c, now() - t0);
    }
}

/* ---------------------------------------------------------------- specs */

static void test_spec_xor(void)
{
    bp_dataset *d;
    CHECK_OK(bp_dataset_load_spec(&d, "xor", NULL));
    if (!d) return;
    CHECK(bp_dataset_count(d) == 4 && bp_dataset_inputs(d) == 2 && bp_dataset_outputs(d) == 1,
          "xor shape");
    CHECK(!bp_dataset_is_classification(d), "xor has labels");
    for (int i = 0; i < 4; i++) check_row(d, (size_t)i, (double[]){i >> 1, i & 1}, (double[]){(i >> 1) ^ (i & 1)});
    bp_dataset_free(d);
}

static const char *spec_arg;
static bp_status load_spec_arg(bp_dataset **d) { return bp_dataset_load_spec(d, spec_arg, NULL); }

static void test_spec_forms(void)
{
    spec_arg = "nonsense";
    CHECK_FAILS(load_spec_arg, BP_ERR_INVALID, "\"nonsense\"", "fashion-mnist[:train|:test]");
    spec_arg = "fashion-mnist:dev";
    CHECK_FAILS(load_spec_arg, BP_ERR_INVALID, "fashion-mnist:dev", "idx:IMAGES[,LABELS]");
    spec_arg = "";
    CHECK_FAILS(load_spec_arg, BP_ERR_INVALID, "empty", "csv:PATH");
    const char *csv = write_text("spec.csv", "a,b\n1,0.5\n2,1.5\n");
    char spec[400];
    snprintf(spec, sizeof spec, "csv:%s", csv);
    bp_dataset *d;
    CHECK_OK(bp_dataset_load_spec(&d, spec, NULL));
    if (d) CHECK(bp_dataset_count(d) == 2, "csv: spec");
    bp_dataset_free(d);
    CHECK_OK(bp_dataset_load_spec(&d, csv, NULL));
    if (d) CHECK(bp_dataset_count(d) == 2, ".csv path");
    bp_dataset_free(d);
    bp_csv_options o = bp_csv_options_default();
    o.has_target = 0;
    CHECK_OK(bp_dataset_load_spec(&d, csv, &o)); /* the options reach the CSV reader */
    if (d) CHECK(bp_dataset_inputs(d) == 2 && bp_dataset_outputs(d) == 0, "options ignored");
    bp_dataset_free(d);
    const uint32_t dims[3] = {3, 2, 2}, n[1] = {3};
    const char *img = write_idx("spec-img", 0, 8, 3, dims, pixels, 12);
    const char *lab = write_idx("spec-lab", 0, 8, 1, n, digits, 3);
    snprintf(spec, sizeof spec, "idx:%s,%s", img, lab);
    CHECK_OK(bp_dataset_load_spec(&d, spec, NULL));
    if (d) check_idx_set(d, 10);
    bp_dataset_free(d);
    snprintf(spec, sizeof spec, "idx:%s", img);
    CHECK_OK(bp_dataset_load_spec(&d, spec, NULL));
    if (d) CHECK(bp_dataset_outputs(d) == 0, "idx: without labels");
    bp_dataset_free(d);
}

/* The forms taken apart without reading: what the CLI asks before loading
 * (is it CSV, which files must exist), from the same parser as the loader. */
static void test_spec_parse(void)
{
    static const struct {
        const char *spec;
        int source, test, n_paths;
        const char *path[2];
    } cases[] = {
        {"xor", BP_DATA_XOR, 0, 0, {NULL, NULL}},
        {"fashion-mnist", BP_DATA_FASHION_MNIST, 0, 0, {NULL, NULL}},
        {"fashion-mnist:test", BP_DATA_FASHION_MNIST, 1, 0, {NULL, NULL}},
        {"mnist:train", BP_DATA_MNIST, 0, 0, {NULL, NULL}},
        {"idx:a/img", BP_DATA_IDX, 0, 1, {"a/img", NULL}},
        {"idx:img,lab,x", BP_DATA_IDX, 0, 2, {"img", "lab,x"}},
        {"idx:,", BP_DATA_IDX, 0, 2, {"", ""}},
        {"csv:t.txt", BP_DATA_CSV, 0, 1, {"t.txt", NULL}},
        {"csv:", BP_DATA_CSV, 0, 1, {"", NULL}},
        {"dir/t.tsv.gz", BP_DATA_CSV, 0, 1, {"dir/t.tsv.gz", NULL}},
        {"x.csv", BP_DATA_CSV, 0, 1, {"x.csv", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bp_data_spec d;
        CHECK_OK(bp_data_spec_parse(&d, cases[i].spec));
        CHECK((int)d.source == cases[i].source && d.test == cases[i].test &&
                  d.n_paths == cases[i].n_paths,
              "%s: source %d test %d paths %d", cases[i].spec, (int)d.source, d.test, d.n_paths);
        for (int k = 0; k < d.n_paths && k < cases[i].n_paths; k++)
            CHECK(d.path_len[k] == strlen(cases[i].path[k]) &&
                      strncmp(d.path[k], cases[i].path[k], d.path_len[k]) == 0,
                  "%s: path %d is '%.*s'", cases[i].spec, k, (int)d.path_len[k], d.path[k]);
        /* the last path ends the spec, so it may be used as a C string */
        if (d.n_paths) CHECK(d.path[d.n_paths - 1][d.path_len[d.n_paths - 1]] == '\0', "%s", cases[i].spec);
    }
    static const char *const bad[] = {"", "nonsense", "mnist:dev", "fashion-mnist:", "XOR", "data.json"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bp_data_spec d;
        CHECK(bp_data_spec_parse(&d, bad[i]) == BP_ERR_INVALID, "'%s' accepted", bad[i]);
        CHECK(strstr(bp_last_error(), "idx:IMAGES[,LABELS]") != NULL, "'%s': %s", bad[i], bp_last_error());
    }
}

/* BP_DATASETS_DIR points the packaged sets at small fakes in tmpdir:
 * mnist (gzip, test part only) and fashion-mnist (plain, train part only). */
static void test_spec_datasets_dir(void)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/mnist", tmpdir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/fashion-mnist", tmpdir);
    mkdir(dir, 0700);
    const uint32_t dims[3] = {3, 2, 2}, n[1] = {3};
    write_idx("mnist/t10k-images-idx3-ubyte.gz", 1, 8, 3, dims, pixels, 12);
    write_idx("mnist/t10k-labels-idx1-ubyte.gz", 1, 8, 1, n, digits, 3);
    write_idx("fashion-mnist/train-images-idx3-ubyte", 0, 8, 3, dims, pixels, 12);
    write_idx("fashion-mnist/train-labels-idx1-ubyte", 0, 8, 1, n, digits, 3);
    setenv("BP_DATASETS_DIR", tmpdir, 1);
    bp_dataset *d;
    CHECK_OK(bp_dataset_load_spec(&d, "mnist:test", NULL));
    if (d) check_idx_set(d, 10);
    bp_dataset_free(d);
    CHECK_OK(bp_dataset_load_spec(&d, "fashion-mnist", NULL));
    if (d) {
        CHECK(bp_dataset_count(d) == 3, "fashion count");
        CHECK(strcmp(bp_dataset_label(d, 0), "T-shirt/top") == 0 &&
                  strcmp(bp_dataset_label(d, 9), "Ankle boot") == 0,
              "fashion names %s", bp_dataset_label(d, 0));
    }
    bp_dataset_free(d);
    spec_arg = "mnist:train";
    CHECK_FAILS(load_spec_arg, BP_ERR_IO, "train-images-idx3-ubyte", "dataset-mnist");
    unsetenv("BP_DATASETS_DIR");
}

#define FASHION_TEST "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static void test_fashion_mnist_installed(void)
{
    bp_dataset *d;
    CHECK_OK(bp_dataset_load_spec(&d, "fashion-mnist:test", NULL));
    if (!d) return;
    CHECK(bp_dataset_count(d) == 10000 && bp_dataset_inputs(d) == 784 && bp_dataset_outputs(d) == 10,
          "shape %zu x %d -> %d", bp_dataset_count(d), bp_dataset_inputs(d), bp_dataset_outputs(d));
    CHECK(strcmp(bp_dataset_label(d, 9), "Ankle boot") == 0, "label 9 %s", bp_dataset_label(d, 9));
    size_t per_class[10] = {0}, bad_rows = 0, bad_pixels = 0;
    bp_real top = 0;
    const bp_real *x = bp_dataset_x(d), *y = bp_dataset_y(d);
    for (size_t i = 0; i < 10000; i++) {
        int ones = 0, cls = 0;
        for (int c = 0; c < 10; c++) {
            if (y[i * 10 + (size_t)c] == 1) ones++, cls = c;
            else if (y[i * 10 + (size_t)c] != 0) ones = 99;
        }
        if (ones == 1) per_class[cls]++;
        else bad_rows++;
    }
    for (size_t i = 0; i < (size_t)10000 * 784; i++) {
        if (x[i] < 0 || x[i] > 255 || x[i] != floor(x[i])) bad_pixels++;
        if (x[i] > top) top = x[i];
    }
    CHECK(bad_rows == 0 && bad_pixels == 0, "%zu rows not one-hot, %zu bad pixels", bad_rows,
          bad_pixels);
    CHECK(top == 255, "brightest pixel %g", (double)top);
    for (int c = 0; c < 10; c++) CHECK(per_class[c] == 1000, "class %d: %zu", c, per_class[c]);
    bp_dataset_free(d);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/bp-test-data-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_dataset_basics);
    RUN(test_dataset_subset);
    RUN(test_dataset_split);
    RUN(test_normalization);
    RUN(test_csv_header_string_labels);
    RUN(test_csv_no_header);
    RUN(test_csv_quoted);
    RUN(test_csv_crlf_and_blank_lines);
    RUN(test_csv_label_order);
    RUN(test_csv_regression);
    RUN(test_csv_target_column);
    RUN(test_csv_delimiters);
    RUN(test_csv_fixed_labels);
    RUN(test_csv_errors);
    RUN(test_csv_gzip);
    RUN(test_idx_read);
    RUN(test_idx_errors);
    RUN(test_idx_huge_claim);
    RUN(test_spec_xor);
    RUN(test_spec_forms);
    RUN(test_spec_parse);
    RUN(test_spec_datasets_dir);
    if (access(FASHION_TEST, R_OK) == 0) RUN(test_fashion_mnist_installed);
    else printf("skipped test_fashion_mnist_installed (%s not installed: package "
                "dataset-fashion-mnist)\n", FASHION_TEST);
    cleanup();
    return test_summary("test_data");
}
