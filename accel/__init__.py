"""accel: the CPU side of real-time object detection, fast on every machine.

Every kernel has five interchangeable backends (python, numpy, numba, cython, cffi)
behind one dispatcher::

    from accel import nms
    keep = nms(boxes, scores, 0.45)                 # default backend for this interpreter
    keep = nms(boxes, scores, 0.45, backend="numpy")
    with accel.use_backend("cffi"): ...
    dets = accel.postprocess(output, "yolov8", letterbox=info)  # decode + NMS + unletterbox
    print(accel.backends())                         # what loads here, and why not

Importing accel loads no backend: each is imported on first use (Numba compiles then,
and caches the machine code on disk).
"""
from typing import Optional, Sequence

from ._dispatch import (
    BACKEND_NAMES,
    KERNELS,
    BackendInfo,
    BackendUnavailableError,
    available_backends,
    backends,
    explain,
    reload_profile,
    use_backend,
)
from ._decode_heads import decode_yolov5, decode_yolov8
from ._decode_raw import decode_yolov3_raw, decode_yolov5_raw, decode_yolov8_raw
from ._decode_tasks import decode_yolov8_obb, decode_yolov8_pose
from ._geometry import LetterboxInfo
from ._masks import process_masks
from ._nms import batched_nms, nms, soft_nms
from ._rotated import batched_nms_rotated, fast_nms_rotated, nms_rotated
from ._pipeline import Pipeline
from ._postprocess import postprocess
from ._preprocess import letterbox, preprocess, to_tensor
from ._scale_boxes import scale_boxes
from ._version import __version__


def tune(quick: bool = False, path: Optional[str] = None,
         kernels: Optional[Sequence[str]] = None) -> str:
    """Measure every kernel on every backend here and save the tuning profile.

    Later calls that make no explicit backend choice use the fastest backend that gave
    the reference answer for the nearest measured size. Returns the profile's path.
    Same as ``python -m accel.compare --save`` (``--quick`` for ``quick=True``).
    """
    from .compare.cli import tune as _tune  # the measuring tool, loaded only when asked for

    return _tune(quick=quick, path=path, kernels=kernels)


__all__ = [
    "BACKEND_NAMES",
    "KERNELS",
    "BackendInfo",
    "BackendUnavailableError",
    "available_backends",
    "backends",
    "explain",
    "reload_profile",
    "tune",
    "LetterboxInfo",
    "Pipeline",
    "batched_nms",
    "batched_nms_rotated",
    "decode_yolov8_obb",
    "decode_yolov8_pose",
    "fast_nms_rotated",
    "nms_rotated",
    "decode_yolov5",
    "decode_yolov3_raw",
    "decode_yolov5_raw",
    "decode_yolov8",
    "decode_yolov8_raw",
    "postprocess",
    "process_masks",
    "scale_boxes",
    "letterbox",
    "preprocess",
    "to_tensor",
    "nms",
    "soft_nms",
    "use_backend",
]
