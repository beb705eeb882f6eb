"""The cases of the rotated-box kernels (``nms_rotated``, ``batched_nms_rotated``,
``fast_nms_rotated``) and the pose / oriented-box decoders, for the conformance table
(kernels.py)."""
import math

import numpy as np
from hypothesis import strategies as st

import accel
from accel.compare.workloads import obb_output, pose_output, rotated_candidates
from cases import reject


def _rotated(batched, kind):
    def run(case, backend):
        options = {k: case[k] for k in ("score_threshold", "max_output") if k in case}
        if batched:
            classes = case.get("classes", np.arange(len(case["scores"])) % 3)
            return accel.batched_nms_rotated(case["rboxes"], case["scores"], classes,
                                             case.get("iou_threshold", 0.3), iou=kind,
                                             backend=backend, **options)
        return accel.nms_rotated(case["rboxes"], case["scores"], case.get("iou_threshold", 0.3),
                                 iou=kind, backend=backend, **options)
    return run


def _fast(with_classes):
    def run(case, backend):
        options = {k: case[k] for k in ("score_threshold", "max_output") if k in case}
        classes = case.get("classes")
        if with_classes and classes is None:
            classes = np.arange(len(case["scores"])) % 3
        return accel.fast_nms_rotated(case["rboxes"], case["scores"],
                                      case.get("iou_threshold", 0.3), classes=classes,
                                      backend=backend, **options)
    return run


def _pose(case, backend):
    return accel.decode_yolov8_pose(case["pred"], case.get("conf", 0.25),
                                    kpt_shape=case.get("kpt_shape", (17, 3)),
                                    anchor_axis=case.get("anchor_axis"), backend=backend)


def _obb(case, backend):
    return accel.decode_yolov8_obb(case["pred"], case.get("conf", 0.25), nc=case.get("nc"),
                                   backend=backend)


def rotated_cases():
    boxes, scores = rotated_candidates(120, image_size=300, seed=4)
    square = [10, 10, 4, 4, 0.0]
    adversarial = np.array([square, square, [10, 10, 4, 4, math.pi / 2], [14, 10, 4, 4, 0.0],
                            [10, 10, 2, 2, 0.3], [10, 10, 0, 0, 0.0], [10, 10, 8, 0, 1.0],
                            [12, 10, 4, 4, -math.pi / 2], [14 + 1e-6, 10, 4, 4, 0.0],
                            [10, 13.999999, 4, 4, 0.0], [1e6, 1e6, 3, 5, 2.0],
                            [1e6 + 1, 1e6, 3, 5, 2.0]])
    three = dict(rboxes=adversarial[:3], scores=[0.9, 0.8, 0.7])
    cases = {
        "empty": dict(rboxes=np.zeros((0, 5)), scores=np.zeros(0)),
        "one": dict(rboxes=[square], scores=[0.5]),
        "adversarial": dict(rboxes=adversarial, scores=np.linspace(0.9, 0.2, len(adversarial))),
        "adversarial-ties-threshold-0": dict(rboxes=adversarial, scores=[0.5] * len(adversarial),
                                             iou_threshold=0.0),
        "threshold-1": dict(rboxes=adversarial, scores=np.linspace(0.9, 0.2, len(adversarial)),
                            iou_threshold=1.0),
        "clustered": dict(rboxes=boxes, scores=scores),
        "clustered-float64-half": dict(rboxes=boxes.astype(np.float64), scores=scores.astype(np.float64),
                                       iou_threshold=0.5),
        "clustered-int-and-lists": dict(rboxes=boxes.astype(np.int32)[:30].tolist(),
                                        scores=(scores[:30] * 10).astype(np.int32)),
        "score-threshold-max-output": dict(rboxes=boxes, scores=scores, score_threshold=0.6,
                                           max_output=7),
        "max-output-0": dict(rboxes=boxes, scores=scores, max_output=0),
        "non-contiguous": dict(rboxes=np.repeat(boxes, 2, axis=1)[:, ::2], scores=scores[::-1]),
        # Rejected by the public layer.
        "nan-angle": reject(ValueError, "rboxes", "NaN", **dict(three, rboxes=np.where(
            np.arange(15).reshape(3, 5) == 9, np.nan, adversarial[:3]))),
        "negative-width": reject(ValueError, "rboxes", "negative", **dict(three, rboxes=adversarial[:3] * [1, 1, -1, 1, 1])),
        "four-columns": reject(ValueError, "rboxes", "(N, 5)", **dict(three, rboxes=adversarial[:3, :4])),
        "text-boxes": reject(TypeError, "rboxes", **dict(three, rboxes=np.array([["a"] * 5] * 3))),
        "scores-length": reject(ValueError, "scores", **dict(three, scores=[0.9, 0.8])),
        "scores-nan": reject(ValueError, "scores", "NaN", **dict(three, scores=[0.9, np.nan, 0.7])),
        "threshold-above-1": reject(ValueError, "iou_threshold", **dict(three, iou_threshold=1.5)),
    }
    return sorted(cases.items())


def rotated_realistic(kernel):
    boxes, scores = rotated_candidates(2000 // kernel.realistic_divisor, seed=1)
    return [("aerial-%d" % len(scores), dict(rboxes=boxes, scores=scores))]


def fast_cases():
    """Fast NMS: what breaks its pruning (zero-size, segments, slivers, tiny, huge and far
    boxes, which probiou does not treat as a polygon IoU would), chains that greedy NMS
    resolves differently, ties, classes."""
    boxes, scores = rotated_candidates(150, image_size=300, seed=6)
    square = [10, 10, 4, 4, 0.0]
    chain = np.array([[0, 0, 10, 4, 0.0], [3, 0, 10, 4, 0.0], [6, 0, 10, 4, 0.0],
                      [9, 0, 10, 4, 0.0], [12, 0, 10, 4, 0.0]])
    degenerate = np.array([
        square, square, [10, 10, 4, 4, math.pi / 2], [10, 10, 0, 0, 0.0],
        [500, -300, 0, 0, 1.0], [1e5, 1e5, 0, 0, 0.0],  # zero-size: ~1 with each other anywhere
        [10, 10, 8, 0, 0.0], [400, 10, 8, 0, 0.0], [10, 60, 8, 0, 0.0],  # segments
        [10, 10, 8, 0, 1.0], [30, 30, 1e-3, 1e-3, 0.3], [31, 30, 2e-3, 1e-3, 0.3],  # tiny
        [50, 50, 1e5, 1e-2, 0.3], [52, 50, 1e5, 1e-2, 0.3],  # slivers: aspect 1e7
        [1e200, 0, 3, 4, 0.0], [-1e200, 5, 3, 4, 1.0], [1e151, 1e151, 3, 4, 0.0],  # huge centres
        [20, 20, 1e160, 1, 0.0], [25, 20, 1e-160, 1e-160, 0.0],  # overflowing, underflowing
        [1e6, 1e6, 3, 5, 2.0], [1e6 + 1, 1e6, 3, 5, 2.0], [1e6 + 40, 1e6, 3, 5, 2.0]])
    spread = np.linspace(0.95, 0.05, len(degenerate))
    rng = np.random.default_rng(6)
    many = rotated_candidates(300, image_size=400, seed=7)
    far = np.array([[i * 100.0, j * 100.0, 20, 10, 0.1 * i] for i in range(6) for j in range(6)])
    cases = {
        "empty": dict(rboxes=np.zeros((0, 5)), scores=np.zeros(0)),
        "one": dict(rboxes=[square], scores=[0.5]),
        "identical-equal-scores": dict(rboxes=[square] * 6, scores=[0.7] * 6),
        "identical": dict(rboxes=[square] * 5, scores=[0.1, 0.9, 0.5, 0.9, 0.3]),
        "chain": dict(rboxes=chain, scores=[0.9, 0.8, 0.7, 0.6, 0.5], iou_threshold=0.5),
        "chain-ties": dict(rboxes=chain, scores=[0.5] * 5, iou_threshold=0.5),
        "degenerate": dict(rboxes=degenerate, scores=spread),
        "degenerate-ties": dict(rboxes=degenerate, scores=[0.5] * len(degenerate)),
        "degenerate-threshold-0": dict(rboxes=degenerate, scores=spread, iou_threshold=0.0),
        "degenerate-threshold-0.9": dict(rboxes=degenerate, scores=spread, iou_threshold=0.9),
        "degenerate-classes": dict(rboxes=degenerate, scores=spread,
                                   classes=np.arange(len(degenerate)) % 4),
        "far-apart": dict(rboxes=far, scores=rng.uniform(0, 1, len(far)), iou_threshold=0.0),
        "threshold-1": dict(rboxes=boxes, scores=scores, iou_threshold=1.0),
        "threshold-above-max-probiou": dict(rboxes=[square] * 3, scores=[0.3, 0.2, 0.1],
                                            iou_threshold=0.9996),
        "threshold-below-max-probiou": dict(rboxes=[square] * 3, scores=[0.3, 0.2, 0.1],
                                            iou_threshold=0.9995),
        "clustered": dict(rboxes=boxes, scores=scores),
        "clustered-threshold-0": dict(rboxes=boxes, scores=scores, iou_threshold=0.0),
        "clustered-threshold-1e-9": dict(rboxes=boxes, scores=scores, iou_threshold=1e-9),
        "clustered-0.7": dict(rboxes=boxes.astype(np.float64), scores=scores.astype(np.float64),
                              iou_threshold=0.7),
        "many-classes": dict(rboxes=many[0], scores=many[1], classes=rng.integers(0, 80, 300),
                             iou_threshold=0.1),
        "huge-class-ids": dict(rboxes=boxes, scores=scores,
                               classes=rng.integers(0, 2, 150) * 10 ** 12),
        "int-and-lists": dict(rboxes=boxes.astype(np.int32)[:30].tolist(),
                              scores=(scores[:30] * 10).astype(np.int32)),
        "score-threshold-max-output": dict(rboxes=boxes, scores=scores, score_threshold=0.6,
                                           max_output=7),
        "max-output-0": dict(rboxes=boxes, scores=scores, max_output=0),
        "max-output-1": dict(rboxes=degenerate, scores=spread, max_output=1),
        "non-contiguous": dict(rboxes=np.repeat(boxes, 2, axis=1)[:, ::2], scores=scores[::-1]),
        # Rejected by the public layer.
        "nan-centre": reject(ValueError, "rboxes", "NaN", rboxes=[square, [np.nan, 0, 1, 1, 0]],
                             scores=[0.9, 0.8]),
        "negative-height": reject(ValueError, "rboxes", "negative",
                                  rboxes=[square, [0, 0, 1, -1, 0]], scores=[0.9, 0.8]),
        "scores-inf": reject(ValueError, "scores", rboxes=[square] * 2, scores=[0.9, np.inf]),
        "float-classes": reject(TypeError, "classes", "astype", rboxes=[square] * 2,
                                scores=[0.9, 0.8], classes=np.array([0.0, 1.0])),
        "classes-length": reject(ValueError, "classes", rboxes=[square] * 2, scores=[0.9, 0.8],
                                 classes=[1]),
        "threshold-negative": reject(ValueError, "iou_threshold", rboxes=[square], scores=[0.9],
                                     iou_threshold=-0.5),
    }
    return sorted(cases.items())


def fast_realistic(kernel):
    """An aerial OBB output decoded (class-aware, as postprocess runs it) and clustered
    candidates; the compiled backends meet the full 1024 px scene in test_rotated.py."""
    pred = obb_output(512, objects=150, seed=4)
    rboxes, scores, classes = accel.decode_yolov8_obb(pred, 0.25)
    boxes, candidate_scores = rotated_candidates(2000 // kernel.realistic_divisor, seed=2)
    return [("obb-512-0.7", dict(rboxes=rboxes, scores=scores, classes=classes,
                                 iou_threshold=0.7)),
            ("obb-512-0.3", dict(rboxes=rboxes, scores=scores, classes=classes,
                                 iou_threshold=0.3)),
            ("aerial-%d" % len(boxes), dict(rboxes=boxes, scores=candidate_scores))]


# Small integer centres and sizes (zeros included) and a few angles make identical,
# degenerate and touching boxes common.
_small = st.integers(0, 6).map(float)


@st.composite
def fast_inputs(draw):
    n = draw(st.integers(0, 30))
    rows = draw(st.lists(st.tuples(_small, _small, _small, _small,
                                   st.sampled_from([0.0, 0.5, math.pi / 2, 2.0])),
                         min_size=n, max_size=n))
    scores = draw(st.lists(st.sampled_from([0.2, 0.5, 0.5, 0.9]), min_size=n, max_size=n))
    return dict(rboxes=np.array(rows, dtype=np.float64).reshape(-1, 5),
                scores=np.array(scores, dtype=np.float64),
                classes=np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
                                 dtype=np.int64),
                iou_threshold=draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 0.95])),
                max_output=draw(st.one_of(st.none(), st.integers(0, 5))))


def pose_cases():
    pose = pose_output(160, people=8, seed=2)
    cases = {
        "crowd-160": dict(pred=pose),
        "xy-only": dict(pred=np.delete(pose, np.s_[7::3], axis=1), kpt_shape=(17, 2)),
        "float64-low-threshold": dict(pred=pose.astype(np.float64), conf=0.05),
        "anchors-first": dict(pred=np.ascontiguousarray(pose.transpose(0, 2, 1)), anchor_axis=-2),
        "anchors-first-refused": reject(ValueError, "pred", "anchor_axis",
                                        pred=np.ascontiguousarray(pose.transpose(0, 2, 1))),
        "wrong-keypoints": reject(ValueError, "pred", "kpt_shape", pred=pose[:, :40]),
        "bad-kpt-shape": reject(ValueError, "kpt_shape", pred=pose, kpt_shape=(17, 4)),
        # A NaN in a class score: found by the backends' scan, on every backend.
        "nan-score": reject(ValueError, "pred", "NaN", after_dispatch=True,
                            pred=np.where(np.arange(pose.size).reshape(pose.shape) == 4 * 525 + 3,
                                          np.nan, pose)),
    }
    return sorted(cases.items())


def obb_cases():
    obb = obb_output(256, nc=4, objects=40, seed=3)
    cases = {
        "aerial-256": dict(pred=obb),
        "nc-given": dict(pred=obb, nc=4, conf=0.5),
        "float16": dict(pred=obb.astype(np.float16)),
        "wrong-nc": reject(ValueError, "pred", "nc", pred=obb, nc=2),
        "nan-score": reject(ValueError, "pred", "NaN", after_dispatch=True,
                            pred=np.where(np.arange(obb.size).reshape(obb.shape) == 5 * 1344 + 7,
                                          np.nan, obb)),
    }
    return sorted(cases.items())


ROWS = [
    # (table name, kernel, run, family)
    ("nms_rotated-polygon", "nms_rotated", _rotated(False, "polygon"), "rotated"),
    ("nms_rotated-probiou", "nms_rotated", _rotated(False, "probiou"), "rotated"),
    ("batched_nms_rotated-polygon", "batched_nms_rotated", _rotated(True, "polygon"), "rotated"),
    ("batched_nms_rotated-probiou", "batched_nms_rotated", _rotated(True, "probiou"), "rotated"),
    ("fast_nms_rotated", "fast_nms_rotated", _fast(False), "fast"),
    ("fast_nms_rotated-classes", "fast_nms_rotated", _fast(True), "fast"),
    ("decode_yolov8_pose", "decode_yolov8_pose", _pose, "pose"),
    ("decode_yolov8_obb", "decode_yolov8_obb", _obb, "obb"),
]
