# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython decoding kernels: ``decode_scan`` and ``scale_boxes``.

Same boundary and same decisions as the pure-Python reference (``accel._backends.python.decode``;
contract in ``accel._decode_common``), bit for bit.

* Class-major layout without objectness (``anchor_stride == 1``, YOLOv8's ``(4 + nc, A)``):
  the anchors are cut into blocks of ``_BLOCK``, and each block's best score is the
  running ``best = v if v > best else best`` over the class rows, which stream past
  contiguously while ``best`` stays in L1. The select is branch-free, so the C compiler
  makes it a vector max (``maxps`` is exactly this select; NEON alike). Rows are combined
  four at a time as a tree whose earlier side wins ties, which picks the same element as
  the row-by-row strict ``>`` scan (the first of the largest values, so also the first
  one's sign of zero) with a quarter of the traffic on ``best``.
* The class is not tracked during that scan: carrying an index lane through it made the
  scan about 2.5 times slower (x86, SSE2), and the scan reads every score while only the
  kept anchors need a class. A kept anchor's class is the first class whose score equals
  its best (the reference's ``row.index(max(row))``): read back one anchor at a time when
  few are kept, or, when more than one in ``_DENSE_RATIO`` of a block is, found for the
  whole block by one more vectorised pass over its rows (downwards, with a mask select).
  Multi-label reads every class of the anchors whose best passes, and only those.
* Every other layout, and any layout with objectness, is scanned anchor by anchor, in
  chunks: the objectness of the chunk first (most anchors stop there), then the classes
  of its candidates at ``channel_stride``, prefetched as they are found; contiguous
  classes (YOLOv5) by 8 running maxima, then the first class equal to their maximum.
  A class score times the objectness is rounded to the data's dtype (``<floating>``
  cast) before it is compared, as the reference rounds its products: two scores can
  round to the same product, which is then a tie.
* ``threshold`` is exact in the data's dtype (boundary contract), so it is compared in
  that dtype.
* Kept rows go to ``malloc`` buffers that double when full (multi-label can keep up to
  ``n_anchors * nc`` rows, usually a handful), then are copied once into exactly sized
  NumPy arrays.
* ``scale_boxes`` is the reference's float64 formula and its two clip comparisons in that
  order (``-0.0`` is neither ``< 0`` nor ``> limit``, so it stays ``-0.0``), then a C cast
  to the dtype, which rounds to nearest as NumPy's conversion does.

* ``check_finite`` is tested in the same loops: the class-major fold also sums each
  anchor's scores (a sum is NaN or infinite when a term is; a maximum by selects skips
  a NaN), and a block whose sums are not all finite is searched exactly for its first
  bad anchor (finite values can overflow a sum); the anchor-major scan tests ``x - x ==
  0`` on each objectness and on the class scores it reads (contiguous ones are summed in
  the loop that finds the best class, and tested exactly when the sum is not finite).

* int8 and uint8 data (codes of quantized outputs, ``code_t``) have scans of their own,
  without objectness or NaN: the class-major one (up to 256 classes) folds the rows four
  at a time into a running maximum of codes and the first class of the group that raised
  it, both in byte lanes (16 anchors per SSE2 vector), so a kept anchor searches four
  rows at most for its class; the anchor-major one takes each anchor's maximum (a
  vectorised reduction over contiguous classes) and then its first class. The cut-off
  is an ``int64_t`` compared with the code widened to it, never converted to the code
  type.

With NaN in the data the kept set is unspecified (boundary contract), but every loop is
bounded by the counts, never by a value being found. All per-element work runs inside
``with nogil:``. The layout (strides, offsets, counts) is checked against the length of
``data`` in O(1) before any memory is read, so a wrong call raises instead of reading out
of bounds.
"""
cimport cython
from cython cimport floating
from libc.stdint cimport int32_t, int64_t, INT32_MAX
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define ACCEL_PREFETCH(p) __builtin_prefetch(p)
    #elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    #include <xmmintrin.h>
    #define ACCEL_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
    #else
    #define ACCEL_PREFETCH(p) ((void)0)
    #endif
    """
    void _prefetch "ACCEL_PREFETCH"(const void* p) noexcept nogil

import numpy as np

cdef enum:
    # Anchors per block of the class-major scan: the block's best scores (8 KiB for
    # float32) stay in L1 on x86 and on a Cortex-A72. 512 to 8192 measured the same on
    # x86: the time goes into streaming the class rows, not into ``best``.
    _BLOCK = 2048
    _FIRST_CAPACITY = 256
    # Above one kept anchor in _DENSE_RATIO, a block finds the classes in one pass (on
    # x86 the strided walks cost as much as that pass at about one in three).
    _DENSE_RATIO = 4
    # Rows per group of the integer class-major scan (``_code_fold_groups``): a kept
    # anchor searches at most this many rows for its class.
    _GROUP = 4
    # The anchor-major scan: anchors per chunk (their candidates on the stack).
    _CHUNK = 512
    # ... and prefetches the objectness this many anchors ahead: one value per row of
    # 5 + nc, a stride the hardware prefetcher follows only one step ahead.
    _OBJ_AHEAD = 32


ctypedef fused code_t:           # the codes of quantized outputs: int8, uint8
    signed char
    unsigned char


ctypedef struct Hits:            # the kept (anchor, class, score) rows, in order
    int64_t* anchor
    int64_t* cls
    char* score                  # float or double, by the data's dtype
    Py_ssize_t size
    Py_ssize_t capacity
    Py_ssize_t itemsize


cdef int _grow(Hits* hits, Py_ssize_t extra) noexcept nogil:
    """Room for ``extra`` more rows; -1 when out of memory (the rows so far are kept)."""
    cdef Py_ssize_t limit = PY_SSIZE_T_MAX // 16    # keeps every byte count in range
    cdef Py_ssize_t need, capacity
    cdef void* p
    if extra > limit - hits.size:
        return -1
    need = hits.size + extra
    capacity = 2 * hits.capacity
    if capacity < need:
        capacity = need
    if capacity < _FIRST_CAPACITY:
        capacity = _FIRST_CAPACITY
    if capacity > limit:
        capacity = need
    # Each buffer is replaced as soon as it has grown, so a later failure leaks nothing.
    p = realloc(hits.anchor, capacity * sizeof(int64_t))
    if p == NULL:
        return -1
    hits.anchor = <int64_t*>p
    p = realloc(hits.cls, capacity * sizeof(int64_t))
    if p == NULL:
        return -1
    hits.cls = <int64_t*>p
    p = realloc(hits.score, capacity * hits.itemsize)
    if p == NULL:
        return -1
    hits.score = <char*>p
    hits.capacity = capacity
    return 0


cdef inline int _reserve(Hits* hits, Py_ssize_t extra) noexcept nogil:
    if hits.size + extra <= hits.capacity:
        return 0
    return _grow(hits, extra)


cdef inline void _emit(Hits* hits, Py_ssize_t anchor, Py_ssize_t cls,
                       floating score) noexcept nogil:
    cdef Py_ssize_t k = hits.size
    hits.anchor[k] = anchor
    hits.cls[k] = cls
    (<floating*>hits.score)[k] = score
    hits.size = k + 1


cdef inline void _emit_code(Hits* hits, Py_ssize_t anchor, Py_ssize_t cls,
                            code_t code) noexcept nogil:
    cdef Py_ssize_t k = hits.size
    hits.anchor[k] = anchor
    hits.cls[k] = cls
    (<code_t*>hits.score)[k] = code
    hits.size = k + 1


# ---------------------------------------------------------------------------------------
# Class-major scan (no GIL)
# ---------------------------------------------------------------------------------------

cdef void _block_max(const floating* row, Py_ssize_t channel_stride, Py_ssize_t nc,
                     Py_ssize_t n, floating* best, floating* total) noexcept nogil:
    """best[i]: the first largest of row[i + c * channel_stride] over c; total[i]: their
    sum, the finiteness test (NaN or infinite when a term is, where the maximum by
    selects skips a NaN; a sum of finite values can overflow, so a non-finite sum only
    sends the block to the exact test)."""
    cdef Py_ssize_t i, c = 1
    cdef const floating* r0
    cdef const floating* r1
    cdef const floating* r2
    cdef const floating* r3
    cdef const floating* r4
    cdef const floating* r5
    cdef const floating* r6
    cdef const floating* r7
    cdef floating x, y, z, w, b, x2, z2
    memcpy(best, row, n * sizeof(floating))
    memcpy(total, row, n * sizeof(floating))
    # Eight, then four rows at a time, as a tree in which the earlier side wins ties: the
    # same element as the row-by-row strict ``>`` scan, for an eighth of the loads and
    # stores of ``best`` and ``total`` (eight rows measured 1.13x faster than four on the
    # 80 x 8400 YOLOv8 output, whose 2.7 MB stream through the caches once). The sums
    # only need to be NaN or infinite when a term is: any order of the adds will do.
    while c + 8 <= nc:
        r0 = row + c * channel_stride
        r1 = r0 + channel_stride
        r2 = r1 + channel_stride
        r3 = r2 + channel_stride
        r4 = r3 + channel_stride
        r5 = r4 + channel_stride
        r6 = r5 + channel_stride
        r7 = r6 + channel_stride
        for i in range(n):
            x = r0[i]
            y = r1[i]
            x = y if y > x else x
            z = r2[i]
            w = r3[i]
            z = w if w > z else z
            x = z if z > x else x
            x2 = r4[i]
            y = r5[i]
            x2 = y if y > x2 else x2
            z2 = r6[i]
            w = r7[i]
            z2 = w if w > z2 else z2
            x2 = z2 if z2 > x2 else x2
            x = x2 if x2 > x else x
            b = best[i]
            best[i] = x if x > b else b
            total[i] += ((r0[i] + r1[i]) + (r2[i] + r3[i])) + ((r4[i] + r5[i]) + (r6[i] + r7[i]))
        c += 8
    while c + 4 <= nc:
        r0 = row + c * channel_stride
        r1 = r0 + channel_stride
        r2 = r1 + channel_stride
        r3 = r2 + channel_stride
        for i in range(n):
            x = r0[i]
            y = r1[i]
            x = y if y > x else x
            z = r2[i]
            w = r3[i]
            z = w if w > z else z
            x = z if z > x else x
            b = best[i]
            best[i] = x if x > b else b
            total[i] += (r0[i] + r1[i]) + (r2[i] + r3[i])
        c += 4
    while c < nc:
        r0 = row + c * channel_stride
        for i in range(n):
            x = r0[i]
            b = best[i]
            best[i] = x if x > b else b
            total[i] += x
        c += 1


cdef void _block_first_f(const float* row, Py_ssize_t channel_stride, Py_ssize_t nc,
                         Py_ssize_t n, const float* best, int32_t* arg) noexcept nogil:
    """arg[i]: the first c with row[i + c * channel_stride] == best[i]."""
    cdef Py_ssize_t i
    cdef int32_t c, k, m
    cdef const float* r
    memset(arg, 0, n * sizeof(int32_t))
    # Downwards, so the last match written is the first class. A mask, not a ternary:
    # GCC only vectorises the select of an int lane by a float compare written this way.
    c = <int32_t>nc
    while c > 0:
        c -= 1
        r = row + c * channel_stride
        for i in range(n):
            k = arg[i]
            m = -<int32_t>(r[i] == best[i])
            arg[i] = (k & ~m) | (c & m)


cdef void _block_first_d(const double* row, Py_ssize_t channel_stride, Py_ssize_t nc,
                         Py_ssize_t n, const double* best, int64_t* arg) noexcept nogil:
    """As _block_first_f, with lanes of 64 bits."""
    cdef Py_ssize_t i
    cdef int64_t c, k, m
    cdef const double* r
    memset(arg, 0, n * sizeof(int64_t))
    c = nc
    while c > 0:
        c -= 1
        r = row + c * channel_stride
        for i in range(n):
            k = arg[i]
            m = -<int64_t>(r[i] == best[i])
            arg[i] = (k & ~m) | (c & m)


cdef Py_ssize_t _first_non_finite(const floating* cls0, Py_ssize_t first, Py_ssize_t n,
                                  Py_ssize_t channel_stride, Py_ssize_t nc) noexcept nogil:
    """The lowest anchor of ``first .. first + n - 1`` with a NaN or infinite class score
    (``x - x`` is 0 for finite x, NaN otherwise), or -1."""
    cdef Py_ssize_t i, c
    cdef floating v
    for i in range(first, first + n):
        for c in range(nc):
            v = cls0[i + c * channel_stride]
            if not v - v == 0:
                return i
    return -1


cdef int _scan_class_major(const floating* cls0, Py_ssize_t n_anchors,
                           Py_ssize_t channel_stride, Py_ssize_t nc, floating threshold,
                           bint multi_label, bint check_finite, Py_ssize_t* first_bad,
                           Hits* hits) noexcept nogil:
    """Anchors ``a`` with class ``c`` at ``cls0[a + c * channel_stride]``. With
    ``check_finite``, a block whose sums are not all finite is searched exactly, and the
    scan stops at the first anchor found (``first_bad``)."""
    cdef floating best[_BLOCK]
    cdef floating total[_BLOCK]
    cdef bint finite
    cdef int32_t kept[_BLOCK]
    cdef int32_t arg32[_BLOCK]
    cdef int64_t arg64[_BLOCK]
    cdef Py_ssize_t start = 0, n, m, i, j, c
    cdef const floating* p
    cdef floating v, b
    while start < n_anchors:
        n = n_anchors - start
        if n > _BLOCK:
            n = _BLOCK
        _block_max(cls0 + start, channel_stride, nc, n, best, total)
        if check_finite:
            finite = True
            for i in range(n):
                finite &= total[i] - total[i] == 0
            if not finite:
                first_bad[0] = _first_non_finite(cls0, start, n, channel_stride, nc)
                if first_bad[0] >= 0:
                    return 0
        m = 0
        for i in range(n):
            kept[m] = <int32_t>i
            m += best[i] > threshold
        if m == 0:
            pass
        elif multi_label:
            for j in range(m):
                i = kept[j]
                if _reserve(hits, nc) < 0:
                    return -1
                p = cls0 + start + i
                for c in range(nc):
                    v = p[c * channel_stride]
                    if v > threshold:
                        _emit(hits, start + i, c, v)
        else:
            if _reserve(hits, m) < 0:
                return -1
            # The first class equal to the best is the one the scan kept: no earlier
            # class equals it, or the strict ``>`` would have kept that one instead.
            if m * _DENSE_RATIO > n:
                if floating is float:
                    _block_first_f(cls0 + start, channel_stride, nc, n, best, arg32)
                else:
                    _block_first_d(cls0 + start, channel_stride, nc, n, best, arg64)
                for j in range(m):
                    i = kept[j]
                    if floating is float:
                        _emit(hits, start + i, arg32[i], best[i])
                    else:
                        _emit(hits, start + i, arg64[i], best[i])
            else:
                for j in range(m):
                    i = kept[j]
                    b = best[i]
                    p = cls0 + start + i
                    c = 0
                    # b is one of them, so this stops on it; the bound is a guard only.
                    while c < nc - 1 and not p[c * channel_stride] == b:
                        c += 1
                    _emit(hits, start + i, c, b)
        start += n
    return 0


# ---------------------------------------------------------------------------------------
# Anchor-major scan (no GIL)
# ---------------------------------------------------------------------------------------

cdef bint _all_finite(const floating* row, Py_ssize_t nc,
                      Py_ssize_t channel_stride) noexcept nogil:
    """Whether ``row[c * channel_stride]`` is finite for every class: ``x - x`` is 0 for
    finite x, NaN otherwise; an AND of compares without a branch, which vectorises."""
    cdef bint finite = True
    cdef Py_ssize_t c
    cdef floating v
    for c in range(nc):
        v = row[c * channel_stride]
        finite &= v - v == 0
    return finite


cdef Py_ssize_t _best_class(const floating* row, Py_ssize_t nc, Py_ssize_t channel_stride,
                            floating obj, bint check_finite, floating* best) noexcept nogil:
    """The first class holding the largest ``row[c * channel_stride] * obj`` (rounded to the
    dtype), into ``best``; with ``check_finite``, -1 when a score is not finite.
    Contiguous rows: 8 running maxima by selects, which the C compiler vectorises, then
    the first class whose product equals their maximum (no earlier product equals it, or
    that one would be the first; its own value, so the sign of a zero is the reference's;
    bounded by ``nc``, so unchecked NaN cannot overrun); the same loop sums the scores
    (not the products, which can overflow), and only a sum that is not finite takes the
    exact test."""
    cdef floating m[8]
    cdef floating t[8]
    cdef floating top, total, v
    cdef Py_ssize_t c, j, arg = 0
    if channel_stride == 1 and nc >= 16:
        for j in range(8):
            m[j] = <floating>(row[j] * obj)
            t[j] = row[j]
        c = 8
        while c + 8 <= nc:
            for j in range(8):
                v = <floating>(row[c + j] * obj)
                m[j] = v if v > m[j] else m[j]
                t[j] += row[c + j]
            c += 8
        while c < nc:
            v = <floating>(row[c] * obj)
            m[0] = v if v > m[0] else m[0]
            t[0] += row[c]
            c += 1
        top = m[0]
        total = t[0]
        for j in range(1, 8):
            top = m[j] if m[j] > top else top
            total += t[j]
        if check_finite and not total - total == 0 and not _all_finite(row, nc, 1):
            return -1
        c = 0
        while c < nc - 1 and not <floating>(row[c] * obj) == top:
            c += 1
        best[0] = <floating>(row[c] * obj)
        return c
    if check_finite and not _all_finite(row, nc, channel_stride):
        return -1
    # A plain running maximum: a new best is rare after the first few classes, so the
    # branch is well predicted.
    top = <floating>(row[0] * obj)
    for c in range(1, nc):
        v = <floating>(row[c * channel_stride] * obj)
        if v > top:
            top = v
            arg = c
    best[0] = top
    return arg


cdef int _scan_anchor_major(const floating* data, Py_ssize_t n_anchors,
                            Py_ssize_t anchor_stride, Py_ssize_t channel_stride,
                            Py_ssize_t cls_offset, Py_ssize_t nc, Py_ssize_t obj_offset,
                            floating threshold, bint multi_label, bint check_finite,
                            Py_ssize_t* first_bad, Hits* hits) noexcept nogil:
    """``_CHUNK`` anchors at a time: with objectness, first their objectness alone (a
    strided read the hardware prefetcher follows), collecting the candidates and
    prefetching their class scores (they lie between the objectness values read, so
    nothing else brings them into cache), then the candidates. The objectness values are
    tested by an AND without a branch; a chunk holding a bad one is searched for it, and
    only the candidates before it are decoded (and tested). Without objectness (``obj``
    is 1: ``x * 1 == x`` bit for bit), every anchor is a candidate."""
    cdef Py_ssize_t candidates[_CHUNK]
    cdef Py_ssize_t start, end, a, c, i, k, arg, bad_obj, step
    cdef bint finite
    cdef const floating* row
    cdef const floating* objectness = data + obj_offset * channel_stride if obj_offset >= 0 \
        else data
    cdef floating obj = 1, v, best
    cdef bint has_obj = obj_offset >= 0
    step = 1 if channel_stride * <Py_ssize_t>sizeof(floating) >= 64 else \
        64 // (channel_stride * <Py_ssize_t>sizeof(floating))
    start = 0
    while start < n_anchors:
        end = n_anchors if n_anchors - start < _CHUNK else start + _CHUNK
        bad_obj = -1
        k = 0
        if has_obj:
            finite = True
            for a in range(start, end):
                v = objectness[a * anchor_stride]
                if a + _OBJ_AHEAD < n_anchors:
                    _prefetch(objectness + (a + _OBJ_AHEAD) * anchor_stride)
                finite &= v - v == 0
                if v > threshold:
                    candidates[k] = a
                    k += 1
                    c = 0
                    while c < nc:
                        _prefetch(data + a * anchor_stride + (cls_offset + c) * channel_stride)
                        c += step
            if check_finite and not finite:
                bad_obj = start
                while bad_obj < end:
                    v = objectness[bad_obj * anchor_stride]
                    if not v - v == 0:
                        break
                    bad_obj += 1
                while k > 0 and candidates[k - 1] >= bad_obj:  # +inf passes
                    k -= 1
        else:
            for a in range(start, end):
                candidates[k] = a
                k += 1
        for i in range(k):
            a = candidates[i]
            row = data + a * anchor_stride + cls_offset * channel_stride
            if has_obj:
                obj = objectness[a * anchor_stride]
            if multi_label:
                # The class scores read are tested, not their products (which can
                # overflow).
                if check_finite and not _all_finite(row, nc, channel_stride):
                    first_bad[0] = a
                    return 0
                if _reserve(hits, nc) < 0:
                    return -1
                for c in range(nc):
                    v = <floating>(row[c * channel_stride] * obj)
                    if v > threshold:
                        _emit(hits, a, c, v)
                continue
            arg = _best_class(row, nc, channel_stride, obj, check_finite, &best)
            if arg < 0:
                first_bad[0] = a
                return 0
            if best > threshold:
                if _reserve(hits, 1) < 0:
                    return -1
                _emit(hits, a, arg, best)
        if bad_obj >= 0:
            first_bad[0] = bad_obj
            return 0
        start = end
    return 0


# ---------------------------------------------------------------------------------------
# Integer codes (no GIL)
# ---------------------------------------------------------------------------------------

cdef inline unsigned char _key(code_t v) noexcept nogil:
    """A code as an unsigned byte of the same order: int8 codes with their sign bit
    flipped (-128 -> 0, 127 -> 255). SSE2 has an unsigned byte maximum but no signed one
    (emulated in four instructions), so the folds compare keys."""
    if code_t is cython.schar:
        return (<unsigned char>v) ^ 0x80
    else:
        return v


cdef void _code_fold_row(unsigned char* best, const code_t* row, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef unsigned char v, b
    for i in range(n):
        v = _key(row[i])
        b = best[i]
        best[i] = v if v > b else b


cdef void _code_fold_groups(unsigned char* best, unsigned char* arg, const code_t* row,
                            Py_ssize_t channel_stride, Py_ssize_t n,
                            unsigned char first) noexcept nogil:
    """Rows ``first .. first + 7`` (two groups of ``_GROUP``) into the running maximum
    key ``best``, and ``arg``: the first class of the group that last raised it. Keys
    and classes are both bytes, so every select is lane for lane and the C compiler
    vectorises the loop 16 anchors at a time (SSE2)."""
    cdef const code_t* r1 = row + channel_stride
    cdef const code_t* r2 = r1 + channel_stride
    cdef const code_t* r3 = r2 + channel_stride
    cdef const code_t* r4 = r3 + channel_stride
    cdef const code_t* r5 = r4 + channel_stride
    cdef const code_t* r6 = r5 + channel_stride
    cdef const code_t* r7 = r6 + channel_stride
    cdef unsigned char second = first + _GROUP, a, m, m2, v, b
    cdef Py_ssize_t i
    for i in range(n):
        m = _key(row[i])
        v = _key(r1[i])
        m = v if v > m else m
        v = _key(r2[i])
        m = v if v > m else m
        v = _key(r3[i])
        m = v if v > m else m
        m2 = _key(r4[i])
        v = _key(r5[i])
        m2 = v if v > m2 else m2
        v = _key(r6[i])
        m2 = v if v > m2 else m2
        v = _key(r7[i])
        m2 = v if v > m2 else m2
        b = best[i]
        a = arg[i]
        a = first if m > b else a
        b = m if m > b else b
        a = second if m2 > b else a
        b = m2 if m2 > b else b
        best[i] = b
        arg[i] = a


cdef void _code_fold_group(unsigned char* best, unsigned char* arg, const code_t* row,
                           Py_ssize_t channel_stride, Py_ssize_t n,
                           unsigned char first) noexcept nogil:
    """One group of ``_GROUP`` rows (``_code_fold_groups``' tail)."""
    cdef const code_t* r1 = row + channel_stride
    cdef const code_t* r2 = r1 + channel_stride
    cdef const code_t* r3 = r2 + channel_stride
    cdef unsigned char a, m, v, b
    cdef Py_ssize_t i
    for i in range(n):
        m = _key(row[i])
        v = _key(r1[i])
        m = v if v > m else m
        v = _key(r2[i])
        m = v if v > m else m
        v = _key(r3[i])
        m = v if v > m else m
        b = best[i]
        a = arg[i]
        a = first if m > b else a
        b = m if m > b else b
        best[i] = b
        arg[i] = a


cdef int _codes_class_major(const code_t* cls0, Py_ssize_t n_anchors,
                            Py_ssize_t channel_stride, Py_ssize_t nc, int64_t threshold,
                            bint multi_label, Hits* hits) noexcept nogil:
    """Anchors ``a`` with class ``c`` at ``cls0[a + c * channel_stride]``, ``nc <= 256``.
    The first ``head`` rows form the first group, the others fold ``_GROUP`` at a time;
    a kept anchor's class is the first, in the group recorded for it, with its maximum
    (the first group whose maximum beat the running one holds the first class with the
    anchor's maximum, since the running maximum never decreases)."""
    cdef unsigned char best[_BLOCK]
    cdef unsigned char arg[_BLOCK]
    cdef Py_ssize_t head = 1 + (nc - 1) % _GROUP
    cdef Py_ssize_t start = 0, n, i, c, last
    # The cut-off among keys: int8 keys are the codes plus 128.
    cdef int64_t key_threshold = threshold + 128 if code_t is cython.schar else threshold
    cdef const code_t* block
    cdef const code_t* p
    cdef code_t v
    cdef unsigned char b
    while start < n_anchors:
        n = n_anchors - start
        if n > _BLOCK:
            n = _BLOCK
        block = cls0 + start
        for i in range(n):
            best[i] = _key(block[i])
        memset(arg, 0, n)
        for c in range(1, head):
            _code_fold_row(best, block + c * channel_stride, n)
        c = head
        while c + 2 * _GROUP <= nc:
            _code_fold_groups(best, arg, block + c * channel_stride, channel_stride, n,
                              <unsigned char>c)
            c += 2 * _GROUP
        if c < nc:
            _code_fold_group(best, arg, block + c * channel_stride, channel_stride, n,
                             <unsigned char>c)
        for i in range(n):
            b = best[i]
            if not <int64_t>b > key_threshold:
                continue
            p = block + i
            if multi_label:
                if _reserve(hits, nc) < 0:
                    return -1
                for c in range(nc):
                    v = p[c * channel_stride]
                    if <int64_t>v > threshold:
                        _emit_code(hits, start + i, c, v)
            else:
                if _reserve(hits, 1) < 0:
                    return -1
                c = arg[i]
                last = c + _GROUP - 1 if nc - c > _GROUP else nc - 1
                while c < last and not _key(p[c * channel_stride]) == b:
                    c += 1
                _emit_code(hits, start + i, c, p[c * channel_stride])
        start += n
    return 0


cdef code_t _max_contiguous(const code_t* row, Py_ssize_t nc) noexcept nogil:
    """The largest of nc contiguous codes: a reduction the C compiler vectorises."""
    cdef code_t m = row[0], v
    cdef Py_ssize_t c
    for c in range(1, nc):
        v = row[c]
        m = v if v > m else m
    return m


cdef int _codes_anchor_major(const code_t* data, Py_ssize_t n_anchors,
                             Py_ssize_t anchor_stride, Py_ssize_t channel_stride,
                             Py_ssize_t cls_offset, Py_ssize_t nc, int64_t threshold,
                             bint multi_label, Hits* hits) noexcept nogil:
    """Each anchor's largest code, then, for a kept anchor, its first class holding it (or
    every class above the cut-off)."""
    cdef Py_ssize_t a, c
    cdef const code_t* row
    cdef code_t m, v
    for a in range(n_anchors):
        row = data + a * anchor_stride + cls_offset * channel_stride
        if channel_stride == 1:
            m = _max_contiguous(row, nc)
        else:
            m = row[0]
            for c in range(1, nc):
                v = row[c * channel_stride]
                m = v if v > m else m
        if not <int64_t>m > threshold:
            continue
        if multi_label:
            if _reserve(hits, nc) < 0:
                return -1
            for c in range(nc):
                v = row[c * channel_stride]
                if <int64_t>v > threshold:
                    _emit_code(hits, a, c, v)
        else:
            if _reserve(hits, 1) < 0:
                return -1
            c = 0
            while c < nc - 1 and not row[c * channel_stride] == m:
                c += 1
            _emit_code(hits, a, c, m)
    return 0


# ---------------------------------------------------------------------------------------
# Entry points (with the GIL)
# ---------------------------------------------------------------------------------------

cdef int _check_layout(Py_ssize_t size, Py_ssize_t n_anchors, Py_ssize_t anchor_stride,
                       Py_ssize_t channel_stride, Py_ssize_t cls_offset, Py_ssize_t nc,
                       Py_ssize_t obj_offset) except -1:
    """Every index the scan reads is in ``data``; ValueError otherwise (no overflow: the
    products are only formed once divisions have bounded them)."""
    cdef Py_ssize_t room, last
    if n_anchors < 0 or anchor_stride < 0 or channel_stride < 0 or cls_offset < 0 or nc < 1:
        raise ValueError("decode_scan: negative count, stride or offset, or nc < 1")
    if n_anchors == 0:
        return 0
    room = size - 1          # the largest index
    if room < 0 or (anchor_stride > 0 and n_anchors - 1 > room // anchor_stride):
        raise ValueError("decode_scan: %d anchors do not fit in %d values" % (n_anchors, size))
    room -= (n_anchors - 1) * anchor_stride
    if channel_stride > 0:
        last = room // channel_stride   # the last channel the last anchor can have
        if cls_offset > last or nc - 1 > last - cls_offset or obj_offset > last:
            raise ValueError("decode_scan: a channel is outside the data")
    return 0


def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                threshold, multi_label, check_finite):
    if data.dtype.kind in "iu":
        if obj_offset >= 0:
            raise ValueError("decode_scan: integer data takes no objectness (obj_offset=-1)")
        return _scan_codes(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                           threshold, multi_label)
    return _scan_floats(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                        obj_offset, threshold, multi_label, check_finite)


def _scan_codes(const code_t[::1] data not None, Py_ssize_t n_anchors,
                Py_ssize_t anchor_stride, Py_ssize_t channel_stride, Py_ssize_t cls_offset,
                Py_ssize_t nc, threshold, bint multi_label):
    cdef Hits hits
    cdef int status = 0
    # int64_t: a cut-off beyond any code (there is none in practice) still compares right.
    cdef int64_t thr = max(-2 ** 63, min(int(threshold), 2 ** 63 - 1))
    cdef const code_t* base = NULL
    cdef Py_ssize_t k
    cdef int64_t[::1] out_anchor
    cdef int64_t[::1] out_cls
    cdef code_t[::1] out_code
    _check_layout(data.shape[0], n_anchors, anchor_stride, channel_stride, cls_offset, nc, -1)
    hits.anchor = NULL
    hits.cls = NULL
    hits.score = NULL
    hits.size = 0
    hits.capacity = 0
    hits.itemsize = sizeof(code_t)
    if n_anchors > 0:
        base = &data[0]
    try:
        with nogil:
            if n_anchors == 0:
                pass
            elif anchor_stride == 1 and nc <= 256:  # classes fit the byte lanes of arg
                status = _codes_class_major(base + cls_offset * channel_stride, n_anchors,
                                            channel_stride, nc, thr, multi_label, &hits)
            else:
                status = _codes_anchor_major(base, n_anchors, anchor_stride, channel_stride,
                                             cls_offset, nc, thr, multi_label, &hits)
        if status < 0:
            raise MemoryError("accel cython backend: out of memory in decode_scan")
        k = hits.size
        anchors = np.empty(k, dtype=np.int64)
        classes = np.empty(k, dtype=np.int64)
        codes = np.empty(k, dtype=np.int8 if <code_t>-1 < 0 else np.uint8)
        if k > 0:
            out_anchor = anchors
            out_cls = classes
            out_code = codes
            memcpy(&out_anchor[0], hits.anchor, k * sizeof(int64_t))
            memcpy(&out_cls[0], hits.cls, k * sizeof(int64_t))
            memcpy(&out_code[0], hits.score, k * sizeof(code_t))
        return anchors, classes, codes, -1
    finally:
        free(hits.anchor)
        free(hits.cls)
        free(hits.score)


cdef int _run_float_scan(const floating[::1] data, Py_ssize_t n_anchors,
                         Py_ssize_t anchor_stride, Py_ssize_t channel_stride,
                         Py_ssize_t cls_offset, Py_ssize_t nc, Py_ssize_t obj_offset,
                         double threshold, bint multi_label, bint check_finite,
                         Py_ssize_t* first_bad, Hits* hits) except -1:
    """The float scan into ``hits`` (empty on entry; the caller frees it), checked layout
    first; ``first_bad`` as the boundary contract gives it."""
    cdef int status = 0
    cdef floating thr = <floating>threshold
    cdef const floating* base = NULL
    _check_layout(data.shape[0], n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                  obj_offset)
    hits.itemsize = sizeof(floating)
    if n_anchors > 0:
        base = &data[0]
    with nogil:
        if n_anchors == 0:
            pass
        # (The dense pass of the class-major scan holds classes in int32 lanes.)
        elif obj_offset < 0 and anchor_stride == 1 and nc <= INT32_MAX:
            status = _scan_class_major(base + cls_offset * channel_stride, n_anchors,
                                       channel_stride, nc, thr, multi_label, check_finite,
                                       first_bad, hits)
        else:
            status = _scan_anchor_major(base, n_anchors, anchor_stride, channel_stride,
                                        cls_offset, nc, obj_offset, thr, multi_label,
                                        check_finite, first_bad, hits)
    if status < 0:
        raise MemoryError("accel cython backend: out of memory in decode_scan")
    return 0


cdef inline void _empty_hits(Hits* hits) noexcept:
    hits.anchor = NULL
    hits.cls = NULL
    hits.score = NULL
    hits.size = 0
    hits.capacity = 0


cdef tuple _hit_arrays(Hits* hits, Py_ssize_t k, object dtype):
    """(anchors, classes, scores): new arrays holding the first ``k`` rows of ``hits``."""
    cdef int64_t[::1] out_anchor
    cdef int64_t[::1] out_cls
    cdef unsigned char[::1] out_score
    anchors = np.empty(k, dtype=np.int64)
    classes = np.empty(k, dtype=np.int64)
    scores = np.empty(k, dtype=dtype)
    if k > 0:
        out_anchor = anchors
        out_cls = classes
        out_score = scores.view(np.uint8)
        memcpy(&out_anchor[0], hits.anchor, k * sizeof(int64_t))
        memcpy(&out_cls[0], hits.cls, k * sizeof(int64_t))
        memcpy(&out_score[0], hits.score, k * hits.itemsize)
    return anchors, classes, scores


def _scan_floats(const floating[::1] data not None, Py_ssize_t n_anchors,
                 Py_ssize_t anchor_stride, Py_ssize_t channel_stride, Py_ssize_t cls_offset,
                 Py_ssize_t nc, Py_ssize_t obj_offset, double threshold, bint multi_label,
                 bint check_finite):
    cdef Hits hits
    cdef Py_ssize_t first_bad = -1
    _empty_hits(&hits)
    try:
        _run_float_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                        obj_offset, threshold, multi_label, check_finite, &first_bad, &hits)
        # With a non-finite value found the rows are unspecified: none are returned.
        return _hit_arrays(&hits, hits.size if first_bad < 0 else 0,
                           np.float32 if floating is float else np.float64) + (first_bad,)
    finally:
        free(hits.anchor)
        free(hits.cls)
        free(hits.score)


cdef Py_ssize_t _corners(const floating* data, const int64_t* anchors, Py_ssize_t k,
                         Py_ssize_t anchor_stride, Py_ssize_t channel_stride,
                         floating* dst) noexcept nogil:
    """The corners of ``anchors[:k]`` into ``dst`` (k rows of 4); the first row whose four
    channels are not all finite (``x - x == 0`` fails for NaN and infinities), or -1."""
    cdef Py_ssize_t i, at, bad = -1
    cdef floating cx, cy, w, h, half_w, half_h
    for i in range(k):
        at = anchors[i] * anchor_stride
        cx = data[at]
        cy = data[at + channel_stride]
        w = data[at + 2 * channel_stride]
        h = data[at + 3 * channel_stride]
        half_w = w / 2
        half_h = h / 2
        dst[4 * i] = cx - half_w
        dst[4 * i + 1] = cy - half_h
        dst[4 * i + 2] = cx + half_w
        dst[4 * i + 3] = cy + half_h
        if bad < 0 and not ((cx - cx == 0) & (cy - cy == 0) & (w - w == 0) & (h - h == 0)):
            bad = i
    return bad


def decode_detect(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                  threshold, multi_label, check_finite):
    if data.dtype.kind not in "f":
        raise ValueError("decode_detect: float32 or float64 data expected, got %s"
                         % (data.dtype,))
    return _detect_floats(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                          obj_offset, threshold, multi_label, check_finite)


def _detect_floats(const floating[::1] data not None, Py_ssize_t n_anchors,
                   Py_ssize_t anchor_stride, Py_ssize_t channel_stride, Py_ssize_t cls_offset,
                   Py_ssize_t nc, Py_ssize_t obj_offset, double threshold, bint multi_label,
                   bint check_finite):
    cdef Hits hits
    cdef Py_ssize_t first_bad = -1, box_bad = -1, k
    cdef floating[:, ::1] out_view
    dtype = np.float32 if floating is float else np.float64
    # The box channels 0..3 of every anchor must be inside data too.
    _check_layout(data.shape[0], n_anchors, anchor_stride, channel_stride, 0, 4, -1)
    _empty_hits(&hits)
    try:
        _run_float_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                        obj_offset, threshold, multi_label, check_finite, &first_bad, &hits)
        k = hits.size if first_bad < 0 else 0
        boxes = np.empty((k, 4), dtype=dtype)
        if k > 0:
            out_view = boxes
            with nogil:
                box_bad = _corners(&data[0], hits.anchor, k, anchor_stride, channel_stride,
                                   &out_view[0, 0])
        return _hit_arrays(&hits, k, dtype) + (boxes, first_bad,
                                               box_bad if check_finite else -1)
    finally:
        free(hits.anchor)
        free(hits.cls)
        free(hits.score)


cdef inline double _unletterbox(double value, double pad, double gain, bint clip,
                                double limit) noexcept nogil:
    value = (value - pad) / gain
    if clip:
        if value < 0.0:
            value = 0.0
        elif value > limit:
            value = limit
    return value


def decode_boxes(const floating[::1] data not None, const int64_t[::1] anchors not None,
                 Py_ssize_t anchor_stride, Py_ssize_t channel_stride):
    cdef Py_ssize_t k = anchors.shape[0], i, at
    cdef floating[:, ::1] out_view
    out = np.empty((k, 4), dtype=np.float32 if floating is float else np.float64)
    if k == 0:
        return out
    for i in range(k):  # every index in range, or an IndexError (no read out of bounds)
        at = anchors[i] * anchor_stride
        if at < 0 or at + 3 * channel_stride >= data.shape[0]:
            raise IndexError("decode_boxes: anchor %d out of range" % anchors[i])
    out_view = out
    with nogil:
        _corners(&data[0], &anchors[0], k, anchor_stride, channel_stride, &out_view[0, 0])
    return out


def scale_boxes(const floating[:, ::1] boxes not None, double gain_x, double gain_y,
                double pad_x, double pad_y, bint clip, double width, double height):
    cdef Py_ssize_t k = boxes.shape[0], i
    cdef const floating* src
    cdef floating* dst
    cdef floating[:, ::1] out_view
    if boxes.shape[1] != 4:
        raise ValueError("scale_boxes: boxes must be (K, 4), got (%d, %d)"
                         % (k, boxes.shape[1]))
    out = np.empty((k, 4), dtype=np.float32 if floating is float else np.float64)
    if k == 0:
        return out
    out_view = out
    src = &boxes[0, 0]
    dst = &out_view[0, 0]
    with nogil:
        for i in range(k):
            dst[0] = <floating>_unletterbox(src[0], pad_x, gain_x, clip, width)
            dst[1] = <floating>_unletterbox(src[1], pad_y, gain_y, clip, height)
            dst[2] = <floating>_unletterbox(src[2], pad_x, gain_x, clip, width)
            dst[3] = <floating>_unletterbox(src[3], pad_y, gain_y, clip, height)
            src += 4
            dst += 4
    return out
