"""Decoding kernels' rows of the conformance table and their shared input cases.

Every accepted case is run on every backend and must give the reference's results bit
for bit (the decoders' floats come from shared NumPy code; the backends decide what is
kept); every rejected one (cases.py) must raise the given exception, naming the argument.
"""
import numpy as np

import accel
from accel.compare import workloads as wl
from accel import _quant
from cases import reject

INFO_1080P = accel._geometry.letterbox_geometry((1080, 1920), 320)


def _with(array, index, value):
    """A copy of ``array`` with one element (flat ``index``) set to ``value``."""
    array = np.array(array)
    array.reshape(-1)[index] = value
    return array


def _nhwc(array):
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1))


def _at(array, index, value):
    """A copy of ``array`` with the element at ``index`` (a tuple) set to ``value``."""
    array = np.array(array)
    array[index] = value
    return array


def non_finite(argument, index, named=None, **inputs):
    """Refused for a NaN or infinity that ``check_finite`` covers (accel._decode_common):
    found by the backend's scan or in what it kept, so checked on every backend, with the
    message naming the value's ``index`` and the way to skip the check."""
    return reject(ValueError, argument, "has a NaN or infinite value at index %s "
                  "(check_finite=False skips this check)" % (index,), named=named,
                  after_dispatch=True, **inputs)


def _best_and_worst(maxima, threshold):
    """The anchor with the highest value of ``maxima`` (kept) and one below ``threshold``."""
    assert maxima.max() > threshold and maxima.min() <= threshold
    return int(maxima.argmax()), int(maxima.argmin())


def _v8_ties():
    """16 anchors, 4 classes: equal maxima, signed zeros, scores exactly at 0.25 and at
    float32(0.1) (above the threshold 0.1 only after rounding), then 8 anchors that no
    threshold keeps (more anchors than channels, as in every real output)."""
    scores = np.array([
        [0.5, 0.5, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25], [-0.0, 0.0, 0.0, -0.0],
        [0.1, 0.3, 0.3, 0.2], [0.0, 0.0, 0.0, 0.9], [np.float32(0.1), 0.0, 0.0, 0.0],
        [0.2500001, 0.0, 0.0, 0.2500001], [1.0, 1.0, 0.0, 0.0]] + [[0.0] * 4] * 8, np.float32)
    boxes = np.array([[10, 20, 8, 6]] * 16, np.float32) + np.arange(16, dtype=np.float32)[:, None]
    return np.concatenate([boxes, scores], axis=1).T.copy()


def yolov8_cases():
    real = wl.yolov8_output(320, nc=80, seed=1)
    seg = np.concatenate([real[0], np.random.default_rng(2).normal(size=(32, 2100))]).astype(np.float32)
    ties = _v8_ties()
    best, worst = _best_and_worst(real[0, 4:].max(0), 0.25)
    cases = {
        "realistic": dict(pred=real),
        "realistic-2d-float64": dict(pred=real[0].astype(np.float64), conf_threshold=0.3),
        "float16": dict(pred=real.astype(np.float16), conf_threshold=0.2),
        "transposed-view": dict(pred=np.ascontiguousarray(real[0].T).T),
        "anchors-first-declared": dict(pred=np.ascontiguousarray(real[0].T), anchor_axis=-2),
        "anchors-first-declared-batch-axis": dict(pred=real.transpose(0, 2, 1), anchor_axis=-2),
        "few-anchors-declared": dict(pred=ties[:, :5], anchor_axis=-1, conf_threshold=0.1),
        "segmentation-extras": dict(pred=seg, nc=80),
        "classes-filter": dict(pred=real, classes=list(range(0, 80, 2))),
        "ties-0.25": dict(pred=ties, conf_threshold=0.25),
        "ties-0.1": dict(pred=ties, conf_threshold=0.1),
        "ties-0": dict(pred=ties, conf_threshold=0.0),
        "threshold-1": dict(pred=ties, conf_threshold=1.0),
        "one-class": dict(pred=ties[:5]),
        "no-anchors": dict(pred=np.zeros((84, 0), np.float32)),
        "unchecked-finite": dict(pred=real, check_finite=False),
        "unchecked-nan-score": dict(pred=_at(real, (0, 9, 5), np.nan), check_finite=False),
        # check_finite covers the scores the scan reads and the box and extra channels
        # of kept anchors: a NaN in the box of an anchor not kept changes nothing.
        "nan-box-of-unkept-anchor": dict(pred=_at(ties, (2, 11), np.nan)),
        "inf-box-of-unkept-anchor": dict(pred=_at(ties, (3, 13), -np.inf)),
        "nan-extra-of-unkept-anchor": dict(pred=_at(seg, (90, worst), np.nan), nc=80),
        # Refused on what the scan read, or on a kept anchor's channels: every backend.
        "nan-score": non_finite("pred", (5, 3), pred=_at(ties, (5, 3), np.nan)),
        "inf-score-of-unkept-anchor": non_finite("pred", (6, 12),
                                                 pred=_at(ties, (6, 12), np.inf)),
        "neg-inf-score-batch-axis": non_finite("pred", (0, 83, 2099),
                                               pred=_at(real, (0, 83, 2099), -np.inf)),
        "two-nans-lowest-anchor": non_finite(
            "pred", (7, 1), pred=_at(_at(ties, (7, 1), np.nan), (4, 2), np.nan)),
        "nan-box-of-kept-anchor": non_finite("pred", (2, 4), pred=_at(ties, (2, 4), np.nan)),
        "inf-box-of-kept-anchor-batch-axis": non_finite(
            "pred", (0, 0, best), pred=_at(real, (0, 0, best), np.inf)),
        "nan-extra-of-kept-anchor": non_finite("pred", (100, best),
                                               pred=_at(seg, (100, best), np.nan), nc=80),
        "anchors-first-nan-box-of-kept-anchor": non_finite(
            "pred", (best, 1), pred=_at(np.ascontiguousarray(real[0].T), (best, 1), np.nan),
            anchor_axis=-2),
        # Rejected by the public layer, before any backend runs.
        "int-dtype": reject(TypeError, "pred", "float", pred=ties.astype(np.int32)),
        "batch-of-2": reject(ValueError, "pred", "batch", pred=np.stack([ties, ties])),
        "1-d": reject(ValueError, "pred", pred=ties[0]),
        "nc-too-big": reject(ValueError, "nc", pred=ties, nc=5),
        # Anchors first, (1, A, 4 + nc): refused with the fix, never decoded as junk.
        "anchors-first": reject(ValueError, "pred", "transpose(0, 2, 1)", "anchor_axis=-2",
                                pred=np.ascontiguousarray(real.transpose(0, 2, 1))),
        "anchors-first-2d": reject(ValueError, "pred", "pred.T",
                                   pred=np.ascontiguousarray(real[0].T)),
        "few-anchors": reject(ValueError, "pred", "anchor_axis=-1", pred=ties[:, :5]),
        "anchor-axis-0": reject(ValueError, "anchor_axis", pred=real, anchor_axis=0),
        "nc-zero": reject(ValueError, "nc", pred=ties, nc=0),
        "only-box-channels": reject(ValueError, "pred", pred=ties[:4]),
        "threshold-negative": reject(ValueError, "conf_threshold", pred=ties, conf_threshold=-0.1),
        "threshold-above-1": reject(ValueError, "conf_threshold", pred=ties, conf_threshold=1.5),
        "threshold-nan": reject(ValueError, "conf_threshold", pred=ties, conf_threshold=float("nan")),
        "class-out-of-range": reject(ValueError, "classes", pred=ties, classes=[4]),
    }
    return sorted({**cases, **quantized_v8_cases()}.items())


def yolov5_cases():
    real = wl.yolov5_output(320, nc=80, seed=1)
    scores = real[0, :, 5:] * real[0, :, 4:5]
    best, worst = _best_and_worst(np.where(real[0, :, 4] > 0.25, scores.max(1), 0), 0.25)
    rows = np.array([
        [5, 5, 2, 2, 0.25, 0.9, 0.1],        # objectness exactly at the threshold
        [5, 5, 2, 2, 0.2500001, 1.0, 1.0],   # product ties
        [5, 5, 2, 2, 0.3, 0.84, 0.8333334],  # products that round to the same float32
        [5, 5, 2, 2, 1.0, 0.25, 0.2500001],
        [5, 5, 2, 2, 0.9, -0.0, 0.0],
        [5, 5, 2, 2, 0.5, 0.5, 0.50000006],
    ], np.float32)
    cases = {
        "realistic": dict(pred=real),
        "realistic-float64": dict(pred=real[0].astype(np.float64), conf_threshold=0.4),
        "segmentation-extras": dict(pred=np.concatenate(
            [real, np.ones((1, real.shape[1], 3), np.float32)], axis=2), nc=80),
        "classes-filter": dict(pred=real, classes=list(range(0, 80, 2))),
        # Fewer anchors than channels: anchor_axis=-2 confirms the format's order.
        "crafted-0.25": dict(pred=rows, anchor_axis=-2),
        "crafted-0.2": dict(pred=rows, conf_threshold=0.2, anchor_axis=-2),
        "crafted-0": dict(pred=rows, conf_threshold=0.0, anchor_axis=-2),
        "no-anchors": dict(pred=np.zeros((0, 85), np.float32)),
        "anchors-last-declared": dict(pred=np.ascontiguousarray(real.transpose(0, 2, 1)),
                                      anchor_axis=-1),
        # Anchors last, (1, 5 + nc, A): refused with the fix, never decoded as junk.
        "anchors-last": reject(ValueError, "pred", "transpose(0, 2, 1)", "anchor_axis=-1",
                               pred=np.ascontiguousarray(real.transpose(0, 2, 1))),
        "few-anchors": reject(ValueError, "pred", "anchor_axis=-2", pred=rows),
        # An anchor whose objectness is <= the threshold has its class (and box) channels
        # skipped, untested: a NaN there cannot change the result.
        "nan-class-of-skipped-anchor": dict(pred=_at(rows, (0, 5), np.nan), anchor_axis=-2),
        "nan-box-of-skipped-anchor": dict(pred=_at(rows, (0, 1), np.nan), anchor_axis=-2),
        "inf-box-of-unkept-anchor": dict(pred=_at(real, (0, worst, 2), np.inf)),
        # Refused on what the scan read, or on a kept anchor's channels: every backend.
        "nan-class": non_finite("pred", (1, 6), pred=_at(rows, (1, 6), np.nan),
                                anchor_axis=-2),
        "nan-objectness": non_finite("pred", (2, 4), pred=_at(rows, (2, 4), np.nan),
                                     anchor_axis=-2),
        "inf-objectness-batch-axis": non_finite("pred", (0, worst, 4),
                                                pred=_at(real, (0, worst, 4), np.inf)),
        "nan-box-of-kept-anchor": non_finite("pred", (3, 1), pred=_at(rows, (3, 1), np.nan),
                                             anchor_axis=-2),
        "inf-box-of-kept-anchor-anchors-last": non_finite(
            "pred", (0, 3, best), pred=_at(real.transpose(0, 2, 1), (0, 3, best), -np.inf),
            anchor_axis=-1),
        # Rejected by the public layer, before any backend runs.
        "no-class-channel": reject(ValueError, "pred", "class", pred=rows[:, :5]),
        "no-objectness": reject(ValueError, "pred", "objectness", pred=rows[:, :4]),
        "wrong-ndim": reject(ValueError, "pred", pred=rows[None, None]),
    }
    return sorted({**cases, **quantized_v5_cases()}.items())


def split_levels(levels, box_channels=64, score_sum=False):
    """Concatenated levels as (box, cls[, score_sum]) branch tuples."""
    return [(level[:, :box_channels], level[:, box_channels:])
            + ((np.zeros((1, 1) + level.shape[2:], np.float32),) if score_sum else ())
            for level in levels]


def sigmoided(levels, first=None, count=None):
    """Float32 levels with the sigmoid applied to channels ``first .. first + count - 1``
    of axis 1 (all when not given)."""
    out = []
    for level in levels:
        level = np.array(level)
        part = level[:, first:None if count is None else first + count]
        level[:, first:None if count is None else first + count] = 1.0 / (1.0 + np.exp(-part))
        out.append(level)
    return out


def quantized(levels, scale, zero_point, dtype):
    """Levels quantized with one (scale, zero_point) each: ``(codes, quant)``."""
    params = _quant.quant_params((scale, zero_point), "quant", dtype)
    return [_quant.quantize(level, params) for level in levels], [(scale, zero_point)] * len(levels)


def yolov8_raw_cases():
    levels = wl.yolov8_raw_levels(320, nc=20, seed=1)
    int8, int8_quant = quantized(levels, 0.1, 5, np.int8)
    rknn, rknn_quant = wl.rknn_yolov8_levels(320, nc=20, seed=1, dtype=np.uint8)
    small = wl.yolov8_raw_levels(64, nc=3, reg_max=8, seed=2)
    nhwc = [np.ascontiguousarray(level.transpose(0, 2, 3, 1)) for level in levels]
    split = split_levels(levels, score_sum=True)
    split_nhwc = [tuple(np.ascontiguousarray(a.transpose(0, 2, 3, 1)) for a in level)
                  for level in split]
    int_cls = [(box, np.zeros(cls.shape, np.int8)) for box, cls, _ in split]
    kept_cell = _best_and_worst(levels[1][0, 64:].max(0).reshape(-1), -1.0986)[0]
    by, bx = divmod(kept_cell, levels[1].shape[3])
    cases = {
        "realistic": dict(levels=levels),
        "nhwc": dict(levels=nhwc, layout="nhwc"),
        "split": dict(levels=[level[:2] for level in split]),
        "split-score-sum": dict(levels=split),
        "split-nhwc": dict(levels=split_nhwc, layout="nhwc"),
        "split-and-concatenated": dict(levels=[split[0], levels[1], split[2][:2]]),
        "split-sigmoid-applied": dict(levels=[(box, sig) for (box, _, _), sig in zip(
            split, sigmoided([cls for _, cls, _ in split]))], sigmoid_applied=True),
        "sigmoid-applied": dict(levels=sigmoided(levels, 64), sigmoid_applied=True,
                                conf_threshold=0.3),
        "no-batch-axis": dict(levels=[level[0] for level in levels]),
        "int8": dict(levels=int8, quant=int8_quant),
        "int8-nhwc-threshold-0": dict(levels=[_nhwc(level) for level in int8], quant=int8_quant,
                                      layout="nhwc", conf_threshold=0.0),
        "uint8-split-rknn": dict(levels=rknn, quant=rknn_quant, sigmoid_applied=True),
        "uint8-split-rknn-threshold-1": dict(levels=rknn, quant=rknn_quant,
                                             sigmoid_applied=True, conf_threshold=1.0),
        "int8-saturated": dict(levels=quantized(levels, 0.02, 0, np.int8)[0],
                               quant=[(0.02, 0)] * 3),
        "reg-max-8-threshold-0": dict(levels=small, reg_max=8, conf_threshold=0.0),
        "reg-max-8-threshold-1": dict(levels=small, reg_max=8, conf_threshold=1.0),
        "float64": dict(levels=[level.astype(np.float64) for level in small], reg_max=8,
                        conf_threshold=0.05),
        "classes-filter": dict(levels=levels, classes=list(range(0, 20, 2))),
        # A box channel of a cell not kept is not tested (accel._decode_common).
        "nan-box-of-unkept-cell": dict(levels=[levels[0], _with(levels[1], 1000, np.nan),
                                               levels[2]]),
        # Refused on what the scan read, or on a kept cell's box: every backend.
        "nan-class-logit": non_finite("levels", (67, 3, 7), named="levels[1]", levels=[
            levels[0], _at(levels[1], (0, 67, 3, 7), np.nan), levels[2]]),
        "inf-box-of-kept-cell": non_finite("levels", (5, by, bx), named="levels[1]", levels=[
            levels[0], _at(levels[1], (0, 5, by, bx), np.inf), levels[2]]),
        "nhwc-nan-box-of-kept-cell": non_finite(
            "levels", (by, bx, 63), named="levels[1]", layout="nhwc",
            levels=[nhwc[0], _at(nhwc[1], (0, by, bx, 63), np.nan), nhwc[2]]),
        # Rejected by the public layer, before any backend runs.
        "wrong-layout": reject(ValueError, "layout", levels=levels, layout="nhwc"),
        "unknown-layout": reject(ValueError, "layout", levels=levels, layout="hwc"),
        "mixed-dtypes": reject(TypeError, "levels",
                               levels=[levels[0], levels[1].astype(np.float64), levels[2]]),
        "split-box-not-4-reg-max": reject(ValueError, "levels", "levels[1][0]", "reg_max",
                                          levels=[split[0], (split[1][0][:, :60], split[1][1]),
                                                  split[2]]),
        "split-nc-differs": reject(ValueError, "levels", "levels[2][1]", levels=[
            split[0], split[1], (split[2][0], split[2][1][:, :19])]),
        "split-grids-differ": reject(ValueError, "levels", "levels[0][1]", levels=[
            (split[0][0], split[0][1][:, :, :20]), split[1], split[2]]),
        "split-score-sum-channels": reject(ValueError, "levels", "levels[0][2]", levels=[
            (split[0][0], split[0][1], split[0][1]), split[1], split[2]]),
        "split-tuple-of-4": reject(ValueError, "levels", "levels[1]", "tuple of 4",
                                   levels=[split[0], split[1] + (split[1][2],), split[2]]),
        "split-tuple-of-1": reject(ValueError, "levels", "levels[0]", "tuple of 1",
                                   levels=[split[0][:1], split[1], split[2]]),
        "strides-reversed": reject(ValueError, "levels", "one input size", levels=levels,
                                   strides=(32, 16, 8)),
        "batch-of-2": reject(ValueError, "levels", "batch", levels=[
            np.concatenate([level, level]) for level in levels]),
        "int-branch-without-quant": reject(TypeError, "levels", "levels[1][1]", "quant[1][1]",
                                           levels=[split[0][:2], int_cls[1], split[2][:2]]),
        "float-branch-with-quant": reject(TypeError, "quant", "quant[0][0]", "float",
                                          levels=int_cls, quant=[((0.1, 0), (0.1, 0))] * 3),
        "int32-level": reject(TypeError, "levels", "int8", levels=[
            levels[0].astype(np.int32), levels[1], levels[2]]),
        "quant-wrong-length": reject(ValueError, "quant", levels=int_cls,
                                     quant=[(None, (0.1, 0))] * 2),
        "quant-one-pair-for-3-levels": reject(ValueError, "quant", "one entry per level",
                                              levels=int_cls, quant=(0.1, 0)),
        "quant-a-number": reject(TypeError, "quant", levels=int_cls, quant=0.1),
        "split-quant-not-a-pair": reject(ValueError, "quant", "quant[0]", levels=int_cls,
                                         quant=[(0.1, 0, 3, 4)] * 3),
        "quant-scale-0": reject(ValueError, "quant", "quant[0][1]", levels=int_cls,
                                quant=[(None, (0.0, 0))] * 3),
        "quant-scale-nan": reject(ValueError, "quant", "quant[0][1]", levels=int_cls,
                                  quant=[(None, (float("nan"), 0))] * 3),
        "quant-scale-negative": reject(ValueError, "quant", "quant[0][1]", levels=int_cls,
                                       quant=[(None, (-0.5, 0))] * 3),
        "quant-zero-point-out-of-range": reject(ValueError, "quant", "quant[0][1]", "[-128, 127]",
                                                levels=int_cls, quant=[(None, (0.1, 128))] * 3),
        "quant-zero-point-fraction": reject(TypeError, "quant", "quant[0][1]", levels=int_cls,
                                            quant=[(None, (0.1, 0.5))] * 3),
        "mixed-float64-and-quantized": reject(TypeError, "levels", levels=[
            (box.astype(np.float64), cls) for box, cls in int_cls], quant=[(None, (0.1, 0))] * 3),
        "strides-mismatch": reject(ValueError, "strides", levels=levels, strides=(8, 16)),
        "stride-0": reject(ValueError, "strides", levels=levels, strides=(0, 16, 32)),
        "reg-max-0": reject(ValueError, "reg_max", levels=small, reg_max=0),
        "one-array": reject(TypeError, "levels", levels=levels[0]),
    }
    return sorted(cases.items())


def yolov5_raw_cases():
    levels = wl.yolov5_raw_levels(320, nc=20, seed=1)
    nhwc = [np.ascontiguousarray(level.transpose(0, 2, 3, 1)) for level in levels]
    # Cells of level 0 whose anchor 1 (channels 25..49) is a candidate, and is not.
    best, worst = _best_and_worst(levels[0][0, 29].reshape(-1), -1.0986)
    (by, bx), (wy, wx) = divmod(best, 40), divmod(worst, 40)
    cases = {
        # The channels of a (cell, anchor) that is not a candidate are not tested.
        "nan-class-of-non-candidate": dict(levels=[_at(levels[0], (0, 31, wy, wx), np.nan),
                                                   levels[1], levels[2]]),
        # Refused on an objectness, or on a candidate's channels: every backend.
        "nan-objectness": non_finite("levels", (29, wy, wx), named="levels[0]", levels=[
            _at(levels[0], (0, 29, wy, wx), np.nan), levels[1], levels[2]]),
        "inf-class-of-candidate": non_finite("levels", (31, by, bx), named="levels[0]", levels=[
            _at(levels[0], (0, 31, by, bx), np.inf), levels[1], levels[2]]),
        "nhwc-nan-box-of-candidate": non_finite(
            "levels", (by, bx, 25), named="levels[0]", layout="nhwc",
            levels=[_at(nhwc[0], (0, by, bx, 25), np.nan), nhwc[1], nhwc[2]]),
        "realistic": dict(levels=levels),
        "nhwc": dict(levels=nhwc, layout="nhwc"),
        "int8": dict(zip(("levels", "quant"), quantized(levels, 0.07, -3, np.int8))),
        "uint8-sigmoid-applied-nhwc": dict(zip(("levels", "quant"), quantized(
            [_nhwc(level) for level in sigmoided(levels)], 1 / 255, 0, np.uint8)),
            sigmoid_applied=True, layout="nhwc"),
        "sigmoid-applied": dict(levels=sigmoided(levels), sigmoid_applied=True),
        "anchors-as-pairs": dict(levels=levels, anchors=np.reshape(wl.YOLOV5_ANCHORS, (3, 3, 2))),
        "threshold-0.6": dict(levels=levels, conf_threshold=0.6),
        "classes-filter": dict(levels=levels, classes=list(range(0, 20, 2))),
        # Rejected by the public layer, before any backend runs.
        "anchors-wrong-shape": reject(ValueError, "anchors", levels=levels,
                                      anchors=wl.YOLOV5_ANCHORS[:2]),
        "anchors-negative": reject(ValueError, "anchors", levels=levels, anchors=-np.ones((3, 6))),
        "channels-not-divisible": reject(ValueError, "levels", "anchors per level", levels=levels,
                                         anchors=np.ones((3, 8))),
    }
    return sorted(cases.items())


def yolov3_raw_cases():
    levels = wl.yolov3_raw_levels(320, nc=20, seed=1)
    nhwc = [np.ascontiguousarray(level.transpose(0, 2, 3, 1)) for level in levels]
    best, worst = _best_and_worst(levels[0][0, 29].reshape(-1), -1.0986)
    (by, bx), (wy, wx) = divmod(best, 40), divmod(worst, 40)
    darknet = []  # the yolo layer's own output: sigmoids except tw, th
    for level in levels:
        level = np.array(level)
        for k in range(3):
            first = k * 25
            for lo, hi in ((first, first + 2), (first + 4, first + 25)):
                level[:, lo:hi] = 1.0 / (1.0 + np.exp(-level[:, lo:hi]))
        darknet.append(level)
    cases = {
        "realistic": dict(levels=levels),
        "yolov3-scale-1": dict(levels=levels, anchors=wl.YOLOV5_ANCHORS, scale_x_y=1.0),
        "one-scale-for-all": dict(levels=levels, scale_x_y=1.1),
        "nhwc": dict(levels=nhwc, layout="nhwc"),
        "sigmoid-applied": dict(levels=darknet, sigmoid_applied=True),
        "uint8": dict(zip(("levels", "quant"), quantized(levels, 0.06, 150, np.uint8))),
        "int8-one-float-level": dict(levels=[quantized(levels[:1], 0.05, 0, np.int8)[0][0],
                                             levels[1], levels[2]],
                                     quant=[(0.05, 0), None, None]),
        "threshold-0.6": dict(levels=levels, conf_threshold=0.6),
        "threshold-0": dict(levels=[level[:, :, :3, :3] for level in levels],
                            strides=(8, 8, 8), conf_threshold=0.0),
        "float64": dict(levels=[level.astype(np.float64) for level in levels]),
        "classes-filter": dict(levels=levels, classes=list(range(0, 20, 2))),
        "huge-tw": dict(levels=[_at(levels[0], (0, 27, by, bx), 800.0), levels[1], levels[2]]),
        "nan-class-of-non-candidate": dict(levels=[_at(levels[0], (0, 31, wy, wx), np.nan),
                                                   levels[1], levels[2]]),
        "nan-objectness": non_finite("levels", (29, wy, wx), named="levels[0]", levels=[
            _at(levels[0], (0, 29, wy, wx), np.nan), levels[1], levels[2]]),
        "inf-tw-of-candidate": non_finite("levels", (27, by, bx), named="levels[0]", levels=[
            _at(levels[0], (0, 27, by, bx), np.inf), levels[1], levels[2]]),
        # Rejected by the public layer, before any backend runs.
        "scale-x-y-0": reject(ValueError, "scale_x_y", levels=levels, scale_x_y=0.0),
        "scale-x-y-nan": reject(ValueError, "scale_x_y", levels=levels, scale_x_y=float("nan")),
        "scale-x-y-two-for-three-levels": reject(ValueError, "scale_x_y", levels=levels,
                                                 scale_x_y=(1.2, 1.1)),
        "split-level": reject(TypeError, "levels", "tuple", levels=[
            (levels[0][:, :40], levels[0][:, 40:]), levels[1], levels[2]]),
        "anchors-wrong-shape": reject(ValueError, "anchors", levels=levels,
                                      anchors=wl.YOLOV4_ANCHORS[:2]),
        "nc-differs": reject(ValueError, "levels", "levels[1]", levels=[
            levels[0], levels[1][:, :72], levels[2]]),
        "int8-without-quant": reject(TypeError, "levels", "quant[2]", levels=[
            levels[0], levels[1], levels[2].astype(np.int8)]),
        "quant-for-float": reject(TypeError, "quant", "quant[0]", levels=levels,
                                  quant=[(0.1, 0), None, None]),
        "quant-uint8-zero-point-negative": reject(
            ValueError, "quant", "quant[2]", levels=[levels[0], levels[1],
                                                     levels[2].clip(0, 255).astype(np.uint8)],
            quant=[None, None, (0.1, -1)]),
    }
    return sorted(cases.items())


def box_cases():
    c = wl.clustered_candidates(400, seed=4)
    boxes = c.boxes * 0.5 + np.float32(-20.0)
    cases = {
        "letterbox-float32": dict(boxes=boxes, info=INFO_1080P),
        "letterbox-float64-noclip": dict(boxes=boxes.astype(np.float64), info=INFO_1080P, clip=False),
        "explicit": dict(boxes=boxes, info=(0.5, (12, 140)), src_shape=(1080, 1920)),
        "explicit-noclip": dict(boxes=boxes, info=(1 / 3, (0.0, 140.5)), clip=False),
        "float16": dict(boxes=boxes.astype(np.float16), info=INFO_1080P),
        "integers": dict(boxes=boxes.astype(np.int16), info=INFO_1080P),
        "lists": dict(boxes=boxes[:5].tolist(), info=INFO_1080P),
        "empty": dict(boxes=np.zeros((0, 4), np.float32), info=INFO_1080P),
        # Rejected by the public layer, before any backend runs.
        "nan": reject(ValueError, "boxes", "NaN", boxes=_with(boxes, 802, np.nan), info=INFO_1080P),
        "five-columns": reject(ValueError, "boxes", "(K, 4)", boxes=np.ones((3, 5)), info=INFO_1080P),
        "explicit-clip-without-shape": reject(ValueError, "src_shape", "clip=True", boxes=boxes,
                                              info=(0.5, (0, 0))),
        "explicit-shape-of-three": reject(TypeError, "src_shape", boxes=boxes, info=(0.5, (0, 0)),
                                          src_shape=(1080, 1920, 3)),
        "bad-info": reject(TypeError, "info", boxes=boxes, info=0.5),
        "zero-scale": reject(ValueError, "info", "info's scale", boxes=boxes, info=(0.0, (0, 0)),
                             clip=False),
        "nan-pad": reject(ValueError, "info", "info's pad_y", boxes=boxes,
                          info=(0.5, (0, float("nan"))), clip=False),
    }
    return sorted(cases.items())


def postprocess_cases():
    v8 = wl.yolov8_output(320, nc=80, seed=3)
    batch = np.concatenate([v8, wl.yolov8_output(320, nc=80, seed=4)])
    v5 = wl.yolov5_output(320, nc=80, seed=3)
    seg = np.concatenate([v8, np.ones((1, 4, v8.shape[2]), np.float32)], axis=1)
    best, worst = int(v8[0, 4:].max(0).argmax()), int(v8[0, 4:].max(0).argmin())
    raw8 = [np.concatenate([a, b]) for a, b in zip(wl.yolov8_raw_levels(320, nc=20, seed=3),
                                                   wl.yolov8_raw_levels(320, nc=20, seed=4))]
    split8 = split_levels(raw8, score_sum=True)
    raw5 = wl.yolov5_raw_levels(320, nc=20, seed=3)
    rknn, rknn_quant = wl.rknn_yolov8_levels(320, nc=20, seed=3)
    v8_raw = dict(format="yolov8-raw", strides=wl.STRIDES)
    v5_raw = dict(format="yolov5-raw", strides=wl.STRIDES, anchors=wl.YOLOV5_ANCHORS)
    v3_raw = dict(format="yolov3-raw", strides=wl.STRIDES, anchors=wl.YOLOV4_ANCHORS,
                  scale_x_y=wl.YOLOV4_SCALE_X_Y)
    cases = {
        "yolov8-raw-batch-letterbox": dict(pred=raw8, letterbox=INFO_1080P, **v8_raw),
        "yolov8-raw-split-batch": dict(pred=split8, **v8_raw, iou_threshold=0.45),
        "yolo11-raw-split-nhwc-agnostic": dict(
            pred=[tuple(np.ascontiguousarray(a[:1].transpose(0, 2, 3, 1)) for a in level)
                  for level in split8], format="yolo11-raw", strides=wl.STRIDES, layout="nhwc",
            agnostic=True),
        "yolov5-raw-letterbox": dict(pred=raw5, letterbox=INFO_1080P, **v5_raw),
        "yolov5-raw-multi-label-max-det": dict(pred=raw5, multi_label=True, max_det=20, **v5_raw),
        "yolov3-raw": dict(pred=raw5, **v3_raw, max_nms=50),
        "yolov8-raw-int8-split-batch": dict(
            pred=[tuple(np.concatenate([a, a[:, ::-1]]) for a in level) for level in rknn],
            quant=rknn_quant, sigmoid_applied=True, letterbox=INFO_1080P, **v8_raw),
        "yolov5-raw-uint8": dict(zip(("pred", "quant"), quantized(raw5, 0.07, 128, np.uint8)),
                                 **v5_raw),
        "yolov8-raw-nan-score-batch": non_finite("pred", (1, 70, 2, 3), named="pred[1]", pred=[
            raw8[0], _at(raw8[1], (1, 70, 2, 3), np.nan), raw8[2]], **v8_raw),
        "yolov8-raw-split-nan-score": non_finite("pred", (1, 6, 2, 3), named="pred[1][1]", pred=[
            split8[0], (split8[1][0], _at(split8[1][1], (1, 6, 2, 3), np.nan)), split8[2]],
            **v8_raw),
        "yolov3-raw-huge-tw": reject(ValueError, "pred", "non-finite box", after_dispatch=True,
                                     pred=[np.full_like(raw5[0], 100.0), raw5[1], raw5[2]],
                                     **v3_raw),
        "yolov8-raw-no-strides": reject(ValueError, "strides", pred=raw8, format="yolov8-raw"),
        "yolov8-raw-anchors": reject(ValueError, "anchors", pred=raw8, anchors=wl.YOLOV5_ANCHORS,
                                     **v8_raw),
        "yolov8-raw-nc": reject(ValueError, "nc", pred=raw8, nc=20, **v8_raw),
        "yolov8-raw-scale-x-y": reject(ValueError, "scale_x_y", pred=raw8, scale_x_y=1.1,
                                       **v8_raw),
        "yolov5-raw-no-anchors": reject(ValueError, "anchors", pred=raw5, format="yolov5-raw",
                                        strides=wl.STRIDES),
        "yolov5-raw-reg-max": reject(ValueError, "reg_max", pred=raw5, reg_max=16, **v5_raw),
        "yolov3-raw-letterbox-count": reject(TypeError, "letterbox", "list of 1", pred=raw5,
                                             letterbox=[INFO_1080P] * 2, **v3_raw),
        "yolov8-raw-batches-differ": reject(ValueError, "pred", "pred[1]", **v8_raw, pred=[
            raw8[0], raw8[1][:1], raw8[2]]),
        "yolov8-strides": reject(ValueError, "strides", "raw formats", pred=v8,
                                 strides=wl.STRIDES),
        "yolov5-sigmoid-applied": reject(ValueError, "sigmoid_applied", pred=v5, format="yolov5",
                                         sigmoid_applied=True),
        "yolov8": dict(pred=v8),
        "yolov8-batch-letterbox": dict(pred=batch, letterbox=INFO_1080P),
        "yolov8-letterbox-per-image": dict(pred=batch, letterbox=[INFO_1080P, INFO_1080P._replace(pad_top=0)]),
        "yolo11-agnostic": dict(pred=v8, format="yolo11", agnostic=True),
        "multi-label-low-threshold": dict(pred=v8, multi_label=True, conf_threshold=0.01),
        "max-det-5": dict(pred=v8, max_det=5),
        "max-nms-20": dict(pred=v8, max_nms=20, iou_threshold=0.45),
        "classes": dict(pred=v8, classes=[v for v in range(0, 80, 2)]),
        "segmentation-extras": dict(pred=seg, nc=80),
        "yolov5": dict(pred=v5, format="yolov5"),
        "yolov5-2d": dict(pred=v5[0], format="yolov5", iou_threshold=0.3),
        "yolov8-anchors-first-declared": dict(pred=batch.transpose(0, 2, 1), anchor_axis=-2,
                                              letterbox=INFO_1080P),
        "yolov5-anchors-last-declared": dict(pred=v5.transpose(0, 2, 1), format="yolov5",
                                             anchor_axis=-1),
        "negative-width-dropped": dict(pred=_with(v8, 2 * v8.shape[2] + worst, -1.0)),
        "nan-box-of-unkept-anchor": dict(pred=_at(batch, (0, 0, worst), np.nan)),
        "nan-score": non_finite("pred", (1, 50, 7), pred=_at(batch, (1, 50, 7), np.nan)),
        "nan-score-2d": non_finite("pred", (50, 7), pred=_at(v8[0], (50, 7), np.nan)),
        "inf-box-of-kept-anchor": non_finite("pred", (0, 3, best),
                                             pred=_at(v8, (0, 3, best), np.inf)),
        "nan-extra-of-kept-anchor": non_finite("pred", (0, 85, best), nc=80,
                                               pred=_at(seg, (0, 85, best), np.nan)),
        "yolov5-nan-objectness": non_finite("pred", (0, 11, 4), format="yolov5",
                                            pred=_at(v5, (0, 11, 4), np.nan)),
        # Found only in the boxes a backend's scan keeps: checked on every backend.
        "negative-width-kept": reject(ValueError, "pred", "negative width", after_dispatch=True,
                                      pred=_with(v8, 2 * v8.shape[2] + best, -1.0)),
        # Rejected by the public layer, before any backend runs.
        "unknown-format": reject(ValueError, "format", pred=v8, format="yolov7"),
        "letterbox-count-mismatch": reject(TypeError, "letterbox", "list of 2", pred=batch,
                                           letterbox=[INFO_1080P]),
        "iou-threshold-2": reject(ValueError, "iou_threshold", pred=v8, iou_threshold=2),
        "max-det-negative": reject(ValueError, "max_det", pred=v8, max_det=-1),
        "nc-too-big": reject(ValueError, "nc", pred=v8, nc=81),
        "yolov8-anchors-first": reject(ValueError, "pred", "transpose(0, 2, 1)",
                                       pred=np.ascontiguousarray(batch.transpose(0, 2, 1))),
        "yolov5-anchors-last": reject(ValueError, "pred", "transpose(0, 2, 1)", format="yolov5",
                                      pred=np.ascontiguousarray(v5.transpose(0, 2, 1))),
    }
    return sorted({**cases, **quantized_postprocess_cases()}.items())


def quantize(output, dtype, scale, zero_point):
    """``output``'s codes under ONNX QuantizeLinear (accel._quant.quantize)."""
    params = accel._quant.quant_params((scale, zero_point), "quant", dtype)
    return accel._quant.quantize(output, params)


def normalised(output, size, anchors_last=True):
    """A copy of ``output`` with cx, cy, w, h divided by the input ``size``: what
    ultralytics' TFLite exports give, so that one quantization scale covers boxes and scores."""
    out = np.array(output, dtype=np.float32)
    if anchors_last:
        out[..., :4, :] /= np.float32(size)
    else:
        out[..., :4] /= np.float32(size)
    return out


def quantized_v8_cases():
    """Quantized (int8/uint8, ``quant=``) and normalised (``box_scale=``) YOLOv8 outputs."""
    real = normalised(wl.yolov8_output(320, nc=80, seed=1), 320)
    q8 = quantize(real, np.int8, 1 / 255, -128)
    seg = np.concatenate([real, np.random.default_rng(3).uniform(-1, 1, (1, 32, 2100))], axis=1)
    # Scale 2**-8: 0.25 is exactly code -64 + 128 steps up, so the threshold sits on a step.
    on_step = quantize(real, np.int8, 2.0 ** -8, -128)
    # Scale 2**-6 saturates every score above 127 / 64 ... below: many rows tie at 127.
    saturated = quantize(real * np.float32(300.0), np.int8, 2.0 ** -6, 0)
    cases = {
        "int8": dict(pred=q8, quant=(1 / 255, -128), box_scale=320),
        "int8-multi-zero-point-0": dict(pred=quantize(real, np.int8, 1 / 127, 0),
                                        quant=(1 / 127, 0), box_scale=(320, 320),
                                        conf_threshold=0.1),
        "uint8": dict(pred=quantize(real, np.uint8, 1 / 255, 0), quant=(1 / 255, 0),
                      box_scale=(320, 240)),
        "uint8-zero-point-128-threshold-0": dict(
            pred=quantize(real - np.float32(0.5), np.uint8, 1 / 255, 128), quant=(1 / 255, 128),
            conf_threshold=0.0),
        "int8-threshold-on-a-step": dict(pred=on_step, quant=(2.0 ** -8, -128),
                                         conf_threshold=0.25),
        "int8-threshold-just-below-a-step": dict(pred=on_step, quant=(2.0 ** -8, -128),
                                                 conf_threshold=float(np.nextafter(0.25, 0))),
        "int8-saturated-ties": dict(pred=saturated, quant=(2.0 ** -6, 0), conf_threshold=0.9),
        "int8-anchors-first": dict(pred=np.ascontiguousarray(q8.transpose(0, 2, 1)),
                                   quant=(1 / 255, -128), anchor_axis=-2, box_scale=320),
        "int8-classes-filter": dict(pred=q8, quant=(1 / 255, -128),
                                    classes=list(range(0, 80, 3))),
        "int8-segmentation-extras": dict(pred=quantize(seg, np.int8, 1 / 127, 0),
                                         quant=(1 / 127, 0), nc=80),
        "int8-check-finite-irrelevant": dict(pred=q8, quant=(1 / 255, -128), check_finite=False),
        "int8-no-anchors": dict(pred=np.zeros((84, 0), np.int8), quant=(0.1, 0)),
        "float-normalised-box-scale": dict(pred=real, box_scale=(320, 256)),
        # Rejected by the public layer, before any backend runs.
        "int8-without-quant": reject(TypeError, "quant", "pred is int8", pred=q8),
        "float-with-quant": reject(TypeError, "quant", "float32", pred=real, quant=(0.1, 0)),
        "int32-with-quant": reject(TypeError, "quant", "int32", pred=q8.astype(np.int32),
                                   quant=(0.1, 0)),
        "quant-scale-0": reject(ValueError, "quant", "scale", pred=q8, quant=(0.0, 0)),
        "quant-scale-negative": reject(ValueError, "quant", "scale", pred=q8, quant=(-0.1, 0)),
        "quant-scale-nan": reject(ValueError, "quant", "scale", pred=q8, quant=(np.nan, 0)),
        "quant-scale-inf": reject(ValueError, "quant", "scale", pred=q8, quant=(np.inf, 0)),
        "quant-scale-subnormal": reject(ValueError, "quant", "scale", pred=q8, quant=(1e-45, 0)),
        "quant-zero-point-above-int8": reject(ValueError, "quant", "zero_point", "[-128, 127]",
                                              pred=q8, quant=(0.1, 128)),
        "quant-zero-point-below-uint8": reject(ValueError, "quant", "zero_point", "[0, 255]",
                                               pred=q8.view(np.uint8), quant=(0.1, -1)),
        "quant-zero-point-float": reject(TypeError, "quant", "zero_point", pred=q8,
                                         quant=(0.1, 0.5)),
        "quant-not-a-pair": reject(TypeError, "quant", pred=q8, quant=0.1),
        "box-scale-0": reject(ValueError, "box_scale", pred=real, box_scale=0),
        "box-scale-nan": reject(ValueError, "box_scale", pred=real, box_scale=(640, np.nan)),
        "box-scale-three": reject(TypeError, "box_scale", pred=real, box_scale=(1, 2, 3)),
        "box-scale-text": reject(TypeError, "box_scale", pred=real, box_scale="640"),
    }
    return {"quantized-" + key: value for key, value in cases.items()}


def quantized_v5_cases():
    """Quantized and normalised YOLOv5 outputs, lists of layers, premultiplied scores."""
    real = normalised(wl.yolov5_output(320, nc=80, seed=1), 320, anchors_last=False)
    q8 = quantize(real, np.int8, 1 / 255, -128)
    # Crafted rows on a 2**-8 grid: objectness exactly at 0.25, products that tie or round
    # to one float32, saturated classes.
    rows = np.array([
        [0.5, 0.5, 0.1, 0.1, 0.25, 0.9, 0.1],
        [0.5, 0.5, 0.1, 0.1, 0.25390625, 1.0, 1.0],
        [0.5, 0.5, 0.1, 0.1, 0.3, 0.84, 0.83],
        [0.5, 0.5, 0.1, 0.1, 1.0, 0.25, 0.2539],
        [0.5, 0.5, 0.1, 0.1, 0.9, 0.0, 0.0],
        [0.5, 0.5, 0.1, 0.1, 0.5, 0.5, 0.5039],
    ], np.float32)
    crafted = quantize(rows, np.uint8, 2.0 ** -8, 0)
    layers = [real[0, :1200], real[0, 1200:1800], real[0, 1800:]]
    darknet = [np.array(layer) for layer in layers]
    for layer in darknet:  # OpenCV's region layer: scores already times the objectness
        products = layer[:, 5:] * layer[:, 4:5]
        layer[:, 5:] = np.where(products > np.float32(0.2), products, np.float32(0.0))
    cases = {
        "int8": dict(pred=q8, quant=(1 / 255, -128), box_scale=320),
        "uint8-anchors-last": dict(pred=np.ascontiguousarray(
            quantize(real, np.uint8, 1 / 255, 0).transpose(0, 2, 1)), quant=(1 / 255, 0),
            anchor_axis=-1, box_scale=(320, 320)),
        "uint8-crafted-ties": dict(pred=crafted, quant=(2.0 ** -8, 0), anchor_axis=-2),
        "uint8-crafted-ties-0.3": dict(pred=crafted, quant=(2.0 ** -8, 0), anchor_axis=-2,
                                       conf_threshold=0.3),
        "int8-zero-point-0-threshold-0": dict(pred=quantize(real, np.int8, 1 / 127, 0),
                                              quant=(1 / 127, 0), conf_threshold=0.0),
        "int8-classes-filter": dict(pred=q8, quant=(1 / 255, -128),
                                    classes=list(range(0, 80, 3))),
        "int8-segmentation-extras": dict(pred=quantize(np.concatenate(
            [real, np.full((1, real.shape[1], 3), 0.5, np.float32)], axis=2), np.int8, 1 / 255,
            -128), quant=(1 / 255, -128), nc=80),
        "list-of-layers": dict(pred=layers, box_scale=320),
        "list-of-int8-layers-one-quant": dict(
            pred=[quantize(layer, np.int8, 1 / 255, -128) for layer in layers],
            quant=(1 / 255, -128)),
        "list-of-layers-quant-each": dict(
            pred=[quantize(layer, np.uint8, 1 / 255, z) for layer, z in zip(layers, (0, 3, 7))],
            quant=[(1 / 255, 0), (1 / 255, 3), (1 / 255, 7)]),
        "darknet-premultiplied": dict(pred=darknet, premultiplied=True, box_scale=(320, 320)),
        "darknet-premultiplied-int8": dict(pred=quantize(darknet[0], np.int8, 1 / 255, -128),
                                           quant=(1 / 255, -128), premultiplied=True),
        # Rejected by the public layer, before any backend runs.
        "int8-without-quant": reject(TypeError, "quant", "pred is int8", pred=q8),
        "float-with-quant": reject(TypeError, "quant", pred=real, quant=(0.1, 0)),
        "list-empty": reject(ValueError, "pred", "empty", pred=[]),
        "list-channel-mismatch": reject(ValueError, "pred", "pred[1]", pred=[layers[0],
                                                                             layers[1][:, :80]]),
        "list-dtype-mismatch": reject(TypeError, "pred", "pred[1]", pred=[
            layers[0], layers[1].astype(np.float64)]),
        "list-quant-count": reject(ValueError, "quant", pred=[q8[0], q8[0]],
                                   quant=[(1 / 255, -128)]),
        "list-int8-without-quant": reject(TypeError, "quant", "pred[1] is int8",
                                          pred=[layers[0], q8[0]]),
    }
    return {"quantized-" + key: value for key, value in cases.items()}


def quantized_postprocess_cases():
    v8 = normalised(np.concatenate([wl.yolov8_output(320, nc=80, seed=3),
                                    wl.yolov8_output(320, nc=80, seed=4)]), 320)
    v5 = normalised(wl.yolov5_output(320, nc=80, seed=3), 320, anchors_last=False)
    cases = {
        "yolov8-int8-batch-letterbox": dict(pred=quantize(v8, np.int8, 1 / 255, -128),
                                            quant=(1 / 255, -128), box_scale=320,
                                            letterbox=INFO_1080P),
        "yolov8-uint8-multi-label": dict(pred=quantize(v8, np.uint8, 1 / 255, 0),
                                         quant=(1 / 255, 0), box_scale=320, multi_label=True,
                                         conf_threshold=0.1),
        "yolov5-int8": dict(pred=quantize(v5, np.int8, 1 / 255, -128), format="yolov5",
                            quant=(1 / 255, -128), box_scale=(320, 320)),
        "yolov5-premultiplied": dict(pred=v5, format="yolov5", premultiplied=True,
                                     box_scale=320),
        "float-box-scale": dict(pred=v8, box_scale=320, agnostic=True),
        # Rejected by the public layer, before any backend runs.
        "int8-without-quant": reject(TypeError, "quant", "pred is int8",
                                     pred=quantize(v8, np.int8, 1 / 255, -128)),
        "float-with-quant": reject(TypeError, "quant", pred=v8, quant=(0.1, 0)),
        "quant-zero-point-out-of-range": reject(ValueError, "quant", "zero_point",
                                                pred=quantize(v8, np.uint8, 1 / 255, 0),
                                                quant=(1 / 255, 256)),
        "premultiplied-yolov8": reject(ValueError, "premultiplied", pred=v8, premultiplied=True),
        "box-scale-negative": reject(ValueError, "box_scale", pred=v8, box_scale=-320),
    }
    return {"quantized-" + key: value for key, value in cases.items()}


def _decode_v8(multi_label):
    def run(case, backend):
        return accel.decode_yolov8(**case, multi_label=multi_label, backend=backend)
    return run


def _decode_v5(multi_label):
    def run(case, backend):
        return accel.decode_yolov5(**case, multi_label=multi_label, backend=backend)
    return run


def _decode_v8_raw(multi_label):
    def run(case, backend):
        case = dict(case)
        strides = case.pop("strides", wl.STRIDES)
        return accel.decode_yolov8_raw(case.pop("levels"), strides, multi_label=multi_label,
                                       backend=backend, **case)
    return run


def _decode_v5_raw(multi_label):
    def run(case, backend):
        case = dict(case)
        anchors = case.pop("anchors", wl.YOLOV5_ANCHORS)
        return accel.decode_yolov5_raw(case.pop("levels"), anchors, wl.STRIDES,
                                       multi_label=multi_label, backend=backend, **case)
    return run


def _decode_v3_raw(multi_label):
    def run(case, backend):
        case = dict(case)
        options = dict(anchors=wl.YOLOV4_ANCHORS, strides=wl.STRIDES,
                       scale_x_y=wl.YOLOV4_SCALE_X_Y)
        options.update(case)
        return accel.decode_yolov3_raw(options.pop("levels"), options.pop("anchors"),
                                       options.pop("strides"), multi_label=multi_label,
                                       backend=backend, **options)
    return run


def _scale_boxes(case, backend):
    case = dict(case)
    return accel.scale_boxes(case.pop("boxes"), case.pop("info"), backend=backend, **case)


def _postprocess(case, backend):
    case = dict(case)
    return accel.postprocess(case.pop("pred"), backend=backend, **case)


def bit_identical(expected, actual):
    """Same structure, every array with the same dtype, shape and bytes."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray)
        assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape)
        assert actual.tobytes() == expected.tobytes(), (expected, actual)
        return
    assert type(actual) is type(expected) and len(actual) == len(expected)
    for want, got in zip(expected, actual):
        bit_identical(want, got)


ROWS = [
    # (table name, kernel, run, family)
    ("decode_yolov8", "decode_yolov8", _decode_v8(False), "yolov8"),
    ("decode_yolov8-multi", "decode_yolov8", _decode_v8(True), "yolov8"),
    ("decode_yolov5", "decode_yolov5", _decode_v5(False), "yolov5"),
    ("decode_yolov5-multi", "decode_yolov5", _decode_v5(True), "yolov5"),
    ("decode_yolov8_raw", "decode_yolov8_raw", _decode_v8_raw(False), "yolov8_raw"),
    ("decode_yolov8_raw-multi", "decode_yolov8_raw", _decode_v8_raw(True), "yolov8_raw"),
    ("decode_yolov5_raw", "decode_yolov5_raw", _decode_v5_raw(False), "yolov5_raw"),
    ("decode_yolov5_raw-multi", "decode_yolov5_raw", _decode_v5_raw(True), "yolov5_raw"),
    ("decode_yolov3_raw", "decode_yolov3_raw", _decode_v3_raw(False), "yolov3_raw"),
    ("decode_yolov3_raw-multi", "decode_yolov3_raw", _decode_v3_raw(True), "yolov3_raw"),
    ("scale_boxes", "scale_boxes", _scale_boxes, "boxes"),
    ("postprocess", "postprocess", _postprocess, "postprocess"),
]

FAMILY_CASES = {
    "yolov8": yolov8_cases, "yolov5": yolov5_cases, "yolov8_raw": yolov8_raw_cases,
    "yolov5_raw": yolov5_raw_cases, "yolov3_raw": yolov3_raw_cases, "boxes": box_cases,
    "postprocess": postprocess_cases,
}
