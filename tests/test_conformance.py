"""Every backend gives the reference (pure-Python) answer, on the same inputs.

The table of kernels lives in kernels.py. A case either succeeds on both sides with
agreeing results, or raises the same exception type on both sides.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accel
from accel.compare import workloads
from conftest import require_backend
from kernels import KERNEL_TABLE, adversarial_cases, image_cases
import decode_cases
import oracle

CASES = adversarial_cases()
IMAGE_CASES = image_cases()
NMS_KERNELS = [k for k in KERNEL_TABLE if k.family == "nms"]
IMAGE_KERNELS = [k for k in KERNEL_TABLE if k.family == "image"]


def outcome(kernel, case, backend):
    try:
        return "ok", kernel.run(case, backend)
    except (ValueError, TypeError) as exc:
        return type(exc), str(exc)


_reference_outcomes = {}


def assert_same_outcome(kernel, case, backend, case_key=None):
    """``case_key`` names a fixed case so its reference outcome is computed only once."""
    key = (kernel.name, case_key)
    expected = _reference_outcomes.get(key) if case_key else None
    if expected is None:
        expected = outcome(kernel, case, "python")
        if case_key:
            _reference_outcomes[key] = expected
    actual = outcome(kernel, case, backend)
    assert actual[0] == expected[0], (expected, actual)
    if expected[0] == "ok":
        kernel.assert_agree(expected[1], actual[1])
    else:
        assert actual[1] == expected[1]


def test_table_covers_every_registered_kernel():
    assert {k.kernel for k in KERNEL_TABLE} == set(accel.KERNELS)


@pytest.mark.parametrize("kernel", NMS_KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("case_id, case", CASES, ids=[c[0] for c in CASES])
def test_adversarial(kernel, case_id, case, backend):
    assert_same_outcome(kernel, case, backend, case_id)


@pytest.mark.parametrize("kernel", IMAGE_KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("case_id, case", IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_image_cases(kernel, case_id, case, backend):
    assert_same_outcome(kernel, case, backend, case_id)


DECODE_PAIRS = [(k, case_id, case) for k in KERNEL_TABLE if k.family in decode_cases.FAMILY_CASES
                for case_id, case in decode_cases.FAMILY_CASES[k.family]()]


@pytest.mark.parametrize("kernel, case_id, case", DECODE_PAIRS,
                         ids=["%s-%s" % (k.name, case_id) for k, case_id, _ in DECODE_PAIRS])
def test_decode_cases(kernel, case_id, case, backend):
    assert_same_outcome(kernel, case, backend, case_id)


@pytest.mark.parametrize("kernel", IMAGE_KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("shape", [(1080, 1920), (480, 640)], ids=["1080p", "480p"])
@pytest.mark.parametrize("name", [b for b in accel.BACKEND_NAMES if b != "python"])
def test_image_realistic(kernel, shape, name):
    backend = require_backend(name)
    frame = np.random.default_rng(1).integers(0, 256, shape + (3,), dtype=np.uint8)
    case = dict(img=frame, new_shape=640)
    # numpy is checked against the reference on this size once; others against numpy.
    expected = kernel.run(case, "python" if backend == "numpy" else "numpy")
    kernel.assert_agree(expected, kernel.run(case, backend))


@pytest.mark.parametrize("kernel", NMS_KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("n", [1000, 5000])
def test_clustered_realistic(kernel, n, backend):
    if kernel.kernel == "soft_nms":
        n //= 5  # quadratic in the pure-Python reference
    c = workloads.clustered_candidates(n, n_classes=20, seed=n)
    case = dict(boxes=c.boxes, scores=c.scores, classes=c.classes, iou_threshold=0.45)
    assert_same_outcome(kernel, case, backend, "clustered-%d" % n)


# Small integer coordinates and a few score levels make exact ties, touching boxes,
# zero-area boxes and IoUs exactly at the threshold common rather than rare.
coordinate = st.one_of(st.integers(0, 12).map(float), st.floats(0, 12, allow_nan=False, width=32))


@st.composite
def nms_inputs(draw):
    n = draw(st.integers(0, 40))
    corners = draw(st.lists(st.tuples(coordinate, coordinate, coordinate, coordinate),
                            min_size=n, max_size=n))
    boxes = np.array([[min(a, c), min(b, d), max(a, c), max(b, d)] for a, b, c, d in corners],
                     dtype=np.float64).reshape(-1, 4)
    level = st.sampled_from([0.1, 0.5, 0.5, 0.9])
    scores = np.array(draw(st.lists(st.one_of(level, st.floats(0, 1)), min_size=n, max_size=n)))
    classes = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    return dict(
        boxes=boxes, scores=scores, classes=classes,
        iou_threshold=draw(st.one_of(st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 1.0]), st.floats(0, 1))),
        score_threshold=draw(st.one_of(st.none(), st.sampled_from([0.1, 0.5]))),
        max_output=draw(st.one_of(st.none(), st.integers(0, 5))),
        sigma=draw(st.sampled_from([0.1, 0.5, 2.0])),
    )


@pytest.mark.parametrize("kernel", NMS_KERNELS, ids=lambda k: k.name)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=nms_inputs())
def test_hypothesis(kernel, case, backend):
    assert_same_outcome(kernel, case, backend)


@settings(max_examples=100, deadline=None)
@given(case=nms_inputs())
def test_reference_nms_matches_brute_force(case):
    args = (case["boxes"], case["scores"], case["iou_threshold"])
    opts = dict(score_threshold=case["score_threshold"], max_output=case["max_output"])
    np.testing.assert_array_equal(accel.nms(*args, backend="python", **opts),
                                  oracle.greedy_nms(*args, **opts))
    np.testing.assert_array_equal(
        accel.batched_nms(case["boxes"], case["scores"], case["classes"], case["iou_threshold"],
                          backend="python", **opts),
        oracle.per_class_nms(case["boxes"], case["scores"], case["classes"], case["iou_threshold"], **opts))


@pytest.mark.parametrize("case_id, case", CASES, ids=[c[0] for c in CASES])
def test_reference_matches_brute_force_on_adversarial(case_id, case):
    kernel = KERNEL_TABLE[0]
    expected = outcome(kernel, case, "python")
    if expected[0] != "ok":
        return
    np.testing.assert_array_equal(
        expected[1],
        oracle.greedy_nms(case["boxes"], case["scores"], case.get("iou_threshold", 0.5),
                          case.get("score_threshold"), case.get("max_output")))


def test_reference_nms_on_clustered_matches_brute_force():
    c = workloads.clustered_candidates(1500, n_classes=5, seed=3)
    np.testing.assert_array_equal(accel.nms(c.boxes, c.scores, 0.45, backend="python"),
                                  oracle.greedy_nms(c.boxes, c.scores, 0.45))
    np.testing.assert_array_equal(
        accel.batched_nms(c.boxes, c.scores, c.classes, 0.45, backend="python"),
        oracle.per_class_nms(c.boxes, c.scores, c.classes, 0.45))
