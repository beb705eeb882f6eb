"""compare's variant rows: the quantized and NHWC inputs of int8 exports, measured beside
the float32 rows, checked against the reference, kept out of the recommendation and the
tuning profile. No timing is asserted."""
import json

import numpy as np
import pytest

from accel import _sizes
from accel.compare import cli, peers, tuning
from accel.compare import workloads as wl

TINY = 21  # a 32 px model input (21 cells); a 5x5 frame for preprocess


def _rows(results, kernel, variant=None):
    return [r for r in results if r["kernel"] == kernel
            and (variant is None or r["variant"] == variant)]


def test_variant_rows_appear_and_agree_with_the_reference(tmp_path, capsys):
    out = tmp_path / "run.json"
    kernels = ["nms"] + list(wl.VARIANTS)
    assert cli.main(["--kernels", ",".join(kernels), "--backends", "python,numpy", "--sizes",
                     "%d,84" % TINY, "--budget", "0.001", "--no-progress",
                     "--json", str(out)]) == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    results = data["results"]
    assert all(r["agrees"] for r in results)
    assert {r["variant"] for r in _rows(results, "nms")} == {""}
    for kernel, variants in wl.VARIANTS.items():
        rows = _rows(results, kernel)
        assert {r["variant"] for r in rows} == {""} | set(variants)
        plain_sizes = {r["size"] for r in rows if not r["variant"]}
        assert len(plain_sizes) == 2
        nearest = min(plain_sizes, key=lambda n: abs(np.log(n / _sizes.REALISTIC[kernel])))
        for variant in variants:
            cell = _rows(results, kernel, variant)
            assert {r["backend"] for r in cell} == {"python", "numpy"}
            assert {r["size"] for r in cell} == {nearest}  # the size nearest the realistic one
            assert all(r["label"].endswith(", " + variant) for r in cell)
            assert any(line.startswith(cell[0]["short"] + " ") for line in text.splitlines())
    # The recommendation is made on the float32 rows only.
    for entry in data["summary"]:
        plain = [r for r in _rows(results, entry["kernel"], "") if r["size"] == entry["size"]]
        assert entry["fastest_s"] == min(r["median_s"] for r in plain)
        assert entry["default_s"] in {r["median_s"] for r in plain} | {None}
    profile = tuning.from_results(results)
    for kernel in wl.VARIANTS:
        for choice in profile[kernel]:
            plain = [r for r in _rows(results, kernel, "") if r["size"] == choice["size"]]
            assert choice["median_s"] == {r["backend"]: r["median_s"] for r in plain}


def test_variant_rows_never_decide_the_recommendation_or_the_profile():
    def row(backend, median, variant=""):
        return {"kernel": "postprocess", "size": 8400, "unit": "anchors", "label": variant,
                "short": variant, "variant": variant, "backend": backend, "peer": False,
                "median_s": median, "spread": 0.01, "repeats": 5, "first_call_s": median,
                "agrees": True}

    results = [row("numpy", 1.0), row("cffi", 2.0), row("cffi", 1e-6, "int8 TFLite")]
    entry, = cli.summarise(results)
    assert entry["fastest"] == "numpy" and entry["fastest_s"] == 1.0
    choice, = tuning.from_results(results)["postprocess"]
    assert choice["backend"] == "numpy" and choice["median_s"] == {"numpy": 1.0, "cffi": 2.0}


@pytest.mark.parametrize("argv, variants", [
    ([], True), (["--no-variants"], False), (["--quick"], False), (["--save"], False),
])
def test_which_runs_have_variant_rows(argv, variants):
    assert cli.parse_args(argv).variants is variants


def test_no_variants_removes_them(tmp_path):
    out = tmp_path / "run.json"
    assert cli.main(["--kernels", "decode_yolov8,postprocess", "--backends", "numpy", "--sizes",
                     str(TINY), "--budget", "0.001", "--no-progress", "--no-variants",
                     "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert {(r["kernel"], r["variant"]) for r in rows} == {("decode_yolov8", ""),
                                                         ("postprocess", "")}


def test_tune_measures_without_variants(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "run", lambda args: seen.append(args) or {"results": []})
    monkeypatch.setattr(cli, "_save", lambda data, path: "profile.json")
    cli.tune(kernels=["postprocess"])
    assert seen[0].variants is False and seen[0].kernels == ["postprocess"]


def test_variant_workloads():
    work = wl.workload("preprocess", 1920 * 1080, variant="uint8 nhwc")
    assert work.kwargs == {"dtype": np.uint8, "layout": "nhwc"}
    assert work.label == "1920x1080 -> 640, uint8 nhwc" and work.variant == "uint8 nhwc"
    assert wl.workload("preprocess", 1920 * 1080).variant == ""
    work = wl.workload("postprocess", 8400, variant="rknn int8 split heads")
    assert work.args[1] == "yolov8-raw" and work.kwargs["sigmoid_applied"] is True
    assert [a.dtype for a in work.args[0][0]] == [np.int8] * 3
    assert work.short == "640 px, rknn int8 split heads"
    work = wl.workload("decode_yolov8", 8400, variant="int8")
    assert work.args[0].dtype == np.int8 and work.kwargs["box_scale"] == 640
    with pytest.raises(ValueError, match="no variant 'int4' of kernel 'decode_yolov8'"):
        wl.workload("decode_yolov8", 8400, variant="int4")
    with pytest.raises(ValueError, match="variants: none"):
        wl.workload("nms", 1000, variant="int8")


# The peers' answers on the realistic variant inputs: no cell is a false '!'. The one
# known disagreement is ultralytics' LiteRT int8 input formula, whose cast truncates.
KNOWN_DIFFERENT = {("numpy-pipeline", "preprocess", "int8 nchw quantized")}


@pytest.mark.parametrize("kernel, variant", [(k, v) for k, vs in wl.VARIANTS.items()
                                             for v in vs])
def test_peers_take_a_variant_or_decline_it(kernel, variant):
    work = wl.workload(kernel, _sizes.REALISTIC[kernel], variant=variant)
    expected = work.call("python")
    answered, missing = set(), set()
    for name, adapter in peers.PEERS.items():
        try:
            call = adapter(work)
        except ImportError:
            missing.add(name)  # not installed here: compare lists it as not measured
            continue
        if call is None:
            continue
        answered.add(name)
        agrees = cli.agree(kernel, expected, call(), peer=True)
        assert agrees is ((name, kernel, variant) not in KNOWN_DIFFERENT), name
    takers = {("preprocess", "uint8 nhwc"): {"opencv", "numpy-pipeline"},
              ("preprocess", "int8 nchw quantized"): {"numpy-pipeline"},
              ("decode_yolov8", "int8"): {"numpy-pipeline"},
              ("postprocess", "int8 TFLite"): {"ultralytics"},
              ("postprocess", "rknn int8 split heads"): {"numpy-pipeline"}}
    assert answered == takers.get((kernel, variant), set()) - missing


def test_ultralytics_int8_input_formula_is_one_step_low_where_it_differs():
    """Why numpy-pipeline's int8 cell is marked '!': (x / 255 / scale + zp) cast to int8
    truncates, so some codes are one below QuantizeLinear's rounding, never above."""
    pytest.importorskip("cv2", reason="the numpy-pipeline peer letterboxes with OpenCV")
    work = wl.workload("preprocess", 640 * 480, variant="int8 nchw quantized")
    expected = work.call("numpy")[0]
    got = peers.PEERS["numpy-pipeline"](work)()[0]
    diff = got.astype(np.int16) - expected
    assert set(np.unique(diff)) == {-1, 0} and 0 < np.count_nonzero(diff) < diff.size // 4


def test_loading_the_ultralytics_peers_keeps_numpys_print_options():
    """ultralytics sets numpy's print options when imported; accel's error messages print
    rows with them (the conformance suite checks those messages after these tests)."""
    pytest.importorskip("ultralytics", reason="the ultralytics peers need ultralytics")
    before = np.get_printoptions()
    peers._ultralytics_modules()
    assert np.get_printoptions() == before
