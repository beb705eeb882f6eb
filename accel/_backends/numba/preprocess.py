"""Numba preprocessing kernels: letterbox, to_tensor and the fused preprocess.

Same integer and float32 arithmetic as ``accel._backends.python.preprocess`` (formulas in
``accel._preprocess``), so the results are bit-identical. Numba computes integer
expressions in 64 bits; every value here fits in 32 (the products stay below 2**27), so
results are wrapped in ``np.int32``, which lets LLVM use 32-bit vector lanes. The float32
values are ``(float32(px) - mean[c]) * scale[c]`` with float32 operands only (no Python
float to promote them to float64) and no ``fastmath``.

``preprocess`` is one pass over the output rows, each row written once: padding rows are a
constant fill; an image row needs the horizontal results (``T >> 4``, int32, one
contiguous row per channel) of its two source rows. Each source row is computed once into
one of two scratch rows, labelled with the row they hold (rows go up, so a row shared with
the previous output row is still there), and a row of vertical weight 0 is not computed.
The horizontal pass is a scalar gather, which reads both taps of output column ``x`` with
one unaligned 8-byte load (a uint64 view of the image at every byte offset, made with
NumPy; a column's taps are adjacent pixels, or the second has weight 0) and keeps them as
two uint32 words, then one vectorised loop per channel that takes its byte out of the words
and applies the weights. The vertical blend and the float conversion are then one
contiguous loop per output channel, straight into its plane. When every weight is
(2048, 0) (an integer downscale such as 1080p to 640, or the identity) the output pixels
are source pixels and the conversion reads the gathered words (or the source row) directly.
The last source rows (an 8-byte load would pass the end of the image), tables whose taps
are not adjacent, and big-endian hosts take a byte-by-byte gather instead.

Every tensor but float32 NCHW (float16, uint8, int8; NHWC) takes one more path: the row
of interleaved pixels letterbox would write (NEAREST rows unpacked from the gathered
words), then one table lookup per element (the public layer's table; float32 NHWC in a
table made here with NumPy's float32 arithmetic, the same bits), into planes or pixels;
an identity uint8 table writes the reordered pixels straight into the tensor.

Every loop over a row is a small function of its own, with constant channel strides and
shifts: on Numba 0.56 (LLVM 11) the same loops inlined in a bigger loop, or with a
variable shift, or with all channels in one loop, stay scalar (several times slower).

Nothing is compiled at import: each kernel is compiled on its first call and cached on
disk (``cache=True``); every kernel releases the GIL (``nogil``). Scratch memory is
allocated per call, so concurrent calls from several threads are safe.
"""
import sys

import numpy as np

from ._shared import jit

FULL_WEIGHT = 2048  # COEF_SCALE: a tap of this weight copies the pixel
GENERAL, NEAREST, IDENTITY = 0, 1, 2  # kinds of resize table (_axis_kind)

_LITTLE_ENDIAN = sys.byteorder == "little"
_NO_WIDE = np.zeros(16, dtype=np.uint8)
_NO_WIDE.flags.writeable = False
# Same Numba type as a real wide view (read-only, unaligned, layout "A"); never read.
_NO_WIDE = np.ndarray((2,), np.uint64, _NO_WIDE, 1, (1,))


def _wide_view(src):
    """``(view, usable)``: ``view[i]`` is the little-endian uint64 at byte ``i`` of ``src``."""
    n = src.size
    if not _LITTLE_ENDIAN or n < 9:
        return _NO_WIDE, False
    return np.ndarray((n - 7,), np.uint64, src, 0, (1,)), True



# ---------------------------------------------------------------------------------------
# The resize: column plan, gather, horizontal pass
# ---------------------------------------------------------------------------------------

@jit
def _axis_kind(indices, weights, source_size):
    """IDENTITY when the table copies the axis, NEAREST when every weight is
    (FULL_WEIGHT, 0) (each output pixel is one source pixel), else GENERAL."""
    full = True
    identity = indices.shape[0] == source_size
    for i in range(indices.shape[0]):
        if weights[i, 0] != FULL_WEIGHT or weights[i, 1] != 0:
            full = False
            break
        if indices[i, 0] != i:
            identity = False
    if not full:
        return GENERAL
    return IDENTITY if identity else NEAREST


@jit
def _resize_kind(xcols, xw, yrows, yw, w, h):
    """IDENTITY (no resize), NEAREST (every output pixel is a source pixel) or GENERAL."""
    kind_x = _axis_kind(xcols, xw, w)
    kind_y = _axis_kind(yrows, yw, h)
    if kind_x == IDENTITY and kind_y == IDENTITY:
        return IDENTITY
    if kind_x != GENERAL and kind_y != GENERAL:
        return NEAREST
    return GENERAL


@jit
def _column_plan(xcols, xw, channels):
    """Byte offsets and weights of the output columns, and what the table allows.

    Returns ``(off0, off1, a0, a1, adjacent, two_taps, max_offset)``: ``adjacent`` when
    every second tap with a nonzero weight is the pixel after the first (one 8-byte load
    reads both taps), ``two_taps`` when some second tap has a nonzero weight.
    """
    new_w = xcols.shape[0]
    off0 = np.empty(new_w, dtype=np.uint64)
    off1 = np.empty(new_w, dtype=np.uint64)
    a0 = np.empty(new_w, dtype=np.int32)
    a1 = np.empty(new_w, dtype=np.int32)
    adjacent = True
    two_taps = False
    max_offset = 0
    for x in range(new_w):
        c0 = xcols[x, 0]
        c1 = xcols[x, 1]
        off0[x] = c0 * channels
        off1[x] = c1 * channels
        a0[x] = xw[x, 0]
        a1[x] = xw[x, 1]
        if xw[x, 1] != 0:
            two_taps = True
            if c1 != c0 + 1:
                adjacent = False
        if c0 * channels > max_offset:
            max_offset = c0 * channels
    return off0, off1, a0, a1, adjacent, two_taps, max_offset


@jit
def _gather(flat, wide, wide_ok, start, plan, channels, lo, hi):
    """Pack the taps of every output column of the source row at byte ``start``.

    ``lo[x]`` (uint32) gets the first tap's channels, channel ``ch`` in bits
    ``8 * ch``..``8 * ch + 7``; ``hi[x]`` the second tap's, left alone when no second tap
    has a weight. One unaligned little-endian 8-byte load per column (both taps) when it
    stays inside the image, else byte loads.
    """
    off0, off1, a0, a1, adjacent, two_taps, max_offset = plan
    new_w = off0.shape[0]
    if wide_ok and adjacent and start + max_offset + 8 <= flat.shape[0]:
        row = wide[start:]
        if two_taps:
            shift = np.uint64(8 * channels)
            for x in range(new_w):
                v = row[off0[x]]
                lo[x] = np.uint32(v & np.uint64(0xFFFFFFFF))
                hi[x] = np.uint32(v >> shift)
        else:
            for x in range(new_w):
                lo[x] = np.uint32(row[off0[x]] & np.uint64(0xFFFFFFFF))
    else:
        row = flat[start:]
        for x in range(new_w):
            o0 = off0[x]
            o1 = off1[x]
            p0 = np.uint32(0)
            p1 = np.uint32(0)
            for ch in range(channels):
                p0 |= np.uint32(row[o0 + np.uint64(ch)]) << np.uint32(8 * ch)
                p1 |= np.uint32(row[o1 + np.uint64(ch)]) << np.uint32(8 * ch)
            lo[x] = p0
            hi[x] = p1


@jit
def _weigh(lo, hi, a0, a1, byte, d):
    """d[x] = (tap0 * a0[x] + tap1 * a1[x]) >> 4, taps byte ``byte`` of lo[x] and hi[x].

    One loop per byte, so that the shift is a constant. T is below 2**20. ``hi`` may hold
    anything where ``a1`` is 0.
    """
    n = d.shape[0]
    if byte == 0:
        for x in range(n):
            d[x] = np.int32(np.int32(lo[x] & np.uint32(255)) * a0[x]
                            + np.int32(hi[x] & np.uint32(255)) * a1[x]) >> 4
    elif byte == 1:
        for x in range(n):
            d[x] = np.int32(np.int32((lo[x] >> np.uint32(8)) & np.uint32(255)) * a0[x]
                            + np.int32((hi[x] >> np.uint32(8)) & np.uint32(255)) * a1[x]) >> 4
    elif byte == 2:
        for x in range(n):
            d[x] = np.int32(np.int32((lo[x] >> np.uint32(16)) & np.uint32(255)) * a0[x]
                            + np.int32((hi[x] >> np.uint32(16)) & np.uint32(255)) * a1[x]) >> 4
    else:
        for x in range(n):
            d[x] = np.int32(np.int32(lo[x] >> np.uint32(24)) * a0[x]
                            + np.int32(hi[x] >> np.uint32(24)) * a1[x]) >> 4


@jit
def _horizontal(flat, wide, wide_ok, start, plan, channels, lo, hi, dst):
    """dst[ch, x] = T >> 4 for the source row at byte ``start``, T = S0 * a0 + S1 * a1.

    ``T >> 4`` is all the vertical pass uses of T.
    """
    _gather(flat, wide, wide_ok, start, plan, channels, lo, hi)
    for ch in range(channels):
        _weigh(lo, hi, plan[2], plan[3], ch, dst[ch])


@jit
def _source_slots(labels, r0, r1, need_r1):
    """Scratch slots of source rows r0 and r1, and whether each must be computed.

    Returns ``(s0, new0, s1, new1)``. Each scratch slot is labelled with the source row
    it holds; a missing row goes into the slot not holding the other row of the pair,
    else into the one holding the lower row (rows only go up).
    """
    if labels[0] == r0:
        s0, new0 = 0, False
    elif labels[1] == r0:
        s0, new0 = 1, False
    elif need_r1 and labels[0] == r1:
        s0, new0 = 1, True
    elif need_r1 and labels[1] == r1:
        s0, new0 = 0, True
    else:
        s0, new0 = (0 if labels[0] <= labels[1] else 1), True
    labels[s0] = r0
    s1, new1 = s0, False
    if need_r1 and r1 != r0:
        s1 = 1 - s0
        new1 = labels[s1] != r1
        labels[s1] = r1
    return s0, new0, s1, new1


@jit
def _source_rows(flat, wide, wide_ok, row_len, plan, channels, lo, hi, labels, scratch,
                 r0, r1, need_r1):
    """Make sure scratch holds the horizontal passes of source rows r0 and r1 (each
    computed once per frame, as the output rows walk down); return their two slots."""
    s0, new0, s1, new1 = _source_slots(labels, r0, r1, need_r1)
    if new0:
        _horizontal(flat, wide, wide_ok, r0 * row_len, plan, channels, lo, hi, scratch[s0])
    if new1:
        _horizontal(flat, wide, wide_ok, r1 * row_len, plan, channels, lo, hi, scratch[s1])
    return s0, s1


@jit
def _fill(o, v):
    """o[:] = v. Loops over whole arrays sit in small functions like this one: inlined in a
    bigger loop, Numba 0.56 (LLVM 11) leaves them scalar."""
    for i in range(o.shape[0]):
        o[i] = v


@jit
def _copy(o, s):
    """o[:] = s[:len(o)] (a slice assignment would check for overlap and copy twice)."""
    for i in range(o.shape[0]):
        o[i] = s[i]


# ---------------------------------------------------------------------------------------
# preprocess and to_tensor
# ---------------------------------------------------------------------------------------

@jit
def _vertical_convert(t0, t1, b0, b1, m, s, o):
    """o[x] = (float32(pixel) - m) * s, pixel the vertical blend of two horizontal rows."""
    if b1 != 0:
        for x in range(o.shape[0]):
            d = (np.int32(b0 * t0[x]) >> 16) + (np.int32(b1 * t1[x]) >> 16)
            o[x] = (np.float32(np.int32(d + 2) >> 2) - m) * s
    else:
        for x in range(o.shape[0]):
            d = np.int32(b0 * t0[x]) >> 16
            o[x] = (np.float32(np.int32(d + 2) >> 2) - m) * s


@jit
def _packed_convert(packed, byte, m, s, o):
    """o[x] = (float32(byte ``byte`` of packed[x]) - m) * s (constant shifts vectorise)."""
    n = o.shape[0]
    if byte == 0:
        for x in range(n):
            o[x] = (np.float32(np.int32(packed[x] & np.uint32(255))) - m) * s
    elif byte == 1:
        for x in range(n):
            o[x] = (np.float32(np.int32((packed[x] >> np.uint32(8)) & np.uint32(255))) - m) * s
    elif byte == 2:
        for x in range(n):
            o[x] = (np.float32(np.int32((packed[x] >> np.uint32(16)) & np.uint32(255))) - m) * s
    else:
        for x in range(n):
            o[x] = (np.float32(np.int32(packed[x] >> np.uint32(24))) - m) * s


@jit
def _bytes_convert(row, channels, ch, m, s, o):
    """o[x] = (float32(row[x * channels + ch]) - m) * s (constant strides vectorise)."""
    r = row[ch:]
    n = o.shape[0]
    if channels == 3:
        for x in range(n):
            o[x] = (np.float32(r[3 * x]) - m) * s
    elif channels == 1:
        for x in range(n):
            o[x] = (np.float32(r[x]) - m) * s
    elif channels == 4:
        for x in range(n):
            o[x] = (np.float32(r[4 * x]) - m) * s
    else:
        for x in range(n):
            o[x] = (np.float32(r[channels * x]) - m) * s


@jit
def _preprocess(src, wide, wide_ok, out, xcols, xw, yrows, yw, top, left, pad, channel_map,
                mean, scale):
    h, w, channels = src.shape
    height = out.shape[1]
    new_w = xcols.shape[0]
    new_h = yrows.shape[0]
    flat = src.reshape(h * w * channels)
    row_len = w * channels
    pad_values = np.empty(channels, dtype=np.float32)
    for c in range(channels):
        pad_values[c] = (np.float32(pad[channel_map[c]]) - mean[c]) * scale[c]
    kind_x = _axis_kind(xcols, xw, w)
    kind_y = _axis_kind(yrows, yw, h)
    identity = kind_x == IDENTITY and kind_y == IDENTITY
    nearest = kind_x != GENERAL and kind_y != GENERAL
    plan = _column_plan(xcols, xw, channels)
    lo = np.empty(new_w, dtype=np.uint32)
    hi = np.empty(new_w, dtype=np.uint32)
    scratch = np.empty((2, channels, new_w), dtype=np.int32)
    labels = np.empty(2, dtype=np.int64)
    labels[0] = -1
    labels[1] = -1
    for oy in range(height):
        y = oy - top
        if y < 0 or y >= new_h:
            for c in range(channels):
                _fill(out[c, oy], pad_values[c])
            continue
        r0 = yrows[y, 0]
        b0 = yw[y, 0]
        b1 = yw[y, 1]
        s0 = 0
        s1 = 0
        if identity:
            pass
        elif nearest:
            _gather(flat, wide, wide_ok, r0 * row_len, plan, channels, lo, hi)
        else:
            s0, s1 = _source_rows(flat, wide, wide_ok, row_len, plan, channels, lo, hi,
                                  labels, scratch, r0, yrows[y, 1], b1 != 0)
        for c in range(channels):
            ch = channel_map[c]
            o = out[c, oy]
            _fill(o[:left], pad_values[c])
            _fill(o[left + new_w:], pad_values[c])
            o = o[left:left + new_w]
            if identity:
                _bytes_convert(flat[r0 * row_len:(r0 + 1) * row_len], channels, ch, mean[c],
                               scale[c], o)
            elif nearest:
                _packed_convert(lo, ch, mean[c], scale[c], o)
            else:
                _vertical_convert(scratch[s0, ch], scratch[s1, ch], b0, b1, mean[c],
                                  scale[c], o)


@jit
def _to_tensor(src, out, channel_map, mean, scale):
    h, w, channels = src.shape
    flat = src.reshape(h * w * channels)
    row_len = w * channels
    for y in range(h):
        row = flat[y * row_len:(y + 1) * row_len]
        for c in range(channels):
            _bytes_convert(row, channels, channel_map[c], mean[c], scale[c], out[c, y])


# ---------------------------------------------------------------------------------------
# letterbox
# ---------------------------------------------------------------------------------------

@jit
def _vertical_byte(t0, t1, b0, b1, p):
    """p[x] = the uint8 vertical blend of two horizontal rows."""
    for x in range(p.shape[0]):
        d = (np.int32(b0 * t0[x]) >> 16) + (np.int32(b1 * t1[x]) >> 16)
        p[x] = np.uint8(np.int32(d + 2) >> 2)


@jit
def _interleave(planes, channels, order, o):
    """o[x * channels + ch] = planes[order[ch], x]."""
    n = planes.shape[1]
    if channels == 3:
        p0 = planes[order[0]]
        p1 = planes[order[1]]
        p2 = planes[order[2]]
        for x in range(n):
            o[3 * x] = p0[x]
            o[3 * x + 1] = p1[x]
            o[3 * x + 2] = p2[x]
    else:
        for ch in range(channels):
            p = planes[order[ch]]
            r = o[ch:]
            for x in range(n):
                r[channels * x] = p[x]


@jit
def _unpack(packed, channels, order, o):
    """o[x * channels + ch] = byte order[ch] of packed[x]."""
    n = packed.shape[0]
    if channels == 3:
        s0 = np.uint32(8 * order[0])
        s1 = np.uint32(8 * order[1])
        s2 = np.uint32(8 * order[2])
        for x in range(n):
            p = packed[x]
            o[3 * x] = np.uint8((p >> s0) & np.uint32(255))
            o[3 * x + 1] = np.uint8((p >> s1) & np.uint32(255))
            o[3 * x + 2] = np.uint8((p >> s2) & np.uint32(255))
    else:
        for x in range(n):
            for ch in range(channels):
                o[x * channels + ch] = np.uint8((packed[x] >> np.uint32(8 * order[ch]))
                                                & np.uint32(255))


@jit
def _reorder(row, channels, order, o):
    """o[x * channels + ch] = row[x * channels + order[ch]]."""
    for x in range(o.shape[0] // channels):
        for ch in range(channels):
            o[x * channels + ch] = row[x * channels + order[ch]]


@jit
def _resized_pixels(flat, wide, wide_ok, row_len, plan, channels, lo, hi, labels, scratch,
                    planes, kind, r0, r1, b0, b1, order, in_order, o):
    """o = the resized row of source rows r0, r1 (weights b0, b1): interleaved uint8
    pixels, channel ch of each from source channel order[ch] (``in_order``: the identity
    order). ``kind``: IDENTITY (no resize), NEAREST (every pixel a source pixel) or
    GENERAL."""
    if kind == IDENTITY:
        if in_order:
            _copy(o, flat[r0 * row_len:])
        else:
            _reorder(flat[r0 * row_len:], channels, order, o)
        return
    if kind == NEAREST:
        _gather(flat, wide, wide_ok, r0 * row_len, plan, channels, lo, hi)
        _unpack(lo, channels, order, o)
        return
    s0, s1 = _source_rows(flat, wide, wide_ok, row_len, plan, channels, lo, hi, labels,
                          scratch, r0, r1, b1 != 0)
    for ch in range(channels):
        _vertical_byte(scratch[s0, ch], scratch[s1, ch], b0, b1, planes[ch])
    _interleave(planes, channels, order, o)


@jit
def _letterbox(src, wide, wide_ok, out, xcols, xw, yrows, yw, top, left, pad):
    h, w, channels = src.shape
    height, width = out.shape[0], out.shape[1]
    new_w = xcols.shape[0]
    new_h = yrows.shape[0]
    flat = src.reshape(h * w * channels)
    out_flat = out.reshape(height * width * channels)
    row_len = w * channels
    out_row_len = width * channels
    pad_row = np.empty(out_row_len, dtype=np.uint8)
    for x in range(width):
        for ch in range(channels):
            pad_row[x * channels + ch] = pad[ch]
    kind = _resize_kind(xcols, xw, yrows, yw, w, h)
    plan = _column_plan(xcols, xw, channels)
    lo = np.empty(new_w, dtype=np.uint32)
    hi = np.empty(new_w, dtype=np.uint32)
    scratch = np.empty((2, channels, new_w), dtype=np.int32)
    planes = np.empty((channels, new_w), dtype=np.uint8)
    labels = np.empty(2, dtype=np.int64)
    labels[0] = -1
    labels[1] = -1
    order = np.arange(channels)
    image_start = left * channels
    image_stop = (left + new_w) * channels
    for oy in range(height):
        o = out_flat[oy * out_row_len:(oy + 1) * out_row_len]
        y = oy - top
        if y < 0 or y >= new_h:
            _copy(o, pad_row)
            continue
        _copy(o[:image_start], pad_row)
        _copy(o[image_stop:], pad_row)
        _resized_pixels(flat, wide, wide_ok, row_len, plan, channels, lo, hi, labels, scratch,
                        planes, kind, yrows[y, 0], yrows[y, 1], yw[y, 0], yw[y, 1], order,
                        True, o[image_start:image_stop])


# ---------------------------------------------------------------------------------------
# Tensors of any layout and dtype but float32 NCHW: table lookups
# ---------------------------------------------------------------------------------------

@jit
def _lookup_plane(row, channels, lane, t, o):
    """o[x] = t[row[x * channels + lane]] (constant strides vectorise the loads)."""
    r = row[lane:]
    n = o.shape[0]
    if channels == 3:
        for x in range(n):
            o[x] = t[r[3 * x]]
    elif channels == 1:
        for x in range(n):
            o[x] = t[r[x]]
    else:
        for x in range(n):
            o[x] = t[r[channels * x]]


@jit
def _lookup_pixels(row, channels, channel_map, table, identity, o):
    """o[x * channels + c] = table[c, row[x * channels + channel_map[c]]]: interleaved
    pixels in, interleaved pixels out; with the identity table, the pixels reordered."""
    n = o.shape[0] // channels
    if channels == 3:
        a = channel_map[0]
        b = channel_map[1]
        c = channel_map[2]
        if identity:
            for x in range(n):
                o[3 * x] = row[3 * x + a]
                o[3 * x + 1] = row[3 * x + b]
                o[3 * x + 2] = row[3 * x + c]
        else:
            t0 = table[0]
            t1 = table[1]
            t2 = table[2]
            for x in range(n):
                o[3 * x] = t0[row[3 * x + a]]
                o[3 * x + 1] = t1[row[3 * x + b]]
                o[3 * x + 2] = t2[row[3 * x + c]]
    else:
        for x in range(n):
            for ch in range(channels):
                o[x * channels + ch] = table[ch, row[x * channels + channel_map[ch]]]


@jit
def _lookup_row(row, channels, channel_map, table, identity, nhwc, out, oy, left, new_w):
    """Interleaved pixels ``row`` (new_w of them) into output row ``oy`` from column
    ``left``."""
    if nhwc:
        width = out.shape[1]
        flat = out.reshape(out.shape[0] * width * channels)
        start = (oy * width + left) * channels
        _lookup_pixels(row, channels, channel_map, table, identity,
                       flat[start:start + new_w * channels])
    else:
        for c in range(channels):
            _lookup_plane(row, channels, channel_map[c], table[c], out[c, oy, left:left + new_w])


@jit
def _fill_pixels(out, channels, oy, start, stop, pad_values, pad_row, nhwc):
    """Pixels start..stop of output row oy = the padding pixel (``pad_row``: a row of
    them, interleaved)."""
    if stop <= start:
        return
    if nhwc:
        width = out.shape[1]
        flat = out.reshape(out.shape[0] * width * channels)
        _copy(flat[(oy * width + start) * channels:(oy * width + stop) * channels], pad_row)
    else:
        for c in range(channels):
            _fill(out[c, oy, start:stop], pad_values[c])


@jit
def _preprocess_lookup(src, wide, wide_ok, out, xcols, xw, yrows, yw, top, left, pad,
                       channel_map, table, identity, nhwc):
    h, w, channels = src.shape
    height = out.shape[0] if nhwc else out.shape[1]
    width = out.shape[1] if nhwc else out.shape[2]
    new_w = xcols.shape[0]
    new_h = yrows.shape[0]
    flat = src.reshape(h * w * channels)
    row_len = w * channels
    pad_values = np.empty(channels, dtype=table.dtype)
    for c in range(channels):
        pad_values[c] = table[c, pad[channel_map[c]]]
    pad_row = np.empty(width * channels, dtype=table.dtype)
    for x in range(width):
        for c in range(channels):
            pad_row[x * channels + c] = pad_values[c]
    kind = _resize_kind(xcols, xw, yrows, yw, w, h)
    plan = _column_plan(xcols, xw, channels)
    lo = np.empty(new_w, dtype=np.uint32)
    hi = np.empty(new_w, dtype=np.uint32)
    scratch = np.empty((2, channels, new_w), dtype=np.int32)
    planes = np.empty((channels, new_w), dtype=np.uint8)
    pixels = np.empty(new_w * channels, dtype=np.uint8)
    order = np.arange(channels)
    in_order = True
    for c in range(channels):
        if channel_map[c] != c:
            in_order = False
    out_flat = out.reshape(out.size)
    labels = np.empty(2, dtype=np.int64)
    labels[0] = -1
    labels[1] = -1
    for oy in range(height):
        y = oy - top
        if y < 0 or y >= new_h:
            _fill_pixels(out, channels, oy, 0, width, pad_values, pad_row, nhwc)
            continue
        _fill_pixels(out, channels, oy, 0, left, pad_values, pad_row, nhwc)
        _fill_pixels(out, channels, oy, left + new_w, width, pad_values, pad_row, nhwc)
        if identity and nhwc:  # the pixels are the tensor: straight into it
            start = (oy * width + left) * channels
            _resized_pixels(flat, wide, wide_ok, row_len, plan, channels, lo, hi, labels,
                            scratch, planes, kind, yrows[y, 0], yrows[y, 1], yw[y, 0], yw[y, 1],
                            channel_map, in_order, out_flat[start:start + new_w * channels])
            continue
        _resized_pixels(flat, wide, wide_ok, row_len, plan, channels, lo, hi, labels, scratch,
                        planes, kind, yrows[y, 0], yrows[y, 1], yw[y, 0], yw[y, 1], order, True,
                        pixels)
        _lookup_row(pixels, channels, channel_map, table, identity, nhwc, out, oy, left, new_w)


@jit
def _to_tensor_lookup(src, out, channel_map, table, identity, nhwc):
    h, w, channels = src.shape
    flat = src.reshape(h * w * channels)
    row_len = w * channels
    for y in range(h):
        _lookup_row(flat[y * row_len:(y + 1) * row_len], channels, channel_map, table, identity,
                    nhwc, out, y, 0, w)


# ---------------------------------------------------------------------------------------
# The backend boundary (declared in accel._backends)
# ---------------------------------------------------------------------------------------

def _check_channels(src):
    if src.shape[2] > 4:  # a pixel must fit in the uint32 words of the gather
        raise ValueError("at most 4 channels, got %d" % src.shape[2])


def letterbox(src, out, xcols, xw, yrows, yw, top, left, pad):
    _check_channels(src)
    wide, wide_ok = _wide_view(src)
    _letterbox(src, wide, wide_ok, out, xcols, xw, yrows, yw, top, left, pad)


def _lookup_table(mean, scale, table):
    """The table to look up, and whether it is the identity (uint8, every row 0..255).
    float32 in NHWC is looked up too, in a table made here with the formula's float32
    arithmetic (NumPy's, the same bits)."""
    if table is None:
        pixels = np.arange(256, dtype=np.float32)
        return (pixels - mean[:, None]) * scale[:, None], False
    identity = table.dtype == np.uint8 and bool((table == np.arange(256)).all())
    return table, identity


def to_tensor(src, out, channel_map, mean, scale, table, layout):
    if table is None and layout == "nchw":
        _to_tensor(src, out, channel_map, mean, scale)
        return
    values, identity = _lookup_table(mean, scale, table)
    _to_tensor_lookup(src, out, channel_map, values, identity, layout == "nhwc")


def preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale, table,
               layout):
    _check_channels(src)
    wide, wide_ok = _wide_view(src)
    if table is None and layout == "nchw":
        _preprocess(src, wide, wide_ok, out, xcols, xw, yrows, yw, top, left, pad, channel_map,
                    mean, scale)
        return
    values, identity = _lookup_table(mean, scale, table)
    _preprocess_lookup(src, wide, wide_ok, out, xcols, xw, yrows, yw, top, left, pad,
                       channel_map, values, identity, layout == "nhwc")
