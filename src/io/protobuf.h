/* protobuf.h - the few wire-format primitives the ONNX writer and reader use
 * (https://protobuf.dev/programming-guides/encoding/): varints, tags,
 * length-delimited fields, fixed32. The reader never reads outside its
 * slice; the writer grows one buffer and remembers an allocation failure
 * instead of failing each call. */
#ifndef BP_PROTOBUF_H
#define BP_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { BP__PB_VARINT = 0, BP__PB_I64 = 1, BP__PB_LEN = 2, BP__PB_I32 = 5 };

/* --------------------------------------------------------------- reading */

/* A slice of the input, [p, end): a message being read, or a field's bytes. */
typedef struct bp__pb {
    const uint8_t *p, *end;
} bp__pb;

static inline bp__pb bp__pb_of(const void *data, size_t n)
{
    bp__pb r = {(const uint8_t *)data, (const uint8_t *)data + n};
    return r;
}
static inline size_t bp__pb_len(bp__pb r) { return (size_t)(r.end - r.p); }
/* Whether the slice holds exactly the string s; whether two slices hold the
 * same bytes (empty slices, even NULL ones, are equal). */
bool bp__pb_eq(bp__pb s, const char *str);
bool bp__pb_same(bp__pb a, bp__pb b);

/* Each returns false (and leaves *r somewhere inside its slice) on truncated
 * or malformed input. */
bool bp__pb_varint(bp__pb *r, uint64_t *v);
/* The next field's number (>= 1) and wire type (VARINT, I64, LEN or I32). */
bool bp__pb_tag(bp__pb *r, uint32_t *field, int *wire);
/* The value of a LEN field as a sub-slice. */
bool bp__pb_bytes(bp__pb *r, bp__pb *out);
bool bp__pb_fixed32(bp__pb *r, uint32_t *v);
/* Skips the value of a field of this wire type. */
bool bp__pb_skip(bp__pb *r, int wire);

/* --------------------------------------------------------------- writing */

typedef struct bp__pbw {
    uint8_t *buf;  /* (cap), len used */
    size_t len, cap;
    bool failed;   /* an allocation failed: the contents are incomplete */
} bp__pbw;

void bp__pbw_free(bp__pbw *w);
void bp__pbw_varint_field(bp__pbw *w, uint32_t field, uint64_t v);
void bp__pbw_bytes_field(bp__pbw *w, uint32_t field, const void *data, size_t n);
void bp__pbw_string_field(bp__pbw *w, uint32_t field, const char *s);
void bp__pbw_float_field(bp__pbw *w, uint32_t field, float v);
/* A nested message: begin returns a mark, the message's fields follow, and
 * end(mark) inserts its length before them. */
size_t bp__pbw_begin(bp__pbw *w, uint32_t field);
void bp__pbw_end(bp__pbw *w, size_t mark);

#endif
