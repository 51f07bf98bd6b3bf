/* onnx.h - private to src/onnx_*.c and modelfile_load.c: the ONNX message
 * field numbers we use (onnx/onnx.proto), the names and metadata keys our
 * exporter writes, and the reader's entry points. docs/FORMAT.md is the
 * specification of the mapping. */
#ifndef BP_ONNX_H
#define BP_ONNX_H

#include "internal.h"
#include "protobuf.h"

#define BP__ONNX_IR_VERSION 7
#define BP__ONNX_OPSET 13       /* what we write */
#define BP__ONNX_OPSET_MIN 9    /* what we read */
#define BP__ONNX_OPSET_MAX 17

/* metadata_props keys */
#define BP__ONNX_KEY_VERSION "backprop_version"
#define BP__ONNX_KEY_LOSS "backprop_loss"
#define BP__ONNX_KEY_LABELS "labels"          /* a JSON array of strings */
#define BP__ONNX_KEY_NORM "normalization"     /* {"shift":[..],"scale":[..]} */
#define BP__ONNX_KEY_ENCODER "encoder"       /* the tabular encoder, as in model files */
#define BP__ONNX_KEY_INPUTS "inputs"         /* a JSON array: what each input is */
#define BP__ONNX_KEY_USER "user."             /* the caller's extra metadata */

enum { /* ModelProto */
    ONNX_MODEL_IR_VERSION = 1, ONNX_MODEL_PRODUCER = 2, ONNX_MODEL_PRODUCER_VERSION = 3,
    ONNX_MODEL_GRAPH = 7, ONNX_MODEL_OPSET = 8, ONNX_MODEL_META = 14,
    /* OperatorSetIdProto, StringStringEntryProto */
    ONNX_OPSET_DOMAIN = 1, ONNX_OPSET_VERSION = 2, ONNX_ENTRY_KEY = 1, ONNX_ENTRY_VALUE = 2,
    /* GraphProto */
    ONNX_GRAPH_NODE = 1, ONNX_GRAPH_NAME = 2, ONNX_GRAPH_INIT = 5, ONNX_GRAPH_INPUT = 11,
    ONNX_GRAPH_OUTPUT = 12, ONNX_GRAPH_SPARSE_INIT = 15,
    /* NodeProto */
    ONNX_NODE_INPUT = 1, ONNX_NODE_OUTPUT = 2, ONNX_NODE_NAME = 3, ONNX_NODE_OP = 4,
    ONNX_NODE_ATTR = 5, ONNX_NODE_DOMAIN = 7,
    /* AttributeProto */
    ONNX_ATTR_NAME = 1, ONNX_ATTR_F = 2, ONNX_ATTR_I = 3, ONNX_ATTR_T = 5, ONNX_ATTR_TYPE = 20,
    ONNX_ATTR_FLOAT = 1, ONNX_ATTR_INT = 2, ONNX_ATTR_TENSOR = 4,
    /* TensorProto */
    ONNX_TENSOR_DIMS = 1, ONNX_TENSOR_TYPE = 2, ONNX_TENSOR_FLOATS = 4, ONNX_TENSOR_INT64S = 7,
    ONNX_TENSOR_NAME = 8, ONNX_TENSOR_RAW = 9, ONNX_TENSOR_LOCATION = 14,
    ONNX_FLOAT = 1, ONNX_INT64 = 7,
    /* ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, Dimension */
    ONNX_VALUE_NAME = 1, ONNX_VALUE_TYPE = 2, ONNX_TYPE_TENSOR = 1, ONNX_TT_ELEM = 1,
    ONNX_TT_SHAPE = 2, ONNX_SHAPE_DIM = 1, ONNX_DIM_VALUE = 1, ONNX_DIM_PARAM = 2,
};

/* bp_model_load of an ONNX file, whose bytes the front door (modelfile_load.c)
 * read; path names it in messages. Allocates nothing before the graph is
 * validated, and nothing larger than a small multiple of len. */
bp_status bp__onnx_parse(const uint8_t *bytes, size_t len, const char *path, bp_model **out,
                         bp_extra **extra_out);

#endif
