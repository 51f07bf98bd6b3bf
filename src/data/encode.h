/* encode.h - private to src/data/data_encode.c and src/io/encoder_json.c: what
 * fitting, applying and the JSON share. The encoder's fields, its copy, free
 * and its check against a model are the model's (model_meta.h, model_meta.c). */
#ifndef BP_ENCODE_H
#define BP_ENCODE_H

#include "data.h"
#include "model_meta.h"

#define BP_MISSING_CATEGORY "missing" /* the category of a missing value under impute */

/* A finite number (in bp_real too) over the whole cell. */
int bp__enc_number(const char *s, double *v);
/* Inputs a column produces; the first input of each column and n_inputs. */
int bp__enc_width(const bp__enc_col *c);
void bp__enc_layout(bp_encoder *e);
/* Whether s is valid UTF-8 (what a model file's JSON can hold). */
int bp__utf8_valid(const char *s);
/* The first of two equal names among n (sorted copy), or NULL if all differ. */
const char *bp__duplicate_name(char *const *names, int n);
/* Parses and validates an encoder from its JSON text; `where` names it in
 * messages (BP_ERR_FORMAT "where: what is wrong"). The model-file readers
 * then attach it with bp__model_attach_encoder, as bp_model_set_encoder does. */
bp_status bp__encoder_from_json(bp_encoder **out, const char *text, const char *where);

#endif
