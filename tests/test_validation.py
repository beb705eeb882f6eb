"""The public layer rejects bad input with errors that name the argument, and never
modifies the caller's arrays. Validation happens before dispatch, so it is the same on
every backend; the backend fixture proves it."""
import numpy as np
import pytest

import accel
from accel.compare.workloads import clustered_candidates

GOOD_BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float64)
GOOD_SCORES = np.array([0.9, 0.8, 0.7])
GOOD_CLASSES = np.array([0, 0, 1])


def call_all(backend, boxes=GOOD_BOXES, scores=GOOD_SCORES, classes=GOOD_CLASSES, **kw):
    """Each NMS kernel on the same arguments; the first failure propagates."""
    iou = kw.pop("iou_threshold", 0.5)
    accel.nms(boxes, scores, iou, backend=backend, **kw)
    accel.batched_nms(boxes, scores, classes, iou, backend=backend, **kw)
    accel.soft_nms(boxes, scores, iou_threshold=iou, backend=backend, **kw)


@pytest.mark.parametrize("boxes, error, words", [
    (np.zeros((3, 5)), ValueError, ["boxes", "(N, 4)"]),
    (np.zeros(12), ValueError, ["boxes", "2 dimensions"]),
    (np.zeros((3, 4), dtype=bool), TypeError, ["boxes", "bool"]),
    (np.zeros((3, 4), dtype=complex), TypeError, ["boxes", "complex"]),
    (np.array([["a"] * 4] * 3), TypeError, ["boxes"]),
    (np.array([[0, 0, 1, 1], [0, 0, np.inf, 1], [0, 0, 1, 1]]), ValueError, ["boxes", "row 1"]),
    (np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, np.nan, 1, 1]]), ValueError, ["boxes", "row 2"]),
    (np.array([[0, 0, 1, 1], [5, 0, 1, 1], [0, 0, 1, 1]]), ValueError, ["boxes", "row 1", "x2 < x1"]),
    (np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 3, 1, 2]]), ValueError, ["boxes", "row 2"]),
])
def test_bad_boxes(boxes, error, words, backend):
    with pytest.raises(error) as info:
        call_all(backend, boxes=boxes)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("scores, error, words", [
    (np.array([0.9, 0.8]), ValueError, ["scores", "length 2", "3 rows"]),
    (np.array([[0.9, 0.8, 0.7]]), ValueError, ["scores", "dimension"]),
    (np.array([0.9, np.nan, 0.7]), ValueError, ["scores", "index 1"]),
    (np.array([0.9, 0.8, -np.inf]), ValueError, ["scores", "index 2"]),
    (np.array(["a", "b", "c"]), TypeError, ["scores"]),
])
def test_bad_scores(scores, error, words, backend):
    with pytest.raises(error) as info:
        call_all(backend, scores=scores)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("classes, error, words", [
    (np.array([0.0, 1.0, 2.0]), TypeError, ["classes", "astype"]),
    (np.array([0, 1]), ValueError, ["classes", "(3,)"]),
    (np.array([[0, 1, 2]]), ValueError, ["classes"]),
    (np.array([0, 1, 2 ** 64 - 1], dtype=np.uint64), ValueError, ["classes", "index 2"]),
])
def test_bad_classes(classes, error, words, backend):
    with pytest.raises(error) as info:
        accel.batched_nms(GOOD_BOXES, GOOD_SCORES, classes, 0.5, backend=backend)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(iou_threshold=-0.1), ValueError, "iou_threshold"),
    (dict(iou_threshold=1.01), ValueError, "iou_threshold"),
    (dict(iou_threshold=float("nan")), ValueError, "iou_threshold"),
    (dict(iou_threshold="0.5"), TypeError, "iou_threshold"),
    (dict(iou_threshold=True), TypeError, "iou_threshold"),
    (dict(score_threshold=float("inf")), ValueError, "score_threshold"),
    (dict(score_threshold=float("nan")), ValueError, "score_threshold"),
    (dict(max_output=-1), ValueError, "max_output"),
    (dict(max_output=2.5), TypeError, "max_output"),
])
def test_bad_thresholds(kwargs, error, name, backend):
    with pytest.raises(error, match=name):
        call_all(backend, **kwargs)


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(method="hard"), ValueError, "method"),
    (dict(sigma=0.0), ValueError, "sigma"),
    (dict(sigma=-1.0), ValueError, "sigma"),
    (dict(sigma=float("inf")), ValueError, "sigma"),
])
def test_bad_soft_nms_options(kwargs, error, name, backend):
    with pytest.raises(error, match=name):
        accel.soft_nms(GOOD_BOXES, GOOD_SCORES, backend=backend, **kwargs)


def test_numpy_scalars_accepted(backend):
    keep = accel.nms(GOOD_BOXES, GOOD_SCORES, np.float32(0.5), max_output=np.int64(2),
                     score_threshold=np.float64(0.1), backend=backend)
    np.testing.assert_array_equal(keep, [0, 2])


def test_empty_input_gives_empty_int64(backend):
    empty = np.zeros((0, 4), dtype=np.float32)
    for keep in (accel.nms(empty, np.zeros(0), 0.5, backend=backend),
                 accel.batched_nms(empty, np.zeros(0), np.zeros(0, dtype=np.int32), 0.5, backend=backend),
                 accel.soft_nms(empty, np.zeros(0), backend=backend)[0]):
        assert keep.dtype == np.int64 and keep.shape == (0,)
    assert accel.soft_nms(empty, np.zeros(0), backend=backend)[1].dtype == np.float64


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
