/* encode.h - private to src/data_encode.c and src/encoder_json.c: the
 * encoder's fields. docs/DATA.md ("Tables and encoders") and docs/FORMAT.md
 * ("encoder") describe them. */
#ifndef BP_ENCODE_H
#define BP_ENCODE_H

#include "data.h"

#define BP_MISSING_CATEGORY "missing" /* the category of a missing value under impute */

typedef struct bp__enc_col {
    char *name;          /* header name, or "#c" without a header */
    bp_column_role role;
    int n_cats;          /* categorical: sorted categories (strcmp); a multi-label */
    char **cats;         /* target: its two values, the second being 1 */
    double fill;         /* numeric: the imputed value */
    int indicator;       /* numeric: a 0/1 missing indicator input follows the value */
    int first;           /* first encoded input of the column */
} bp__enc_col;

struct bp_encoder {
    int n_cols;
    bp__enc_col *col;    /* (n_cols) in training file order */
    int has_header;
    bp_missing missing;
    int impute_median;
    bp_task task;        /* of the targets: CLASSIFICATION, REGRESSION, MULTILABEL;
                            AUTO when there are none */
    int n_targets;
    int *targets;        /* (n_targets) raw columns, in output order */
    int n_labels;        /* classification: class names, sorted */
    char **labels;
    int n_inputs;        /* from bp__enc_layout */
};

/* A finite number (in bp_real too) over the whole cell. */
int bp__enc_number(const char *s, double *v);
/* Inputs a column produces; the first input of each column and n_inputs. */
int bp__enc_width(const bp__enc_col *c);
void bp__enc_layout(bp_encoder *e);
void bp__enc_free_fields(bp_encoder *e);
/* Whether s is valid UTF-8 (what a model file's JSON can hold). */
int bp__utf8_valid(const char *s);
/* The first of two equal names among n (sorted copy), or NULL if all differ. */
const char *bp__duplicate_name(char *const *names, int n);
/* Parses and validates an encoder from its JSON text; `where` names it in
 * messages (BP_ERR_FORMAT "where: what is wrong"). */
bp_status bp__encoder_from_json(bp_encoder **out, const char *text, const char *where);
/* Parses an encoder (bp__encoder_from_json) and makes it m's, after checking
 * that it produces m's inputs and fits its outputs (model files, ONNX). */
bp_status bp__model_set_encoder_json(bp_model *m, const char *text, const char *where);

#endif
