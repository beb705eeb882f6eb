"""Numba backend of the rotated family: ``nms_rotated``, ``batched_nms_rotated`` and
``fast_nms_rotated``.

The reference's greedy loop (``accel._backends.python.rotated``) compiled: candidates by
decreasing score, ties by index (the radix sort of ``nms``), each kept unless a kept box
of its class has an IoU with it strictly above the threshold. The IoU is a pure function
of the pair, so the kept boxes may be examined in any order: the answer is the
reference's.

Polygon IoU: the circle test first (``dx*dx + dy*dy > reach*reach``), then the clip of
the kept box's quadrilateral by the candidate's four edges (Sutherland-Hodgman) in
two preallocated vertex buffers, the shoelace area and the ratio, with the reference's
operations in the reference's order (no ``fastmath``: bit-identical). A uniform grid
over the candidates, keyed on each box's circle bounding square ``cx +- r`` (widened by
1e-12 relative, more than the rounding of the circle test), lists the kept boxes by
cell as ``numba/nms.py`` does (linked lists in integer arrays, boxes covering more than
``MAX_CELLS_PER_BOX`` cells compared with every candidate), so a candidate tests only
the kept boxes of the cells it touches: a pair with no common cell fails the circle
test, its IoU is 0 and cannot suppress. Non-finite squares (overflowing geometry): one
cell, every pair tested.

probiou: every kept box of the class (its value is not 0 far away: two collinear
degenerate boxes score near 1 at any distance, so no pair can be skipped), with
``math.log``, ``math.exp`` and ``math.sqrt`` (libm, as the reference).

Fast NMS (ultralytics'): candidates in the same order, each tested against the earlier
candidates (kept or not) that the bounds of ``accel._backends`` cannot rule out. Every
regular box is listed, before the loop, in the cells of a uniform grid that its square
``cx +- rho`` (widened by 1e-9 relative) covers, each cell's list in visiting order; a
candidate reads the lists of its cells up to itself. Irregular boxes, and squares over
``MAX_CELLS_PER_BOX`` cells, go to one list every candidate reads (and read every
earlier candidate). A pair that is read gets the reference's ``t1 + t2``; the log, exp
and sqrt only when that plus the pair's ``t3`` bound is below the distance cut.
"""
import math

import numpy as np

from ._shared import jit
from .nms import _axis_cells, _cell, _grown, _sorted_candidates

POLYGON, PROBIOU = 0, 1
EPS = 1e-7  # ultralytics' probiou epsilon
MAX_CELLS_PER_BOX = 16
VERTICES = 64  # clip buffers: each edge at most doubles the vertex count (4 -> 64)
INITIAL_KEPT = 256
SLACK = 1e-12  # relative widening of the circle bounding squares


@jit
def _polygon_iou(g, k, i, bx, by):
    """The reference's ``polygon_iou(g, k, i)`` (``k`` kept, ``i`` candidate), with the
    two vertex buffers ``bx``, ``by`` of shape (2, VERTICES)."""
    dx = g[k, 8] - g[i, 8]
    dy = g[k, 9] - g[i, 9]
    reach = g[k, 10] + g[i, 10]
    if dx * dx + dy * dy > reach * reach:
        return 0.0
    for v in range(4):
        bx[0, v] = g[k, 2 * v]
        by[0, v] = g[k, 2 * v + 1]
    count = 4
    src = 0
    for edge in range(4):
        if count == 0:
            break
        nxt = edge + 1 if edge < 3 else 0
        ax = g[i, 2 * edge]
        ay = g[i, 2 * edge + 1]
        ex = g[i, 2 * nxt] - ax
        ey = g[i, 2 * nxt + 1] - ay
        dst = 1 - src
        out = 0
        sx = bx[src, count - 1]
        sy = by[src, count - 1]
        s_side = ex * (sy - ay) - ey * (sx - ax)
        for v in range(count):
            cx = bx[src, v]
            cy = by[src, v]
            c_side = ex * (cy - ay) - ey * (cx - ax)
            if c_side >= 0.0:
                if s_side < 0.0:
                    t = s_side / (s_side - c_side)
                    bx[dst, out] = sx + t * (cx - sx)
                    by[dst, out] = sy + t * (cy - sy)
                    out += 1
                bx[dst, out] = cx
                by[dst, out] = cy
                out += 1
            elif s_side >= 0.0:
                t = s_side / (s_side - c_side)
                bx[dst, out] = sx + t * (cx - sx)
                by[dst, out] = sy + t * (cy - sy)
                out += 1
            sx = cx
            sy = cy
            s_side = c_side
        src = dst
        count = out
    inter = 0.0
    if count >= 3:
        total = 0.0
        for v in range(count):
            w = v + 1 if v + 1 < count else 0
            total += bx[src, v] * by[src, w] - bx[src, w] * by[src, v]
        inter = 0.5 * total
    if inter < 0.0:
        inter = 0.0
    union = g[k, 11] + g[i, 11] - inter
    if union > 0.0:
        return inter / union
    return 0.0


@jit
def _probiou(g, k, i):
    """The reference's ``probiou(g, k, i)``."""
    x1 = g[k, 0]
    y1 = g[k, 1]
    x2 = g[i, 0]
    y2 = g[i, 1]
    a = g[k, 2] + g[i, 2]
    b = g[k, 3] + g[i, 3]
    c = g[k, 4] + g[i, 4]
    spread = a * b - c * c
    if spread < 0.0:
        spread = 0.0
    denominator = spread + EPS
    dy = y1 - y2
    dx = x1 - x2
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    t3 = math.log(spread / (4.0 * math.sqrt(g[k, 5] * g[i, 5]) + EPS) + EPS) * 0.5
    distance = t1 + t2 + t3
    if distance < EPS:
        distance = EPS
    elif distance > 100.0:
        distance = 100.0
    return 1.0 - math.sqrt(1.0 - math.exp(-distance) + EPS)


@jit
def _greedy_probiou(g, candidates, classes, use_classes, iou_threshold, max_output):
    m = candidates.shape[0]
    capacity = max_output if max_output < m else m
    kept = np.empty(capacity, dtype=np.int64)
    n_kept = 0
    for p in range(m):
        i = candidates[p]
        suppressed = False
        for s in range(n_kept):
            k = kept[s]
            if use_classes and classes[k] != classes[i]:
                continue
            if _probiou(g, k, i) > iou_threshold:
                suppressed = True
                break
        if not suppressed:
            kept[n_kept] = i
            n_kept += 1
            if n_kept == max_output:
                break
    return _grown(kept[:n_kept], n_kept)


@jit
def _greedy_polygon(g, candidates, classes, use_classes, iou_threshold, max_output):
    m = candidates.shape[0]
    # The candidates' circle bounding squares, widened; the grid over their extent.
    lo_x = np.empty(m, dtype=np.float64)
    lo_y = np.empty(m, dtype=np.float64)
    hi_x = np.empty(m, dtype=np.float64)
    hi_y = np.empty(m, dtype=np.float64)
    finite = True
    width = 0.0
    for p in range(m):
        i = candidates[p]
        cx = g[i, 8]
        cy = g[i, 9]
        r = g[i, 10]
        pad_x = (abs(cx) + r) * SLACK
        pad_y = (abs(cy) + r) * SLACK
        lo_x[p] = cx - r - pad_x
        hi_x[p] = cx + r + pad_x
        lo_y[p] = cy - r - pad_y
        hi_y[p] = cy + r + pad_y
        if not (-math.inf < lo_x[p] <= hi_x[p] < math.inf
                and -math.inf < lo_y[p] <= hi_y[p] < math.inf):
            finite = False
        width += hi_x[p] - lo_x[p]
    nx = 1
    ny = 1
    fx = 0.0
    fy = 0.0
    min_x = 0.0
    min_y = 0.0
    if finite:
        min_x = lo_x[0]
        min_y = lo_y[0]
        max_x = hi_x[0]
        max_y = hi_y[0]
        for p in range(m):
            if lo_x[p] < min_x:
                min_x = lo_x[p]
            if lo_y[p] < min_y:
                min_y = lo_y[p]
            if hi_x[p] > max_x:
                max_x = hi_x[p]
            if hi_y[p] > max_y:
                max_y = hi_y[p]
        nx, fx = _axis_cells(min_x, max_x, width, m)
        ny, fy = _axis_cells(min_y, max_y, width, m)  # squares: the same mean width
    cells = nx * ny
    head = np.empty(cells, dtype=np.int64)  # first entry of each cell's list, or -1
    for cell in range(cells):
        head[cell] = -1
    tail = np.empty(cells, dtype=np.int64)

    capacity = max_output if max_output < m else m
    size = capacity if capacity < INITIAL_KEPT else INITIAL_KEPT
    kept = np.empty(size, dtype=np.int64)
    n_kept = 0
    next_entry = np.empty(size * 4, dtype=np.int64)
    entry_slot = np.empty(size * 4, dtype=np.int64)
    entries = 0
    wide = np.empty(16, dtype=np.int64)
    n_wide = 0
    seen = np.empty(size, dtype=np.int64)  # last candidate that tested each kept box
    bx = np.empty((2, VERTICES), dtype=np.float64)
    by = np.empty((2, VERTICES), dtype=np.float64)

    for p in range(m):
        i = candidates[p]
        label = classes[i] if use_classes else 0
        cx0 = _cell(lo_x[p], min_x, fx, nx)
        cx1 = _cell(hi_x[p], min_x, fx, nx)
        cy0 = _cell(lo_y[p], min_y, fy, ny)
        cy1 = _cell(hi_y[p], min_y, fy, ny)
        covered = (cx1 - cx0 + 1) * (cy1 - cy0 + 1)
        is_wide = covered > MAX_CELLS_PER_BOX

        suppressed = False
        if is_wide:  # a huge candidate is compared with every kept box
            for s in range(n_kept):
                k = kept[s]
                if use_classes and classes[k] != label:
                    continue
                if _polygon_iou(g, k, i, bx, by) > iou_threshold:
                    suppressed = True
                    break
        else:
            for w in range(n_wide):
                k = kept[wide[w]]
                if use_classes and classes[k] != label:
                    continue
                if _polygon_iou(g, k, i, bx, by) > iou_threshold:
                    suppressed = True
                    break
            if not suppressed:
                for cy in range(cy0, cy1 + 1):
                    row = cy * nx
                    for cx in range(cx0, cx1 + 1):
                        e = head[row + cx]
                        while e >= 0:
                            s = entry_slot[e]
                            e = next_entry[e]
                            if seen[s] == p:  # met in an earlier cell
                                continue
                            seen[s] = p
                            k = kept[s]
                            if use_classes and classes[k] != label:
                                continue
                            if _polygon_iou(g, k, i, bx, by) > iou_threshold:
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
            seen = _grown(seen, size)
        kept[slot] = i
        seen[slot] = -1
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
                row = cy * nx
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
    return _grown(kept[:n_kept], n_kept)


REGULAR_D = 1e-5  # fast NMS bounds: see accel._backends
CONDITION = 1e8
SANE = 1e150
HASH_SPAN = 1073741824.0  # cells per axis at most: cell * multiplier stays below 2^63


@jit
def _hash_cell(offset, side):
    v = offset / side
    return int(v) if v > 0.0 else 0


@jit
def _bucket(cx, cy, mask):
    h = (cx * 73856093) ^ (cy * 19349663)
    return (h ^ (h >> 20)) & mask


@jit
def _fast_overlaps(g, k, i, iou_threshold, cut, t3_floor):
    """The reference's ``probiou(g, k, i) > iou_threshold``, without the log, exp and sqrt
    when ``t1 + t2 + t3_floor >= cut`` proves it false."""
    x1 = g[k, 0]
    y1 = g[k, 1]
    x2 = g[i, 0]
    y2 = g[i, 1]
    a = g[k, 2] + g[i, 2]
    b = g[k, 3] + g[i, 3]
    c = g[k, 4] + g[i, 4]
    spread = a * b - c * c
    if spread < 0.0:
        spread = 0.0
    denominator = spread + EPS
    dy = y1 - y2
    dx = x1 - x2
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    t12 = t1 + t2
    if t12 + t3_floor >= cut:
        return False
    t3 = math.log(spread / (4.0 * math.sqrt(g[k, 5] * g[i, 5]) + EPS) + EPS) * 0.5
    distance = t12 + t3
    if distance < EPS:
        distance = EPS
    elif distance > 100.0:
        distance = 100.0
    return 1.0 - math.sqrt(1.0 - math.exp(-distance) + EPS) > iou_threshold


@jit
def _fast(g, scores, iou_threshold, score_threshold, max_output):
    candidates = _sorted_candidates(scores, score_threshold)
    m = candidates.shape[0]
    if m == 0 or max_output <= 0:
        return np.empty(0, dtype=np.int64)
    limit = max_output if max_output < m else m
    bound = -math.log(1.0 + EPS - (1.0 - iou_threshold) * (1.0 - iou_threshold))
    if not bound > 0.0:  # no distance gives a probiou above the threshold
        return candidates[:limit].copy()
    cut = bound + 1e-6 * (1.0 + bound)
    t3_any = 0.5 * math.log(EPS) - 1e-9

    regular = np.empty(m, dtype=np.bool_)
    smallest = math.inf
    for p in range(m):
        i = candidates[p]
        cx = g[i, 0]
        cy = g[i, 1]
        trace = g[i, 2] + g[i, 3]
        d = g[i, 5]
        ok = (abs(cx) <= SANE and abs(cy) <= SANE and -math.inf < g[i, 4] < math.inf
              and d >= REGULAR_D and d < math.inf and d * CONDITION >= trace * trace)
        regular[p] = ok
        if ok and d < smallest:
            smallest = d
    t3_regular = t3_any
    if smallest < math.inf:
        p4 = 4.0 * smallest
        t3_regular = 0.5 * math.log(p4 / (p4 + EPS) + EPS) - 1e-6
    scale = (cut - t3_regular) * (1.0 + 1e-5)

    # Squares of the regular boxes; cells twice their mean width, hashed into buckets.
    lo_x = np.empty(m, dtype=np.float64)
    hi_x = np.empty(m, dtype=np.float64)
    lo_y = np.empty(m, dtype=np.float64)
    hi_y = np.empty(m, dtype=np.float64)
    width = 0.0
    count = 0
    min_x = math.inf
    min_y = math.inf
    max_x = -math.inf
    max_y = -math.inf
    for p in range(m):
        if not regular[p]:
            continue
        i = candidates[p]
        trace = g[i, 2] + g[i, 3]
        rho = 2.0 * math.sqrt(scale * (trace + EPS * trace / g[i, 5]))
        cx = g[i, 0]
        cy = g[i, 1]
        pad_x = (abs(cx) + rho) * 1e-9
        pad_y = (abs(cy) + rho) * 1e-9
        lo_x[p] = cx - rho - pad_x
        hi_x[p] = cx + rho + pad_x
        lo_y[p] = cy - rho - pad_y
        hi_y[p] = cy + rho + pad_y
        width += hi_x[p] - lo_x[p]
        count += 1
        min_x = min(min_x, lo_x[p])
        min_y = min(min_y, lo_y[p])
        max_x = max(max_x, hi_x[p])
        max_y = max(max_y, hi_y[p])
    side = 2.0 * width / count if count > 0 else 0.0
    if not (0.0 < side < math.inf):
        side = math.inf
    else:
        side = max(side, (max_x - min_x) / HASH_SPAN, (max_y - min_y) / HASH_SPAN)
    buckets = 64
    while buckets < 2 * m:
        buckets *= 2
    mask = buckets - 1

    # Each bucket's list (compressed rows), in visiting order; the wide list.
    wide = np.empty(m, dtype=np.bool_)
    x0 = np.empty(m, dtype=np.int64)
    x1 = np.empty(m, dtype=np.int64)
    y0 = np.empty(m, dtype=np.int64)
    y1 = np.empty(m, dtype=np.int64)
    starts = np.zeros(buckets + 1, dtype=np.int64)
    n_wide = 0
    for p in range(m):
        wide[p] = True
        if regular[p]:
            x0[p] = _hash_cell(lo_x[p] - min_x, side)
            x1[p] = _hash_cell(hi_x[p] - min_x, side)
            y0[p] = _hash_cell(lo_y[p] - min_y, side)
            y1[p] = _hash_cell(hi_y[p] - min_y, side)
            if (x1[p] - x0[p] + 1) * (y1[p] - y0[p] + 1) <= MAX_CELLS_PER_BOX:
                wide[p] = False
                for cy in range(y0[p], y1[p] + 1):
                    for cx in range(x0[p], x1[p] + 1):
                        starts[_bucket(cx, cy, mask) + 1] += 1
        if wide[p]:
            n_wide += 1
    for bucket in range(buckets):
        starts[bucket + 1] += starts[bucket]
    entries = np.empty(starts[buckets], dtype=np.int64)
    fill = starts[:buckets].copy()
    wide_list = np.empty(n_wide, dtype=np.int64)
    n_wide = 0
    for p in range(m):
        if wide[p]:
            wide_list[n_wide] = p
            n_wide += 1
            continue
        for cy in range(y0[p], y1[p] + 1):
            for cx in range(x0[p], x1[p] + 1):
                bucket = _bucket(cx, cy, mask)
                entries[fill[bucket]] = p
                fill[bucket] += 1

    kept = np.empty(limit, dtype=np.int64)
    n_kept = 0
    seen = np.full(m, -1, dtype=np.int64)  # the last candidate that read each box
    for p in range(m):
        i = candidates[p]
        suppressed = False
        if wide[p]:
            for q in range(p):
                floor = t3_regular if regular[q] and regular[p] else t3_any
                if _fast_overlaps(g, candidates[q], i, iou_threshold, cut, floor):
                    suppressed = True
                    break
        else:
            for w in range(n_wide):
                q = wide_list[w]
                if q >= p:
                    break
                floor = t3_regular if regular[q] else t3_any
                if _fast_overlaps(g, candidates[q], i, iou_threshold, cut, floor):
                    suppressed = True
                    break
            if not suppressed:
                for cy in range(y0[p], y1[p] + 1):
                    for cx in range(x0[p], x1[p] + 1):
                        bucket = _bucket(cx, cy, mask)
                        for e in range(starts[bucket], starts[bucket + 1]):
                            q = entries[e]
                            if q >= p:
                                break
                            if seen[q] == p:
                                continue
                            seen[q] = p
                            if _fast_overlaps(g, candidates[q], i, iou_threshold, cut,
                                              t3_regular):
                                suppressed = True
                                break
                        if suppressed:
                            break
                    if suppressed:
                        break
        if not suppressed:
            kept[n_kept] = i
            n_kept += 1
            if n_kept == limit:
                break
    return kept[:n_kept].copy()


@jit
def _greedy(g, scores, classes, use_classes, kind, iou_threshold, score_threshold,
            max_output):
    candidates = _sorted_candidates(scores, score_threshold)
    if candidates.shape[0] == 0 or max_output <= 0:
        return np.empty(0, dtype=np.int64)
    if kind == POLYGON:
        return _greedy_polygon(g, candidates, classes, use_classes, iou_threshold,
                               max_output)
    return _greedy_probiou(g, candidates, classes, use_classes, iou_threshold, max_output)


_NO_CLASSES = np.zeros(0, dtype=np.int64)
_NO_CLASSES.flags.writeable = False  # the same array type as the validated classes


# The boundary functions coerce the scalars so that every call reaches the same
# compiled specialisation whatever Python or NumPy scalar types the caller passed.

def nms_rotated(geometry, scores, kind, iou_threshold, score_threshold, max_output):
    return _greedy(geometry, scores, _NO_CLASSES, False, int(kind), float(iou_threshold),
                   float(score_threshold), int(max_output))


def batched_nms_rotated(geometry, scores, classes, kind, iou_threshold, score_threshold,
                        max_output):
    return _greedy(geometry, scores, classes, True, int(kind), float(iou_threshold),
                   float(score_threshold), int(max_output))


def fast_nms_rotated(geometry, scores, iou_threshold, score_threshold, max_output):
    return _fast(geometry, scores, float(iou_threshold), float(score_threshold),
                 int(max_output))
