/* data_spec.c - data sets named by a string: the built-in XOR, the packaged
 * Fashion-MNIST and MNIST, IDX files and CSV files. */
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPEC_FORMS "xor, fashion-mnist[:train|:test], mnist[:train|:test], " \
                   "idx:IMAGES[,LABELS], csv:PATH, or a path ending in .csv or .tsv (or .csv.gz, .tsv.gz)"

static const char *const fashion_labels[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static bp_status load_xor(bp_dataset **out)
{
    static const bp_real x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    static const bp_real y[4] = {0, 1, 1, 0};
    bp_status st = bp_dataset_create(out, 4, 2, 1);
    if (st) return st;
    memcpy(bp_dataset_x(*out), x, sizeof x);
    memcpy(bp_dataset_y(*out), y, sizeof y);
    return BP_OK;
}

/* dir/name/file, preferring the .gz the Debian packages ship, then the plain file. */
static bp_status find_file(char *path, size_t size, const char *dir, const char *name,
                           const char *file)
{
    for (int gz = 1; gz >= 0; gz--) {
        int len = snprintf(path, size, "%s/%s/%s%s", dir, name, file, gz ? ".gz" : "");
        if (len < 0 || (size_t)len >= size)
            return bp__fail(BP_ERR_INVALID, "data sets directory path too long: %s", dir);
        if (access(path, R_OK) == 0) return BP_OK;
    }
    return bp__fail(BP_ERR_IO, "%s/%s/%s(.gz) not found: the data set \"%s\" is not installed "
                    "(Debian package dataset-%s; BP_DATASETS_DIR overrides %s)", dir, name,
                    file, name, name, dir);
}

/* Fashion-MNIST or MNIST as the Debian dataset-* packages lay them out. */
static bp_status load_packaged(bp_dataset **out, const char *name, int test)
{
    const char *dir = getenv("BP_DATASETS_DIR");
    if (!dir || !*dir) dir = "/usr/share/datasets";
    const char *prefix = test ? "t10k" : "train";
    char file[64], images[4096], labels[4096];
    snprintf(file, sizeof file, "%s-images-idx3-ubyte", prefix);
    bp_status st = find_file(images, sizeof images, dir, name, file);
    snprintf(file, sizeof file, "%s-labels-idx1-ubyte", prefix);
    if (!st) st = find_file(labels, sizeof labels, dir, name, file);
    if (!st) st = bp_dataset_load_idx(out, images, labels);
    if (st || strcmp(name, "fashion-mnist") != 0) return st;
    if (bp_dataset_outputs(*out) != 10) {
        bp_dataset_free(*out);
        *out = NULL;
        return bp__fail(BP_ERR_FORMAT, "%s: Fashion-MNIST labels must be 0..9", labels);
    }
    return bp_dataset_set_labels(*out, 10, fashion_labels);
}

/* "name", "name:train" or "name:test": 1 with *test set, 0 if no match. */
static int packaged_spec(const char *spec, const char *name, int *test)
{
    size_t len = strlen(name);
    if (strncmp(spec, name, len) != 0) return 0;
    if (spec[len] == '\0' || strcmp(spec + len, ":train") == 0) *test = 0;
    else if (strcmp(spec + len, ":test") == 0) *test = 1;
    else return 0;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void add_path(bp_data_spec *d, const char *p, size_t len)
{
    d->path[d->n_paths] = p;
    d->path_len[d->n_paths++] = len;
}

bp_status bp_data_spec_parse(bp_data_spec *out, const char *spec)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) return bp__fail(BP_ERR_INVALID, "empty data set spec: use " SPEC_FORMS);
    if (strcmp(spec, "xor") == 0) out->source = BP_DATA_XOR;
    else if (packaged_spec(spec, "fashion-mnist", &out->test)) out->source = BP_DATA_FASHION_MNIST;
    else if (packaged_spec(spec, "mnist", &out->test)) out->source = BP_DATA_MNIST;
    else if (strncmp(spec, "idx:", 4) == 0) { /* idx:IMAGES[,LABELS] */
        const char *images = spec + 4;
        size_t len = strcspn(images, ",");
        out->source = BP_DATA_IDX;
        add_path(out, images, len);
        if (images[len]) add_path(out, images + len + 1, strlen(images + len + 1));
    } else if (strncmp(spec, "csv:", 4) == 0 || ends_with(spec, ".csv") || ends_with(spec, ".tsv") ||
               ends_with(spec, ".csv.gz") || ends_with(spec, ".tsv.gz")) {
        const char *path = strncmp(spec, "csv:", 4) == 0 ? spec + 4 : spec;
        out->source = BP_DATA_CSV;
        add_path(out, path, strlen(path));
    } else
        return bp__fail(BP_ERR_INVALID, "unknown data set \"%s\": use " SPEC_FORMS, spec);
    return BP_OK;
}

/* IMAGES is the part of the spec before the comma: copied to end it there. */
static bp_status load_idx_spec(bp_dataset **out, const bp_data_spec *d)
{
    if (d->n_paths == 1) return bp_dataset_load_idx(out, d->path[0], NULL);
    char *images = bp__calloc(d->path_len[0] + 1, 1);
    if (!images) return BP_ERR_NOMEM;
    memcpy(images, d->path[0], d->path_len[0]);
    bp_status st = bp_dataset_load_idx(out, images, d->path[1]);
    free(images);
    return st;
}

bp_status bp_dataset_load_spec(bp_dataset **out, const char *spec, const bp_csv_options *opt)
{
    *out = NULL;
    bp_data_spec d;
    bp_status st = bp_data_spec_parse(&d, spec);
    if (st) return st;
    switch (d.source) {
    case BP_DATA_XOR: return load_xor(out);
    case BP_DATA_FASHION_MNIST: return load_packaged(out, "fashion-mnist", d.test);
    case BP_DATA_MNIST: return load_packaged(out, "mnist", d.test);
    case BP_DATA_IDX: return load_idx_spec(out, &d);
    case BP_DATA_CSV: return bp_dataset_load_csv(out, d.path[0], opt);
    case BP_DATA_COUNT_: break;
    }
    BP_ASSERT(0);
    return BP_ERR_INVALID;
}
