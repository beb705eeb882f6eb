"""Decoding family on realistic detector outputs, every backend (pytest-benchmark).

    python -m pytest benchmarks/test_bench_decode.py --benchmark-group-by=group \
        --benchmark-columns=min,median,rounds

Nothing here asserts a time.
"""
import pytest

from accel import _quant
from accel.compare.peers import numpy_decode_v5, numpy_decode_v8, numpy_dequantize_decode_v8
from accel.compare.workloads import (SIZES, quantized_yolov8_output, workload, yolov5_output,
                                     yolov8_output)


def _bench(benchmark, work, backend, **options):
    benchmark.group = "%s %s%s" % (work.kernel, work.label,
                                   "".join(", %s=%s" % kv for kv in options.items()))
    benchmark(lambda: work.call(backend) if not options else
              _call(work, backend, options))


def _call(work, backend, options):
    import accel

    return getattr(accel, work.kernel)(*work.args, backend=backend, **work.kwargs, **options)


@pytest.mark.parametrize("kernel", ["decode_yolov8", "decode_yolov5", "decode_yolov8_raw",
                                    "decode_yolov5_raw", "decode_yolov3_raw", "postprocess"])
@pytest.mark.parametrize("scale", [0, 1], ids=["320px", "640px"])
def test_decode(benchmark, backend, kernel, scale):
    _bench(benchmark, workload(kernel, SIZES[kernel][scale]), backend)


@pytest.mark.parametrize("kernel", ["decode_yolov8", "decode_yolov5"])
def test_decode_unchecked(benchmark, backend, kernel):
    """Without the NaN/inf check (``check_finite=False``): what the check costs, now that
    the scan tests the values it reads and the public layer the kept anchors' boxes."""
    _bench(benchmark, workload(kernel, SIZES[kernel][1]), backend, check_finite=False)


@pytest.mark.parametrize("size", SIZES["scale_boxes"])
def test_scale_boxes(benchmark, backend, size):
    _bench(benchmark, workload("scale_boxes", size), backend)


def test_numpy_rendering_of_ultralytics_decode(benchmark):
    """The usual NumPy decode of ONNX-runtime examples, for scale (no finiteness check)."""
    pred = yolov8_output(640)
    benchmark.group = "decode_yolov8 640 px input, 8400 anchors"
    benchmark(numpy_decode_v8, pred, 0.25)


def test_numpy_rendering_of_ultralytics_decode_v5(benchmark):
    """The same for YOLOv5 (objectness gate, then classes times objectness)."""
    pred = yolov5_output(640)
    benchmark.group = "decode_yolov5 640 px input, 25200 anchors"
    benchmark(numpy_decode_v5, pred, 0.25)


@pytest.mark.parametrize("threads", [1, 2])
def test_postprocess_threads(benchmark, backend, threads):
    """8 frames' postprocess on a thread pool: scales only where the GIL is released (the
    scan and NMS; the shared NumPy steps release it for their larger loops only)."""
    from concurrent.futures import ThreadPoolExecutor

    frames = [workload("postprocess", SIZES["postprocess"][1], seed=seed) for seed in range(8)]
    benchmark.group = "postprocess, 8 frames of 640 px on a thread pool"
    with ThreadPoolExecutor(threads) as pool:
        benchmark(lambda: list(pool.map(lambda w: w.call(backend), frames)))


INT8_GROUP = "decode_yolov8 int8 (TFLite) 640 px input, 8400 anchors"


def _int8_output():
    codes, quant = quantized_yolov8_output(640)
    values = _quant.dequantize(codes, _quant.quant_params(quant, "quant", codes.dtype))
    return codes, quant, values


def test_decode_int8(benchmark, backend):
    """An int8 output decoded as codes (integer scan, only the kept anchors dequantized)."""
    import accel

    codes, quant, _ = _int8_output()
    benchmark.group = INT8_GROUP
    benchmark(lambda: accel.decode_yolov8(codes, quant=quant, box_scale=640, backend=backend))


def test_decode_int8_as_float32(benchmark, backend):
    """The same output dequantized beforehand: the float32 decode of the same values (the
    same detections, bit for bit), by the same backend."""
    import accel

    _, _, values = _int8_output()
    benchmark.group = INT8_GROUP
    benchmark(lambda: accel.decode_yolov8(values, box_scale=640, backend=backend))


def test_numpy_dequantize_then_decode(benchmark):
    """The NumPy peer: dequantize everything, denormalise, then the NumPy decode."""
    codes, quant, _ = _int8_output()
    benchmark.group = INT8_GROUP
    benchmark(numpy_dequantize_decode_v8, codes, quant, 0.25, 640)
