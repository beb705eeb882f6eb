"""``postprocess`` for raw heads: formats ``"yolov8-raw"`` (``"yolo11-raw"``),
``"yolov5-raw"`` and ``"yolov3-raw"``, from the levels a runtime returns to frame-pixel
detections.

Per image: the levels decoded as ``decode_yolov8_raw`` / ``decode_yolov5_raw`` /
``decode_yolov3_raw`` decode them (same checks, same rules, same float results), then
exactly the steps of the decoded formats (``accel._postprocess.select_detections``):
the ``max_nms`` best, class-aware NMS, ``max_det``, ``scale_boxes`` through the
letterbox.

Which exports each format serves:

- ``"yolov8-raw"``: ultralytics YOLOv8 / YOLO11 detection heads cut before the DFL
  decoding, one (1, 64 + nc, H, W) output per stride (ncnn, TFLite, MNN exports with
  the post-processing stripped), or split per stride into box (1, 64, H, W), class
  (1, nc, H, W) and optionally score_sum (1, 1, H, W) outputs (rknn_model_zoo's
  YOLOv8 / YOLO11 exports, with ``sigmoid_applied=True``: its class branch holds
  probabilities; int8 on the NPU, with one (scale, zero_point) per output; other NPU
  toolchains that split the head the same way); ``layout="nhwc"`` for runtimes that
  return NHWC (TFLite, RV1106 RKNN). int8/uint8 only: 16-bit quantized outputs must be
  dequantized first.
- ``"yolov5-raw"``: YOLOv5 (and YOLOv7) Detect heads without their grid decoding, one
  (1, na * (5 + nc), H, W) output per stride: ncnn and TFLite raw exports (logits),
  rknn_model_zoo's YOLOv5 / YOLOv7 exports (the sigmoid applied in the model:
  ``sigmoid_applied=True``; int8 with one quantization per output).
- ``"yolov3-raw"``: Darknet YOLOv3 / YOLOv4 / -tiny heads, the convolution before each
  ``[yolo]`` layer (ONNX, ncnn, TFLite, RKNN conversions of Darknet models), with
  ``anchors`` (the ones each layer's mask selects) and ``scale_x_y`` (YOLOv4).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from . import _validate as check
from ._decode_raw import concatenate, yolov3_head, yolov5_head, yolov8_head
from ._dispatch import backend_module

RAW_FORMATS = ("yolov8-raw", "yolo11-raw", "yolov5-raw", "yolov3-raw")
# postprocess's options for the raw formats only, and what each means when left out.
RAW_OPTIONS = dict(strides=None, anchors=None, reg_max=16, layout="nchw", quant=None,
                   sigmoid_applied=False, scale_x_y=1.0)


def refuse_raw_options(format: str, **given) -> None:
    """Raise when an option of the raw formats is given with another ``format``."""
    for name, value in given.items():
        if value is not None and value is not False:
            raise ValueError("%s= is an option of the raw formats (%s); format=%r does not "
                             "take it" % (name, ", ".join(RAW_FORMATS), format))


def _refuse(format: str, name: str, value, why: str = "") -> None:
    if value is not None:
        raise ValueError("format=%r does not take %s=%s" % (format, name, why))


def postprocess_raw(levels, format: str, raw: dict, options: dict, letterbox,
                    backend: Optional[str]) -> List[np.ndarray]:
    """``postprocess`` of the raw formats; ``raw`` holds the raw-only options (None when
    not given), ``options`` the others."""
    from ._postprocess import _letterbox_infos, select_detections  # it imports this module

    for name, why in (("nc", " (the levels give the class count)"), ("anchor_axis", ""),
                      ("protos", " (a detection format)"),
                      ("box_scale", " (raw levels decode to input pixels)")):
        _refuse(format, name, options.get(name), why)
    if raw["strides"] is None:
        raise ValueError("format=%r needs strides=, one per level (8, 16, 32 for a 640 model)"
                         % format)
    given = {name: (RAW_OPTIONS[name] if raw[name] is None else raw[name]) for name in raw}
    common = (given["strides"], options["conf_threshold"])
    if format in ("yolov8-raw", "yolo11-raw"):
        _refuse(format, "anchors", raw["anchors"], " (YOLOv8 heads are anchor-free)")
        _refuse(format, "scale_x_y", raw["scale_x_y"], " (a YOLOv3/v4 option)")
        head = yolov8_head(levels, *common, given["reg_max"], given["layout"], given["quant"],
                           given["sigmoid_applied"], name="pred")
    else:
        _refuse(format, "reg_max", raw["reg_max"], " (a YOLOv8 option)")
        if raw["anchors"] is None:
            raise ValueError("format=%r needs anchors=, per level the anchor sizes in pixels"
                             % format)
        if format == "yolov5-raw":
            _refuse(format, "scale_x_y", raw["scale_x_y"], " (a YOLOv3/v4 option)")
            head = yolov5_head(levels, raw["anchors"], *common, given["layout"], given["quant"],
                               given["sigmoid_applied"], name="pred")
        else:
            head = yolov3_head(levels, raw["anchors"], *common, given["scale_x_y"],
                               given["layout"], given["quant"], given["sigmoid_applied"],
                               name="pred")
    iou = check.unit_interval(options["iou_threshold"], "iou_threshold")
    max_det = check.count_or_default(options["max_det"], "max_det", 2 ** 62)
    max_nms = check.count_or_default(options["max_nms"], "max_nms", 2 ** 62)
    mask = check.class_ids(options["classes"], head.nc)
    infos = _letterbox_infos(letterbox, head.levels.batch)
    module = backend_module("postprocess", head.size, backend)
    results = []
    for image, info in enumerate(infos):
        boxes, scores, class_ids = concatenate(
            head.decode(image, module.decode_scan, bool(options["multi_label"]),
                        bool(options["check_finite"]), True), head.levels.dtype, mask)
        _finite(boxes, scores)
        results.append(select_detections(
            boxes, scores, class_ids, np.zeros((scores.shape[0], 0), boxes.dtype), module, iou,
            bool(options["agnostic"]), max_det, max_nms, info))
    return results


def _finite(boxes: np.ndarray, scores: np.ndarray) -> None:
    """NMS needs finite boxes and scores; a raw head decodes to other ones only from
    non-finite values let through by check_finite=False, or from a YOLOv3 ``tw``/``th``
    too large for ``exp``."""
    bad = ~(np.isfinite(boxes).all(axis=1) & np.isfinite(scores))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError("pred decodes to a non-finite box %s or score %s (from NaN or infinite "
                         "values let through by check_finite=False, or a tw, th too large for "
                         "exp)" % (boxes[k], scores[k]))
