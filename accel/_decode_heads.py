"""Public decoders of exported (decoded) heads: YOLOv8 / YOLO11 and YOLOv5 outputs."""
from __future__ import annotations

from typing import Optional, TYPE_CHECKING, Tuple

import numpy as np

from . import _validate as check
from ._decode_common import at_or_below, class_count, corners_of, filter_classes, one_image, prediction
from ._dispatch import implementation

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike


def decode_v8_image(pred, nc, threshold, multi_label, mask, scan):
    channels, n_anchors = pred.shape
    anchors, class_ids, scores = filter_classes(mask, scan(
        pred.reshape(-1), n_anchors, 1, n_anchors, 4, nc, -1,
        at_or_below(threshold, pred.dtype), multi_label), 1)
    return (corners_of(pred[:4].take(anchors, axis=1)), scores, class_ids,
            pred[4 + nc:].take(anchors, axis=1).T.copy())


def decode_v5_image(pred, nc, threshold, multi_label, mask, scan):
    n_anchors, channels = pred.shape
    anchors, class_ids, scores = filter_classes(mask, scan(
        pred.reshape(-1), n_anchors, channels, 1, 5, nc, 4,
        at_or_below(threshold, pred.dtype), multi_label), 1)
    rows = pred.take(anchors, axis=0)
    return corners_of(rows[:, :4].T), scores, class_ids, rows[:, 5 + nc:].copy()


def _result(decoded, nc_given: bool):
    return decoded if nc_given else decoded[:3]


def decode_yolov8(pred: ArrayLike, conf_threshold: float = 0.25, *, nc: Optional[int] = None,
                  multi_label: bool = False, classes: Optional[ArrayLike] = None,
                  check_finite: bool = True,
                  backend: Optional[str] = None) -> Tuple[np.ndarray, ...]:
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
    pred = one_image(prediction(pred, "pred", check_finite), "pred", "(4 + nc, A)")
    nc_value = class_count(nc, pred.shape[0] - 4, "pred", "axis -2 after the 4 box channels")
    threshold = check.unit_interval(conf_threshold, "conf_threshold")
    mask = check.class_ids(classes, nc_value)
    scan = implementation("decode_yolov8", pred.shape[1], backend)
    return _result(decode_v8_image(pred, nc_value, threshold, bool(multi_label), mask, scan),
                   nc is not None)


def decode_yolov5(pred: ArrayLike, conf_threshold: float = 0.25, *, nc: Optional[int] = None,
                  multi_label: bool = False, classes: Optional[ArrayLike] = None,
                  check_finite: bool = True,
                  backend: Optional[str] = None) -> Tuple[np.ndarray, ...]:
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
    pred = one_image(prediction(pred, "pred", check_finite), "pred", "(A, 5 + nc)")
    nc_value = class_count(nc, pred.shape[1] - 5, "pred",
                            "axis -1 after the 4 box channels and the objectness")
    threshold = check.unit_interval(conf_threshold, "conf_threshold")
    mask = check.class_ids(classes, nc_value)
    scan = implementation("decode_yolov5", pred.shape[0], backend)
    return _result(decode_v5_image(pred, nc_value, threshold, bool(multi_label), mask, scan),
                   nc is not None)
