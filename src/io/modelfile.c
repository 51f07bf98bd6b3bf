/* modelfile.c - what the model-file writer (modelfile_write.c) and reader
 * (modelfile_read.c) share: tensor names, the optimizer fields, and exact
 * text encodings of numbers for the string-only __metadata__. */
#include "modelfile.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bp__mf_param_name(char name[BP__MF_NAME_MAX], const char *prefix, int layer, bool bias)
{
    int n = snprintf(name, BP__MF_NAME_MAX, "%s%slayers.%d.%s", prefix ? prefix : "",
                     prefix ? "." : "", layer, bias ? "bias" : "weight");
    BP_ASSERT(n > 0 && n < BP__MF_NAME_MAX);
    (void)n;
}

#define FIELD(f) {#f, offsetof(bp_optim_config, f)}
const bp__mf_field bp__mf_optim_fields[] = {
    FIELD(lr),  FIELD(momentum),     FIELD(beta1),     FIELD(beta2),
    FIELD(alpha), FIELD(eps),        FIELD(weight_decay), FIELD(clip_norm),
};
#undef FIELD
const int bp__mf_optim_field_count = sizeof bp__mf_optim_fields / sizeof bp__mf_optim_fields[0];

void bp__mf_format_real(char buf[40], double v, bool single)
{
    BP_ASSERT(isfinite(v));
    json_t *j = json_real(v);
    buf[0] = '\0';
    /* Fewest digits that round-trip: "0.01" rather than "0.010000000000000000208".
     * Precision 17 always round-trips a double. */
    for (int p = 1; p <= 17 && j; p++) {
        char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_REAL_PRECISION(p));
        double back;
        bool exact = s && bp__mf_parse_real(s, &back) &&
                     (single ? (float)back == (float)v : back == v);
        if (s && (exact || p == 17)) snprintf(buf, 40, "%s", s);
        free(s);
        if (exact) break;
    }
    json_decref(j);
}

bool bp__mf_parse_real(const char *s, double *out)
{
    /* JSON's number grammar, no surrounding space: no "nan", "inf", "0x1p3" or "1,5". */
    if (!s || !(*s == '-' || (*s >= '0' && *s <= '9'))) return false;
    size_t n = strlen(s);
    if (s[n - 1] < '0' || s[n - 1] > '9') return false;
    json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
    bool ok = j && json_is_number(j) && isfinite(json_number_value(j));
    if (ok) *out = json_number_value(j);
    json_decref(j);
    return ok;
}

static bool parse_digits(const char *s, int base, size_t max_len, uint64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max_len) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool digit = (c >= '0' && c <= '9') ||
                     (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
        if (!digit) return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, NULL, base);
    if (errno == ERANGE) return false;
    *out = (uint64_t)v;
    return true;
}

bool bp__mf_parse_u64(const char *s, uint64_t *out) { return parse_digits(s, 10, 20, out); }

bool bp__mf_parse_hex(const char *s, size_t digits, uint64_t *out)
{
    return s && strlen(s) == digits && parse_digits(s, 16, digits, out);
}
