"""Argument checks shared by every public kernel.

Each check returns what the backends receive: native-endian, C-contiguous, read-only
arrays of the stated dtype. Read-only matters: a backend cannot modify the caller's array
even when no copy was needed.
"""
import math
import numbers
from typing import Optional

import numpy as np

_REAL_KINDS = "iuf"


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


readonly = _readonly  # for the public layers that build their own arrays


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _real(value, name: str, ndim: int) -> np.ndarray:
    """``value`` as an array of real numbers with ``ndim`` dimensions, not yet converted."""
    array = np.asarray(value)
    if array.dtype.kind not in _REAL_KINDS:
        raise TypeError(
            "%s must hold real numbers (integer or float), got dtype %s" % (name, array.dtype)
        )
    if array.ndim != ndim:
        raise ValueError(
            "%s must have %d dimension%s, got shape %s"
            % (name, ndim, "s" if ndim > 1 else "", array.shape)
        )
    return array


def real_array(value, name: str, ndim: int) -> np.ndarray:
    """``value`` as a float64 array of ``ndim`` dimensions; ints and float16 convert."""
    return np.ascontiguousarray(_real(value, name, ndim), dtype=np.float64)


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)


def real_floats(value, name: str, ndim: int) -> np.ndarray:
    """``value`` as a native, C-contiguous float32 or float64 array of ``ndim`` dimensions,
    copied only when it is not one already: float16 becomes float32 and every other real
    dtype float64, both exactly (wider floats round to float64, as ``real_array``)."""
    array = _real(value, name, ndim)
    small = array.dtype.kind == "f" and array.dtype.itemsize <= 4
    return np.ascontiguousarray(array, dtype=_F32 if small else _F64)


def box_value_error(boxes, name: str = "boxes") -> Optional[ValueError]:
    """The error for the first row of (N, 4) ``boxes`` with a NaN or infinite coordinate,
    or with x2 < x1 or y2 < y1; None when every row is valid. The message shows the row
    in float64, whatever the array's float dtype."""
    boxes = np.asarray(boxes, dtype=np.float64)
    finite = np.isfinite(boxes).all(axis=1)
    if not finite.all():
        row = _first_row(~finite)
        return ValueError("%s has a NaN or infinite coordinate in row %d: %s"
                          % (name, row, boxes[row]))
    inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if inverted.any():
        row = _first_row(inverted)
        return ValueError(
            "%s row %d has x2 < x1 or y2 < y1 (boxes are x1, y1, x2, y2): %s"
            % (name, row, boxes[row])
        )
    return None


def score_value_error(scores, name: str = "scores") -> Optional[ValueError]:
    """The error for the first NaN or infinite score, or None."""
    finite = np.isfinite(scores)
    if not finite.all():
        return ValueError("%s has a NaN or infinite value at index %d" % (name, _first_row(~finite)))
    return None


def boxes_array(value, name: str = "boxes") -> np.ndarray:
    """(N, 4) boxes as x1, y1, x2, y2 with finite coordinates and x1 <= x2, y1 <= y2."""
    boxes = real_array(value, name, 2)
    if boxes.shape[1] != 4:
        raise ValueError("%s must have shape (N, 4), got %s" % (name, boxes.shape))
    # Fast path, two NumPy calls where the exact checks below take six (a real cost at
    # the 100 boxes a detector leaves): a finite sum means every coordinate is finite (a
    # NaN or infinity makes it NaN or infinite); only a sum that overflowed, or a failed
    # check, takes the exact path that finds the first bad row for the message.
    if math.isfinite(boxes.sum()) and not (boxes[:, 2:] < boxes[:, :2]).any():
        return _readonly(boxes)
    error = box_value_error(boxes, name)
    if error is not None:
        raise error
    return _readonly(boxes)


def scores_array(value, n: int, name: str = "scores") -> np.ndarray:
    """(N,) finite real scores, N matching the boxes."""
    scores = real_array(value, name, 1)
    if scores.shape[0] != n:
        raise ValueError(_LENGTH % (name, scores.shape[0], n))
    if math.isfinite(scores.sum()):  # as for boxes: finite sum, finite values
        return _readonly(scores)
    error = score_value_error(scores, name)
    if error is not None:
        raise error
    return _readonly(scores)


_LENGTH = "%s has length %d but boxes has %d rows"


# The NMS kernels' inputs (``nms`` and ``batched_nms``; see accel._backends). Only the
# structure is checked here; the values (finite, x1 <= x2, y1 <= y2) are checked by the
# backend in its first pass, and the errors above are raised when it finds a bad one.
# No copy and no view when the input already is what the backends take: at the 100
# boxes a detector leaves, each costs as much as a tenth of the NMS.

def nms_boxes(value, name: str = "boxes") -> np.ndarray:
    """(N, 4) boxes as a native C-contiguous float32 or float64 array (the caller's own
    when it is one), values unchecked."""
    if type(value) is np.ndarray:
        dtype = value.dtype
        if ((dtype is _F32 or dtype is _F64) and value.ndim == 2 and value.shape[1] == 4
                and value.flags.c_contiguous):
            return value
    boxes = real_floats(value, name, 2)
    if boxes.shape[1] != 4:
        raise ValueError("%s must have shape (N, 4), got %s" % (name, boxes.shape))
    return boxes


def nms_scores(value, n: int, name: str = "scores") -> np.ndarray:
    """(N,) scores as a native C-contiguous float32 or float64 array, values unchecked."""
    if type(value) is np.ndarray:
        dtype = value.dtype
        if ((dtype is _F32 or dtype is _F64) and value.ndim == 1 and value.shape[0] == n
                and value.flags.c_contiguous):
            return value
    scores = real_floats(value, name, 1)
    if scores.shape[0] != n:
        raise ValueError(_LENGTH % (name, scores.shape[0], n))
    return scores


def nms_value_error(boxes, scores=None) -> Optional[ValueError]:
    """What ``boxes_array`` then ``scores_array`` would raise on these values, or None."""
    error = box_value_error(boxes)
    if error is None and scores is not None:
        error = score_value_error(scores)
    return error


def classes_array(value, n: int, name: str = "classes") -> np.ndarray:
    """(N,) integer class ids as int64 (read-only unless the caller's own int64 array,
    C-contiguous, is passed as is)."""
    if (type(value) is np.ndarray and value.dtype is _I64 and value.ndim == 1
            and value.shape[0] == n and value.flags.c_contiguous):
        return value
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        raise TypeError(
            "%s must be integers, got dtype %s (convert with .astype(np.int64))"
            % (name, array.dtype)
        )
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError("%s must have shape (%d,) to match boxes, got %s" % (name, n, array.shape))
    if array.dtype == np.uint64 and n and array.max() > np.iinfo(np.int64).max:
        raise ValueError("%s has a value above the int64 range at index %d"
                         % (name, _first_row(array > np.iinfo(np.int64).max)))
    return _readonly(np.ascontiguousarray(array, dtype=np.int64))


def _real_scalar(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a real number, got %r" % (name, value))
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("%s must be finite, got %r" % (name, value))
    return value


def unit_interval(value, name: str) -> float:
    if type(value) is float and 0.0 <= value <= 1.0:  # the common call, decided at once
        return value
    value = _real_scalar(value, name)
    if not 0.0 <= value <= 1.0:
        raise ValueError("%s must be in [0, 1], got %r" % (name, value))
    return value


def finite_or_default(value, name: str, default: float) -> float:
    return default if value is None else _real_scalar(value, name)


def positive(value, name: str) -> float:
    value = _real_scalar(value, name)
    if value <= 0.0:
        raise ValueError("%s must be > 0, got %r" % (name, value))
    return value


def count_or_default(value, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("%s must be an integer or None, got %r" % (name, value))
    if value < 0:
        raise ValueError("%s must be >= 0, got %r" % (name, value))
    return min(int(value), default)


def flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError("%s must be True or False, got %r" % (name, value))
    return bool(value)


def choice(value, name: str, options) -> str:
    if value not in options:
        raise ValueError("%s must be one of %s, got %r" % (name, ", ".join(map(repr, options)), value))
    return value



def image_array(value, name: str = "img"):
    """uint8 (h, w, C), C in {1, 3, 4}, or (h, w) grey, as a C-contiguous read-only
    (h, w, C) array; returns ``(array, was_grey)``. Copies only non-contiguous input."""
    if not isinstance(value, np.ndarray):
        raise TypeError("%s must be a numpy uint8 array, got %s" % (name, type(value).__name__))
    if value.dtype != np.uint8:
        raise TypeError("%s must have dtype uint8, got %s" % (name, value.dtype))
    grey = value.ndim == 2
    if grey:
        value = value[:, :, None]
    if value.ndim != 3 or value.shape[2] not in (1, 3, 4):
        raise ValueError("%s must be (h, w), or (h, w, C) with C in 1, 3, 4; got shape %s"
                         % (name, value.shape if not grey else value.shape[:2]))
    if value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError("%s is empty: shape %s" % (name, value.shape))
    return _readonly(np.ascontiguousarray(value)), grey


def _one_per_channel(value, name: str, channels: int) -> np.ndarray:
    """A real number or one per channel, as a (channels,) array."""
    values = np.atleast_1d(np.asarray(value))
    if values.dtype.kind not in "iuf" or values.ndim != 1:
        raise TypeError("%s must be a number or one number per channel, got %r" % (name, value))
    if values.shape[0] == 1:
        values = np.repeat(values, channels)
    if values.shape[0] != channels:
        raise ValueError("%s has %d values but the image has %d channels"
                         % (name, values.shape[0], channels))
    return values


# pad_values of one plain int (the default 114) per channel count: read-only arrays, so
# every call may share them. The NumPy checks below cost 10 us of a 400 us preprocess.
_PLAIN_PADS: dict = {}


def pad_values(value, channels: int, name: str = "pad_value") -> np.ndarray:
    """One 0..255 integer, or one per channel, as uint8 (channels,)."""
    if type(value) is int and 0 <= value <= 255:
        key = (value, channels)
        values = _PLAIN_PADS.get(key)
        if values is None:
            values = _PLAIN_PADS[key] = _readonly(np.full(channels, value, np.uint8))
        return values
    values = _one_per_channel(value, name, channels)
    if not (np.all(values == np.round(values)) and values.min() >= 0 and values.max() <= 255):
        raise ValueError("%s must be integers in 0..255, got %r" % (name, value))
    return _readonly(values.astype(np.uint8))


def per_channel(value, name: str, channels: int) -> np.ndarray:
    """A finite scalar or one finite value per channel, as float32 (channels,)."""
    values = _one_per_channel(value, name, channels).astype(np.float32)
    if not np.isfinite(values).all():
        raise ValueError("%s must be finite in float32, got %r" % (name, value))
    return _readonly(values)


def output_array(value, name: str, shape, dtype) -> np.ndarray:
    """A caller-supplied output: exact shape and dtype, C-contiguous, writable."""
    if not isinstance(value, np.ndarray):
        raise TypeError("%s must be a numpy array, got %s" % (name, type(value).__name__))
    if value.dtype != dtype:
        raise TypeError("%s must have dtype %s, got %s" % (name, np.dtype(dtype), value.dtype))
    if value.shape != tuple(shape):
        raise ValueError("%s must have shape %s, got %s" % (name, tuple(shape), value.shape))
    if not value.flags.c_contiguous:
        raise ValueError("%s must be C-contiguous (a slice like batch[i:i+1] is)" % (name,))
    if not value.flags.writeable:
        raise ValueError("%s is read-only" % (name,))
    return value


def float_array(value, name: str) -> np.ndarray:
    """A float array as float32 or float64, native byte order, C-contiguous, read-only.

    float16 becomes float32 (every float16 is a float32, and the kernels compute in the
    data's type); wider floats become float64. Copies only when a conversion is needed.
    """
    if type(value) is np.ndarray and (value.dtype is _F32 or value.dtype is _F64):
        if value.flags.c_contiguous:  # a runtime's output: no conversion, a read-only view
            return _readonly(value)
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise TypeError("%s must be a float array (a detector output), got dtype %s"
                        % (name, array.dtype))
    dtype = np.float64 if array.dtype.itemsize >= 8 else np.float32
    return _readonly(np.ascontiguousarray(array, dtype=dtype))


# OpenBLAS runs a dot product of more than 10000 elements on several threads. Waking them
# costs milliseconds when the cores are busy (measured: 4-8 ms for the 80 000 kept values
# of a 1280 px raw decode, on a 2-core VM running other work, where one thread takes
# 0.05 ms), and a frame pipeline's threads are exactly that load. Chunks below the
# threshold stay on the calling thread.
_DOT_CHUNK = 8192


def probably_finite(flat: np.ndarray) -> bool:
    """True when every value of the 1-D ``flat`` is finite, and for some arrays of huge
    finite values (then the caller's exact test finds nothing): a sum of squares (BLAS
    dots, no temporary, no floating-point warning, about twice as fast as
    ``isfinite().all()``) is finite exactly when every value is, unless it overflows."""
    if flat.shape[0] <= _DOT_CHUNK:  # the kept rows of a decode: 0.6 us, not 4
        return math.isfinite(flat.dot(flat))
    for start in range(0, flat.shape[0], _DOT_CHUNK):
        part = flat[start:start + _DOT_CHUNK]
        if not np.isfinite(np.dot(part, part)):
            return False
    return True


def all_finite(array: np.ndarray, name: str, hint: str = "") -> None:
    """Raise naming the first NaN or infinity of ``array`` (``probably_finite``, then the
    element-wise test where that is not sure)."""
    if probably_finite(array.reshape(-1)):
        return
    bad = ~np.isfinite(array)
    if bad.any():
        raise non_finite(name, np.unravel_index(_first_row(bad.reshape(-1)), array.shape), hint)


def non_finite(name: str, index, hint: str = "") -> ValueError:
    """The error of ``all_finite`` for the value at ``index`` (a tuple of ints)."""
    return ValueError("%s has a NaN or infinite value at index %s%s"
                      % (name, tuple(int(i) for i in index), hint))


def class_ids(value, nc: int, name: str = "classes"):
    """None, or a boolean (nc,) mask of the class ids listed in ``value``."""
    if value is None:
        return None
    ids = np.asarray(value).reshape(-1)
    if ids.dtype.kind not in "iu":
        raise TypeError("%s must be integer class ids, got %r" % (name, value))
    outside = (ids < 0) | (ids >= nc)
    if outside.any():
        raise ValueError("%s has class id %d, outside 0..%d" % (name, ids[outside][0], nc - 1))
    mask = np.zeros(nc, dtype=bool)
    mask[ids] = True
    return mask
