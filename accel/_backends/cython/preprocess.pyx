# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython preprocessing kernels: ``letterbox``, ``to_tensor`` and the fused ``preprocess``.

Same boundary, same integer and float32 arithmetic as the pure-Python reference
(``accel._backends.python.preprocess``; formulas in ``accel._preprocess``), bit for bit.

* One pass over the output rows. The horizontal pass of a source row is computed once
  into one of two scratch rows (an output row needs two source rows; the next output row
  usually shares one), then the vertical blend gives the output row as interleaved uint8
  pixels: copied into ``out`` (``letterbox``) or converted into the C output planes
  (``preprocess``). Padding is a constant per plane (per pixel for ``letterbox``),
  written around the resized block.
* The rows hold ``k`` lanes per pixel: the image's channels, except that the tensor
  kernels give a 3-channel pixel 4 lanes (the 4th has weight 0 and is never converted).
  A 4-lane pixel is one uint32, and its conversion into three planes (shift, mask,
  ``(float)px - mean``, ``* scale``) vectorises; 3-byte strides do not (no byte shuffles
  in SSE2).
* Horizontal pass: the two source pixels of every output column are first gathered into
  two packed rows (whole pixels per load and store; one 8-byte load for two neighbouring
  pixels; many small or overlapping stores are much slower than the arithmetic), then
  ``T >> 4 = (p * xw0 + q * xw1) >> 4`` runs over the whole row with the column weights
  expanded to one per lane, a contiguous loop the C compiler vectorises in 16-bit lanes:
  with ``w = 16 * (w >> 4) + (w & 15)`` it is ``(p * (xw0 >> 4) + q * (xw1 >> 4)) +
  ((p * (xw0 & 15) + q * (xw1 & 15)) >> 4)`` exactly, every partial sum below 2**16; the
  second part is skipped when every weight is a multiple of 16 (1/2, 1/3, 2/3
  downscales, most "round" ratios).
* The scratch holds ``T >> 4`` as uint16: with every weight in 0..2048 (checked),
  ``T <= 255 * 4096`` so ``T >> 4 < 2**16``, and ``(yw * (T >> 4)) >> 16`` is the high
  half of a 16 x 16-bit unsigned product (``pmulhuw`` on x86). The pixel is cast to
  uint8 as the NumPy backend's ``astype(np.uint8)`` does.
* Where the weights select a single source pixel (every column weight ``(2048, 0)`` and
  the row's ``(2048, 0)``: identity size and exact 3x, 5x... downscales, e.g. 1080p to
  640) the formula gives back that pixel exactly, so the row is a plain gather.
* Float conversion ``(float)px - mean[c]`` then ``* scale[c]``, two float32 operations
  (the build disables FMA contraction). Other tensors (float16, int8, uint8) look each
  element up in the per-channel table of 1- or 2-byte entries the public layer built,
  into planes (nchw) or interleaved pixels (nhwc); an nhwc float32 row is first put in
  output channel order, then converted in one contiguous loop. An identity uint8 table
  only reorders bytes (3 channels reversed: a byte swap per pixel), and a copied row of
  a 1080p-to-640 resize goes straight from the source into an nhwc uint8 tensor.

The packed loads and stores assume a little-endian CPU; other byte orders take byte-wise
loops with the same results. A 3-channel pixel is read as 4 bytes only where the 4th
byte exists (never the image's last pixel). The gathers write through ``restrict``
pointers (the one piece of C here, a typedef): without it the compiler must assume a
store may change the offsets or pixels still to be loaded, and does not vectorise.

All per-pixel work runs inside ``with nogil:``. Scratch comes from ``malloc`` and is
freed on every path. The tables are checked (shapes, indices in range, weights in
0..2048, placement inside ``out``) before any memory is touched, in O(w + h).
"""
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef extern from *:
    """
    #include <stdint.h>
    #if defined(__GNUC__) || defined(__clang__)
    #define ACCEL_RESTRICT __restrict__
    #else  /* MSVC's __restrict is for variables only, not typedefs: go without */
    #define ACCEL_RESTRICT
    #endif
    typedef uint8_t *ACCEL_RESTRICT accel_bytes_restrict;
    typedef const uint8_t *ACCEL_RESTRICT accel_cbytes_restrict;
    typedef float *ACCEL_RESTRICT accel_floats_restrict;
    """
    # A byte pointer that no other pointer in scope aliases: lets the compiler vectorise
    # the gathers (loads at computed offsets into a row it then knows they cannot change).
    ctypedef uint8_t* bytes_r "accel_bytes_restrict"
    ctypedef const uint8_t* cbytes_r "accel_cbytes_restrict"
    ctypedef float* floats_r "accel_floats_restrict"


cdef enum:
    _ONE = 2048    # weight of a single source pixel (COEF_SCALE)
    _CHUNK = 1024  # pixels widened to 4 lanes at a time by to_tensor
    _SLACK = 8     # spare bytes after each gathered row (packed stores overrun)


cdef uint16_t _ONE_16 = 1
cdef bint _LITTLE_ENDIAN = (<uint8_t*>&_ONE_16)[0] == 1


ctypedef struct Planes:    # where the lanes of a pixel row go in the tensor
    bint permutation       # channel_map is a permutation: one plane per lane
    float* d[4]            # permutation: the plane row fed by lane j
    float m[4]             # ... with its mean and scale
    float s[4]


# ---------------------------------------------------------------------------------------
# Checks (with the GIL)
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


# ---------------------------------------------------------------------------------------
# Tensor conversion (no GIL): n pixels of k lanes to the planes
# ---------------------------------------------------------------------------------------

cdef inline float _convert(uint8_t px, float m, float s) noexcept nogil:
    cdef float v = <float>px - m
    return v * s


cdef inline void _convert_lane(const uint8_t* px, Py_ssize_t n, Py_ssize_t k, float m,
                               float s, float* d) noexcept nogil:
    """d[x] = (float(px[x * k]) - m) * s (vectorised for k == 1)."""
    cdef Py_ssize_t x
    cdef float v
    if k == 1:
        for x in range(n):
            v = <float>px[x] - m
            d[x] = v * s
    else:
        for x in range(n):
            v = <float>px[x * k] - m
            d[x] = v * s


cdef inline void _convert_3of4(const uint8_t* px, Py_ssize_t n, Planes* pl) noexcept nogil:
    """Lanes 0..2 of 4-lane pixels to three planes. Each pixel is one uint32 on
    little-endian CPUs, split with shifts and masks: a loop the compiler vectorises."""
    cdef Py_ssize_t x
    cdef uint32_t p
    cdef float v0, v1, v2
    cdef float* d0 = pl.d[0]
    cdef float* d1 = pl.d[1]
    cdef float* d2 = pl.d[2]
    cdef float m0 = pl.m[0], m1 = pl.m[1], m2 = pl.m[2]
    cdef float s0 = pl.s[0], s1 = pl.s[1], s2 = pl.s[2]
    if _LITTLE_ENDIAN:
        for x in range(n):
            memcpy(&p, px + 4 * x, 4)
            v0 = <float><int32_t>(p & 0xFFu) - m0
            v1 = <float><int32_t>((p >> 8) & 0xFFu) - m1
            v2 = <float><int32_t>((p >> 16) & 0xFFu) - m2
            d0[x] = v0 * s0
            d1[x] = v1 * s1
            d2[x] = v2 * s2
    else:
        for x in range(n):
            v0 = <float>px[4 * x] - m0
            v1 = <float>px[4 * x + 1] - m1
            v2 = <float>px[4 * x + 2] - m2
            d0[x] = v0 * s0
            d1[x] = v1 * s1
            d2[x] = v2 * s2


cdef inline void _convert_4of4(const uint8_t* px, Py_ssize_t n, Planes* pl) noexcept nogil:
    cdef Py_ssize_t x
    cdef uint32_t p
    cdef float v0, v1, v2, v3
    cdef float* d0 = pl.d[0]
    cdef float* d1 = pl.d[1]
    cdef float* d2 = pl.d[2]
    cdef float* d3 = pl.d[3]
    cdef float m0 = pl.m[0], m1 = pl.m[1], m2 = pl.m[2], m3 = pl.m[3]
    cdef float s0 = pl.s[0], s1 = pl.s[1], s2 = pl.s[2], s3 = pl.s[3]
    if _LITTLE_ENDIAN:
        for x in range(n):
            memcpy(&p, px + 4 * x, 4)
            v0 = <float><int32_t>(p & 0xFFu) - m0
            v1 = <float><int32_t>((p >> 8) & 0xFFu) - m1
            v2 = <float><int32_t>((p >> 16) & 0xFFu) - m2
            v3 = <float><int32_t>(p >> 24) - m3
            d0[x] = v0 * s0
            d1[x] = v1 * s1
            d2[x] = v2 * s2
            d3[x] = v3 * s3
    else:
        for x in range(n):
            v0 = <float>px[4 * x] - m0
            v1 = <float>px[4 * x + 1] - m1
            v2 = <float>px[4 * x + 2] - m2
            v3 = <float>px[4 * x + 3] - m3
            d0[x] = v0 * s0
            d1[x] = v1 * s1
            d2[x] = v2 * s2
            d3[x] = v3 * s3


cdef void _set_planes(Planes* pl, Py_ssize_t channels, const int32_t* cmap,
                      const float* mean, const float* scale, float* d,
                      Py_ssize_t plane) noexcept nogil:
    """Where lane j of a pixel goes: plane c (at d + c * plane) reads lane cmap[c]."""
    cdef Py_ssize_t c
    cdef int seen = 0
    pl.permutation = True
    for c in range(channels):
        if seen & (1 << cmap[c]):
            pl.permutation = False
        seen |= 1 << cmap[c]
        pl.d[cmap[c]] = d + c * plane
        pl.m[cmap[c]] = mean[c]
        pl.s[cmap[c]] = scale[c]


cdef void _emit(const uint8_t* px, Py_ssize_t n, Py_ssize_t channels, Py_ssize_t k,
                const int32_t* cmap, const float* mean, const float* scale, float* d,
                Py_ssize_t plane) noexcept nogil:
    """Pixels px (n of k lanes) to d[c * plane + x], c < channels: plane c reads lane
    cmap[c] with mean[c] and scale[c]."""
    cdef Planes pl
    cdef Py_ssize_t c
    _set_planes(&pl, channels, cmap, mean, scale, d, plane)
    if pl.permutation and k == 4 and channels == 3:
        _convert_3of4(px, n, &pl)
    elif pl.permutation and k == 4 and channels == 4:
        _convert_4of4(px, n, &pl)
    else:
        for c in range(channels):
            _convert_lane(px + cmap[c], n, k, mean[c], scale[c], d + c * plane)


# ---------------------------------------------------------------------------------------
# Any tensor (no GIL): rows of pixels into either layout, as float32 values (above) or as
# entries of a per-channel table of 1- or 2-byte elements (float16, int8 and uint8
# tensors; accel._preprocess builds the table)
# ---------------------------------------------------------------------------------------

ctypedef fused entry_t:
    uint8_t
    uint16_t


ctypedef struct Emitter:
    Py_ssize_t channels
    int width              # 0: float32 arithmetic; 1 or 2: table entries of that size
    Py_ssize_t element     # bytes per output element: 4, 1 or 2
    bint nhwc
    bint identity          # width 1 and every table row is 0..255: pixels copied
    int32_t cmap[4]        # output channel c reads lane cmap[c]
    const float* mean
    const float* scale
    const uint8_t* t8      # the table, 256 entries per output channel
    const uint16_t* t16
    float* row_mean        # nhwc float32: mean and scale expanded to one per element,
    float* row_scale
    uint8_t* ordered       # ... and a row of pixels in output order


cdef int _emitter_init(Emitter* em, Py_ssize_t C, const int32_t* cmap, const float* mean,
                       const float* scale, const void* table, int width, bint nhwc,
                       Py_ssize_t max_n) except -1:
    cdef Py_ssize_t c, v, i, n = max_n * C
    em.channels = C
    em.width = width
    em.element = width if width else 4
    em.nhwc = nhwc
    em.identity = width == 1
    em.mean = mean
    em.scale = scale
    em.t8 = <const uint8_t*>table
    em.t16 = <const uint16_t*>table
    em.row_mean = NULL
    for c in range(C):
        em.cmap[c] = cmap[c]
        if em.identity:
            for v in range(256):
                if em.t8[256 * c + v] != v:
                    em.identity = False
                    break
    if nhwc and width == 0:
        em.row_mean = <float*>malloc(2 * n * sizeof(float) + n + _SLACK)
        if em.row_mean == NULL:
            raise MemoryError()
        em.row_scale = em.row_mean + n
        em.ordered = <uint8_t*>(em.row_scale + n)
        for i in range(n):
            em.row_mean[i] = mean[i % C]
            em.row_scale[i] = scale[i % C]
    return 0


cdef void _emitter_free(Emitter* em) noexcept:
    free(em.row_mean)
    em.row_mean = NULL


cdef void _element(const Emitter* em, Py_ssize_t c, uint8_t px, uint8_t* e) noexcept nogil:
    """The output element of channel c for pixel value px, as its bytes."""
    cdef float f
    if em.width == 0:
        f = _convert(px, em.mean[c], em.scale[c])
        memcpy(e, &f, 4)
    elif em.width == 1:
        e[0] = em.t8[256 * c + px]
    else:
        memcpy(e, &em.t16[256 * c + px], 2)


cdef void _order_pixels(const int32_t* cmap, Py_ssize_t C, const uint8_t* px, Py_ssize_t n,
                        Py_ssize_t k, uint8_t* d) noexcept nogil:
    """d[x * C + j] = px[x * k + cmap[j]]: pixels of k lanes to C bytes in output order.

    A 4-lane pixel is one uint32 (little-endian), stored 4 bytes at a time (a 3-channel
    pixel's 4th byte is overwritten by the next; the last stores 3). The orders swap_rb
    gives are special-cased: the identity is a copy and 3 channels reversed a byte swap
    (one instruction; shifts by the map measured 3.5x slower than the copy).
    """
    cdef Py_ssize_t x, j
    cdef uint32_t p, q, s0, s1, s2, s3
    if n <= 0:
        return
    if k == C and cmap[0] == 0 and (C == 1 or (cmap[1] == 1 and cmap[2] == 2
                                                and (C == 3 or cmap[3] == 3))):
        memcpy(d, px, n * C)
        return
    if _LITTLE_ENDIAN and k == 4 and C == 3:
        if cmap[0] == 0 and cmap[1] == 1 and cmap[2] == 2:
            for x in range(n - 1):
                memcpy(d + 3 * x, px + 4 * x, 4)
        elif cmap[0] == 2 and cmap[1] == 1 and cmap[2] == 0:
            for x in range(n - 1):
                memcpy(&p, px + 4 * x, 4)
                q = (p >> 24) | ((p >> 8) & 0xFF00u) | ((p << 8) & 0xFF0000u) | (p << 24)
                q = q >> 8  # bytes 2, 1, 0
                memcpy(d + 3 * x, &q, 4)
        else:
            s0 = 8 * cmap[0]
            s1 = 8 * cmap[1]
            s2 = 8 * cmap[2]
            for x in range(n - 1):
                memcpy(&p, px + 4 * x, 4)
                q = ((p >> s0) & 0xFFu) | (((p >> s1) & 0xFFu) << 8) | (((p >> s2) & 0xFFu) << 16)
                memcpy(d + 3 * x, &q, 4)
        x = n - 1
        for j in range(3):
            d[3 * x + j] = px[4 * x + cmap[j]]
    elif _LITTLE_ENDIAN and k == 4 and C == 4:
        s0 = 8 * cmap[0]
        s1 = 8 * cmap[1]
        s2 = 8 * cmap[2]
        s3 = 8 * cmap[3]
        for x in range(n):
            memcpy(&p, px + 4 * x, 4)
            q = (((p >> s0) & 0xFFu) | (((p >> s1) & 0xFFu) << 8)
                 | (((p >> s2) & 0xFFu) << 16) | (((p >> s3) & 0xFFu) << 24))
            memcpy(d + 4 * x, &q, 4)
    else:
        for x in range(n):
            for j in range(C):
                d[C * x + j] = px[k * x + cmap[j]]


cdef void _convert_ordered(const uint8_t* o, Py_ssize_t n, const float* m, const float* s,
                           float* d) noexcept nogil:
    cdef Py_ssize_t i
    cdef float v
    for i in range(n):
        v = <float>o[i] - m[i]
        d[i] = v * s[i]


cdef void _lookup_planes(const entry_t* table, const int32_t* cmap, Py_ssize_t C,
                         const uint8_t* px, Py_ssize_t n, Py_ssize_t k, uint8_t* dst,
                         Py_ssize_t plane) noexcept nogil:
    """Plane c (at dst + c * plane bytes) gets table[c, px[x * k + cmap[c]]]."""
    cdef Py_ssize_t c, x
    cdef const entry_t* t
    cdef const uint8_t* s
    cdef entry_t* d
    for c in range(C):
        t = table + 256 * c
        s = px + cmap[c]
        d = <entry_t*>(dst + c * plane)
        for x in range(n):
            d[x] = t[s[k * x]]


cdef void _lookup_pixels(const entry_t* table, const int32_t* cmap, Py_ssize_t C,
                         const uint8_t* px, Py_ssize_t n, Py_ssize_t k,
                         uint8_t* dst) noexcept nogil:
    """Interleaved pixels: element c of pixel x gets table[c, px[x * k + cmap[c]]]."""
    cdef Py_ssize_t c, x
    cdef entry_t* d = <entry_t*>dst
    cdef const entry_t* t0 = table
    cdef const entry_t* t1 = table + 256
    cdef const entry_t* t2 = table + 512
    cdef const uint8_t* s0 = px + cmap[0]
    cdef const uint8_t* s1
    cdef const uint8_t* s2
    if C == 3:
        s1 = px + cmap[1]
        s2 = px + cmap[2]
        for x in range(n):
            d[3 * x] = t0[s0[k * x]]
            d[3 * x + 1] = t1[s1[k * x]]
            d[3 * x + 2] = t2[s2[k * x]]
    else:
        for x in range(n):
            for c in range(C):
                d[C * x + c] = table[256 * c + px[k * x + cmap[c]]]


cdef void _emit_row(const Emitter* em, const uint8_t* px, Py_ssize_t n, Py_ssize_t k,
                    uint8_t* dst, Py_ssize_t plane) noexcept nogil:
    """n pixels of k lanes into the tensor at dst: nchw, plane c starts at dst + c * plane
    (bytes); nhwc, dst is the first pixel's first element."""
    if not em.nhwc:
        if em.width == 0:
            _emit(px, n, em.channels, k, em.cmap, em.mean, em.scale, <float*>dst, plane // 4)
        elif em.width == 1:
            _lookup_planes(em.t8, em.cmap, em.channels, px, n, k, dst, plane)
        else:
            _lookup_planes(em.t16, em.cmap, em.channels, px, n, k, dst, plane)
    elif em.identity:
        _order_pixels(em.cmap, em.channels, px, n, k, dst)
    elif em.width == 1:
        _lookup_pixels(em.t8, em.cmap, em.channels, px, n, k, dst)
    elif em.width == 2:
        _lookup_pixels(em.t16, em.cmap, em.channels, px, n, k, dst)
    else:
        _order_pixels(em.cmap, em.channels, px, n, k, em.ordered)
        _convert_ordered(em.ordered, n * em.channels, em.row_mean, em.row_scale, <float*>dst)


cdef void _fill_pattern(uint8_t* d, Py_ssize_t count, const uint8_t* pattern,
                        Py_ssize_t size) noexcept nogil:
    """count copies of a size-byte pattern at d, by doubling copies."""
    cdef Py_ssize_t total = count * size, done, m
    if total <= 0:
        return
    memcpy(d, pattern, size)
    done = size
    while done < total:
        m = done if done < total - done else total - done
        memcpy(d + done, d, m)
        done += m


cdef uint8_t* _tensor_pointer(object out, object table) except NULL:
    """The first byte of ``out`` (C-contiguous, 3-D, of the table's element type, or
    float32 without a table: checked). The caller keeps ``out`` alive."""
    cdef float[:, :, ::1] f32
    cdef uint16_t[:, :, ::1] u16
    cdef uint8_t[:, :, ::1] u8
    if table is None:
        f32 = out
        return <uint8_t*>&f32[0, 0, 0]
    if table.itemsize == 2:
        u16 = out
        return <uint8_t*>&u16[0, 0, 0]
    u8 = out
    return &u8[0, 0, 0]


cdef const void* _table_pointer(object table, Py_ssize_t channels) except? NULL:
    cdef const uint16_t[:, ::1] t16
    cdef const uint8_t[:, ::1] t8
    if table is None:
        return NULL
    if table.shape != (channels, 256) or table.itemsize not in (1, 2):
        raise ValueError("table must be (C, 256) of 1- or 2-byte entries")
    if table.itemsize == 2:
        t16 = table
        return &t16[0, 0]
    t8 = table
    return &t8[0, 0]


# ---------------------------------------------------------------------------------------
# The resize (no GIL), one output row at a time
# ---------------------------------------------------------------------------------------

ctypedef struct Resize:    # per-call tables and scratch rows
    const uint8_t* src
    Py_ssize_t h, channels, k, new_w, span, src_row
    int32_t* o0            # per output column, byte offsets in a source row of its first
    int32_t* o1            # and second source pixel (new_w each; 32 bits, as the compiler
                           # vectorises gathers with 32-bit indices, not 64-bit ones)
    Py_ssize_t paired      # columns 0..paired-1: one 8-byte load holds both pixels
    const int32_t* xw      # the column weights (new_w, 2), expanded on first use into:
    bint weights_ready     # (a row copied pixel for pixel needs none of them)
    uint16_t* q0           # column weights // 16, expanded to one per lane (span; 0 in
    uint16_t* q1           # spare lanes)
    uint16_t* r0           # column weights % 16, likewise
    uint16_t* r1
    uint16_t* rows         # two scratch rows of T >> 4 (2 * span)
    Py_ssize_t held[2]     # the source row in each scratch row, or -1
    uint8_t* gp            # gathered source pixels (span + _SLACK)
    uint8_t* gq
    uint8_t* px            # one resized row (span + _SLACK)
    bint single            # every column takes one source pixel at full weight
    bint identity          # ... and it is the same column, and k == channels
    bint coarse            # every column weight is a multiple of 16 (r0 = r1 = 0)


cdef int _resize_init(Resize* rs, const uint8_t* src, Py_ssize_t h, Py_ssize_t w,
                      Py_ssize_t channels, Py_ssize_t k, const int32_t[:, ::1] xcols,
                      const int32_t[:, ::1] xw) except -1:
    cdef Py_ssize_t n = xcols.shape[0], span = n * k, x, o0, o1
    cdef int32_t w0, w1
    rs.src = src
    rs.h = h
    rs.channels = channels
    rs.k = k
    rs.new_w = n
    rs.span = span
    rs.src_row = w * channels
    rs.held[0] = -1
    rs.held[1] = -1
    if rs.src_row > 0x7FFFFFF0:
        raise ValueError("source rows longer than 2**31 bytes are not supported")
    rs.o0 = <int32_t*>malloc(2 * n * sizeof(int32_t))
    rs.q0 = <uint16_t*>malloc(6 * span * sizeof(uint16_t) + 3 * (span + _SLACK))
    if rs.o0 == NULL or rs.q0 == NULL:
        _resize_free(rs)
        raise MemoryError()
    rs.o1 = rs.o0 + n
    rs.q1 = rs.q0 + span
    rs.r0 = rs.q1 + span
    rs.r1 = rs.r0 + span
    rs.rows = rs.r1 + span
    rs.gp = <uint8_t*>(rs.rows + 2 * span)
    rs.gq = rs.gp + span + _SLACK
    rs.px = rs.gq + span + _SLACK
    rs.single = True
    rs.identity = n == w and k == channels
    rs.coarse = True
    rs.paired = -1
    for x in range(n):
        w0 = xw[x, 0]
        w1 = xw[x, 1]
        o0 = xcols[x, 0] * channels
        o1 = xcols[x, 1] * channels
        rs.o0[x] = <int32_t>o0
        rs.o1[x] = <int32_t>o1
        if w0 != _ONE or w1 != 0:
            rs.single = False
        if xcols[x, 0] != x:
            rs.identity = False
        if w0 % 16 or w1 % 16:
            rs.coarse = False
        if rs.paired < 0 and not (o0 + 8 <= rs.src_row and (o1 == o0 + channels or w1 == 0)):
            rs.paired = x
    if rs.paired < 0:
        rs.paired = n
    if k != 4 or not _LITTLE_ENDIAN:
        rs.paired = 0
    rs.identity = rs.identity and rs.single
    rs.xw = &xw[0, 0] if n > 0 else NULL
    rs.weights_ready = False
    return 0


cdef void _expand_weights(Resize* rs) noexcept nogil:
    """q0, q1, r0, r1 from the column weights, once per call and only when a row needs
    the horizontal pass: 1080p -> 640 copies every row pixel for pixel and never does."""
    cdef Py_ssize_t x, j, k = rs.k, channels = rs.channels
    cdef int32_t w0, w1
    for x in range(rs.new_w):
        w0 = rs.xw[2 * x]
        w1 = rs.xw[2 * x + 1]
        for j in range(k):
            rs.q0[x * k + j] = <uint16_t>(w0 >> 4) if j < channels else 0
            rs.q1[x * k + j] = <uint16_t>(w1 >> 4) if j < channels else 0
            rs.r0[x * k + j] = <uint16_t>(w0 & 15) if j < channels else 0
            rs.r1[x * k + j] = <uint16_t>(w1 & 15) if j < channels else 0
    rs.weights_ready = True


cdef void _resize_free(Resize* rs) noexcept:
    free(rs.o0)
    free(rs.q0)
    rs.o0 = NULL
    rs.q0 = NULL


cdef inline void _gather_packed3(const uint8_t* s, const int32_t* o0,
                                 const int32_t* o1, Py_ssize_t n, bint pq,
                                 bytes_r gp, bytes_r gq) noexcept nogil:
    """3 channels in 3 lanes, little-endian, not the last row: two pixels (6 bytes and 2
    that the next store overwrites) per 8-byte store."""
    cdef Py_ssize_t x = 0
    cdef uint32_t a, b
    cdef uint64_t v
    while x + 2 <= n:
        memcpy(&a, s + o0[x], 4)
        memcpy(&b, s + o0[x + 1], 4)
        v = (a & 0xFFFFFFu) | (<uint64_t>b << 24)
        memcpy(gp + 3 * x, &v, 8)
        if pq:
            memcpy(&a, s + o1[x], 4)
            memcpy(&b, s + o1[x + 1], 4)
            v = (a & 0xFFFFFFu) | (<uint64_t>b << 24)
            memcpy(gq + 3 * x, &v, 8)
        x += 2
    if x < n:
        memcpy(gp + 3 * x, s + o0[x], 3)
        if pq:
            memcpy(gq + 3 * x, s + o1[x], 3)


cdef inline void _gather_packed1(const uint8_t* s, const int32_t* o0,
                                 const int32_t* o1, Py_ssize_t n, bint pq,
                                 bytes_r gp, bytes_r gq) noexcept nogil:
    """1 channel, little-endian: four pixels per 4-byte store."""
    cdef Py_ssize_t x = 0
    cdef uint32_t v
    while x + 4 <= n:
        v = (s[o0[x]] | (<uint32_t>s[o0[x + 1]] << 8)
             | (<uint32_t>s[o0[x + 2]] << 16) | (<uint32_t>s[o0[x + 3]] << 24))
        memcpy(gp + x, &v, 4)
        if pq:
            v = (s[o1[x]] | (<uint32_t>s[o1[x + 1]] << 8)
                 | (<uint32_t>s[o1[x + 2]] << 16) | (<uint32_t>s[o1[x + 3]] << 24))
            memcpy(gq + x, &v, 4)
        x += 4
    while x < n:
        gp[x] = s[o0[x]]
        if pq:
            gq[x] = s[o1[x]]
        x += 1


cdef inline void _gather_lanes4(const uint8_t* s, const int32_t* o0,
                                const int32_t* o1, Py_ssize_t n, Py_ssize_t channels,
                                Py_ssize_t paired, bint last_row, bint pq, bytes_r gp,
                                bytes_r gq) noexcept nogil:
    """3 or 4 channels in 4 lanes: one 4-byte copy per pixel, or one 8-byte load for the
    two pixels of each of the first ``paired`` columns (little-endian; the compiler
    vectorises these loops)."""
    cdef Py_ssize_t x, start = 0
    cdef uint64_t v
    cdef uint32_t first, second
    if pq and paired > 0:
        start = paired
        if channels == 3:
            for x in range(paired):
                memcpy(&v, s + o0[x], 8)
                first = <uint32_t>v
                second = <uint32_t>(v >> 24)
                memcpy(gp + 4 * x, &first, 4)
                memcpy(gq + 4 * x, &second, 4)
        else:
            for x in range(paired):
                memcpy(&v, s + o0[x], 8)
                first = <uint32_t>v
                second = <uint32_t>(v >> 32)
                memcpy(gp + 4 * x, &first, 4)
                memcpy(gq + 4 * x, &second, 4)
    if channels == 4 or not last_row:
        for x in range(start, n):
            memcpy(gp + 4 * x, s + o0[x], 4)
        if pq:
            for x in range(start, n):
                memcpy(gq + 4 * x, s + o1[x], 4)
    else:  # the image's last row: its last pixel has no 4th byte
        for x in range(start, n):
            memcpy(gp + 4 * x, s + o0[x], 3)
            gp[4 * x + 3] = 0
            if pq:
                memcpy(gq + 4 * x, s + o1[x], 3)
                gq[4 * x + 3] = 0


cdef void _gather(Resize* rs, Py_ssize_t r, bint pq, bytes_r gp, bytes_r gq) noexcept nogil:
    """gp[x * k + j] = S[r, xcols[x, 0], j] and, if ``pq``, gq likewise with xcols[x, 1].

    May write up to _SLACK bytes past new_w * k.
    """
    cdef const uint8_t* s = rs.src + r * rs.src_row
    cdef const int32_t* o0 = rs.o0
    cdef const int32_t* o1 = rs.o1
    cdef Py_ssize_t x, j, C = rs.channels, n = rs.new_w
    cdef bint last_row = r == rs.h - 1
    if rs.k == 4:
        _gather_lanes4(s, o0, o1, n, C, rs.paired, last_row, pq, gp, gq)
    elif C == 3 and _LITTLE_ENDIAN and not last_row:
        _gather_packed3(s, o0, o1, n, pq, gp, gq)
    elif C == 1 and _LITTLE_ENDIAN:
        _gather_packed1(s, o0, o1, n, pq, gp, gq)
    else:
        for x in range(n):
            for j in range(C):
                gp[C * x + j] = s[o0[x] + j]
                if pq:
                    gq[C * x + j] = s[o1[x] + j]


cdef inline void _hweights(const uint8_t* gp, const uint8_t* gq, const uint16_t* q0,
                           const uint16_t* q1, const uint16_t* r0, const uint16_t* r1,
                           uint16_t* d, Py_ssize_t n) noexcept nogil:
    """d[j] = T >> 4 in 16-bit lanes, the column weights a = 16 q + r expanded per lane:

    T >> 4 = (p q0 + q q1) + ((p r0 + q r1) >> 4) exactly (every term is non-negative);
    the first sum is at most 255 * 256, the second 255 * 30 and the total T >> 4 < 2**16.
    """
    cdef Py_ssize_t j
    cdef uint16_t p, q, whole, part
    for j in range(n):  # every product and sum cast to 16 bits: 16-bit vector lanes
        p = gp[j]
        q = gq[j]
        whole = <uint16_t>(<uint16_t>(p * q0[j]) + <uint16_t>(q * q1[j]))
        part = <uint16_t>(<uint16_t>(p * r0[j]) + <uint16_t>(q * r1[j]))
        d[j] = <uint16_t>(whole + (part >> 4))


cdef inline void _hweights_coarse(const uint8_t* gp, const uint8_t* gq, const uint16_t* q0,
                                  const uint16_t* q1, uint16_t* d, Py_ssize_t n) noexcept nogil:
    """_hweights when every weight is a multiple of 16 (r0 = r1 = 0)."""
    cdef Py_ssize_t j
    cdef uint16_t p, q
    for j in range(n):
        p = gp[j]
        q = gq[j]
        d[j] = <uint16_t>(<uint16_t>(p * q0[j]) + <uint16_t>(q * q1[j]))


cdef inline void _vblend(const uint16_t* p0, const uint16_t* p1, uint16_t b0, uint16_t b1,
                         uint8_t* d, Py_ssize_t n) noexcept nogil:
    """d[i] = (((b0 * p0[i]) >> 16) + ((b1 * p1[i]) >> 16) + 2) >> 2, as uint8."""
    cdef Py_ssize_t i
    cdef uint16_t t0, t1
    for i in range(n):
        t0 = <uint16_t>((<uint32_t>b0 * <uint32_t>p0[i]) >> 16)
        t1 = <uint16_t>((<uint32_t>b1 * <uint32_t>p1[i]) >> 16)
        d[i] = <uint8_t>((<uint16_t>(t0 + t1) + 2) >> 2)


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


cdef inline void _hrow(Resize* rs, Py_ssize_t r, uint16_t* d) noexcept nogil:
    """d = T >> 4 for source row r: gather its pixel pairs, then apply the weights."""
    _gather(rs, r, True, rs.gp, rs.gq)
    if not rs.weights_ready:
        _expand_weights(rs)
    if rs.coarse:
        _hweights_coarse(rs.gp, rs.gq, rs.q0, rs.q1, d, rs.span)
    else:
        _hweights(rs.gp, rs.gq, rs.q0, rs.q1, rs.r0, rs.r1, d, rs.span)


cdef const uint8_t* _resized_row(Resize* rs, Py_ssize_t r0, Py_ssize_t r1, uint16_t b0,
                                 uint16_t b1) noexcept nogil:
    """The resized row of source rows r0, r1 (weights b0, b1): new_w pixels of k lanes,
    in rs.px, or in place in the source for a row of an identity resize."""
    cdef int i0, i1, todo0, todo1
    if rs.single and b0 == _ONE and b1 == 0:
        # (((2048 * ((2048 * S) >> 4)) >> 16) + 2) >> 2 == S: the pixels are a copy
        if rs.identity:
            return rs.src + r0 * rs.src_row
        _gather(rs, r0, False, rs.px, NULL)
        return rs.px
    _slots(r0, r1, rs.held, &i0, &i1, &todo0, &todo1)
    if todo0:
        _hrow(rs, r0, rs.rows + i0 * rs.span)
    if todo1:
        _hrow(rs, r1, rs.rows + i1 * rs.span)
    _vblend(rs.rows + i0 * rs.span, rs.rows + i1 * rs.span, b0, b1, rs.px, rs.span)
    return rs.px


cdef bint _direct_row(Resize* rs, const Emitter* em, Py_ssize_t r, uint16_t b0, uint16_t b1,
                      uint8_t* d) noexcept nogil:
    """Write a copied row (weights (2048, 0) on both axes) of 3-channel pixels straight
    from source row r into an nhwc uint8 tensor row, when the pixels are the output
    (identity table, channels in order or reversed); False when that does not apply.

    One pass instead of a gather then a reorder: the 1080p-to-640 uint8 tensor then
    costs what ``letterbox`` costs, whose packed gather and ``memcpy`` are faster than
    a per-pixel reorder of gathered rows.
    """
    cdef Py_ssize_t x, n = rs.new_w
    cdef const uint8_t* s = rs.src + r * rs.src_row
    cdef const int32_t* o0 = rs.o0
    cdef uint32_t p
    cdef bint swap
    if not (em.identity and em.nhwc and rs.single and rs.channels == 3 and rs.k == 4
            and b0 == _ONE and b1 == 0 and r != rs.h - 1 and _LITTLE_ENDIAN):
        return False
    if em.cmap[0] == 2 and em.cmap[1] == 1 and em.cmap[2] == 0:
        swap = True
    elif em.cmap[0] == 0 and em.cmap[1] == 1 and em.cmap[2] == 2:
        swap = False
    else:
        return False
    # every 4-byte load stays in the image (not its last row); every 4-byte store but the
    # last has its 4th byte overwritten by the next pixel
    if swap:
        for x in range(n - 1):
            memcpy(&p, s + o0[x], 4)
            p = (p >> 24) | ((p >> 8) & 0xFF00u) | ((p << 8) & 0xFF0000u) | (p << 24)
            p = p >> 8
            memcpy(d + 3 * x, &p, 4)
        x = n - 1
        d[3 * x] = s[o0[x] + 2]
        d[3 * x + 1] = s[o0[x] + 1]
        d[3 * x + 2] = s[o0[x]]
    else:
        for x in range(n - 1):
            memcpy(d + 3 * x, s + o0[x], 4)
        memcpy(d + 3 * (n - 1), s + o0[n - 1], 3)
    return True


cdef inline void _convert_gathered3(cbytes_r s, const int32_t* o, Py_ssize_t n, floats_r d0,
                                    floats_r d1, floats_r d2, const Planes* pl) noexcept nogil:
    """d_j[x] = (float(S[o[x] + j]) - m_j) * s_j: the gather and the conversion in one loop
    (32-bit offsets and unaliased pointers, so the compiler vectorises it)."""
    cdef Py_ssize_t x
    cdef uint32_t p
    cdef float v0, v1, v2
    cdef float m0 = pl.m[0], m1 = pl.m[1], m2 = pl.m[2]
    cdef float s0 = pl.s[0], s1 = pl.s[1], s2 = pl.s[2]
    for x in range(n):
        memcpy(&p, s + o[x], 4)
        v0 = <float><int32_t>(p & 0xFFu) - m0
        v1 = <float><int32_t>((p >> 8) & 0xFFu) - m1
        v2 = <float><int32_t>((p >> 16) & 0xFFu) - m2
        d0[x] = v0 * s0
        d1[x] = v1 * s1
        d2[x] = v2 * s2


cdef bint _direct_planes(Resize* rs, const Emitter* em, const Planes* pl, Py_ssize_t r,
                         uint16_t b0, uint16_t b1, Py_ssize_t offset) noexcept nogil:
    """Convert a copied row (weights (2048, 0) on both axes, e.g. 1080p to 640) of
    3-channel pixels straight from source row r into float32 planes, ``offset`` elements
    into each; False when that does not apply.

    One pass instead of a gather into 4-lane pixels then their conversion: measured
    about twice as fast, as the gathered row is neither stored nor read back.
    """
    cdef Py_ssize_t x, n = rs.new_w, whole
    cdef const uint8_t* s = rs.src + r * rs.src_row
    if not (pl.permutation and em.width == 0 and not em.nhwc and em.channels == 3
            and rs.single and rs.k == 4 and b0 == _ONE and b1 == 0 and _LITTLE_ENDIAN):
        return False
    whole = n - 1 if r == rs.h - 1 else n  # the image's last pixel has no 4th byte
    _convert_gathered3(s, rs.o0, whole, pl.d[0] + offset, pl.d[1] + offset,
                       pl.d[2] + offset, pl)
    for x in range(whole, n):
        pl.d[0][offset + x] = _convert(s[rs.o0[x]], pl.m[0], pl.s[0])
        pl.d[1][offset + x] = _convert(s[rs.o0[x] + 1], pl.m[1], pl.s[1])
        pl.d[2][offset + x] = _convert(s[rs.o0[x] + 2], pl.m[2], pl.s[2])
    return True


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
    _resize_init(&rs, &src[0, 0, 0], h, w, C, C, xcols, xw)
    cdef uint8_t* padrow = <uint8_t*>malloc(row_len)
    if padrow == NULL:
        _resize_free(&rs)
        raise MemoryError()
    cdef uint8_t* o = &out[0, 0, 0]
    cdef uint8_t* d
    cdef Py_ssize_t i, j, y
    try:
        with nogil:
            for i in range(W):
                for j in range(C):
                    padrow[i * C + j] = pad[j]
            for y in range(top):
                memcpy(o + y * row_len, padrow, row_len)
            for y in range(new_h):
                d = o + (top + y) * row_len
                memcpy(d, padrow, left * C)
                memcpy(d + (left + new_w) * C, padrow, (W - left - new_w) * C)
                memcpy(d + left * C, _resized_row(&rs, yrows[y, 0], yrows[y, 1],
                                                  <uint16_t>yw[y, 0], <uint16_t>yw[y, 1]),
                       span)
            for y in range(top + new_h, H):
                memcpy(o + y * row_len, padrow, row_len)
    finally:
        _resize_free(&rs)
        free(padrow)


def _layout_shape(out, layout):
    """(C, H, W) of a tensor in ``layout``, which must be "nchw" or "nhwc"."""
    if layout == "nchw":
        return out.shape
    if layout == "nhwc":
        return (out.shape[2], out.shape[0], out.shape[1])
    raise ValueError("layout must be 'nchw' or 'nhwc', got %r" % (layout,))


def to_tensor(const uint8_t[:, :, ::1] src, out, const int32_t[::1] channel_map,
              const float[::1] mean, const float[::1] scale, table, layout):
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], C = src.shape[2]
    shape = _layout_shape(out, layout)
    _check_channels(C, shape[0], channel_map, mean, scale)
    if shape[1] != h or shape[2] != w:
        raise ValueError("out must be (C, h, w) or (h, w, C) for an (h, w, C) image")
    cdef Py_ssize_t plane = h * w, start, m, x, whole
    cdef Py_ssize_t k = 4 if C == 3 else C
    cdef const void* t = _table_pointer(table, C)
    cdef uint8_t* o = _tensor_pointer(out, table)
    cdef const uint8_t* s = &src[0, 0, 0]
    cdef const uint8_t* px
    cdef uint8_t wide[4 * _CHUNK]
    cdef Emitter em
    _emitter_init(&em, C, &channel_map[0], &mean[0], &scale[0], t,
                  0 if table is None else table.itemsize, layout == "nhwc", _CHUNK)
    cdef Py_ssize_t e = em.element
    try:
        with nogil:
            start = 0
            while start < plane:  # chunks of pixels, 3 channels widened to 4 lanes
                m = min(<Py_ssize_t>_CHUNK, plane - start)
                px = s + C * start
                if C == 3:
                    whole = m - 1 if start + m == plane else m  # the last pixel: 3 bytes
                    for x in range(whole):
                        memcpy(wide + 4 * x, s + 3 * (start + x), 4)
                    for x in range(whole, m):
                        memcpy(wide + 4 * x, s + 3 * (start + x), 3)
                    px = wide
                _emit_row(&em, px, m, k, o + (C * start if em.nhwc else start) * e, plane * e)
                start += _CHUNK
    finally:
        _emitter_free(&em)


def preprocess(const uint8_t[:, :, ::1] src, out,
               const int32_t[:, ::1] xcols, const int32_t[:, ::1] xw,
               const int32_t[:, ::1] yrows, const int32_t[:, ::1] yw,
               Py_ssize_t top, Py_ssize_t left, const uint8_t[::1] pad,
               const int32_t[::1] channel_map, const float[::1] mean, const float[::1] scale,
               table, layout):
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], C = src.shape[2]
    shape = _layout_shape(out, layout)
    cdef Py_ssize_t H = shape[1], W = shape[2]
    cdef Py_ssize_t new_w = xcols.shape[0], new_h = yrows.shape[0]
    _check_geometry(h, w, xcols, xw, yrows, yw, top, left, H, W)
    _check_channels(C, shape[0], channel_map, mean, scale)
    if pad.shape[0] != C:
        raise ValueError("pad must have one value per channel")
    cdef Py_ssize_t right = W - left - new_w, bottom = H - top - new_h
    cdef Py_ssize_t k = 4 if C == 3 else C
    cdef const void* t = _table_pointer(table, C)
    cdef uint8_t* o = _tensor_pointer(out, table)
    cdef Emitter em
    cdef Resize rs
    _emitter_init(&em, C, &channel_map[0], &mean[0], &scale[0], t,
                  0 if table is None else table.itemsize, layout == "nhwc", new_w)
    try:
        _resize_init(&rs, &src[0, 0, 0], h, w, C, k, xcols, xw)
    except BaseException:
        _emitter_free(&em)
        raise
    cdef Py_ssize_t e = em.element, plane = H * W * e, pixel = C * e, row, c, y
    cdef uint8_t padv[16]  # the padding pixel, output channel by channel
    cdef Planes pl         # float32 nchw: where each lane of a pixel goes
    cdef uint8_t* d
    cdef const uint8_t* px
    try:
        with nogil:
            for c in range(C):
                _element(&em, c, pad[channel_map[c]], padv + c * e)
            if not em.nhwc:
                row = W * e
                for c in range(C):
                    _fill_pattern(o + c * plane, top * W, padv + c * e, e)
                pl.permutation = False
                if em.width == 0:
                    _set_planes(&pl, C, em.cmap, em.mean, em.scale,
                                <float*>o + top * W + left, H * W)
                for y in range(new_h):
                    d = o + (top + y) * row
                    for c in range(C):
                        _fill_pattern(d + c * plane, left, padv + c * e, e)
                        _fill_pattern(d + c * plane + (left + new_w) * e, right, padv + c * e, e)
                    if not _direct_planes(&rs, &em, &pl, yrows[y, 0], <uint16_t>yw[y, 0],
                                          <uint16_t>yw[y, 1], y * W):
                        px = _resized_row(&rs, yrows[y, 0], yrows[y, 1], <uint16_t>yw[y, 0],
                                          <uint16_t>yw[y, 1])
                        _emit_row(&em, px, new_w, k, d + left * e, plane)
                for c in range(C):
                    _fill_pattern(o + c * plane + (top + new_h) * row, bottom * W, padv + c * e, e)
            else:
                row = W * pixel
                _fill_pattern(o, top * W, padv, pixel)
                for y in range(new_h):
                    d = o + (top + y) * row
                    _fill_pattern(d, left, padv, pixel)
                    _fill_pattern(d + (left + new_w) * pixel, right, padv, pixel)
                    if not _direct_row(&rs, &em, yrows[y, 0], <uint16_t>yw[y, 0],
                                       <uint16_t>yw[y, 1], d + left * pixel):
                        px = _resized_row(&rs, yrows[y, 0], yrows[y, 1], <uint16_t>yw[y, 0],
                                          <uint16_t>yw[y, 1])
                        _emit_row(&em, px, new_w, k, d + left * pixel, 0)
                _fill_pattern(o + (top + new_h) * row, bottom * W, padv, pixel)
    finally:
        _resize_free(&rs)
        _emitter_free(&em)
