"""Rotated NMS, the pose and oriented-box decoders and their postprocess, every backend
and the peers (pytest-benchmark).

    python -m pytest benchmarks/test_bench_rotated.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds

Peers: powerboxes' Rust ``rotated_nms`` and a shapely greedy loop (polygon IoU), where
installed. ultralytics' torch paths are not rendered here (torch is not a test
dependency); ``test_obb_postprocess`` and ``test_pose_postprocess`` give accel's side.
Nothing here asserts a time.
"""
import numpy as np
import pytest

import accel
from accel.compare.peers import powerboxes_rotated, shapely_rotated
from accel.compare.workloads import SIZES, obb_output, pose_output, workload


@pytest.mark.parametrize("size", SIZES["nms_rotated"])
@pytest.mark.parametrize("kind", ["polygon", "probiou"])
def test_nms_rotated(benchmark, backend, size, kind):
    work = workload("nms_rotated", size)
    if backend == "python" and size > 200:
        pytest.skip("the pure-Python reference takes a second per call here")
    benchmark.group = "nms_rotated %s %s" % (kind, work.label)
    boxes, scores, iou = work.args
    benchmark(accel.nms_rotated, boxes, scores, iou, iou=kind, backend=backend)


@pytest.mark.parametrize("size", SIZES["batched_nms_rotated"])
def test_batched_nms_rotated(benchmark, backend, size):
    work = workload("batched_nms_rotated", size)
    if backend == "python" and size > 200:
        pytest.skip("the pure-Python reference takes a second per call here")
    benchmark.group = "batched_nms_rotated " + work.label
    benchmark(work.call, backend)


@pytest.mark.parametrize("peer", [powerboxes_rotated, shapely_rotated], ids=["powerboxes", "shapely"])
@pytest.mark.parametrize("size", SIZES["nms_rotated"])
def test_nms_rotated_peer(benchmark, peer, size):
    work = workload("nms_rotated", size)
    try:
        call = peer(work)
    except ImportError as exc:
        pytest.skip("peer not installed: %s" % (exc,))
    benchmark.group = "nms_rotated polygon " + work.label
    benchmark(call)


def test_obb_postprocess(benchmark, backend):
    """1024 px aerial scene, ultralytics' fast NMS (the default) and the letterbox."""
    pred = obb_output(1024)
    info = accel.letterbox(np.zeros((2048, 2048, 3), np.uint8), 1024)[1]
    benchmark.group = "postprocess yolov8-obb 1024 px"
    if backend == "python":
        pytest.skip("the pure-Python scan of 21504 anchors: seconds")
    benchmark(accel.postprocess, pred, "yolov8-obb", letterbox=info, backend=backend)


def test_pose_postprocess(benchmark, backend):
    pred = pose_output(640)
    info = accel.letterbox(np.zeros((1080, 1920, 3), np.uint8), 640)[1]
    benchmark.group = "postprocess yolov8-pose 640 px"
    benchmark(accel.postprocess, pred, "yolov8-pose", letterbox=info, backend=backend)
