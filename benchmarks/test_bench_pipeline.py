"""accel.Pipeline on a stream of 1080p frames: map() on 1 and 2 threads against plain
sequential calls (preprocess with out=, the model, postprocess), pytest-benchmark.

    python -m pytest benchmarks/test_bench_pipeline.py --benchmark-group-by=group \
        --benchmark-columns=min,median,rounds

Each round runs FRAMES frames; frames per second = FRAMES / time. The model is the tiny
YOLOv8-shaped ONNX model of accel.compare.pipeline on onnxruntime with one intra-op
thread (skipped without onnx and onnxruntime), or the NumPy stand-in (GIL-free ufuncs).
On a shared machine compare the rows of one run. Nothing here asserts a time.
"""
import itertools

import numpy as np
import pytest

import accel
from accel.compare import pipeline as tool
from accel.compare.workloads import yolov8_output

FRAMES = 24


@pytest.fixture(scope="module")
def frames():
    return tool.camera_frames()


@pytest.fixture(scope="module", params=["onnx", "numpy-stand-in"])
def model(request):
    if request.param == "onnx":
        pytest.importorskip("onnx", reason="onnx not installed: it builds the tiny model")
        pytest.importorskip("onnxruntime", reason="onnxruntime not installed: it runs the model")
        return request.param, tool.onnx_infer(tool.tiny_yolov8_onnx())
    return request.param, tool.numpy_infer(yolov8_output(640))


def _rounds(benchmark, run):
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("threads", [1, 2])
def test_pipeline_map(benchmark, model, frames, threads):
    name, infer = model
    pipe = accel.Pipeline(infer, 640)
    benchmark.group = "pipeline, %d 1080p frames, %s model" % (FRAMES, name)
    _rounds(benchmark, lambda: sum(1 for _ in pipe.map(
        itertools.islice(itertools.cycle(frames), FRAMES), threads=threads)))


def test_sequential_calls_with_out(benchmark, model, frames):
    """The loop a user writes without the pipeline, with a reused input tensor."""
    name, infer = model
    tensor = np.empty((1, 3, 640, 640), np.float32)

    def run():
        for frame in itertools.islice(itertools.cycle(frames), FRAMES):
            _, info = accel.preprocess(frame, 640, out=tensor)
            accel.postprocess(infer(tensor), "yolov8", letterbox=info)

    benchmark.group = "pipeline, %d 1080p frames, %s model" % (FRAMES, name)
    _rounds(benchmark, run)
