"""Tensors a runtime takes: layout nchw/nhwc, dtype float32/float16/uint8/int8, quant.

Every output is checked against what it is defined as: the float32 tensor (the bits
test_preprocess.py and the conformance suite pin), rounded to float16, quantized by
``accel._quant.quantize`` and by onnxruntime's ``QuantizeLinear``, or transposed; and
every backend against the pure-Python reference.
"""
import numpy as np
import pytest

import accel
from accel import _quant
from accel.compare.workloads import synthetic_frame
from conftest import REFERENCE

RNG = np.random.default_rng(11)
# odd sizes: a 333x517 frame in 1, 3 and 4 channels (grey given as 2-D)
FRAMES = {
    "bgr": RNG.integers(0, 256, (333, 517, 3), dtype=np.uint8),
    "grey": RNG.integers(0, 256, (333, 517), dtype=np.uint8),
    "bgra": RNG.integers(0, 256, (333, 517, 4), dtype=np.uint8),
}
SMALL = RNG.integers(0, 256, (37, 53, 3), dtype=np.uint8)
NEW_SHAPE = (160, 128)  # a downscale with padding on both axes of the pure-Python reference
LAYOUTS = ("nchw", "nhwc")
# (id, options): every dtype, the integer ones with and without quantization
TENSORS = [
    ("float32", {}),
    ("float16", dict(dtype=np.float16)),
    ("uint8-pixels", dict(dtype=np.uint8)),
    ("uint8-quant", dict(dtype=np.uint8, quant=(1 / 255, 0))),
    ("int8-quant", dict(dtype=np.int8, quant=(1 / 255, -128))),
    ("int8-saturating", dict(dtype=np.int8, quant=(1 / 510, 10), mean=(0, 64, 128),
                             scale=(1 / 128, 1 / 255, 1 / 64))),
    ("uint8-saturating", dict(dtype=np.uint8, quant=(0.004, 200), mean=100.0, scale=0.01)),
    ("float16-mean", dict(dtype=np.float16, mean=127.5, scale=1 / 127.5, swap_rb=False)),
]
QUANTIZED = [(i, o) for i, o in TENSORS if "quant" in o]


def channels_of(img):
    return 1 if img.ndim == 2 else img.shape[2]


def fit(options, channels):
    """``options`` with per-channel mean and scale cut (or repeated) to ``channels``."""
    return {k: ((v * 4)[:channels] if isinstance(v, tuple) and k in ("mean", "scale") else v)
            for k, v in options.items()}


def float_options(options):
    """The float32 tensor the quantized one is made from."""
    return {k: v for k, v in options.items() if k not in ("dtype", "quant")}


def nchw(tensor, layout):
    return tensor if layout == "nchw" else tensor.transpose(0, 3, 1, 2)


_reference = {}


def reference(kind, frame_id, tensor_id, layout):
    key = (kind, frame_id, tensor_id, layout)
    if key not in _reference:
        _reference[key] = run(kind, frame_id, tensor_id, layout, REFERENCE)
    return _reference[key]


def run(kind, frame_id, tensor_id, layout, backend):
    img = FRAMES[frame_id]
    options = fit(dict(TENSORS)[tensor_id], channels_of(img))
    if kind == "to_tensor":
        return accel.to_tensor(img[:41, :29], layout=layout, backend=backend, **options)
    return accel.preprocess(img, NEW_SHAPE, layout=layout, backend=backend, **options)[0]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("tensor_id", [i for i, _ in TENSORS])
@pytest.mark.parametrize("frame_id", sorted(FRAMES))
@pytest.mark.parametrize("kind", ["preprocess", "to_tensor"])
def test_every_layout_and_dtype_matches_the_reference(kind, frame_id, tensor_id, layout,
                                                       candidate):
    expected = reference(kind, frame_id, tensor_id, layout)
    actual = run(kind, frame_id, tensor_id, layout, candidate)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()


@pytest.mark.parametrize("frame_id", sorted(FRAMES))
@pytest.mark.parametrize("tensor_id", [i for i, _ in TENSORS])
def test_nhwc_is_nchw_transposed(frame_id, tensor_id, backend):
    img = FRAMES[frame_id]
    options = fit(dict(TENSORS)[tensor_id], channels_of(img))
    planes, info = accel.preprocess(img, 96, backend=backend, **options)
    pixels, info_nhwc = accel.preprocess(img, 96, layout="nhwc", backend=backend, **options)
    c = channels_of(img)
    assert planes.shape == (1, c, 96, 96) and pixels.shape == (1, 96, 96, c)
    assert info == info_nhwc
    np.testing.assert_array_equal(pixels.transpose(0, 3, 1, 2), planes)
    small = accel.to_tensor(img[:20, :30], layout="nhwc", backend=backend, **options)
    np.testing.assert_array_equal(
        small.transpose(0, 3, 1, 2), accel.to_tensor(img[:20, :30], backend=backend, **options))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_float16_is_the_float32_tensor_rounded(layout, backend):
    for options in ({}, dict(mean=(103.53, 116.28, 123.675), scale=(0.017, 0.0175, 0.0171))):
        half, _ = accel.preprocess(FRAMES["bgr"], 96, dtype=np.float16, layout=layout,
                                   backend=backend, **options)
        single, _ = accel.preprocess(FRAMES["bgr"], 96, layout=layout, backend=backend, **options)
        assert half.dtype == np.float16
        assert half.tobytes() == single.astype(np.float16).tobytes()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("tensor_id, options", QUANTIZED, ids=[i for i, _ in QUANTIZED])
def test_quantized_is_quantize_of_the_float32_tensor(tensor_id, options, layout, backend):
    options = fit(options, 3)
    quantized, _ = accel.preprocess(FRAMES["bgr"], 96, layout=layout, backend=backend, **options)
    single, _ = accel.preprocess(FRAMES["bgr"], 96, layout=layout, backend=backend,
                                 **float_options(options))
    params = _quant.quant_params(options["quant"], "quant", options["dtype"])
    expected = _quant.quantize(single, params)
    assert quantized.dtype == np.dtype(options["dtype"])
    assert quantized.tobytes() == expected.tobytes()
    if "saturating" in tensor_id:  # the case does reach both ends of the integer range
        assert quantized.min() == params.lowest and quantized.max() == params.highest


def test_quantize_rounds_ties_to_even(backend):
    """mean 0, scale 1 gives the pixel value; quant scale 2 puts every odd pixel exactly
    half-way between two codes: ONNX rounds those to even (TFLite would round away)."""
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    codes = accel.to_tensor(ramp, dtype=np.uint8, mean=0.0, scale=1.0, quant=(2.0, 0),
                            backend=backend).ravel()
    pixels = np.arange(256)
    np.testing.assert_array_equal(codes, np.rint(pixels / 2.0).astype(np.uint8))
    assert (codes[1], codes[3], codes[5], codes[255]) == (0, 2, 2, 128)
    away_from_zero = np.floor(pixels / 2.0 + 0.5)
    assert (codes != away_from_zero).sum() == 64  # pixels 1, 5, 9, ...: x.5 with x even


def test_default_normalisation_never_ties():
    """The claim in to_tensor's docstring, checked for all 256 pixel values: with mean 0,
    scale 1/255 and quant scale 1/255, value / scale is never half-way (so ONNX and
    TFLite rounding agree), and the codes are the pixels, shifted by the zero point."""
    pixels = np.arange(256, dtype=np.float32)
    value = (pixels - np.float32(0.0)) * np.float32(1 / 255)
    ratio = value / np.float32(1 / 255)
    assert not (ratio - np.floor(ratio) == np.float32(0.5)).any()
    np.testing.assert_array_equal(np.rint(ratio), np.floor(ratio + np.float32(0.5)))
    for dtype, zero_point in ((np.uint8, 0), (np.int8, -128)):
        codes = _quant.quantize(value, _quant.quant_params((1 / 255, zero_point), "quant", dtype))
        np.testing.assert_array_equal(codes.astype(np.int64), np.arange(256) + zero_point)


def _quantize_linear_model(dtype, scale, zero_point):
    onnx = pytest.importorskip("onnx", reason="the ONNX comparison needs the onnx package")
    ort = pytest.importorskip("onnxruntime", reason="the ONNX comparison needs onnxruntime")
    from onnx import TensorProto, helper

    element = TensorProto.UINT8 if dtype == np.uint8 else TensorProto.INT8
    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "scale", "zero_point"], ["y"])], "quantize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "a", "b", "c"])],
        [helper.make_tensor_value_info("y", element, ["n", "a", "b", "c"])],
        initializer=[helper.make_tensor("scale", TensorProto.FLOAT, [], [scale]),
                     helper.make_tensor("zero_point", element, [], [zero_point])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x})[0]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("tensor_id, options", QUANTIZED + [
    ("uint8-ties", dict(dtype=np.uint8, quant=(2.0, 3), mean=0.0, scale=1.0)),
    ("int8-ties", dict(dtype=np.int8, quant=(0.5, -7), mean=(0.25, 0.75, 0.5), scale=0.5))],
    ids=[i for i, _ in QUANTIZED] + ["uint8-ties", "int8-ties"])
def test_quantized_matches_onnxruntime_quantize_linear(tensor_id, options, layout, backend):
    options = fit(options, 3)
    scale, zero_point = options["quant"]
    quantize_linear = _quantize_linear_model(options["dtype"], scale, zero_point)
    for kind in ("preprocess", "to_tensor"):
        if kind == "preprocess":
            quantized, _ = accel.preprocess(FRAMES["bgr"], 64, layout=layout, backend=backend,
                                            **options)
            single, _ = accel.preprocess(FRAMES["bgr"], 64, layout=layout, backend=backend,
                                         **float_options(options))
        else:
            quantized = accel.to_tensor(SMALL, layout=layout, backend=backend, **options)
            single = accel.to_tensor(SMALL, layout=layout, backend=backend,
                                     **float_options(options))
        expected = quantize_linear(single)
        assert expected.dtype == quantized.dtype
        assert quantized.tobytes() == expected.tobytes()


@pytest.mark.parametrize("swap_rb", [True, False])
@pytest.mark.parametrize("frame_id", sorted(FRAMES))
def test_uint8_pixels_are_the_letterboxed_image(frame_id, swap_rb, backend):
    img = FRAMES[frame_id]
    image, info = accel.letterbox(img, 200, backend=backend)
    image = image.reshape(image.shape[:2] + (-1,))
    if swap_rb and image.shape[2] >= 3:
        image = np.concatenate([image[..., 2::-1], image[..., 3:]], axis=2)
    pixels, info_tensor = accel.preprocess(img, 200, dtype=np.uint8, layout="nhwc",
                                           swap_rb=swap_rb, backend=backend)
    assert info_tensor == info and pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels[0], image)
    planes, _ = accel.preprocess(img, 200, dtype=np.uint8, swap_rb=swap_rb, backend=backend)
    np.testing.assert_array_equal(planes[0], image.transpose(2, 0, 1))


def test_uint8_pixels_of_a_1080p_frame(backend):
    """The realistic case (an exact 3x downscale, copied rows) on the compiled backends'
    fast paths, against letterbox."""
    if backend == "python":
        pytest.skip("seconds per 1080p frame in pure Python; numpy checks the same bits")
    frame = synthetic_frame(1080, 1920)
    image, _ = accel.letterbox(frame, 640, backend=backend)
    pixels, _ = accel.preprocess(frame, 640, dtype=np.uint8, layout="nhwc", backend=backend)
    np.testing.assert_array_equal(pixels[0], image[..., ::-1])
    same, _ = accel.preprocess(frame, 640, dtype=np.uint8, layout="nhwc", swap_rb=False,
                               backend=backend)
    np.testing.assert_array_equal(same[0], image)
    quantized, _ = accel.preprocess(frame, 640, dtype=np.int8, quant=(1 / 255, -128),
                                    layout="nhwc", backend=backend)
    np.testing.assert_array_equal(quantized[0], image[..., ::-1].astype(np.int16) - 128)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("tensor_id", ["float32", "float16", "uint8-pixels", "int8-quant"])
def test_out_fills_batch_slices(tensor_id, layout, backend):
    options = dict(TENSORS)[tensor_id]
    dtype = np.dtype(options.get("dtype", np.float32))
    shape = (4, 3, 64, 64) if layout == "nchw" else (4, 64, 64, 3)
    batch = np.full(shape, 7, dtype=dtype)
    frames = [FRAMES["bgr"], SMALL, FRAMES["bgr"][::-1], SMALL[:, ::2]]
    for i in (2, 0, 3):  # slot 1 stays untouched
        result, _ = accel.preprocess(frames[i], 64, out=batch[i:i + 1], layout=layout,
                                     backend=backend, **options)
        assert result.base is batch and np.shares_memory(result, batch[i])
    for i in (0, 2, 3):
        alone, _ = accel.preprocess(frames[i], 64, layout=layout, backend=backend, **options)
        assert batch[i:i + 1].tobytes() == alone.tobytes()
    assert (batch[1] == 7).all()
    small_batch = np.zeros((4,) + (SMALL.shape[:2] + (3,) if layout == "nhwc"
                                   else (3,) + SMALL.shape[:2]), dtype=dtype)
    result = accel.to_tensor(SMALL, out=small_batch[3:4], layout=layout, backend=backend,
                             **options)
    assert result.base is small_batch
    assert small_batch[3:].tobytes() == accel.to_tensor(SMALL, layout=layout, backend=backend,
                                                        **options).tobytes()
    assert not small_batch[:3].any()


def test_inputs_not_modified(backend):
    for img in (FRAMES["bgr"][::3, ::4], FRAMES["grey"][:50, :60], FRAMES["bgra"][:40, :30]):
        before = img.copy()
        for options in (dict(dtype=np.uint8, layout="nhwc"),
                        dict(dtype=np.int8, quant=(1 / 255, -128)),
                        dict(dtype=np.float16, layout="nhwc", mean=3.0)):
            accel.to_tensor(img, backend=backend, **options)
            accel.preprocess(img, 48, backend=backend, **options)
        np.testing.assert_array_equal(img, before)


@pytest.mark.parametrize("options, error, words", [
    (dict(dtype=np.int8), TypeError, ["dtype int8", "quant=(scale, zero_point)"]),
    (dict(quant=(1 / 255, 0)), TypeError, ["quant", "float32"]),
    (dict(dtype=np.float16, quant=(1 / 255, 0)), TypeError, ["quant", "float16"]),
    (dict(dtype=np.uint8, mean=0.0), ValueError, ["mean", "uint8", "quant"]),
    (dict(dtype=np.uint8, scale=1 / 255), ValueError, ["scale", "uint8", "quant"]),
    (dict(dtype=np.uint8, mean=(1, 2, 3), quant=(1 / 255, 0)), None, []),  # accepted
    (dict(dtype=np.float64), TypeError, ["dtype", "float64"]),
    (dict(dtype=np.uint16), TypeError, ["dtype", "uint16"]),
    (dict(layout="NCHW"), ValueError, ["layout", "'nchw'"]),
    (dict(layout=None), ValueError, ["layout"]),
    (dict(dtype=np.int8, quant=(0.0, 0)), ValueError, ["quant", "scale"]),
    (dict(dtype=np.int8, quant=(float("nan"), 0)), ValueError, ["quant", "scale"]),
    (dict(dtype=np.uint8, quant=(1 / 255, 256)), ValueError, ["quant", "zero_point", "255"]),
    (dict(dtype=np.int8, quant=(1 / 255, -129)), ValueError, ["quant", "zero_point", "-128"]),
    (dict(dtype=np.int8, quant=(1 / 255, 0.5)), TypeError, ["quant", "zero_point"]),
    (dict(dtype=np.int8, quant=1 / 255), TypeError, ["quant", "(scale, zero_point)"]),
    (dict(dtype=np.int8, quant=(1 / 255,)), TypeError, ["quant", "(scale, zero_point)"]),
    (dict(dtype=np.int8, quant=(True, 0)), TypeError, ["quant", "scale"]),
    (dict(dtype=np.uint8, quant=(1e38, 0)), ValueError, ["quant", "overflows"]),
])
def test_refusals_name_the_argument(options, error, words, unreachable_backends):
    """Refused by the public layer before any backend runs (every backend is replaced by
    one that fails the test), by to_tensor and preprocess alike."""
    for call in (lambda: accel.to_tensor(SMALL, backend="python", **options),
                 lambda: accel.preprocess(SMALL, 32, backend="python", **options)):
        if error is None:
            with pytest.raises(AssertionError, match="the public layer called the backend"):
                call()
            continue
        with pytest.raises(error) as info:
            call()
        assert type(info.value) is error
        assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("layout, options, out, error, words", [
    ("nhwc", {}, np.empty((1, 3, 32, 32), np.float32), ValueError, ["out", "(1, 32, 32, 3)"]),
    ("nchw", {}, np.empty((1, 32, 32, 3), np.float32), ValueError, ["out", "(1, 3, 32, 32)"]),
    ("nhwc", dict(dtype=np.uint8), np.empty((1, 32, 32, 3), np.float32), TypeError,
     ["out", "uint8"]),
    ("nchw", dict(dtype=np.int8, quant=(1 / 255, -128)), np.empty((1, 3, 32, 32), np.uint8),
     TypeError, ["out", "int8"]),
    ("nhwc", dict(dtype=np.float16), np.empty((1, 32, 64, 3), np.float16)[:, :, ::2],
     ValueError, ["out", "C-contiguous"]),
])
def test_bad_out(layout, options, out, error, words, unreachable_backends):
    with pytest.raises(error) as info:
        accel.preprocess(SMALL, 32, out=out, layout=layout, backend="python", **options)
    assert type(info.value) is error and all(w in str(info.value) for w in words)


def test_defaults_are_unchanged():
    """mean and scale default to None, meaning 0 and 1/255: the same bits as before."""
    tensor, _ = accel.preprocess(SMALL, 32, backend="numpy")
    explicit, _ = accel.preprocess(SMALL, 32, mean=0.0, scale=1 / 255, backend="numpy")
    assert tensor.dtype == np.float32 and tensor.shape == (1, 3, 32, 32)
    assert tensor.tobytes() == explicit.tobytes()


# Pipeline: the input tensor's dtype, layout and quant pass through.

IMGSZ = 64


def test_pipeline_feeds_a_quantized_nhwc_tensor(backend):
    from accel.compare.workloads import yolov8_output

    scene = yolov8_output(IMGSZ)
    seen = []

    def infer(tensor):
        seen.append(tensor.copy())
        return scene

    frame = FRAMES["bgr"]
    options = dict(dtype=np.int8, quant=(1 / 255, -128), layout="nhwc")
    pipe = accel.Pipeline(infer, IMGSZ, conf_threshold=0.3, backend=backend, **options)
    assert "quant=" in repr(pipe) and "layout='nhwc'" in repr(pipe)
    for _ in range(2):
        detections = pipe(frame)
    expected, info = accel.preprocess(frame, IMGSZ, backend=backend, **options)
    assert all(t.dtype == np.int8 and t.shape == (1, IMGSZ, IMGSZ, 3) for t in seen)
    np.testing.assert_array_equal(seen[-1], expected)
    np.testing.assert_array_equal(
        detections, accel.postprocess(scene, conf_threshold=0.3, letterbox=info, backend=backend)[0])
    assert pipe.tensors_allocated == 1
    grey = pipe(FRAMES["grey"])  # another channel count: another tensor
    assert seen[-1].shape == (1, IMGSZ, IMGSZ, 1) and grey.shape[1] == 6
    results = list(pipe.map([frame, FRAMES["grey"], frame], threads=2))
    assert len(results) == 3 and all(t.dtype == np.int8 for t in seen)


@pytest.mark.parametrize("options, error, words", [
    (dict(dtype=np.int8), TypeError, ["dtype int8", "quant"]),
    (dict(layout="chw"), ValueError, ["layout"]),
    (dict(dtype=np.uint8, quant=(1 / 255, 300)), ValueError, ["quant", "zero_point"]),
    (dict(quant=(1 / 255, 0)), TypeError, ["quant"]),
])
def test_pipeline_checks_the_tensor_options_when_made(options, error, words):
    with pytest.raises(error) as info:
        accel.Pipeline(lambda x: x, IMGSZ, **options)
    assert all(w in str(info.value) for w in words)
    with pytest.raises(TypeError, match="valid: dtype, layout, quant, "):
        accel.Pipeline(lambda x: x, IMGSZ, mean=0.5)
