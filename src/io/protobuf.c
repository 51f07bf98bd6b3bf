/* protobuf.c - protobuf wire format: a bounds-checked reader over a slice
 * and a growing writer (protobuf.h). */
#include "protobuf.h"

#include <stdlib.h>
#include <string.h>

bool bp__pb_eq(bp__pb s, const char *str)
{
    size_t n = strlen(str);
    return bp__pb_len(s) == n && (n == 0 || memcmp(s.p, str, n) == 0);
}

bool bp__pb_same(bp__pb a, bp__pb b)
{
    size_t n = bp__pb_len(a);
    return n == bp__pb_len(b) && (n == 0 || memcmp(a.p, b.p, n) == 0);
}

bool bp__pb_varint(bp__pb *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false; /* truncated, or longer than 10 bytes */
}

bool bp__pb_tag(bp__pb *r, uint32_t *field, int *wire)
{
    uint64_t t;
    if (!bp__pb_varint(r, &t) || t >> 3 == 0 || t >> 3 > 0x1fffffff) return false;
    *field = (uint32_t)(t >> 3);
    *wire = (int)(t & 7);
    return *wire == BP__PB_VARINT || *wire == BP__PB_I64 || *wire == BP__PB_LEN ||
           *wire == BP__PB_I32;
}

bool bp__pb_bytes(bp__pb *r, bp__pb *out)
{
    uint64_t n;
    if (!bp__pb_varint(r, &n) || n > bp__pb_len(*r)) return false;
    out->p = r->p;
    out->end = r->p + n;
    r->p += n;
    return true;
}

bool bp__pb_fixed32(bp__pb *r, uint32_t *v)
{
    if (bp__pb_len(*r) < 4) return false;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return true;
}

bool bp__pb_skip(bp__pb *r, int wire)
{
    uint64_t v;
    bp__pb s;
    switch (wire) {
    case BP__PB_VARINT: return bp__pb_varint(r, &v);
    case BP__PB_LEN: return bp__pb_bytes(r, &s);
    case BP__PB_I32:
    case BP__PB_I64: {
        size_t n = wire == BP__PB_I32 ? 4 : 8;
        if (bp__pb_len(*r) < n) return false;
        r->p += n;
        return true;
    }
    default: return false;
    }
}

/* ---------------------------------------------------------------- writer */

void bp__pbw_free(bp__pbw *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static bool reserve(bp__pbw *w, size_t n)
{
    if (w->failed) return false;
    if (n <= w->cap - w->len) return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) return w->failed = true, false;
        cap *= 2;
    }
    uint8_t *b = realloc(w->buf, cap);
    if (!b) return w->failed = true, false;
    w->buf = b, w->cap = cap;
    return true;
}

/* Encodes v into b (at least 10 bytes); returns the length. */
static size_t encode_varint(uint8_t *b, uint64_t v)
{
    size_t n = 0;
    do {
        b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static void put_varint(bp__pbw *w, uint64_t v)
{
    if (reserve(w, 10)) w->len += encode_varint(w->buf + w->len, v);
}

static void put_tag(bp__pbw *w, uint32_t field, int wire)
{
    put_varint(w, (uint64_t)field << 3 | (uint64_t)wire);
}

void bp__pbw_varint_field(bp__pbw *w, uint32_t field, uint64_t v)
{
    put_tag(w, field, BP__PB_VARINT);
    put_varint(w, v);
}

void bp__pbw_bytes_field(bp__pbw *w, uint32_t field, const void *data, size_t n)
{
    put_tag(w, field, BP__PB_LEN);
    put_varint(w, n);
    if (n && reserve(w, n)) memcpy(w->buf + w->len, data, n), w->len += n;
}

void bp__pbw_string_field(bp__pbw *w, uint32_t field, const char *s)
{
    bp__pbw_bytes_field(w, field, s, strlen(s));
}

void bp__pbw_float_field(bp__pbw *w, uint32_t field, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_tag(w, field, BP__PB_I32);
    if (reserve(w, 4))
        for (int i = 0; i < 4; i++) w->buf[w->len++] = (uint8_t)(u >> (8 * i));
}

size_t bp__pbw_begin(bp__pbw *w, uint32_t field)
{
    put_tag(w, field, BP__PB_LEN);
    return w->len;
}

void bp__pbw_end(bp__pbw *w, size_t mark)
{
    if (w->failed) return;
    uint8_t len[10];
    size_t body = w->len - mark, n = encode_varint(len, body);
    if (!reserve(w, n)) return;
    memmove(w->buf + mark + n, w->buf + mark, body);
    memcpy(w->buf + mark, len, n);
    w->len += n;
}
