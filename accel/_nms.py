"""Public NMS kernels: the contracts, the validation, and the call into a backend.

The backends' side of these kernels is declared in ``accel._backends``.

IoU, shared by all three kernels and computed in float64 whatever the input dtype::

    area(b) = (x2 - x1) * (y2 - y1)
    iw = min(a.x2, b.x2) - max(a.x1, b.x1);  ih likewise with y
    if iw <= 0 or ih <= 0: iou = 0                      # no overlap
    inter = iw * ih;  union = area(a) + area(b) - inter
    iou = inter / union if union > 0 else 0

No +1 offset. Boxes that only touch, and zero-area boxes, have IoU 0 with everything.
"""
from __future__ import annotations

from typing import Optional, TYPE_CHECKING, Tuple

import numpy as np

from . import _validate as check
from ._dispatch import implementation

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike

_NO_THRESHOLD = float("-inf")


def nms(
    boxes: ArrayLike,
    scores: ArrayLike,
    iou_threshold: float,
    *,
    score_threshold: Optional[float] = None,
    max_output: Optional[int] = None,
    backend: Optional[str] = None,
) -> np.ndarray:
    """Greedy non-maximum suppression.

    Boxes are visited by decreasing score; equal scores are visited in increasing index
    order (a stable sort), on every backend. A box is kept unless its IoU with an
    already kept box is strictly greater than ``iou_threshold``.

    Args:
        boxes: (N, 4) x1, y1, x2, y2 with x1 <= x2 and y1 <= y2; any real dtype.
        scores: (N,) real.
        iou_threshold: in [0, 1].
        score_threshold: boxes with ``score <= score_threshold`` are dropped first.
        max_output: stop once this many boxes are kept (an early exit).
        backend: one of ``accel.BACKEND_NAMES``; overrides every other choice.

    Returns:
        int64 indices into ``boxes`` of the kept boxes, in the order kept (decreasing
        score). Empty input gives an empty int64 array.

    Equals ``torchvision.ops.nms`` on valid input, except where torchvision's unspecified
    tie order differs or an IoU is within float32 rounding of the threshold.
    """
    boxes = check.nms_boxes(boxes)
    n = boxes.shape[0]
    checked = (boxes,)
    try:
        scores = check.nms_scores(scores, n)
        checked = (boxes, scores)
        args = _thresholds(iou_threshold, score_threshold, max_output, n)
        function = implementation("nms", n, backend)
    except Exception:
        _raise_value_error(checked)
        raise
    kept = function(boxes, scores, *args)
    if kept is not None:
        return kept
    _raise_value_error(checked)  # None: the backend found a bad value (accel._backends)
    raise _missed("nms")


def batched_nms(
    boxes: ArrayLike,
    scores: ArrayLike,
    classes: ArrayLike,
    iou_threshold: float,
    *,
    score_threshold: Optional[float] = None,
    max_output: Optional[int] = None,
    backend: Optional[str] = None,
) -> np.ndarray:
    """Class-aware NMS: exactly ``nms`` run on each class, results merged.

    A box can only be suppressed by a kept box of the same class. The kept boxes of all
    classes are returned by decreasing score, equal scores by increasing index.
    ``max_output`` bounds the merged total (an early exit: the best ``max_output`` of
    the merged result). No coordinate-offset trick is used: torchvision and ultralytics
    shift boxes by ``class * offset``, which changes the float arithmetic and can change
    the answer; here every IoU is computed on the boxes as given.

    Args:
        classes: (N,) integer class ids (any integer dtype).
        The others as in ``nms``.

    Returns:
        int64 indices of the kept boxes, decreasing score.
    """
    boxes = check.nms_boxes(boxes)
    n = boxes.shape[0]
    checked = (boxes,)
    try:
        scores = check.nms_scores(scores, n)
        checked = (boxes, scores)
        classes = check.classes_array(classes, n)
        args = _thresholds(iou_threshold, score_threshold, max_output, n)
        function = implementation("batched_nms", n, backend)
    except Exception:
        _raise_value_error(checked)
        raise
    kept = function(boxes, scores, classes, *args)
    if kept is not None:
        return kept
    _raise_value_error(checked)
    raise _missed("batched_nms")


def soft_nms(
    boxes: ArrayLike,
    scores: ArrayLike,
    *,
    method: str = "gaussian",
    sigma: float = 0.5,
    iou_threshold: float = 0.3,
    score_threshold: float = 0.001,
    max_output: Optional[int] = None,
    backend: Optional[str] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Soft-NMS (Bodla et al., 2017): decay the scores of overlapping boxes.

    Boxes with ``score < score_threshold`` are dropped at the start. Then, repeatedly:
    select the remaining box with the highest current score (equal scores: the lower
    index); decay the score ``s`` of every other remaining box by its IoU with the
    selected one:

    * ``method="linear"``: ``s = s * (1 - iou)`` when ``iou > iou_threshold``;
    * ``method="gaussian"``: ``s = s * exp(-(iou * iou) / sigma)`` when ``iou > 0``
      (``iou_threshold`` is not used);

    and drop the boxes whose score is now below ``score_threshold``. Stops when no box
    remains or ``max_output`` boxes are selected.

    Returns:
        ``(indices, selected_scores)``: int64 indices in selection order and float64
        scores at the moment each was selected. Indices are identical on every backend;
        scores agree within 1e-12 relative (``exp`` may differ in the last bit between
        math libraries).
    """
    boxes = check.boxes_array(boxes)
    n = boxes.shape[0]
    scores = check.scores_array(scores, n)
    gaussian = check.choice(method, "method", ("linear", "gaussian")) == "gaussian"
    sigma = check.positive(sigma, "sigma")
    iou_threshold = check.unit_interval(iou_threshold, "iou_threshold")
    score_threshold = check.finite_or_default(score_threshold, "score_threshold", _NO_THRESHOLD)
    max_output = check.count_or_default(max_output, "max_output", n)
    return implementation("soft_nms", n, backend)(
        boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output
    )


def _thresholds(iou_threshold, score_threshold, max_output, n: int):
    if (type(iou_threshold) is float and 0.0 <= iou_threshold <= 1.0
            and score_threshold is None and max_output is None):
        return iou_threshold, _NO_THRESHOLD, n  # the common call, decided at once
    return (
        check.unit_interval(iou_threshold, "iou_threshold"),
        check.finite_or_default(score_threshold, "score_threshold", _NO_THRESHOLD),
        check.count_or_default(max_output, "max_output", n),
    )


def _raise_value_error(checked) -> None:
    """Raise what the checks of the values of ``checked`` (boxes, then scores if there)
    find, if anything: the backends check the values of the NMS kernels' inputs (see
    ``accel._backends``), and the public layer reports the first bad one exactly as it
    did when it checked them itself, before any later argument."""
    error = check.nms_value_error(*checked)
    if error is not None:
        raise error from None  # not "during handling of" the error it takes precedence over


def _missed(kernel: str) -> RuntimeError:
    return RuntimeError("accel %s: the backend reported an invalid box or score that the "
                        "public checks do not find; this is a bug" % kernel)
