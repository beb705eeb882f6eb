"""Tuning profiles: round trip, use by the dispatcher, and bad profiles ignored with a warning."""
import json
import warnings

import numpy as np
import pytest

import accel
from accel import _dispatch, _profile
from accel.compare import cli as compare
from accel.compare.tuning import save as save_profile


@pytest.fixture
def profile_path(tmp_path, monkeypatch):
    path = tmp_path / "profile.json"
    monkeypatch.setenv(_profile.ENV_VAR, str(path))
    monkeypatch.delenv(_dispatch.ENV_VAR, raising=False)
    accel.reload_profile()
    yield path
    accel.reload_profile()


def fake_results(best_small="numpy", best_large="python"):
    rows = []
    for size, best in ((100, best_small), (10000, best_large)):
        for backend in ("python", "numpy"):
            rows.append(dict(kernel="nms", size=size, backend=backend, agrees=True,
                             median_s=1.0 if backend == best else 2.0))
    # a faster backend that gave a wrong answer must never be chosen
    rows.append(dict(kernel="nms", size=100, backend="cffi", agrees=False, median_s=0.1))
    return rows


def test_round_trip_and_buckets(profile_path):
    save_profile(fake_results(), str(profile_path))
    profile = _profile.load(str(profile_path))
    assert profile.choice("nms", 1) == ("numpy", 100)
    assert profile.choice("nms", 999) == ("numpy", 100)      # below sqrt(100 * 10000)
    assert profile.choice("nms", 1001) == ("python", 10000)
    assert profile.choice("soft_nms", 10) is None
    saved = json.loads(profile_path.read_text())
    assert saved["kernels"]["nms"][0]["median_s"] == {"python": 2.0, "numpy": 1.0, "cffi": 0.1}


def test_dispatcher_uses_profile_below_explicit_choices(profile_path, monkeypatch):
    save_profile(fake_results(), str(profile_path))
    accel.reload_profile()
    assert _dispatch.choose("nms", 50) == ("numpy", "profile")
    assert _dispatch.choose("nms", 50000) == ("python", "profile")
    assert _dispatch.choose("nms", 50, "python") == ("python", "argument")
    with accel.use_backend("python"):
        assert _dispatch.choose("nms", 50) == ("python", "context")
    monkeypatch.setenv(_dispatch.ENV_VAR, "python")
    assert _dispatch.choose("nms", 50) == ("python", "environment")
    monkeypatch.delenv(_dispatch.ENV_VAR)
    assert _dispatch.choose("soft_nms", 50)[1] == "default"
    assert "tuning profile" in accel.explain(50)["nms"]
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 1]], dtype=float)
    np.testing.assert_array_equal(accel.nms(boxes, [0.5, 0.6], 0.5), [1])


@pytest.mark.parametrize("damage", ["corrupt", "foreign", "stale", "wrong-format"])
def test_bad_profile_is_ignored_with_one_warning(profile_path, damage, monkeypatch):
    save_profile(fake_results(), str(profile_path))
    document = json.loads(profile_path.read_text())
    if damage == "corrupt":
        profile_path.write_text(profile_path.read_text()[:40])
    elif damage == "foreign":
        document["identity"]["cpu"] = "some other CPU"
        profile_path.write_text(json.dumps(document))
    elif damage == "stale":
        monkeypatch.setattr(_profile, "build_fingerprint", lambda: "rebuilt")
    else:
        document["format"] = "accel-profile/999"
        profile_path.write_text(json.dumps(document))
    accel.reload_profile()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert _dispatch.choose("nms", 50)[1] == "default"
    assert len(caught) == 1
    assert "ignoring" in str(caught[0].message) and str(profile_path) in str(caught[0].message)


def test_compare_save_and_show_profile(profile_path, capsys):
    code = compare.main(["--kernels", "nms", "--backends", "python,numpy", "--sizes", "40",
                         "--budget", "0.001", "--no-progress", "--save"])
    assert code == 0
    assert "Saved %s:" % profile_path in capsys.readouterr().out
    assert _dispatch.choose("nms", 40)[1] == "profile"
    assert compare.main(["--show-profile", "40"]) == 0
    out = capsys.readouterr().out
    assert "(in use)" in out and "tuning profile" in out


def test_profile_is_per_interpreter_and_machine(monkeypatch):
    monkeypatch.delenv(_profile.ENV_VAR, raising=False)
    here = _profile.default_path()
    monkeypatch.setattr(_profile, "identity", lambda: {"node": "elsewhere"})
    assert _profile.default_path() != here
