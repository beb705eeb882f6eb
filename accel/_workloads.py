"""Deterministic, realistic inputs for tests, benchmarks and ``python -m accel.compare``.

Detector candidates are not uniform random boxes: they come in clusters, many jittered
boxes around each object, with scores that fall off away from the object's true box and
a thin layer of low-score background boxes. NMS speed depends on exactly that shape.
"""
from typing import NamedTuple

import numpy as np


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
    size: int
    label: str
    args: tuple
    kwargs: dict

    def call(self, backend: str):
        import accel

        return getattr(accel, self.kernel)(*self.args, backend=backend, **self.kwargs)


IOU_THRESHOLD = 0.45
FRAMES = {480: (480, 640), 720: (720, 1280), 1080: (1080, 1920)}  # height: (h, w)
TENSOR_INPUTS = {320: (320, 320), 640: (640, 640)}  # letterboxed images fed to to_tensor
# Sizes are what the dispatcher sees: the number of boxes, or the image's element count.
SIZES = {
    "nms": (100, 1000, 5000, 20000),
    "batched_nms": (100, 1000, 5000, 20000),
    # soft-NMS is quadratic by nature (every selection decays every remaining box).
    "soft_nms": (100, 500, 2000),
    "letterbox": tuple(h * w * 3 for h, w in FRAMES.values()),
    "to_tensor": tuple(h * w * 3 for h, w in TENSOR_INPUTS.values()),
    "preprocess": tuple(h * w * 3 for h, w in FRAMES.values()),
}
QUICK_SIZES = {"nms": (100, 1000, 5000), "batched_nms": (100, 1000, 5000), "soft_nms": (100, 500),
               "letterbox": SIZES["letterbox"][:1], "to_tensor": SIZES["to_tensor"][:1],
               "preprocess": SIZES["preprocess"][:1]}


def synthetic_frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A BGR uint8 frame with smooth gradients, edges and noise, like a camera image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // max(1, width - 1)), (y * 255 // max(1, height - 1)),
                     ((x + y) // 8 % 2) * 200], axis=-1)
    noise = rng.integers(-20, 21, (height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _image_for(size: int, shapes) -> np.ndarray:
    for h, w in shapes:
        if h * w * 3 == size:
            return synthetic_frame(h, w)
    side = max(1, int(round((size / 3) ** 0.5)))  # a --sizes value: a square frame
    return synthetic_frame(side, side)


def workload(kernel: str, size: int, seed: int = 0) -> Workload:
    """The realistic input of ``kernel`` at ``size``, the same in tests, benchmarks and compare."""
    if kernel == "nms":
        c = clustered_candidates(size, seed=seed)
        return Workload(kernel, size, "N=%d" % size, (c.boxes, c.scores, IOU_THRESHOLD), {})
    if kernel == "batched_nms":
        c = clustered_candidates(size, n_classes=80, seed=seed)
        return Workload(kernel, size, "N=%d, 80 classes" % size,
                        (c.boxes, c.scores, c.classes, IOU_THRESHOLD), {})
    if kernel == "soft_nms":
        c = clustered_candidates(size, seed=seed)
        return Workload(kernel, size, "N=%d, gaussian" % size, (c.boxes, c.scores),
                        {"method": "gaussian", "sigma": 0.5})
    if kernel in ("letterbox", "preprocess"):
        frame = _image_for(size, FRAMES.values())
        label = "%dx%d -> 640" % (frame.shape[1], frame.shape[0])
        return Workload(kernel, frame.size, label, (frame, 640), {})
    if kernel == "to_tensor":
        image = _image_for(size, TENSOR_INPUTS.values())
        return Workload(kernel, image.size, "%dx%d" % image.shape[1::-1], (image,), {})
    raise ValueError("no workload for kernel %r" % (kernel,))
