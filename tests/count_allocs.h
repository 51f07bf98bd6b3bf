/* count_allocs.h - counts the test program's allocations, for the "nothing
 * allocated in the loop / in predict" tests: the malloc family wraps glibc's.
 * Not under AddressSanitizer or ThreadSanitizer, which own malloc themselves
 * (COUNTING_ALLOCS is then undefined and the tests say so). Include it in one test file only. */
#ifndef BP_TEST_COUNT_ALLOCS_H
#define BP_TEST_COUNT_ALLOCS_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define __SANITIZE_THREAD__ 1
#endif
#endif

static long n_allocs;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define COUNTING_ALLOCS 1
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
void *malloc(size_t n) { n_allocs++; return __libc_malloc(n); }
void *calloc(size_t n, size_t s) { n_allocs++; return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { n_allocs++; return __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { n_allocs++; return __libc_memalign(a, n); }
#endif

#endif
