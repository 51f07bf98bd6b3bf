/* test_mathf.c - the library's own float exp and tanh (src/base/mathf.c),
 * the BLAS-free float build's R_EXP and R_TANH, against libm's double exp and
 * tanh: one float in every 61 of the range that matters (10 million, a few
 * seconds under the sanitizers; every float of it, once with STRIDE 1:
 * exp 0.952 ulp, in the subnormals 0.749, tanh 2.630), the largest error in
 * ulps of the result, and the edges
 * (overflow, underflow into the subnormals, NaN, infinities, -0). */
#include "test.h"

#include "base.h"

#include <stdint.h>

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* |got - want| in units of the last place of want (of the least normal, for
 * a subnormal want). */
static double ulps(float got, double want)
{
    if (got == want) return 0;
    double a = fabs(want) < 0x1p-126 ? 0x1p-149 : ldexp(1.0, ilogb(want) - 23);
    return fabs((double)got - want) / a;
}

/* One float in STRIDE with lo <= |x| <= hi, and the 200 at each end, of
 * sign s0 .. 1 (0: both, 1: negative): the worst error of f against ref. */
enum { STRIDE = 61 };
static double worst(float (*f)(float), double (*ref)(double), float lo, float hi, int s0, float *at)
{
    uint32_t b0, b1;
    memcpy(&b0, &lo, sizeof b0);
    memcpy(&b1, &hi, sizeof b1);
    double w = 0;
    for (uint32_t b = b0; b <= b1; b += b - b0 < 200 || b1 - b < 200 ? 1 : STRIDE)
        for (int s = s0; s < 2; s++) {
            float x = from_bits(b | (uint32_t)s << 31);
            double u = ulps(f(x), ref((double)x));
            if (u > w) w = u, *at = x;
        }
    return w;
}

static void test_exp_every_float(void)
{
    float at = 0;
    /* all of [2^-30, 88.7]: below 2^-30 e^x rounds to 1 (checked at the edges) */
    double w = worst(bp__expf, exp, 0x1p-30f, 88.7228317f, 0, &at);
    printf("     expf: worst %.3f ulp at %a\n", w, (double)at);
    CHECK(w <= 1.0, "expf: %.3f ulps at %a", w, (double)at);
    w = worst(bp__expf, exp, 87.4f, 103.97f, 1, &at); /* e^x in the subnormals */
    printf("     expf, results in the subnormals: worst %.3f ulp (of the least normal) at %a\n", w,
           (double)at);
    CHECK(w <= 1.0, "expf subnormal: %.3f at %a", w, (double)at);
}

static void test_exp_edges(void)
{
    CHECK(bp__expf(0) == 1 && bp__expf(-0.0f) == 1 && bp__expf(1e-30f) == 1, "exp(0)");
    CHECK(isinf(bp__expf(88.72283935546875f)) && isinf(bp__expf(INFINITY)), "overflow");
    CHECK(isfinite(bp__expf(88.7228317f)), "the largest finite: %g", (double)bp__expf(88.7228317f));
    CHECK(bp__expf(-INFINITY) == 0 && bp__expf(-104) == 0, "underflow");
    CHECK(bp__expf(-103.0f) > 0, "subnormal result lost");
    CHECK(isnan(bp__expf(NAN)), "NaN");
}

static void test_tanh_every_float(void)
{
    float at = 0;
    double w = worst(bp__tanhf, tanh, 0x1p-40f, 10.0f, 0, &at);
    printf("     tanhf: worst %.3f ulp at %a\n", w, (double)at);
    CHECK(w <= 3.0, "tanhf: %.3f ulps at %a", w, (double)at);
}

static void test_tanh_edges(void)
{
    CHECK(bp__tanhf(0) == 0 && signbit(bp__tanhf(-0.0f)), "tanh(-0) = -0");
    CHECK(bp__tanhf(1e-30f) == 1e-30f && bp__tanhf(0x1p-140f) == 0x1p-140f, "tiny");
    CHECK(bp__tanhf(INFINITY) == 1 && bp__tanhf(-INFINITY) == -1 && bp__tanhf(20) == 1, "saturation");
    CHECK(isnan(bp__tanhf(NAN)), "NaN");
}

int main(void)
{
    RUN(test_exp_every_float);
    RUN(test_exp_edges);
    RUN(test_tanh_every_float);
    RUN(test_tanh_edges);
    return test_summary("test_mathf");
}
