"""Public rotated NMS over (cx, cy, w, h, angle): greedy ``nms_rotated`` and
``batched_nms_rotated``, and ultralytics' non-greedy ``fast_nms_rotated``."""
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


CLASS_OFFSET = 7680.0  # ultralytics' max_wh: classes apart by this much on both axes


def fast_nms_rotated(rboxes: ArrayLike, scores: ArrayLike, iou_threshold: float, *,
                     classes: Optional[ArrayLike] = None,
                     score_threshold: Optional[float] = None,
                     max_output: Optional[int] = None,
                     backend: Optional[str] = None) -> np.ndarray:
    """ultralytics' OBB NMS ("fast NMS" over probiou, ``TorchNMS.fast_nms`` with
    ``batch_probiou``), non-greedy: boxes by decreasing score (equal scores: lower index
    first); a box is dropped iff some box before it, kept **or dropped**, has a probiou
    strictly greater than ``iou_threshold`` with it. So a chain A > B > C where A drops
    B and only B overlaps C also drops C (greedy NMS keeps it): fast NMS never keeps
    more than greedy probiou NMS.

    probiou as ``nms_rotated(..., iou="probiou")``, in float64 (ultralytics computes in
    the tensors' dtype, float32 for a model output: a pair within float32 rounding of
    the threshold may be decided differently). Boxes of zero width or height are allowed:
    two zero-size boxes have probiou ~0.9996 wherever they are, as in ultralytics.

    Args:
        rboxes: (N, 5) cx, cy, w, h, angle in radians; finite, ``w, h >= 0``; any real
            dtype (computed in float64).
        scores: (N,) real.
        iou_threshold: in [0, 1].
        classes: (N,) integer class ids, or None (class-agnostic). As ultralytics makes
            its NMS class-aware, each centre is shifted by ``class * 7680`` on both axes
            first (in float64): boxes of different classes then rarely suppress each
            other, but can (two zero-size boxes always do).
        score_threshold: boxes with ``score <=`` it are dropped first (and suppress
            nothing).
        max_output: keep at most this many (the first ones: a box's fate depends only
            on the boxes before it).

    Returns:
        int64 indices of the kept boxes by decreasing score.
    """
    boxes = rboxes_array(rboxes)
    n = boxes.shape[0]
    scores = check.scores_array(scores, n)
    if classes is not None:
        classes = check.classes_array(classes, n)
    threshold, floor, limit = _options(iou_threshold, score_threshold, max_output, n)
    return fast_nms(boxes, scores, classes, threshold, floor, limit, backend)


def fast_nms(boxes, scores, classes, threshold, floor, limit, backend):
    """``fast_nms_rotated`` on validated arrays: ``boxes`` float64 (N, 5) (not modified),
    ``scores`` float64 (N,) read-only, ``classes`` int64 (N,) or None; values as given
    (a NaN row suppresses nothing and is kept unless another suppresses it)."""
    if classes is not None:
        shift = classes.astype(np.float64) * CLASS_OFFSET
        boxes = boxes.copy()
        boxes[:, 0] += shift
        boxes[:, 1] += shift
    return implementation("fast_nms_rotated", boxes.shape[0], backend)(
        geometry(boxes, "probiou"), scores, threshold, floor, limit)


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
    """What the backends' IoU reads per box (boundary in ``accel._backends``). A size
    whose square overflows gives inf or NaN terms without a warning: the backends then
    compute what the reference computes with them (for probiou, NaN: no suppression)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return check.readonly(_geometry(rboxes, kind))


def _geometry(rboxes: np.ndarray, kind: str) -> np.ndarray:
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
    return out
