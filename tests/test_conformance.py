"""Every backend gives the reference (pure-Python) answer, on the same inputs.

Driven by kernels.py alone: ``KERNEL_TABLE`` (one row per kernel: how to run it, how two
results must agree) and ``FAMILIES`` (each family's awkward cases, realistic sizes and
hypothesis strategy). An accepted case must succeed on the reference, and every other
backend must agree with it. A rejected case (cases.py) is refused by the public layer
before any backend runs, so it is checked once per kernel, not once per backend. The
reference itself is checked against brute-force oracles (oracle.py).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accel
from accel.compare import workloads
from cases import split
from conftest import REFERENCE
from kernels import FAMILIES, KERNEL_TABLE, classes_of, nms_inputs
import oracle

CASES = {name: family.cases() for name, family in FAMILIES.items()}
KERNELS = {k.name: k for k in KERNEL_TABLE}


def _rows(cases_of):
    """(kernel, case id, case) for every kernel of the table and the cases ``cases_of`` gives it."""
    return [(k, case_id, case) for k in KERNEL_TABLE for case_id, case in cases_of(k)]


def _ids(rows):
    return ["%s-%s" % (k.name, case_id) for k, case_id, _ in rows]


ACCEPTED = _rows(lambda k: split(CASES[k.family])[0])
REALISTIC = _rows(lambda k: FAMILIES[k.family].realistic(k))
REJECTED = _rows(lambda k: [(i, c) for i, c in split(CASES[k.family])[1] if c.applies_to(k.kernel)])
REJECTED_BEFORE = [row for row in REJECTED if not row[2].after_dispatch]
REJECTED_AFTER = [row for row in REJECTED if row[2].after_dispatch]
WITH_STRATEGY = [k for k in KERNEL_TABLE if FAMILIES[k.family].strategy is not None]

_reference_results = {}


def reference_result(kernel, case, key=None):
    """The reference's answer to an accepted case (once per ``key``); refusing it fails."""
    if key in _reference_results:
        return _reference_results[key]
    try:
        result = kernel.run(case, REFERENCE)
    except Exception as exc:
        raise AssertionError("the reference refused a case meant to be accepted (%s): %s: %s"
                             % (kernel.name, type(exc).__name__, exc)) from exc
    if key is not None:
        _reference_results[key] = result
    return result


def assert_matches_reference(kernel, case, backend, key=None):
    expected = reference_result(kernel, case, key)
    kernel.assert_agree(expected, kernel.run(case, backend))


def assert_rejected(kernel, case, backend):
    """``case`` raises exactly its ``error``, in a message naming its argument."""
    with pytest.raises(Exception) as info:
        kernel.run(case, backend)
    error = info.value
    assert type(error) is case.error, "%s: %s" % (type(error).__name__, error)
    for word in case.words:
        assert word in str(error)
    return error


def test_table_covers_every_registered_kernel():
    assert {k.kernel for k in KERNEL_TABLE} == set(accel.KERNELS)
    assert {k.family for k in KERNEL_TABLE} == set(FAMILIES)
    assert len(KERNELS) == len(KERNEL_TABLE)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_case_is_used(family):
    """A family has accepted cases, and each rejected one concerns a kernel of the family."""
    accepted, rejected = split(CASES[family])
    assert accepted
    kernels = {k.kernel for k in KERNEL_TABLE if k.family == family}
    unused = [case_id for case_id, case in rejected if not any(map(case.applies_to, kernels))]
    assert not unused


@pytest.mark.parametrize("kernel, case_id, case", ACCEPTED, ids=_ids(ACCEPTED))
def test_case_matches_reference(kernel, case_id, case, candidate):
    assert_matches_reference(kernel, case, candidate, (kernel.name, case_id))


@pytest.mark.parametrize("kernel, case_id, case", REALISTIC, ids=_ids(REALISTIC))
def test_realistic_matches_reference(kernel, case_id, case, candidate):
    assert_matches_reference(kernel, case, candidate, (kernel.name, "realistic", case_id))


@pytest.mark.parametrize("kernel", WITH_STRATEGY, ids=lambda k: k.name)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hypothesis_matches_reference(kernel, candidate, data):
    assert_matches_reference(kernel, data.draw(FAMILIES[kernel.family].strategy()), candidate)


@pytest.mark.parametrize("kernel, case_id, case", REJECTED_BEFORE, ids=_ids(REJECTED_BEFORE))
def test_rejected_before_dispatch(kernel, case_id, case, unreachable_backends):
    assert_rejected(kernel, case, REFERENCE)


@pytest.mark.parametrize("kernel, case_id, case", REJECTED_AFTER, ids=_ids(REJECTED_AFTER))
def test_rejected_after_dispatch(kernel, case_id, case, candidate):
    """Refused on what a backend computed: the same error on every backend."""
    expected = assert_rejected(kernel, case, REFERENCE)
    assert str(assert_rejected(kernel, case, candidate)) == str(expected)


@pytest.mark.parametrize("kernel", KERNEL_TABLE, ids=lambda k: k.name)
def test_unreachable_backends_are_reached_by_accepted_cases(kernel, unreachable_backends):
    """The fixture behind test_rejected_before_dispatch does stand in every backend."""
    reached = 0
    for _, case in split(CASES[kernel.family])[0]:
        try:
            kernel.run(case, REFERENCE)
        except AssertionError as exc:
            assert "the public layer called the backend" in str(exc)
            reached += 1
    assert reached > 0


# The reference against brute force.

NMS_ACCEPTED = split(CASES["nms"])[0]


@pytest.mark.parametrize("case_id, case", NMS_ACCEPTED, ids=[c[0] for c in NMS_ACCEPTED])
def test_reference_matches_brute_force_on_adversarial(case_id, case):
    args = (case["boxes"], case["scores"])
    options = (case.get("iou_threshold", 0.5), case.get("score_threshold"), case.get("max_output"))
    np.testing.assert_array_equal(reference_result(KERNELS["nms"], case, ("nms", case_id)),
                                  oracle.greedy_nms(*args, *options))
    np.testing.assert_array_equal(
        reference_result(KERNELS["batched_nms"], case, ("batched_nms", case_id)),
        oracle.per_class_nms(*args, classes_of(case), *options))


@settings(max_examples=100, deadline=None)
@given(case=nms_inputs())
def test_reference_nms_matches_brute_force(case):
    args = (case["boxes"], case["scores"], case["iou_threshold"])
    opts = dict(score_threshold=case["score_threshold"], max_output=case["max_output"])
    np.testing.assert_array_equal(accel.nms(*args, backend=REFERENCE, **opts),
                                  oracle.greedy_nms(*args, **opts))
    np.testing.assert_array_equal(
        accel.batched_nms(case["boxes"], case["scores"], case["classes"], case["iou_threshold"],
                          backend=REFERENCE, **opts),
        oracle.per_class_nms(case["boxes"], case["scores"], case["classes"], case["iou_threshold"], **opts))


def test_reference_nms_on_clustered_matches_brute_force():
    c = workloads.clustered_candidates(1500, n_classes=5, seed=3)
    np.testing.assert_array_equal(accel.nms(c.boxes, c.scores, 0.45, backend=REFERENCE),
                                  oracle.greedy_nms(c.boxes, c.scores, 0.45))
    np.testing.assert_array_equal(
        accel.batched_nms(c.boxes, c.scores, c.classes, 0.45, backend=REFERENCE),
        oracle.per_class_nms(c.boxes, c.scores, c.classes, 0.45))


# float32 and float64 input: the NMS backends read either (accel._backends) and compute
# in float64, so the same values give the same indices.

def _float32_exact(case):
    """The case with float32 boxes and scores, or None when float32 cannot hold them."""
    arrays = {}
    for key in ("boxes", "scores"):
        values = np.asarray(case[key], dtype=np.float64)
        with np.errstate(over="ignore"):
            narrowed = values.astype(np.float32).astype(np.float64)
        if not np.array_equal(narrowed, values):
            return None
        arrays[key] = values
    return {**case, "boxes": arrays["boxes"].astype(np.float32),
            "scores": arrays["scores"].astype(np.float32),
            "float64": {**case, **arrays}}


FLOAT32_EXACT = [(case_id, c) for case_id, c in
                 ((i, _float32_exact(case)) for i, case in NMS_ACCEPTED) if c is not None]


@pytest.mark.parametrize("kernel", [KERNELS["nms"], KERNELS["batched_nms"]], ids=lambda k: k.name)
def test_float32_and_float64_give_the_same_indices(kernel, backend):
    assert len(FLOAT32_EXACT) > 20
    for case_id, case in FLOAT32_EXACT + [("clustered", _float32_exact(dict(
            boxes=c.boxes, scores=c.scores, classes=c.classes, iou_threshold=0.45)))
            for c in [workloads.clustered_candidates(2000, n_classes=7, seed=11)]]:
        wide = case["float64"]
        assert case["boxes"].dtype == np.float32 and wide["boxes"].dtype == np.float64
        expected = kernel.run(wide, backend)
        _exact = kernel.assert_agree
        _exact(expected, kernel.run(case, backend))
        mixed = dict(case, scores=wide["scores"])  # float32 boxes, float64 scores
        _exact(expected, kernel.run(mixed, backend))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=nms_inputs())
def test_float32_and_float64_agree_on_generated_inputs(case, candidate):
    narrow = _float32_exact(case)
    if narrow is None:
        return
    for kernel in (KERNELS["nms"], KERNELS["batched_nms"]):
        kernel.assert_agree(kernel.run(narrow["float64"], REFERENCE), kernel.run(narrow, candidate))
