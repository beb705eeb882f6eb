"""The pure-Python backend under PyPy against the same backend under CPython (issue 10, item 4).

Five cases: ``nms`` N=1000 and N=5000, ``batched_nms`` N=5000 (80 classes), ``preprocess``
1080p -> 640 and ``decode_yolov8`` 640 px (8400 anchors), each the public function with
``backend="python"`` (validation included) on the workload of ``accel.compare``.

    python benchmarks/pypy_python_backend.py --cpython .venv/bin/python \\
        --pypy /path/to/pypy-venv/bin/python

One worker process per interpreter and case (``--shared``: one per interpreter for all
cases). Each is first warmed up (``--warmup`` seconds per case: PyPy's JIT compiles the
loops then). Then the driver alternates, ``--rounds`` times: a batch of calls on
CPython, the same on PyPy (with ``--shared``, case after case in each round). A batch is
timed call by call in the worker's CPU time (``time.process_time``); its median is the
batch's figure, and the ratio of the two batches of one round is that round's ratio. The
report gives the medians over rounds.

Why a process per case: ``nms`` and ``batched_nms`` run the same loops, and PyPy's JIT
compiles a loop for the paths it sees first; the other kernel then runs through bridges
(measured: ``batched_nms`` N=5000 about twice as slow in a process that ran ``nms``
first). A program calls one of them; ``--shared`` shows the mixed case.

Why alternating batches: on a shared machine the time of a call depends on what else
runs. CPU time ignores the time the process waits for a CPU, and batches close in time
see about the same machine, so ratios stay put where absolute figures drift by 2x.
``--json FILE`` saves every batch.

``--worker`` runs one worker (reads ``case count`` lines, answers with a JSON list of
seconds); ``--local`` just times this interpreter, without a driver.
"""
import argparse
import json
import platform
import statistics
import subprocess
import os
import sys
import time

# The checkout this file belongs to: the workers import its accel, not whatever copy an
# interpreter has installed (a stale install under PyPy once made its figures 5x worse).
CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = ("nms:1000", "nms:5000", "batched_nms:5000", "preprocess:1080p", "decode_yolov8:640")


def _workload(case):
    from accel.compare.workloads import DECODE_INPUTS, FRAMES, SIZES, workload

    kernel, size = case.split(":")
    if size.endswith("p"):  # a frame height
        size = SIZES[kernel][list(FRAMES).index(int(size[:-1]))]
    elif kernel.startswith("decode"):  # a model input side
        size = SIZES[kernel][DECODE_INPUTS.index(int(size))]
    return workload(kernel, int(size))


def _timed(call, count):
    clock = time.process_time
    samples = []
    for _ in range(count):
        start = clock()
        call()
        samples.append(clock() - start)
    return samples


def _calls(cases):
    calls = {}
    for case in cases:
        w = _workload(case)
        calls[case] = (lambda w=w: w.call("python")), w.label
    return calls


def worker(cases):
    sys.path.insert(0, CHECKOUT)
    import accel

    calls = _calls(cases)
    print(json.dumps({"interpreter": "%s %s (accel from %s)" % (
                          platform.python_implementation(), platform.python_version(),
                          os.path.dirname(accel.__file__)),
                      "labels": {case: label for case, (_, label) in calls.items()}}))
    sys.stdout.flush()
    for line in sys.stdin:
        case, count = line.split()
        if case == "warmup":  # warm every case up for ``count`` seconds each
            for call, _ in calls.values():
                deadline = time.perf_counter() + float(count)
                done = 0
                while done < 3 or time.perf_counter() < deadline:
                    call()
                    done += 1
            print("[]")
        else:
            print(json.dumps(_timed(calls[case][0], int(count))))
        sys.stdout.flush()


class _Worker:
    def __init__(self, python, cases):
        self.process = subprocess.Popen(
            [python, __file__, "--worker", "--cases", ",".join(cases)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
        hello = json.loads(self.process.stdout.readline())
        self.interpreter, self.labels = hello["interpreter"], hello["labels"]

    def ask(self, case, count):
        self.process.stdin.write("%s %s\n" % (case, count))
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def drive(args, cases):
    if args.shared:
        return _drive(args, cases)
    records, labels = {}, {}
    for case in cases:
        record, names, case_labels = _drive(args, [case], report=False)
        records.update(record)
        labels.update(case_labels)
    _report(args, cases, records, names, labels)


def _drive(args, cases, report=True):
    cpython, pypy = _Worker(args.cpython, cases), _Worker(args.pypy, cases)
    try:
        sys.stdout.write("%s: warming up %s and %s (%.0f s per case each)\n"
                         % (",".join(cases), cpython.interpreter, pypy.interpreter,
                            args.warmup))
        sys.stdout.flush()
        cpython.ask("warmup", min(args.warmup, 1.0))
        pypy.ask("warmup", args.warmup)
        record = {case: {"cpython": [], "pypy": [], "ratio": []} for case in cases}
        counts = {}
        for round_ in range(args.rounds):
            for case in cases:
                if case not in counts:  # calls per batch: about --batch seconds on CPython
                    first = statistics.median(cpython.ask(case, 3))
                    counts[case] = (max(3, int(args.batch / first)),
                                    max(5, int(args.batch / first * 5)))
                c = statistics.median(cpython.ask(case, counts[case][0]))
                p = statistics.median(pypy.ask(case, counts[case][1]))
                record[case]["cpython"].append(c)
                record[case]["pypy"].append(p)
                record[case]["ratio"].append(c / p)
            sys.stdout.write("%s: round %d/%d done\n" % (",".join(cases), round_ + 1,
                                                          args.rounds))
            sys.stdout.flush()
    finally:
        cpython.close()
        pypy.close()
    names = (cpython.interpreter, pypy.interpreter)
    if report:
        _report(args, cases, record, names, cpython.labels)
    return record, names, cpython.labels


def _report(args, cases, record, names, labels):
    print()
    print("%s vs %s, %s" % (names + ("one process pair for all cases" if args.shared
                                     else "one process pair per case",)))
    print()
    print("| case | CPython (ms) | PyPy (ms) | CPython / PyPy (median of rounds, min-max) |")
    print("|---|---:|---:|---:|")
    for case in cases:
        r = record[case]
        print("| %s %s | %.3f | %.3f | %.1fx (%.1f-%.1f) |" % (
            case.split(":")[0], labels[case], statistics.median(r["cpython"]) * 1e3,
            statistics.median(r["pypy"]) * 1e3, statistics.median(r["ratio"]),
            min(r["ratio"]), max(r["ratio"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpython": names[0], "pypy": names[1], "shared": args.shared,
                       "seconds": record}, f, indent=1)


def local(args, cases):
    sys.path.insert(0, CHECKOUT)
    import accel

    calls = _calls(cases)
    print("%s %s, CPU time, accel from %s" % (platform.python_implementation(),
                                              platform.python_version(),
                                              os.path.dirname(accel.__file__)))
    for case in cases:
        call, label = calls[case]
        deadline = time.perf_counter() + args.warmup
        while time.perf_counter() < deadline:
            call()
        samples = []
        deadline = time.perf_counter() + args.batch * args.rounds
        while len(samples) < 5 or time.perf_counter() < deadline:
            samples += _timed(call, 1)
        print("%-14s %-28s %10.3f ms  (%d calls)" % (case.split(":")[0], label,
                                                     statistics.median(samples) * 1e3,
                                                     len(samples)))
        sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpython", default="python3", help="CPython with accel installed")
    parser.add_argument("--pypy", default="pypy3", help="PyPy with accel installed")
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated kernel:size (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds per case before timing (default 5; CPython gets 1)")
    parser.add_argument("--batch", type=float, default=0.3,
                        help="seconds of CPython calls per batch (default 0.3)")
    parser.add_argument("--rounds", type=int, default=7, help="default 7")
    parser.add_argument("--shared", action="store_true",
                        help="one process per interpreter for all cases")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--local", action="store_true",
                        help="time this interpreter only (medians of CPU time)")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    if args.worker:
        worker(cases)
    elif args.local:
        local(args, cases)
    else:
        drive(args, cases)


if __name__ == "__main__":
    main()
