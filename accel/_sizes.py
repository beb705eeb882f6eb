"""What the "size" of an input is, per kernel, and one realistic size for each kernel.

The dispatcher and a tuning profile choose a backend by the size of a call's input. Each
kernel family counts it in the unit its cost grows with:

- ``boxes``: ``nms``, ``batched_nms``, ``soft_nms``, ``scale_boxes``, ``nms_rotated``,
  ``batched_nms_rotated``, ``fast_nms_rotated`` (N, the rows given);
- ``anchors``: the decoders and ``postprocess`` (A, the detector output's anchor axis:
  one per grid cell for YOLOv8/11, three for YOLOv5; 8400 at a 640 px YOLOv8 input);
- ``pixels``: ``letterbox``, ``to_tensor``, ``preprocess`` (h * w of the image given,
  whatever its channels; written ``WxH`` wherever a size is read, e.g. ``1920x1080``);
  ``process_masks`` (the pixels its boxes cover in the target: its work, whatever the
  frame size).

A leaf module: it imports nothing of accel, so every layer can use it.
"""
import operator
from typing import Dict, Optional, Union

BOXES, ANCHORS, PIXELS = "boxes", "anchors", "pixels"
UNITS = (BOXES, ANCHORS, PIXELS)

UNIT = {
    "nms": BOXES, "batched_nms": BOXES, "soft_nms": BOXES,
    "letterbox": PIXELS, "to_tensor": PIXELS, "preprocess": PIXELS,
    "decode_yolov8": ANCHORS, "decode_yolov5": ANCHORS,
    "decode_yolov8_raw": ANCHORS, "decode_yolov5_raw": ANCHORS, "decode_yolov3_raw": ANCHORS,
    "scale_boxes": BOXES, "postprocess": ANCHORS, "process_masks": PIXELS,
    "decode_yolov8_pose": ANCHORS, "decode_yolov8_obb": ANCHORS,
    "nms_rotated": BOXES, "batched_nms_rotated": BOXES, "fast_nms_rotated": BOXES,
}

# One input per kernel as a real-time pipeline meets it: a 1080p camera frame letterboxed
# to a 640 px model, whose YOLOv8 output has 8400 anchors (YOLOv5: 25200); on a busy
# scene about 500 of them pass a 0.25 threshold, so NMS sees about a thousand candidate
# boxes and soft-NMS (run on fewer, it is quadratic) about 500; 300 boxes survive
# (ultralytics' max_det) to be scaled back. `python -m accel.compare` recommends a
# backend per kernel at these sizes.
REALISTIC = {
    "nms": 1000, "batched_nms": 1000, "soft_nms": 500,
    "letterbox": 1920 * 1080, "to_tensor": 640 * 640, "preprocess": 1920 * 1080,
    "decode_yolov8": 8400, "decode_yolov5": 25200,
    "decode_yolov8_raw": 8400, "decode_yolov5_raw": 25200, "decode_yolov3_raw": 25200,
    "scale_boxes": 300, "postprocess": 8400,
    "process_masks": 30 * 120 * 120,  # 30 instances of about 120 x 120 pixels each
    "decode_yolov8_pose": 8400, "decode_yolov8_obb": 21504,  # OBB models run at 1024 px
    "nms_rotated": 2000, "batched_nms_rotated": 2000,  # aerial scenes: many small boxes
    "fast_nms_rotated": 2000,
}

# Frames named in descriptions (w, h): a pixel count alone is hard to recognise.
_FRAMES = ((320, 320), (640, 480), (640, 640), (1280, 720), (1920, 1080), (3840, 2160))

Size = Union[int, str]


def parse(value: Size, kernel: Optional[str], argument: str) -> int:
    """``value`` as a size in the unit of ``kernel`` (a kernel or a unit name; None: any
    unit): a positive integer, its decimal string, or for pixels ``"WxH"``. Errors name
    ``argument``."""
    unit = UNIT.get(kernel, kernel) if kernel is not None else None
    if isinstance(value, str):
        text = value.strip().lower()
        parts = text.split("x")
        if text.isdigit():
            number = int(text)
        elif len(parts) == 2 and all(p.isdigit() for p in parts):
            if unit not in (None, PIXELS):
                raise ValueError("%s=%r: WxH counts pixels (the image kernels); %s counts %s"
                                 % (argument, value, "this size" if kernel == unit else kernel,
                                    unit))
            number = int(parts[0]) * int(parts[1])
        else:
            raise ValueError("%s=%r is not a size: give a positive integer%s"
                             % (argument, value, " or WxH (e.g. 1920x1080)"
                                if unit in (None, PIXELS) else ""))
    else:
        if isinstance(value, bool):
            raise TypeError("%s must be an integer size, got %r" % (argument, value))
        try:
            number = operator.index(value)
        except TypeError:
            raise TypeError("%s must be an integer size, got %s %r"
                            % (argument, type(value).__name__, value)) from None
    if number < 1:
        raise ValueError("%s must be positive, got %r" % (argument, value))
    return number


def describe(kernel: str, size: int) -> str:
    """``size`` in words: "1000 boxes", "8400 anchors", "1920x1080 (2.07 MP)"."""
    unit = UNIT[kernel]
    if unit != PIXELS:
        return "%d %s" % (size, unit)
    for w, h in _FRAMES:
        if w * h == size:
            return "%dx%d (%.2f MP)" % (w, h, size / 1e6)
    return "%d pixels%s" % (size, " (%.2f MP)" % (size / 1e6) if size >= 10000 else "")


def kernels_by_unit() -> Dict[str, tuple]:
    """``{unit: kernels counted in it}``, for help texts."""
    return {unit: tuple(k for k, u in UNIT.items() if u == unit) for unit in UNITS}
