"""Public decoders of exported (decoded) heads: YOLOv8 / YOLO11 and YOLOv5 outputs."""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _validate as check
from ._decode_common import (at_or_below, backend_error, box_scale_pair, class_count,
                             corners_of, filter_classes, first_non_finite, non_finite_at,
                             one_image, probably_finite, quantized_prediction, scale_xywh)
from ._dispatch import implementation
from ._quant import code_cutoff, dequantize

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike


class Head(NamedTuple):
    """The format of a decoded head: where its classes start and its objectness sits."""

    name: str  # as errors name it
    first_class: int  # 4 (YOLOv8/11) or 5 (YOLOv5)
    objectness: int  # channel of the objectness, or -1
    anchors_last: bool  # the format's own axis order: (C, A) for YOLOv8, (A, C) for YOLOv5


YOLOV8 = Head("YOLOv8/11", 4, -1, True)
YOLOV5 = Head("YOLOv5", 5, 4, False)
# Class scores that already include the objectness (OpenCV's Darknet region layers): the
# scan reads the classes only, as YOLOv8's does (decode_yolov5's ``premultiplied``).
YOLOV5_PREMULTIPLIED = Head("YOLOv5", 5, -1, False)


def anchors_last(head: Head, shape, anchor_axis) -> bool:
    """Whether an output of ``shape`` (..., X, Y) has its anchors on the last axis.

    ``anchor_axis=None`` takes the format's order and refuses an output that contradicts
    it: a detector has more anchors than channels (8400 against 84 at 640 px), so the
    anchor axis is the longer one. A transposed output would otherwise decode into junk
    (channel values read as boxes) without any error.
    """
    if anchor_axis is None:
        channels, anchors = shape[-2:] if head.anchors_last else shape[:-3:-1]
        if 0 < anchors < channels:  # no anchors at all contradicts nothing
            wrong, right = ("first", "-2") if head.anchors_last else ("last", "-1")
            expected = ("(1, 4 + nc, A), anchors on the last axis" if head.anchors_last
                        else "(1, A, 5 + nc), anchors on the second-to-last axis")
            raise ValueError(
                "pred has shape %s, but a %s output is %s, the longer one; this one has its "
                "anchors %s (some exports and NHWC runtimes give that). Pass "
                "%s, or anchor_axis=%s to decode it as it is "
                "(anchor_axis=%s accepts the format's order with fewer anchors than "
                "channels, as a tiny input gives)"
                % (tuple(shape), head.name, expected, wrong,
                   "pred.transpose(0, 2, 1)" if len(shape) == 3 else "pred.T", right,
                   "-1" if head.anchors_last else "-2"))
        return head.anchors_last
    if anchor_axis in (-1, -2) and not isinstance(anchor_axis, bool):
        return anchor_axis == -1
    raise ValueError("anchor_axis must be None (the format's order, checked), -1 or -2, got %r"
                     % (anchor_axis,))


def _raise_non_finite(pred, last: bool, anchor: int, channels, where) -> None:
    """Raise naming the first non-finite of ``channels`` of ``anchor``; ``where`` is
    ``(name, index prefix)`` (the batch index, when the caller's array has one)."""
    channels = np.asarray(channels, dtype=np.intp)
    k = first_non_finite(pred[channels, anchor] if last else pred[anchor, channels])
    if k >= 0:
        name, prefix = where
        channel = int(channels[k])
        raise non_finite_at(name, prefix + ((channel, anchor) if last else (anchor, channel)))


def _raise_scan_error(pred, head: Head, last: bool, nc, first_bad: int, where) -> None:
    """The error of a scan that reported ``first_bad``: the first non-finite value among
    the channels it reads of that anchor (the objectness, the classes)."""
    objectness = [head.objectness] if head.objectness >= 0 else []
    _raise_non_finite(pred, last, first_bad,
                      objectness + list(range(head.first_class, head.first_class + nc)), where)
    raise backend_error(first_bad)


def _channel_rows(pred, last: bool, first: int, count: int, anchors) -> np.ndarray:
    """Channels ``first .. first + count - 1`` of ``anchors``, as a new (K, count) array."""
    if last:
        return pred[first:first + count].take(anchors, axis=1).T
    return pred[anchors, first:first + count]


def scan_codes(pred, head: Head, last: bool, nc, threshold, multi_label, scan, params):
    """The scan of a quantized (int8/uint8) output: what the float scan of its
    dequantized values keeps, ``(anchors, class_ids, float32 scores)``, bit for bit.

    The threshold becomes one exact code cut-off (``code_cutoff``). Without objectness
    the backend keeps the anchors whose largest class code is above it (the largest
    code is the largest value, and its first class the first holding that value), and
    only the kept codes are dequantized. With objectness (YOLOv5) the backend scans the
    objectness channel as a single class, and the candidates' rows are dequantized and
    decided as the float scan decides: float32 products ``class * objectness``, the
    first largest, ``> threshold`` (exact: the threshold is compared at its float32
    value at or below it, ``at_or_below``).
    """
    n_channels, n_anchors = pred.shape if last else pred.shape[::-1]
    anchor_stride, channel_stride = (1, n_anchors) if last else (n_channels, 1)
    cutoff = code_cutoff(params, threshold)
    if head.objectness < 0:
        anchors, class_ids, codes, _ = scan(pred.reshape(-1), n_anchors, anchor_stride,
                                            channel_stride, head.first_class, nc, -1, cutoff,
                                            multi_label, False)
        return anchors, class_ids, dequantize(codes, params)
    candidates = scan(pred.reshape(-1), n_anchors, anchor_stride, channel_stride,
                      head.objectness, 1, -1, cutoff, False, False)[0]
    objectness = dequantize(_channel_rows(pred, last, head.objectness, 1, candidates), params)
    products = dequantize(_channel_rows(pred, last, head.first_class, nc, candidates), params)
    products *= objectness  # float32 * float32, rounded to float32: the float scan's products
    above = at_or_below(threshold, products.dtype)
    if multi_label:
        rows, class_ids = np.nonzero(products > above)  # row-major: anchor, then class
        return candidates[rows], class_ids.astype(np.int64), products[rows, class_ids]
    class_ids = products.argmax(axis=1)  # the first of equal maxima
    best = products[np.arange(candidates.shape[0]), class_ids]
    kept = np.flatnonzero(best > above)
    return candidates[kept], class_ids[kept].astype(np.int64), best[kept]


def decode_image(pred, head: Head, last: bool, nc, threshold, multi_label, mask, scan,
                 check_finite: bool, where=("pred", ()), corners: bool = True, params=None,
                 box_scale=None, boxes=None, detect=None):
    """One image's (C, A) output (``last``) or (A, C) output, decoded in place: the scan
    reads it through strides, and only the kept anchors' channels are gathered. With
    ``check_finite``, raises on a non-finite value the scan reads, or in a box or extra
    channel of a kept anchor (``accel._decode_common``). Boxes as corners, or with
    ``corners=False`` the kept (K, 4) cx, cy, w, h as the output holds them (times
    ``box_scale``). With ``params`` (``accel._quant.Quant``) ``pred`` holds int8/uint8
    codes (``scan_codes``), and the kept channels are dequantized to float32. ``boxes``,
    the backend's ``decode_boxes``, computes the corners of the kept anchors (without
    ``box_scale``) in one compiled pass; ``detect``, its ``decode_detect``, does the scan
    and the corners in one call where nothing else is asked (``detected``)."""
    if detect is not None and params is None and mask is None and box_scale is None \
            and corners and head.first_class + nc == pred.shape[0 if last else 1]:
        rows, scores, class_ids = detected(pred, head, last, nc, threshold, multi_label,
                                           check_finite, where, detect)
        return rows, scores, class_ids, np.empty((scores.shape[0], 0), pred.dtype)
    if params is not None:
        found = scan_codes(pred, head, last, nc, threshold, multi_label, scan, params)
        anchors, class_ids, scores = filter_classes(mask, found, 1)
        extras = head.first_class + nc
        n_extra = pred.shape[0 if last else 1] - extras
        rows = dequantize(pred[:4].take(anchors, axis=1) if last else pred[anchors, :4].T,
                          params)
        extra = np.ascontiguousarray(dequantize(_channel_rows(
            pred, last, extras, n_extra, anchors), params)) if n_extra else \
            np.zeros((anchors.shape[0], 0), np.float32)
        scale_xywh(rows, box_scale)
        return (corners_of(rows) if corners else rows.T.copy()), scores, class_ids, extra
    n_channels, n_anchors = pred.shape if last else pred.shape[::-1]
    anchor_stride, channel_stride = (1, n_anchors) if last else (n_channels, 1)
    *found, first_bad = scan(pred.reshape(-1), n_anchors, anchor_stride, channel_stride,
                             head.first_class, nc, head.objectness,
                             at_or_below(threshold, pred.dtype), multi_label, check_finite)
    if first_bad >= 0:
        _raise_scan_error(pred, head, last, nc, first_bad, where)
    anchors, class_ids, scores = filter_classes(mask, found, 1)
    # Gather the kept anchors along the memory's own axis: take() across a transposed view
    # goes element by element (5 ms instead of 35 us for 1500 YOLOv5 anchors). Only the
    # box and extra channels: the class scores are not needed again (copying whole rows
    # of 85 values cost YOLOv5 twice as much).
    extras = head.first_class + nc
    if last:
        extra = pred[extras:].take(anchors, axis=1).T.copy() if extras < n_channels else \
            np.empty((anchors.shape[0], 0), pred.dtype)  # a detect head has none
    else:
        extra = pred[anchors, extras:]
    # The corners in one backend pass when nothing scales the boxes first: a NaN or
    # infinite cx, cy, w or h makes its corners so (a huge finite box may overflow them:
    # the exact search below then finds nothing).
    direct = boxes is not None and corners and box_scale is None
    rows = boxes(pred.reshape(-1), anchors, anchor_stride, channel_stride) if direct else \
        pred[:4].take(anchors, axis=1) if last else np.ascontiguousarray(pred[anchors, :4].T)
    if check_finite and not (probably_finite(rows) and probably_finite(extra)):
        channels = list(range(4)) + list(range(extras, n_channels))
        for anchor in anchors.tolist():
            _raise_non_finite(pred, last, anchor, channels, where)
    if direct:
        return rows, scores, class_ids, extra
    scale_xywh(rows, box_scale)
    return (corners_of(rows) if corners else rows.T.copy()), scores, class_ids, extra


def channel_count(head: Head, shape, last: bool, nc):
    """The class count of an output of ``shape`` whose anchors are ``last`` or not."""
    channels = shape[-2] if last else shape[-1]
    where = "the 4 box channels%s" % (" and the objectness" if head.first_class > 4 else "")
    return class_count(nc, channels - head.first_class, "pred",
                       "its channel axis (%d, %d channels) after %s"
                       % (-2 if last else -1, channels, where))


def classes_beside(shape, head: Head, last: bool, extra: int, nc, what: str) -> int:
    """The class count of an output whose channels are the box (and objectness), the
    classes, then ``extra`` channels that ``what`` names (mask coefficients, keypoints,
    an angle): what the channels leave. A given ``nc`` must agree with it."""
    channels = shape[-2] if last else shape[-1]
    derived = channels - head.first_class - extra
    if derived < 1:
        raise ValueError("pred has %d channels: too few for the box%s, one class and %s"
                         % (channels, ", the objectness" if head.first_class > 4 else "", what))
    if nc is not None:
        if isinstance(nc, bool) or not isinstance(nc, (int, np.integer)):
            raise TypeError("nc must be an integer, got %r" % (nc,))
        if nc != derived:
            raise ValueError("nc=%r contradicts %s: pred's %d channels leave %d classes"
                             % (nc, what, channels, derived))
    return derived


QUANT_DOC = """\
        quant: ``(scale, zero_point)`` for an int8 or uint8 ``pred`` (a quantized
            model's output; one scale and zero point for the tensor, as ONNX
            ``DequantizeLinear``, TFLite and RKNN give them). The result is, bit for bit
            (boxes, scores, class ids, order; float32), the decoding of the float32
            tensor ``DequantizeLinear(pred) = float32(pred - zero_point) * scale``
            (``accel._quant``), computed without dequantizing it: the threshold is one
            exact code cut-off, the best class is taken over codes (distinct codes have
            distinct values, in the same order, so ties resolve alike), and only the
            kept anchors' channels are dequantized. Required for an integer ``pred``,
            refused for a float one (``TypeError``); ``scale`` must be a finite number
            whose float32 is a normal number > 0, ``zero_point`` an integer in the
            dtype's range (``ValueError``). ``check_finite`` does not apply (codes are
            finite)."""
BOX_SCALE_DOC = """\
        box_scale: ``(W, H)`` (or one number for both): the output's ``cx, cy, w, h``
            are normalised to [0, 1] of the model input, and are multiplied by ``(W, H,
            W, H)`` (the input size, e.g. ``640``) in the output's dtype before
            decoding, as ultralytics' AutoBackend does for TFLite models
            (``x[:, [0, 2]] *= w``, ``x[:, [1, 3]] *= h``, on the kept anchors here,
            which is the same element by element). Needed by ultralytics' TFLite
            exports (float32, float16 and int8 ``.tflite``, EdgeTPU), which normalise
            the boxes so that one quantization scale covers boxes and scores, and by
            OpenCV's Darknet region layers (``decode_yolov5``). ONNX, OpenVINO, TensorRT,
            CoreML and torch outputs are in pixels: leave it ``None``."""


def with_docs(doc: str) -> str:
    """A decoder's docstring with its ``quant`` and ``box_scale`` entries filled in."""
    return doc.replace("{quant}", QUANT_DOC).replace("{box_scale}", BOX_SCALE_DOC)


def decode_yolov8(pred: ArrayLike, conf_threshold: float = 0.25, *, nc: Optional[int] = None,
                  multi_label: bool = False, classes: Optional[ArrayLike] = None,
                  check_finite: bool = True, anchor_axis: Optional[int] = None,
                  quant: Optional[Tuple[float, int]] = None,
                  box_scale: Union[float, Tuple[float, float], None] = None,
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
        pred: (4 + nc [+ E], A) or (1, 4 + nc [+ E], A) float array, or int8/uint8
            with ``quant``. float16 is decoded as float32.
        conf_threshold: in [0, 1].
        nc: the number of classes, when the output has E extra channels after them (the
            32 mask coefficients of a segmentation model); default: every channel after
            the box is a class.
        check_finite: raise ``ValueError`` naming the index of a NaN or infinity among
            the values the result depends on: every class score (the scan tests them
            as it reads them, at no extra pass), and the box and extra channels of the
            anchors kept (after ``classes``). A NaN in the box of an anchor that is not
            kept is not an error (before, the whole output was tested, at about the
            cost of the decode). ``False``: no test; such values give unspecified
            detections, never a crash. Exact definition in ``accel._decode_common``.
        anchor_axis: ``None`` (default): the format's order, ``(4 + nc, A)``, and an
            output with more rows than columns is refused as transposed (anchors first;
            the error says how to fix it). ``-2``: anchors first, ``(A, 4 + nc)``, decoded
            as it is, without a copy. ``-1``: the format's order, unchecked (a tiny input
            can have fewer anchors than channels).
{quant}
{box_scale}
        backend: one of ``accel.BACKEND_NAMES``; overrides every other choice.

    Returns:
        ``(boxes (K, 4), scores (K,), class_ids (K,) int64)`` in anchor order (then class
        order for multi-label); boxes and scores in the output's float dtype (float32
        for a quantized output). When ``nc`` is given, a fourth item ``extra (K, E)``
        holds the extra channels of each detection's anchor (dequantized, not scaled).
    """
    return _decode(YOLOV8, "decode_yolov8", "(4 + nc, A)", pred, conf_threshold, nc,
                   multi_label, classes, check_finite, anchor_axis, quant, box_scale, backend)


def decode_yolov5(pred: Union[ArrayLike, Sequence[ArrayLike]], conf_threshold: float = 0.25, *,
                  nc: Optional[int] = None, multi_label: bool = False,
                  classes: Optional[ArrayLike] = None, check_finite: bool = True,
                  anchor_axis: Optional[int] = None,
                  quant: Union[Tuple[float, int], Sequence[Tuple[float, int]], None] = None,
                  box_scale: Union[float, Tuple[float, float], None] = None,
                  premultiplied: bool = False,
                  backend: Optional[str] = None) -> Tuple[np.ndarray, ...]:
    """Decode one image's YOLOv5 output (the exported ``(1, A, 5 + nc)`` head).

    Each anchor's row is ``cx, cy, w, h, objectness`` then ``nc`` class scores. An anchor
    whose objectness is not ``> conf_threshold`` is dropped; the class scores of the
    others are multiplied by the objectness (in the output's dtype, as YOLOv5 does), and
    then everything is as in ``decode_yolov8``: best class (first of equal products),
    ``score > conf_threshold``, ``multi_label``, ``classes``, ``nc`` with extra channels.

    OpenCV's Darknet importer (OpenCV 4's ``cv2.dnn.readNetFromDarknet``, YOLOv2/v3/v4
    ``[region]`` and ``[yolo]`` layers; OpenCV 5 has none) gives one (N, 5 + nc) array per
    output layer, already decoded (``modules/dnn/src/layers/region_layer.cpp``):
    ``cx, cy, w, h`` normalised to [0, 1] of the input, the objectness, then class
    scores that its region layer has already multiplied by the objectness (float32
    ``objectness * probability``), set to 0 where that product is not above the
    layer's ``thresh`` (0.2 unless the cfg says otherwise), and, with the cfg's
    ``nms_threshold`` (0.4 by default), zeroed for boxes its per-class NMS suppressed.
    Decode them with ``premultiplied=True`` (the scores are not multiplied again) and
    ``box_scale=(W, H)`` of the network input, passing the list of layer outputs
    (``net.forward(net.getUnconnectedOutLayersNames())``) as ``pred``. A
    ``conf_threshold`` below the layer's ``thresh`` cannot bring back what it zeroed.

    Args:
        pred: (A, 5 + nc [+ E]) or (1, A, 5 + nc [+ E]) float array, or int8/uint8 with
            ``quant``; or a list of such arrays (output layers of one image, the same
            channels and dtype), decoded in turn and concatenated in that order.
        check_finite: as in ``decode_yolov8``, where the scan reads the objectness of
            every anchor and the class scores only of the anchors whose objectness is
            ``> conf_threshold``: those are tested, with the box and extra channels of
            the anchors kept. The class (and box) channels of an anchor whose objectness
            is ``<= conf_threshold`` are not tested: they cannot change the result. For
            a list, the error names the array, ``pred[i]``, and the index in it.
        anchor_axis: ``None`` (default): the format's order, ``(A, 5 + nc)``, and an
            output with more columns than rows is refused as transposed (anchors last).
            ``-1``: anchors last, ``(5 + nc, A)``, decoded as it is. ``-2``: the format's
            order, unchecked.
{quant}
            For a quantized output the objectness channel is scanned against the code
            cut-off, and the candidates' products are computed in float32 from their
            dequantized values, exactly as for the float tensor. For a list, one pair
            for every array or a list with one pair per array.
{box_scale}
        premultiplied: the class scores already include the objectness (OpenCV's
            Darknet layers, above): an anchor's score is its largest class score, kept
            when ``> conf_threshold`` (the objectness is not read: a product with an
            objectness <= 1 never exceeds it), as ``decode_yolov8`` does.

    Returns:
        As ``decode_yolov8``; scores are the products ``objectness * class score`` (the
        class scores themselves with ``premultiplied``).
    """
    return _decode(YOLOV5_PREMULTIPLIED if premultiplied else YOLOV5, "decode_yolov5",
                   "(A, 5 + nc)", pred, conf_threshold, nc, multi_label, classes, check_finite,
                   anchor_axis, quant, box_scale, backend, is_layer_list(pred))


if decode_yolov8.__doc__:  # None under python -OO
    decode_yolov8.__doc__ = with_docs(decode_yolov8.__doc__)
    decode_yolov5.__doc__ = with_docs(decode_yolov5.__doc__)


def is_layer_list(pred) -> bool:
    """Whether ``pred`` is a list of output layers, not an array given as nested lists:
    its items are arrays of two dimensions or more (the rows of a nested list have one)."""
    return isinstance(pred, (list, tuple)) and (
        not pred or all(np.ndim(item) >= 2 for item in pred))


_PLAIN_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _plain_image(head: Head, pred):
    """The (C, A) or (A, C) image of an output that the general path would take as it is,
    or None. Plain: a C-contiguous float32 or float64 ndarray, (1, C, A) / (C, A) in the
    format's order with no fewer anchors than channels, and at least one class channel.
    Everything else (conversions, every error) is the general path's."""
    if type(pred) is not np.ndarray or pred.dtype not in _PLAIN_DTYPES \
            or not pred.flags.c_contiguous:
        return None
    shape = pred.shape
    if len(shape) == 3 and shape[0] == 1:
        image = pred[0]
    elif len(shape) == 2:
        image = pred
    else:
        return None
    channels, anchors = image.shape if head.anchors_last else image.shape[::-1]
    if channels <= head.first_class or anchors < channels:
        return None
    return image


def _decode_plain(head: Head, kernel, image, where, threshold, multi_label, check_finite,
                  backend):
    """``decode_image`` of a plain output (``_plain_image``): the default call of a
    detector's output, without the general path's conversions (about 20 us of a 150 us
    decode). The same results and errors."""
    n_anchors = image.shape[1] if head.anchors_last else image.shape[0]
    return detected(image, head, head.anchors_last, image.shape[0 if head.anchors_last else 1]
                    - head.first_class, threshold, multi_label, check_finite, where,
                    implementation(kernel, n_anchors, backend, "decode_detect"))


def detected(pred, head: Head, last: bool, nc, threshold, multi_label, check_finite, where,
             detect):
    """``(boxes, scores, class_ids)`` of a float output with no channel after its classes,
    by the backend's ``decode_detect`` (the scan and the kept anchors' corners in one call,
    which also tests their box channels): ``decode_image`` with neither a class filter nor
    a box scale, the same results and errors."""
    n_channels, n_anchors = pred.shape if last else pred.shape[::-1]
    anchor_stride, channel_stride = (1, n_anchors) if last else (n_channels, 1)
    anchors, class_ids, scores, rows, first_bad, box_bad = detect(
        pred.reshape(-1), n_anchors, anchor_stride, channel_stride, head.first_class, nc,
        head.objectness, at_or_below(threshold, pred.dtype), multi_label, check_finite)
    if first_bad >= 0:
        _raise_scan_error(pred, head, last, nc, first_bad, where)
    if box_bad >= 0:
        _raise_non_finite(pred, last, int(anchors[box_bad]), range(4), where)
        raise backend_error(int(anchors[box_bad]))
    return rows, scores, class_ids


def _decode(head, kernel, shape_text, pred, conf_threshold, nc, multi_label, classes,
            check_finite, anchor_axis, quant, box_scale, backend, listed=False):
    if nc is None and classes is None and anchor_axis is None and quant is None \
            and box_scale is None and not listed:
        image = _plain_image(head, pred)
        if image is not None:
            return _decode_plain(head, kernel, image, ("pred", (0,) if pred.ndim == 3 else ()),
                                 check.unit_interval(conf_threshold, "conf_threshold"),
                                 bool(multi_label), bool(check_finite), backend)
    layers = _layers(head, shape_text, pred, nc, anchor_axis, quant) if listed else \
        [_layer(head, shape_text, pred, nc, anchor_axis, quant, "pred")]
    threshold = check.unit_interval(conf_threshold, "conf_threshold")
    mask = check.class_ids(classes, layers[0][3])
    scale = box_scale_pair(box_scale)
    parts = []
    for image, params, last, nc_value, where in layers:
        size = image.shape[1 if last else 0]
        decoded = decode_image(image, head, last, nc_value, threshold, bool(multi_label), mask,
                               implementation(kernel, size, backend), bool(check_finite), where,
                               params=params, box_scale=scale,
                               boxes=implementation(kernel, size, backend, "decode_boxes"))
        parts.append(decoded if nc is not None else decoded[:3])
    return tuple(np.concatenate(items) for items in zip(*parts)) if listed else parts[0]


def _layer(head, shape_text, pred, nc, anchor_axis, quant, name):
    """One image's output, checked: ``(image, params, last, nc, (name, index prefix))``."""
    given, params = quantized_prediction(pred, name, quant)
    image = one_image(given, name, shape_text)
    last = anchors_last(head, given.shape, anchor_axis)  # the caller's shape, in the error
    return (image, params, last, channel_count(head, image.shape, last, nc),
            (name, (0,) if given.ndim == 3 else ()))


def _layers(head, shape_text, layers, nc, anchor_axis, quant):
    """``_layer`` of every output layer of a list (``decode_yolov5``), all checked before
    any is decoded: the same channels, the same result dtype."""
    if not layers:
        raise ValueError("pred is an empty list: give one array per output layer")
    if isinstance(quant, (list, tuple)) and quant and isinstance(quant[0], (list, tuple)):
        if len(quant) != len(layers):
            raise ValueError("quant has %d (scale, zero_point) pairs for %d arrays in pred"
                             % (len(quant), len(layers)))
        quants = list(quant)
    else:
        quants = [quant] * len(layers)
    checked = [_layer(head, shape_text, layer, nc, anchor_axis, layer_quant, "pred[%d]" % i)
               for i, (layer, layer_quant) in enumerate(zip(layers, quants))]
    for i, (image, params, last, _, _) in enumerate(checked):
        first = checked[0]
        channels = image.shape[0 if last else 1]
        if channels != first[0].shape[0 if first[2] else 1]:
            raise ValueError("pred[%d] has %d channels but pred[0] has %d: the arrays of a "
                             "list are the output layers of one model"
                             % (i, channels, first[0].shape[0 if first[2] else 1]))
        dtype = np.float32 if params is not None else image.dtype
        first_dtype = np.float32 if first[1] is not None else first[0].dtype
        if dtype != first_dtype:
            raise TypeError("pred[%d] decodes to %s but pred[0] to %s: give the arrays of a "
                            "list the same dtype" % (i, np.dtype(dtype), np.dtype(first_dtype)))
    return checked
