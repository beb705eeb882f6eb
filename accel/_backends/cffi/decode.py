"""C backend of the decoding kernels (``csrc/decode.c``) through cffi.

Same boundary as every backend (see ``accel._backends``): the public layer hands over
validated, C-contiguous arrays; these wrappers pick the float32 or float64 kernel, pass
pointers and sizes, and own the output buffers. The C code makes the reference's
decisions with the reference's arithmetic, so the results are bit-identical. Works on
CPython and PyPy; the GIL is released during each C call. ``ffi.from_buffer`` accepts the
read-only inputs without copying. int8 and uint8 data (codes) go to the integer kernels,
which take no objectness, no ``check_finite`` and report no ``first_bad``.
"""
import threading

import numpy as np

from .._detect import detect_by_parts
from ._shared import ffi, lib, require

_SCAN = {
    np.dtype(np.float32): (lib.accel_decode_scan_f32, "float[]"),
    np.dtype(np.float64): (lib.accel_decode_scan_f64, "double[]"),
}
_CODES = {
    np.dtype(np.int8): (lib.accel_decode_scan_i8, "int8_t[]"),
    np.dtype(np.uint8): (lib.accel_decode_scan_u8, "uint8_t[]"),
}
_BOXES = {
    np.dtype(np.float32): (lib.accel_decode_boxes_f32, "float[]"),
    np.dtype(np.float64): (lib.accel_decode_boxes_f64, "double[]"),
}
_DETECT = {
    np.dtype(np.float32): (lib.accel_decode_detect_f32, "float[]"),
    np.dtype(np.float64): (lib.accel_decode_detect_f64, "double[]"),
}
_SCALE = {
    np.dtype(np.float32): (lib.accel_scale_boxes_f32, "float[]"),
    np.dtype(np.float64): (lib.accel_scale_boxes_f64, "double[]"),
}


def _kernel(table, array):
    try:
        return table[array.dtype]
    except KeyError:
        raise ValueError("accel cffi backend: float32 or float64 data expected, got %s"
                         % (array.dtype,)) from None



def _layout(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
            last_channel):
    """The layout as Python ints, checked in exact integer arithmetic: the largest index
    a kernel reads (the classes, the objectness, and channels up to ``last_channel``)
    lies inside ``data``."""
    n_anchors, nc = int(n_anchors), int(nc)
    anchor_stride, channel_stride = int(anchor_stride), int(channel_stride)
    cls_offset, obj_offset = int(cls_offset), int(obj_offset)
    require(data.ndim == 1 and n_anchors >= 0 and nc >= 1 and cls_offset >= 0
            and anchor_stride >= 0 and channel_stride >= 0
            and (n_anchors == 0 or (n_anchors - 1) * anchor_stride
                 + max(cls_offset + nc - 1, obj_offset, last_channel) * channel_stride
                 < data.shape[0]))
    return n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset


def _scan(scan, ctype, source, args, first_anchor, indices, scores, first_row, bad):
    """Scan anchors first_anchor.. into rows first_row.. of the output: anchors in
    indices[:capacity], classes in indices[capacity:], scores in scores, where capacity
    is len(scores); bad[0] receives the first anchor (from first_anchor) with a
    non-finite value read, or -1 (``bad`` is None for the integer kernels, which take no
    such pointer). Returns the number of rows from first_anchor on, which may exceed the
    room."""
    capacity = scores.shape[0]
    n_anchors, anchor_stride = args[0], args[1]
    # Our own fresh arrays: require_writable would only repeat a check (~0.3 us each).
    index_pointer = ffi.from_buffer("int64_t[]", indices)
    outputs = (capacity - first_row, index_pointer + first_row,
               index_pointer + capacity + first_row, ffi.from_buffer(ctype, scores) + first_row)
    return scan(source + first_anchor * anchor_stride, n_anchors - first_anchor, *args[1:],
                *(outputs if bad is None else outputs + (bad,)))


def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                threshold, multi_label, check_finite):
    integer = data.dtype in _CODES
    scan, ctype = _kernel(_CODES if integer else _SCAN, data)
    n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset = _layout(
        data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset, -1)
    if integer and obj_offset >= 0:
        raise ValueError("decode_scan: integer data takes no objectness (obj_offset=-1)")
    if integer:
        # int64_t in C: a cut-off outside the codes' range stays what it is.
        args = (n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                max(-2 ** 63, min(int(threshold), 2 ** 63 - 1)), 1 if multi_label else 0)
    else:
        args = (n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                float(threshold), 1 if multi_label else 0, 1 if check_finite else 0)
    source = ffi.from_buffer(ctype, data)
    # Single-label needs at most n_anchors rows. Anchors and classes share one buffer: one
    # allocation and one from_buffer less on a call of well under 100 us.
    capacity = n_anchors
    indices = np.empty(2 * capacity, dtype=np.int64)
    scores = np.empty(capacity, dtype=data.dtype)
    bad = None if integer else ffi.new("int64_t *")
    count = _scan(scan, ctype, source, args, 0, indices, scores, 0, bad)
    if bad is not None and bad[0] >= 0:  # the rows are unspecified: the public layer raises
        return indices[:0].copy(), indices[:0].copy(), scores[:0].copy(), int(bad[0])
    if count > capacity:
        # Multi-label ran out of room. The rows written are right, but the last anchor's
        # may be cut short: keep the rows before that anchor, and scan again from it only
        # (not from anchor 0), with room for all the rows the kernel counted.
        last = int(indices[capacity - 1])
        done = int(np.searchsorted(indices[:capacity], last))
        grown = np.empty(2 * count, dtype=np.int64)
        grown_scores = np.empty(count, dtype=data.dtype)
        grown[:done] = indices[:done]
        grown[count:count + done] = indices[capacity:capacity + done]
        grown_scores[:done] = scores[:done]
        indices, scores, capacity = grown, grown_scores, count
        # The first call tested every value already (bad[0] is -1).
        if _scan(scan, ctype, source, args, last, indices, scores, done, bad) != count - done:
            raise RuntimeError("accel cffi backend: decode_scan is not deterministic")
        indices[done:count] += last
    return (indices[:count].copy(), indices[capacity:capacity + count].copy(),
            scores if count == capacity else scores[:count].copy(), -1)


class _Rows:
    """One thread's output rows for decode_detect, kept from call to call: at the frame
    rate, three fresh capacity-sized arrays, their pointers and the flags cost about as
    much as the boxes themselves. The rows are copied out, so the buffers never leave."""

    __slots__ = ("capacity", "dtype", "indices", "scores", "boxes", "pointers")

    def __init__(self, capacity, dtype, ctype):
        self.capacity, self.dtype = capacity, dtype
        self.indices = np.empty(2 * capacity, dtype=np.int64)  # anchors, then classes
        self.scores = np.empty(capacity, dtype=dtype)
        self.boxes = np.empty((capacity, 4), dtype=dtype)
        index_pointer = ffi.from_buffer("int64_t[]", self.indices)
        flags = ffi.new("int64_t[2]")  # first_bad, box_bad
        self.pointers = (capacity, index_pointer, index_pointer + capacity,
                         ffi.from_buffer(ctype, self.scores), ffi.from_buffer(ctype, self.boxes),
                         flags, flags + 1)


_thread_rows = threading.local()


def _rows(capacity, dtype, ctype):
    rows = getattr(_thread_rows, "rows", None)
    if rows is None or rows.capacity < capacity or rows.dtype != dtype:
        rows = _thread_rows.rows = _Rows(max(capacity, 1), dtype, ctype)
    return rows


def decode_detect(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                  threshold, multi_label, check_finite):
    detect, ctype = _kernel(_DETECT, data)
    # The box channels 0..3 of every anchor are read too.
    n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset = _layout(
        data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset, 3)
    # Room for single-label's every anchor; multi-label beyond that takes the two calls.
    rows = _rows(n_anchors, data.dtype, ctype)
    pointers = rows.pointers
    count = detect(ffi.from_buffer(ctype, data), n_anchors, anchor_stride, channel_stride,
                   cls_offset, nc, obj_offset, float(threshold), 1 if multi_label else 0,
                   1 if check_finite else 0, *pointers)
    first_bad, capacity = pointers[5][0], rows.capacity
    if first_bad >= 0:
        empty = rows.indices[:0].copy()
        return (empty, empty.copy(), rows.scores[:0].copy(), rows.boxes[:0].copy(),
                int(first_bad), -1)
    if count > capacity:  # multi-label with more rows than anchors: rare, in two calls
        return detect_by_parts(decode_scan, decode_boxes, data, n_anchors, anchor_stride,
                               channel_stride, cls_offset, nc, obj_offset, threshold,
                               multi_label, check_finite)
    indices = rows.indices
    return (indices[:count].copy(), indices[capacity:capacity + count].copy(),
            rows.scores[:count].copy(), rows.boxes[:count].copy(), -1, int(pointers[5][1]))


def decode_boxes(data, anchors, anchor_stride, channel_stride):
    boxes, ctype = _kernel(_BOXES, data)
    count = anchors.shape[0]
    out = np.empty((count, 4), dtype=data.dtype)
    if count:
        boxes(ffi.from_buffer(ctype, data), ffi.from_buffer("int64_t[]", anchors), count,
              int(anchor_stride), int(channel_stride), ffi.from_buffer(ctype, out))
    return out


def scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height):
    scale, ctype = _kernel(_SCALE, boxes)
    require(boxes.ndim == 2 and boxes.shape[1] == 4 and boxes.flags.c_contiguous)
    out = np.empty(boxes.shape, dtype=boxes.dtype)
    scale(ffi.from_buffer(ctype, boxes), boxes.shape[0], float(gain_x), float(gain_y),
          float(pad_x), float(pad_y), 1 if clip else 0, float(width), float(height),
          ffi.from_buffer(ctype, out))
    return out
