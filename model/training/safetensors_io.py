"""Reads and writes safetensors files (the container of model/SPEC.md section 6) without the
`safetensors` package, which this environment cannot install.

Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data section. Each
header entry is `name -> {"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the
data section); `__metadata__` maps strings to strings. Supported dtypes: F32, F16, I8, U8.

The writer starts every tensor at a 4-byte aligned offset (zero bytes between tensors) and pads the
JSON with spaces so the data section itself starts 8-byte aligned. The reader checks every rule SPEC
section 6 lists for the container and raises `SafetensorsError` naming the tensor or key.
"""
import json
import struct

import numpy as np
import torch

MAX_HEADER_BYTES = 100 * 1000 * 1000

# dtype name -> (torch dtype, bytes per element, little-endian numpy dtype)
DTYPES = {
    "F32": (torch.float32, 4, np.dtype("<f4")),
    "F16": (torch.float16, 2, np.dtype("<f2")),
    "I8": (torch.int8, 1, np.dtype("i1")),
    "U8": (torch.uint8, 1, np.dtype("u1")),
}
_BY_TORCH = {v[0]: k for k, v in DTYPES.items()}


class SafetensorsError(ValueError):
    pass


def save_file(tensors, path, metadata=None):
    """Writes `tensors` (name -> torch.Tensor, in the dict's order) and `metadata` (str -> str)."""
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise SafetensorsError(f"[safetensors] metadata '{key}' must map a string to a string")
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, tensor in tensors.items():
        if name == "__metadata__":
            raise SafetensorsError("[safetensors] '__metadata__' is not a tensor name")
        if tensor.dtype not in _BY_TORCH:
            raise SafetensorsError(f"[safetensors] tensor '{name}': unsupported dtype {tensor.dtype}")
        dtype = _BY_TORCH[tensor.dtype]
        data = tensor.detach().cpu().contiguous().numpy().astype(DTYPES[dtype][2], copy=False).tobytes()
        pad = (-offset) % 4
        if pad:
            blobs.append(b"\0" * pad)
            offset += pad
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((-(8 + len(raw))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def parse_header(buf, size=None):
    """Validates the header of a file whose first bytes are `buf`.

    Returns (entries: name -> (dtype, shape, begin, end), metadata, data_start). `size` is the file
    size (defaults to len(buf)).
    """
    size = len(buf) if size is None else size
    if size < 8:
        raise SafetensorsError(f"[safetensors] file of {size} bytes has no header length")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER_BYTES:
        raise SafetensorsError(f"[safetensors] header length {n} exceeds {MAX_HEADER_BYTES} bytes")
    if 8 + n > size:
        raise SafetensorsError(f"[safetensors] header length {n} runs past the end of the {size}-byte file")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorsError(f"[safetensors] header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("[safetensors] header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError("[safetensors] __metadata__ must be an object of string values")
    data_size = size - 8 - n
    entries = {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"[safetensors] tensor '{name}': entry needs exactly dtype, shape, data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise SafetensorsError(f"[safetensors] tensor '{name}': unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise SafetensorsError(f"[safetensors] tensor '{name}': bad shape {shape!r}")
        if not isinstance(offsets, list) or len(offsets) != 2 or \
                not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets):
            raise SafetensorsError(f"[safetensors] tensor '{name}': bad data_offsets {offsets!r}")
        begin, end = offsets
        if end < begin:
            raise SafetensorsError(f"[safetensors] tensor '{name}': data_offsets end {end} < begin {begin}")
        if end > data_size:
            raise SafetensorsError(f"[safetensors] tensor '{name}': data ends at {end}, past the "
                                   f"{data_size}-byte data section")
        expected = int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype][1]
        if end - begin != expected:
            raise SafetensorsError(f"[safetensors] tensor '{name}': {end - begin} bytes for shape {shape} "
                                   f"{dtype} (expected {expected})")
        entries[name] = (dtype, shape, begin, end)
    spans = sorted((b, e, name) for name, (_, _, b, e) in entries.items() if e > b)
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise SafetensorsError(f"[safetensors] tensors '{n0}' and '{n1}' overlap")
    return entries, metadata, 8 + n


def load_file(path):
    """Reads a whole file: returns (name -> torch.Tensor (a copy, in file order), metadata dict)."""
    with open(path, "rb") as f:
        buf = f.read()
    entries, metadata, start = parse_header(buf)
    tensors = {}
    for name, (dtype, shape, begin, end) in entries.items():
        torch_dtype, _, np_dtype = DTYPES[dtype]
        array = np.frombuffer(buf, dtype=np_dtype, count=(end - begin) // np_dtype.itemsize, offset=start + begin)
        tensors[name] = torch.from_numpy(array.astype(np_dtype.newbyteorder("="), copy=True)).reshape(shape)
        assert tensors[name].dtype == torch_dtype, "numpy/torch dtype table out of sync"
    return tensors, metadata
