/* exp_nonpos.h - e^x for x <= 0 in double arithmetic alone, inline, so that
 * the loops calling it vectorize where libm's exp is a call per element.
 *
 * x = k ln2 + r, |r| <= ln2/2 (Cody and Waite: k ln2_hi exact), e^r by its
 * Taylor series to r^13 (the next term is below 1e-17 of it), then 2^k.
 * Within 1.14 ulp of expl (tests/test_loss.c); rounded to float, it is the
 * correctly rounded e^x of every float x in [-104, 0] (all 1.12e9 of them,
 * checked against expl; glibc's expf misses 97,052). Below -708 it returns 0,
 * NaN stays NaN. */
#ifndef BP_EXP_NONPOS_H
#define BP_EXP_NONPOS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The form softmax and the losses take: fused where the target has FMA (a
 * float rounding of either is correctly rounded; softmax and the
 * cross-entropy take the same one, so that the loss can sum softmax's exps:
 * bp__row_lse), but in the BLAS-free build, which contracts nothing: its
 * bits are a device's (issue 24). */
#if defined(__FMA__) && !defined(BP_NO_BLAS)
#define BP__EXP_FUSED true
#else
#define BP__EXP_FUSED false
#endif

/* Whether softmax keeps the cross-entropy's row sums (bp__row_lse): the float
 * build with a BLAS, where both take this exp inline. */
#if !defined(BP_REAL_DOUBLE) && !defined(BP_NO_BLAS)
#define BP__SOFTMAX_LSE 1
#else
#define BP__SOFTMAX_LSE 0
#endif

/* e^(z - mx) in double for floats z <= mx, from softmax's way to it: e_d =
 * e^d of the difference rounded to float, d = fl(z - mx), times e^delta,
 * delta = (z - mx) - d that rounding (|delta| <= 2^-25 |z - mx| <= 2.2e-5:
 * three terms of its series reach double precision). A delta that is not
 * small is that of an infinite d (z - mx past float's range: e_d is 0) or
 * of a NaN: taken as 0, by a quiet comparison, so that loops vectorize. The
 * cross-entropy's sums take it, from softmax's pass or on their own: one
 * function, the same bits. */
static inline double bp__exp_refined(double e_d, float z, float mx, float d)
{
    double delta = ((double)z - (double)mx) - (double)d;
    delta = isless(fabs(delta), 1) ? delta : 0;
    return e_d * (1 + delta * (1 + delta * (0.5 + delta * (1.0 / 6))));
}

/* fused: each Horner step one fma (where the target has FMA, the caller's
 * choice; a compile-time constant, so only one form is built). */
static inline double bp__exp_nonpos_inline(double x_in, bool fused)
{
    /* Clamped so that 2^k stays a normal double, and zeroed below -708 by a
     * product, not a branch, with quiet comparisons (which raise no flag on
     * NaN, so the compiler may evaluate them unconditionally): loops over
     * floats then vectorize too. NaN stays NaN. */
    double x = isless(x_in, -708) ? -708 : x_in;
    const double log2e = 1.4426950408889634, ln2_hi = 6.93147180369123816490e-01,
                 ln2_lo = 1.90821492927058770002e-10, shifter = 0x1.8p52;
    double t = x * log2e + shifter, kd = t - shifter; /* k = round(x log2 e), exactly */
    double r = (x - kd * ln2_hi) - kd * ln2_lo;
    /* Horner from 1/13! down, written out: left a loop, it stays rolled in
     * some callers, and keeps their loop from vectorizing */
#define BP__HORNER_STEP(c) p = fused ? fma(r, p, c) : (c) + r * p
    double p = 1.0 / 6227020800.0;
    BP__HORNER_STEP(1.0 / 479001600);
    BP__HORNER_STEP(1.0 / 39916800);
    BP__HORNER_STEP(1.0 / 3628800);
    BP__HORNER_STEP(1.0 / 362880);
    BP__HORNER_STEP(1.0 / 40320);
    BP__HORNER_STEP(1.0 / 5040);
    BP__HORNER_STEP(1.0 / 720);
    BP__HORNER_STEP(1.0 / 120);
    BP__HORNER_STEP(1.0 / 24);
    BP__HORNER_STEP(1.0 / 6);
    BP__HORNER_STEP(0.5);
    BP__HORNER_STEP(1.0);
    BP__HORNER_STEP(1.0);
#undef BP__HORNER_STEP
    uint64_t tb, sb; /* t's low bits hold k + 2^51: integer steps alone, so the loop vectorizes */
    memcpy(&tb, &t, sizeof tb);
    memcpy(&sb, &shifter, sizeof sb);
    uint64_t bits = (tb - sb + 1023) << 52;
    double two_k;
    memcpy(&two_k, &bits, sizeof two_k);
    return p * two_k * (double)isgreaterequal(x_in, -708);
}

#endif
