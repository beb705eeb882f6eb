"""Pure-Python backend: the readable reference every other backend must reproduce.

Greedy NMS is computed candidate by candidate: in score order, a candidate is kept
unless a kept box (of the same class, for batched NMS) overlaps it with IoU above the
threshold. That is the same decision as "each kept box suppresses the rest", but only
kept boxes need to be remembered, and a uniform grid over the candidates' extent finds
the kept boxes that can overlap a candidate. The grid only prunes pairs whose IoU is 0
(no positive overlap), which can never suppress, so the answer does not depend on its
layout; the layout rules below are shared by the compiled backends only for speed.

Grid layout (see ``_Grid``): over the candidates' bounding extent, ``nx`` columns with
``nx = clamp(floor(span_x / (2 * mean_width)), 1, GRID_MAX)`` (likewise rows); cell of
a coordinate ``x`` is ``min(nx - 1, floor((x - min_x) * nx / span_x))``, a monotone
function, so two boxes with a positive overlap always share a cell. A kept box is
recorded in every cell it covers, or in a list checked by every candidate when it
covers more than ``MAX_CELLS_PER_BOX`` cells.

The code is also the backend PyPy runs when no compiled one is there, written for its
JIT as much as for reading: the arrays are read once into ``array.array`` (never
``ndarray.tolist()``, which goes through cpyext), boxes are columns indexed by box number,
and the hot loops are plain index loops without generators. Measured by
``benchmarks/pypy_python_backend.py``.
"""
import math
import platform

import numpy as np

from ._shared import ndarray, values as _values

GRID_MAX = 64
MAX_CELLS_PER_BOX = 16
_PYPY = platform.python_implementation() == "PyPy"
_RUN = 16  # the insertion-sorted runs of _merge_sorted (8 and 64: slower under PyPy)


class _Boxes:
    """The boxes as four coordinate columns and their areas: box ``i`` is ``x1[i], y1[i],
    x2[i], y2[i]``, all Python floats (float64 arithmetic whatever the input dtype)."""

    def __init__(self, boxes):  # float32 or float64 (N, 4): Python floats either way
        flat = _values(boxes)  # x1, y1, x2, y2 of box 0, then of box 1, ...
        self.x1, self.y1, self.x2, self.y2 = flat[0::4], flat[1::4], flat[2::4], flat[3::4]
        self.areas = [(self.x2[i] - self.x1[i]) * (self.y2[i] - self.y1[i])
                      for i in range(len(self.x1))]


def _overlaps(b, k, i, iou_threshold):
    """True when IoU(box k, box i) > iou_threshold, with the IoU of the module contract."""
    iw = min(b.x2[k], b.x2[i]) - max(b.x1[k], b.x1[i])
    if iw <= 0.0:
        return False
    ih = min(b.y2[k], b.y2[i]) - max(b.y1[k], b.y1[i])
    if ih <= 0.0:
        return False
    inter = iw * ih
    union = b.areas[k] + b.areas[i] - inter
    return union > 0.0 and inter / union > iou_threshold


def iou(b, k, i):
    """IoU of boxes k and i, of the module contract (used by soft-NMS, which needs the value)."""
    iw = min(b.x2[k], b.x2[i]) - max(b.x1[k], b.x1[i])
    if iw <= 0.0:
        return 0.0
    ih = min(b.y2[k], b.y2[i]) - max(b.y1[k], b.y1[i])
    if ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = b.areas[k] + b.areas[i] - inter
    return inter / union if union > 0.0 else 0.0


def _sorted_candidates(score_list, score_threshold):
    """Indices with score > score_threshold, by decreasing score, ties by index."""
    candidates = [i for i in range(len(score_list)) if score_list[i] > score_threshold]
    if _PYPY:
        return _merge_sorted(candidates, score_list)
    # list.sort is stable, also with reverse=True: equal scores keep their index order
    candidates.sort(key=score_list.__getitem__, reverse=True)
    return candidates


def _merge_sorted(order, key):
    """``order`` stably sorted by decreasing ``key[i]``, as ``list.sort`` above sorts it.

    Used under PyPy, where ``list.sort`` with a key compares the keys as generic objects
    and takes 3-5x longer than these loops once the JIT has compiled them (under CPython
    they are 8x slower than ``list.sort``). Runs of ``_RUN`` items are insertion-sorted,
    then neighbouring runs are merged until one is left. Stable: an item only moves
    before another whose key is strictly smaller.
    """
    n = len(order)
    src = list(order)
    for lo in range(0, n, _RUN):
        for a in range(lo + 1, min(lo + _RUN, n)):
            item, b = src[a], a
            while b > lo and key[item] > key[src[b - 1]]:
                src[b] = src[b - 1]
                b -= 1
            src[b] = item
    dst = [0] * n
    width = _RUN
    while width < n:  # merge runs of ``width`` pairwise into runs of 2 * width
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if key[src[j]] > key[src[i]]:
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            if i < mid:  # what is left of one run
                dst[k:hi] = src[i:mid]
            else:
                dst[k:hi] = src[j:hi]
        src, dst = dst, src
        width *= 2
    return src


def _axis_cells(lo, hi, total_width, count):
    """Number of cells along one axis and the factor that maps a coordinate to a cell."""
    span = hi - lo
    if count == 0 or not span > 0.0 or span == math.inf:
        return 1, 0.0
    mean_width = total_width / count
    if not mean_width > 0.0:  # zero-width boxes, or a sum that underflowed
        return 1, 0.0
    cells = span / (2.0 * mean_width)
    if not cells >= 2.0:
        return 1, 0.0
    cells = GRID_MAX if cells >= GRID_MAX else int(cells)  # also when cells is inf
    factor = cells / span
    if factor == math.inf:
        return 1, 0.0
    return cells, factor


class _Grid:
    """The uniform grid of the module docstring over the candidates of ``b``."""

    def __init__(self, b, candidates):
        self.b = b
        xs1 = [b.x1[i] for i in candidates]
        ys1 = [b.y1[i] for i in candidates]
        xs2 = [b.x2[i] for i in candidates]
        ys2 = [b.y2[i] for i in candidates]
        self.min_x = min(xs1)
        self.min_y = min(ys1)
        width = height = 0.0  # plain sums in candidate order, as the compiled backends do
        for j in range(len(candidates)):
            width += xs2[j] - xs1[j]
            height += ys2[j] - ys1[j]
        self.nx, self.fx = _axis_cells(self.min_x, max(xs2), width, len(candidates))
        self.ny, self.fy = _axis_cells(self.min_y, max(ys2), height, len(candidates))
        self.cells = [[] for _ in range(self.nx * self.ny)]
        self.wide = []  # kept boxes covering too many cells: checked by everyone

    def _cell_range(self, i):
        b = self.b
        if self.nx == 1:
            cx0 = cx1 = 0
        else:
            cx0 = min(self.nx - 1, int((b.x1[i] - self.min_x) * self.fx))
            cx1 = min(self.nx - 1, int((b.x2[i] - self.min_x) * self.fx))
        if self.ny == 1:
            cy0 = cy1 = 0
        else:
            cy0 = min(self.ny - 1, int((b.y1[i] - self.min_y) * self.fy))
            cy1 = min(self.ny - 1, int((b.y2[i] - self.min_y) * self.fy))
        return cx0, cx1, cy0, cy1

    def add(self, i):
        """Record kept box ``i`` in every cell it covers (in ``wide`` if too many)."""
        cx0, cx1, cy0, cy1 = self._cell_range(i)
        if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_CELLS_PER_BOX:
            self.wide.append(i)
            return
        for cy in range(cy0, cy1 + 1):
            row = cy * self.nx
            for cx in range(cx0, cx1 + 1):
                self.cells[row + cx].append(i)


def _suppressor_in(group, i, b, classes, iou_threshold):
    """True when a kept box ``k`` of ``group`` suppresses candidate ``i``: IoU above the
    threshold, and the same class when there are classes."""
    for k in group:
        if classes is not None and classes[k] != classes[i]:
            continue
        if _overlaps(b, k, i, iou_threshold):
            return True
    return False


def _values_valid(b, score_list):
    """Whether every box has finite coordinates with x1 <= x2 and y1 <= y2 and every
    score is finite (the boundary: the public layer does not check these values)."""
    inf = math.inf
    x1, y1, x2, y2 = b.x1, b.y1, b.x2, b.y2
    for i in range(len(x1)):
        if not (-inf < x1[i] <= x2[i] < inf and -inf < y1[i] <= y2[i] < inf):
            return False
    for i in range(len(score_list)):
        if not -inf < score_list[i] < inf:
            return False
    return True


def _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    b = _Boxes(boxes)
    score_list = _values(scores)
    if not _values_valid(b, score_list):
        return None  # the boundary's answer to a bad value
    class_list = _values(classes) if classes is not None else None
    candidates = _sorted_candidates(score_list, score_threshold)
    kept = []
    if candidates and max_output > 0:
        grid = _Grid(b, candidates)
        for i in candidates:
            cx0, cx1, cy0, cy1 = grid._cell_range(i)
            if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_CELLS_PER_BOX:
                suppressed = _suppressor_in(kept, i, b, class_list, iou_threshold)
            else:  # the wide kept boxes, then those of each cell i covers, until one suppresses
                suppressed = _suppressor_in(grid.wide, i, b, class_list, iou_threshold)
                cy = cy0
                while not suppressed and cy <= cy1:
                    cx = cx0
                    while not suppressed and cx <= cx1:
                        # _suppressor_in(cell, ...), written out: a call per cell costs
                        # CPython 5-10% and PyPy 10-15%
                        for k in grid.cells[cy * grid.nx + cx]:
                            if class_list is not None and class_list[k] != class_list[i]:
                                continue
                            if _overlaps(b, k, i, iou_threshold):
                                suppressed = True
                                break
                        cx += 1
                    cy += 1
            if not suppressed:
                kept.append(i)
                if len(kept) == max_output:
                    break
                grid.add(i)
    return ndarray(kept, np.int64)


def nms(boxes, scores, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, None, iou_threshold, score_threshold, max_output)


def batched_nms(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output)


def soft_nms(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output):
    b = _Boxes(boxes)
    current = list(_values(scores))
    alive = [i for i in range(len(current)) if current[i] >= score_threshold]  # index order
    selected, selected_scores = [], []
    while alive and len(selected) < max_output:
        best = 0
        for position in range(1, len(alive)):  # strict '>' keeps the lower index on ties
            if current[alive[position]] > current[alive[best]]:
                best = position
        i = alive.pop(best)
        selected.append(i)
        selected_scores.append(current[i])
        survivors = []
        for j in alive:
            overlap = iou(b, i, j)
            if gaussian:
                if overlap > 0.0:
                    current[j] *= math.exp(-(overlap * overlap) / sigma)
            elif overlap > iou_threshold:
                current[j] *= 1.0 - overlap
            if current[j] >= score_threshold:
                survivors.append(j)
        alive = survivors
    return ndarray(selected, np.int64), ndarray(selected_scores, np.float64)
