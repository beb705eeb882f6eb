# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython preprocessing kernels: ``letterbox``, ``to_tensor`` and the fused ``preprocess``.

Same boundary, same integer and float32 arithmetic as the pure-Python reference
(``_python_preprocess.py``; formulas in ``accel._preprocess``), bit for bit.

* One pass over the output rows. For each output row the horizontal pass of its two
  source rows goes into one of two scratch rows (reused when the next output row needs
  the same source row), then the vertical blend writes the output row (``letterbox``)
  or, converted to float32, the C output planes directly (``preprocess``). Padding is a
  constant per plane (per pixel for ``letterbox``), written around the resized block.
* The scratch holds ``T >> 4`` (the formula only ever uses ``T`` shifted) as uint16:
  with every weight in 0..2048 (checked), ``T <= 255 * 4096`` so ``T >> 4 < 2**16``,
  and ``(yw * (T >> 4)) >> 16`` is the high half of a 16 x 16-bit unsigned product,
  which the C compiler vectorises (``pmulhuw`` on x86). The result is cast to uint8
  before the float conversion, as the NumPy backend's ``astype(np.uint8)`` does.
* ``preprocess`` keeps the horizontal results planar (one scratch row per channel) so
  that the vertical blend and the float conversion are contiguous loops per plane.
* Where the weights select a single source pixel (both weights of every column
  ``(2048, 0)`` and the row's ``(2048, 0)``: identity size, exact 3x, 5x... downscales)
  the formula gives back that pixel exactly, so the row is a gather of source pixels
  (through a 256-entry float32 table per output channel for the tensor kernels, filled
  with the same two float32 operations).
* Float conversion ``(float)px - mean[c]`` then ``* scale[c]``, both float32 (the build
  disables FMA contraction).

All per-pixel work runs inside ``with nogil:``. Scratch comes from ``malloc`` and is
freed on every path. The tables are checked (shapes, indices in range, weights in
0..2048, placement inside ``out``) before any memory is touched, in O(w + h).
"""
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef enum:
    _ONE = 2048    # weight of a single source pixel (COEF_SCALE)
    _BLOCK = 4096  # pixels per block of to_tensor


cdef uint16_t _ONE_16 = 1
cdef bint _LITTLE_ENDIAN = (<uint8_t*>&_ONE_16)[0] == 1  # the packed stores assume it


ctypedef struct Col:       # one output column of the resize
    Py_ssize_t o0          # byte offsets of the two source pixels in a source row
    Py_ssize_t o1


# ---------------------------------------------------------------------------------------
# Checks and tables (with the GIL)
# ---------------------------------------------------------------------------------------

cdef int _check_geometry(Py_ssize_t h, Py_ssize_t w, const int32_t[:, ::1] xcols,
                         const int32_t[:, ::1] xw, const int32_t[:, ::1] yrows,
                         const int32_t[:, ::1] yw, Py_ssize_t top, Py_ssize_t left,
                         Py_ssize_t out_h, Py_ssize_t out_w) except -1:
    """Everything the kernels index with is in range; raise ValueError otherwise."""
    cdef Py_ssize_t new_w = xcols.shape[0], new_h = yrows.shape[0], i
    if (xcols.shape[1] != 2 or xw.shape[1] != 2 or yrows.shape[1] != 2 or yw.shape[1] != 2
            or xw.shape[0] != new_w or yw.shape[0] != new_h):
        raise ValueError("resize tables must be (new_w, 2) and (new_h, 2) pairs")
    if new_w < 1 or new_h < 1:
        raise ValueError("resize tables are empty")
    if top < 0 or left < 0 or top + new_h > out_h or left + new_w > out_w:
        raise ValueError("the resized image (%d x %d at row %d, column %d) does not fit in "
                         "the %d x %d output" % (new_h, new_w, top, left, out_h, out_w))
    for i in range(new_w):
        if not (0 <= xcols[i, 0] < w and 0 <= xcols[i, 1] < w):
            raise ValueError("xcols[%d] is outside the %d source columns" % (i, w))
        if not (0 <= xw[i, 0] <= _ONE and 0 <= xw[i, 1] <= _ONE):
            raise ValueError("xw[%d] is outside 0..%d" % (i, _ONE))
    for i in range(new_h):
        if not (0 <= yrows[i, 0] < h and 0 <= yrows[i, 1] < h):
            raise ValueError("yrows[%d] is outside the %d source rows" % (i, h))
        if not (0 <= yw[i, 0] <= _ONE and 0 <= yw[i, 1] <= _ONE):
            raise ValueError("yw[%d] is outside 0..%d" % (i, _ONE))
    return 0


cdef int _check_channels(Py_ssize_t channels, Py_ssize_t n, const int32_t[::1] channel_map,
                         const float[::1] mean, const float[::1] scale) except -1:
    cdef Py_ssize_t c
    if channels not in (1, 3, 4):
        raise ValueError("images must have 1, 3 or 4 channels, got %d" % (channels,))
    if n != channels or channel_map.shape[0] != channels or mean.shape[0] != channels \
            or scale.shape[0] != channels:
        raise ValueError("channel_map, mean, scale and out must have one entry per channel")
    for c in range(channels):
        if not 0 <= channel_map[c] < channels:
            raise ValueError("channel_map[%d] = %d is not a channel" % (c, channel_map[c]))
    return 0


cdef bint _single_columns(const int32_t[:, ::1] xw) noexcept:
    """Every output column takes one source pixel with full weight."""
    cdef Py_ssize_t x
    for x in range(xw.shape[0]):
        if xw[x, 0] != _ONE or xw[x, 1] != 0:
            return False
    return True


cdef bint _identity_columns(const int32_t[:, ::1] xcols, const int32_t[:, ::1] xw,
                            Py_ssize_t w) noexcept:
    cdef Py_ssize_t x
    if xcols.shape[0] != w or not _single_columns(xw):
        return False
    for x in range(w):
        if xcols[x, 0] != x:
            return False
    return True


cdef inline float _convert(uint8_t px, float m, float s) noexcept nogil:
    cdef float v = <float>px - m
    return v * s


cdef void _fill_luts(float* lut, Py_ssize_t channels, const float[::1] mean,
                     const float[::1] scale) noexcept nogil:
    """lut[c * 256 + px]: the tensor value of pixel value px in output channel c."""
    cdef Py_ssize_t c, px
    cdef float m, s
    for c in range(channels):
        m = mean[c]
        s = scale[c]
        for px in range(256):
            lut[c * 256 + px] = _convert(<uint8_t>px, m, s)


# ---------------------------------------------------------------------------------------
# Inner loops (no GIL)
# ---------------------------------------------------------------------------------------

cdef inline void _gather3(const uint8_t* s, const Col* col, Py_ssize_t n, bint pq,
                          uint8_t* gp, uint8_t* gq) noexcept nogil:
    """3 channels, little-endian, n >= 1: gp (gq if ``pq``) = source pixels o0 (o1), packed.

    Two pixels per 8-byte store (6 bytes and 2 that the next store overwrites): many
    small or overlapping stores are much slower. Reads 4 bytes per pixel (one past it),
    so not on the image's last row. Writes up to 2 bytes past n * 3.
    """
    cdef Py_ssize_t x = 0
    cdef uint32_t a, b
    cdef uint64_t v
    while x + 2 <= n:
        memcpy(&a, s + col[x].o0, 4)
        memcpy(&b, s + col[x + 1].o0, 4)
        v = (a & 0xFFFFFFu) | (<uint64_t>b << 24)
        memcpy(gp + 3 * x, &v, 8)
        if pq:
            memcpy(&a, s + col[x].o1, 4)
            memcpy(&b, s + col[x + 1].o1, 4)
            v = (a & 0xFFFFFFu) | (<uint64_t>b << 24)
            memcpy(gq + 3 * x, &v, 8)
        x += 2
    if x < n:
        memcpy(gp + 3 * x, s + col[x].o0, 3)
        if pq:
            memcpy(gq + 3 * x, s + col[x].o1, 3)


cdef inline void _gather1(const uint8_t* s, const Col* col, Py_ssize_t n, bint pq,
                          uint8_t* gp, uint8_t* gq) noexcept nogil:
    """1 channel, little-endian: as _gather3, four pixels per 4-byte store."""
    cdef Py_ssize_t x = 0
    cdef uint32_t v
    while x + 4 <= n:
        v = (s[col[x].o0] | (<uint32_t>s[col[x + 1].o0] << 8)
             | (<uint32_t>s[col[x + 2].o0] << 16) | (<uint32_t>s[col[x + 3].o0] << 24))
        memcpy(gp + x, &v, 4)
        if pq:
            v = (s[col[x].o1] | (<uint32_t>s[col[x + 1].o1] << 8)
                 | (<uint32_t>s[col[x + 2].o1] << 16) | (<uint32_t>s[col[x + 3].o1] << 24))
            memcpy(gq + x, &v, 4)
        x += 4
    while x < n:
        gp[x] = s[col[x].o0]
        if pq:
            gq[x] = s[col[x].o1]
        x += 1


cdef inline void _gather(const uint8_t* s, const Col* col, Py_ssize_t n, Py_ssize_t channels,
                         bint words, bint pq, uint8_t* gp, uint8_t* gq) noexcept nogil:
    """gp[x * C + k] = s[o0(x) + k] and, if ``pq``, gq[x * C + k] = s[o1(x) + k].

    ``words``: reading 4 bytes from a 3-channel pixel is allowed (not the last row).
    May write up to 2 bytes past n * channels.
    """
    cdef Py_ssize_t x, k
    if channels == 3 and words and _LITTLE_ENDIAN:
        _gather3(s, col, n, pq, gp, gq)
    elif channels == 1 and _LITTLE_ENDIAN:
        _gather1(s, col, n, pq, gp, gq)
    elif channels == 4:
        for x in range(n):
            memcpy(gp + 4 * x, s + col[x].o0, 4)
            if pq:
                memcpy(gq + 4 * x, s + col[x].o1, 4)
    else:
        for x in range(n):
            for k in range(channels):
                gp[channels * x + k] = s[col[x].o0 + k]
                if pq:
                    gq[channels * x + k] = s[col[x].o1 + k]


cdef inline void _hweights(const uint8_t* gp, const uint8_t* gq, const uint16_t* a0,
                           const uint16_t* a1, bint coarse, uint16_t* d,
                           Py_ssize_t n) noexcept nogil:
    """d[j] = T >> 4, the column weights expanded to one per value.

    ``coarse``: every column weight is a multiple of 16 and a0, a1 hold the weights / 16,
    so T >> 4 = gp * a0 + gq * a1 exactly, in 16-bit arithmetic (at most 255 * 256).
    """
    cdef Py_ssize_t j
    if coarse:
        for j in range(n):
            d[j] = <uint16_t>(gp[j] * a0[j] + gq[j] * a1[j])
    else:
        for j in range(n):
            d[j] = <uint16_t>((<uint32_t>gp[j] * <uint32_t>a0[j]
                               + <uint32_t>gq[j] * <uint32_t>a1[j]) >> 4)


cdef inline void _hrow(const uint8_t* s, const Col* col, Py_ssize_t n, Py_ssize_t channels,
                       bint words, uint8_t* gp, uint8_t* gq, const uint16_t* a0,
                       const uint16_t* a1, bint coarse, uint16_t* d) noexcept nogil:
    _gather(s, col, n, channels, words, True, gp, gq)
    _hweights(gp, gq, a0, a1, coarse, d, n * channels)


cdef inline void _vblend_u8(const uint16_t* p0, const uint16_t* p1, uint16_t b0, uint16_t b1,
                            uint8_t* d, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint16_t t0, t1
    for i in range(n):
        t0 = <uint16_t>((<uint32_t>b0 * <uint32_t>p0[i]) >> 16)
        t1 = <uint16_t>((<uint32_t>b1 * <uint32_t>p1[i]) >> 16)
        d[i] = <uint8_t>((<uint16_t>(t0 + t1) + 2) >> 2)


cdef inline void _fill_f32(float* d, Py_ssize_t n, float v) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        d[i] = v


cdef inline void _convert_row(const uint8_t* p, Py_ssize_t n, float m, float s,
                             float* d) noexcept nogil:
    """d[x] = (float(p[x]) - m) * s: one contiguous channel (vectorised)."""
    cdef Py_ssize_t x
    cdef float v
    for x in range(n):
        v = <float>p[x] - m
        d[x] = v * s


cdef inline void _plane(const uint8_t* p, Py_ssize_t n, Py_ssize_t step, const float* lut,
                        float* d) noexcept nogil:
    """d[x] = lut[p[x * step]]."""
    cdef Py_ssize_t x = 0
    while x + 4 <= n:  # unrolled: the loop is all loads and stores
        d[x] = lut[p[0]]
        d[x + 1] = lut[p[step]]
        d[x + 2] = lut[p[2 * step]]
        d[x + 3] = lut[p[3 * step]]
        p += 4 * step
        x += 4
    while x < n:
        d[x] = lut[p[0]]
        p += step
        x += 1


cdef inline void _planes(const uint8_t* px, Py_ssize_t n, Py_ssize_t channels,
                         const int32_t* cmap, const float* lut, float* d,
                         Py_ssize_t plane) noexcept nogil:
    """d[c * plane + x] = lut[c][px[x * channels + cmap[c]]]: interleaved pixels to planes.

    One plane at a time: stores to several planes at once are several times slower when
    the planes are a multiple of 64 KiB apart (640 x 640 floats are).
    """
    cdef Py_ssize_t c
    for c in range(channels):
        _plane(px + cmap[c], n, channels, lut + 256 * c, d + c * plane)


cdef inline void _gather_plane(const uint8_t* s, const Col* col, Py_ssize_t n,
                               const float* lut, float* d) noexcept nogil:
    """d[x] = lut[s[o0(x)]]: one plane of a row of single source pixels."""
    cdef Py_ssize_t x = 0
    while x + 4 <= n:
        d[x] = lut[s[col[x].o0]]
        d[x + 1] = lut[s[col[x + 1].o0]]
        d[x + 2] = lut[s[col[x + 2].o0]]
        d[x + 3] = lut[s[col[x + 3].o0]]
        x += 4
    while x < n:
        d[x] = lut[s[col[x].o0]]
        x += 1


cdef inline void _slots(Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t* held, int* i0, int* i1,
                        int* todo0, int* todo1) noexcept nogil:
    """Which of the two scratch rows hold source rows r0 and r1; which must be computed."""
    cdef int j0 = 0 if held[0] == r0 else (1 if held[1] == r0 else -1)
    cdef int j1 = 0 if held[0] == r1 else (1 if held[1] == r1 else -1)
    todo0[0] = 0
    todo1[0] = 0
    if j0 < 0:
        j0 = 1 - j1 if j1 >= 0 else 0
        held[j0] = r0
        todo0[0] = 1
    if j1 < 0:
        if r1 == r0:
            j1 = j0
        else:
            j1 = 1 - j0
            held[j1] = r1
            todo1[0] = 1
    i0[0] = j0
    i1[0] = j1


ctypedef struct Resize:    # per-call tables and scratch rows of the resize
    Py_ssize_t h, new_w, channels, span, src_row
    Col* col               # new_w columns
    uint16_t* a0           # column weights expanded to one per value (span)
    uint16_t* a1
    uint16_t* rows         # two scratch rows of T >> 4 (2 * span)
    uint8_t* gp            # gathered source pixels (span + 4)
    uint8_t* gq
    uint8_t* px            # one resized row, interleaved (span + 4)
    Py_ssize_t held[2]     # the source row in each scratch row, or -1
    bint single            # every column takes one source pixel at full weight
    bint identity          # ... and it is the same column
    bint coarse            # every column weight is a multiple of 16 (a0, a1 hold w / 16)


cdef int _resize_init(Resize* rs, Py_ssize_t h, Py_ssize_t w, Py_ssize_t channels,
                      const int32_t[:, ::1] xcols, const int32_t[:, ::1] xw) except -1:
    cdef Py_ssize_t n = xcols.shape[0], span = n * channels, x, k
    rs.h = h
    rs.new_w = n
    rs.channels = channels
    rs.span = span
    rs.src_row = w * channels
    rs.held[0] = -1
    rs.held[1] = -1
    rs.single = _single_columns(xw)
    rs.identity = _identity_columns(xcols, xw, w)
    rs.col = <Col*>malloc(n * sizeof(Col))
    rs.a0 = <uint16_t*>malloc((5 * span) * sizeof(uint16_t) + 3 * (span + 4))
    if rs.col == NULL or rs.a0 == NULL:
        _resize_free(rs)
        raise MemoryError()
    rs.a1 = rs.a0 + span
    rs.rows = rs.a1 + span
    rs.gp = <uint8_t*>(rs.rows + 2 * span)
    rs.gq = rs.gp + span + 4
    rs.px = rs.gq + span + 4
    rs.coarse = True
    for x in range(n):
        rs.col[x].o0 = xcols[x, 0] * channels
        rs.col[x].o1 = xcols[x, 1] * channels
        if xw[x, 0] % 16 or xw[x, 1] % 16:
            rs.coarse = False
    for x in range(n):
        for k in range(channels):
            rs.a0[x * channels + k] = <uint16_t>(xw[x, 0] // 16 if rs.coarse else xw[x, 0])
            rs.a1[x * channels + k] = <uint16_t>(xw[x, 1] // 16 if rs.coarse else xw[x, 1])
    return 0


cdef void _resize_free(Resize* rs) noexcept:
    free(rs.col)
    free(rs.a0)
    rs.col = NULL
    rs.a0 = NULL


cdef inline const uint8_t* _resized_row(Resize* rs, const uint8_t* s, Py_ssize_t r0,
                                        Py_ssize_t r1, uint16_t b0, uint16_t b1,
                                        uint8_t* d) noexcept nogil:
    """Resized row of source rows r0, r1 (weights b0, b1), interleaved uint8.

    Written to ``d`` (span bytes), except for a row of single pixels on an identity
    resize, which is returned in place in the source. Returns the row.
    """
    cdef Py_ssize_t C = rs.channels, n = rs.new_w
    cdef const uint8_t* srow
    cdef int i0, i1, todo0, todo1
    if rs.single and b0 == _ONE and b1 == 0:
        srow = s + r0 * rs.src_row
        if rs.identity:
            return srow
        _gather(srow, rs.col, n, C, r0 < rs.h - 1, False, rs.px, NULL)
        if d != rs.px:
            memcpy(d, rs.px, rs.span)
        return d
    _slots(r0, r1, rs.held, &i0, &i1, &todo0, &todo1)
    if todo0:
        _hrow(s + r0 * rs.src_row, rs.col, n, C, r0 < rs.h - 1, rs.gp, rs.gq, rs.a0, rs.a1, rs.coarse,
              rs.rows + i0 * rs.span)
    if todo1:
        _hrow(s + r1 * rs.src_row, rs.col, n, C, r1 < rs.h - 1, rs.gp, rs.gq, rs.a0, rs.a1, rs.coarse,
              rs.rows + i1 * rs.span)
    _vblend_u8(rs.rows + i0 * rs.span, rs.rows + i1 * rs.span, b0, b1, d, rs.span)
    return d


# ---------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------

def letterbox(const uint8_t[:, :, ::1] src, uint8_t[:, :, ::1] out,
              const int32_t[:, ::1] xcols, const int32_t[:, ::1] xw,
              const int32_t[:, ::1] yrows, const int32_t[:, ::1] yw,
              Py_ssize_t top, Py_ssize_t left, const uint8_t[::1] pad):
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], C = src.shape[2]
    cdef Py_ssize_t H = out.shape[0], W = out.shape[1]
    cdef Py_ssize_t new_w = xcols.shape[0], new_h = yrows.shape[0]
    _check_geometry(h, w, xcols, xw, yrows, yw, top, left, H, W)
    if out.shape[2] != C or pad.shape[0] != C or C not in (1, 3, 4):
        raise ValueError("src, out and pad must have the same 1, 3 or 4 channels")
    cdef Py_ssize_t row_len = W * C, span = new_w * C
    cdef Resize rs
    _resize_init(&rs, h, w, C, xcols, xw)
    cdef uint8_t* padrow = <uint8_t*>malloc(row_len)
    if padrow == NULL:
        _resize_free(&rs)
        raise MemoryError()
    cdef const uint8_t* s = &src[0, 0, 0]
    cdef uint8_t* o = &out[0, 0, 0]
    cdef uint8_t* d
    cdef const uint8_t* row
    cdef Py_ssize_t i, k, y
    try:
        with nogil:
            for i in range(W):
                for k in range(C):
                    padrow[i * C + k] = pad[k]
            for y in range(top):
                memcpy(o + y * row_len, padrow, row_len)
            for y in range(top + new_h, H):
                memcpy(o + y * row_len, padrow, row_len)
            for y in range(new_h):
                d = o + (top + y) * row_len
                memcpy(d, padrow, left * C)
                memcpy(d + (left + new_w) * C, padrow, (W - left - new_w) * C)
                d = d + left * C
                row = _resized_row(&rs, s, yrows[y, 0], yrows[y, 1], <uint16_t>yw[y, 0],
                                   <uint16_t>yw[y, 1], d)
                if row != d:
                    memcpy(d, row, span)
    finally:
        _resize_free(&rs)
        free(padrow)


def to_tensor(const uint8_t[:, :, ::1] src, float[:, :, ::1] out,
              const int32_t[::1] channel_map, const float[::1] mean, const float[::1] scale):
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], C = src.shape[2]
    _check_channels(C, out.shape[0], channel_map, mean, scale)
    if out.shape[1] != h or out.shape[2] != w:
        raise ValueError("out must be (C, h, w) for an (h, w, C) image")
    cdef Py_ssize_t plane = h * w, i
    cdef const uint8_t* s = &src[0, 0, 0]
    cdef float* o = &out[0, 0, 0]
    cdef float lut[4 * 256]
    with nogil:
        if C == 1:
            _convert_row(s, plane, mean[0], scale[0], o)
        else:
            _fill_luts(lut, C, mean, scale)
            i = 0
            while i < plane:  # a block of pixels, one plane at a time
                _planes(s + i * C, min(<Py_ssize_t>_BLOCK, plane - i), C, &channel_map[0], lut,
                        o + i, plane)
                i += _BLOCK


def preprocess(const uint8_t[:, :, ::1] src, float[:, :, ::1] out,
               const int32_t[:, ::1] xcols, const int32_t[:, ::1] xw,
               const int32_t[:, ::1] yrows, const int32_t[:, ::1] yw,
               Py_ssize_t top, Py_ssize_t left, const uint8_t[::1] pad,
               const int32_t[::1] channel_map, const float[::1] mean, const float[::1] scale):
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], C = src.shape[2]
    cdef Py_ssize_t H = out.shape[1], W = out.shape[2]
    cdef Py_ssize_t new_w = xcols.shape[0], new_h = yrows.shape[0]
    _check_geometry(h, w, xcols, xw, yrows, yw, top, left, H, W)
    _check_channels(C, out.shape[0], channel_map, mean, scale)
    if pad.shape[0] != C:
        raise ValueError("pad must have one value per channel")
    cdef Py_ssize_t plane = H * W, right = W - left - new_w
    cdef Resize rs
    _resize_init(&rs, h, w, C, xcols, xw)
    cdef const uint8_t* s = &src[0, 0, 0]
    cdef float* o = &out[0, 0, 0]
    cdef const int32_t* cmap = &channel_map[0]
    cdef float lut[4 * 256]
    cdef float padv[4]
    cdef float* d
    cdef const uint8_t* row
    cdef Py_ssize_t c, y
    try:
        with nogil:
            _fill_luts(lut, C, mean, scale)
            for c in range(C):
                padv[c] = lut[c * 256 + pad[cmap[c]]]
                _fill_f32(o + c * plane, top * W, padv[c])
                _fill_f32(o + c * plane + (top + new_h) * W, (H - top - new_h) * W, padv[c])
            for y in range(new_h):
                d = o + (top + y) * W
                for c in range(C):
                    _fill_f32(d + c * plane, left, padv[c])
                    _fill_f32(d + c * plane + left + new_w, right, padv[c])
                if rs.single and yw[y, 0] == _ONE and yw[y, 1] == 0 and not rs.identity:
                    for c in range(C):
                        _gather_plane(s + yrows[y, 0] * rs.src_row + cmap[c], rs.col, new_w,
                                      lut + 256 * c, d + left + c * plane)
                    continue
                row = _resized_row(&rs, s, yrows[y, 0], yrows[y, 1], <uint16_t>yw[y, 0],
                                   <uint16_t>yw[y, 1], rs.px)
                if C == 1:
                    _convert_row(row, new_w, mean[0], scale[0], d + left)
                else:
                    _planes(row, new_w, C, cmap, lut, d + left, plane)
    finally:
        _resize_free(&rs)
