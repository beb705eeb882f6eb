"""accel.explain and accel.backends(sizes): one unit of size per kernel family, the
forms the signature takes, and an error that names the argument for every other one."""
import numpy as np
import pytest

import accel
from accel import _dispatch, _sizes


@pytest.fixture(autouse=True)
def no_environment_choice(monkeypatch):
    monkeypatch.delenv(_dispatch.ENV_VAR, raising=False)


def backend_of(why):
    return why.split(" ", 1)[0]


def test_without_arguments_every_kernel_at_its_realistic_size():
    answer = accel.explain()
    assert list(answer) == list(accel.KERNELS)
    assert answer.sizes == _sizes.REALISTIC
    assert answer.sizes["preprocess"] == 1920 * 1080 and answer.sizes["decode_yolov8"] == 8400
    for kernel, why in answer.items():
        assert backend_of(why) == _dispatch.choose(kernel, answer.sizes[kernel])[0]
    text = str(answer)
    assert "1920x1080 (2.07 MP)" in text and "8400 anchors" in text and "1000 boxes" in text


def test_one_kernel_with_a_size_in_its_unit():
    assert accel.explain("nms", 640).sizes == {"nms": 640}
    assert accel.explain("preprocess", "1280x720").sizes == {"preprocess": 1280 * 720}
    assert accel.explain("preprocess", 1280 * 720).sizes == {"preprocess": 1280 * 720}
    assert accel.explain("decode_yolov5", np.int64(25200)).sizes == {"decode_yolov5": 25200}
    assert accel.explain("soft_nms").sizes == {"soft_nms": _sizes.REALISTIC["soft_nms"]}
    assert accel.explain(["nms", "soft_nms"], "300").sizes == {"nms": 300, "soft_nms": 300}
    with accel.use_backend("numpy"):
        assert accel.explain("nms", 640) == {"nms": "numpy (use_backend() context)"}


def test_sizes_per_unit():
    answer = accel.explain(boxes=5000, pixels="640x480")
    assert answer.sizes["nms"] == answer.sizes["scale_boxes"] == 5000
    assert answer.sizes["letterbox"] == answer.sizes["to_tensor"] == 640 * 480
    assert answer.sizes["postprocess"] == _sizes.REALISTIC["postprocess"]  # not given
    assert accel.explain(["nms", "preprocess"], boxes=10, pixels=20).sizes == {
        "nms": 10, "preprocess": 20}


def test_the_old_form_every_kernel_at_one_number():
    answer = accel.explain(5000)
    assert set(answer) == set(accel.KERNELS) and set(answer.sizes.values()) == {5000}
    assert accel.explain(size=5000).sizes == answer.sizes


@pytest.mark.parametrize("args, kwargs, error, words", [
    ((640, "nms"), {}, TypeError, ["kernel must be a kernel name", "explain('nms', 640)"]),
    (("nsm",), {}, ValueError, ["unknown kernel 'nsm'", "batched_nms"]),
    (("boxes",), {}, ValueError, ["unknown kernel 'boxes'", "explain(boxes=N)"]),
    (({"nms"},), {}, TypeError, ["kernel", "set"]),
    ((True,), {}, TypeError, ["kernel", "bool"]),
    (([],), {}, ValueError, ["empty"]),
    (("nms", -1), {}, ValueError, ["size must be positive"]),
    (("nms", 0), {}, ValueError, ["size must be positive"]),
    (("nms", 2.5), {}, TypeError, ["size", "integer", "float"]),
    (("nms", "many"), {}, ValueError, ["size='many'", "positive integer"]),
    (("nms", "1920x1080"), {}, ValueError, ["WxH counts pixels", "nms counts boxes"]),
    (("preprocess", "1920x"), {}, ValueError, ["size='1920x'", "WxH"]),
    ((["nms", "preprocess"], 100), {}, ValueError, ["different units", "boxes=", "pixels="]),
    ((), {"boxes": "1920x1080"}, ValueError, ["boxes=", "WxH counts pixels"]),
    ((), {"anchors": None, "pixels": True}, TypeError, ["pixels", "integer"]),
    ((5000,), {"boxes": 10}, TypeError, ["either a size or boxes="]),
    (("nms", 10), {"boxes": 10}, TypeError, ["either a size or boxes="]),
    (("nms",), {"pixels": 10}, TypeError, ["pixels=", "letterbox", "none of which"]),
])
def test_argument_errors_name_the_argument(args, kwargs, error, words):
    with pytest.raises(error) as info:
        accel.explain(*args, **kwargs)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_unknown_keyword_is_refused():
    with pytest.raises(TypeError, match="kernels"):
        accel.explain(5000, kernels=("nms",))  # the old parameter: a string was iterated


def test_backends_with_sizes_reports_each_kernel_in_its_unit():
    report = accel.backends(boxes=5000, anchors="25200", pixels="1280x720")
    assert report.choices.sizes["nms"] == 5000 and report.choices.sizes["decode_yolov5"] == 25200
    assert report.choices.sizes["preprocess"] == 1280 * 720
    text = str(report)
    assert "5000 boxes" in text and "1280x720 (0.92 MP)" in text and "25200 anchors" in text
    assert accel.backends(700).choices.sizes["letterbox"] == 700
    with pytest.raises(ValueError, match="boxes"):
        accel.backends(boxes="wide")


def test_profile_path_is_said_once(tmp_path, monkeypatch):
    from accel.compare.tuning import save as save_profile
    path = tmp_path / "profile.json"
    monkeypatch.setenv("ACCEL_PROFILE", str(path))
    rows = [dict(kernel=k, size=100, backend="numpy", agrees=True, median_s=1.0)
            for k in ("nms", "preprocess")]
    save_profile(rows, str(path))
    accel.reload_profile()
    try:
        answer = accel.explain(["nms", "preprocess", "soft_nms"], boxes=50, pixels=50)
        assert answer["nms"] == "numpy (tuning profile: fastest measured at 100 boxes)"
        assert answer["preprocess"].startswith("numpy (tuning profile: fastest measured at 100 "
                                               "pixels")
        assert "no entry for this kernel" in answer["soft_nms"]
        assert answer.profile == str(path) and str(answer).count(str(path)) == 1
    finally:
        accel.reload_profile()  # the next choice reads the session's ACCEL_PROFILE again


def test_image_kernels_dispatch_on_pixels(monkeypatch):
    seen = []
    real = _dispatch.implementation

    def spy(kernel, size, backend=None):
        seen.append((kernel, size))
        return real(kernel, size, backend)

    for module in ("accel._preprocess",):
        monkeypatch.setattr(module + ".implementation", spy)
    frame = np.zeros((48, 64, 3), np.uint8)
    accel.letterbox(frame, 32)
    accel.preprocess(frame, 32)
    accel.to_tensor(frame)
    assert seen == [("letterbox", 48 * 64), ("preprocess", 48 * 64), ("to_tensor", 48 * 64)]
