/* driver.c - runs a generated model (tests/test_export_c.py) on the host.
 * Built with -DMODEL=prefix -DHEADER="\"prefix.h\"" [-DCLASSES] [-DINT8].
 * Reads samples, one per line, as "x v v ..." (raw features) and, with
 * INT8, "xq v v ..." (the library's quantized inputs); prints "y" (predict),
 * "c" (classify) and, with INT8, "xq" (its own quantize) and "yq"
 * (predict_int8 on the library's xq). */
#include HEADER

#include <stdio.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(s) CAT(MODEL, s)

static int read_row(const char *tag, float *v, int n)
{
    char t[8];
    if (scanf("%7s", t) != 1 || strcmp(t, tag) != 0) return 0;
    for (int i = 0; i < n; i++)
        if (scanf("%f", &v[i]) != 1) return 0;
    return 1;
}

int main(void)
{
    static float x[F(_INPUTS)], y[F(_OUTPUTS)];
    while (read_row("x", x, F(_INPUTS))) {
        F(_predict)(x, y);
        printf("y");
        for (int j = 0; j < F(_OUTPUTS); j++) printf(" %.9g", (double)y[j]);
        printf("\n");
#ifdef CLASSES
        printf("c %d\n", F(_classify)(x));
#endif
#ifdef INT8
        static float xf[F(_INPUTS)];
        static int8_t xq[F(_INPUTS)], yq[F(_OUTPUTS)];
        if (!read_row("xq", xf, F(_INPUTS))) return 1;
        F(_quantize)(x, xq);
        printf("xq");
        for (int j = 0; j < F(_INPUTS); j++) printf(" %d", xq[j]);
        for (int j = 0; j < F(_INPUTS); j++) xq[j] = (int8_t)xf[j];
        F(_predict_int8)(xq, yq);
        printf("\nyq");
        for (int j = 0; j < F(_OUTPUTS); j++) printf(" %d", yq[j]);
        printf("\n");
#endif
    }
    return 0;
}
