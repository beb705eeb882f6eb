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
import importlib.machinery
import os
import platform
from typing import Callable, Dict, Iterator, NamedTuple, Optional, Sequence, Set, Tuple, Union

from . import _sizes
from ._backends import BACKEND_NAMES, missing_functions

KERNELS = (
    "nms", "batched_nms", "soft_nms",
    "letterbox", "to_tensor", "preprocess",
    "decode_yolov8", "decode_yolov5", "decode_yolov8_raw", "decode_yolov5_raw",
    "decode_yolov3_raw", "scale_boxes",
    "postprocess", "process_masks",
    "decode_yolov8_pose", "decode_yolov8_obb", "nms_rotated", "batched_nms_rotated",
    "fast_nms_rotated",
)
# The backend functions each kernel calls (by default, the one of its own name): the
# decoders share one scan, and postprocess composes a backend's scan, NMS and scale_boxes.
BACKEND_FUNCTIONS = {
    "decode_yolov8": ("decode_scan", "decode_boxes"),
    "decode_yolov5": ("decode_scan", "decode_boxes"),
    "decode_yolov8_raw": ("decode_scan",),
    "decode_yolov5_raw": ("decode_scan",),
    "decode_yolov3_raw": ("decode_scan",),
    "decode_yolov8_pose": ("decode_scan",),
    "decode_yolov8_obb": ("decode_scan",),
    "postprocess": ("decode_scan", "decode_boxes", "nms", "batched_nms", "scale_boxes",
                    "fast_nms_rotated"),
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
        extra = self.reason.partition(" ")[2]  # e.g. "(NMS built for AVX2)"
        return "%-7s available%s" % (self.name, " " + extra if extra else "")


class Explanation(Dict[str, str]):
    """``{kernel: "backend (why)"}`` for calls that name no backend, with ``sizes``
    (``{kernel: size}``, each in its kernel's unit) and ``profile`` (the tuning profile's
    path, or None); printable as one line per kernel."""

    sizes: Dict[str, int] = {}
    profile: Optional[str] = None

    def __str__(self) -> str:
        lines = ["tuning profile: %s; built-in order: %s" % (
            self.profile or "none in use", ", ".join(_default_order()))]
        for kernel, why in self.items():
            lines.append("  %-18s %-22s %s" % (kernel, _sizes.describe(kernel, self.sizes[kernel]),
                                              why))
        return "\n".join(lines)


class BackendReport(Dict[str, BackendInfo]):
    """``{name: BackendInfo}`` for every backend, printable as a short table; given
    sizes, also ``choices``: an ``Explanation`` of which backend each kernel uses."""

    size: Optional[int] = None
    choices: Dict[str, str] = {}

    def __str__(self) -> str:
        lines = [str(info) for info in self.values()]
        if self.choices:
            lines.append("kernels (size: %s):" % _UNITS_TEXT)
            lines.extend(str(self.choices).splitlines())
        return "\n".join(lines)

    def available(self) -> Tuple[str, ...]:
        return tuple(name for name, info in self.items() if info.available)


_UNITS_TEXT = "boxes for NMS and scale_boxes, anchors for decoders, pixels for images"


_loaded: Dict[str, object] = {}
_incomplete: Set[str] = set()  # loaded, but not whole: a bug, not a missing install
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
        build = _build_failure(name) if isinstance(exc, ImportError) else None
        _failed[name] = build or "%s: %s" % (type(exc).__name__, exc)
        return None
    problems = missing_functions(module)
    if problems:
        _failed[name] = "incomplete backend %s: %s" % (module.__name__, "; ".join(problems))
        _incomplete.add(name)
        return None
    _loaded[name] = module
    return module


def _how_to_get(name: str) -> str:
    if name in _incomplete:  # installing again cannot help a backend that lacks code
        return ("nothing to install: this accel is inconsistent (a backend lacks boundary "
                "functions); reinstall accel from a clean source, and report it if it persists")
    return _HOW_TO_GET[name]


def _build_failure(name: str) -> Optional[str]:
    """Why the last build did not produce compiled backend ``name``, as setup.py recorded
    it: pip shows a build's output only when the build fails, and a backend that does not
    compile does not fail the install."""
    try:
        from . import _build_info  # written by setup.py; absent in a source checkout
    except ImportError:
        return None
    # An editable tree may hold builds for several interpreters; the record is the last
    # build's, and speaks for this interpreter only if it made this interpreter's modules.
    if getattr(_build_info, "EXT_SUFFIX", None) not in importlib.machinery.EXTENSION_SUFFIXES:
        return None
    return getattr(_build_info, "NOT_BUILT", {}).get(name)


def backend_functions(kernel: str) -> Tuple[str, ...]:
    return BACKEND_FUNCTIONS.get(kernel, (kernel,))


def backends(size: Optional[int] = None, *, boxes: Optional[_sizes.Size] = None,
             anchors: Optional[_sizes.Size] = None,
             pixels: Optional[_sizes.Size] = None) -> BackendReport:
    """Load every backend and report which are available here, and why not.

    Given sizes, also which backend each kernel uses for inputs of that size, and why
    (``report.choices``, as ``explain`` gives it): ``boxes=``, ``anchors=``, ``pixels=``
    for the kernels counted in that unit (the others at their realistic size), or one
    ``size`` for every kernel, each in its own unit.
    """
    report = BackendReport()
    for name in BACKEND_NAMES:
        module = _load(name)
        if module is not None:
            build = getattr(module, "NMS_BUILD", "")  # Cython's AVX2 twin, when loaded
            report[name] = BackendInfo(name, True, module.__name__ + (
                " (NMS built for AVX2)" if build == "avx2" else ""))
        else:
            report[name] = BackendInfo(
                name, False, "%s (to get it: %s)" % (_failed[name], _how_to_get(name))
            )
    if size is not None or boxes is not None or anchors is not None or pixels is not None:
        report.choices = explain(size, boxes=boxes, anchors=anchors, pixels=pixels)
        report.size = size
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
            % (name, _failed[name], _how_to_get(name))
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


def _default_order() -> Tuple[str, ...]:
    return DEFAULT_ORDER.get(IMPLEMENTATION, DEFAULT_ORDER["cpython"])


def _default_choice(kernel: str) -> str:
    name = _default_cache.get(kernel)
    if name is None:
        name = next(n for n in _default_order() + ("python",) if _load(n) is not None)
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


def explain(kernel: Union[str, Sequence[str], int, None] = None,
            size: Optional[_sizes.Size] = None, *, boxes: Optional[_sizes.Size] = None,
            anchors: Optional[_sizes.Size] = None,
            pixels: Optional[_sizes.Size] = None) -> Explanation:
    """Which backend a call that names none would use, and why.

    Sizes are counted per kernel family: boxes (``nms``, ``batched_nms``, ``soft_nms``,
    ``scale_boxes``), anchors (the decoders and ``postprocess``) and pixels
    (``letterbox``, ``to_tensor``, ``preprocess``; ``"1920x1080"`` is accepted)::

        explain()                              every kernel at its realistic size
        explain("nms", 5000)                   one kernel (a list of names: several)
        explain("preprocess", "1280x720")
        explain(boxes=5000, pixels="1920x1080")  sizes per unit, the rest realistic
        explain(5000)                          every kernel at 5000 of its own unit

    Returns an ``Explanation``: ``{kernel: "backend (why)"}`` with ``.sizes`` and
    ``.profile``. Unknown kernels raise ``ValueError``; a size that is not a positive
    integer (or WxH, for pixels) raises ``TypeError``/``ValueError`` naming it.
    """
    units = {"boxes": boxes, "anchors": anchors, "pixels": pixels}
    given_units = {unit: _sizes.parse(value, unit, unit)
                   for unit, value in units.items() if value is not None}
    if kernel is not None and not isinstance(kernel, (str, list, tuple)):
        if isinstance(kernel, bool) or not hasattr(kernel, "__index__"):
            raise TypeError("explain(): kernel must be a kernel name or a list of names, "
                            "got %s %r" % (type(kernel).__name__, kernel))
        # explain(5000): the form from before sizes had units; every kernel at 5000.
        if size is not None:
            raise TypeError("explain(kernel, size): kernel must be a kernel name, got %r; "
                            "for one kernel write explain(%r, %r)" % (kernel, size, kernel))
        kernel, size = None, kernel
    names = _kernel_names(kernel)
    if size is not None:
        if given_units:
            raise TypeError("explain(): give either a size or boxes=/anchors=/pixels=, not both")
        if len({_sizes.UNIT[k] for k in names}) > 1 and kernel is not None:
            raise ValueError("explain(): kernels %s count sizes in different units (%s); "
                             "give boxes=, anchors= or pixels= instead of size"
                             % (", ".join(names), ", ".join(sorted({_sizes.UNIT[k] for k in names}))))
    for unit in given_units:
        if not any(_sizes.UNIT[name] == unit for name in names):
            raise TypeError("explain(): %s= sizes %s, none of which was asked for"
                            % (unit, ", ".join(_sizes.kernels_by_unit()[unit])))
    sizes = {}
    for name in names:
        if size is not None:
            sizes[name] = _sizes.parse(size, name, "size")
        elif _sizes.UNIT[name] in given_units:
            sizes[name] = given_units[_sizes.UNIT[name]]
        else:
            sizes[name] = _sizes.REALISTIC[name]
    answer = Explanation()
    answer.sizes = sizes
    profile = active_profile()
    answer.profile = profile.path if profile is not None else None
    for name in names:
        chosen, source = choose(name, sizes[name])
        if source == "environment":
            why = "%s=%s" % (ENV_VAR, chosen)
        elif source == "profile":
            measured = profile.choice(name, sizes[name])[1]
            why = "tuning profile: fastest measured at %s" % _sizes.describe(name, measured)
        elif source == "default":
            why = "built-in order for %s; %s" % (
                IMPLEMENTATION, "no tuning profile" if profile is None
                else "the tuning profile has no entry for this kernel")
        else:
            why = "use_backend() context"
        answer[name] = "%s (%s)" % (chosen, why)
    return answer


def _kernel_names(kernel) -> Tuple[str, ...]:
    if kernel is None:
        return KERNELS
    names = (kernel,) if isinstance(kernel, str) else tuple(kernel)
    for name in names:
        if name not in _sizes.UNIT:
            hint = ("; for a size in %s write explain(%s=N)" % (name, name)
                    if name in _sizes.UNITS else "")
            raise ValueError("explain(): unknown kernel %r; kernels: %s%s"
                             % (name, ", ".join(KERNELS), hint))
    if not names:
        raise ValueError("explain(): kernel is an empty list; give a name or None for all")
    return names


def backend_module(kernel: str, size: int, backend: Optional[str] = None):
    """The backend module that runs ``kernel`` for this call, after the selection rules."""
    name, _ = choose(kernel, size, backend)
    return _require(name)


# The fast path of ``implementation``: what each kernel resolved to, so that a call costs
# a few dictionary lookups instead of the whole selection (a tenth of an NMS of 100
# boxes). ``_resolved[(kernel, name)]`` serves calls whose backend is named (by argument,
# context or environment); ``_automatic[kernel]`` those that name none when the profile
# makes no choice for them (the built-in order then decides, whatever the size). An
# entry holds the module and the function's name (the function is looked up on each
# call, so a replaced one is seen), and counts only while ``_loaded`` still holds that
# module (tests replace it).
_resolved: Dict[Tuple[str, str], Tuple[object, str]] = {}
_automatic: Dict[str, Tuple[str, object, str]] = {}


def _environment_name() -> Optional[str]:
    """``os.environ.get(ENV_VAR) or None``, read from the mapping behind ``os.environ``
    (a tenth of the time: ``os.environ.get`` runs Python code of ``os`` on every call)."""
    try:
        raw = os.environ._data.get(_ENV_KEY)  # type: ignore[attr-defined]
        name = None if raw is None else os.environ.decodevalue(raw)  # type: ignore[attr-defined]
    except AttributeError:  # an os.environ without the CPython/PyPy internals
        name = os.environ.get(ENV_VAR)
    return name or None


try:
    _ENV_KEY = os.environ.encodekey(ENV_VAR)  # type: ignore[attr-defined]
except AttributeError:
    _ENV_KEY = ENV_VAR


def implementation(kernel: str, size: int, backend: Optional[str] = None,
                   function: Optional[str] = None) -> Callable:
    """The function that runs ``kernel`` for this call, after the selection rules: the
    backend function ``BACKEND_FUNCTIONS`` names first, or ``function`` of the same
    backend (a decoder's ``decode_boxes`` beside its ``decode_scan``)."""
    if backend is None:
        backend = _context.get()
        if backend is None:
            backend = _environment_name()
            if backend is None:
                if _profile_choice(kernel, size) is not None:
                    return _resolve(kernel, size, None, function)
                hit = _automatic.get(kernel)
                if hit is not None and _loaded.get(hit[0]) is hit[1]:
                    return getattr(hit[1], function or hit[2])
                return _resolve(kernel, size, None, function)
    found = _resolved.get((kernel, backend))
    if found is not None and _loaded.get(backend) is found[0]:
        return getattr(found[0], function or found[1])
    return _resolve(kernel, size, backend, function)


def _resolve(kernel: str, size: int, backend: Optional[str],
             function: Optional[str] = None) -> Callable:
    """``implementation`` the long way (the selection rules, with their errors); remembers
    the answer for the fast path."""
    name, source = choose(kernel, size, backend)
    module = _require(name)
    function_name = backend_functions(kernel)[0]
    if source == "default":
        _automatic[kernel] = (name, module, function_name)
    elif source != "profile":
        _resolved[(kernel, name)] = (module, function_name)
    return getattr(module, function or function_name)
