/* rng.c - xoshiro256** (Blackman & Vigna), seeded through splitmix64.
 * The library's only source of randomness: never rand(). */
#include "base.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void bp_rng_seed(bp_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bp_rng_next(bp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bp_rng_uniform(bp_rng *r)
{
    return (double)(bp_rng_next(r) >> 11) * 0x1.0p-53; /* 53 random bits */
}

double bp_rng_normal(bp_rng *r)
{
    /* Box-Muller; u1 in (0, 1] so the log is finite. One value per call keeps
     * the stream a plain function of the seed. */
    double u1 = 1.0 - bp_rng_uniform(r);
    double u2 = bp_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The 128-bit product of a and b as hi:lo. 32-bit targets (Cortex-M) have no
 * __uint128_t; the four 32x32 partial products give the same bits. */
static uint64_t mul_hi_lo(uint64_t a, uint64_t b, uint64_t *lo)
{
#ifdef __SIZEOF_INT128__
    __uint128_t m = (__uint128_t)a * b;
    *lo = (uint64_t)m;
    return (uint64_t)(m >> 64);
#else
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *lo = (mid << 32) | (uint32_t)ll;
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

uint64_t bp_rng_below(bp_rng *r, uint64_t bound)
{
    /* Lemire's multiply-shift with rejection: unbiased for any bound. */
    if (bound == 0) return 0;
    uint64_t low, high = mul_hi_lo(bp_rng_next(r), bound, &low);
    if (low < bound) {
        uint64_t threshold = -bound % bound;
        while (low < threshold) high = mul_hi_lo(bp_rng_next(r), bound, &low);
    }
    return high;
}
