"""The backends, and the boundary every one of them implements whole.

Layout: one package per backend, the same module names in each::

    accel/_backends/python/   nms.py  preprocess.py  decode.py   the readable reference
    accel/_backends/numpy/    nms.py  preprocess.py  decode.py
    accel/_backends/numba/    nms.py  preprocess.py  decode.py   + _shared.py (jit, PyPy guard)
    accel/_backends/cython/   nms.pyx preprocess.pyx decode.pyx
    accel/_backends/cffi/     nms.py  preprocess.py  decode.py   + _shared.py; C in csrc/FAMILY.c

Each package's ``__init__`` exports the functions of ``BOUNDARY`` and nothing else. The
dispatcher imports a backend on first use and checks it against ``BOUNDARY``
(``missing_functions``): a backend lacking a function, or taking other parameters, does
not load at all, and ``accel.backends()`` says why. There are no partial backends.

Why the Cython, Numba and C backends are independent ports of the reference rather than
one C kernel called three ways. Measured with ``python -m accel.compare --kernels
nms,batched_nms --sizes 1000,20000 --backends numba,cython,cffi`` (one run, 2-vCPU x86
VM, CPython 3.11; clustered candidates):

=====================  ========  ========  ========
median per call        Numba     Cython    C (cffi)
=====================  ========  ========  ========
nms, N=1000            98.6 us   79.8 us   101.5 us
nms, N=20000           10.52 ms  3.18 ms   5.52 ms
batched_nms, N=1000    121.1 us  92.3 us   85.4 us
batched_nms, N=20000   4.23 ms   2.73 ms   4.23 ms
=====================  ========  ========  ========

- Cython calling the C kernel would be the C kernel: 1.7x slower at 20 000 boxes. The
  Cython port's grid nodes hold 8 kept boxes as columns, tested without branches, which
  the C compiler vectorises; the C port copies each kept box into an array of structs
  per cell and tests one box at a time. The forms were tuned separately and the
  measurements, not a design rule, pick the winner per size (``accel.tune()``).
- Numba calling the C kernel would be faster at 20 000 boxes (5.5 ms instead of 10.5 ms),
  but it would then need what the C kernel needs, a compiler at install time, and a
  Numba backend exists for the machines where that build failed or is unwanted: Numba
  comes as a wheel. Where the C build worked, the cffi backend already is that kernel.
- cffi is the only compiled backend that runs on PyPy, so the C port must stand alone.
- Independent ports cross-check each other: the conformance suite compares every one
  with the pure-Python reference, bit for bit, and a bug in one shared kernel would be
  invisible to it.

The boundary. Every array argument is checked by the public layer before a backend
sees it: native byte order and C-contiguous; outputs writable. Inputs are read-only
arrays, except those of ``nms`` and ``batched_nms`` below, which may be the caller's own
writable arrays: a backend only ever reads its inputs.

NMS family (contracts and IoU in ``accel._nms``):

``nms(boxes, scores, iou_threshold, score_threshold, max_output) -> int64 (K,) or None``
``batched_nms(boxes, scores, classes, iou_threshold, score_threshold, max_output)
-> int64 (K,) or None``
``soft_nms(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output)
-> (int64 (K,), float64 (K,))``

    ``nms`` and ``batched_nms``: ``boxes`` (N, 4) and ``scores`` (N,) each float32 or
    float64 (independently: the dtype the caller gave when it was one of these, else
    float32 for float16 and float64 for the other real dtypes), ``classes`` int64 (N,).
    Their values are NOT checked by the public layer: the backend checks every box
    (finite, x1 <= x2, y1 <= y2) and every score (finite), whatever ``score_threshold``
    and ``max_output``, in its first pass over them, and returns ``None`` instead of a
    result if any fails (a sentinel, not an exception: a backend imports nothing of
    accel outside itself); the public layer then finds the first bad value and raises
    the error it always raised (``accel._validate``). Every computation is in
    float64 (float32 -> float64 is exact): the same values give the same result in
    either dtype.

    ``soft_nms``: ``boxes`` float64 (N, 4), ``scores`` float64 (N,), read-only, values
    checked by the public layer.

    Thresholds are Python floats (``score_threshold`` is ``-inf`` when the user gave
    none) and ``max_output`` an int in ``[0, N]``.

Preprocessing family (formulas in ``accel._preprocess``):

``letterbox(src, out, xcols, xw, yrows, yw, top, left, pad) -> None``
``to_tensor(src, out, channel_map, mean, scale, table, layout) -> None``
``preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale, table,
layout) -> None``

    ``src`` uint8 (h, w, C). ``letterbox`` fills ``out`` uint8 (H, W, C). The resized
    image lands at rows ``top:top+len(yrows)``, columns ``left:left+len(xcols)``; every
    other pixel is ``pad`` (uint8, one per channel). Resize tables int32: ``xcols``/``xw``
    (W', 2), ``yrows``/``yw`` (H', 2); ``channel_map`` int32 (C,), ``mean``/``scale``
    float32 (C,).

    ``to_tensor`` and ``preprocess`` fill ``out``, (C, H, W) when ``layout`` is
    ``"nchw"``, (H, W, C) when it is ``"nhwc"``. Output channel ``c`` reads the (resized
    or padding) pixel ``px`` of input channel ``channel_map[c]``, and holds:

    - ``table`` None: ``out`` float32, ``(float32(px) - mean[c]) * scale[c]`` (two
      float32 roundings, no FMA);
    - else ``table`` (C, 256), uint8 or uint16, read-only, C-contiguous: ``out`` has its
      dtype and holds ``table[c, px]`` (``mean`` and ``scale`` are not used). The public
      layer passes float16 and int8 tensors and their tables as uint16 and uint8: a
      backend copies entries and never needs the dtype. A uint8 table whose every row is
      ``0..255`` (the pixels themselves) may take a copy-only path.

Decoding family (contracts in ``accel._decode_common``):

``decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
threshold, multi_label, check_finite) -> (anchors int64 (K,), classes int64 (K,), scores (K,),
first_bad int)``

    ``first_bad``: with ``check_finite``, the lowest anchor holding a NaN or infinity
    among the values the scan reads (the class scores; with objectness, the objectness of
    every anchor and the class scores of those whose objectness passes), else -1; when it
    is >= 0 the arrays are unspecified and the public layer raises. The compiled scans
    test while they read, so the default ``check_finite=True`` costs no second pass.

    Integer ``data`` (int8 or uint8: the codes of a quantized output): ``threshold`` is a
    Python int, a code cut-off (kept iff ``code > threshold``, compared as integers: it
    may lie outside the dtype, -129 for int8 keeping every code), ``obj_offset`` is -1
    (a backend raises ``ValueError`` otherwise) and ``check_finite`` False; the result
    is ``(anchors, classes, codes in data's dtype, -1)``: the float scan's rules (largest
    code, first class holding it; multi-label: every code above the cut-off) on the codes.
``decode_boxes(data, anchors, anchor_stride, channel_stride) -> (K, 4)``

    The corners of the anchors ``anchors`` (int64 (K,), each < the output's anchor count;
    any order, repeats allowed) of ``data`` as ``decode_scan`` reads it: channels 0..3 of
    an anchor are cx, cy, w, h, and row i is ``cx - w / 2, cy - h / 2, cx + w / 2, cy + h /
    2`` of ``anchors[i]``, each operation in ``data``'s dtype (float32 or float64; ``w /
    2`` is exact), a new C-contiguous array of that dtype: bit-identical on every
    backend. The decoders call it for the anchors the scan kept (one compiled pass
    instead of NumPy's gather, arithmetic and transposing copy: 9 us of a 130 us decode).
    A NaN or infinity among the four channels gives a non-finite row, which is how the
    public layer's ``check_finite`` finds it (then it looks for the exact value).
``decode_detect(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
threshold, multi_label, check_finite) -> (anchors, classes, scores, boxes (K, 4), first_bad,
box_bad)``

    ``decode_scan`` (float data only) and ``decode_boxes`` of the anchors it kept, in one
    call: the default decode of a detector's output, where the compiled backends save a
    second call, its gather of the kept anchors and the public layer's test of the boxes.
    When ``first_bad >= 0`` every array is empty. ``box_bad``: with ``check_finite``, the
    first row whose anchor holds a NaN or infinity among its four box channels (the
    channel values, not the corners, which a huge finite box may overflow), else -1.
    The python, numpy and numba backends compose their own two functions
    (``accel._backends._detect``).
``scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height) -> (K, 4)``

Masks family (contract in ``accel._masks``):

``process_masks(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left, rows,
cols, out) -> None``

    ``protos`` float32 (C, mh, mw); ``coeffs`` float64 (K, C); ``windows`` int64 (K, 4)
    of target pixel ranges ``x0, y0, x1, y1`` (``x0 <= x`` < ``x1``, ``y0 <= y < y1``,
    all >= 0; empty when ``x0 >= x1`` or ``y0 >= y1``); ``offsets`` and ``strides`` int64
    (K,): target pixel (x, y) of detection k is ``out[offsets[k] + (y - y0) * strides[k]
    + (x - x0)]`` of ``out``, a writable 1-D uint8 array. The prototype window sampled is
    rows ``top:top + rows``, columns ``left:left + cols`` of the map (``rows, cols >= 1``,
    inside it); ``scale_y``, ``scale_x`` are positive Python floats. Each backend writes
    1 or 0 to every pixel of every window and touches nothing else; every window's
    samples stay inside the prototype window. All arithmetic is float64, in this order
    (C without FMA contraction), so every backend is bit-identical:

    - source position along an axis of n source cells, for target index i:
      ``p = (i + 0.5) * scale - 0.5``, ``p = 0.0`` if ``p < 0.0``; ``i0 = int(p)``;
      ``i1 = i0 + 1`` if ``i0 < n - 1`` else ``i0``; ``f = p - i0``; weights
      ``(1.0 - f, f)``;
    - logit of prototype pixel (r, c) of the window, for detection k: ``0.0 + coeffs[k, 0]
      * protos[0, top + r, left + c] + coeffs[k, 1] * protos[1, ...] + ...`` in channel
      order;
    - target value ``wy0 * (wx0 * L[r0][c0] + wx1 * L[r0][c1]) + wy1 * (wx0 * L[r1][c0] +
      wx1 * L[r1][c1])``; the pixel is 1 iff value > 0.0.

Rotated family (contracts in ``accel._rotated``):

``nms_rotated(geometry, scores, kind, iou_threshold, score_threshold, max_output) -> int64 (K,)``
``batched_nms_rotated(geometry, scores, classes, kind, iou_threshold, score_threshold,
max_output) -> int64 (K,)``

    Greedy, with the NMS family's rules (candidates ``score > score_threshold`` by
    decreasing score, ties by index; suppressed by a kept box of its class with IoU
    ``> iou_threshold``; stop at ``max_output``). ``scores`` float64 (N,), ``classes``
    int64 (N,), read-only, C-contiguous, validated. ``geometry`` float64, one row per
    box, built by the public layer (so the backends need no cos/sin):

    - ``kind == 0`` (polygon), (N, 12): corners ``x0, y0, x1, y1, x2, y2, x3, y3``
      counter-clockwise, centre ``cx, cy``, circle radius ``r``, area. IoU of boxes k
      (kept) and i (candidate): 0 if ``dx*dx + dy*dy > (r_k + r_i)^2`` (``dx = cx_k -
      cx_i``); else k's quadrilateral clipped by i's four edges in order
      (Sutherland-Hodgman; ``side = ex * (py - ay) - ey * (px - ax)``, inside when ``>=
      0``; a crossing at ``t = s_side / (s_side - c_side)``, point ``s + t * (c - s)``),
      shoelace area ``0.5 * sum(x_j * y_j+1 - x_j+1 * y_j)`` (0 below 3 vertices; a
      negative area is 0), ``inter / (area_k + area_i - inter)``, 0 when that union is
      not > 0. The exact operation order is the reference's
      (``accel._backends.python.rotated``): bit-identical on every backend.
    - ``kind == 1`` (probiou), (N, 6): ``cx, cy, a, b, c, d`` (covariance terms and
      ``d = max(a*b - c*c, 0)``); IoU as ``probiou`` in the reference (log, exp, sqrt:
      may differ in the last bit between libm and NumPy).

``fast_nms_rotated(geometry, scores, iou_threshold, score_threshold, max_output) -> int64 (K,)``

    ultralytics' fast NMS: the candidates (``score > score_threshold``) by decreasing
    score, ties by index; a candidate is kept unless an earlier candidate, kept or not,
    has ``probiou(earlier, candidate) > iou_threshold``; stop at ``max_output`` kept.
    ``geometry`` is the probiou geometry (N, 6) above, class offsets already added to
    the centres by the public layer; ``scores`` float64 (N,). The reference tests every
    earlier candidate. A compiled backend may skip a pair only when it proves, from
    bounds that hold in floating point, that the pair's computed probiou is
    ``<= iou_threshold``; it computes every other pair as the reference does (so the
    result is the reference's, up to libm against NumPy as for ``kind == 1``). The
    bounds every compiled backend uses:

    - ``D_cut = D_thr + 1e-6 * (1 + D_thr)``, ``D_thr = -log(1 + eps - (1 - t)^2)``
      (``t = iou_threshold``, ``eps = 1e-7``): every clamped distance ``>= D_cut`` gives
      a probiou below ``t`` by far more than rounding. ``D_thr <= 0``: nothing is
      suppressed.
    - ``t3 >= 0.5 * log(eps) - 1e-9`` for every pair, and, for a pair of "regular" boxes,
      ``t3 >= 0.5 * log(p / (p + eps) + eps) - 1e-6`` with ``p = 4 * min d`` over the
      regular boxes (Minkowski: ``det(S1 + S2) >= 4 sqrt(det S1 det S2)``). A box is
      regular when its values and centre are finite, ``|cx|, |cy| <= 1e150``,
      ``d >= 1e-5`` and ``d * 1e8 >= (a + b)^2`` (aspect ratio under about 1e4, which
      bounds the rounding of the cancelling sums below).
    - A pair whose computed ``t1 + t2`` (the reference's operations) plus its ``t3``
      bound is ``>= D_cut`` is skipped before the log, exp and sqrt.
    - Two regular boxes are skipped unseen when their centres are more than ``rho_k +
      rho_i`` apart: ``rho = 2 sqrt(C * s)``, ``s = (a + b) + eps * (a + b) / d``, ``C =
      (D_cut - t3 bound) * (1 + 1e-5)``. (``t1 + t2 >= |dxy|^2 L / (4 (L H + eps))`` with
      ``L`` the sum of the two ``d / (a + b)``, lower bounds of the smallest eigenvalues,
      and ``H`` the sum of the traces; the 1e-5 covers rounding.) Irregular boxes are
      compared with every other box.
"""
from typing import Dict, List, Tuple

BACKEND_NAMES = ("python", "numpy", "numba", "cython", "cffi")

# Every backend function: family, name and parameter names, in order.
BOUNDARY: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "nms": ("nms", ("boxes", "scores", "iou_threshold", "score_threshold", "max_output")),
    "batched_nms": ("nms", ("boxes", "scores", "classes", "iou_threshold", "score_threshold",
                            "max_output")),
    "soft_nms": ("nms", ("boxes", "scores", "gaussian", "sigma", "iou_threshold",
                         "score_threshold", "max_output")),
    "letterbox": ("preprocess", ("src", "out", "xcols", "xw", "yrows", "yw", "top", "left",
                                 "pad")),
    "to_tensor": ("preprocess", ("src", "out", "channel_map", "mean", "scale", "table",
                                 "layout")),
    "preprocess": ("preprocess", ("src", "out", "xcols", "xw", "yrows", "yw", "top", "left",
                                  "pad", "channel_map", "mean", "scale", "table", "layout")),
    "decode_scan": ("decode", ("data", "n_anchors", "anchor_stride", "channel_stride",
                               "cls_offset", "nc", "obj_offset", "threshold", "multi_label",
                               "check_finite")),
    "decode_boxes": ("decode", ("data", "anchors", "anchor_stride", "channel_stride")),
    "decode_detect": ("decode", ("data", "n_anchors", "anchor_stride", "channel_stride",
                                 "cls_offset", "nc", "obj_offset", "threshold", "multi_label",
                                 "check_finite")),
    "scale_boxes": ("decode", ("boxes", "gain_x", "gain_y", "pad_x", "pad_y", "clip", "width",
                               "height")),
    "process_masks": ("masks", ("protos", "coeffs", "windows", "offsets", "strides", "scale_y",
                                "scale_x", "top", "left", "rows", "cols", "out")),
    "nms_rotated": ("rotated", ("geometry", "scores", "kind", "iou_threshold", "score_threshold",
                                "max_output")),
    "batched_nms_rotated": ("rotated", ("geometry", "scores", "classes", "kind", "iou_threshold",
                                        "score_threshold", "max_output")),
    "fast_nms_rotated": ("rotated", ("geometry", "scores", "iou_threshold", "score_threshold",
                                     "max_output")),
}
FAMILIES = tuple(dict.fromkeys(family for family, _ in BOUNDARY.values()))



def parameter_names(function) -> Tuple[str, ...]:
    import inspect  # only when a backend loads: ``import accel`` stays light

    return tuple(inspect.signature(function).parameters)


def missing_functions(module) -> List[str]:
    """What ``module`` lacks of ``BOUNDARY``, one line each; empty when it is whole."""
    problems = []
    for name, (family, parameters) in BOUNDARY.items():
        function = getattr(module, name, None)
        if not callable(function):
            problems.append("no %s() (%s family)" % (name, family))
            continue
        try:
            found = parameter_names(function)
        except (TypeError, ValueError):
            found = None  # no signature to read: trust the conformance suite
        if found is not None and found != parameters:
            problems.append("%s(%s) instead of %s(%s)"
                            % (name, ", ".join(found), name, ", ".join(parameters)))
    return problems
