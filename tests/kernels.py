"""The one table of kernels, and the shared input cases, that drive the conformance suite.

Every case is a dict of NMS-style inputs (boxes, scores, classes, thresholds); each
kernel entry knows how to call its public function on a case and how two results must
agree. Adding a kernel to accel means adding a row here.
"""
from typing import Callable, NamedTuple

import numpy as np

import accel
from accel._workloads import clustered_candidates


class Kernel(NamedTuple):
    name: str  # a registered kernel (accel.KERNELS), plus a variant label
    kernel: str
    run: Callable  # (case, backend) -> result
    assert_agree: Callable  # (expected, actual) -> None, raises AssertionError


def _exact(expected, actual):
    assert actual.dtype == expected.dtype == np.int64
    np.testing.assert_array_equal(actual, expected)


def _soft_agree(expected, actual):
    (exp_idx, exp_scores), (idx, scores) = expected, actual
    _exact(exp_idx, idx)
    assert scores.dtype == exp_scores.dtype == np.float64
    np.testing.assert_allclose(scores, exp_scores, rtol=1e-12, atol=0)


def _nms(case, backend):
    return accel.nms(
        case["boxes"], case["scores"], case.get("iou_threshold", 0.5),
        score_threshold=case.get("score_threshold"), max_output=case.get("max_output"),
        backend=backend,
    )


def _batched(case, backend):
    classes = case.get("classes")
    if classes is None:
        classes = np.arange(len(case["scores"])) % 3
    return accel.batched_nms(
        case["boxes"], case["scores"], classes, case.get("iou_threshold", 0.5),
        score_threshold=case.get("score_threshold"), max_output=case.get("max_output"),
        backend=backend,
    )


def _soft(method):
    def run(case, backend):
        return accel.soft_nms(
            case["boxes"], case["scores"], method=method, sigma=case.get("sigma", 0.5),
            iou_threshold=case.get("iou_threshold", 0.3),
            score_threshold=case.get("score_threshold", 0.001),
            max_output=case.get("max_output"), backend=backend,
        )
    return run


KERNEL_TABLE = [
    Kernel("nms", "nms", _nms, _exact),
    Kernel("batched_nms", "batched_nms", _batched, _exact),
    Kernel("soft_nms-linear", "soft_nms", _soft("linear"), _soft_agree),
    Kernel("soft_nms-gaussian", "soft_nms", _soft("gaussian"), _soft_agree),
]


def _boxes(rows, dtype=np.float64):
    return np.array(rows, dtype=dtype).reshape(-1, 4)


def adversarial_cases():
    """(id, case) pairs chosen to break tie rules, strictness and float edge cases."""
    clustered = clustered_candidates(300, n_classes=3, seed=1)
    cb, cs, cc = clustered.boxes, clustered.scores, clustered.classes
    cases = {
        "empty": dict(boxes=np.zeros((0, 4)), scores=np.zeros(0)),
        "one-box": dict(boxes=_boxes([1, 2, 3, 4]), scores=[0.5]),
        "identical-boxes-equal-scores": dict(boxes=_boxes([[0, 0, 10, 10]] * 6), scores=[0.7] * 6),
        "identical-boxes": dict(boxes=_boxes([[0, 0, 10, 10]] * 5), scores=[0.1, 0.9, 0.5, 0.9, 0.3]),
        "equal-scores-chain": dict(
            boxes=_boxes([[i, 0, i + 4, 4] for i in range(12)]), scores=[0.5] * 12,
            iou_threshold=0.4),
        "touching": dict(boxes=_boxes([[0, 0, 1, 1], [1, 0, 2, 1], [0, 1, 1, 2], [1, 1, 2, 2]]),
                         scores=[0.9, 0.8, 0.7, 0.6], iou_threshold=0.0),
        "iou-exactly-threshold": dict(boxes=_boxes([[0, 0, 2, 1], [1, 0, 3, 1]]), scores=[0.9, 0.8],
                                      iou_threshold=1.0 / 3.0),
        "iou-just-above-threshold": dict(boxes=_boxes([[0, 0, 2, 1], [1, 0, 3, 1]]), scores=[0.9, 0.8],
                                         iou_threshold=np.nextafter(1.0 / 3.0, 0.0)),
        "iou-half": dict(boxes=_boxes([[0, 0, 4, 1], [0, 0, 2, 1], [2, 0, 4, 1]]),
                         scores=[0.5, 0.9, 0.9], iou_threshold=0.5),
        "zero-area": dict(boxes=_boxes([[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 2, 0], [0, 0, 2, 2], [1, 0, 1, 5]]),
                          scores=[0.9, 0.8, 0.7, 0.6, 0.5], iou_threshold=0.0),
        "huge-coordinates": dict(
            boxes=_boxes([[-1e300, -1e300, 1e300, 1e300], [0, 0, 1e300, 1e300], [-1e308, 0, 1e308, 1],
                          [1e307, 1e307, 1.5e307, 1.5e307], [1.1e307, 1.1e307, 1.6e307, 1.6e307]]),
            scores=[0.2, 0.9, 0.5, 0.8, 0.7], iou_threshold=0.1),
        "tiny-coordinates": dict(
            boxes=_boxes([[0, 0, 1e-300, 1e-300], [0, 0, 2e-300, 1e-300], [5e-324, 0, 1e-323, 1e-300]]),
            scores=[0.9, 0.8, 0.7], iou_threshold=0.3),
        "negative-coordinates-and-scores": dict(
            boxes=_boxes([[-10, -10, -5, -5], [-9, -9, -4, -4], [-100, -100, 100, 100]]),
            scores=[-0.5, -0.25, -3.0], iou_threshold=0.3, score_threshold=-1.0),
        "threshold-0": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=0.0),
        "threshold-1": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=1.0),
        "score-threshold": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=0.45, score_threshold=0.3),
        "score-threshold-drops-all": dict(boxes=cb, scores=cs, classes=cc, score_threshold=2.0),
        "max-output-0": dict(boxes=cb, scores=cs, classes=cc, max_output=0),
        "max-output-1": dict(boxes=cb, scores=cs, classes=cc, max_output=1),
        "max-output-7": dict(boxes=cb, scores=cs, classes=cc, max_output=7),
        "max-output-beyond-n": dict(boxes=cb, scores=cs, classes=cc, max_output=10 ** 9),
        "clustered-float32": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=0.45),
        "clustered-float64": dict(boxes=cb.astype(np.float64), scores=cs.astype(np.float64), classes=cc),
        "clustered-float16": dict(boxes=cb.astype(np.float16), scores=cs.astype(np.float16), classes=cc),
        "clustered-int32": dict(boxes=cb.astype(np.int32), scores=(cs * 10).astype(np.int32), classes=cc),
        "clustered-uint16-classes-uint8": dict(boxes=cb.astype(np.uint16), scores=cs, classes=cc.astype(np.uint8)),
        "non-contiguous": dict(boxes=np.repeat(cb, 2, axis=1)[:, ::2], scores=np.repeat(cs, 3)[::3],
                               classes=np.repeat(cc, 2)[::2]),
        "fortran-order": dict(boxes=np.asfortranarray(cb), scores=cs, classes=cc),
        "byte-swapped": dict(boxes=cb.astype(">f8"), scores=cs.astype(">f4"), classes=cc.astype(">i8")),
        "python-lists": dict(boxes=cb[:20].tolist(), scores=cs[:20].tolist(), classes=cc[:20].tolist()),
        "many-classes": dict(boxes=cb, scores=cs, classes=np.arange(300) % 80, iou_threshold=0.3),
        "grid-extremes": dict(
            boxes=_boxes([[0, 0, 640, 640], [0, 0, 1, 1], [639, 639, 640, 640], [0, 0, 0.5, 640],
                          [300, 300, 340, 340], [310, 310, 330, 330], [0, 0, 640, 1]]),
            scores=[0.1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4], iou_threshold=0.0),
        # Inputs that must be rejected, on every backend alike.
        "nan-coordinate": dict(boxes=_boxes([[0, 0, 1, 1], [0, np.nan, 1, 1]]), scores=[0.5, 0.5]),
        "inverted-box": dict(boxes=_boxes([[0, 0, 1, 1], [2, 0, 1, 1]]), scores=[0.5, 0.5]),
        "inf-score": dict(boxes=_boxes([[0, 0, 1, 1]]), scores=[np.inf]),
        "length-mismatch": dict(boxes=_boxes([[0, 0, 1, 1]]), scores=[0.5, 0.4]),
        "threshold-above-1": dict(boxes=_boxes([[0, 0, 1, 1]]), scores=[0.5], iou_threshold=1.5),
    }
    return sorted(cases.items())
