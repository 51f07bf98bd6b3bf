/* abi.c - bp_abi_table: this header's layouts and constants as compiled.
 *
 * Bindings that mirror include/backprop.h by hand (python/backprop/_lib.py's
 * ctypes Structures and integer constants) compare themselves with this
 * table, so that a field added, moved or retyped on one side only is an
 * error naming it instead of a struct read at the wrong offset. Every entry
 * is made by a macro from the header's own names (sizeof, offsetof, the enum
 * or #define itself), so no number here can drift from the header.
 *
 * Adding to the header? One line here per struct, field or constant:
 *     FIELD(bp_train_config, my_new_field),
 * tests/python/test_abi.py parses the header and fails naming any public
 * struct field, enum value or integer #define that this table lacks.
 */
#include "backprop.h"

#include <stddef.h>

#define STRUCT(type) { #type, BP_ABI_STRUCT, (long long)sizeof(type), (long long)_Alignof(type) }
#define FIELD(type, field) \
    { #type "." #field, BP_ABI_FIELD, (long long)offsetof(type, field), \
      (long long)sizeof(((type *)0)->field) }
#define CONSTANT(name) { #name, BP_ABI_CONSTANT, (long long)(name), 0 }

static const bp_abi_entry table[] = {
    STRUCT(bp_model_config),
    FIELD(bp_model_config, n_layers),
    FIELD(bp_model_config, sizes),
    FIELD(bp_model_config, act),
    FIELD(bp_model_config, leaky_slope),
    FIELD(bp_model_config, loss),
    FIELD(bp_model_config, init),
    FIELD(bp_model_config, seed),

    STRUCT(bp_optim_config),
    FIELD(bp_optim_config, kind),
    FIELD(bp_optim_config, lr),
    FIELD(bp_optim_config, momentum),
    FIELD(bp_optim_config, beta1),
    FIELD(bp_optim_config, beta2),
    FIELD(bp_optim_config, alpha),
    FIELD(bp_optim_config, eps),
    FIELD(bp_optim_config, eps_inside_sqrt),
    FIELD(bp_optim_config, weight_decay),
    FIELD(bp_optim_config, clip_norm),
    FIELD(bp_optim_config, step_in_velocity),
    FIELD(bp_optim_config, folded_bias_correction),

    STRUCT(bp_batch_info),
    FIELD(bp_batch_info, epoch),
    FIELD(bp_batch_info, batch),
    FIELD(bp_batch_info, n_batches),
    FIELD(bp_batch_info, samples),
    FIELD(bp_batch_info, loss),

    STRUCT(bp_train_config),
    FIELD(bp_train_config, batch_size),
    FIELD(bp_train_config, shuffle),
    FIELD(bp_train_config, seed),
    FIELD(bp_train_config, on_batch),
    FIELD(bp_train_config, user),
    FIELD(bp_train_config, shard),
    FIELD(bp_train_config, shards),
    FIELD(bp_train_config, reduce),
    FIELD(bp_train_config, reduce_user),
    FIELD(bp_train_config, l2),
    FIELD(bp_train_config, prob_clip),

    STRUCT(bp_epoch_stats),
    FIELD(bp_epoch_stats, epoch),
    FIELD(bp_epoch_stats, loss),
    FIELD(bp_epoch_stats, accuracy),
    FIELD(bp_epoch_stats, seconds),
    FIELD(bp_epoch_stats, samples_per_sec),
    FIELD(bp_epoch_stats, steps),
    FIELD(bp_epoch_stats, penalty),

    STRUCT(bp_gradcheck_result),
    FIELD(bp_gradcheck_result, max_rel_error),
    FIELD(bp_gradcheck_result, norm_rel_error),
    FIELD(bp_gradcheck_result, grad_norm),
    FIELD(bp_gradcheck_result, worst_index),
    FIELD(bp_gradcheck_result, worst_layer),
    FIELD(bp_gradcheck_result, worst_is_bias),
    FIELD(bp_gradcheck_result, worst_analytic),
    FIELD(bp_gradcheck_result, worst_numeric),

    STRUCT(bp_rng),
    FIELD(bp_rng, s),

    STRUCT(bp_csv_options),
    FIELD(bp_csv_options, header),
    FIELD(bp_csv_options, delimiter),
    FIELD(bp_csv_options, target_name),
    FIELD(bp_csv_options, target_index),
    FIELD(bp_csv_options, has_target),
    FIELD(bp_csv_options, task),
    FIELD(bp_csv_options, max_classes),
    FIELD(bp_csv_options, n_labels),
    FIELD(bp_csv_options, labels),

    STRUCT(bp_encode_options),
    FIELD(bp_encode_options, n_targets),
    FIELD(bp_encode_options, targets),
    FIELD(bp_encode_options, has_target),
    FIELD(bp_encode_options, n_categorical),
    FIELD(bp_encode_options, categorical),
    FIELD(bp_encode_options, n_ignore),
    FIELD(bp_encode_options, ignore),
    FIELD(bp_encode_options, missing),
    FIELD(bp_encode_options, impute_median),
    FIELD(bp_encode_options, max_categories),
    FIELD(bp_encode_options, task),
    FIELD(bp_encode_options, max_classes),

    STRUCT(bp_encode_report),
    FIELD(bp_encode_report, rows),
    FIELD(bp_encode_report, dropped),
    FIELD(bp_encode_report, unknown),
    FIELD(bp_encode_report, unknown_column),
    FIELD(bp_encode_report, imputed),

    STRUCT(bp_data_spec),
    FIELD(bp_data_spec, source),
    FIELD(bp_data_spec, test),
    FIELD(bp_data_spec, n_paths),
    FIELD(bp_data_spec, path),
    FIELD(bp_data_spec, path_len),

    STRUCT(bp_checkpoint_info),
    FIELD(bp_checkpoint_info, train),
    FIELD(bp_checkpoint_info, epochs_done),
    FIELD(bp_checkpoint_info, next_batch),
    FIELD(bp_checkpoint_info, rng),
    FIELD(bp_checkpoint_info, loss_sum),
    FIELD(bp_checkpoint_info, correct),
    FIELD(bp_checkpoint_info, seen),

    STRUCT(bp_qcalib_info),
    FIELD(bp_qcalib_info, samples),
    FIELD(bp_qcalib_info, input_min),
    FIELD(bp_qcalib_info, input_max),

    STRUCT(bp_export_info),
    FIELD(bp_export_info, source),
    FIELD(bp_export_info, accuracy),
    FIELD(bp_export_info, accuracy_int8),
    FIELD(bp_export_info, test_set),

    STRUCT(bp_abi_entry),
    FIELD(bp_abi_entry, name),
    FIELD(bp_abi_entry, kind),
    FIELD(bp_abi_entry, value),
    FIELD(bp_abi_entry, size),

    /* enum values */
    CONSTANT(BP_OK),
    CONSTANT(BP_ERR_INVALID),
    CONSTANT(BP_ERR_NOMEM),
    CONSTANT(BP_ERR_IO),
    CONSTANT(BP_ERR_FORMAT),
    CONSTANT(BP_ERR_NUMERIC),
    CONSTANT(BP_ERR_INTERRUPTED),
    CONSTANT(BP_ACT_IDENTITY),
    CONSTANT(BP_ACT_SIGMOID),
    CONSTANT(BP_ACT_TANH),
    CONSTANT(BP_ACT_RELU),
    CONSTANT(BP_ACT_LEAKY_RELU),
    CONSTANT(BP_ACT_SOFTMAX),
    CONSTANT(BP_ACT_COUNT_),
    CONSTANT(BP_LOSS_MSE),
    CONSTANT(BP_LOSS_BCE),
    CONSTANT(BP_LOSS_XENT),
    CONSTANT(BP_LOSS_HALF_SSE),
    CONSTANT(BP_LOSS_BCE_SUM),
    CONSTANT(BP_LOSS_COUNT_),
    CONSTANT(BP_INIT_AUTO),
    CONSTANT(BP_INIT_XAVIER),
    CONSTANT(BP_INIT_HE),
    CONSTANT(BP_INIT_SMALL),
    CONSTANT(BP_INIT_ZEROS),
    CONSTANT(BP_INIT_COUNT_),
    CONSTANT(BP_OPTIM_SGD),
    CONSTANT(BP_OPTIM_MOMENTUM),
    CONSTANT(BP_OPTIM_NESTEROV),
    CONSTANT(BP_OPTIM_NOTES_MOMENTUM),
    CONSTANT(BP_OPTIM_ADAM),
    CONSTANT(BP_OPTIM_ADAMW),
    CONSTANT(BP_OPTIM_RMSPROP),
    CONSTANT(BP_OPTIM_COUNT_),
    CONSTANT(BP_NORM_NONE),
    CONSTANT(BP_NORM_SCALE),
    CONSTANT(BP_NORM_STANDARD),
    CONSTANT(BP_NORM_GLOBAL),
    CONSTANT(BP_NORM_COUNT_),
    CONSTANT(BP_DATA_XOR),
    CONSTANT(BP_DATA_FASHION_MNIST),
    CONSTANT(BP_DATA_MNIST),
    CONSTANT(BP_DATA_IDX),
    CONSTANT(BP_DATA_CSV),
    CONSTANT(BP_DATA_COUNT_),
    CONSTANT(BP_TASK_AUTO),
    CONSTANT(BP_TASK_CLASSIFICATION),
    CONSTANT(BP_TASK_REGRESSION),
    CONSTANT(BP_TASK_MULTILABEL),
    CONSTANT(BP_MISSING_ERROR),
    CONSTANT(BP_MISSING_IMPUTE),
    CONSTANT(BP_MISSING_DROP),
    CONSTANT(BP_COLUMN_NUMERIC),
    CONSTANT(BP_COLUMN_CATEGORICAL),
    CONSTANT(BP_COLUMN_TARGET),
    CONSTANT(BP_COLUMN_IGNORED),
    CONSTANT(BP_ABI_STRUCT),
    CONSTANT(BP_ABI_FIELD),
    CONSTANT(BP_ABI_CONSTANT),

    /* integer #defines */
    CONSTANT(BP_VERSION_MAJOR),
    CONSTANT(BP_VERSION_MINOR),
    CONSTANT(BP_VERSION_PATCH),
    CONSTANT(BP_MAX_LAYERS),
    CONSTANT(BP_MAX_WIDTH),
    CONSTANT(BP_MT19937_WORDS),
    CONSTANT(BP_CSV_MAX_CLASSES),
    CONSTANT(BP_ENCODE_TARGETS),
    CONSTANT(BP_ENCODE_TARGETS_IF_ANY),
    CONSTANT(BP_ENCODE_UNKNOWN_ERROR),
    CONSTANT(BP_ENCODE_NO_DROP),
};

const bp_abi_entry *bp_abi_table(size_t *count)
{
    if (count) *count = sizeof table / sizeof table[0];
    return table;
}
