"""Public decoding kernels: detector outputs to boxes, scores and classes.

Backend boundary (every module in ``accel._backends`` implements these two names):

``decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
threshold, multi_label) -> (anchors int64 (K,), classes int64 (K,), scores (K,))``

    ``data`` is a 1-D, C-contiguous, read-only float32 or float64 array holding one
    image's (or one level's) prediction; channel ``ch`` of anchor ``a`` is
    ``data[a * anchor_stride + ch * channel_stride]`` (strides in elements, >= 0, every
    index in range). The score of class ``c`` (``0 <= c < nc``, ``nc >= 1``) is channel
    ``cls_offset + c``. With ``obj_offset >= 0``, an anchor whose objectness (channel
    ``obj_offset``) is not ``> threshold`` is skipped, and each class score is multiplied
    by the objectness in the data's dtype (float32 * float32 rounded to float32).
    Single-label: an anchor's score is the largest class score, its class the first class
    holding it (scanning classes upwards with a strict ``>``); it is kept when
    ``score > threshold``. Multi-label: every (anchor, class) pair with
    ``score > threshold``. Results in increasing anchor order, then increasing class;
    ``scores`` in the data's dtype. ``threshold`` is a Python float exactly representable
    in the data's dtype, so comparing in either precision gives the same decision.
    Finite data gives identical results on every backend; non-finite data (only reachable
    with ``check_finite=False``) gives unspecified kept sets but never a crash.

``scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height) -> (K, 4)``

    ``boxes`` is a C-contiguous, read-only (K, 4) float32 or float64 array of x1, y1, x2,
    y2. Each x becomes ``(x - pad_x) / gain_x`` and each y ``(y - pad_y) / gain_y``,
    computed in float64; with ``clip``, a value ``< 0`` becomes ``0.0`` and a value
    ``> width`` (``> height`` for y) becomes ``width`` (``height``), by those two
    comparisons (so ``-0.0`` stays ``-0.0``); then rounded to the boxes' dtype. Returns a
    new array of that dtype: bit-identical on every backend.

Everything else (the box arithmetic of the K kept rows, sigmoids and the DFL softmax of raw
heads, the NMS step of ``postprocess``) is NumPy code shared by every backend, so the
float results of the decoders are bit-identical across backends by construction: the
backends own the O(nc x anchors) scan, which is where the time goes.
"""
