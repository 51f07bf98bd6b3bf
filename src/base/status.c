/* status.c - bp_status, the thread's last error message, small utilities. */
#define _POSIX_C_SOURCE 200809L
#include "base.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char last_error[1024];

const char *bp_last_error(void) { return last_error; }

bp_status bp__fail(bp_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

/* Bytes of the valid UTF-8 character at p (2-4), or 0. */
static int utf8_len(const unsigned char *p)
{
    int n = *p >= 0xC2 && *p <= 0xDF ? 2 : *p >= 0xE0 && *p <= 0xEF ? 3 : *p >= 0xF0 && *p <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

const char *bp_text_escape(char *buf, size_t size, const char *s)
{
    if (!s) s = "(null)";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, room = size - 24; /* what is left for "...(N bytes)" */
    while (*p) {
        char e[8];
        int step = 1, w = *p == '\n' ? snprintf(e, sizeof e, "\\n")
                          : *p == '\t' ? snprintf(e, sizeof e, "\\t")
                          : *p == '\r' ? snprintf(e, sizeof e, "\\r")
                          : *p == '\\' ? snprintf(e, sizeof e, "\\\\")
                          : 0;
        if (!w && *p >= 0x80 && (step = utf8_len(p)) > 0) {
            memcpy(e, p, (size_t)step), w = step; /* a whole character, never cut inside */
        } else if (!w && (*p < 0x20 || *p >= 0x7f)) { /* control byte, or not UTF-8 */
            w = snprintf(e, sizeof e, "\\x%02x", *p), step = 1;
        } else if (!w) {
            e[0] = (char)*p, w = 1, step = 1;
        }
        if (n + (size_t)w > room) break;
        memcpy(buf + n, e, (size_t)w);
        n += (size_t)w;
        p += step;
    }
    if (*p) n += (size_t)snprintf(buf + n, size - n, "...(%zu bytes)", strlen(s));
    buf[n < size ? n : size - 1] = '\0';
    return buf;
}

const char *bp_status_name(bp_status s)
{
    switch (s) {
    case BP_OK: return "BP_OK";
    case BP_ERR_INVALID: return "BP_ERR_INVALID";
    case BP_ERR_NOMEM: return "BP_ERR_NOMEM";
    case BP_ERR_IO: return "BP_ERR_IO";
    case BP_ERR_FORMAT: return "BP_ERR_FORMAT";
    case BP_ERR_NUMERIC: return "BP_ERR_NUMERIC";
    case BP_ERR_INTERRUPTED: return "BP_ERR_INTERRUPTED";
    case BP_STATUS_COUNT_: break;
    }
    return "BP_ERR_UNKNOWN";
}

/* Zeroed and aligned to a cache line. Threads split buffers by rows or by
 * columns at multiples of 16 values; aligned, those cuts fall on line
 * boundaries when row lengths are multiples of 16 floats, so two cores do
 * not write the same line there. 2-thread training of 784-256-128-10 went
 * from 143,600 to 146,900 samples/s (medians of 20 epochs, builds
 * alternating; docs/PERFORMANCE.md). */
void *bp__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        bp__fail(BP_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    size_t bytes = (n ? n : 1) * (size ? size : 1);
    if (bytes > SIZE_MAX - (BP__LINE - 1)) {
        bp__fail(BP_ERR_NOMEM, "allocation of %zu bytes overflows", bytes);
        return NULL;
    }
    bytes = (bytes + BP__LINE - 1) / BP__LINE * BP__LINE; /* aligned_alloc wants a multiple */
#ifdef BP_NO_HEAP /* a device build: no malloc linked; objects come from bp_alloc_set's allocator */
    bp__fail(BP_ERR_NOMEM, "no heap in this build (BP_NO_HEAP): %zu bytes asked; give the "
             "library memory with bp_alloc_set (an arena: bp_arena)", bytes);
    return NULL;
#endif
    void *p = aligned_alloc(BP__LINE, bytes);
    if (!p) {
        bp__fail(BP_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    return memset(p, 0, bytes);
}

static char *strdup_in(const bp__alloc *a, const char *s)
{
    size_t len = strlen(s);
    char *c = bp__alloc_calloc(a, len + 1, 1);
    if (c) memcpy(c, s, len);
    return c;
}

char *bp__strdup(const char *s) { return strdup_in(&(bp__alloc){0}, s); }

void bp__strings_free_in(const bp__alloc *a, char **list, int n)
{
    for (int i = 0; list && i < n; i++) bp__alloc_free(a, list[i]);
    bp__alloc_free(a, list);
}

void bp__strings_free(char **list, int n) { bp__strings_free_in(&(bp__alloc){0}, list, n); }

bp_status bp__strings_copy(char ***out, int n, const char *const *names)
{
    return bp__strings_copy_in(&(bp__alloc){0}, out, n, names);
}

bp_status bp__strings_copy_in(const bp__alloc *a, char ***out, int n, const char *const *names)
{
    *out = NULL;
    if (n == 0) return BP_OK;
    char **list = bp__alloc_calloc(a, (size_t)n, sizeof *list);
    if (!list) return BP_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        if (names && !names[i]) {
            bp__strings_free_in(a, list, i);
            return bp__fail(BP_ERR_INVALID, "label %d is NULL", i);
        }
        if (!(list[i] = strdup_in(a, names ? names[i] : num))) {
            bp__strings_free_in(a, list, i);
            return BP_ERR_NOMEM;
        }
    }
    *out = list;
    return BP_OK;
}

double bp__now(void)
{
#ifdef CLOCK_MONOTONIC
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return 0; /* bare metal (picolibc): no clock; an epoch's seconds read 0 */
#endif
}

bp_status bp__lookup(const char *what, const char *const *names, int n, const char *name, int *out)
{
    for (int i = 0; i < n; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = i;
            return BP_OK;
        }
    char expected[256] = "";
    for (int i = 0; i < n; i++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                 i ? (i == n - 1 ? " or " : ", ") : "", names[i]);
    return bp__fail(BP_ERR_INVALID, "unknown %s '%s' (expected %s)", what, name ? name : "(null)",
                    expected);
}

size_t bp_real_size(void) { return sizeof(bp_real); }
const char *bp_version(void) { return BP_VERSION_STRING; }
