"""NumPy preprocessing: the resize as two vectorised passes over the rows it needs.

Same integer and float32 arithmetic as the reference (see ``accel._preprocess``), so the
results are bit-identical; NumPy needs whole-array temporaries, so ``preprocess`` here
is not a single pass.
"""
import numpy as np


def _resize(src, xcols, xw, yrows, yw):
    """The resized image, uint8 (new_h, new_w, C)."""
    needed, position = np.unique(yrows, return_inverse=True)
    position = position.reshape(yrows.shape)
    rows = src[needed]  # gather in uint8 first: a quarter of the memory traffic
    horizontal = (np.take(rows, xcols[:, 0], axis=1).astype(np.int32) * xw[:, 0, None]
                  + np.take(rows, xcols[:, 1], axis=1).astype(np.int32) * xw[:, 1, None])
    horizontal >>= 4
    top = (yw[:, 0, None, None] * np.take(horizontal, position[:, 0], axis=0)) >> 16
    bottom = (yw[:, 1, None, None] * np.take(horizontal, position[:, 1], axis=0)) >> 16
    return ((top + bottom + 2) >> 2).astype(np.uint8)


def letterbox(src, out, xcols, xw, yrows, yw, top, left, pad):
    out[...] = pad
    out[top:top + yrows.shape[0], left:left + xcols.shape[0]] = _resize(src, xcols, xw, yrows, yw)


def _convert(pixels, out, channel_map, mean, scale, table, layout):
    """Pixels (h, w, C) into ``out``, (C, h, w) or (h, w, C) as ``layout`` says."""
    for c, source in enumerate(channel_map):
        target = out[c] if layout == "nchw" else out[..., c]
        if table is None:
            np.multiply(pixels[..., source].astype(np.float32) - mean[c], scale[c], out=target)
        else:
            target[...] = table[c][pixels[..., source]]


def to_tensor(src, out, channel_map, mean, scale, table, layout):
    _convert(src, out, channel_map, mean, scale, table, layout)


def preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale, table,
               layout):
    pixel = pad[channel_map]
    if table is None:
        pad_values = (pixel.astype(np.float32) - mean) * scale
    else:
        pad_values = table[np.arange(len(channel_map)), pixel]
    rows = slice(top, top + yrows.shape[0])
    columns = slice(left, left + xcols.shape[0])
    if layout == "nchw":
        out[...] = pad_values[:, None, None]
        region = out[:, rows, columns]
    else:
        out[...] = pad_values
        region = out[rows, columns]
    _convert(_resize(src, xcols, xw, yrows, yw), region, channel_map, mean, scale, table, layout)
