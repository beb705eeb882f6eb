# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython rotated NMS: ``nms_rotated``, ``batched_nms_rotated`` and ``fast_nms_rotated``
(contracts in ``accel._rotated``; boundary, with the exact arithmetic and the fast-NMS
bounds, in ``accel._backends``).

Same decisions and same arithmetic as the pure-Python reference
(``accel._backends.python.rotated``), bit for bit for the polygon IoU (the build uses
``-ffp-contract=off``, so nothing is fused into an FMA); probiou calls libm's ``log``,
``exp`` and ``sqrt``, as Python's ``math`` does.

* Candidates are visited by decreasing score, equal scores by increasing index: the
  stable LSD radix sort of ``nms.pyx`` (an insertion sort below 32) on the same
  order-preserving integer key.
* Each candidate is gathered once, in visiting order, into a record with its corners,
  its edge vectors (``ex, ey = q[next] - q[edge]``, what the reference computes per
  pair), its circle and its area; the polygon IoU of a pair reads two records.
* Polygon IoU (``_polygon_suppresses``): the reference's circle test, then the kept
  box's quadrilateral clipped by the candidate's four edges (Sutherland-Hodgman) in
  fixed-size arrays, with the reference's side, crossing and shoelace expressions in
  the reference's order. An edge with every current vertex inside (``side >= 0``)
  leaves the vertex list as it is, so it is skipped; when the kept box lies inside all
  four edges the intersection is its own shoelace area, computed once per box (the
  reference computes the same sum over the same four vertices). A clip of a convex
  quadrilateral has at most 8 vertices, but rounding could in principle make
  Sutherland-Hodgman emit up to twice its input per edge: the buffers hold 64.
* Greedy polygon NMS finds the kept boxes a candidate may overlap through a uniform
  grid laid over the candidates' circle bounding squares (``centre +- pad``, ``pad``
  the radius widened by 1e-9 relative, 1e-12 of the centre's magnitude and 1e-140, so
  that every pair passing the reference's floating-point circle test has overlapping
  squares, hence a cell in common). A kept box is listed in every cell its square
  touches; a candidate tests the kept boxes listed in its cells, each once (a stamp
  per box), circle test first. Pairs that share no cell fail the circle test: their
  IoU is 0, which suppresses nothing (thresholds are >= 0). A box whose square covers
  more than ``_MAX_CELLS_PER_BOX`` cells, or whose centre or radius exceeds 1e150 in
  magnitude (where the circle test's squares may overflow), is "wide": as a kept box it
  goes to a list every candidate tests, as a candidate it tests every kept box.
* probiou: a plain loop over the kept boxes.
* The batched form runs the greedy loop one class at a time (candidates grouped by
  class, stably, so within a class in the global order) on one grid layout, emptied
  between classes; the kept boxes of all classes are read back in the global order
  and cut to ``max_output`` (a class stops once it alone has ``max_output`` kept
  boxes). A box can only be suppressed by a kept box of its own class, so every box
  gets the reference's decision.

* Fast NMS (``_fast``): every candidate against the earlier candidates, kept or not,
  that the bounds cannot rule out. A regular box's square ``cx +- rho`` (widened by
  1e-9 relative) lists it, before the loop, in the cells it covers of an unbounded grid
  (cells twice the mean square) hashed into buckets, each bucket's list in visiting
  order (class offsets put each class 7680 px further along the diagonal: a grid over
  the extent would lump them into a few cells); irregular boxes and squares over
  ``_MAX_CELLS_PER_BOX`` cells go to a list every candidate reads. A pair read gets the
  reference's ``t1 + t2``, the log, exp and sqrt only when that plus the pair's ``t3``
  bound is below the distance cut.

All per-box work runs inside ``with nogil:``; scratch memory is ``malloc``-ed per call
(``MemoryError`` when that fails) and freed before returning. Inputs are read through
raw buffers: ``geometry`` C-contiguous float64 (N, 12) or (N, 6), ``scores`` float32 or
float64 (N,), ``classes`` int64 (N,).
"""
from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_WRITABLE,
                             PyBuffer_Release, PyObject_GetBuffer)
from libc.math cimport HUGE_VAL, exp, fabs, log, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np


_empty = np.empty
_INT64 = np.dtype(np.int64)

cdef enum:
    _POLYGON = 0
    _PROBIOU = 1
    _POLYGON_COLUMNS = 12
    _PROBIOU_COLUMNS = 6
    _GRID_MAX = 256
    _MAX_CELLS_PER_BOX = 16
    _CHUNK = 8            # kept boxes per node of a cell's (unrolled) linked list
    _SMALL_SORT = 32      # below this many candidates, an insertion sort
    _MAX_VERTS = 64       # 4 * 2**4: Sutherland-Hodgman emits at most 2 per vertex

cdef double _EPS = 1e-7   # ultralytics' probiou epsilon (the reference's EPS)
cdef double _SANE = 1e150 # beyond this, a box is "wide" (see the module docstring)
cdef double _REGULAR_D = 1e-5     # fast NMS: the bounds of a regular box (accel._backends)
cdef double _CONDITION = 1e8
cdef double _HASH_SPAN = 1073741824.0  # cells per axis: cell * multiplier below 2^63

GRID_MAX = _GRID_MAX
MAX_CELLS_PER_BOX = _MAX_CELLS_PER_BOX


ctypedef struct Keyed:          # an element of a radix sort
    uint64_t key
    Py_ssize_t value


ctypedef struct RBox:           # a polygon candidate, in visiting order
    double x[4]                 # corners, counter-clockwise
    double y[4]
    double ex[4]                # edge vectors: corner[next] - corner[edge]
    double ey[4]
    double cx                   # circle
    double cy
    double r
    double area                 # geometry column 11 (w * h)
    double own                  # shoelace area of the four corners
    Py_ssize_t cx0              # cells covered by the circle's bounding square
    Py_ssize_t cx1
    Py_ssize_t cy0
    Py_ssize_t cy1
    bint wide                   # tests every kept box / is tested by every candidate


ctypedef struct PBox:           # a probiou candidate, in visiting order
    double cx
    double cy
    double a
    double b
    double c
    double d


ctypedef struct Node:           # a node of a cell's list: up to _CHUNK kept boxes
    double cx[_CHUNK]
    double cy[_CHUNK]
    double r[_CHUNK]
    Py_ssize_t at[_CHUNK]       # position of the kept box (visiting order)
    Py_ssize_t count            # slots used
    Py_ssize_t next             # next node of the same list, or -1


ctypedef struct Grid:
    Py_ssize_t nx
    Py_ssize_t ny
    double fx
    double fy
    double min_x
    double min_y
    Py_ssize_t wide_list        # = nx * ny: the list of wide kept boxes
    Py_ssize_t* head            # nx * ny + 1 lists: first node, or -1 when empty
    Py_ssize_t* tail            # last node (valid when head >= 0)
    Py_ssize_t* touched         # the lists made non-empty since the last reset
    Py_ssize_t n_touched
    Node* nodes
    Py_ssize_t n_nodes
    Py_ssize_t cap_nodes


# ------------------------------------------------------------------------------------
# Sorting (as nms.pyx).

cdef inline uint64_t _descending_key(double score) noexcept nogil:
    """Unsigned key whose increasing order is the decreasing order of ``score`` (never
    NaN); -0.0 and 0.0 get the same key, as they are equal scores."""
    cdef uint64_t bits = 0
    if score != 0.0:
        memcpy(&bits, &score, sizeof(double))
    if bits >> 63:
        bits = ~bits
    else:
        bits = bits | (<uint64_t>1 << 63)
    return ~bits


cdef inline uint64_t _class_key(int64_t cls) noexcept nogil:
    return (<uint64_t>cls) ^ (<uint64_t>1 << 63)


cdef void _radix_sort(Keyed* a, Keyed* tmp, Py_ssize_t n) noexcept nogil:
    """Stable sort of ``a`` by increasing key: LSD radix, one pass per byte in which the
    keys differ. ``tmp`` has room for ``n``."""
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
            continue
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


cdef void _sort(Keyed* a, Keyed* tmp, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef Keyed item
    if n >= _SMALL_SORT:
        _radix_sort(a, tmp, n)
        return
    for i in range(1, n):
        item = a[i]
        j = i
        while j > 0 and a[j - 1].key > item.key:
            a[j] = a[j - 1]
            j -= 1
        a[j] = item


cdef inline double _at(const void* data, bint f32, Py_ssize_t i) noexcept nogil:
    if f32:
        return (<const float*>data)[i]
    return (<const double*>data)[i]


cdef Py_ssize_t _scan(const void* scores, bint scores_f32, Py_ssize_t n,
                      double score_threshold, Keyed* cand) noexcept nogil:
    """The candidates, ``score > score_threshold`` in index order, into ``cand``; their
    count."""
    cdef Py_ssize_t i, m = 0
    cdef double s
    for i in range(n):
        s = _at(scores, scores_f32, i)
        if s > score_threshold:
            cand[m].key = _descending_key(s)
            cand[m].value = i
            m += 1
    return m


# ------------------------------------------------------------------------------------
# Polygon IoU (reference ``polygon_iou``, ``clip_polygon``, ``polygon_area``).

cdef inline double _shoelace(const double* px, const double* py,
                             Py_ssize_t count) noexcept nogil:
    """Reference ``polygon_area``."""
    cdef Py_ssize_t i, j
    cdef double total = 0.0
    if count < 3:
        return 0.0
    for i in range(count):
        j = i + 1 if i + 1 < count else 0
        total += px[i] * py[j] - px[j] * py[i]
    return 0.5 * total


cdef double _intersection(const RBox* p, const RBox* q) noexcept nogil:
    """Reference ``polygon_area(*clip_polygon(p, q))``: box ``p`` cut by the four edges
    of box ``q``."""
    cdef double bx0[_MAX_VERTS]
    cdef double by0[_MAX_VERTS]
    cdef double bx1[_MAX_VERTS]
    cdef double by1[_MAX_VERTS]
    cdef double side[_MAX_VERTS]
    cdef double first[16]
    cdef double* xs = bx0
    cdef double* ys = by0
    cdef double* ox = bx1
    cdef double* oy = by1
    cdef double* swap
    cdef double ax, ay, ex, ey, sx, sy, ss, cx, cy, cs, t
    cdef Py_ssize_t e, v, n, m
    cdef bint inside = True
    # Sides of p's own corners against every edge of q: the first clip's sides, and the
    # common case of p inside q (every clip then leaves p's corners as they are).
    for e in range(4):
        ax = q.x[e]
        ay = q.y[e]
        ex = q.ex[e]
        ey = q.ey[e]
        for v in range(4):
            cs = ex * (p.y[v] - ay) - ey * (p.x[v] - ax)
            first[4 * e + v] = cs
            inside = inside & (cs >= 0.0)
    if inside:
        return p.own
    for v in range(4):
        xs[v] = p.x[v]
        ys[v] = p.y[v]
    n = 4
    for e in range(4):
        if n == 0:
            break
        ax = q.x[e]
        ay = q.y[e]
        ex = q.ex[e]
        ey = q.ey[e]
        inside = True
        if e == 0:
            for v in range(4):
                side[v] = first[v]
                inside = inside & (side[v] >= 0.0)
        else:
            for v in range(n):
                side[v] = ex * (ys[v] - ay) - ey * (xs[v] - ax)
                inside = inside & (side[v] >= 0.0)
        if inside:
            continue  # the reference would copy the same vertices in the same order
        m = 0
        sx = xs[n - 1]
        sy = ys[n - 1]
        ss = side[n - 1]
        for v in range(n):
            cx = xs[v]
            cy = ys[v]
            cs = side[v]
            if cs >= 0.0:
                if ss < 0.0:
                    t = ss / (ss - cs)
                    ox[m] = sx + t * (cx - sx)
                    oy[m] = sy + t * (cy - sy)
                    m += 1
                ox[m] = cx
                oy[m] = cy
                m += 1
            elif ss >= 0.0:
                t = ss / (ss - cs)
                ox[m] = sx + t * (cx - sx)
                oy[m] = sy + t * (cy - sy)
                m += 1
            sx = cx
            sy = cy
            ss = cs
        swap = xs
        xs = ox
        ox = swap
        swap = ys
        ys = oy
        oy = swap
        n = m
    return _shoelace(xs, ys, n)


cdef inline bint _polygon_suppresses(const RBox* k, const RBox* i,
                                     double iou_threshold) noexcept nogil:
    """Reference ``polygon_iou(g, k, i) > iou_threshold`` (k kept, i the candidate)."""
    cdef double dx = k.cx - i.cx
    cdef double dy = k.cy - i.cy
    cdef double reach = k.r + i.r
    cdef double inter, union
    if dx * dx + dy * dy > reach * reach:
        return 0.0 > iou_threshold
    inter = _intersection(k, i)
    if inter < 0.0:
        inter = 0.0
    union = k.area + i.area - inter
    if union > 0.0:
        return inter / union > iou_threshold
    return 0.0 > iou_threshold


# ------------------------------------------------------------------------------------
# probiou (reference ``probiou``).

cdef inline bint _probiou_suppresses(const PBox* p, const PBox* q,
                                     double iou_threshold) noexcept nogil:
    """Reference ``probiou(g, k, i) > iou_threshold`` (p = k kept, q = i candidate)."""
    cdef double x1 = p.cx, y1 = p.cy, x2 = q.cx, y2 = q.cy
    cdef double a = p.a + q.a
    cdef double b = p.b + q.b
    cdef double c = p.c + q.c
    cdef double spread = a * b - c * c
    cdef double denominator, dy, dx, t1, t2, t3, distance
    if spread < 0.0:
        spread = 0.0
    denominator = spread + _EPS
    dy = y1 - y2
    dx = x1 - x2
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    t3 = log(spread / (4.0 * sqrt(p.d * q.d) + _EPS) + _EPS) * 0.5
    distance = t1 + t2 + t3
    if distance < _EPS:
        distance = _EPS
    elif distance > 100.0:
        distance = 100.0
    return 1.0 - sqrt(1.0 - exp(-distance) + _EPS) > iou_threshold


# ------------------------------------------------------------------------------------
# Grid over the circles' bounding squares.

cdef inline double _pad(double cx, double cy, double r) noexcept nogil:
    """Half side of a box's square: covers the reference circle test's rounding."""
    return r * (1.0 + 1e-9) + (fabs(cx) + fabs(cy)) * 1e-12 + 1e-140


cdef inline bint _sane(double cx, double cy, double r) noexcept nogil:
    return fabs(cx) <= _SANE and fabs(cy) <= _SANE and r <= _SANE  # r NaN: not sane


cdef void _axis_cells(double lo, double hi, double total_width, Py_ssize_t count,
                      Py_ssize_t* cells_out, double* factor_out) noexcept nogil:
    """Cells along one axis: about the mean square side each, at most ``_GRID_MAX``."""
    cdef double span = hi - lo
    cdef double cells, factor
    cdef Py_ssize_t n_cells
    cells_out[0] = 1
    factor_out[0] = 0.0
    if count == 0 or not (total_width > 0.0) or not (span > 0.0):
        return
    cells = span / (total_width / <double>count)
    if not (cells >= 2.0):
        return
    if cells >= <double>_GRID_MAX:
        n_cells = _GRID_MAX
    else:
        n_cells = <Py_ssize_t>cells
    factor = <double>n_cells / span
    if not (factor < 1e300):
        return
    cells_out[0] = n_cells
    factor_out[0] = factor


cdef inline Py_ssize_t _cell(double offset, double factor, Py_ssize_t cells) noexcept nogil:
    """``min(cells - 1, int(offset * factor))``: monotonic in ``offset >= 0``."""
    cdef Py_ssize_t c
    if cells == 1:
        return 0
    c = <Py_ssize_t>(offset * factor)
    return c if c < cells - 1 else cells - 1


cdef int _grid_init(Grid* g, RBox* boxes, Py_ssize_t m, bint use_grid) noexcept nogil:
    """Lay the grid over the squares of the sane boxes among ``boxes[:m]``, and record
    each box's cells (or that it is wide: every box when not ``use_grid``). -1 when out
    of memory."""
    cdef Py_ssize_t t, n_lists, count = 0
    cdef double min_x = 0.0, min_y = 0.0, max_x = 0.0, max_y = 0.0
    cdef double width = 0.0, pad, lo_x, hi_x, lo_y, hi_y
    cdef RBox* b
    for t in range(m):
        b = &boxes[t]
        b.wide = not (use_grid and _sane(b.cx, b.cy, b.r))
        if b.wide:
            continue
        pad = _pad(b.cx, b.cy, b.r)
        lo_x = b.cx - pad
        hi_x = b.cx + pad
        lo_y = b.cy - pad
        hi_y = b.cy + pad
        if count == 0 or lo_x < min_x:
            min_x = lo_x
        if count == 0 or lo_y < min_y:
            min_y = lo_y
        if count == 0 or hi_x > max_x:
            max_x = hi_x
        if count == 0 or hi_y > max_y:
            max_y = hi_y
        width += pad + pad
        count += 1
    g.min_x = min_x
    g.min_y = min_y
    _axis_cells(min_x, max_x, width, count, &g.nx, &g.fx)
    _axis_cells(min_y, max_y, width, count, &g.ny, &g.fy)
    for t in range(m):
        b = &boxes[t]
        if b.wide:
            continue
        pad = _pad(b.cx, b.cy, b.r)
        b.cx0 = _cell((b.cx - pad) - min_x, g.fx, g.nx)
        b.cx1 = _cell((b.cx + pad) - min_x, g.fx, g.nx)
        b.cy0 = _cell((b.cy - pad) - min_y, g.fy, g.ny)
        b.cy1 = _cell((b.cy + pad) - min_y, g.fy, g.ny)
        if (b.cx1 - b.cx0 + 1) * (b.cy1 - b.cy0 + 1) > _MAX_CELLS_PER_BOX:
            b.wide = True
    g.wide_list = g.nx * g.ny
    n_lists = g.wide_list + 1
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
    cdef Py_ssize_t t
    for t in range(g.n_touched):
        g.head[g.touched[t]] = -1
    g.n_touched = 0
    g.n_nodes = 0


cdef int _list_append(Grid* g, Py_ssize_t list_id, const RBox* box,
                      Py_ssize_t at) noexcept nogil:
    """Append kept box ``at`` to one list; -1 when out of memory."""
    cdef Py_ssize_t e, k, new_cap
    cdef Node* grown
    cdef Node* node
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
    node = &g.nodes[e]
    k = node.count
    node.cx[k] = box.cx
    node.cy[k] = box.cy
    node.r[k] = box.r
    node.at[k] = at
    node.count = k + 1
    return 0


cdef int _grid_add(Grid* g, const RBox* box, Py_ssize_t at) noexcept nogil:
    """Record kept box ``at`` in its cells, or in the wide list; -1 when out of memory."""
    cdef Py_ssize_t cx, cy
    if box.wide:
        return _list_append(g, g.wide_list, box, at)
    for cy in range(box.cy0, box.cy1 + 1):
        for cx in range(box.cx0, box.cx1 + 1):
            if _list_append(g, cy * g.nx + cx, box, at) != 0:
                return -1
    return 0


cdef inline bint _list_suppresses(const Node* nodes, Py_ssize_t e, const RBox* boxes,
                                  const RBox* b, Py_ssize_t t, Py_ssize_t* stamp,
                                  double iou_threshold) noexcept nogil:
    """Whether a kept box of the list starting at node ``e`` suppresses candidate ``b``
    (position ``t``); each kept box is tested once per candidate (``stamp``), circle
    test first (the reference's expression: a pair failing it has IoU 0)."""
    cdef Py_ssize_t k, at
    cdef double dx, dy, reach
    cdef double bx = b.cx, by = b.cy, br = b.r
    cdef const Node* node
    while e >= 0:
        node = &nodes[e]
        for k in range(node.count):
            dx = node.cx[k] - bx
            dy = node.cy[k] - by
            reach = node.r[k] + br
            if dx * dx + dy * dy > reach * reach:
                continue
            at = node.at[k]
            if stamp[at] == t:
                continue
            stamp[at] = t
            if _polygon_suppresses(&boxes[at], b, iou_threshold):
                return True
        e = node.next
    return False


# ------------------------------------------------------------------------------------
# Greedy NMS over the positions [start, stop) of the visiting order.

cdef Py_ssize_t _greedy_polygon(RBox* boxes, Py_ssize_t start, Py_ssize_t stop, Grid* g,
                                Py_ssize_t* stamp, double iou_threshold, Py_ssize_t limit,
                                Py_ssize_t* kept_at) noexcept nogil:
    """Greedy polygon NMS of the positions [start, stop) on an empty grid: the positions
    of the kept boxes into ``kept_at`` (room for ``limit``), their count (at most
    ``limit``), or -1 when out of memory. Leaves the grid empty."""
    cdef Py_ssize_t t, p, n_kept = 0, cx, cy, row
    cdef bint suppressed
    cdef int status = 0
    cdef const RBox* b
    if limit <= 0:
        return 0
    for t in range(start, stop):
        b = &boxes[t]
        if b.wide:
            suppressed = False
            for p in range(n_kept):
                if _polygon_suppresses(&boxes[kept_at[p]], b, iou_threshold):
                    suppressed = True
                    break
        else:
            suppressed = _list_suppresses(g.nodes, g.head[g.wide_list], boxes, b, t,
                                          stamp, iou_threshold)
            cy = b.cy0
            while not suppressed and cy <= b.cy1:
                row = cy * g.nx
                cx = b.cx0
                while not suppressed and cx <= b.cx1:
                    suppressed = _list_suppresses(g.nodes, g.head[row + cx], boxes, b,
                                                  t, stamp, iou_threshold)
                    cx += 1
                cy += 1
        if suppressed:
            continue
        kept_at[n_kept] = t
        n_kept += 1
        if n_kept == limit:
            break
        if _grid_add(g, b, t) != 0:
            status = -1
            break
    _grid_clear(g)
    if status != 0:
        return -1
    return n_kept


cdef Py_ssize_t _greedy_probiou(const PBox* boxes, Py_ssize_t start, Py_ssize_t stop,
                                double iou_threshold, Py_ssize_t limit,
                                Py_ssize_t* kept_at) noexcept nogil:
    """Greedy probiou NMS: the positions of the kept boxes into ``kept_at``; their
    count (at most ``limit``)."""
    cdef Py_ssize_t t, p, n_kept = 0
    cdef bint suppressed
    cdef const PBox* b
    if limit <= 0:
        return 0
    for t in range(start, stop):
        b = &boxes[t]
        suppressed = False
        for p in range(n_kept):
            if _probiou_suppresses(&boxes[kept_at[p]], b, iou_threshold):
                suppressed = True
                break
        if suppressed:
            continue
        kept_at[n_kept] = t
        n_kept += 1
        if n_kept == limit:
            break
    return n_kept


cdef void _gather_polygon(const double* geometry, const Keyed* order, Py_ssize_t m,
                          RBox* boxes) noexcept nogil:
    """The records of the boxes ``order[t].value``, in visiting order."""
    cdef Py_ssize_t t, e, nxt
    cdef const double* row
    cdef RBox* b
    for t in range(m):
        row = geometry + _POLYGON_COLUMNS * order[t].value
        b = &boxes[t]
        for e in range(4):
            b.x[e] = row[2 * e]
            b.y[e] = row[2 * e + 1]
        for e in range(4):
            nxt = e + 1 if e < 3 else 0
            b.ex[e] = b.x[nxt] - b.x[e]
            b.ey[e] = b.y[nxt] - b.y[e]
        b.cx = row[8]
        b.cy = row[9]
        b.r = row[10]
        b.area = row[11]
        b.own = _shoelace(b.x, b.y, 4)


cdef void _gather_probiou(const double* geometry, const Keyed* order, Py_ssize_t m,
                          PBox* boxes) noexcept nogil:
    cdef Py_ssize_t t
    cdef const double* row
    for t in range(m):
        row = geometry + _PROBIOU_COLUMNS * order[t].value
        boxes[t].cx = row[0]
        boxes[t].cy = row[1]
        boxes[t].a = row[2]
        boxes[t].b = row[3]
        boxes[t].c = row[4]
        boxes[t].d = row[5]


cdef Py_ssize_t _rotated(const double* geometry, const void* scores, bint scores_f32,
                         const int64_t* classes, Py_ssize_t n, int kind,
                         double iou_threshold, double score_threshold,
                         Py_ssize_t max_output, int64_t* out) noexcept nogil:
    """Rotated NMS into ``out`` (room for ``max_output <= n``), class-aware when
    ``classes`` is not NULL; the count, or -1 when out of memory."""
    cdef Keyed* cand = <Keyed*>malloc(<size_t>(n if n > 0 else 1) * sizeof(Keyed))
    cdef Keyed* tmp = NULL
    cdef Keyed* grouped = NULL
    cdef Keyed* order
    cdef RBox* rboxes = NULL
    cdef PBox* pboxes = NULL
    cdef Py_ssize_t* stamp = NULL
    cdef Py_ssize_t* kept_at = NULL
    cdef char* is_kept = NULL
    cdef Grid g
    cdef Py_ssize_t m, r, t, q, start, stop, got, count = -1
    cdef bint ok
    _grid_zero(&g)
    if cand == NULL:
        return -1
    m = _scan(scores, scores_f32, n, score_threshold, cand)
    if m == 0 or max_output <= 0:
        free(cand)
        return 0
    tmp = <Keyed*>malloc(<size_t>m * sizeof(Keyed))
    kept_at = <Py_ssize_t*>malloc(<size_t>m * sizeof(Py_ssize_t))
    ok = tmp != NULL and kept_at != NULL
    if classes != NULL:
        grouped = <Keyed*>malloc(<size_t>m * sizeof(Keyed))
        is_kept = <char*>malloc(<size_t>m)
        ok = ok and grouped != NULL and is_kept != NULL
    if kind == _POLYGON:
        rboxes = <RBox*>malloc(<size_t>m * sizeof(RBox))
        stamp = <Py_ssize_t*>malloc(<size_t>m * sizeof(Py_ssize_t))
        ok = ok and rboxes != NULL and stamp != NULL
    else:
        pboxes = <PBox*>malloc(<size_t>m * sizeof(PBox))
        ok = ok and pboxes != NULL
    if ok:
        _sort(cand, tmp, m)   # stable, from index order: ties stay by index
        order = cand
        if classes != NULL:
            # Group by class, stably: within a class, candidates stay in the global
            # order. grouped[t].value is the rank (global position) of the t-th.
            for r in range(m):
                grouped[r].key = _class_key(classes[cand[r].value])
                grouped[r].value = r
                is_kept[r] = 0
            _sort(grouped, tmp, m)
            for t in range(m):
                tmp[t].value = cand[grouped[t].value].value
            order = tmp
        if kind == _POLYGON:
            _gather_polygon(geometry, order, m, rboxes)
            for t in range(m):
                stamp[t] = -1
            # The grid skips pairs of IoU 0, which cannot suppress unless the threshold
            # is below 0 (or NaN): then (direct callers only) every pair is tested.
            ok = _grid_init(&g, rboxes, m, iou_threshold >= 0.0) == 0
        else:
            _gather_probiou(geometry, order, m, pboxes)
    if ok:
        count = 0
        start = 0
        while start < m:
            stop = m
            if classes != NULL:
                stop = start + 1
                while stop < m and grouped[stop].key == grouped[start].key:
                    stop += 1
            if kind == _POLYGON:
                got = _greedy_polygon(rboxes, start, stop, &g, stamp, iou_threshold,
                                      max_output, kept_at)
            else:
                got = _greedy_probiou(pboxes, start, stop, iou_threshold, max_output,
                                      kept_at)
            if got < 0:
                count = -1
                break
            if classes == NULL:
                for q in range(got):
                    out[q] = cand[kept_at[q]].value
                count = got
            else:
                for q in range(got):
                    is_kept[grouped[kept_at[q]].value] = 1
            start = stop
        if classes != NULL and count == 0:
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
    free(rboxes)
    free(pboxes)
    free(stamp)
    free(kept_at)
    free(is_kept)
    return count


# ------------------------------------------------------------------------------------
# Fast NMS (the bounds are in accel._backends).

ctypedef struct FastBox:
    double lo_x
    double hi_x
    double lo_y
    double hi_y
    int64_t x0
    int64_t x1
    int64_t y0
    int64_t y1
    bint regular
    bint wide


cdef inline bint _fast_overlaps(const PBox* p, const PBox* q, double iou_threshold,
                                double cut, double t3_floor) noexcept nogil:
    """The reference's ``probiou(k, i) > iou_threshold`` (``p`` earlier), without the
    log, exp and sqrt when ``t1 + t2 + t3_floor >= cut`` proves it false."""
    cdef double a = p.a + q.a
    cdef double b = p.b + q.b
    cdef double c = p.c + q.c
    cdef double spread = a * b - c * c
    cdef double denominator, dy, dx, t1, t2, t12, t3, distance
    if spread < 0.0:
        spread = 0.0
    denominator = spread + _EPS
    dy = p.cy - q.cy
    dx = p.cx - q.cx
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25
    t2 = (c * (q.cx - p.cx) * (p.cy - q.cy)) / denominator * 0.5
    t12 = t1 + t2
    if t12 + t3_floor >= cut:
        return False
    t3 = log(spread / (4.0 * sqrt(p.d * q.d) + _EPS) + _EPS) * 0.5
    distance = t12 + t3
    if distance < _EPS:
        distance = _EPS
    elif distance > 100.0:
        distance = 100.0
    return 1.0 - sqrt(1.0 - exp(-distance) + _EPS) > iou_threshold


cdef inline int64_t _hash_cell(double offset, double side) noexcept nogil:
    cdef double v = offset / side
    return <int64_t>v if v > 0.0 else 0


cdef inline Py_ssize_t _bucket(int64_t cx, int64_t cy, int64_t mask) noexcept nogil:
    cdef int64_t h = (cx * 73856093) ^ (cy * 19349663)
    return <Py_ssize_t>((h ^ (h >> 20)) & mask)


cdef Py_ssize_t _fast_loop(const PBox* boxes, FastBox* fb, Py_ssize_t m,
                           double iou_threshold, Py_ssize_t limit, Py_ssize_t* kept_at,
                           Py_ssize_t* seen) noexcept nogil:
    """Fast NMS over the ``m`` records in visiting order: the positions of the kept
    boxes into ``kept_at`` (at most ``limit``); their count, or -1 out of memory."""
    cdef double bound = -log(1.0 + _EPS - (1.0 - iou_threshold) * (1.0 - iou_threshold))
    cdef double t3_any = 0.5 * log(_EPS) - 1e-9
    cdef double cut, t3_regular, scale, side, trace, rho, pad_x, pad_y, p4
    cdef double smallest = HUGE_VAL, width = 0.0
    cdef double min_x = HUGE_VAL, min_y = HUGE_VAL, max_x = -HUGE_VAL, max_y = -HUGE_VAL
    cdef Py_ssize_t r, k, e, other, bucket, count = 0, n_wide = 0, n_kept = 0
    cdef Py_ssize_t buckets = 64, total
    cdef int64_t cx, cy, mask
    cdef Py_ssize_t* starts = NULL
    cdef Py_ssize_t* fill = NULL
    cdef Py_ssize_t* entries = NULL
    cdef Py_ssize_t* wide = NULL
    cdef const PBox* q
    cdef FastBox* box
    cdef bint suppressed
    if not bound > 0.0:  # no distance gives a probiou above the threshold
        r = 0
        while r < m and r < limit:
            kept_at[r] = r
            r += 1
        return r
    cut = bound + 1e-6 * (1.0 + bound)
    for r in range(m):
        q = &boxes[r]
        trace = q.a + q.b
        fb[r].regular = (fabs(q.cx) <= _SANE and fabs(q.cy) <= _SANE and fabs(q.c) < HUGE_VAL
                         and q.d >= _REGULAR_D and q.d < HUGE_VAL
                         and q.d * _CONDITION >= trace * trace)
        if fb[r].regular and q.d < smallest:
            smallest = q.d
    t3_regular = t3_any
    if smallest < HUGE_VAL:
        p4 = 4.0 * smallest
        t3_regular = 0.5 * log(p4 / (p4 + _EPS) + _EPS) - 1e-6
    scale = (cut - t3_regular) * (1.0 + 1e-5)
    for r in range(m):
        if not fb[r].regular:
            continue
        q = &boxes[r]
        box = &fb[r]
        trace = q.a + q.b
        rho = 2.0 * sqrt(scale * (trace + _EPS * trace / q.d))
        pad_x = (fabs(q.cx) + rho) * 1e-9
        pad_y = (fabs(q.cy) + rho) * 1e-9
        box.lo_x = q.cx - rho - pad_x
        box.hi_x = q.cx + rho + pad_x
        box.lo_y = q.cy - rho - pad_y
        box.hi_y = q.cy + rho + pad_y
        width += box.hi_x - box.lo_x
        count += 1
        if box.lo_x < min_x:
            min_x = box.lo_x
        if box.hi_x > max_x:
            max_x = box.hi_x
        if box.lo_y < min_y:
            min_y = box.lo_y
        if box.hi_y > max_y:
            max_y = box.hi_y
    side = 2.0 * width / count if count > 0 else 0.0
    if not (side > 0.0 and side < HUGE_VAL):
        side = HUGE_VAL
    else:
        if (max_x - min_x) / side > _HASH_SPAN:
            side = (max_x - min_x) / _HASH_SPAN
        if (max_y - min_y) / side > _HASH_SPAN:
            side = (max_y - min_y) / _HASH_SPAN
    while buckets < 2 * m:
        buckets *= 2
    mask = buckets - 1

    # Each bucket's list (compressed rows), in visiting order; the wide list.
    starts = <Py_ssize_t*>calloc(<size_t>(buckets + 1), sizeof(Py_ssize_t))
    fill = <Py_ssize_t*>malloc(<size_t>buckets * sizeof(Py_ssize_t))
    wide = <Py_ssize_t*>malloc(<size_t>m * sizeof(Py_ssize_t))
    if starts == NULL or fill == NULL or wide == NULL:
        free(starts)
        free(fill)
        free(wide)
        return -1
    for r in range(m):
        box = &fb[r]
        box.wide = True
        if box.regular:
            box.x0 = _hash_cell(box.lo_x - min_x, side)
            box.x1 = _hash_cell(box.hi_x - min_x, side)
            box.y0 = _hash_cell(box.lo_y - min_y, side)
            box.y1 = _hash_cell(box.hi_y - min_y, side)
            if (box.x1 - box.x0 + 1) * (box.y1 - box.y0 + 1) <= _MAX_CELLS_PER_BOX:
                box.wide = False
                for cy in range(box.y0, box.y1 + 1):
                    for cx in range(box.x0, box.x1 + 1):
                        starts[_bucket(cx, cy, mask) + 1] += 1
        if box.wide:
            wide[n_wide] = r
            n_wide += 1
    for k in range(buckets):
        starts[k + 1] += starts[k]
        fill[k] = starts[k]
    total = starts[buckets]
    entries = <Py_ssize_t*>malloc(<size_t>(total if total > 0 else 1) * sizeof(Py_ssize_t))
    if entries == NULL:
        free(starts)
        free(fill)
        free(wide)
        return -1
    for r in range(m):
        box = &fb[r]
        if box.wide:
            continue
        for cy in range(box.y0, box.y1 + 1):
            for cx in range(box.x0, box.x1 + 1):
                bucket = _bucket(cx, cy, mask)
                entries[fill[bucket]] = r
                fill[bucket] += 1

    for r in range(m):
        seen[r] = -1
    for r in range(m):
        q = &boxes[r]
        box = &fb[r]
        suppressed = False
        if box.wide:  # every earlier box
            for k in range(r):
                if _fast_overlaps(&boxes[k], q, iou_threshold, cut,
                                  t3_regular if fb[k].regular and box.regular else t3_any):
                    suppressed = True
                    break
        else:
            for k in range(n_wide):
                other = wide[k]
                if other >= r:
                    break
                if _fast_overlaps(&boxes[other], q, iou_threshold, cut,
                                  t3_regular if fb[other].regular else t3_any):
                    suppressed = True
                    break
            cy = box.y0
            while cy <= box.y1 and not suppressed:
                cx = box.x0
                while cx <= box.x1 and not suppressed:
                    bucket = _bucket(cx, cy, mask)
                    for e in range(starts[bucket], starts[bucket + 1]):
                        other = entries[e]
                        if other >= r:
                            break
                        if seen[other] == r:
                            continue
                        seen[other] = r
                        if _fast_overlaps(&boxes[other], q, iou_threshold, cut, t3_regular):
                            suppressed = True
                            break
                    cx += 1
                cy += 1
        if suppressed:
            continue
        kept_at[n_kept] = r
        n_kept += 1
        if n_kept == limit:
            break
    free(starts)
    free(fill)
    free(entries)
    free(wide)
    return n_kept


cdef Py_ssize_t _fast(const double* geometry, const void* scores, bint scores_f32,
                      Py_ssize_t n, double iou_threshold, double score_threshold,
                      Py_ssize_t max_output, int64_t* out) noexcept nogil:
    """Fast NMS into ``out`` (room for ``max_output <= n``); the count, or -1 when out
    of memory."""
    cdef Keyed* cand = <Keyed*>malloc(<size_t>(n if n > 0 else 1) * sizeof(Keyed))
    cdef Keyed* tmp = NULL
    cdef PBox* pboxes = NULL
    cdef FastBox* fb = NULL
    cdef Py_ssize_t* kept_at = NULL
    cdef Py_ssize_t* seen = NULL
    cdef Py_ssize_t m, q, count = -1
    if cand == NULL:
        return -1
    m = _scan(scores, scores_f32, n, score_threshold, cand)
    if m == 0 or max_output <= 0:
        free(cand)
        return 0
    tmp = <Keyed*>malloc(<size_t>m * sizeof(Keyed))
    pboxes = <PBox*>malloc(<size_t>m * sizeof(PBox))
    fb = <FastBox*>malloc(<size_t>m * sizeof(FastBox))
    kept_at = <Py_ssize_t*>malloc(<size_t>m * sizeof(Py_ssize_t))
    seen = <Py_ssize_t*>malloc(<size_t>m * sizeof(Py_ssize_t))
    if tmp != NULL and pboxes != NULL and fb != NULL and kept_at != NULL and seen != NULL:
        _sort(cand, tmp, m)   # stable, from index order: ties stay by index
        _gather_probiou(geometry, cand, m, pboxes)
        count = _fast_loop(pboxes, fb, m, iou_threshold, max_output, kept_at, seen)
        for q in range(count):
            out[q] = cand[kept_at[q]].value
    free(cand)
    free(tmp)
    free(pboxes)
    free(fb)
    free(kept_at)
    free(seen)
    return count


# ------------------------------------------------------------------------------------
# The backend boundary (declared in accel._backends).

cdef int _geometry(object array, Py_buffer* view, int kind) except -1:
    """Acquire the buffer of a C-contiguous float64 (N, 12) (polygon) or (N, 6)
    (probiou) array; the caller releases it."""
    cdef const char* fmt
    cdef Py_ssize_t columns
    if kind != _POLYGON and kind != _PROBIOU:
        raise ValueError("kind must be 0 (polygon) or 1 (probiou), got %d" % kind)
    columns = _POLYGON_COLUMNS if kind == _POLYGON else _PROBIOU_COLUMNS
    PyObject_GetBuffer(array, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    fmt = view.format
    if (view.ndim != 2 or view.itemsize != 8 or fmt == NULL or fmt[0] != b'd'
            or fmt[1] != 0 or view.shape[1] != columns):
        PyBuffer_Release(view)
        raise ValueError("geometry must be a C-contiguous float64 array of shape (N, %d)"
                         % columns)
    return 0


cdef bint _scores(object array, Py_buffer* view, Py_ssize_t n) except -1:
    """Acquire the buffer of a C-contiguous float32 or float64 (n,) array; True when
    float32. The caller releases it."""
    cdef const char* fmt
    PyObject_GetBuffer(array, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    fmt = view.format
    if (view.ndim != 1 or fmt == NULL or fmt[0] == 0 or fmt[1] != 0
            or not ((fmt[0] == b'f' and view.itemsize == 4)
                    or (fmt[0] == b'd' and view.itemsize == 8))
            or view.shape[0] != n):
        PyBuffer_Release(view)
        raise ValueError("scores must be a C-contiguous float32 or float64 array of shape "
                         "(N,)")
    return fmt[0] == b'f'


cdef int _int64s(object array, Py_buffer* view, Py_ssize_t n) except -1:
    cdef const char* fmt
    PyObject_GetBuffer(array, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    fmt = view.format
    if (view.ndim != 1 or view.itemsize != 8 or fmt == NULL or fmt[0] == 0 or fmt[1] != 0
            or not (fmt[0] == b'l' or fmt[0] == b'q') or view.shape[0] != n):
        PyBuffer_Release(view)
        raise ValueError("classes must be a C-contiguous int64 array of shape (N,)")
    return 0


cdef object _kept(Py_ssize_t count, int64_t* out, const char* kernel):
    """The int64 result of ``_rotated`` (``count``), freeing ``out``."""
    cdef Py_buffer view
    if count < 0:
        free(out)
        raise MemoryError("accel cython backend: out of memory in %s" % kernel.decode())
    try:
        result = _empty(count, _INT64)
        if count > 0:
            PyObject_GetBuffer(result, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE)
            memcpy(view.buf, out, <size_t>count * sizeof(int64_t))
            PyBuffer_Release(&view)
    finally:
        free(out)
    return result


cdef object _run(geometry, scores, classes, int kind, double iou_threshold,
                 double score_threshold, Py_ssize_t max_output, const char* kernel):
    cdef Py_buffer gb, sb, cb
    cdef Py_ssize_t n, count = -1
    cdef bint scores_f32
    cdef const int64_t* class_data = NULL
    cdef int64_t* out = NULL
    _geometry(geometry, &gb, kind)
    try:
        n = gb.shape[0]
        scores_f32 = _scores(scores, &sb, n)
        try:
            if classes is not None:
                _int64s(classes, &cb, n)
                class_data = <const int64_t*>cb.buf
            try:
                max_output = 0 if max_output < 0 else (max_output if max_output < n else n)
                out = <int64_t*>malloc(<size_t>(max_output if max_output > 0 else 1)
                                       * sizeof(int64_t))
                if out != NULL:
                    with nogil:
                        count = _rotated(<const double*>gb.buf, sb.buf, scores_f32,
                                         class_data, n, kind, iou_threshold,
                                         score_threshold, max_output, out)
            finally:
                if classes is not None:
                    PyBuffer_Release(&cb)
        finally:
            PyBuffer_Release(&sb)
    finally:
        PyBuffer_Release(&gb)
    return _kept(count, out, kernel)


def nms_rotated(geometry, scores, int kind, double iou_threshold, double score_threshold,
                Py_ssize_t max_output):
    return _run(geometry, scores, None, kind, iou_threshold, score_threshold, max_output,
                "nms_rotated")


def batched_nms_rotated(geometry, scores, classes, int kind, double iou_threshold,
                        double score_threshold, Py_ssize_t max_output):
    if classes is None:
        raise ValueError("classes must be a C-contiguous int64 array of shape (N,)")
    return _run(geometry, scores, classes, kind, iou_threshold, score_threshold,
                max_output, "batched_nms_rotated")


def fast_nms_rotated(geometry, scores, double iou_threshold, double score_threshold,
                     Py_ssize_t max_output):
    cdef Py_buffer gb, sb
    cdef Py_ssize_t n, count = -1
    cdef bint scores_f32
    cdef int64_t* out = NULL
    _geometry(geometry, &gb, _PROBIOU)
    try:
        n = gb.shape[0]
        scores_f32 = _scores(scores, &sb, n)
        try:
            max_output = 0 if max_output < 0 else (max_output if max_output < n else n)
            out = <int64_t*>malloc(<size_t>(max_output if max_output > 0 else 1)
                                   * sizeof(int64_t))
            if out != NULL:
                with nogil:
                    count = _fast(<const double*>gb.buf, sb.buf, scores_f32, n,
                                  iou_threshold, score_threshold, max_output, out)
        finally:
            PyBuffer_Release(&sb)
    finally:
        PyBuffer_Release(&gb)
    return _kept(count, out, "fast_nms_rotated")
