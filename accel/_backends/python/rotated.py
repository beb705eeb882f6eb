"""Pure-Python rotated NMS: the readable reference of ``nms_rotated``,
``batched_nms_rotated`` and ``fast_nms_rotated`` (contracts in ``accel._rotated``;
boundary in ``accel._backends``).

Greedy, as ``nms``: candidates above the score threshold by decreasing score (ties by
index), each kept unless a kept box (of its class, for the batched form) has an IoU with
it strictly above the threshold. Fast NMS (ultralytics' OBB NMS): the same order, each
kept unless any earlier candidate, kept or not, has a probiou with it strictly above the
threshold; every earlier candidate is tested (no pruning: the compiled backends skip
pairs they prove cannot reach the threshold, and must agree with this loop). The public
layer has already turned each rotated box into the numbers its IoU needs (corners or a
covariance), so this module does arithmetic only: + - * / and, for probiou, sqrt, log
and exp.
"""
import math

from ._shared import ndarray, plain_ints, values

POLYGON, PROBIOU = 0, 1
POLYGON_COLUMNS, PROBIOU_COLUMNS = 12, 6
EPS = 1e-7  # ultralytics' probiou epsilon


def clip_polygon(px, py, qx, qy):
    """The convex polygon P (counter-clockwise vertex lists) cut to the inside of the
    counter-clockwise quadrilateral Q, one edge of Q at a time (Sutherland-Hodgman). A
    vertex on an edge counts as inside."""
    for edge in range(4):
        ax, ay = qx[edge], qy[edge]
        nxt = edge + 1 if edge < 3 else 0
        ex, ey = qx[nxt] - ax, qy[nxt] - ay
        count = len(px)
        if count == 0:
            break
        out_x, out_y = [], []
        sx, sy = px[count - 1], py[count - 1]
        s_side = ex * (sy - ay) - ey * (sx - ax)
        for i in range(count):
            cx, cy = px[i], py[i]
            c_side = ex * (cy - ay) - ey * (cx - ax)
            if c_side >= 0.0:
                if s_side < 0.0:
                    t = s_side / (s_side - c_side)
                    out_x.append(sx + t * (cx - sx))
                    out_y.append(sy + t * (cy - sy))
                out_x.append(cx)
                out_y.append(cy)
            elif s_side >= 0.0:
                t = s_side / (s_side - c_side)
                out_x.append(sx + t * (cx - sx))
                out_y.append(sy + t * (cy - sy))
            sx, sy, s_side = cx, cy, c_side
        px, py = out_x, out_y
    return px, py


def polygon_area(px, py):
    """Shoelace area, positive for a counter-clockwise polygon; 0 below 3 vertices."""
    count = len(px)
    if count < 3:
        return 0.0
    total = 0.0
    for i in range(count):
        j = i + 1 if i + 1 < count else 0
        total += px[i] * py[j] - px[j] * py[i]
    return 0.5 * total


def polygon_iou(g, k, i):
    """IoU of boxes k and i from their geometry rows (``g`` flat, 12 per box): 0 when
    their circles do not meet, else intersection area over union."""
    a, b = k * POLYGON_COLUMNS, i * POLYGON_COLUMNS
    dx, dy = g[a + 8] - g[b + 8], g[a + 9] - g[b + 9]
    reach = g[a + 10] + g[b + 10]
    if dx * dx + dy * dy > reach * reach:
        return 0.0
    px, py = [g[a], g[a + 2], g[a + 4], g[a + 6]], [g[a + 1], g[a + 3], g[a + 5], g[a + 7]]
    qx, qy = [g[b], g[b + 2], g[b + 4], g[b + 6]], [g[b + 1], g[b + 3], g[b + 5], g[b + 7]]
    ix, iy = clip_polygon(px, py, qx, qy)
    inter = polygon_area(ix, iy)
    if inter < 0.0:
        inter = 0.0
    union = g[a + 11] + g[b + 11] - inter
    return inter / union if union > 0.0 else 0.0


def probiou(g, k, i):
    """ultralytics' probabilistic IoU of boxes k and i from their geometry rows (``g``
    flat, 6 per box: cx, cy, a, b, c, d)."""
    p, q = k * PROBIOU_COLUMNS, i * PROBIOU_COLUMNS
    x1, y1, x2, y2 = g[p], g[p + 1], g[q], g[q + 1]
    a = g[p + 2] + g[q + 2]
    b = g[p + 3] + g[q + 3]
    c = g[p + 4] + g[q + 4]
    spread = a * b - c * c
    if spread < 0.0:  # rounding of two degenerate boxes; ultralytics would give NaN
        spread = 0.0
    denominator = spread + EPS
    dy, dx = y1 - y2, x1 - x2
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5
    t3 = math.log(spread / (4.0 * math.sqrt(g[p + 5] * g[q + 5]) + EPS) + EPS) * 0.5
    distance = t1 + t2 + t3
    if distance < EPS:
        distance = EPS
    elif distance > 100.0:
        distance = 100.0
    return 1.0 - math.sqrt(1.0 - math.exp(-distance) + EPS)


def _candidates(scores, score_threshold):
    candidates = [i for i in range(len(scores)) if scores[i] > score_threshold]
    candidates.sort(key=scores.__getitem__, reverse=True)  # stable: ties by index
    return candidates


def _greedy(geometry, scores, classes, kind, iou_threshold, score_threshold, max_output):
    g = values(geometry)
    score_list = values(scores)
    overlap = polygon_iou if kind == POLYGON else probiou
    kept = []
    if max_output <= 0:
        return ndarray(kept, "int64")
    for i in _candidates(score_list, score_threshold):
        suppressed = False
        for k in kept:
            if classes is not None and classes[k] != classes[i]:
                continue
            if overlap(g, k, i) > iou_threshold:
                suppressed = True
                break
        if not suppressed:
            kept.append(i)
            if len(kept) >= max_output:
                break
    return ndarray(kept, "int64")


def nms_rotated(geometry, scores, kind, iou_threshold, score_threshold, max_output):
    return _greedy(geometry, scores, None, int(kind), float(iou_threshold),
                   float(score_threshold), int(max_output))


def batched_nms_rotated(geometry, scores, classes, kind, iou_threshold, score_threshold,
                        max_output):
    return _greedy(geometry, scores, plain_ints(values(classes)), int(kind),
                   float(iou_threshold), float(score_threshold), int(max_output))


def fast_nms_rotated(geometry, scores, iou_threshold, score_threshold, max_output):
    g = values(geometry)
    iou_threshold = float(iou_threshold)
    max_output = int(max_output)
    kept = []
    if max_output <= 0:
        return ndarray(kept, "int64")
    order = _candidates(values(scores), float(score_threshold))
    for position, i in enumerate(order):
        for k in order[:position]:
            if probiou(g, k, i) > iou_threshold:
                break
        else:
            kept.append(i)
            if len(kept) >= max_output:
                break
    return ndarray(kept, "int64")
