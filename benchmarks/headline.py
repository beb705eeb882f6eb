"""Minimum CPU time per call of the headline workloads, as a markdown table (README figures).

    python benchmarks/headline.py python,numpy,numba,cython,cffi opencv,numpy-pipeline,torchvision,ultralytics,onnxruntime,powerboxes
    python benchmarks/headline.py python,numpy,cffi "" decode_yolov8,postprocess   # some rows

CPU time (time.process_time) is used because the development machine is shared; compare
ratios within one run. The contestants of a row take turns, one batch each per round, so
the minima of a row come from the same stretch of time: this VM switches between a fast
and a slow state every few seconds, which made one contestant's minimum, taken alone,
move by up to 1.5x against the others'.
"""
import sys
import time

from accel.compare.peers import PEERS
from accel.compare.workloads import workload


def batch_size(fn):
    """Calls per sample: a call under a millisecond is timed in a batch of about 1 ms, as
    the clock's own cost and resolution would otherwise weigh on microsecond kernels."""
    fn()
    start = time.process_time()
    fn()
    once = time.process_time() - start
    return max(1, int(1e-3 / max(once, 1e-7))) if once < 1e-3 else 1


def interleaved_minima(calls, reps):
    """Minimum CPU time per call of each of ``calls`` (name -> function), ``reps[name]``
    samples each, taken in turns: round r times one batch of every contestant with more
    than r samples to take."""
    inner = {name: batch_size(fn) for name, fn in calls.items()}
    best = {name: 1e9 for name in calls}
    for round_index in range(max(reps.values())):
        for name, fn in calls.items():
            if round_index >= reps[name]:
                continue
            start = time.process_time()
            for _ in range(inner[name]):
                fn()
            best[name] = min(best[name], (time.process_time() - start) / inner[name])
    return best


def _cell(seconds):
    return "%.1f us" % (seconds * 1e6) if seconds < 1e-3 else "%.3f ms" % (seconds * 1e3)


rows = [("nms", 100), ("nms", 500), ("nms", 1000), ("nms", 5000), ("nms", 20000),
        ("batched_nms", 100), ("batched_nms", 500), ("batched_nms", 1000),
        ("batched_nms", 20000), ("soft_nms", 2000),
        ("preprocess", 1080*1920), ("preprocess", 720*1280), ("preprocess", 480*640),
        ("letterbox", 1080*1920), ("to_tensor", 640*640),
        ("decode_yolov8", 8400), ("decode_yolov5", 25200), ("decode_yolov8_raw", 8400),
        ("decode_yolov5_raw", 25200), ("postprocess", 8400), ("scale_boxes", 300)]
backs = sys.argv[1].split(",")
peers = [p for p in sys.argv[2].split(",") if p] if len(sys.argv) > 2 else []
if len(sys.argv) > 3:
    rows = [(k, n) for k, n in rows if k in sys.argv[3].split(",")]
print("| kernel, input | " + " | ".join(backs + peers) + " |")
print("|---" * (1 + len(backs) + len(peers)) + "|")
for k, n in rows:
    w = workload(k, n)
    calls, reps = {}, {}
    for b in backs:
        slow = b == "python" or (b == "numpy" and k in ("batched_nms",))
        calls[b] = (lambda b=b: w.call(b))
        reps[b] = 2 if slow else 30
    for p in peers:
        try:
            f = PEERS[p](w)
        except ImportError:
            f = None
        if f is not None:
            calls[p], reps[p] = f, 30
    best = interleaved_minima(calls, reps)
    cells = [_cell(best[name]) if name in best else "" for name in backs + peers]
    print("| %s %s | %s |" % (k, w.label, " | ".join(cells)))
