# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython backend: the pure-Python reference (``accel._backends.python``), compiled.

Every kernel makes the reference's decisions with the reference's arithmetic:

* Candidates are visited by decreasing score, equal scores by increasing index. They are
  put in that order by a stable sort on an integer key that orders doubles by decreasing
  value (with -0.0 and 0.0 equal), applied to the candidates in index order: an
  insertion sort below 32 candidates, up to ``_BUCKET_SORT`` one counting pass into
  buckets of equal key ranges followed by an insertion sort (unless a bucket is
  crowded), else an LSD radix sort, one pass per byte in which keys differ.
* IoU is computed in float64 with the reference's operations in the reference's order
  (the build uses ``-ffp-contract=off`` so that nothing is fused into an FMA).
* Greedy NMS remembers only the kept boxes and finds the ones that can overlap a
  candidate through a hierarchical grid laid over the candidates' extent: level ``L``
  has ``16 >> L`` cells per axis (``GRID_MAX`` at level 0, one cell at the top), and a
  box's cell at level ``L`` is its level-0 cell shifted right by ``L``. A greedy run
  over ``m`` candidates starts at the level of about ``sqrt(m) / 16`` cells per axis
  (a node of ``_CHUNK`` slots costs about as much full as nearly empty, so cells must
  hold enough kept boxes: on the compare workload at ``m = 20000``, 8 x 8 cells
  measured faster than 4 x 4 or 16 x 16; never fewer than 4 x 4: batched NMS runs
  the grid for a class of a few hundred candidates only when testing every kept box
  was too slow, and there 4 x 4 measured faster than 2 x 2), and a kept box goes
  to the first level from there at which it covers at most ``_SPREAD`` cells per
  axis, into each of those cells (the uniform grid of the reference sends a box over
  16 cells to a list every candidate reads: with boxes whose sizes spread over 20x,
  a fine grid put the big ones there). A candidate visits every level holding kept
  boxes, its own level first, then the nearer ones (a box that suppresses it has a
  similar size, and the first hit ends the search), and there the cells it covers, or
  the level's list of all its boxes when that has fewer nodes than those cells. The
  level-0 cell is a truncated, clamped product, monotone in the coordinate, and a
  shift keeps it monotone, so boxes that share a point (touching ones included) share
  a cell at every level: the grid only prunes pairs with no positive overlap, so it
  changes the speed, never the answer. An axis whose extent is empty, infinite or
  subnormal has one cell (every box shares it). Each cell is a linked list in
  preallocated buffers (``head`` and ``tail`` per list, ``next`` per node), unrolled:
  a node holds up to ``_CHUNK`` kept boxes as columns, and a candidate tests a whole
  node without branches (the empty slots hold a box that overlaps nothing), which the
  C compiler turns into vector instructions. Each lane computes the reference's
  ``_overlaps`` in full: the four conditions ``iw > 0``, ``ih > 0``, ``union > 0`` and
  ``inter / union > iou_threshold``, written as ``not (iw <= 0)`` etc. as in the
  reference, and combined by AND. The reference stops at the first false one; every
  quantity is the same either way, so the answer is too.
* Up to ``_SCAN_MAX`` candidates there is no grid (``_scan_greedy``): the kept boxes
  are five columns in one array and each candidate tests all of them, ``_CHUNK`` at a
  time without branches, as a grid node is tested. Measured with
  ``python -m accel.compare --kernels nms --sizes 100,500,1000``: laying the grid out
  and walking cells cost more than testing every kept box at these sizes. One scratch
  block holds everything this path needs.
* Batched NMS runs the same greedy loop one class at a time (candidates ordered by
  class, then by the order above) on the same grid layout, emptied between classes. A
  box can only be suppressed by a kept box of its own class, so each box gets the
  reference's decision, and no candidate ever walks past kept boxes of other classes.
  The kept boxes of all classes are then read back in the global order and cut to
  ``max_output``: that is the reference's early exit (a class stops once it alone has
  ``max_output`` kept boxes, since no more of them can be among the first
  ``max_output``).
* Soft-NMS is the reference's O(N^2) loop, with the selection of the next box fused into
  the decay pass (the same strict ``>`` scan, in increasing index order, over the same
  decayed scores).

``nms`` and ``batched_nms`` take float32 or float64 boxes and scores (read as doubles,
exactly), and check every value in their first pass (``_scan``), returning
None on a bad one (the boundary, ``accel._backends``).

All per-element work runs inside ``with nogil:`` so other Python threads keep running.
No numpy headers are needed: ``nms`` and ``batched_nms`` read their inputs through raw
buffers (typed memoryviews cost more to acquire than the NMS of 100 boxes spends in C),
``soft_nms`` through typed memoryviews; outputs are made with ``np.empty`` and filled
in C.
"""
from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_WRITABLE,
                             PyBuffer_Release, PyObject_GetBuffer)
from libc.math cimport exp, INFINITY
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np


_empty = np.empty
_INT64 = np.dtype(np.int64)

cdef enum:
    _GRID_MAX = 16        # cells per axis at the finest level of the grid
    _LEVELS = 5           # levels of 16, 8, 4, 2 and 1 cells per axis
    _SPREAD = 8           # a kept box covers at most this many cells per axis at its level
    _CHUNK = 8            # kept boxes per node of a cell's list (accel_chunk_hits tests 8)
    _SMALL_SORT = 32      # below this many candidates, an insertion sort
    _BUCKET_SORT = 1024   # up to this many, a bucket pass then an insertion sort
    _BUCKET_MAX = 48      # ... unless a bucket holds more than this (then radix)
    _SCAN_MAX = 1024      # up to this many candidates, no grid: every kept box is tested
    _SCAN_BUDGET = 4      # ... until it has tested this many nodes per candidate

cdef extern from *:
    """
    /* Whether this CPU (and its OS) runs AVX2 code: the backend then loads nms_avx2,
       this module built with -mavx2. */
    #if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    static int accel_cpu_has_avx2(void)
    {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    }
    #else
    static int accel_cpu_has_avx2(void) { return 0; }
    #endif
    """
    int accel_cpu_has_avx2() noexcept nogil


cdef extern from *:
    """
    /* Which of 8 kept boxes (columns x1 .. area) suppress box b: bit k is the reference's
       _overlaps(kept k, b) with every condition evaluated, lane by lane: iw = min(x2, bx2)
       - max(x1, bx1) (min and max as _py_min and _py_max pick them), the same for ih,
       inter = iw * ih, union = area + barea - inter, then !(iw <= 0) & !(ih <= 0) &
       (union > 0) & (inter / union > thr). The same IEEE operations as the scalar loop
       below, so the same bits. Written with SSE2 or AVX intrinsics because compilers
       reduce the eight lanes' conditions to one flag through a chain of shuffles (a
       quarter of the greedy loop's time at N = 5000); a movemask does it at once. */
    #if defined(__AVX__)
    #include <immintrin.h>
    static inline int accel_chunk_hits(const double *x1, const double *y1, const double *x2,
                                       const double *y2, const double *area, double bx1,
                                       double by1, double bx2, double by2, double barea,
                                       double thr)
    {
        const __m256d BX1 = _mm256_set1_pd(bx1), BY1 = _mm256_set1_pd(by1);
        const __m256d BX2 = _mm256_set1_pd(bx2), BY2 = _mm256_set1_pd(by2);
        const __m256d BA = _mm256_set1_pd(barea), T = _mm256_set1_pd(thr);
        const __m256d Z = _mm256_setzero_pd();
        int k, mask = 0;
        for (k = 0; k < 8; k += 4) {
            __m256d iw = _mm256_sub_pd(_mm256_min_pd(BX2, _mm256_loadu_pd(x2 + k)),
                                       _mm256_max_pd(BX1, _mm256_loadu_pd(x1 + k)));
            __m256d ih = _mm256_sub_pd(_mm256_min_pd(BY2, _mm256_loadu_pd(y2 + k)),
                                       _mm256_max_pd(BY1, _mm256_loadu_pd(y1 + k)));
            __m256d inter = _mm256_mul_pd(iw, ih);
            __m256d uni = _mm256_sub_pd(_mm256_add_pd(_mm256_loadu_pd(area + k), BA), inter);
            __m256d ok = _mm256_and_pd(
                _mm256_and_pd(_mm256_cmp_pd(iw, Z, _CMP_NLE_UQ), _mm256_cmp_pd(ih, Z, _CMP_NLE_UQ)),
                _mm256_and_pd(_mm256_cmp_pd(uni, Z, _CMP_GT_OQ),
                              _mm256_cmp_pd(_mm256_div_pd(inter, uni), T, _CMP_GT_OQ)));
            mask |= _mm256_movemask_pd(ok) << k;
        }
        return mask;
    }
    #elif defined(__SSE2__) || defined(_M_X64)
    #include <emmintrin.h>
    static inline int accel_chunk_hits(const double *x1, const double *y1, const double *x2,
                                       const double *y2, const double *area, double bx1,
                                       double by1, double bx2, double by2, double barea,
                                       double thr)
    {
        const __m128d BX1 = _mm_set1_pd(bx1), BY1 = _mm_set1_pd(by1);
        const __m128d BX2 = _mm_set1_pd(bx2), BY2 = _mm_set1_pd(by2);
        const __m128d BA = _mm_set1_pd(barea), T = _mm_set1_pd(thr), Z = _mm_setzero_pd();
        int k, mask = 0;
        for (k = 0; k < 8; k += 2) {
            __m128d iw = _mm_sub_pd(_mm_min_pd(BX2, _mm_loadu_pd(x2 + k)),
                                    _mm_max_pd(BX1, _mm_loadu_pd(x1 + k)));
            __m128d ih = _mm_sub_pd(_mm_min_pd(BY2, _mm_loadu_pd(y2 + k)),
                                    _mm_max_pd(BY1, _mm_loadu_pd(y1 + k)));
            __m128d inter = _mm_mul_pd(iw, ih);
            __m128d uni = _mm_sub_pd(_mm_add_pd(_mm_loadu_pd(area + k), BA), inter);
            __m128d ok = _mm_and_pd(
                _mm_and_pd(_mm_cmpnle_pd(iw, Z), _mm_cmpnle_pd(ih, Z)),
                _mm_and_pd(_mm_cmpgt_pd(uni, Z), _mm_cmpgt_pd(_mm_div_pd(inter, uni), T)));
            mask |= _mm_movemask_pd(ok) << k;
        }
        return mask;
    }
    #else
    static inline int accel_chunk_hits(const double *x1, const double *y1, const double *x2,
                                       const double *y2, const double *area, double bx1,
                                       double by1, double bx2, double by2, double barea,
                                       double thr)
    {
        int k, mask = 0;
        for (k = 0; k < 8; k++) {
            double iw = (bx2 < x2[k] ? bx2 : x2[k]) - (bx1 > x1[k] ? bx1 : x1[k]);
            double ih = (by2 < y2[k] ? by2 : y2[k]) - (by1 > y1[k] ? by1 : y1[k]);
            double inter = iw * ih, uni = area[k] + barea - inter;
            mask |= (!(iw <= 0.0) & !(ih <= 0.0) & (uni > 0.0) & (inter / uni > thr)) << k;
        }
        return mask;
    }
    #endif
    """
    int accel_chunk_hits(const double* x1, const double* y1, const double* x2,
                         const double* y2, const double* area, double bx1, double by1,
                         double bx2, double by2, double barea, double thr) noexcept nogil


def cpu_has_avx2():
    """True when the CPU runs AVX2 instructions (always False off x86)."""
    return accel_cpu_has_avx2() != 0


ctypedef struct Keyed:          # an element of a radix sort
    uint64_t key
    Py_ssize_t value


ctypedef struct Box:            # a box and its area
    double x1
    double y1
    double x2
    double y2
    double area


ctypedef struct Node:           # a node of a cell's list: up to _CHUNK kept boxes
    double x1[_CHUNK]           # columns of the boxes; unused slots hold an empty box
    double y1[_CHUNK]           # (x1 = y1 = +inf, x2 = y2 = -inf) that overlaps nothing
    double x2[_CHUNK]
    double y2[_CHUNK]
    double area[_CHUNK]
    Py_ssize_t count            # slots used
    Py_ssize_t next             # next node of the same list, or -1


ctypedef struct Grid:           # the hierarchical grid (see "Hierarchical grid" below)
    double min_x                # the candidates' minimum x1 and y1
    double min_y
    double fx                   # level-0 cells per unit of x and y
    double fy
    Py_ssize_t nx0              # level-0 cells per axis
    Py_ssize_t ny0
    Py_ssize_t n_levels
    Py_ssize_t nx[_LEVELS]      # cells along x and y at each level
    Py_ssize_t ny[_LEVELS]
    Py_ssize_t first[_LEVELS]   # the list of each level's cell (0, 0); its cells follow
    Py_ssize_t whole[_LEVELS]   # the list of all boxes of each level (= first when one cell)
    Py_ssize_t n_kept[_LEVELS]  # kept boxes per level
    Py_ssize_t n_whole_nodes[_LEVELS]   # nodes of each whole list
    Py_ssize_t order[_LEVELS][_LEVELS]  # levels to visit, from a candidate's own level
    Py_ssize_t* head            # per list: first node, or -1 when empty
    Py_ssize_t* tail            # last node (valid when head >= 0)
    Py_ssize_t* touched         # the lists made non-empty since the last reset
    Py_ssize_t n_touched
    Node* nodes
    Py_ssize_t n_nodes
    Py_ssize_t cap_nodes


# ------------------------------------------------------------------------------------
# Sorting.

cdef inline uint64_t _descending_key(double score) noexcept nogil:
    """Unsigned key whose increasing order is the decreasing order of ``score``.

    ``score`` is never NaN (candidates pass ``score > score_threshold``); -0.0 and 0.0
    get the same key, as they are equal scores. Branch-free (the candidates loop
    computes a key for every score): a positive score gets its sign bit set, a
    negative one all its bits flipped (bigger magnitude first), then all are flipped.
    """
    cdef uint64_t bits
    memcpy(&bits, &score, sizeof(double))
    bits &= -<uint64_t>(score != 0.0)
    bits ^= (-(bits >> 63)) | (<uint64_t>1 << 63)
    return ~bits


cdef inline double _key_score(uint64_t key) noexcept nogil:
    """The score of a ``_descending_key`` (0.0 for either zero)."""
    cdef uint64_t bits = ~key
    cdef double score
    if bits >> 63:
        bits &= ~(<uint64_t>1 << 63)
    else:
        bits = ~bits
    memcpy(&score, &bits, sizeof(double))
    return score


cdef inline uint64_t _class_key(int64_t cls) noexcept nogil:
    """Unsigned key whose increasing order is the increasing order of ``cls``."""
    return (<uint64_t>cls) ^ (<uint64_t>1 << 63)


cdef void _radix_sort(Keyed* a, Keyed* tmp, Py_ssize_t n) noexcept nogil:
    """Stable sort of ``a`` by increasing key: LSD radix, one pass of 8 bits per byte in
    which the keys differ (float32 scores, read as doubles, share their low three bytes;
    scores in [0, 1] most of their top one). ``tmp`` has room for ``n``."""
    cdef Py_ssize_t count[256]
    cdef Py_ssize_t i, d, digit, total, c
    cdef uint64_t first, differ = 0
    cdef int shift
    cdef Keyed* src = a
    cdef Keyed* dst = tmp
    cdef Keyed* swap
    if n < 2:
        return
    first = a[0].key
    for i in range(n):
        differ |= a[i].key ^ first
    for d in range(8):
        shift = 8 * d
        if ((differ >> shift) & 0xFF) == 0:
            continue  # every key has this byte: the pass would not move anything
        memset(count, 0, sizeof(count))
        for i in range(n):
            count[<Py_ssize_t>((src[i].key >> shift) & 0xFF)] += 1
        total = 0
        for digit in range(256):
            c = count[digit]
            count[digit] = total
            total += c
        for i in range(n):
            digit = <Py_ssize_t>((src[i].key >> shift) & 0xFF)
            dst[count[digit]] = src[i]
            count[digit] += 1
        swap = src
        src = dst
        dst = swap
    if src != a:
        memcpy(a, src, <size_t>n * sizeof(Keyed))


cdef inline double _at(const void* data, bint f32, Py_ssize_t i) noexcept nogil:
    """Element ``i`` of a float32 (``f32``) or float64 array, as a double (exact)."""
    if f32:
        return (<const float*>data)[i]
    return (<const double*>data)[i]


ctypedef fused real_t:
    float
    double


cdef int _boxes_valid_of(const real_t* b, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef int valid = 1
    for i in range(n):
        valid &= ((b[4 * i] <= b[4 * i + 2]) & (b[4 * i + 1] <= b[4 * i + 3])
                  & (b[4 * i] > -INFINITY) & (b[4 * i + 2] < INFINITY)
                  & (b[4 * i + 1] > -INFINITY) & (b[4 * i + 3] < INFINITY))
    return valid


cdef int _scores_valid_of(const real_t* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef int valid = 1
    for i in range(n):
        valid &= (s[i] > -INFINITY) & (s[i] < INFINITY)
    return valid


cdef int _boxes_valid(const void* boxes, bint f32, Py_ssize_t n) noexcept nogil:
    """Whether every box is finite with x1 <= x2 and y1 <= y2 (NaN fails every
    comparison). One loop per dtype (a fused type), without a branch, so that it is
    vectorized."""
    if f32:
        return _boxes_valid_of(<const float*>boxes, n)
    return _boxes_valid_of(<const double*>boxes, n)


cdef int _scores_valid(const void* scores, bint f32, Py_ssize_t n) noexcept nogil:
    """Whether every score is finite; vectorized like ``_boxes_valid``."""
    if f32:
        return _scores_valid_of(<const float*>scores, n)
    return _scores_valid_of(<const double*>scores, n)


cdef Py_ssize_t _scan(const void* boxes, bint boxes_f32, const void* scores,
                      bint scores_f32, Py_ssize_t n, double score_threshold,
                      Keyed* cand) noexcept nogil:
    """The boundary's value checks of every box and score, then the candidates,
    ``score > score_threshold`` in index order (into ``cand``, room for ``n``). Returns
    their count, or -2 when a box is not finite with x1 <= x2 and y1 <= y2 or a score is
    not finite. Every score is written to ``cand[m]`` and ``m`` advances only for a
    candidate: no branch to mispredict when scores straddle the threshold."""
    cdef Py_ssize_t i, m = 0
    cdef double s
    cdef const float* s32 = <const float*>scores
    cdef const double* s64 = <const double*>scores
    if not (_boxes_valid(boxes, boxes_f32, n) & _scores_valid(scores, scores_f32, n)):
        return -2
    if scores_f32:
        for i in range(n):
            s = s32[i]
            cand[m].key = _descending_key(s)
            cand[m].value = i
            m += s > score_threshold
    else:
        for i in range(n):
            s = s64[i]
            cand[m].key = _descending_key(s)
            cand[m].value = i
            m += s > score_threshold
    return m


cdef void _insertion_sort(Keyed* a, const Keyed* src, Py_ssize_t n) noexcept nogil:
    """``a[:n]`` = ``src[:n]`` stably sorted by increasing key (``src`` may be ``a``):
    quick when ``src`` is nearly sorted. The largest key so far stays in a register:
    comparing with ``a[i - 1]`` reloaded from memory chained each item to the store of
    the one before (store forwarding, about 5 cycles an item)."""
    cdef Py_ssize_t i, j
    cdef Keyed item
    cdef uint64_t top = 0
    for i in range(n):
        item = src[i]
        if i == 0 or item.key >= top:  # in order (equal keys stay in order: stable)
            a[i] = item
            top = item.key
            continue
        j = i
        while j > 0 and a[j - 1].key > item.key:
            a[j] = a[j - 1]
            j -= 1
        a[j] = item


cdef bint _bucket_sort(Keyed* a, Keyed* tmp, Py_ssize_t n) noexcept nogil:
    """Stable sort of ``a`` (``_SMALL_SORT <= n <= _BUCKET_SORT``) by increasing key:
    one stable counting pass into ``B >= n`` buckets of equal SCORE ranges (the bucket,
    ``floor((highest - score) * B / (highest - lowest))``, never decreases as the key
    increases: IEEE subtraction and multiplication are monotonic), then an insertion
    sort, which moves items only within their bucket. Buckets of equal key ranges put
    most scores of [0.25, 1) into a few dozen buckets (the key is the bit pattern, with
    one binade per exponent), and the insertion sort's mispredicted branches then cost
    more than the rest of the sort. Returns False, leaving ``a`` as it was, when a
    bucket holds more than ``_BUCKET_MAX`` items (scores crowded in a small part of
    their range, or a range that overflows: the insertion sort could be quadratic)."""
    cdef unsigned int count[2 * _BUCKET_SORT + 1]
    cdef unsigned short bucket_of[_BUCKET_SORT]
    cdef uint64_t low = a[0].key, high = a[0].key, key
    cdef Py_ssize_t i, b, buckets = 16
    cdef unsigned int biggest = 0
    cdef double highest, span, factor
    for i in range(1, n):
        key = a[i].key
        if key < low:
            low = key
        if key > high:
            high = key
    while buckets < n:
        buckets *= 2
    highest = _key_score(low)
    span = highest - _key_score(high)
    factor = <double>buckets / span
    # Every score equal (factor infinite), or a span that overflows (factor 0: then
    # (highest - score) * factor is inf * 0 = NaN for the lowest score, and NaN cast to
    # an integer is undefined; the sanitizer build caught it on scores of +-DBL_MAX).
    if not (span < INFINITY and factor < INFINITY):
        return False
    memset(count, 0, <size_t>(buckets + 1) * sizeof(unsigned int))
    for i in range(n):
        b = <Py_ssize_t>((highest - _key_score(a[i].key)) * factor)
        b = b if b < buckets else buckets - 1
        bucket_of[i] = <unsigned short>b
        count[b + 1] += 1
    for b in range(1, buckets + 1):
        if count[b] > biggest:
            biggest = count[b]
        count[b] += count[b - 1]
    if biggest > _BUCKET_MAX:
        return False
    for i in range(n):
        b = bucket_of[i]
        tmp[count[b]] = a[i]
        count[b] += 1
    _insertion_sort(a, tmp, n)
    return True


cdef void _sort(Keyed* a, Keyed* tmp, Py_ssize_t n) noexcept nogil:
    """Stable sort by increasing key: an insertion sort for a few items (quicker than
    clearing the radix sort's counts), a bucket sort for a few hundred, else
    ``_radix_sort``."""
    if n < _SMALL_SORT:
        _insertion_sort(a, a, n)
        return
    if n <= _BUCKET_SORT and _bucket_sort(a, tmp, n):
        return
    _radix_sort(a, tmp, n)


# ------------------------------------------------------------------------------------
# IoU of the module contract. ``_py_min``/``_py_max`` return what Python's min/max of
# two floats return (the first argument unless the second is strictly smaller/larger).

cdef inline double _py_min(double p, double q) noexcept nogil:
    return q if q < p else p


cdef inline double _py_max(double p, double q) noexcept nogil:
    return q if q > p else p


cdef inline double _iou(const double* a, const double* b, double area_a,
                        double area_b) noexcept nogil:
    """Reference ``iou(a, b, area_a, area_b)``."""
    cdef double iw, ih, inter, union
    iw = _py_min(a[2], b[2]) - _py_max(a[0], b[0])
    if iw <= 0.0:
        return 0.0
    ih = _py_min(a[3], b[3]) - _py_max(a[1], b[1])
    if ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = area_a + area_b - inter
    if union > 0.0:
        return inter / union
    return 0.0


# ------------------------------------------------------------------------------------
# Hierarchical grid. Level L has ((n0 - 1) >> L) + 1 cells per axis (n0 <= _GRID_MAX
# at level 0, one cell at the top); a box's cell at level L is its level-0 cell shifted
# right by L. Level-0 cells come from a monotone map (offset from the candidates'
# minimum, times a factor, truncated, clamped), and a shift keeps it monotone: two
# intervals that share a point (even touching, even after rounding) share a cell at
# every level, so no pair with a positive overlap is ever pruned.

cdef inline Py_ssize_t _cell(double offset, double factor, Py_ssize_t cells) noexcept nogil:
    """Level-0 cell of an offset in ``[0, span]``: ``min(cells - 1, int(offset * factor))``."""
    cdef Py_ssize_t c
    if cells == 1:
        return 0
    c = <Py_ssize_t>(offset * factor)
    return c if c < cells - 1 else cells - 1


cdef void _axis_cells(double lo, double hi, Py_ssize_t* cells_out,
                      double* factor_out) noexcept nogil:
    """Level-0 cells of an axis spanning ``[lo, hi]``: ``_GRID_MAX``, or one (factor 0)
    when the span is empty or so extreme that a factor could overflow; one cell makes
    every box of that axis share it, which is always correct."""
    cdef double span = hi - lo
    cdef double factor
    cells_out[0] = 1
    factor_out[0] = 0.0
    if not (span > 0.0) or span == INFINITY:
        return
    factor = <double>_GRID_MAX / span
    if not (factor < INFINITY):   # a subnormal span
        return
    cells_out[0] = _GRID_MAX
    factor_out[0] = factor


cdef int _grid_init(Grid* g, const Box* cbox, Py_ssize_t m) noexcept nogil:
    """Lay the grid over the extent of the ``m >= 1`` candidate boxes ``cbox``.

    Returns -1 when out of memory (``_grid_free`` is safe either way).
    """
    cdef Py_ssize_t t, L, d, i, nx, ny, n_lists = 0, cells
    cdef double min_x = cbox[0].x1, min_y = cbox[0].y1
    cdef double max_x = cbox[0].x2, max_y = cbox[0].y2
    for t in range(m):
        if cbox[t].x1 < min_x:
            min_x = cbox[t].x1
        if cbox[t].y1 < min_y:
            min_y = cbox[t].y1
        if cbox[t].x2 > max_x:
            max_x = cbox[t].x2
        if cbox[t].y2 > max_y:
            max_y = cbox[t].y2
    g.min_x = min_x
    g.min_y = min_y
    _axis_cells(min_x, max_x, &g.nx0, &g.fx)
    _axis_cells(min_y, max_y, &g.ny0, &g.fy)
    g.n_levels = 0
    while True:
        L = g.n_levels
        nx = ((g.nx0 - 1) >> L) + 1
        ny = ((g.ny0 - 1) >> L) + 1
        cells = nx * ny
        g.nx[L] = nx
        g.ny[L] = ny
        g.first[L] = n_lists
        # A level of several cells also lists all its boxes once, for candidates that
        # would visit more cells than that list has nodes.
        g.whole[L] = n_lists + cells if cells > 1 else n_lists
        n_lists += cells + (1 if cells > 1 else 0)
        g.n_kept[L] = 0
        g.n_whole_nodes[L] = 0
        g.n_levels = L + 1
        if cells == 1:
            break
    # Visiting order from a candidate's own level: its own, then the nearer ones (a box
    # that suppresses it has a similar size, and the first hit ends the search).
    for L in range(g.n_levels):
        i = 0
        g.order[L][i] = L
        i += 1
        for d in range(1, g.n_levels):
            if L - d >= 0:
                g.order[L][i] = L - d
                i += 1
            if L + d < g.n_levels:
                g.order[L][i] = L + d
                i += 1
    g.head = <Py_ssize_t*>malloc(<size_t>n_lists * sizeof(Py_ssize_t))
    g.tail = <Py_ssize_t*>malloc(<size_t>n_lists * sizeof(Py_ssize_t))
    g.touched = <Py_ssize_t*>malloc(<size_t>n_lists * sizeof(Py_ssize_t))
    g.n_touched = 0
    g.n_nodes = 0
    g.cap_nodes = 64
    g.nodes = <Node*>malloc(<size_t>g.cap_nodes * sizeof(Node))
    if g.head == NULL or g.tail == NULL or g.touched == NULL or g.nodes == NULL:
        return -1
    for t in range(n_lists):
        g.head[t] = -1
    return 0


cdef inline void _grid_zero(Grid* g) noexcept nogil:
    g.head = NULL
    g.tail = NULL
    g.touched = NULL
    g.nodes = NULL


cdef void _grid_free(Grid* g) noexcept nogil:
    free(g.head)
    free(g.tail)
    free(g.touched)
    free(g.nodes)
    _grid_zero(g)


cdef void _grid_clear(Grid* g) noexcept nogil:
    """Empty every list, touching only the lists that were used."""
    cdef Py_ssize_t t
    for t in range(g.n_touched):
        g.head[g.touched[t]] = -1
    g.n_touched = 0
    g.n_nodes = 0
    for t in range(g.n_levels):
        g.n_kept[t] = 0
        g.n_whole_nodes[t] = 0


cdef inline Py_ssize_t _level_of(Py_ssize_t L, Py_ssize_t cx0, Py_ssize_t cx1,
                                 Py_ssize_t cy0, Py_ssize_t cy1) noexcept nogil:
    """The first level from ``L`` at which a box with these level-0 cells covers at most
    ``_SPREAD`` cells per axis (the top level has one cell, so the loop ends there)."""
    while (cx1 >> L) - (cx0 >> L) >= _SPREAD or (cy1 >> L) - (cy0 >> L) >= _SPREAD:
        L += 1
    return L


cdef inline Py_ssize_t _start_level(const Grid* g, Py_ssize_t m) noexcept nogil:
    """The finest level ``_greedy`` uses for ``m`` candidates: at most sqrt(m) / 16
    cells per axis, but at least the 4 x 4 cells two levels below the top (see the
    module docstring). A candidate pays per list and per node it visits, so few kept boxes
    spread over many cells cost more than fewer, fuller lists."""
    cdef Py_ssize_t L = 0, cells
    while L < g.n_levels - 3:
        cells = g.nx[L] if g.nx[L] > g.ny[L] else g.ny[L]
        if 256 * cells * cells <= m:
            break
        L += 1
    return L


cdef int _list_append(Grid* g, Py_ssize_t list_id, const Box* box) noexcept nogil:
    """Append a kept box to one list; 1 when that took a new node, -1 when out of
    memory."""
    cdef Py_ssize_t e, k, new_cap
    cdef Node* grown
    cdef Node* node
    cdef int fresh = 0
    e = g.tail[list_id] if g.head[list_id] >= 0 else -1
    if e < 0 or g.nodes[e].count == _CHUNK:
        e = g.n_nodes
        if e == g.cap_nodes:
            new_cap = 2 * g.cap_nodes
            grown = <Node*>realloc(g.nodes, <size_t>new_cap * sizeof(Node))
            if grown == NULL:
                return -1
            g.nodes = grown
            g.cap_nodes = new_cap
        node = &g.nodes[e]
        for k in range(_CHUNK):
            node.x1[k] = INFINITY
            node.y1[k] = INFINITY
            node.x2[k] = -INFINITY
            node.y2[k] = -INFINITY
            node.area[k] = 0.0
        node.count = 0
        node.next = -1
        if g.head[list_id] < 0:
            g.head[list_id] = e
            g.touched[g.n_touched] = list_id
            g.n_touched += 1
        else:
            g.nodes[g.tail[list_id]].next = e
        g.tail[list_id] = e
        g.n_nodes = e + 1
        fresh = 1
    node = &g.nodes[e]
    k = node.count
    node.x1[k] = box.x1
    node.y1[k] = box.y1
    node.x2[k] = box.x2
    node.y2[k] = box.y2
    node.area[k] = box.area
    node.count = k + 1
    return fresh


cdef int _grid_add(Grid* g, const Box* box, Py_ssize_t L, Py_ssize_t cx0, Py_ssize_t cx1,
                   Py_ssize_t cy0, Py_ssize_t cy1) noexcept nogil:
    """Record a kept box at level ``L`` in every cell it covers there (level-0 cells
    ``cx0 .. cx1``, ``cy0 .. cy1``) and in the level's whole list; -1 when out of
    memory."""
    cdef Py_ssize_t cx, cy, row, nx = g.nx[L]
    cdef int fresh
    for cy in range(cy0 >> L, (cy1 >> L) + 1):
        row = g.first[L] + cy * nx
        for cx in range(cx0 >> L, (cx1 >> L) + 1):
            if _list_append(g, row + cx, box) < 0:
                return -1
    if g.whole[L] != g.first[L]:
        fresh = _list_append(g, g.whole[L], box)
        if fresh < 0:
            return -1
        g.n_whole_nodes[L] += fresh
    g.n_kept[L] += 1
    return 0


cdef inline bint _list_suppresses(const Node* nodes, Py_ssize_t e, const Box* b,
                                  double iou_threshold) noexcept nogil:
    """Whether a kept box of the list starting at node ``e`` suppresses box ``b``.

    Each node's 8 slots are tested at once by ``accel_chunk_hits`` (the reference's
    ``_overlaps(kept, b, ...)`` per slot, every condition evaluated).
    """
    cdef const Node* node
    while e >= 0:
        node = &nodes[e]
        if accel_chunk_hits(node.x1, node.y1, node.x2, node.y2, node.area, b.x1, b.y1,
                            b.x2, b.y2, b.area, iou_threshold):
            return True
        e = node.next
    return False


cdef inline bint _level_suppresses(const Grid* g, Py_ssize_t L, const Box* b,
                                   Py_ssize_t cx0, Py_ssize_t cx1, Py_ssize_t cy0,
                                   Py_ssize_t cy1, double iou_threshold) noexcept nogil:
    """Whether a kept box of level ``L`` suppresses ``b`` (level-0 cells ``cx0 .. cx1``,
    ``cy0 .. cy1``): the lists of the cells ``b`` covers there, or the level's whole
    list when it has fewer nodes than those cells."""
    cdef Py_ssize_t cx, cy, row, x0 = cx0 >> L, x1 = cx1 >> L, nx = g.nx[L]
    cdef Py_ssize_t y0 = cy0 >> L, y1 = cy1 >> L
    if (x1 - x0 + 1) * (y1 - y0 + 1) > g.n_whole_nodes[L] and g.whole[L] != g.first[L]:
        return _list_suppresses(g.nodes, g.head[g.whole[L]], b, iou_threshold)
    for cy in range(y0, y1 + 1):
        row = g.first[L] + cy * nx
        for cx in range(x0, x1 + 1):
            if _list_suppresses(g.nodes, g.head[row + cx], b, iou_threshold):
                return True
    return False


# ------------------------------------------------------------------------------------
# Greedy NMS.

cdef void _gather(const void* boxes, bint f32, const Keyed* order, Py_ssize_t m,
                  Box* cbox) noexcept nogil:
    """The boxes ``order[t].value`` (float32 or float64) and their areas, in visiting
    order, as doubles."""
    cdef Py_ssize_t t, at
    cdef double x1, y1, x2, y2
    for t in range(m):
        at = 4 * order[t].value
        x1 = _at(boxes, f32, at)
        y1 = _at(boxes, f32, at + 1)
        x2 = _at(boxes, f32, at + 2)
        y2 = _at(boxes, f32, at + 3)
        cbox[t].x1 = x1
        cbox[t].y1 = y1
        cbox[t].x2 = x2
        cbox[t].y2 = y2
        cbox[t].area = (x2 - x1) * (y2 - y1)


cdef Py_ssize_t _greedy(const Box* cbox, Py_ssize_t m, Grid* g, double iou_threshold,
                        Py_ssize_t limit, Py_ssize_t* kept_at) noexcept nogil:
    """Greedy NMS of the boxes ``cbox[:m]`` (in visiting order) on an empty grid.

    Writes the positions ``t`` of the kept boxes to ``kept_at`` and returns their count
    (it stops at ``limit``), or -1 when out of memory. Leaves the grid empty.
    """
    cdef Py_ssize_t t, i, L, own, n_kept = 0, cx0, cx1, cy0, cy1
    cdef Py_ssize_t start = _start_level(g, m)
    cdef bint suppressed
    cdef int status = 0
    cdef const Box* b
    for t in range(m):
        b = &cbox[t]
        cx0 = _cell(b.x1 - g.min_x, g.fx, g.nx0)
        cx1 = _cell(b.x2 - g.min_x, g.fx, g.nx0)
        cy0 = _cell(b.y1 - g.min_y, g.fy, g.ny0)
        cy1 = _cell(b.y2 - g.min_y, g.fy, g.ny0)
        own = _level_of(start, cx0, cx1, cy0, cy1)
        suppressed = False
        i = 0
        while not suppressed and i < g.n_levels:
            L = g.order[own][i]
            if g.n_kept[L] > 0:
                suppressed = _level_suppresses(g, L, b, cx0, cx1, cy0, cy1, iou_threshold)
            i += 1
        if suppressed:
            continue
        kept_at[n_kept] = t
        n_kept += 1
        if n_kept == limit:
            break
        if _grid_add(g, b, own, cx0, cx1, cy0, cy1) != 0:
            status = -1
            break
    _grid_clear(g)
    if status != 0:
        return -1
    return n_kept


cdef inline void _empty_slots(double* cols, Py_ssize_t cap, Py_ssize_t at) noexcept nogil:
    """Fill slots ``at .. at + _CHUNK - 1`` of the kept columns with the empty box."""
    cdef Py_ssize_t j
    for j in range(at, at + _CHUNK):
        cols[j] = INFINITY
        cols[cap + j] = INFINITY
        cols[2 * cap + j] = -INFINITY
        cols[3 * cap + j] = -INFINITY
        cols[4 * cap + j] = 0.0


cdef Py_ssize_t _scan_greedy(const Box* cbox, Py_ssize_t m, double* cols, Py_ssize_t cap,
                             double iou_threshold, Py_ssize_t limit,
                             Py_ssize_t* kept_at) noexcept nogil:
    """``_greedy`` without a grid, for a few candidates (``m <= _SCAN_MAX``): each
    candidate is tested against every kept box. The kept boxes are five columns of
    ``cols`` (x1, y1, x2, y2, area, ``cap >= limit + _CHUNK`` slots each), tested
    ``_CHUNK`` at a time without branches, as a grid node is (``_list_suppresses``); the
    slots after the last kept box hold the empty box. Same decisions, in the same order,
    as ``_greedy``: the grid only skips pairs that cannot suppress.

    Returns -3, having decided nothing, once it has tested more than ``_SCAN_BUDGET * m``
    groups of ``_CHUNK`` kept boxes (many boxes kept: the grid is quicker); the caller
    then runs ``_greedy``. The work lost is at most that budget."""
    cdef double* kx1 = cols
    cdef double* ky1 = cols + cap
    cdef double* kx2 = cols + 2 * cap
    cdef double* ky2 = cols + 3 * cap
    cdef double* karea = cols + 4 * cap
    cdef Py_ssize_t t, k, n_kept = 0, budget = _SCAN_BUDGET * m
    cdef double x1, y1, x2, y2, area
    cdef int hit
    _empty_slots(cols, cap, 0)
    for t in range(m):
        x1 = cbox[t].x1
        y1 = cbox[t].y1
        x2 = cbox[t].x2
        y2 = cbox[t].y2
        area = cbox[t].area
        hit = 0
        k = 0
        while k < n_kept:
            if accel_chunk_hits(kx1 + k, ky1 + k, kx2 + k, ky2 + k, karea + k, x1, y1, x2,
                                y2, area, iou_threshold):
                hit = 1
                break
            k += _CHUNK
        budget -= k // _CHUNK + hit   # the groups tested
        if budget < 0:
            return -3
        if hit:
            continue
        kept_at[n_kept] = t
        kx1[n_kept] = x1
        ky1[n_kept] = y1
        kx2[n_kept] = x2
        ky2[n_kept] = y2
        karea[n_kept] = area
        n_kept += 1
        if n_kept == limit:
            break
        if n_kept % _CHUNK == 0:
            _empty_slots(cols, cap, n_kept)
    return n_kept


cdef inline size_t _small_block(Py_ssize_t m, Py_ssize_t limit) noexcept nogil:
    """Bytes of the one scratch block of the small path (``_small_parts``)."""
    return (<size_t>m * (sizeof(Keyed) + sizeof(Box))
            + <size_t>(5 * (limit + _CHUNK)) * sizeof(double)
            + <size_t>limit * sizeof(Py_ssize_t))


cdef inline void _small_parts(char* block, Py_ssize_t m, Py_ssize_t limit, Keyed** tmp,
                              Box** cbox, double** cols, Py_ssize_t** kept_at) noexcept nogil:
    """Carve the scratch block of the small path: the sort's ``tmp`` (m), the candidate
    boxes (m), the kept columns (5 x (limit + _CHUNK)) and the kept positions (limit)."""
    cols[0] = <double*>block
    cbox[0] = <Box*>(block + <size_t>(5 * (limit + _CHUNK)) * sizeof(double))
    tmp[0] = <Keyed*>(<char*>cbox[0] + <size_t>m * sizeof(Box))
    kept_at[0] = <Py_ssize_t*>(<char*>tmp[0] + <size_t>m * sizeof(Keyed))


cdef Py_ssize_t _nms_small(const void* boxes, bint boxes_f32, Keyed* cand, Py_ssize_t m,
                           double iou_threshold, Py_ssize_t max_output,
                           int64_t* out) noexcept nogil:
    """``_nms`` for ``1 <= m <= _SCAN_MAX`` candidates (``cand``, in index order) and
    ``max_output >= 1``: no grid, one scratch block. -3 when ``_scan_greedy`` gives up."""
    cdef Py_ssize_t limit = max_output if max_output < m else m
    cdef char* block = <char*>malloc(_small_block(m, limit))
    cdef Keyed* tmp
    cdef Box* cbox
    cdef double* cols
    cdef Py_ssize_t* kept_at
    cdef Py_ssize_t q, count = -1
    if block != NULL:
        _small_parts(block, m, limit, &tmp, &cbox, &cols, &kept_at)
        _sort(cand, tmp, m)   # stable, from index order: ties stay by index
        _gather(boxes, boxes_f32, cand, m, cbox)
        count = _scan_greedy(cbox, m, cols, limit + _CHUNK, iou_threshold, limit, kept_at)
        for q in range(count):
            out[q] = cand[kept_at[q]].value
    free(block)
    return count


cdef Py_ssize_t _nms(const void* boxes, bint boxes_f32, const void* scores,
                     bint scores_f32, Py_ssize_t n, double iou_threshold,
                     double score_threshold, Py_ssize_t max_output,
                     int64_t* out) noexcept nogil:
    """Plain NMS into ``out`` (room for ``max_output <= n``); the count, -1 when out of
    memory, or -2 when a value fails the checks (``_scan``)."""
    cdef Keyed* cand = <Keyed*>malloc(<size_t>n * sizeof(Keyed))
    cdef Keyed* tmp = NULL
    cdef Box* cbox = NULL
    cdef Py_ssize_t* kept_at = NULL
    cdef Grid g
    cdef Py_ssize_t m, q, count = -1
    _grid_zero(&g)
    if cand != NULL:
        m = _scan(boxes, boxes_f32, scores, scores_f32, n, score_threshold, cand)
        if m == -2:
            count = -2
        elif m == 0 or max_output <= 0:
            count = 0
        else:
            if m <= _SCAN_MAX:
                count = _nms_small(boxes, boxes_f32, cand, m, iou_threshold, max_output, out)
                if count != -3:
                    free(cand)
                    return count
                count = -1
            tmp = <Keyed*>malloc(<size_t>m * sizeof(Keyed))
            cbox = <Box*>malloc(<size_t>m * sizeof(Box))
            kept_at = <Py_ssize_t*>malloc(<size_t>max_output * sizeof(Py_ssize_t))
            if tmp != NULL and cbox != NULL and kept_at != NULL:
                _sort(cand, tmp, m)   # stable, from index order: ties stay by index
                _gather(boxes, boxes_f32, cand, m, cbox)
                if _grid_init(&g, cbox, m) == 0:
                    count = _greedy(cbox, m, &g, iou_threshold, max_output, kept_at)
                    for q in range(count):
                        out[q] = cand[kept_at[q]].value
    _grid_free(&g)
    free(cand)
    free(tmp)
    free(cbox)
    free(kept_at)
    return count


cdef Py_ssize_t _batched_nms(const void* boxes, bint boxes_f32, const void* scores,
                             bint scores_f32, const int64_t* classes, Py_ssize_t n,
                             double iou_threshold, double score_threshold,
                             Py_ssize_t max_output, int64_t* out) noexcept nogil:
    """Class-aware NMS into ``out`` (room for ``max_output <= n``); the count, -1 when
    out of memory, or -2 when a value fails the checks (``_scan``)."""
    cdef Keyed* cand = <Keyed*>malloc(<size_t>n * sizeof(Keyed))
    cdef Keyed* tmp = NULL
    cdef Keyed* grouped = NULL
    cdef Box* cbox = NULL
    cdef Py_ssize_t* kept_at = NULL
    cdef char* is_kept = NULL
    cdef double* cols = NULL      # the kept columns of _scan_greedy
    cdef Grid g
    cdef Py_ssize_t m, r, t, q, start, stop, got, cap, count = -1
    _grid_zero(&g)
    if cand != NULL:
        m = _scan(boxes, boxes_f32, scores, scores_f32, n, score_threshold, cand)
        if m == -2:
            count = -2
        elif m == 0 or max_output <= 0:
            count = 0
        else:
            tmp = <Keyed*>malloc(<size_t>m * sizeof(Keyed))
            grouped = <Keyed*>malloc(<size_t>m * sizeof(Keyed))
            cbox = <Box*>malloc(<size_t>m * sizeof(Box))
            # _scan_greedy's columns, for the classes of at most _SCAN_MAX candidates
            cap = (max_output if max_output < _SCAN_MAX else _SCAN_MAX) + _CHUNK
            cols = <double*>malloc(<size_t>(5 * cap) * sizeof(double))
            kept_at = <Py_ssize_t*>malloc(<size_t>max_output * sizeof(Py_ssize_t))
            is_kept = <char*>malloc(<size_t>m)
            if (tmp != NULL and grouped != NULL and cbox != NULL and kept_at != NULL
                    and is_kept != NULL and cols != NULL):
                _sort(cand, tmp, m)   # stable, from index order: ties stay by index
                # Group by class, stably: within a class, candidates stay in the global
                # order. grouped[t].value is the rank (position in the global order) of
                # the t-th.
                for r in range(m):
                    grouped[r].key = _class_key(classes[cand[r].value])
                    grouped[r].value = r
                    is_kept[r] = 0
                if m < _SMALL_SORT:   # few distinct class ids: one radix pass, mostly
                    _insertion_sort(grouped, grouped, m)
                else:
                    _radix_sort(grouped, tmp, m)
                for t in range(m):
                    tmp[t].value = cand[grouped[t].value].value
                _gather(boxes, boxes_f32, tmp, m, cbox)
                # The grid, one layout over all the candidates, when a class may need it
                # (laid out later if a class of a few candidates turns out to).
                if m <= _SCAN_MAX or _grid_init(&g, cbox, m) == 0:
                    count = 0
                    start = 0
                    while start < m:
                        stop = start + 1
                        while stop < m and grouped[stop].key == grouped[start].key:
                            stop += 1
                        got = -3
                        if stop - start <= _SCAN_MAX:
                            got = _scan_greedy(cbox + start, stop - start, cols, cap,
                                               iou_threshold, max_output, kept_at)
                        if got == -3:   # a big class, or _scan_greedy gave up: the grid
                            if g.head == NULL and _grid_init(&g, cbox, m) != 0:
                                count = -1
                                break
                            got = _greedy(cbox + start, stop - start, &g, iou_threshold,
                                          max_output, kept_at)
                        if got < 0:
                            count = -1
                            break
                        for q in range(got):
                            is_kept[grouped[start + kept_at[q]].value] = 1
                        start = stop
                    if count == 0:
                        r = 0
                        while r < m and count < max_output:
                            if is_kept[r]:
                                out[count] = cand[r].value
                                count += 1
                            r += 1
    _grid_free(&g)
    free(cand)
    free(tmp)
    free(grouped)
    free(cbox)
    free(kept_at)
    free(is_kept)
    free(cols)
    return count


# ------------------------------------------------------------------------------------
# Soft-NMS.

cdef Py_ssize_t _soft_nms(const double* boxes, const double* scores, Py_ssize_t n,
                          bint gaussian, double sigma, double iou_threshold,
                          double score_threshold, Py_ssize_t max_output,
                          int64_t* out_index, double* out_score) noexcept nogil:
    """Soft-NMS into the outputs (room for ``max_output``); the count, or -1 when out
    of memory."""
    cdef double* current = <double*>malloc(<size_t>n * sizeof(double))
    cdef double* areas = <double*>malloc(<size_t>n * sizeof(double))
    cdef Py_ssize_t* alive = <Py_ssize_t*>malloc(<size_t>n * sizeof(Py_ssize_t))
    cdef Py_ssize_t n_alive = 0, n_selected = 0, best, p, w, i, j
    cdef double overlap, best_score
    cdef const double* a
    cdef const double* bi
    if current == NULL or areas == NULL or alive == NULL:
        free(current)
        free(areas)
        free(alive)
        return -1
    for i in range(n):
        a = boxes + 4 * i
        areas[i] = (a[2] - a[0]) * (a[3] - a[1])
        current[i] = scores[i]
        if current[i] >= score_threshold:  # index order
            alive[n_alive] = i
            n_alive += 1
    # The first selection: strict '>' keeps the lower index on ties.
    best = 0
    for p in range(1, n_alive):
        if current[alive[p]] > current[alive[best]]:
            best = p
    while n_alive > 0 and n_selected < max_output:
        i = alive[best]
        out_index[n_selected] = i
        out_score[n_selected] = current[i]
        n_selected += 1
        bi = boxes + 4 * i
        # Decay the others, keep the survivors in index order, and find the next best
        # among them with the strict '>' scan the reference runs at its next step.
        w = 0
        best = 0
        best_score = 0.0
        for p in range(n_alive):
            j = alive[p]
            if j == i:
                continue
            overlap = _iou(bi, boxes + 4 * j, areas[i], areas[j])
            if gaussian:
                if overlap > 0.0:
                    current[j] *= exp(-(overlap * overlap) / sigma)
            elif overlap > iou_threshold:
                current[j] *= 1.0 - overlap
            if current[j] >= score_threshold:
                if w == 0 or current[j] > best_score:
                    best = w
                    best_score = current[j]
                alive[w] = j
                w += 1
        n_alive = w
    free(current)
    free(areas)
    free(alive)
    return n_selected


# ------------------------------------------------------------------------------------
# The backend boundary (declared in accel._backends).

cdef Py_ssize_t _check(const double[:, ::1] boxes, const double[::1] scores,
                       Py_ssize_t max_output) except -1:
    """Cheap guards for direct callers; returns ``max_output`` clamped to [0, N]."""
    cdef Py_ssize_t n = boxes.shape[0]
    if boxes.shape[1] != 4:
        raise ValueError("boxes must have shape (N, 4)")
    if scores.shape[0] != n:
        raise ValueError("scores must have shape (N,)")
    if max_output < 0:
        return 0
    return max_output if max_output < n else n


cdef bint _floats(object array, Py_buffer* view, int ndim, const char* name) except -1:
    """Acquire the buffer of a C-contiguous float32 or float64 array of ``ndim``
    dimensions ((N, 4) when 2); True when float32. The caller releases ``view``.

    A raw buffer, not a typed memoryview: acquiring one of those (format parsing, a
    memoryview object) cost more than the NMS of 100 boxes spends in C."""
    cdef const char* fmt
    PyObject_GetBuffer(array, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    fmt = view.format
    if (view.ndim != ndim or fmt == NULL or fmt[0] == 0 or fmt[1] != 0
            or not ((fmt[0] == b'f' and view.itemsize == 4)
                    or (fmt[0] == b'd' and view.itemsize == 8))
            or (ndim == 2 and view.shape[1] != 4)):
        PyBuffer_Release(view)
        raise ValueError("%s must be a C-contiguous float32 or float64 array of shape %s"
                         % (name.decode(), "(N, 4)" if ndim == 2 else "(N,)"))
    return fmt[0] == b'f'


cdef int _int64s(object array, Py_buffer* view, Py_ssize_t n) except -1:
    """Acquire the buffer of a C-contiguous int64 (n,) array; the caller releases it."""
    cdef const char* fmt
    PyObject_GetBuffer(array, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    fmt = view.format
    if (view.ndim != 1 or view.itemsize != 8 or fmt == NULL or fmt[0] == 0 or fmt[1] != 0
            or not (fmt[0] == b'l' or fmt[0] == b'q') or view.shape[0] != n):
        PyBuffer_Release(view)
        raise ValueError("classes must be a C-contiguous int64 array of shape (N,)")
    return 0


cdef object _int64_array(const int64_t* data, Py_ssize_t count):
    """A new int64 (count,) ndarray holding ``data[:count]``."""
    cdef Py_buffer view
    result = _empty(count, _INT64)
    if count > 0:
        PyObject_GetBuffer(result, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE)
        memcpy(view.buf, data, <size_t>count * sizeof(int64_t))
        PyBuffer_Release(&view)
    return result


cdef object _kept(Py_ssize_t count, int64_t* out, const char* kernel):
    """The result of a greedy kernel (``count`` of ``_nms``/``_batched_nms``), freeing
    ``out``."""
    if count >= 0:
        try:
            return _int64_array(out, count)
        finally:
            free(out)
    free(out)
    if count == -2:
        return None  # a bad value: the boundary's answer
    raise MemoryError("accel cython backend: out of memory in %s" % kernel.decode())


def nms(boxes, scores, double iou_threshold, double score_threshold,
        Py_ssize_t max_output):
    cdef Py_buffer b, s
    cdef Py_ssize_t n, count = -1
    cdef bint boxes_f32, scores_f32
    cdef int64_t* out = NULL
    boxes_f32 = _floats(boxes, &b, 2, "boxes")
    try:
        scores_f32 = _floats(scores, &s, 1, "scores")
        try:
            n = b.shape[0]
            if s.shape[0] != n:
                raise ValueError("scores must have shape (N,)")
            max_output = 0 if max_output < 0 else (max_output if max_output < n else n)
            out = <int64_t*>malloc(<size_t>(max_output if max_output > 0 else 1)
                                   * sizeof(int64_t))
            if out != NULL:
                with nogil:
                    count = _nms(b.buf, boxes_f32, s.buf, scores_f32, n, iou_threshold,
                                 score_threshold, max_output, out)
        finally:
            PyBuffer_Release(&s)
    finally:
        PyBuffer_Release(&b)
    return _kept(count, out, "nms")


def batched_nms(boxes, scores, classes, double iou_threshold, double score_threshold,
                Py_ssize_t max_output):
    cdef Py_buffer b, s, c
    cdef Py_ssize_t n, count = -1
    cdef bint boxes_f32, scores_f32
    cdef int64_t* out = NULL
    boxes_f32 = _floats(boxes, &b, 2, "boxes")
    try:
        n = b.shape[0]
        scores_f32 = _floats(scores, &s, 1, "scores")
        try:
            if s.shape[0] != n:
                raise ValueError("scores must have shape (N,)")
            _int64s(classes, &c, n)
            try:
                max_output = 0 if max_output < 0 else (max_output if max_output < n else n)
                out = <int64_t*>malloc(<size_t>(max_output if max_output > 0 else 1)
                                       * sizeof(int64_t))
                if out != NULL:
                    with nogil:
                        count = _batched_nms(b.buf, boxes_f32, s.buf, scores_f32,
                                             <const int64_t*>c.buf, n, iou_threshold,
                                             score_threshold, max_output, out)
            finally:
                PyBuffer_Release(&c)
        finally:
            PyBuffer_Release(&s)
    finally:
        PyBuffer_Release(&b)
    return _kept(count, out, "batched_nms")


def soft_nms(const double[:, ::1] boxes not None, const double[::1] scores not None,
             bint gaussian, double sigma, double iou_threshold, double score_threshold,
             Py_ssize_t max_output):
    cdef Py_ssize_t n = boxes.shape[0], count
    max_output = _check(boxes, scores, max_output)
    if max_output == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    indices = np.empty(max_output, dtype=np.int64)
    selected_scores = np.empty(max_output, dtype=np.float64)
    cdef int64_t[::1] out_index = indices
    cdef double[::1] out_score = selected_scores
    with nogil:
        count = _soft_nms(&boxes[0, 0], &scores[0], n, gaussian, sigma, iou_threshold,
                          score_threshold, max_output, &out_index[0], &out_score[0])
    if count < 0:
        raise MemoryError("accel cython backend: out of memory in soft_nms")
    if count == max_output:
        return indices, selected_scores
    return indices[:count].copy(), selected_scores[:count].copy()
