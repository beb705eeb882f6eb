"""Preprocessing on real-sized frames, every backend, plus the OpenCV pipeline it replaces.

    python -m pytest benchmarks/test_bench_preprocess.py --benchmark-group-by=group \
        --benchmark-columns=min,median,rounds

Nothing here asserts a time.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from accel.compare.peers import PEERS
from accel.compare.workloads import SIZES, workload


@pytest.mark.parametrize("kernel", ["letterbox", "to_tensor", "preprocess"])
@pytest.mark.parametrize("size", sorted(set(SIZES["preprocess"] + SIZES["to_tensor"])))
def test_preprocessing(benchmark, backend, kernel, size):
    if size not in SIZES[kernel]:
        pytest.skip("%s is not measured at size %d" % (kernel, size))
    work = workload(kernel, size)
    benchmark.group = "%s %s" % (kernel, work.label)
    benchmark(work.call, backend)


@pytest.mark.parametrize("peer", ["opencv", "numpy-pipeline"])
@pytest.mark.parametrize("size", SIZES["preprocess"])
def test_preprocess_peers(benchmark, peer, size):
    pytest.importorskip("cv2", reason="OpenCV (opencv-python-headless) not installed")
    work = workload("preprocess", size)
    benchmark.group = "preprocess %s" % work.label
    benchmark(PEERS[peer](work))


@pytest.mark.parametrize("threads", [1, 2])
def test_preprocess_batch_threads(benchmark, backend, threads):
    """8 1080p frames into one (8, 3, 640, 640) batch from a thread pool: scales with
    threads only if the backend releases the GIL."""
    if backend == "python":
        pytest.skip("seconds per frame; threads cannot help pure Python under the GIL")
    import accel

    frame = workload("preprocess", SIZES["preprocess"][-1]).args[0]
    batch = np.empty((8, 3, 640, 640), dtype=np.float32)
    benchmark.group = "preprocess, batch of 8 1080p frames on a thread pool"
    with ThreadPoolExecutor(threads) as pool:
        benchmark(lambda: list(pool.map(
            lambda i: accel.preprocess(frame, 640, out=batch[i:i + 1], backend=backend), range(8))))
