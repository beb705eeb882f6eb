"""Libraries a user would otherwise call, run on accel's workloads by ``compare --peers``.

Each peer adapter takes a workload and returns a zero-argument callable whose result is
in accel's format (int64 indices by decreasing score; for soft-NMS, indices and scores),
so its answer is checked like a backend's. Converting the inputs to the peer's layout
(tensors, x/y/w/h boxes, an ONNX batch) happens inside the call, as it would in a user's
pipeline. None of these is a dependency of accel; a missing one is listed, not fatal.
An adapter returns None for a workload it cannot take, variants (``work.variant``: the
quantized and NHWC inputs) included: no cell rather than a false disagreement.
"""
import os
from typing import Callable, Dict, Optional

import numpy as np

from .._geometry import letterbox_geometry
from .workloads import Workload

_LOWEST = 0.0  # peers need a score threshold (OpenCV: >= 0); workload scores are above it


def _xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def _by_score(indices, scores) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    return indices[np.argsort(-np.asarray(scores)[indices], kind="stable")]


def _cv2():
    """OpenCV on one thread: accel's kernels are single-threaded, so compare like with like
    (as for torch). By default cv2.resize splits a 1080p frame over every core, which makes
    its wall-clock time shorter and its CPU time longer than one thread's."""
    import cv2  # type: ignore

    cv2.setNumThreads(1)
    return cv2


def opencv_letterbox(cv2, frame, info, pad=114):
    """The usual OpenCV letterbox with ``info``'s geometry: cv2.resize (only when the size
    changes, as ultralytics' LetterBox) and cv2.copyMakeBorder with ``pad`` in every
    channel; (h, w, C) in, (H, W, C) out, C = 1 included."""
    new_h, new_w = info.resized_shape
    resized = frame if (new_h, new_w) == frame.shape[:2] else cv2.resize(
        frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    bottom = info.dst_shape[0] - new_h - info.pad_top
    right = info.dst_shape[1] - new_w - info.pad_left
    image = cv2.copyMakeBorder(resized, info.pad_top, bottom, info.pad_left, right,
                               cv2.BORDER_CONSTANT, value=(pad,) * 4)
    return image.reshape(image.shape[:2] + (-1,))  # OpenCV drops a single channel's axis


def _opencv_letterbox(cv2, frame, new_shape):
    info = letterbox_geometry(frame.shape[:2], new_shape)
    return opencv_letterbox(cv2, frame, info), info


def opencv(work: Workload) -> Optional[Callable]:
    """Letterbox and NMS as OpenCV users write them; ``preprocess`` to uint8 NHWC is the
    letterbox then ``cv2.cvtColor`` BGR to RGB (rknn_model_zoo's Python examples)."""
    cv2 = _cv2()

    if work.kernel == "preprocess" and work.variant == "uint8 nhwc":
        def pixels():
            image, info = _opencv_letterbox(cv2, *work.args)
            return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)[None], info
        return pixels
    if work.variant:
        return None
    if work.kernel == "letterbox":
        return lambda: _opencv_letterbox(cv2, *work.args)
    if work.kernel == "to_tensor":
        image = work.args[0]
        return lambda: cv2.dnn.blobFromImage(image, 1 / 255, image.shape[1::-1], swapRB=True)
    if work.kernel == "preprocess":
        def pipeline():
            image, info = _opencv_letterbox(cv2, *work.args)
            return cv2.dnn.blobFromImage(image, 1 / 255, image.shape[1::-1], swapRB=True), info
        return pipeline

    if work.kernel == "nms":
        boxes, scores, iou = work.args
        return lambda: np.asarray(cv2.dnn.NMSBoxes(
            _xywh(boxes), scores, _LOWEST, iou),  # type: ignore[arg-type]
                                  dtype=np.int64).reshape(-1)
    if work.kernel == "batched_nms":
        boxes, scores, classes, iou = work.args
        return lambda: _by_score(cv2.dnn.NMSBoxesBatched(
            _xywh(boxes), scores, classes.astype(np.int32), _LOWEST, iou),  # type: ignore[arg-type]
            scores)
    # cv2.dnn.softNMSBoxes is not a peer: it takes integer Rects, so it answers a
    # different question on real-valued boxes.
    return None


def torchvision(work: Workload) -> Optional[Callable]:
    import torch  # type: ignore
    from torchvision import ops  # type: ignore

    torch.set_num_threads(1)  # accel's kernels are single-threaded: compare like with like
    if work.variant:
        return None
    if work.kernel == "nms":
        boxes, scores, iou = work.args
        return lambda: ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), iou).numpy()
    if work.kernel == "batched_nms":
        boxes, scores, classes, iou = work.args
        return lambda: ops.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores),
                                       torch.from_numpy(classes), iou).numpy()
    if work.kernel == "postprocess" and work.args[1] == "yolov8" and not work.kwargs.get("letterbox"):
        pred = work.args[0]

        def ultralytics_torch_path():
            # ultralytics' non_max_suppression for one image, defaults (conf 0.25, iou 0.7,
            # max_det 300), without its time limit.
            x = torch.from_numpy(pred)[0].T
            conf, j = x[:, 4:].max(1)
            keep = conf > 0.25
            box, conf, j = x[keep, :4], conf[keep], j[keep]
            xyxy = torch.cat([box[:, :2] - box[:, 2:] / 2, box[:, :2] + box[:, 2:] / 2], 1)
            i = ops.nms(xyxy + j[:, None].float() * 7680, conf, 0.7)[:300]
            return [torch.cat([xyxy[i], conf[i, None], j[i, None].float()], 1).numpy()]
        return ultralytics_torch_path
    return None


def onnxruntime(work: Workload) -> Optional[Callable]:
    if work.kernel not in ("nms", "batched_nms") or work.variant:
        return None
    import onnx  # type: ignore
    import onnxruntime as ort  # type: ignore
    from onnx import TensorProto, helper

    node = helper.make_node("NonMaxSuppression", ["boxes", "scores", "max", "iou", "thr"], ["selected"])
    graph = helper.make_graph(
        [node], "nms",
        [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, None, 4]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, None, None]),
         helper.make_tensor_value_info("max", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("iou", TensorProto.FLOAT, [1]),
         helper.make_tensor_value_info("thr", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("selected", TensorProto.INT64, [None, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    boxes, scores = work.args[0], work.args[1]
    n = len(scores)
    feeds = {"boxes": boxes[None].astype(np.float32), "max": np.array([n], dtype=np.int64),
             "iou": np.array([work.args[-1]], dtype=np.float32)}
    if work.kernel == "nms":
        feeds["scores"] = scores[None, None].astype(np.float32)
        feeds["thr"] = np.array([_LOWEST], dtype=np.float32)
        return lambda: session.run(None, feeds)[0][:, 2].copy()
    classes = work.args[2]
    n_classes = int(classes.max()) + 1

    def batched():
        # ONNX takes a (class, box) score matrix: a box scores only in its own class.
        matrix = np.zeros((1, n_classes, n), dtype=np.float32)
        matrix[0, classes, np.arange(n)] = scores
        feeds["scores"] = matrix
        feeds["thr"] = np.array([_LOWEST], dtype=np.float32)
        return _by_score(session.run(None, feeds)[0][:, 2], scores)
    return batched


def _numpy_decode(x, first_class, conf, multi_label):
    """Rows of candidates: cx, cy, w, h at columns 0-3, class scores from ``first_class``."""
    xyxy = np.concatenate([x[:, :2] - x[:, 2:4] / 2, x[:, :2] + x[:, 2:4] / 2], axis=1)
    scores = x[:, first_class:]
    if multi_label:
        i, j = np.nonzero(scores > conf)
        return xyxy[i], scores[i, j], j.astype(np.int64)
    j = scores.argmax(1)
    best = scores[np.arange(len(j)), j]
    keep = best > conf
    return xyxy[keep], best[keep], j[keep].astype(np.int64)


def numpy_decode_v8(pred, conf, multi_label=False):
    """A YOLOv8/11 decode as NumPy examples for ONNX runtime write it (one image):
    ``(boxes, scores, classes)``."""
    x = pred[0].T
    return _numpy_decode(x[x[:, 4:].max(1) > conf], 4, conf, multi_label)


def numpy_decode_v5(pred, conf, multi_label=False):
    """The same for YOLOv5: objectness gate, class scores times objectness."""
    x = pred[0]
    x = x[x[:, 4] > conf].copy()
    x[:, 5:] *= x[:, 4:5]
    return _numpy_decode(x, 5, conf, multi_label)


def numpy_dequantize_decode_v8(codes, quant, conf, box_scale, multi_label=False):
    """The usual NumPy path for an int8 TFLite YOLOv8 (ultralytics' AutoBackend, then
    ``numpy_decode_v8``): dequantize the whole output in float32, multiply the normalised
    boxes by the input size, decode."""
    scale, zero_point = quant
    x = (codes.astype(np.float32) - zero_point) * np.float32(scale)
    x[:, [0, 2]] *= np.float32(box_scale)
    x[:, [1, 3]] *= np.float32(box_scale)
    return numpy_decode_v8(x, conf, multi_label)


def numpy_greedy_nms(boxes, scores, iou_threshold) -> np.ndarray:
    """The NumPy NMS loop of most YOLO examples: the best remaining box is kept, the boxes
    whose IoU with it is > ``iou_threshold`` are dropped; indices by decreasing score."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(boxes[i, 2], boxes[rest, 2])
                       - np.maximum(boxes[i, 0], boxes[rest, 0]))
        h = np.maximum(0.0, np.minimum(boxes[i, 3], boxes[rest, 3])
                       - np.maximum(boxes[i, 1], boxes[rest, 1]))
        inter = w * h
        order = rest[inter / (areas[i] + areas[rest] - inter) <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def numpy_rknn_yolov8(levels, quant, strides, conf=0.25, iou_threshold=0.45):
    """rknn_model_zoo's published YOLOv8 post-processing (examples/yolov8/python), written
    in NumPy from its formulas: per level ``(box, cls, score_sum)`` int8/uint8 branches
    with ``quant`` ``(box_quant, cls_quant, ...)``: every branch dequantized, the DFL
    softmax and box of every cell, the best class (sigmoided in the model) kept when
    ``>= conf``, NMS class by class. Returns ``(boxes, scores, classes)``."""
    all_boxes, all_scores = [], []
    for level, level_quant, stride in zip(levels, quant, strides):
        (box, cls), ((box_scale, box_zp), (cls_scale, cls_zp)) = level[:2], level_quant[:2]
        distances = (box.astype(np.float32) - np.float32(box_zp)) * np.float32(box_scale)
        scores = (cls.astype(np.float32) - np.float32(cls_zp)) * np.float32(cls_scale)
        _, channels, h, w = distances.shape
        bins = distances.reshape(4, channels // 4, h, w)
        weights = np.exp(bins - bins.max(axis=1, keepdims=True))
        side = (weights * np.arange(channels // 4, dtype=np.float32)[:, None, None]).sum(1) \
            / weights.sum(1)
        gx, gy = np.arange(w, dtype=np.float32) + 0.5, np.arange(h, dtype=np.float32)[:, None] + 0.5
        corners = np.stack([gx - side[0], gy - side[1], gx + side[2], gy + side[3]]) * stride
        all_boxes.append(corners.reshape(4, -1).T)
        all_scores.append(scores.reshape(scores.shape[1], -1).T)
    boxes, scores = np.concatenate(all_boxes), np.concatenate(all_scores)
    best, classes = scores.max(axis=1), scores.argmax(axis=1)
    kept = best >= conf
    boxes, best, classes = boxes[kept], best[kept], classes[kept]
    keep = [members[numpy_greedy_nms(boxes[members], best[members], iou_threshold)]
            for members in (np.flatnonzero(classes == c) for c in np.unique(classes))]
    keep = np.concatenate(keep) if keep else np.zeros(0, np.int64)
    return boxes[keep], best[keep], classes[keep]


def numpy_pipeline(work: Workload) -> Optional[Callable]:
    """What most YOLO examples do. Preprocessing: OpenCV letterbox, then
    flip/transpose/contiguous/255 in NumPy. Decoding: ultralytics' decode in NumPy.

    Dividing by 255 is not multiplying by float32(1/255): about a third of the values
    differ in the last bit from blobFromImage and from accel, hence a '!' in the table.

    Variants: uint8 NHWC is the letterbox and a NumPy channel flip. int8 NCHW quantizes
    that /255 tensor as ultralytics' LiteRT backend does for an int8 input,
    ``(im / scale + zero_point)`` clipped and cast: the cast truncates, and on the 1080p
    frame about 15% of the codes land one step below ``QuantizeLinear``'s rounding, hence
    a '!'. An int8 decode is ``numpy_dequantize_decode_v8``; rknn_model_zoo's split int8
    heads through postprocess are ``numpy_rknn_yolov8``, its rows as postprocess gives them.
    """
    if work.variant:
        return _numpy_pipeline_variant(work)
    decoders = {"decode_yolov8": numpy_decode_v8, "decode_yolov5": numpy_decode_v5}
    if work.kernel in decoders:
        decode = decoders[work.kernel]
        return lambda: decode(*work.args)
    if work.kernel != "preprocess":
        return None
    cv2 = _cv2()

    def pipeline():
        image, info = _opencv_letterbox(cv2, *work.args)
        chw = np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))
        return (chw[None].astype(np.float32) / 255), info
    return pipeline


def _numpy_pipeline_variant(work: Workload) -> Optional[Callable]:
    options = work.kwargs
    if work.kernel == "decode_yolov8" and work.variant == "int8":
        codes, conf = work.args
        return lambda: numpy_dequantize_decode_v8(codes, options["quant"], conf,
                                                  options["box_scale"])
    if work.kernel == "postprocess" and work.variant == "rknn int8 split heads":
        levels = work.args[0]

        def rknn():
            boxes, scores, classes = numpy_rknn_yolov8(
                levels, options["quant"], options["strides"],
                options.get("conf_threshold", 0.25), options["iou_threshold"])
            return [np.concatenate([boxes, scores[:, None], classes[:, None]], axis=1)
                    .astype(np.float32)]
        return rknn
    if work.kernel != "preprocess":
        return None
    cv2 = _cv2()

    if work.variant == "uint8 nhwc":
        def pixels():
            image, info = _opencv_letterbox(cv2, *work.args)
            return np.ascontiguousarray(image[None, ..., ::-1]), info
        return pixels
    if work.variant != "int8 nchw quantized":
        return None
    scale, zero_point = options["quant"]
    limits = np.iinfo(options["dtype"])

    def quantized():
        image, info = _opencv_letterbox(cv2, *work.args)
        chw = np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))
        im = chw[None].astype(np.float32) / 255 / scale + zero_point
        return im.clip(limits.min, limits.max, out=im).astype(options["dtype"]), info
    return quantized


def powerboxes(work: Workload) -> Optional[Callable]:
    """powerboxes' Rust ``nms``: no validation, float64 boxes as given. A box is dropped
    when its score is not above the score threshold, as accel's; its result order is
    checked like any peer's."""
    if work.kernel != "nms" or work.variant:
        return None
    import powerboxes as pb  # type: ignore

    boxes, scores, iou = work.args
    boxes = np.ascontiguousarray(boxes, dtype=np.float64)
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    return lambda: pb.nms(boxes, scores, iou, _LOWEST).astype(np.int64)


def _mask_logits(protos, coeffs):
    channels, mh, mw = protos.shape
    return (coeffs @ protos.reshape(channels, -1)).reshape(-1, mh, mw)


def _crop(masks, boxes):
    """ultralytics' crop rule on integer pixel indices against float box edges."""
    _, h, w = masks.shape
    x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
    cols, rows = np.arange(w)[None, None, :], np.arange(h)[None, :, None]
    return masks & (cols >= x1) & (cols < x2) & (rows >= y1) & (rows < y2)


def _mask_target(work: Workload, proto_shape):
    """(H, W) of the masks and the prototype rows/columns kept: ultralytics' ``scale_masks``
    for masks on the frame (the padding cut as if centred, truncated with ``int``)."""
    if "shape" in work.kwargs:
        return tuple(work.kwargs["shape"]), (0, 0) + tuple(proto_shape)
    frame_h, frame_w = work.kwargs["letterbox"].src_shape
    mh, mw = proto_shape
    gain = min(mh / frame_h, mw / frame_w)
    pad_w, pad_h = (mw - frame_w * gain) / 2, (mh - frame_h * gain) / 2
    return (frame_h, frame_w), (int(pad_h), int(pad_w), int(mh - pad_h), int(mw - pad_w))


def opencv_masks(work: Workload) -> Optional[Callable]:
    """What ONNX Runtime examples do: one float32 matmul for all masks, ``cv2.resize`` of
    every full mask to the target, crop, threshold (logit > 0, i.e. sigmoid > 0.5)."""
    if work.kernel != "process_masks" or work.variant:
        return None
    cv2 = _cv2()

    protos, coeffs, boxes = work.args
    (height, width), (top, left, bottom, right) = _mask_target(work, protos.shape[1:])

    def masks():
        logits = _mask_logits(protos, coeffs)[:, top:bottom, left:right]
        full = np.stack([cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR)
                         for m in logits]) if len(logits) else np.zeros((0, height, width))
        return _crop(full > 0, boxes)
    return masks


def ultralytics_masks(work: Workload) -> Optional[Callable]:
    """ultralytics' torch path on one thread: matmul, ``F.interpolate`` of the full
    masks, crop at the target resolution (``process_mask_native``'s order), ``> 0``."""
    if work.kernel != "process_masks" or work.variant:
        return None
    import torch  # type: ignore
    import torch.nn.functional as F  # type: ignore

    torch.set_num_threads(1)
    protos, coeffs, boxes = work.args
    (height, width), (top, left, bottom, right) = _mask_target(work, protos.shape[1:])

    def masks():
        p, c, b = torch.from_numpy(protos), torch.from_numpy(coeffs), torch.from_numpy(boxes)
        channels, mh, mw = p.shape
        logits = (c @ p.float().view(channels, -1)).view(-1, mh, mw)[:, top:bottom, left:right]
        full = F.interpolate(logits[None], (height, width), mode="bilinear",
                             align_corners=False)[0]
        x1, y1, x2, y2 = torch.chunk(b[:, :, None], 4, 1)
        cols = torch.arange(width, dtype=x1.dtype)[None, None, :]
        rows = torch.arange(height, dtype=x1.dtype)[None, :, None]
        inside = (cols >= x1) * (cols < x2) * (rows >= y1) * (rows < y2)
        return ((full * inside) > 0).numpy()
    return masks


def powerboxes_rotated(work: Workload) -> Optional[Callable]:
    """powerboxes' Rust ``rotated_nms`` (polygon IoU, angles in degrees; no validation);
    its indices put in score order to be checked like a backend's."""
    if work.kernel != "nms_rotated" or work.kwargs.get("iou") != "polygon" or work.variant:
        return None
    import powerboxes as pb  # type: ignore

    boxes, scores, iou = work.args
    degrees = np.array(boxes, dtype=np.float64)
    degrees[:, 4] = np.degrees(degrees[:, 4])
    scores64 = np.ascontiguousarray(scores, dtype=np.float64)
    return lambda: _by_score(pb.rotated_nms(degrees, scores64, iou, _LOWEST), scores64)


def shapely_rotated(work: Workload) -> Optional[Callable]:
    """A greedy loop over shapely polygons, as users write it: per candidate by score, the
    IoU with every kept polygon (vectorised shapely calls), kept when none exceeds the
    threshold."""
    if work.kernel != "nms_rotated" or work.kwargs.get("iou") != "polygon" or work.variant:
        return None
    import shapely  # type: ignore

    from .._rotated import corners

    boxes, scores, iou = work.args

    def greedy():
        polygons = shapely.polygons(corners(np.asarray(boxes, dtype=np.float64)))
        areas = shapely.area(polygons)
        kept: list = []
        for i in np.argsort(-np.asarray(scores), kind="stable"):
            if kept:
                inter = shapely.area(shapely.intersection(polygons[i], polygons[kept]))
                union = areas[i] + areas[kept] - inter
                if (inter > iou * union).any():
                    continue
            kept.append(i)
        return np.array(kept, dtype=np.int64)
    return greedy


def _ultralytics_modules():
    """ultralytics' own code, offline (``YOLO_OFFLINE=1``: no network at import), on one
    torch thread, with torchvision imported as ultralytics' data pipeline imports it
    (its ``non_max_suppression`` then calls ``torchvision.ops.nms``; without torchvision
    it falls back to its own Python loop, several times slower)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch  # type: ignore

    try:
        import torchvision  # type: ignore  # noqa: F401
    except ImportError:
        pass
    # Importing ultralytics sets numpy's print options for the whole process, which
    # would reformat the rows that accel's error messages print.
    with np.printoptions():
        from ultralytics.utils import nms, ops  # type: ignore

    torch.set_num_threads(1)  # accel's kernels are single-threaded: compare like with like
    return torch, nms, ops


def _postprocess_options(work: Workload, formats, variants=("",)):
    """(pred, options) of a postprocess workload in ``formats`` and ``variants``, else
    None. The options are accel.postprocess's defaults, which are ultralytics' predictor
    defaults."""
    if (work.kernel != "postprocess" or work.args[1] not in formats
            or work.variant not in variants):
        return None
    options = dict(conf_threshold=0.25, iou_threshold=0.7, max_det=300)
    options.update({k: v for k, v in work.kwargs.items() if k in options})
    return work.args[0], options, work.kwargs.get("letterbox")


def _pair(scale):
    """box_scale as (W, H)."""
    return (scale, scale) if np.ndim(scale) == 0 else tuple(scale)


def ultralytics(work: Workload) -> Optional[Callable]:
    """ultralytics' detection postprocess, its own code: ``non_max_suppression`` then
    ``scale_boxes`` through the letterbox, as ``DetectionPredictor`` runs them. An int8
    TFLite output is first dequantized in float32 and its normalised boxes multiplied by
    the input size, as its LiteRT backend does."""
    found = _postprocess_options(work, ("yolov8", "yolo11"), ("", "int8 TFLite"))
    if found is None:
        return None
    pred, o, info = found
    torch, nms, ops = _ultralytics_modules()
    quant = work.kwargs.get("quant")

    def output():
        if quant is None:
            return torch.from_numpy(pred)
        x = (pred.astype(np.float32) - quant[1]) * quant[0]
        w, h = _pair(work.kwargs["box_scale"])
        x[:, [0, 2]] *= w
        x[:, [1, 3]] *= h
        return torch.from_numpy(x)

    def run():
        out = nms.non_max_suppression(output(), o["conf_threshold"],
                                      o["iou_threshold"], max_det=o["max_det"])
        if info is not None:
            for det in out:
                det[:, :4] = ops.scale_boxes(info.dst_shape, det[:, :4], info.src_shape)
        return [det.numpy() for det in out]
    return run


def ultralytics_pose(work: Workload) -> Optional[Callable]:
    """ultralytics' pose postprocess, its own code as ``PosePredictor`` runs it:
    ``non_max_suppression(nc=1)``, ``scale_boxes`` and ``scale_coords`` through the
    letterbox; accel's format, (detections (K, 6), keypoints (K, 17, 3)) per image."""
    found = _postprocess_options(work, ("yolov8-pose", "yolo11-pose"))
    if found is None:
        return None
    pred, o, info = found
    torch, nms, ops = _ultralytics_modules()

    def run():
        out = nms.non_max_suppression(torch.from_numpy(pred), o["conf_threshold"],
                                      o["iou_threshold"], max_det=o["max_det"], nc=1)
        pairs = []
        for det in out:
            points = det[:, 6:].view(det.shape[0], 17, 3)
            if info is not None:
                det[:, :4] = ops.scale_boxes(info.dst_shape, det[:, :4], info.src_shape)
                points = ops.scale_coords(info.dst_shape, points, info.src_shape)
            pairs.append((det[:, :6].numpy(), points.numpy()))
        return pairs
    return run


def ultralytics_obb(work: Workload) -> Optional[Callable]:
    """ultralytics' OBB code. ``fast_nms_rotated``: its ``TorchNMS.fast_nms`` with
    ``batch_probiou`` after its class offset, as ``non_max_suppression(rotated=True)``
    calls it. ``postprocess`` of ``yolov8-obb``: ``non_max_suppression(rotated=True)``
    and ``scale_boxes(..., xywh=True)`` through the letterbox, as ``OBBPredictor`` runs
    them; accel's format, (K, 7) cx, cy, w, h, angle, score, class. The boxes are the
    head's own (w, h, angle): ultralytics 8.4 no longer regularises them (earlier
    versions made ``w >= h`` and the angle ``[0, pi)``, as accel's decoder does), so
    ``same_detections`` compares rectangles, not their (w, h, angle) spelling."""
    if work.kernel == "fast_nms_rotated" and not work.variant:
        torch, nms, _ = _ultralytics_modules()
        from ultralytics.utils.metrics import batch_probiou  # type: ignore

        boxes, scores, iou = work.args
        classes = work.kwargs.get("classes")

        def fast():
            b, s = torch.from_numpy(boxes), torch.from_numpy(scores)
            if classes is not None:
                shift = torch.from_numpy(classes).to(b.dtype)[:, None] * 7680
                b = torch.cat((b[:, :2] + shift, b[:, 2:]), dim=-1)
            return nms.TorchNMS.fast_nms(b, s, iou, iou_func=batch_probiou).numpy()
        return fast
    found = _postprocess_options(work, ("yolov8-obb", "yolo11-obb"))
    if found is None:
        return None
    pred, o, info = found
    torch, nms, ops = _ultralytics_modules()
    nc = pred.shape[1] - 5

    def run():
        out = nms.non_max_suppression(torch.from_numpy(pred), o["conf_threshold"],
                                      o["iou_threshold"], max_det=o["max_det"], nc=nc,
                                      rotated=True)
        results = []
        for det in out:
            rboxes = torch.cat([det[:, :4], det[:, -1:]], dim=-1)
            if info is not None:
                rboxes[:, :4] = ops.scale_boxes(info.dst_shape, rboxes[:, :4], info.src_shape,
                                                xywh=True)
            results.append(torch.cat([rboxes, det[:, 4:6]], dim=-1).numpy())
        return results
    return run


def _canonical(rows: np.ndarray) -> np.ndarray:
    """Row order by decreasing score, then class, x, y: equal scores may come in any
    order from a peer's (unstable) sort."""
    score, cls = rows[:, -2 if rows.shape[1] == 7 else 4], rows[:, -1 if rows.shape[1] == 7 else 5]
    return np.lexsort((rows[:, 1], rows[:, 0], cls, -score.astype(np.float64)))


def _rectangles(rows: np.ndarray) -> np.ndarray:
    """cx, cy and the covariance terms (a, b, c) of rotated boxes: the same for every
    (w, h, angle) spelling of one rectangle (w and h swapped with a quarter turn, or the
    angle moved by pi)."""
    cx, cy, w, h, angle = (rows[:, i].astype(np.float64) for i in range(5))
    a, b, cos, sin = w * w / 12, h * h / 12, np.cos(angle), np.sin(angle)
    return np.stack([cx, cy, a * cos * cos + b * sin * sin, a * sin * sin + b * cos * cos,
                     (a - b) * cos * sin], axis=1)


def same_detections(expected, actual) -> bool:
    """Whether a peer's postprocess answer is accel's up to float32 against float64
    rounding: per image, the same rows (scores and classes equal, in the same order up
    to equal scores), coordinates within 1e-5 relative or 1e-3 px; rotated boxes as
    rectangles (centres, then covariances within 1e-5 of the largest term); keypoints'
    visibilities equal."""
    if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
        return False
    for mine, theirs in zip(expected, actual):
        points = None
        if isinstance(mine, tuple):
            (mine, points), (theirs, their_points) = mine, theirs
        mine, theirs = np.asarray(mine), np.asarray(theirs)
        if mine.shape != theirs.shape:
            return False
        a, b = _canonical(mine), _canonical(theirs)
        mine, theirs = mine[a], theirs[b]
        if not np.array_equal(mine[:, -2:] if mine.shape[1] == 7 else mine[:, 4:6],
                              theirs[:, -2:] if theirs.shape[1] == 7 else theirs[:, 4:6]):
            return False
        if mine.shape[1] == 7:
            mine, theirs = _rectangles(mine), _rectangles(theirs)
            scale = np.abs(mine[:, 2:]).max(axis=1, keepdims=True) + 1e-12
            if not np.allclose(mine[:, 2:] / scale, theirs[:, 2:] / scale, rtol=0, atol=1e-5):
                return False
            mine, theirs = mine[:, :2], theirs[:, :2]
        else:
            mine, theirs = mine[:, :4], theirs[:, :4]
        if not np.allclose(mine, theirs, rtol=1e-5, atol=1e-3):
            return False
        if points is not None:
            points, their_points = np.asarray(points)[a], np.asarray(their_points)[b]
            if not (points.shape == their_points.shape
                    and np.allclose(points[..., :2], their_points[..., :2], rtol=1e-5, atol=1e-3)
                    and np.array_equal(points[..., 2:], their_points[..., 2:])):
                return False
    return True


PEERS: Dict[str, Callable] = {"opencv": opencv, "numpy-pipeline": numpy_pipeline,
                              "torchvision": torchvision, "onnxruntime": onnxruntime,
                              "powerboxes": powerboxes, "opencv-masks": opencv_masks,
                              "ultralytics-masks": ultralytics_masks,
                              "powerboxes-rotated": powerboxes_rotated, "shapely": shapely_rotated,
                              "ultralytics": ultralytics, "ultralytics-pose": ultralytics_pose,
                              "ultralytics-obb": ultralytics_obb}
