"""Numba backend: the pure-Python reference compiled to machine code, loop for loop.

Every kernel makes the same decisions as ``accel._backends.python.nms`` in the same float64
arithmetic: candidates by decreasing score, equal scores by increasing index (a stable
radix sort), the IoU of the module contract with the same operations in the same order,
and the same greedy and soft-NMS loops. No ``fastmath`` (it would let LLVM reorder or
fuse the arithmetic) and no ``parallel``.

Greedy NMS keeps the reference's uniform grid (same ``GRID_MAX`` and
``MAX_CELLS_PER_BOX`` layout rules), its cells stored as linked lists in integer arrays:
``head[cell]`` and ``tail[cell]`` are the first and last entry of a cell,
``next_entry[e]`` the entry after ``e`` and ``entry_slot[e]`` the kept box it stands for,
so each cell lists its kept boxes in the order kept, as in the reference. For batched NMS
each class has its own lists when the class ids span a small range (else the other
classes' boxes are skipped before any IoU). The kept boxes' coordinates, areas and
classes sit in small contiguous arrays that grow by doubling. The grid only prunes pairs
with no positive overlap, so it changes the speed, never the answer. Soft-NMS is the
reference's O(N^2) loop.

``nms`` and ``batched_nms`` take float32 or float64 boxes and scores, read every value as
float64 (exact), and check them all first (``_values_valid``): the boundary of
``accel._backends``.

Nothing is compiled at import: each function is compiled on its first call (for the
argument types it gets: float32 or float64 arrays, as the public layer passes them) and the machine code is cached on
disk (``cache=True``), so later processes load it instead of compiling again. Every
function is ``nogil``: the kernels of several Python threads run at once.
"""
import math

import numpy as np

from ._shared import jit

GRID_MAX = 64
MAX_CELLS_PER_BOX = 16
SMALL_SORT = 16  # below this many candidates, an insertion sort
INITIAL_KEPT = 256  # storage for this many kept boxes at first, then doubled
LAYER_BUDGET = 1 << 16  # per-class cell lists when classes x cells <= max(this, 32 N)



@jit
def _areas(boxes):
    n = boxes.shape[0]
    areas = np.empty(n, dtype=np.float64)
    for i in range(n):
        areas[i] = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
    return areas


@jit
def _iou(ax1, ay1, ax2, ay2, area_a, bx1, by1, bx2, by2, area_b):
    """IoU of the module contract; ``min``/``max`` spelled out as Python evaluates them."""
    hi = ax2 if not bx2 < ax2 else bx2
    lo = ax1 if not bx1 > ax1 else bx1
    iw = hi - lo
    if iw <= 0.0:
        return 0.0
    hi = ay2 if not by2 < ay2 else by2
    lo = ay1 if not by1 > ay1 else by1
    ih = hi - lo
    if ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = area_a + area_b - inter
    if union > 0.0:
        return inter / union
    return 0.0


@jit
def _overlaps(ax1, ay1, ax2, ay2, area_a, bx1, by1, bx2, by2, area_b, iou_threshold):
    """True when IoU(a, b) > iou_threshold (``a`` the kept box, ``b`` the candidate)."""
    hi = ax2 if not bx2 < ax2 else bx2
    lo = ax1 if not bx1 > ax1 else bx1
    iw = hi - lo
    if iw <= 0.0:
        return False
    hi = ay2 if not by2 < ay2 else by2
    lo = ay1 if not by1 > ay1 else by1
    ih = hi - lo
    if ih <= 0.0:
        return False
    inter = iw * ih
    union = area_a + area_b - inter
    return union > 0.0 and inter / union > iou_threshold


@jit
def _sorted_candidates(scores, score_threshold):
    """Indices with score > score_threshold, by decreasing score, ties by index.

    A stable LSD radix sort (8-bit digits) of the candidates, taken in index order, on
    an integer key that orders like ``-score`` (``-0.0`` and ``0.0`` share one key, as
    they compare equal): the same order as the reference's stable sort, several times
    faster than a comparison sort. Digits on which all keys agree are skipped.
    """
    n = scores.shape[0]
    candidates = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        if scores[i] > score_threshold:
            candidates[count] = i
            count += 1
    if count <= SMALL_SORT:  # insertion sort, stable: moves only past strictly lower
        for k in range(1, count):
            i = candidates[k]
            s = scores[i]
            j = k
            while j > 0 and scores[candidates[j - 1]] < s:
                candidates[j] = candidates[j - 1]
                j -= 1
            candidates[j] = i
        return candidates[:count]
    negated = np.empty(count, dtype=np.float64)
    for k in range(count):
        negated[k] = -scores[candidates[k]] + 0.0  # + 0.0 turns -0.0 into 0.0
    keys = negated.view(np.int64)
    histogram = np.empty((8, 256), dtype=np.int64)  # (np.zeros costs more to compile)
    for d in range(8):
        for digit in range(256):
            histogram[d, digit] = 0
    for k in range(count):
        bits = keys[k]
        if bits < 0:  # negative float: flip the magnitude so that keys order as floats
            bits ^= 0x7FFFFFFFFFFFFFFF
        bits ^= -0x8000000000000000  # flip the sign bit: unsigned digit order
        keys[k] = bits
        for d in range(8):
            histogram[d, (bits >> (8 * d)) & 255] += 1
    key_out = np.empty(count, dtype=np.int64)
    index_out = np.empty(count, dtype=np.int64)
    for d in range(8):
        shift = 8 * d
        if histogram[d, (keys[0] >> shift) & 255] == count:
            continue  # every key has this digit: the pass would not move anything
        start = 0
        for digit in range(256):
            size = histogram[d, digit]
            histogram[d, digit] = start
            start += size
        for k in range(count):
            digit = (keys[k] >> shift) & 255
            position = histogram[d, digit]
            histogram[d, digit] = position + 1
            key_out[position] = keys[k]
            index_out[position] = candidates[k]
        keys, key_out = key_out, keys
        candidates, index_out = index_out, candidates
    return candidates[:count]


@jit
def _axis_cells(lo, hi, total_width, count):
    """(cells, factor) along one axis: the reference's ``_axis_cells``.

    Two guards the reference lacks, both for values where Python itself would raise:
    a mean width that underflows to 0 (Python: ZeroDivisionError) counts as tiny, and
    the cell count is clamped before the float-to-int conversion (Python: OverflowError
    on int(inf)).
    """
    span = hi - lo
    if count == 0 or total_width <= 0.0 or not span > 0.0 or span == math.inf:
        return 1, 0.0
    mean2 = 2.0 * total_width / count
    if mean2 > 0.0:
        cells = span / mean2
    else:
        cells = math.inf
    if not cells >= 2.0:
        return 1, 0.0
    if cells > GRID_MAX:
        cells = float(GRID_MAX)
    whole = int(cells)
    factor = whole / span
    if factor == math.inf:
        return 1, 0.0
    return whole, factor


@jit
def _cell(coordinate, origin, factor, cells):
    if cells == 1:
        return 0
    c = int((coordinate - origin) * factor)  # >= 0: origin is the minimum
    return c if c < cells - 1 else cells - 1


@jit
def _grown(array, size):
    """A new writable array of ``size`` elements that starts with a copy of ``array``."""
    bigger = np.empty(size, dtype=array.dtype)
    for k in range(array.shape[0]):
        bigger[k] = array[k]
    return bigger


@jit
def _values_valid(boxes, scores):
    """The value checks of the boundary: every coordinate and score finite, x1 <= x2 and
    y1 <= y2 (NaN fails every comparison)."""
    for i in range(boxes.shape[0]):
        x1 = np.float64(boxes[i, 0])
        y1 = np.float64(boxes[i, 1])
        x2 = np.float64(boxes[i, 2])
        y2 = np.float64(boxes[i, 3])
        if not (-math.inf < x1 <= x2 < math.inf and -math.inf < y1 <= y2 < math.inf):
            return False
    for i in range(scores.shape[0]):
        s = np.float64(scores[i])
        if not -math.inf < s < math.inf:
            return False
    return True


@jit
def _greedy(boxes, scores, classes, use_classes, iou_threshold, score_threshold, max_output):
    """``(kept, values_valid)``: the kept indices, or an empty array and False when a box
    or score fails the value checks. ``boxes`` and ``scores`` are float32 or float64; every
    value is read as float64 (exact), so the arithmetic is the reference's either way."""
    if not _values_valid(boxes, scores):
        return np.empty(0, dtype=np.int64), False
    candidates = _sorted_candidates(scores, score_threshold)
    m = candidates.shape[0]
    if m == 0 or max_output <= 0:
        return np.empty(0, dtype=np.int64), True

    # The candidates' boxes, areas and classes in visiting order, so that the main loop
    # reads memory sequentially; same values, same area arithmetic as the reference.
    # Meanwhile, the grid over the candidates' extent (the reference's _Grid.__init__).
    order_boxes = np.empty((m, 4), dtype=np.float64)
    order_areas = np.empty(m, dtype=np.float64)
    order_labels = np.empty(m if use_classes else 0, dtype=np.int64)
    min_x = np.float64(boxes[candidates[0], 0])
    min_y = np.float64(boxes[candidates[0], 1])
    max_x = np.float64(boxes[candidates[0], 2])
    max_y = np.float64(boxes[candidates[0], 3])
    width = 0.0
    height = 0.0
    low_label = classes[candidates[0]] if use_classes else 0
    high_label = low_label
    for p in range(m):
        i = candidates[p]
        x1 = np.float64(boxes[i, 0])
        y1 = np.float64(boxes[i, 1])
        x2 = np.float64(boxes[i, 2])
        y2 = np.float64(boxes[i, 3])
        order_boxes[p, 0] = x1
        order_boxes[p, 1] = y1
        order_boxes[p, 2] = x2
        order_boxes[p, 3] = y2
        order_areas[p] = (x2 - x1) * (y2 - y1)
        if x1 < min_x:
            min_x = x1
        if y1 < min_y:
            min_y = y1
        if x2 > max_x:
            max_x = x2
        if y2 > max_y:
            max_y = y2
        width += x2 - x1
        height += y2 - y1
        if use_classes:
            label = classes[i]
            order_labels[p] = label
            if label < low_label:
                low_label = label
            if label > high_label:
                high_label = label
    nx, fx = _axis_cells(min_x, max_x, width, m)
    ny, fy = _axis_cells(min_y, max_y, height, m)

    # Batched NMS: when the class ids span a small range, each class has its own lists
    # (layer ``label - low_label`` of ``head``), so a candidate never walks the kept
    # boxes of other classes. Otherwise one shared layer, and other classes are skipped.
    cells = nx * ny
    layers = 1
    if use_classes:
        label_span = float(high_label) - float(low_label) + 1.0  # float: no overflow
        if label_span * cells <= max(float(LAYER_BUDGET), 32.0 * m):
            layers = int(label_span)
    head = np.empty(cells * layers, dtype=np.int64)  # first entry of each list, or -1
    for cell in range(cells * layers):
        head[cell] = -1
    tail = np.empty(cells * layers, dtype=np.int64)  # last entry, where head >= 0

    # Storage grows by doubling (few boxes are kept on detector output): the kept boxes
    # (at most min(max_output, m)), the list entries (at most MAX_CELLS_PER_BOX per kept
    # box) and the kept boxes too wide for the grid.
    capacity = max_output if max_output < m else m
    size = capacity if capacity < INITIAL_KEPT else INITIAL_KEPT
    kept = np.empty(size, dtype=np.int64)
    kx1 = np.empty(size, dtype=np.float64)
    ky1 = np.empty(size, dtype=np.float64)
    kx2 = np.empty(size, dtype=np.float64)
    ky2 = np.empty(size, dtype=np.float64)
    karea = np.empty(size, dtype=np.float64)
    klabel = np.empty(size, dtype=np.int64)
    n_kept = 0
    next_entry = np.empty(size * 4, dtype=np.int64)
    entry_slot = np.empty(size * 4, dtype=np.int64)
    entries = 0
    wide = np.empty(16, dtype=np.int64)
    n_wide = 0

    for p in range(m):
        x1 = order_boxes[p, 0]
        y1 = order_boxes[p, 1]
        x2 = order_boxes[p, 2]
        y2 = order_boxes[p, 3]
        area = order_areas[p]
        label = order_labels[p] if use_classes else 0
        base = (label - low_label) * cells if layers > 1 else 0
        cx0 = _cell(x1, min_x, fx, nx)
        cx1 = _cell(x2, min_x, fx, nx)
        cy0 = _cell(y1, min_y, fy, ny)
        cy1 = _cell(y2, min_y, fy, ny)
        covered = (cx1 - cx0 + 1) * (cy1 - cy0 + 1)
        is_wide = covered > MAX_CELLS_PER_BOX

        suppressed = False
        if is_wide:  # a huge candidate is compared with every kept box
            for k in range(n_kept):
                if use_classes and klabel[k] != label:
                    continue
                if _overlaps(kx1[k], ky1[k], kx2[k], ky2[k], karea[k],
                             x1, y1, x2, y2, area, iou_threshold):
                    suppressed = True
                    break
        else:
            for w in range(n_wide):
                k = wide[w]
                if use_classes and klabel[k] != label:
                    continue
                if _overlaps(kx1[k], ky1[k], kx2[k], ky2[k], karea[k],
                             x1, y1, x2, y2, area, iou_threshold):
                    suppressed = True
                    break
            if not suppressed:
                for cy in range(cy0, cy1 + 1):
                    row = base + cy * nx
                    for cx in range(cx0, cx1 + 1):
                        e = head[row + cx]
                        while e >= 0:
                            k = entry_slot[e]
                            e = next_entry[e]
                            if use_classes and klabel[k] != label:
                                continue
                            if _overlaps(kx1[k], ky1[k], kx2[k], ky2[k], karea[k],
                                         x1, y1, x2, y2, area, iou_threshold):
                                suppressed = True
                                break
                        if suppressed:
                            break
                    if suppressed:
                        break
        if suppressed:
            continue

        slot = n_kept
        if slot == kept.shape[0]:
            size = 2 * slot if 2 * slot < capacity else capacity
            kept = _grown(kept, size)
            kx1 = _grown(kx1, size)
            ky1 = _grown(ky1, size)
            kx2 = _grown(kx2, size)
            ky2 = _grown(ky2, size)
            karea = _grown(karea, size)
            klabel = _grown(klabel, size)
        kept[slot] = candidates[p]
        kx1[slot] = x1
        ky1[slot] = y1
        kx2[slot] = x2
        ky2[slot] = y2
        karea[slot] = area
        klabel[slot] = label
        n_kept += 1
        if n_kept == max_output:
            break
        if is_wide:
            if n_wide == wide.shape[0]:
                wide = _grown(wide, 2 * n_wide)
            wide[n_wide] = slot
            n_wide += 1
        else:
            if entries + covered > next_entry.shape[0]:
                size = 2 * next_entry.shape[0] + covered
                next_entry = _grown(next_entry, size)
                entry_slot = _grown(entry_slot, size)
            for cy in range(cy0, cy1 + 1):
                row = base + cy * nx
                for cx in range(cx0, cx1 + 1):
                    cell = row + cx
                    entry_slot[entries] = slot
                    next_entry[entries] = -1
                    if head[cell] < 0:
                        head[cell] = entries
                    else:
                        next_entry[tail[cell]] = entries
                    tail[cell] = entries
                    entries += 1
    return _grown(kept[:n_kept], n_kept), True  # a copy of exactly the kept ones


@jit
def _soft(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output):
    n = boxes.shape[0]
    current = _grown(scores, n)  # a writable copy
    areas = _areas(boxes)
    alive = np.empty(n, dtype=np.int64)  # index order, compacted in place each round
    n_alive = 0
    for i in range(n):
        if current[i] >= score_threshold:
            alive[n_alive] = i
            n_alive += 1
    selected = np.empty(max_output, dtype=np.int64)
    selected_scores = np.empty(max_output, dtype=np.float64)
    n_selected = 0
    while n_alive > 0 and n_selected < max_output:
        best = 0
        best_score = current[alive[0]]
        for position in range(1, n_alive):  # strict '>' keeps the lower index on ties
            s = current[alive[position]]
            if s > best_score:
                best = position
                best_score = s
        i = alive[best]
        selected[n_selected] = i
        selected_scores[n_selected] = current[i]
        n_selected += 1
        ix1 = boxes[i, 0]
        iy1 = boxes[i, 1]
        ix2 = boxes[i, 2]
        iy2 = boxes[i, 3]
        area = areas[i]
        survivors = 0
        for position in range(n_alive):
            if position == best:
                continue
            j = alive[position]
            overlap = _iou(ix1, iy1, ix2, iy2, area,
                           boxes[j, 0], boxes[j, 1], boxes[j, 2], boxes[j, 3], areas[j])
            if gaussian:
                if overlap > 0.0:
                    current[j] *= math.exp(-(overlap * overlap) / sigma)
            elif overlap > iou_threshold:
                current[j] *= 1.0 - overlap
            if current[j] >= score_threshold:
                alive[survivors] = j  # survivors <= position: never overwrites unread
                survivors += 1
        n_alive = survivors
    return (_grown(selected[:n_selected], n_selected),
            _grown(selected_scores[:n_selected], n_selected))


_NO_CLASSES = np.zeros(0, dtype=np.int64)
_NO_CLASSES.flags.writeable = False  # the same array type as the validated classes


# The boundary functions coerce the scalars so that every call reaches the same
# compiled specialisation whatever Python or NumPy scalar types the caller passed.

def nms(boxes, scores, iou_threshold, score_threshold, max_output):
    kept, valid = _greedy(boxes, scores, _NO_CLASSES, False,
                          float(iou_threshold), float(score_threshold), int(max_output))
    return kept if valid else None  # None: the boundary's answer to a bad value


def batched_nms(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    kept, valid = _greedy(boxes, scores, classes, True,
                          float(iou_threshold), float(score_threshold), int(max_output))
    return kept if valid else None  # None: the boundary's answer to a bad value


def soft_nms(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output):
    return _soft(boxes, scores, bool(gaussian), float(sigma), float(iou_threshold),
                 float(score_threshold), int(max_output))
