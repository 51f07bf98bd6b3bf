/* mathf.c - exp and tanh in float arithmetic alone, the same bits on every
 * machine: the BLAS-free float build's R_EXP and R_TANH (base.h).
 *
 * libm's expf and tanhf are accurate to about an ulp but not correctly
 * rounded, and glibc and picolibc round some inputs differently, so a device
 * would part from the host by an ulp. Taking them in double and rounding once
 * agrees, but a Cortex-M4F has no double unit: a software double exp costs
 * about 1,700 instructions, the softmax of one 10-class sample 17,000. Here
 * every step is a float +, -, * or / (IEEE, correctly rounded everywhere; the
 * build has -ffp-contract=off), so the result is a function of the input
 * alone, at about 40 instructions. Accuracy (tests/test_mathf.c): within 1
 * ulp of exp and 3 of tanh (e / (e + 2) adds the division's and the sum's
 * roundings to expm1's); glibc's tanhf is within 2.
 *
 * exp: x = k ln2 + r with |r| <= ln2/2 (Cody and Waite: ln2 in two parts, the
 * first with few enough bits that k ln2_hi is exact), e^r - 1 by its Taylor
 * series to r^8 (the next term is below 5e-9 of the result), then 2^k. */
#include "base.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const float LN2_HI = 0.693145751953125f;    /* 0x3f317200: 16 significant bits */
static const float LN2_LO = 1.42860676533018704e-6f;
static const float LOG2E = 1.44269502f;

/* e^r - 1 for |r| <= 0.35: r + r^2/2! + ... + r^8/8!, Horner. */
static float expm1_reduced(float r)
{
    float p = 1.0f / 40320;
    p = 1.0f / 5040 + r * p;
    p = 1.0f / 720 + r * p;
    p = 1.0f / 120 + r * p;
    p = 1.0f / 24 + r * p;
    p = 1.0f / 6 + r * p;
    p = 0.5f + r * p;
    return r + r * r * p;
}

/* 2^k as a float, for -126 <= k <= 127. */
static float pow2(int k)
{
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* y 2^k without overflow or premature underflow, k in [-150, 128]. */
static float scale(float y, int k)
{
    if (k > 127) return y * 2.0f * pow2(k - 1);
    if (k < -126) return y * pow2(k + 64) * pow2(-64); /* into the subnormals */
    return y * pow2(k);
}

/* x = k ln2 + r; returns e^r - 1. */
static float reduce(float x, int *k)
{
    float kf = x * LOG2E;
    *k = (int)(kf < 0 ? kf - 0.5f : kf + 0.5f);
    kf = (float)*k;
    float r = (x - kf * LN2_HI) - kf * LN2_LO;
    return expm1_reduced(r);
}

float bp__expf(float x)
{
    if (x != x) return x;
    if (x > 88.7228317f) return INFINITY; /* the largest x whose e^x is finite */
    if (x < -103.972084045410156f) return 0.0f;  /* e^x below half the least subnormal */
    int k;
    float p = reduce(x, &k);
    return scale(1.0f + p, k);
}

/* e^x - 1, accurate near 0, for |x| <= 20 (all tanh needs). */
static float expm1_small(float x)
{
    int k;
    float p = reduce(x, &k);
    return k == 0 ? p : scale(1.0f + p, k) - 1.0f;
}

float bp__tanhf(float x)
{
    if (x != x) return x;
    float ax = x < 0 ? -x : x;
    if (ax < 0x1p-12f) return x;        /* tanh x = x - x^3/3: below an ulp of x; keeps -0 */
    if (ax > 9.1f) return x < 0 ? -1.0f : 1.0f; /* 1 - tanh(9.1) < 2^-25 */
    float e = expm1_small(2 * ax);
    float t = e / (e + 2.0f);           /* (e^2a - 1) / (e^2a + 1) */
    return x < 0 ? -t : t;
}
