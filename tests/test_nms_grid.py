"""Greedy NMS on inputs built to break a spatial index, against the reference.

The compiled backends find the kept boxes a candidate may overlap through a grid (the
Cython one a hierarchical grid, accel/_backends/cython/nms.pyx); the index may only
skip pairs whose intersection is not positive. These inputs have more candidates than
the small path's scan (``_SCAN_MAX`` = 1024 in the Cython backend) so that the grid
runs, and use ``iou_threshold=0.0`` where they can: then any positive overlap
suppresses, so a pair the index wrongly skipped changes the answer.
"""
import numpy as np
import pytest

import accel
from conftest import REFERENCE

N = 1500  # above the Cython backend's _SCAN_MAX, so its grid runs


_REFERENCE_RESULTS = {}


def _reference(kernel, *args):
    """The reference's answer, computed once for all the candidate backends (it is the
    slow part of this file: seconds per input on CPython)."""
    key = (kernel,) + tuple(a.tobytes() if isinstance(a, np.ndarray) else a for a in args)
    if key not in _REFERENCE_RESULTS:
        _REFERENCE_RESULTS[key] = getattr(accel, kernel)(*args, backend=REFERENCE)
    return _REFERENCE_RESULTS[key]


def _same(boxes, scores, iou_threshold, candidate, classes=None):
    boxes = np.ascontiguousarray(boxes, dtype=np.float64)
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    expected = _reference("nms", boxes, scores, iou_threshold)
    np.testing.assert_array_equal(accel.nms(boxes, scores, iou_threshold, backend=candidate),
                                  expected)
    if classes is not None:
        classes = np.ascontiguousarray(classes, dtype=np.int64)
        expected = _reference("batched_nms", boxes, scores, classes, iou_threshold)
        np.testing.assert_array_equal(
            accel.batched_nms(boxes, scores, classes, iou_threshold, backend=candidate), expected)
    return expected


def _touching_tiles(rng):
    """Square tiles of sizes 1 to 256 whose edges meet exactly, on a 1024 px canvas."""
    rows = []
    for side in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0):
        n = int(min(1024 // side, 12))
        for i in range(n):
            for j in range(n):
                rows.append([i * side, j * side, (i + 1) * side, (j + 1) * side])
    boxes = np.array(rows)
    return boxes[rng.permutation(len(boxes))]


def test_touching_boxes_of_very_different_sizes(candidate):
    rng = np.random.default_rng(0)
    boxes = _touching_tiles(rng)
    assert len(boxes) > N - 700
    # Tiles of one size only touch each other (iw or ih == 0): none suppresses another;
    # tiles of different sizes overlap.
    scores = rng.random(len(boxes))
    kept = _same(boxes, scores, 0.0, candidate, classes=np.arange(len(boxes)) % 3)
    assert 0 < len(kept) < len(boxes)
    side = np.arange(40.0)
    x, y = np.meshgrid(side * 8.0, side * 8.0)
    tiles = np.stack([x.ravel(), y.ravel(), x.ravel() + 8.0, y.ravel() + 8.0], axis=1)
    twins = np.vstack([tiles, tiles])  # a tile and its twin: IoU 1; tiles only touch
    kept = _same(twins, rng.random(len(twins)), 0.0, candidate)
    assert len(kept) == len(tiles)


def test_boxes_overlapping_by_a_hair_across_cell_edges(candidate):
    """Pairs that overlap by one ulp, or touch, at every coordinate a grid may cut at."""
    rng = np.random.default_rng(1)
    edges = np.linspace(0.0, 640.0, 65)[1:-1]
    rows = []
    for x in edges:
        left = [x - 10.0, 0.0, x, 20.0]
        rows.append(left)
        rows.append([np.nextafter(x, -np.inf), 0.0, x + 300.0, 20.0])  # overlaps by a hair
        rows.append([x, 30.0, x + 5.0, 50.0])                             # touches only
        rows.append([x - 7.0, 30.0, x, 50.0])
    boxes = np.array(rows * 6) + rng.integers(0, 500, (len(rows) * 6, 1)) * np.array([0, 1, 0, 1])
    scores = rng.random(len(boxes))
    _same(boxes, scores, 0.0, candidate, classes=rng.integers(0, 2, len(boxes)))


def test_one_giant_box_among_tiny_ones(candidate):
    rng = np.random.default_rng(2)
    corner = rng.uniform(0, 1000, (N, 2))
    tiny = np.hstack([corner, corner + rng.uniform(0.5, 3.0, (N, 2))])
    for giant, giant_score in (([-5.0, -5.0, 1005.0, 1005.0], 0.0), ([-5.0, -5.0, 1005.0, 1005.0], 2.0),
                               ([0.0, 500.0, 1000.0, 500.5], 0.5)):
        boxes = np.vstack([tiny, [giant]])
        scores = np.append(rng.random(N), giant_score)
        kept = _same(boxes, scores, 0.0, candidate, classes=np.zeros(N + 1, np.int64))
        if giant_score == 2.0:
            np.testing.assert_array_equal(kept, [N])  # the giant covers everything
        _same(boxes, scores, 0.3, candidate)


@pytest.mark.parametrize("far", [1e300, 1e308, 1e-300, 1e-310])
def test_extreme_coordinates_with_many_boxes(far, candidate):
    """Spans that overflow, or are so small that cells per unit would: the index must
    not compute an infinite factor or a cell past its end, nor lose a pair."""
    rng = np.random.default_rng(3)
    scale = 1.0 if far > 1.0 else far
    corner = rng.uniform(0, 50, (N, 2)) * scale
    size = rng.uniform(0, 10, (N, 2)) * scale
    boxes = np.hstack([corner, corner + size])
    if far > 1.0:
        boxes[:10] = [[-far, -far, far, far]] * 5 + [[far / 2, 0.0, far, 1.0]] * 5
        boxes[10:20] = [[-far, 0.0, -far / 2, far]] * 10
    scores = rng.random(N)
    _same(boxes, scores, 0.0, candidate, classes=rng.integers(0, 3, N))
    _same(boxes, scores, 0.45, candidate)


def test_zero_area_and_identical_boxes(candidate):
    rng = np.random.default_rng(4)
    corner = rng.integers(0, 40, (N, 2)).astype(float)
    points = np.hstack([corner, corner])  # x1 = x2 and y1 = y2
    lines = np.hstack([corner, corner + [5.0, 0.0]])
    boxes = np.vstack([points, lines, [[0.0, 0.0, 40.0, 40.0]]])
    scores = rng.random(len(boxes))
    _same(boxes, scores, 0.0, candidate, classes=rng.integers(0, 2, len(boxes)))
    same = np.tile([[3.0, 4.0, 10.0, 12.0]], (N, 1))  # the extent is one box: a zero-cell span
    kept = _same(same, rng.random(N), 0.5, candidate, classes=np.zeros(N, np.int64))
    assert len(kept) == 1
    flat = np.tile([[0.0, 7.0, 0.0, 7.0]], (N, 1))  # every box a point
    assert len(_same(flat, rng.random(N), 0.0, candidate)) == N


def test_many_classes_share_one_index(candidate):
    """Batched NMS empties the index between classes: a box of one class never
    suppresses a box of another, however much they overlap."""
    rng = np.random.default_rng(5)
    n = 2500
    centre = rng.uniform(0, 640, (n, 2))
    size = np.exp(rng.uniform(np.log(4.0), np.log(400.0), (n, 2)))
    boxes = np.hstack([centre - size / 2, centre + size / 2])
    scores = rng.random(n)
    for classes, threshold in ((rng.integers(0, 200, n), 0.0), (rng.integers(0, 2, n), 0.5),
                               (np.arange(n) % 2 * 10 ** 12, 0.0)):
        _same(boxes, scores, threshold, candidate, classes=classes)


def test_sizes_spread_over_the_levels(candidate):
    """Log-uniform sizes from a pixel to the whole image, some boxes outside it, at
    thresholds from 0 to 1."""
    rng = np.random.default_rng(6)
    n = 3000
    centre = rng.uniform(-50, 690, (n, 2))
    size = np.exp(rng.uniform(0.0, np.log(900.0), (n, 2)))
    boxes = np.hstack([centre - size / 2, centre + size / 2])
    scores = rng.random(n).astype(np.float32).astype(np.float64)
    for threshold in (0.0, 0.45, 1.0):
        _same(boxes, scores, threshold, candidate, classes=rng.integers(0, 4, n))
