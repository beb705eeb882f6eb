"""NMS family on realistic clustered candidates, every backend (pytest-benchmark).

    python -m pytest benchmarks --benchmark-group-by=group --benchmark-sort=mean \
        --benchmark-columns=min,median,mean,rounds

These figures justify ``accel._dispatch.DEFAULT_ORDER``. Nothing here asserts a time.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from accel.compare.peers import PEERS
from accel.compare.workloads import SIZES, workload

# The operating point of a real pipeline: what a 0.25 confidence threshold leaves.
PIPELINE_SIZES = (100, 500, 1000)


def _bench(benchmark, work, backend):
    benchmark.group = "%s %s" % (work.kernel, work.label)
    benchmark.extra_info["kept"] = len(np.atleast_1d(work.call(backend)[0] if work.kernel == "soft_nms"
                                                     else work.call(backend)))
    benchmark(work.call, backend)


NMS_SIZES = sorted(set(SIZES["nms"]) | set(PIPELINE_SIZES))


@pytest.mark.parametrize("size", NMS_SIZES)
def test_nms(benchmark, backend, size):
    _bench(benchmark, workload("nms", size), backend)


@pytest.mark.parametrize("size", sorted(set(SIZES["batched_nms"]) | set(PIPELINE_SIZES)))
def test_batched_nms(benchmark, backend, size):
    _bench(benchmark, workload("batched_nms", size), backend)


@pytest.mark.parametrize("kernel", ["nms", "batched_nms"])
@pytest.mark.parametrize("peer", sorted(PEERS))
@pytest.mark.parametrize("size", NMS_SIZES)
def test_nms_peers(benchmark, kernel, peer, size):
    """The same inputs through the libraries a user would otherwise call (when installed):
    same group as the backends, so pytest-benchmark shows them side by side."""
    work = workload(kernel, size)
    try:
        call = PEERS[peer](work)
    except ImportError as exc:
        pytest.skip("peer %s not installed: %s" % (peer, exc))
    if call is None:
        pytest.skip("%s has no %s" % (peer, kernel))
    benchmark.group = "%s %s" % (work.kernel, work.label)
    benchmark(call)


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
