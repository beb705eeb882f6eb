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


def _tensor_args(out, channels, mean, scale, table, layout):
    """The C tensor arguments: writable out, float32 mean and scale, the table (NULL for
    float32) with its element width, and the layout flag."""
    if table is None:
        require(out.dtype.itemsize == 4)
        table_pointer, width = ffi.NULL, 0
    else:
        width = table.dtype.itemsize
        require(table.shape == (channels, 256) and width in (1, 2)
                 and out.dtype.itemsize == width)
        table_pointer = _u8(table)
    require(mean.shape == (channels,) and scale.shape == (channels,)
            and layout in ("nchw", "nhwc"))
    return (ffi.from_buffer("uint8_t[]", out, require_writable=True), _f32(mean), _f32(scale),
            table_pointer, width, int(layout == "nhwc"))


def _planes(out, layout):
    """(channels, height, width) of a tensor in ``layout``."""
    return out.shape if layout == "nchw" else (out.shape[2], out.shape[0], out.shape[1])


def to_tensor(src, out, channel_map, mean, scale, table, layout):
    height, width, channels = src.shape
    require(_planes(out, layout) == (channels, height, width)
            and channel_map.shape == (channels,))
    buffer, mean, scale, table, element, nhwc = _tensor_args(out, channels, mean, scale,
                                                             table, layout)
    _check(lib.accel_to_tensor(_u8(src), height, width, channels, buffer, _i32(channel_map),
                               mean, scale, table, element, nhwc))


def preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale, table,
               layout):
    height, width, channels = src.shape
    out_channels, out_height, out_width = _planes(out, layout)
    require(out_channels == channels and pad.shape == (channels,)
            and channel_map.shape == (channels,) and _tables_fit(xcols, xw, yrows, yw))
    buffer, mean, scale, table, element, nhwc = _tensor_args(out, channels, mean, scale,
                                                             table, layout)
    _check(lib.accel_preprocess(
        _u8(src), height, width, channels, buffer, out_height, out_width,
        _i32(xcols), _i32(xw), xcols.shape[0],
        _i32(yrows), _i32(yw), yrows.shape[0],
        int(top), int(left), _u8(pad),
        _i32(channel_map), mean, scale, table, element, nhwc))
