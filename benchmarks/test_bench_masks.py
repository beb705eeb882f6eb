"""Segmentation masks (``process_masks``), every backend and the peers (pytest-benchmark).

    python -m pytest benchmarks/test_bench_masks.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds

5, 30 and 100 instances whose masks fill their boxes (about 120 x 120 input pixels
each), at the 640 input and on the 1080p frame. Peers: the NumPy + OpenCV path of ONNX
examples, and ultralytics' torch path (one thread) where torch is installed. Nothing
here asserts a time.
"""
import pytest

from accel.compare.peers import opencv_masks, ultralytics_masks
from accel.compare.workloads import mask_workload

CASES = [(5, False), (30, False), (100, False), (30, True), (100, True)]
IDS = ["%d-%s" % (count, "1080p" if native else "640") for count, native in CASES]


@pytest.mark.parametrize("count,native", CASES, ids=IDS)
def test_process_masks(benchmark, backend, count, native):
    work = mask_workload(count, native)
    benchmark.group = "process_masks " + work.label
    if backend == "python" and count > 5:
        pytest.skip("the pure-Python reference takes seconds per call here")
    benchmark(work.call, backend)


@pytest.mark.parametrize("peer", [opencv_masks, ultralytics_masks], ids=["opencv", "torch"])
@pytest.mark.parametrize("count,native", CASES, ids=IDS)
def test_peer(benchmark, peer, count, native):
    work = mask_workload(count, native)
    try:
        call = peer(work)
    except ImportError as exc:
        pytest.skip("peer not installed: %s" % (exc,))
    benchmark.group = "process_masks " + work.label
    benchmark(call)
