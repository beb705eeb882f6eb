"""The compare CLI on tiny workloads: arguments, output and JSON schema (no timing asserted)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from accel.compare import cli as compare


def test_json_schema_and_tables(tmp_path, capsys):
    out = tmp_path / "result.json"
    code = compare.main(["--kernels", "nms,soft_nms", "--backends", "python,numpy", "--sizes", "30,60",
                         "--budget", "0.001", "--json", str(out), "--no-progress", "--markdown"])
    assert code == 0
    data = json.loads(out.read_text())
    assert set(data) >= {"machine", "unavailable", "results"}
    assert set(data["machine"]) == {"cpu", "python", "numpy", "numba", "cflags", "load"}
    cells = {(r["kernel"], r["size"], r["backend"]) for r in data["results"]}
    assert cells == {(k, s, b) for k in ("nms", "soft_nms") for s in (30, 60) for b in ("python", "numpy")}
    for r in data["results"]:
        assert r["agrees"] is True
        assert r["median_s"] > 0 and r["repeats"] >= 1 and r["first_call_s"] > 0
    text = capsys.readouterr().out
    assert "### nms" in text and "### soft_nms" in text and "N=60" in text and "*" in text


def test_threads_option(capsys):
    assert compare.main(["--kernels", "nms", "--backends", "numpy", "--sizes", "50",
                         "--budget", "0.001", "--threads", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "throughput with 2 threads over 1" in out and "[x" in out


def test_disagreement_is_marked_and_fails(monkeypatch, capsys):
    from accel import _dispatch
    module = _dispatch._load("numpy")
    every_box_reversed = lambda boxes, *rest: np.arange(len(boxes), dtype=np.int64)[::-1].copy()
    monkeypatch.setattr(module, "nms", every_box_reversed)
    assert compare.main(["--kernels", "nms", "--backends", "numpy", "--sizes", "40",
                         "--budget", "0.001", "--no-progress"]) == 1
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("N=40")]
    assert len(rows) == 1 and rows[0].rstrip().endswith("!")  # after ? when also noisy


@pytest.mark.parametrize("argv, message", [
    (["--kernels", "nope"], "unknown nope"),
    (["--backends", "fortran"], "unknown fortran"),
    (["--sizes", "a,b"], "positive integer"),
    (["--sizes", "0"], "positive"),
])
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        compare.parse_args(argv)
    assert message in capsys.readouterr().err


def test_help_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "accel.compare", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--quick" in out and "--threads" in out and "--json" in out


def test_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (optional)")
    path = tmp_path / "plot.png"
    assert compare.main(["--kernels", "nms", "--backends", "numpy", "--sizes", "20,40",
                         "--budget", "0.001", "--no-progress", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_image_kernels_measured_on_tiny_frames(tmp_path):
    out = tmp_path / "r.json"
    assert compare.main(["--kernels", "letterbox,to_tensor,preprocess", "--backends", "numpy",
                         "--sizes", "300", "--budget", "0.001", "--no-progress",
                         "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert {r["kernel"] for r in rows} == {"letterbox", "to_tensor", "preprocess"}
    assert all(r["agrees"] for r in rows)


def test_decode_kernels_measured_on_tiny_outputs(tmp_path):
    """--sizes 21: a 32 px model input (21 cells), every decoding kernel, checked answers."""
    out = tmp_path / "r.json"
    kernels = "decode_yolov8,decode_yolov5,decode_yolov8_raw,decode_yolov5_raw,scale_boxes,postprocess"
    assert compare.main(["--kernels", kernels, "--backends", "numpy", "--sizes", "21",
                         "--budget", "0.001", "--no-progress", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert {r["kernel"] for r in rows} == set(kernels.split(","))
    assert all(r["agrees"] for r in rows)
    assert {r["label"] for r in rows if r["kernel"] == "decode_yolov5"} == {"32 px input, 63 anchors"}
