"""Pure-Python decoding kernels: the readable reference of the class scan and the box
un-letterboxing (boundary and contracts in ``accel._decode_common``).

The scan reads the data by index (``_shared.elements``: an ``array.array`` copy of its
bytes under CPython, a cffi view of its memory under PyPy, never ``ndarray.tolist()``,
which goes through cpyext under PyPy), class by class in plain index loops, which
PyPy's JIT compiles to machine loops. Results go back through ``array.array`` and
``np.frombuffer``.

float32 products are computed as Python floats (exact: a product of two float32 values
has at most 48 significant bits) and rounded to float32 once by ``array('f')``, so they
equal the float32 multiplication of the compiled backends.

With ``check_finite`` the scan stops at the first anchor holding a NaN or infinity among
the values it reads (the objectness, then the class scores when the objectness passes).

int8 and uint8 data (quantized outputs) are scanned the same way, as Python ints against
an integer cut-off: the largest code and the first class holding it, kept when it is
``> threshold``. Codes have no objectness products and no NaN.
"""
from array import array
from math import isfinite

import numpy as np

from .._detect import detect_by_parts
from ._shared import elements, ndarray, plain_ints, values as _values


def _rounded(values, dtype):
    return array("f", values) if dtype == np.float32 else values


def _scores_finite(values, first, nc, stride):
    """Whether the ``nc`` scores ``values[first + c * stride]`` are all finite: a float64
    sum of Python floats is NaN or infinite when a term is; one that overflowed (float64
    data only) takes the exact test."""
    total = 0.0
    for c in range(nc):
        total += values[first + c * stride]
    if isfinite(total):
        return True
    for c in range(nc):
        if not isfinite(values[first + c * stride]):
            return False
    return True


def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                threshold, multi_label, check_finite):
    integer = data.dtype.kind in "iu"
    if integer and obj_offset >= 0:
        raise ValueError("decode_scan: integer data takes no objectness (obj_offset=-1)")
    check_finite = check_finite and not integer  # codes are always finite
    values = elements(data)  # read by index: no row slices (PyPy's JIT runs index loops)
    n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset = plain_ints(
        (n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset))
    anchors, classes, scores = [], [], []
    first_bad = -1
    for anchor in range(n_anchors):
        base = anchor * anchor_stride
        first = base + cls_offset * channel_stride  # the score of class 0
        if obj_offset >= 0:
            objectness = values[base + obj_offset * channel_stride]
            if check_finite and not isfinite(objectness):
                first_bad = anchor
                break
            if not objectness > threshold:
                continue  # its class scores are not read, so not tested
            if check_finite and not _scores_finite(values, first, nc, channel_stride):
                first_bad = anchor
                break
            row = _rounded([values[first + c * channel_stride] * objectness
                            for c in range(nc)], data.dtype)
        elif multi_label:
            if check_finite and not _scores_finite(values, first, nc, channel_stride):
                first_bad = anchor
                break
            row = [values[first + c * channel_stride] for c in range(nc)]
        else:  # the common case, in one pass: the best class and the finiteness sum
            best = total = values[first]
            best_at = first
            for at in range(first + channel_stride, first + nc * channel_stride,
                            channel_stride):
                score = values[at]
                total += score
                if score > best:  # strict: the first of equal maxima
                    best = score
                    best_at = at
            if check_finite and not (isfinite(total) or
                                     _scores_finite(values, first, nc, channel_stride)):
                first_bad = anchor
                break
            if best > threshold:
                anchors.append(anchor)
                classes.append((best_at - first) // channel_stride)
                scores.append(best)
            continue
        if multi_label:
            for class_id in range(nc):
                if row[class_id] > threshold:
                    anchors.append(anchor)
                    classes.append(class_id)
                    scores.append(row[class_id])
        else:
            best = max(row)  # the first of equal maxima, as row.index() finds it
            if best > threshold:
                anchors.append(anchor)
                classes.append(row.index(best))
                scores.append(best)
    if first_bad >= 0:  # the rows are unspecified: none are returned
        anchors, classes, scores = [], [], []
    return (ndarray(anchors, np.int64), ndarray(classes, np.int64),
            ndarray(scores, data.dtype), first_bad)


def _unletterboxed(value, pad, gain, clip, limit):
    value = (value - pad) / gain
    if clip:
        if value < 0.0:
            value = 0.0
        elif value > limit:
            value = limit
    return value


def decode_boxes(data, anchors, anchor_stride, channel_stride):
    values = elements(data)
    anchor_stride, channel_stride = plain_ints((anchor_stride, channel_stride))
    corners = []
    for anchor in _values(anchors):
        at = anchor * anchor_stride
        cx, cy = values[at], values[at + channel_stride]
        half_w, half_h = values[at + 2 * channel_stride] / 2, values[at + 3 * channel_stride] / 2
        corners += (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    # computed in float64 and rounded once by array('f'): the float32 result (a float64
    # sum of two float32 values rounds to the same float32 as a float32 sum does)
    return ndarray(corners, data.dtype).reshape(-1, 4)


def scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height):
    values = _values(boxes)  # x1, y1, x2, y2 of box 0, then of box 1, ...
    scaled = []
    for j in range(0, len(values), 4):
        scaled += (_unletterboxed(values[j], pad_x, gain_x, clip, width),
                   _unletterboxed(values[j + 1], pad_y, gain_y, clip, height),
                   _unletterboxed(values[j + 2], pad_x, gain_x, clip, width),
                   _unletterboxed(values[j + 3], pad_y, gain_y, clip, height))
    # array('f') rounds each float64 result to float32, as the conversion of an ndarray does
    return ndarray(scaled, boxes.dtype).reshape(-1, 4)


def decode_detect(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                  threshold, multi_label, check_finite):
    """``decode_scan``, then ``decode_boxes`` of the anchors it kept (not fused here)."""
    return detect_by_parts(decode_scan, decode_boxes, data, n_anchors, anchor_stride,
                           channel_stride, cls_offset, nc, obj_offset, threshold, multi_label,
                           check_finite)
