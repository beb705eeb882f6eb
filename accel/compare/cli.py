"""Measure every kernel on every backend that loads here, on realistic inputs.

    python -m accel.compare              # all kernels, all sizes (a few minutes)
    python -m accel.compare --quick      # fewer sizes, shorter budget (under a minute)
    python -m accel.compare --kernels nms --backends cffi,numpy --sizes 5000,20000
    python -m accel.compare --save       # measure, then save a tuning profile
    python -m accel.compare --show-profile boxes=5000,pixels=1920x1080

Each cell is the median time per call (steady state); ``*`` marks the fastest backend
of a row, ``?`` a cell whose spread is too high to rank, ``!`` an answer that differs
from the pure-Python reference (``--full`` adds spreads and speed-ups). Numba's first
call (compile, or load from its on-disk cache) is reported apart. The run ends with a
recommendation: per kernel, the backend to use at a realistic size and how much faster
it is than the one chosen by default. Some tables end with variant rows, the quantized
and NHWC inputs of int8 exports at the kernel's realistic size (``--no-variants`` drops
them; the recommendation and a saved profile ignore them).
"""
import argparse
import json
import os
import platform
import sys
import textwrap
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import _dispatch, _profile, _sizes
from . import display
from .peers import PEERS, same_detections
from .timing import Timing, measure, thread_throughput
from .tuning import save as save_profile
from .workloads import QUICK_SIZES, SIZES, TITLES, VARIANTS, Workload, workload

REFERENCE = "python"
# A cell whose half-IQR exceeds a quarter of its median: the middle half of its samples
# spans more than +-25%, so orderings closer than that are chance.
NOISY_SPREAD = 0.25
SAVE_COMMAND = "python -m accel.compare --save"
_UNITS_HELP = ("Sizes count boxes for nms, batched_nms, soft_nms and scale_boxes; anchors "
               "for the decoders and postprocess (8400 for a 640 px YOLOv8 input); pixels "
               "for letterbox, to_tensor and preprocess (WxH accepted, e.g. 1920x1080).")


def agree(kernel: str, expected, actual, peer: bool = False) -> bool:
    """The conformance rule: identical indices; soft-NMS scores within 1e-12 relative;
    every other array bit-identical. A mask peer computes in float32 (a matmul, a
    resize), so its pixels may flip where the logit is within rounding of 0: it agrees
    when at most 0.5% of the pixels that are on in either answer differ. A postprocess
    peer (ultralytics' torch code) unletterboxes in float32: ``peers.same_detections``."""
    if kernel == "postprocess" and peer:
        return same_detections(expected, actual)
    if kernel == "process_masks" and peer:
        differ = int(np.count_nonzero(expected != actual)) if expected.shape == actual.shape else -1
        return 0 <= differ <= 0.005 * max(1, int(np.count_nonzero(expected | actual)))
    if kernel == "soft_nms":
        return np.array_equal(expected[0], actual[0]) and np.allclose(
            expected[1], actual[1], rtol=1e-12, atol=0)
    if kernel in ("letterbox", "preprocess"):  # (array, LetterboxInfo): the array's bits
        expected, actual = expected[0], actual[0]
    return _identical(expected, actual)


def _identical(expected, actual) -> bool:
    if isinstance(expected, np.ndarray):
        return (isinstance(actual, np.ndarray) and expected.dtype == actual.dtype
                and expected.shape == actual.shape and expected.tobytes() == actual.tobytes())
    return (isinstance(actual, (tuple, list)) and len(actual) == len(expected)
            and all(_identical(e, a) for e, a in zip(expected, actual)))


def machine_header() -> Dict[str, Any]:
    cpu = _profile.cpu_model()
    try:
        from importlib.metadata import version
        numba = version("numba")
    except Exception:
        numba = "not installed"
    try:
        from .. import _build_info
        cflags = _build_info.CFLAGS
    except ImportError:
        cflags = "extensions not built"
    return {
        "cpu": "%s (%s, %d logical cores)" % (cpu, platform.machine(), os.cpu_count() or 0),
        "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "numpy": np.__version__,
        "numba": numba,
        "cflags": cflags,
        "load": [load_average(), None],  # 1-minute load average at the start, at the end
    }


def load_average() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # Windows has no load average
        return None


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m accel.compare",
        description=__doc__.split("\n\n")[0] + " " + _UNITS_HELP,
        epilog="Timings on a busy or thermally throttled machine are noisy (the header "
               "shows the load average): compare ratios from one run, and rerun for "
               "figures you intend to quote.",
    )
    parser.add_argument("--kernels", help="comma-separated kernels (default: all: %s)"
                        % ", ".join(_dispatch.KERNELS))
    parser.add_argument("--backends", help="comma-separated backends (default: every one "
                        "that loads here: see accel.backends())")
    parser.add_argument("--sizes", help="comma-separated input sizes, each in its kernel's "
                        "unit (boxes, anchors, pixels; WxH when every kernel measured is an "
                        "image kernel), instead of each kernel's realistic defaults")
    parser.add_argument("--quick", action="store_true",
                        help="two or three sizes per kernel and a 0.1 s budget per cell "
                        "(about a minute)")
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="time spent repeating each cell (default 0.5, 0.1 with --quick); "
                        "a slow cell is still run once after its first call")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="also measure throughput with N threads calling the kernel at "
                        "once (shows whether a backend releases the GIL)")
    parser.add_argument("--peers", action="store_true",
                        help="also time the libraries a user would otherwise call, when "
                        "installed: OpenCV (cv2.dnn.NMSBoxes, NMSBoxesBatched), "
                        "torchvision (ops.nms, ops.batched_nms), onnxruntime "
                        "(NonMaxSuppression), ultralytics (its postprocess and OBB fast "
                        "NMS, one torch thread), each checked for agreement like a backend")
    parser.add_argument("--no-variants", action="store_true",
                        help="no variant rows: by default (not with --quick or --save) the "
                        "tables of %s end with rows on quantized and NHWC inputs (uint8 NHWC "
                        "and int8 tensors, int8 TFLite and RKNN outputs) at the realistic "
                        "size, adding about 20 s; they are not in the recommendation or a "
                        "saved profile" % ", ".join(VARIANTS))
    parser.add_argument("--full", action="store_true",
                        help="tables with every figure: median ±half-IQR and speed-ups over "
                        "pure Python and NumPy (wide)")
    parser.add_argument("--markdown", action="store_true", help="print GitHub-style tables")
    parser.add_argument("--pipeline", action="store_true",
                        help="also measure accel.Pipeline: frames/s on 1..cores threads "
                        "(a tiny ONNX model with onnx and onnxruntime, else a NumPy stand-in)")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement to FILE")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also plot time against input size, one panel per kernel, "
                        "each in its kernel's unit (needs matplotlib: "
                        "pip install 'accel[compare]')")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--save", action="store_true",
                        help="save a tuning profile from this run: for each kernel and size, "
                        "the fastest backend that gave the reference answer; later calls "
                        "without an explicit backend use it")
    parser.add_argument("--profile", metavar="FILE",
                        help="profile file for --save and --show-profile (default: "
                        "$ACCEL_PROFILE, else a per-machine, per-interpreter file in "
                        "~/.cache/accel)")
    parser.add_argument("--show-profile", nargs="?", const="", metavar="SIZES",
                        help="print which backend each kernel uses and why, then exit: at "
                        "each kernel's realistic size, or at SIZES given per unit or kernel, "
                        "e.g. boxes=5000,anchors=25200,pixels=1280x720,soft_nms=2000 (a "
                        "bare N: every kernel at N of its own unit)")
    args = parser.parse_args(argv)
    args.kernels = _split(args.kernels, _dispatch.KERNELS, "--kernels", parser)
    args.backends = _split(args.backends, _dispatch.BACKEND_NAMES, "--backends", parser)
    if args.sizes:
        args.sizes = _kernel_sizes(args.sizes, args.kernels, parser)
    if args.budget is None:
        args.budget = 0.1 if args.quick else 0.5
    # A profile is per kernel and size, not per dtype; --quick stays quick.
    args.variants = not (args.no_variants or args.quick or args.save)
    if args.threads < 0:
        parser.error("--threads must be >= 0")
    args.profile_sizes = (None if args.show_profile is None
                          else _profile_sizes(args.show_profile, parser))
    for option, path in (("--plot", args.plot), ("--json", args.json)):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            parser.error("%s %s: the folder %s does not exist" % (option, path, folder))
    if args.plot:
        # Checked before measuring: the run takes minutes and the plot comes last.
        try:
            import matplotlib  # type: ignore  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib, which is not installed here: "
                         "pip install 'accel[compare]' (or pip install matplotlib)")
    return args


def _kernel_sizes(text: str, kernels: List[str], parser) -> Dict[str, List[int]]:
    """--sizes for each kernel, in its unit."""
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    if not tokens:
        parser.error("--sizes takes sizes, e.g. --sizes 1000,5000")
    try:
        return {k: [_sizes.parse(t, k, "--sizes") for t in tokens] for k in kernels}
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
        raise  # parser.error exits; this keeps type checkers informed


def _profile_sizes(text: str, parser):
    """--show-profile's value: None (realistic sizes), an int for every kernel, or
    ``(units, kernels)``: sizes per unit and per kernel."""
    text = text.strip()
    if not text:
        return None
    if "=" not in text:
        if not text.isdigit() or int(text) < 1:
            parser.error("--show-profile takes sizes per unit or kernel, e.g. boxes=5000,"
                         "anchors=8400,pixels=1920x1080,nms=20000 (or one number for every "
                         "kernel), got %r" % text)
        return int(text)
    units: Dict[str, str] = {}
    kernels: Dict[str, int] = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        key = key.strip()
        try:
            if key in _sizes.UNITS:
                _sizes.parse(value, key, "--show-profile " + key)
                units[key] = value.strip()
            elif key in _sizes.UNIT:
                kernels[key] = _sizes.parse(value, key, "--show-profile " + key)
            else:
                parser.error("--show-profile: %r is neither a unit (%s) nor a kernel (%s)"
                             % (key, ", ".join(_sizes.UNITS), ", ".join(_dispatch.KERNELS)))
        except ValueError as exc:
            parser.error(str(exc))
    return units, kernels


def _split(value, valid, option, parser):
    if not value:
        return list(valid)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in valid]
    if unknown:
        parser.error("%s: unknown %s; valid: %s" % (option, ", ".join(unknown), ", ".join(valid)))
    return names


def run(args: argparse.Namespace) -> dict:
    report = _dispatch.backends()
    backends = [b for b in args.backends if report[b].available]
    skipped = {b: report[b].reason for b in args.backends if not report[b].available}
    if REFERENCE not in backends:
        backends.insert(0, REFERENCE)  # needed to check answers
    machine = machine_header()
    cells: List[Tuple[str, int, str]] = []
    for kernel in args.kernels:
        sizes = args.sizes[kernel] if args.sizes else (QUICK_SIZES if args.quick else SIZES)[kernel]
        cells.extend((kernel, size, "") for size in sizes)
        if args.variants:
            size = _nearest(sizes, _sizes.REALISTIC[kernel])
            cells.extend((kernel, size, variant) for variant in VARIANTS.get(kernel, ()))
    results = []
    peers = list(PEERS) if args.peers else []
    progress = display.progress(len(cells) * (len(backends) + len(peers)), args.no_progress)
    for kernel, size, variant in cells:
        work = workload(kernel, size, variant=variant)
        expected = work.call(REFERENCE)
        for backend in backends:
            progress.set_description("%s %s %s" % (kernel, work.label, backend))
            results.append(_measure_cell(work, backend, lambda: work.call(backend), expected, args))
            progress.update()
        for peer in peers:
            progress.set_description("%s %s %s" % (kernel, work.label, peer))
            call = _peer_call(peer, work, skipped)
            if call is not None:
                try:
                    results.append(_measure_cell(work, peer, call, expected, args, peer=True))
                except Exception as exc:  # a peer's own error must not end the comparison
                    skipped["%s (%s)" % (peer, kernel)] = "peer failed: %s" % (exc,)
            progress.update()
    progress.close()
    machine["load"][1] = load_average()
    data = {"machine": machine, "unavailable": skipped, "results": results,
            "budget_s": args.budget, "threads": args.threads}
    data["summary"] = summarise(results)
    return data


def _nearest(sizes, realistic: int) -> int:
    """The size in ``sizes`` nearest ``realistic`` (by ratio)."""
    return min(sizes, key=lambda n: abs(np.log(n / realistic)))


def _peer_call(peer: str, work: Workload, skipped: Dict[str, str]):
    if peer in skipped:
        return None
    try:
        return PEERS[peer](work)
    except ImportError as exc:
        skipped[peer] = "peer not installed: %s" % (exc,)
        return None


def _measure_cell(work: Workload, name: str, call, expected, args, peer: bool = False) -> dict:
    timing: Timing = measure(call, args.budget)
    row = {
        "kernel": work.kernel, "size": work.size, "unit": _sizes.UNIT[work.kernel],
        "label": work.label, "short": work.short, "variant": work.variant, "backend": name,
        "peer": peer, "median_s": timing.median, "spread": timing.spread,
        "repeats": len(timing.samples), "first_call_s": timing.first_call,
        "agrees": agree(work.kernel, expected, call(), peer),
    }
    if args.threads > 1:
        calls = max(1, int(args.budget / max(timing.median, 1e-6) / args.threads))
        one = thread_throughput(call, 1, calls * args.threads)
        many = thread_throughput(call, args.threads, calls)
        row["thread_speedup"] = many / one
    return row


def _format_time(seconds: float) -> str:
    if seconds >= 1.0:
        return "%.2f s" % seconds
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f us" % (seconds * 1e6)


def _short_time(seconds: float) -> str:
    """Three significant digits: 862 us, 1.23 ms, 12.3 ms, 1.85 s."""
    value, unit = seconds, "s"
    for smaller in ("ms", "us", "ns"):
        if value >= 0.9995:
            break
        value, unit = value * 1e3, smaller
    if value >= 99.95:
        return "%.0f %s" % (value, unit)
    return ("%.1f %s" if value >= 9.995 else "%.2f %s") % (value, unit)


def noisy(row: dict) -> bool:
    return row["spread"] > NOISY_SPREAD


def _fastest(rows) -> Optional[dict]:
    """The fastest backend (not peer) among ``rows`` whose answer agreed."""
    good = [r for r in rows if r["agrees"] and not r.get("peer")]
    return min(good, key=lambda r: r["median_s"]) if good else None


def _distinct(fast: dict, slow: dict) -> bool:
    """Whether two cells' middle halves (median +- half-IQR) do not overlap."""
    return (fast["median_s"] * (1 + fast["spread"])
            < slow["median_s"] * (1 - slow["spread"]))


def summarise(results: List[dict]) -> List[dict]:
    """Per kernel, at its realistic size (or the measured size nearest to it): the
    fastest backend, the default one (no profile) and how they compare. Variant rows
    (quantized, NHWC) are not considered: the dispatcher chooses by kernel and size."""
    summary = []
    plain = [r for r in results if not r.get("variant")]
    for kernel in dict.fromkeys(r["kernel"] for r in plain):
        rows = [r for r in plain if r["kernel"] == kernel]
        realistic = _sizes.REALISTIC[kernel]
        size = _nearest({r["size"] for r in rows}, realistic)
        cell = [r for r in rows if r["size"] == size]
        fastest = _fastest(cell)
        default = _dispatch._default_choice(kernel)
        measured = {r["backend"]: r for r in cell if not r.get("peer")}
        base = measured.get(default)
        entry = {
            "kernel": kernel, "size": size, "realistic": size == realistic,
            "size_text": _sizes.describe(kernel, size), "default": default,
            "default_s": base["median_s"] if base else None,
            "fastest": fastest["backend"] if fastest else None,
            "fastest_s": fastest["median_s"] if fastest else None,
            "speedup": None, "distinct": None,
            "noisy": any(noisy(r) for r in (fastest, base) if r is not None),
        }
        if fastest is not None and base is not None and base["agrees"]:
            entry["speedup"] = base["median_s"] / fastest["median_s"]
            entry["distinct"] = fastest is base or _distinct(fastest, base)
        # Advice: leave the default unless the difference stands out of the noise.
        entry["use"] = (default if entry["distinct"] is False else entry["fastest"])
        summary.append(entry)
    return summary


def render_summary(summary: List[dict], saved: Optional[str] = None) -> str:
    lines = ["Recommendation: the backend to use per kernel at a realistic size "
             "(x = default's time / its time)"]
    rows = []
    for e in summary:
        default = e["default"]
        if e["fastest"] is None:
            use, verdict = "-", "no backend gave the reference answer"
        elif e["speedup"] is None:
            use = e["fastest"]
            verdict = ("the default, %s, %s" % (default, "was not measured"
                       if e["default_s"] is None else "gave a different answer (!)"))
        elif e["fastest"] == default:
            use, verdict = default, "already the default"
        elif not e["distinct"]:
            use = default
            verdict = "the default; %s x%.2f is within noise" % (e["fastest"], e["speedup"])
        else:
            use, verdict = e["fastest"], "x%.2f faster than the default, %s" % (
                e["speedup"], default)
        if e["noisy"]:
            verdict += " ?"
        rows.append([e["kernel"], e["size_text"] + ("" if e["realistic"] else " (nearest)"),
                     use, verdict])
    lines.append(display.table(rows, ["kernel", "size", "use", "vs the default"], False))
    if any(e["noisy"] for e in summary):
        lines.append("? a spread above ±%d%%: rerun on a quieter machine before relying on it"
                     % (100 * NOISY_SPREAD))
    if saved:
        lines.append("Saved %s:" % saved)
        lines.append("calls without backend= now use the fastest backend per kernel and "
                     "size of this run.")
    else:
        lines.append("To make calls without backend= use the fastest backend per kernel "
                     "and size, save a profile:")
        lines.append("  %s" % SAVE_COMMAND)
    return "\n".join(lines)


def _header(data: dict) -> List[str]:
    header = data["machine"]
    lines = ["accel.compare on %s" % header["cpu"],
             "%s, numpy %s, numba %s, extension flags: %s"
             % (header["python"], header["numpy"], header["numba"], header["cflags"])]
    start, end = (header.get("load") or [None, None])[:2]
    if start is not None:
        cores = os.cpu_count() or 1
        busy = max(start, end or 0) > 0.5 * cores
        lines.append("load average %.2f at the start, %s at the end, %d cores%s"
                     % (start, "%.2f" % end if end is not None else "?", cores,
                        ": busy, expect noise" if busy else ""))
    for name, why in data["unavailable"].items():
        lines.append("not measured: %s (%s)" % (name, why))
    return [part for line in lines for part in textwrap.wrap(line, 100, subsequent_indent="  ")]


def render(data: dict, markdown: bool = False, full: bool = False) -> str:
    lines = _header(data)
    if full:
        lines.append("cells: median per call ±half-IQR; * fastest accel backend; ? spread "
                     "above ±%d%%; ! answer differs" % (100 * NOISY_SPREAD))
        lines.append("from the reference; (x.. py / x.. np) speed-up over pure Python / NumPy")
    else:
        lines.append("cells: median time per call; * fastest backend; ? spread above ±%d%% "
                     "(too noisy to rank);" % (100 * NOISY_SPREAD))
        lines.append("! answer differs from the reference. --full adds spreads and "
                     "speed-ups; --json keeps everything.")
        if data.get("threads", 0) > 1:
            lines.append("[x..]: throughput with %d threads over 1 thread" % data["threads"])
    for kernel in dict.fromkeys(r["kernel"] for r in data["results"]):
        rows = [r for r in data["results"] if r["kernel"] == kernel]
        backends = list(dict.fromkeys(r["backend"] for r in rows))
        table = []
        for label in dict.fromkeys(r["label"] for r in rows):
            cell = {r["backend"]: r for r in rows if r["label"] == label}
            fastest = _fastest(cell.values())
            first = next(iter(cell.values()))
            line = [label if full else first.get("short") or label]
            for backend in backends:
                r = cell.get(backend)
                line.append("" if r is None else (_full_cell(r, cell, data) if full
                                                  else _short_cell(r, r is fastest)))
            table.append(line)
        lines.append("")
        title = "%s (%s)" % (kernel, TITLES.get(kernel, _sizes.UNIT[kernel]))
        lines.append("%s%s" % ("### " if markdown else "", title))
        lines.append(display.table(table, ["input"] + backends, markdown))
        numba_rows = [r for r in rows if r["backend"] == "numba"]
        if numba_rows:
            lines.append("numba first call (compile, or load from cache): %s"
                         % _format_time(numba_rows[0]["first_call_s"]))
    count = sum(noisy(r) for r in data["results"])
    if count:
        lines.append("")
        lines.append("? %d of %d cells have a spread above ±%d%%: too noisy to rank; rerun "
                     "on a quieter machine" % (count, len(data["results"]), 100 * NOISY_SPREAD))
    return "\n".join(lines)


def _short_cell(r: dict, fastest: bool) -> str:
    marks = ("*" if fastest else "") + ("?" if noisy(r) else "") + ("" if r["agrees"] else "!")
    text = _short_time(r["median_s"]) + (" " + marks if marks else "")
    if "thread_speedup" in r:
        text += " [x%.2f]" % r["thread_speedup"]
    return text


def _full_cell(r: dict, cell: Dict[str, dict], data: dict) -> str:
    text = "%s ±%.0f%%" % (_format_time(r["median_s"]), 100 * r["spread"])
    ratios = []
    for base, tag in (("python", "py"), ("numpy", "np")):
        if base in cell and base != r["backend"]:
            ratios.append("x%.3g %s" % (cell[base]["median_s"] / r["median_s"], tag))
    if ratios:
        text += " (%s)" % " / ".join(ratios)
    if r is _fastest(cell.values()):
        text += " *"
    if noisy(r):
        text += " ?"
    if not r["agrees"]:
        text += " !"
    if "thread_speedup" in r:
        text += " [%d threads: x%.2f]" % (data["threads"], r["thread_speedup"])
    return text


_AXES = {_sizes.BOXES: ("boxes", 1.0), _sizes.ANCHORS: ("anchors", 1.0),
         _sizes.PIXELS: ("megapixels", 1e-6)}


def _tick(value: float) -> str:
    if value >= 1000:
        return "%gk" % float("%.3g" % (value / 1000))
    return "%g" % float("%.3g" % value)


def plot(data: dict, path: str) -> None:
    """A grid of small panels, one per kernel, time per call against the input size in
    that kernel's unit; backends solid, peers dashed, one colour per name throughout.
    Variant rows are left out: a line joins one input form across sizes."""
    import matplotlib  # type: ignore
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore
    from matplotlib.ticker import FuncFormatter, NullFormatter  # type: ignore

    results = [r for r in data["results"] if not r.get("variant")]
    kernels = list(dict.fromkeys(r["kernel"] for r in results))
    names = list(dict.fromkeys(r["backend"] for r in results))
    colours = {name: "C%d" % (i % 10) for i, name in enumerate(names)}
    columns = min(4, len(kernels))
    rows = -(-len(kernels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.5 * rows + 0.9),
                             squeeze=False)
    handles: Dict[str, Any] = {}
    for ax, kernel in zip(axes.flat, kernels):
        label, scale = _AXES[_sizes.UNIT[kernel]]
        mine = [r for r in results if r["kernel"] == kernel]
        for name in dict.fromkeys(r["backend"] for r in mine):
            points = sorted((r["size"] * scale, r["median_s"] * 1e3, r.get("peer", False))
                            for r in mine if r["backend"] == name)
            peer = points[0][2]
            (line,) = ax.plot([p[0] for p in points], [p[1] for p in points],
                              "--" if peer else "-", marker="o", markersize=3, linewidth=1.2,
                              color=colours[name], label=name + (" (peer)" if peer else ""))
            handles.setdefault(name, line)
        marker = ax.axvline(_sizes.REALISTIC[kernel] * scale, color="0.55", linestyle=":",
                            linewidth=1, label="realistic size (the recommendation's)")
        handles.setdefault("realistic", marker)
        ax.set_xscale("log")
        ax.set_yscale("log")
        # Ticks at the sizes measured: log-scale minor labels collide on narrow panels.
        ticks = sorted({r["size"] * scale for r in mine})
        ax.set_xticks(ticks)
        ax.set_xticklabels([_tick(t) for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: "%g" % y))
        ax.set_title(kernel, fontsize=9)
        ax.set_xlabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("ms per call", fontsize=8)
    for ax in list(axes.flat)[len(kernels):]:
        ax.set_visible(False)
    handles["realistic"] = handles.pop("realistic")  # last in the legend
    fig.legend(list(handles.values()), [h.get_label() for h in handles.values()],
               loc="lower center", ncol=min(len(handles), 9), fontsize=8, frameon=False)
    machine = data["machine"]
    load = (machine.get("load") or [None])[0]
    fig.suptitle("accel.compare: %s, %s%s (median time per call; lower is faster)"
                 % (machine["cpu"], machine["python"],
                    ", load average %.1f" % load if load is not None else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def show_profile(sizes, path: Optional[str]) -> str:
    """``sizes``: None (each kernel's realistic size), an int (every kernel at that many
    of its unit) or ``(units, kernels)`` as ``_profile_sizes`` parses it."""
    if path:
        os.environ[_profile.ENV_VAR] = path
    _dispatch.reload_profile()
    if sizes is None or isinstance(sizes, int):
        answer = _dispatch.explain(sizes)
    else:
        units, per_kernel = sizes
        answer = _dispatch.explain(**units)
        for kernel, size in per_kernel.items():
            one = _dispatch.explain(kernel, size)
            answer[kernel] = one[kernel]
            answer.sizes[kernel] = one.sizes[kernel]
    in_use = _dispatch.active_profile() is not None
    lines = ["tuning profile: %s (%s)" % (_profile.default_path(), "in use" if in_use
                                         else "none there: run %s" % SAVE_COMMAND),
             "built-in order (%s): %s" % (_dispatch.IMPLEMENTATION,
                                          ", ".join(_dispatch._default_order()))]
    lines.extend(textwrap.wrap(_UNITS_HELP, 100))
    if isinstance(sizes, int):
        lines.append("every kernel at %d of its own unit (sizes per unit: boxes=N,anchors=N,"
                     "pixels=WxH)" % sizes)
    elif sizes is None:
        lines.append("each kernel at its realistic size (others: --show-profile boxes=N,"
                     "anchors=N,pixels=WxH)")
    table = [[kernel, _sizes.describe(kernel, answer.sizes[kernel]), why]
             for kernel, why in answer.items()]
    lines.append(display.table(table, ["kernel", "size", "backend (why)"], False))
    return "\n".join(lines)


def tune(quick: bool = False, path: Optional[str] = None, kernels=None) -> str:
    """Measure and save a tuning profile; see ``accel.tune``."""
    argv = ["--quick"] if quick else ["--no-variants"]
    if kernels:
        argv += ["--kernels", ",".join(kernels)]
    return _save(run(parse_args(argv)), path)


def _save(data: dict, path: Optional[str]) -> str:
    saved = save_profile(data["results"], path)
    _dispatch.reload_profile()
    return saved


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.show_profile is not None:
        print(show_profile(args.profile_sizes, args.profile))
        return 0
    data = run(args)
    print(render(data, args.markdown, args.full))
    if args.pipeline:  # accel/compare/pipeline.py
        from . import pipeline
        data["pipeline"] = pipeline.measure(budget=max(1.0, 4 * args.budget))
        print(pipeline.render(data["pipeline"], args.markdown))
    saved = None
    if args.save:
        saved = _save(data, args.profile)
    if args.plot:
        plot(data, args.plot)
        print("\nwrote %s" % args.plot)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(data, fh, indent=1)
        print("\nwrote %s" % args.json)
    print("\n" + render_summary(data["summary"], saved))
    if not all(r["agrees"] for r in data["results"] if not r.get("peer")):
        print("\nWARNING: some backends disagree with the reference (marked !)", file=sys.stderr)
        return 1
    return 0
