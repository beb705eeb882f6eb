"""Public ``scale_boxes``: boxes from letterboxed pixels back to source-image pixels."""
from __future__ import annotations

import math
from typing import Optional, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _validate as check
from ._dispatch import implementation
from ._geometry import LetterboxInfo, inverse_mapping

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike


def _mapping(info, src_shape, clip: bool):
    """(gain_x, gain_y, pad_x, pad_y, width, height) of a LetterboxInfo or (scale, pad)."""
    if isinstance(info, LetterboxInfo):
        return inverse_mapping(info)
    try:
        scale, (pad_x, pad_y) = info
    except (TypeError, ValueError):
        raise TypeError("info must be a LetterboxInfo (from accel.letterbox/preprocess) or "
                        "(scale, (pad_x, pad_y)), got %r" % (info,)) from None
    scale = check.positive(scale, "info's scale")
    pad_x = check.finite_or_default(pad_x, "info's pad_x", 0.0)
    pad_y = check.finite_or_default(pad_y, "info's pad_y", 0.0)
    if src_shape is None:
        if clip:
            raise ValueError("clip=True needs src_shape=(h, w) of the source image when info "
                             "is an explicit (scale, pad); or pass clip=False")
        return scale, scale, pad_x, pad_y, math.inf, math.inf
    if not isinstance(src_shape, (tuple, list)) or len(src_shape) != 2:
        raise TypeError("src_shape must be (h, w), got %r" % (src_shape,))
    # a list, not a generator: PyPy misreports a TypeError raised inside an unpacked one
    h, w = [check.positive(v, "src_shape") for v in src_shape]
    return scale, scale, pad_x, pad_y, w, h


def scale_boxes(boxes: ArrayLike, info: Union[LetterboxInfo, Tuple[float, Tuple[float, float]]],
                *, clip: bool = True, src_shape: Optional[Tuple[float, float]] = None,
                backend: Optional[str] = None) -> np.ndarray:
    """Map boxes from letterboxed pixels back to source-image pixels.

    With a ``LetterboxInfo``: ``x -> (x - pad_left) / (new_w / w)`` and ``y -> (y -
    pad_top) / (new_h / h)``, the exact inverse of the resize that was done (ultralytics
    divides both axes by the rounded ratio ``r`` instead, up to a pixel off on the axis
    whose size was rounded). With ``info=(scale, (pad_x, pad_y))``: ``(x - pad_x) /
    scale``, likewise y. Computed in float64 and rounded to the boxes' dtype once. With
    ``clip``, coordinates are clipped to ``[0, w]`` and ``[0, h]`` of the source image
    (from the LetterboxInfo, or ``src_shape=(h, w)``).

    Args:
        boxes: (K, 4) x1, y1, x2, y2 in letterboxed pixels; float32 and float64 are kept,
            float16 becomes float32 and integers float64.

    Returns:
        A new (K, 4) array; the input is never modified.
    """
    array = np.asarray(boxes)
    if array.dtype.kind in "iu":
        array = array.astype(np.float64)
    array = check.float_array(array, "boxes")
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError("boxes must have shape (K, 4), got %s" % (array.shape,))
    check.all_finite(array, "boxes")
    mapping = _mapping(info, src_shape, bool(clip))
    return implementation("scale_boxes", array.shape[0], backend)(
        array, *mapping[:4], bool(clip), *mapping[4:])
