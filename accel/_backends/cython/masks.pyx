# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython mask kernel: ``process_masks`` (contract in ``accel._masks``; boundary, with the
exact float64 arithmetic and its order, in ``accel._backends``).

Same decisions and same arithmetic as the pure-Python reference
(``accel._backends.python.masks``), bit for bit (the build uses ``-ffp-contract=off``,
so nothing is fused into an FMA). Per detection, over its window only:

* The column positions, indices and weights of the window's target x are computed once
  (``(x + 0.5) * scale - 0.5``, clamped at 0.0, truncated), the row ones as each target
  row comes.
* The float64 logits of the prototype region the window's samples touch are accumulated
  into a scratch region, four channels per pass, each added in turn
  (``((((0.0 + c0 * p0) + c1 * p1) + c2 * p2) + c3 * p3) + ...``: for each pixel the
  reference's sum in the reference's order). Region rows are contiguous, so the C
  compiler vectorises the float -> double multiply-adds; four channels per pass load and
  store the logits a quarter as often (about 10% off a 640x640 call).
* The horizontal blend ``wx0 * L[r][c0] + wx1 * L[r][c1]`` of a source row ``r`` is
  computed once per (source row, target x), into one of two row buffers tagged with
  their source row, and reused by every target row that samples ``r`` (rows go up
  monotonically, so two buffers always hold the pair a target row needs).
* Each target pixel is then ``wy0 * H[r0][x] + wy1 * H[r1][x] > 0.0``, the reference's
  expression with its parenthesised blends already computed, written as 1 or 0.

The arguments are checked in O(K) before any memory is read or written: shapes, the
prototype window inside the map, every window's samples inside the prototype window,
every window's target pixels inside ``out``. A wrong call raises ``ValueError`` instead
of reading or writing out of bounds. All per-pixel work runs inside ``with nogil:``; the
scratch is ``malloc``-ed per call (sized by the largest window), so concurrent calls from
threads are safe.
"""
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc

cdef enum:
    _OK = 0
    _BAD_SHAPE = 1
    _BAD_PROTO_WINDOW = 2
    _BAD_SCALE = 3
    _BAD_WINDOW = 4
    _SAMPLES_OUTSIDE = 5
    _OUT_OUTSIDE = 6
    _NO_MEMORY = 7

# Target coordinates and strides above this are refused: every product of two of them
# (and sums of a few) stays far inside int64.
cdef int64_t _COORD_MAX = (<int64_t>1) << 31


cdef inline Py_ssize_t _low(Py_ssize_t index, double scale) noexcept nogil:
    """The reference's ``i0`` for target ``index`` (the caller checked it is in range)."""
    cdef double p = (<double>index + 0.5) * scale - 0.5
    if p < 0.0:
        p = 0.0
    return <Py_ssize_t>p


cdef inline bint _last_low_inside(Py_ssize_t index, double scale, Py_ssize_t n) noexcept nogil:
    """Whether ``i0`` of target ``index`` is at most ``n - 1`` (then so is ``i1``). The
    position grows with the index (``scale > 0``), so the last index decides for all."""
    cdef double p = (<double>index + 0.5) * scale - 0.5
    if p < 0.0:
        p = 0.0
    return p < <double>n          # i0 = int(p) <= n - 1  <=>  p < n  (p >= 0)


cdef inline void _position(Py_ssize_t index, double scale, Py_ssize_t n, Py_ssize_t* i0,
                           Py_ssize_t* i1, double* w0, double* w1) noexcept nogil:
    """The reference's ``source_positions`` for one target index."""
    cdef double p = (<double>index + 0.5) * scale - 0.5
    cdef Py_ssize_t below
    cdef double fraction
    if p < 0.0:
        p = 0.0
    below = <Py_ssize_t>p
    fraction = p - <double>below
    i0[0] = below
    i1[0] = below + 1 if below < n - 1 else below
    w0[0] = 1.0 - fraction
    w1[0] = fraction


cdef int _check(const int64_t[:, :] windows, const int64_t[:] offsets,
                const int64_t[:] strides, double scale_y, double scale_x,
                Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t n_out,
                Py_ssize_t* max_width, Py_ssize_t* max_region) noexcept nogil:
    """Every window's samples inside the prototype window and its pixels inside ``out``;
    the largest window width and the largest logit region, for the scratch."""
    cdef Py_ssize_t k, h, w, r_first, r_last, c_first, c_last, region
    cdef int64_t x0, y0, x1, y1, offset, stride, span
    max_width[0] = 0
    max_region[0] = 0
    if not (scale_y > 0.0) or not (scale_x > 0.0):
        return _BAD_SCALE
    for k in range(windows.shape[0]):
        x0 = windows[k, 0]
        y0 = windows[k, 1]
        x1 = windows[k, 2]
        y1 = windows[k, 3]
        if x0 < 0 or y0 < 0 or x1 < 0 or y1 < 0:
            return _BAD_WINDOW
        if x0 >= x1 or y0 >= y1:
            continue                              # empty: nothing read, nothing written
        if x1 > _COORD_MAX or y1 > _COORD_MAX:
            return _BAD_WINDOW
        if not _last_low_inside(<Py_ssize_t>(x1 - 1), scale_x, cols) or \
                not _last_low_inside(<Py_ssize_t>(y1 - 1), scale_y, rows):
            return _SAMPLES_OUTSIDE
        h = <Py_ssize_t>(y1 - y0)
        w = <Py_ssize_t>(x1 - x0)
        offset = offsets[k]
        stride = strides[k]
        if offset < 0 or offset > n_out - w:
            return _OUT_OUTSIDE                   # the first row
        if stride > _COORD_MAX or stride < -_COORD_MAX:
            return _OUT_OUTSIDE
        span = (h - 1) * stride                   # |span| < 2**62
        if span >= 0:
            if span > n_out - w - offset:
                return _OUT_OUTSIDE               # the last row
        elif -span > offset:
            return _OUT_OUTSIDE
        r_first = _low(<Py_ssize_t>y0, scale_y)
        r_last = _low(<Py_ssize_t>(y1 - 1), scale_y)
        if r_last < rows - 1:
            r_last += 1
        c_first = _low(<Py_ssize_t>x0, scale_x)
        c_last = _low(<Py_ssize_t>(x1 - 1), scale_x)
        if c_last < cols - 1:
            c_last += 1
        region = (r_last - r_first + 1) * (c_last - c_first + 1)   # <= rows * cols
        if w > max_width[0]:
            max_width[0] = w
        if region > max_region[0]:
            max_region[0] = region
    return _OK


cdef void _blend_row(const double* logits, const Py_ssize_t* c0, const Py_ssize_t* c1,
                     const double* wx0, const double* wx1, Py_ssize_t w,
                     double* blend) noexcept nogil:
    """``blend[x] = wx0 * L[c0] + wx1 * L[c1]`` for one logit row ``L``."""
    cdef Py_ssize_t x
    for x in range(w):
        blend[x] = wx0[x] * logits[c0[x]] + wx1[x] * logits[c1[x]]


cdef void _one_mask(const float[:, :, ::1] protos, const double[:, :] coeffs, Py_ssize_t k,
                    Py_ssize_t x0, Py_ssize_t y0, Py_ssize_t x1, Py_ssize_t y1,
                    uint8_t* first, Py_ssize_t stride, double scale_y, double scale_x,
                    Py_ssize_t top, Py_ssize_t left, Py_ssize_t rows, Py_ssize_t cols,
                    double* logits, double* blends, Py_ssize_t* c0, Py_ssize_t* c1,
                    double* wx0, double* wx1) noexcept nogil:
    cdef Py_ssize_t channels = protos.shape[0]
    cdef Py_ssize_t h = y1 - y0, w = x1 - x0
    cdef Py_ssize_t x, y, r, c, channel, r_first, r_last, c_first, c_last, nr, nc
    cdef Py_ssize_t r0, r1, slot0, slot1
    cdef Py_ssize_t tag[2]
    cdef Py_ssize_t plane = protos.shape[1] * protos.shape[2]
    cdef double wy0, wy1, a, b, d, e, v
    cdef double* line
    cdef const float* src
    cdef const double* h0
    cdef const double* h1
    cdef uint8_t* dst

    # Column samples, relative to the first column of the region.
    for x in range(w):
        _position(x0 + x, scale_x, cols, &c0[x], &c1[x], &wx0[x], &wx1[x])
    c_first = c0[0]
    c_last = c1[w - 1]
    for x in range(w):
        c0[x] -= c_first
        c1[x] -= c_first
    r_first = _low(y0, scale_y)
    r_last = _low(y1 - 1, scale_y)
    if r_last < rows - 1:
        r_last += 1
    nr = r_last - r_first + 1
    nc = c_last - c_first + 1

    # Logits of the region: each pixel sums in channel order from 0.0.
    for r in range(nr * nc):
        logits[r] = 0.0
    # Four channels per pass over the region (a quarter of the loads and stores of the
    # logits), added one after the other: still the reference's sum, in its order.
    channel = 0
    while channel + 4 <= channels:
        a = coeffs[k, channel]
        b = coeffs[k, channel + 1]
        d = coeffs[k, channel + 2]
        e = coeffs[k, channel + 3]
        for r in range(nr):
            src = &protos[channel, top + r_first + r, left + c_first]
            line = logits + r * nc
            for c in range(nc):
                line[c] = (((line[c] + a * <double>src[c])
                            + b * <double>src[plane + c])
                           + d * <double>src[2 * plane + c]) + e * <double>src[3 * plane + c]
        channel += 4
    while channel < channels:
        a = coeffs[k, channel]
        for r in range(nr):
            src = &protos[channel, top + r_first + r, left + c_first]
            line = logits + r * nc
            for c in range(nc):
                line[c] = line[c] + a * <double>src[c]
        channel += 1

    # Target rows, each from the horizontal blends of its two source rows.
    tag[0] = -1
    tag[1] = -1
    for y in range(h):
        _position(y0 + y, scale_y, rows, &r0, &r1, &wy0, &wy1)
        r0 -= r_first
        r1 -= r_first
        if tag[0] == r0:
            slot0 = 0
        elif tag[1] == r0:
            slot0 = 1
        else:
            slot0 = 1 if tag[0] == r1 else 0      # keep the buffer of the other row
            _blend_row(logits + r0 * nc, c0, c1, wx0, wx1, w, blends + slot0 * w)
            tag[slot0] = r0
        if tag[slot0] == r1:
            slot1 = slot0
        elif tag[1 - slot0] == r1:
            slot1 = 1 - slot0
        else:
            slot1 = 1 - slot0
            _blend_row(logits + r1 * nc, c0, c1, wx0, wx1, w, blends + slot1 * w)
            tag[slot1] = r1
        h0 = blends + slot0 * w
        h1 = blends + slot1 * w
        dst = first + y * stride
        for x in range(w):
            v = wy0 * h0[x] + wy1 * h1[x]
            dst[x] = v > 0.0


def process_masks(const float[:, :, ::1] protos, const double[:, :] coeffs,
                  const int64_t[:, :] windows, const int64_t[:] offsets,
                  const int64_t[:] strides, double scale_y, double scale_x,
                  Py_ssize_t top, Py_ssize_t left, Py_ssize_t rows, Py_ssize_t cols,
                  uint8_t[::1] out):
    cdef Py_ssize_t n = windows.shape[0], k, max_width = 0, max_region = 0
    cdef Py_ssize_t mh = protos.shape[1], mw = protos.shape[2]
    cdef int status = _OK
    cdef char* scratch = NULL
    cdef double* logits
    cdef double* blends
    cdef double* wx0
    cdef double* wx1
    cdef Py_ssize_t* c0
    cdef Py_ssize_t* c1
    cdef size_t bytes_
    cdef uint8_t* base = &out[0] if out.shape[0] > 0 else NULL

    if (windows.shape[1] != 4 or offsets.shape[0] != n or strides.shape[0] != n
            or coeffs.shape[0] != n or coeffs.shape[1] != protos.shape[0]):
        raise ValueError("process_masks: shapes do not agree (protos %s, coeffs %s, "
                         "windows %s, offsets %s, strides %s)"
                         % ((protos.shape[0], protos.shape[1], protos.shape[2]),
                            (coeffs.shape[0], coeffs.shape[1]),
                            (windows.shape[0], windows.shape[1]), offsets.shape[0],
                            strides.shape[0]))
    if (top < 0 or left < 0 or rows < 1 or cols < 1 or rows > mh - top
            or cols > mw - left):
        raise ValueError("process_masks: prototype window rows %d:%d, columns %d:%d is "
                         "not inside the %dx%d map" % (top, top + rows, left, left + cols,
                                                       mh, mw))
    with nogil:
        status = _check(windows, offsets, strides, scale_y, scale_x, rows, cols,
                        out.shape[0], &max_width, &max_region)
        if status == _OK and max_width > 0:
            # logits, two blend rows, then per target column two weights and two indices
            bytes_ = (<size_t>max_region + 2 * <size_t>max_width) * sizeof(double) \
                + 2 * <size_t>max_width * (sizeof(double) + sizeof(Py_ssize_t))
            scratch = <char*>malloc(bytes_)
            if scratch == NULL:
                status = _NO_MEMORY
            else:
                logits = <double*>scratch
                blends = logits + max_region
                wx0 = blends + 2 * max_width
                wx1 = wx0 + max_width
                c0 = <Py_ssize_t*>(wx1 + max_width)
                c1 = c0 + max_width
                for k in range(n):
                    if windows[k, 0] >= windows[k, 2] or windows[k, 1] >= windows[k, 3]:
                        continue
                    _one_mask(protos, coeffs, k, <Py_ssize_t>windows[k, 0],
                              <Py_ssize_t>windows[k, 1], <Py_ssize_t>windows[k, 2],
                              <Py_ssize_t>windows[k, 3], base + offsets[k],
                              <Py_ssize_t>strides[k], scale_y, scale_x, top, left, rows,
                              cols, logits, blends, c0, c1, wx0, wx1)
                free(scratch)
    if status == _NO_MEMORY:
        raise MemoryError("process_masks: no memory for the scratch (%d bytes)" % bytes_)
    if status == _BAD_SCALE:
        raise ValueError("process_masks: scale_y and scale_x must be positive (got %r, %r)"
                         % (scale_y, scale_x))
    if status == _BAD_WINDOW:
        raise ValueError("process_masks: a window has a negative or huge coordinate")
    if status == _SAMPLES_OUTSIDE:
        raise ValueError("process_masks: a window samples outside the prototype window")
    if status == _OUT_OUTSIDE:
        raise ValueError("process_masks: a window's pixels fall outside out (offset, "
                         "stride and size do not fit its %d elements)" % out.shape[0])
