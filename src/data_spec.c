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
static bp_status load_packaged(bp_dataset **out, const char *name, const char *part)
{
    const char *dir = getenv("BP_DATASETS_DIR");
    if (!dir || !*dir) dir = "/usr/share/datasets";
    const char *prefix = strcmp(part, "test") == 0 ? "t10k" : "train";
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

/* "name", "name:train" or "name:test": *part is the part, NULL if no match. */
static int packaged_spec(const char *spec, const char *name, const char **part)
{
    size_t len = strlen(name);
    if (strncmp(spec, name, len) != 0) return 0;
    if (spec[len] == '\0') *part = "train";
    else if (strcmp(spec + len, ":train") == 0) *part = "train";
    else if (strcmp(spec + len, ":test") == 0) *part = "test";
    else return 0;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bp_status load_idx_spec(bp_dataset **out, const char *list)
{
    const char *comma = strchr(list, ',');
    if (!comma) return bp_dataset_load_idx(out, list, NULL);
    size_t len = (size_t)(comma - list);
    char *images = bp__calloc(len + 1, 1);
    if (!images) return BP_ERR_NOMEM;
    memcpy(images, list, len);
    bp_status st = bp_dataset_load_idx(out, images, comma + 1);
    free(images);
    return st;
}

bp_status bp_dataset_load_spec(bp_dataset **out, const char *spec, const bp_csv_options *opt)
{
    *out = NULL;
    const char *part;
    if (!spec || !*spec) return bp__fail(BP_ERR_INVALID, "empty data set spec: use " SPEC_FORMS);
    if (strcmp(spec, "xor") == 0) return load_xor(out);
    if (packaged_spec(spec, "fashion-mnist", &part)) return load_packaged(out, "fashion-mnist", part);
    if (packaged_spec(spec, "mnist", &part)) return load_packaged(out, "mnist", part);
    if (strncmp(spec, "idx:", 4) == 0) return load_idx_spec(out, spec + 4);
    if (strncmp(spec, "csv:", 4) == 0) return bp_dataset_load_csv(out, spec + 4, opt);
    if (ends_with(spec, ".csv") || ends_with(spec, ".tsv") || ends_with(spec, ".csv.gz") ||
        ends_with(spec, ".tsv.gz"))
        return bp_dataset_load_csv(out, spec, opt);
    return bp__fail(BP_ERR_INVALID, "unknown data set \"%s\": use " SPEC_FORMS, spec);
}
