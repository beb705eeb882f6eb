"""How close ``preprocess`` 1080p -> 640 is to the memory traffic any such call must make,
against its best peer, in interleaved wall-clock medians (as benchmarks/paired.py):

- write: allocate and fill the (1, 3, 640, 640) float32 tensor (4.9 MB);
- read: the source rows a 3x downscale samples, every third row of the 1920x1080 frame
  (2 MB; ``frame[::3].max()``).

``write + read`` is a floor (a kernel can overlap the two, not skip them); ``peer / floor``
is the best ratio any implementation could show against the peer on this machine.

    python benchmarks/preprocess_floor.py [rounds] [backend]
"""
import sys
import time

import numpy as np

import accel
from accel.compare.peers import PEERS
from accel.compare.workloads import workload


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    backend = sys.argv[2] if len(sys.argv) > 2 else "cython"
    frame = workload("preprocess", 1920 * 1080).args[0]

    def write():
        tensor = np.empty((1, 3, 640, 640), np.float32)
        tensor.fill(114 / 255)
        return tensor

    calls = {backend: lambda: accel.preprocess(frame, 640, backend=backend),
             "numpy-pipeline": PEERS["numpy-pipeline"](workload("preprocess", 1920 * 1080)),
             "write": write, "read": lambda: frame[::3].max()}
    for call in calls.values():
        call()
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    median = {}
    for name, samples in times.items():
        samples.sort()
        median[name] = samples[len(samples) // 2]
        print("  %-16s median %8.1f us  min %8.1f us" % (name, median[name] * 1e6,
                                                          samples[0] * 1e6))
    floor = median["write"] + median["read"]
    print("peer / %s %.2fx; floor (write + read) %.1f us; peer / floor %.2fx; %s / floor %.2fx"
          % (backend, median["numpy-pipeline"] / median[backend], floor * 1e6,
             median["numpy-pipeline"] / floor, backend, median[backend] / floor))


if __name__ == "__main__":
    main()
