"""``process_masks`` against independent renderings of ultralytics' formulas.

The conformance suite (kernels.py) proves that every backend returns the reference's bits.
Here the reference itself is checked: against a float64 NumPy rendering that computes the
logits with a matmul and interpolates whole maps with interpolation matrices (another
summation order, so pixels may differ only where the logit is within the stated
tolerance of 0), against ultralytics' prototype-window formula of ``scale_masks``, and
against torch where it is installed.
"""
import numpy as np
import pytest

import accel
from accel.compare.workloads import segmentation_output


def _interpolation_matrix(out_size, in_size):
    """(out_size, in_size) weights of ``F.interpolate(..., mode="bilinear",
    align_corners=False)`` along one axis, from torch's documented formula."""
    matrix = np.zeros((out_size, in_size))
    scale = in_size / out_size
    for i in range(out_size):
        src = max((i + 0.5) * scale - 0.5, 0.0)
        lo = int(np.floor(src))
        hi = min(lo + 1, in_size - 1)
        frac = src - lo
        matrix[i, lo] += 1 - frac
        matrix[i, hi] += frac
    return matrix


def ultralytics_float64(protos, coeffs, boxes, target, window=None):
    """Logits (K, H, W) and the cropped masks of ultralytics' formulas, in float64:
    ``coeffs @ protos``, the prototype window, bilinear upsampling, ``crop_mask``."""
    protos = np.asarray(protos, np.float64)
    channels, mh, mw = protos.shape
    logits = (np.asarray(coeffs, np.float64) @ protos.reshape(channels, -1)).reshape(-1, mh, mw)
    top, left, bottom, right = window or (0, 0, mh, mw)
    logits = logits[:, top:bottom, left:right]
    height, width = target
    rows = _interpolation_matrix(height, bottom - top)
    cols = _interpolation_matrix(width, right - left)
    up = np.matmul(np.matmul(rows, logits), cols.T)  # (H, r) @ (K, r, c) @ (c, W)
    b = np.asarray(boxes, np.float64)
    x = np.arange(width)[None, None, :]
    y = np.arange(height)[:, None][None]
    inside = ((x >= b[:, 0, None, None]) & (x < b[:, 2, None, None])
              & (y >= b[:, 1, None, None]) & (y < b[:, 3, None, None]))
    return up, (up > 0) & inside, inside


def scale_masks_window(proto_shape, frame_shape):
    """ultralytics ``scale_masks``: the prototype rows and columns kept, from the frame
    size as if the letterbox padding were centred."""
    mh, mw = proto_shape
    gain = min(mh / frame_shape[0], mw / frame_shape[1])
    pad_w, pad_h = (mw - frame_shape[1] * gain) / 2, (mh - frame_shape[0] * gain) / 2
    return int(pad_h), int(pad_w), int(mh - pad_h), int(mw - pad_w)


def _tolerance(protos, coeffs, relative):
    """``relative * S`` per detection, S = sum_c |coeffs[k, c]| * max |protos[c]|."""
    scale = np.abs(np.asarray(coeffs, np.float64)) @ np.abs(protos).reshape(len(protos), -1).max(1)
    return relative * scale[:, None, None]


def _assert_close_to_reference(masks, logits, expected, inside, tolerance):
    differ = masks != expected
    assert not (differ & ~inside).any(), "a pixel outside its box is on"
    assert (np.abs(logits[differ]) <= np.broadcast_to(tolerance, differ.shape)[differ]).all()
    return int(differ.sum())


@pytest.mark.parametrize("count", [5, 30])
def test_input_masks_match_float64_ultralytics(count):
    seg = segmentation_output(count, seed=count)
    masks = accel.process_masks(seg.protos, seg.coeffs, seg.boxes, shape=seg.input_shape)
    logits, expected, inside = ultralytics_float64(seg.protos, seg.coeffs, seg.boxes,
                                                   seg.input_shape)
    assert expected.sum() > 0.5 * inside.sum()  # realistic: masks fill their boxes
    differ = _assert_close_to_reference(masks, logits, expected, inside,
                                        _tolerance(seg.protos, seg.coeffs, 1e-9))
    assert differ <= 2, differ  # counted: in practice none


@pytest.mark.parametrize("frame_shape", [(1080, 1920), (720, 1280), (480, 640), (500, 777),
                                         (1920, 1080)])
def test_native_masks_match_float64_ultralytics(frame_shape):
    seg = segmentation_output(10, input_size=320, frame_shape=frame_shape, seed=7)
    window = scale_masks_window(seg.protos.shape[1:], frame_shape)
    masks = accel.process_masks(seg.protos, seg.coeffs, seg.frame_boxes, letterbox=seg.info)
    assert masks.shape == (10,) + frame_shape
    logits, expected, inside = ultralytics_float64(seg.protos, seg.coeffs, seg.frame_boxes,
                                                   frame_shape, window)
    differ = _assert_close_to_reference(masks, logits, expected, inside,
                                        _tolerance(seg.protos, seg.coeffs, 1e-9))
    assert differ <= 2, differ


def test_compact_masks_are_the_full_masks_cut_to_their_boxes():
    seg = segmentation_output(12, seed=2)
    full = accel.process_masks(seg.protos, seg.coeffs, seg.boxes, shape=seg.input_shape)
    masks, origins = accel.process_masks(seg.protos, seg.coeffs, seg.boxes,
                                         shape=seg.input_shape, compact=True)
    assert origins.dtype == np.int64 and origins.shape == (12, 2)
    for k, (mask, (x, y)) in enumerate(zip(masks, origins)):
        h, w = mask.shape
        np.testing.assert_array_equal(mask, full[k, y:y + h, x:x + w])
        assert full[k].sum() == mask.sum()  # nothing on outside the box


def test_out_is_filled_in_place_and_reused():
    seg = segmentation_output(6, seed=4)
    out = np.ones((6, 640, 640), dtype=bool)
    result = accel.process_masks(seg.protos, seg.coeffs, seg.boxes, shape=seg.input_shape, out=out)
    assert result is out
    np.testing.assert_array_equal(out, accel.process_masks(seg.protos, seg.coeffs, seg.boxes,
                                                           shape=seg.input_shape))
    with pytest.raises(ValueError, match="out"):
        accel.process_masks(seg.protos, seg.coeffs, seg.boxes, shape=(320, 320), out=out)
    with pytest.raises(TypeError, match="out"):
        accel.process_masks(seg.protos, seg.coeffs, seg.boxes, shape=seg.input_shape,
                            out=out.view(np.uint8))


def test_inputs_are_not_modified(candidate):
    seg = segmentation_output(5, seed=5)
    copies = [a.copy() for a in (seg.protos, seg.coeffs, seg.frame_boxes)]
    accel.process_masks(seg.protos, seg.coeffs, seg.frame_boxes, letterbox=seg.info,
                        backend=candidate)
    for before, after in zip(copies, (seg.protos, seg.coeffs, seg.frame_boxes)):
        np.testing.assert_array_equal(before, after)


def test_peak_memory_is_the_output_for_100_native_masks(candidate):
    """No K x H x W float intermediate: 100 masks on a 1080p frame allocate the bool
    output and less than 10% more. NumPy reports its allocations to tracemalloc; the
    compiled backends' scratch (a few rows of one box, from malloc or Numba's runtime)
    is not seen by it, and is bounded by their code instead."""
    tracemalloc = pytest.importorskip(
        "tracemalloc", reason="PyPy has no tracemalloc; the bound is checked on CPython")
    try:
        tracemalloc.start()
        tracemalloc.stop()
    except Exception as exc:  # an interpreter whose tracemalloc does not trace
        pytest.skip("tracemalloc unusable here: %s" % (exc,))
    seg = segmentation_output(100, seed=6)
    output_bytes = 100 * 1080 * 1920
    tracemalloc.start()
    try:
        masks = accel.process_masks(seg.protos, seg.coeffs, seg.frame_boxes, letterbox=seg.info,
                                    backend=candidate)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert masks.nbytes == output_bytes
    assert peak <= 1.1 * output_bytes, peak / output_bytes


def test_against_torch_where_installed():
    torch = pytest.importorskip("torch", reason="torch is not installed (optional peer)")
    import torch.nn.functional as F

    seg = segmentation_output(30, seed=8)
    protos, coeffs, boxes = (torch.from_numpy(a) for a in (seg.protos, seg.coeffs, seg.boxes))
    logits = (coeffs @ protos.view(protos.shape[0], -1)).view(-1, *protos.shape[1:])
    up = F.interpolate(logits[None], seg.input_shape, mode="bilinear", align_corners=False)[0]
    reference, expected, inside = ultralytics_float64(seg.protos, seg.coeffs, seg.boxes,
                                                      seg.input_shape)
    torch_masks = ((up.numpy() > 0) & inside)
    masks = accel.process_masks(seg.protos, seg.coeffs, seg.boxes, shape=seg.input_shape)
    tolerance = _tolerance(seg.protos, seg.coeffs, 1e-5)
    _assert_close_to_reference(masks, reference, expected, inside, tolerance)
    _assert_close_to_reference(torch_masks, reference, expected, inside, tolerance)


def _seg_output(head, anchors=2000, nc=3, channels=32, seed=0):
    """A detection output with mask coefficients after the class scores."""
    rng = np.random.default_rng(seed)
    first = 4 if head == "yolov8" else 5
    boxes = np.concatenate([rng.uniform(40, 600, (2, anchors)), rng.uniform(8, 200, (2, anchors))])
    rest = rng.uniform(0, 1, (first - 4 + nc, anchors)) ** 4
    coeffs = rng.normal(0, 1, (channels, anchors))
    pred = np.concatenate([boxes, rest, coeffs]).astype(np.float32)[None]
    return pred if head == "yolov8" else np.ascontiguousarray(pred.transpose(0, 2, 1))


@pytest.mark.parametrize("head", ["yolov8", "yolov5"])
@pytest.mark.parametrize("native", [False, True], ids=["input", "frame"])
def test_postprocess_segmentation_is_detections_then_masks(head, native):
    seg = segmentation_output(1, seed=9)
    preds = np.concatenate([_seg_output(head, seed=s) for s in range(2)])
    protos = np.stack([seg.protos, seg.protos[::-1].copy()])
    info = seg.info if native else None
    results = accel.postprocess(preds, head + "-seg", protos=protos, letterbox=info)
    plain = accel.postprocess(preds, head, nc=3, letterbox=info)
    assert len(results) == 2
    for (detections, masks), expected, image_protos in zip(results, plain, protos):
        np.testing.assert_array_equal(detections, expected[:, :6])
        assert len(detections) > 0
        options = {"letterbox": info} if native else {"shape": (640, 640)}
        np.testing.assert_array_equal(
            masks, accel.process_masks(image_protos, expected[:, 6:], expected[:, :4], **options))


def test_postprocess_segmentation_refuses_inconsistent_input():
    seg = segmentation_output(1)
    pred = _seg_output("yolov8")
    with pytest.raises(ValueError, match="protos"):
        accel.postprocess(pred, "yolov8-seg")
    with pytest.raises(ValueError, match="protos"):
        accel.postprocess(pred, "yolov8-seg", protos=np.stack([seg.protos] * 2))
    with pytest.raises(ValueError, match="nc=5"):
        accel.postprocess(pred, "yolov8-seg", protos=seg.protos, nc=5)
    with pytest.raises(ValueError, match="protos"):
        accel.postprocess(pred, "yolov8", protos=seg.protos)
    with pytest.raises(ValueError, match="mask coefficients"):
        accel.postprocess(pred[:, :30], "yolov8-seg", protos=seg.protos)
