"""Backend selection: precedence, errors, reporting, and a light import."""
import subprocess
import sys
import threading

import numpy as np
import pytest

import accel
from accel import _dispatch
from conftest import REQUIRED

BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11]], dtype=np.float64)
SCORES = np.array([0.9, 0.8])


@pytest.fixture
def spy(monkeypatch):
    """Record which backend each call really ran on."""
    ran = []
    for name in ("python", "numpy"):
        module = _dispatch._load(name)
        original = module.nms

        def wrapper(*args, _name=name, _original=original):
            ran.append(_name)
            return _original(*args)

        monkeypatch.setattr(module, "nms", wrapper)
    monkeypatch.delenv(_dispatch.ENV_VAR, raising=False)
    return ran


def test_required_backends_load():
    """With ACCEL_REQUIRE_BACKENDS set (CI), every named backend must load here."""
    report = accel.backends()
    missing = {name: report[name].reason for name in REQUIRED if not report[name].available}
    assert not missing


def test_report_lists_every_backend_with_reason():
    report = accel.backends()
    assert list(report) == list(accel.BACKEND_NAMES)
    assert report["python"].available and report["numpy"].available
    for info in report.values():
        assert info.available or "to get it" in info.reason
    assert "python" in str(report)
    assert set(accel.available_backends()) == {n for n, i in report.items() if i.available}


def test_precedence_argument_context_environment(spy, monkeypatch):
    monkeypatch.setenv(_dispatch.ENV_VAR, "numpy")
    accel.nms(BOXES, SCORES, 0.5)
    with accel.use_backend("python"):
        accel.nms(BOXES, SCORES, 0.5)
        accel.nms(BOXES, SCORES, 0.5, backend="numpy")
    accel.nms(BOXES, SCORES, 0.5, backend="python")
    assert spy == ["numpy", "python", "numpy", "python"]
    assert _dispatch.choose("nms", 2) == ("numpy", "environment")
    with accel.use_backend("python"):
        assert _dispatch.choose("nms", 2, "numpy") == ("numpy", "argument")
        assert _dispatch.choose("nms", 2) == ("python", "context")


def test_profile_hook_is_below_environment(spy, monkeypatch):
    monkeypatch.setattr(_dispatch, "_profile_choice", lambda kernel, size: "python")
    accel.nms(BOXES, SCORES, 0.5)
    monkeypatch.setenv(_dispatch.ENV_VAR, "numpy")
    accel.nms(BOXES, SCORES, 0.5)
    assert spy == ["python", "numpy"]


def test_default_is_first_available_in_interpreter_order(monkeypatch):
    monkeypatch.delenv(_dispatch.ENV_VAR, raising=False)
    name, source = _dispatch.choose("nms", 10)
    order = _dispatch.DEFAULT_ORDER[_dispatch.IMPLEMENTATION]
    assert source == "default"
    assert name == next(n for n in order if accel.backends()[n].available)


def test_context_is_per_thread(spy):
    seen = []
    with accel.use_backend("python"):
        worker = threading.Thread(target=lambda: seen.append(_dispatch.choose("nms", 2)[1]))
        worker.start()
        worker.join()
    assert len(seen) == 1 and seen[0] in ("environment", "profile", "default")


@pytest.mark.parametrize("where", ["argument", "context", "environment"])
def test_unknown_backend_lists_valid_names(where, monkeypatch):
    monkeypatch.delenv(_dispatch.ENV_VAR, raising=False)
    with pytest.raises(ValueError) as info:
        if where == "argument":
            accel.nms(BOXES, SCORES, 0.5, backend="fortran")
        elif where == "context":
            with accel.use_backend("fortran"):
                pass
        else:
            monkeypatch.setenv(_dispatch.ENV_VAR, "fortran")
            accel.nms(BOXES, SCORES, 0.5)
    message = str(info.value)
    assert "fortran" in message
    assert all(name in message for name in accel.BACKEND_NAMES)


def test_unavailable_backend_says_why_and_how(isolated_dispatch):
    isolated_dispatch.setitem(_dispatch._MODULES, "cffi", "accel._backends._does_not_exist")
    _dispatch._loaded.pop("cffi", None)
    _dispatch._failed.pop("cffi", None)
    with pytest.raises(accel.BackendUnavailableError) as info:
        accel.nms(BOXES, SCORES, 0.5, backend="cffi")
    assert "_does_not_exist" in str(info.value) and "To get it" in str(info.value)
    with pytest.raises(accel.BackendUnavailableError):
        with accel.use_backend("cffi"):
            pass
    assert not accel.backends()["cffi"].available


def test_import_is_light():
    """``import accel`` adds nothing beyond numpy but accel's own runtime (and the
    standard library): no backend, no compare tool, no peer or progress library."""
    code = ("import sys, sysconfig, numpy; before = set(sys.modules); import accel; "
            "stdlib = sysconfig.get_paths()['stdlib']; "
            "print('\\n'.join(sorted(m for m in set(sys.modules) - before "
            "if not (m == 'accel' or m.startswith('accel._')) and not "
            "(getattr(sys.modules[m], '__file__', None) or stdlib).startswith(stdlib))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    code = ("import sys, accel; print(sorted(m for m in sys.modules if m.startswith("
            "('accel.compare', 'accel._backends.', 'numba', 'cffi', 'tqdm', 'tabulate', 'cv2'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_numba_is_absent_not_faked_on_pypy():
    if _dispatch.IMPLEMENTATION != "pypy":
        pytest.skip("checks PyPy behaviour; this is %s" % _dispatch.IMPLEMENTATION)
    info = accel.backends()["numba"]
    assert not info.available and "PyPy" in info.reason


def test_backends_with_a_size_says_what_each_kernel_uses():
    report = accel.backends(5000)
    assert set(report.choices) == set(accel.KERNELS)
    with accel.use_backend("numpy"):
        assert accel.backends(5000).choices["nms"] == "numpy (use_backend() context)"
    text = str(report)
    assert "5000 boxes" in text and "5000 anchors" in text and "decode_yolov8_raw" in text
    assert accel.backends().choices == {} and "size" not in str(accel.backends())
