"""Rotated boxes, pose and oriented-box heads against independent renderings.

The conformance suite (kernels.py) proves that every backend returns the reference's
answer. Here the reference is checked: polygon IoU against shapely, probiou against a
float64 rendering of ultralytics' ``batch_probiou``, greedy NMS against a brute-force
loop, the decoders against NumPy renderings of ultralytics' code paths, and the OBB
postprocess against ultralytics' non-greedy NMS.
"""
import math

import numpy as np
import pytest

import accel
from accel._backends.python._shared import values
from accel._backends.python.rotated import polygon_iou, probiou
from accel._rotated import corners, geometry
from accel.compare.workloads import obb_output, pose_output, rotated_candidates


def _pair_iou(a, b, kind="polygon"):
    g = values(geometry(np.array([a, b], dtype=np.float64), kind))
    return (polygon_iou if kind == "polygon" else probiou)(g, 0, 1)


ADVERSARIAL_PAIRS = {
    "identical": ([5, 5, 4, 2, 0.3], [5, 5, 4, 2, 0.3]),
    "touching-edges": ([0, 0, 2, 2, 0.0], [2, 0, 2, 2, 0.0]),
    "touching-corner": ([0, 0, 2, 2, 0.0], [2, 2, 2, 2, 0.0]),
    "inside": ([0, 0, 10, 10, 0.2], [0.5, 0.5, 2, 1, 1.0]),
    "half-pi": ([0, 0, 4, 2, math.pi / 2], [0, 0, 2, 4, 0.0]),
    "minus-half-pi": ([0, 0, 4, 2, -math.pi / 2], [1, 0, 4, 2, math.pi / 2]),
    "zero-area": ([0, 0, 0, 0, 0.0], [0, 0, 2, 2, 0.0]),
    "segment": ([0, 0, 4, 0, 0.5], [0, 0, 2, 2, 0.0]),
    "sliver-1e-6": ([0, 0, 2, 2, 0.0], [2 - 1e-6, 0, 2, 2, 0.0]),
    "far": ([0, 0, 2, 2, 0.0], [100, 100, 2, 2, 0.4]),
    "cross": ([0, 0, 10, 1, 0.0], [0, 0, 10, 1, math.pi / 2]),
    "large-coordinates": ([1e5, 1e5, 30, 10, 0.7], [1e5 + 3, 1e5 - 2, 25, 12, 1.1]),
}


def _shapely_iou(shapely, a, b):
    pa, pb = (shapely.Polygon(c) for c in corners(np.array([a, b], dtype=np.float64)))
    inter = pa.intersection(pb).area
    union = pa.area + pb.area - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_PAIRS))
def test_polygon_iou_matches_shapely_on_adversarial_pairs(name):
    shapely = pytest.importorskip("shapely", reason="shapely has no wheel here (test extra)")
    a, b = ADVERSARIAL_PAIRS[name]
    expected = _shapely_iou(shapely, a, b)
    assert _pair_iou(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert _pair_iou(b, a) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_polygon_iou_matches_shapely_on_random_pairs():
    shapely = pytest.importorskip("shapely", reason="shapely has no wheel here (test extra)")
    rng = np.random.default_rng(0)
    for _ in range(2000):
        pair = np.concatenate([rng.uniform(0, 20, (2, 2)), rng.uniform(0.1, 15, (2, 2)),
                               rng.uniform(-4, 4, (2, 1))], axis=1)
        assert _pair_iou(*pair) == pytest.approx(_shapely_iou(shapely, *pair), rel=1e-9, abs=1e-12)


def ultralytics_probiou(box1, box2, eps=1e-7):
    """ultralytics' ``batch_probiou`` of two boxes, written out in float64 from its
    formula (covariance from w^2/12, h^2/12 and the angle; Bhattacharyya distance;
    Hellinger distance)."""
    def covariance(box):
        a, b, angle = box[2] ** 2 / 12, box[3] ** 2 / 12, box[4]
        cos, sin = math.cos(angle), math.sin(angle)
        return a * cos ** 2 + b * sin ** 2, a * sin ** 2 + b * cos ** 2, (a - b) * cos * sin
    (x1, y1), (x2, y2) = box1[:2], box2[:2]
    a1, b1, c1 = covariance(box1)
    a2, b2, c2 = covariance(box2)
    denominator = (a1 + a2) * (b1 + b2) - (c1 + c2) ** 2 + eps
    t1 = ((a1 + a2) * (y1 - y2) ** 2 + (b1 + b2) * (x1 - x2) ** 2) / denominator * 0.25
    t2 = ((c1 + c2) * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    t3 = math.log(((a1 + a2) * (b1 + b2) - (c1 + c2) ** 2)
                  / (4 * math.sqrt(max(a1 * b1 - c1 ** 2, 0) * max(a2 * b2 - c2 ** 2, 0)) + eps)
                  + eps) * 0.5
    distance = min(max(t1 + t2 + t3, eps), 100.0)
    return 1 - math.sqrt(1 - math.exp(-distance) + eps)


def test_probiou_matches_the_formula():
    rng = np.random.default_rng(1)
    for _ in range(2000):
        pair = np.concatenate([rng.uniform(0, 30, (2, 2)), rng.uniform(0.5, 15, (2, 2)),
                               rng.uniform(-4, 4, (2, 1))], axis=1)
        assert _pair_iou(*pair, kind="probiou") == pytest.approx(
            ultralytics_probiou(*pair), rel=1e-9, abs=1e-12)
    for name, (a, b) in ADVERSARIAL_PAIRS.items():
        if min(a[2] * a[3], b[2] * b[3]) > 0:  # ultralytics' formula is NaN on degenerate pairs
            assert _pair_iou(a, b, "probiou") == pytest.approx(
                ultralytics_probiou(a, b), rel=1e-9, abs=1e-12), name


def _brute_force_greedy(rboxes, scores, threshold, kind):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    kept = []
    for i in order:
        if all(_pair_iou(rboxes[k], rboxes[i], kind) <= threshold for k in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("kind", ["polygon", "probiou"])
def test_greedy_rotated_nms_matches_brute_force(kind):
    boxes, scores = rotated_candidates(150, image_size=200, seed=2)
    boxes, scores = boxes.astype(np.float64), scores.astype(np.float64)
    expected = _brute_force_greedy(boxes, scores, 0.3, kind)
    np.testing.assert_array_equal(accel.nms_rotated(boxes, scores, 0.3, iou=kind, backend="python"),
                                  expected)
    assert len(expected) < len(scores)  # the case suppresses


def test_batched_rotated_nms_is_nms_per_class():
    boxes, scores = rotated_candidates(200, image_size=200, seed=3)
    classes = np.random.default_rng(3).integers(0, 3, 200)
    merged = []
    for c in range(3):
        members = np.flatnonzero(classes == c)
        merged += list(members[accel.nms_rotated(boxes[members], scores[members], 0.3)])
    merged.sort(key=lambda i: (-scores[i], i))
    np.testing.assert_array_equal(accel.batched_nms_rotated(boxes, scores, classes, 0.3), merged)


def _ultralytics_decode(pred, conf, nc):
    """The kept rows of ultralytics' ``non_max_suppression`` before NMS, in NumPy: anchors
    whose best class score is > conf (single label), in anchor order."""
    x = pred[0].T
    scores = x[:, 4:4 + nc]
    best = scores.max(axis=1)
    keep = best > conf
    return x[keep], best[keep], scores[keep].argmax(axis=1)


def test_pose_decode_is_ultralytics_rows():
    pred = pose_output(320, people=10, seed=4)
    boxes, scores, classes, keypoints = accel.decode_yolov8_pose(pred, 0.25)
    rows, best, ids = _ultralytics_decode(pred, 0.25, 1)
    cx, cy, w, h = rows[:, :4].T
    expected_boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    assert boxes.tobytes() == expected_boxes.astype(np.float32).tobytes()
    assert scores.tobytes() == best.tobytes() and (classes == ids).all()
    assert keypoints.tobytes() == rows[:, 5:].reshape(-1, 17, 3).tobytes()


def test_obb_decode_is_ultralytics_rows_regularized():
    pred = obb_output(512, nc=6, objects=80, seed=5)
    rboxes, scores, classes = accel.decode_yolov8_obb(pred, 0.25)
    rows, best, ids = _ultralytics_decode(pred, 0.25, 6)
    x, y, w, h, angle = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, -1]
    # regularize_rboxes, in the output's dtype as torch computes it
    wider = w > h
    expected = np.stack([x, y, np.where(wider, w, h), np.where(wider, h, w),
                         np.mod(np.where(wider, angle, angle + np.float32(math.pi / 2)),
                                np.float32(math.pi))], axis=1)
    assert rboxes.tobytes() == expected.tobytes()
    assert scores.tobytes() == best.tobytes() and (classes == ids).all()
    assert ((rboxes[:, 4] >= 0) & (rboxes[:, 4] < math.pi)).all() and (rboxes[:, 2] >= rboxes[:, 3]).all()


def _ultralytics_obb_nms(rboxes, scores, classes, threshold):
    """ultralytics ``nms_rotated(..., use_triu=True)`` after its class offset: the full
    probiou matrix, upper triangle, a box kept iff no earlier box has probiou >= the
    threshold with it."""
    order = np.argsort(-scores, kind="stable")
    boxes = rboxes[order].astype(np.float64)
    boxes[:, :2] += classes[order, None] * 7680.0
    n = len(boxes)
    ious = np.array([[ultralytics_probiou(boxes[i], boxes[j]) if i < j else 0.0
                      for j in range(n)] for i in range(n)])
    return order[(ious >= threshold).sum(axis=0) <= 0]


def test_obb_postprocess_matches_ultralytics_fast_nms():
    pred = obb_output(256, nc=3, objects=40, seed=6)
    rboxes, scores, classes = accel.decode_yolov8_obb(pred, 0.25)
    expected = _ultralytics_obb_nms(rboxes, scores.astype(np.float64), classes, 0.7)
    [result] = accel.postprocess(pred, "yolov8-obb", iou_threshold=0.7)
    assert result.shape == (len(expected), 7)
    np.testing.assert_array_equal(result[:, :5], rboxes[expected])
    np.testing.assert_array_equal(result[:, 6], classes[expected])
    greedy = accel.postprocess(pred, "yolov8-obb", iou_threshold=0.7, obb_nms="greedy")[0]
    assert len(greedy) >= len(result)  # greedy never drops more than fast NMS


def test_obb_postprocess_maps_through_the_letterbox():
    pred = obb_output(256, nc=3, objects=40, seed=7)
    info = accel.letterbox(np.zeros((500, 1000, 3), np.uint8), 256)[1]
    [plain] = accel.postprocess(pred, "yolov8-obb")
    [mapped] = accel.postprocess(pred, "yolov8-obb", letterbox=info)
    np.testing.assert_allclose(mapped[:, 0], (plain[:, 0] - info.pad_left) / info.scale, rtol=1e-6)
    np.testing.assert_allclose(mapped[:, 1], (plain[:, 1] - info.pad_top) / info.scale, rtol=1e-6)
    np.testing.assert_allclose(mapped[:, 2:4], plain[:, 2:4] / info.scale, rtol=1e-6)
    np.testing.assert_array_equal(mapped[:, 4:], plain[:, 4:])


def test_pose_postprocess_keypoints_follow_the_boxes():
    pred = pose_output(640, people=12, seed=8)
    info = accel.letterbox(np.zeros((720, 1280, 3), np.uint8), 640)[1]
    [(detections, keypoints)] = accel.postprocess(pred, "yolov8-pose", letterbox=info)
    [plain] = accel.postprocess(pred, "yolov8", nc=1)
    assert keypoints.shape == (len(detections), 17, 3)
    raw = plain[:, 6:].reshape(-1, 17, 3).astype(np.float64)
    gain_x, gain_y = info.resized_shape[1] / 1280, info.resized_shape[0] / 720
    expected_x = np.clip((raw[..., 0] - info.pad_left) / gain_x, 0, 1280)
    expected_y = np.clip((raw[..., 1] - info.pad_top) / gain_y, 0, 720)
    np.testing.assert_array_equal(keypoints[..., 0], expected_x.astype(np.float32))
    np.testing.assert_array_equal(keypoints[..., 1], expected_y.astype(np.float32))
    np.testing.assert_array_equal(keypoints[..., 2], plain[:, 6:].reshape(-1, 17, 3)[..., 2])
    with pytest.raises(ValueError, match="kpt_shape"):
        accel.postprocess(pred, "yolov8-pose", kpt_shape=(20, 3))


def test_rotated_refusals_name_the_argument():
    boxes = np.array([[0, 0, 2, 2, 0.0], [1, 1, 2, 2, np.inf]])
    with pytest.raises(ValueError, match="rboxes has a NaN or infinite value in row 1"):
        accel.nms_rotated(boxes, [0.9, 0.8], 0.5)
    with pytest.raises(ValueError, match="iou must be one of"):
        accel.nms_rotated(boxes[:1], [0.9], 0.5, iou="exact")
    with pytest.raises(ValueError, match="obb_nms"):
        accel.postprocess(obb_output(256, nc=3, objects=5), "yolov8-obb", obb_nms="slow")
