"""Compare two builds of accel (two checkouts built in place) on compare workloads.

    python benchmarks/ab_builds.py nms:500,nms:20000,decode_yolov8:8400 /tmp/base /tmp/new
    python benchmarks/ab_builds.py --backend cffi nms:500 /tmp/base /tmp/new

Each build runs in its own process (the two cannot be imported side by side), the
processes alternate ``--rounds`` times, and each workload keeps its minimum CPU time per
call over all rounds: on a shared VM, noise only ever adds time, and alternating spreads
slow periods over both builds. Prints the minima in microseconds and the ratio first /
second (above 1: the second build is faster).
"""
import argparse
import subprocess
import sys
import time


def _measure(root, specs, backend):
    """Runs in the child: minimum CPU time per call of each ``kernel:size`` spec."""
    sys.path.insert(0, root)
    from accel.compare.workloads import workload

    minima = []
    for spec in specs.split(","):
        kernel, size = spec.split(":")
        w = workload(kernel, int(size))
        call = lambda: w.call(backend)  # noqa: E731
        call()
        start = time.process_time()
        call()
        once = time.process_time() - start
        inner = max(1, int(3e-3 / max(once, 1e-7)))  # batches of about 3 ms
        best = float("inf")
        for _ in range(12):
            start = time.process_time()
            for _ in range(inner):
                call()
            best = min(best, (time.process_time() - start) / inner)
        minima.append(best)
    print(" ".join(repr(m) for m in minima))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", help="kernel:size,... (compare workloads)")
    parser.add_argument("roots", nargs=2, help="two checkouts, each built in place")
    parser.add_argument("--backend", default="cython")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    best = {root: None for root in args.roots}
    for _ in range(args.rounds):
        for root in args.roots:
            out = subprocess.check_output([sys.executable, __file__, "--child", root,
                                           "--backend", args.backend, args.specs, *args.roots])
            got = [float(x) for x in out.split()]
            best[root] = got if best[root] is None else list(map(min, best[root], got))
    first, second = (best[r] for r in args.roots)
    print("%-24s %s" % ("workload", "  ".join("%12s" % s for s in args.specs.split(","))))
    for root in args.roots:
        print("%-24s %s" % (root[-24:], "  ".join("%10.1f us" % (m * 1e6) for m in best[root])))
    print("%-24s %s" % ("ratio", "  ".join("%12.2f" % (a / b) for a, b in zip(first, second))))


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        backend = sys.argv[sys.argv.index("--backend") + 1]
        _measure(sys.argv[i + 1], sys.argv[i + 4], backend)
    else:
        main()
