/* loss.c - mean squared error, and the two cross-entropies fused with their
 * output activation and computed from the logits, so they stay finite and
 * exact for logits of any size. All losses are batch means (docs/MATH.md). */
#include "internal.h"

#include <math.h>
#include <string.h>

static const char *const loss_names[BP_LOSS_COUNT_] = {"mse", "bce", "xent", "half_sse", "bce_sum"};

const char *bp_loss_name(bp_loss l)
{
    return (unsigned)l < BP_LOSS_COUNT_ ? loss_names[l] : "unknown";
}

bp_status bp_loss_from_name(const char *name, bp_loss *out)
{
    int i;
    bp_status st = bp__lookup("loss", loss_names, BP_LOSS_COUNT_, name, &i);
    if (!st) *out = (bp_loss)i;
    return st;
}

/* (1 / mk) Σ (a - y)² */
static double mse(const bp_real *a, const bp_real *y, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)a[i] - (double)y[i];
        sum += d * d;
    }
    return sum / (double)count;
}

/* -[y log σ(z) + (1 - y) log(1 - σ(z))] = max(z, 0) - z y + log(1 + e^-|z|) */
static double bce_logits(const bp_real *z, const bp_real *y, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double zi = z[i];
        sum += (zi > 0 ? zi : 0) - zi * (double)y[i] + log1p(exp(-fabs(zi)));
    }
    return sum / (double)count;
}

/* -Σ_j y_j log softmax(z)_j = Σ_j y_j (lse(z) - z_j), lse through the max. */
static double xent_logits(const bp_real *z, const bp_real *y, int rows, int cols)
{
    double sum = 0;
    for (int r = 0; r < rows; r++) {
        const bp_real *zr = z + (size_t)r * cols, *yr = y + (size_t)r * cols;
        double mx = zr[0], s = 0;
        for (int j = 1; j < cols; j++) mx = zr[j] > mx ? zr[j] : mx;
        for (int j = 0; j < cols; j++) s += exp((double)zr[j] - mx);
        double lse = mx + log(s);
        for (int j = 0; j < cols; j++)
            if (yr[j] != 0) sum += (double)yr[j] * (lse - (double)zr[j]);
    }
    return sum / rows;
}

/* The cross-entropies from probabilities p clipped to [eps, 1 - eps], as
 * scikit-learn's log_loss and binary_log_loss: a term with a zero target
 * weight adds nothing (xlogy). Summed; the caller takes the mean. */
static double clipped_xent_sum(const bp_real *p, const bp_real *y, size_t count, double eps,
                               bool binary)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double pi = p[i] < eps ? eps : p[i] > 1 - eps ? 1 - eps : p[i];
        if (y[i] != 0) sum -= (double)y[i] * log(pi);
        if (binary && y[i] != 1) sum -= (1 - (double)y[i]) * log(1 - pi);
    }
    return sum;
}

double bp__loss_clipped(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                        int rows, int cols, double eps)
{
    size_t count = (size_t)rows * cols;
    switch (loss) {
    case BP_LOSS_BCE: return clipped_xent_sum(a, y, count, eps, true) / (double)count;
    case BP_LOSS_BCE_SUM: return clipped_xent_sum(a, y, count, eps, true) / rows;
    case BP_LOSS_XENT: return clipped_xent_sum(a, y, count, eps, false) / rows;
    default: return bp__loss(loss, a, z, y, rows, cols);
    }
}

double bp__loss(bp_loss loss, const bp_real *a, const bp_real *z, const bp_real *y,
                int rows, int cols)
{
    size_t count = (size_t)rows * cols;
    switch (loss) {
    case BP_LOSS_MSE: return mse(a, y, count);
    case BP_LOSS_BCE: return bce_logits(z, y, count);
    case BP_LOSS_XENT: return xent_logits(z, y, rows, cols);
    case BP_LOSS_HALF_SSE: return mse(a, y, count) * cols / 2; /* (1/2m) sum of squares */
    case BP_LOSS_BCE_SUM: return bce_logits(z, y, count) * cols;
    case BP_LOSS_COUNT_: break;
    }
    BP_ASSERT(0);
    return NAN;
}

void bp__loss_grad(bp_loss loss, bp_real *d, const bp_real *a, const bp_real *y,
                   int rows, int cols, int mean_rows)
{
    size_t count = (size_t)rows * cols, mean_count = (size_t)mean_rows * cols;
    switch (loss) {
    case BP_LOSS_MSE: { /* dJ/dA = 2 (a - y) / mk */
        bp_real s = (bp_real)(2.0 / (double)mean_count);
        for (size_t i = 0; i < count; i++) d[i] = s * (a[i] - y[i]);
        break;
    }
    case BP_LOSS_BCE: { /* dJ/dZ = (σ(z) - y) / mk */
        bp_real s = (bp_real)(1.0 / (double)mean_count);
        for (size_t i = 0; i < count; i++) d[i] = s * (a[i] - y[i]);
        break;
    }
    case BP_LOSS_HALF_SSE:  /* dJ/dA = (a - y) / m */
    case BP_LOSS_BCE_SUM: { /* dJ/dZ = (σ(z) - y) / m */
        bp_real s = (bp_real)(1.0 / mean_rows);
        for (size_t i = 0; i < count; i++) d[i] = s * (a[i] - y[i]);
        break;
    }
    case BP_LOSS_XENT: { /* dJ/dZ = (softmax(z) Σy - y) / m; Σy = 1 for one-hot targets */
        bp_real s = (bp_real)(1.0 / mean_rows);
        for (int r = 0; r < rows; r++) {
            const bp_real *ar = a + (size_t)r * cols, *yr = y + (size_t)r * cols;
            bp_real *dr = d + (size_t)r * cols, ysum = 0;
            for (int j = 0; j < cols; j++) ysum += yr[j];
            for (int j = 0; j < cols; j++) dr[j] = s * (ar[j] * ysum - yr[j]);
        }
        break;
    }
    case BP_LOSS_COUNT_: BP_ASSERT(0);
    }
}
