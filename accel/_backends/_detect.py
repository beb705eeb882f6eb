"""``decode_detect`` from a backend's own ``decode_scan`` and ``decode_boxes``: the
boundary function for backends that do not fuse the two (see ``accel._backends``)."""
import math

import numpy as np


def first_bad_box(data, anchors, anchor_stride, channel_stride, boxes) -> int:
    """The first row of ``boxes`` whose anchor holds a NaN or infinity among its four box
    channels, or -1. Only rows with a non-finite corner are read again: a non-finite
    channel makes its corners so, while a huge finite box can overflow them."""
    for row in np.flatnonzero(~np.isfinite(boxes).all(axis=1)).tolist():
        at = int(anchors[row]) * anchor_stride
        if not all(math.isfinite(data[at + c * channel_stride]) for c in range(4)):
            return row
    return -1


def detect_by_parts(decode_scan, decode_boxes, data, n_anchors, anchor_stride, channel_stride,
                    cls_offset, nc, obj_offset, threshold, multi_label, check_finite):
    anchors, classes, scores, first_bad = decode_scan(
        data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset, threshold,
        multi_label, check_finite)
    if first_bad >= 0:
        return anchors[:0], classes[:0], scores[:0], np.empty((0, 4), data.dtype), first_bad, -1
    boxes = decode_boxes(data, anchors, anchor_stride, channel_stride)
    box_bad = first_bad_box(data, anchors, int(anchor_stride), int(channel_stride), boxes) \
        if check_finite else -1
    return anchors, classes, scores, boxes, first_bad, box_bad
