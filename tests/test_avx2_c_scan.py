"""The two builds of the C backend's candidate scan (greedy NMS of at most 1024
candidates per class: AVX2 and the SSE2 baseline, picked once per process by the CPU's
features) give the same results.

The conformance suite tests the build this CPU picks; this file forces the baseline
(``accel_nms_scan_avx2(0)``) on the same cases, and on generated ones, so both builds
are held to the same answers on every x86-64 machine with AVX2.
"""
import pytest
from hypothesis import HealthCheck, given, settings

from cases import split
from conftest import require_backend
from kernels import FAMILIES, KERNEL_TABLE

KERNELS = [k for k in KERNEL_TABLE if k.name in ("nms", "batched_nms")]
ACCEPTED = [(k, cid, case) for k in KERNELS
            for cid, case in split(FAMILIES["nms"].cases())[0] + FAMILIES["nms"].realistic(k)]


@pytest.fixture
def scan_build():
    """``use(avx2)`` selects the build for the calls that follow; the CPU's choice is
    restored after the test."""
    require_backend("cffi")
    from accel._backends.cffi._shared import lib

    if lib.accel_nms_scan_avx2(1) != 1:
        pytest.skip("one build of the C scan here (not x86-64 GCC glibc, or no AVX2)")
    yield lambda avx2: lib.accel_nms_scan_avx2(1 if avx2 else 0)
    lib.accel_nms_scan_avx2(1)


def _both(kernel, case, scan_build):
    assert scan_build(True) == 1
    expected = kernel.run(case, "cffi")
    assert scan_build(False) == 0
    return expected, kernel.run(case, "cffi")


@pytest.mark.parametrize("kernel, case_id, case", ACCEPTED,
                         ids=["%s-%s" % (k.name, cid) for k, cid, _ in ACCEPTED])
def test_baseline_scan_equals_avx2_scan(kernel, case_id, case, scan_build):
    expected, baseline = _both(kernel, case, scan_build)
    kernel.assert_agree(expected, baseline)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=FAMILIES["nms"].strategy())
def test_baseline_scan_equals_avx2_scan_on_generated_inputs(kernel, case, scan_build):
    expected, baseline = _both(kernel, case, scan_build)
    kernel.assert_agree(expected, baseline)
