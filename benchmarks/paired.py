"""Interleaved medians: each round calls every contestant once, in turn, so all of them
see the same machine (a shared VM here flips between a fast and a slow state every few
seconds, which moves separate medians by 1.5x); prints the median and minimum per call
and each contestant's median over the first one's.

    python benchmarks/paired.py nms:100,nms:500 cython onnxruntime,powerboxes
    python benchmarks/paired.py decode_yolov8:8400 cffi,numba numpy-pipeline --rounds 2000

Contestants: accel backends (second argument) and peers of ``accel.compare.peers``
(third). Calls alternate within one process, so they also share the caches: a kernel
finds its data evicted by the others, as it would in a pipeline.
"""
import argparse
import time

import accel  # noqa: F401  (the backends load before timing)
from accel.compare.peers import PEERS
from accel.compare.workloads import workload


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", help="kernel:size,... (compare workloads)")
    parser.add_argument("backends", help="accel backends, comma-separated")
    parser.add_argument("peers", nargs="?", default="", help="peers, comma-separated")
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    for spec in args.specs.split(","):
        kernel, size = spec.split(":")
        work = workload(kernel, int(size))
        calls = {b: (lambda b=b: work.call(b)) for b in args.backends.split(",")}
        for peer in filter(None, args.peers.split(",")):
            try:
                call = PEERS[peer](work)
            except ImportError as exc:
                print("%s: %s not installed (%s)" % (spec, peer, exc))
                continue
            if call is not None:
                calls[peer] = call
        for call in calls.values():
            call()
        times = {name: [] for name in calls}
        clock = time.perf_counter
        for _ in range(args.rounds):
            for name, call in calls.items():
                start = clock()
                call()
                times[name].append(clock() - start)
        first = None
        print("%s (%s), %d interleaved rounds" % (kernel, work.label, args.rounds))
        for name, samples in times.items():
            samples.sort()
            median = samples[len(samples) // 2]
            first = first or median
            print("  %-16s median %10.1f us  min %10.1f us  x%.2f of %s"
                  % (name, median * 1e6, samples[0] * 1e6, median / first,
                     next(iter(calls))))


if __name__ == "__main__":
    main()
