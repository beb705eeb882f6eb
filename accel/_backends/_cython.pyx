# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython backend: the pure-Python reference (``_python.py``), compiled.

Every kernel reproduces the reference decision for decision and bit for bit:

* candidates are visited by decreasing score, equal scores by increasing index (a total
  order, sorted here by a merge sort on (score, index) pairs);
* IoU is computed in float64 with the reference's operations in the reference's order
  (the build uses ``-ffp-contract=off`` so that nothing is fused into an FMA);
* greedy NMS keeps only the kept boxes and finds the ones that can overlap a candidate
  through the same uniform grid as the reference (same ``GRID_MAX``,
  ``MAX_CELLS_PER_BOX`` and cell rules; the grid only prunes pairs with no positive
  overlap, so it changes the speed, never the answer). Each cell is a linked list held
  in preallocated integer buffers: ``head[cell]`` is the newest entry of the cell and
  each entry has a ``next`` entry and the kept box it records;
* soft-NMS is the reference's O(N^2) loop, with the selection of the next box fused
  into the decay pass (same strict ``>`` scan in increasing index order).

All per-element work runs inside ``with nogil:`` so other Python threads keep running.
No numpy headers are needed: arrays come in as typed memoryviews and the outputs are
created with ``np.empty`` and filled from C buffers.
"""
from libc.math cimport exp, INFINITY
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

import numpy as np

cdef enum:
    _GRID_MAX = 64
    _MAX_CELLS_PER_BOX = 16
    _INSERTION_RUN = 32   # merge sort: runs this long are sorted by insertion first

GRID_MAX = _GRID_MAX
MAX_CELLS_PER_BOX = _MAX_CELLS_PER_BOX


ctypedef struct Candidate:
    double score
    Py_ssize_t index


ctypedef struct Kept:        # a kept box, stored compactly for the overlap tests
    double x1
    double y1
    double x2
    double y2
    double area
    int64_t cls


ctypedef struct Entry:       # one (cell, kept box) record of the grid
    Py_ssize_t next          # next entry of the same cell, -1 at the end
    Py_ssize_t kept          # position of the kept box in the Kept buffer


ctypedef struct Grid:
    Py_ssize_t nx
    Py_ssize_t ny
    double fx
    double fy
    double min_x
    double min_y
    Py_ssize_t* head         # nx * ny, newest entry of each cell or -1
    Entry* entries
    Py_ssize_t n_entries
    Py_ssize_t cap_entries
    Py_ssize_t* wide         # kept boxes covering more than MAX_CELLS_PER_BOX cells
    Py_ssize_t n_wide


# ------------------------------------------------------------------------------------
# Sorting: decreasing score, ties by increasing index.

cdef inline bint _before(Candidate a, Candidate b) noexcept nogil:
    return a.score > b.score or (a.score == b.score and a.index < b.index)


cdef void _sort_candidates(Candidate* a, Candidate* tmp, Py_ssize_t n) noexcept nogil:
    """Bottom-up merge sort: insertion-sorted runs, then pairwise merges. O(n log n)."""
    cdef Py_ssize_t start, stop, i, j, width, lo, mid, hi, p, q, k
    cdef Candidate item
    cdef Candidate* src = a
    cdef Candidate* dst = tmp
    cdef Candidate* swap
    start = 0
    while start < n:
        stop = start + _INSERTION_RUN
        if stop > n:
            stop = n
        for i in range(start + 1, stop):
            item = a[i]
            j = i
            while j > start and _before(item, a[j - 1]):
                a[j] = a[j - 1]
                j -= 1
            a[j] = item
        start = stop
    width = _INSERTION_RUN
    while width < n:
        lo = 0
        while lo < n:
            mid = lo + width
            if mid > n:
                mid = n
            hi = mid + width
            if hi > n:
                hi = n
            p = lo
            q = mid
            k = lo
            while p < mid and q < hi:
                if _before(src[q], src[p]):
                    dst[k] = src[q]
                    q += 1
                else:
                    dst[k] = src[p]
                    p += 1
                k += 1
            while p < mid:
                dst[k] = src[p]
                p += 1
                k += 1
            while q < hi:
                dst[k] = src[q]
                q += 1
                k += 1
            lo = hi
        swap = src
        src = dst
        dst = swap
        width *= 2
    if src != a:
        memcpy(a, src, <size_t>n * sizeof(Candidate))


# ------------------------------------------------------------------------------------
# IoU of the module contract. ``_py_min``/``_py_max`` return what Python's min/max of
# two floats return (the first argument unless the second is strictly smaller/larger).

cdef inline double _py_min(double p, double q) noexcept nogil:
    return q if q < p else p


cdef inline double _py_max(double p, double q) noexcept nogil:
    return q if q > p else p


cdef inline bint _overlaps(double ax1, double ay1, double ax2, double ay2, double area_a,
                           double bx1, double by1, double bx2, double by2, double area_b,
                           double iou_threshold) noexcept nogil:
    """True when IoU(a, b) > iou_threshold (reference ``_overlaps``)."""
    cdef double iw, ih, inter, union
    iw = _py_min(ax2, bx2) - _py_max(ax1, bx1)
    if iw <= 0.0:
        return False
    ih = _py_min(ay2, by2) - _py_max(ay1, by1)
    if ih <= 0.0:
        return False
    inter = iw * ih
    union = area_a + area_b - inter
    return union > 0.0 and inter / union > iou_threshold


cdef inline double _iou(const double* a, const double* b, double area_a,
                        double area_b) noexcept nogil:
    """IoU value (reference ``iou``)."""
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
# Grid (reference ``_axis_cells`` and ``_Grid``).

cdef void _axis_cells(double lo, double hi, double total_width, Py_ssize_t count,
                      Py_ssize_t* cells_out, double* factor_out) noexcept nogil:
    cdef double span = hi - lo
    cdef double cells, factor
    cdef Py_ssize_t n_cells
    cells_out[0] = 1
    factor_out[0] = 0.0
    if count == 0 or total_width <= 0.0 or not (span > 0.0) or span == INFINITY:
        return
    cells = span / (2.0 * total_width / <double>count)
    if not (cells >= 2.0):  # also catches NaN/inf from extreme values
        return
    if cells >= <double>_GRID_MAX:
        n_cells = _GRID_MAX
    else:
        n_cells = <Py_ssize_t>cells
    factor = <double>n_cells / span
    if factor == INFINITY:
        return
    cells_out[0] = n_cells
    factor_out[0] = factor


cdef inline Py_ssize_t _cell_range(const Grid* g, double x1, double y1, double x2, double y2,
                                   Py_ssize_t* cx0, Py_ssize_t* cx1,
                                   Py_ssize_t* cy0, Py_ssize_t* cy1) noexcept nogil:
    """Cells covered by a box (reference ``_Grid._cell_range``); returns their count."""
    cdef Py_ssize_t c
    if g.nx == 1:
        cx0[0] = 0
        cx1[0] = 0
    else:
        c = <Py_ssize_t>((x1 - g.min_x) * g.fx)
        cx0[0] = c if c < g.nx - 1 else g.nx - 1
        c = <Py_ssize_t>((x2 - g.min_x) * g.fx)
        cx1[0] = c if c < g.nx - 1 else g.nx - 1
    if g.ny == 1:
        cy0[0] = 0
        cy1[0] = 0
    else:
        c = <Py_ssize_t>((y1 - g.min_y) * g.fy)
        cy0[0] = c if c < g.ny - 1 else g.ny - 1
        c = <Py_ssize_t>((y2 - g.min_y) * g.fy)
        cy1[0] = c if c < g.ny - 1 else g.ny - 1
    return (cx1[0] - cx0[0] + 1) * (cy1[0] - cy0[0] + 1)


cdef int _grid_add(Grid* g, Py_ssize_t kept_pos, Py_ssize_t cx0, Py_ssize_t cx1,
                   Py_ssize_t cy0, Py_ssize_t cy1, Py_ssize_t n_cells) noexcept nogil:
    """Record kept box ``kept_pos`` in its cells (reference ``_Grid.add``); -1 on no memory."""
    cdef Py_ssize_t cx, cy, cell, e, new_cap
    cdef Entry* grown
    if n_cells > _MAX_CELLS_PER_BOX:
        g.wide[g.n_wide] = kept_pos
        g.n_wide += 1
        return 0
    if g.n_entries + n_cells > g.cap_entries:
        new_cap = 2 * g.cap_entries
        if new_cap < g.n_entries + n_cells:
            new_cap = g.n_entries + n_cells
        grown = <Entry*>realloc(g.entries, <size_t>new_cap * sizeof(Entry))
        if grown == NULL:
            return -1
        g.entries = grown
        g.cap_entries = new_cap
    for cy in range(cy0, cy1 + 1):
        for cx in range(cx0, cx1 + 1):
            cell = cy * g.nx + cx
            e = g.n_entries
            g.entries[e].next = g.head[cell]
            g.entries[e].kept = kept_pos
            g.head[cell] = e
            g.n_entries = e + 1
    return 0


# ------------------------------------------------------------------------------------
# Greedy NMS (plain and class-aware).

cdef Py_ssize_t _greedy(const double* boxes, const double* scores, const int64_t* classes,
                        Py_ssize_t n, double iou_threshold, double score_threshold,
                        Py_ssize_t max_output, int64_t* out) noexcept nogil:
    """Greedy NMS into ``out`` (room for ``max_output``); returns the count, -1 on no memory.

    ``classes`` is NULL for plain NMS.
    """
    cdef Candidate* cand = NULL
    cdef Candidate* tmp = NULL
    cdef Kept* kept = NULL
    cdef Grid g
    cdef Py_ssize_t m = 0, i, j, t, cap, n_kept = 0, p, e, cell, n_cells
    cdef Py_ssize_t cx, cy, cx0, cx1, cy0, cy1
    cdef double x1, y1, x2, y2, area, min_x, min_y, max_x, max_y, width, height
    cdef int64_t cls = 0
    cdef bint suppressed, failed = False
    cdef const double* b
    cdef const Kept* k

    g.head = NULL
    g.entries = NULL
    g.wide = NULL
    if n == 0 or max_output <= 0:
        return 0
    cand = <Candidate*>malloc(<size_t>n * sizeof(Candidate))
    if cand == NULL:
        return -1
    for i in range(n):
        if scores[i] > score_threshold:
            cand[m].score = scores[i]
            cand[m].index = i
            m += 1
    if m == 0:
        free(cand)
        return 0
    tmp = <Candidate*>malloc(<size_t>m * sizeof(Candidate))
    if tmp == NULL:
        free(cand)
        return -1
    _sort_candidates(cand, tmp, m)
    free(tmp)

    # Grid over the candidates' extent.
    b = boxes + 4 * cand[0].index
    min_x = b[0]
    min_y = b[1]
    max_x = b[2]
    max_y = b[3]
    width = 0.0
    height = 0.0
    for t in range(m):
        b = boxes + 4 * cand[t].index
        if b[0] < min_x:
            min_x = b[0]
        if b[1] < min_y:
            min_y = b[1]
        if b[2] > max_x:
            max_x = b[2]
        if b[3] > max_y:
            max_y = b[3]
        width += b[2] - b[0]
        height += b[3] - b[1]
    g.min_x = min_x
    g.min_y = min_y
    _axis_cells(min_x, max_x, width, m, &g.nx, &g.fx)
    _axis_cells(min_y, max_y, height, m, &g.ny, &g.fy)

    cap = max_output if max_output < m else m
    kept = <Kept*>malloc(<size_t>cap * sizeof(Kept))
    g.wide = <Py_ssize_t*>malloc(<size_t>cap * sizeof(Py_ssize_t))
    g.head = <Py_ssize_t*>malloc(<size_t>(g.nx * g.ny) * sizeof(Py_ssize_t))
    g.n_wide = 0
    g.n_entries = 0
    g.cap_entries = 4 * cap + 64
    g.entries = <Entry*>malloc(<size_t>g.cap_entries * sizeof(Entry))
    if kept == NULL or g.wide == NULL or g.head == NULL or g.entries == NULL:
        failed = True
    else:
        for cell in range(g.nx * g.ny):
            g.head[cell] = -1
        for t in range(m):
            i = cand[t].index
            b = boxes + 4 * i
            x1 = b[0]
            y1 = b[1]
            x2 = b[2]
            y2 = b[3]
            area = (x2 - x1) * (y2 - y1)
            if classes != NULL:
                cls = classes[i]
            suppressed = False
            n_cells = _cell_range(&g, x1, y1, x2, y2, &cx0, &cx1, &cy0, &cy1)
            if n_cells > _MAX_CELLS_PER_BOX:
                # A huge candidate: test every kept box.
                for p in range(n_kept):
                    k = &kept[p]
                    if classes != NULL and k.cls != cls:
                        continue
                    if _overlaps(k.x1, k.y1, k.x2, k.y2, k.area,
                                 x1, y1, x2, y2, area, iou_threshold):
                        suppressed = True
                        break
            else:
                for j in range(g.n_wide):
                    k = &kept[g.wide[j]]
                    if classes != NULL and k.cls != cls:
                        continue
                    if _overlaps(k.x1, k.y1, k.x2, k.y2, k.area,
                                 x1, y1, x2, y2, area, iou_threshold):
                        suppressed = True
                        break
                cy = cy0
                while not suppressed and cy <= cy1:
                    cx = cx0
                    while not suppressed and cx <= cx1:
                        e = g.head[cy * g.nx + cx]
                        while e >= 0:
                            k = &kept[g.entries[e].kept]
                            e = g.entries[e].next
                            if classes != NULL and k.cls != cls:
                                continue
                            if _overlaps(k.x1, k.y1, k.x2, k.y2, k.area,
                                         x1, y1, x2, y2, area, iou_threshold):
                                suppressed = True
                                break
                        cx += 1
                    cy += 1
            if suppressed:
                continue
            out[n_kept] = i
            kept[n_kept].x1 = x1
            kept[n_kept].y1 = y1
            kept[n_kept].x2 = x2
            kept[n_kept].y2 = y2
            kept[n_kept].area = area
            kept[n_kept].cls = cls
            n_kept += 1
            if n_kept == max_output:
                break
            if _grid_add(&g, n_kept - 1, cx0, cx1, cy0, cy1, n_cells) != 0:
                failed = True
                break
    free(cand)
    free(kept)
    free(g.wide)
    free(g.head)
    free(g.entries)
    if failed:
        return -1
    return n_kept


cdef object _run_greedy(const double[:, ::1] boxes, const double[::1] scores,
                        const int64_t[::1] classes, double iou_threshold,
                        double score_threshold, Py_ssize_t max_output):
    cdef Py_ssize_t n = boxes.shape[0]
    cdef Py_ssize_t count
    cdef const int64_t* class_ptr = NULL
    if boxes.shape[1] != 4 or scores.shape[0] != n:
        raise ValueError("boxes must be (N, 4) and scores (N,)")
    if classes is not None:
        if classes.shape[0] != n:
            raise ValueError("classes must be (N,)")
    if max_output > n:
        max_output = n
    if n == 0 or max_output <= 0:
        return np.empty(0, dtype=np.int64)
    if classes is not None:
        class_ptr = &classes[0]
    result = np.empty(max_output, dtype=np.int64)
    cdef int64_t[::1] out = result
    with nogil:
        count = _greedy(&boxes[0, 0], &scores[0], class_ptr, n, iou_threshold,
                        score_threshold, max_output, &out[0])
    if count < 0:
        raise MemoryError("accel cython backend: out of memory in nms")
    if count == max_output:
        return result
    return result[:count].copy()


def nms(const double[:, ::1] boxes, const double[::1] scores, double iou_threshold,
        double score_threshold, Py_ssize_t max_output):
    return _run_greedy(boxes, scores, None, iou_threshold, score_threshold, max_output)


def batched_nms(const double[:, ::1] boxes, const double[::1] scores,
                const int64_t[::1] classes not None, double iou_threshold,
                double score_threshold, Py_ssize_t max_output):
    return _run_greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output)


# ------------------------------------------------------------------------------------
# Soft-NMS.

cdef Py_ssize_t _soft(const double* boxes, const double* scores, Py_ssize_t n, bint gaussian,
                      double sigma, double iou_threshold, double score_threshold,
                      Py_ssize_t max_output, int64_t* out_index,
                      double* out_score) noexcept nogil:
    """Soft-NMS into the outputs (room for ``max_output``); returns the count, -1 on no memory."""
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
        # among them with the same strict '>' scan the reference runs afterwards.
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


def soft_nms(const double[:, ::1] boxes, const double[::1] scores, bint gaussian,
             double sigma, double iou_threshold, double score_threshold,
             Py_ssize_t max_output):
    cdef Py_ssize_t n = boxes.shape[0]
    cdef Py_ssize_t count
    if boxes.shape[1] != 4 or scores.shape[0] != n:
        raise ValueError("boxes must be (N, 4) and scores (N,)")
    if max_output > n:
        max_output = n
    if n == 0 or max_output <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    indices = np.empty(max_output, dtype=np.int64)
    selected_scores = np.empty(max_output, dtype=np.float64)
    cdef int64_t[::1] out_index = indices
    cdef double[::1] out_score = selected_scores
    with nogil:
        count = _soft(&boxes[0, 0], &scores[0], n, gaussian, sigma, iou_threshold,
                      score_threshold, max_output, &out_index[0], &out_score[0])
    if count < 0:
        raise MemoryError("accel cython backend: out of memory in soft_nms")
    if count == max_output:
        return indices, selected_scores
    return indices[:count].copy(), selected_scores[:count].copy()
