"""Deterministic, realistic inputs for tests, benchmarks and ``python -m accel.compare``.

Detector candidates are not uniform random boxes: they come in clusters, many jittered
boxes around each object, with scores that fall off away from the object's true box and
a thin layer of low-score background boxes. NMS speed depends on exactly that shape.
"""
from typing import Any, Callable, Dict, NamedTuple, Tuple

import numpy as np

import accel
from .._geometry import letterbox_geometry
from .._quant import quant_params, quantize


class Candidates(NamedTuple):
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2
    scores: np.ndarray  # (N,) float32
    classes: np.ndarray  # (N,) int64


def clustered_candidates(
    n: int,
    *,
    n_classes: int = 1,
    n_objects: int = 0,
    image_size: float = 640.0,
    background: float = 0.1,
    seed: int = 0,
) -> Candidates:
    """``n`` candidate boxes clustered around objects, as a detector emits before NMS.

    ``n_objects`` defaults to ``n // 200`` clamped to [5, 100]; 10% of the boxes
    (``background``) are scattered low-score boxes. With several classes, a candidate
    carries its object's class 70% of the time and a random class otherwise, as
    multi-label decoding produces.
    """
    rng = np.random.default_rng(seed)
    if n_objects <= 0:
        n_objects = int(min(100, max(5, n // 200)))
    n_background = int(round(n * background))
    n_clustered = n - n_background

    size = np.exp(rng.uniform(np.log(16.0), np.log(image_size / 2), (n_objects, 2)))
    centre = rng.uniform(0.0, image_size, (n_objects, 2))
    confidence = rng.uniform(0.5, 1.0, n_objects)
    object_class = rng.integers(0, n_classes, n_objects)

    owner = rng.integers(0, n_objects, n_clustered)
    jitter = rng.normal(0.0, 0.12, (n_clustered, 2))
    cand_centre = centre[owner] + jitter * size[owner]
    cand_size = size[owner] * np.exp(rng.normal(0.0, 0.12, (n_clustered, 2)))
    falloff = np.exp(-0.5 * (jitter ** 2).sum(axis=1) / 0.15 ** 2)
    cand_score = confidence[owner] * falloff * rng.uniform(0.6, 1.0, n_clustered)
    other_class = rng.random(n_clustered) >= 0.7
    cand_class = np.where(other_class, rng.integers(0, n_classes, n_clustered), object_class[owner])

    bg_centre = rng.uniform(0.0, image_size, (n_background, 2))
    bg_size = np.exp(rng.uniform(np.log(8.0), np.log(image_size / 3), (n_background, 2)))
    bg_score = rng.uniform(0.0, 0.3, n_background)
    bg_class = rng.integers(0, n_classes, n_background)

    centres = np.concatenate([cand_centre, bg_centre])
    sizes = np.concatenate([cand_size, bg_size])
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    np.clip(boxes, 0.0, image_size, out=boxes)
    scores = np.concatenate([cand_score, bg_score])
    classes = np.concatenate([cand_class, bg_class]).astype(np.int64)

    shuffle = rng.permutation(n)  # detector output is in anchor order, not score order
    return Candidates(
        boxes[shuffle].astype(np.float32),
        scores[shuffle].astype(np.float32),
        classes[shuffle],
    )


class Workload(NamedTuple):
    """One input for one kernel: ``call(backend)`` runs the public function on it."""

    kernel: str
    size: int  # in the kernel's unit (accel._sizes.UNIT)
    label: str
    args: tuple
    kwargs: dict
    short: str = ""  # the label without what TITLES[kernel] says
    variant: str = ""  # "" for the kernel's float32 input, else one of VARIANTS[kernel]

    def call(self, backend: str):
        return getattr(accel, self.kernel)(*self.args, backend=backend, **self.kwargs)


IOU_THRESHOLD = 0.45
ROTATED_IOU = 0.3  # aerial models: small, dense objects
FAST_NMS_IOU = 0.7  # ultralytics' OBB predictor default (its fast NMS)
MASK_AREA = 120 * 120  # target pixels per instance in the process_masks workload
STRIDES = (8, 16, 32)
YOLOV5_ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))
# Darknet yolov4.cfg: the anchors each [yolo] layer's mask selects, and its scale_x_y.
YOLOV4_ANCHORS = ((12, 16, 19, 36, 40, 28), (36, 75, 76, 55, 72, 146),
                  (142, 110, 192, 243, 459, 401))
YOLOV4_SCALE_X_Y = (1.2, 1.1, 1.05)
DECODE_INPUTS = (320, 640, 1280)
STRIDE_SIDES = (320, 640, 1024, 1280)  # input sides whose anchor counts name a model size  # model input sides; the size is the anchor (cell) count


def anchor_count(input_size: int, per_cell: int = 1) -> int:
    return sum((input_size // s) ** 2 for s in STRIDES) * per_cell


FRAMES = {480: (480, 640), 720: (720, 1280), 1080: (1080, 1920)}  # height: (h, w)
TENSOR_INPUTS = {320: (320, 320), 640: (640, 640)}  # letterboxed images fed to to_tensor
# Sizes are what the dispatcher sees, in each kernel's unit (accel._sizes): boxes,
# anchors, or the image's pixels.
SIZES = {
    "nms": (100, 1000, 5000, 20000),
    "batched_nms": (100, 1000, 5000, 20000),
    # soft-NMS is quadratic by nature (every selection decays every remaining box).
    "soft_nms": (100, 500, 2000),
    "letterbox": tuple(h * w for h, w in FRAMES.values()),
    "to_tensor": tuple(h * w for h, w in TENSOR_INPUTS.values()),
    "preprocess": tuple(h * w for h, w in FRAMES.values()),
    "decode_yolov8": tuple(anchor_count(i) for i in DECODE_INPUTS),
    "decode_yolov5": tuple(anchor_count(i, 3) for i in DECODE_INPUTS),
    "decode_yolov8_raw": tuple(anchor_count(i) for i in DECODE_INPUTS),
    "decode_yolov5_raw": tuple(anchor_count(i, 3) for i in DECODE_INPUTS),
    "decode_yolov3_raw": tuple(anchor_count(i, 3) for i in DECODE_INPUTS),
    "scale_boxes": (300, 30000),
    "postprocess": tuple(anchor_count(i) for i in DECODE_INPUTS),
    # pixels the boxes cover: 5, 30 and 100 instances of about 120 x 120 pixels
    "process_masks": tuple(n * MASK_AREA for n in (5, 30, 100)),
    "decode_yolov8_pose": (anchor_count(320), anchor_count(640)),
    "decode_yolov8_obb": (anchor_count(640), anchor_count(1024)),
    "nms_rotated": (200, 2000),
    "batched_nms_rotated": (200, 2000),
    "fast_nms_rotated": (200, 2000),
}
# --quick keeps two sizes per kernel (a plot needs a slope), always the realistic one:
# the run's recommendation is made there.
QUICK_SIZES = {"nms": (100, 1000, 5000), "batched_nms": (100, 1000, 5000), "soft_nms": (100, 500),
               "letterbox": SIZES["letterbox"][::2], "preprocess": SIZES["preprocess"][::2]}
QUICK_SIZES.update({k: SIZES[k][:2] for k in SIZES if k not in QUICK_SIZES})
# What every row of a kernel's table shares, so that its rows need only the size.
TITLES = {
    "nms": "boxes, IoU 0.45",
    "batched_nms": "boxes, 80 classes",
    "soft_nms": "boxes, gaussian",
    "letterbox": "camera frame to 640x640",
    "to_tensor": "letterboxed image to float32 (1, 3, H, W)",
    "preprocess": "camera frame to float32 (1, 3, 640, 640) unless the row names another",
    "decode_yolov8": "model input side, anchors; 80 classes",
    "decode_yolov5": "model input side, anchors; 80 classes",
    "decode_yolov8_raw": "model input side, anchors; 80 classes",
    "decode_yolov5_raw": "model input side, anchors; 80 classes",
    "decode_yolov3_raw": "model input side, anchors; YOLOv4, 80 classes",
    "scale_boxes": "boxes, 1080p letterbox",
    "postprocess": "model input side, anchors; YOLOv8, 80 classes",
    "process_masks": "instances, masks at the 640 input; 32 prototypes of 160x160",
    "decode_yolov8_pose": "model input side, anchors; a crowd of 30",
    "decode_yolov8_obb": "model input side, anchors; aerial scene, 15 classes",
    "nms_rotated": "rotated boxes, aerial clusters, polygon IoU 0.3",
    "batched_nms_rotated": "rotated boxes, 15 classes, polygon IoU 0.3",
    "fast_nms_rotated": "rotated boxes, 15 classes, ultralytics' fast NMS, probiou 0.7",
}

# Inputs of other dtypes and layouts, as int8 NPU and TFLite exports take and give them,
# measured by compare beside the float32 rows at each kernel's realistic size.
VARIANTS = {
    "preprocess": ("uint8 nhwc", "int8 nchw quantized"),
    "decode_yolov8": ("int8",),
    "decode_yolov8_raw": ("split int8",),
    "postprocess": ("int8 TFLite", "rknn int8 split heads"),
}
PREPROCESS_VARIANTS = {
    "uint8 nhwc": {"dtype": np.uint8, "layout": "nhwc"},  # RKNN and Hailo inputs: the pixels
    "int8 nchw quantized": {"dtype": np.int8, "quant": (1 / 255, -128)},  # an int8 model's input
}


class Scene(NamedTuple):
    """Per cell of every level (levels concatenated, cells row-major): the cell centre,
    its stride, the box a detector would predict there, and its best class and score."""

    cx: np.ndarray
    cy: np.ndarray
    stride: np.ndarray
    boxes: np.ndarray  # (A, 4) cx, cy, w, h in input pixels
    classes: np.ndarray
    confidence: np.ndarray  # the detector's probability for that class


def detector_scene(input_size: int = 640, nc: int = 80, seed: int = 0, n_objects: int = 0,
                   sizes: Tuple[float, float] = (0.0, 0.0)) -> Scene:
    """What a detector sees on a busy street frame: about 12 objects; every cell whose
    centre falls near an object's centre, on the levels whose stride suits its size,
    predicts a jittered copy of its box with a score that falls off with the distance.
    At 640 px that gives a few hundred cells above a 0.25 threshold, like YOLOv8n."""
    rng = np.random.default_rng(seed)
    cells = [(s, np.mgrid[0:input_size // s, 0:input_size // s]) for s in STRIDES]
    cy = np.concatenate([(g[0].ravel() + 0.5) * s for s, g in cells])
    cx = np.concatenate([(g[1].ravel() + 0.5) * s for s, g in cells])
    stride = np.concatenate([np.full(g[0].size, s, np.float64) for s, g in cells])
    n_cells = cx.size
    if n_objects <= 0:
        n_objects = max(3, int(round(12 * (input_size / 640.0) ** 2)))
    low, high = sizes if sizes[1] > 0 else (min(20.0, input_size / 4.0), input_size / 2.0)
    size = np.exp(rng.uniform(np.log(low), np.log(high), (n_objects, 2)))
    centre = rng.uniform(0.0, input_size, (n_objects, 2))
    object_class = rng.integers(0, nc, n_objects)
    # A random box of a few strides around each cell; low confidence in a random class.
    boxes = np.stack([cx + rng.normal(0, 2, n_cells), cy + rng.normal(0, 2, n_cells),
                      stride * rng.uniform(1, 6, n_cells), stride * rng.uniform(1, 6, n_cells)], 1)
    classes = rng.integers(0, nc, n_cells)
    confidence = 1.0 / (1.0 + np.exp(-rng.normal(-6.0, 1.5, n_cells)))
    for (ox, oy), (w, h), c in zip(centre, size, object_class):
        fits = (np.sqrt(w * h) / stride > 1.5) & (np.sqrt(w * h) / stride < 24)
        distance = ((cx - ox) / w) ** 2 + ((cy - oy) / h) ** 2
        near = fits & (distance < 0.25)
        score = 0.95 * np.exp(-distance / 0.06) * rng.uniform(0.7, 1.0, n_cells)
        better = near & (score > confidence)
        count = int(better.sum())
        boxes[better] = np.array([ox, oy, w, h]) * np.exp(rng.normal(0, 0.05, (count, 4)))
        classes[better] = c
        confidence[better] = score[better]
    return Scene(cx, cy, stride, boxes, classes, confidence)


def _class_scores(scene: Scene, nc: int, rng) -> np.ndarray:
    """(A, nc) probabilities: the scene's class at its confidence, the rest far below."""
    scores = 1.0 / (1.0 + np.exp(-rng.normal(-7.0, 1.5, (scene.cx.size, nc))))
    scores[np.arange(scene.cx.size), scene.classes] = scene.confidence
    return scores


def yolov8_output(input_size: int = 640, nc: int = 80, seed: int = 0) -> np.ndarray:
    """A YOLOv8/YOLO11 export's output, (1, 4 + nc, A) float32."""
    scene = detector_scene(input_size, nc, seed)
    rng = np.random.default_rng(seed + 1)
    rows = np.concatenate([scene.boxes, _class_scores(scene, nc, rng)], axis=1)
    return np.ascontiguousarray(rows.T[None], dtype=np.float32)


def quantized_yolov8_output(input_size: int = 640, nc: int = 80, seed: int = 0,
                            dtype=np.int8) -> Tuple[np.ndarray, Tuple[float, int]]:
    """An int8 (or uint8) TFLite export's YOLOv8 output: ``yolov8_output`` with its boxes
    normalised to [0, 1] of the input, as ultralytics' TFLite exports give them (decode
    with ``box_scale=input_size``), then quantized (ONNX ``QuantizeLinear``) with one
    asymmetric scale and zero point covering its whole range. Returns ``(codes, (scale,
    zero_point))``. (In pixels, one scale for boxes and scores leaves every score 0 or 1
    step: the reason those exports normalise.)"""
    from .. import _quant

    pred = yolov8_output(input_size, nc, seed)
    pred[:, :4] /= np.float32(input_size)
    info = np.iinfo(dtype)
    low, high = min(float(pred.min()), 0.0), float(pred.max())
    scale = (high - low) / (info.max - info.min)
    zero_point = int(np.clip(round(info.min - low / scale), info.min, info.max))
    params = _quant.quant_params((scale, zero_point), "quant", dtype)
    return _quant.quantize(pred, params), (scale, zero_point)


def pose_output(input_size: int = 640, people: int = 30, keypoints: int = 17,
                seed: int = 0) -> np.ndarray:
    """A YOLOv8-pose export's output (1, 4 + 1 + 3K, A) float32 on a crowd of ``people``:
    each cell's keypoints spread over its box, visibilities in (0, 1)."""
    scene = detector_scene(input_size, 1, seed, n_objects=people, sizes=(24.0, input_size / 3))
    rng = np.random.default_rng(seed + 2)
    n = scene.cx.size
    cx, cy, w, h = scene.boxes.T
    offsets = rng.uniform(-0.5, 0.5, (2, keypoints, n))
    points = np.stack([cx + offsets[0] * w, cy + offsets[1] * h,
                       rng.uniform(0, 1, (keypoints, n))], axis=1).reshape(3 * keypoints, n)
    rows = np.concatenate([scene.boxes.T, scene.confidence[None], points])
    return np.ascontiguousarray(rows[None], dtype=np.float32)


def obb_output(input_size: int = 1024, nc: int = 15, objects: int = 600,
               seed: int = 0) -> np.ndarray:
    """A YOLOv8-obb export's output (1, 4 + nc + 1, A) float32 on an aerial scene:
    ``objects`` small objects (8 to 48 px, as vehicles in DOTA), each predicted by the
    cells around it with jittered boxes and angles; the last channel is the angle in
    radians in [-pi/4, 3pi/4), as the OBB head emits it."""
    scene = detector_scene(input_size, nc, seed, n_objects=objects, sizes=(8.0, 48.0))
    rng = np.random.default_rng(seed + 3)
    angle = rng.uniform(-np.pi / 4, 3 * np.pi / 4, scene.cx.size)
    rows = np.concatenate([scene.boxes.T, _class_scores(scene, nc, rng).T, angle[None]])
    return np.ascontiguousarray(rows[None], dtype=np.float32)


def rotated_candidates(n: int, image_size: float = 1024.0, seed: int = 0):
    """``n`` rotated candidates (cx, cy, w, h, angle) float32 and scores, clustered as an
    aerial detector leaves them: small boxes, several jittered ones per object."""
    rng = np.random.default_rng(seed)
    objects = max(5, n // 4)
    centre = rng.uniform(0, image_size, (objects, 2))
    size = np.exp(rng.uniform(np.log(8), np.log(40), (objects, 2)))
    angle = rng.uniform(0, np.pi, objects)
    owner = rng.integers(0, objects, n)
    boxes = np.concatenate([centre[owner] + rng.normal(0, 0.1, (n, 2)) * size[owner],
                            size[owner] * np.exp(rng.normal(0, 0.1, (n, 2))),
                            (angle[owner] + rng.normal(0, 0.05, n))[:, None]], axis=1)
    scores = rng.uniform(0.3, 1.0, n)
    return boxes.astype(np.float32), scores.astype(np.float32)


def _yolov5_anchor(scene: Scene, nc: int, rng):
    """One of YOLOv5's three anchors: (objectness (A,), class probabilities (A, nc)). The
    objectness carries the scene's confidence on about half the cells (the anchor that
    fits the object), less elsewhere; the scene's class is likely given an object."""
    objectness = np.where(rng.random(scene.cx.size) < 0.5, scene.confidence,
                          scene.confidence * rng.uniform(0, 0.5, scene.cx.size))
    scores = _class_scores(scene, nc, rng)
    scores[np.arange(scene.cx.size), scene.classes] = rng.uniform(0.7, 1.0, scene.cx.size)
    return objectness, scores


def yolov5_output(input_size: int = 640, nc: int = 80, seed: int = 0) -> np.ndarray:
    """A YOLOv5 export's output, (1, 3 * A, 5 + nc) float32: three anchors per cell."""
    scene = detector_scene(input_size, nc, seed)
    rng = np.random.default_rng(seed + 2)
    rows = []
    for k in range(3):
        objectness, scores = _yolov5_anchor(scene, nc, rng)
        boxes = scene.boxes * np.exp(rng.normal(0, 0.03, scene.boxes.shape))
        rows.append(np.concatenate([boxes, objectness[:, None], scores], axis=1))
    # YOLOv5 orders its output by level, anchor, then cell.
    levels = np.cumsum([0] + [(input_size // s) ** 2 for s in STRIDES])
    ordered = [rows[k][levels[i]:levels[i + 1]] for i in range(len(STRIDES)) for k in range(3)]
    return np.concatenate(ordered)[None].astype(np.float32)


def _logit(p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def yolov8_raw_levels(input_size: int = 640, nc: int = 80, reg_max: int = 16, seed: int = 0):
    """The raw head of a YOLOv8 export without its decoding: per stride, (1, 4 * reg_max
    + nc, H, W) float32, box sides as DFL bin logits peaked at the scene's distances."""
    scene = detector_scene(input_size, nc, seed)
    rng = np.random.default_rng(seed + 3)
    cx, cy, w, h = scene.boxes.T
    sides = np.stack([scene.cx - (cx - w / 2), scene.cy - (cy - h / 2),
                      (cx + w / 2) - scene.cx, (cy + h / 2) - scene.cy], 1) / scene.stride[:, None]
    sides = np.clip(sides, 0, reg_max - 1.01)
    bins = np.arange(reg_max)
    dfl = -((bins[None, None, :] - sides[:, :, None]) ** 2) * 2.0 \
        + rng.normal(0, 0.3, sides.shape + (reg_max,))
    logits = _logit(_class_scores(scene, nc, rng))
    channels = np.concatenate([dfl.reshape(-1, 4 * reg_max), logits], axis=1)
    return _per_level(channels, input_size)


def yolov5_raw_levels(input_size: int = 640, nc: int = 80, seed: int = 0):
    """The raw head of a YOLOv5 export without its decoding: per stride, (1, 3 * (5 +
    nc), H, W) float32 logits, anchors as in YOLOV5_ANCHORS."""
    scene = detector_scene(input_size, nc, seed)
    rng = np.random.default_rng(seed + 4)
    per_anchor = []
    for k in range(3):
        objectness, scores = _yolov5_anchor(scene, nc, rng)
        txy = rng.uniform(0.3, 0.7, (scene.cx.size, 2))
        twh = rng.uniform(0.2, 0.8, (scene.cx.size, 2))
        per_anchor.append(_logit(np.concatenate([txy, twh, objectness[:, None], scores], 1)))
    return _per_level(np.concatenate(per_anchor, axis=1), input_size)


def yolov3_raw_levels(input_size: int = 640, nc: int = 80, seed: int = 0):
    """The raw head of a YOLOv4 (Darknet) export, the convolutions before its [yolo]
    layers: per stride, (1, 3 * (5 + nc), H, W) float32, laid out as YOLOv5's; tw, th in
    (-1.4, 1.4) make boxes 0.25 to 4 times their anchor (YOLOV4_ANCHORS)."""
    return yolov5_raw_levels(input_size, nc, seed)


def quantization(values: np.ndarray, dtype=np.int8):
    """``(scale, zero_point)`` whose codes of ``dtype`` cover the range of ``values``, as
    a calibration that saw them would choose (asymmetric, min to max)."""
    info = np.iinfo(dtype)
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    scale = max(high - low, 1e-6) / (info.max - info.min)
    zero_point = int(np.clip(round(info.min - low / scale), info.min, info.max))
    return scale, zero_point


def rknn_yolov8_levels(input_size: int = 640, nc: int = 80, seed: int = 0, dtype=np.int8):
    """rknn_model_zoo's YOLOv8 export, quantized: per stride ``(box (1, 64, H, W), cls (1,
    nc, H, W) sigmoided, score_sum (1, 1, H, W))`` of ``dtype``, from ``yolov8_raw_levels``
    (the same scene, DFL logits clipped to [-20, 10]); each branch quantized over its
    range (class scores and score_sum:
    scale 1/255 over [0, 1], as RKNN calibrates a sigmoid). Returns ``(levels, quant)``,
    ``quant`` one ``(box_quant, cls_quant, sum_quant)`` per level."""
    levels, quant = [], []
    for level in yolov8_raw_levels(input_size, nc, 16, seed):
        # A trained DFL head's logits span tens, not the hundreds of the far bins here.
        box = np.clip(level[:, :64], -20.0, 10.0)
        cls = 1.0 / (1.0 + np.exp(-level[:, 64:].astype(np.float64)))
        total = np.clip(cls.sum(axis=1, keepdims=True), 0.0, 1.0)
        branches, params = [], []
        for values, covered in ((box, box), (cls, [0.0, 1.0]), (total, [0.0, 1.0])):
            pair = quantization(np.asarray(covered), dtype)
            branches.append(quantize(values.astype(np.float32), quant_params(pair, "quant", dtype)))
            params.append(pair)
        levels.append(tuple(branches))
        quant.append(tuple(params))
    return levels, quant


def _per_level(channels: np.ndarray, input_size: int):
    levels, start = [], 0
    for s in STRIDES:
        side = input_size // s
        part = channels[start:start + side * side]
        start += side * side
        levels.append(np.ascontiguousarray(part.T.reshape(1, -1, side, side), dtype=np.float32))
    return levels


def synthetic_frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A BGR uint8 frame with smooth gradients, edges and noise, like a camera image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // max(1, width - 1)), (y * 255 // max(1, height - 1)),
                     ((x + y) // 8 % 2) * 200], axis=-1)
    noise = rng.integers(-20, 21, (height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _image_for(pixels: int, shapes) -> np.ndarray:
    for h, w in shapes:
        if h * w == pixels:
            return synthetic_frame(h, w)
    side = max(1, int(round(pixels ** 0.5)))  # a --sizes value: a square frame
    return synthetic_frame(side, side)


def workload(kernel: str, size: int, seed: int = 0, variant: str = "") -> Workload:
    """The realistic input of ``kernel`` at ``size`` (in its unit: boxes, anchors or
    pixels), the same in tests, benchmarks and compare; ``variant``, one of
    ``VARIANTS[kernel]``, gives the quantized or NHWC form of it."""
    if variant:
        return _variant_workload(kernel, size, variant, seed)
    if kernel == "nms":
        c = clustered_candidates(size, seed=seed)
        return Workload(kernel, size, "N=%d" % size, (c.boxes, c.scores, IOU_THRESHOLD), {},
                        "N=%d" % size)
    if kernel == "batched_nms":
        c = clustered_candidates(size, n_classes=80, seed=seed)
        return Workload(kernel, size, "N=%d, 80 classes" % size,
                        (c.boxes, c.scores, c.classes, IOU_THRESHOLD), {}, "N=%d" % size)
    if kernel == "soft_nms":
        c = clustered_candidates(size, seed=seed)
        return Workload(kernel, size, "N=%d, gaussian" % size, (c.boxes, c.scores),
                        {"method": "gaussian", "sigma": 0.5}, "N=%d" % size)
    if kernel in ("letterbox", "preprocess"):
        frame = _image_for(size, FRAMES.values())
        short = "%dx%d" % (frame.shape[1], frame.shape[0])
        return Workload(kernel, frame.shape[0] * frame.shape[1], short + " -> 640",
                        (frame, 640), {}, short)
    if kernel == "to_tensor":
        image = _image_for(size, TENSOR_INPUTS.values())
        short = "%dx%d" % image.shape[1::-1]
        return Workload(kernel, image.shape[0] * image.shape[1], short, (image,), {}, short)
    if kernel in _DECODERS:
        per_cell = 3 if "yolov5" in kernel or "yolov3" in kernel else 1
        side = _input_side(size, per_cell)
        make, kwargs = _DECODERS[kernel]
        anchors = anchor_count(side, per_cell)
        if kernel in _DECODED_HEADS and anchors < 85:
            # A tiny input has fewer anchors than channels: say where the anchors are,
            # or the decoders refuse the output as transposed.
            kwargs = {**kwargs, "anchor_axis": -2 if "yolov5" in kernel else -1}
        label = "%d px input, %d anchors" % (side, anchors)
        return Workload(kernel, anchors, label, make(side, seed), kwargs,
                        "%d px, %d" % (side, anchors))
    if kernel == "scale_boxes":
        c = clustered_candidates(size, seed=seed)
        info = _letterbox_1080p()
        return Workload(kernel, size, "N=%d, 1080p letterbox" % size, (c.boxes, info), {},
                        "N=%d" % size)
    if kernel == "process_masks":
        return mask_workload(max(1, int(round(size / MASK_AREA))), seed=seed)
    if kernel in ("nms_rotated", "batched_nms_rotated"):
        boxes, scores = rotated_candidates(size, seed=seed)
        label = "N=%d" % size
        if kernel == "nms_rotated":
            return Workload(kernel, size, label, (boxes, scores, ROTATED_IOU), {"iou": "polygon"},
                            label)
        classes = np.random.default_rng(seed).integers(0, 15, size)
        return Workload(kernel, size, label + ", 15 classes", (boxes, scores, classes, ROTATED_IOU),
                        {"iou": "polygon"}, label)
    if kernel == "fast_nms_rotated":
        boxes, scores = rotated_candidates(size, seed=seed)
        classes = np.random.default_rng(seed).integers(0, 15, size)
        label = "N=%d" % size
        return Workload(kernel, size, label + ", 15 classes", (boxes, scores, FAST_NMS_IOU),
                        {"classes": classes}, label)
    if kernel in ("decode_yolov8_pose", "decode_yolov8_obb"):
        side = _input_side(size, 1)
        pred = pose_output(side, seed=seed) if kernel.endswith("pose") else obb_output(side, seed=seed)
        label = "%d px input, %d anchors" % (side, anchor_count(side))
        return Workload(kernel, anchor_count(side), label, (pred, 0.25), {},
                        "%d px, %d" % (side, anchor_count(side)))
    raise ValueError("no workload for kernel %r" % (kernel,))


def _variant_workload(kernel: str, size: int, variant: str, seed: int) -> Workload:
    """``preprocess`` to uint8 NHWC or int8; ``decode_yolov8`` and ``postprocess`` of the
    int8 TFLite output (``quantized_yolov8_output``: normalised boxes, hence
    ``box_scale``); ``decode_yolov8_raw`` and ``postprocess`` of rknn_model_zoo's split
    int8 heads (``rknn_yolov8_levels``)."""
    if variant not in VARIANTS.get(kernel, ()):
        raise ValueError("no variant %r of kernel %r (variants: %s)"
                         % (variant, kernel, ", ".join(VARIANTS.get(kernel, ())) or "none"))
    if kernel == "preprocess":
        plain = workload(kernel, size, seed)
        return plain._replace(label="%s, %s" % (plain.label, variant),
                              short="%s, %s" % (plain.short, variant),
                              kwargs=dict(PREPROCESS_VARIANTS[variant]), variant=variant)
    side = _input_side(size, 1)
    anchors = anchor_count(side)
    label = "%d px input, %d anchors, %s" % (side, anchors, variant)
    short = "%d px, %s" % (side, variant)
    if variant in ("int8", "int8 TFLite"):
        codes, quant = quantized_yolov8_output(side, seed=seed)
        kwargs: Dict[str, Any] = {"quant": quant, "box_scale": side}
        if anchors < 85:  # see workload(): a tiny output looks transposed
            kwargs["anchor_axis"] = -1
        if kernel == "decode_yolov8":
            return Workload(kernel, anchors, label, (codes, 0.25), kwargs, short, variant)
        return Workload(kernel, anchors, label, (codes, "yolov8"), dict(kwargs, letterbox=None),
                        short, variant)
    levels, quant = rknn_yolov8_levels(side, seed=seed)
    kwargs = {"quant": quant, "sigmoid_applied": True}
    if kernel == "decode_yolov8_raw":
        return Workload(kernel, anchors, label, (levels, STRIDES, 0.25), kwargs, short, variant)
    return Workload(kernel, anchors, label, (levels, "yolov8-raw"),
                    dict(kwargs, strides=STRIDES, iou_threshold=IOU_THRESHOLD, letterbox=None),
                    short, variant)


class Segmentation(NamedTuple):
    """A segmentation head's output after NMS, and where its masks go."""

    protos: np.ndarray  # float32 (C, mh, mw), mh = mw = input / 4
    coeffs: np.ndarray  # float32 (K, C)
    boxes: np.ndarray  # float32 (K, 4) in model-input pixels
    frame_boxes: np.ndarray  # float32 (K, 4) in frame pixels
    info: Any  # LetterboxInfo of the frame into the input
    input_shape: Tuple[int, int]


def segmentation_output(count: int, input_size: int = 640, frame_shape=(1080, 1920),
                        channels: int = 32, seed: int = 0) -> Segmentation:
    """``count`` instances whose masks fill their boxes, as a trained head gives them.

    Five prototype channels span 1, u, v, u^2, v^2 (u, v: input coordinates in [-1, 1]),
    so a coefficient vector can draw an ellipse inscribed in each box; the other channels
    are smooth random fields, which every instance mixes in a little (ragged, object-like
    edges). Boxes lie in the letterboxed image, 24 to 240 input pixels a side.
    """
    rng = np.random.default_rng(seed)
    info = letterbox_geometry(frame_shape, input_size)
    protos = _prototypes(input_size, channels, rng)
    (new_h, new_w), top, left = info.resized_shape, info.pad_top, info.pad_left
    size = np.exp(rng.uniform(np.log(24), np.log(240), (count, 2)))
    size = np.minimum(size, [new_w, new_h])
    x1 = left + rng.uniform(0, 1, count) * (new_w - size[:, 0])
    y1 = top + rng.uniform(0, 1, count) * (new_h - size[:, 1])
    boxes = np.stack([x1, y1, x1 + size[:, 0], y1 + size[:, 1]], axis=1).astype(np.float32)
    coeffs = _ellipse_coefficients(boxes, input_size, channels, rng)
    frame_boxes = accel.scale_boxes(boxes, info)
    return Segmentation(protos, coeffs, boxes, frame_boxes, info, (input_size, input_size))


def _prototypes(input_size: int, channels: int, rng) -> np.ndarray:
    """1, u, v, u^2, v^2, then smooth random fields, at a quarter of the input size."""
    cells = input_size // 4
    centres = (np.arange(cells) + 0.5) / cells * 2 - 1
    v, u = np.meshgrid(centres, centres, indexing="ij")
    protos = np.empty((channels, cells, cells), dtype=np.float32)
    basis = (np.ones_like(u), u, v, u * u, v * v)
    for c in range(channels):
        if c < len(basis):
            protos[c] = basis[c]
        else:  # a coarse random field, bilinearly smoothed
            coarse = rng.normal(size=(6, 6))
            rows = np.interp(np.linspace(0, 5, cells), np.arange(6), np.arange(6))
            field = np.array([np.interp(rows, np.arange(6), line) for line in coarse])
            protos[c] = np.array([np.interp(rows, np.arange(6), col) for col in field.T]).T
    return protos


def _ellipse_coefficients(boxes, input_size: int, channels: int, rng) -> np.ndarray:
    """float32 (K, channels): the ellipse inscribed in each box, as a quadratic in u, v
    (the first five prototypes), plus a little of every random field."""
    boxes = np.asarray(boxes, np.float64)
    cu = (boxes[:, 0] + boxes[:, 2]) / input_size - 1
    cv = (boxes[:, 1] + boxes[:, 3]) / input_size - 1
    au = np.maximum(boxes[:, 2] - boxes[:, 0], 1.0) / input_size
    av = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0) / input_size
    sharp = 4.0
    coeffs = rng.normal(0, 0.1, (len(boxes), channels))
    coeffs[:, :5] = sharp * np.stack([1 - (cu / au) ** 2 - (cv / av) ** 2, 2 * cu / au ** 2,
                                      2 * cv / av ** 2, -1 / au ** 2, -1 / av ** 2], axis=1)
    return coeffs.astype(np.float32)


def yolov8_seg_output(input_size: int = 640, nc: int = 80, channels: int = 32, seed: int = 0):
    """A YOLOv8-seg export's two outputs: ``(1, 4 + nc + channels, A)`` (the detection
    output of ``yolov8_output`` with each anchor's mask coefficients after its class
    scores) and the prototypes ``(1, channels, input / 4, input / 4)``."""
    rng = np.random.default_rng(seed)
    pred = yolov8_output(input_size, nc=nc, seed=seed)
    cx, cy, w, h = pred[0, :4]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    coeffs = _ellipse_coefficients(boxes, input_size, channels, rng)
    return (np.concatenate([pred, coeffs.T[None]], axis=1),
            _prototypes(input_size, channels, rng)[None])


def mask_workload(count: int, native: bool = False, seed: int = 0) -> Workload:
    """``count`` masks at the 640 input, or ``native`` on the 1080p frame."""
    seg = segmentation_output(count, seed=seed)
    if native:
        return Workload("process_masks", count * MASK_AREA, "%d masks on the 1080p frame" % count,
                        (seg.protos, seg.coeffs, seg.frame_boxes), {"letterbox": seg.info},
                        "%d masks, 1080p" % count)
    return Workload("process_masks", count * MASK_AREA, "%d masks at 640" % count,
                    (seg.protos, seg.coeffs, seg.boxes), {"shape": seg.input_shape},
                    "%d masks" % count)


def _input_side(size: int, per_cell: int) -> int:
    """The model input side whose anchor count is ``size`` (or the nearest multiple of 32)."""
    for side in STRIDE_SIDES:
        if anchor_count(side, per_cell) == size:
            return side
    cells_per_pixel = sum(1.0 / s ** 2 for s in STRIDES) * per_cell
    return max(32, int(round((size / cells_per_pixel) ** 0.5 / 32)) * 32)


def _letterbox_1080p():
    return letterbox_geometry((1080, 1920), 640)


_DECODED_HEADS = ("decode_yolov8", "decode_yolov5", "postprocess")
_DECODERS: Dict[str, Tuple[Callable[[int, int], tuple], Dict[str, Any]]] = {
    "decode_yolov8": (lambda side, seed: (yolov8_output(side, seed=seed), 0.25), {}),
    "decode_yolov5": (lambda side, seed: (yolov5_output(side, seed=seed), 0.25), {}),
    "decode_yolov8_raw": (lambda side, seed: (yolov8_raw_levels(side, seed=seed), STRIDES, 0.25),
                          {}),
    "decode_yolov5_raw": (lambda side, seed: (yolov5_raw_levels(side, seed=seed), YOLOV5_ANCHORS,
                                              STRIDES, 0.25), {}),
    "decode_yolov3_raw": (lambda side, seed: (yolov3_raw_levels(side, seed=seed), YOLOV4_ANCHORS,
                                              STRIDES, 0.25), {"scale_x_y": YOLOV4_SCALE_X_Y}),
    "postprocess": (lambda side, seed: (yolov8_output(side, seed=seed), "yolov8"),
                    {"letterbox": None}),
}


def postprocess_workload(format: str, seed: int = 0) -> Workload:
    """accel.postprocess on a task head's output, as its predictor runs it: ``"yolov8"``
    and ``"yolov8-pose"`` at 640 from a 1080p frame, ``"yolov8-obb"`` (15 classes, 600
    small objects) at 1024 from a 2048 x 2048 aerial tile. Not a compare workload (one
    kernel, one size unit: ``postprocess`` is measured on detection outputs); the
    benchmarks and the ultralytics peers use it."""
    if format == "yolov8-obb":
        side, frame, pred = 1024, (2048, 2048), obb_output(1024, seed=seed)
    elif format == "yolov8-pose":
        side, frame, pred = 640, FRAMES[1080], pose_output(640, seed=seed)
    elif format == "yolov8":
        side, frame, pred = 640, FRAMES[1080], yolov8_output(640, seed=seed)
    else:
        raise ValueError("no postprocess workload for format %r" % (format,))
    info = letterbox_geometry(frame, side)
    anchors = anchor_count(side)
    label = "%s, %d px from %dx%d" % (format, side, frame[1], frame[0])
    return Workload("postprocess", anchors, label, (pred, format), {"letterbox": info}, label)
