/* quant.h - the int8 model as the library and the C generator share it
 * (private). docs/EXPORT.md gives the scheme and its formulas. */
#ifndef BP_QUANT_H
#define BP_QUANT_H

#include "internal.h"

#include <stdint.h>

/* One dense layer in int8: acc = bias[r] + sum_k w[r,k] xq[k] (the input's
 * zero point folded into bias), then requantized by mult[r] 2^-shift[r]:
 * straight to the output for identity/relu/softmax logits, or to the table's
 * index for sigmoid/tanh/leaky_relu (lut[zq + 128]). */
typedef struct bp__qlayer {
    int in, out;
    bp_activation act;
    int8_t *w;          /* (out, in): round(W / w_scale[r]), in [-127, 127] */
    double *w_scale;    /* (out): max |W[r,:]| / 127 */
    int32_t *bias;      /* (out): round(b / (in_scale w_scale)) - in_zp sum_k w[r,k] */
    int32_t *mult;      /* (out): Q31 multiplier in [2^30, 2^31) (or 0) */
    int32_t *shift;     /* (out): right shift 1..62 of acc * mult */
    double in_scale;    /* the input's quantization: real = in_scale (q - in_zp) */
    int in_zp;
    int req_zp, req_lo, req_hi; /* requantized value: req_zp + round(acc M), clamped */
    int has_lut;
    double z_scale;     /* the table's index quantization (has_lut) */
    int z_zp;
    int8_t lut[256];    /* a = lut[zq + 128] (has_lut) */
    double out_scale;   /* the layer's int8 output */
    int out_zp;
} bp__qlayer;

struct bp_qmodel {
    int n_layers;
    int sizes[BP_MAX_LAYERS + 1];
    bp_activation out_act;
    bp__qlayer layers[BP_MAX_LAYERS];
    float *norm_shift, *norm_scale; /* (inputs) or NULL: as float32, as on the device */
    int folded;                     /* the normalization is folded into layer 1 (the raw
                                       inputs are integers that int8 holds exactly) */
    float in_scale;                 /* the input's quantization, float32 as on the device */
    int in_zp;
    int max_width;                  /* widest of sizes[0..n_layers] */
    int8_t *buf[2];                 /* (max_width) each: scratch of predict */
    float *fbuf;                    /* (outputs): scratch of predict */
    bp_qcalib_info calib;
};

/* acc M + zp, clamped to [lo, hi]: M = mult 2^-shift, one rounding (half up). */
static inline int bp__requant(int32_t acc, int32_t mult, int32_t shift, int zp, int lo, int hi)
{
    int64_t p = ((int64_t)acc * mult + ((int64_t)1 << (shift - 1))) >> shift;
    p += zp;
    return p < lo ? lo : p > hi ? hi : (int)p;
}

#endif
