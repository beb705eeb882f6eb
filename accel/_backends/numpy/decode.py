"""NumPy decoding kernels (boundary and contracts in ``accel._decode_common``).

The class scores are viewed in place as an (anchors, nc) array through the boundary's
strides; the full reduction is a ``max`` (the cheap pass), and the first ``argmax`` and
the products with objectness are computed on the candidate rows only.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def _channels(data, n_anchors, anchor_stride, channel_stride, offset, count):
    """Channels ``offset .. offset + count - 1`` of every anchor, as an (A, count) view."""
    item = data.itemsize
    if n_anchors == 0:
        return np.zeros((0, count), dtype=data.dtype)
    return as_strided(data[offset * channel_stride:], shape=(n_anchors, count),
                      strides=(anchor_stride * item, channel_stride * item), writeable=False)


def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                threshold, multi_label):
    scores = _channels(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc)
    if obj_offset >= 0:
        objectness = _channels(data, n_anchors, anchor_stride, channel_stride, obj_offset, 1)[:, 0]
        candidates = np.flatnonzero(objectness > threshold)
        # float32 * float32 stays float32: the reference's rounded product.
        rows = scores[candidates] * objectness[candidates, None]
    else:
        candidates = np.flatnonzero(scores.max(axis=1) > threshold)
        rows = scores[candidates]
    if multi_label:
        row_index, classes = np.nonzero(rows > threshold)  # row-major: anchor, then class
        return (candidates[row_index].astype(np.int64), classes.astype(np.int64),
                rows[row_index, classes])
    classes = rows.argmax(axis=1)  # the first of equal maxima
    picked = rows[np.arange(rows.shape[0]), classes]
    kept = picked > threshold
    return (candidates[kept].astype(np.int64), classes[kept].astype(np.int64), picked[kept])


def _unletterboxed(values, pad, gain, clip, limit):
    values -= pad
    values /= gain
    if clip:
        values[values < 0.0] = 0.0
        values[values > limit] = limit


def scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height):
    out = boxes.astype(np.float64)
    xs, ys = out[:, 0::2], out[:, 1::2]
    _unletterboxed(xs, pad_x, gain_x, clip, width)
    _unletterboxed(ys, pad_y, gain_y, clip, height)
    return out.astype(boxes.dtype)
