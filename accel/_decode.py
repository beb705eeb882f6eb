"""Public decoding kernels: detector outputs to boxes, scores and classes.

Backend boundary (every module in ``accel._backends`` implements these two names):

``decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
threshold, multi_label) -> (anchors int64 (K,), classes int64 (K,), scores (K,))``

    ``data`` is a 1-D, C-contiguous, read-only float32 or float64 array holding one
    image's (or one level's) prediction; channel ``ch`` of anchor ``a`` is
    ``data[a * anchor_stride + ch * channel_stride]`` (strides in elements, >= 1, every
    index in range). The score of class ``c`` (``0 <= c < nc``, ``nc >= 1``) is channel
    ``cls_offset + c``. With ``obj_offset >= 0``, an anchor whose objectness (channel
    ``obj_offset``) is not ``> threshold`` is skipped, and each class score is multiplied
    by the objectness in the data's dtype (float32 * float32 rounded to float32).
    Single-label: an anchor's score is the largest class score, its class the first class
    holding it (scanning classes upwards with a strict ``>``); it is kept when
    ``score > threshold``. Multi-label: every (anchor, class) pair with
    ``score > threshold``. Results in increasing anchor order, then increasing class;
    ``scores`` in the data's dtype. ``threshold`` is a Python float exactly representable
    in the data's dtype, so comparing in either precision gives the same decision.
    Finite data gives identical results on every backend; non-finite data (only reachable
    with ``check_finite=False``) gives unspecified kept sets but never a crash.

``scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height) -> (K, 4)``

    ``boxes`` is a C-contiguous, read-only (K, 4) float32 or float64 array of x1, y1, x2,
    y2. Each x becomes ``(x - pad_x) / gain_x`` and each y ``(y - pad_y) / gain_y``,
    computed in float64; with ``clip``, a value ``< 0`` becomes ``0.0`` and a value
    ``> width`` (``> height`` for y) becomes ``width`` (``height``), by those two
    comparisons (so ``-0.0`` stays ``-0.0``); then rounded to the boxes' dtype. Returns a
    new array of that dtype: bit-identical on every backend.

Everything else (the box arithmetic of the K kept rows, sigmoids and the DFL softmax of raw
heads, the NMS step of ``postprocess``) is NumPy code shared by every backend, so the
float results of the decoders are bit-identical across backends by construction: the
backends own the O(nc x anchors) scan, which is where the time goes.
"""
import math
from typing import List, Optional

import numpy as np

from . import _validate as check
from ._dispatch import backend_module, implementation
from ._preprocess import LetterboxInfo

FORMATS = ("yolov8", "yolo11", "yolov5")
LAYOUTS = ("nchw", "nhwc")


# ---------------------------------------------------------------- shared arithmetic

def _at_or_below(value: float, dtype) -> float:
    """The largest value of ``dtype`` that is <= ``value``: for any x of that dtype,
    ``x > result`` exactly when ``x > value``, so every backend may compare in the
    data's precision and the decision is the exact one."""
    rounded = dtype.type(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, dtype.type(-np.inf))
    return float(rounded)


def _logit(probability: float) -> float:
    """``log(p / (1 - p))`` in float64: ``sigmoid(x) > p`` is decided as ``x > logit(p)``."""
    if probability <= 0.0:
        return -math.inf
    if probability >= 1.0:
        return math.inf
    return math.log(probability) - math.log1p(-probability)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def _corners_of(rows) -> np.ndarray:
    """(K, 4) corners of a (4, K) block of cx, cy, w, h rows, in their dtype: ``w / 2`` is
    exact, so each corner is one rounding."""
    halves = rows[2:] / 2
    corners = np.empty((rows.shape[1], 4), dtype=rows.dtype)
    np.subtract(rows[:2], halves, out=corners[:, :2].T)
    np.add(rows[:2], halves, out=corners[:, 2:].T)
    return corners


def _filter_classes(mask, results, classes_at: int):
    """Keep the parts of ``results`` whose class (``results[classes_at]``) is in ``mask``."""
    if mask is None:
        return results
    keep = mask[results[classes_at]]
    return tuple(part[keep] for part in results)


# ---------------------------------------------------------------- argument checks

_SKIP_HINT = " (check_finite=False skips this check)"


def _prediction(pred, name: str, check_finite: bool) -> np.ndarray:
    array = check.float_array(pred, name)
    if check_finite:
        check.all_finite(array, name, _SKIP_HINT)
    return array


def _one_image(array: np.ndarray, name: str, shape_text: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[0] == 1:
        return array[0]
    if array.ndim != 2:
        hint = " (a batch: use postprocess, or pass one image pred[i])" if array.ndim == 3 else ""
        raise ValueError("%s must have shape %s or (1, %s), got %s%s"
                         % (name, shape_text, shape_text[1:-1], array.shape, hint))
    return array


def _class_count(nc, available: int, name: str, axis_text: str) -> int:
    if nc is None:
        if available < 1:
            raise ValueError("%s has %d channels on %s: no room for a class score"
                             % (name, available, axis_text))
        return available
    if isinstance(nc, bool) or not isinstance(nc, (int, np.integer)):
        raise TypeError("nc must be an integer, got %r" % (nc,))
    if not 1 <= nc <= available:
        raise ValueError("nc=%d does not fit %s: %s leaves %d channels for classes (and extras)"
                         % (nc, name, axis_text, available))
    return int(nc)


# ---------------------------------------------------------------- decoded heads

def _decode_v8(pred, nc, threshold, multi_label, mask, scan):
    channels, n_anchors = pred.shape
    anchors, class_ids, scores = _filter_classes(mask, scan(
        pred.reshape(-1), n_anchors, 1, n_anchors, 4, nc, -1,
        _at_or_below(threshold, pred.dtype), multi_label), 1)
    return (_corners_of(pred[:4].take(anchors, axis=1)), scores, class_ids,
            pred[4 + nc:].take(anchors, axis=1).T.copy())


def _decode_v5(pred, nc, threshold, multi_label, mask, scan):
    n_anchors, channels = pred.shape
    anchors, class_ids, scores = _filter_classes(mask, scan(
        pred.reshape(-1), n_anchors, channels, 1, 5, nc, 4,
        _at_or_below(threshold, pred.dtype), multi_label), 1)
    rows = pred.take(anchors, axis=0)
    return _corners_of(rows[:, :4].T), scores, class_ids, rows[:, 5 + nc:].copy()


def _result(decoded, nc_given: bool):
    return decoded if nc_given else decoded[:3]


def decode_yolov8(pred, conf_threshold: float = 0.25, *, nc: Optional[int] = None,
                  multi_label: bool = False, classes=None, check_finite: bool = True,
                  backend: Optional[str] = None):
    """Decode one image's YOLOv8 / YOLO11 output (the exported ``(1, 4 + nc, A)`` head).

    Channels are ``cx, cy, w, h`` then ``nc`` class scores (already sigmoids), for each
    of the ``A`` anchors. A box becomes ``(cx - w/2, cy - h/2, cx + w/2, cy + h/2)``
    in the output's dtype. Its score is its largest class score and its class the first
    class with that score; it is kept when ``score > conf_threshold``, compared exactly
    (the threshold is not rounded to float32 first). With ``multi_label``, every
    (anchor, class) pair whose score is ``> conf_threshold`` is a detection.
    ``classes`` keeps only detections of those class ids (after the argmax, as
    ultralytics filters).

    Args:
        pred: (4 + nc [+ E], A) or (1, 4 + nc [+ E], A) float array. float16 is decoded
            as float32.
        conf_threshold: in [0, 1].
        nc: the number of classes, when the output has E extra channels after them (the
            32 mask coefficients of a segmentation model); default: every channel after
            the box is a class.
        check_finite: raise on NaN or infinity (costs about as much as the decode;
            without it such values give unspecified detections).
        backend: one of ``accel.BACKEND_NAMES``; overrides every other choice.

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)`` in anchor order (then class
        order for multi-label); boxes and scores in the output's float dtype. When
        ``nc`` is given, a fourth item ``extra (K, E)`` holds the extra channels of each
        detection's anchor.
    """
    pred = _one_image(_prediction(pred, "pred", check_finite), "pred", "(4 + nc, A)")
    nc_value = _class_count(nc, pred.shape[0] - 4, "pred", "axis -2 after the 4 box channels")
    threshold = check.unit_interval(conf_threshold, "conf_threshold")
    mask = check.class_ids(classes, nc_value)
    scan = implementation("decode_yolov8", pred.shape[1], backend)
    return _result(_decode_v8(pred, nc_value, threshold, bool(multi_label), mask, scan),
                   nc is not None)


def decode_yolov5(pred, conf_threshold: float = 0.25, *, nc: Optional[int] = None,
                  multi_label: bool = False, classes=None, check_finite: bool = True,
                  backend: Optional[str] = None):
    """Decode one image's YOLOv5 output (the exported ``(1, A, 5 + nc)`` head).

    Each anchor's row is ``cx, cy, w, h, objectness`` then ``nc`` class scores. An anchor
    whose objectness is not ``> conf_threshold`` is dropped; the class scores of the
    others are multiplied by the objectness (in the output's dtype, as YOLOv5 does), and
    then everything is as in ``decode_yolov8``: best class (first of equal products),
    ``score > conf_threshold``, ``multi_label``, ``classes``, ``nc`` with extra channels.

    Args:
        pred: (A, 5 + nc [+ E]) or (1, A, 5 + nc [+ E]) float array.

    Returns:
        As ``decode_yolov8``; scores are the products ``objectness * class score``.
    """
    pred = _one_image(_prediction(pred, "pred", check_finite), "pred", "(A, 5 + nc)")
    nc_value = _class_count(nc, pred.shape[1] - 5, "pred",
                            "axis -1 after the 4 box channels and the objectness")
    threshold = check.unit_interval(conf_threshold, "conf_threshold")
    mask = check.class_ids(classes, nc_value)
    scan = implementation("decode_yolov5", pred.shape[0], backend)
    return _result(_decode_v5(pred, nc_value, threshold, bool(multi_label), mask, scan),
                   nc is not None)


# ---------------------------------------------------------------- raw heads

def _levels(levels, strides, name: str, layout: str, check_finite: bool):
    """Validated levels as (array (C, H*W) or (H*W, C) view source, C, H, W) tuples."""
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
    parsed = []
    for i, level in enumerate(levels):
        label = "%s[%d]" % (name, i)
        array = check.float_array(level, label)
        if array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 3:
            raise ValueError("%s must have shape (1, C, H, W) for layout='nchw' or "
                             "(1, H, W, C) for 'nhwc', got %s" % (label, np.shape(level)))
        if check_finite:
            check.all_finite(array, label, _SKIP_HINT)
        channels, height, width = (array.shape if layout == "nchw"
                                   else (array.shape[2],) + array.shape[:2])
        if parsed and array.dtype != parsed[0][0].dtype:
            raise TypeError("%s has dtype %s but %s[0] has %s"
                            % (label, array.dtype, name, parsed[0][0].dtype))
        parsed.append((array, channels, height, width, strides[i]))
    return parsed


def _level_scan(scan, array, layout, channels, height, width, offset, nc, threshold,
                multi_label):
    cells = height * width
    anchor_stride, channel_stride = (1, cells) if layout == "nchw" else (channels, 1)
    return scan(array.reshape(-1), cells, anchor_stride, channel_stride, offset, nc, -1,
                _at_or_below(threshold, array.dtype), multi_label)


def _gather(array, layout, channels, first, count, cells) -> np.ndarray:
    """Channels ``first .. first + count - 1`` of the given cells, as float64 (K, count)."""
    if layout == "nchw":
        rows = array.reshape(channels, -1)[first:first + count, cells].T
    else:
        rows = array.reshape(-1, channels)[cells, first:first + count]
    return rows.astype(np.float64)


def _concatenate(parts, dtype, mask):
    if not parts:
        return (np.zeros((0, 4), dtype), np.zeros(0, dtype), np.zeros(0, np.int64))
    boxes, scores, class_ids = (np.concatenate(p) for p in zip(*parts))
    return _filter_classes(mask, (boxes, scores, class_ids), 2)


def decode_yolov8_raw(levels, strides, conf_threshold: float = 0.25, *, reg_max: int = 16,
                      layout: str = "nchw", multi_label: bool = False, classes=None,
                      check_finite: bool = True, backend: Optional[str] = None):
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

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)``, levels in the given
        order, cells row-major within a level (then classes, for multi-label).
    """
    parsed = _levels(levels, strides, "levels", layout, check_finite)
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
    threshold = _logit(check.unit_interval(conf_threshold, "conf_threshold"))
    mask = check.class_ids(classes, nc)
    total = sum(h * w for _, _, h, w, _ in parsed)
    scan = implementation("decode_yolov8_raw", total, backend)
    dtype = parsed[0][0].dtype
    bins = np.arange(reg_max, dtype=np.float64)
    parts = []
    for array, channels, height, width, stride in parsed:
        cells, class_ids, logits = _level_scan(scan, array, layout, channels, height, width,
                                               box_channels, nc, threshold, bool(multi_label))
        sides = _gather(array, layout, channels, 0, box_channels, cells).reshape(-1, 4, reg_max)
        weights = np.exp(sides - sides.max(axis=2, keepdims=True))
        distances = (weights * bins).sum(axis=2) / weights.sum(axis=2)
        x = cells % width + 0.5
        y = cells // width + 0.5
        boxes = np.stack([x - distances[:, 0], y - distances[:, 1],
                          x + distances[:, 2], y + distances[:, 3]], axis=1) * stride
        parts.append((boxes.astype(dtype), _sigmoid(logits).astype(dtype), class_ids))
    return _concatenate(parts, dtype, mask)


def decode_yolov5_raw(levels, anchors, strides, conf_threshold: float = 0.25, *,
                      layout: str = "nchw", multi_label: bool = False, classes=None,
                      check_finite: bool = True, backend: Optional[str] = None):
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

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)``, ordered by level, anchor,
        cell (row-major), then class for multi-label: YOLOv5's own output order.
    """
    parsed = _levels(levels, strides, "levels", layout, check_finite)
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
    for (array, _, height, width, stride), level_sizes in zip(parsed, sizes):
        for k, (anchor_w, anchor_h) in enumerate(level_sizes.tolist()):
            first = k * (5 + nc)
            cells = _level_scan(scan, array, layout, channels, height, width, first + 4, 1,
                                _logit(threshold), False)[0]
            y = _sigmoid(_gather(array, layout, channels, first, 5 + nc, cells))
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
            parts.append((_corners_of(np.stack([cx, cy, w, h])).astype(dtype),
                          products[rows, class_ids].astype(dtype), class_ids.astype(np.int64)))
    return _concatenate(parts, dtype, mask)


# ---------------------------------------------------------------- back to source pixels

def _mapping(info, src_shape, clip: bool):
    """(gain_x, gain_y, pad_x, pad_y, width, height) of a LetterboxInfo or (scale, pad)."""
    if isinstance(info, LetterboxInfo):
        (h, w), (new_h, new_w) = info.src_shape, info.resized_shape
        # The resize maps [0, w] onto [0, new_w] exactly, whatever r rounded to.
        return new_w / w, new_h / h, float(info.pad_left), float(info.pad_top), float(w), float(h)
    try:
        scale, (pad_x, pad_y) = info
    except (TypeError, ValueError):
        raise TypeError("info must be a LetterboxInfo (from accel.letterbox/preprocess) or "
                        "(scale, (pad_x, pad_y)), got %r" % (info,)) from None
    scale = check.positive(scale, "scale")
    pad_x, pad_y = check.finite_or_default(pad_x, "pad_x", 0.0), \
        check.finite_or_default(pad_y, "pad_y", 0.0)
    if src_shape is None:
        if clip:
            raise ValueError("clip=True needs src_shape=(h, w) of the source image when info "
                             "is an explicit (scale, pad); or pass clip=False")
        return scale, scale, pad_x, pad_y, math.inf, math.inf
    if not isinstance(src_shape, (tuple, list)) or len(src_shape) != 2:
        raise TypeError("src_shape must be (h, w), got %r" % (src_shape,))
    h, w = (check.positive(v, "src_shape") for v in src_shape)
    return scale, scale, pad_x, pad_y, w, h


def scale_boxes(boxes, info, *, clip: bool = True, src_shape=None,
                backend: Optional[str] = None) -> np.ndarray:
    """Map boxes from letterboxed pixels back to source-image pixels.

    With a ``LetterboxInfo``: ``x -> (x - pad_left) / (new_w / w)`` and ``y -> (y -
    pad_top) / (new_h / h)``, the exact inverse of the resize that was done (ultralytics
    divides both axes by the rounded ratio ``r`` instead, up to a pixel off on the axis
    whose size was rounded). With ``info=(scale, (pad_x, pad_y))``: ``(x - pad_x) /
    scale``, likewise y. Computed in float64 and rounded to the boxes' dtype once. With
    ``clip``, coordinates are clipped to ``[0, w]`` and ``[0, h]`` of the source image
    (from the LetterboxInfo, or ``src_shape=(h, w)``).

    Args:
        boxes: (K, 4) x1, y1, x2, y2 in letterboxed pixels; float32 and float64 are kept,
            float16 becomes float32 and integers float64.

    Returns:
        A new (K, 4) array; the input is never modified.
    """
    array = np.asarray(boxes)
    if array.dtype.kind in "iu":
        array = array.astype(np.float64)
    array = check.float_array(array, "boxes")
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError("boxes must have shape (K, 4), got %s" % (array.shape,))
    check.all_finite(array, "boxes")
    mapping = _mapping(info, src_shape, bool(clip))
    return implementation("scale_boxes", array.shape[0], backend)(
        array, *mapping[:4], bool(clip), *mapping[4:])


# ---------------------------------------------------------------- all of it, per image

def _letterbox_infos(letterbox, batch: int):
    if letterbox is None or isinstance(letterbox, LetterboxInfo):
        return [letterbox] * batch
    infos = list(letterbox)
    if len(infos) != batch or not all(isinstance(i, LetterboxInfo) for i in infos):
        raise TypeError("letterbox must be a LetterboxInfo, or a list of %d (one per image)"
                        % batch)
    return infos


def postprocess(pred, format: str = "yolov8", *, conf_threshold: float = 0.25,
                iou_threshold: float = 0.7, classes=None, agnostic: bool = False,
                multi_label: bool = False, max_det: int = 300, max_nms: int = 30000,
                nc: Optional[int] = None, letterbox=None, check_finite: bool = True,
                backend: Optional[str] = None) -> List[np.ndarray]:
    """Detector output to final detections: decode, NMS, back to source pixels.

    Per image: decode (``decode_yolov8`` for ``format="yolov8"``/``"yolo11"``,
    ``decode_yolov5`` for ``"yolov5"``); keep the ``max_nms`` best candidates by score
    (equal scores: lower anchor first); exact class-aware NMS (``batched_nms``; ``nms``
    with ``agnostic``) with ``iou_threshold``; keep the first ``max_det``; map the boxes
    through ``letterbox`` when given (``scale_boxes``, clipped to the source image).
    Ultralytics' ``non_max_suppression`` with the same arguments, except that the
    class-aware NMS is exact (no coordinate offset), ties are deterministic, and there
    is no time limit that silently drops work.

    Args:
        pred: a batch (B, ...) or one image, shaped as ``decode_yolov8`` /
            ``decode_yolov5`` expect.
        letterbox: a LetterboxInfo for every image, or a list with one per image.
        backend: one backend runs every step (its scan, NMS and scale_boxes).

    Returns:
        A list with one array per image, (K, 6 + E) in the output's dtype: x1, y1, x2,
        y2, score, class, then the E extra channels (with ``nc``); rows by decreasing
        score (equal scores: lower anchor, then lower class, first).
    """
    format = check.choice(format, "format", FORMATS)
    array = _prediction(pred, "pred", check_finite)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ValueError("pred must have shape (B, C, A) or (C, A) (yolov8) or (B, A, C) or "
                         "(A, C) (yolov5), got %s" % (array.shape,))
    v5 = format == "yolov5"
    decode = _decode_v5 if v5 else _decode_v8
    if v5:
        nc_value = _class_count(nc, array.shape[2] - 5, "pred",
                                "axis -1 after the 4 box channels and the objectness")
    else:
        nc_value = _class_count(nc, array.shape[1] - 4, "pred", "axis -2 after the 4 box channels")
    conf = check.unit_interval(conf_threshold, "conf_threshold")
    iou = check.unit_interval(iou_threshold, "iou_threshold")
    max_det = check.count_or_default(max_det, "max_det", 2 ** 62)
    max_nms = check.count_or_default(max_nms, "max_nms", 2 ** 62)
    mask = check.class_ids(classes, nc_value)
    infos = _letterbox_infos(letterbox, array.shape[0])
    n_anchors = array.shape[1] if v5 else array.shape[2]
    module = backend_module("postprocess", n_anchors, backend)
    return [_postprocess_one(image, decode, module, nc_value, conf, iou, bool(multi_label),
                             mask, bool(agnostic), max_det, max_nms, info)
            for image, info in zip(array, infos)]


def _postprocess_one(pred, decode, module, nc, conf, iou, multi_label, mask, agnostic,
                     max_det, max_nms, info):
    boxes, scores, class_ids, extra = decode(pred, nc, conf, multi_label, mask,
                                             module.decode_scan)
    if scores.shape[0] > max_nms:
        best = np.sort(np.argsort(-scores, kind="stable")[:max_nms])
        boxes, scores, class_ids, extra = boxes[best], scores[best], class_ids[best], extra[best]
    boxes64 = boxes.astype(np.float64)
    inverted = (boxes64[:, 2] < boxes64[:, 0]) | (boxes64[:, 3] < boxes64[:, 1])
    if inverted.any():
        raise ValueError("pred decodes to a box with negative width or height %s; a detector "
                         "output has w, h >= 0" % (boxes[np.flatnonzero(inverted)[0]],))
    boxes64.flags.writeable = False
    scores64 = scores.astype(np.float64)
    scores64.flags.writeable = False
    max_output = min(max_det, scores.shape[0])
    if agnostic:
        keep = module.nms(boxes64, scores64, iou, -math.inf, max_output)
    else:
        class_ids.flags.writeable = False
        keep = module.batched_nms(boxes64, scores64, class_ids, iou, -math.inf, max_output)
    boxes = boxes[keep]
    if info is not None:
        boxes.flags.writeable = False
        gain_x, gain_y, pad_x, pad_y, width, height = _mapping(info, None, True)
        boxes = module.scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, True, width, height)
    return np.concatenate([boxes, scores[keep, None], class_ids[keep, None].astype(boxes.dtype),
                           extra[keep]], axis=1)
