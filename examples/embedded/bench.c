/* bench.c - instructions per multiply-accumulate of the exported 784-64-10
 * model on a Cortex-M4 (`make embedded-bench`), counted deterministically:
 * qemu runs with -icount shift=0 (one instruction per virtual nanosecond)
 * and SysTick counts virtual time. A loop of known length calibrates
 * instructions per tick first, so no clock rate is assumed. */
#include "fm.h"
#include "fmf.h"
#include "images.h"

#include <stdint.h>
#include <stdio.h>

#include "icount.h"

int main(void)
{
    const double macs = 784.0 * 64 + 64.0 * 10;
    double per_tick = instructions_per_tick();
    uint32_t t;
    float x[fm_INPUTS], y[fm_OUTPUTS];
    int8_t xq[fm_INPUTS], yq[fm_OUTPUTS];
    for (int k = 0; k < fm_INPUTS; k++) x[k] = images[0][k];
    fm_quantize(x, xq);
    t = start();
    fm_predict_int8(xq, yq);
    double i8 = ticks_since(t) * per_tick;
    t = start();
    fmf_predict(x, y);
    double f32 = ticks_since(t) * per_tick;
    printf("instructions per tick %.2f\n", per_tick);
    printf("int8 fm_predict_int8: %.0f instructions, %.2f per MAC\n", i8, i8 / macs);
    printf("float32 fmf_predict: %.0f instructions, %.2f per MAC\n", f32, f32 / macs);
    return 0;
}
