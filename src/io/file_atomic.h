/* file_atomic.h - the library's own use of the one file writer (src/io/). */
#ifndef BP_FILE_ATOMIC_H
#define BP_FILE_ATOMIC_H

#include "base.h"

/* Writes path through bp_file (file_atomic.c; backprop.h gives the rules):
 * fill(f, ctx) writes the contents and returns false if a write failed. On
 * any failure a replaced file is left as it was and no temporary file stays;
 * the message names the path and the step that failed. */
bp_status bp__file_write_with(const char *path, bool (*fill)(FILE *f, const void *ctx),
                              const void *ctx);

#endif
