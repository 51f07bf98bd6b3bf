/* file_atomic.c - writes a whole buffer to a file atomically, through the
 * model files' writer (bp__mf_write_atomic: a temporary file beside it,
 * fsynced and renamed over it, the directory synced), so that path holds the
 * old contents or the new, never a mix. */
#include "internal.h"
#include "modelfile.h"

#include <stdio.h>

typedef struct buffer {
    const void *data;
    size_t len;
} buffer;

static bool fill_buffer(FILE *f, const void *ctx)
{
    const buffer *b = ctx;
    return fwrite(b->data, 1, b->len, f) == b->len;
}

bp_status bp__write_atomic(const char *path, const void *data, size_t len)
{
    buffer b = {data, len};
    return bp__mf_write_atomic(path, fill_buffer, &b);
}
