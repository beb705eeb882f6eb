"""Public ``postprocess``: detector output to final detections (decode, NMS, unletterbox).

It composes one backend's scan, NMS and ``scale_boxes``; it imports the decoders, never
the reverse.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _validate as check
from ._decode_common import FORMATS, box_scale_pair, quantized_prediction
from ._decode_heads import (YOLOV5, YOLOV5_PREMULTIPLIED, YOLOV8, anchors_last, channel_count,
                            classes_beside, decode_image)
from ._dispatch import backend_module
from ._geometry import LetterboxInfo, inverse_mapping
from ._decode_tasks import (keypoint_shape, keypoint_text, obb_rows, scale_keypoint_xy,
                            scale_keypoints, scale_rboxes)
from ._masks import process_masks
from ._postprocess_raw import RAW_FORMATS, postprocess_raw, refuse_raw_options
from ._quant import dequantize
from ._rotated import batched_nms_rotated, fast_nms, nms_rotated

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike


def _letterbox_infos(letterbox, batch: int):
    if letterbox is None or isinstance(letterbox, LetterboxInfo):
        return [letterbox] * batch
    infos = list(letterbox)
    if len(infos) != batch or not all(isinstance(i, LetterboxInfo) for i in infos):
        raise TypeError("letterbox must be a LetterboxInfo, or a list of %d (one per image)"
                        % batch)
    return infos


SEGMENTATION = ("yolov8-seg", "yolo11-seg", "yolov5-seg")
POSE = ("yolov8-pose", "yolo11-pose")
OBB = ("yolov8-obb", "yolo11-obb")
OBB_NMS = ("fast", "greedy")
PROTO_STRIDE = 4  # YOLO segmentation heads: prototypes at a quarter of the input size


def postprocess(pred: ArrayLike, format: str = "yolov8", *, conf_threshold: float = 0.25,
                iou_threshold: float = 0.7, classes: Optional[ArrayLike] = None,
                agnostic: bool = False,
                multi_label: bool = False, max_det: int = 300, max_nms: int = 30000,
                nc: Optional[int] = None,
                letterbox: Union[LetterboxInfo, Sequence[LetterboxInfo], None] = None,
                check_finite: bool = True, anchor_axis: Optional[int] = None,
                protos: Optional[ArrayLike] = None,
                kpt_shape: Tuple[int, int] = (17, 3), obb_nms: str = "fast",
                obb_regularize: bool = True,
                quant: Union[Tuple[float, int], Sequence, None] = None,
                box_scale: Union[float, Tuple[float, float], None] = None,
                premultiplied: bool = False,
                protos_quant: Optional[Tuple[float, int]] = None,
                strides: Optional[Sequence[float]] = None, anchors: Optional[ArrayLike] = None,
                reg_max: Optional[int] = None, layout: Optional[str] = None,
                sigmoid_applied: bool = False,
                scale_x_y: Union[float, Sequence[float], None] = None,
                backend: Optional[str] = None
                ) -> Union[List[np.ndarray], List[Tuple[np.ndarray, np.ndarray]]]:
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
        check_finite: as in ``decode_yolov8`` / ``decode_yolov5``, image by image: a NaN
            or infinity in a value the scan reads (class scores; YOLOv5: objectness, and
            class scores of anchors whose objectness passes) or in a box or extra channel
            of a decoded candidate (before ``max_nms`` and NMS) raises ``ValueError``
            naming its index in ``pred``; one in a box of an anchor not kept does not.
        anchor_axis: as in ``decode_yolov8`` / ``decode_yolov5``: ``None`` refuses an
            output whose axes contradict the format; -1 or -2 says where the anchors are.
        quant: ``(scale, zero_point)`` of an int8/uint8 ``pred`` (one pair for the whole
            batch tensor; the raw formats take one entry per level, as their decoders
            do), for every format: the detections are, bit for bit, those of
            the float32 tensor ``DequantizeLinear(pred)``, decoded as ``decode_yolov8`` /
            ``decode_yolov5`` decode a quantized output (a code cut-off, maxima over
            codes, only the candidates dequantized); float32 results. Required for an
            integer ``pred``, refused for a float one.
        box_scale: ``(W, H)`` or one number: the boxes (and the keypoints of the pose
            formats) are normalised to [0, 1] of the model input and multiplied by it
            before decoding, as in ``decode_yolov8``: ultralytics' TFLite exports (float
            and int8) need it; ONNX and the other runtimes give pixels.
        premultiplied: ``format="yolov5"`` only: the class scores already include the
            objectness (OpenCV's Darknet region layers; ``decode_yolov5``). For such a
            model's list of layer outputs, concatenate them first (``np.concatenate(outs)``).
        protos_quant: ``(scale, zero_point)`` of int8/uint8 ``protos`` (segmentation),
            dequantized (``DequantizeLinear``) before the masks are computed.
        backend: one backend runs every step (its scan, NMS and scale_boxes).

    Segmentation (``format="yolov8-seg"``, ``"yolo11-seg"``, ``"yolov5-seg"``): ``pred``
    is the detection output, whose last C channels are mask coefficients, and
    ``protos`` the prototype output, (B, C, mh, mw) or (C, mh, mw) for one image; the
    class count follows from C (no ``nc=`` needed). After the steps above, each image's
    masks come from ``process_masks``: with ``letterbox``, on the original frame (boxes
    in frame pixels, ultralytics' ``retina_masks=True``); without, at the model input,
    ``PROTO_STRIDE`` (4) times the prototype size (ultralytics' default).

    Pose (``"yolov8-pose"``, ``"yolo11-pose"``): the keypoint channels (``kpt_shape``, K
    keypoints of D = 2 or 3 values) are the extras; the keypoints go through the
    letterbox with ``scale_boxes``' arithmetic (clipped to the frame), visibilities
    unchanged. ``nc`` defaults to what the keypoints leave (1 for COCO pose).

    Oriented boxes (``"yolov8-obb"``, ``"yolo11-obb"``; output ``(B, 4 + nc + 1, A)``):
    per image ``decode_yolov8_obb`` (single-label; boxes regularised unless
    ``obb_regularize=False``, which gives ultralytics >= 8.4's w, h, angle), the ``max_nms``
    best, then ``obb_nms="fast"``: ultralytics' own OBB NMS, ``fast_nms_rotated``
    (probiou, non-greedy: a box is dropped when any higher-scored box, suppressed or
    not, has probiou > the threshold; classes apart by its ``class * 7680`` centre shift
    unless ``agnostic``), or ``"greedy"``: ``batched_nms_rotated`` / ``nms_rotated``
    with ``iou="probiou"`` (``nms``'s rules). Then ``max_det``, and centres and sizes
    through the letterbox (``(c - pad) / r``, sizes ``/ r``; angles unchanged).

    Raw heads (``"yolov8-raw"``/``"yolo11-raw"``, ``"yolov5-raw"``, ``"yolov3-raw"``):
    ``pred`` is the list of levels ``decode_yolov8_raw`` / ``decode_yolov5_raw`` /
    ``decode_yolov3_raw`` take, decoded by their rules (``strides`` needed, ``anchors``
    for the anchored formats; ``reg_max`` (default 16), ``layout`` ("nchw"), ``quant``,
    ``sigmoid_applied``, ``scale_x_y`` (1.0) as there, each only for its formats), then
    the steps above. Arrays with a batch axis of B give B images (image b: ``[b]`` of
    every array); a NaN or infinity is named with its batch index when the arrays have
    one. Which exports each serves: ``accel._postprocess_raw``.

    Returns:
        A list with one array per image, (K, 6 + E) in the output's dtype: x1, y1, x2,
        y2, score, class, then the E extra channels (with ``nc``); rows by decreasing
        score (equal scores: lower anchor, then lower class, first). Segmentation: a list
        of ``(detections (K, 6), masks bool (K, H, W))`` pairs; pose: ``(detections (K,
        6), keypoints (K, K_points, D))`` pairs; oriented boxes: (K, 7) arrays of cx, cy,
        w, h, angle, score, class.
    """
    options = dict(conf_threshold=conf_threshold, iou_threshold=iou_threshold,
                   classes=classes, agnostic=agnostic, max_det=max_det, max_nms=max_nms,
                   check_finite=check_finite, anchor_axis=anchor_axis)
    if premultiplied and format != "yolov5":
        raise ValueError("premultiplied is for format='yolov5' (OpenCV's Darknet layers), "
                         "not format=%r" % (format,))
    if protos_quant is not None and format not in SEGMENTATION:
        raise ValueError("protos_quant is for the segmentation formats (%s), not format=%r"
                         % (", ".join(SEGMENTATION), format))
    raw = dict(strides=strides, anchors=anchors, reg_max=reg_max, layout=layout,
               sigmoid_applied=sigmoid_applied, scale_x_y=scale_x_y)
    if format in RAW_FORMATS:
        return postprocess_raw(pred, format, dict(raw, quant=quant), dict(
            options, multi_label=multi_label, nc=nc, protos=protos, box_scale=box_scale),
            letterbox, backend)
    refuse_raw_options(format, **raw)
    options.update(quant=quant, box_scale=box_scale)
    if format in POSE:
        return _pose(pred, kpt_shape, nc, letterbox, backend, multi_label, options)
    if format in OBB:
        return _obb(pred, nc, letterbox, backend, check.choice(obb_nms, "obb_nms", OBB_NMS),
                    check.flag(obb_regularize, "obb_regularize"), options)
    if format in SEGMENTATION:
        return _segment(pred, format, protos, protos_quant, nc, letterbox, backend,
                        dict(options, multi_label=multi_label))
    if protos is not None:
        raise ValueError("protos is for the segmentation formats (%s); format=%r has no masks"
                         % (", ".join(SEGMENTATION), format))
    format = check.choice(format, "format", FORMATS + SEGMENTATION + POSE + OBB + RAW_FORMATS)
    array, params = quantized_prediction(pred, "pred", quant)
    batch_axis = array.ndim == 3  # the error's index names it only when the caller's does
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ValueError("pred must have shape (B, C, A) or (C, A) (yolov8) or (B, A, C) or "
                         "(A, C) (yolov5), got %s" % (array.shape,))
    head = (YOLOV5_PREMULTIPLIED if premultiplied else YOLOV5) if format == "yolov5" else YOLOV8
    last = anchors_last(head, array.shape, anchor_axis)
    nc_value = channel_count(head, array.shape, last, nc)
    conf = check.unit_interval(conf_threshold, "conf_threshold")
    iou = check.unit_interval(iou_threshold, "iou_threshold")
    max_det = check.count_or_default(max_det, "max_det", 2 ** 62)
    max_nms = check.count_or_default(max_nms, "max_nms", 2 ** 62)
    mask = check.class_ids(classes, nc_value)
    infos = _letterbox_infos(letterbox, array.shape[0])
    scale = box_scale_pair(box_scale)
    module = backend_module("postprocess", array.shape[2 if last else 1], backend)
    return [_postprocess_one(image, head, last, module, nc_value, conf, iou, bool(multi_label),
                             mask, bool(agnostic), max_det, max_nms, info, bool(check_finite),
                             ("pred", (b,) if batch_axis else ()), params, scale)
            for b, (image, info) in enumerate(zip(array, infos))]


def _postprocess_one(pred, head, last, module, nc, conf, iou, multi_label, mask, agnostic,
                     max_det, max_nms, info, check_finite, where, params, box_scale):
    boxes, scores, class_ids, extra = decode_image(pred, head, last, nc, conf, multi_label, mask,
                                                   module.decode_scan, check_finite, where,
                                                   params=params, box_scale=box_scale,
                                                   boxes=module.decode_boxes,
                                                   detect=module.decode_detect)
    return select_detections(boxes, scores, class_ids, extra, module, iou, agnostic, max_det,
                             max_nms, info)


def select_detections(boxes, scores, class_ids, extra, module, iou, agnostic, max_det, max_nms,
                      info):
    """Decoded candidates of one image to its detections: the ``max_nms`` best, NMS,
    ``max_det``, through the letterbox."""
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
        gain_x, gain_y, pad_x, pad_y, width, height = inverse_mapping(info)
        boxes = module.scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, True, width, height)
    return np.concatenate([boxes, scores[keep, None], class_ids[keep, None].astype(boxes.dtype),
                           extra[keep]], axis=1)


def _segment(pred, format, protos, protos_quant, nc, letterbox, backend, options):
    """Detections by ``postprocess`` with the mask coefficients as extras, then masks."""
    if protos is None:
        raise ValueError("format=%r needs protos=, the prototype output (B, C, mh, mw)" % format)
    maps = np.asarray(protos)
    if protos_quant is not None or maps.dtype in (np.int8, np.uint8):
        maps, params = quantized_prediction(maps, "protos", protos_quant, "protos_quant")
        maps = dequantize(maps, params)
    if maps.ndim == 3:
        maps = maps[None]
    if maps.ndim != 4:
        raise ValueError("protos must have shape (B, C, mh, mw) or (C, mh, mw), got %s"
                         % (np.shape(protos),))
    detect_format = format[:-len("-seg")]
    head = YOLOV5 if detect_format == "yolov5" else YOLOV8
    array = np.asarray(pred)
    batch = array.shape[0] if array.ndim == 3 else 1
    if maps.shape[0] != batch:
        raise ValueError("protos has %d images but pred has %d" % (maps.shape[0], batch))
    if array.ndim in (2, 3):
        last = anchors_last(head, array.shape, options["anchor_axis"])
        nc = classes_beside(array.shape, head, last, maps.shape[1], nc,
                            "protos' %d mask coefficients" % maps.shape[1])
    results = postprocess(pred, detect_format, nc=nc, letterbox=letterbox, backend=backend,
                          **options)
    infos = _letterbox_infos(letterbox, batch)
    pairs = []
    for detections, image_protos, info in zip(results, maps, infos):
        boxes, coefficients = detections[:, :4], detections[:, 6:]
        if info is None:
            shape = (image_protos.shape[1] * PROTO_STRIDE, image_protos.shape[2] * PROTO_STRIDE)
            masks = process_masks(image_protos, coefficients, boxes, shape=shape,
                                  check_finite=options["check_finite"], backend=backend)
        else:
            masks = process_masks(image_protos, coefficients, boxes, letterbox=info,
                                  check_finite=options["check_finite"], backend=backend)
        pairs.append((np.ascontiguousarray(detections[:, :6]), masks))
    return pairs


def _pose(pred, kpt_shape, nc, letterbox, backend, multi_label, options):
    """Detections with the keypoint channels as extras, keypoints to frame pixels."""
    keypoints, dims = keypoint_shape(kpt_shape)
    array = np.asarray(pred)
    if array.ndim in (2, 3):
        last = anchors_last(YOLOV8, array.shape, options["anchor_axis"])
        nc = classes_beside(array.shape, YOLOV8, last, keypoints * dims, nc,
                            keypoint_text(keypoints, dims))
    results = postprocess(pred, "yolov8", nc=nc, letterbox=letterbox, backend=backend,
                          multi_label=multi_label, **options)
    infos = _letterbox_infos(letterbox, len(results))
    scale = box_scale_pair(options["box_scale"])
    pairs = []
    for detections, info in zip(results, infos):
        points = scale_keypoint_xy(detections[:, 6:].reshape(-1, keypoints, dims), scale)
        if info is not None:
            points = scale_keypoints(points, info, backend=backend)
        pairs.append((np.ascontiguousarray(detections[:, :6]), points))
    return pairs


def _obb(pred, nc, letterbox, backend, obb_nms, regularized, options):
    array, _ = quantized_prediction(pred, "pred", options["quant"])
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ValueError("pred must have shape (B, 4 + nc + 1, A) or (4 + nc + 1, A), got %s"
                         % (array.shape,))
    iou = check.unit_interval(options["iou_threshold"], "iou_threshold")
    max_det = check.count_or_default(options["max_det"], "max_det", 2 ** 62)
    max_nms = check.count_or_default(options["max_nms"], "max_nms", 2 ** 62)
    infos = _letterbox_infos(letterbox, array.shape[0])
    batch_axis = np.ndim(pred) == 3  # the error's index names it only when the caller's does
    results = []
    for b, (image, info) in enumerate(zip(array, infos)):
        rboxes, scores, class_ids = obb_rows(
            image, options["conf_threshold"], nc, options["classes"], options["check_finite"],
            options["anchor_axis"], backend, options["quant"], options["box_scale"],
            regularized, ("pred", (b,) if batch_axis else ()))
        if scores.shape[0] > max_nms:
            best = np.sort(np.argsort(-scores, kind="stable")[:max_nms])
            rboxes, scores, class_ids = rboxes[best], scores[best], class_ids[best]
        ids = None if options["agnostic"] else class_ids
        if obb_nms == "fast":  # the decoder's arrays need no second validation
            keep = fast_nms(rboxes.astype(np.float64), check.readonly(scores.astype(np.float64)),
                            ids, iou, -math.inf, min(max_det, scores.shape[0]), backend)
        elif ids is None:
            keep = nms_rotated(rboxes, scores, iou, iou="probiou", max_output=max_det,
                               backend=backend)
        else:
            keep = batched_nms_rotated(rboxes, scores, ids, iou, iou="probiou",
                                       max_output=max_det, backend=backend)
        kept = rboxes[keep]
        if info is not None:
            kept = scale_rboxes(kept, info)
        results.append(np.concatenate([kept, scores[keep, None],
                                       class_ids[keep, None].astype(kept.dtype)], axis=1))
    return results
