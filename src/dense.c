/* dense.c - one dense layer on a whole batch, exactly the notes' matrix form
 * with samples as rows (docs/MATH.md):
 *   forward   Z = A_prev · Wᵀ + 1 bᵀ,  A = g(Z)
 *   backward  dW = dZᵀ · A_prev,  db = column sums of dZ,  dA_prev = dZ · W */
#include "internal.h"

#include <string.h>

/* a (m, out); z (m, out) or NULL: where to keep the pre-activation (the loss
 * needs the output layer's logits); a_prev (m, in); w (out, in); b (out). */
void bp__dense_forward(bp_real *a, bp_real *z, const bp_real *a_prev, const bp_real *w,
                       const bp_real *b, int m, int in, int out, bp_activation act,
                       bp_real slope)
{
    bp_real *dst = z ? z : a;
    bp__gemm(BP_NO_TRANS, BP_TRANS, m, out, in, 1, a_prev, in, w, in, 0, dst, out);
    if (z)
        bp__bias_activate_keep(a, z, b, m, out, act, slope);
    else
        bp__bias_activate(a, b, m, out, act, slope);
}

/* dw (out, in); db (out); da_prev (m, in) or NULL for the first layer, whose
 * input needs no gradient; dz (m, out); a_prev (m, in); w (out, in). */
void bp__dense_backward(bp_real *dw, bp_real *db, bp_real *da_prev, const bp_real *dz,
                        const bp_real *a_prev, const bp_real *w, int m, int in, int out)
{
    bp__gemm(BP_TRANS, BP_NO_TRANS, out, in, m, 1, dz, out, a_prev, in, 0, dw, in);
    memcpy(db, dz, (size_t)out * sizeof *db);
    for (int i = 1; i < m; i++) {
        const bp_real *row = dz + (size_t)i * out;
        for (int j = 0; j < out; j++) db[j] += row[j];
    }
    if (da_prev)
        bp__gemm(BP_NO_TRANS, BP_NO_TRANS, m, in, out, 1, dz, out, w, in, 0, da_prev, in);
}
