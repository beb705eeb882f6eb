"""C backend of the mask kernel (``csrc/masks.c``) through cffi.

Same boundary as every backend (see ``accel._backends``): the public layer hands over
validated, C-contiguous arrays and the output to write into. This wrapper checks the
sizes the C code trusts (every sample inside the prototype window, every window inside
``out``), so that no call can make it read or write out of bounds, then passes pointers.
The C code makes the reference's float64 arithmetic in the reference's order, so the
masks are bit-identical. Works on CPython and PyPy; the GIL is released during the C call.
"""
import math

import numpy as np

from ._shared import ffi, lib, out_of_memory, require

# Window coordinates stay below this: exact as doubles, and no int64 product of two of
# them (or of one and a stride checked against len(out)) can overflow.
_LIMIT = 1 << 31


def _last_sample_inside(stop, scale, size):
    """The low source index of the last target index, stop - 1, is < size: the C code's
    arithmetic (positions grow with the index, so every other sample is inside too)."""
    position = (stop - 1).astype(np.float64)
    position += 0.5
    position *= scale
    position -= 0.5
    return bool((position < size).all())


def _check(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left, rows,
           cols, out):
    channels, height, width = protos.shape
    n_det = windows.shape[0]
    require(protos.dtype == np.float32 and protos.flags.c_contiguous
            and coeffs.dtype == np.float64 and coeffs.shape == (n_det, channels)
            and coeffs.flags.c_contiguous
            and windows.dtype == np.int64 and windows.shape == (n_det, 4)
            and windows.flags.c_contiguous
            and offsets.dtype == np.int64 and offsets.shape == (n_det,)
            and strides.dtype == np.int64 and strides.shape == (n_det,)
            and offsets.flags.c_contiguous and strides.flags.c_contiguous
            and out.dtype == np.uint8 and out.ndim == 1 and out.flags.c_contiguous
            and 0 <= top and 0 <= left and 1 <= rows and 1 <= cols
            and top + rows <= height and left + cols <= width
            and math.isfinite(scale_y) and math.isfinite(scale_x)
            and scale_y > 0.0 and scale_x > 0.0)
    x0, y0, x1, y1 = windows.T
    used = (x0 < x1) & (y0 < y1)
    if not used.all():
        x0, y0, x1, y1 = x0[used], y0[used], x1[used], y1[used]
        offsets, strides = offsets[used], strides[used]
    if x0.shape[0] == 0:
        return
    n = out.shape[0]
    span = x1 - x0 - 1  # from the first pixel of a row to its last
    # Row ends inside out, without overflow: the offsets and the row widths are checked
    # first, then (height - 1) * stride <= room by floor division.
    room = n - 1 - offsets - span
    require(int(x0.min()) >= 0 and int(y0.min()) >= 0
            and int(x1.max()) <= _LIMIT and int(y1.max()) <= _LIMIT
            and int(offsets.min()) >= 0 and int(offsets.max()) <= n
            and int(strides.min()) >= 0 and int(room.min()) >= 0
            and bool(((strides == 0)
                      | (y1 - y0 - 1 <= room // np.maximum(strides, 1))).all())
            and _last_sample_inside(x1, scale_x, cols)
            and _last_sample_inside(y1, scale_y, rows))


def process_masks(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left,
                  rows, cols, out):
    scale_y, scale_x = float(scale_y), float(scale_x)
    top, left, rows, cols = int(top), int(left), int(rows), int(cols)
    _check(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left, rows,
           cols, out)
    channels, height, width = protos.shape
    status = lib.accel_process_masks(
        ffi.from_buffer("float[]", protos), channels, height, width,
        ffi.from_buffer("double[]", coeffs), windows.shape[0],
        ffi.from_buffer("int64_t[]", windows), ffi.from_buffer("int64_t[]", offsets),
        ffi.from_buffer("int64_t[]", strides), scale_y, scale_x, top, left, rows, cols,
        ffi.from_buffer("uint8_t[]", out, require_writable=True))
    if status != 0:
        raise out_of_memory()
