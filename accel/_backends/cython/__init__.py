"""Cython backend: the reference compiled ahead of time, kernels without the GIL.

On x86-64 the NMS module is also built for AVX2 (``nms_avx2``, the same source; see
setup.py's ``avx2_twins``) and loaded instead of the baseline build on a CPU that runs
it. ``ACCEL_CYTHON_AVX2=0`` keeps the baseline build (to compare the two, or to rule
the twin out). ``NMS_BUILD`` says which one runs.
"""
import os

from . import nms as _nms

NMS_BUILD = "baseline"
if _nms.cpu_has_avx2() and os.environ.get("ACCEL_CYTHON_AVX2", "1") != "0":
    try:
        from . import nms_avx2 as _nms
    except ImportError:  # a build without the twin (ACCEL_NATIVE=1, not x86-64, clang-cl)
        pass
    else:
        NMS_BUILD = "avx2"

batched_nms, nms, soft_nms = _nms.batched_nms, _nms.nms, _nms.soft_nms
from .preprocess import letterbox, preprocess, to_tensor  # noqa: E402
from .decode import decode_boxes, decode_detect, decode_scan, scale_boxes  # noqa: E402
from .masks import process_masks  # noqa: E402
from .rotated import batched_nms_rotated, fast_nms_rotated, nms_rotated  # noqa: E402
