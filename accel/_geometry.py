"""Letterbox geometry: where the resized image sits in the model input, and back.

A leaf: preprocessing (which builds the geometry) and decoding (which inverts it) both
import it, and it imports nothing of accel's.
"""
from typing import NamedTuple, Tuple

import numpy as np


class LetterboxInfo(NamedTuple):
    """Everything needed to map boxes between the letterboxed and the source image.

    ``accel.scale_boxes(boxes, info)`` maps boxes in letterboxed pixels back to the
    source image: ``(x - pad_left) * w / new_w`` (likewise y), the exact inverse of the
    resize done, which ``(x - pad_left) / scale`` approximates to within a pixel.
    """

    scale: float  # r = min(H/h, W/w), capped at 1 without scaleup
    pad_left: int
    pad_top: int
    src_shape: Tuple[int, int]  # (h, w) of the input image
    resized_shape: Tuple[int, int]  # (h, w) of the resized image inside the output
    dst_shape: Tuple[int, int]  # (H, W) of the output, padding included


# letterbox_geometry of plain arguments: a camera gives every frame the same shape, and
# the arithmetic below costs 4 us of a 400 us preprocess. Bounded: cleared when full.
_PLAIN_GEOMETRY: dict = {}


def letterbox_geometry(src_shape, new_shape=640, auto=False, stride=32, scaleup=True,
                       center=True) -> LetterboxInfo:
    """Ultralytics ``LetterBox`` geometry (see the README for the formula)."""
    plain = type(src_shape) is tuple and type(new_shape) is int and type(stride) is int \
        and type(auto) is bool and type(scaleup) is bool and type(center) is bool
    if plain:
        key = (src_shape, new_shape, auto, stride, scaleup, center)
        found = _PLAIN_GEOMETRY.get(key)
        if found is not None:
            return found
        if len(_PLAIN_GEOMETRY) > 64:
            _PLAIN_GEOMETRY.clear()
        info = _PLAIN_GEOMETRY[key] = _letterbox_geometry(src_shape, new_shape, auto, stride,
                                                          scaleup, center)
        return info
    return _letterbox_geometry(src_shape, new_shape, auto, stride, scaleup, center)


def _letterbox_geometry(src_shape, new_shape, auto, stride, scaleup, center) -> LetterboxInfo:
    h, w = src_shape
    target_h, target_w = shape_pair(new_shape)
    r = min(target_h / h, target_w / w)
    if not scaleup:
        r = min(r, 1.0)
    # A 1 x 10000 strip would round to 0 rows; keep at least one (ultralytics would fail).
    new_w, new_h = max(1, int(round(w * r))), max(1, int(round(h * r)))
    dw: float = target_w - new_w
    dh: float = target_h - new_h
    if auto:
        dw, dh = dw % stride, dh % stride
    if center:
        dw, dh = dw / 2, dh / 2
    top = int(round(dh - 0.1)) if center else 0
    bottom = int(round(dh + 0.1))
    left = int(round(dw - 0.1)) if center else 0
    right = int(round(dw + 0.1))
    return LetterboxInfo(r, left, top, (h, w), (new_h, new_w),
                         (new_h + top + bottom, new_w + left + right))


def shape_pair(new_shape) -> Tuple[int, int]:
    """An int or (height, width) as a pair of positive ints."""
    if isinstance(new_shape, (int, np.integer)) and not isinstance(new_shape, bool):
        pair = (int(new_shape), int(new_shape))
    else:
        try:
            values = tuple(int(v) for v in new_shape)
        except (TypeError, ValueError):
            raise ValueError("new_shape must be an int or (height, width), got %r" % (new_shape,))
        if len(values) != 2:
            raise ValueError("new_shape must be an int or (height, width), got %r" % (new_shape,))
        pair = (values[0], values[1])
    if min(pair) < 1:
        raise ValueError("new_shape must be positive, got %r" % (new_shape,))
    return pair


def inverse_mapping(info: LetterboxInfo) -> Tuple[float, float, float, float, float, float]:
    """``(gain_x, gain_y, pad_x, pad_y, width, height)`` that map letterboxed pixels back to
    the source image: ``x -> (x - pad_x) / gain_x``, clipped to ``[0, width]``."""
    (h, w), (new_h, new_w) = info.src_shape, info.resized_shape
    # The resize maps [0, w] onto [0, new_w] exactly, whatever r rounded to.
    return new_w / w, new_h / h, float(info.pad_left), float(info.pad_top), float(w), float(h)
