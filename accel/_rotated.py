"""Public rotated NMS: ``nms_rotated`` and ``batched_nms_rotated`` over (cx, cy, w, h, angle)."""
from __future__ import annotations

import math
from typing import Optional, TYPE_CHECKING

import numpy as np

from . import _validate as check
from ._dispatch import implementation

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike

IOU_KINDS = ("polygon", "probiou")


def nms_rotated(rboxes: ArrayLike, scores: ArrayLike, iou_threshold: float, *,
                iou: str = "polygon", score_threshold: Optional[float] = None,
                max_output: Optional[int] = None, backend: Optional[str] = None) -> np.ndarray:
    """Greedy NMS of rotated boxes, with ``nms``'s rules: boxes by decreasing score (equal
    scores by increasing index), a box kept unless its IoU with a kept box is strictly
    greater than ``iou_threshold``; ``score_threshold`` drops boxes with ``score <=`` it
    first; ``max_output`` stops early.

    Two IoUs:

    - ``iou="polygon"``: the exact IoU of the two rectangles, as detectron2 / mmcv
      ``nms_rotated``: intersection area (the first rectangle cut to the second,
      Sutherland-Hodgman, shoelace area) over ``w1*h1 + w2*h2 - intersection``; 0 when
      the union is not > 0. Corners ``c +- v1 +- v2`` with ``v1 = (w/2 cos t, w/2 sin
      t)``, ``v2 = (-h/2 sin t, h/2 cos t)`` (ultralytics' ``xywhr2xyxyxyxy``). Pairs
      whose circumscribed circles (radius ``sqrt(w^2 + h^2) / 2``, widened by 1e-9
      relative) do not meet have IoU 0 without further arithmetic.
    - ``iou="probiou"``: ultralytics' ``batch_probiou`` (the Hellinger distance of the
      boxes' Gaussians, ``eps = 1e-7``), in float64. Where two degenerate boxes make
      ``(a1+a2)(b1+b2) - (c1+c2)^2`` round below 0 (ultralytics then computes NaN), it is
      taken as 0.

    Every backend computes the polygon IoU with the same operations in the same order
    from the same corners (computed once, here), so polygon results are identical
    everywhere. probiou uses ``log``, ``exp`` and ``sqrt``, whose last bit may differ
    between libm and NumPy's vector code: indices are identical except where an IoU is
    within 1e-12 of the threshold.

    Args:
        rboxes: (N, 5) cx, cy, w, h, angle in radians; finite, ``w, h >= 0``; any real
            dtype (computed in float64).
        scores: (N,) real.
        iou_threshold: in [0, 1].

    Returns:
        int64 indices of the kept boxes, in the order kept (decreasing score).
    """
    kind = _kind(iou)
    rboxes = rboxes_array(rboxes)
    n = rboxes.shape[0]
    scores = check.scores_array(scores, n)
    threshold, floor, limit = _options(iou_threshold, score_threshold, max_output, n)
    return implementation("nms_rotated", n, backend)(
        geometry(rboxes, kind), scores, IOU_KINDS.index(kind), threshold, floor, limit)


def batched_nms_rotated(rboxes: ArrayLike, scores: ArrayLike, classes: ArrayLike,
                        iou_threshold: float, *, iou: str = "polygon",
                        score_threshold: Optional[float] = None,
                        max_output: Optional[int] = None,
                        backend: Optional[str] = None) -> np.ndarray:
    """Class-aware ``nms_rotated``: exactly ``nms_rotated`` per class, merged by
    decreasing score (ties: lower index), ``max_output`` bounding the merged total. No
    coordinate offset per class (ultralytics adds ``class * 7680`` to the centres, which
    changes the arithmetic)."""
    kind = _kind(iou)
    rboxes = rboxes_array(rboxes)
    n = rboxes.shape[0]
    scores = check.scores_array(scores, n)
    classes = check.classes_array(classes, n)
    threshold, floor, limit = _options(iou_threshold, score_threshold, max_output, n)
    return implementation("batched_nms_rotated", n, backend)(
        geometry(rboxes, kind), scores, classes, IOU_KINDS.index(kind), threshold, floor, limit)


def _kind(value) -> str:
    return check.choice(value, "iou", IOU_KINDS)


def _options(iou_threshold, score_threshold, max_output, n):
    return (check.unit_interval(iou_threshold, "iou_threshold"),
            check.finite_or_default(score_threshold, "score_threshold", -math.inf),
            check.count_or_default(max_output, "max_output", n))


def rboxes_array(value, name: str = "rboxes") -> np.ndarray:
    """(N, 5) cx, cy, w, h, angle as float64: finite, w and h >= 0."""
    boxes = check.real_array(value, name, 2)
    if boxes.shape[1] != 5:
        raise ValueError("%s must have shape (N, 5): cx, cy, w, h, angle in radians; got %s"
                         % (name, boxes.shape))
    finite = np.isfinite(boxes).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ValueError("%s has a NaN or infinite value in row %d: %s" % (name, row, boxes[row]))
    negative = (boxes[:, 2] < 0) | (boxes[:, 3] < 0)
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise ValueError("%s row %d has a negative width or height: %s" % (name, row, boxes[row]))
    return boxes


def corners(rboxes: np.ndarray) -> np.ndarray:
    """(N, 4, 2) corners in counter-clockwise order (positive shoelace area for w, h > 0):
    ultralytics' ``xywhr2xyxyxyxy`` points 1, 4, 3, 2."""
    centre = rboxes[:, None, :2]
    cos, sin = np.cos(rboxes[:, 4]), np.sin(rboxes[:, 4])
    half_w, half_h = rboxes[:, 2] / 2, rboxes[:, 3] / 2
    v1 = np.stack([half_w * cos, half_w * sin], axis=1)[:, None, :]
    v2 = np.stack([-half_h * sin, half_h * cos], axis=1)[:, None, :]
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)  # (v1, v2) signs
    return centre + signs[None, :, :1] * v1 + signs[None, :, 1:] * v2


def geometry(rboxes: np.ndarray, kind: str) -> np.ndarray:
    """What the backends' IoU reads per box (boundary in ``accel._backends``)."""
    n = rboxes.shape[0]
    w, h = rboxes[:, 2], rboxes[:, 3]
    if kind == "polygon":
        out = np.empty((n, 12), dtype=np.float64)
        out[:, :8] = corners(rboxes).reshape(n, 8)
        out[:, 8:10] = rboxes[:, :2]
        out[:, 10] = 0.5 * np.sqrt(w * w + h * h) * (1 + 1e-9)
        out[:, 11] = w * h
    else:
        a, b = w * w / 12, h * h / 12
        cos, sin = np.cos(rboxes[:, 4]), np.sin(rboxes[:, 4])
        cos2, sin2 = cos * cos, sin * sin
        out = np.empty((n, 6), dtype=np.float64)
        out[:, :2] = rboxes[:, :2]
        out[:, 2] = a * cos2 + b * sin2
        out[:, 3] = a * sin2 + b * cos2
        out[:, 4] = (a - b) * cos * sin
        out[:, 5] = np.maximum(out[:, 2] * out[:, 3] - out[:, 4] * out[:, 4], 0.0)
    return check.readonly(out)


def probiou_matrix(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """probiou of every (row, column) pair of two probiou geometry arrays (N, 6), (M, 6):
    the backends' formula (``accel._backends.python.rotated.probiou``), vectorised."""
    eps = 1e-7
    x1, y1, a1, b1, c1, d1 = (rows[:, i, None] for i in range(6))
    x2, y2, a2, b2, c2, d2 = (cols[None, :, i] for i in range(6))
    a, b, c = a1 + a2, b1 + b2, c1 + c2
    spread = np.maximum(a * b - c * c, 0.0)
    denominator = spread + eps
    dy, dx = y1 - y2, x1 - x2
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    t3 = np.log(spread / (4.0 * np.sqrt(d1 * d2) + eps) + eps) * 0.5
    distance = np.clip(t1 + t2 + t3, eps, 100.0)
    return 1.0 - np.sqrt(1.0 - np.exp(-distance) + eps)


def fast_nms_probiou(rboxes: np.ndarray, scores: np.ndarray, classes: Optional[np.ndarray],
                     iou_threshold: float, block: int = 256) -> np.ndarray:
    """ultralytics' OBB NMS ("fast NMS"): boxes by decreasing score (ties: lower index);
    box j is kept iff no box before it, kept or not, has probiou >= ``iou_threshold`` with
    it. Class-aware as ultralytics makes it: centres shifted by ``class * 7680``. Returns
    the kept indices in score order. Memory: ``block`` columns of the matrix at a time."""
    order = np.argsort(-scores, kind="stable")
    boxes = rboxes[order].astype(np.float64)
    if classes is not None:
        boxes[:, :2] += classes[order, None].astype(np.float64) * 7680.0
    g = geometry(boxes, "probiou")
    n = len(order)
    suppressed = np.zeros(n, dtype=bool)
    for start in range(0, n, block):
        stop = min(n, start + block)
        ious = probiou_matrix(g[:stop], g[start:stop])  # rows 0..stop-1, columns start..stop-1
        earlier = np.arange(stop)[:, None] < np.arange(start, stop)[None, :]
        suppressed[start:stop] = ((ious >= iou_threshold) & earlier).any(axis=0)
    return order[~suppressed]
