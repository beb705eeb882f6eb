"""What a compare run tells its reader: the recommendation per kernel (consistent with
the JSON), tables that fit 100 columns, noisy cells marked and counted, the machine's
load, and --plot refused before any measuring when matplotlib is missing. Timings are
never asserted: the logic is checked on the run's own numbers, or on made-up ones."""
import json
import math
import sys

import pytest

from accel import _dispatch, _sizes
from accel.compare import cli


def row(kernel, size, backend, median, spread=0.01, agrees=True, peer=False, short=None):
    return {"kernel": kernel, "size": size, "unit": _sizes.UNIT[kernel],
            "label": "label %s %d" % (kernel, size), "short": short or "N=%d" % size,
            "backend": backend, "peer": peer, "median_s": median, "spread": spread,
            "repeats": 5, "first_call_s": median, "agrees": agrees}


@pytest.fixture
def default_is_cython(monkeypatch):
    monkeypatch.setattr(_dispatch, "_default_choice", lambda kernel: "cython")


def line_of(kernel, text):
    return next(line for line in text.splitlines() if line.startswith(kernel + " "))


def summary_lines(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Recommendation:"))
    return lines[start:]


def test_run_ends_with_a_recommendation_consistent_with_the_json(tmp_path, capsys):
    default = _dispatch._default_choice("nms")
    backends = ",".join(dict.fromkeys(["python", "numpy", default]))
    out = tmp_path / "run.json"
    assert cli.main(["--kernels", "nms,soft_nms", "--backends", backends, "--sizes", "60,1000",
                     "--budget", "0.001", "--no-progress", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    summary = data["summary"]
    assert [e["kernel"] for e in summary] == ["nms", "soft_nms"]
    lines = summary_lines(text)
    assert lines[-1].strip() == "python -m accel.compare --save"  # the run ends with it
    for entry in summary:
        cells = [r for r in data["results"] if r["kernel"] == entry["kernel"]
                 and r["size"] == entry["size"]]
        best = min((r for r in cells if r["agrees"] and not r["peer"]),
                   key=lambda r: r["median_s"])
        base = next(r for r in cells if r["backend"] == default)
        assert entry["size"] == min((60, 1000), key=lambda n: abs(
            math.log(n / _sizes.REALISTIC[entry["kernel"]])))
        assert entry["fastest"] == best["backend"] and entry["fastest_s"] == best["median_s"]
        assert entry["default"] == default and entry["default_s"] == base["median_s"]
        assert entry["speedup"] == pytest.approx(base["median_s"] / best["median_s"])
        line = next(line for line in lines if line.startswith(entry["kernel"] + " "))
        assert entry["size_text"] in line and " %s " % entry["use"] in line
        if entry["fastest"] == default:
            assert "already the default" in line
        elif entry["distinct"]:
            assert "x%.2f faster than the default, %s" % (entry["speedup"], default) in line
        else:
            assert "within noise" in line and entry["use"] == default
        assert line.rstrip().endswith("?") == entry["noisy"]


def test_default_table_fits_100_columns_and_full_keeps_the_details(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert cli.main(["--kernels", "nms,letterbox,decode_yolov8,postprocess", "--sizes", "40",
                     "--budget", "0.001", "--no-progress", "--json", str(out)]) == 0
    compact = capsys.readouterr().out
    assert max(len(line) for line in compact.splitlines()) <= 100
    rows = [line for line in compact.splitlines() if line.startswith(("N=40", "6x6", "32 px"))]
    # two float32 rows of 32 px and the variant rows: int8; int8 TFLite, rknn int8 split heads
    assert len(rows) == 7 and not any("±" in line or "(x" in line for line in rows)
    full = cli.render(json.loads(out.read_text()), full=True)
    assert "±" in full and " py / x" in full and "letterbox" in full


def test_widest_cells_fit_100_columns(default_is_cython):
    """Five backends, the slowest times, every mark, the longest row label."""
    results = [row("decode_yolov5_raw", 100800, b, 1.2345, spread=0.9, agrees=(b != "numba"),
                   short="1280 px, 100800") for b in _dispatch.BACKEND_NAMES]
    data = {"machine": cli.machine_header(), "unavailable": {}, "results": results,
            "threads": 0}
    text = cli.render(data)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "1.23 s *?" in text and "1.23 s ?!" in text
    summary = cli.render_summary(cli.summarise(results))
    assert max(len(line) for line in summary.splitlines()) <= 100


def test_noisy_cells_are_marked_and_counted(default_is_cython):
    results = [row("nms", 1000, "python", 2e-2), row("nms", 1000, "numpy", 1e-2, spread=0.4),
               row("nms", 1000, "cython", 1e-4, spread=0.3), row("nms", 1000, "cffi", 2e-4)]
    data = {"machine": cli.machine_header(), "unavailable": {}, "results": results,
            "threads": 0}
    text = cli.render(data)
    assert "10.0 ms ?" in text and "100 us *?" in text and "200 us" in text
    assert "? 2 of 4 cells have a spread above ±25%: too noisy to rank" in text
    summary = cli.summarise(results)
    assert summary[0]["noisy"] is True
    assert line_of("nms", cli.render_summary(summary)).endswith("already the default ?")


@pytest.mark.parametrize("medians, spreads, measured, use, words", [
    ({"cython": 1.0, "cffi": 0.5}, 0.01, True, "cffi", "x2.00 faster than the default, cython"),
    ({"cython": 1.0, "cffi": 0.95}, 0.1, True, "cython", "the default; cffi x1.05 is within noise"),
    ({"cython": 0.5, "cffi": 1.0}, 0.01, True, "cython", "already the default"),
    ({"cffi": 0.5, "numpy": 1.0}, 0.01, False, "cffi", "the default, cython, was not measured"),
])
def test_recommendation_wording(default_is_cython, medians, spreads, measured, use, words):
    results = [row("preprocess", 1920 * 1080, b, m, spread=spreads) for b, m in medians.items()]
    results.append(row("preprocess", 640 * 480, "cffi", 0.1))  # not the realistic size
    entry, = cli.summarise(results)
    assert entry["size"] == 1920 * 1080 and entry["realistic"]
    assert entry["use"] == use and (entry["default_s"] is not None) == measured
    line = line_of("preprocess", cli.render_summary([entry]))
    assert line.split()[:3] == ["preprocess", "1920x1080", "(2.07"] and words in line


def test_nearest_measured_size_when_the_realistic_one_was_not(default_is_cython):
    results = [row("nms", n, b, 1.0) for n in (30, 400, 20000) for b in ("cython", "cffi")]
    entry, = cli.summarise(results)
    assert entry["size"] == 400 and not entry["realistic"]
    assert "400 boxes (nearest)" in cli.render_summary([entry])


def test_header_shows_the_load_and_why_a_backend_is_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (3.5, 2.0, 1.0), raising=False)
    report = _dispatch.backends()
    fake = dict(report)
    fake["cffi"] = _dispatch.BackendInfo("cffi", False, "the cffi build failed at install: "
                                         "false exited with status 1 compiling csrc/nms.c")
    monkeypatch.setattr(_dispatch, "backends", lambda *a, **k: fake)
    out = tmp_path / "r.json"
    assert cli.main(["--kernels", "nms", "--backends", "numpy,cffi", "--sizes", "20",
                     "--budget", "0.001", "--no-progress", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "load average 3.50 at the start, 3.50 at the end" in text
    assert "not measured: cffi (the cffi build failed at install: false exited" in text
    assert json.loads(out.read_text())["machine"]["load"] == [3.5, 3.5]


def test_plot_without_matplotlib_fails_before_measuring(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails

    def measuring(*args, **kwargs):
        raise AssertionError("measured before checking for matplotlib")

    monkeypatch.setattr(cli, "run", measuring)
    monkeypatch.setattr(cli, "measure", measuring)
    with pytest.raises(SystemExit) as info:
        cli.main(["--kernels", "nms", "--plot", str(tmp_path / "p.png")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--plot needs matplotlib" in err and "pip install 'accel[compare]'" in err


def test_plot_and_json_into_a_missing_folder_fail_before_measuring(tmp_path, capsys):
    for option in ("--plot", "--json"):
        with pytest.raises(SystemExit):
            cli.parse_args([option, str(tmp_path / "nowhere" / "out")])
        assert "does not exist" in capsys.readouterr().err


def test_plot_is_one_panel_per_kernel_in_its_unit(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib", reason="--plot needs matplotlib (optional)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figures = []
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, *a, **k: figures.append(fig))
    results = [row(k, n, b, 1e-3 * n, peer=(b == "opencv"))
               for k, sizes in (("nms", (100, 1000)), ("preprocess", (640 * 480, 1920 * 1080)),
                                ("decode_yolov8", (2100, 8400)))
               for n in sizes for b in ("numpy", "cython", "opencv")]
    cli.plot({"machine": cli.machine_header(), "results": results}, str(tmp_path / "p.png"))
    fig, = figures
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["nms", "preprocess", "decode_yolov8"]
    assert [ax.get_xlabel() for ax in panels] == ["boxes", "megapixels", "anchors"]
    styles = {line.get_label(): line.get_linestyle() for line in panels[0].get_lines()}
    assert styles == {"numpy": "-", "cython": "-", "opencv (peer)": "--",
                      "realistic size (the recommendation's)": ":"}
    assert max(panels[1].get_lines()[0].get_xdata()) == pytest.approx(1920 * 1080 / 1e6)
    plt.close(fig)


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("5000", 5000),
    ("boxes=5000,pixels=1920x1080,soft_nms=2000", ({"boxes": "5000", "pixels": "1920x1080"},
                                                    {"soft_nms": 2000})),
])
def test_show_profile_sizes(value, expected):
    argv = [] if value is None else ["--show-profile", value] if value else ["--show-profile"]
    args = cli.parse_args(argv)
    assert args.profile_sizes == expected


@pytest.mark.parametrize("value, words", [
    ("abc", "sizes per unit or kernel"),
    ("boxs=5", "neither a unit"),
    ("boxes=1920x1080", "WxH counts pixels"),
    ("nms=0", "must be positive"),
])
def test_show_profile_bad_sizes(value, words, capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--show-profile", value])
    assert words in capsys.readouterr().err


def test_show_profile_prints_units_and_sizes(capsys):
    assert cli.main(["--show-profile", "boxes=5000,pixels=1280x720,soft_nms=2000"]) == 0
    text = capsys.readouterr().out
    assert "Sizes count boxes for nms" in text and "pixels for letterbox" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "5000 boxes" in lines["nms"] and "2000 boxes" in lines["soft_nms"]
    assert "1280x720" in lines["to_tensor"] and "8400 anchors" in lines["decode_yolov8"]
    assert text.count("tuning profile:") == 1
    assert cli.main(["--show-profile"]) == 0
    assert "each kernel at its realistic size" in capsys.readouterr().out


def test_sizes_option_in_each_kernels_unit(capsys):
    args = cli.parse_args(["--kernels", "letterbox,preprocess", "--sizes", "640x480,100"])
    assert args.sizes == {"letterbox": [640 * 480, 100], "preprocess": [640 * 480, 100]}
    with pytest.raises(SystemExit):
        cli.parse_args(["--kernels", "nms,preprocess", "--sizes", "640x480"])
    assert "WxH counts pixels" in capsys.readouterr().err


def test_help_text_names_every_unit(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "boxes for nms" in text and "anchors for the decoders" in text
    assert "pixels for letterbox" in text and "WxH" in text and "--full" in text
