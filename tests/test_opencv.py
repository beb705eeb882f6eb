"""Bit-exactness with OpenCV where it is installed (opencv-python-headless, a test extra).

letterbox must equal cv2.resize(INTER_LINEAR) + cv2.copyMakeBorder, and to_tensor must
equal cv2.dnn.blobFromImage, over many source and target sizes.
"""
import numpy as np
import pytest

import accel
from accel.compare.peers import opencv_letterbox

cv2 = pytest.importorskip("cv2", reason="opencv-python-headless not installed (test extra, CPython only)")

RNG = np.random.default_rng(11)
SOURCES = [(1, 1), (1, 9), (9, 1), (2, 2), (3, 5), (17, 31), (64, 48), (100, 101), (480, 640),
           (720, 1280), (1080, 1920), (5, 900), (900, 5)]
TARGETS = [1, 7, 32, (32, 48), 64, (100, 33), 640, (384, 640)]


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("source", SOURCES, ids=lambda s: "%dx%d" % s)
def test_letterbox_matches_opencv(source, channels, backend):
    if backend == "python" and source[0] * source[1] > 100 * 101:
        pytest.skip("pure Python on large frames is covered through the numpy backend")
    img = RNG.integers(0, 256, source + (channels,), dtype=np.uint8)
    for target in TARGETS:
        out, info = accel.letterbox(img, target, backend=backend)
        np.testing.assert_array_equal(out, opencv_letterbox(cv2, img, info), err_msg=str(target))


@pytest.mark.parametrize("up, down", [(1, 1), (3, 2), (2, 3), (7, 11)], ids=["1:1", "3:2", "2:3", "7:11"])
def test_plain_resize_matches_opencv(up, down, backend):
    """Up- and downscaling by awkward ratios, through letterbox with no padding: sides
    that are multiples of the ratio's denominator make the target the exact resized shape."""
    for h, w in [(4 * down, 5 * down), (13 * down, 17 * down)]:
        img = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
        target = (h * up // down, w * up // down)
        out, info = accel.letterbox(img, target, backend=backend)
        assert info.resized_shape == info.dst_shape == target
        np.testing.assert_array_equal(out, cv2.resize(img, target[::-1], interpolation=cv2.INTER_LINEAR))


@pytest.mark.parametrize("channels", [1, 3])
def test_to_tensor_matches_blob_from_image(channels, backend):
    img = RNG.integers(0, 256, (48, 64, channels), dtype=np.uint8)
    for swap in (True, False):
        for scale, mean in ((1 / 255, (0.0,) * 3), (1 / 57.375, (123.675, 116.28, 103.53)),
                            (0.0078125, (127.5,) * 3)):
            mean = mean[:channels]
            # OpenCV reads a bare number as Scalar(v, 0, 0, 0): pass one value per channel.
            blob = cv2.dnn.blobFromImage(img, scale, (64, 48), mean, swapRB=swap)
            ours = accel.to_tensor(img, swap_rb=swap, scale=scale, mean=mean, backend=backend)
            assert ours.dtype == blob.dtype and ours.tobytes() == blob.tobytes()


def test_preprocess_matches_opencv_pipeline(backend):
    frame = RNG.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    if backend == "python":
        frame = frame[::8, ::8]
    tensor, info = accel.preprocess(frame, 640, backend=backend)
    padded = opencv_letterbox(cv2, frame, info)
    blob = cv2.dnn.blobFromImage(padded, 1 / 255, padded.shape[1::-1], 0.0, swapRB=True)
    assert tensor.tobytes() == blob.tobytes()
