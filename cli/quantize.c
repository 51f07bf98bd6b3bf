/* quantize.c - the command's side of int8 quantization: the calibration
 * set and what it covers, and the float vs int8 comparison that export
 * --test prints. The arithmetic is the library's (src/deploy/quant.c). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Classes of the calibration set that have no sample (one-hot targets). */
static void report_classes(const bp_model *m, bp_dataset *d, size_t n)
{
    int k = bp_dataset_outputs(d), classes = bp_dataset_label_count(d);
    if (!classes || k != classes) return;
    const bp_real *y = bp_dataset_y(d);
    int present = 0;
    char missing[256] = "";
    for (int c = 0; c < k; c++) {
        size_t i = 0;
        while (i < n && !(y[i * k + c] > 0)) i++;
        if (i < n) present++;
        else if (strlen(missing) < sizeof missing - 40) {
            const char *l = bp_model_label(m, c);
            char num[16];
            if (!l) snprintf(num, sizeof num, "%d", c), l = num;
            strncat(missing, strlen(missing) ? ", " : "", sizeof missing - strlen(missing) - 1);
            strncat(missing, l, 32);
        }
    }
    fprintf(stderr, ", %d of %d classes", present, k);
    if (present < k) fprintf(stderr, " (none of: %s)", missing);
}

int cli_check_finite(const char *cmd, const char *what, const bp_real *p, size_t n, int k)
{
    for (size_t i = 0; i < n * (size_t)k; i++)
        if (!isfinite(p[i]))
            return cli_error(cmd, "the %s model's output %d for sample %zu is %g: no accuracy "
                             "or comparison is computed over it", what, (int)(i % (size_t)k),
                             i / (size_t)k, (double)p[i]);
    return 0;
}

int cli_make_qmodel(bp_qmodel **q, const cli_opts *o, bp_model *m)
{
    *q = NULL;
    if (!o->v[O_CALIBRATE].given) cli_usage(o->cmd, "--quantize int8 needs --calibrate SPEC");
    bp_dataset *d = NULL;
    int rc = 0;
    /* a CSV of just the inputs, or of the inputs and a target column */
    if (cli_spec_is_csv(o->v[O_CALIBRATE].s) && !o->v[O_TARGET].given &&
        (cli_read_data(&d, o, O_CALIBRATE, m, 0) != BP_OK || bp_dataset_inputs(d) != bp_model_inputs(m)))
        bp_dataset_free(d), d = NULL;
    if (!d) rc = cli_load_data(&d, o, O_CALIBRATE, m, 1);
    if (rc) return rc;
    if (bp_dataset_inputs(d) != bp_model_inputs(m)) {
        rc = cli_error(o->cmd, "--calibrate has %d inputs per sample but the model takes %d",
                       bp_dataset_inputs(d), bp_model_inputs(m));
        bp_dataset_free(d);
        return rc;
    }
    size_t n = bp_dataset_count(d), want = (size_t)o->v[O_CALIBRATE_SAMPLES].i;
    if (n > want) n = want;
    if (bp_qmodel_create(q, m, bp_dataset_x(d), n))
        rc = cli_error(o->cmd, "--calibrate %s: %s", o->v[O_CALIBRATE].s, bp_last_error());
    if (!rc) {
        const bp_qcalib_info *ci = bp_qmodel_calib_info(*q);
        fprintf(stderr, "calibration: %zu samples of %s", ci->samples, o->v[O_CALIBRATE].s);
        report_classes(m, d, n);
        fprintf(stderr, ", normalized inputs in [%.4g, %.4g]\n", ci->input_min, ci->input_max);
        if (ci->samples < 100)
            fprintf(stderr, "calibration: only %zu samples: the activation ranges may be too "
                            "narrow for other data\n", ci->samples);
    }
    bp_dataset_free(d);
    return rc;
}
