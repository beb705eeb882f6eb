"""The one table of kernels, and the case families, that drive the conformance suite.

``KERNEL_TABLE`` has one row per public kernel (and variant): how to call it on a case
and how two results must agree. ``FAMILIES`` gives each family of rows its inputs: the
awkward cases (accepted and ``Rejected``, see cases.py), the realistic sizes, and a
hypothesis strategy where there is one. Adding a kernel to accel means adding a row
here, and its cases to its family.
"""
from typing import Callable, NamedTuple, Optional

import numpy as np
from hypothesis import strategies as st

import accel
from accel.compare.workloads import clustered_candidates
import decode_cases
import mask_cases
import rotated_cases
from cases import reject


class Kernel(NamedTuple):
    name: str  # a registered kernel (accel.KERNELS), plus a variant label
    kernel: str
    run: Callable  # (case, backend) -> result
    assert_agree: Callable  # (expected, actual) -> None, raises AssertionError
    family: str  # which FAMILIES entry gives its inputs
    realistic_divisor: int = 1  # the pure-Python reference is quadratic: smaller realistic sizes


class Family(NamedTuple):
    cases: Callable  # () -> [(id, case)]: small awkward inputs, accepted and rejected
    realistic: Callable = lambda kernel: []  # (Kernel) -> [(id, case)]: production sizes
    strategy: Optional[Callable] = None  # () -> hypothesis strategy of accepted cases


def _exact(expected, actual):
    assert actual.dtype == expected.dtype == np.int64
    np.testing.assert_array_equal(actual, expected)


def _soft_agree(expected, actual):
    (exp_idx, exp_scores), (idx, scores) = expected, actual
    _exact(exp_idx, idx)
    assert scores.dtype == exp_scores.dtype == np.float64
    np.testing.assert_allclose(scores, exp_scores, rtol=1e-12, atol=0)


def classes_of(case):
    """The classes ``batched_nms`` runs a case with: its own, or three made-up ones."""
    classes = case.get("classes")
    return np.arange(len(case["scores"])) % 3 if classes is None else classes


def _nms(case, backend):
    return accel.nms(
        case["boxes"], case["scores"], case.get("iou_threshold", 0.5),
        score_threshold=case.get("score_threshold"), max_output=case.get("max_output"),
        backend=backend,
    )


def _batched(case, backend):
    return accel.batched_nms(
        case["boxes"], case["scores"], classes_of(case), case.get("iou_threshold", 0.5),
        score_threshold=case.get("score_threshold"), max_output=case.get("max_output"),
        backend=backend,
    )


def _soft(method):
    def run(case, backend):
        return accel.soft_nms(
            case["boxes"], case["scores"], method=method, sigma=case.get("sigma", 0.5),
            iou_threshold=case.get("iou_threshold", 0.3),
            score_threshold=case.get("score_threshold", 0.001),
            max_output=case.get("max_output"), backend=backend,
        )
    return run


def _image_options(case):
    return {k: case[k] for k in ("pad_value", "auto", "stride", "scaleup", "center") if k in case}


def _tensor_options(case):
    return {k: case[k] for k in ("swap_rb", "scale", "mean", "dtype", "layout", "quant") if k in case}


def _letterbox(case, backend):
    return accel.letterbox(case["img"], case.get("new_shape", 64), backend=backend,
                           **_image_options(case))


def _to_tensor(case, backend):
    return accel.to_tensor(case["img"], backend=backend, **_tensor_options(case))


def _preprocess(case, backend):
    return accel.preprocess(case["img"], case.get("new_shape", 64), backend=backend,
                            **_image_options(case), **_tensor_options(case))


def _bits(expected, actual):
    """Bit-identical arrays (and equal LetterboxInfo, for kernels returning one)."""
    if isinstance(expected, tuple):
        assert actual[1] == expected[1]
        expected, actual = expected[0], actual[0]
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()


KERNEL_TABLE = [
    Kernel("nms", "nms", _nms, _exact, "nms"),
    Kernel("batched_nms", "batched_nms", _batched, _exact, "nms"),
    Kernel("soft_nms-linear", "soft_nms", _soft("linear"), _soft_agree, "nms", 5),
    Kernel("soft_nms-gaussian", "soft_nms", _soft("gaussian"), _soft_agree, "nms", 5),
    Kernel("letterbox", "letterbox", _letterbox, _bits, "image"),
    Kernel("to_tensor", "to_tensor", _to_tensor, _bits, "image"),
    Kernel("preprocess", "preprocess", _preprocess, _bits, "image"),
] + [Kernel(name, kernel, run, decode_cases.bit_identical, family)
     for name, kernel, run, family in decode_cases.ROWS] + [
    Kernel(name, kernel, run, decode_cases.bit_identical, family, 3)
    for name, kernel, run, family in mask_cases.ROWS] + [
    Kernel(name, kernel, run, _exact if "nms" in kernel else decode_cases.bit_identical, family,
           20 if "nms" in kernel else 1)
    for name, kernel, run, family in rotated_cases.ROWS]


def image_cases():
    """(id, case) pairs for the preprocessing kernels: awkward geometry and options."""
    rng = np.random.default_rng(5)

    def img(h, w, c=3):
        return rng.integers(0, 256, (h, w, c), dtype=np.uint8) if c else \
            rng.integers(0, 256, (h, w), dtype=np.uint8)

    frame = img(90, 160)
    cases = {
        "1x1": dict(img=img(1, 1)),
        "1xN": dict(img=img(1, 37)),
        "Nx1": dict(img=img(41, 1, 4)),
        "already-target": dict(img=img(64, 64), new_shape=64),
        "upscale-small": dict(img=img(5, 7), new_shape=(48, 40)),
        "downscale-odd": dict(img=img(97, 131, 1), new_shape=(31, 45)),
        "exact-2x-down": dict(img=img(64, 96), new_shape=(32, 48)),
        "very-wide": dict(img=img(2, 500), new_shape=64),
        "very-tall": dict(img=img(300, 3, 4), new_shape=(40, 64)),
        "grey-2d": dict(img=img(30, 50, 0), new_shape=32),
        "rgba": dict(img=img(30, 50, 4), new_shape=(24, 40), mean=(1, 2, 3, 4), scale=0.5),
        "non-contiguous-crop": dict(img=frame[10:80:2, 20:150:3]),
        "channel-view": dict(img=img(40, 60, 4)[:, :, :3]),
        "negative-strides": dict(img=frame[::-1, ::-1]),
        "auto-stride": dict(img=frame, new_shape=96, auto=True, stride=32),
        "not-centred": dict(img=frame, new_shape=(70, 70), center=False),
        "no-scaleup": dict(img=img(20, 30), new_shape=(64, 96), scaleup=False),
        "pad-per-channel": dict(img=frame, pad_value=(0, 128, 255)),
        "no-swap-mean-scale": dict(img=frame, swap_rb=False, mean=(103.53, 116.28, 123.675),
                                   scale=(1 / 57.375, 1 / 57.12, 1 / 58.395)),
        "float16": dict(img=frame, dtype=np.float16, mean=127.5, scale=1 / 127.5),
        "target-1x1": dict(img=frame, new_shape=1),
        "nhwc": dict(img=frame, layout="nhwc"),
        "nhwc-rgba-float16": dict(img=img(30, 50, 4), new_shape=(24, 40), layout="nhwc",
                                  dtype=np.float16, mean=(1, 2, 3, 4), scale=0.5),
        "uint8-pixels": dict(img=frame, dtype=np.uint8),
        "uint8-pixels-nhwc-grey": dict(img=img(30, 50, 0), new_shape=32, dtype=np.uint8,
                                       layout="nhwc"),
        "uint8-pixels-nhwc-same-size": dict(img=img(64, 64), new_shape=64, dtype=np.uint8,
                                            layout="nhwc", swap_rb=False),
        "uint8-quantized-nhwc": dict(img=frame, dtype=np.uint8, quant=(1 / 255, 0), layout="nhwc"),
        "int8-quantized": dict(img=frame, dtype=np.int8, quant=(1 / 255, -128)),
        "int8-saturating-nhwc-upscale": dict(img=img(5, 7), new_shape=(48, 40), dtype=np.int8,
                                             quant=(0.002, 5), layout="nhwc"),
        # Rejected by the public layer, before any backend runs.
        "float-image": reject(TypeError, "img", "uint8", img=frame.astype(np.float32)),
        "nested-lists": reject(TypeError, "img", "numpy", img=frame[:4, :4].tolist()),
        "two-channels": reject(ValueError, "img", "C in 1, 3, 4", img=img(8, 8, 2)),
        "four-dimensions": reject(ValueError, "img", img=img(4, 4)[..., None]),
        "empty-image": reject(ValueError, "img", "empty", img=np.zeros((0, 5, 3), dtype=np.uint8)),
        "new-shape-0": reject(ValueError, "new_shape", img=frame, new_shape=0),
        "new-shape-3d": reject(ValueError, "new_shape", img=frame, new_shape=(1, 2, 3)),
        "new-shape-text": reject(ValueError, "new_shape", img=frame, new_shape="big"),
        "pad-out-of-range": reject(ValueError, "pad_value", img=frame, pad_value=300),
        "pad-negative": reject(ValueError, "pad_value", img=frame, pad_value=-1),
        "pad-wrong-length": reject(ValueError, "pad_value", img=frame, pad_value=(1, 2)),
        "pad-fraction": reject(ValueError, "pad_value", img=frame, pad_value=1.5),
        "mean-wrong-length": reject(ValueError, "mean", img=frame, mean=(1, 2)),
        "mean-nan": reject(ValueError, "mean", img=frame, mean=np.nan),
        "scale-wrong-length": reject(ValueError, "scale", img=frame, scale=(1, 2, 3, 4)),
        "swap-rb-text": reject(TypeError, "swap_rb", img=frame, swap_rb="yes"),
        "bad-dtype": reject(TypeError, "dtype", img=frame, dtype=np.float64),
        "integer-dtype": reject(TypeError, "dtype", img=frame, dtype=np.int8),
        "quant-for-float": reject(TypeError, "quant", img=frame, quant=(1 / 255, 0)),
        "quant-zero-point-out-of-range": reject(ValueError, "quant", img=frame, dtype=np.int8,
                                                quant=(0.1, 200)),
        "pixels-with-mean": reject(ValueError, "mean", img=frame, dtype=np.uint8, mean=0.5),
        "pixels-with-scale": reject(ValueError, "scale", img=frame, dtype=np.uint8, scale=1.0),
        "layout-unknown": reject(ValueError, "layout", img=frame, layout="chw"),
    }
    return sorted(cases.items())


def frame_cases(kernel):
    """Camera frames to a 640 model input."""
    rng = np.random.default_rng(1)
    return [("%dp" % h, dict(img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8), new_shape=640))
            for h, w in ((1080, 1920), (480, 640))]


def _boxes(rows, dtype=np.float64):
    return np.array(rows, dtype=dtype).reshape(-1, 4)


def adversarial_cases():
    """(id, case) pairs chosen to break tie rules, strictness and float edge cases."""
    clustered = clustered_candidates(300, n_classes=3, seed=1)
    cb, cs, cc = clustered.boxes, clustered.scores, clustered.classes
    three = dict(boxes=_boxes([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]),
                 scores=np.array([0.9, 0.8, 0.7]), classes=np.array([0, 0, 1]))

    def bad(error, argument, *words, **changes):
        """``three`` with some inputs changed, to be rejected."""
        return reject(error, argument, *words, **dict(three, **changes))

    cases = {
        "empty": dict(boxes=np.zeros((0, 4)), scores=np.zeros(0)),
        "empty-float32-int32-classes": dict(boxes=np.zeros((0, 4), np.float32), scores=np.zeros(0),
                                            classes=np.zeros(0, np.int32)),
        "one-box": dict(boxes=_boxes([1, 2, 3, 4]), scores=[0.5]),
        "identical-boxes-equal-scores": dict(boxes=_boxes([[0, 0, 10, 10]] * 6), scores=[0.7] * 6),
        "identical-boxes": dict(boxes=_boxes([[0, 0, 10, 10]] * 5), scores=[0.1, 0.9, 0.5, 0.9, 0.3]),
        "equal-scores-chain": dict(
            boxes=_boxes([[i, 0, i + 4, 4] for i in range(12)]), scores=[0.5] * 12,
            iou_threshold=0.4),
        "touching": dict(boxes=_boxes([[0, 0, 1, 1], [1, 0, 2, 1], [0, 1, 1, 2], [1, 1, 2, 2]]),
                         scores=[0.9, 0.8, 0.7, 0.6], iou_threshold=0.0),
        "iou-exactly-threshold": dict(boxes=_boxes([[0, 0, 2, 1], [1, 0, 3, 1]]), scores=[0.9, 0.8],
                                      iou_threshold=1.0 / 3.0),
        "iou-just-above-threshold": dict(boxes=_boxes([[0, 0, 2, 1], [1, 0, 3, 1]]), scores=[0.9, 0.8],
                                         iou_threshold=np.nextafter(1.0 / 3.0, 0.0)),
        "iou-half": dict(boxes=_boxes([[0, 0, 4, 1], [0, 0, 2, 1], [2, 0, 4, 1]]),
                         scores=[0.5, 0.9, 0.9], iou_threshold=0.5),
        "zero-area": dict(boxes=_boxes([[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 2, 0], [0, 0, 2, 2], [1, 0, 1, 5]]),
                          scores=[0.9, 0.8, 0.7, 0.6, 0.5], iou_threshold=0.0),
        "huge-coordinates": dict(
            boxes=_boxes([[-1e300, -1e300, 1e300, 1e300], [0, 0, 1e300, 1e300], [-1e308, 0, 1e308, 1],
                          [1e307, 1e307, 1.5e307, 1.5e307], [1.1e307, 1.1e307, 1.6e307, 1.6e307]]),
            scores=[0.2, 0.9, 0.5, 0.8, 0.7], iou_threshold=0.1),
        "tiny-coordinates": dict(
            boxes=_boxes([[0, 0, 1e-300, 1e-300], [0, 0, 2e-300, 1e-300], [5e-324, 0, 1e-323, 1e-300]]),
            scores=[0.9, 0.8, 0.7], iou_threshold=0.3),
        "negative-coordinates-and-scores": dict(
            boxes=_boxes([[-10, -10, -5, -5], [-9, -9, -4, -4], [-100, -100, 100, 100]]),
            scores=[-0.5, -0.25, -3.0], iou_threshold=0.3, score_threshold=-1.0),
        "threshold-0": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=0.0),
        "threshold-1": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=1.0),
        "score-threshold": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=0.45, score_threshold=0.3),
        "score-threshold-drops-all": dict(boxes=cb, scores=cs, classes=cc, score_threshold=2.0),
        "max-output-0": dict(boxes=cb, scores=cs, classes=cc, max_output=0),
        "max-output-1": dict(boxes=cb, scores=cs, classes=cc, max_output=1),
        "max-output-7": dict(boxes=cb, scores=cs, classes=cc, max_output=7),
        "max-output-beyond-n": dict(boxes=cb, scores=cs, classes=cc, max_output=10 ** 9),
        "numpy-scalar-options": dict(three, iou_threshold=np.float32(0.5), max_output=np.int64(2),
                                     score_threshold=np.float64(0.1)),
        "clustered-float32": dict(boxes=cb, scores=cs, classes=cc, iou_threshold=0.45),
        "clustered-float64": dict(boxes=cb.astype(np.float64), scores=cs.astype(np.float64), classes=cc),
        "clustered-float16": dict(boxes=cb.astype(np.float16), scores=cs.astype(np.float16), classes=cc),
        "clustered-int32": dict(boxes=cb.astype(np.int32), scores=(cs * 10).astype(np.int32), classes=cc),
        "clustered-uint16-classes-uint8": dict(boxes=cb.astype(np.uint16), scores=cs, classes=cc.astype(np.uint8)),
        "non-contiguous": dict(boxes=np.repeat(cb, 2, axis=1)[:, ::2], scores=np.repeat(cs, 3)[::3],
                               classes=np.repeat(cc, 2)[::2]),
        "fortran-order": dict(boxes=np.asfortranarray(cb), scores=cs, classes=cc),
        "byte-swapped": dict(boxes=cb.astype(">f8"), scores=cs.astype(">f4"), classes=cc.astype(">i8")),
        "python-lists": dict(boxes=cb[:20].tolist(), scores=cs[:20].tolist(), classes=cc[:20].tolist()),
        "many-classes": dict(boxes=cb, scores=cs, classes=np.arange(300) % 80, iou_threshold=0.3),
        "grid-extremes": dict(
            boxes=_boxes([[0, 0, 640, 640], [0, 0, 1, 1], [639, 639, 640, 640], [0, 0, 0.5, 640],
                          [300, 300, 340, 340], [310, 310, 330, 330], [0, 0, 640, 1]]),
            scores=[0.1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4], iou_threshold=0.0),
        "grid-mean-width-underflows": dict(
            boxes=_boxes([[0, 0, 5e-324, 1]] + [[i, 0, i, 1] for i in range(1, 11)]),
            scores=np.linspace(0.9, 0.1, 11), iou_threshold=0.0),
        "grid-cell-count-overflows": dict(boxes=_boxes([[0, 0, 1e-320, 1], [1e300, 0, 1e300, 1]]),
                                          scores=[0.9, 0.8], iou_threshold=0.0),
        # Rejected by the public layer, before any backend runs.
        "boxes-5-columns": bad(ValueError, "boxes", "(N, 4)", boxes=np.zeros((3, 5))),
        "boxes-1-d": bad(ValueError, "boxes", "2 dimensions", boxes=np.zeros(12)),
        "boxes-bool": bad(TypeError, "boxes", "bool", boxes=np.zeros((3, 4), dtype=bool)),
        "boxes-complex": bad(TypeError, "boxes", "complex",
                             boxes=np.zeros((3, 4), dtype=complex)),
        "boxes-text": bad(TypeError, "boxes", boxes=np.array([["a"] * 4] * 3)),
        # Values: checked by the backend in its first pass (accel._backends), so refused
        # after dispatch, on every backend, with the public layer's exact message.
        "nan-coordinate": bad(ValueError, "boxes", "row 1", after_dispatch=True,
                              boxes=_boxes([[0, 0, 1, 1], [0, np.nan, 1, 1], [0, 0, 1, 1]])),
        "inf-coordinate": bad(ValueError, "boxes", "row 1", after_dispatch=True,
                              boxes=_boxes([[0, 0, 1, 1], [0, 0, np.inf, 1], [0, 0, 1, 1]])),
        "inverted-box": bad(ValueError, "boxes", "row 1", "x2 < x1", after_dispatch=True,
                            boxes=_boxes([[0, 0, 1, 1], [5, 0, 1, 1], [0, 0, 1, 1]])),
        "inverted-y": bad(ValueError, "boxes", "row 2", after_dispatch=True,
                          boxes=_boxes([[0, 0, 1, 1], [0, 0, 1, 1], [0, 3, 1, 2]])),
        "nan-coordinate-float32": bad(
            ValueError, "boxes", "row 1", "[ 0. nan  1.  1.]", after_dispatch=True,
            boxes=_boxes([[0, 0, 1, 1], [0, np.nan, 1, 1], [0, 0, 1, 1]], np.float32),
            scores=np.array([0.9, 0.8, 0.7], np.float32)),
        "inf-coordinate-float32": bad(
            ValueError, "boxes", "row 2", after_dispatch=True,
            boxes=_boxes([[0, 0, 1, 1], [0, 0, 1, 1], [-np.inf, 0, 1, 1]], np.float32)),
        "inverted-box-float32": bad(
            ValueError, "boxes", "row 0", "x2 < x1", "[0.1 0.  0.  1. ]", after_dispatch=True,
            boxes=_boxes([[0.1, 0, 0, 1], [0, 0, 1, 1], [0, 0, 1, 1]], np.float32),
            scores=np.array([0.9, 0.8, 0.7], np.float32)),
        "inverted-box-float16": bad(ValueError, "boxes", "row 1", "x2 < x1", after_dispatch=True,
                                    boxes=_boxes([[0, 0, 1, 1], [0, 2, 1, 1], [0, 0, 1, 1]],
                                                 np.float16)),
        "nan-coordinate-below-score-threshold": bad(
            ValueError, "boxes", "row 2", after_dispatch=True, score_threshold=0.75,
            boxes=_boxes([[0, 0, 1, 1], [0, 0, 1, 1], [np.nan, 0, 1, 1]], np.float32)),
        "inverted-box-max-output-0": bad(ValueError, "boxes", "row 1", after_dispatch=True,
                                         max_output=0,
                                         boxes=_boxes([[0, 0, 1, 1], [0, 0, 1, -1], [0, 0, 1, 1]])),
        "nan-box-and-nan-score": bad(ValueError, "boxes", "row 2", after_dispatch=True,
                                     boxes=_boxes([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, np.nan]]),
                                     scores=np.array([np.nan, 0.8, 0.7], np.float32)),
        # A bad value is reported before a fault of a later argument, as when the public
        # layer checked values first: refused before dispatch.
        "nan-coordinate-and-bad-threshold": bad(
            ValueError, "boxes", "row 1", iou_threshold=2.0,
            boxes=_boxes([[0, 0, 1, 1], [0, np.nan, 1, 1], [0, 0, 1, 1]], np.float32)),
        "inverted-box-and-length-mismatch": bad(
            ValueError, "boxes", "row 1", "x2 < x1", scores=np.array([0.9, 0.8]),
            boxes=_boxes([[0, 0, 1, 1], [5, 0, 1, 1], [0, 0, 1, 1]])),
        "nan-score-and-bad-classes": bad(ValueError, "scores", "index 1", after_dispatch=True,
                                         scores=np.array([0.9, np.nan, 0.7], np.float32),
                                         classes=np.array([0.0, 1.0, 2.0])),
        "length-mismatch": bad(ValueError, "scores", "length 2", "3 rows",
                               scores=np.array([0.9, 0.8])),
        "scores-2-d": bad(ValueError, "scores", "dimension", scores=np.array([[0.9, 0.8, 0.7]])),
        "nan-score": bad(ValueError, "scores", "index 1", after_dispatch=True,
                         scores=np.array([0.9, np.nan, 0.7])),
        "inf-score": bad(ValueError, "scores", "index 2", after_dispatch=True,
                         scores=np.array([0.9, 0.8, -np.inf])),
        "nan-score-float32": bad(ValueError, "scores", "index 0", after_dispatch=True,
                                 scores=np.array([np.nan, 0.8, 0.7], np.float32)),
        "inf-score-float32-max-output-0": bad(ValueError, "scores", "index 1", after_dispatch=True,
                                              max_output=0,
                                              scores=np.array([0.9, np.inf, 0.7], np.float32)),
        "scores-text": bad(TypeError, "scores", scores=np.array(["a", "b", "c"])),
        "float-classes": bad(TypeError, "classes", "astype", classes=np.array([0.0, 1.0, 2.0])),
        "classes-too-short": bad(ValueError, "classes", "(3,)", classes=np.array([0, 1])),
        "classes-2-d": bad(ValueError, "classes", classes=np.array([[0, 1, 2]])),
        "class-beyond-int64": bad(ValueError, "classes", "index 2",
                                  classes=np.array([0, 1, 2 ** 64 - 1], dtype=np.uint64)),
        "threshold-negative": bad(ValueError, "iou_threshold", iou_threshold=-0.1),
        "threshold-above-1": bad(ValueError, "iou_threshold", iou_threshold=1.01),
        "threshold-nan": bad(ValueError, "iou_threshold", iou_threshold=float("nan")),
        "threshold-text": bad(TypeError, "iou_threshold", iou_threshold="0.5"),
        "threshold-bool": bad(TypeError, "iou_threshold", iou_threshold=True),
        "score-threshold-inf": bad(ValueError, "score_threshold", score_threshold=float("inf")),
        "score-threshold-nan": bad(ValueError, "score_threshold", score_threshold=float("nan")),
        "max-output-negative": bad(ValueError, "max_output", max_output=-1),
        "max-output-fraction": bad(TypeError, "max_output", max_output=2.5),
        "sigma-0": bad(ValueError, "sigma", sigma=0.0),
        "sigma-negative": bad(ValueError, "sigma", sigma=-1.0),
        "sigma-inf": bad(ValueError, "sigma", sigma=float("inf")),
    }
    return sorted(cases.items())


def clustered_cases(kernel):
    """Detector-like candidates at production sizes (smaller for a quadratic reference)."""
    sizes = [n // kernel.realistic_divisor for n in (1000, 5000)]
    return [("clustered-%d" % n, dict(boxes=c.boxes, scores=c.scores, classes=c.classes, iou_threshold=0.45))
            for n, c in ((n, clustered_candidates(n, n_classes=20, seed=n)) for n in sizes)]


# Small integer coordinates and a few score levels make exact ties, touching boxes,
# zero-area boxes and IoUs exactly at the threshold common rather than rare.
_coordinate = st.one_of(st.integers(0, 12).map(float), st.floats(0, 12, allow_nan=False, width=32))


@st.composite
def nms_inputs(draw):
    n = draw(st.integers(0, 40))
    corners = draw(st.lists(st.tuples(_coordinate, _coordinate, _coordinate, _coordinate),
                            min_size=n, max_size=n))
    boxes = np.array([[min(a, c), min(b, d), max(a, c), max(b, d)] for a, b, c, d in corners],
                     dtype=np.float64).reshape(-1, 4)
    level = st.sampled_from([0.1, 0.5, 0.5, 0.9])
    scores = np.array(draw(st.lists(st.one_of(level, st.floats(0, 1)), min_size=n, max_size=n)))
    classes = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    return dict(
        boxes=boxes, scores=scores, classes=classes,
        iou_threshold=draw(st.one_of(st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 1.0]), st.floats(0, 1))),
        score_threshold=draw(st.one_of(st.none(), st.sampled_from([0.1, 0.5]))),
        max_output=draw(st.one_of(st.none(), st.integers(0, 5))),
        sigma=draw(st.sampled_from([0.1, 0.5, 2.0])),
    )


FAMILIES = {
    "nms": Family(adversarial_cases, clustered_cases, nms_inputs),
    "image": Family(image_cases, frame_cases),
    **{name: Family(cases) for name, cases in decode_cases.FAMILY_CASES.items()},
    "masks": Family(mask_cases.cases, mask_cases.realistic),
    "rotated": Family(rotated_cases.rotated_cases, rotated_cases.rotated_realistic),
    "fast": Family(rotated_cases.fast_cases, rotated_cases.fast_realistic,
                   rotated_cases.fast_inputs),
    "pose": Family(rotated_cases.pose_cases),
    "obb": Family(rotated_cases.obb_cases),
}
