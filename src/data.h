/* data.h - private helpers shared by the data*.c files (the data set layer). */
#ifndef BP_DATA_H
#define BP_DATA_H

#include "internal.h"

/* Wraps buffers the caller allocated into a new set, which takes ownership:
 * x (n, inputs) and y (n, outputs) or NULL when outputs == 0; x may be
 * larger (a grown buffer) and is then shrunk to fit. On failure the buffers
 * are freed. */
bp_status bp__dataset_adopt(bp_dataset **out, size_t n, int inputs, int outputs,
                            bp_real *x, bp_real *y);

/* Grows *buf (holding *cap elements of `size` bytes) to at least `need`
 * elements, doubling so that appending is amortized O(1). */
bp_status bp__grow(void **buf, size_t *cap, size_t need, size_t size);

#endif
