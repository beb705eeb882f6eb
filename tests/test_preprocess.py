"""Preprocessing contracts beyond backend agreement: geometry, out=, no mutation."""
import numpy as np
import pytest

import accel
from accel import LetterboxInfo

RNG = np.random.default_rng(3)
FRAME = RNG.integers(0, 256, (90, 160, 3), dtype=np.uint8)



@pytest.mark.parametrize("src, new_shape, kwargs, expected", [
    # (h, w) -> scale, pad_left, pad_top, resized (h, w), output (h, w): ultralytics LetterBox
    ((1080, 1920), 640, {}, (1 / 3, 0, 140, (360, 640), (640, 640))),
    ((720, 1280), 640, {}, (0.5, 0, 140, (360, 640), (640, 640))),
    ((480, 640), 640, {}, (1.0, 0, 80, (480, 640), (640, 640))),
    ((1080, 1920), 640, {"auto": True}, (1 / 3, 0, 12, (360, 640), (384, 640))),
    ((100, 50), 640, {"scaleup": False}, (1.0, 295, 270, (100, 50), (640, 640))),
    ((101, 50), (64, 64), {}, (64 / 101, 16, 0, (64, 32), (64, 64))),
    ((33, 100), 64, {"center": False}, (0.64, 0, 0, (21, 64), (64, 64))),
    ((1, 10000), 640, {}, (0.064, 0, 319, (1, 640), (640, 640))),  # at least 1 row
])
def test_geometry_is_ultralytics(src, new_shape, kwargs, expected):
    img = np.zeros(src + (3,), dtype=np.uint8)
    out, info = accel.letterbox(img, new_shape, backend="numpy", **kwargs)
    scale, left, top, resized, dst = expected
    assert info == LetterboxInfo(pytest.approx(scale), left, top, src, resized, dst)
    assert out.shape == dst + (3,)


def test_odd_padding_goes_bottom_right():
    out, info = accel.letterbox(np.full((10, 21, 3), 7, np.uint8), (16, 21), pad_value=(1, 2, 3),
                                backend="numpy")
    assert (info.pad_top, info.resized_shape) == (3, (10, 21))
    assert (out[:3] == [1, 2, 3]).all() and (out[13:] == [1, 2, 3]).all() and (out[3:13] == 7).all()


def test_grey_keeps_its_layout(backend):
    grey = FRAME[:, :, 0]
    out, _ = accel.letterbox(grey, 64, backend=backend)
    assert out.shape == (64, 64)
    tensor = accel.to_tensor(grey, backend=backend)
    assert tensor.shape == (1, 1, 90, 160)


def test_preprocess_writes_into_a_batch_slice(backend):
    batch = np.full((3, 3, 64, 64), -1.0, dtype=np.float32)
    result, info = accel.preprocess(FRAME, 64, out=batch[1:2], backend=backend)
    assert np.shares_memory(result, batch) and result.base is batch
    expected, _ = accel.preprocess(FRAME, 64, backend=backend)
    np.testing.assert_array_equal(batch[1:2], expected)
    assert (batch[0] == -1).all() and (batch[2] == -1).all()


def test_to_tensor_float16_and_out(backend):
    out = np.empty((1, 3, 90, 160), dtype=np.float16)
    result = accel.to_tensor(FRAME, dtype=np.float16, out=out, backend=backend)
    assert result is out
    np.testing.assert_array_equal(out, accel.to_tensor(FRAME, backend=backend).astype(np.float16))


@pytest.mark.parametrize("out, error, words", [
    (np.empty((1, 3, 64, 63), np.float32), ValueError, ["out", "shape"]),
    (np.empty((1, 3, 64, 64), np.float64), TypeError, ["out", "dtype"]),
    (np.empty((1, 3, 64, 128), np.float32)[..., ::2], ValueError, ["out", "C-contiguous"]),
    ([[0.0]], TypeError, ["out", "numpy"]),
])
def test_bad_out(out, error, words, unreachable_backends):
    """Refused before dispatch, like the bad images and options of the case table
    (kernels.py), which has no ``out``."""
    with pytest.raises(error) as info:
        accel.preprocess(FRAME, 64, out=out, backend="python")
    assert info.type is error and all(w in str(info.value) for w in words)


def test_inputs_not_modified(backend):
    views = [FRAME, FRAME[::2, ::3], FRAME[:, :, 0]]
    for img in views:
        before = img.copy()
        accel.letterbox(img, 48, backend=backend)
        accel.to_tensor(img, backend=backend)
        accel.preprocess(img, 48, mean=(1, 2, 3)[: 1 if img.ndim == 2 else 3], backend=backend)
        np.testing.assert_array_equal(img, before)
