"""Measure every kernel on every backend that loads here, on realistic inputs.

    python -m accel.compare              # all kernels, all sizes (a few minutes)
    python -m accel.compare --quick      # smaller sizes, shorter budget (under a minute)
    python -m accel.compare --kernels nms --backends cffi,numpy --sizes 5000,20000
    python -m accel.compare --save       # measure, then save a tuning profile
    python -m accel.compare --show-profile 5000   # which backend each kernel uses, and why

Each cell is the median time per call (steady state) with its spread; the fastest
backend per row is marked ``*``; ``!`` marks a backend whose answer differs from the
pure-Python reference on that input. Numba's first call (compile, or load from its
on-disk cache) is reported apart from the steady-state time.
"""
import argparse
import json
import os
import platform
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from .. import _dispatch, _profile
from . import display
from .peers import PEERS
from .timing import Timing, measure, thread_throughput
from .tuning import save as save_profile
from .workloads import QUICK_SIZES, SIZES, Workload, workload

REFERENCE = "python"


def agree(kernel: str, expected, actual) -> bool:
    """The conformance rule: identical indices; soft-NMS scores within 1e-12 relative;
    every other array bit-identical."""
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


def machine_header() -> Dict[str, str]:
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
    }


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m accel.compare",
        description=__doc__.split("\n\n")[0],
        epilog="Timings on a busy or thermally throttled machine are noisy: compare "
               "ratios from one run, and rerun for figures you intend to quote.",
    )
    parser.add_argument("--kernels", help="comma-separated kernels (default: all: %s)"
                        % ", ".join(_dispatch.KERNELS))
    parser.add_argument("--backends", help="comma-separated backends (default: every one "
                        "that loads here: see accel.backends())")
    parser.add_argument("--sizes", help="comma-separated input sizes N, instead of each "
                        "kernel's realistic defaults")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and a 0.1 s budget per cell (under a minute)")
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
                        "(NonMaxSuppression), each checked for agreement like a backend")
    parser.add_argument("--markdown", action="store_true", help="print GitHub-style tables")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement to FILE")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also plot time against input size per backend, one panel per "
                        "kernel, log scales (needs matplotlib)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--save", action="store_true",
                        help="save a tuning profile from this run: for each kernel and size, "
                        "the fastest backend that gave the reference answer; later calls "
                        "without an explicit backend use it")
    parser.add_argument("--profile", metavar="FILE",
                        help="profile file for --save and --show-profile (default: "
                        "$ACCEL_PROFILE, else a per-machine, per-interpreter file in "
                        "~/.cache/accel)")
    parser.add_argument("--show-profile", nargs="?", const=1000, type=int, metavar="N",
                        help="print which backend each kernel uses for inputs of size N "
                        "(default 1000) and why, then exit")
    args = parser.parse_args(argv)
    args.kernels = _split(args.kernels, _dispatch.KERNELS, "--kernels", parser)
    args.backends = _split(args.backends, _dispatch.BACKEND_NAMES, "--backends", parser)
    if args.sizes:
        try:
            args.sizes = [int(s) for s in args.sizes.split(",")]
        except ValueError:
            parser.error("--sizes takes integers, e.g. --sizes 1000,5000")
        if min(args.sizes) < 1:
            parser.error("--sizes must be positive")
    if args.budget is None:
        args.budget = 0.1 if args.quick else 0.5
    if args.threads < 0:
        parser.error("--threads must be >= 0")
    return args


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
    cells: List[Tuple[str, int]] = []
    for kernel in args.kernels:
        sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)[kernel]
        cells.extend((kernel, size) for size in sizes)
    results = []
    peers = list(PEERS) if args.peers else []
    progress = display.progress(len(cells) * (len(backends) + len(peers)), args.no_progress)
    for kernel, size in cells:
        work = workload(kernel, size)
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
    return {"machine": machine_header(), "unavailable": skipped, "results": results,
            "budget_s": args.budget, "threads": args.threads}


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
        "kernel": work.kernel, "size": work.size, "label": work.label, "backend": name,
        "peer": peer, "median_s": timing.median, "spread": timing.spread,
        "repeats": len(timing.samples), "first_call_s": timing.first_call,
        "agrees": agree(work.kernel, expected, call()),
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


def render(data: dict, markdown: bool = False) -> str:
    lines = []
    header = data["machine"]
    lines.append("accel.compare on %s" % header["cpu"])
    lines.append("%s, numpy %s, numba %s, extension flags: %s"
                 % (header["python"], header["numpy"], header["numba"], header["cflags"]))
    for name, why in data["unavailable"].items():
        lines.append("not measured: %s (%s)" % (name, why))
    lines.append("cells: median per call ±half-IQR; * fastest accel backend; ! answer differs "
                 "from the reference; (x.. py / x.. np) speed-up over pure Python / NumPy")
    for kernel in dict.fromkeys(r["kernel"] for r in data["results"]):
        rows = [r for r in data["results"] if r["kernel"] == kernel]
        backends = list(dict.fromkeys(r["backend"] for r in rows))
        table = []
        for label in dict.fromkeys(r["label"] for r in rows):
            cell = {r["backend"]: r for r in rows if r["label"] == label}
            fastest = min((r for r in cell.values() if r["agrees"] and not r.get("peer")),
                          key=lambda r: r["median_s"])
            line = [label]
            for backend in backends:
                r = cell.get(backend)
                if r is None:
                    line.append("")
                    continue
                text = "%s ±%.0f%%" % (_format_time(r["median_s"]), 100 * r["spread"])
                ratios = []
                for base, tag in (("python", "py"), ("numpy", "np")):
                    if base in cell and base != backend:
                        ratios.append("x%.3g %s" % (cell[base]["median_s"] / r["median_s"], tag))
                if ratios:
                    text += " (%s)" % " / ".join(ratios)
                if r is fastest:
                    text += " *"
                if not r["agrees"]:
                    text += " !"
                if "thread_speedup" in r:
                    text += " [%d threads: x%.2f]" % (data["threads"], r["thread_speedup"])
                line.append(text)
            table.append(line)
        lines.append("")
        lines.append("%s%s" % ("### " if markdown else "", kernel))
        lines.append(display.table(table, ["input"] + backends, markdown))
        numba_rows = [r for r in rows if r["backend"] == "numba"]
        if numba_rows:
            lines.append("numba first call (compile, or load from cache): %s"
                         % _format_time(numba_rows[0]["first_call_s"]))
    return "\n".join(lines)


def plot(data: dict, path: str) -> None:
    try:
        import matplotlib  # type: ignore
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install matplotlib")
    kernels = list(dict.fromkeys(r["kernel"] for r in data["results"]))
    fig, axes = plt.subplots(1, len(kernels), figsize=(4.5 * len(kernels), 4), squeeze=False)
    for ax, kernel in zip(axes[0], kernels):
        rows = [r for r in data["results"] if r["kernel"] == kernel]
        for backend in dict.fromkeys(r["backend"] for r in rows):
            points = sorted((r["size"], r["median_s"]) for r in rows if r["backend"] == backend)
            ax.plot([p[0] for p in points], [p[1] * 1e3 for p in points], "o-", label=backend)
        ax.set(xscale="log", yscale="log", title=kernel, xlabel="input size", ylabel="ms per call")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("%s, %s" % (data["machine"]["cpu"], data["machine"]["python"]), fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def show_profile(size: int, path: Optional[str]) -> str:
    if path:
        os.environ[_profile.ENV_VAR] = path
    _dispatch.reload_profile()
    lines = ["profile file: %s (%s)" % (_profile.default_path(), "in use"
             if _dispatch.active_profile() is not None else "none in use")]
    lines.append("for inputs of size %d:" % size)
    lines.extend("  %-18s %s" % (k, why) for k, why in _dispatch.explain(size).items())
    return "\n".join(lines)


def tune(quick: bool = False, path: Optional[str] = None, kernels=None) -> str:
    """Measure and save a tuning profile; see ``accel.tune``."""
    argv = ["--quick"] if quick else []
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
        print(show_profile(args.show_profile, args.profile))
        return 0
    data = run(args)
    print(render(data, args.markdown))
    if args.save:
        print("\nsaved tuning profile %s" % _save(data, args.profile))
    if args.plot:
        plot(data, args.plot)
        print("\nwrote %s" % args.plot)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(data, fh, indent=1)
        print("\nwrote %s" % args.json)
    if not all(r["agrees"] for r in data["results"] if not r.get("peer")):
        print("\nWARNING: some backends disagree with the reference (marked !)", file=sys.stderr)
        return 1
    return 0
