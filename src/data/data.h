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

/* A CSV file read as strings (bp_table_load_csv): the file's bytes, whose
 * fields are unquoted and NUL-terminated in place, and a pointer per cell. */
struct bp_table {
    char *path;         /* for messages */
    char *buf;          /* the file (len + 1) */
    size_t rows;        /* data rows, the header excluded */
    int cols;
    char **names;       /* (cols) the header's fields, or NULL without a header */
    long names_line;    /* line of the header */
    char **cells;       /* (rows, cols) */
    long *line;         /* (rows) line where each row starts */
    size_t *line_start; /* (rows) offset in buf of that line's first byte */
};

/* 1-based column (in bytes) of cell c of row r, for messages. */
long bp__table_col(const bp_table *t, size_t r, int c);

#endif
