"""The cases of the rotated-box kernels (``nms_rotated``, ``batched_nms_rotated``) and the
pose / oriented-box decoders, for the conformance table (kernels.py)."""
import math

import numpy as np

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
    ("decode_yolov8_pose", "decode_yolov8_pose", _pose, "pose"),
    ("decode_yolov8_obb", "decode_yolov8_obb", _obb, "obb"),
]
