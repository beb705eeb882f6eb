"""Pure-Python preprocessing: the readable reference of the resize and tensor arithmetic.

See ``accel._preprocess`` for the boundary and the formulas. Pixels are handled as
Python ints and float32 values as Python floats rounded to float32 after every
operation (double rounding is harmless here: a double holds more than twice float32's
precision, so each rounded result equals the float32 operation's).
"""
import struct
from array import array

import numpy as np

_F32 = struct.Struct("f")


def _f32(value: float) -> float:
    return _F32.unpack(_F32.pack(value))[0]


def _resized_rows(src, xcols, xw, yrows, yw):
    """Yield each resized row as a flat list of new_w * C uint8 values."""
    height, width, channels = src.shape
    data = src.tobytes()
    stride = width * channels
    columns = [(c0 * channels, c1 * channels, a0, a1)
               for (c0, c1), (a0, a1) in zip(xcols.tolist(), xw.tolist())]
    cache = {}

    def horizontal(row):
        # int32 sums S[c0]*a0 + S[c1]*a1 of one source row; the last two rows are kept
        if row not in cache:
            if len(cache) == 2:
                del cache[min(cache)]
            base = row * stride
            cache[row] = [data[base + o0 + ch] * a0 + data[base + o1 + ch] * a1
                          for o0, o1, a0, a1 in columns for ch in range(channels)]
        return cache[row]

    for (r0, r1), (b0, b1) in zip(yrows.tolist(), yw.tolist()):
        t0, t1 = horizontal(r0), horizontal(r1)
        yield [(((b0 * (v0 >> 4)) >> 16) + ((b1 * (v1 >> 4)) >> 16) + 2) >> 2
               for v0, v1 in zip(t0, t1)]


def letterbox(src, out, xcols, xw, yrows, yw, top, left, pad):
    height, width, channels = out.shape
    pad_pixel = bytes(pad.tolist())
    image = bytearray(pad_pixel * (height * width))
    row_bytes = width * channels
    for y, row in enumerate(_resized_rows(src, xcols, xw, yrows, yw)):
        start = (top + y) * row_bytes + left * channels
        image[start:start + len(row)] = bytes(row)
    out[...] = np.frombuffer(bytes(image), dtype=np.uint8).reshape(out.shape)


def _lookup_tables(channel_map, mean, scale):
    """Per output channel: the float32 value of every possible uint8 pixel."""
    return [[_f32(_f32(px - m) * s) for px in range(256)]
            for m, s in zip(mean.tolist(), scale.tolist())]


def to_tensor(src, out, channel_map, mean, scale):
    channels = src.shape[2]
    data = src.tobytes()
    tables = _lookup_tables(channel_map, mean, scale)
    for c, source_channel in enumerate(channel_map.tolist()):
        table = tables[c]
        plane = array("f", [table[px] for px in data[source_channel::channels]])
        out[c] = np.frombuffer(plane.tobytes(), dtype=np.float32).reshape(out.shape[1:])


def preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale):
    channels, height, width = out.shape
    tables = _lookup_tables(channel_map, mean, scale)
    mapping = list(enumerate(channel_map.tolist()))
    pad = pad.tolist()
    planes = [array("f", [tables[c][pad[ch]]]) * (height * width) for c, ch in mapping]
    new_w = xcols.shape[0]
    for y, row in enumerate(_resized_rows(src, xcols, xw, yrows, yw)):
        start = (top + y) * width + left
        for c, ch in mapping:
            table = tables[c]
            planes[c][start:start + new_w] = array("f", [table[px] for px in row[ch::channels]])
    for c in range(channels):
        out[c] = np.frombuffer(planes[c].tobytes(), dtype=np.float32).reshape(height, width)
