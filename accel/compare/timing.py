"""Time one kernel call repeatedly within a budget; used by ``accel.compare``."""
import statistics
import threading
import time
from typing import Callable, List, NamedTuple


class Timing(NamedTuple):
    first_call: float  # seconds; for Numba this includes compiling (or loading the cache)
    samples: List[float]  # seconds per call, steady state

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Half the interquartile range (or half the range, for few samples), relative."""
        ordered = sorted(self.samples)
        if len(ordered) >= 4:
            low, high = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
        else:
            low, high = ordered[0], ordered[-1]
        return (high - low) / 2 / self.median if self.median > 0 else 0.0


def measure(call: Callable[[], object], budget: float, max_repeats: int = 10000) -> Timing:
    """Call once (the first call, timed apart), then repeat until ``budget`` seconds pass.

    At least one steady-state sample is taken however slow the call is, and at least
    five when they fit in the budget.
    """
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    samples: List[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < max_repeats:
        start = time.perf_counter()
        call()
        end = time.perf_counter()
        samples.append(end - start)
        if end >= deadline and len(samples) >= min(5, max(1, int(budget / samples[0]))):
            break
    return Timing(first, samples)


def thread_throughput(call: Callable[[], object], threads: int, calls_per_thread: int) -> float:
    """Calls per second with ``threads`` threads each making ``calls_per_thread`` calls."""
    barrier = threading.Barrier(threads + 1)

    def worker():
        barrier.wait()
        for _ in range(calls_per_thread):
            call()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    return threads * calls_per_thread / (time.perf_counter() - start)
