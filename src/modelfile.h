/* modelfile.h - private to src/modelfile*.c: what the model-file writer and
 * reader share. docs/FORMAT.md is the specification. */
#ifndef BP_MODELFILE_H
#define BP_MODELFILE_H

#include "internal.h"

#include <stdint.h>
#include <stdio.h>

/* Tensors are written from and read into memory as they lie: fine on the
 * little-endian hosts we build for; a big-endian port must swap bytes. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "model files hold little-endian data; this host needs byte swapping in src/modelfile*.c"
#endif

#define BP__MF_FORMAT "backprop"
#define BP__MF_VERSION "2"     /* written; 2 added "encoder" */
#define BP__MF_VERSION_OLDEST 1 /* the oldest version read */
#define BP__MF_MAX_HEADER 100000000u /* bytes, the limit of the safetensors library */
#define BP__MF_USER "user."          /* prefix of the caller's extra metadata keys */
#define BP__MF_NAME_MAX 64           /* longest tensor name we build, NUL included */

/* "layers.3.weight", or with a prefix "optim.m.layers.3.weight". */
void bp__mf_param_name(char name[BP__MF_NAME_MAX], const char *prefix, int layer, bool bias);

/* The double fields of bp_optim_config, saved as "optim.{key}". */
typedef struct bp__mf_field {
    const char *key;
    size_t offset;
} bp__mf_field;
extern const bp__mf_field bp__mf_optim_fields[];
extern const int bp__mf_optim_field_count;

/* The shortest decimal text that reads back as exactly v (as exactly (float)v
 * when `single`). Formatted by jansson, so the locale's decimal comma cannot
 * creep into a file. v must be finite. */
void bp__mf_format_real(char buf[40], double v, bool single);
/* Strict parsers of a whole string: a finite JSON number, a decimal u64
 * (1 to 20 digits), exactly `digits` hex digits. false when malformed. */
bool bp__mf_parse_real(const char *s, double *out);
bool bp__mf_parse_u64(const char *s, uint64_t *out);
bool bp__mf_parse_hex(const char *s, size_t digits, uint64_t *out);

#endif
