/* fuzz_idx.c - libFuzzer target: bp_dataset_load_idx on arbitrary bytes.
 * An input is an images file, optionally followed by a labels file: it is
 * split at the last labels magic (00 00 08 01) after the first 4 bytes. It
 * is loaded as images alone, as images and labels, and gzip-compressed as
 * images alone. A successful load must give pixel values 0..255, consistent
 * sizes, and one-hot targets over at least 10 classes. */
#include "fuzz.h"

static void idx_check_set(bp_dataset *d, int with_labels)
{
    size_t n = bp_dataset_count(d);
    int in = bp_dataset_inputs(d), k = bp_dataset_outputs(d);
    FUZZ_ASSERT(n >= 1 && in >= 1);
    for (size_t i = 0; i < n * (size_t)in; i++) {
        bp_real v = bp_dataset_x(d)[i];
        FUZZ_ASSERT(v >= 0 && v <= 255 && v == (int)v);
    }
    if (!with_labels) {
        FUZZ_ASSERT(k == 0 && !bp_dataset_y(d) && bp_dataset_label_count(d) == 0);
        return;
    }
    FUZZ_ASSERT(k >= 10 && k <= 256 && bp_dataset_label_count(d) == k);
    for (size_t i = 0; i < n; i++) {
        int ones = 0;
        for (int j = 0; j < k; j++) ones += bp_dataset_y(d)[i * (size_t)k + j] == 1;
        FUZZ_ASSERT(ones == 1);
    }
}

static void idx_load(const char *images, const char *labels)
{
    bp_dataset *d = (bp_dataset *)1;
    bp_status st = bp_dataset_load_idx(&d, images, labels);
    FUZZ_ASSERT((st == BP_OK) == (d != NULL));
    FUZZ_ASSERT(st == BP_OK || st == BP_ERR_FORMAT || st == BP_ERR_IO);
    if (d) idx_check_set(d, labels != NULL);
    bp_dataset_free(d);
}

static void fuzz_idx(const uint8_t *data, size_t size)
{
    fuzz_init();
    static const uint8_t magic[4] = {0, 0, 8, 1};
    size_t split = 0;
    for (size_t i = size >= 4 ? size - 4 : 0; i >= 4 && !split; i--)
        if (memcmp(data + i, magic, 4) == 0) split = i;
    idx_load(fuzz_file(0, data, size), NULL);
    if (split) idx_load(fuzz_file(0, data, split), fuzz_file(1, data + split, size - split));
    size_t gz_size;
    unsigned char *gz = fuzz_gzip(data, size, &gz_size);
    if (gz) idx_load(fuzz_file(0, gz, gz_size), NULL);
    free(gz);
}

FUZZ_ENTRY(fuzz_idx)
