"""NumPy backend of the rotated family: ``nms_rotated``, ``batched_nms_rotated`` and
``fast_nms_rotated``.

Same decisions as the reference (``accel._backends.python.rotated``): a candidate is kept
unless a kept box (of its class) has an IoU with it strictly above the threshold. The
IoU is a pure function of the pair, so the order in which the pairs are examined does
not change the answer; only the pairs that decide are computed.

Polygon IoU: a sweep over the x intervals of the circle bounding squares (``cx +- r``,
widened by 1e-12 relative) lists, once, the pairs whose circles meet by the reference's
test (``dx*dx + dy*dy > reach*reach``, ``dx = cx_k - cx_i``) and of one class. The
candidates are then taken in blocks (in visiting order): the block's pairs with a kept
box get their exact IoU, all in one vectorised Sutherland-Hodgman clip
(``_polygon_iou_pairs``) that performs, pair by pair, the reference's operations in the
reference's order (so the IoUs are bit-identical); then the block's survivors against
each other, resolved in order. Non-finite squares or too many overlapping intervals:
the circle test runs densely per block (block x kept boxes). probiou: each kept box
removes the remaining candidates it suppresses in one array step (``np.log``,
``np.exp``, ``np.sqrt``: the last bit may differ from libm, as the contract allows; no
pair is skipped, as probiou is not 0 far away).

Fast NMS: a box's fate depends on no decision, only on whether some earlier box
overlaps it, so the pairs can be taken in any order. The pairs of regular boxes whose
centres lie within ``rho_a + rho_b`` (the bound of ``accel._backends``) come from a sweep
over the x intervals ``cx +- rho``; pairs with an irregular box, all of them; each
listed pair gets the reference's probiou in one array step, and a hit suppresses the
later box. Too many x-overlapping pairs (a threshold near 0 makes ``rho`` large): every
pair, in blocks.
"""
import numpy as np

from .nms import _sorted_candidates, greedy

POLYGON, PROBIOU = 0, 1
EPS = 1e-7  # ultralytics' probiou epsilon
BLOCK = 256  # candidates per block
PAIR_BUDGET = 1 << 22  # most x-overlapping pairs the sweep lists, else blocks densely
DENSE_PAIRS = 1 << 20  # pairs per block when the sweep gives up
SLACK = 1e-12  # relative widening of the circle bounding squares

_EMPTY = np.zeros(0, dtype=np.int64)


def _polygon_iou_pairs(corners_x, corners_y, areas, k, i):
    """IoU of the pairs (``k[j]`` kept, ``i[j]`` candidate): k's quadrilateral clipped
    by i's four edges, as ``clip_polygon``, ``polygon_area`` and ``polygon_iou`` of the
    reference, every pair with the same operations in the same order. Each polygon is a
    row of (x, y) arrays padded past its ``count`` vertices."""
    pairs = k.shape[0]
    px = corners_x[k]
    py = corners_y[k]
    qx = corners_x[i]
    qy = corners_y[i]
    count = np.full(pairs, 4, dtype=np.int64)
    rows = np.arange(pairs)
    for edge in range(4):
        width = px.shape[1]
        if width == 0:
            break
        nxt = edge + 1 if edge < 3 else 0
        ax = qx[:, edge:edge + 1]
        ay = qy[:, edge:edge + 1]
        ex = qx[:, nxt:nxt + 1] - ax
        ey = qy[:, nxt:nxt + 1] - ay
        c_side = ex * (py - ay) - ey * (px - ax)
        position = np.arange(width)
        valid = position[None, :] < count[:, None]
        # vertex before each one: the previous, the last (count - 1) before the first
        previous = np.where(position[None, :] == 0, count[:, None] - 1, position[None, :] - 1)
        previous = np.maximum(previous, 0)  # rows with no vertex: masked out by ``valid``
        sx = np.take_along_axis(px, previous, 1)
        sy = np.take_along_axis(py, previous, 1)
        s_side = np.take_along_axis(c_side, previous, 1)
        inside = c_side >= 0.0
        cross = valid & ((inside & (s_side < 0.0)) | (~inside & (s_side >= 0.0)))
        keep = valid & inside
        t = s_side / (s_side - c_side)
        cut_x = sx + t * (px - sx)
        cut_y = sy + t * (py - sy)
        # output order per input vertex: the crossing point, then the vertex itself
        emit = np.stack([cross, keep], axis=2).reshape(pairs, 2 * width)
        out_x = np.stack([cut_x, px], axis=2).reshape(pairs, 2 * width)
        out_y = np.stack([cut_y, py], axis=2).reshape(pairs, 2 * width)
        count = emit.sum(axis=1)
        new_width = int(count.max()) if pairs else 0
        slot = np.cumsum(emit, axis=1) - 1
        r, c = np.nonzero(emit)
        px = np.zeros((pairs, new_width))
        py = np.zeros((pairs, new_width))
        px[r, slot[r, c]] = out_x[r, c]
        py[r, slot[r, c]] = out_y[r, c]
    total = np.zeros(pairs)
    for v in range(px.shape[1]):
        w = np.where(v + 1 < count, v + 1, 0)
        term = px[:, v] * py[rows, w] - px[rows, w] * py[:, v]
        total = np.where(v < count, total + term, total)
    inter = np.where(count < 3, 0.0, 0.5 * total)
    inter = np.where(inter < 0.0, 0.0, inter)
    union = areas[k] + areas[i] - inter
    ratio = inter / union
    return np.where(union > 0.0, ratio, 0.0)


def _meeting(cx, cy, radius, labels, a, b):
    """Which pairs (``a`` kept or earlier, ``b`` candidate) pass the reference's circle
    test (written as there and negated: a NaN passes) and, with labels, are of one
    class."""
    dx = cx[a] - cx[b]
    dy = cy[a] - cy[b]
    reach = radius[a] + radius[b]
    meet = ~(dx * dx + dy * dy > reach * reach)
    if labels is not None:
        meet &= labels[a] == labels[b]
    return meet


def _sweep_pairs(cx, cy, radius, labels):
    """Every pair (a, b), a < b in visiting order, whose circles meet (same class), sorted
    by b; None when the squares ``cx +- r`` are not all finite or overlap in too many
    pairs. A sweep over the squares' x intervals, widened by 1e-12 relative (more than
    the rounding of the circle test), so that no meeting pair is missed."""
    pad = (np.abs(cx) + radius) * SLACK
    lo = cx - radius - pad
    hi = cx + radius + pad
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    by_lo = np.argsort(lo, kind="stable")
    lo_sorted = lo[by_lo]
    m = cx.shape[0]
    first = np.arange(m)
    # the boxes after j in lo order whose interval starts within j's
    counts = np.searchsorted(lo_sorted, hi[by_lo], side="right") - (first + 1)
    counts = np.maximum(counts, 0)
    total = int(counts.sum())
    if total > PAIR_BUDGET:
        return None
    a = np.repeat(first, counts)
    b = np.arange(total) - np.repeat(np.cumsum(counts) - counts - first - 1, counts)
    a, b = by_lo[a], by_lo[b]
    a, b = np.minimum(a, b), np.maximum(a, b)
    meet = _meeting(cx, cy, radius, labels, a, b)
    a, b = a[meet], b[meet]
    order = np.argsort(b, kind="stable")
    return a[order], b[order]


def _greedy_polygon(geometry, candidates, classes, iou_threshold, max_output):
    g = geometry[candidates]  # visiting order: position p is candidate p
    corners_x = np.ascontiguousarray(g[:, 0:8:2])
    corners_y = np.ascontiguousarray(g[:, 1:8:2])
    cx, cy, radius, areas = g[:, 8], g[:, 9], g[:, 10], g[:, 11]
    labels = None if classes is None else classes[candidates]
    m = candidates.shape[0]
    pairs = _sweep_pairs(cx, cy, radius, labels)
    if pairs is not None:
        pair_a, pair_b = pairs
    is_kept = np.zeros(m, dtype=bool)
    kept = []  # arrays of positions, in the order kept
    n_kept = 0
    stop = 0
    while stop < m:
        start = stop
        if pairs is None:  # bounded memory: block x (kept + block) pairs
            stop = min(start + max(16, min(BLOCK, DENSE_PAIRS // (n_kept + BLOCK))), m)
        else:
            stop = min(start + BLOCK, m)
        if pairs is not None:
            lo, hi = np.searchsorted(pair_b, [start, stop])
            a, b = pair_a[lo:hi], pair_b[lo:hi]
        else:  # every kept box and every earlier box of the block, densely
            block = np.arange(start, stop)
            others = np.concatenate([np.flatnonzero(is_kept[:start]), block])
            a = np.repeat(others[None, :], block.shape[0], 0).ravel()
            b = np.repeat(block, others.shape[0])
            earlier = a < b
            a, b = a[earlier], b[earlier]
            meet = _meeting(cx, cy, radius, labels, a, b)
            a, b = a[meet], b[meet]
        dead = np.zeros(stop - start, dtype=bool)
        before = a < start
        # the block against the kept boxes
        ka, kb = a[before], b[before]
        chosen = is_kept[ka]
        ka, kb = ka[chosen], kb[chosen]
        if ka.shape[0]:
            hit = _polygon_iou_pairs(corners_x, corners_y, areas, ka, kb) > iou_threshold
            dead[kb[hit] - start] = True
        # the survivors against each other (a before b), resolved in order of a: when
        # a's pairs come, nothing later can change a's fate
        ia, ib = a[~before], b[~before]
        chosen = ~(dead[ia - start] | dead[ib - start])
        ia, ib = ia[chosen], ib[chosen]
        if ia.shape[0]:
            hit = _polygon_iou_pairs(corners_x, corners_y, areas, ia, ib) > iou_threshold
            ia, ib = ia[hit], ib[hit]
            order = np.argsort(ia, kind="stable")
            for x, y in zip((ia[order] - start).tolist(), (ib[order] - start).tolist()):
                if not dead[x]:
                    dead[y] = True
        alive = np.flatnonzero(~dead)[:max_output - n_kept] + start
        is_kept[alive] = True
        kept.append(alive)
        n_kept += alive.shape[0]
        if n_kept >= max_output:
            break
    return candidates[np.concatenate(kept)]


def _greedy_probiou(geometry, candidates, classes, iou_threshold, max_output):
    return greedy(candidates, classes, max_output,
                  lambda k, rest: _probiou_pairs(geometry, k, rest) > iou_threshold)


# Fast NMS bounds (accel._backends, "fast_nms_rotated"): every compiled backend uses them.
REGULAR_D = 1e-5  # smallest covariance determinant of a regular box
CONDITION = 1e8  # largest (a + b)^2 / d of a regular box
SANE = 1e150  # largest centre coordinate of a regular box


def _distance_cut(iou_threshold):
    """The clamped distance beyond which probiou is surely <= the threshold, or None when
    no distance gives more."""
    bound = -np.log(1.0 + EPS - (1.0 - iou_threshold) * (1.0 - iou_threshold))
    if not bound > 0.0:
        return None
    return bound + 1e-6 * (1.0 + bound)


def _reaches(g, cut):
    """Per box: regular or not, and ``rho`` (0 for an irregular box)."""
    cx, cy, a, b, d = g[:, 0], g[:, 1], g[:, 2], g[:, 3], g[:, 5]
    trace = a + b
    regular = (np.isfinite(g).all(axis=1) & (np.abs(cx) <= SANE) & (np.abs(cy) <= SANE)
               & (d >= REGULAR_D) & (d * CONDITION >= trace * trace))
    rho = np.zeros(g.shape[0])
    if regular.any():
        p = 4.0 * d[regular].min()
        t3 = 0.5 * np.log(p / (p + EPS) + EPS) - 1e-6
        scale = (cut - t3) * (1.0 + 1e-5)
        t, dd = trace[regular], d[regular]
        rho[regular] = 2.0 * np.sqrt(scale * (t + EPS * t / dd))
    return regular, rho


def _probiou_pairs(g, k, i):
    """The reference's ``probiou(g, k, i)`` of the pairs ``(k[j], i[j])``, one array step
    per operation; ``k`` may be one index (a kept box against many)."""
    x1, y1 = g[k, 0], g[k, 1]
    x2, y2 = g[i, 0], g[i, 1]
    a = g[k, 2] + g[i, 2]
    b = g[k, 3] + g[i, 3]
    c = g[k, 4] + g[i, 4]
    spread = a * b - c * c
    spread = np.where(spread < 0.0, 0.0, spread)
    denominator = spread + EPS
    dy, dx = y1 - y2, x1 - x2
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    t3 = np.log(spread / (4.0 * np.sqrt(g[k, 5] * g[i, 5]) + EPS) + EPS) * 0.5
    distance = t1 + t2 + t3
    distance = np.where(distance < EPS, EPS, np.where(distance > 100.0, 100.0, distance))
    return 1.0 - np.sqrt(1.0 - np.exp(-distance) + EPS)


def _near_pairs(g, regular, rho):
    """Pairs (a, b), a < b, of regular boxes within ``rho_a + rho_b`` of each other (None:
    over ``PAIR_BUDGET`` x-overlapping pairs)."""
    members = np.flatnonzero(regular)
    cx, r = g[members, 0], rho[members]
    pad = (np.abs(cx) + r) * 1e-9
    lo, hi = cx - r - pad, cx + r + pad
    by_lo = np.argsort(lo, kind="stable")
    lo_sorted = lo[by_lo]
    count = members.shape[0]
    first = np.arange(count)
    counts = np.maximum(np.searchsorted(lo_sorted, hi[by_lo], side="right") - (first + 1), 0)
    total = int(counts.sum())
    if total > PAIR_BUDGET:
        return None
    a = np.repeat(first, counts)
    b = np.arange(total) - np.repeat(np.cumsum(counts) - counts - first - 1, counts)
    a, b = members[by_lo[a]], members[by_lo[b]]
    a, b = np.minimum(a, b), np.maximum(a, b)
    dx, dy, reach = g[a, 0] - g[b, 0], g[a, 1] - g[b, 1], rho[a] + rho[b]
    near = ~(dx * dx + dy * dy > reach * reach)
    return a[near], b[near]


def _suppress_dense(g, rows, columns, iou_threshold, suppressed):
    """Every pair of a row box and a column box (positions), in blocks: a hit suppresses
    the later box of the pair."""
    width = max(1, min(rows.shape[0], DENSE_PAIRS // max(1, columns.shape[0])))
    for start in range(0, rows.shape[0], width):
        r = rows[start:start + width]
        a = np.repeat(r, columns.shape[0])
        b = np.tile(columns, r.shape[0])
        distinct = a != b
        a, b = np.minimum(a[distinct], b[distinct]), np.maximum(a[distinct], b[distinct])
        hit = _probiou_pairs(g, a, b) > iou_threshold
        suppressed[b[hit]] = True


def _fast(geometry, scores, iou_threshold, score_threshold, max_output):
    candidates = _sorted_candidates(scores, score_threshold)
    if max_output <= 0 or candidates.size == 0:
        return _EMPTY.copy()
    cut = _distance_cut(iou_threshold)
    if cut is None:
        return np.ascontiguousarray(candidates[:max_output], dtype=np.int64)
    g = geometry[candidates]  # position p is candidate p
    m = candidates.shape[0]
    suppressed = np.zeros(m, dtype=bool)
    with np.errstate(all="ignore"):
        regular, rho = _reaches(g, cut)
        pairs = _near_pairs(g, regular, rho)
        everyone = np.arange(m)
        if pairs is None:
            _suppress_dense(g, everyone, everyone, iou_threshold, suppressed)
        else:
            a, b = pairs
            hit = _probiou_pairs(g, a, b) > iou_threshold
            suppressed[b[hit]] = True
            irregular = np.flatnonzero(~regular)
            if irregular.size:
                _suppress_dense(g, irregular, everyone, iou_threshold, suppressed)
    kept = candidates[~suppressed][:max_output]
    return np.ascontiguousarray(kept, dtype=np.int64)


def _greedy(geometry, scores, classes, kind, iou_threshold, score_threshold, max_output):
    candidates = _sorted_candidates(scores, score_threshold)
    if max_output <= 0 or candidates.size == 0:
        return _EMPTY.copy()
    with np.errstate(all="ignore"):
        if kind == POLYGON:
            kept = _greedy_polygon(geometry, candidates, classes, iou_threshold, max_output)
        else:
            kept = _greedy_probiou(geometry, candidates, classes, iou_threshold, max_output)
    return np.ascontiguousarray(kept, dtype=np.int64)


def nms_rotated(geometry, scores, kind, iou_threshold, score_threshold, max_output):
    return _greedy(geometry, scores, None, int(kind), float(iou_threshold),
                   float(score_threshold), int(max_output))


def batched_nms_rotated(geometry, scores, classes, kind, iou_threshold, score_threshold,
                        max_output):
    return _greedy(geometry, scores, classes, int(kind), float(iou_threshold),
                   float(score_threshold), int(max_output))


def fast_nms_rotated(geometry, scores, iou_threshold, score_threshold, max_output):
    return _fast(geometry, scores, float(iou_threshold), float(score_threshold),
                 int(max_output))
