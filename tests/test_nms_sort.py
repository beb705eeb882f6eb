"""The candidate sort of greedy NMS, at every size its implementations switch at.

With ``iou_threshold=1.0`` no pair is suppressed (an IoU is never above 1), so ``nms``
must return every index by decreasing score, equal scores by increasing index: a stable
sort, computed here with NumPy as an exact oracle at any size. The compiled backends
switch sorts by size (the Cython one: insertion sort below 32 candidates, buckets of
equal score ranges up to 1024 unless a bucket is crowded, else an LSD radix sort), so
the sizes straddle those limits and the scores are built to crowd buckets, tie, span
huge ranges and mix signs.
"""
import numpy as np
import pytest

import accel

SIZES = (31, 32, 1024, 1025, 5000, 32768)
# These backends sort alike at every size (sorted(), np.lexsort) and are O(n * kept)
# without a grid: past the first switch, larger inputs would only cost time (on PyPy, the
# NumPy backend's calls most of all).
SLOWEST = {"python": 1100, "numpy": 1100}


def _scores(kind, n, rng, dtype):
    big, tiny = float(np.finfo(dtype).max), float(np.finfo(dtype).smallest_subnormal)
    if kind == "continuous":
        return rng.random(n)
    if kind == "quantised":  # ~1000 levels: many equal scores per bucket
        return np.round(rng.random(n), 3)
    if kind == "few-levels":  # crowded buckets: the bucket sort must give up
        return rng.choice([0.25, 0.5, 0.5, 0.75], n)
    if kind == "all-equal":
        return np.full(n, 0.5)
    if kind == "one-outlier":  # the whole range but one score in one bucket
        s = 0.5 + rng.random(n) * 1e-9
        s[n // 2] = -big
        return s
    if kind == "signed-zeros-and-huge":
        return rng.choice([-0.0, 0.0, big, -big, tiny, -tiny, 1.0], n)
    raise AssertionError(kind)


KINDS = ("continuous", "quantised", "few-levels", "all-equal", "one-outlier",
         "signed-zeros-and-huge")


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_suppression_is_a_stable_sort(backend, n, kind, dtype):
    if n > SLOWEST.get(backend, n):
        pytest.skip("%s NMS has one sort at every size and is O(n * kept): checked up to "
                    "%d candidates, not %d" % (backend, SLOWEST[backend], n))
    rng = np.random.default_rng(n)
    scores = _scores(kind, n, rng, dtype).astype(dtype)
    # Disjoint unit boxes on a grid: valid, and cheap for a spatial index.
    side = int(np.ceil(np.sqrt(n)))
    cells = np.arange(n)
    x, y = (cells % side) * 2.0, (cells // side) * 2.0
    boxes = np.stack([x, y, x + 1, y + 1], axis=1).astype(dtype)
    # -0.0 and 0.0 are equal scores: the index breaks the tie.
    expected = np.lexsort((cells, -(scores.astype(np.float64) + 0.0)))
    kept = accel.nms(boxes, scores, 1.0, backend=backend)
    np.testing.assert_array_equal(kept, expected)
