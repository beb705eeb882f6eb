"""The AVX2 build of the Cython NMS module (nms_avx2, loaded instead of nms on a CPU
with AVX2) gives the same results as the baseline build.

The conformance suite tests whichever build the backend loaded here (the twin, on an
AVX2 machine); this file runs the baseline build on the same cases, so both builds are
held to the reference on every x86-64 machine that has AVX2.
"""
import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import accel
from cases import split
from kernels import FAMILIES, KERNEL_TABLE

try:  # the package exists in the source tree even where its extensions were not built
    cython_backend = importlib.import_module("accel._backends.cython")
except ImportError:
    pytest.skip("the Cython backend's extensions are not built here (ACCEL_SKIP_BACKENDS, "
                "or no compiler at install)", allow_module_level=True)
baseline = importlib.import_module("accel._backends.cython.nms")
try:
    twin = importlib.import_module("accel._backends.cython.nms_avx2")
except ImportError:
    twin = None

pytestmark = pytest.mark.skipif(
    twin is None or not baseline.cpu_has_avx2(),
    reason="no AVX2 twin here (not x86-64, ACCEL_NATIVE build) or the CPU lacks AVX2: "
           "the conformance suite tests the one build that runs")

NMS_KERNELS = [k for k in KERNEL_TABLE if k.family == "nms"]
ACCEPTED = [(k, cid, case) for k in NMS_KERNELS
            for cid, case in split(FAMILIES["nms"].cases())[0] + FAMILIES["nms"].realistic(k)]


def _run_with(module, kernel, case, monkeypatch):
    with monkeypatch.context() as patch:
        for name in ("nms", "batched_nms", "soft_nms"):
            patch.setattr(cython_backend, name, getattr(module, name))
        return kernel.run(case, "cython")


def test_backend_loads_the_twin_on_this_cpu():
    assert cython_backend.NMS_BUILD == "avx2"
    assert cython_backend.nms is twin.nms


@pytest.mark.parametrize("kernel, case_id, case", ACCEPTED,
                         ids=["%s-%s" % (k.name, cid) for k, cid, _ in ACCEPTED])
def test_baseline_build_equals_avx2_build(kernel, case_id, case, monkeypatch):
    expected = _run_with(twin, kernel, case, monkeypatch)
    kernel.assert_agree(expected, _run_with(baseline, kernel, case, monkeypatch))


@pytest.mark.parametrize("kernel", NMS_KERNELS, ids=lambda k: k.name)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=FAMILIES["nms"].strategy())
def test_baseline_build_equals_avx2_build_on_generated_inputs(kernel, case, monkeypatch):
    expected = _run_with(twin, kernel, case, monkeypatch)
    kernel.assert_agree(expected, _run_with(baseline, kernel, case, monkeypatch))


def test_clustered_workloads_at_grid_sizes_agree(monkeypatch):
    """Sizes past the scan limit (1024 candidates) take the grid path in both builds."""
    from accel.compare.workloads import clustered_candidates
    for n in (3000, 20000):
        c = clustered_candidates(n, n_classes=80, seed=n)
        case = dict(boxes=c.boxes, scores=c.scores, classes=c.classes, iou_threshold=0.45)
        for kernel in NMS_KERNELS[:2]:
            expected = _run_with(twin, kernel, case, monkeypatch)
            np.testing.assert_array_equal(_run_with(baseline, kernel, case, monkeypatch), expected)
            assert len(expected) > 0
