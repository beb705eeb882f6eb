"""What the pure-Python family modules share: NumPy data to Python numbers and back, in
ways that are fast under PyPy too (its NumPy goes through cpyext, one call at a time)."""
from array import array

import numpy as np

TYPECODES = {np.dtype(np.float32): "f", np.dtype(np.float64): "d",
             np.dtype(np.int32): "i", np.dtype(np.int64): "q",
             np.dtype(np.int8): "b", np.dtype(np.uint8): "B"}


def values(data):
    """The elements of a native-endian float32, float64, int8, uint8, int32 or int64
    ``data``, flat and row-major, as an ``array.array`` of Python floats (or ints), exactly
    the array's values.

    A copy of the bytes through ``memoryview`` (``ndarray.tobytes()`` is slower under
    PyPy). Not ``ndarray.tolist()``: under PyPy that goes through cpyext one element at a
    time and costs more than a whole NMS.
    """
    return array(TYPECODES[data.dtype], memoryview(data).tobytes())


def plain_ints(numbers):
    """Sizes and offsets (e.g. an ndarray's ``shape``) as plain ints. Under PyPy, NumPy's
    shape entries are big-integer objects, and index arithmetic derived from them is 10x
    slower."""
    return array("q", numbers)


def ndarray(numbers, dtype):
    """Python numbers as a 1-D ndarray of ``dtype``, through ``array.array``."""
    dtype = np.dtype(dtype)
    return np.frombuffer(array(TYPECODES[dtype], numbers), dtype=dtype)
