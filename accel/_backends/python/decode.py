"""Pure-Python decoding kernels: the readable reference of the class scan and the box
un-letterboxing (boundary and contracts in ``accel._decode``).

The data is read through ``array.array`` (one copy of its bytes), which is much faster
than ``ndarray.tolist()``, most of all under PyPy, where that goes through cpyext; its
elements are Python floats like a list's.

float32 products are computed as Python floats (exact: a product of two float32 values
has at most 48 significant bits) and rounded to float32 once by ``array('f')``, so they
equal the float32 multiplication of the compiled backends.
"""
from array import array

import numpy as np


def _typecode(dtype):
    return "f" if dtype == np.float32 else "d"


def _values(data):
    """A sequence of Python floats of native-endian float32 or float64 ``data``."""
    return array(_typecode(data.dtype), data.tobytes())


def _rounded(values, dtype):
    return array("f", values) if dtype == np.float32 else values


def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                threshold, multi_label):
    values = _values(data)
    anchors, classes, scores = [], [], []
    for anchor in range(n_anchors):
        base = anchor * anchor_stride
        start = base + cls_offset * channel_stride
        row = values[start:start + nc * channel_stride:channel_stride]
        if obj_offset >= 0:
            objectness = values[base + obj_offset * channel_stride]
            if not objectness > threshold:
                continue
            row = _rounded([score * objectness for score in row], data.dtype)
        if multi_label:
            for class_id, score in enumerate(row):
                if score > threshold:
                    anchors.append(anchor)
                    classes.append(class_id)
                    scores.append(score)
        else:
            best = max(row)  # the first of equal maxima, as row.index() finds it
            if best > threshold:
                anchors.append(anchor)
                classes.append(row.index(best))
                scores.append(best)
    return (np.array(anchors, dtype=np.int64), np.array(classes, dtype=np.int64),
            np.array(scores, dtype=data.dtype))


def _unletterboxed(value, pad, gain, clip, limit):
    value = (value - pad) / gain
    if clip:
        if value < 0.0:
            value = 0.0
        elif value > limit:
            value = limit
    return value


def scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height):
    rows = [
        (_unletterboxed(x1, pad_x, gain_x, clip, width),
         _unletterboxed(y1, pad_y, gain_y, clip, height),
         _unletterboxed(x2, pad_x, gain_x, clip, width),
         _unletterboxed(y2, pad_y, gain_y, clip, height))
        for x1, y1, x2, y2 in boxes.tolist()
    ]
    return np.array(rows, dtype=boxes.dtype).reshape(-1, 4)
