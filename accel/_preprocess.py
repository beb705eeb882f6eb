"""Public preprocessing kernels: letterbox, to_tensor and the fused preprocess.

The backends' side (``letterbox``, ``to_tensor``, ``preprocess`` filling a given ``out``) is
declared in ``accel._backends``; the geometry lives in ``accel._geometry``.

Resize tables (int32, computed here, O(w + h)): output column ``x`` blends source columns
``xcols[x, 0]`` and ``xcols[x, 1]`` with 11-bit weights ``xw[x]``; output row ``y`` blends
the horizontal results of source rows ``yrows[y]`` with weights ``yw[y]``. Per channel::

    T(row) = S[row, xcols[x, 0]] * xw[x, 0] + S[row, xcols[x, 1]] * xw[x, 1]      (int32)
    D = ((yw[y, 0] * (T(yrows[y, 0]) >> 4)) >> 16) + ((yw[y, 1] * (T(yrows[y, 1]) >> 4)) >> 16)
    pixel = (D + 2) >> 2

which is OpenCV's ``INTER_LINEAR`` arithmetic for uint8 (its exact-2x INTER_AREA case
gives the same bits through these tables). Tensor values: output channel ``c`` reads
input channel ``channel_map[c]`` and is ``(float32(px) - mean[c]) * scale[c]`` in
float32 arithmetic (two roundings, no fused multiply-add).
"""
from __future__ import annotations

import functools
from typing import Optional, Sequence, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _validate as check
from ._dispatch import implementation
from ._geometry import LetterboxInfo, letterbox_geometry

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import DTypeLike

COEF_SCALE = 2048  # OpenCV's INTER_RESIZE_COEF_SCALE (11 fractional bits)


@functools.lru_cache(maxsize=64)
def _axis_table(src: int, dst: int, clamp_weights: bool):
    """Source indices and 11-bit weights along one axis, as OpenCV computes them.

    OpenCV clamps the column weights at the borders (``fx = 0``) but leaves the row
    weights as computed and clips the row indices instead; at the top and bottom rows of
    an upscale the two truncating products then differ from one full-weight product.
    Cached: a video stream asks for the same tables every frame.
    """
    scale = 1.0 / (dst / src)  # OpenCV stores the inverse scale, then inverts it
    f = ((np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f)
    f = f - s  # float32, exact
    s = s.astype(np.int64)
    if clamp_weights:
        low, high = s < 0, s >= src - 1
        f[low | high] = 0.0
        s[low] = 0
        s[high] = src - 1
    one = np.float32(1.0)
    weights = np.stack([np.rint((one - f) * np.float32(COEF_SCALE)),
                        np.rint(f * np.float32(COEF_SCALE))], axis=1).astype(np.int32)
    indices = np.stack([np.clip(s, 0, src - 1), np.clip(s + 1, 0, src - 1)], axis=1).astype(np.int32)
    indices.flags.writeable = False
    weights.flags.writeable = False
    return indices, weights


def resize_tables(src_shape, resized_shape):
    """(xcols, xw, yrows, yw) for a bilinear resize from ``src_shape`` to ``resized_shape``."""
    (h, w), (new_h, new_w) = src_shape, resized_shape
    xcols, xw = _axis_table(w, new_w, clamp_weights=True)
    yrows, yw = _axis_table(h, new_h, clamp_weights=False)
    return xcols, xw, yrows, yw


def _channel_map(channels: int, swap_rb: bool) -> np.ndarray:
    order = [2, 1, 0, 3][:channels] if swap_rb and channels >= 3 else list(range(channels))
    return _frozen(np.array(order, dtype=np.int32))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _tensor_params(channels, swap_rb, scale, mean, dtype):
    if not isinstance(swap_rb, (bool, np.bool_)):
        raise TypeError("swap_rb must be True or False, got %r" % (swap_rb,))
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float16):
        raise TypeError("dtype must be float32 or float16, got %s" % (dtype,))
    return (_channel_map(channels, bool(swap_rb)), check.per_channel(mean, "mean", channels),
            check.per_channel(scale, "scale", channels), dtype)


def _tensor_out(out, channels, height, width, dtype):
    """The caller's ``out`` (checked) or a new array; and the float32 array to fill."""
    shape = (1, channels, height, width)
    if out is None:
        result = np.empty(shape, dtype=dtype)
    else:
        result = check.output_array(out, "out", shape, dtype)
    if dtype == np.float32:
        return result, result[0]
    return result, np.empty(shape[1:], dtype=np.float32)  # float16: rounded at the end


def letterbox(img: np.ndarray, new_shape: Union[int, Tuple[int, int]] = 640, *,
              pad_value: Union[int, Sequence[int]] = 114, auto: bool = False, stride: int = 32,
              scaleup: bool = True, center: bool = True,
              backend: Optional[str] = None) -> Tuple[np.ndarray, LetterboxInfo]:
    """Resize keeping the aspect ratio, then pad to ``new_shape`` (ultralytics ``LetterBox``).

    Geometry: ``r = min(H/h, W/w)`` (capped at 1 unless ``scaleup``); the image is
    resized to ``(round(h*r), round(w*r))`` (at least 1 pixel) with bilinear
    interpolation bit-exact with ``cv2.resize(..., interpolation=cv2.INTER_LINEAR)``,
    and placed with ``top = round(dh - 0.1)``, ``left = round(dw - 0.1)`` of the
    padding (``dh``, ``dw`` halved when ``center``; taken modulo ``stride`` when
    ``auto``). No resize happens when the size is unchanged.

    Args:
        img: uint8 (h, w, C) with C in {1, 3, 4}, or (h, w) grey; any strides.
        new_shape: int or (height, width).
        pad_value: 0..255, one value or one per channel.

    Returns:
        ``(image, LetterboxInfo)``: uint8 with the input's layout (grey stays 2-D).
    """
    src, grey = check.image_array(img)
    info = letterbox_geometry(src.shape[:2], new_shape, auto, stride, scaleup, center)
    pad = check.pad_values(pad_value, src.shape[2])
    out = np.empty(info.dst_shape + (src.shape[2],), dtype=np.uint8)
    xcols, xw, yrows, yw = resize_tables(info.src_shape, info.resized_shape)
    implementation("letterbox", src.shape[0] * src.shape[1], backend)(
        src, out, xcols, xw, yrows, yw, info.pad_top, info.pad_left, pad)
    return (out[:, :, 0] if grey else out), info


def to_tensor(img: np.ndarray, *, swap_rb: bool = True,
              scale: Union[float, Sequence[float]] = 1 / 255,
              mean: Union[float, Sequence[float]] = 0.0, dtype: DTypeLike = np.float32,
              out: Optional[np.ndarray] = None, backend: Optional[str] = None) -> np.ndarray:
    """HWC uint8 image to a (1, C, H, W) tensor: ``(px - mean[c]) * scale[c]`` in float32.

    Channels are reversed (BGR to RGB; BGRA to RGBA) when ``swap_rb``; ``mean`` and
    ``scale`` are one value or one per *output* channel. Bit-exact with
    ``cv2.dnn.blobFromImage(img, scale, (W, H), mean, swap_rb)``. ``dtype=np.float16``
    rounds the float32 values. ``out``: a C-contiguous (1, C, H, W) array of ``dtype``
    to fill instead of allocating (e.g. a slice of a batch).
    """
    src, _ = check.image_array(img)
    height, width, channels = src.shape
    channel_map, mean, scale, dtype = _tensor_params(channels, swap_rb, scale, mean, dtype)
    result, target = _tensor_out(out, channels, height, width, dtype)
    implementation("to_tensor", height * width, backend)(src, target, channel_map, mean, scale)
    if dtype != np.float32:
        result[0] = target
    return result


def preprocess(img: np.ndarray, new_shape: Union[int, Tuple[int, int]] = 640, *,
               pad_value: Union[int, Sequence[int]] = 114, auto: bool = False, stride: int = 32,
               scaleup: bool = True, center: bool = True, swap_rb: bool = True,
               scale: Union[float, Sequence[float]] = 1 / 255,
               mean: Union[float, Sequence[float]] = 0.0, dtype: DTypeLike = np.float32,
               out: Optional[np.ndarray] = None,
               backend: Optional[str] = None) -> Tuple[np.ndarray, LetterboxInfo]:
    """``to_tensor(letterbox(img, ...)[0], ...)`` in one pass, with no intermediate image.

    Same arguments and the same bits as the two calls. ``out`` takes a preallocated
    C-contiguous (1, C, H, W) array (e.g. ``batch[i:i+1]``) and no tensor is allocated.

    Returns:
        ``(tensor, LetterboxInfo)``.
    """
    src, _ = check.image_array(img)
    channels = src.shape[2]
    info = letterbox_geometry(src.shape[:2], new_shape, auto, stride, scaleup, center)
    pad = check.pad_values(pad_value, channels)
    channel_map, mean, scale, dtype = _tensor_params(channels, swap_rb, scale, mean, dtype)
    result, target = _tensor_out(out, channels, info.dst_shape[0], info.dst_shape[1], dtype)
    xcols, xw, yrows, yw = resize_tables(info.src_shape, info.resized_shape)
    implementation("preprocess", src.shape[0] * src.shape[1], backend)(
        src, target, xcols, xw, yrows, yw, info.pad_top, info.pad_left, pad,
        channel_map, mean, scale)
    if dtype != np.float32:
        result[0] = target
    return result, info
