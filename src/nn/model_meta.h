/* model_meta.h - what a model carries besides its parameters, shared by the
 * core (model_meta.c, which attaches, checks, copies and frees all of it)
 * and the code that makes or reads it: the tabular encoder's plain data,
 * which data_encode.c fits and applies and encoder_json.c writes and reads.
 * Core code: includes nothing from the data or file code. docs/DATA.md
 * ("Tables and encoders") and docs/FORMAT.md ("encoder") describe the fields. */
#ifndef BP_MODEL_META_H
#define BP_MODEL_META_H

#include "internal.h"

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

/* The outputs an encoder's targets give (bp_encoder_outputs): 0 without targets. */
static inline int bp__enc_outputs(const bp_encoder *e)
{
    if (e->n_targets == 0) return 0;
    return e->task == BP_TASK_CLASSIFICATION ? e->n_labels : e->n_targets;
}

/* A field-wise deep copy of e into *out (NULL on failure: BP_ERR_NOMEM). */
bp_status bp__encoder_copy(bp_encoder **out, const bp_encoder *e);

/* Makes e (NULL: none) m's encoder, taking it over in every case (freed on
 * failure). The one check of an encoder against its model, whichever way it
 * came (bp_model_set_encoder, a model file, an ONNX file): it produces the
 * model's inputs, its outputs fit the model's (as labels do: one per output,
 * or two for one sigmoid output), and a classifier's labels are the model's
 * labels when the model has some. BP_ERR_INVALID, "encoder: ..." otherwise. */
bp_status bp__model_attach_encoder(bp_model *m, bp_encoder *e);

#endif
