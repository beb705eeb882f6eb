"""C backend of the preprocessing kernels (``csrc/preprocess.c``) through cffi.

Same boundary as every backend (see ``accel._backends``): the public layer hands over
validated, C-contiguous arrays; these wrappers only pass pointers and sizes. The C code
uses the reference's integer and float32 arithmetic, so the results are bit-identical.
Works on CPython and PyPy; the GIL is released during each C call. ``ffi.from_buffer``
accepts the read-only inputs without copying.
"""
from ._shared import ffi, lib, require

_ERRORS = {
    -1: (MemoryError, "accel cffi backend: out of memory"),
    -2: (ValueError, "accel cffi backend: arguments outside the kernel's contract "
                     "(channels, geometry or resize tables)"),
}


def _check(status):
    if status != 0:
        error, message = _ERRORS.get(status, (RuntimeError, "accel cffi backend: error %d"
                                              % (status,)))
        raise error(message)



def _tables_fit(xcols, xw, yrows, yw):
    return (xcols.ndim == 2 and xcols.shape[1] == 2 and xw.shape == xcols.shape
            and yrows.ndim == 2 and yrows.shape[1] == 2 and yw.shape == yrows.shape)


def _u8(array):
    return ffi.from_buffer("uint8_t[]", array)


def _i32(array):
    return ffi.from_buffer("int32_t[]", array)


def _f32(array):
    return ffi.from_buffer("float[]", array)


def letterbox(src, out, xcols, xw, yrows, yw, top, left, pad):
    height, width, channels = src.shape
    require(out.shape[2] == channels and pad.shape == (channels,)
             and _tables_fit(xcols, xw, yrows, yw))
    _check(lib.accel_letterbox(
        _u8(src), height, width, channels,
        ffi.from_buffer("uint8_t[]", out, require_writable=True), out.shape[0], out.shape[1],
        _i32(xcols), _i32(xw), xcols.shape[0],
        _i32(yrows), _i32(yw), yrows.shape[0],
        int(top), int(left), _u8(pad)))


def to_tensor(src, out, channel_map, mean, scale):
    height, width, channels = src.shape
    require(out.shape == (channels, height, width) and channel_map.shape == (channels,)
             and mean.shape == (channels,) and scale.shape == (channels,))
    _check(lib.accel_to_tensor(
        _u8(src), height, width, channels,
        ffi.from_buffer("float[]", out, require_writable=True),
        _i32(channel_map), _f32(mean), _f32(scale)))


def preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale):
    height, width, channels = src.shape
    require(out.shape[0] == channels and pad.shape == (channels,)
             and channel_map.shape == (channels,) and mean.shape == (channels,)
             and scale.shape == (channels,) and _tables_fit(xcols, xw, yrows, yw))
    _check(lib.accel_preprocess(
        _u8(src), height, width, channels,
        ffi.from_buffer("float[]", out, require_writable=True), out.shape[1], out.shape[2],
        _i32(xcols), _i32(xw), xcols.shape[0],
        _i32(yrows), _i32(yw), yrows.shape[0],
        int(top), int(left), _u8(pad),
        _i32(channel_map), _f32(mean), _f32(scale)))
