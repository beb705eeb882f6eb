"""NumPy backend: each kept box suppresses the remaining candidates in one vector step.

The remaining set shrinks as clusters are suppressed, so the work is far below
N x kept on clustered detector output. Every IoU is computed elementwise with the same
float64 operations, in the same order, as the pure-Python reference.
"""
import numpy as np

_EMPTY = np.zeros(0, dtype=np.int64)


def _sorted_candidates(scores, score_threshold):
    candidates = np.flatnonzero(scores > score_threshold)
    order = np.argsort(-scores[candidates], kind="stable")
    return candidates[order]


def _iou_one_to_many(boxes, areas, i, others):
    """IoU of box ``i`` with ``boxes[others]``, exactly as the reference computes it."""
    b = boxes[others]
    iw = np.minimum(boxes[i, 2], b[:, 2]) - np.maximum(boxes[i, 0], b[:, 0])
    ih = np.minimum(boxes[i, 3], b[:, 3]) - np.maximum(boxes[i, 1], b[:, 1])
    overlapping = (iw > 0.0) & (ih > 0.0)
    inter = np.where(overlapping, iw * ih, 0.0)
    union = areas[i] + areas[others] - inter
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = inter / union
    return np.where(overlapping & (union > 0.0), ratio, 0.0)


def _areas(boxes):
    with np.errstate(over="ignore"):
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _float64_checked(boxes, scores):
    """The boxes and scores as float64 (float32 converts exactly; NumPy would otherwise
    compute in float32), or None when they fail the value checks of the boundary: every
    coordinate and score finite, x1 <= x2, y1 <= y2."""
    boxes = boxes.astype(np.float64, copy=False)
    scores = scores.astype(np.float64, copy=False)
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()
            and (boxes[:, :2] <= boxes[:, 2:]).all()):
        return None
    return boxes, scores


def _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    checked = _float64_checked(boxes, scores)
    if checked is None:
        return None  # the boundary's answer to a bad value
    boxes, scores = checked
    remaining = _sorted_candidates(scores, score_threshold)
    if max_output == 0 or remaining.size == 0:
        return _EMPTY.copy()
    areas = _areas(boxes)

    def above(i, others):
        with np.errstate(over="ignore", invalid="ignore"):
            return _iou_one_to_many(boxes, areas, i, others) > iou_threshold
    return greedy(remaining, classes, max_output, above)


def greedy(remaining, classes, max_output, above):
    """Greedy NMS over ``remaining`` (candidate indices in visiting order): keep the
    first, drop the rest that ``above(kept, others)`` (a bool array) says it suppresses,
    repeat. ``above`` sees only the candidates of the kept one's class, when ``classes``
    is given. Shared by the axis-aligned and the rotated (probiou) kernels."""
    kept = []
    while remaining.size:
        i = remaining[0]
        kept.append(i)
        if len(kept) == max_output:
            break
        rest = remaining[1:]
        if classes is None:
            suppress = above(i, rest)
        else:
            same = np.flatnonzero(classes[rest] == classes[i])
            suppress = np.zeros(rest.shape[0], dtype=bool)
            suppress[same] = above(i, rest[same])
        remaining = rest[~suppress]
    return np.array(kept, dtype=np.int64)


def nms(boxes, scores, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, None, iou_threshold, score_threshold, max_output)


def batched_nms(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output)


def soft_nms(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output):
    current = scores.copy()
    alive = np.flatnonzero(current >= score_threshold)  # index order
    areas = _areas(boxes)
    selected, selected_scores = [], []
    while alive.size and len(selected) < max_output:
        best = int(np.argmax(current[alive]))  # first maximum: the lower index on ties
        i = alive[best]
        selected.append(i)
        selected_scores.append(current[i])
        alive = np.delete(alive, best)
        with np.errstate(over="ignore", invalid="ignore"):
            overlap = _iou_one_to_many(boxes, areas, i, alive)
        if gaussian:
            hit = overlap > 0.0
            decay = np.exp(-(overlap[hit] * overlap[hit]) / sigma)
        else:
            hit = overlap > iou_threshold
            decay = 1.0 - overlap[hit]
        current[alive[hit]] *= decay
        alive = alive[current[alive] >= score_threshold]
    return np.array(selected, dtype=np.int64), np.array(selected_scores, dtype=np.float64)
