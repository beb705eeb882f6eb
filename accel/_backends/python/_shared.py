"""What the pure-Python family modules share: NumPy data to Python numbers and back, in
ways that are fast under PyPy too (its NumPy goes through cpyext, one call at a time)."""
import platform
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


if platform.python_implementation() == "PyPy":
    from cffi import FFI  # part of PyPy itself: nothing compiled, nothing to install

    _ffi = FFI()
    _CTYPES = {np.dtype(np.float32): "float[]", np.dtype(np.float64): "double[]",
               np.dtype(np.int32): "int32_t[]", np.dtype(np.int64): "int64_t[]",
               np.dtype(np.int8): "int8_t[]", np.dtype(np.uint8): "uint8_t[]"}

    def elements(data):
        """The elements of a C-contiguous ``data`` (dtypes of ``values``), read by index
        as Python numbers: here a bounds-checked cffi view of its memory (PyPy's JIT
        reads it like a C array), because copying a detector output into an
        ``array.array`` costs PyPy about 1 ms per MB (its byte copies from a cpyext
        buffer), which is most of a 2.8 MB decode."""
        return _ffi.from_buffer(_CTYPES[data.dtype], data)
else:
    def elements(data):
        """The elements of a C-contiguous ``data`` (dtypes of ``values``), read by index
        as Python numbers: ``values(data)`` (under PyPy, a cffi view of its memory)."""
        return values(data)


def plain_ints(numbers):
    """Sizes and offsets (e.g. an ndarray's ``shape``) as plain ints. Under PyPy, NumPy's
    shape entries are big-integer objects, and index arithmetic derived from them is 10x
    slower."""
    return array("q", numbers)


def ndarray(numbers, dtype):
    """Python numbers as a 1-D ndarray of ``dtype``, through ``array.array``."""
    dtype = np.dtype(dtype)
    return np.frombuffer(array(TYPECODES[dtype], numbers), dtype=dtype)
