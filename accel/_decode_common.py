"""What the decoders share: the backend contract, threshold arithmetic and argument checks.

The decoding family's backend boundary (declared in ``accel._backends.BOUNDARY``):

``decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
threshold, multi_label, check_finite) -> (anchors int64 (K,), classes int64 (K,), scores (K,),
first_bad int)``

    ``data`` is a 1-D, C-contiguous, read-only float32 or float64 array holding one
    image's (or one level's) prediction; channel ``ch`` of anchor ``a`` is
    ``data[a * anchor_stride + ch * channel_stride]`` (strides in elements, >= 1, every
    index in range). The score of class ``c`` (``0 <= c < nc``, ``nc >= 1``) is channel
    ``cls_offset + c``. With ``obj_offset >= 0``, an anchor whose objectness (channel
    ``obj_offset``) is not ``> threshold`` is skipped, and each class score is multiplied
    by the objectness in the data's dtype (float32 * float32 rounded to float32).
    Single-label: an anchor's score is the largest class score, its class the first class
    holding it (scanning classes upwards with a strict ``>``); it is kept when
    ``score > threshold``. Multi-label: every (anchor, class) pair with
    ``score > threshold``. Results in increasing anchor order, then increasing class;
    ``scores`` in the data's dtype. ``threshold`` is a Python float exactly representable
    in the data's dtype, so comparing in either precision gives the same decision.
    Finite data gives identical results on every backend; non-finite data with
    ``check_finite`` false gives unspecified kept sets but never a crash.

    ``first_bad`` (a Python int): with ``check_finite`` true, the lowest anchor ``a`` for
    which a value *the scan reads* is NaN or infinite, else -1; always -1 with
    ``check_finite`` false. The values the scan reads are, without objectness
    (``obj_offset < 0``), the ``nc`` class scores of every anchor; with it, the objectness
    of every anchor, and the class scores of the anchors whose objectness is
    ``> threshold`` only (the class scores of a skipped anchor are never read, and a
    NaN among them cannot change the result). The class scores themselves are tested,
    not their products with the objectness. When ``first_bad >= 0`` the three arrays are
    unspecified (a backend may stop scanning there): the public layer raises. Every
    backend reports the same anchor; the compiled scans test while they scan (the
    class-major ones by a running sum per anchor, non-finite when a term is, then an
    exact search of the block it flags, since a sum of finite values can overflow).

    Integer ``data``, int8 or uint8 (the codes of a quantized output, ``accel._quant``):
    ``threshold`` is a Python int, a code cut-off, and a code is above it when ``code >
    threshold`` compared as integers (the cut-off may lie outside the dtype: one below the
    lowest code keeps them all); ``obj_offset`` is always -1 (a backend raises
    ``ValueError`` otherwise) and ``check_finite`` False (codes are finite; ``first_bad``
    is -1). The rules are the float ones on the codes: an anchor's code is its largest
    class code and its class the first holding it, kept when above the cut-off;
    multi-label keeps every (anchor, class) code above it. The third array holds the
    codes, in ``data``'s dtype. Distinct codes dequantize to distinct values in the same
    order, so this is the float scan of the dequantized data with the cut-off's
    threshold, maxima and ties included.

``scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height) -> (K, 4)``

    ``boxes`` is a C-contiguous, read-only (K, 4) float32 or float64 array of x1, y1, x2,
    y2. Each x becomes ``(x - pad_x) / gain_x`` and each y ``(y - pad_y) / gain_y``,
    computed in float64; with ``clip``, a value ``< 0`` becomes ``0.0`` and a value
    ``> width`` (``> height`` for y) becomes ``width`` (``height``), by those two
    comparisons (so ``-0.0`` stays ``-0.0``); then rounded to the boxes' dtype. Returns a
    new array of that dtype: bit-identical on every backend.

What ``check_finite=True`` (the default of every decoder and of ``postprocess``)
guarantees, precisely: every value the scan reads is finite (above), and so are the
other channels the decoder reads for what it keeps: for ``decode_yolov8`` /
``decode_yolov5`` / ``postprocess``, the 4 box channels and the extra channels (those
after the ``nc`` classes, such as mask coefficients) of every anchor kept (after the
``classes`` filter; for ``postprocess``, every decoded candidate, before ``max_nms`` and
NMS); for ``decode_yolov8_raw``, the ``4 * reg_max`` box channels of every cell kept by
the threshold (before the ``classes`` filter); for ``decode_yolov5_raw``, every channel
(box, objectness, classes) of each candidate (cell, anchor), i.e. with objectness above
the threshold. So for YOLOv5 (exported or raw) the class channels of an anchor whose
objectness is ``<= conf_threshold`` are not tested: the scan skips them unread. Before, the whole output was tested
(a NumPy pass costing about as much as the decode); the difference: a NaN or infinity
in a box or extra channel of an anchor that is not kept, or in a class channel of a
YOLOv5 anchor whose objectness is ``<= conf_threshold``, no longer raises (none of them
can change the result). The error is the same ``ValueError``, "NAME has a NaN or
infinite value at index I (check_finite=False skips this check)", where I indexes the
array as passed (after float16 becomes float32; for the raw decoders, the level without
its batch axis). It names the first offending value in this order: the scan's lowest
bad anchor and, within it, the lowest bad channel it read; otherwise the first kept
anchor (in anchor order) with a bad box or extra channel, and its lowest such channel.
The raw decoders take the levels in order, and for YOLOv5 the anchors of a level in
order; ``postprocess`` takes the images in order.

Everything else (the box arithmetic of the K kept rows, sigmoids and the DFL softmax of raw
heads, the NMS step of ``postprocess``) is NumPy code shared by every backend, so the
float results of the decoders are bit-identical across backends by construction: the
backends own the O(nc x anchors) scan, which is where the time goes.
"""
import math
import numbers

import numpy as np

from . import _validate as check
from ._quant import is_quantized_dtype, quant_params

FORMATS = ("yolov8", "yolo11", "yolov5")
LAYOUTS = ("nchw", "nhwc")


# at_or_below's answers: a pipeline decodes every frame at the same threshold, and the
# NumPy scalars below cost about 1 us a call. Bounded: cleared when full.
_AT_OR_BELOW: dict = {}


def at_or_below(value: float, dtype) -> float:
    """The largest value of ``dtype`` that is <= ``value``: for any x of that dtype,
    ``x > result`` exactly when ``x > value``, so every backend may compare in the
    data's precision and the decision is the exact one."""
    key = (value, dtype)
    found = _AT_OR_BELOW.get(key)
    if found is not None:
        return found
    rounded = dtype.type(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, dtype.type(-np.inf))
    if len(_AT_OR_BELOW) > 64:
        _AT_OR_BELOW.clear()
    found = _AT_OR_BELOW[key] = float(rounded)
    return found


def logit(probability: float) -> float:
    """``log(p / (1 - p))`` in float64: ``sigmoid(x) > p`` is decided as ``x > logit(p)``."""
    if probability <= 0.0:
        return -math.inf
    if probability >= 1.0:
        return math.inf
    return math.log(probability) - math.log1p(-probability)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def corners_of(rows) -> np.ndarray:
    """(K, 4) corners of a (4, K) block of cx, cy, w, h rows, in their dtype: ``w / 2`` is
    exact, so each corner is one rounding."""
    halves = rows[2:] / 2
    corners = np.empty((4, rows.shape[1]), dtype=rows.dtype)
    np.subtract(rows[:2], halves, out=corners[:2])
    np.add(rows[:2], halves, out=corners[2:])
    return corners.T.copy()  # one transposing copy: writing through .T views was 2x slower


def filter_classes(mask, results, classes_at: int):
    """Keep the parts of ``results`` whose class (``results[classes_at]``) is in ``mask``."""
    if mask is None:
        return results
    keep = mask[results[classes_at]]
    return tuple(part[keep] for part in results)


# ---------------------------------------------------------------- argument checks

SKIP_HINT = " (check_finite=False skips this check)"


def prediction(pred, name: str) -> np.ndarray:
    """The detector output as the backends take it; its NaN/inf test is done while
    decoding (the contract above)."""
    return check.float_array(pred, name)


def quantized_prediction(pred, name: str, quant, quant_name: str = "quant"):
    """``(array, params)``: a float output as ``prediction`` gives it and ``None``, or an
    int8/uint8 output (C-contiguous, read-only, not copied when it already is) and its
    checked ``accel._quant.Quant``. An integer output needs ``quant``, a float one takes
    none: either mistake is a ``TypeError`` naming both."""
    if quant is None:
        array = np.asarray(pred)
        if is_quantized_dtype(array.dtype):
            raise TypeError("%s is %s, a quantized output: pass %s=(scale, zero_point), its "
                            "DequantizeLinear parameters" % (name, array.dtype, quant_name))
        return prediction(array, name), None
    array = np.asarray(pred)
    if not is_quantized_dtype(array.dtype):
        raise TypeError("%s is for int8 or uint8 outputs, but %s is %s (a float output is "
                        "decoded without %s)" % (quant_name, name, array.dtype, quant_name))
    params = quant_params(quant, quant_name, array.dtype)
    return check.readonly(np.ascontiguousarray(array)), params


def box_scale_pair(value):
    """``None``, or the checked ``(W, H)`` of ``box_scale`` (one number is both)."""
    if value is None:
        return None
    pair = (value, value) if isinstance(value, numbers.Real) else value
    if isinstance(pair, (str, bytes)) or not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError("box_scale must be the input size (W, H) the boxes are normalised "
                        "to, or one number for both, got %r" % (value,))
    # finite too; two calls, not an unpacked generator: PyPy reports a TypeError raised
    # inside one as "cannot unpack non-iterable generator object"
    return check.positive(pair[0], "box_scale"), check.positive(pair[1], "box_scale")


def scale_xywh(rows: np.ndarray, box_scale) -> None:
    """Multiply the (4, K) cx, cy, w, h ``rows`` in place by ``box_scale``'s (W, H, W, H),
    in their dtype: ultralytics' TFLite backend's ``x[:, [0, 2]] *= w``,
    ``x[:, [1, 3]] *= h`` on the kept anchors."""
    if box_scale is not None:
        width, height = (rows.dtype.type(v) for v in box_scale)
        rows[0::2] *= width
        rows[1::2] *= height


def probably_finite(array: np.ndarray) -> bool:
    """True when every value of the C-contiguous ``array`` is finite, and for some arrays of
    huge finite values (then the caller's exact test finds nothing): ``all_finite``'s fast
    test (``accel._validate.probably_finite``), for the few kept rows."""
    return check.probably_finite(array.reshape(-1))


def first_non_finite(values) -> int:
    """The index of the first NaN or infinity of the 1-D ``values``, or -1."""
    bad = np.flatnonzero(~np.isfinite(values))
    return int(bad[0]) if bad.size else -1


def non_finite_at(name: str, index) -> ValueError:
    return check.non_finite(name, index, SKIP_HINT)


def backend_error(first_bad: int) -> RuntimeError:
    return RuntimeError("decode_scan reported a non-finite value at anchor %d, but that "
                        "anchor holds none: a backend bug" % first_bad)


def one_image(array: np.ndarray, name: str, shape_text: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[0] == 1:
        return array[0]
    if array.ndim != 2:
        hint = " (a batch: use postprocess, or pass one image pred[i])" if array.ndim == 3 else ""
        raise ValueError("%s must have shape %s or (1, %s), got %s%s"
                         % (name, shape_text, shape_text[1:-1], array.shape, hint))
    return array


def class_count(nc, available: int, name: str, axis_text: str) -> int:
    if nc is None:
        if available < 1:
            raise ValueError("%s leaves no channel for classes on %s: a detector output "
                             "needs at least one class score" % (name, axis_text))
        return available
    if isinstance(nc, bool) or not isinstance(nc, (int, np.integer)):
        raise TypeError("nc must be an integer, got %r" % (nc,))
    if not 1 <= nc <= available:
        raise ValueError("nc=%d does not fit %s: %s leaves %s for classes (and extras)"
                         % (nc, name, axis_text,
                            "%d channels" % available if available > 0 else "none"))
    return int(nc)
