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
one C kernel called three ways: each language gets its own fastest form of the same
decisions, and the measured forms differ. Greedy NMS on 20 000 clustered boxes
(``python -m accel.compare --kernels nms,batched_nms --sizes 1000,20000``, one run, x86
development VM) takes 1.33 ms in Cython (radix sort, 8-box unrolled grid nodes that the C
compiler vectorises), 2.49 ms in C through cffi (a grid of single boxes) and 3.81 ms in
Numba (linked lists in integer arrays: LLVM 11 of Numba 0.56 keeps the unrolled node
scalar); at 1000 boxes the order is the same. The boundary costs differ too: a cffi call
costs a few microseconds of ``ffi.from_buffer`` per array, a Cython call a memoryview
acquisition, a Numba call its type dispatch, and only cffi runs on PyPy. Three ports,
cross-checked bit for bit by one conformance suite, also catch each other's bugs: an
error in a shared kernel would be invisible. Each port keeps the reference's arithmetic
and decisions, so the answers stay identical.

The boundary. Every array argument is validated by the public layer before a backend
sees it: native byte order, C-contiguous, read-only inputs; writable outputs.

NMS family (contracts and IoU in ``accel._nms``):

``nms(boxes, scores, iou_threshold, score_threshold, max_output) -> int64 (K,)``
``batched_nms(boxes, scores, classes, iou_threshold, score_threshold, max_output) -> int64 (K,)``
``soft_nms(boxes, scores, gaussian, sigma, iou_threshold, score_threshold, max_output)
-> (int64 (K,), float64 (K,))``

    ``boxes`` float64 (N, 4), ``scores`` float64 (N,), ``classes`` int64 (N,);
    thresholds are Python floats (``score_threshold`` is ``-inf`` when the user gave
    none) and ``max_output`` an int in ``[0, N]``.

Preprocessing family (formulas in ``accel._preprocess``):

``letterbox(src, out, xcols, xw, yrows, yw, top, left, pad) -> None``
``to_tensor(src, out, channel_map, mean, scale) -> None``
``preprocess(src, out, xcols, xw, yrows, yw, top, left, pad, channel_map, mean, scale) -> None``

    ``src`` uint8 (h, w, C). ``letterbox`` fills ``out`` uint8 (H, W, C); ``to_tensor``
    and ``preprocess`` fill ``out`` float32 (C, H, W). The resized image lands at rows
    ``top:top+len(yrows)``, columns ``left:left+len(xcols)``; every other pixel is
    ``pad`` (uint8, one per channel). Resize tables int32: ``xcols``/``xw`` (W', 2),
    ``yrows``/``yw`` (H', 2); ``channel_map`` int32 (C,), ``mean``/``scale`` float32 (C,).

Decoding family (contracts in ``accel._decode_common``):

``decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
threshold, multi_label) -> (anchors int64 (K,), classes int64 (K,), scores (K,))``
``scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height) -> (K, 4)``
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
    "to_tensor": ("preprocess", ("src", "out", "channel_map", "mean", "scale")),
    "preprocess": ("preprocess", ("src", "out", "xcols", "xw", "yrows", "yw", "top", "left",
                                  "pad", "channel_map", "mean", "scale")),
    "decode_scan": ("decode", ("data", "n_anchors", "anchor_stride", "channel_stride",
                               "cls_offset", "nc", "obj_offset", "threshold", "multi_label")),
    "scale_boxes": ("decode", ("boxes", "gain_x", "gain_y", "pad_x", "pad_y", "clip", "width",
                               "height")),
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
