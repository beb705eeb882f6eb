"""Rotated NMS, ultralytics' fast NMS, and the pose and oriented-box postprocess, every
backend and the peers (pytest-benchmark).

    python -m pytest benchmarks/test_bench_rotated.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds

Peers: powerboxes' Rust ``rotated_nms`` and a shapely greedy loop (polygon IoU), and
ultralytics' own code on one torch thread (its ``TorchNMS.fast_nms`` with
``batch_probiou``; its pose and OBB postprocess as its predictors run it), where
installed. A peer's answer is checked against accel's before it is timed
(``same_detections``: float32 against float64 rounding). Nothing here asserts a time.
"""
import pytest

import accel
from accel.compare.peers import PEERS, powerboxes_rotated, same_detections, shapely_rotated
from accel.compare.workloads import SIZES, postprocess_workload, workload


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


@pytest.mark.parametrize("size", SIZES["fast_nms_rotated"])
def test_fast_nms_rotated(benchmark, backend, size):
    work = workload("fast_nms_rotated", size)
    if backend == "python" and size > 200:
        pytest.skip("the pure-Python reference's quadratic loop takes seconds per call here")
    benchmark.group = "fast_nms_rotated " + work.label
    benchmark(work.call, backend)


def _peer(name, work):
    try:
        call = PEERS[name](work)
    except ImportError as exc:
        pytest.skip("peer not installed: %s" % (exc,))
    return call


@pytest.mark.parametrize("size", SIZES["fast_nms_rotated"])
def test_fast_nms_rotated_ultralytics(benchmark, size):
    work = workload("fast_nms_rotated", size)
    call = _peer("ultralytics-obb", work)
    assert (call() == work.call(None)).all()
    benchmark.group = "fast_nms_rotated " + work.label
    benchmark(call)


POSTPROCESS = [("yolov8-obb", "ultralytics-obb"), ("yolov8-pose", "ultralytics-pose")]


@pytest.mark.parametrize("format", [f for f, _ in POSTPROCESS])
def test_postprocess(benchmark, backend, format):
    """OBB: a 1024 px aerial tile, ultralytics' fast NMS (the default); pose: a crowd of
    30 at 640 px from a 1080p frame. Both through the letterbox."""
    work = postprocess_workload(format)
    if backend == "python" and format == "yolov8-obb":
        pytest.skip("the pure-Python scan of 21504 anchors and quadratic fast NMS: seconds")
    benchmark.group = "postprocess " + work.label
    benchmark(work.call, backend)


@pytest.mark.parametrize("format, peer", POSTPROCESS)
def test_postprocess_ultralytics(benchmark, format, peer):
    work = postprocess_workload(format)
    call = _peer(peer, work)
    assert same_detections(work.call(None), call())
    benchmark.group = "postprocess " + work.label
    benchmark(call)
