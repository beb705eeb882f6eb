"""Public decoders of raw heads (decoding left to the host): YOLOv8 DFL, YOLOv5 anchors,
YOLOv3/YOLOv4 (Darknet) anchors.

A level is one array, or for YOLOv8 a tuple of separate branches (box, class[,
score_sum]); each array is float, or int8/uint8 with its ``quant=(scale, zero_point)``.
An integer branch is decoded as if it were ONNX ``DequantizeLinear`` of it (float32), bit
for bit: its class threshold is one integer cut-off (``accel._quant.code_cutoff``) the
backends' scan compares the codes with, and only the kept cells are dequantized.

The raw postprocess formats (``accel._postprocess_raw``) use the same parsing and
per-image decoding (``yolov8_head``, ``anchored_head``) with their backend's scan.
"""
from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional, Sequence, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _validate as check
from ._decode_common import (LAYOUTS, at_or_below, backend_error, corners_of, filter_classes,
                             first_non_finite, logit, non_finite_at, probably_finite, sigmoid)
from ._dispatch import implementation
from ._quant import Quant, code_cutoff, dequantize, is_quantized_dtype, quant_params

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike


Level = Union["ArrayLike", Tuple["ArrayLike", ...]]  # one array, or separate branches
QuantEntry = Optional[Tuple[float, int]]


class Branch(NamedTuple):
    """One checked output array of a level (one image or a batch)."""

    array: np.ndarray  # (B, C, H, W) or (B, H, W, C): C-contiguous, read-only
    layout: str
    channels: int
    height: int
    width: int
    quant: Optional[Quant]  # None for a float array
    label: str  # how errors name it: "levels[1]", or "levels[1][0]" for a split level
    batch_axis: bool  # the caller's array had one

    @property
    def cells(self) -> int:
        return self.height * self.width


def _branch(value, label: str, layout: str, quant, quant_label: str,
            read: bool = True) -> Branch:
    """A checked branch; ``read=False`` (the ignored score_sum) checks only its shape."""
    array = np.asarray(value)
    params = None
    if array.dtype.kind == "f":
        if quant is not None and read:
            raise TypeError("%s is given but %s is a float array (%s): quantization "
                            "parameters are for int8 and uint8 arrays only; give None for a "
                            "float one" % (quant_label, label, array.dtype))
        if read:
            array = check.float_array(array, label)
    elif is_quantized_dtype(array.dtype):
        if read:
            if quant is None:
                raise TypeError("%s is %s, quantized: give its (scale, zero_point) as %s"
                                % (label, array.dtype, quant_label))
            params = quant_params(quant, quant_label, array.dtype)
            array = check.readonly(np.ascontiguousarray(array))
    else:
        raise TypeError("%s must be a float, int8 or uint8 array (a detector output), got "
                        "dtype %s" % (label, array.dtype))
    batch_axis = array.ndim == 4
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError("%s must have shape (1, C, H, W) for layout='nchw' or (1, H, W, C) for "
                         "'nhwc' (the batch axis may be left out), got %s"
                         % (label, np.shape(value)))
    channels, height, width = (array.shape[1:] if layout == "nchw"
                               else (array.shape[3],) + array.shape[1:3])
    if min(array.shape) < 1:
        raise ValueError("%s is empty: shape %s" % (label, np.shape(value)))
    return Branch(array, layout, channels, height, width, params, label, batch_axis)


def _level_quant(quant, count: int, name: str):
    """One quantization entry per level (None when no level is quantized)."""
    if quant is None:
        return [None] * count
    if isinstance(quant, (str, bytes, np.ndarray)) or not isinstance(quant, (list, tuple)):
        raise TypeError("quant must be None or a list with one entry per level of %s, got %r"
                        % (name, quant))
    if len(quant) != count:
        raise ValueError("quant has %d entries but %s has %d levels: give one entry per level "
                         "(None for a float level), e.g. [(scale, zero_point)] * %d"
                         % (len(quant), name, count, count))
    return list(quant)


def _split_quant(entry, branches: int, i: int):
    """A split level's quantization entry as one per branch: ``(box_quant, cls_quant)``,
    or with a third (ignored) one when the level has a score_sum branch."""
    if entry is None:
        return (None,) * branches
    if isinstance(entry, (str, bytes, np.ndarray)) or not isinstance(entry, (list, tuple)) \
            or len(entry) not in (2, branches):
        raise ValueError("quant[%d] must be None or a (box_quant, cls_quant) pair for the split "
                         "level %d (each None or (scale, zero_point)), got %r" % (i, i, entry))
    return tuple(entry) + (None,) * (branches - len(entry))


def _fit_one_input(levels: List[List[Branch]], strides: List[float], name: str,
                   layout: str) -> None:
    """Every level's grid must come from one input size: each side times its stride within
    one stride of a common size (a grid is the input divided by the stride, rounded up or
    down)."""
    for axis, side in (("H", "height"), ("W", "width")):
        sizes = [(getattr(level[0], side) * s, s) for level, s in zip(levels, strides)]
        if max(n - s for n, s in sizes) >= min(n + s for n, s in sizes):
            shapes = ", ".join("%s %d x %d at stride %g" % (level[0].label, level[0].height,
                                                             level[0].width, s)
                               for level, s in zip(levels, strides))
            raise ValueError("the levels' grids do not fit one input size along %s (%s): give "
                             "strides in the order of %s; check layout=%r"
                             % (axis, shapes, name, layout))


class Levels(NamedTuple):
    """Checked levels: per level its branches (one, or box and class), and its stride."""

    branches: List[List[Branch]]
    strides: List[float]
    batch: int
    dtype: np.dtype  # of the results: the float levels' dtype, float32 for quantized ones
    name: str


def _branches(level) -> bool:
    """Whether a level is given as separate branches: a tuple, or a list of arrays (the
    slice of a runtime's list of outputs)."""
    return isinstance(level, tuple) or (
        isinstance(level, list) and all(isinstance(a, np.ndarray) for a in level))


def parse_levels(levels, strides, layout: str, quant, name: str, split: bool) -> Levels:
    """Checked levels (``split``: a level may be a tuple of branches, YOLOv8 only)."""
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
    entries = _level_quant(quant, len(levels), name)
    parsed = []
    for i, (level, entry) in enumerate(zip(levels, entries)):
        label = "%s[%d]" % (name, i)
        if not _branches(level):
            parsed.append([_branch(level, label, layout, entry, "quant[%d]" % i)])
            continue
        if not split:
            raise TypeError("%s is a tuple of arrays, but this format's levels are one array "
                            "each" % label)
        if len(level) not in (2, 3):
            raise ValueError("%s must be one array, or a tuple (box, cls) or (box, cls, "
                             "score_sum) of separate branches, got a tuple of %d"
                             % (label, len(level)))
        quants = _split_quant(entry, len(level), i)
        branches = [_branch(array, "%s[%d]" % (label, k), layout, q, "quant[%d][%d]" % (i, k),
                            read=k < 2)
                    for k, (array, q) in enumerate(zip(level, quants))]
        box = branches[0]
        for other in branches[1:]:
            if (other.height, other.width) != (box.height, box.width):
                raise ValueError("%s has a %d x %d grid but %s has %d x %d: a level's branches "
                                 "share one grid; check layout=%r"
                                 % (other.label, other.height, other.width, box.label,
                                    box.height, box.width, layout))
        if len(branches) == 3 and branches[2].channels != 1:
            raise ValueError("%s (score_sum) must have 1 channel, got %d; the branches of a "
                             "level are (box, cls, score_sum)" % (branches[2].label,
                                                                 branches[2].channels))
        parsed.append(branches[:2])  # score_sum is not read: see decode_yolov8_raw
    first = parsed[0][0]
    dtype = np.dtype(np.float32) if first.quant is not None else first.array.dtype
    for branch in (b for level in parsed for b in level):
        if branch.array.shape[0] != first.array.shape[0]:
            raise ValueError("%s holds %d images but %s holds %d" % (
                branch.label, branch.array.shape[0], first.label, first.array.shape[0]))
        own = np.dtype(np.float32) if branch.quant is not None else branch.array.dtype
        if own != dtype:
            raise TypeError("%s has dtype %s but %s has %s; the float levels share one dtype, "
                            "float32 when any is quantized (dequantized values are float32)"
                            % (branch.label, branch.array.dtype, first.label, first.array.dtype))
    _fit_one_input(parsed, strides, name, layout)
    return Levels(parsed, strides, first.array.shape[0], dtype, name)


def one_image(levels: Levels) -> None:
    if levels.batch != 1:
        raise ValueError("%s holds a batch of %d images: the decoders take one image (give "
                         "level[b:b+1] of each), postprocess takes a batch"
                         % (levels.name, levels.batch))


# ---------------------------------------------------------------- per-image decoding

def _error_at(branch: Branch, image: int, name_batch: bool, cell: int, first: int, values):
    """The error naming the first non-finite of ``values`` (channels ``first ..`` of
    ``cell``), or None when they are all finite."""
    k = first_non_finite(values)
    if k < 0:
        return None
    y, x = divmod(int(cell), branch.width)
    index = (first + k, y, x) if branch.layout == "nchw" else (y, x, first + k)
    return non_finite_at(branch.label, ((image,) if name_batch and branch.batch_axis else ())
                         + index)


def _scan(scan, branch: Branch, image: int, first: int, nc: int, threshold: float,
          multi_label: bool, check_finite: bool, name_batch: bool):
    """Cells (and classes) whose channel ``first + c`` value is ``> threshold`` (the scan's
    rules), with their values in the results' dtype (float32 when dequantized)."""
    data = branch.array[image].reshape(-1)
    anchor_stride, channel_stride = ((1, branch.cells) if branch.layout == "nchw"
                                     else (branch.channels, 1))
    if branch.quant is not None:
        cells, classes, codes, _ = scan(data, branch.cells, anchor_stride, channel_stride,
                                        first, nc, -1, code_cutoff(branch.quant, threshold),
                                        multi_label, False)
        return cells, classes, dequantize(codes, branch.quant)
    cells, classes, values, first_bad = scan(data, branch.cells, anchor_stride, channel_stride,
                                             first, nc, -1, at_or_below(threshold, data.dtype),
                                             multi_label, check_finite)
    if first_bad >= 0:
        raise (_error_at(branch, image, name_batch, first_bad, first,
                         _rows(branch, image, first, nc, [first_bad], False, False)[:, 0])
               or backend_error(first_bad))
    return cells, classes, values


def _rows(branch: Branch, image: int, first: int, count: int, cells, check_finite: bool,
          name_batch: bool) -> np.ndarray:
    """Channels ``first .. first + count - 1`` of the given cells as a C-contiguous float64
    (count, K), one row per channel (the NumPy steps then reduce over rows, element by
    element), dequantized for an integer branch; with ``check_finite``, raises on the
    first cell (in order) holding a non-finite one."""
    array = branch.array[image]
    if branch.layout == "nchw":
        rows = array.reshape(branch.channels, -1)[first:first + count, cells]
    else:
        rows = array.reshape(-1, branch.channels)[cells, first:first + count].T
    if branch.quant is not None:
        rows = dequantize(rows, branch.quant)
    rows = rows.astype(np.float64, order="C")
    if branch.quant is None and check_finite and not probably_finite(rows):
        for cell, values in zip(cells, rows.T):
            error = _error_at(branch, image, name_batch, cell, first, values)
            if error is not None:
                raise error
    return rows


Parts = List[Tuple[np.ndarray, np.ndarray, np.ndarray]]


class RawHead(NamedTuple):
    """Checked raw levels of some format, ready to decode image by image."""

    levels: Levels
    nc: int
    size: int  # the dispatcher's size: cells times anchors per cell, all levels
    # (image, scan, multi_label, check_finite, name_batch) -> per level/anchor parts
    decode: Callable[[int, Callable, bool, bool, bool], Parts]


def concatenate(parts: Parts, dtype, mask):
    if not parts:
        return (np.zeros((0, 4), dtype), np.zeros(0, dtype), np.zeros(0, np.int64))
    boxes, scores, class_ids = (np.concatenate(p) for p in zip(*parts))
    return filter_classes(mask, (boxes, scores, class_ids), 2)


def _probability(value, sigmoid_applied) -> Tuple[float, float]:
    """``(p, gate)``: the threshold, and what values are compared with (``logit(p)`` for
    logits: ``sigmoid(x) > p`` exactly when ``x > logit(p)``, no ``exp`` per value)."""
    p = check.unit_interval(value, "conf_threshold")
    return p, (p if sigmoid_applied else logit(p))


def yolov8_head(levels, strides, conf_threshold, reg_max, layout, quant, sigmoid_applied,
                name: str = "levels") -> RawHead:
    parsed = parse_levels(levels, strides, layout, quant, name, split=True)
    if isinstance(reg_max, bool) or not isinstance(reg_max, (int, np.integer)) or reg_max < 1:
        raise ValueError("reg_max must be a positive integer, got %r" % (reg_max,))
    reg_max = int(reg_max)
    box_channels = 4 * reg_max
    layers = []  # (box branch, its first box channel, class branch, its first class channel)
    nc = None
    for branches in parsed.branches:
        if len(branches) == 1:
            branch = branches[0]
            level_nc = branch.channels - box_channels
            layers.append((branch, 0, branch, box_channels))
            what = "%d channels" % branch.channels
        else:
            box, cls = branches
            if box.channels != box_channels:
                raise ValueError("%s has %d channels but a box branch has 4 * reg_max = %d "
                                 "(reg_max=%d); the branches of a level are (box, cls[, "
                                 "score_sum]); check layout=%r"
                                 % (box.label, box.channels, box_channels, reg_max, layout))
            level_nc = cls.channels
            layers.append((box, 0, cls, 0))
            what = "%d class channels" % cls.channels
        if nc is None:
            nc = level_nc
        if level_nc != nc or nc < 1:
            raise ValueError("%s has %s; with reg_max=%d every level needs %d box channels plus "
                             "the same nc >= 1 class channels (%s[0] has nc=%d); check "
                             "layout=%r" % (branches[-1].label if len(branches) > 1
                                            else branches[0].label, what, reg_max, box_channels,
                                            name, nc, layout))
    p, gate = _probability(conf_threshold, sigmoid_applied)
    sigmoid_applied = bool(sigmoid_applied)
    dtype = parsed.dtype
    bins = np.arange(reg_max, dtype=np.float64)

    def decode(image, scan, multi_label, check_finite, name_batch):
        kept = []  # level by level (the order errors are found in), then one DFL for all
        for (box, box_first, cls, cls_first), stride in zip(layers, parsed.strides):
            cells, class_ids, values = _scan(scan, cls, image, cls_first, nc, gate, multi_label,
                                             check_finite, name_batch)
            sides = _rows(box, image, box_first, box_channels, cells, check_finite, name_batch)
            centres = np.stack([cells % box.width + 0.5, cells // box.width + 0.5])
            kept.append((class_ids, values, sides, centres, np.full(len(cells), stride)))
        class_ids, values = (np.concatenate(part) for part in list(zip(*kept))[:2])
        sides, centres, scale = (np.concatenate(part, axis=-1) for part in list(zip(*kept))[2:])
        # (side, bin, cell): each reduction over bins runs in bin order, cell by cell
        sides = sides.reshape(4, reg_max, -1)
        weights = np.exp(sides - sides.max(axis=1, keepdims=True))
        distances = (weights * bins[:, None]).sum(axis=1) / weights.sum(axis=1)
        boxes = np.concatenate([centres - distances[:2], centres + distances[2:]]) * scale
        scores = values.astype(dtype) if sigmoid_applied else sigmoid(values).astype(dtype)
        return [(np.ascontiguousarray(boxes.T, dtype=dtype), scores, class_ids)]

    size = sum(level[0].cells for level in parsed.branches)
    return RawHead(parsed, nc, size, decode)


def _anchor_sizes(anchors, count: int) -> np.ndarray:
    sizes = np.asarray(anchors, dtype=np.float64)
    if sizes.ndim not in (2, 3) or sizes.shape[0] != count or sizes.shape[-1] % 2 \
            or sizes.size == 0:
        raise ValueError("anchors must have shape (levels, na, 2) or (levels, 2*na) with %d "
                         "levels, got %s" % (count, sizes.shape))
    sizes = sizes.reshape(count, -1, 2)
    if not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise ValueError("anchors must be positive and finite")
    return sizes


# A box rule: (raw (5 + nc, K) float64, y = their sigmoids, then per candidate gx, gy,
# stride, anchor w, anchor h, its level's parameter) -> cx, cy, w, h float64 rows.
BoxRule = Callable[..., Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def _yolov5_box(raw, y, gx, gy, stride, anchor_w, anchor_h, _):
    return ((2.0 * y[0] - 0.5 + gx) * stride, (2.0 * y[1] - 0.5 + gy) * stride,
            (2.0 * y[2]) ** 2 * anchor_w, (2.0 * y[3]) ** 2 * anchor_h)


def _yolov3_box(raw, y, gx, gy, stride, anchor_w, anchor_h, k):
    shift = (k - 1.0) / 2.0
    return ((y[0] * k - shift + gx) * stride, (y[1] * k - shift + gy) * stride,
            np.exp(raw[2]) * anchor_w, np.exp(raw[3]) * anchor_h)


def anchored_head(levels, anchors, strides, conf_threshold, layout, quant, sigmoid_applied,
                  box_rule: BoxRule, level_parameters: Sequence[float],
                  name: str = "levels") -> RawHead:
    """YOLOv5 / YOLOv3 levels: ``na * (5 + nc)`` channels, objectness gate, boxes by
    ``box_rule`` (given each level's entry of ``level_parameters``)."""
    parsed = parse_levels(levels, strides, layout, quant, name, split=False)
    count = len(parsed.branches)
    sizes = _anchor_sizes(anchors, count)
    na = sizes.shape[1]
    first = parsed.branches[0][0]
    channels = first.channels
    nc = channels // na - 5
    for (branch,) in parsed.branches:
        if branch.channels != channels or channels % na or nc < 1:
            raise ValueError("%s has %d channels; with %d anchors per level every level "
                             "needs na * (5 + nc) channels, nc >= 1, the same on every level "
                             "(%s has %d); check layout=%r"
                             % (branch.label, branch.channels, na, first.label, channels,
                                layout))
    p, gate = _probability(conf_threshold, sigmoid_applied)
    sigmoid_applied = bool(sigmoid_applied)
    dtype = parsed.dtype
    branches = [branch for (branch,) in parsed.branches]
    # per (level, anchor), in decoding order: grid width, stride, anchor w, h, parameter
    anchor_table = np.array([(branch.width, stride, anchor_w, anchor_h, parameter)
                             for branch, stride, level_sizes, parameter in zip(
                                 branches, parsed.strides, sizes.tolist(), level_parameters)
                             for anchor_w, anchor_h in level_sizes]).T

    def decode(image, scan, multi_label, check_finite, name_batch):
        # Candidates level by level, anchor by anchor (the order errors are found in),
        # then one pass of arithmetic over all of them, in that order.
        kept, cells, counts = [], [], []
        for branch in branches:
            for offset in range(0, na * (5 + nc), 5 + nc):
                found = _scan(scan, branch, image, offset + 4, 1, gate, False, check_finite,
                              name_batch)[0]
                kept.append(_rows(branch, image, offset, 5 + nc, found, check_finite,
                                  name_batch))
                cells.append(found)
                counts.append(len(found))
        raw, cells = np.concatenate(kept, axis=1), np.concatenate(cells)
        width, stride, anchor_w, anchor_h, parameter = np.repeat(anchor_table, counts, axis=1)
        where = (cells % width, cells // width, stride, anchor_w, anchor_h, parameter)
        y = raw if sigmoid_applied else sigmoid(raw)
        products = y[5:] * y[4]
        if multi_label:
            rows, class_ids = np.nonzero(products.T > p)
        else:
            class_ids = products.T.argmax(axis=1)  # NumPy: faster than axis=0
            rows = np.flatnonzero(products[class_ids, np.arange(len(class_ids))] > p)
            class_ids = class_ids[rows]
        with np.errstate(over="ignore"):  # YOLOv3's exp(tw) may exceed float32: inf
            corners = corners_of(np.stack(box_rule(raw[:, rows], y[:, rows],
                                                   *(part[rows] for part in where))))
            return [(corners.astype(dtype), products[class_ids, rows].astype(dtype),
                     class_ids.astype(np.int64))]

    size = sum(branch.cells for branch in branches) * na
    return RawHead(parsed, nc, size, decode)


def yolov5_head(levels, anchors, strides, conf_threshold, layout, quant, sigmoid_applied,
                name: str = "levels") -> RawHead:
    return anchored_head(levels, anchors, strides, conf_threshold, layout, quant,
                         sigmoid_applied, _yolov5_box, [0.0] * _count(levels), name)


def yolov3_head(levels, anchors, strides, conf_threshold, scale_x_y, layout, quant,
                sigmoid_applied, name: str = "levels") -> RawHead:
    count = _count(levels)
    values = [scale_x_y] * count if np.ndim(scale_x_y) == 0 else list(scale_x_y)
    if len(values) != count:
        raise ValueError("scale_x_y must be one number or one per level (%d levels), got %r"
                         % (count, scale_x_y))
    factors = [check.positive(v, "scale_x_y") for v in values]
    return anchored_head(levels, anchors, strides, conf_threshold, layout, quant,
                         sigmoid_applied, _yolov3_box, factors, name)


def _count(levels) -> int:
    """The number of levels, for checks made before ``parse_levels`` (which refuses what
    is not a list)."""
    return len(levels) if isinstance(levels, (list, tuple)) else 1


def _decode(kernel: str, head: RawHead, classes, multi_label, check_finite, backend):
    one_image(head.levels)
    mask = check.class_ids(classes, head.nc)
    scan = implementation(kernel, head.size, backend)
    return concatenate(head.decode(0, scan, bool(multi_label), bool(check_finite), False),
                       head.levels.dtype, mask)



def decode_yolov8_raw(levels: Sequence[Level], strides: Sequence[float],
                      conf_threshold: float = 0.25, *, reg_max: int = 16,
                      layout: str = "nchw", quant: Optional[Sequence] = None,
                      sigmoid_applied: bool = False, multi_label: bool = False,
                      classes: Optional[ArrayLike] = None, check_finite: bool = True,
                      backend: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the raw YOLOv8 / YOLO11 head levels of one image (decoding left to the host,
    as ncnn, TFLite, RKNN and Hailo exports deliver it).

    Each level (stride ``s``, ``H x W`` cells) has ``4 * reg_max`` box channels (side
    ``k`` of ``left, top, right, bottom`` in channels ``k*reg_max .. k*reg_max +
    reg_max - 1``) and ``nc`` class channels, in one array or in separate branches. A
    cell's class is the first class with the largest value; it is kept when that value
    is ``> log(p / (1 - p))`` for ``p = conf_threshold`` (logits, computed in float64:
    ``sigmoid(logit) > p`` without an ``exp`` per cell), its score ``sigmoid(logit)``;
    with ``sigmoid_applied``, kept when the value is ``> p``, the value itself its score.
    For kept cells only, each side is the expectation of a softmax over its ``reg_max``
    bins (DFL), ``d = sum(i * softmax_i)``, and the box is ``((gx + 0.5 - d_left) * s,
    (gy + 0.5 - d_top) * s, (gx + 0.5 + d_right) * s, (gy + 0.5 + d_bottom) * s)``.
    ``multi_label`` and ``classes`` as in ``decode_yolov8``.

    Sigmoids and softmaxes are computed in float64 by NumPy code shared by every backend
    and rounded to the levels' dtype: results are bit-identical across backends, and
    within 1e-6 relative (float32) of any correct float64 evaluation of the formulas.

    Args:
        levels: list with one entry per level, each either one array (1, 4*reg_max + nc,
            H, W) for ``layout="nchw"`` or (1, H, W, 4*reg_max + nc) for ``"nhwc"``, or a
            tuple (or list) of separate arrays ``(box, cls)`` or ``(box, cls, score_sum)``: box
            (1, 4*reg_max, H, W), cls (1, nc, H, W), score_sum (1, 1, H, W) (or their
            NHWC forms; the layout is the same for every array). The batch axis may be
            left out. rknn_model_zoo's YOLOv8 export gives per stride ``box (1, 64, H,
            W)``, ``cls (1, 80, H, W)`` with the sigmoid applied (pass
            ``sigmoid_applied=True``) and a ``score_sum``: group its outputs by three,
            ``[outputs[3*i:3*i+3] for i in range(3)]``. score_sum (a clipped sum of
            class scores, for a pre-filter) is never read: after its own rounding it does
            not provably keep every cell the class threshold keeps; only its shape (one
            channel, the level's grid) is checked. Each array is float (float16 becomes
            float32) or int8/uint8 with its ``quant`` entry; the float arrays share one
            dtype, float32 if any array is quantized.
        strides: one positive stride per level (8, 16, 32 for a 640 model). The grids
            must come from one input size: every ``H * s`` (and ``W * s``) within one
            stride of a common size.
        quant: None when every array is float, else one entry per level: for a one-array
            level its ``(scale, zero_point)`` or None (float); for a split level a pair
            ``(box_quant, cls_quant)``, each ``(scale, zero_point)`` or None, optionally
            with a third entry for score_sum (ignored). An integer array is decoded
            exactly as its ONNX ``DequantizeLinear``, ``float32(q - zero_point) *
            scale`` (``accel._quant``), would be, bit for bit, in float32: the class
            threshold is decided on the codes by one integer cut-off per level, the class
            maximum is taken over codes (the same class: codes and values are in the same
            order), and only the kept cells' channels are dequantized.
        sigmoid_applied: the class channels hold probabilities (the model applies the
            sigmoid, as rknn_model_zoo's exports do); False: logits.
        check_finite: raise ``ValueError`` ("levels[i] has a NaN or infinite value at
            index ...", ``levels[i][k]`` for branch k of a split level; the index in that
            array without its batch axis) on a NaN or infinity in a class channel of any
            cell (the scan tests them as it reads them) or in a box channel of a cell
            kept by the threshold; box channels of the other cells are not tested.
            ``False``: no test, unspecified detections on such values, never a crash.
            Quantized arrays hold no such values.

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)``, levels in the given
        order, cells row-major within a level (then classes, for multi-label).
    """
    head = yolov8_head(levels, strides, conf_threshold, reg_max, layout, quant, sigmoid_applied)
    return _decode("decode_yolov8_raw", head, classes, multi_label, check_finite, backend)


def decode_yolov5_raw(levels: Sequence[ArrayLike], anchors: ArrayLike, strides: Sequence[float],
                      conf_threshold: float = 0.25, *, layout: str = "nchw",
                      quant: Optional[Sequence[QuantEntry]] = None, sigmoid_applied: bool = False,
                      multi_label: bool = False, classes: Optional[ArrayLike] = None,
                      check_finite: bool = True,
                      backend: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the raw YOLOv5 head levels of one image (decoding left to the host).

    Level ``l`` (stride ``s``, ``H x W`` cells, ``na`` anchors of pixel size ``(aw,
    ah)``) has ``na * (5 + nc)`` channels: channel ``k * (5 + nc) + j`` is value ``j`` of
    anchor ``k`` (``tx, ty, tw, th, objectness``, then ``nc`` class values). A (cell,
    anchor) is a candidate when ``sigmoid(objectness) > p`` for ``p = conf_threshold``
    (decided as objectness ``> log(p / (1 - p))``, as YOLOv5 requires); for candidates
    only, with ``y = sigmoid(value)``::

        cx = (2 * y_tx - 0.5 + gx) * s      w = (2 * y_tw) ** 2 * aw
        cy = (2 * y_ty - 0.5 + gy) * s      h = (2 * y_th) ** 2 * ah
        score_c = y_obj * y_c

    then as ``decode_yolov5``: best class (first of equal products), kept when
    ``score > conf_threshold``; ``multi_label`` and ``classes`` likewise. With
    ``sigmoid_applied`` every channel already holds ``y`` (rknn_model_zoo's YOLOv5
    export applies the sigmoid to the whole output; its own C post-processing keeps
    ``obj >= p`` and ``cls > p``, this keeps ``obj > p`` then ``obj * cls > p``).
    Computed in float64 by NumPy code shared by every backend (the backends find the
    candidates), then rounded to the levels' dtype: bit-identical across backends.

    Args:
        levels: list of arrays, one per level, (1, na*(5+nc), H, W) (``layout="nchw"``)
            or (1, H, W, na*(5+nc)) (``"nhwc"``); the batch axis may be left out. Float
            (one dtype; float16 becomes float32) or int8/uint8 with ``quant``.
        anchors: per level, ``na`` anchor sizes in pixels: shape (levels, na, 2) or
            (levels, 2*na) as in YOLOv5's model yaml
            (``[[10,13, 16,30, 33,23], [30,61, 62,45, 59,119], [116,90, 156,198, 373,326]]``).
        strides: one positive stride per level (8, 16, 32), fitting one input size as in
            ``decode_yolov8_raw``.
        quant: None when every level is float, else one ``(scale, zero_point)`` (or None
            for a float level) per level; decoded exactly as the ONNX
            ``DequantizeLinear`` float32 tensor would be, bit for bit (the objectness
            threshold an integer cut-off on the codes, only the candidates' channels
            dequantized).
        sigmoid_applied: every channel holds the sigmoid of the logit (True), or the
            logit (False).
        check_finite: raise ``ValueError`` as ``decode_yolov8_raw`` does on a NaN or
            infinity in the objectness of any (cell, anchor), or in any channel of a
            candidate (objectness above the threshold); the other channels of the other
            (cell, anchor) pairs are not read, so not tested.

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)``, ordered by level, anchor,
        cell (row-major), then class for multi-label: YOLOv5's own output order.
    """
    head = yolov5_head(levels, anchors, strides, conf_threshold, layout, quant, sigmoid_applied)
    return _decode("decode_yolov5_raw", head, classes, multi_label, check_finite, backend)


def decode_yolov3_raw(levels: Sequence[ArrayLike], anchors: ArrayLike, strides: Sequence[float],
                      conf_threshold: float = 0.25, *,
                      scale_x_y: Union[float, Sequence[float]] = 1.0, layout: str = "nchw",
                      quant: Optional[Sequence[QuantEntry]] = None, sigmoid_applied: bool = False,
                      multi_label: bool = False, classes: Optional[ArrayLike] = None,
                      check_finite: bool = True,
                      backend: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the raw YOLOv3 / YOLOv4 (and -tiny) Darknet ``[yolo]`` head levels of one
    image: the convolution outputs before the yolo layer, as ONNX, ncnn, TFLite and RKNN
    conversions of Darknet models deliver them.

    Level ``l`` (stride ``s``, ``H x W`` cells, ``na`` anchors of pixel size ``(aw,
    ah)``, ``k = scale_x_y`` of the level) has ``na * (5 + nc)`` channels laid out as
    YOLOv5's (``tx, ty, tw, th, objectness``, ``nc`` class logits per anchor). Darknet's
    rule (``get_yolo_detections``): a (cell, anchor) is a candidate when ``sigmoid(obj)
    > p`` (``p = conf_threshold``), and class ``c`` scores ``sigmoid(obj) *
    sigmoid(cls_c)``, kept when ``> p``. For candidates, with ``y = sigmoid``::

        cx = (y_tx * k - (k - 1) / 2 + gx) * s      w = exp(tw) * aw
        cy = (y_ty * k - (k - 1) / 2 + gy) * s      h = exp(th) * ah

    (``k = 1``: YOLOv3; YOLOv4 uses 1.2, 1.1, 1.05 for strides 8, 16, 32; Darknet's
    ``new_coords`` heads, scaled-YOLOv4, are not this rule). Single-label keeps the best
    class (first of equal scores) when its score ``> p``; ``multi_label`` every class
    ``> p`` (Darknet's own output); ``classes`` filters. Computed in float64 by NumPy
    code shared by every backend, rounded to the levels' dtype; ``exp`` of a huge ``tw``
    gives an infinite size, as in Darknet.

    Args:
        levels, strides, quant, check_finite: as in ``decode_yolov5_raw``.
        anchors: per level, the anchors its ``mask`` selects, in pixels: (levels, na, 2)
            or (levels, 2*na); YOLOv4: ``[[12,16, 19,36, 40,28], [36,75, 76,55, 72,146],
            [142,110, 192,243, 459,401]]``.
        scale_x_y: one positive number for every level, or one per level.
        sigmoid_applied: the x, y, objectness and class channels hold sigmoids (Darknet's
            yolo layer output; tw and th are raw either way); False: every channel raw.

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)``, ordered by level, anchor,
        cell (row-major), then class for multi-label.
    """
    head = yolov3_head(levels, anchors, strides, conf_threshold, scale_x_y, layout, quant,
                       sigmoid_applied)
    return _decode("decode_yolov3_raw", head, classes, multi_label, check_finite, backend)

