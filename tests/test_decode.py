"""Decoding kernels against independent renderings of what they claim to compute.

* decode_yolov8 / decode_yolov5: a straightforward NumPy rendering of ultralytics'
  ``non_max_suppression`` decode stage, on realistic outputs.
* Raw heads: an independent float64 formula applied to every cell (no logit shortcut),
  checked on small hand-made heads with known boxes, and on realistic heads through the
  decoded-head decoder.
* postprocess: the composition of the single kernels.

Cross-backend agreement, and the rejection of bad input (the rejected rows of
decode_cases.py), are the conformance suite's job (test_conformance.py).
"""
import numpy as np
import pytest

import accel
from accel.compare import workloads as wl
from decode_cases import INFO_1080P
from oracle import ultralytics_decode_v5 as ultralytics_v5
from oracle import ultralytics_decode_v8 as ultralytics_v8


def assert_decoded(actual, expected, rtol=0.0, atol=0.0):
    """Decoder output against a rendering's ``(boxes, scores, classes, ...)``: the same
    classes, and floats equal (by default) or within ``rtol``/``atol``."""
    boxes, scores, classes = actual
    want_boxes, want_scores, want_classes = expected[:3]
    assert len(classes) == len(want_classes) > 100  # a realistic output keeps hundreds
    np.testing.assert_array_equal(classes, want_classes)
    np.testing.assert_allclose(scores, want_scores, rtol=rtol, atol=0)
    np.testing.assert_allclose(boxes, want_boxes, rtol=rtol, atol=atol)


@pytest.mark.parametrize("decode, output, rendering", [
    (accel.decode_yolov8, wl.yolov8_output, ultralytics_v8),
    (accel.decode_yolov5, wl.yolov5_output, ultralytics_v5),
], ids=["yolov8", "yolov5"])
@pytest.mark.parametrize("multi_label", [False, True])
def test_matches_ultralytics_rendering(decode, output, rendering, multi_label, backend):
    pred = output(640, seed=7)
    assert_decoded(decode(pred, 0.25, multi_label=multi_label, backend=backend),
                   rendering(pred, 0.25, multi_label))


def test_yolov8_extras_follow_their_anchor():
    pred = wl.yolov8_output(320, nc=80, seed=2)
    extras = np.random.default_rng(0).normal(size=(1, 32, pred.shape[2])).astype(np.float32)
    boxes, scores, classes, extra = accel.decode_yolov8(np.concatenate([pred, extras], 1), nc=80)
    anchors = ultralytics_v8(pred, 0.25)[3]
    np.testing.assert_array_equal(extra, extras[0][:, anchors].T)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _logit(p):
    return np.log(p) - np.log1p(-p)


def test_yolov8_raw_hand_made_head():
    """Two levels, reg_max 4, 2 classes; bins one-hot enough that each side is an exact
    integer distance (softmax weight off the peak below 1e-17)."""
    reg_max, nc = 4, 2
    levels = [np.full((1, 4 * reg_max + nc, 4, 4), -40.0, np.float32),
              np.full((1, 4 * reg_max + nc, 2, 2), -40.0, np.float32)]
    # (level, gy, gx, sides l t r b in cells, class, probability)
    objects = [(0, 1, 2, (1, 0, 2, 3), 1, 0.9), (1, 1, 0, (0, 1, 3, 2), 0, 0.6),
               (0, 3, 3, (2, 2, 0, 0), 0, 0.3)]
    for level, gy, gx, sides, class_id, p in objects:
        for side, distance in enumerate(sides):
            levels[level][0, side * reg_max + distance, gy, gx] = 0.0
        levels[level][0, 4 * reg_max + class_id, gy, gx] = _logit(p)
    boxes, scores, classes = accel.decode_yolov8_raw(levels, (8, 16), 0.5, reg_max=reg_max)
    # 0.3 is below the threshold; the two others, in level then row-major cell order.
    expected_boxes = [[(2.5 - 1) * 8, (1.5 - 0) * 8, (2.5 + 2) * 8, (1.5 + 3) * 8],
                      [(0.5 - 0) * 16, (1.5 - 1) * 16, (0.5 + 3) * 16, (1.5 + 2) * 16]]
    np.testing.assert_allclose(boxes, expected_boxes, rtol=1e-6)
    np.testing.assert_allclose(scores, [0.9, 0.6], rtol=1e-6)
    assert classes.tolist() == [1, 0] and boxes.dtype == scores.dtype == np.float32


def independent_v8_raw_to_decoded(levels, strides, reg_max=16):
    """Every cell of a raw YOLOv8 head decoded in float64, as the exported (1, 4+nc, A)."""
    columns = []
    for level, stride in zip(levels, strides):
        c, h, w = level.shape[1:]
        x = level[0].reshape(c, h * w).astype(np.float64)
        bins = x[:4 * reg_max].reshape(4, reg_max, h * w)
        soft = np.exp(bins) / np.exp(bins).sum(axis=1, keepdims=True)
        dist = (soft * np.arange(reg_max)[None, :, None]).sum(axis=1)
        gy, gx = np.divmod(np.arange(h * w), w)
        x1, y1 = gx + 0.5 - dist[0], gy + 0.5 - dist[1]
        x2, y2 = gx + 0.5 + dist[2], gy + 0.5 + dist[3]
        box = np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]) * stride
        columns.append(np.concatenate([box, _sigmoid(x[4 * reg_max:])]))
    return np.concatenate(columns, axis=1)[None]


def test_yolov8_raw_matches_independent_formula(backend):
    levels = wl.yolov8_raw_levels(640, nc=80, seed=5)
    decoded = independent_v8_raw_to_decoded(levels, wl.STRIDES)
    assert_decoded(accel.decode_yolov8_raw(levels, wl.STRIDES, 0.25, backend=backend),
                   ultralytics_v8(decoded, 0.25), rtol=1e-6, atol=1e-4)


def independent_v5_raw_to_decoded(levels, anchors, strides):
    """Every (cell, anchor) of a raw YOLOv5 head decoded in float64, as (1, A, 5+nc)."""
    rows = []
    for level, sizes, stride in zip(levels, np.reshape(anchors, (len(levels), -1, 2)), strides):
        c, h, w = level.shape[1:]
        na = len(sizes)
        y = _sigmoid(level[0].reshape(na, c // na, h * w))
        gy, gx = np.divmod(np.arange(h * w), w)
        for k, (aw, ah) in enumerate(sizes):
            box = np.stack([(y[k, 0] * 2 - 0.5 + gx) * stride, (y[k, 1] * 2 - 0.5 + gy) * stride,
                            (y[k, 2] * 2) ** 2 * aw, (y[k, 3] * 2) ** 2 * ah])
            rows.append(np.concatenate([box, y[k, 4:]]).T)
    return np.concatenate(rows)[None]


def test_yolov5_raw_matches_independent_formula(backend):
    levels = wl.yolov5_raw_levels(640, nc=80, seed=5)
    decoded = independent_v5_raw_to_decoded(levels, wl.YOLOV5_ANCHORS, wl.STRIDES)
    assert_decoded(accel.decode_yolov5_raw(levels, wl.YOLOV5_ANCHORS, wl.STRIDES, 0.25,
                                           backend=backend),
                   ultralytics_v5(decoded, 0.25), rtol=1e-6, atol=1e-4)


def test_raw_nhwc_equals_nchw():
    levels = wl.yolov8_raw_levels(320, nc=10, seed=1)
    nhwc = [np.ascontiguousarray(level.transpose(0, 2, 3, 1)) for level in levels]
    for want, got in zip(accel.decode_yolov8_raw(levels, wl.STRIDES),
                         accel.decode_yolov8_raw(nhwc, wl.STRIDES, layout="nhwc")):
        np.testing.assert_array_equal(got, want)


def test_scale_boxes_inverts_the_letterbox():
    """A box drawn on the source, letterboxed by the geometry, comes back exactly."""
    info = accel._geometry.letterbox_geometry((1000, 1333), 640)
    source = np.array([[0.0, 0.0, 1333.0, 1000.0], [100.0, 250.0, 400.5, 999.0]])
    (h, w), (new_h, new_w) = info.src_shape, info.resized_shape
    letterboxed = source * ([new_w / w, new_h / h] * 2) + [info.pad_left, info.pad_top] * 2
    np.testing.assert_allclose(accel.scale_boxes(letterboxed, info), source, rtol=1e-12)


def test_scale_boxes_explicit_and_clip():
    boxes = np.array([[-10.0, 5.0, 700.0, 300.0]], np.float32)
    out = accel.scale_boxes(boxes, (0.5, (10, 20)), src_shape=(500, 1000))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.0, 0.0, 1000.0, 500.0]])
    np.testing.assert_array_equal(accel.scale_boxes(boxes, (0.5, (10, 20)), clip=False),
                                  [[-40.0, -30.0, 1380.0, 560.0]])


def compose(pred, conf, iou, max_det, max_nms, info, agnostic=False):
    """postprocess spelled out with the public single kernels."""
    boxes, scores, classes = accel.decode_yolov8(pred, conf)
    if len(scores) > max_nms:
        top = np.sort(np.argsort(-scores, kind="stable")[:max_nms])
        boxes, scores, classes = boxes[top], scores[top], classes[top]
    if agnostic:
        keep = accel.nms(boxes, scores, iou, max_output=max_det)
    else:
        keep = accel.batched_nms(boxes, scores, classes, iou, max_output=max_det)
    out_boxes = accel.scale_boxes(boxes[keep], info) if info is not None else boxes[keep]
    return np.concatenate([out_boxes, scores[keep, None], classes[keep, None]], axis=1)


@pytest.mark.parametrize("options", [
    dict(), dict(max_det=7), dict(max_nms=40, iou=0.45), dict(agnostic=True),
    dict(info=INFO_1080P), dict(conf=0.05, max_nms=300, max_det=100)])
def test_postprocess_is_the_composition_of_the_kernels(options, backend):
    settings = dict(conf=0.25, iou=0.7, max_det=300, max_nms=30000, info=None, agnostic=False)
    settings.update(options)
    pred = wl.yolov8_output(640, seed=11)
    expected = compose(pred, **settings)
    with accel.use_backend(backend):
        (actual,) = accel.postprocess(
            pred, conf_threshold=settings["conf"], iou_threshold=settings["iou"],
            max_det=settings["max_det"], max_nms=settings["max_nms"],
            letterbox=settings["info"], agnostic=settings["agnostic"])
    assert actual.dtype == np.float32 and len(actual) > 5
    np.testing.assert_array_equal(actual, expected.astype(np.float32))
    assert (np.diff(actual[:, 4]) <= 0).all()  # decreasing score


def test_postprocess_batch_is_per_image():
    batch = np.concatenate([wl.yolov8_output(320, seed=1), wl.yolov8_output(320, seed=2)])
    results = accel.postprocess(batch)
    assert len(results) == 2
    for image, result in zip(batch, results):
        np.testing.assert_array_equal(result, accel.postprocess(image)[0])


def test_decoders_never_modify_inputs():
    pred = wl.yolov8_output(320, seed=1)
    levels = wl.yolov8_raw_levels(320, nc=5, seed=1)
    boxes = np.array([[1.0, 2.0, 3.0, 4.0]])
    copies = [pred.copy(), [lv.copy() for lv in levels], boxes.copy()]
    for name in accel.available_backends():
        accel.decode_yolov8(pred, backend=name)
        accel.decode_yolov8_raw(levels, wl.STRIDES, backend=name)
        accel.scale_boxes(boxes, INFO_1080P, backend=name)
        accel.postprocess(pred, letterbox=INFO_1080P, backend=name)
    np.testing.assert_array_equal(pred, copies[0])
    for level, copy in zip(levels, copies[1]):
        np.testing.assert_array_equal(level, copy)
    np.testing.assert_array_equal(boxes, copies[2])
    assert pred.flags.writeable and boxes.flags.writeable


def test_threshold_is_compared_exactly_not_after_rounding():
    """float32(0.1) > 0.1: a score equal to float32(0.1) passes 0.1 (torch would round the
    threshold to float32 and drop it)."""
    pred = np.zeros((5, 2), np.float32)
    pred[4] = [np.float32(0.1), np.nextafter(np.float32(0.1), np.float32(0))]
    _, scores, _ = accel.decode_yolov8(pred, 0.1, anchor_axis=-1)  # 2 anchors, 5 channels
    assert scores.tolist() == [np.float32(0.1)]
