"""Backend registry and selection.

A backend is a package in ``accel._backends`` that implements the whole boundary
(``accel._backends.BOUNDARY``), each function taking validated, C-contiguous, read-only
arrays. A backend that cannot be imported, or that lacks any boundary function, does not
exist at run time; the reason is kept so that ``backends()`` can say why.

Selection precedence, first match wins:
``backend=`` argument > ``use_backend()`` context > ``ACCEL_BACKEND`` environment
variable > tuning profile (``_profile_choice``) > built-in default order.
"""
import contextlib
import contextvars
import importlib
import os
import platform
from typing import Callable, Dict, Iterator, NamedTuple, Optional, Sequence, Tuple

from ._backends import BACKEND_NAMES, missing_functions

KERNELS = (
    "nms", "batched_nms", "soft_nms",
    "letterbox", "to_tensor", "preprocess",
    "decode_yolov8", "decode_yolov5", "decode_yolov8_raw", "decode_yolov5_raw", "scale_boxes",
    "postprocess",
)
# The backend functions each kernel calls (by default, the one of its own name): the
# decoders share one scan, and postprocess composes a backend's scan, NMS and scale_boxes.
BACKEND_FUNCTIONS = {
    "decode_yolov8": ("decode_scan",),
    "decode_yolov5": ("decode_scan",),
    "decode_yolov8_raw": ("decode_scan",),
    "decode_yolov5_raw": ("decode_scan",),
    "postprocess": ("decode_scan", "nms", "batched_nms", "scale_boxes"),
}
ENV_VAR = "ACCEL_BACKEND"

_MODULES = {name: "accel._backends." + name for name in BACKEND_NAMES}

_HOW_TO_GET = {
    "python": "it is part of accel; this is a bug",
    "numpy": "pip install numpy",
    "numba": "pip install 'accel[numba]' (Numba runs on CPython only, never on PyPy)",
    "cython": (
        "reinstall accel with Cython>=3 and a C compiler available "
        "(pip install --force-reinstall --no-build-isolation -v .) and read the build log"
    ),
    "cffi": (
        "reinstall accel with cffi>=1.15 and a C compiler available "
        "(pip install cffi; pip install --force-reinstall -v .) and read the build log"
    ),
}

IMPLEMENTATION = platform.python_implementation().lower()  # "cpython" or "pypy"

# Fastest first, per interpreter, from `python -m accel.compare` and
# `pytest benchmarks/` on the x86 development machine (figures in README.md): Cython is
# fastest on every NMS kernel and within a factor 2 of the best on preprocessing; cffi
# is a close second. On the decoders the three compiled backends are close (the shared
# NumPy steps and the NaN check dominate). Numba follows the C backends because its
# first call compiles for seconds (tens on a Pi). On PyPy the C backend leads; NumPy's
# per-call overhead is high there (cpyext): pure Python beats it on NMS at 20 000 boxes and batched NMS,
# NumPy wins on preprocessing; neither is close to cffi. A saved tuning profile
# (`python -m accel.compare --save`) overrides this order per kernel and size.
DEFAULT_ORDER = {
    "cpython": ("cython", "cffi", "numba", "numpy", "python"),
    "pypy": ("cffi", "python", "numpy"),
}


class BackendUnavailableError(RuntimeError):
    """A backend was asked for by name but cannot be loaded here."""


class BackendInfo(NamedTuple):
    name: str
    available: bool
    reason: str  # why it is missing, or the module that provides it

    def __str__(self) -> str:
        if not self.available:
            return "%-7s UNAVAILABLE: %s" % (self.name, self.reason)
        return "%-7s available" % (self.name,)


class BackendReport(Dict[str, BackendInfo]):
    """``{name: BackendInfo}`` for every backend, printable as a short table; with a size,
    also ``choices``: ``{kernel: "backend (why)"}`` for inputs of that size."""

    size: Optional[int] = None
    choices: Dict[str, str] = {}

    def __str__(self) -> str:
        lines = [str(info) for info in self.values()]
        if self.size is not None:
            lines.append("kernels on inputs of size %d:" % self.size)
            lines.extend("  %-18s %s" % item for item in self.choices.items())
        return "\n".join(lines)

    def available(self) -> Tuple[str, ...]:
        return tuple(name for name, info in self.items() if info.available)


_loaded: Dict[str, object] = {}
_failed: Dict[str, str] = {}
_context: "contextvars.ContextVar[Optional[str]]" = contextvars.ContextVar(
    "accel_backend", default=None
)
_default_cache: Dict[str, str] = {}


def _check_name(name: str, origin: str) -> str:
    if name not in _MODULES:
        raise ValueError(
            "unknown backend %r (from %s); valid backends: %s"
            % (name, origin, ", ".join(BACKEND_NAMES))
        )
    return name


def _load(name: str):
    """Import a backend once; if it fails, or is not whole, remember why and return None."""
    module = _loaded.get(name)
    if module is not None:
        return module
    if name in _failed:
        return None
    try:
        module = importlib.import_module(_MODULES[name])
    except Exception as exc:  # ImportError, or an incompatible Numba/numpy pair
        _failed[name] = "%s: %s" % (type(exc).__name__, exc)
        return None
    problems = missing_functions(module)
    if problems:
        _failed[name] = "incomplete backend %s: %s" % (module.__name__, "; ".join(problems))
        return None
    _loaded[name] = module
    return module


def backend_functions(kernel: str) -> Tuple[str, ...]:
    return BACKEND_FUNCTIONS.get(kernel, (kernel,))


def backends(size: Optional[int] = None) -> BackendReport:
    """Load every backend and report which are available here, and why not. With
    ``size``, also which backend each kernel uses for inputs of that size, and why
    (argument-free calls: context, environment, tuning profile or built-in order)."""
    report = BackendReport()
    for name in BACKEND_NAMES:
        module = _load(name)
        if module is not None:
            report[name] = BackendInfo(name, True, module.__name__)
        else:
            report[name] = BackendInfo(
                name, False, "%s (to get it: %s)" % (_failed[name], _HOW_TO_GET[name])
            )
    if size is not None:
        report.size, report.choices = size, explain(size)
    return report


def available_backends() -> Tuple[str, ...]:
    """Names of the backends that load here, in the canonical order."""
    return backends().available()


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Within the block, kernels called without ``backend=`` use ``name``.

    The choice is held in a context variable: it applies to the current thread (and
    asyncio task), not to threads started elsewhere. An unavailable backend raises
    ``BackendUnavailableError`` on entry.
    """
    _require(_check_name(name, "use_backend()"))
    token = _context.set(name)
    try:
        yield name
    finally:
        _context.reset(token)


def _require(name: str):
    module = _load(name)
    if module is None:
        raise BackendUnavailableError(
            "backend %r is not available here: %s. To get it: %s"
            % (name, _failed[name], _HOW_TO_GET[name])
        )
    return module


_profile_cache: Dict[str, object] = {}


def active_profile():
    """The tuning profile in use (loaded once, on first need), or None."""
    if "profile" not in _profile_cache:
        from . import _profile

        _profile_cache["profile"] = _profile.load()
    return _profile_cache["profile"]


def reload_profile() -> None:
    """Forget the loaded profile; the next choice reads it again (after --save, or a
    change of ACCEL_PROFILE)."""
    _profile_cache.clear()


def _profile_choice(kernel: str, size: int) -> Optional[str]:
    profile = active_profile()
    if profile is None:
        return None
    found = profile.choice(kernel, size)
    return found[0] if found else None


def _default_choice(kernel: str) -> str:
    name = _default_cache.get(kernel)
    if name is None:
        order = DEFAULT_ORDER.get(IMPLEMENTATION, DEFAULT_ORDER["cpython"])
        name = next(n for n in order + ("python",) if _load(n) is not None)
        _default_cache[kernel] = name
    return name


def choose(kernel: str, size: int, backend: Optional[str] = None) -> Tuple[str, str]:
    """Return ``(backend name, source of the choice)`` for one call of ``kernel``.

    ``source`` is one of "argument", "context", "environment", "profile", "default".
    """
    if backend is not None:
        return _check_name(backend, "backend= argument"), "argument"
    name = _context.get()
    if name is not None:
        return name, "context"
    name = os.environ.get(ENV_VAR)
    if name:
        return _check_name(name, "environment variable %s" % ENV_VAR), "environment"
    name = _profile_choice(kernel, size)
    if name is not None and _load(name) is not None:
        return name, "profile"
    return _default_choice(kernel), "default"


def explain(size: int, kernels: Sequence[str] = KERNELS) -> Dict[str, str]:
    """Which backend each kernel would use for an input of ``size`` here, and why."""
    answer = {}
    for kernel in kernels:
        name, source = choose(kernel, size)
        if source == "environment":
            why = "%s=%s" % (ENV_VAR, name)
        elif source == "profile":
            profile = active_profile()
            why = "tuning profile %s (fastest at N=%d)" % (profile.path, profile.choice(kernel, size)[1])
        elif source == "default":
            why = "built-in order for %s: %s; %s" % (
                IMPLEMENTATION, ", ".join(DEFAULT_ORDER.get(IMPLEMENTATION, DEFAULT_ORDER["cpython"])),
                "no tuning profile" if active_profile() is None
                else "the tuning profile has no entry for this kernel")
        else:
            why = "use_backend() context"
        answer[kernel] = "%s (%s)" % (name, why)
    return answer


def backend_module(kernel: str, size: int, backend: Optional[str] = None):
    """The backend module that runs ``kernel`` for this call, after the selection rules."""
    name, _ = choose(kernel, size, backend)
    return _require(name)


def implementation(kernel: str, size: int, backend: Optional[str] = None) -> Callable:
    """The function that runs ``kernel`` for this call, after the selection rules."""
    return getattr(backend_module(kernel, size, backend), backend_functions(kernel)[0])
