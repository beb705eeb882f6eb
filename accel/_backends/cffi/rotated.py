"""C backend through cffi: the rotated NMS kernels of ``csrc/rotated.c``.

A port of the pure-Python reference (same candidate order, same float64 IoU operations in
the same order, same greedy decisions), so polygon results are identical, and probiou
results too as long as C and Python call the same libm; see the comments of
csrc/rotated.c for what it does differently for speed (a conservative grid over the
boxes' circles; for fast NMS, bounds that rule pairs out). The GIL is released during
the C call. The arrays are checked here, so the C code can trust their sizes:
``geometry`` float64 C-contiguous (N, 12) for polygon or (N, 6) for probiou, ``scores``
float64 (N,), ``classes`` int64 (N,).
"""
import numpy as np

from ._shared import ffi, lib, out_of_memory, require

COLUMNS = (12, 6)  # per kind: 0 polygon, 1 probiou


def _contiguous(array, dtype, ndim):
    return (isinstance(array, np.ndarray) and array.dtype == dtype and array.ndim == ndim
            and array.flags.c_contiguous and array.dtype.isnative)


def _greedy(geometry, scores, classes, kind, iou_threshold, score_threshold, max_output):
    kind = int(kind)
    require(kind in (0, 1))
    require(_contiguous(geometry, np.float64, 2) and _contiguous(scores, np.float64, 1))
    n = scores.shape[0]
    require(geometry.shape == (n, COLUMNS[kind]))
    if classes is not None:
        require(_contiguous(classes, np.int64, 1) and classes.shape[0] == n)
    keep = np.empty(n, dtype=np.int64)
    count = lib.accel_nms_rotated(
        ffi.from_buffer("double[]", geometry),
        ffi.from_buffer("double[]", scores),
        ffi.NULL if classes is None else ffi.from_buffer("int64_t[]", classes),
        n,
        kind,
        float(iou_threshold),
        float(score_threshold),
        int(max_output),
        ffi.from_buffer("int64_t[]", keep, require_writable=True),
    )
    if count < 0:
        require(count != -2)
        raise out_of_memory()
    return keep if count == n else keep[:count].copy()


def nms_rotated(geometry, scores, kind, iou_threshold, score_threshold, max_output):
    return _greedy(geometry, scores, None, kind, iou_threshold, score_threshold, max_output)


def batched_nms_rotated(geometry, scores, classes, kind, iou_threshold, score_threshold,
                        max_output):
    return _greedy(geometry, scores, classes, kind, iou_threshold, score_threshold,
                   max_output)


def fast_nms_rotated(geometry, scores, iou_threshold, score_threshold, max_output):
    require(_contiguous(geometry, np.float64, 2) and _contiguous(scores, np.float64, 1))
    n = scores.shape[0]
    require(geometry.shape == (n, COLUMNS[1]))
    keep = np.empty(n, dtype=np.int64)
    count = lib.accel_fast_nms_rotated(
        ffi.from_buffer("double[]", geometry),
        ffi.from_buffer("double[]", scores),
        n,
        float(iou_threshold),
        float(score_threshold),
        int(max_output),
        ffi.from_buffer("int64_t[]", keep, require_writable=True),
    )
    if count < 0:
        raise out_of_memory()
    return keep if count == n else keep[:count].copy()
