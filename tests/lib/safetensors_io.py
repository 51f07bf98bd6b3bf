"""Writes a backprop model file from Python (docs/FORMAT.md): a safetensors file
with no padding and backprop's crc32 checksum of the data section in its
metadata. Shared by the Python tests that hand models to the C side."""
import json
import struct
import zlib

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8"}


def write_model_file(path, meta, tensors, dtype):
    """meta: the string metadata (without checksum); tensors: name -> array,
    written in order; dtype: "F32" or "F64"."""
    parts, header, offset = [], {}, 0
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr, dtype=DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        parts.append(raw)
        offset += len(raw)
    data = b"".join(parts)
    header = {"__metadata__": dict(meta, checksum="crc32:%08x" % zlib.crc32(data)), **header}
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
