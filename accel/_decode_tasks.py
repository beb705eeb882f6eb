"""Public decoders of the pose and oriented-box heads of YOLOv8/11, and their letterbox
inverses. Both are the YOLOv8 detection head with more channels after the classes, so
they run the same backend scan; what differs is shared NumPy code on the kept rows."""
from __future__ import annotations

import math
from typing import Optional, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _validate as check
from ._decode_common import box_scale_pair, one_image, quantized_prediction
from ._decode_heads import (YOLOV8, anchors_last, classes_beside,
                            corners_of, decode_image, with_docs)
from ._dispatch import implementation
from ._geometry import LetterboxInfo
from ._scale_boxes import scale_boxes

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike


def decode_yolov8_pose(pred: ArrayLike, conf_threshold: float = 0.25, *,
                       kpt_shape: Tuple[int, int] = (17, 3), nc: Optional[int] = None,
                       classes: Optional[ArrayLike] = None, check_finite: bool = True,
                       anchor_axis: Optional[int] = None,
                       quant: Optional[Tuple[float, int]] = None,
                       box_scale: Union[float, Tuple[float, float], None] = None,
                       backend: Optional[str] = None
                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode one image's YOLOv8/11-pose output ``(1, 4 + nc + K * D, A)``.

    The export has already decoded the keypoints (x, y in input pixels, then a
    visibility that is already a sigmoid when ``D == 3``), so this is ``decode_yolov8``
    with the ``K * D`` keypoint channels gathered for the kept anchors. ``nc`` defaults
    to what the channels leave after the keypoints (1 for COCO person pose).

    Args:
{quant}
{box_scale}
            The keypoints' x and y are normalised too, and multiplied by W and H likewise
            (ultralytics' ``x[:, 5::3] *= w``, ``x[:, 6::3] *= h`` for its one-class pose
            models); visibilities unchanged.

    Returns:
        ``(boxes (N, 4) x1, y1, x2, y2, scores (N,), class_ids int64 (N,), keypoints (N,
        K, D))`` in the output's dtype (float32 when quantized), anchors in increasing
        order (as ``decode_yolov8``).
    """
    keypoints, dims = keypoint_shape(kpt_shape)
    scale = box_scale_pair(box_scale)
    boxes, scores, class_ids, points = _decode_rows(pred, conf_threshold, keypoints * dims, nc,
                                                    classes, check_finite, anchor_axis, backend,
                                                    "pose", keypoint_text(keypoints, dims),
                                                    quant, scale)
    return (corners_of(boxes.T), scores, class_ids,
            scale_keypoint_xy(points.reshape(-1, keypoints, dims), scale))


def decode_yolov8_obb(pred: ArrayLike, conf_threshold: float = 0.25, *, nc: Optional[int] = None,
                      classes: Optional[ArrayLike] = None, check_finite: bool = True,
                      anchor_axis: Optional[int] = None,
                      quant: Optional[Tuple[float, int]] = None,
                      box_scale: Union[float, Tuple[float, float], None] = None,
                      regularize: bool = True, backend: Optional[str] = None
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one image's YOLOv8/11-obb output ``(1, 4 + nc + 1, A)``: cx, cy, w, h, the
    class scores, then the angle in radians.

    With ``regularize`` (the default) each kept box is regularised as ultralytics 8.1 to
    8.3's OBB predictor did (its ``regularize_rboxes`` of those versions), in the output's
    dtype: ``w, h = max, min`` of the two (``w > h`` keeps them), and the angle becomes
    ``angle % pi`` when ``w > h``, else ``(angle + pi/2) % pi``; the same rectangle, with
    ``w >= h`` and an angle in ``[0, pi)``. ``regularize=False`` leaves the head's w, h
    and angle as they come, as ultralytics' predictor does since 8.4 (its
    ``regularize_rboxes`` now maps angles to ``[0, pi/2)`` and serves training only). The
    rectangle, and so probiou and every NMS decision, is the same either way.

    Args:
{quant}
{box_scale}
            The angle is not scaled.
        regularize: as above.

    Returns:
        ``(rboxes (N, 5) cx, cy, w, h, angle, scores (N,), class_ids int64 (N,))`` in the
        output's dtype (float32 when quantized), anchors in increasing order.
    """
    return obb_rows(pred, conf_threshold, nc, classes, check_finite, anchor_axis, backend,
                    quant, box_scale, check.flag(regularize, "regularize"))


def obb_rows(pred, conf_threshold, nc, classes, check_finite, anchor_axis, backend, quant=None,
             box_scale=None, regularized=True, where=None):
    """``decode_yolov8_obb``; ``where``: what a non-finite value's error calls ``pred``
    (``("pred", (b,))`` for image b of a batch)."""
    boxes, scores, class_ids, angle = _decode_rows(pred, conf_threshold, 1, nc, classes,
                                                   check_finite, anchor_axis, backend, "obb",
                                                   "the angle channel", quant,
                                                   box_scale_pair(box_scale), where)
    rboxes = np.concatenate([boxes, angle], axis=1)
    return (regularize(rboxes) if regularized else rboxes), scores, class_ids


if decode_yolov8_pose.__doc__:  # None under python -OO
    decode_yolov8_pose.__doc__ = with_docs(decode_yolov8_pose.__doc__)
    decode_yolov8_obb.__doc__ = with_docs(decode_yolov8_obb.__doc__)


def scale_keypoint_xy(points: np.ndarray, box_scale) -> np.ndarray:
    """(N, K, D) keypoints with x times W and y times H of ``box_scale`` (in their dtype),
    or ``points`` itself without one."""
    if box_scale is None:
        return points
    out = points.copy()
    out[..., 0] *= out.dtype.type(box_scale[0])
    out[..., 1] *= out.dtype.type(box_scale[1])
    return out


def regularize(rboxes: np.ndarray) -> np.ndarray:
    """ultralytics 8.1-8.3's ``regularize_rboxes`` in NumPy, in the boxes' dtype."""
    w, h, angle = rboxes[:, 2], rboxes[:, 3], rboxes[:, 4]
    wider = w > h
    pi = rboxes.dtype.type(math.pi)
    out = rboxes.copy()
    out[:, 2] = np.where(wider, w, h)
    out[:, 3] = np.where(wider, h, w)
    out[:, 4] = np.mod(np.where(wider, angle, angle + rboxes.dtype.type(math.pi / 2)), pi)
    return out


def keypoint_shape(value) -> Tuple[int, int]:
    try:
        # a list, not a generator: PyPy misreports a TypeError raised inside an unpacked one
        keypoints, dims = [int(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError("kpt_shape must be (K, D) with D 2 or 3, got %r" % (value,)) from None
    if keypoints < 1 or dims not in (2, 3):
        raise ValueError("kpt_shape must be (K, D) with K >= 1 and D 2 or 3, got %r" % (value,))
    return keypoints, dims


def keypoint_text(keypoints: int, dims: int) -> str:
    return "kpt_shape=(%d, %d) (%d keypoint channels)" % (keypoints, dims, keypoints * dims)


def scale_keypoints(keypoints: np.ndarray, info: LetterboxInfo, clip: bool = True,
                    backend: Optional[str] = None) -> np.ndarray:
    """Keypoints (N, K, D) from letterboxed to frame pixels by ``scale_boxes`` itself: the
    points' (x, y) pairs, two by two, are rows x, y, x, y of boxes (one point repeated
    when their count is odd). Visibilities unchanged."""
    points = np.ascontiguousarray(keypoints[..., :2]).reshape(-1, 2)
    count = points.shape[0]
    if count % 2:
        points = np.concatenate([points, points[:1]])
    scaled = scale_boxes(points.reshape(-1, 4), info, clip=clip, backend=backend)
    out = keypoints.copy()
    out[..., :2] = scaled.reshape(-1, 2)[:count].reshape(keypoints.shape[:-1] + (2,))
    return out


def scale_rboxes(rboxes: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """Rotated boxes from letterboxed to frame pixels: centres ``(c - pad) / r`` and sizes
    ``/ r`` with the letterbox's uniform ratio ``r`` (a non-uniform scale would not keep
    a rectangle); angles unchanged. Not clipped: a rotated box's centre may lie outside."""
    out = rboxes.astype(np.float64)
    out[:, 0] -= info.pad_left
    out[:, 1] -= info.pad_top
    out[:, :4] /= info.scale
    return out.astype(rboxes.dtype)


def _decode_rows(pred, conf_threshold, extra, nc, classes, check_finite, anchor_axis, backend,
                 task, what, quant, box_scale, where=None):
    """``(cx, cy, w, h (K, 4), scores, class_ids, extra channels (K, extra))`` of the kept
    anchors of a YOLOv8-style output with ``extra`` channels after the classes
    (single-label, as ultralytics decodes pose and OBB heads); boxes times ``box_scale``
    (checked), extras as they are (dequantized)."""
    given, params = quantized_prediction(pred, "pred", quant)
    image = one_image(given, "pred", "(4 + nc + %s, A)" % ("K * D" if task == "pose" else "1"))
    last = anchors_last(YOLOV8, given.shape, anchor_axis)
    n_anchors = image.shape[1] if last else image.shape[0]
    nc_value = classes_beside(given.shape, YOLOV8, last, extra, nc, what)
    threshold = check.unit_interval(conf_threshold, "conf_threshold")
    mask = check.class_ids(classes, nc_value)
    scan = implementation("decode_yolov8_%s" % task, n_anchors, backend)
    return decode_image(image, YOLOV8, last, nc_value, threshold, False, mask, scan,
                        bool(check_finite),
                        where or ("pred", (0,) if given.ndim == 3 else ()), corners=False,
                        params=params, box_scale=box_scale)
