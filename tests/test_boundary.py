"""The backend boundary: every backend package defines exactly the functions of
``accel._backends.BOUNDARY``, with exactly its parameter names; ``missing_functions``
says what one lacks, and the dispatcher refuses a backend that is not whole."""
import importlib
import sys
import types

import numpy as np
import pytest

import accel
from accel import _dispatch
from accel._backends import BACKEND_NAMES, BOUNDARY, missing_functions, parameter_names
from conftest import require_backend


def backend_package(name):
    """The package, imported directly: one that imports is examined even when the
    dispatcher refuses it; one that does not is a skip, or a failure when required."""
    try:
        return importlib.import_module(_dispatch._MODULES[name])
    except Exception:
        require_backend(name)
        raise


def public_callables(module):
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and callable(value)
            and not isinstance(value, types.ModuleType)}


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_backend_is_exactly_the_boundary(name):
    package = backend_package(name)
    assert public_callables(package) == set(BOUNDARY)
    found = {function: parameter_names(getattr(package, function)) for function in BOUNDARY}
    assert found == {function: parameters for function, (_, parameters) in BOUNDARY.items()}
    assert missing_functions(package) == []
    assert require_backend(name) == name  # and the dispatcher loads it


def broken_copy(module):
    """``module``'s boundary functions without ``letterbox``, and ``nms`` taking ``iou``
    where the boundary says ``iou_threshold``."""
    functions = {name: getattr(module, name) for name in BOUNDARY if name != "letterbox"}

    def nms(boxes, scores, iou, score_threshold, max_output):
        return module.nms(boxes, scores, iou, score_threshold, max_output)

    functions["nms"] = nms
    return functions


PROBLEMS = [
    "nms(boxes, scores, iou, score_threshold, max_output) instead of "
    "nms(boxes, scores, iou_threshold, score_threshold, max_output)",
    "no letterbox() (preprocess family)",
]


def test_missing_functions_reports_a_deleted_function_and_a_renamed_parameter():
    reference = backend_package("python")
    assert missing_functions(reference) == []
    assert missing_functions(types.SimpleNamespace(**broken_copy(reference))) == PROBLEMS
    assert missing_functions(types.SimpleNamespace()) == [
        "no %s() (%s family)" % (name, family) for name, (family, _) in BOUNDARY.items()]


def test_dispatcher_refuses_an_incomplete_backend(isolated_dispatch):
    fake = types.ModuleType("accel_tests_incomplete_backend")
    fake.__dict__.update(broken_copy(backend_package("python")))
    isolated_dispatch.setitem(sys.modules, fake.__name__, fake)
    isolated_dispatch.setitem(_dispatch._MODULES, "numpy", fake.__name__)
    _dispatch._loaded.pop("numpy", None)
    _dispatch._failed.pop("numpy", None)

    info = accel.backends()["numpy"]
    assert not info.available and "numpy" not in accel.available_backends()
    assert "incomplete backend %s: %s" % (fake.__name__, "; ".join(PROBLEMS)) in info.reason
    assert "pip install" not in info.reason  # installing numpy again would not help
    boxes, scores = np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([0.5])
    with pytest.raises(accel.BackendUnavailableError, match="no letterbox"):
        accel.nms(boxes, scores, 0.5, backend="numpy")  # no partial backends: not even nms
    with pytest.raises(accel.BackendUnavailableError, match="no letterbox"):
        with accel.use_backend("numpy"):
            pass

    isolated_dispatch.undo()
    assert accel.backends()["numpy"].available
    np.testing.assert_array_equal(accel.nms(boxes, scores, 0.5, backend="numpy"), [0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nms_backends_take_float32_and_float64_and_check_values(name_of_backend, dtype):
    """The boundary of nms and batched_nms: either float dtype, values checked by the
    backend, which returns None on a bad one whatever the options."""
    package = backend_package(name_of_backend)
    good = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype)
    scores = np.array([0.9, 0.8, 0.7], dtype)
    classes = np.array([0, 0, 1], np.int64)
    np.testing.assert_array_equal(package.nms(good, scores, 0.5, -np.inf, 3), [0, 2])
    np.testing.assert_array_equal(package.batched_nms(good, scores, classes, 0.5, -np.inf, 3),
                                  [0, 2])
    for bad_boxes, bad_scores in [
            (np.where(np.arange(12).reshape(3, 4) == 5, np.nan, good).astype(dtype), scores),
            (np.where(np.arange(12).reshape(3, 4) == 10, np.inf, good).astype(dtype), scores),
            (good[:, [2, 1, 0, 3]].copy(), scores),  # x2 < x1
            (good, np.array([0.9, -np.inf, 0.7], dtype)),
            (good, np.array([0.9, 0.8, np.nan], dtype))]:
        for score_threshold, max_output in [(-np.inf, 3), (0.95, 3), (-np.inf, 0)]:
            assert package.nms(bad_boxes, bad_scores, 0.5, score_threshold, max_output) is None
            assert package.batched_nms(bad_boxes, bad_scores, classes, 0.5, score_threshold,
                                       max_output) is None


@pytest.fixture(params=BACKEND_NAMES)
def name_of_backend(request):
    return request.param


def test_a_decode_scan_without_check_finite_is_refused():
    """The decode boundary's ``check_finite`` (and the 4th result it asks for, first_bad):
    a backend written for the earlier boundary does not load, rather than miss NaN."""
    reference = backend_package("python")
    functions = {name: getattr(reference, name) for name in BOUNDARY}

    def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc,
                    obj_offset, threshold, multi_label):
        return reference.decode_scan(data, n_anchors, anchor_stride, channel_stride,
                                     cls_offset, nc, obj_offset, threshold, multi_label,
                                     False)[:3]

    functions["decode_scan"] = decode_scan
    old = ("data", "n_anchors", "anchor_stride", "channel_stride", "cls_offset", "nc",
           "obj_offset", "threshold", "multi_label")
    assert BOUNDARY["decode_scan"][1] == old + ("check_finite",)
    assert missing_functions(types.SimpleNamespace(**functions)) == [
        "decode_scan(%s) instead of decode_scan(%s)"
        % (", ".join(old), ", ".join(old + ("check_finite",)))]
