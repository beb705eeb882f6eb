"""The cases of ``process_masks`` for the conformance table (kernels.py): awkward geometry,
dtypes and layouts, accepted and rejected, and the realistic workloads."""
import numpy as np

import accel
from accel.compare.workloads import segmentation_output
from cases import reject


def _masks(compact):
    def run(case, backend):
        options = {k: case[k] for k in ("shape", "letterbox", "check_finite") if k in case}
        return accel.process_masks(case["protos"], case["coeffs"], case["boxes"],
                                   compact=compact, backend=backend, **options)
    return run


def _small(k=6, channels=8, cells=(16, 20), seed=0):
    rng = np.random.default_rng(seed)
    protos = rng.normal(size=(channels,) + cells).astype(np.float32)
    coeffs = rng.normal(size=(k, channels)).astype(np.float32)
    return protos, coeffs


def cases():
    protos, coeffs = _small()
    boxes = np.array([[3.2, 4.0, 40.5, 30.0], [0, 0, 80, 64], [10, 10, 10, 30], [70, 50, 95, 90],
                      [-30, -20, -1, -2], [12.5, 12.5, 13.5, 13.5]], dtype=np.float32)
    base = dict(protos=protos, coeffs=coeffs, boxes=boxes, shape=(64, 80))
    info = accel.letterbox(np.zeros((45, 100, 3), np.uint8), (64, 80))[1]
    uncentred = accel.letterbox(np.zeros((45, 100, 3), np.uint8), (64, 80), center=False)[1]
    tall = accel.letterbox(np.zeros((300, 30, 3), np.uint8), (64, 80))[1]
    frame_boxes = np.array([[0, 0, 100, 45], [20.3, 5.7, 60.2, 40.1], [99, 44, 100, 45],
                            [50, 0, 50, 45], [-5, 10, 30, 50], [90, 40, 200, 300]], np.float32)
    one_pixel = _small(3, 4, (1, 1))
    seg = segmentation_output(12, input_size=128, frame_shape=(90, 160), seed=3)
    cases = {
        "awkward-boxes": base,
        "letterbox": dict(base, shape=None, letterbox=info, boxes=frame_boxes),
        "letterbox-not-centred": dict(base, shape=None, letterbox=uncentred, boxes=frame_boxes),
        "letterbox-tall-frame": dict(base, shape=None, letterbox=tall, boxes=frame_boxes * [0.3, 6, 0.3, 6]),
        "no-detections": dict(base, coeffs=coeffs[:0], boxes=boxes[:0]),
        "single-pixel-prototypes": dict(protos=one_pixel[0], coeffs=one_pixel[1],
                                        boxes=boxes[:3], shape=(7, 9)),
        "one-channel": dict(base, protos=protos[:1], coeffs=coeffs[:, :1]),
        "batch-axis-float16": dict(base, protos=protos[None].astype(np.float16),
                                   coeffs=coeffs.astype(np.float16)),
        "float64-coeffs-and-boxes": dict(base, coeffs=coeffs.astype(np.float64) / 3,
                                         boxes=boxes.astype(np.float64)),
        "non-contiguous": dict(base, protos=np.repeat(protos, 2, axis=2)[:, :, ::2],
                               coeffs=np.asfortranarray(coeffs), boxes=np.repeat(boxes, 2, 0)[::2]),
        "shrinking-target": dict(base, shape=(9, 11)),
        "realistic-small": dict(protos=seg.protos, coeffs=seg.coeffs, boxes=seg.boxes,
                                shape=seg.input_shape),
        "realistic-small-native": dict(protos=seg.protos, coeffs=seg.coeffs,
                                       boxes=seg.frame_boxes, letterbox=seg.info),
        "unchecked": dict(base, check_finite=False),
        # Rejected by the public layer, before any backend runs.
        "protos-float64": reject(TypeError, "protos", "float32", **dict(base, protos=protos.astype(np.float64))),
        "protos-2d": reject(ValueError, "protos", "(C, mh, mw)", **dict(base, protos=protos[0])),
        "protos-empty": reject(ValueError, "protos", "empty", **dict(base, protos=protos[:, :0])),
        "protos-nan": reject(ValueError, "protos", "NaN", **dict(base, protos=np.where(
            np.arange(protos.size).reshape(protos.shape) == 7, np.float32(np.nan), protos))),
        "coeffs-integer": reject(TypeError, "coeffs", **dict(base, coeffs=coeffs.astype(np.int32))),
        "coeffs-wrong-channels": reject(ValueError, "coeffs", "channels", **dict(base, coeffs=coeffs[:, :5])),
        "coeffs-inf": reject(ValueError, "coeffs", "infinite", **dict(base, coeffs=coeffs * np.inf)),
        "rows-disagree": reject(ValueError, "boxes", "rows", **dict(base, boxes=boxes[:4])),
        "box-inverted": reject(ValueError, "boxes", "x2 < x1", **dict(base, boxes=boxes[:, [2, 1, 0, 3]])),
        "box-nan": reject(ValueError, "boxes", "NaN", **dict(base, boxes=boxes * np.nan)),
        "both-targets": reject(ValueError, "shape", "letterbox", **dict(base, letterbox=info)),
        "no-target": reject(ValueError, "shape", "letterbox", **dict(base, shape=None)),
        "letterbox-not-info": reject(TypeError, "letterbox", "LetterboxInfo",
                                     **dict(base, shape=None, letterbox=(1.0, (0, 0)))),
        "shape-zero": reject(ValueError, "shape", **dict(base, shape=(0, 10))),
    }
    return sorted(cases.items())


def realistic(kernel):
    """30 instances at the 640 input, and on the 1080p frame; the pure-Python reference
    computes every masked pixel in an interpreted loop, so fewer instances there."""
    seg = segmentation_output(30 // kernel.realistic_divisor, seed=1)
    return [("30-masks-640", dict(protos=seg.protos, coeffs=seg.coeffs, boxes=seg.boxes,
                                  shape=seg.input_shape)),
            ("30-masks-1080p", dict(protos=seg.protos, coeffs=seg.coeffs, boxes=seg.frame_boxes,
                                    letterbox=seg.info))]


ROWS = [
    # (table name, kernel, run, family)
    ("process_masks", "process_masks", _masks(False), "masks"),
    ("process_masks-compact", "process_masks", _masks(True), "masks"),
]
