"""The decoding backend boundary (``accel._backends``), called directly: every backend's
``decode_scan`` and ``scale_boxes`` against the pure-Python reference, on layouts and
values the public layer can hand over (both strides, ties, signed zeros, values equal
to the threshold, objectness products that round)."""
import numpy as np
import pytest

from accel import _dispatch
from accel._backends.python import decode as reference
from conftest import CANDIDATES, require_backend


def backend_module(name):
    require_backend(name)
    return _dispatch._load(name)


def _readonly(array):
    array = np.ascontiguousarray(array).ravel()
    array.flags.writeable = False
    return array


def _scan_cases():
    rng = np.random.default_rng(11)
    cases = []
    for dtype in (np.float32, np.float64):
        # YOLOv8 layout (4 + nc, A): classes are rows, anchors contiguous.
        v8 = rng.random((4 + 7, 300)).astype(dtype) ** 3
        cases.append(("v8-%s" % np.dtype(dtype).name,
                      dict(data=v8, n_anchors=300, anchor_stride=1, channel_stride=300,
                           cls_offset=4, nc=7, obj_offset=-1, threshold=0.25)))
        # YOLOv5 layout (A, 5 + nc): anchors are rows, with objectness.
        v5 = rng.random((257, 5 + 6)).astype(dtype)
        cases.append(("v5-%s" % np.dtype(dtype).name,
                      dict(data=v5, n_anchors=257, anchor_stride=11, channel_stride=1,
                           cls_offset=5, nc=6, obj_offset=4, threshold=0.3)))
    ties = np.array([[0.5, 0.5, 0.1], [0.0, -0.0, 0.0], [-0.0, 0.0, -0.0],
                     [0.25, 0.25, 0.25], [0.2, 0.9, 0.9], [0.9, 0.2, 0.9]], np.float32)
    for threshold in (0.25, -0.5, 0.0):
        for layout, data, stride in (("anchor-major", ties, (3, 1)), ("class-major", ties.T, (1, 6))):
            cases.append(("ties-%s-thr%g" % (layout, threshold),
                          dict(data=data, n_anchors=6, anchor_stride=stride[0],
                               channel_stride=stride[1], cls_offset=0, nc=3, obj_offset=-1,
                               threshold=threshold)))
    # Objectness products that round, and objectness equal to the threshold.
    obj = np.array([[0.3, 0.7, 0.9, 0.6], [0.3, 1 / 3, 0.99, 0.7], [0.5, 0.1, 0.5, 0.5],
                    [0.3000001, 1.0, 0.3, 0.2]], np.float32)
    cases.append(("objectness-at-threshold", dict(
        data=obj, n_anchors=4, anchor_stride=4, channel_stride=1, cls_offset=1, nc=3,
        obj_offset=0, threshold=float(np.float32(0.3)))))
    # One level of a raw head in NCHW: class logits of 5 x 6 cells after 8 box channels.
    raw = rng.normal(-2.0, 2.0, (8 + 4, 5 * 6)).astype(np.float32)
    cases.append(("raw-nchw-logits", dict(
        data=raw, n_anchors=30, anchor_stride=1, channel_stride=30, cls_offset=8, nc=4,
        obj_offset=-1, threshold=float(np.float32(-0.5)))))
    cases.append(("raw-nhwc-logits", dict(
        data=raw.T, n_anchors=30, anchor_stride=12, channel_stride=1, cls_offset=8, nc=4,
        obj_offset=-1, threshold=float(np.float32(0.7)))))
    cases.append(("one-class", dict(
        data=v8[:5], n_anchors=300, anchor_stride=1, channel_stride=300, cls_offset=4, nc=1,
        obj_offset=-1, threshold=0.5)))
    cases.append(("nothing-kept", dict(
        data=v8, n_anchors=300, anchor_stride=1, channel_stride=300, cls_offset=4, nc=7,
        obj_offset=-1, threshold=1.0)))
    cases.append(("zero-anchors", dict(
        data=np.zeros((0, 9), np.float32), n_anchors=0, anchor_stride=9, channel_stride=1,
        cls_offset=5, nc=4, obj_offset=4, threshold=0.25)))
    return cases


SCAN_CASES = _scan_cases()


@pytest.mark.parametrize("multi_label", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("case_id, case", SCAN_CASES, ids=[c[0] for c in SCAN_CASES])
@pytest.mark.parametrize("name", CANDIDATES)
def test_decode_scan_matches_reference(name, case_id, case, multi_label):
    module = backend_module(name)
    args = dict(case, data=_readonly(case["data"]), multi_label=multi_label)
    expected = reference.decode_scan(**args)
    actual = module.decode_scan(**args)
    assert expected[0].size > 0 or case_id in ("nothing-kept", "zero-anchors")
    for want, got, dtype in zip(expected, actual, (np.int64, np.int64, args["data"].dtype)):
        assert got.dtype == dtype and got.ndim == 1
        assert got.tobytes() == want.tobytes(), (want, got)


def test_reference_ties_and_products():
    """The reference itself, on hand-checked answers."""
    ties = _readonly(np.array([[0.2, 0.9, 0.9], [0.9, 0.2, 0.9], [0.0, -0.0, 0.0]], np.float32))
    anchors, classes, scores = reference.decode_scan(ties, 3, 3, 1, 0, 3, -1, -0.5, False)
    assert anchors.tolist() == [0, 1, 2] and classes.tolist() == [1, 0, 0]
    assert np.signbit(scores[2]) == np.signbit(np.float32(0.0))
    anchors, classes, _ = reference.decode_scan(ties, 3, 3, 1, 0, 3, -1, 0.5, True)
    assert list(zip(anchors.tolist(), classes.tolist())) == [(0, 1), (0, 2), (1, 0), (1, 2)]
    obj = _readonly(np.array([[0.5, 0.7], [0.3, 0.9]], np.float32))
    anchors, classes, scores = reference.decode_scan(obj, 2, 2, 1, 1, 1, 0, 0.3, False)
    assert anchors.tolist() == [0] and scores.tolist() == [np.float32(0.5) * np.float32(0.7)]


def _box_cases():
    rng = np.random.default_rng(3)
    boxes = rng.uniform(-20, 660, (200, 4))
    boxes[:, 2:] = boxes[:, :2] + rng.uniform(0, 80, (200, 2))
    edge = np.array([[12.0, 140.0, 12.0, 140.0], [11.999, 0.0, 628.0, 500.0],
                     [0.0, 0.0, 640.0, 640.0], [-0.0, -0.0, 5.0, 5.0]])
    return [
        ("float32-clip", dict(boxes=boxes.astype(np.float32), gain_x=1 / 3, gain_y=0.3333,
                              pad_x=0.0, pad_y=140.0, clip=True, width=1920, height=1080)),
        ("float64-clip", dict(boxes=boxes, gain_x=0.5, gain_y=0.5, pad_x=12.0, pad_y=140.0,
                              clip=True, width=1256.0, height=720.0)),
        ("float64-noclip", dict(boxes=boxes, gain_x=0.1, gain_y=0.7, pad_x=3.0, pad_y=1.0,
                                clip=False, width=10.0, height=10.0)),
        ("edges-float32", dict(boxes=edge.astype(np.float32), gain_x=0.5, gain_y=0.5,
                               pad_x=12.0, pad_y=140.0, clip=True, width=1232.0, height=720.0)),
        ("signed-zero", dict(boxes=edge[3:], gain_x=2.0, gain_y=2.0, pad_x=0.0, pad_y=0.0,
                             clip=True, width=5.0, height=5.0)),
        ("empty", dict(boxes=np.zeros((0, 4), np.float32), gain_x=1.0, gain_y=1.0, pad_x=0.0,
                       pad_y=0.0, clip=True, width=1.0, height=1.0)),
    ]


BOX_CASES = _box_cases()


@pytest.mark.parametrize("case_id, case", BOX_CASES, ids=[c[0] for c in BOX_CASES])
@pytest.mark.parametrize("name", CANDIDATES)
def test_scale_boxes_matches_reference(name, case_id, case):
    module = backend_module(name)
    boxes = np.ascontiguousarray(case["boxes"])
    boxes.flags.writeable = False
    args = dict(case, boxes=boxes)
    expected = reference.scale_boxes(**args)
    actual = module.scale_boxes(**args)
    assert actual.dtype == boxes.dtype and actual.shape == boxes.shape
    assert actual.tobytes() == expected.tobytes()


def test_reference_scale_boxes_clips_and_keeps_signed_zero():
    boxes = np.array([[-0.0, -4.0, 30.0, 9.0]], np.float64)
    out = reference.scale_boxes(boxes, 2.0, 2.0, 0.0, 1.0, True, 10.0, 10.0)
    assert out.tolist() == [[0.0, 0.0, 10.0, 4.0]] and np.signbit(out[0, 0])
