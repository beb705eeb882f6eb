"""Segmentation masks (``process_masks``), every backend and the peers (pytest-benchmark).

    python -m pytest benchmarks/test_bench_masks.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds

5, 30 and 100 instances whose masks fill their boxes (about 120 x 120 input pixels
each), at the 640 input and on the 1080p frame. Peers: the NumPy + OpenCV path of ONNX
examples, and ultralytics' torch path (one thread) where torch is installed. Nothing
here asserts a time.
"""
import numpy as np
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


@pytest.mark.parametrize("count,native", CASES, ids=IDS)
def test_torch_path_floor(benchmark, count, native):
    """A floor under ultralytics' torch path where torch is not installed: the three
    passes over a K x H x W float32 map its code makes after the matmul, with none of
    their arithmetic: ``F.interpolate`` writing the map (here a fill), ``crop_mask``'s
    product with the box mask (here in place, the mask given), ``gt_(0.0)`` (here into a
    bool array). Its real time can only be longer."""
    work = mask_workload(count, native)
    shape = work.kwargs["letterbox"].src_shape if native else work.kwargs["shape"]
    full = np.empty((count,) + tuple(shape), dtype=np.float32)
    inside = np.ones(full.shape, dtype=bool)
    out = np.empty(full.shape, dtype=bool)

    def passes():
        full.fill(0.5)
        np.multiply(full, inside, out=full)
        np.greater(full, 0, out=out)
    benchmark.group = "process_masks " + work.label
    benchmark(passes)
