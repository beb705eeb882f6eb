"""Minimum CPU time per call of the headline workloads, as a markdown table (README figures).

    python benchmarks/headline.py python,numpy,numba,cython,cffi opencv,numpy-pipeline,torchvision,ultralytics,onnxruntime,powerboxes
    python benchmarks/headline.py python,numpy,cffi "" decode_yolov8,postprocess   # some rows

CPU time (time.process_time) is used because the development machine is shared; compare
ratios within one run.
"""
import sys
import time

from accel.compare.peers import PEERS
from accel.compare.workloads import workload


def cpu_min(fn, reps):
    """Minimum CPU time of one call over ``reps`` samples; a sample of a call under a
    millisecond times a batch of calls (about 1 ms), as the clock's own cost and
    resolution would otherwise weigh on microsecond kernels."""
    fn()
    start = time.process_time()
    fn()
    once = time.process_time() - start
    inner = max(1, int(1e-3 / max(once, 1e-7))) if once < 1e-3 else 1
    best = 1e9
    for _ in range(reps):
        t = time.process_time()
        for _ in range(inner):
            fn()
        best = min(best, (time.process_time() - t) / inner)
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
    cells = []
    for b in backs:
        slow = b == "python" or (b == "numpy" and k in ("batched_nms",))
        reps = 2 if slow else 30
        cells.append(_cell(cpu_min(lambda: w.call(b), reps)))
    for p in peers:
        try:
            f = PEERS[p](w)
        except ImportError:
            f = None
        cells.append(_cell(cpu_min(f, 20)) if f else "")
    print("| %s %s | %s |" % (k, w.label, " | ".join(cells)))
