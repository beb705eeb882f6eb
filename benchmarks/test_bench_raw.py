"""Raw heads: int8 split-head postprocess in rknn_model_zoo's YOLOv8 layout at 640 px
(levels 80/40/20: box (1, 64, H, W), sigmoided class scores (1, 80, H, W), score_sum,
all int8) against a NumPy rendering of rknn_model_zoo's published post-processing
(``accel.compare.peers.numpy_rknn_yolov8``: dequantize everything, DFL softmax over every
cell, filter, NMS per class), in one group (pytest-benchmark)::

    python -m pytest benchmarks/test_bench_raw.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds

The levels come from the synthetic scene of ``yolov8_raw_levels`` (a few hundred cells
above 0.25), quantized over each branch's range (``rknn_yolov8_levels``). Also in the
group: the same levels dequantized to float32 through accel. Nothing here asserts a time.
"""
import accel
from accel import _quant
from accel.compare.peers import numpy_rknn_yolov8
from accel.compare.workloads import STRIDES, rknn_yolov8_levels

GROUP = "postprocess yolov8-raw, rknn_model_zoo split heads, 640 px (80/40/20), 80 classes"
LEVELS, QUANT = rknn_yolov8_levels(640)
FLOATS = [tuple(_quant.dequantize(a, _quant.quant_params(q, "quant", a.dtype)) for a, q in
                zip(level[:2], quants)) for level, quants in zip(LEVELS, QUANT)]
OPTIONS = dict(strides=STRIDES, sigmoid_applied=True, conf_threshold=0.25, iou_threshold=0.45)


def test_rknn_int8(benchmark, backend):
    benchmark.group = GROUP
    benchmark(accel.postprocess, LEVELS, "yolov8-raw", quant=QUANT, backend=backend, **OPTIONS)


def test_rknn_float32(benchmark, backend):
    """The same levels dequantized: what the integer scan saves."""
    benchmark.group = GROUP
    benchmark(accel.postprocess, FLOATS, "yolov8-raw", backend=backend, **OPTIONS)


def test_rknn_numpy_peer(benchmark):
    benchmark.group = GROUP
    benchmark(numpy_rknn_yolov8, LEVELS, QUANT, STRIDES, 0.25, 0.45)

