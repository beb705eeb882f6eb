"""Agreement with torchvision.ops where it is installed (it is optional: never required).

torchvision computes IoU in the input's precision and orders ties arbitrarily, so the
inputs here are float64 with distinct scores, where the contracts coincide.
"""
import numpy as np
import pytest

import accel
from accel.compare.workloads import clustered_candidates

torch = pytest.importorskip("torch", reason="torchvision comparison needs torch (optional)")
ops = pytest.importorskip("torchvision.ops", reason="torchvision not installed (optional)")


def distinct_case(n, seed):
    c = clustered_candidates(n, n_classes=10, seed=seed)
    scores = np.random.default_rng(seed).permutation(n) / n  # distinct: no tie-order question
    return c.boxes.astype(np.float64), scores, c.classes


@pytest.mark.parametrize("n", [100, 2000])
@pytest.mark.parametrize("iou", [0.3, 0.45, 0.7])
def test_nms_matches_torchvision(n, iou, backend):
    boxes, scores, _ = distinct_case(n, n)
    expected = ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), iou).numpy()
    np.testing.assert_array_equal(accel.nms(boxes, scores, iou, backend=backend), expected)


@pytest.mark.parametrize("n", [100, 2000])
def test_batched_nms_matches_torchvision_per_class(n, backend):
    boxes, scores, classes = distinct_case(n, n + 1)
    t = torch.from_numpy
    # torchvision's CPU batched_nms runs nms per class above 1000 boxes (no offset trick)
    # and the offset trick below; compare against its per-class path explicitly.
    kept = [np.flatnonzero(classes == c)[ops.nms(t(boxes[classes == c]), t(scores[classes == c]), 0.5).numpy()]
            for c in np.unique(classes)]
    expected = np.concatenate(kept)
    expected = expected[np.argsort(-scores[expected], kind="stable")]
    np.testing.assert_array_equal(accel.batched_nms(boxes, scores, classes, 0.5, backend=backend), expected)
