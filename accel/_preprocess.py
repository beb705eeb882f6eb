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

Other output dtypes: every output element is a function of (output channel, uint8 pixel),
so for float16, uint8 and int8 this layer builds a per-channel table of the 256 possible
outputs with NumPy (``_value_table``: the float32 formula, then the float16 rounding or
``accel._quant.quantize``) and the backends only look entries up. The results are then
exact by construction and bit-identical on every backend (and a uint8 table that is the
identity lets the compiled backends copy pixels). float32 stays arithmetic in
the compiled backends: a lookup per element is about twice the time of the vectorised
``(px - m) * s`` (measured, one 640x640 RGB conversion in C: 0.7-1.0 ms arithmetic,
1.3-1.7 ms lookup), and the float32 NCHW tensor is the common case. Layout ``"nchw"``
writes planes, ``"nhwc"`` interleaved pixels: the same values, transposed.
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Optional, Sequence, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _quant
from . import _validate as check
from ._dispatch import implementation
from ._geometry import LetterboxInfo, letterbox_geometry

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import DTypeLike

COEF_SCALE = 2048  # OpenCV's INTER_RESIZE_COEF_SCALE (11 fractional bits)
LAYOUTS = ("nchw", "nhwc")
DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float16, np.uint8, np.int8))
# The backends see float16 and int8 tensors (and their tables) as unsigned integers of
# the same width: they only copy table entries, so they need widths, not dtypes.
_BITS = {np.dtype(np.float16): np.dtype(np.uint16), np.dtype(np.int8): np.dtype(np.uint8)}
DEFAULT_MEAN, DEFAULT_SCALE = 0.0, 1 / 255


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


class _Tensor(NamedTuple):
    """The checked tensor options of one call, as the backends take them."""

    channel_map: np.ndarray  # int32 (C,)
    mean: np.ndarray  # float32 (C,)
    scale: np.ndarray  # float32 (C,)
    table: Optional[np.ndarray]  # None (float32: arithmetic), or uint8/uint16 (C, 256)
    dtype: np.dtype
    layout: str


_CHECKED: dict = {}  # _typed(arguments) -> _Tensor, for the options a stream repeats


def _typed(value):
    """``value`` with the type of every part, as a dict key (1, 1.0 and True differ);
    raises TypeError for an unhashable value (a list or an array: not cached)."""
    if isinstance(value, tuple):
        return tuple(map(_typed, value))
    hash(value)
    return type(value), value


def _tensor_params(channels, swap_rb, scale, mean, dtype, layout, quant) -> _Tensor:
    """The checked options, cached: checking them costs about 30 us a call, a tenth of
    a 1080p ``preprocess``. Only accepted options are cached (a refusal raises first)."""
    try:
        key = _typed((channels, swap_rb, scale, mean, dtype, layout, quant))
    except TypeError:
        return _check_tensor_params(channels, swap_rb, scale, mean, dtype, layout, quant)
    tensor = _CHECKED.get(key)
    if tensor is None:
        tensor = _check_tensor_params(channels, swap_rb, scale, mean, dtype, layout, quant)
        if len(_CHECKED) < 256:
            _CHECKED[key] = tensor
    return tensor


def _check_tensor_params(channels, swap_rb, scale, mean, dtype, layout, quant) -> _Tensor:
    swap_rb = check.flag(swap_rb, "swap_rb")
    dtype = np.dtype(dtype)
    if dtype not in DTYPES:
        raise TypeError("dtype must be float32, float16, uint8 or int8, got %s" % (dtype,))
    layout = check.choice(layout, "layout", LAYOUTS)
    if quant is not None:
        params = _quant.quant_params(quant, "quant", dtype)  # refuses float dtypes
        quant = (float(params.scale), params.zero_point)
    elif dtype == np.int8:
        raise TypeError("dtype int8 needs quant=(scale, zero_point), got quant=None")
    elif dtype == np.uint8:
        for name, value in (("mean", mean), ("scale", scale)):
            if value is not None:
                raise ValueError(
                    "%s does not apply to dtype uint8 without quant: the tensor holds the "
                    "letterboxed pixels themselves; give quant=(scale, zero_point) for "
                    "quantized normalised values" % (name,))
    mean = check.per_channel(DEFAULT_MEAN if mean is None else mean, "mean", channels)
    scale = check.per_channel(DEFAULT_SCALE if scale is None else scale, "scale", channels)
    table = None
    if dtype != np.float32:
        table = _value_table(mean.tobytes(), scale.tobytes(), dtype.str, quant)
    return _Tensor(_channel_map(channels, swap_rb), mean, scale, table, dtype, layout)


@functools.lru_cache(maxsize=32)
def _value_table(mean: bytes, scale: bytes, dtype: str, quant) -> np.ndarray:
    """(C, 256): the output of every pixel value, per output channel, as the unsigned
    integer bits the backends copy. ``quant`` is None or (float32 scale, zero point).
    Cached: a stream asks for the same table every frame."""
    dtype = np.dtype(dtype)
    mean32, scale32 = np.frombuffer(mean, np.float32), np.frombuffer(scale, np.float32)
    if dtype == np.uint8 and quant is None:
        table = np.tile(np.arange(256, dtype=np.uint8), (mean32.shape[0], 1))
    else:
        pixels = np.arange(256, dtype=np.float32)
        with np.errstate(over="ignore"):  # a huge scale gives inf, as in the float32 tensor
            values = (pixels - mean32[:, None]) * scale32[:, None]
            if quant is None:
                table = values.astype(dtype)
            else:
                params = _quant.Quant(np.float32(quant[0]), quant[1], dtype)
                table = _quant.quantize(values, params)
    return _frozen(table.view(_BITS.get(dtype, dtype)))


def _tensor_out(out, tensor: _Tensor, height, width):
    """The caller's ``out`` (checked) or a new array; and the (C, H, W) or (H, W, C) view
    of it that the backend fills (float16 and int8 as uint16 and uint8)."""
    channels = tensor.channel_map.shape[0]
    if tensor.layout == "nchw":
        shape = (1, channels, height, width)
    else:
        shape = (1, height, width, channels)
    if out is None:
        result = np.empty(shape, dtype=tensor.dtype)
    else:
        result = check.output_array(out, "out", shape, tensor.dtype)
    target = result[0]
    bits = _BITS.get(tensor.dtype)
    return result, (target if bits is None else target.view(bits))


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
              scale: Union[float, Sequence[float], None] = None,
              mean: Union[float, Sequence[float], None] = None, dtype: DTypeLike = np.float32,
              layout: str = "nchw", quant: Optional[Tuple[float, int]] = None,
              out: Optional[np.ndarray] = None, backend: Optional[str] = None) -> np.ndarray:
    """HWC uint8 image to a model input tensor, in any layout and dtype a runtime takes.

    Output channel ``c`` reads image channel ``channel_map[c]``: the channels reversed
    (BGR to RGB; BGRA to RGBA) when ``swap_rb``, else in order. Its float32 value is
    ``(float32(px) - mean[c]) * scale[c]``, two float32 roundings, bit-exact with
    ``cv2.dnn.blobFromImage(img, scale, (W, H), mean, swap_rb)``. ``mean`` and ``scale``
    are one value or one per *output* channel; None means 0.0 and 1/255.

    ``dtype`` and ``quant`` choose what the tensor holds:

    - ``float32``: that value. ``float16``: that value rounded to float16 (the float32
      tensor's ``.astype(np.float16)``, bit for bit).
    - ``uint8`` or ``int8`` with ``quant=(scale, zero_point)`` (the model input's
      quantization parameters): ONNX ``QuantizeLinear`` of the float32 value,
      ``saturate(rint(value / scale) + zero_point)`` with the division in float32 and
      ties rounded to even (``accel._quant.quantize``). TFLite rounds ties away from
      zero; the two differ only where ``value / scale`` is exactly half-way between two
      integers, which never happens with the default normalisation and ``scale`` 1/255
      (checked for all 256 pixel values: no ties, and the codes are the pixels, shifted
      by the zero point).
    - ``uint8`` with ``quant=None``: the pixels themselves, in the output channel order,
      not normalised (RKNN, Hailo and many TFLite models take this). An explicit
      ``mean`` or ``scale`` is then refused (ValueError): nothing would apply them.
    - ``int8`` needs ``quant`` (TypeError without it); float dtypes refuse it.

    ``layout``: ``"nchw"`` gives (1, C, H, W), ``"nhwc"`` (1, H, W, C), the same values.
    ``out``: a C-contiguous array of exactly that shape and ``dtype`` to fill instead of
    allocating (e.g. ``batch[i:i+1]``); it is returned. ``img`` is never modified.

    Errors (TypeError or ValueError) name the argument at fault: ``img``, ``swap_rb``,
    ``mean``, ``scale``, ``dtype``, ``layout``, ``quant``, ``out``.
    """
    src, _ = check.image_array(img)
    height, width, channels = src.shape
    tensor = _tensor_params(channels, swap_rb, scale, mean, dtype, layout, quant)
    result, target = _tensor_out(out, tensor, height, width)
    implementation("to_tensor", height * width, backend)(
        src, target, tensor.channel_map, tensor.mean, tensor.scale, tensor.table, tensor.layout)
    return result


def preprocess(img: np.ndarray, new_shape: Union[int, Tuple[int, int]] = 640, *,
               pad_value: Union[int, Sequence[int]] = 114, auto: bool = False, stride: int = 32,
               scaleup: bool = True, center: bool = True, swap_rb: bool = True,
               scale: Union[float, Sequence[float], None] = None,
               mean: Union[float, Sequence[float], None] = None, dtype: DTypeLike = np.float32,
               layout: str = "nchw", quant: Optional[Tuple[float, int]] = None,
               out: Optional[np.ndarray] = None,
               backend: Optional[str] = None) -> Tuple[np.ndarray, LetterboxInfo]:
    """``to_tensor(letterbox(img, ...)[0], ...)`` in one pass, with no intermediate image.

    Same arguments, contract and bits as the two calls (the padding too is converted:
    ``pad_value`` of channel ``channel_map[c]`` goes through output channel ``c``'s
    formula). ``dtype=np.uint8, layout="nhwc"`` gives the letterboxed image itself
    (channels in output order) as a (1, H, W, C) tensor. ``out`` takes a preallocated
    C-contiguous (1, C, H, W) or (1, H, W, C) array of ``dtype`` (e.g. ``batch[i:i+1]``)
    and no tensor is allocated.

    Returns:
        ``(tensor, LetterboxInfo)``.
    """
    src, _ = check.image_array(img)
    channels = src.shape[2]
    info = letterbox_geometry(src.shape[:2], new_shape, auto, stride, scaleup, center)
    pad = check.pad_values(pad_value, channels)
    tensor = _tensor_params(channels, swap_rb, scale, mean, dtype, layout, quant)
    result, target = _tensor_out(out, tensor, info.dst_shape[0], info.dst_shape[1])
    xcols, xw, yrows, yw = resize_tables(info.src_shape, info.resized_shape)
    implementation("preprocess", src.shape[0] * src.shape[1], backend)(
        src, target, xcols, xw, yrows, yw, info.pad_top, info.pad_left, pad,
        tensor.channel_map, tensor.mean, tensor.scale, tensor.table, tensor.layout)
    return result, info
