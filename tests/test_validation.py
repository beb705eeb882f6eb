"""The public layer never modifies the caller's arrays, on any backend; soft-NMS by hand.

Bad input is rejected before dispatch with errors that name the argument: those cases
are rows of the NMS case table (kernels.py), checked once per kernel in
test_conformance.py; the one option the table's rows cannot vary (``method``) is here."""
import numpy as np
import pytest

import accel
from accel.compare.workloads import clustered_candidates

GOOD_BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float64)
GOOD_SCORES = np.array([0.9, 0.8, 0.7])


def test_bad_soft_nms_method(unreachable_backends):
    with pytest.raises(ValueError, match="method") as info:
        accel.soft_nms(GOOD_BOXES, GOOD_SCORES, method="hard", backend="python")
    assert info.type is ValueError


def test_inputs_not_modified(backend):
    c = clustered_candidates(500, n_classes=4, seed=7)
    variants = [
        (c.boxes, c.scores, c.classes),                                         # float32: converted
        (c.boxes.astype(np.float64), c.scores.astype(np.float64), c.classes),   # float64: passed as is
        (np.asfortranarray(c.boxes.astype(np.float64)), c.scores[::-1], c.classes[::-1]),
    ]
    for boxes, scores, classes in variants:
        before = [a.copy() for a in (boxes, scores, classes)]
        flags = [a.flags.writeable for a in (boxes, scores, classes)]
        accel.nms(boxes, scores, 0.5, backend=backend)
        accel.batched_nms(boxes, scores, classes, 0.5, backend=backend)
        accel.soft_nms(boxes, scores, backend=backend)
        accel.soft_nms(boxes, scores, method="linear", backend=backend)
        for original, after, flag in zip(before, (boxes, scores, classes), flags):
            np.testing.assert_array_equal(after, original)
            assert after.flags.writeable == flag


def test_soft_nms_hand_computed(backend):
    """Two boxes with IoU exactly 1/3: the second is decayed by the formula."""
    boxes = np.array([[0, 0, 2, 1], [1, 0, 3, 1]], dtype=np.float64)
    idx, scores = accel.soft_nms(boxes, [0.9, 0.8], method="gaussian", sigma=0.5, backend=backend)
    np.testing.assert_array_equal(idx, [0, 1])
    np.testing.assert_allclose(scores, [0.9, 0.8 * np.exp(-(1 / 9) / 0.5)], rtol=1e-12)
    idx, scores = accel.soft_nms(boxes, [0.9, 0.8], method="linear", iou_threshold=0.3, backend=backend)
    np.testing.assert_allclose(scores, [0.9, 0.8 * (1 - 1 / 3)], rtol=1e-12)
    idx, scores = accel.soft_nms(boxes, [0.9, 0.8], method="linear", iou_threshold=1 / 3, backend=backend)
    np.testing.assert_allclose(scores, [0.9, 0.8], rtol=0)  # not above the threshold: untouched
    idx, _ = accel.soft_nms(boxes, [0.9, 0.8], method="linear", iou_threshold=0.3,
                            score_threshold=0.6, backend=backend)
    np.testing.assert_array_equal(idx, [0])  # 0.8 * 2/3 < 0.6: dropped
