"""C backend through cffi: thin wrappers over csrc/*.c; runs on CPython and PyPy."""
from .nms import batched_nms, nms, soft_nms
from .preprocess import letterbox, preprocess, to_tensor
from .decode import decode_boxes, decode_detect, decode_scan, scale_boxes
from .masks import process_masks
from .rotated import batched_nms_rotated, fast_nms_rotated, nms_rotated
