"""Public ``process_masks``: instance-segmentation masks from prototypes and coefficients."""
from __future__ import annotations

from typing import List, Optional, TYPE_CHECKING, Tuple, Union

import numpy as np

from . import _validate as check
from ._dispatch import implementation
from ._geometry import LetterboxInfo, shape_pair

if TYPE_CHECKING:  # annotations only: numpy.typing is not imported at run time
    from numpy.typing import ArrayLike

CompactMasks = Tuple[List[np.ndarray], np.ndarray]


def process_masks(protos: ArrayLike, coeffs: ArrayLike, boxes: ArrayLike, *,
                  shape: Optional[Tuple[int, int]] = None,
                  letterbox: Optional[LetterboxInfo] = None, compact: bool = False,
                  out: Optional[np.ndarray] = None, check_finite: bool = True,
                  backend: Optional[str] = None) -> Union[np.ndarray, CompactMasks]:
    """Binary instance masks from a segmentation head: prototypes x coefficients, upsampled
    bilinearly, cropped to each box, thresholded at logit 0.

    Two targets, as ultralytics has them:

    - ``shape=(H, W)``, the model input size (ultralytics ``process_mask(...,
      upsample=True)``, what ``predict`` does by default): boxes in input pixels; the
      whole prototype map is stretched over the input.
    - ``letterbox=info`` (from ``accel.letterbox``/``preprocess``): masks on the original
      frame (ultralytics ``process_mask_native``, ``retina_masks=True``): boxes in frame
      pixels; the prototype rows and columns under the letterbox padding are cut, and the
      rest is stretched over the frame.

    The mask of detection k at target pixel (x, y) is on iff x, y lie in its box
    (``x1 <= x < x2`` and ``y1 <= y < y2`` on integer pixel indices, ultralytics'
    ``crop_mask`` rule) and the bilinear interpolation (``align_corners=False``, as
    ``F.interpolate``) of the prototype logits ``coeffs[k] @ protos`` at that pixel is
    ``> 0`` (sigmoid > 0.5; no sigmoid is computed). Only pixels inside a box are ever
    computed, each straight into the output: no ``K x H x W`` float intermediate exists.

    Exactness: all arithmetic is float64 from the float32 inputs, in one fixed order
    (see ``accel._backends``), so every backend returns the same bits. Against a float64
    rendering of the same formulas that sums in another order (a matmul), a pixel can
    differ only where that logit is within ``1e-9 * S`` of 0, ``S = sum_c |coeffs[k, c]|
    * max |protos[c]|``; against ultralytics' float32 torch path, within ``1e-5 * S``
    (its float32 matmul and interpolation round). The tests count such pixels.

    Where accel deliberately differs from ultralytics:

    - ``process_mask`` crops at prototype resolution (boxes scaled by ``mw / W``) and then
      upsamples, which can switch on pixels up to about one prototype cell (``W / mw``
      pixels) outside the box and blurs its edges; accel always crops at the target
      resolution, as ``process_mask_native`` does.
    - The prototype window under the letterbox padding comes from the ``LetterboxInfo``
      (``top = int(pad_top * mh / H_in)``, ``bottom = int((pad_top + new_h) * mh /
      H_in)``, likewise columns, at least one row and column) instead of being derived
      from the frame size as if the padding were centred: the same rows for a centred
      letterbox (up to the rounding of an odd padding), right for ``center=False`` too.

    Args:
        protos: (C, mh, mw) or (1, C, mh, mw) prototypes, float32 or float16 (widened
            exactly to float32).
        coeffs: (K, C) mask coefficients (the ``nc=``-extra columns of a decoder), any
            float dtype.
        boxes: (K, 4) x1, y1, x2, y2 in target pixels (input pixels with ``shape``,
            frame pixels with ``letterbox``); finite, ``x1 <= x2``, ``y1 <= y2``. Boxes
            partly or wholly outside the target are cut to it.
        shape / letterbox: the target, exactly one of them.
        compact: return each mask cut to its box instead of full frames.
        out: with ``compact=False``, a C-contiguous writable bool (K, H, W) array to fill
            (reused across frames: no fresh pages per call).
        check_finite: raise on NaN or infinity in ``protos`` or ``coeffs``.
        backend: one of ``accel.BACKEND_NAMES``.

    Returns:
        ``compact=False``: bool (K, H, W). ``compact=True``: ``(masks, origins)``, a list
        of K bool arrays ``(y1 - y0, x1 - x0)`` (the box's pixels inside the target; (0,
        0)-sized for a box outside it) and an int64 (K, 2) array of each mask's target
        pixel ``(x0, y0)``.
    """
    protos = _prototypes(protos)
    channels = protos.shape[0]
    coeffs = _coefficients(coeffs, channels)
    boxes = check.boxes_array(boxes)
    if boxes.shape[0] != coeffs.shape[0]:
        raise ValueError("boxes has %d rows but coeffs has %d" % (boxes.shape[0], coeffs.shape[0]))
    if check_finite:
        check.all_finite(protos, "protos", " (check_finite=False skips this check)")
        check.all_finite(coeffs, "coeffs", " (check_finite=False skips this check)")
    (height, width), (top, left, rows, cols) = _target(protos.shape[1:], shape, letterbox)
    windows = _windows(boxes, height, width)
    widths, heights = windows[:, 2] - windows[:, 0], windows[:, 3] - windows[:, 1]
    areas = widths * heights
    count = boxes.shape[0]
    if compact:
        offsets = np.cumsum(areas) - areas
        strides = widths  # a fresh array: the backends only read it
        flat = np.zeros(int(areas.sum()), dtype=np.uint8)
    else:
        result = (np.zeros((count, height, width), dtype=np.bool_) if out is None
                  else _zeroed(out, (count, height, width)))
        offsets = (np.arange(count, dtype=np.int64) * height * width
                   + windows[:, 1] * width + windows[:, 0])
        strides = np.full(count, width, dtype=np.int64)
        flat = result.reshape(-1).view(np.uint8)
    size = max(1, int(areas.sum()))
    implementation("process_masks", size, backend)(
        protos, coeffs, windows, offsets, strides, rows / height, cols / width,
        top, left, rows, cols, flat)
    if not compact:
        return result
    masks = [flat[offsets[k]:offsets[k] + areas[k]].view(np.bool_)
             .reshape(int(heights[k]), int(widths[k])) for k in range(count)]
    return masks, np.ascontiguousarray(windows[:, :2])


def _prototypes(value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype not in (np.float32, np.float16):
        raise TypeError("protos must be float32 or float16 (a segmentation head's output), "
                        "got dtype %s" % (array.dtype,))
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise ValueError("protos must have shape (C, mh, mw) or (1, C, mh, mw), got %s"
                         % (np.shape(value),))
    if min(array.shape) < 1:
        raise ValueError("protos is empty: shape %s" % (array.shape,))
    return check.readonly(np.ascontiguousarray(array, dtype=np.float32))


def _coefficients(value, channels: int) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise TypeError("coeffs must be a float array, got dtype %s" % (array.dtype,))
    if array.ndim != 2 or array.shape[1] != channels:
        raise ValueError("coeffs must have shape (K, %d) to match protos' %d channels, got %s"
                         % (channels, channels, array.shape))
    return check.readonly(np.ascontiguousarray(array, dtype=np.float64))


def _target(proto_shape, shape, letterbox):
    """((H, W) of the target, (top, left, rows, cols) of the prototype window)."""
    mh, mw = proto_shape
    if (shape is None) == (letterbox is None):
        raise ValueError("give exactly one of shape=(H, W) (masks at the model input) and "
                         "letterbox=info (masks on the original frame)")
    if shape is not None:
        return shape_pair(shape), (0, 0, mh, mw)
    if not isinstance(letterbox, LetterboxInfo):
        raise TypeError("letterbox must be a LetterboxInfo (from accel.letterbox or "
                        "accel.preprocess), got %s" % (type(letterbox).__name__,))
    (input_h, input_w), (new_h, new_w) = letterbox.dst_shape, letterbox.resized_shape
    top, bottom = _span(letterbox.pad_top, new_h, mh, input_h)
    left, right = _span(letterbox.pad_left, new_w, mw, input_w)
    return tuple(letterbox.src_shape), (top, left, bottom - top, right - left)


def _span(pad: int, length: int, cells: int, size: int) -> Tuple[int, int]:
    """Prototype cells under input pixels ``pad .. pad + length``: truncated as
    ultralytics' ``scale_masks`` does, never empty."""
    first = min(int(pad * cells / size), cells - 1)
    last = min(int((pad + length) * cells / size), cells)
    return first, max(last, first + 1)


def _windows(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """int64 (K, 4) x0, y0, x1, y1: the integer pixels x with x1 <= x < x2 are
    ceil(x1) .. ceil(x2) - 1, cut to the target."""
    edges = np.ceil(boxes)
    limits = np.array([width, height, width, height], dtype=np.float64)
    edges = np.clip(edges, 0.0, limits).astype(np.int64)
    edges[:, 2:] = np.maximum(edges[:, 2:], edges[:, :2])
    return check.readonly(edges)


def _zeroed(out, shape) -> np.ndarray:
    out = check.output_array(out, "out", shape, np.bool_)
    out.fill(False)
    return out
