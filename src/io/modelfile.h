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

/* ------------------------------------------------------------------ reading */

/* Model files are read whole, once, by the front door (modelfile_load.c:
 * bp_model_load, bp_checkpoint_load), which picks the format by the first
 * bytes (the rule at bp_model_load in backprop.h) and hands the bytes to
 * the reader of that format; path names the file in messages. */

/* A safetensors model file or checkpoint (modelfile_read.c). opt NULL: the
 * model (and extra, when not NULL) alone, any optimizer state ignored; else
 * a checkpoint: also *opt and *info (not NULL then). On failure every
 * output is NULL. */
bp_status bp__safetensors_parse(const uint8_t *bytes, size_t len, const char *path,
                                bp_model **model, bp_extra **extra, bp_optim **opt,
                                bp_checkpoint_info *info);

/* One key/value string of a file's metadata (safetensors __metadata__, ONNX
 * metadata_props), as the file holds it: not NUL-terminated, UTF-8 unchecked. */
typedef struct bp__mf_entry {
    const char *key, *value;
    size_t key_len, value_len;
} bp__mf_entry;

/* What a model file carries besides its layers, in either format. */
typedef struct bp__mf_tail {
    const char *path;              /* for messages */
    const char *container;         /* "__metadata__" or "ONNX metadata", for messages */
    const bp__mf_entry *entry;     /* (n) in file order */
    size_t n;
    const bp_real *shift, *scale;  /* (inputs) each: the normalization, or NULL */
} bp__mf_tail;

/* Gives m the tail's normalization, labels ("labels", a JSON array of
 * strings) and encoder ("encoder", its JSON) through the calls a program
 * makes (model_meta.c checks them against the model and each other), and,
 * when extra is not NULL, a new *extra of the "user.KEY" entries. Refusals
 * are BP_ERR_FORMAT "path: container \"key\": what is wrong". */
bp_status bp__mf_read_tail(bp_model *m, const bp__mf_tail *t, bp_extra **extra);

#endif
