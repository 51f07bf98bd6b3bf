/* data_idx.c - IDX (MNIST) reader. zlib's gzread reads gzip-compressed and
 * plain files alike. A header is never trusted for an allocation: buffers
 * grow as bytes actually arrive, so a header claiming 2^31 images in a tiny
 * file ends in "truncated", not in a giant calloc. */
#include "data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
#define IDX_MAX_DIMS 8
#define IDX_MIN_CLASSES 10 /* MNIST-like: a subset missing class 9 keeps 10 outputs */

typedef struct idx_file {
    const char *path;
    gzFile gz;
    size_t count;  /* dims[0]: samples */
    size_t item;   /* product of the other dimensions: values per sample */
} idx_file;

static bp_status read_error(const idx_file *f)
{
    int zerr;
    const char *msg = gzerror(f->gz, &zerr);
    if (zerr == Z_ERRNO) return bp__fail(BP_ERR_IO, "%s: read failed: %s", f->path, strerror(errno));
    if (zerr == Z_BUF_ERROR) return bp__fail(BP_ERR_FORMAT, "%s: truncated: %s", f->path, msg);
    return bp__fail(BP_ERR_FORMAT, "%s: corrupt gzip data: %s", f->path, msg);
}

/* Reads exactly len bytes (len small), failing with "truncated" when short. */
static bp_status read_exact(const idx_file *f, unsigned char *buf, unsigned len, const char *what)
{
    int got = gzread(f->gz, buf, len);
    if (got < 0) return read_error(f);
    if ((unsigned)got < len)
        return bp__fail(BP_ERR_FORMAT, "%s: truncated: the file ends inside the %s", f->path, what);
    return BP_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Opens and checks the header: unsigned bytes, min_dims..max_dims dimensions,
 * none zero, values per sample fitting an int. */
static bp_status idx_open(idx_file *f, const char *path, int min_dims, int max_dims)
{
    f->path = path;
    f->gz = gzopen(path, "rb");
    if (!f->gz) return bp__fail(BP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char h[4 + 4 * IDX_MAX_DIMS];
    bp_status st = read_exact(f, h, 4, "IDX header");
    if (st) return st;
    if (h[0] || h[1])
        return bp__fail(BP_ERR_FORMAT, "%s: not an IDX file (magic %02x %02x %02x %02x)", path,
                        h[0], h[1], h[2], h[3]);
    if (h[2] != IDX_UBYTE)
        return bp__fail(BP_ERR_FORMAT, "%s: IDX data type 0x%02x is not supported (only 0x08, "
                        "unsigned byte)", path, h[2]);
    int nd = h[3];
    if (nd < min_dims || nd > max_dims)
        return bp__fail(BP_ERR_FORMAT, "%s: %d dimensions, expected %d to %d", path, nd,
                        min_dims, max_dims);
    if ((st = read_exact(f, h + 4, 4 * (unsigned)nd, "IDX header"))) return st;
    f->count = be32(h + 4);
    f->item = 1;
    for (int i = 0; i < nd; i++) {
        size_t dim = be32(h + 4 + 4 * i);
        if (dim == 0) return bp__fail(BP_ERR_FORMAT, "%s: dimension %d is 0", path, i);
        if (i > 0 && f->item > (size_t)INT_MAX / dim)
            return bp__fail(BP_ERR_FORMAT, "%s: dimensions overflow: more than %d values per "
                            "sample", path, INT_MAX);
        if (i > 0) f->item *= dim;
    }
    return BP_OK;
}

/* Reads the count * item data bytes as bp_real values 0..255 into *out. */
static bp_status idx_read(const idx_file *f, bp_real **out)
{
    *out = NULL;
    if (f->count > SIZE_MAX / sizeof(bp_real) / f->item)
        return bp__fail(BP_ERR_FORMAT, "%s: %zu samples of %zu values overflow", f->path,
                        f->count, f->item);
    size_t total = f->count * f->item, done = 0, cap = 0;
    bp_real *x = NULL;
    unsigned char chunk[65536];
    bp_status st = BP_OK;
    while (!st && done < total) {
        unsigned want = total - done < sizeof chunk ? (unsigned)(total - done) : sizeof chunk;
        int got = gzread(f->gz, chunk, want);
        if (got < 0) st = read_error(f);
        else if (got == 0)
            st = bp__fail(BP_ERR_FORMAT, "%s: truncated: the header claims %zu samples of %zu "
                          "values, the data ends after %zu values", f->path, f->count, f->item,
                          done);
        else if (!(st = bp__grow((void **)&x, &cap, done + (size_t)got, sizeof *x)))
            for (int i = 0; i < got; i++) x[done++] = chunk[i];
    }
    if (st) {
        free(x);
        return st;
    }
    *out = x;
    return BP_OK;
}

/* y (n, k) one-hot from the label values; k = max(10, largest + 1). */
static bp_status one_hot_labels(const bp_real *lab, size_t n, bp_real **y, int *k)
{
    int top = 0;
    for (size_t i = 0; i < n; i++) top = (int)lab[i] > top ? (int)lab[i] : top;
    *k = top + 1 > IDX_MIN_CLASSES ? top + 1 : IDX_MIN_CLASSES;
    *y = bp__calloc(n * (size_t)*k, sizeof **y); /* k <= 256: n * k cannot overflow */
    if (!*y) return BP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) (*y)[i * (size_t)*k + (size_t)lab[i]] = 1;
    return BP_OK;
}

static bp_status load(idx_file *img, idx_file *lab, const char *images_path,
                      const char *labels_path, bp_dataset **out)
{
    bp_status st = idx_open(img, images_path, 2, IDX_MAX_DIMS);
    if (!st && labels_path) st = idx_open(lab, labels_path, 1, 1);
    if (st) return st;
    if (labels_path && lab->count != img->count)
        return bp__fail(BP_ERR_FORMAT, "%s has %zu images but %s has %zu labels", images_path,
                        img->count, labels_path, lab->count);
    bp_real *labels = NULL, *x = NULL, *y = NULL;
    int k = 0;
    /* Labels first: they are the smaller file, so a lying header fails fast. */
    if (labels_path && !(st = idx_read(lab, &labels))) st = one_hot_labels(labels, lab->count, &y, &k);
    if (!st) st = idx_read(img, &x);
    free(labels);
    if (!st) {
        st = bp__dataset_adopt(out, img->count, (int)img->item, k, x, y);
        x = y = NULL;
    }
    if (!st && k) st = bp_dataset_set_labels(*out, k, NULL);
    if (st) {
        bp_dataset_free(*out);
        *out = NULL;
    }
    free(x);
    free(y);
    return st;
}

bp_status bp_dataset_load_idx(bp_dataset **out, const char *images_path, const char *labels_path)
{
    *out = NULL;
    idx_file img = {0}, lab = {0};
    bp_status st = load(&img, &lab, images_path, labels_path, out);
    if (img.gz) gzclose(img.gz);
    if (lab.gz) gzclose(lab.gz);
    return st;
}
