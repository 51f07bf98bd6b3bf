/* base.h - the library's private foundation (src/base/): messages and
 * statuses, memory, the clock, the matrix products and the thread pool.
 * Everything else in src/ builds on it; it includes nothing of theirs. */
#ifndef BP_BASE_H
#define BP_BASE_H

#include "backprop.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Internal invariants only: user input and I/O errors are statuses. */
#define BP_ASSERT(cond) assert(cond)

/* Math at bp_real precision: float loops must not round-trip through double. */
#ifdef BP_REAL_DOUBLE
#define BP_REAL_NAME "float64"
#define R_EXP exp
#define R_TANH tanh
#define R_SQRT sqrt
#define R_FLOOR floor
#else
#define BP_REAL_NAME "float32"
#ifdef BP_NO_BLAS
/* The BLAS-free build gives the same bits on every machine (issue 24): libm's
 * expf and tanhf round some inputs differently in glibc and picolibc; the
 * library's own, float arithmetic alone, do not (mathf.c). */
#define R_EXP bp__expf
#define R_TANH bp__tanhf
#else
#define R_EXP expf
#define R_TANH tanhf
#endif
#define R_SQRT sqrtf
#define R_FLOOR floorf
#endif

/* e^x and tanh x in float arithmetic alone: the same bits on every machine
 * (mathf.c; within 1 and 3 ulps). */
float bp__expf(float x);
float bp__tanhf(float x);

/* Records a printf-style message as the thread's last error and returns s.
 * Usage: return bp__fail(BP_ERR_INVALID, "sizes[%d] = %d: must be >= 1", l, n); */
bp_status bp__fail(bp_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Index of `name` in names[0..n) into *out, or BP_ERR_INVALID with a message
 * "unknown WHAT 'name' (expected a, b or c)". */
bp_status bp__lookup(const char *what, const char *const *names, int n, const char *name, int *out);

/* calloc of n * size with overflow check, aligned to BP__LINE; NULL on
 * failure (message set). */
#define BP__LINE 64 /* bytes in a cache line */
void *bp__calloc(size_t n, size_t size);

/* An object's allocator (alloc.c): the one in force when it was created,
 * kept for its later growth and its free. alloc NULL: the heap (bp__calloc
 * and free). */
typedef bp_allocator bp__alloc;
/* The calling thread's setting (bp_alloc_set), for an object being created. */
bp__alloc bp__alloc_current(void);
/* Zeroed (n, size) from a, aligned to BP_ARENA_ALIGN; NULL with a message. */
void *bp__alloc_calloc(const bp__alloc *a, size_t n, size_t size);
void bp__alloc_free(const bp__alloc *a, void *p);
/* free() of what bp__calloc gave (nothing in a BP_NO_HEAP build, which links
 * no malloc or free: bp__calloc fails there). */
void bp__heap_free(void *p);
/* What bp__alloc_calloc(a, n, size) takes from an allocator (an arena):
 * n * size (1 for 0) rounded up to BP_ARENA_ALIGN; 0 on overflow. */
size_t bp__alloc_bytes(size_t n, size_t size);

/* A heap copy of s; NULL (message set) when out of memory. */
char *bp__strdup(const char *s);
/* Copies n strings into a new array (names NULL: "0", "1", ...); *out is NULL
 * for n == 0. bp__strings_free frees such an array of n. */
bp_status bp__strings_copy(char ***out, int n, const char *const *names);
void bp__strings_free(char **list, int n);
/* The same through an object's allocator (a model's labels). */
bp_status bp__strings_copy_in(const bp__alloc *a, char ***out, int n, const char *const *names);
void bp__strings_free_in(const bp__alloc *a, char **list, int n);

/* Monotonic wall clock in seconds. */
double bp__now(void);

/* ------------------------------------------------------------------ gemm */

typedef enum { BP_NO_TRANS = 0, BP_TRANS = 1 } bp__trans;

/* C (m, n) = alpha op(A) op(B) + beta C, row-major, cblas argument order.
 * op(A) is (m, k), op(B) is (k, n). The BLAS kernel: OpenBLAS, or in a
 * build without BLAS (BP_NO_BLAS, make BLAS=none) bp__gemm_blocked. */
void bp__gemm(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
              const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
              bp_real *c, int ldc);
/* The library's own cache-blocked GEMM (gemm_blocked.c), the same contract;
 * its summation order is a pure function of k, the same on every machine. */
void bp__gemm_blocked(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                      const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                      bp_real *c, int ldc);
/* The naive triple loop with the same contract, kept as the tests' reference. */
void bp__gemm_ref(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                  const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                  bp_real *c, int ldc);

/* The library's own float32 GEMM for x86-64 (gemm_x86.c), bp__gemm's
 * contract: packed panels and an AVX-512 or AVX2 FMA micro-kernel, chosen at
 * run time (bp__gemm_x86_isa). Where it cannot run (no AVX2, float64, make
 * BLAS=none, not x86-64) it is bp__gemm. */
typedef enum bp__gemm_isa {
    BP__GEMM_ISA_BLAS,   /* the own kernel off: bp__gemm */
    BP__GEMM_ISA_AVX2,   /* 6 x 16 tile, 256-bit FMAs */
    BP__GEMM_ISA_AVX512, /* tiles up to 12 x 32, 512-bit FMAs */
} bp__gemm_isa;
void bp__gemm_x86(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                  const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                  bp_real *c, int ldc);
/* The path bp__gemm_x86 takes: the widest the core supports, or the one the
 * environment's BP_GEMM_ISA=avx512|avx2|blas names if the core supports it
 * (read at the first call). */
bp__gemm_isa bp__gemm_x86_isa(void);
/* Test hook: forces a path (-1: back to the environment's and the core's
 * choice); false, and no change, where the core cannot run it. Not for use
 * while another thread computes. */
bool bp__gemm_x86_isa_set(bp__gemm_isa isa);
/* The forward's product Z = A Wᵀ for rows <= 16 of A (lda apart) and n <= 16
 * rows of W (ldw apart, k long) with the rows in the lanes: t[c][r] = Z[r][c]
 * for r < 16 (rows past `rows` zero), with bp__gemm_x86's bits. False, and
 * nothing done, where its AVX-512 path is not the one taken (the caller then
 * runs the product as tiles: the same bits). */
bool bp__forward_lanes_x86(bp_real t[][16], const bp_real *a, int lda, const bp_real *w, int ldw,
                           int rows, int n, int k);
/* Whether the core is AMD's (cpu.c; false off x86): where a code path's
 * speed measured otherwise there, the same bits either way. */
bool bp__cpu_amd(void);

/* "blas", "avx2", "avx512". */
const char *bp__gemm_isa_name(bp__gemm_isa isa);

/* The matrix products of the library, each C (m, n) = op(A) op(B) with op(A)
 * (m, k) and op(B) (k, n), row-major, C overwritten. A layer's three: */
typedef enum bp__product {
    BP__PRODUCT_FORWARD,     /* Z = A · Wᵀ:   A (m, k), W (n, k) */
    BP__PRODUCT_WEIGHT_GRAD, /* dW = dZᵀ · A: dZ (k, m), A (k, n) */
    BP__PRODUCT_INPUT_GRAD,  /* dA = dZ · W:  dZ (m, k), W (k, n) */
    BP__PRODUCT_COUNT
} bp__product;

typedef enum bp__kernel {
    BP__KERNEL_BLAS,      /* bp__gemm */
    BP__KERNEL_GEMV_ROWS, /* bp__gemv_rows: W read once, in place (FORWARD only) */
    BP__KERNEL_BLOCKED,   /* bp__gemm_blocked, the library's own */
    BP__KERNEL_X86,       /* bp__gemm_x86, the library's own for x86-64 (float32) */
    BP__KERNEL_COUNT
} bp__kernel;

/* The kernel of every product the table names no other for. */
#ifdef BP_NO_BLAS
#define BP__KERNEL_DEFAULT BP__KERNEL_BLOCKED
#else
#define BP__KERNEL_DEFAULT BP__KERNEL_BLAS
#endif

/* One row of the table of which kernel serves which product and shape: it
 * matches `product` when m <= max_m, k >= min_k, n >= min_n and, where max_n
 * is not 0, n <= max_n. The first
 * row that matches wins; a product no row matches takes BP__KERNEL_DEFAULT.
 * A BP__KERNEL_X86 row holds only where bp__gemm_x86 runs its own code (a
 * core with AVX2 and FMA, BP_GEMM_ISA not blas); elsewhere OpenBLAS serves. */
typedef struct bp__kernel_rule {
    bp__product product;
    int max_m, min_k;
    bp__kernel kernel;
    int min_n, max_n; /* max_n 0: no bound */
} bp__kernel_rule;

/* The kernel the table gives for a product of this shape. A caller that
 * splits one product over threads asks once, for the whole product, so that
 * every part takes the same kernel whatever the thread count. */
bp__kernel bp__kernel_for(bp__product p, int m, int n, int k);
/* The one entry for a product: C = op(A) op(B) by `kernel` (from
 * bp__kernel_for for the whole product; this call may be one part of it). */
void bp__product_run(bp__kernel kernel, bp__product p, int m, int n, int k, const bp_real *a,
                     int lda, const bp_real *b, int ldb, bp_real *c, int ldc);
/* Test hook: replaces the table (rules NULL: the default one). Not for use
 * while another thread computes. */
void bp__kernel_table_set(const bp__kernel_rule *rules, int n);

/* z (m, units), rows ldz apart = x (m, in) · w (units, in)ᵀ, for a few rows of
 * x: W read once, in place (gemv.c); the kernel table (gemm.c) says when. */
void bp__gemv_rows(const bp_real *x, const bp_real *w, int m, int in, int units, bp_real *z,
                   int ldz);

/* -------------------------------------------------------------- threads */

/* A build with no threads: bare metal (-DBP_NO_THREADS, no pthread at all)
 * and WebAssembly without shared memory. The pool compiles out and every job
 * runs on the calling thread, as one part. */
#if defined(BP_NO_THREADS) || (defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__))
#define BP__SINGLE_THREAD 1
#endif

/* The most parts a job runs in (bp_set_threads caps the threads here). */
#define BP__MAX_THREADS 64
/* A job run in `parts` pieces: part p of parts does its share. */
typedef void (*bp__job_fn)(void *ctx, int part, int parts);
/* Runs fn on up to bp_threads() parts at once (the caller runs part 0,
 * then any part that no worker has started yet), fewer when the job's `flops`
 * are too few to pay for waking a thread, and returns when all are done. A
 * part must not wait for another part: any thread may run any part p >= 1. */
void bp__parallel(bp__job_fn fn, void *ctx, double flops);
/* The share [lo, hi) of n items that part p of parts takes. */
void bp__split(size_t n, int part, int parts, size_t *lo, size_t *hi);

#endif
