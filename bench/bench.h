/* bench.h - what the C benchmarks share: a monotonic clock and the
 * "784,256,10" layer-size argument. */
#ifndef BP_BENCH_H
#define BP_BENCH_H

#include <backprop.h>

#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Fills c->sizes and c->n_layers from "N,N,..."; -1 on a malformed list. */
static inline int parse_layers(const char *s, bp_model_config *c)
{
    char *end;
    c->n_layers = -1;
    do {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || c->n_layers + 1 > BP_MAX_LAYERS) return -1;
        c->sizes[++c->n_layers] = (int)v;
        s = end + 1;
    } while (*end == ',');
    return *end ? -1 : 0;
}

#endif
