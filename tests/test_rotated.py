"""Rotated boxes, pose and oriented-box heads against independent renderings.

The conformance suite (kernels.py) proves that every backend returns the reference's
answer. Here the reference is checked: polygon IoU against shapely, probiou against a
float64 rendering of ultralytics' ``batch_probiou``, greedy NMS against a brute-force
loop, fast NMS against the full probiou matrix (every backend, and the bounds its
compiled forms prune with), the decoders against NumPy renderings of ultralytics' code
paths, and the pose, OBB and detection postprocess against ultralytics itself where it
is installed.
"""
import math

import numpy as np
import pytest

import accel
from accel._backends.numpy import rotated as numpy_rotated
from accel._backends.python._shared import values
from accel._backends.python.rotated import polygon_iou, probiou
from accel._rotated import corners, geometry
from accel.compare import peers
from accel.compare.workloads import (obb_output, pose_output, postprocess_workload,
                                     rotated_candidates)


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
    """ultralytics ``TorchNMS.fast_nms(..., iou_func=batch_probiou)`` after its class
    offset: the full probiou matrix, upper triangle, a box kept iff no earlier box has
    probiou > the threshold with it (``(ious > iou_threshold).sum(0) <= 0``; before
    ultralytics 8.3.190, ``nms_rotated`` dropped it at >=)."""
    order = np.argsort(-scores, kind="stable")
    boxes = rboxes[order].astype(np.float64)
    boxes[:, :2] += classes[order, None] * 7680.0
    n = len(boxes)
    ious = np.array([[ultralytics_probiou(boxes[i], boxes[j]) if i < j else 0.0
                      for j in range(n)] for i in range(n)])
    return order[(ious > threshold).sum(axis=0) <= 0]


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


# Fast NMS against the full matrix.

def full_matrix_fast_nms(rboxes, scores, threshold, classes=None):
    """Fast NMS as ultralytics writes it: every probiou of the upper triangle (the
    reference's formula, vectorised), a box dropped iff its column has one above the
    threshold."""
    boxes = np.array(rboxes, dtype=np.float64).reshape(-1, 5)
    if classes is not None:
        boxes[:, :2] += np.asarray(classes, dtype=np.float64)[:, None] * 7680.0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    g = geometry(boxes, "probiou")[order]
    rows, columns = np.triu_indices(len(order), 1)
    with np.errstate(all="ignore"):
        hit = numpy_rotated._probiou_pairs(g, rows, columns) > threshold
    dropped = np.zeros(len(order), dtype=bool)
    dropped[columns[hit]] = True
    return order[~dropped]


def _fast_matrix_cases():
    rng = np.random.default_rng(11)
    cases = []
    for n, side in ((60, 100), (400, 300), (1500, 1024)):
        boxes, scores = rotated_candidates(n, image_size=side, seed=n)
        for threshold in (0.0, 0.05, 0.3, 0.7, 0.95):
            cases.append(("clustered-%d-%g" % (n, threshold), boxes, scores, threshold, None))
        cases.append(("clustered-%d-classes" % n, boxes, scores, 0.5,
                      rng.integers(0, 5, n)))
    # Shapes the pruning must survive: needles along their long axis (where the bound is
    # tightest), a zero-size swarm, segments, tiny, huge and far boxes, in one scene.
    needles = np.array([[i * 30.0 + rng.uniform(0, 25), 50, 40, 40 / 10 ** rng.integers(0, 5),
                         rng.choice([0.0, 1e-3])] for i in range(40)])
    swarm = np.column_stack([rng.uniform(-1e4, 1e4, (30, 2)), np.zeros((30, 2)),
                             rng.uniform(0, 3, 30)])
    mixed = np.concatenate([needles, swarm, [[0, 0, 8, 0, 0.0], [1e3, 0, 8, 0, 0.0],
                                             [5, 5, 1e-3, 1e-3, 0.0], [1e200, 0, 4, 4, 0.0],
                                             [30, 30, 1e160, 3, 0.5], [6, 5, 3, 2, 0.2]]])
    for threshold in (0.0, 0.2, 0.7, 0.999):
        cases.append(("mixed-%g" % threshold, mixed, rng.uniform(0, 1, len(mixed)), threshold,
                      None))
    return cases


FAST_MATRIX_CASES = _fast_matrix_cases()


@pytest.mark.parametrize("name, rboxes, scores, threshold, classes", FAST_MATRIX_CASES,
                         ids=[c[0] for c in FAST_MATRIX_CASES])
def test_fast_nms_matches_the_full_matrix(backend, name, rboxes, scores, threshold, classes):
    if backend == "python" and len(scores) > 400:
        pytest.skip("the pure-Python reference's quadratic loop: seconds here (the "
                    "conformance suite compares it with every backend)")
    expected = full_matrix_fast_nms(rboxes, scores, threshold, classes)
    kept = accel.fast_nms_rotated(rboxes, scores, threshold, classes=classes, backend=backend)
    np.testing.assert_array_equal(kept, expected)
    assert kept.dtype == np.int64
    np.testing.assert_array_equal(
        accel.fast_nms_rotated(rboxes, scores, threshold, classes=classes, max_output=5,
                               backend=backend), expected[:5])


def test_fast_nms_matches_the_full_matrix_on_the_aerial_scene(candidate):
    pred = obb_output(1024)
    rboxes, scores, classes = accel.decode_yolov8_obb(pred, 0.25)
    for threshold, ids in ((0.7, classes), (0.3, None), (0.1, classes)):
        expected = full_matrix_fast_nms(rboxes, scores, threshold, ids)
        np.testing.assert_array_equal(
            accel.fast_nms_rotated(rboxes, scores, threshold, classes=ids, backend=candidate),
            expected)
    assert 100 < len(expected) < len(scores)  # the scene suppresses, and keeps


def test_fast_nms_bounds_hold_where_they_are_tightest():
    """The bounds the compiled backends skip pairs with (accel._backends): beyond
    ``rho_a + rho_b``, or with ``t1 + t2`` plus the ``t3`` bound past the cut, the
    reference's probiou is <= the threshold. Pairs at 1 to 1.001 times that distance,
    in every direction, from round boxes to needles of aspect near 1e4 (the most a
    regular box may have) and boxes near the smallest regular area."""
    rng = np.random.default_rng(3)
    checked = 0
    for threshold in (0.0, 1e-6, 0.1, 0.5, 0.9, 0.9995):
        cut = numpy_rotated._distance_cut(threshold)
        for _ in range(300):
            size = 10 ** rng.uniform(-0.5, 3)
            aspect = 10 ** rng.uniform(0, 3.99)
            pair = np.array([[0.0, 0.0, size, size / aspect, rng.uniform(0, math.pi)],
                             [0.0, 0.0, size * rng.uniform(0.5, 2), size / aspect,
                              rng.uniform(0, math.pi)]])
            g = geometry(pair, "probiou")
            regular, rho = numpy_rotated._reaches(g, cut)
            if not regular.all():  # compared with every box: no bound to check
                continue
            direction = rng.uniform(0, 2 * math.pi)
            for stretch in (1.0 + 1e-12, 1.0 + 1e-4, 1.001):
                reach = (rho[0] + rho[1]) * stretch
                moved = pair.copy()
                moved[1, :2] = reach * math.cos(direction), reach * math.sin(direction)
                gm = values(geometry(moved, "probiou"))
                assert probiou(gm, 0, 1) <= threshold
                checked += 1
    assert checked > 6 * 300 * 3 * 0.6


def test_fast_nms_is_not_greedy(backend):
    """A drops B, B alone overlaps C: fast NMS drops C too (B counts though dropped)."""
    boxes = [[0, 0, 10, 4, 0.0], [4, 0, 10, 4, 0.0], [8, 0, 10, 4, 0.0]]
    scores = [0.9, 0.8, 0.7]
    ious = [_pair_iou(boxes[i], boxes[j], "probiou") for i, j in ((0, 1), (1, 2), (0, 2))]
    assert ious[0] > 0.5 and ious[1] > 0.5 and ious[2] < 0.5
    np.testing.assert_array_equal(accel.fast_nms_rotated(boxes, scores, 0.5, backend=backend), [0])
    np.testing.assert_array_equal(
        accel.nms_rotated(boxes, scores, 0.5, iou="probiou", backend=backend), [0, 2])


def test_fast_nms_threshold_is_strict(backend):
    """ultralytics' ``ious > iou_threshold``: identical boxes at exactly their probiou
    stay; just below it, the first drops the rest. Two zero-size boxes anywhere score
    that same ~0.99955 (probiou's eps terms)."""
    square = [10.0, 10.0, 4.0, 4.0, 0.3]
    same = _pair_iou(square, square, "probiou")
    assert 0.9995 < same < 0.9996
    assert _pair_iou([0, 0, 0, 0, 0.0], [1e4, -7, 0, 0, 1.0], "probiou") == same
    if backend == "numpy":
        pytest.skip("NumPy's log, exp and sqrt may round the last bit otherwise than libm "
                    "(the contract allows it): an exact tie is not portable to it")
    boxes, scores = [square] * 3, [0.9, 0.8, 0.7]
    np.testing.assert_array_equal(accel.fast_nms_rotated(boxes, scores, same, backend=backend),
                                  [0, 1, 2])
    np.testing.assert_array_equal(
        accel.fast_nms_rotated(boxes, scores, np.nextafter(same, 0), backend=backend), [0])


def test_fast_nms_classes_are_ultralytics_offsets(backend):
    boxes, scores = rotated_candidates(120, image_size=200, seed=9)
    classes = np.random.default_rng(9).integers(0, 4, 120)
    shifted = boxes.astype(np.float64)
    shifted[:, :2] += classes[:, None] * 7680.0
    np.testing.assert_array_equal(
        accel.fast_nms_rotated(boxes, scores, 0.3, classes=classes, backend=backend),
        accel.fast_nms_rotated(shifted, scores, 0.3, backend=backend))
    # Two zero-size boxes overlap whatever their classes, as in ultralytics.
    np.testing.assert_array_equal(
        accel.fast_nms_rotated([[0, 0, 0, 0, 0.0]] * 2, [0.9, 0.8], 0.5, classes=[0, 3],
                               backend=backend), [0])


def test_obb_batch_error_names_the_image():
    pred = np.repeat(obb_output(256, nc=3, objects=5), 3, axis=0)
    pred[2, 5, 7] = np.nan  # a class score of image 2
    with pytest.raises(ValueError, match=r"at index \(2, 5, 7\)"):
        accel.postprocess(pred, "yolov8-obb")


# Against ultralytics itself (optional: torch and ultralytics are not dependencies).

def _ultralytics_peer(name):
    pytest.importorskip("torch", reason="ultralytics' postprocess needs torch (optional)")
    pytest.importorskip("ultralytics", reason="ultralytics not installed (optional)")
    return peers.PEERS[name]


@pytest.mark.parametrize("format, peer", [("yolov8-obb", "ultralytics-obb"),
                                          ("yolov8-pose", "ultralytics-pose"),
                                          ("yolov8", "ultralytics")])
def test_postprocess_matches_ultralytics(format, peer):
    """accel.postprocess against ultralytics' non_max_suppression and letterbox inverse
    (its predictor's code), on the realistic head outputs the benchmarks use: the same
    detections in the same order, coordinates within float32 rounding (ultralytics
    unletterboxes in float32), rotated boxes as rectangles (ultralytics 8.4 leaves the
    head's w, h, angle as they come)."""
    call = _ultralytics_peer(peer)
    work = postprocess_workload(format)
    expected = work.call(None)
    actual = call(work)()
    assert peers.same_detections(expected, actual)
    detections = expected[0][0] if isinstance(expected[0], tuple) else expected[0]
    assert len(detections) >= 100  # a busy scene, not a trivial agreement


def test_unregularized_obb_postprocess_is_ultralytics_84_row_for_row():
    """With obb_regularize=False, accel's OBB rows are ultralytics 8.4's own (its predictor
    no longer regularises): cx, cy, w, h, angle, score, class row by row, within float32
    rounding, without treating them as rectangles; the default only respells them."""
    call = _ultralytics_peer("ultralytics-obb")
    work = postprocess_workload("yolov8-obb")
    [theirs] = call(work)()
    pred, format = work.args
    [mine] = accel.postprocess(pred, format, obb_regularize=False, **work.kwargs)
    [regularized] = accel.postprocess(pred, format, **work.kwargs)
    assert mine.shape == theirs.shape and len(mine) >= 100
    np.testing.assert_array_equal(mine[:, 5:], theirs[:, 5:])
    np.testing.assert_allclose(mine[:, :5], theirs[:, :5], rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(mine[:, [0, 1, 5, 6]], regularized[:, [0, 1, 5, 6]])
    assert (regularized[:, 2] >= regularized[:, 3]).all()
    assert not (mine[:, 2] >= mine[:, 3]).all()  # the head's own spelling varies


def test_obb_regularize_flags_are_checked():
    pred = postprocess_workload("yolov8-obb").args[0]
    with pytest.raises(TypeError, match="obb_regularize"):
        accel.postprocess(pred, "yolov8-obb", obb_regularize="no")
    with pytest.raises(TypeError, match="regularize"):
        accel.decode_yolov8_obb(pred, regularize=1)
    rboxes, scores, _ = accel.decode_yolov8_obb(pred, regularize=False)
    raw = pred[0]  # (4 + nc + 1, A): the head's channels, anchors last
    kept = np.flatnonzero(raw[4:-1].max(axis=0) > 0.25)
    assert len(kept) == len(scores) > 0
    np.testing.assert_array_equal(rboxes[:, 2:], np.stack([raw[2, kept], raw[3, kept],
                                                           raw[-1, kept]], axis=1))


def test_fast_nms_matches_ultralytics_kernel():
    call = _ultralytics_peer("ultralytics-obb")
    from accel.compare.workloads import workload
    work = workload("fast_nms_rotated", 2000)
    np.testing.assert_array_equal(work.call(None), call(work)())


def test_same_detections_compares_rectangles_not_spellings():
    row = np.array([[100.0, 50.0, 30.0, 10.0, 0.2, 0.9, 3.0]], dtype=np.float32)
    turned = row.copy()
    turned[0, 2:5] = 10.0, 30.0, 0.2 + math.pi / 2
    flipped = row.copy()
    flipped[0, 4] = 0.2 - math.pi
    assert peers.same_detections([row], [turned]) and peers.same_detections([row], [flipped])
    moved, wider, other_class = row.copy(), row.copy(), row.copy()
    moved[0, 0] += 0.1
    wider[0, 2] += 0.1
    other_class[0, 6] = 2
    for changed in (moved, wider, other_class, np.concatenate([row, row])):
        assert not peers.same_detections([row], [changed])
