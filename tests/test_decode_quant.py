"""Quantized outputs (int8/uint8 with ``quant=``), normalised boxes (``box_scale=``) and
OpenCV's Darknet layers (``premultiplied=``, lists of layers).

The contract under test: decoding codes ``q`` with ``quant=p`` gives, bit for bit, what
decoding the float32 tensor ``DequantizeLinear(q) = float32(q - zp) * scale`` gives
(boxes, scores, class ids, order, dtype), on every backend, for every scale and zero
point, thresholds on and between quantization steps, saturated codes and ties;
``postprocess`` likewise for every format whose prediction goes through that decode. The
conformance table (decode_cases.py, the ``quantized-`` cases) checks the backends against
the reference on the same kind of inputs; here each is checked against the float decode.
"""
import numpy as np
import pytest

import accel
from accel import _quant
from accel.compare import workloads as wl
from decode_cases import INFO_1080P, normalised, quantize

INT_TYPES = [np.int8, np.uint8]


def _quant_grid(dtype):
    """(scale, zero_point) pairs: TFLite's [0, 1] ranges, a zero point in the middle of
    the range, steps of 2**-k (0.25 and 0.5 fall on a step), an awkward scale, and one so
    coarse that a score is a few steps."""
    info = np.iinfo(dtype)
    return [(1 / 255, info.min), (2.0 ** -8, info.min), (2.0 ** -6, (info.min + info.max + 1) // 2),
            (0.0037, info.min + 3), (2.0 ** -2, info.min + 1)]


def _dequantized(codes, quant):
    return _quant.dequantize(codes, _quant.quant_params(quant, "quant", codes.dtype))


def _assert_bits(expected, actual):
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes(), (want, got)


def _unchanged(arrays):
    """A check that ``arrays`` keep their bytes and writeable flags."""
    copies = [(a, a.copy(), a.flags.writeable) for a in arrays]

    def check():
        for array, copy, writeable in copies:
            assert array.tobytes() == copy.tobytes() and array.flags.writeable == writeable
    return check


V8 = normalised(wl.yolov8_output(320, nc=80, seed=5), 320)
V5 = normalised(wl.yolov5_output(320, nc=80, seed=5), 320, anchors_last=False)


def _thresholds(quant, dtype):
    """0.25, 0.0, and the values of two codes (a threshold exactly on a step) and the
    float32 just below one of them."""
    values = _dequantized(np.array([np.iinfo(dtype).max - 40, np.iinfo(dtype).max - 1],
                                   dtype), quant)
    on_step = [float(v) for v in values if 0.0 <= v <= 1.0]
    below = [float(np.nextafter(np.float32(v), np.float32(0))) for v in on_step[:1]]
    return [0.25, 0.0] + on_step + below


@pytest.mark.parametrize("layout", ["anchors-last", "anchors-first"])
@pytest.mark.parametrize("dtype", INT_TYPES, ids=lambda d: np.dtype(d).name)
def test_decode_yolov8_of_codes_is_the_float_decode_of_their_values(dtype, layout, backend):
    for quant in _quant_grid(dtype):
        codes = quantize(V8, dtype, *quant)
        values = _dequantized(codes, quant)
        options = {}
        if layout == "anchors-first":
            codes, values = (np.ascontiguousarray(a.transpose(0, 2, 1)) for a in (codes, values))
            options["anchor_axis"] = -2
        check = _unchanged([codes])
        for threshold in _thresholds(quant, dtype):
            for multi_label in (False, True):
                for classes in (None, [0, 3, 7, 79]):
                    args = dict(conf_threshold=threshold, multi_label=multi_label,
                                classes=classes, box_scale=320, backend=backend, **options)
                    want = accel.decode_yolov8(values, **args)
                    got = accel.decode_yolov8(codes, quant=quant, **args)
                    _assert_bits(want, got)
        check()


@pytest.mark.parametrize("dtype", INT_TYPES, ids=lambda d: np.dtype(d).name)
def test_decode_yolov5_of_codes_is_the_float_decode_of_their_values(dtype, backend):
    """Objectness candidates scanned as codes, products of their dequantized values."""
    for quant in _quant_grid(dtype):
        codes = quantize(V5, dtype, *quant)
        values = _dequantized(codes, quant)
        for threshold in _thresholds(quant, dtype):
            for multi_label in (False, True):
                for layout, axis in (("first", None), ("last", -1)):
                    c, v = (codes, values) if layout == "first" else (
                        np.ascontiguousarray(a.transpose(0, 2, 1)) for a in (codes, values))
                    args = dict(conf_threshold=threshold, multi_label=multi_label,
                                anchor_axis=axis, backend=backend)
                    _assert_bits(accel.decode_yolov5(v, **args),
                                 accel.decode_yolov5(c, quant=quant, **args))


def test_decode_of_codes_keeps_detections_in_the_grid():
    """The equality tests above compare real decodes: most settings keep detections."""
    for dtype in INT_TYPES:
        for quant in _quant_grid(dtype):
            assert len(accel.decode_yolov8(quantize(V8, dtype, *quant), quant=quant)[1]) > 10
            assert len(accel.decode_yolov5(quantize(V5, dtype, *quant), quant=quant)[1]) > 10


@pytest.mark.parametrize("dtype", INT_TYPES, ids=lambda d: np.dtype(d).name)
def test_saturated_codes_tie_and_resolve_as_the_floats(dtype, backend):
    """Every class at the highest (or the lowest) code: class 0 wins every tie, and the
    YOLOv5 products tie likewise; a threshold above the highest value keeps nothing."""
    info = np.iinfo(dtype)
    quant = (2.0 ** -8, info.min)  # the highest code is 255 / 256
    v8 = np.full((4 + 6, 64), info.max, dtype)
    v8[4:, 32:] = info.min
    v8[4 + 3, 40] = info.min + 1
    v5 = np.ascontiguousarray(v8.T)
    for threshold in (0.0, 0.5, 1.0):
        for multi_label in (False, True):
            want = accel.decode_yolov8(_dequantized(v8, quant), threshold,
                                       multi_label=multi_label, backend=backend)
            got = accel.decode_yolov8(v8, threshold, quant=quant, multi_label=multi_label,
                                      backend=backend)
            _assert_bits(want, got)
            _assert_bits(accel.decode_yolov5(_dequantized(v5, quant), threshold,
                                             multi_label=multi_label, backend=backend),
                         accel.decode_yolov5(v5, threshold, quant=quant,
                                             multi_label=multi_label, backend=backend))
    boxes, scores, class_ids = accel.decode_yolov8(v8, 0.5, quant=quant, backend=backend)
    assert class_ids.tolist() == [0] * 32 and scores.dtype == np.float32
    assert accel.decode_yolov8(v8, 1.0, quant=quant, backend=backend)[1].size == 0


@pytest.mark.parametrize("dtype", INT_TYPES, ids=lambda d: np.dtype(d).name)
def test_postprocess_of_codes_is_postprocess_of_their_values(dtype, backend):
    batch = np.concatenate([V8, normalised(wl.yolov8_output(320, nc=80, seed=6), 320)])
    for quant in _quant_grid(dtype)[:3]:
        codes = quantize(batch, dtype, *quant)
        values = _dequantized(codes, quant)
        for options in (dict(letterbox=INFO_1080P, box_scale=320),
                        dict(multi_label=True, conf_threshold=0.1, agnostic=True, max_det=20),
                        dict(classes=[1, 2, 5], max_nms=7)):
            _assert_bits(accel.postprocess(values, backend=backend, **options),
                         accel.postprocess(codes, quant=quant, backend=backend, **options))
        v5 = quantize(V5, dtype, *quant)
        _assert_bits(accel.postprocess(_dequantized(v5, quant), "yolov5", box_scale=320,
                                       backend=backend),
                     accel.postprocess(v5, "yolov5", quant=quant, box_scale=320,
                                       backend=backend))


def test_postprocess_task_formats_of_codes(backend):
    """Segmentation (int8 prototypes too), pose (keypoints dequantized, then scaled) and
    oriented boxes: the results of the dequantized tensors, bit for bit."""
    pred, protos = wl.yolov8_seg_output(160, nc=80, seed=2)
    pred = normalised(pred, 160)
    quant, protos_quant = (1 / 127, 0), (float(np.abs(protos).max()) / 127, 0)
    codes, proto_codes = quantize(pred, np.int8, *quant), quantize(protos, np.int8, *protos_quant)
    check = _unchanged([codes, proto_codes])
    for letterbox in (None, INFO_1080P):
        want = accel.postprocess(_dequantized(codes, quant), "yolov8-seg",
                                 protos=_dequantized(proto_codes, protos_quant), box_scale=160,
                                 letterbox=letterbox, backend=backend)
        got = accel.postprocess(codes, "yolov8-seg", protos=proto_codes, quant=quant,
                                protos_quant=protos_quant, box_scale=160, letterbox=letterbox,
                                backend=backend)
        assert len(got) == 1 and got[0][0].shape[0] > 0
        for (want_dets, want_masks), (dets, masks) in zip(want, got):
            _assert_bits((want_dets, want_masks), (dets, masks))
    check()

    pose = normalised(wl.pose_output(320, people=6, seed=1), 320)
    pose[:, 5::3] /= np.float32(320)  # keypoint x and y are normalised too
    pose[:, 6::3] /= np.float32(320)
    pose_codes = quantize(pose, np.uint8, 1 / 255, 0)
    for letterbox in (None, INFO_1080P):
        want = accel.postprocess(_dequantized(pose_codes, (1 / 255, 0)), "yolov8-pose",
                                 box_scale=320, letterbox=letterbox, backend=backend)
        got = accel.postprocess(pose_codes, "yolov8-pose", quant=(1 / 255, 0), box_scale=320,
                                letterbox=letterbox, backend=backend)
        assert got[0][0].shape[0] > 0
        _assert_bits(want[0], got[0])

    obb = wl.obb_output(256, nc=15, objects=40, seed=1)
    obb[:, :4] /= np.float32(256)
    obb_quant = (float(np.abs(obb).max()) / 127, 0)
    obb_codes = quantize(obb, np.int8, *obb_quant)
    for obb_nms in ("fast", "greedy"):
        want = accel.postprocess(_dequantized(obb_codes, obb_quant), "yolov8-obb", box_scale=256,
                                 conf_threshold=0.1, obb_nms=obb_nms, backend=backend)
        got = accel.postprocess(obb_codes, "yolov8-obb", quant=obb_quant, box_scale=256,
                                conf_threshold=0.1, obb_nms=obb_nms, backend=backend)
        assert got[0].shape[0] > 0
        _assert_bits(want, got)
    _assert_bits(accel.decode_yolov8_obb(_dequantized(obb_codes, obb_quant), 0.1, box_scale=256,
                                         backend=backend),
                 accel.decode_yolov8_obb(obb_codes, 0.1, quant=obb_quant, box_scale=256,
                                         backend=backend))
    _assert_bits(accel.decode_yolov8_pose(_dequantized(pose_codes, (1 / 255, 0)), box_scale=320,
                                          backend=backend),
                 accel.decode_yolov8_pose(pose_codes, quant=(1 / 255, 0), box_scale=320,
                                          backend=backend))


# ------------------------------------------------------------------ normalised boxes

def test_box_scale_is_ultralytics_tflite_denormalisation(backend):
    """``box_scale=(W, H)`` decodes what ultralytics' AutoBackend makes of a TFLite
    output, ``x[:, [0, 2]] *= w; x[:, [1, 3]] *= h`` in float32, before any decoding."""
    for width, height in ((320, 320), (640, 384)):
        denormalised = V8.copy()
        denormalised[:, [0, 2]] *= np.float32(width)
        denormalised[:, [1, 3]] *= np.float32(height)
        for multi_label in (False, True):
            _assert_bits(accel.decode_yolov8(denormalised, multi_label=multi_label,
                                             backend=backend),
                         accel.decode_yolov8(V8, multi_label=multi_label,
                                             box_scale=(width, height), backend=backend))
        _assert_bits(accel.postprocess(denormalised, letterbox=INFO_1080P, backend=backend),
                     accel.postprocess(V8, letterbox=INFO_1080P, box_scale=(width, height),
                                       backend=backend))
    assert accel.decode_yolov8(V8, box_scale=320)[0].max() > 100  # pixels, not fractions


def test_box_scale_scales_pose_keypoints():
    pose = normalised(wl.pose_output(320, people=4, seed=3), 320)
    pose[:, 5::3] /= np.float32(320)
    pose[:, 6::3] /= np.float32(320)
    denormalised = pose.copy()
    denormalised[:, [0, 2]] *= np.float32(320)
    denormalised[:, [1, 3]] *= np.float32(320)
    denormalised[:, 5::3] *= np.float32(320)  # ultralytics' x[:, 5::3] *= w for pose
    denormalised[:, 6::3] *= np.float32(320)
    _assert_bits(accel.decode_yolov8_pose(denormalised), accel.decode_yolov8_pose(pose, box_scale=320))
    _assert_bits(accel.postprocess(denormalised, "yolov8-pose", letterbox=INFO_1080P)[0],
                 accel.postprocess(pose, "yolov8-pose", letterbox=INFO_1080P, box_scale=320)[0])


# ------------------------------------------------------------------ OpenCV's Darknet layers

def _region_layer(rng, rows, nc, thresh=0.2):
    """What OpenCV's region layer (``[yolo]`` of a Darknet cfg) outputs for one layer,
    per its source (modules/dnn/src/layers/region_layer.cpp): normalised cx, cy, w, h, the
    objectness ``t0``, and class entries ``prob = t0 * p`` in float32, set to 0 unless
    ``prob > thresh``."""
    out = np.empty((rows, 5 + nc), np.float32)
    out[:, :2] = rng.uniform(0, 1, (rows, 2))
    out[:, 2:4] = rng.uniform(0.01, 0.3, (rows, 2))
    out[:, 4] = 1 / (1 + np.exp(-rng.normal(-3, 2.5, rows)))
    probabilities = (1 / (1 + np.exp(-rng.normal(-2, 3, (rows, nc))))).astype(np.float32)
    probabilities[:5] = probabilities[:5, :1]  # ties between classes
    products = probabilities * out[:, 4:5]
    out[:, 5:] = np.where(products > np.float32(thresh), products, np.float32(0.0))
    return out


def _darknet_oracle(layers, conf, size):
    """The detections those layers hold, read plainly: each row's best entry (first of
    equal ones) if it is above ``conf``, its box in pixels."""
    boxes, scores, class_ids = [], [], []
    for layer in layers:
        for row in layer:
            best = int(np.argmax(row[5:]))
            if row[5 + best] > conf:
                cx, cy, w, h = row[:4] * np.float32(size)
                boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
                scores.append(row[5 + best])
                class_ids.append(best)
    return (np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32),
            np.array(class_ids, np.int64))


def test_opencv_darknet_layers_decode_premultiplied(backend):
    rng = np.random.default_rng(8)
    layers = [_region_layer(rng, 13 * 13 * 3, 7), _region_layer(rng, 26 * 26 * 3, 7),
              _region_layer(rng, 52 * 52 * 3, 7)]
    check = _unchanged(layers)
    for conf in (0.25, 0.5):
        got = accel.decode_yolov5(layers, conf, premultiplied=True, box_scale=416,
                                  backend=backend)
        assert got[1].size > 20
        _assert_bits(_darknet_oracle(layers, conf, 416), got)
        # The list is the concatenation, decoded in one go.
        _assert_bits(accel.decode_yolov5(np.concatenate(layers), conf, premultiplied=True,
                                         box_scale=416, backend=backend), got)
        # Without premultiplied the objectness would count twice: fewer, lower scores.
        twice = accel.decode_yolov5(layers, conf, box_scale=416, backend=backend)
        assert twice[1].size < got[1].size
        dets = accel.postprocess(np.concatenate(layers), "yolov5", conf_threshold=conf,
                                 premultiplied=True, box_scale=416, backend=backend)[0]
        assert 0 < dets.shape[0] <= got[1].size
    check()


def test_layer_lists_of_codes_and_errors_name_the_layer(backend):
    layers = [V5[0, :1000], V5[0, 1000:]]
    quants = [(1 / 255, -128), (1 / 250, -120)]
    codes = [quantize(layer, np.int8, *q) for layer, q in zip(layers, quants)]
    want = tuple(np.concatenate(parts) for parts in zip(*[
        accel.decode_yolov5(_dequantized(c, q), backend=backend) for c, q in zip(codes, quants)]))
    _assert_bits(want, accel.decode_yolov5(codes, quant=quants, backend=backend))
    bad = np.array(layers[1])
    best = int(np.argmax(bad[:, 4]))
    bad[best, 2] = np.nan  # a box channel of a kept anchor
    with pytest.raises(ValueError, match=r"pred\[1\] has a NaN or infinite value at index \(%d, 2\)"
                       % best):
        accel.decode_yolov5([layers[0], bad], backend=backend)


# ------------------------------------------------------------------ refused, nothing modified

@pytest.mark.parametrize("decoder", ["decode_yolov8", "decode_yolov5", "postprocess",
                                     "decode_yolov8_pose", "decode_yolov8_obb"])
def test_bad_quantization_is_refused_naming_the_argument(decoder):
    shapes = {"decode_yolov5": (1, 300, 85), "decode_yolov8_pose": (1, 56, 300),
              "decode_yolov8_obb": (1, 20, 300)}
    shape = shapes.get(decoder, (1, 84, 300))
    codes = np.random.default_rng(1).integers(-128, 128, shape).astype(np.int8)
    floats = codes.astype(np.float32)
    run = getattr(accel, decoder)
    check = _unchanged([codes, floats])
    refused = [
        (TypeError, "pred is int8", dict(pred=codes)),
        (TypeError, "float32", dict(pred=floats, quant=(0.1, 0))),
        (TypeError, "uint16", dict(pred=codes.astype(np.uint16), quant=(0.1, 0))),
        (ValueError, "scale", dict(pred=codes, quant=(0.0, 0))),
        (ValueError, "scale", dict(pred=codes, quant=(-1 / 255, 0))),
        (ValueError, "scale", dict(pred=codes, quant=(float("nan"), 0))),
        (ValueError, "scale", dict(pred=codes, quant=(float("inf"), 0))),
        (ValueError, "overflows", dict(pred=codes, quant=(1e37, 0))),
        (ValueError, "[-128, 127]", dict(pred=codes, quant=(0.1, 128))),
        (ValueError, "[0, 255]", dict(pred=codes.view(np.uint8), quant=(0.1, 256))),
        (TypeError, "zero_point", dict(pred=codes, quant=(0.1, 1.5))),
        (TypeError, "scale", dict(pred=codes, quant=("0.1", 0))),
        (TypeError, "pair", dict(pred=codes, quant=(0.1, 0, 3))),
    ]
    for error, words, kwargs in refused:
        with pytest.raises(error) as info:
            run(**kwargs)
        assert "quant" in str(info.value) and words in str(info.value), str(info.value)
    check()


def test_bad_box_scale_and_options_are_refused():
    for value, error in ((0, ValueError), (-640, ValueError), ((640, float("inf")), ValueError),
                         ((640, 0), ValueError), ((1, 2, 3), TypeError), ("640", TypeError),
                         (True, TypeError), ([640], TypeError)):
        with pytest.raises(error, match="box_scale"):
            accel.decode_yolov8(V8, box_scale=value)
    with pytest.raises(ValueError, match="premultiplied"):
        accel.postprocess(V8, premultiplied=True)
    with pytest.raises(ValueError, match="protos_quant"):
        accel.postprocess(V8, protos_quant=(0.1, 0))
    pred, protos = wl.yolov8_seg_output(160, nc=80, seed=2)
    with pytest.raises(TypeError, match="protos_quant"):
        accel.postprocess(pred, "yolov8-seg", protos=quantize(protos, np.int8, 0.1, 0))
    with pytest.raises(TypeError, match="protos_quant"):
        accel.postprocess(pred, "yolov8-seg", protos=protos, protos_quant=(0.1, 0))


def test_codes_are_finite_so_check_finite_changes_nothing(backend):
    codes = quantize(V8, np.int8, 1 / 255, -128)
    _assert_bits(accel.decode_yolov8(codes, quant=(1 / 255, -128), check_finite=True,
                                     backend=backend),
                 accel.decode_yolov8(codes, quant=(1 / 255, -128), check_finite=False,
                                     backend=backend))


def test_int8_workload_and_numpy_peer_agree_with_accel(backend):
    """The benchmark's int8 output keeps a realistic number of detections, and its NumPy
    peer (dequantize everything, then decode) finds exactly accel's."""
    from accel.compare.peers import numpy_dequantize_decode_v8

    for dtype in INT_TYPES:
        codes, quant = wl.quantized_yolov8_output(320, dtype=dtype)
        assert codes.dtype == dtype and codes.shape == (1, 84, 2100)
        got = accel.decode_yolov8(codes, quant=quant, box_scale=320, backend=backend)
        assert 20 < got[1].size < 1000
        _assert_bits(numpy_dequantize_decode_v8(codes, quant, 0.25, 320), got)
