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


def _xywh2xyxy(box):
    xy, half = box[:, :2], box[:, 2:4] / 2
    return np.concatenate([xy - half, xy + half], axis=1)


def _split_decode(x, candidates, nc_scores, conf, multi_label):
    """ultralytics' ``non_max_suppression`` after its candidate gate, step for step:
    ``box, cls = x.split((4, nc), 1)``; multi-label ``torch.where(cls > conf)``, else
    ``cls.max(1)`` (first maximum) and ``conf.view(-1) > conf_thres``."""
    box = _xywh2xyxy(x[:, :4])
    if multi_label:
        i, j = np.nonzero(nc_scores > conf)
        return box[i], nc_scores[i, j], j.astype(np.int64), candidates[i]
    j = np.argmax(nc_scores, axis=1)
    best = np.take_along_axis(nc_scores, j[:, None], axis=1)[:, 0]
    keep = best > conf
    return box[keep], best[keep], j[keep].astype(np.int64), candidates[keep]


def ultralytics_decode_v8(pred, conf, multi_label=False):
    """The decode stage of ultralytics' ``non_max_suppression`` for a YOLOv8/11 output
    ``(1, 4 + nc, A)``, rendered in NumPy: ``(boxes, scores, classes, anchors)``."""
    gate = pred[0, 4:].max(axis=0) > conf  # xc = prediction[:, 4:mi].amax(1) > conf_thres
    candidates = np.flatnonzero(gate)
    x = pred[0].T[candidates]
    return _split_decode(x, candidates, x[:, 4:], conf, multi_label)


def ultralytics_decode_v5(pred, conf, multi_label=False):
    """The same for a YOLOv5 output ``(1, A, 5 + nc)``: objectness gate, then class scores
    times objectness (``x[:, 5:] *= x[:, 4:5]``) in the output's dtype."""
    candidates = np.flatnonzero(pred[0, :, 4] > conf)
    x = pred[0][candidates]
    return _split_decode(x, candidates, x[:, 5:] * x[:, 4:5], conf, multi_label)
