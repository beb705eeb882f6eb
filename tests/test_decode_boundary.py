"""The decoding backend boundary (``accel._backends``), called directly: every backend's
``decode_scan`` and ``scale_boxes`` against the pure-Python reference, on layouts and
values the public layer can hand over (both strides, ties, signed zeros, values equal
to the threshold, objectness products that round), and ``decode_scan``'s ``first_bad``
(the lowest anchor with a non-finite value the scan reads) on NaN and infinities placed
in every kind of channel, against a brute-force reading of the contract; and its integer
form (int8/uint8 codes against a code cut-off), against the contract and against the
float scan of the dequantized values."""
import numpy as np
import pytest

from accel import _dispatch
from accel._backends.python import decode as reference
from conftest import CANDIDATES, require_backend


def backend_module(name):
    require_backend(name)
    return _dispatch._load(name)


def _readonly(array):
    array = np.ascontiguousarray(array).ravel()
    array.flags.writeable = False
    return array


def _scan_cases():
    rng = np.random.default_rng(11)
    cases = []
    for dtype in (np.float32, np.float64):
        # YOLOv8 layout (4 + nc, A): classes are rows, anchors contiguous.
        v8 = rng.random((4 + 7, 300)).astype(dtype) ** 3
        cases.append(("v8-%s" % np.dtype(dtype).name,
                      dict(data=v8, n_anchors=300, anchor_stride=1, channel_stride=300,
                           cls_offset=4, nc=7, obj_offset=-1, threshold=0.25)))
        # YOLOv5 layout (A, 5 + nc): anchors are rows, with objectness.
        v5 = rng.random((257, 5 + 6)).astype(dtype)
        cases.append(("v5-%s" % np.dtype(dtype).name,
                      dict(data=v5, n_anchors=257, anchor_stride=11, channel_stride=1,
                           cls_offset=5, nc=6, obj_offset=4, threshold=0.3)))
    ties = np.array([[0.5, 0.5, 0.1], [0.0, -0.0, 0.0], [-0.0, 0.0, -0.0],
                     [0.25, 0.25, 0.25], [0.2, 0.9, 0.9], [0.9, 0.2, 0.9]], np.float32)
    for threshold in (0.25, -0.5, 0.0):
        for layout, data, stride in (("anchor-major", ties, (3, 1)), ("class-major", ties.T, (1, 6))):
            cases.append(("ties-%s-thr%g" % (layout, threshold),
                          dict(data=data, n_anchors=6, anchor_stride=stride[0],
                               channel_stride=stride[1], cls_offset=0, nc=3, obj_offset=-1,
                               threshold=threshold)))
    # Objectness products that round, and objectness equal to the threshold.
    obj = np.array([[0.3, 0.7, 0.9, 0.6], [0.3, 1 / 3, 0.99, 0.7], [0.5, 0.1, 0.5, 0.5],
                    [0.3000001, 1.0, 0.3, 0.2]], np.float32)
    cases.append(("objectness-at-threshold", dict(
        data=obj, n_anchors=4, anchor_stride=4, channel_stride=1, cls_offset=1, nc=3,
        obj_offset=0, threshold=float(np.float32(0.3)))))
    # One level of a raw head in NCHW: class logits of 5 x 6 cells after 8 box channels.
    raw = rng.normal(-2.0, 2.0, (8 + 4, 5 * 6)).astype(np.float32)
    cases.append(("raw-nchw-logits", dict(
        data=raw, n_anchors=30, anchor_stride=1, channel_stride=30, cls_offset=8, nc=4,
        obj_offset=-1, threshold=float(np.float32(-0.5)))))
    cases.append(("raw-nhwc-logits", dict(
        data=raw.T, n_anchors=30, anchor_stride=12, channel_stride=1, cls_offset=8, nc=4,
        obj_offset=-1, threshold=float(np.float32(0.7)))))
    # Wide contiguous rows (nc >= 16: the compiled scans find the best class with 8
    # running maxima, then search for the first class equal to it): equal maxima in the
    # same lane and in different lanes, in the tail, signed zeros, products that round.
    wide = np.full((9, 5 + 21), -1.0, np.float32)
    wide[:, 4] = 1.0
    wide[0, 5 + 3] = wide[0, 5 + 11] = 0.75          # same lane (3 and 11), first wins
    wide[1, 5 + 12] = wide[1, 5 + 3] = 0.75          # different lanes
    wide[2, 5 + 20] = 0.9                            # the tail after 16 classes
    wide[2, 5 + 19] = 0.9
    wide[3, 5:] = 0.0
    wide[3, 5 + 2] = -0.0                            # -0.0 then 0.0: the first one's sign
    wide[4, 5:] = -0.0
    wide[4, 5 + 9] = 0.0
    wide[5, 4] = 0.3                                  # products that round to one float32
    wide[5, 5 + 7], wide[5, 5 + 15] = 0.84, 0.8333334
    wide[6, 5 + 0] = 0.5                             # the first class
    wide[7, 5:] = np.linspace(0.1, 0.6, 21)           # the last class
    wide[8, 4] = 0.1                                  # objectness below the threshold
    for with_objectness in (True, False):
        cases.append(("wide-rows-%s" % ("objectness" if with_objectness else "no-objectness"),
                      dict(data=wide, n_anchors=9, anchor_stride=26, channel_stride=1,
                           cls_offset=5, nc=21, obj_offset=4 if with_objectness else -1,
                           threshold=-0.5 if not with_objectness else 0.25)))
    # The same rows class-major (YOLOv8's layout): the compiled scans fold 8 and 4 class
    # rows at a time in trees whose earlier side must win ties (equal maxima and signed
    # zeros inside one group of 8, across groups, and in the rows after the last group).
    for dtype in (np.float32, np.float64):
        columns = np.full((4 + 21, 40), -1.0, dtype)
        columns[4:, :9] = wide[:, 5:].T
        columns[4 + 1, 9] = columns[4 + 6, 9] = 0.5     # one group of 8: first wins
        columns[4 + 7, 10] = columns[4 + 13, 10] = 0.5  # across groups
        columns[4 + 17, 11] = columns[4 + 20, 11] = 0.5  # after the last group of 8
        columns[4:, 12] = -0.0
        columns[4 + 12, 12] = 0.0                       # -0.0 first, then 0.0
        columns[4:, 13] = 0.0
        columns[4 + 8, 13] = -0.0
        columns[4 + 2, 14], columns[4 + 6, 14] = -0.0, 0.0  # signed zeros, one group of 8
        columns[4 + 11, 15], columns[4 + 15, 15] = 0.0, -0.0  # in the second group
        columns[4 + 3, 16:] = 0.25                      # one score, in class 3
        cases.append(("ties-class-major-nc21-%s" % np.dtype(dtype).name, dict(
            data=columns, n_anchors=40, anchor_stride=1, channel_stride=40, cls_offset=4,
            nc=21, obj_offset=-1, threshold=-0.5)))
    cases.append(("one-class", dict(
        data=v8[:5], n_anchors=300, anchor_stride=1, channel_stride=300, cls_offset=4, nc=1,
        obj_offset=-1, threshold=0.5)))
    cases.append(("nothing-kept", dict(
        data=v8, n_anchors=300, anchor_stride=1, channel_stride=300, cls_offset=4, nc=7,
        obj_offset=-1, threshold=1.0)))
    cases.append(("zero-anchors", dict(
        data=np.zeros((0, 9), np.float32), n_anchors=0, anchor_stride=9, channel_stride=1,
        cls_offset=5, nc=4, obj_offset=4, threshold=0.25)))
    return cases


SCAN_CASES = _scan_cases()


@pytest.mark.parametrize("check_finite", [True, False], ids=["checked", "unchecked"])
@pytest.mark.parametrize("multi_label", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("case_id, case", SCAN_CASES, ids=[c[0] for c in SCAN_CASES])
@pytest.mark.parametrize("name", CANDIDATES)
def test_decode_scan_matches_reference(name, case_id, case, multi_label, check_finite):
    module = backend_module(name)
    args = dict(case, data=_readonly(case["data"]), multi_label=multi_label,
                check_finite=check_finite)
    expected = reference.decode_scan(**args)
    actual = module.decode_scan(**args)
    assert expected[0].size > 0 or case_id in ("nothing-kept", "zero-anchors")
    assert len(actual) == 4 and type(actual[3]) is int and actual[3] == expected[3] == -1
    for want, got, dtype in zip(expected, actual, (np.int64, np.int64, args["data"].dtype)):
        assert got.dtype == dtype and got.ndim == 1
        assert got.tobytes() == want.tobytes(), (want, got)


def first_bad_oracle(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                     threshold, **_):
    """The contract's ``first_bad``, read literally: the objectness of every anchor, and the
    class scores of every anchor without objectness or whose objectness passes."""
    for a in range(n_anchors):
        base = a * anchor_stride
        if obj_offset >= 0:
            objectness = data[base + obj_offset * channel_stride]
            if not np.isfinite(objectness):
                return a
            if not objectness > threshold:
                continue
        first = base + cls_offset * channel_stride
        if not np.isfinite(data[first:first + nc * channel_stride:channel_stride]).all():
            return a
    return -1


def _non_finite_cases():
    """(id, case, [(flat index, value), ...]): scan layouts, each with bad values placed."""
    rng = np.random.default_rng(5)
    cases = []
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        # Class-major, more anchors than one block of any backend (2048), nc odd and even.
        for nc in (7, 8):
            v8 = (rng.random((4 + nc, 5000)) ** 3).astype(dtype)
            case = dict(data=v8, n_anchors=5000, anchor_stride=1, channel_stride=5000,
                        cls_offset=4, nc=nc, obj_offset=-1, threshold=0.25)
            at = lambda c, a: c * 5000 + a  # noqa: E731
            cases += [
                ("v8-nc%d-%s-nan-score" % (nc, name), case, [(at(4 + nc - 1, 3100), np.nan)]),
                ("v8-nc%d-%s-inf-first-class" % (nc, name), case, [(at(4, 17), np.inf)]),
                ("v8-nc%d-%s-neg-inf" % (nc, name), case, [(at(6, 4999), -np.inf)]),
                # The lowest anchor wins, whatever the channel order.
                ("v8-nc%d-%s-two" % (nc, name), case,
                 [(at(5, 2049), np.nan), (at(4 + nc - 1, 2048), np.inf)]),
                # Box channels are not read by the scan.
                ("v8-nc%d-%s-box" % (nc, name), case, [(at(1, 10), np.nan)]),
                # Finite values whose sum overflows: a block flagged, then cleared exactly.
                ("v8-nc%d-%s-huge" % (nc, name), case,
                 [(at(4 + c, 40), np.finfo(dtype).max) for c in range(3)]
                 + [(at(4 + c, 41), -np.finfo(dtype).max) for c in range(3)]),
            ]
        # Anchor-major with objectness (YOLOv5 (A, 5 + nc)).
        v5 = rng.random((600, 5 + 6)).astype(dtype)
        case = dict(data=v5, n_anchors=600, anchor_stride=11, channel_stride=1, cls_offset=5,
                    nc=6, obj_offset=4, threshold=0.3)
        candidates = np.flatnonzero(v5[:, 4] > 0.3)
        skipped = np.flatnonzero(v5[:, 4] <= 0.3)
        at = lambda a, c: a * 11 + c  # noqa: E731
        cases += [
            ("v5-%s-nan-objectness" % name, case, [(at(250, 4), np.nan)]),
            ("v5-%s-inf-objectness-was-low" % name, case, [(at(skipped[3], 4), np.inf)]),
            ("v5-%s-nan-class-of-candidate" % name, case, [(at(candidates[5], 10), np.nan)]),
            ("v5-%s-nan-class-of-skipped" % name, case, [(at(skipped[0], 7), np.nan)]),
            # A candidate's class before a later bad objectness (multi-label revisits).
            ("v5-%s-class-then-objectness" % name, case,
             [(at(candidates[20], 5), -np.inf), (at(candidates[30], 4), np.nan)]),
            ("v5-%s-box" % name, case, [(at(candidates[0], 0), np.nan)]),
            ("v5-%s-huge" % name, case, [(at(candidates[2], 5 + c), np.finfo(dtype).max)
                                         for c in range(6)]),
        ]
    # Wide contiguous rows with objectness (nc >= 16: summed while the best class is
    # found; 83 classes leave a tail after the lanes of 8), over two chunks of 512.
    wide = rng.random((700, 5 + 83)).astype(np.float32)
    case = dict(data=wide, n_anchors=700, anchor_stride=88, channel_stride=1, cls_offset=5,
                nc=83, obj_offset=4, threshold=0.5)
    candidates = np.flatnonzero(wide[:, 4] > 0.5)
    at = lambda a, c: a * 88 + c  # noqa: E731
    cases += [
        ("wide-nan-class-of-candidate", case, [(at(candidates[300], 5 + 40), np.nan)]),
        ("wide-inf-class-in-tail", case, [(at(candidates[2], 5 + 82), np.inf)]),
        ("wide-objectness-after-class", case,
         [(at(candidates[10], 5 + 3), -np.inf), (at(candidates[11], 4), np.nan),
          (at(candidates[12], 5), np.nan)]),
        ("wide-huge", case, [(at(candidates[7], 5 + c), np.finfo(np.float32).max)
                             for c in range(83)]),
    ]
    # Anchor-major without objectness: anchors first, (A, 4 + nc), and a raw NHWC level.
    v8t = rng.random((300, 4 + 9)).astype(np.float32)
    case = dict(data=v8t, n_anchors=300, anchor_stride=13, channel_stride=1, cls_offset=4,
                nc=9, obj_offset=-1, threshold=0.5)
    cases += [("anchors-first-nan", case, [(120 * 13 + 12, np.nan)]),
              ("anchors-first-box", case, [(7 * 13 + 3, np.inf)])]
    return cases


NON_FINITE_CASES = _non_finite_cases()


@pytest.mark.parametrize("multi_label", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("case_id, case, bad", NON_FINITE_CASES,
                         ids=[c[0] for c in NON_FINITE_CASES])
@pytest.mark.parametrize("name", ("python",) + CANDIDATES)
def test_decode_scan_finds_the_first_non_finite_anchor(name, case_id, case, bad, multi_label):
    module = backend_module(name)
    data = np.array(case["data"])
    for index, value in bad:
        data.reshape(-1)[index] = value
    data = _readonly(data)
    args = dict(case, data=data, multi_label=multi_label)
    expected = first_bad_oracle(**args)
    assert (expected == -1) == case_id.endswith(("-box", "-huge", "of-skipped"))
    found = module.decode_scan(**args, check_finite=True)
    assert type(found[3]) is int and found[3] == expected
    if expected == -1:  # nothing the scan reads is bad: the usual answer, bit for bit
        want = reference.decode_scan(**args, check_finite=False)
        for a, b in zip(want[:3], found[:3]):
            assert a.tobytes() == b.tobytes()
    # Unchecked, the same data runs to the end without a crash and reports nothing.
    assert module.decode_scan(**args, check_finite=False)[3] == -1


def _code_scan_cases():
    """Integer data (codes of quantized outputs): both layouts, int8 and uint8, cut-offs
    from below the lowest code (every anchor kept) to the highest (none), ties of the
    largest code, saturated rows, class counts around the C scan's limits (one class,
    groups of 4 with a head, 256 classes with byte-sized class indices, more than 256:
    the anchor-major path), and more anchors than one block of any backend."""
    rng = np.random.default_rng(17)
    cases = []
    for dtype in (np.int8, np.uint8):
        info = np.iinfo(dtype)
        name = np.dtype(dtype).name
        for nc, n_anchors in ((1, 300), (7, 5000), (80, 2100), (256, 300), (300, 90)):
            # Few distinct levels: ties of the largest code are common.
            codes = rng.integers(info.min, info.max + 1, (4 + nc, n_anchors))
            codes[4:] = np.clip(codes[4:] // 32 * 32, info.min, info.max)
            codes[4:, :10] = info.max  # saturated: every class ties at the highest code
            codes[4:, 10:20] = info.min
            codes = codes.astype(dtype)
            for threshold in (info.min - 1, info.min, 0 if nc != 7 else 95, info.max - 1,
                              info.max):
                layouts = [("class-major", codes, (1, n_anchors))]
                if threshold == info.min or nc == 7:
                    layouts.append(("anchor-major", codes.T, (4 + nc, 1)))
                for layout, data, (anchor_stride, channel_stride) in layouts:
                    cases.append(("%s-nc%d-%s-thr%d" % (name, nc, layout, threshold), dict(
                        data=data, n_anchors=n_anchors, anchor_stride=anchor_stride,
                        channel_stride=channel_stride, cls_offset=4, nc=nc, obj_offset=-1,
                        threshold=threshold)))
    return cases


CODE_SCAN_CASES = _code_scan_cases()


def _code_scan_oracle(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                      threshold, multi_label, **_):
    """The integer contract read literally, in NumPy: (anchors, classes, codes)."""
    rows = np.array([[int(data[a * anchor_stride + (cls_offset + c) * channel_stride])
                      for c in range(nc)] for a in range(n_anchors)]).reshape(n_anchors, nc)
    if multi_label:
        anchors, classes = np.nonzero(rows > threshold)
    else:
        classes = rows.argmax(axis=1)  # the first of equal maxima
        anchors = np.flatnonzero(rows.max(axis=1) > threshold)
        classes = classes[anchors]
    return anchors, classes, rows[anchors, classes]


@pytest.mark.parametrize("multi_label", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("case_id, case", CODE_SCAN_CASES, ids=[c[0] for c in CODE_SCAN_CASES])
@pytest.mark.parametrize("name", ("python",) + CANDIDATES)
def test_decode_scan_of_codes(name, case_id, case, multi_label):
    """Every backend, the reference included, against the contract read literally."""
    module = backend_module(name)
    data = _readonly(case["data"])
    args = dict(case, data=data, multi_label=multi_label, check_finite=False)
    anchors, classes, codes, first_bad = module.decode_scan(**args)
    assert type(first_bad) is int and first_bad == -1
    want = _code_scan_oracle(**args)
    assert anchors.dtype == classes.dtype == np.int64 and codes.dtype == data.dtype
    assert anchors.tolist() == want[0].tolist() and classes.tolist() == want[1].tolist()
    assert codes.tolist() == want[2].tolist()
    lowest, highest = np.iinfo(data.dtype).min, np.iinfo(data.dtype).max
    if case["threshold"] < lowest:
        assert anchors.size == (case["n_anchors"] * (case["nc"] if multi_label else 1))
    if case["threshold"] >= highest:
        assert anchors.size == 0


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("name", ("python",) + CANDIDATES)
def test_decode_scan_of_codes_is_the_float_scan_of_their_values(name, dtype):
    """With the cut-off of a float threshold (accel._quant.code_cutoff), the scan of the
    codes keeps what the float scan of the dequantized values keeps, with the same
    classes, and the kept codes dequantize to its scores bit for bit; thresholds on a
    quantization step and between two steps."""
    from accel import _quant
    module = backend_module(name)
    rng = np.random.default_rng(23)
    info = np.iinfo(dtype)
    codes = rng.integers(info.min, info.max + 1, (4 + 11, 700)).astype(dtype)
    for scale, zero_point in ((1 / 255, info.min), (0.0039215684, 0 if dtype == np.int8 else 128),
                              (0.1, -3 if dtype == np.int8 else 3), (3e-3, info.max)):
        params = _quant.quant_params((scale, zero_point), "quant", dtype)
        values = _quant.dequantize(codes, params)
        step = float(_quant.dequantize(np.array([info.min + 200]), params)[0])
        for threshold in (0.0, 0.25, step, np.nextafter(step, 0.0), float(np.float32(0.3))):
            for layout, data, strides in (("class-major", codes, (1, 700)),
                                          ("anchor-major", codes.T, (15, 1))):
                floats = values if layout == "class-major" else values.T
                for multi_label in (False, True):
                    float_args = (_readonly(floats), 700, strides[0], strides[1], 4, 11, -1,
                                  threshold, multi_label, False)
                    # The reference float scan, whose threshold is exact in float32 here
                    want = reference.decode_scan(*float_args)
                    got = module.decode_scan(_readonly(data), 700, strides[0], strides[1], 4,
                                             11, -1, _quant.code_cutoff(params, threshold),
                                             multi_label, False)
                    assert got[0].tobytes() == want[0].tobytes()
                    assert got[1].tobytes() == want[1].tobytes()
                    assert _quant.dequantize(got[2], params).tobytes() == want[2].tobytes()


@pytest.mark.parametrize("name", ("python",) + CANDIDATES)
def test_decode_scan_of_codes_takes_no_objectness(name):
    module = backend_module(name)
    data = _readonly(np.zeros((10, 7), np.int8))
    with pytest.raises(ValueError, match="obj_offset"):
        module.decode_scan(data, 10, 7, 1, 5, 2, 4, 0, False, False)


def test_reference_ties_and_products():
    """The reference itself, on hand-checked answers."""
    ties = _readonly(np.array([[0.2, 0.9, 0.9], [0.9, 0.2, 0.9], [0.0, -0.0, 0.0]], np.float32))
    anchors, classes, scores = reference.decode_scan(ties, 3, 3, 1, 0, 3, -1, -0.5, False, True)[:3]
    assert anchors.tolist() == [0, 1, 2] and classes.tolist() == [1, 0, 0]
    assert np.signbit(scores[2]) == np.signbit(np.float32(0.0))
    anchors, classes, _ = reference.decode_scan(ties, 3, 3, 1, 0, 3, -1, 0.5, True, True)[:3]
    assert list(zip(anchors.tolist(), classes.tolist())) == [(0, 1), (0, 2), (1, 0), (1, 2)]
    obj = _readonly(np.array([[0.5, 0.7], [0.3, 0.9]], np.float32))
    anchors, classes, scores = reference.decode_scan(obj, 2, 2, 1, 1, 1, 0, 0.3, False, True)[:3]
    assert anchors.tolist() == [0] and scores.tolist() == [np.float32(0.5) * np.float32(0.7)]


def _box_cases():
    rng = np.random.default_rng(3)
    boxes = rng.uniform(-20, 660, (200, 4))
    boxes[:, 2:] = boxes[:, :2] + rng.uniform(0, 80, (200, 2))
    edge = np.array([[12.0, 140.0, 12.0, 140.0], [11.999, 0.0, 628.0, 500.0],
                     [0.0, 0.0, 640.0, 640.0], [-0.0, -0.0, 5.0, 5.0]])
    return [
        ("float32-clip", dict(boxes=boxes.astype(np.float32), gain_x=1 / 3, gain_y=0.3333,
                              pad_x=0.0, pad_y=140.0, clip=True, width=1920, height=1080)),
        ("float64-clip", dict(boxes=boxes, gain_x=0.5, gain_y=0.5, pad_x=12.0, pad_y=140.0,
                              clip=True, width=1256.0, height=720.0)),
        ("float64-noclip", dict(boxes=boxes, gain_x=0.1, gain_y=0.7, pad_x=3.0, pad_y=1.0,
                                clip=False, width=10.0, height=10.0)),
        ("edges-float32", dict(boxes=edge.astype(np.float32), gain_x=0.5, gain_y=0.5,
                               pad_x=12.0, pad_y=140.0, clip=True, width=1232.0, height=720.0)),
        ("signed-zero", dict(boxes=edge[3:], gain_x=2.0, gain_y=2.0, pad_x=0.0, pad_y=0.0,
                             clip=True, width=5.0, height=5.0)),
        ("empty", dict(boxes=np.zeros((0, 4), np.float32), gain_x=1.0, gain_y=1.0, pad_x=0.0,
                       pad_y=0.0, clip=True, width=1.0, height=1.0)),
    ]


BOX_CASES = _box_cases()


@pytest.mark.parametrize("case_id, case", BOX_CASES, ids=[c[0] for c in BOX_CASES])
@pytest.mark.parametrize("name", CANDIDATES)
def test_scale_boxes_matches_reference(name, case_id, case):
    module = backend_module(name)
    boxes = np.ascontiguousarray(case["boxes"])
    boxes.flags.writeable = False
    args = dict(case, boxes=boxes)
    expected = reference.scale_boxes(**args)
    actual = module.scale_boxes(**args)
    assert actual.dtype == boxes.dtype and actual.shape == boxes.shape
    assert actual.tobytes() == expected.tobytes()


def test_reference_scale_boxes_clips_and_keeps_signed_zero():
    boxes = np.array([[-0.0, -4.0, 30.0, 9.0]], np.float64)
    out = reference.scale_boxes(boxes, 2.0, 2.0, 0.0, 1.0, True, 10.0, 10.0)
    assert out.tolist() == [[0.0, 0.0, 10.0, 4.0]] and np.signbit(out[0, 0])


def _corner_cases():
    """decode_boxes inputs: both layouts, both dtypes, values whose float32 sums round
    (huge cx with small w, w whose half is subnormal), signed zeros, NaN and infinity
    (the corners carry them to the public layer's finiteness test), repeated anchors
    (multi-label) and none."""
    rng = np.random.default_rng(5)
    cases = []
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        v8 = (rng.random((4 + 3, 500)) * 640).astype(dtype)
        v8[0, :5] = [1e7, 3.0, -0.0, 16777215.0, 1.5]
        v8[2, :5] = [3.0, np.finfo(dtype).tiny, 0.0, 1.0, np.finfo(dtype).max]
        v8[1, 5], v8[3, 6] = np.nan, np.inf
        anchors = np.array([0, 1, 2, 3, 4, 5, 6, 9, 9, 499, 250], np.int64)
        cases.append(("v8-" + name, dict(data=v8, anchors=anchors, anchor_stride=1,
                                         channel_stride=500)))
        v5 = (rng.random((300, 5 + 4)) * 640).astype(dtype)
        cases.append(("v5-" + name, dict(data=v5, anchors=rng.integers(0, 300, 40),
                                         anchor_stride=9, channel_stride=1)))
        cases.append(("none-" + name, dict(data=v8, anchors=np.zeros(0, np.int64),
                                           anchor_stride=1, channel_stride=500)))
    return cases


CORNER_CASES = _corner_cases()


@pytest.mark.parametrize("case_id, case", CORNER_CASES, ids=[c[0] for c in CORNER_CASES])
@pytest.mark.parametrize("name", CANDIDATES)
def test_decode_boxes_matches_reference(name, case_id, case):
    module = backend_module(name)
    args = dict(case, data=_readonly(case["data"]),
                anchors=_readonly(case["anchors"].astype(np.int64)))
    expected = reference.decode_boxes(**args)
    actual = module.decode_boxes(**args)
    assert actual.dtype == case["data"].dtype and actual.shape == (len(case["anchors"]), 4)
    assert actual.flags.c_contiguous
    assert actual.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_decode_boxes_is_the_corner_formula_in_the_dtype(dtype):
    data = np.array([[1e7, 2.0], [5.0, -0.0], [3.0, 1.0], [np.inf, 0.0]], dtype)  # (4, A=2)
    boxes = reference.decode_boxes(_readonly(data), np.array([0, 1, 0], np.int64), 1, 2)
    cx, cy, w, h = data
    half_w, half_h = w / dtype(2), h / dtype(2)
    expected = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)[[0, 1, 0]]
    assert boxes.tobytes() == expected.astype(dtype).tobytes()
    assert np.isinf(boxes[0, 1]) and np.signbit(boxes[1, 1])


def box_bad_oracle(data, anchor_stride, channel_stride, anchors):
    """The contract's ``box_bad``, read literally: the first row whose anchor has a NaN or
    infinity among its four box channels."""
    for row, anchor in enumerate(anchors.tolist()):
        box = data[anchor * anchor_stride + channel_stride * np.arange(4)]
        if not np.isfinite(box).all():
            return row
    return -1


@pytest.mark.parametrize("check_finite", [True, False], ids=["checked", "unchecked"])
@pytest.mark.parametrize("multi_label", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("case_id, case", SCAN_CASES, ids=[c[0] for c in SCAN_CASES])
@pytest.mark.parametrize("name", ("python",) + CANDIDATES)
def test_decode_detect_is_scan_then_boxes(name, case_id, case, multi_label, check_finite):
    """decode_detect's rows are decode_scan's and its boxes decode_boxes' of their
    anchors, bit for bit, on every scan layout (box channels 0..3 read with the strides)."""
    module = backend_module(name)
    if (case["n_anchors"] - 1) * case["anchor_stride"] + 3 * case["channel_stride"] \
            >= case["data"].size:
        pytest.skip("the layout has fewer than 4 channels: no box to decode")
    args = dict(case, data=_readonly(case["data"]), multi_label=multi_label,
                check_finite=check_finite)
    anchors, classes, scores, first_bad = reference.decode_scan(**args)
    boxes = reference.decode_boxes(args["data"], anchors, case["anchor_stride"],
                                   case["channel_stride"])
    found = module.decode_detect(**args)
    assert len(found) == 6 and type(found[4]) is int and type(found[5]) is int
    assert found[4] == first_bad == -1 and found[5] == -1
    for want, got in zip((anchors, classes, scores, boxes), found[:4]):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


def _box_bad_cases():
    """Non-finite values in the box channels of kept anchors (and of a dropped one), huge
    finite boxes whose corners overflow (not an error), in both layouts and dtypes."""
    rng = np.random.default_rng(23)
    cases = []
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        big = np.finfo(dtype).max
        v8 = (rng.random((4 + 5, 3000)) * 0.5).astype(dtype)
        v8[4, ::7] = 0.9  # every 7th anchor kept
        case = dict(data=v8, n_anchors=3000, anchor_stride=1, channel_stride=3000,
                    cls_offset=4, nc=5, obj_offset=-1, threshold=0.6)
        at = lambda c, a: c * 3000 + a  # noqa: E731
        cases += [
            ("v8-%s-nan-cx" % name, case, [(at(0, 2100), np.nan)]),
            ("v8-%s-inf-h-and-later-nan" % name, case,
             [(at(3, 700), np.inf), (at(1, 14), np.nan)]),
            ("v8-%s-dropped-anchor" % name, case, [(at(2, 701), np.nan)]),
            ("v8-%s-overflowing-corners" % name, case,
             [(at(0, 21), big), (at(2, 21), big), (at(1, 28), -big), (at(3, 28), big)]),
        ]
        v5 = rng.random((400, 5 + 3)).astype(dtype)
        case = dict(data=v5, n_anchors=400, anchor_stride=8, channel_stride=1, cls_offset=5,
                    nc=3, obj_offset=4, threshold=0.2)
        kept = reference.decode_scan(_readonly(v5), 400, 8, 1, 5, 3, 4, 0.2, False, False)[0]
        cases += [("v5-%s-neg-inf-w" % name, case, [(int(kept[9]) * 8 + 2, -np.inf)]),
                  ("v5-%s-overflowing" % name, case,
                   [(int(kept[3]) * 8, big), (int(kept[3]) * 8 + 2, big)])]
    return cases


BOX_BAD_CASES = _box_bad_cases()


@pytest.mark.parametrize("multi_label", [False, True], ids=["single", "multi"])
@pytest.mark.parametrize("case_id, case, bad", BOX_BAD_CASES, ids=[c[0] for c in BOX_BAD_CASES])
@pytest.mark.parametrize("name", ("python",) + CANDIDATES)
def test_decode_detect_finds_the_first_bad_box(name, case_id, case, bad, multi_label):
    module = backend_module(name)
    data = np.array(case["data"])
    for index, value in bad:
        data.reshape(-1)[index] = value
    data = _readonly(data)
    args = dict(case, data=data, multi_label=multi_label)
    found = module.decode_detect(**args, check_finite=True)
    expected = box_bad_oracle(data, case["anchor_stride"], case["channel_stride"], found[0])
    assert (expected == -1) == case_id.endswith(("dropped-anchor", "overflowing-corners",
                                                 "overflowing"))
    assert found[4] == -1 and found[5] == expected
    if expected >= 0:
        assert int(found[0][expected]) == min(a for a in found[0].tolist() if not np.isfinite(
            data[a * case["anchor_stride"] + case["channel_stride"] * np.arange(4)]).all())
    unchecked = module.decode_detect(**args, check_finite=False)
    assert unchecked[5] == -1
    for a, b in zip(found[:4], unchecked[:4]):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", ("python",) + CANDIDATES)
def test_decode_detect_reports_a_bad_score_with_empty_rows(name):
    module = backend_module(name)
    data = np.random.default_rng(3).random((4 + 6, 500)).astype(np.float32)
    data[7, 333] = np.nan
    found = module.decode_detect(_readonly(data), 500, 1, 500, 4, 6, -1, 0.5, False, True)
    assert found[4] == 333 and found[5] == -1
    assert [part.shape[0] for part in found[:4]] == [0, 0, 0, 0]
    assert found[3].shape == (0, 4)
