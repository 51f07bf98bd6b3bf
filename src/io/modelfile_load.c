/* modelfile_load.c - the one way a model file comes in: bp_model_load and
 * bp_checkpoint_load read the file once, whole, pick its format by its first
 * bytes and hand the bytes to that format's reader (modelfile_read.c for
 * safetensors, onnx_read.c for ONNX). Both readers then give the model what
 * it carries besides its layers through bp__mf_read_tail (modelfile_tail.c). */
#include "modelfile.h"
#include "onnx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The whole regular file at path into a new *buf (*len bytes). */
static bp_status read_whole(const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL, *len = 0;
    if (!path) return bp__fail(BP_ERR_INVALID, "load: path is NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp) return bp__fail(BP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat s;
    bp_status st = BP_OK;
    if (fstat(fileno(fp), &s) != 0)
        st = bp__fail(BP_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(s.st_mode))
        st = bp__fail(BP_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)s.st_size > SIZE_MAX)
        st = bp__fail(BP_ERR_NOMEM, "%s: %jd bytes do not fit in memory", path, (intmax_t)s.st_size);
    else if (!(*buf = bp__calloc((size_t)s.st_size, 1)))
        st = BP_ERR_NOMEM;
    if (!st) {
        *len = (size_t)s.st_size;
        if (fread(*buf, 1, *len, fp) != *len)
            st = bp__fail(BP_ERR_IO, "%s: read failed: %s", path,
                          ferror(fp) ? strerror(errno) : "the file shrank while being read");
    }
    fclose(fp);
    if (st) free(*buf), *buf = NULL, *len = 0;
    return st;
}

/* Whether the first bytes are an ONNX ModelProto rather than safetensors. */
static bool is_onnx(const uint8_t *b, size_t n)
{
    /* safetensors: an 8-byte little-endian header length, under 4 GiB (the
     * format's limit is 100 MB), so bytes 4-7 are zero; in a ModelProto they
     * are tags or text (a tag is never 0) */
    if (n >= 8 && !b[4] && !b[5] && !b[6] && !b[7]) return false;
    /* ONNX: a ModelProto, whose first byte is the tag of one of its fields */
    bp__pb r = bp__pb_of(b, n < 5 ? n : 5);
    uint32_t field;
    int wire;
    if (!bp__pb_tag(&r, &field, &wire)) return false;
    bool varint = field == ONNX_MODEL_IR_VERSION || field == 5; /* model_version */
    bool len = (field >= 2 && field <= 8 && field != 5) || field == ONNX_MODEL_META ||
               field == 20 || field == 25;
    return (varint && wire == BP__PB_VARINT) || (len && wire == BP__PB_LEN);
}

/* A file that is neither format: say so, and what it looks like, instead of
 * the header length its first bytes would make. NULL for a model file. */
static bp_status not_model(const char *path, const uint8_t *b, size_t n)
{
    if (n >= 8 && !b[4] && !b[5] && !b[6] && !b[7]) return BP_OK; /* safetensors-shaped */
    const char *kind = "binary data";
    size_t text = 0;
    /* printable ASCII, tabs and line ends, and bytes that may be UTF-8 */
    while (text < n && text < 4096 && ((b[text] >= 0x20 && b[text] != 0x7f && b[text] < 0xf5) ||
                                       b[text] == '\n' || b[text] == '\r' || b[text] == '\t'))
        text++;
    if (n == 0) kind = "an empty file";
    else if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) kind = "gzip data";
    else if (text == n || text == 4096)
        kind = memchr(b, ',', text) ? "CSV or other text" : "text";
    char first[BP_TEXT_SHOWN + 16] = "", raw[64], shown[BP_TEXT_SHOWN];
    if (strstr(kind, "text")) { /* its first line, cut */
        size_t k = 0;
        while (k < n && k < sizeof raw - 1 && b[k] != '\n' && b[k] != '\r') k++;
        memcpy(raw, b, k), raw[k] = 0;
        snprintf(first, sizeof first, ", starting \"%s%s\"", bp_text_escape(shown, sizeof shown, raw),
                 k == sizeof raw - 1 ? "..." : "");
    }
    return bp__fail(BP_ERR_FORMAT, "%s: not a model file (safetensors or ONNX): it looks like %s%s",
                    path, kind, first);
}

bp_status bp_model_load(bp_model **out, const char *path, bp_extra **extra_out)
{
    *out = NULL;
    if (extra_out) *extra_out = NULL;
    uint8_t *buf;
    size_t len;
    bp_status st = read_whole(path, &buf, &len);
    if (!st && !is_onnx(buf, len)) st = not_model(path, buf, len);
    if (!st)
        st = is_onnx(buf, len) ? bp__onnx_parse(buf, len, path, out, extra_out)
                               : bp__safetensors_parse(buf, len, path, out, extra_out, NULL, NULL);
    free(buf);
    return st;
}

bp_status bp_checkpoint_load(bp_model **model, bp_optim **opt, const char *path,
                             bp_checkpoint_info *info, bp_extra **extra_out)
{
    if (!model || !opt || !info)
        return bp__fail(BP_ERR_INVALID, "checkpoint load: model, opt and info must not be NULL");
    *model = NULL, *opt = NULL, info->best_params = NULL;
    if (extra_out) *extra_out = NULL;
    uint8_t *buf;
    size_t len;
    bp_status st = read_whole(path, &buf, &len);
    if (!st && is_onnx(buf, len))
        st = bp__fail(BP_ERR_FORMAT, "%s: not a checkpoint (an ONNX file holds no optimizer "
                      "state); a model file loads with bp_model_load", path);
    else if (!st && !(st = not_model(path, buf, len)))
        st = bp__safetensors_parse(buf, len, path, model, extra_out, opt, info);
    free(buf);
    return st;
}
