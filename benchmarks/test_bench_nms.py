"""NMS family on realistic clustered candidates, every backend (pytest-benchmark).

    python -m pytest benchmarks --benchmark-group-by=group --benchmark-sort=mean \
        --benchmark-columns=min,median,mean,rounds

These figures justify ``accel._dispatch.DEFAULT_ORDER``. Nothing here asserts a time.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from accel.compare.workloads import SIZES, workload


def _bench(benchmark, work, backend):
    benchmark.group = "%s %s" % (work.kernel, work.label)
    benchmark.extra_info["kept"] = len(np.atleast_1d(work.call(backend)[0] if work.kernel == "soft_nms"
                                                     else work.call(backend)))
    benchmark(work.call, backend)


@pytest.mark.parametrize("size", SIZES["nms"])
def test_nms(benchmark, backend, size):
    _bench(benchmark, workload("nms", size), backend)


@pytest.mark.parametrize("size", SIZES["batched_nms"])
def test_batched_nms(benchmark, backend, size):
    _bench(benchmark, workload("batched_nms", size), backend)


@pytest.mark.parametrize("size", SIZES["soft_nms"])
def test_soft_nms(benchmark, backend, size):
    _bench(benchmark, workload("soft_nms", size), backend)


@pytest.mark.parametrize("threads", [1, 2])
def test_nms_threads(benchmark, backend, threads):
    """8 frames' NMS (N=5000 each) spread over a thread pool: scales only if the GIL is released."""
    frames = [workload("nms", 5000, seed=seed) for seed in range(8)]
    benchmark.group = "nms, 8 frames of N=5000 on a thread pool"
    with ThreadPoolExecutor(threads) as pool:
        benchmark(lambda: list(pool.map(lambda w: w.call(backend), frames)))
