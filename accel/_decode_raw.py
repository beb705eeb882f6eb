"""Public decoders of raw heads (decoding left to the host): YOLOv8 DFL and YOLOv5 anchors."""
from __future__ import annotations

from typing import List, Optional, Sequence, TYPE_CHECKING, Tuple

import numpy as np

from . import _validate as check
from ._decode_common import (LAYOUTS, at_or_below, backend_error, corners_of, filter_classes,
                             first_non_finite, logit, non_finite_at, probably_finite, sigmoid)
from ._dispatch import implementation

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike


def _levels(levels, strides, name: str, layout: str):
    """Validated levels as (array (C, H, W) or (H, W, C), C, H, W, stride) tuples; their
    NaN/inf test is done while decoding (``_level_scan``, ``_gather``)."""
    layout = check.choice(layout, "layout", LAYOUTS)
    if isinstance(levels, np.ndarray) or not isinstance(levels, (list, tuple)):
        raise TypeError("%s must be a list with one array per level (stride), got %s"
                        % (name, type(levels).__name__))
    if not levels:
        raise ValueError("%s is empty: give one array per level" % name)
    strides = list(strides) if isinstance(strides, (list, tuple, np.ndarray)) else None
    if strides is None or len(strides) != len(levels):
        raise ValueError("strides must be a list with one stride per level (%d levels)"
                         % len(levels))
    strides = [check.positive(s, "strides[%d]" % i) for i, s in enumerate(strides)]
    parsed: List[Tuple[np.ndarray, int, int, int, float]] = []
    for i, level in enumerate(levels):
        label = "%s[%d]" % (name, i)
        array = check.float_array(level, label)
        if array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 3:
            raise ValueError("%s must have shape (1, C, H, W) for layout='nchw' or "
                             "(1, H, W, C) for 'nhwc', got %s" % (label, np.shape(level)))
        channels, height, width = (array.shape if layout == "nchw"
                                   else (array.shape[2],) + array.shape[:2])
        if parsed and array.dtype != parsed[0][0].dtype:
            raise TypeError("%s has dtype %s but %s[0] has %s"
                            % (label, array.dtype, name, parsed[0][0].dtype))
        parsed.append((array, channels, height, width, strides[i]))
    return parsed


def _non_finite(label, layout, width, cell, first, values):
    """The error naming the first non-finite of ``values`` (channels ``first ..`` of
    ``cell``) by its index in the level, or None when they are all finite."""
    k = first_non_finite(values)
    if k < 0:
        return None
    y, x = divmod(int(cell), width)
    return non_finite_at(label, (first + k, y, x) if layout == "nchw" else (y, x, first + k))


def _level_scan(scan, array, layout, channels, height, width, offset, nc, threshold,
                multi_label, check_finite, label):
    cells = height * width
    anchor_stride, channel_stride = (1, cells) if layout == "nchw" else (channels, 1)
    *found, first_bad = scan(array.reshape(-1), cells, anchor_stride, channel_stride, offset,
                             nc, -1, at_or_below(threshold, array.dtype), multi_label,
                             check_finite)
    if first_bad >= 0:
        raise (_non_finite(label, layout, width, first_bad, offset,
                           _gather(array, layout, channels, offset, nc, [first_bad])[0])
               or backend_error(first_bad))
    return found


def _gather(array, layout, channels, first, count, cells, check_finite=False, label=""):
    """Channels ``first .. first + count - 1`` of the given cells, as float64 (K, count);
    with ``check_finite``, raises on the first cell (in order) holding a non-finite one."""
    if layout == "nchw":
        rows = array.reshape(channels, -1)[first:first + count, cells].T
    else:
        rows = array.reshape(-1, channels)[cells, first:first + count]
    rows = rows.astype(np.float64)
    if check_finite and not probably_finite(rows):
        width = array.shape[2] if layout == "nchw" else array.shape[1]
        for cell, values in zip(cells, rows):
            error = _non_finite(label, layout, width, cell, first, values)
            if error is not None:
                raise error
    return rows


def _concatenate(parts, dtype, mask):
    if not parts:
        return (np.zeros((0, 4), dtype), np.zeros(0, dtype), np.zeros(0, np.int64))
    boxes, scores, class_ids = (np.concatenate(p) for p in zip(*parts))
    return filter_classes(mask, (boxes, scores, class_ids), 2)


def decode_yolov8_raw(levels: Sequence[ArrayLike], strides: Sequence[float],
                      conf_threshold: float = 0.25, *, reg_max: int = 16,
                      layout: str = "nchw", multi_label: bool = False,
                      classes: Optional[ArrayLike] = None, check_finite: bool = True,
                      backend: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the raw YOLOv8 / YOLO11 head levels of one image (decoding left to the host,
    as ncnn, TFLite, RKNN and Hailo exports deliver it).

    Each level (stride ``s``, ``H x W`` cells) has ``4 * reg_max`` box channels (side
    ``k`` of ``left, top, right, bottom`` in channels ``k*reg_max .. k*reg_max +
    reg_max - 1``) and ``nc`` class logits. A cell's class is the first class with the
    largest logit; it is kept when that logit is ``> log(p / (1 - p))`` for ``p =
    conf_threshold`` (computed in float64: ``sigmoid(logit) > p`` without an ``exp`` per
    cell), and its score is ``sigmoid(logit)``. For kept cells only, each side is the
    expectation of a softmax over its ``reg_max`` bins (DFL), ``d = sum(i * softmax_i)``,
    and the box is ``((gx + 0.5 - d_left) * s, (gy + 0.5 - d_top) * s, (gx + 0.5 +
    d_right) * s, (gy + 0.5 + d_bottom) * s)``. ``multi_label`` and ``classes`` as in
    ``decode_yolov8``.

    Sigmoids and softmaxes are computed in float64 by NumPy code shared by every backend
    and rounded to the levels' dtype: results are bit-identical across backends, and
    within 1e-6 relative (float32) of any correct float64 evaluation of the formulas.

    Args:
        levels: list of arrays, one per level, (1, 4*reg_max + nc, H, W) for
            ``layout="nchw"`` or (1, H, W, 4*reg_max + nc) for ``"nhwc"``; the batch
            axis may be left out. All of the same float dtype.
        strides: one positive stride per level (8, 16, 32 for a 640 model).
        check_finite: raise ``ValueError`` ("levels[i] has a NaN or infinite value at
            index ...", the index in that level without its batch axis) on a NaN or
            infinity in a class logit of any cell (the scan tests them as it reads
            them) or in a box channel of a cell kept by the threshold; box channels of
            the other cells are not tested. ``False``: no test, unspecified detections
            on such values, never a crash.

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)``, levels in the given
        order, cells row-major within a level (then classes, for multi-label).
    """
    parsed = _levels(levels, strides, "levels", layout)
    if isinstance(reg_max, bool) or not isinstance(reg_max, (int, np.integer)) or reg_max < 1:
        raise ValueError("reg_max must be a positive integer, got %r" % (reg_max,))
    box_channels = 4 * int(reg_max)
    nc = parsed[0][1] - box_channels
    for i, (_, channels, _, _, _) in enumerate(parsed):
        if channels - box_channels != nc or nc < 1:
            raise ValueError("levels[%d] has %d channels; with reg_max=%d every level needs "
                             "%d box channels plus the same nc >= 1 class channels (levels[0] "
                             "has %d); check layout=%r" % (i, channels, reg_max, box_channels,
                                                           parsed[0][1], layout))
    threshold = logit(check.unit_interval(conf_threshold, "conf_threshold"))
    mask = check.class_ids(classes, nc)
    total = sum(h * w for _, _, h, w, _ in parsed)
    scan = implementation("decode_yolov8_raw", total, backend)
    dtype = parsed[0][0].dtype
    bins = np.arange(reg_max, dtype=np.float64)
    parts = []
    for i, (array, channels, height, width, stride) in enumerate(parsed):
        label = "levels[%d]" % i
        cells, class_ids, logits = _level_scan(scan, array, layout, channels, height, width,
                                               box_channels, nc, threshold, bool(multi_label),
                                               bool(check_finite), label)
        sides = _gather(array, layout, channels, 0, box_channels, cells, bool(check_finite),
                        label).reshape(-1, 4, reg_max)
        weights = np.exp(sides - sides.max(axis=2, keepdims=True))
        distances = (weights * bins).sum(axis=2) / weights.sum(axis=2)
        x = cells % width + 0.5
        y = cells // width + 0.5
        boxes = np.stack([x - distances[:, 0], y - distances[:, 1],
                          x + distances[:, 2], y + distances[:, 3]], axis=1) * stride
        parts.append((boxes.astype(dtype), sigmoid(logits).astype(dtype), class_ids))
    return _concatenate(parts, dtype, mask)


def decode_yolov5_raw(levels: Sequence[ArrayLike], anchors: ArrayLike, strides: Sequence[float],
                      conf_threshold: float = 0.25, *, layout: str = "nchw",
                      multi_label: bool = False, classes: Optional[ArrayLike] = None,
                      check_finite: bool = True,
                      backend: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the raw YOLOv5 head levels of one image (logits, decoding left to the host).

    Level ``l`` (stride ``s``, ``H x W`` cells, ``na`` anchors of pixel size ``(aw,
    ah)``) has ``na * (5 + nc)`` channels: channel ``k * (5 + nc) + j`` is value ``j`` of
    anchor ``k`` (``tx, ty, tw, th, objectness``, then ``nc`` class logits). A (cell,
    anchor) is a candidate when its objectness logit is ``> log(p / (1 - p))`` for ``p =
    conf_threshold`` (that is, ``sigmoid(obj) > p``, as YOLOv5 requires); for
    candidates only, with ``y = sigmoid(value)``::

        cx = (2 * y_tx - 0.5 + gx) * s      w = (2 * y_tw) ** 2 * aw
        cy = (2 * y_ty - 0.5 + gy) * s      h = (2 * y_th) ** 2 * ah
        score_c = y_obj * y_c

    then as ``decode_yolov5``: best class (first of equal products), kept when
    ``score > conf_threshold``; ``multi_label`` and ``classes`` likewise. Computed in
    float64 by NumPy code shared by every backend (the backends find the candidates),
    then rounded to the levels' dtype: bit-identical across backends.

    Args:
        levels: list of arrays, one per level, (1, na*(5+nc), H, W) (``layout="nchw"``)
            or (1, H, W, na*(5+nc)) (``"nhwc"``); the batch axis may be left out.
        anchors: per level, ``na`` anchor sizes in pixels: shape (levels, na, 2) or
            (levels, 2*na) as in YOLOv5's model yaml
            (``[[10,13, 16,30, 33,23], [30,61, 62,45, 59,119], [116,90, 156,198, 373,326]]``).
        strides: one positive stride per level (8, 16, 32).
        check_finite: raise ``ValueError`` as ``decode_yolov8_raw`` does on a NaN or
            infinity in the objectness logit of any (cell, anchor), or in any channel of
            a candidate (objectness above the threshold); the box and class channels of
            the other (cell, anchor) pairs are not read, so not tested.

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)``, ordered by level, anchor,
        cell (row-major), then class for multi-label: YOLOv5's own output order.
    """
    parsed = _levels(levels, strides, "levels", layout)
    sizes = np.asarray(anchors, dtype=np.float64)
    if sizes.ndim not in (2, 3) or sizes.shape[0] != len(parsed) or sizes.shape[-1] % 2 \
            or sizes.size == 0:
        raise ValueError("anchors must have shape (levels, na, 2) or (levels, 2*na) with %d "
                         "levels, got %s" % (len(parsed), sizes.shape))
    sizes = sizes.reshape(len(parsed), -1, 2)
    if not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise ValueError("anchors must be positive and finite")
    na = sizes.shape[1]
    channels = parsed[0][1]
    nc = channels // na - 5
    for i, (_, level_channels, _, _, _) in enumerate(parsed):
        if level_channels != channels or channels % na or nc < 1:
            raise ValueError("levels[%d] has %d channels; with %d anchors per level every level "
                             "needs na * (5 + nc) channels, nc >= 1, the same on every level "
                             "(levels[0] has %d); check layout=%r"
                             % (i, level_channels, na, channels, layout))
    threshold = check.unit_interval(conf_threshold, "conf_threshold")
    mask = check.class_ids(classes, nc)
    total = sum(h * w for _, _, h, w, _ in parsed) * na
    scan = implementation("decode_yolov5_raw", total, backend)
    dtype = parsed[0][0].dtype
    parts = []
    for i, ((array, _, height, width, stride), level_sizes) in enumerate(zip(parsed, sizes)):
        label = "levels[%d]" % i
        for k, (anchor_w, anchor_h) in enumerate(level_sizes.tolist()):
            first = k * (5 + nc)
            cells = _level_scan(scan, array, layout, channels, height, width, first + 4, 1,
                                logit(threshold), False, bool(check_finite), label)[0]
            y = sigmoid(_gather(array, layout, channels, first, 5 + nc, cells,
                                bool(check_finite), label))
            products = y[:, 5:] * y[:, 4:5]
            if multi_label:
                rows, class_ids = np.nonzero(products > threshold)
            else:
                class_ids = products.argmax(axis=1)
                rows = np.flatnonzero(products[np.arange(len(cells)), class_ids] > threshold)
                class_ids = class_ids[rows]
            y, cells = y[rows], cells[rows]
            cx = (2.0 * y[:, 0] - 0.5 + cells % width) * stride
            cy = (2.0 * y[:, 1] - 0.5 + cells // width) * stride
            w = (2.0 * y[:, 2]) ** 2 * anchor_w
            h = (2.0 * y[:, 3]) ** 2 * anchor_h
            parts.append((corners_of(np.stack([cx, cy, w, h])).astype(dtype),
                          products[rows, class_ids].astype(dtype), class_ids.astype(np.int64)))
    return _concatenate(parts, dtype, mask)
