"""Pure-Python preprocessing: the readable reference of the resize and tensor arithmetic.

See ``accel._preprocess`` for the boundary and the formulas. Pixels are handled as
Python ints and float32 values as Python floats rounded to float32 after every
operation (double rounding is harmless here: a double holds more than twice float32's
precision, so each rounded result equals the float32 operation's).

The code is also the backend PyPy runs when no compiled one is there, written for its
JIT as much as for reading. The image is read as ``bytes`` (one copy, through
``memoryview``: ``ndarray.tobytes()`` is 10x slower under PyPy) and the tables as
``array.array``: indexing them gives Python ints directly, where ``ndarray.tolist()``
would go through cpyext under PyPy. The loops are plain index loops over flat rows.
Tensor values are stored in one ``array`` (``'f'`` for float32, ``'B'``/``'H'`` for
the uint8/uint16 bits of a table's entries) in the output's layout, copied into ``out``
once.
"""
import struct
from array import array

import numpy as np

from ._shared import plain_ints, values

_F32 = struct.Struct("f")


def _f32(value: float) -> float:
    return _F32.unpack(_F32.pack(value))[0]


class _Resize:
    """The bilinear resize of ``src``, one output row at a time.

    A row is flat: ``new_w * C`` values, the C channels of column 0, then of column 1...;
    a lane is one (column, channel) of it. Each output row blends the horizontal passes
    of two source rows; consecutive output rows often share one, so the last two are kept.
    """

    def __init__(self, src, xcols, xw, yrows, yw):
        height, width, channels = plain_ints(src.shape)
        self.pixels = memoryview(src).tobytes()
        self.stride = width * channels
        self.new_h, self.new_w = plain_ints((yrows.shape[0], xcols.shape[0]))
        new_w = self.new_w
        self.lanes = new_w * channels
        cols, weights = values(xcols), values(xw)
        # per lane: where its two source pixels are within a source row, and their weights
        self.offset0 = [cols[2 * x] * channels + ch for x in range(new_w) for ch in range(channels)]
        self.offset1 = [cols[2 * x + 1] * channels + ch
                        for x in range(new_w) for ch in range(channels)]
        self.weight0 = [weights[2 * x] for x in range(new_w) for ch in range(channels)]
        self.weight1 = [weights[2 * x + 1] for x in range(new_w) for ch in range(channels)]
        self.rows, self.row_weights = values(yrows), values(yw)
        self.cache = {}

    def _horizontal(self, row):
        """int32 sums S[c0] * a0 + S[c1] * a1 of every lane of source row ``row``."""
        if row not in self.cache:
            if len(self.cache) == 2:
                del self.cache[min(self.cache)]
            pixels, base = self.pixels, row * self.stride
            offset0, offset1 = self.offset0, self.offset1
            weight0, weight1 = self.weight0, self.weight1
            self.cache[row] = [pixels[base + offset0[j]] * weight0[j]
                               + pixels[base + offset1[j]] * weight1[j]
                               for j in range(self.lanes)]
        return self.cache[row]

    def row(self, y):
        """Output row ``y``: its ``new_w * C`` uint8 values."""
        t0 = self._horizontal(self.rows[2 * y])
        t1 = self._horizontal(self.rows[2 * y + 1])
        b0, b1 = self.row_weights[2 * y], self.row_weights[2 * y + 1]
        return [(((b0 * (t0[j] >> 4)) >> 16) + ((b1 * (t1[j] >> 4)) >> 16) + 2) >> 2
                for j in range(self.lanes)]


def letterbox(src, out, xcols, xw, yrows, yw, top, left, pad):
    height, width, channels = plain_ints(out.shape)
    top, left = plain_ints((top, left))
    image = bytearray(memoryview(pad).tobytes() * (height * width))  # the padding pixel
    row_bytes = width * channels
    resize = _Resize(src, xcols, xw, yrows, yw)
    for y in range(resize.new_h):
        start = (top + y) * row_bytes + left * channels
        image[start:start + resize.lanes] = bytes(resize.row(y))
    out[...] = np.frombuffer(image, dtype=np.uint8).reshape(out.shape)


def _channel_tables(mean, scale, table):
    """Per output channel, the output of every possible uint8 pixel; and the typecode of
    the output's ``array``. float32 (``table`` None): the values, computed here as Python
    floats; else the given table's entries (uint8 or uint16 bits) as ints."""
    if table is None:
        return ([[_f32(_f32(px - m) * s) for px in range(256)]
                 for m, s in zip(values(mean), values(scale))], "f")
    code = "B" if table.dtype.itemsize == 1 else "H"
    entries = array(code, memoryview(table).tobytes())
    return [entries[256 * c:256 * (c + 1)] for c in range(len(entries) // 256)], code


def to_tensor(src, out, channel_map, mean, scale, table, layout):
    height, width, channels = plain_ints(src.shape)
    pixels = memoryview(src).tobytes()
    tables, code = _channel_tables(mean, scale, table)
    sources = values(channel_map)
    tensor = array(code, [0]) * (height * width * channels)
    plane = height * width
    for c in range(channels):
        converted = array(code, [tables[c][px] for px in pixels[sources[c]::channels]])
        if layout == "nchw":
            tensor[c * plane:(c + 1) * plane] = converted
        else:
            tensor[c::channels] = converted
    out[...] = np.frombuffer(tensor, dtype=out.dtype).reshape(out.shape)


def preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale, table,
               layout):
    nchw = layout == "nchw"
    channels, height, width = plain_ints(out.shape if nchw else out.shape[2:] + out.shape[:2])
    top, left = plain_ints((top, left))
    tables, code = _channel_tables(mean, scale, table)
    sources = values(channel_map)  # output channel c reads source channel sources[c]
    pad = memoryview(pad).tobytes()
    pad_pixel = array(code, [tables[c][pad[sources[c]]] for c in range(channels)])
    if nchw:  # the planes one after the other, each filled with its padding value first
        tensor = array(code)
        for c in range(channels):
            tensor += pad_pixel[c:c + 1] * (height * width)
    else:
        tensor = pad_pixel * (height * width)
    resize = _Resize(src, xcols, xw, yrows, yw)
    new_w = resize.new_w
    for y in range(resize.new_h):
        row = resize.row(y)
        for c in range(channels):
            converted = array(code, [tables[c][px] for px in row[sources[c]::channels]])
            if nchw:
                start = (c * height + top + y) * width + left
                tensor[start:start + new_w] = converted
            else:
                start = ((top + y) * width + left) * channels + c
                tensor[start:start + new_w * channels:channels] = converted
    out[...] = np.frombuffer(tensor, dtype=out.dtype).reshape(out.shape)
