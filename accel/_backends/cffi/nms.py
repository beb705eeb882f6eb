"""C backend through cffi: the kernels of ``csrc/nms.c``, compiled at install time.

The C code is a port of the pure-Python reference (same candidate order, same float64
IoU arithmetic, same greedy and Soft-NMS decisions), so results are identical; see the
comments of csrc/nms.c for what it does differently for speed. Works on CPython and
PyPy; the GIL is released during each C call. Arrays are passed with ``ffi.from_buffer``, which
accepts the read-only arrays of the backend boundary without copying; ``accel_nms`` takes
float32 or float64 boxes and scores as they come, with a flag each, and checks their
values (it returns -2 on a bad one, and ``nms`` None).
"""
import numpy as np

from ._shared import ffi, lib, out_of_memory


def _doubles(array):
    return ffi.from_buffer("double[]", array)


def _result(count, out):
    if count < 0:
        raise out_of_memory()
    return out if count == out.shape[0] else out[:count].copy()


def _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    n = scores.shape[0]
    keep = np.empty(n, dtype=np.int64)
    count = lib.accel_nms(
        ffi.from_buffer(boxes),  # float32 or float64, told by the flag after it
        boxes.dtype.itemsize == 4,
        ffi.from_buffer(scores),
        scores.dtype.itemsize == 4,
        ffi.NULL if classes is None else ffi.from_buffer("int64_t[]", classes),
        n,
        float(iou_threshold),
        float(score_threshold),
        int(max_output),
        ffi.from_buffer("int64_t[]", keep),  # fresh and writable: no need to check (300 ns)
    )
    if count == -2:
        return None  # a bad value: the boundary's answer
    return _result(count, keep)


def nms(boxes, scores, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, None, iou_threshold, score_threshold, max_output)


def batched_nms(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output)


def soft_nms(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output):
    n = scores.shape[0]
    keep = np.empty(n, dtype=np.int64)
    kept_scores = np.empty(n, dtype=np.float64)
    count = lib.accel_soft_nms(
        _doubles(boxes),
        _doubles(scores),
        n,
        1 if gaussian else 0,
        float(sigma),
        float(iou_threshold),
        float(score_threshold),
        int(max_output),
        ffi.from_buffer("int64_t[]", keep, require_writable=True),
        ffi.from_buffer("double[]", kept_scores, require_writable=True),
    )
    if count < 0:
        raise out_of_memory()
    return _result(count, keep), _result(count, kept_scores)
