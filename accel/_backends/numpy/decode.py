"""NumPy decoding kernels (boundary and contracts in ``accel._decode_common``).

The class scores are viewed in place as an (anchors, nc) array through the boundary's
strides; the full reduction is a ``max`` (the cheap pass), and the first ``argmax`` and
the products with objectness are computed on the candidate rows only. ``check_finite``
sums the rows it tests (a sum is not finite when a term is not) and tests exactly only
the rows whose sum is not finite.

int8 and uint8 data (codes) take the path without objectness, compared with the integer
cut-off in their own dtype (``_above``): no widening copy of the class scores.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._detect import detect_by_parts


def _channels(data, n_anchors, anchor_stride, channel_stride, offset, count):
    """Channels ``offset .. offset + count - 1`` of every anchor, as an (A, count) view."""
    item = data.itemsize
    if n_anchors == 0:
        return np.zeros((0, count), dtype=data.dtype)
    return as_strided(data[offset * channel_stride:], shape=(n_anchors, count),
                      strides=(anchor_stride * item, channel_stride * item), writeable=False)


_QUIET = dict(over="ignore", invalid="ignore")  # sums that overflow or meet inf - inf


def _first_non_finite(rows, candidates, totals):
    """The first of ``candidates`` whose row of ``rows`` is not finite, or -1: only the rows
    whose ``totals`` (their sums) are not finite are tested exactly (a sum of finite values
    can overflow)."""
    suspects = np.flatnonzero(~np.isfinite(totals))  # (totals computed under _QUIET)
    if suspects.size:
        bad = suspects[~np.isfinite(rows[suspects]).all(axis=1)]
        if bad.size:
            return int(candidates[bad[0]])
    return -1


def _above(values, threshold):
    """``values > threshold`` for codes and an integer ``threshold`` that may lie outside
    their dtype (lowest - 1 keeps every code): compared in the codes' own dtype, which
    NumPy 2 requires of a Python int (it refuses one out of range)."""
    info = np.iinfo(values.dtype)
    if threshold < info.min:
        return np.ones(values.shape, dtype=bool)
    if threshold >= info.max:
        return np.zeros(values.shape, dtype=bool)
    return values > values.dtype.type(threshold)


def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                threshold, multi_label, check_finite):
    if data.dtype.kind in "iu":
        if obj_offset >= 0:
            raise ValueError("decode_scan: integer data takes no objectness (obj_offset=-1)")
        scores = _channels(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc)
        maxima = scores.max(axis=1)
        candidates = np.flatnonzero(_above(maxima, threshold))
        rows = scores[candidates]
        if multi_label:
            row_index, classes = np.nonzero(_above(rows, threshold))
            return (candidates[row_index].astype(np.int64), classes.astype(np.int64),
                    rows[row_index, classes], -1)
        best = maxima[candidates]
        # The first class equal to the maximum: a boolean argmax, three times as fast as
        # NumPy's argmax of small int8 rows.
        classes = (rows == best[:, None]).argmax(axis=1)
        return candidates.astype(np.int64), classes.astype(np.int64), best, -1
    scores = _channels(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc)
    first_bad = -1
    if obj_offset >= 0:
        objectness = _channels(data, n_anchors, anchor_stride, channel_stride, obj_offset, 1)[:, 0]
        candidates = np.flatnonzero(objectness > threshold)
        raw = scores[candidates]
        if check_finite:
            bad = np.flatnonzero(~np.isfinite(objectness))
            # Only the candidates before the first bad objectness matter.
            first_bad = int(bad[0]) if bad.size else -1
            limit = np.searchsorted(candidates, first_bad) if bad.size else len(candidates)
            with np.errstate(**_QUIET):
                totals = raw[:limit].sum(axis=1)
            found = _first_non_finite(raw[:limit], candidates, totals)
            if found >= 0:
                first_bad = found
        # float32 * float32 stays float32: the reference's rounded product.
        rows = raw * objectness[candidates, None]
    else:
        candidates = np.flatnonzero(scores.max(axis=1) > threshold)
        if check_finite:
            with np.errstate(**_QUIET):
                totals = scores.sum(axis=1)
            first_bad = _first_non_finite(scores, np.arange(n_anchors), totals)
        rows = scores[candidates]
    if first_bad >= 0:  # the rows are unspecified: none are returned
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, data.dtype), first_bad
    if multi_label:
        row_index, classes = np.nonzero(rows > threshold)  # row-major: anchor, then class
        return (candidates[row_index].astype(np.int64), classes.astype(np.int64),
                rows[row_index, classes], -1)
    classes = rows.argmax(axis=1)  # the first of equal maxima
    picked = rows[np.arange(rows.shape[0]), classes]
    kept = picked > threshold
    return (candidates[kept].astype(np.int64), classes[kept].astype(np.int64), picked[kept], -1)


def _unletterboxed(values, pad, gain, clip, limit):
    values -= pad
    values /= gain
    if clip:
        values[values < 0.0] = 0.0
        values[values > limit] = limit


def decode_boxes(data, anchors, anchor_stride, channel_stride):
    # (4, K): cx, cy, w, h of the anchors (one take of their flat indices); the corners
    # computed row by row in the data's dtype (w / 2 is exact), then one transposing copy
    channels = np.arange(4, dtype=np.int64)[:, None] * channel_stride
    rows = data.take(channels + anchors[None, :] * anchor_stride)
    halves = rows[2:] / 2
    corners = np.empty((4, anchors.shape[0]), dtype=data.dtype)
    # A huge finite box overflows to infinity, as in the compiled backends, and silently:
    # the public layer's check_finite decides what a non-finite corner means.
    with np.errstate(over="ignore", invalid="ignore"):
        np.subtract(rows[:2], halves, out=corners[:2])
        np.add(rows[:2], halves, out=corners[2:])
    return corners.T.copy()


def scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height):
    out = boxes.astype(np.float64)
    xs, ys = out[:, 0::2], out[:, 1::2]
    _unletterboxed(xs, pad_x, gain_x, clip, width)
    _unletterboxed(ys, pad_y, gain_y, clip, height)
    return out.astype(boxes.dtype)


def decode_detect(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                  threshold, multi_label, check_finite):
    """``decode_scan``, then ``decode_boxes`` of the anchors it kept (not fused here)."""
    return detect_by_parts(decode_scan, decode_boxes, data, n_anchors, anchor_stride,
                           channel_stride, cls_offset, nc, obj_offset, threshold, multi_label,
                           check_finite)
