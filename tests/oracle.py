"""Brute-force NMS written straight from the contract, to check the reference backend.

Deliberately naive: every kept box is compared with every later candidate, and batched
NMS really runs NMS once per class and merges. No grid, no early exits.
"""
import numpy as np


def contract_iou(a, b):
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    if iw == 0.0 or ih == 0.0:
        return 0.0
    inter = iw * ih
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def greedy_nms(boxes, scores, iou_threshold, score_threshold=None, max_output=None):
    boxes = np.asarray(boxes, dtype=np.float64).tolist()
    scores = np.asarray(scores, dtype=np.float64).tolist()
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    if score_threshold is not None:
        order = [i for i in order if scores[i] > score_threshold]
    suppressed = set()
    keep = []
    for position, i in enumerate(order):
        if i in suppressed:
            continue
        if max_output is not None and len(keep) == max_output:
            break
        keep.append(i)
        for j in order[position + 1:]:
            if contract_iou(boxes[i], boxes[j]) > iou_threshold:
                suppressed.add(j)
    return np.array(keep, dtype=np.int64)


def per_class_nms(boxes, scores, classes, iou_threshold, score_threshold=None, max_output=None):
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    classes = np.asarray(classes)
    kept = []
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        kept.extend(members[greedy_nms(boxes[members], scores[members], iou_threshold, score_threshold)])
    kept.sort(key=lambda i: (-scores[i], i))
    return np.array(kept[:max_output], dtype=np.int64)
