"""Reading saved tuning profiles: the fastest correct backend per kernel and input size.

``python -m accel.compare --save`` (or ``accel.tune()``) measures and writes a profile
(``accel.compare.tuning``); the dispatcher reads it here whenever the caller made no
explicit choice. A profile
belongs to one machine and one interpreter: its file name carries both, and the file
records the build of the compiled extensions, so a profile from another machine, from
another interpreter or from before a rebuild is ignored with one warning.

The file lives in ``$XDG_CACHE_HOME/accel`` (``~/.cache/accel``) unless
``ACCEL_PROFILE`` names another path. Loading happens once, on the first call that
needs it; each later choice is a dictionary lookup and a bisection.
"""
import bisect
import glob
import hashlib
import json
import math
import os
import platform
import sys
import warnings
from typing import Dict, List, Optional, Tuple

from ._version import __version__

# Version 2 counts image sizes in pixels (h * w); version 1 counted h * w * channels, so
# its image entries would land in the wrong buckets.
FORMAT = "accel-profile/2"
ENV_VAR = "ACCEL_PROFILE"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def identity() -> Dict[str, str]:
    """What a profile must match: this machine and this interpreter."""
    return {
        "node": platform.node(),
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "interpreter": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "executable": sys.executable,
    }


def build_fingerprint() -> str:
    """Changes whenever a compiled extension or accel itself is rebuilt or upgraded."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = [__version__]
    for path in sorted(glob.glob(os.path.join(here, "_backends", "*", "*.so"))
                       + glob.glob(os.path.join(here, "_backends", "*", "*.pyd"))):
        stat = os.stat(path)
        parts.append("%s:%d:%d" % (os.path.basename(path), stat.st_size, int(stat.st_mtime)))
    try:
        from importlib.metadata import version
        parts.append("numba " + version("numba"))
    except Exception:
        parts.append("no numba")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def default_path() -> str:
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    ident = identity()
    digest = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(base, "accel", "profile-%s-%s.json"
                        % (platform.python_implementation().lower(), digest))


class Profile:
    """Per kernel, the backend to use for each size bucket (nearest measured size, log scale)."""

    def __init__(self, kernels: Dict[str, List[dict]], path: str = ""):
        self.path = path
        self.kernels = kernels
        self._buckets: Dict[str, Tuple[List[float], List[str], List[int]]] = {}
        for kernel, entries in kernels.items():
            entries = sorted(entries, key=lambda e: e["size"])
            sizes = [e["size"] for e in entries]
            bounds = [math.sqrt(a * b) for a, b in zip(sizes, sizes[1:])]
            self._buckets[kernel] = (bounds, [e["backend"] for e in entries], sizes)

    def choice(self, kernel: str, size: int) -> Optional[Tuple[str, int]]:
        """(backend, measured size it came from) for ``kernel`` at ``size``, or None."""
        bucket = self._buckets.get(kernel)
        if bucket is None:
            return None
        bounds, names, sizes = bucket
        position = bisect.bisect_right(bounds, size)
        return names[position], sizes[position]


def load(path: Optional[str] = None) -> Optional[Profile]:
    """The profile at ``path`` if it exists and matches here; else None, with one warning
    when a file exists but is corrupt, foreign or stale."""
    path = path or default_path()
    if not os.path.exists(path):
        return None
    try:
        with open(path) as fh:
            document = json.load(fh)
        if document.get("format") == "accel-profile/1":
            raise ValueError("made by an older accel, which counted image sizes differently")
        if document.get("format") != FORMAT:
            raise ValueError("format is %r, expected %r" % (document.get("format"), FORMAT))
        kernels = document["kernels"]
        for entries in kernels.values():
            for entry in entries:
                if not (isinstance(entry["size"], int) and isinstance(entry["backend"], str)):
                    raise ValueError("malformed entry %r" % (entry,))
    except Exception as exc:
        _warn("accel: ignoring tuning profile %s (%s); rerun "
              "`python -m accel.compare --save`" % (path, exc))
        return None
    if document.get("identity") != identity():
        _warn("accel: ignoring tuning profile %s: it was made on %s, this is %s; rerun "
              "`python -m accel.compare --save`" % (path, _describe(document.get("identity")),
                                                     _describe(identity())))
        return None
    if document.get("build") != build_fingerprint():
        _warn("accel: ignoring stale tuning profile %s: accel or its compiled backends were "
              "rebuilt since; rerun `python -m accel.compare --save`" % (path,))
        return None
    return Profile(kernels, path)


def _describe(ident) -> str:
    if not isinstance(ident, dict):
        return "an unknown machine"
    return "%s / %s (%s)" % (ident.get("node"), ident.get("cpu"), ident.get("interpreter"))


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)
