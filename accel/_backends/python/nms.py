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
"""
import math

import numpy as np

GRID_MAX = 64
MAX_CELLS_PER_BOX = 16


def _as_lists(boxes, scores):
    return boxes.tolist(), scores.tolist()


def _areas(box_list):
    return [(x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in box_list]


def _overlaps(a, b, area_a, area_b, iou_threshold):
    """True when IoU(a, b) > iou_threshold, with the IoU of the module contract."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    if iw <= 0.0:
        return False
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if ih <= 0.0:
        return False
    inter = iw * ih
    union = area_a + area_b - inter
    return union > 0.0 and inter / union > iou_threshold


def iou(a, b, area_a, area_b):
    """IoU of the module contract (used by soft-NMS, which needs the value)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    if iw <= 0.0:
        return 0.0
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = area_a + area_b - inter
    return inter / union if union > 0.0 else 0.0


def _sorted_candidates(score_list, score_threshold):
    """Indices with score > score_threshold, by decreasing score, ties by index."""
    candidates = [i for i, s in enumerate(score_list) if s > score_threshold]
    candidates.sort(key=lambda i: -score_list[i])  # list.sort is stable
    return candidates


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
    def __init__(self, box_list, candidates):
        xs1 = [box_list[i][0] for i in candidates]
        ys1 = [box_list[i][1] for i in candidates]
        xs2 = [box_list[i][2] for i in candidates]
        ys2 = [box_list[i][3] for i in candidates]
        self.min_x = min(xs1)
        self.min_y = min(ys1)
        width = sum(x2 - x1 for x1, x2 in zip(xs1, xs2))
        height = sum(y2 - y1 for y1, y2 in zip(ys1, ys2))
        self.nx, self.fx = _axis_cells(self.min_x, max(xs2), width, len(candidates))
        self.ny, self.fy = _axis_cells(self.min_y, max(ys2), height, len(candidates))
        self.cells = [[] for _ in range(self.nx * self.ny)]
        self.wide = []  # kept boxes covering too many cells: checked by everyone

    def _cell_range(self, box):
        if self.nx == 1:
            cx0 = cx1 = 0
        else:
            cx0 = min(self.nx - 1, int((box[0] - self.min_x) * self.fx))
            cx1 = min(self.nx - 1, int((box[2] - self.min_x) * self.fx))
        if self.ny == 1:
            cy0 = cy1 = 0
        else:
            cy0 = min(self.ny - 1, int((box[1] - self.min_y) * self.fy))
            cy1 = min(self.ny - 1, int((box[3] - self.min_y) * self.fy))
        return cx0, cx1, cy0, cy1

    def add(self, index, box):
        cx0, cx1, cy0, cy1 = self._cell_range(box)
        if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_CELLS_PER_BOX:
            self.wide.append(index)
            return
        for cy in range(cy0, cy1 + 1):
            row = cy * self.nx
            for cx in range(cx0, cx1 + 1):
                self.cells[row + cx].append(index)

    def neighbours(self, box, kept):
        """Kept boxes that may overlap ``box`` (with repeats); all kept ones if it is huge."""
        cx0, cx1, cy0, cy1 = self._cell_range(box)
        if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_CELLS_PER_BOX:
            yield from kept
            return
        yield from self.wide
        for cy in range(cy0, cy1 + 1):
            row = cy * self.nx
            for cx in range(cx0, cx1 + 1):
                yield from self.cells[row + cx]


def _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    box_list, score_list = _as_lists(boxes, scores)
    class_list = classes.tolist() if classes is not None else None
    areas = _areas(box_list)
    candidates = _sorted_candidates(score_list, score_threshold)
    kept = []
    if candidates and max_output > 0:
        grid = _Grid(box_list, candidates)
        for i in candidates:
            box = box_list[i]
            suppressed = False
            for k in grid.neighbours(box, kept):
                if class_list is not None and class_list[k] != class_list[i]:
                    continue
                if _overlaps(box_list[k], box, areas[k], areas[i], iou_threshold):
                    suppressed = True
                    break
            if not suppressed:
                kept.append(i)
                if len(kept) == max_output:
                    break
                grid.add(i, box)
    return np.array(kept, dtype=np.int64)


def nms(boxes, scores, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, None, iou_threshold, score_threshold, max_output)


def batched_nms(boxes, scores, classes, iou_threshold, score_threshold, max_output):
    return _greedy(boxes, scores, classes, iou_threshold, score_threshold, max_output)


def soft_nms(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output):
    box_list, current = _as_lists(boxes, scores)
    areas = _areas(box_list)
    alive = [i for i, s in enumerate(current) if s >= score_threshold]  # index order
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
            overlap = iou(box_list[i], box_list[j], areas[i], areas[j])
            if gaussian:
                if overlap > 0.0:
                    current[j] *= math.exp(-(overlap * overlap) / sigma)
            elif overlap > iou_threshold:
                current[j] *= 1.0 - overlap
            if current[j] >= score_threshold:
                survivors.append(j)
        alive = survivors
    return np.array(selected, dtype=np.int64), np.array(selected_scores, dtype=np.float64)
