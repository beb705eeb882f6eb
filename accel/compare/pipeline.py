"""Frames per second of ``accel.Pipeline`` on 1..cores threads (``compare --pipeline``).

The model is a tiny YOLOv8-shaped ONNX network built here with ``onnx.helper`` (a few
strided convolutions, three detection levels, a (1, 84, 8400) output) and run by
onnxruntime on one intra-op thread, so that it is CPU-bound and the only parallelism
is the pipeline's. Its output is a realistic detector scene (``workloads.yolov8_output``)
moved by a pixel or so by the convolutions, so postprocess does a realistic amount of
work and the detections still depend on the frame. Without onnx or onnxruntime a NumPy
stand-in does a similar amount of GIL-free work (element-wise ufuncs on a large array).
Also used by the tests (``tests/test_pipeline.py``) and ``benchmarks/test_bench_pipeline.py``.
"""
import itertools
import os
import resource
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .. import _pipeline
from .workloads import STRIDES, synthetic_frame, yolov8_output

WIDTHS = (16, 32, 64)  # channels of the first three convolutions (the last two keep the third)


def tiny_yolov8_onnx(imgsz: int = 640, nc: int = 80, widths: Sequence[int] = WIDTHS,
                     seed: int = 0) -> bytes:
    """A serialized ONNX model: float32 (1, 3, imgsz, imgsz) "images" -> (1, 4 + nc, A)
    "output0" like a YOLOv8 export. Five 3x3 stride-2 convolutions with ReLU (strides 2
    to 32), a 1x1 head on the stride 8, 16 and 32 maps, then ``scene + scale *
    tanh(head)``: boxes move by up to 1 pixel and scores by up to 0.001 from the scene."""
    import onnx  # type: ignore
    from onnx import TensorProto, helper, numpy_helper  # type: ignore

    rng = np.random.default_rng(seed)
    c1, c2, c3 = widths
    channels = 4 + nc
    nodes, weights = [], []

    def tensor(name, array, dtype=np.float32):
        weights.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype), name))
        return name

    def conv(name, source, cin, cout, kernel, stride, relu=True):
        fan_in = cin * kernel * kernel
        w = tensor(name + ".w", rng.normal(0, (2.0 / fan_in) ** 0.5, (cout, cin, kernel, kernel)))
        b = tensor(name + ".b", np.zeros(cout))
        pad = kernel // 2
        nodes.append(helper.make_node("Conv", [source, w, b], [name + ".conv"], strides=[stride] * 2,
                                      pads=[pad] * 4, kernel_shape=[kernel] * 2))
        if not relu:
            return name + ".conv"
        nodes.append(helper.make_node("Relu", [name + ".conv"], [name]))
        return name

    x = conv("stem", "images", 3, c1, 3, 2)
    x = conv("down4", x, c1, c2, 3, 2)
    levels = [conv("p3", x, c2, c3, 3, 2)]
    levels.append(conv("p4", levels[0], c3, c3, 3, 2))
    levels.append(conv("p5", levels[1], c3, c3, 3, 2))
    shape = tensor("flat", [1, channels, -1], np.int64)
    flat = []
    for stride, level in zip(STRIDES, levels):
        head = conv("head%d" % stride, level, c3, channels, 1, 1, relu=False)
        nodes.append(helper.make_node("Reshape", [head, shape], [head + ".flat"]))
        flat.append(head + ".flat")
    nodes.append(helper.make_node("Concat", flat, ["head"], axis=2))
    nodes.append(helper.make_node("Tanh", ["head"], ["head.tanh"]))
    scale = np.full((1, channels, 1), 1e-3)
    scale[0, :4] = 1.0
    nodes.append(helper.make_node("Mul", ["head.tanh", tensor("scale", scale)], ["moved"]))
    nodes.append(helper.make_node("Add", ["moved", tensor("scene", yolov8_output(imgsz, nc, seed))],
                                  ["output0"]))
    anchors = sum((imgsz // s) ** 2 for s in STRIDES)
    graph = helper.make_graph(
        nodes, "tiny_yolov8",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, imgsz, imgsz])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, channels, anchors])],
        initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="accel.compare.pipeline")
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    onnx.checker.check_model(model)
    return model.SerializeToString()


def onnx_infer(model: bytes, intra_op_threads: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """``infer(tensor) -> output`` running ``model`` with onnxruntime (CPU, one intra-op
    thread by default: the pipeline's threads are then the only parallelism)."""
    import onnxruntime as ort  # type: ignore

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda tensor: session.run(None, {name: tensor})[0]


def numpy_infer(output: np.ndarray, work: int = 12) -> Callable[[np.ndarray], np.ndarray]:
    """A stand-in model without onnxruntime: ``work`` element-wise passes over the input
    tensor into a scratch array of its thread (ufuncs on large arrays release the GIL and
    run on one core, unlike BLAS), then ``output`` itself, preallocated: this model
    allocates nothing after its first call in a thread. ``work=0`` returns at once."""
    local = threading.local()

    def infer(tensor: np.ndarray) -> np.ndarray:
        if work:
            scratch = getattr(local, "scratch", None)
            if scratch is None or scratch.shape != tensor.shape:
                scratch = local.scratch = np.empty(tensor.shape, np.float32)
            for _ in range(work):
                np.sqrt(tensor, out=scratch)
        return output
    return infer


def model(imgsz: int = 640) -> tuple:
    """``(infer, name)``: the tiny ONNX model on onnxruntime, else the NumPy stand-in."""
    try:
        return (onnx_infer(tiny_yolov8_onnx(imgsz)),
                "tiny YOLOv8-shaped ONNX model, onnxruntime, 1 intra-op thread")
    except ImportError as exc:
        return (numpy_infer(yolov8_output(imgsz)),
                "NumPy stand-in (GIL-free ufuncs; %s)" % (exc,))


def camera_frames(count: int = 4, height: int = 1080, width: int = 1920) -> List[np.ndarray]:
    return [synthetic_frame(height, width, seed=i) for i in range(count)]


def frames_per_second(pipe: "_pipeline.Pipeline", frames: Sequence[np.ndarray], threads: int,
                      count: int, warmup: int = 10) -> dict:
    """Run ``count`` frames (after ``warmup``) through ``pipe.map``: frames per second,
    minor page faults per frame (``getrusage(RUSAGE_SELF).ru_minflt``, every thread) and
    the cores the process kept busy (its CPU time / wall time: on a shared machine, fewer
    than ``threads`` means the other jobs took the rest)."""
    stream = itertools.islice(itertools.cycle(frames), warmup + count)
    start_time = 0.0
    start = resource.getrusage(resource.RUSAGE_SELF)
    for i, _ in enumerate(pipe.map(stream, threads=threads)):
        if i == warmup - 1:
            start = resource.getrusage(resource.RUSAGE_SELF)
            start_time = time.perf_counter()
    elapsed = time.perf_counter() - start_time
    end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
    return {"threads": threads, "fps": count / elapsed,
            "faults_per_frame": (end.ru_minflt - start.ru_minflt) / count,
            "cores_busy": cpu / elapsed}


def measure(budget: float = 2.0, max_threads: Optional[int] = None, imgsz: int = 640) -> dict:
    """Frames per second of one Pipeline on 1..cores threads, interleaved (threads 1, 2,
    .., 1, 2, ..) so that a noisy machine shifts every column alike; ``budget`` seconds
    per cell and round, three rounds, the best round per cell reported."""
    infer, name = model(imgsz)
    pipe = _pipeline.Pipeline(infer, imgsz)
    frames = camera_frames()
    start = time.perf_counter()
    for _ in pipe.map(frames * 3, threads=1):  # warm-up, and the time of one frame
        pass
    per_frame = (time.perf_counter() - start) / (3 * len(frames))
    count = max(10, int(budget / per_frame))
    counts = range(1, (max_threads or os.cpu_count() or 1) + 1)
    best: Dict[int, dict] = {}
    for _ in range(3):
        for threads in counts:
            row = frames_per_second(pipe, frames, threads, count)
            if threads not in best or row["fps"] > best[threads]["fps"]:
                best[threads] = row
    return {"model": name, "frame": "%dx%d" % frames[0].shape[1::-1], "imgsz": imgsz,
            "frames_per_cell": count, "rows": [best[t] for t in counts]}


def render(data: dict, markdown: bool = False) -> str:
    from . import display

    base = data["rows"][0]["fps"]
    table = [[str(r["threads"]), "%.1f" % r["fps"], "x%.2f" % (r["fps"] / base),
              "%.2f" % r["cores_busy"], "%.1f" % r["faults_per_frame"]] for r in data["rows"]]
    lines = ["", "%spipeline" % ("### " if markdown else ""),
             "accel.Pipeline.map on %s frames -> %d px, %s; best of 3 interleaved rounds of %d "
             "frames" % (data["frame"], data["imgsz"], data["model"], data["frames_per_cell"]),
             display.table(table, ["threads", "frames/s", "vs 1 thread", "cores busy",
                                   "minor faults/frame"], markdown)]
    return "\n".join(lines)
