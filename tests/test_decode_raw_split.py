"""Raw heads beyond one float array per level: YOLOv8 split branches, sigmoid-applied
scores, quantized (int8/uint8) levels, Darknet YOLOv3/v4 heads, and the raw postprocess
formats.

* Split branches equal the concatenated level; NHWC equals NCHW; score_sum is ignored.
* A quantized level decodes exactly as its float32 ``DequantizeLinear`` would, bit for
  bit (the threshold decided on the codes): int8 and uint8, zero points, thresholds on a
  quantization step, saturated codes.
* decode_yolov3_raw against an independent float64 rendering of Darknet's formulas.
* postprocess's raw formats against decode + batched_nms + scale_boxes by hand.

Cross-backend agreement on the shared cases is the conformance suite's job
(decode_cases.py); here every test runs on every backend too.
"""
import numpy as np
import pytest

import accel
from accel import _quant
from accel.compare import workloads as wl
from decode_cases import INFO_1080P, sigmoided, split_levels


def _same(expected, actual):
    """Bit-identical decoder results (dtype, shape and bytes of each array)."""
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual):
        assert (got.dtype, got.shape) == (want.dtype, want.shape)
        assert got.tobytes() == want.tobytes() and got.flags.c_contiguous


def _nhwc(array):
    return np.ascontiguousarray(np.asarray(array).transpose(0, 2, 3, 1))


LEVELS_V8 = wl.yolov8_raw_levels(320, nc=20, seed=11)


@pytest.mark.parametrize("multi_label", [False, True])
def test_split_equals_concatenated(backend, multi_label):
    want = accel.decode_yolov8_raw(LEVELS_V8, wl.STRIDES, multi_label=multi_label,
                                   backend=backend)
    assert len(want[0]) > 20
    lists = [list(level) for level in split_levels(LEVELS_V8, score_sum=True)]  # outputs[0:3]
    for split in (split_levels(LEVELS_V8), split_levels(LEVELS_V8, score_sum=True), lists):
        _same(want, accel.decode_yolov8_raw(split, wl.STRIDES, multi_label=multi_label,
                                            backend=backend))


def test_split_nhwc_equals_nchw(backend):
    split = split_levels(LEVELS_V8, score_sum=True)
    nhwc = [tuple(_nhwc(a) for a in level) for level in split]
    _same(accel.decode_yolov8_raw(split, wl.STRIDES, backend=backend),
          accel.decode_yolov8_raw(nhwc, wl.STRIDES, layout="nhwc", backend=backend))


def test_score_sum_is_not_read(backend):
    """Its values change nothing, even NaN or contradicting the class scores."""
    split = split_levels(LEVELS_V8, score_sum=True)
    junk = [(box, cls, np.full(s.shape, np.nan, np.float32)) for box, cls, s in split]
    zero = [(box, cls, np.zeros(s.shape, np.int8)) for box, cls, s in split]
    want = accel.decode_yolov8_raw(split, wl.STRIDES, backend=backend)
    _same(want, accel.decode_yolov8_raw(junk, wl.STRIDES, backend=backend))
    _same(want, accel.decode_yolov8_raw(zero, wl.STRIDES, backend=backend))


def test_sigmoid_applied_keeps_values_above_threshold(backend):
    """Probabilities in the class channels: kept when the best is > p, scored by itself."""
    probabilities = sigmoided(LEVELS_V8, 64)
    boxes, scores, classes = accel.decode_yolov8_raw(probabilities, wl.STRIDES, 0.3,
                                                     sigmoid_applied=True, backend=backend)
    best = np.concatenate([level[0, 64:].reshape(20, -1).max(axis=0) for level in probabilities])
    which = np.concatenate([level[0, 64:].reshape(20, -1).argmax(axis=0)
                            for level in probabilities])
    kept = np.flatnonzero(best > np.float32(0.3))
    assert len(kept) > 20
    np.testing.assert_array_equal(scores, best[kept])
    np.testing.assert_array_equal(classes, which[kept])
    # The boxes are those of the logit head, which keeps the same cells at this threshold
    # unless a probability rounded across it.
    logits = accel.decode_yolov8_raw(LEVELS_V8, wl.STRIDES, 0.3, backend=backend)
    np.testing.assert_array_equal(boxes, logits[0])


# ---------------------------------------------------------------- YOLOv3 / YOLOv4

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def darknet_rendering(levels, anchors, strides, scale_x_y, p, multi_label):
    """Darknet's get_yolo_detections in float64, every (cell, anchor) decoded: candidates
    ``sigmoid(obj) > p``, class scores ``obj * cls`` kept when ``> p`` (best class only,
    first of equal, unless ``multi_label``). Order: level, anchor, cell, class."""
    boxes, scores, classes = [], [], []
    for level, sizes, stride, k in zip(levels, np.reshape(anchors, (len(levels), -1, 2)),
                                       strides, scale_x_y):
        c, h, w = level.shape[1:]
        na = len(sizes)
        x = level[0].reshape(na, c // na, h * w).astype(np.float64)
        gy, gx = np.divmod(np.arange(h * w), w)
        for a, (aw, ah) in enumerate(sizes):
            obj = _sigmoid(x[a, 4])
            cls = _sigmoid(x[a, 5:]) * obj
            cx = (_sigmoid(x[a, 0]) * k - (k - 1) / 2 + gx) * stride
            cy = (_sigmoid(x[a, 1]) * k - (k - 1) / 2 + gy) * stride
            bw, bh = np.exp(x[a, 2]) * aw, np.exp(x[a, 3]) * ah
            corners = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
            for cell in np.flatnonzero(obj > p):
                picks = (np.flatnonzero(cls[:, cell] > p) if multi_label
                         else [int(np.argmax(cls[:, cell]))])
                for j in picks:
                    if cls[j, cell] > p:
                        boxes.append(corners[cell])
                        scores.append(cls[j, cell])
                        classes.append(j)
    return np.array(boxes), np.array(scores), np.array(classes)


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("scale_x_y", [(1.0, 1.0, 1.0), wl.YOLOV4_SCALE_X_Y])
def test_yolov3_matches_darknet_rendering(backend, multi_label, scale_x_y):
    levels = wl.yolov3_raw_levels(640, nc=80, seed=5)
    boxes, scores, classes = accel.decode_yolov3_raw(
        levels, wl.YOLOV4_ANCHORS, wl.STRIDES, 0.25, scale_x_y=scale_x_y,
        multi_label=multi_label, backend=backend)
    want_boxes, want_scores, want_classes = darknet_rendering(
        levels, wl.YOLOV4_ANCHORS, wl.STRIDES, scale_x_y, 0.25, multi_label)
    assert len(classes) > 100
    np.testing.assert_array_equal(classes, want_classes)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6, atol=0)
    np.testing.assert_allclose(boxes, want_boxes, rtol=1e-6, atol=1e-4)


def test_yolov3_hand_made_head():
    """One level 2 x 2, one anchor (20, 10), 2 classes, k = 1.2: a cell with known values."""
    level = np.full((1, 7, 2, 2), -30.0, np.float32)
    level[0, :, 1, 0] = [0.0, 0.0, np.log(2.0), 0.0, 30.0, -30.0, 30.0]
    boxes, scores, classes = accel.decode_yolov3_raw([level], [[20, 10]], [16], 0.5,
                                                     scale_x_y=1.2)
    cx, cy = (0.5 * 1.2 - 0.1 + 0) * 16, (0.5 * 1.2 - 0.1 + 1) * 16
    np.testing.assert_allclose(boxes, [[cx - 20, cy - 5, cx + 20, cy + 5]], rtol=1e-6)
    np.testing.assert_allclose(scores, [1.0], rtol=1e-6)
    assert classes.tolist() == [1]


def test_yolov3_sigmoid_applied_equals_logits(backend):
    """Darknet's yolo layer output (sigmoids but tw, th) keeps the candidates of the logits
    and boxes within float32 rounding of them."""
    levels = wl.yolov3_raw_levels(320, nc=20, seed=2)
    applied = []
    for level in levels:
        level = level.astype(np.float64)
        for a in range(3):
            for lo, hi in ((a * 25, a * 25 + 2), (a * 25 + 4, a * 25 + 25)):
                level[:, lo:hi] = _sigmoid(level[:, lo:hi])
        applied.append(level)
    logits = [level.astype(np.float64) for level in levels]
    args = (wl.YOLOV4_ANCHORS, wl.STRIDES, 0.25)
    want = accel.decode_yolov3_raw(logits, *args, scale_x_y=1.1, backend=backend)
    got = accel.decode_yolov3_raw(applied, *args, scale_x_y=1.1, sigmoid_applied=True,
                                  backend=backend)
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- quantized levels

def _quantize(values, scale, zero_point, dtype):
    return _quant.quantize(np.asarray(values, np.float32),
                           _quant.quant_params((scale, zero_point), "quant", dtype))


def _dequantize(codes, scale, zero_point):
    params = _quant.quant_params((scale, zero_point), "quant", codes.dtype)
    return _quant.dequantize(codes, params)


QUANTS = [  # (dtype, scale, zero_point) of the class or whole-level tensors
    (np.int8, 0.11, 3), (np.int8, 1 / 16, -128), (np.uint8, 0.09, 140), (np.uint8, 1 / 8, 0),
]


@pytest.mark.parametrize("dtype, scale, zero_point", QUANTS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_quantized_v8_equals_dequantized(backend, dtype, scale, zero_point, multi_label):
    """Concatenated levels, one (scale, zp) each; logits saturate at both ends."""
    codes = [_quantize(level, scale * (i + 1), zero_point, dtype)
             for i, level in enumerate(LEVELS_V8)]
    quant = [(scale * (i + 1), zero_point) for i in range(3)]
    floats = [_dequantize(c, *q) for c, q in zip(codes, quant)]
    got = accel.decode_yolov8_raw(codes, wl.STRIDES, quant=quant, multi_label=multi_label,
                                  backend=backend)
    assert got[1].dtype == np.float32 and len(got[1]) > 10
    _same(accel.decode_yolov8_raw(floats, wl.STRIDES, multi_label=multi_label, backend=backend),
          got)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_quantized_split_rknn_layout(backend, dtype):
    """rknn_model_zoo's layout: int box and sigmoided class branches with their own
    quantization, score_sum; equal to the dequantized float branches, split or not."""
    levels, quant = wl.rknn_yolov8_levels(320, nc=20, seed=3, dtype=dtype)
    floats = [tuple(_dequantize(a, *q) for a, q in zip(level[:2], qs))
              for level, qs in zip(levels, quant)]
    got = accel.decode_yolov8_raw(levels, wl.STRIDES, quant=quant, sigmoid_applied=True,
                                  backend=backend)
    assert len(got[1]) > 20
    want = accel.decode_yolov8_raw(floats, wl.STRIDES, sigmoid_applied=True, backend=backend)
    _same(want, got)
    joined = [np.concatenate(level, axis=1) for level in floats]
    _same(want, accel.decode_yolov8_raw(joined, wl.STRIDES, sigmoid_applied=True,
                                        backend=backend))
    # Two-entry quant (score_sum's left out), and one float branch beside an integer one.
    _same(got, accel.decode_yolov8_raw(levels, wl.STRIDES, quant=[q[:2] for q in quant],
                                       sigmoid_applied=True, backend=backend))
    mixed = [(f[0], level[1], level[2]) for f, level in zip(floats, levels)]
    _same(got, accel.decode_yolov8_raw(mixed, wl.STRIDES, quant=[(None, q[1]) for q in quant],
                                       sigmoid_applied=True, backend=backend))


@pytest.mark.parametrize("dtype, zero_point", [(np.int8, -128), (np.int8, 0), (np.uint8, 0),
                                               (np.uint8, 77)])
def test_threshold_exactly_on_a_step(backend, dtype, zero_point):
    """A class code whose value is exactly the threshold is not kept (strict >), the code
    above it is, for sigmoid scores (value > p); every code of the range appears."""
    scale = 1 / 64
    info = np.iinfo(dtype)
    p = 16 * scale  # 0.25: the value of code zero_point + 16
    assert float(_dequantize(np.array([zero_point + 16], dtype), scale, zero_point)[0]) == p
    box = np.zeros((1, 64, 16, 16), np.float32)
    cls = np.full((1, 1, 16, 16), info.min, dtype)
    cls.reshape(-1)[:256] = np.arange(info.min, info.max + 1)
    got = accel.decode_yolov8_raw([(box, cls)], [8], p, quant=[(None, (scale, zero_point))],
                                  sigmoid_applied=True, backend=backend)
    codes = np.arange(info.min, info.max + 1)
    np.testing.assert_array_equal(got[1], _dequantize(codes[codes > zero_point + 16]
                                                      .astype(dtype), scale, zero_point))
    _same(accel.decode_yolov8_raw([(box, _dequantize(cls, scale, zero_point))], [8], p,
                                  sigmoid_applied=True, backend=backend), got)


def test_threshold_on_a_step_of_logits(backend):
    """Logits: a code is kept when its value is > logit(p): a threshold whose logit is
    exactly a step (p = sigmoid(1.0) rounded: logit(p) close to 1.0) decides like the
    float decode of the dequantized level, and thresholds 0 and 1 keep all and none."""
    codes = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 16, 16)
    level = np.concatenate([np.zeros((1, 4 * 4, 16, 16), np.int8), codes], axis=1)
    for p in (float(_sigmoid(1.0)), float(np.nextafter(_sigmoid(1.0), 0)), 0.5, 0.0, 1.0):
        got = accel.decode_yolov8_raw([level], [8], p, reg_max=4, quant=[(1 / 8, 0)],
                                      backend=backend)
        _same(accel.decode_yolov8_raw([_dequantize(level, 1 / 8, 0)], [8], p, reg_max=4,
                                      backend=backend), got)
        assert len(got[1]) == {0.0: 256, 1.0: 0, 0.5: 127}.get(p, len(got[1]))


@pytest.mark.parametrize("sigmoid_applied, dtype, zero_point", [
    (False, np.int8, -20), (False, np.uint8, 128), (True, np.int8, -128), (True, np.uint8, 0),
    (True, np.int8, -20)])
def test_quantized_anchored_equal_dequantized(backend, sigmoid_applied, dtype, zero_point):
    """YOLOv5 and YOLOv3 levels: one (scale, zp) per level, logits or sigmoids."""
    levels = wl.yolov5_raw_levels(320, nc=20, seed=8)
    if sigmoid_applied:
        levels = sigmoided(levels)
    scale = 1 / 255 if sigmoid_applied else 0.07
    codes = [_quantize(level, scale, zero_point, dtype) for level in levels]
    quant = [(scale, zero_point)] * 3
    floats = [_dequantize(c, scale, zero_point) for c in codes]
    for decode, anchors, options in ((accel.decode_yolov5_raw, wl.YOLOV5_ANCHORS, {}),
                                     (accel.decode_yolov3_raw, wl.YOLOV4_ANCHORS,
                                      {"scale_x_y": wl.YOLOV4_SCALE_X_Y})):
        for multi_label in (False, True):
            got = decode(codes, anchors, wl.STRIDES, quant=quant, multi_label=multi_label,
                         sigmoid_applied=sigmoid_applied, backend=backend, **options)
            assert len(got[1]) > 10
            _same(decode(floats, anchors, wl.STRIDES, multi_label=multi_label,
                         sigmoid_applied=sigmoid_applied, backend=backend, **options), got)


def test_quantized_inputs_not_modified(backend):
    levels, quant = wl.rknn_yolov8_levels(320, nc=20, seed=4)
    before = [tuple(a.copy() for a in level) for level in levels]
    accel.decode_yolov8_raw(levels, wl.STRIDES, quant=quant, sigmoid_applied=True,
                            backend=backend)
    accel.postprocess(levels, "yolov8-raw", strides=wl.STRIDES, quant=quant,
                      sigmoid_applied=True, backend=backend)
    for old, new in zip(before, levels):
        for a, b in zip(old, new):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- postprocess

def _by_hand(decoded, info, iou=0.7, agnostic=False, max_det=300):
    """decode, then batched_nms (or nms), max_det, scale_boxes: postprocess's steps."""
    boxes, scores, classes = decoded
    keep = (accel.nms(boxes, scores, iou) if agnostic
            else accel.batched_nms(boxes, scores, classes, iou))[:max_det]
    kept = boxes[keep] if info is None else accel.scale_boxes(boxes[keep], info)
    return np.concatenate([kept, scores[keep, None], classes[keep, None].astype(kept.dtype)], 1)


def test_postprocess_yolov8_raw_by_hand(backend):
    split = split_levels(LEVELS_V8, score_sum=True)
    got = accel.postprocess(split, "yolov8-raw", strides=wl.STRIDES, letterbox=INFO_1080P,
                            backend=backend)
    assert len(got) == 1 and len(got[0]) > 5
    np.testing.assert_array_equal(got[0], _by_hand(accel.decode_yolov8_raw(LEVELS_V8, wl.STRIDES),
                                                   INFO_1080P))


def test_postprocess_raw_batch(backend):
    """A batch axis of 2 on every array: two images, each as if given alone."""
    other = wl.yolov8_raw_levels(320, nc=20, seed=12)
    batch = [np.concatenate([a, b]) for a, b in zip(LEVELS_V8, other)]
    infos = [INFO_1080P, INFO_1080P._replace(pad_top=0)]
    got = accel.postprocess(batch, "yolo11-raw", strides=wl.STRIDES, letterbox=infos,
                            agnostic=True, backend=backend)
    for image, levels, info in zip(got, (LEVELS_V8, other), infos):
        np.testing.assert_array_equal(
            image, _by_hand(accel.decode_yolov8_raw(levels, wl.STRIDES), info, agnostic=True))


@pytest.mark.parametrize("format", ["yolov5-raw", "yolov3-raw"])
def test_postprocess_anchored_raw_by_hand(backend, format):
    levels = wl.yolov5_raw_levels(320, nc=20, seed=9)
    if format == "yolov5-raw":
        args, options, decode = (wl.YOLOV5_ANCHORS,), {}, accel.decode_yolov5_raw
    else:
        args, options = (wl.YOLOV4_ANCHORS,), {"scale_x_y": wl.YOLOV4_SCALE_X_Y}
        decode = accel.decode_yolov3_raw
    got = accel.postprocess(levels, format, strides=wl.STRIDES, anchors=args[0], max_det=30,
                            iou_threshold=0.45, letterbox=INFO_1080P, backend=backend, **options)
    want = _by_hand(decode(levels, *args, wl.STRIDES, **options), INFO_1080P, 0.45, max_det=30)
    np.testing.assert_array_equal(got[0], want)


def test_postprocess_quantized_equals_dequantized(backend):
    levels, quant = wl.rknn_yolov8_levels(640, seed=2)
    floats = [tuple(_dequantize(a, *q) for a, q in zip(level[:2], qs))
              for level, qs in zip(levels, quant)]
    got = accel.postprocess(levels, "yolov8-raw", strides=wl.STRIDES, quant=quant,
                            sigmoid_applied=True, iou_threshold=0.45, letterbox=INFO_1080P,
                            backend=backend)
    want = accel.postprocess(floats, "yolov8-raw", strides=wl.STRIDES, sigmoid_applied=True,
                             iou_threshold=0.45, letterbox=INFO_1080P, backend=backend)
    assert len(got[0]) > 5
    _same(want, got)


def test_postprocess_raw_inputs_not_modified():
    split = split_levels(LEVELS_V8, score_sum=True)
    before = [tuple(a.copy() for a in level) for level in split]
    accel.postprocess(split, "yolov8-raw", strides=wl.STRIDES, letterbox=INFO_1080P)
    for old, new in zip(before, split):
        for a, b in zip(old, new):
            assert a.tobytes() == b.tobytes()


def test_numpy_rknn_peer_finds_the_same_detections():
    """The benchmark's peer (a NumPy rendering of rknn_model_zoo's post-processing) does
    the same work: the same detections, up to its float32 arithmetic (it keeps scores
    >= 0.25, accel > 0.25: no class score of this input is exactly 0.25)."""
    from accel.compare.peers import numpy_rknn_yolov8

    levels, quant = wl.rknn_yolov8_levels(640, seed=1)
    boxes, scores, classes = numpy_rknn_yolov8(levels, quant, wl.STRIDES, 0.25, 0.45)
    got = accel.postprocess(levels, "yolov8-raw", strides=wl.STRIDES, quant=quant,
                            sigmoid_applied=True, iou_threshold=0.45)[0]
    assert len(got) > 20

    def ordered(rows):
        return rows[np.lexsort((rows[:, 0], -rows[:, 4], rows[:, 5]))]

    peer = ordered(np.concatenate([boxes, scores[:, None], classes[:, None]], axis=1))
    np.testing.assert_allclose(ordered(got.astype(np.float64)), peer, rtol=1e-5, atol=1e-3)


def test_rejected_inputs_not_modified():
    levels, quant = wl.rknn_yolov8_levels(320, nc=20, seed=4)
    before = [tuple(a.copy() for a in level) for level in levels]
    for bad in (dict(quant=None), dict(quant=[(q[0], (0.0, 0)) for q in quant]),
                dict(quant=quant, strides=(32, 16, 8))):
        with pytest.raises((TypeError, ValueError)):
            accel.decode_yolov8_raw(levels, **dict(dict(strides=wl.STRIDES), **bad))
    for old, new in zip(before, levels):
        for a, b in zip(old, new):
            assert a.tobytes() == b.tobytes()
