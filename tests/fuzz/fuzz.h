/* fuzz.h - what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each fuzz_X.c defines `static void fuzz_X(const uint8_t *data, size_t size)`
 * and, unless FUZZ_NO_MAIN is defined, the LLVMFuzzerTestOneInput that calls
 * it. tests/test_regressions.c defines FUZZ_NO_MAIN and FUZZ_ASSERT, includes
 * the three files and replays every seed and regression input through the
 * same code in the normal test suite.
 *
 * The readers take paths, so the input is written to a memfd and opened as
 * /proc/self/fd/N: the real open/fstat/read path, at no disk cost. */
#ifndef BP_FUZZ_H
#define BP_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include "backprop.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

/* An invariant the library promises about a successful load. */
#ifndef FUZZ_ASSERT
#define FUZZ_ASSERT(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)
#endif

/* The libFuzzer entry point of a target, left out when FUZZ_NO_MAIN. */
#ifdef FUZZ_NO_MAIN
#define FUZZ_ENTRY(target)
#else
#define FUZZ_ENTRY(target)                                            \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)      \
    {                                                                 \
        target(data, size);                                           \
        return 0;                                                     \
    }
#endif

/* One thread: OpenBLAS's thread pool only slows small models down. */
static inline void fuzz_init(void)
{
    static int done;
    if (!done) bp_set_threads(1), done = 1;
}

/* The path of memory file `slot` (0..3) holding exactly data[0..size). */
static inline const char *fuzz_file(int slot, const void *data, size_t size)
{
    static int fd[4] = {-1, -1, -1, -1};
    static char path[4][32];
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("bp_fuzz", 0);
        if (fd[slot] < 0) perror("memfd_create"), abort();
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0) perror("ftruncate"), abort();
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fd[slot], (const char *)data + done, size - done, (off_t)done);
        if (n <= 0) perror("pwrite"), abort();
        done += (size_t)n;
    }
    return path[slot];
}

/* data gzip-compressed into a malloc'd buffer (*out_size bytes); NULL on failure. */
static inline unsigned char *fuzz_gzip(const void *data, size_t size, size_t *out_size)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)size);
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    *out_size = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static inline int fuzz_all_finite(const bp_real *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

#endif
