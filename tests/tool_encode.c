/* tool_encode.c - the C side of tests/test_tabular.py: what a model's
 * encoder makes of a CSV file.
 *
 *   tool_encode MODEL FILE.csv [norm]
 *       reads FILE.csv as a table, encodes it with MODEL's encoder (through
 *       bp_model_encode, as predict and eval do), applies the model's input
 *       normalization when "norm" is given, and prints:
 *         one line per encoded input  "input<TAB>COLUMN<TAB>KIND<TAB>CATEGORY"
 *           (KIND value, indicator or category; from bp_encoder_input_info),
 *         "report<TAB>rows<TAB>dropped<TAB>unknown<TAB>imputed",
 *         then one line per row "x<TAB>v<TAB>v..." (%.17g: exact).
 *   tool_encode real
 *       prints the size of bp_real in this build (4 or 8). */
#include "backprop.h"

#include <stdio.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "tool_encode: %s: %s\n", what, bp_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "real") == 0) {
        printf("%zu\n", bp_real_size());
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: tool_encode MODEL FILE.csv [norm] | tool_encode real\n");
        return 2;
    }
    bp_model *m = NULL;
    bp_table *t = NULL;
    bp_dataset *d = NULL;
    bp_encode_report rep;
    if (bp_model_load(&m, argv[1], NULL)) return fail(argv[1]);
    if (bp_table_load_csv(&t, argv[2], -1, 0)) return fail(argv[2]);
    if (bp_model_encode(&d, m, t, 0, &rep)) return fail("encode");
    const bp_encoder *e = bp_model_encoder(m);
    for (int i = 0; i < bp_encoder_inputs(e); i++) {
        int col, ind;
        const char *cat;
        if (bp_encoder_input_info(e, i, &col, &cat, &ind)) return fail("input info");
        printf("input\t%s\t%s\t%s\n", bp_encoder_column_name(e, col),
               cat ? "category" : ind ? "indicator" : "value", cat ? cat : "");
    }
    printf("report\t%zu\t%zu\t%zu\t%zu\n", rep.rows, rep.dropped, rep.unknown, rep.imputed);
    size_t n = bp_dataset_count(d);
    int k = bp_dataset_inputs(d);
    bp_real *x = bp_dataset_x(d);
    if (argc > 3 && strcmp(argv[3], "norm") == 0) bp_model_normalize(m, x, n);
    for (size_t i = 0; i < n; i++) {
        fputs("x", stdout);
        for (int j = 0; j < k; j++) printf("\t%.17g", (double)x[i * (size_t)k + (size_t)j]);
        putchar('\n');
    }
    bp_dataset_free(d);
    bp_table_free(t);
    bp_model_free(m);
    return 0;
}
