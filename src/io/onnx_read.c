/* onnx_read.c - an ONNX file as a backprop model, when its graph is an MLP:
 * a chain from the one graph input to the one graph output of
 *   [Sub(shift)] [Mul(scale)]                         normalization, first only
 *   Gemm (transB 0 or 1, alpha = beta = 1, transA 0) | MatMul [+ Add(bias)]
 *   [Relu | Sigmoid | Tanh | LeakyRelu | Softmax(axis 1 or -1)]   per layer
 *   Flatten(axis 1), Identity, Reshape([-1 or 0, width]) anywhere: no-ops
 *   [Sub(1, p), Concat(axis 1)(1 - p, p)]    our two-column output of one unit
 * with Constant nodes and float initializers (raw_data or float_data) as the
 * other operands, default-domain opsets 9 to 17. Anything else is refused
 * with the node's index, name and op type. docs/FORMAT.md has the mapping.
 *
 * Two passes over the bytes: the first finds and checks every message,
 * tensor and node (all arrays sized by counts of fields actually present,
 * so bounded by the file size) and the graph's shape; only then is the
 * model allocated and the second pass copies the values. */
#include "modelfile.h"
#include "onnx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct otensor {
    bp__pb name, msg;  /* msg: the whole TensorProto, for the value pass */
    int dtype, ndim;
    int64_t dims[2];   /* the first two; rank <= 2 is all we use */
    uint64_t numel;
    bool raw;          /* values in raw_data (else float_data / int64_data) */
    bp__pb raw_data;
} otensor;

typedef struct onode {
    bp__pb msg, op, name;
    int n_in, n_out;
    bp__pb in[3], out; /* the first three inputs, the first output */
} onode;

typedef struct olayer {
    const otensor *w, *b;
    bool w_in_out;     /* w is (in, out): Gemm transB = 0 or MatMul */
    int in, out;
    bp_activation act;
    bool has_act;
} olayer;

typedef struct ofile {
    const char *path;
    bp__pb model, graph;
    int64_t opset;
    onode *nodes;      /* (n_nodes) */
    size_t n_nodes;
    otensor *t;        /* (n_t): initializers, then Constant nodes' values */
    size_t n_t, cap_t;
    bp__pb in_name, out_name;
    int64_t in_width;  /* -1: not declared */
    olayer layers[BP_MAX_LAYERS];
    int n_layers;
    const otensor *shift, *scale;
    bp_real slope;
    bool two_columns;
} ofile;

/* A name from the file, printable and short, for messages. */
static const char *show(bp__pb s, char buf[68])
{
    size_t n = bp__pb_len(s) < 60 ? bp__pb_len(s) : 60, k = 0;
    for (size_t i = 0; i < n; i++) buf[k++] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? (char)s.p[i] : '?';
    if (bp__pb_len(s) > 60) buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

static bp_status malformed(const ofile *f, const char *what)
{
    return bp__fail(BP_ERR_FORMAT, "%s: ONNX: malformed %s (truncated or not protobuf)", f->path, what);
}

/* Node i refused: the message names it and its op. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bp_status refuse(const ofile *f, size_t i, const char *fmt, ...)
{
    char why[256], a[68], b[68];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const onode *n = &f->nodes[i];
    return bp__fail(BP_ERR_FORMAT, "%s: ONNX node %zu \"%s\" (op %s): %s", f->path, i,
                    show(n->name, a), show(n->op, b), why);
}

/* ---------------------------------------------------------- model, graph */

static bp_status parse_opset(ofile *f, bp__pb r)
{
    bp__pb domain = {0};
    uint64_t version = 0;
    uint32_t field;
    int wire;
    while (r.p < r.end) {
        if (!bp__pb_tag(&r, &field, &wire)) return malformed(f, "opset_import");
        bool ok = field == ONNX_OPSET_DOMAIN && wire == BP__PB_LEN ? bp__pb_bytes(&r, &domain)
                : field == ONNX_OPSET_VERSION && wire == BP__PB_VARINT ? bp__pb_varint(&r, &version)
                : bp__pb_skip(&r, wire);
        if (!ok) return malformed(f, "opset_import");
    }
    if (bp__pb_len(domain) == 0 || bp__pb_eq(domain, "ai.onnx")) f->opset = (int64_t)version;
    return BP_OK;
}

static bp_status parse_model(ofile *f)
{
    bp__pb r = f->model;
    uint32_t field;
    int wire;
    int graphs = 0;
    f->opset = -1;
    while (r.p < r.end) {
        bp__pb s;
        if (!bp__pb_tag(&r, &field, &wire)) return malformed(f, "ModelProto");
        if (wire != BP__PB_LEN) {
            if (!bp__pb_skip(&r, wire)) return malformed(f, "ModelProto");
            continue;
        }
        if (!bp__pb_bytes(&r, &s)) return malformed(f, "ModelProto");
        bp_status st = BP_OK;
        if (field == ONNX_MODEL_GRAPH) f->graph = s, graphs++;
        else if (field == ONNX_MODEL_OPSET) st = parse_opset(f, s);
        if (st) return st;
    }
    if (graphs != 1)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: the model has %d graphs, expected 1", f->path, graphs);
    if (f->opset < 0)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: no opset_import of the default domain (a "
                        "file cut short?)", f->path);
    if (f->opset < BP__ONNX_OPSET_MIN || f->opset > BP__ONNX_OPSET_MAX)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: default-domain opset %lld: backprop reads "
                        "opsets %d to %d", f->path, (long long)f->opset, BP__ONNX_OPSET_MIN,
                        BP__ONNX_OPSET_MAX);
    return BP_OK;
}

/* ----------------------------------------------------------------- tensors */

/* Counts the values of a packed (LEN) or unpacked repeated field. */
static bool count_values(bp__pb *r, int wire, bool floats, uint64_t *count)
{
    uint64_t v;
    bp__pb s;
    if (floats && wire == BP__PB_I32) return (*count)++, bp__pb_skip(r, wire);
    if (!floats && wire == BP__PB_VARINT) return (*count)++, bp__pb_varint(r, &v);
    if (wire != BP__PB_LEN || !bp__pb_bytes(r, &s)) return false;
    if (floats) {
        if (bp__pb_len(s) % 4) return false;
        *count += bp__pb_len(s) / 4;
        return true;
    }
    while (s.p < s.end)
        if (!bp__pb_varint(&s, &v)) return false;
        else (*count)++;
    return true;
}

/* A TensorProto: dims, type, name and where its values are; the number of
 * values must match the dims (so numel is bounded by the file's size). */
static bp_status parse_tensor(const ofile *f, bp__pb msg, otensor *t)
{
    char a[68];
    memset(t, 0, sizeof *t);
    t->msg = msg;
    bp__pb r = msg;
    uint64_t v, dims[8], n_data[2] = {0, 0}, location = 0; /* float_data, int64_data values */
    uint32_t field;
    int wire;
    int ndim = 0;
    bool ok = true, has_raw = false;
    while (ok && r.p < r.end) {
        if (!bp__pb_tag(&r, &field, &wire)) return malformed(f, "TensorProto");
        if (field == ONNX_TENSOR_DIMS && wire == BP__PB_VARINT) {
            ok = bp__pb_varint(&r, &v);
            if (ok && ndim < 8) dims[ndim] = v;
            ndim++;
        } else if (field == ONNX_TENSOR_DIMS && wire == BP__PB_LEN) {
            bp__pb s;
            ok = bp__pb_bytes(&r, &s);
            while (ok && s.p < s.end)
                if ((ok = bp__pb_varint(&s, &v)) && ndim < 8) dims[ndim++] = v;
                else if (ok) ndim++;
        } else if (field == ONNX_TENSOR_TYPE && wire == BP__PB_VARINT) {
            ok = bp__pb_varint(&r, &v);
            t->dtype = v < 64 ? (int)v : -1;
        } else if (field == ONNX_TENSOR_NAME && wire == BP__PB_LEN) {
            ok = bp__pb_bytes(&r, &t->name);
        } else if (field == ONNX_TENSOR_RAW && wire == BP__PB_LEN) {
            ok = bp__pb_bytes(&r, &t->raw_data), has_raw = true;
        } else if (field == ONNX_TENSOR_FLOATS || field == ONNX_TENSOR_INT64S) {
            ok = count_values(&r, wire, field == ONNX_TENSOR_FLOATS,
                              &n_data[field == ONNX_TENSOR_INT64S]);
        } else if (field == ONNX_TENSOR_LOCATION && wire == BP__PB_VARINT) {
            ok = bp__pb_varint(&r, &location);
        } else {
            ok = bp__pb_skip(&r, wire);
        }
    }
    if (!ok) return malformed(f, "TensorProto");
    if (ndim > 2)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX tensor \"%s\": %d dimensions, at most 2 are "
                        "read", f->path, show(t->name, a), ndim);
    if (location != 0)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX tensor \"%s\": external data is not read "
                        "(save the model with its tensors inside)", f->path, show(t->name, a));
    if (t->dtype != ONNX_FLOAT && t->dtype != ONNX_INT64)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX tensor \"%s\": data type %d, only float (1) "
                        "and int64 (7) are read", f->path, show(t->name, a), t->dtype);
    t->ndim = ndim;
    t->numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] > (uint64_t)INT32_MAX)
            return bp__fail(BP_ERR_FORMAT, "%s: ONNX tensor \"%s\": dimension %d is %lld",
                            f->path, show(t->name, a), d, (long long)dims[d]);
        t->dims[d] = (int64_t)dims[d];
        t->numel *= dims[d]; /* < 2^62: no overflow */
    }
    size_t elem = t->dtype == ONNX_FLOAT ? 4 : 8;
    t->raw = has_raw;
    /* the values in exactly one place: raw_data, or the field of the type */
    uint64_t mine = n_data[t->dtype == ONNX_INT64], other = n_data[t->dtype != ONNX_INT64];
    bool fits = other == 0 && (has_raw ? (mine == 0 && t->numel <= SIZE_MAX / elem &&
                                          bp__pb_len(t->raw_data) == t->numel * elem)
                                       : mine == t->numel);
    if (!fits)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX tensor \"%s\": %s holds %zu values, its "
                        "dimensions say %llu", f->path, show(t->name, a),
                        has_raw ? "raw_data" : "its data",
                        has_raw ? bp__pb_len(t->raw_data) / elem : (size_t)(mine + other),
                        (unsigned long long)t->numel);
    return BP_OK;
}

static const otensor *find_tensor(const ofile *f, bp__pb name)
{
    for (size_t i = f->n_t; i-- > 0;)
        if (bp__pb_same(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

static bool read_float(bp__pb *r, float *v)
{
    uint32_t u;
    if (!bp__pb_fixed32(r, &u)) return false;
    memcpy(v, &u, 4);
    return true;
}

/* Value k of t (file order) goes to dst[k], or transposed to
 * dst[(k % cols) * rows + k / cols] when t is (rows, cols) and `trans`.
 * dst NULL: only checks. false when a value is not finite. */
static bool float_values(const otensor *t, bp_real *dst, bool trans)
{
    size_t rows = t->ndim == 2 ? (size_t)t->dims[0] : 1, cols = (size_t)(t->numel / (rows ? rows : 1));
    size_t k = 0;
    float v;
#define PUT(val)                                                                       \
    do {                                                                               \
        if (!isfinite(val)) return false;                                              \
        if (dst) dst[trans ? (k % cols) * rows + k / cols : k] = (bp_real)(val);       \
        k++;                                                                           \
    } while (0)
    if (t->raw) {
        bp__pb r = t->raw_data;
        while (read_float(&r, &v)) PUT(v);
        return true;
    }
    bp__pb r = t->msg, s;
    uint32_t field;
    int wire;
    while (bp__pb_tag(&r, &field, &wire)) { /* checked by parse_tensor */
        if (field == ONNX_TENSOR_FLOATS && wire == BP__PB_I32) {
            read_float(&r, &v);
            PUT(v);
        } else if (field == ONNX_TENSOR_FLOATS && wire == BP__PB_LEN) {
            bp__pb_bytes(&r, &s);
            while (read_float(&s, &v)) PUT(v);
        } else {
            bp__pb_skip(&r, wire);
        }
    }
#undef PUT
    return true;
}

/* The first two values of an int64 tensor of 2 values. */
static void int64_values(const otensor *t, int64_t out[2])
{
    int k = 0;
    uint64_t v;
    if (t->raw) {
        for (k = 0; k < 2; k++) {
            v = 0;
            for (int i = 7; i >= 0; i--) v = v << 8 | t->raw_data.p[8 * k + i];
            out[k] = (int64_t)v;
        }
        return;
    }
    bp__pb r = t->msg, s;
    uint32_t field;
    int wire;
    while (k < 2 && bp__pb_tag(&r, &field, &wire)) {
        if (field == ONNX_TENSOR_INT64S && wire == BP__PB_VARINT) {
            bp__pb_varint(&r, &v);
            out[k++] = (int64_t)v;
        } else if (field == ONNX_TENSOR_INT64S && wire == BP__PB_LEN) {
            bp__pb_bytes(&r, &s);
            while (k < 2 && bp__pb_varint(&s, &v)) out[k++] = (int64_t)v;
        } else {
            bp__pb_skip(&r, wire);
        }
    }
}

/* ------------------------------------------------------------------- nodes */

static bp_status parse_node(const ofile *f, bp__pb msg, onode *n)
{
    memset(n, 0, sizeof *n);
    n->msg = msg;
    bp__pb r = msg, s, domain = {0};
    uint32_t field;
    int wire;
    while (r.p < r.end) {
        if (!bp__pb_tag(&r, &field, &wire)) return malformed(f, "NodeProto");
        if (wire != BP__PB_LEN) {
            if (!bp__pb_skip(&r, wire)) return malformed(f, "NodeProto");
            continue;
        }
        if (!bp__pb_bytes(&r, &s)) return malformed(f, "NodeProto");
        if (field == ONNX_NODE_INPUT && n->n_in < 3) n->in[n->n_in] = s;
        if (field == ONNX_NODE_INPUT) n->n_in++;
        if (field == ONNX_NODE_OUTPUT && n->n_out++ == 0) n->out = s;
        if (field == ONNX_NODE_NAME) n->name = s;
        if (field == ONNX_NODE_OP) n->op = s;
        if (field == ONNX_NODE_DOMAIN) domain = s;
    }
    if (bp__pb_len(domain) && !bp__pb_eq(domain, "ai.onnx")) {
        char a[68], b[68], c[68];
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX node \"%s\" (op %s): domain \"%s\" is not read",
                        f->path, show(n->name, a), show(n->op, b), show(domain, c));
    }
    return BP_OK;
}

/* Attribute `name` of node n: its AttributeProto, or false when absent. */
static bool find_attr(const onode *n, const char *name, bp__pb *attr)
{
    bp__pb r = n->msg, s, an;
    uint32_t field, f2;
    int wire, w2;
    while (bp__pb_tag(&r, &field, &wire)) {
        if (field != ONNX_NODE_ATTR || wire != BP__PB_LEN) {
            if (!bp__pb_skip(&r, wire)) return false;
            continue;
        }
        if (!bp__pb_bytes(&r, &s)) return false;
        *attr = s;
        while (bp__pb_tag(&s, &f2, &w2))
            if (f2 == ONNX_ATTR_NAME && w2 == BP__PB_LEN) {
                if (bp__pb_bytes(&s, &an) && bp__pb_eq(an, name)) return true;
                break;
            } else if (!bp__pb_skip(&s, w2)) {
                break;
            }
    }
    return false;
}

/* Field `field` of attribute `name`, when present with wire type `wire`. */
static bool attr_field(const onode *n, const char *name, uint32_t field, int wire, bp__pb *out)
{
    uint32_t f;
    int w;
    if (!find_attr(n, name, out)) return false;
    while (bp__pb_tag(out, &f, &w))
        if (f == field && w == wire) return true;
        else if (!bp__pb_skip(out, w)) break;
    return false;
}

/* An attribute's int (field i) or float (field f), def when absent. */
static int64_t attr_int(const onode *n, const char *name, int64_t def)
{
    bp__pb a;
    uint64_t v;
    return attr_field(n, name, ONNX_ATTR_I, BP__PB_VARINT, &a) && bp__pb_varint(&a, &v)
               ? (int64_t)v : def;
}

static float attr_float(const onode *n, const char *name, float def)
{
    bp__pb a;
    float v;
    return attr_field(n, name, ONNX_ATTR_F, BP__PB_I32, &a) && read_float(&a, &v) ? v : def;
}

/* A Constant node's `value` tensor joins the table under its output's name. */
static bp_status add_constant(ofile *f, size_t i)
{
    const onode *n = &f->nodes[i];
    bp__pb a, t;
    uint32_t field;
    int wire;
    bool found = false;
    if (n->n_out != 1) return refuse(f, i, "expected 1 output");
    if (find_attr(n, "value", &a)) {
        while (!found && bp__pb_tag(&a, &field, &wire))
            if (field == ONNX_ATTR_T && wire == BP__PB_LEN) found = bp__pb_bytes(&a, &t);
            else if (!bp__pb_skip(&a, wire)) break;
    }
    if (!found) return refuse(f, i, "only a \"value\" tensor is read");
    BP_ASSERT(f->n_t < f->cap_t);
    otensor *o = &f->t[f->n_t];
    bp_status st = parse_tensor(f, t, o);
    if (st) return st;
    o->name = n->out;
    f->n_t++;
    return BP_OK;
}

/* ------------------------------------------------------------------- graph */

/* Counts the graph's repeated fields, allocates, and parses nodes and
 * initializers. */
static bp_status parse_graph(ofile *f)
{
    size_t counts[16] = {0};
    uint32_t field;
    int wire;
    bp__pb r = f->graph, s;
    while (r.p < r.end) {
        if (!bp__pb_tag(&r, &field, &wire) || !bp__pb_skip(&r, wire)) return malformed(f, "GraphProto");
        if (field < 16) counts[field]++;
    }
    if (counts[ONNX_GRAPH_SPARSE_INIT])
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: sparse initializers are not read", f->path);
    /* each counted field took at least 2 bytes of the file */
    f->n_nodes = counts[ONNX_GRAPH_NODE];
    f->cap_t = counts[ONNX_GRAPH_INIT] + f->n_nodes;
    f->nodes = bp__calloc(f->n_nodes ? f->n_nodes : 1, sizeof *f->nodes);
    f->t = bp__calloc(f->cap_t ? f->cap_t : 1, sizeof *f->t);
    if (!f->nodes || !f->t) return BP_ERR_NOMEM;
    size_t k = 0;
    bp_status st = BP_OK;
    r = f->graph;
    while (!st && r.p < r.end) {
        bp__pb_tag(&r, &field, &wire);
        if (wire != BP__PB_LEN) {
            bp__pb_skip(&r, wire);
            continue;
        }
        bp__pb_bytes(&r, &s);
        if (field == ONNX_GRAPH_NODE) st = parse_node(f, s, &f->nodes[k++]);
        else if (field == ONNX_GRAPH_INIT) st = parse_tensor(f, s, &f->t[f->n_t++]);
    }
    return st;
}

/* A ValueInfoProto's name, and its width when it is a float (N, width). */
static bp_status parse_value_info(const ofile *f, bp__pb msg, bp__pb *name, int64_t *width)
{
    bp__pb r = msg, s;
    uint32_t field;
    int wire;
    *width = -1;
    int64_t rank = 0, elem = ONNX_FLOAT, dim = -1;
    bool typed = false;
    *name = (bp__pb){0};
    while (r.p < r.end) {
        if (!bp__pb_tag(&r, &field, &wire) ||
            (wire == BP__PB_LEN ? !bp__pb_bytes(&r, &s) : !bp__pb_skip(&r, wire)))
            return malformed(f, "ValueInfoProto");
        if (wire != BP__PB_LEN) continue;
        if (field == ONNX_VALUE_NAME) *name = s;
        if (field != ONNX_VALUE_TYPE) continue;
        /* TypeProto.tensor_type.{elem_type, shape.dim[].dim_value}: walk down */
        bp__pb path[3] = {s};
        int depth = 0;
        const uint32_t want[3] = {ONNX_TYPE_TENSOR, ONNX_TT_SHAPE, ONNX_SHAPE_DIM};
        while (depth >= 0) {
            bp__pb *p = &path[depth];
            if (p->p >= p->end) { depth--; continue; }
            if (!bp__pb_tag(p, &field, &wire)) return malformed(f, "TypeProto");
            uint64_t v;
            bp__pb sub;
            if (depth == 1 && field == ONNX_TT_ELEM && wire == BP__PB_VARINT) {
                if (!bp__pb_varint(p, &v)) return malformed(f, "TypeProto");
                elem = v <= 64 ? (int64_t)v : -1, typed = true;
            } else if (wire == BP__PB_LEN && depth < 3 && field == want[depth]) {
                if (!bp__pb_bytes(p, &sub)) return malformed(f, "TypeProto");
                if (depth == 2) { /* a Dimension */
                    rank++;
                    dim = -1;
                    uint32_t f3;
                    int w3;
                    while (sub.p < sub.end && bp__pb_tag(&sub, &f3, &w3))
                        if (f3 == ONNX_DIM_VALUE && w3 == BP__PB_VARINT) {
                            if (bp__pb_varint(&sub, &v)) dim = v < INT32_MAX ? (int64_t)v : -1;
                        } else if (!bp__pb_skip(&sub, w3)) {
                            break;
                        }
                } else {
                    path[++depth] = sub;
                }
            } else if (!bp__pb_skip(p, wire)) {
                return malformed(f, "TypeProto");
            }
        }
    }
    char a[68];
    if (typed && elem != ONNX_FLOAT)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: graph input/output \"%s\" has element type "
                        "%lld, only float (1) is read", f->path, show(*name, a), (long long)elem);
    if (rank != 0 && rank != 2)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: graph input/output \"%s\" has %lld "
                        "dimensions, expected 2 (batch, features)", f->path, show(*name, a),
                        (long long)rank);
    if (rank == 2) *width = dim;
    return BP_OK;
}

/* The one input that is not an initializer, and the one output. */
static bp_status parse_io(ofile *f)
{
    bp__pb r = f->graph, s, name;
    uint32_t field;
    int wire;
    int inputs = 0, outputs = 0;
    int64_t width;
    while (r.p < r.end) {
        bp__pb_tag(&r, &field, &wire);
        if (wire != BP__PB_LEN) {
            bp__pb_skip(&r, wire);
            continue;
        }
        bp__pb_bytes(&r, &s);
        if (field != ONNX_GRAPH_INPUT && field != ONNX_GRAPH_OUTPUT) continue;
        bp_status st = parse_value_info(f, s, &name, &width);
        if (st) return st;
        if (field == ONNX_GRAPH_OUTPUT) f->out_name = name, outputs++;
        else if (!find_tensor(f, name)) f->in_name = name, f->in_width = width, inputs++;
    }
    if (inputs != 1 || outputs != 1)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: the graph has %d inputs and %d outputs (not "
                        "counting initializers); an MLP has 1 and 1", f->path, inputs, outputs);
    return BP_OK;
}

/* ------------------------------------------------------- value names */

/* A value's name and what produced it: an initializer, the graph input or
 * a node (its first output; a node with more is refused by the chain). */
typedef struct oname {
    bp__pb name;
    int kind;          /* NAME_INIT, NAME_INPUT, NAME_NODE: the order of precedence */
    size_t index;      /* of the initializer or node */
} oname;

enum { NAME_INIT, NAME_INPUT, NAME_NODE };

static int name_cmp(const void *pa, const void *pb)
{
    const oname *a = pa, *b = pb;
    size_t na = bp__pb_len(a->name), nb = bp__pb_len(b->name);
    int c = na && nb ? memcmp(a->name.p, b->name.p, na < nb ? na : nb) : 0; /* "" may be NULL */
    if (c) return c;
    if (na != nb) return na < nb ? -1 : 1;
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static bp_status name_refused(const ofile *f, const oname *first, const oname *again)
{
    char a[68], b[68], c[68];
    BP_ASSERT(again->kind != NAME_INPUT); /* parse_io: the input is no initializer */
    if (again->kind == NAME_INIT)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: initializer %zu \"%s\" has the name of initializer "
                        "%zu (each initializer is named once)", f->path, again->index,
                        show(again->name, a), first->index);
    if (first->kind == NAME_INIT)
        return refuse(f, again->index, "it writes initializer %zu \"%s\" (ONNX graphs are SSA: "
                      "each value is produced once)", first->index, show(again->name, a));
    if (first->kind == NAME_INPUT)
        return refuse(f, again->index, "it writes the graph input \"%s\" (ONNX graphs are SSA: "
                      "each value is produced once)", show(again->name, a));
    const onode *n = &f->nodes[first->index];
    return refuse(f, again->index, "it writes \"%s\", which node %zu \"%s\" (op %s) already "
                  "wrote (ONNX graphs are SSA: each value is produced once)", show(again->name, a),
                  first->index, show(n->name, b), show(n->op, c));
}

/* Every value name is produced once: no two initializers share a name, and
 * no node writes the graph input, an initializer or another node's output
 * (the table lookups would otherwise pick one silently). Sorted, so that a
 * graph of many nodes costs n log n; the refusal named is the earliest
 * (initializers first, then the lowest node index). Before the chain adds
 * Constant nodes' values to f->t. */
static bp_status check_names(const ofile *f)
{
    size_t n = 0;
    oname *v = bp__calloc(f->n_t + f->n_nodes + 1, sizeof *v);
    if (!v) return BP_ERR_NOMEM;
    for (size_t i = 0; i < f->n_t; i++) v[n++] = (oname){f->t[i].name, NAME_INIT, i};
    v[n++] = (oname){f->in_name, NAME_INPUT, 0};
    for (size_t i = 0; i < f->n_nodes; i++) /* "" is an optional output left out */
        if (f->nodes[i].n_out && bp__pb_len(f->nodes[i].out))
            v[n++] = (oname){f->nodes[i].out, NAME_NODE, i};
    qsort(v, n, sizeof *v, name_cmp);
    const oname *first = NULL, *again = NULL;
    for (size_t i = 1, g = 0; i < n; i++) {
        if (!bp__pb_same(v[i].name, v[g].name)) {
            g = i;
            continue;
        }
        if (!again || v[i].kind < again->kind || (v[i].kind == again->kind && v[i].index < again->index))
            first = &v[g], again = &v[i];
    }
    bp_status st = again ? name_refused(f, first, again) : BP_OK;
    free(v);
    return st;
}

/* ------------------------------------------------------------ the chain */

static bool is_const(const ofile *f, const onode *n, int k, const otensor **t)
{
    *t = k < n->n_in ? find_tensor(f, n->in[k]) : NULL;
    return *t != NULL;
}

/* A float operand of n: rank 1 or (1, width) of `numel` values (0: any). */
static bool vector_const(const ofile *f, const onode *n, int k, uint64_t numel, const otensor **t)
{
    return is_const(f, n, k, t) && (*t)->dtype == ONNX_FLOAT && (numel == 0 || (*t)->numel == numel) &&
           ((*t)->ndim <= 1 || (*t)->dims[0] == 1);
}

static int width_now(const ofile *f)
{
    return f->n_layers ? f->layers[f->n_layers - 1].out : (int)f->in_width;
}

static bp_status open_layer(ofile *f, size_t i, const otensor *w, bool in_out)
{
    if (!w || w->dtype != ONNX_FLOAT || w->ndim != 2 || w->numel == 0)
        return refuse(f, i, "the weights must be a float (rows, cols) constant");
    if (f->n_layers == BP_MAX_LAYERS)
        return refuse(f, i, "more than %d layers", BP_MAX_LAYERS);
    olayer *L = &f->layers[f->n_layers];
    L->w = w, L->w_in_out = in_out, L->b = NULL, L->has_act = false, L->act = BP_ACT_IDENTITY;
    L->in = (int)w->dims[in_out ? 0 : 1];
    L->out = (int)w->dims[in_out ? 1 : 0];
    int width = width_now(f);
    if (width >= 0 && width != L->in)
        return refuse(f, i, "the weights take %d inputs, the previous value has %d", L->in, width);
    f->n_layers++;
    return BP_OK;
}

static bp_status gemm(ofile *f, size_t i)
{
    const onode *n = &f->nodes[i];
    const otensor *w, *b = NULL;
    if (attr_float(n, "alpha", 1) != 1 || attr_float(n, "beta", 1) != 1 || attr_int(n, "transA", 0))
        return refuse(f, i, "only alpha = beta = 1 and transA = 0 are read");
    int64_t tb = attr_int(n, "transB", 0);
    if (tb != 0 && tb != 1) return refuse(f, i, "transB = %lld", (long long)tb);
    if (n->n_in < 2 || n->n_in > 3 || !is_const(f, n, 1, &w)) return refuse(f, i, "expected (x, W[, b]) with constant W");
    bp_status st = open_layer(f, i, w, tb == 0);
    if (!st && n->n_in == 3) {
        if (!vector_const(f, n, 2, (uint64_t)f->layers[f->n_layers - 1].out, &b))
            return refuse(f, i, "the bias must be a float constant of %d values",
                          f->layers[f->n_layers - 1].out);
        f->layers[f->n_layers - 1].b = b;
    }
    return st;
}

static bp_status activation(ofile *f, size_t i, bp_activation act)
{
    olayer *L = f->n_layers ? &f->layers[f->n_layers - 1] : NULL;
    if (!L || L->has_act) return refuse(f, i, "an activation must follow a Gemm or MatMul");
    const onode *n = &f->nodes[i];
    if (act == BP_ACT_SOFTMAX) {
        int64_t axis = attr_int(n, "axis", f->opset < 13 ? 1 : -1);
        if (axis != 1 && axis != -1) return refuse(f, i, "axis %lld: only 1 (or -1) is read", (long long)axis);
    }
    if (act == BP_ACT_LEAKY_RELU) {
        float a = attr_float(n, "alpha", 0.01f);
        if (!(a >= 0 && a < 1)) return refuse(f, i, "alpha %g: must be in [0, 1)", (double)a);
        if (f->slope >= 0 && f->slope != (bp_real)a)
            return refuse(f, i, "alpha %g differs from an earlier LeakyRelu's %g", (double)a, (double)f->slope);
        f->slope = (bp_real)a;
    }
    L->act = act, L->has_act = true;
    return BP_OK;
}

/* The last layer's linear part without a bias yet, for Add. */
static olayer *open_linear(ofile *f)
{
    olayer *L = f->n_layers ? &f->layers[f->n_layers - 1] : NULL;
    return L && !L->has_act && !L->b ? L : NULL;
}

/* Sub/Mul before the first layer: the normalization. */
static bp_status norm_op(ofile *f, size_t i, bool sub)
{
    const otensor *t;
    const onode *n = &f->nodes[i];
    if (!vector_const(f, n, 1, 0, &t) || t->numel < 1 || (f->in_width >= 0 && t->numel != (uint64_t)f->in_width))
        return refuse(f, i, "the normalization must be a float constant of one value per input");
    if (sub ? f->shift != NULL || f->scale != NULL : f->scale != NULL)
        return refuse(f, i, "only one Sub then one Mul before the first layer are read");
    if (sub) f->shift = t;
    else f->scale = t;
    return BP_OK;
}

static bool is_one(const otensor *t)
{
    bp_real v = 0;
    return t && t->dtype == ONNX_FLOAT && t->numel == 1 && float_values(t, &v, false) && v == 1;
}

static bp_status reshape(ofile *f, size_t i)
{
    const otensor *t;
    const onode *n = &f->nodes[i];
    int width = width_now(f);
    int64_t s[2];
    if (!is_const(f, n, 1, &t) || t->dtype != ONNX_INT64 || t->numel != 2 || width < 0)
        return refuse(f, i, "only a constant shape [-1, width] of a value of known width is read");
    int64_values(t, s);
    if (s[1] != width || (s[0] != -1 && !(s[0] == 0 && attr_int(n, "allowzero", 0) == 0)))
        return refuse(f, i, "shape [%lld, %lld] changes the (N, %d) value", (long long)s[0],
                      (long long)s[1], width);
    return BP_OK;
}

/* One node of the chain; *x is the current value's name. */
static bp_status chain_node(ofile *f, size_t i, bp__pb *x, bp__pb *complement)
{
    const onode *n = &f->nodes[i];
    const otensor *t;
    bp__pb op = n->op;
    if (bp__pb_eq(op, "Constant")) return add_constant(f, i);
    if (n->n_out != 1) return refuse(f, i, "expected 1 output, not %d", n->n_out);
    bool data_first = n->n_in >= 1 && bp__pb_same(n->in[0], *x);
    bool data_second = n->n_in >= 2 && bp__pb_same(n->in[1], *x);
    bp_status st = BP_OK;
    bool keep_x = false;
    if (bp__pb_len(complement[0]) || f->two_columns) {
        bool concat = bp__pb_eq(op, "Concat") && n->n_in == 2 && data_second && !f->two_columns &&
                      bp__pb_same(n->in[0], complement[0]);
        int64_t axis = concat ? attr_int(n, "axis", 0) : 0;
        if (!concat || (axis != 1 && axis != -1))
            return refuse(f, i, "only Concat(axis 1) of (1 - p, p) may follow Sub(1, p), and "
                          "nothing after it");
        f->two_columns = true;
        complement[0] = (bp__pb){0};
    } else if (!data_first && !(data_second && (bp__pb_eq(op, "Sub") || bp__pb_eq(op, "Add")))) {
        return refuse(f, i, "its input is not the result of the node before it (backprop reads "
                      "a chain of layers)");
    } else if (bp__pb_eq(op, "Identity")) {
    } else if (bp__pb_eq(op, "Flatten")) {
        int64_t axis = attr_int(n, "axis", 1);
        if (axis != 1 && axis != -1) return refuse(f, i, "axis %lld changes the (N, width) value", (long long)axis);
    } else if (bp__pb_eq(op, "Reshape")) {
        st = reshape(f, i);
    } else if (bp__pb_eq(op, "Gemm")) {
        st = data_first ? gemm(f, i) : refuse(f, i, "x must be the first input");
    } else if (bp__pb_eq(op, "MatMul")) {
        st = data_first && n->n_in == 2 && is_const(f, n, 1, &t) ? open_layer(f, i, t, true)
                                                               : refuse(f, i, "expected (x, constant W)");
    } else if (bp__pb_eq(op, "Add")) {
        olayer *L = open_linear(f);
        if (!L || n->n_in != 2 || !vector_const(f, n, data_first ? 1 : 0, (uint64_t)L->out, &t))
            return refuse(f, i, "only a bias (a float constant of the layer's width) added "
                          "right after a MatMul or bias-less Gemm is read");
        L->b = t;
    } else if (bp__pb_eq(op, "Sub") && data_second) {
        olayer *L = f->n_layers ? &f->layers[f->n_layers - 1] : NULL;
        if (!L || L->out != 1 || !is_const(f, n, 0, &t) || !is_one(t))
            return refuse(f, i, "only 1 - p of a single output is read here");
        complement[0] = n->out;
        keep_x = true;
    } else if ((bp__pb_eq(op, "Sub") || bp__pb_eq(op, "Mul")) && f->n_layers == 0) {
        st = norm_op(f, i, bp__pb_eq(op, "Sub"));
    } else if (bp__pb_eq(op, "Relu")) {
        st = activation(f, i, BP_ACT_RELU);
    } else if (bp__pb_eq(op, "Sigmoid")) {
        st = activation(f, i, BP_ACT_SIGMOID);
    } else if (bp__pb_eq(op, "Tanh")) {
        st = activation(f, i, BP_ACT_TANH);
    } else if (bp__pb_eq(op, "LeakyRelu")) {
        st = activation(f, i, BP_ACT_LEAKY_RELU);
    } else if (bp__pb_eq(op, "Softmax")) {
        st = activation(f, i, BP_ACT_SOFTMAX);
    } else {
        return refuse(f, i, "not supported (backprop reads MLPs: Gemm, MatMul, Add, Relu, "
                      "Sigmoid, Tanh, LeakyRelu, Softmax, Sub, Mul, Flatten, Identity, Reshape)");
    }
    if (!st && !keep_x) *x = n->out;
    return st;
}

static bp_status read_chain(ofile *f)
{
    bp__pb x = f->in_name, complement[1] = {{0}};
    f->slope = -1;
    bp_status named = check_names(f);
    if (named) return named;
    for (size_t i = 0; i < f->n_nodes; i++) {
        bp_status st = chain_node(f, i, &x, complement);
        if (st) return st;
    }
    char a[68], b[68];
    if (f->n_layers == 0)
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: the graph has no Gemm or MatMul layer", f->path);
    if (bp__pb_len(complement[0]) || !bp__pb_same(x, f->out_name))
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: the chain of nodes ends in \"%s\", not in the "
                        "graph output \"%s\"", f->path, show(x, a), show(f->out_name, b));
    uint64_t in = (uint64_t)f->layers[0].in;
    if ((f->shift && f->shift->numel != in) || (f->scale && f->scale->numel != in))
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: the normalization has %llu values for %llu "
                        "inputs", f->path, (unsigned long long)(f->shift ? f->shift : f->scale)->numel,
                        (unsigned long long)in);
    return BP_OK;
}

/* -------------------------------------------------------------- metadata */

/* metadata_props value of key, or a NULL slice. */
static bp__pb meta_value(const ofile *f, const char *key)
{
    bp__pb r = f->model, s, k, v, none = {0};
    uint32_t field, f2;
    int wire, w2;
    while (bp__pb_tag(&r, &field, &wire)) { /* checked by parse_model */
        if (field != ONNX_MODEL_META || wire != BP__PB_LEN) {
            bp__pb_skip(&r, wire);
            continue;
        }
        bp__pb_bytes(&r, &s);
        k = v = none;
        while (bp__pb_tag(&s, &f2, &w2))
            if (w2 == BP__PB_LEN && (f2 == ONNX_ENTRY_KEY || f2 == ONNX_ENTRY_VALUE)) {
                if (!bp__pb_bytes(&s, f2 == ONNX_ENTRY_KEY ? &k : &v)) break;
            } else if (!bp__pb_skip(&s, w2)) {
                break;
            }
        if (k.p && bp__pb_eq(k, key)) return v.p ? v : (bp__pb){(const uint8_t *)"", (const uint8_t *)""};
    }
    return none;
}

/* The loss: metadata backprop_loss when present, else what the output suggests. */
static bp_status read_config(const ofile *f, bp_model_config *c)
{
    *c = bp_model_config_default();
    c->n_layers = f->n_layers;
    c->sizes[0] = f->layers[0].in;
    for (int l = 0; l < f->n_layers; l++) c->sizes[l + 1] = f->layers[l].out, c->act[l] = f->layers[l].act;
    if (f->slope >= 0) c->leaky_slope = f->slope;
    bp_activation last = c->act[c->n_layers - 1];
    c->loss = last == BP_ACT_SOFTMAX ? BP_LOSS_XENT : last == BP_ACT_SIGMOID ? BP_LOSS_BCE : BP_LOSS_MSE;
    bp__pb loss = meta_value(f, BP__ONNX_KEY_LOSS);
    char name[16], a[68];
    if (loss.p) {
        size_t n = bp__pb_len(loss);
        memcpy(name, loss.p, n < sizeof name ? n : 0);
        name[n < sizeof name ? n : 0] = '\0';
        bp_loss l;
        if (bp_loss_from_name(name, &l))
            return bp__fail(BP_ERR_FORMAT, "%s: ONNX metadata \"%s\": \"%s\" is not a loss",
                            f->path, BP__ONNX_KEY_LOSS, show(loss, a));
        c->loss = l;
    }
    for (int l = 0; l < f->n_layers; l++) /* finiteness, before allocating */
        if (!float_values(f->layers[l].w, NULL, false) || (f->layers[l].b && !float_values(f->layers[l].b, NULL, false)))
            return bp__fail(BP_ERR_FORMAT, "%s: ONNX: layer %d holds a value that is not finite", f->path, l);
    if ((f->shift && !float_values(f->shift, NULL, false)) || (f->scale && !float_values(f->scale, NULL, false)))
        return bp__fail(BP_ERR_FORMAT, "%s: ONNX: the normalization holds a value that is not finite", f->path);
    return BP_OK;
}

/* The metadata_props entries that have a key, for bp__mf_read_tail (a
 * missing value reads as ""). *out NULL when out of memory. */
static bp_status collect_entries(const ofile *f, bp__mf_entry **out, size_t *n)
{
    bp__pb r = f->model, s, k, v;
    uint32_t field, f2;
    int wire, w2;
    size_t count = 0;
    *n = 0;
    while (bp__pb_tag(&r, &field, &wire) && bp__pb_skip(&r, wire)) /* checked by parse_model */
        count += field == ONNX_MODEL_META && wire == BP__PB_LEN;
    if (!(*out = bp__calloc(count, sizeof **out))) return BP_ERR_NOMEM;
    r = f->model;
    while (bp__pb_tag(&r, &field, &wire)) {
        if (field != ONNX_MODEL_META || wire != BP__PB_LEN) {
            bp__pb_skip(&r, wire);
            continue;
        }
        bp__pb_bytes(&r, &s);
        k = v = (bp__pb){0};
        while (bp__pb_tag(&s, &f2, &w2))
            if (w2 == BP__PB_LEN && (f2 == ONNX_ENTRY_KEY || f2 == ONNX_ENTRY_VALUE)) {
                if (!bp__pb_bytes(&s, f2 == ONNX_ENTRY_KEY ? &k : &v)) break;
            } else if (!bp__pb_skip(&s, w2)) {
                break;
            }
        if (k.p)
            (*out)[(*n)++] = (bp__mf_entry){(const char *)k.p, v.p ? (const char *)v.p : "",
                                            bp__pb_len(k), bp__pb_len(v)};
    }
    return BP_OK;
}

/* ---------------------------------------------------------------- the model */

/* The model from the checked graph; then what it carries (normalization,
 * labels, encoder, and the user entries into *extra when not NULL) through
 * bp__mf_read_tail. */
static bp_status build_model(const ofile *f, bp_model **out, bp_extra **extra)
{
    bp_model_config c;
    bp_model *m = NULL;
    bp_real *norm = NULL; /* shift, scale (inputs) each */
    bp__mf_tail tail = {.path = f->path, .container = "ONNX metadata"};
    bp__mf_entry *entries = NULL;
    bp_status st = read_config(f, &c);
    if (!st && (st = bp_model_create(&m, &c))) {
        char why[512];
        snprintf(why, sizeof why, "%s", bp_last_error());
        st = bp__fail(BP_ERR_FORMAT, "%s: ONNX: the graph is not a model backprop can build: %s",
                      f->path, why);
    }
    for (int l = 0; !st && l < c.n_layers; l++) {
        const olayer *L = &f->layers[l];
        float_values(L->w, bp_model_weight(m, l), L->w_in_out);
        if (L->b) float_values(L->b, bp_model_bias(m, l), false);
    }
    if (!st && (f->shift || f->scale)) {
        size_t in = (size_t)c.sizes[0];
        norm = bp__calloc(2 * in, sizeof *norm);
        st = norm ? BP_OK : BP_ERR_NOMEM;
        for (size_t i = 0; norm && i < in; i++) norm[in + i] = 1;
        if (norm && f->shift) float_values(f->shift, norm, false);
        if (norm && f->scale) float_values(f->scale, norm + in, false);
        tail.shift = norm, tail.scale = norm ? norm + in : NULL;
    }
    if (!st) st = collect_entries(f, &entries, &tail.n);
    tail.entry = entries;
    if (!st) st = bp__mf_read_tail(m, &tail, extra);
    free(norm);
    free(entries);
    if (st) bp_model_free(m);
    else *out = m;
    return st;
}

bp_status bp__onnx_parse(const uint8_t *bytes, size_t len, const char *path, bp_model **out,
                         bp_extra **extra_out)
{
    *out = NULL;
    if (extra_out) *extra_out = NULL;
    ofile f;
    memset(&f, 0, sizeof f);
    f.path = path;
    f.model = bp__pb_of(bytes, len);
    bp_status st = parse_model(&f);
    if (!st) st = parse_graph(&f);
    if (!st) st = parse_io(&f);
    if (!st) st = read_chain(&f);
    if (!st) st = build_model(&f, out, extra_out);
    free(f.nodes);
    free(f.t);
    return st;
}
