/* cpu.c - what the core is, where a choice of code path measured differently
 * on different makers' cores (docs/PERFORMANCE.md): the two paths give the
 * same bits, only their speed depends on it. */
#include "base.h"

#include <stdatomic.h>

bool bp__cpu_amd(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    static atomic_int amd = -1; /* -1: not asked yet (two threads may ask at once) */
    int is = atomic_load_explicit(&amd, memory_order_relaxed);
    if (is < 0) {
        __builtin_cpu_init();
        is = __builtin_cpu_is("amd") != 0;
        atomic_store_explicit(&amd, is, memory_order_relaxed);
    }
    return is;
#else
    return false;
#endif
}
