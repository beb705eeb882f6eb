"""Build the optional compiled backends of accel: Cython and C-through-cffi.

Each compiled backend is optional: if Cython or cffi is missing, or the compiler fails,
the package installs without that backend and says why. Set
``ACCEL_REQUIRE_BACKENDS=cython,cffi`` (CI does) to turn a missing backend into an error.

Compiler flags: ``-O3 -ffp-contract=off`` so that C arithmetic is never fused into FMA
and matches the pure-Python reference bit for bit. ``ACCEL_NATIVE=1`` adds
``-march=native`` (or ``-mcpu=native`` on ARM) for a build that only runs on this CPU.
``ACCEL_EXTRA_CFLAGS`` appends further flags. ``ACCEL_SKIP_BACKENDS=cython`` (or cffi)
leaves a backend out on purpose.
"""
import os
import platform
import sys
import traceback

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _names(variable):
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


REQUIRED = _names("ACCEL_REQUIRE_BACKENDS")
SKIPPED = _names("ACCEL_SKIP_BACKENDS")  # e.g. "cython" to build only the cffi backend
IS_PYPY = platform.python_implementation() == "PyPy"
IS_MSVC = sys.platform == "win32"


def compile_args():
    if IS_MSVC:
        return ["/O2", "/fp:precise"]
    args = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c99"]
    if os.environ.get("ACCEL_NATIVE") == "1":
        arm = platform.machine().lower() in ("aarch64", "arm64", "armv7l")
        args.append("-mcpu=native" if arm else "-march=native")
    args += os.environ.get("ACCEL_EXTRA_CFLAGS", "").split()
    return args


def record_flags(args):
    """Write the flags used into the package so `accel.compare` can report them."""
    path = os.path.join(HERE, "accel", "_build_info.py")
    with open(path, "w") as fh:
        fh.write("# Written by setup.py at build time.\n")
        fh.write("CFLAGS = %r\n" % (" ".join(args),))


def backend_of(ext):
    return "cython" if ext.name.startswith("accel._backends.cython.") else "cffi"


FAMILIES = ("nms", "preprocess", "decode")  # one .pyx per family in accel/_backends/cython/


def cython_extensions(args):
    from setuptools import Extension

    import Cython
    from Cython.Build import cythonize

    if int(Cython.__version__.split(".")[0]) < 3:
        # Debian bookworm's python3-cython is 0.29, which crashes on const fused
        # memoryviews; pip's build isolation fetches Cython 3 (pyproject.toml).
        raise ImportError("Cython %s found, accel needs Cython>=3" % Cython.__version__)

    exts = [
        Extension(
            "accel._backends.cython." + family,
            ["accel/_backends/cython/%s.pyx" % family],
            extra_compile_args=[a for a in args if a != "-std=c99"],
        )
        for family in FAMILIES
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


def cffi_extensions(args):
    sys.path.insert(0, os.path.join(HERE, "csrc"))
    try:
        from build_cffi import make_ffibuilder
    finally:
        sys.path.pop(0)
    ffibuilder = make_ffibuilder(extra_compile_args=args)
    return [ffibuilder.distutils_extension(tmpdir=os.path.join("build", "cffi"))]


class OptionalBuildExt(build_ext):
    """Build each extension on its own; a failure is reported, not fatal (unless required)."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # e.g. no compiler at all
            self._give_up(None, exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._give_up(ext, exc)

    def _give_up(self, ext, exc):
        names = [backend_of(ext)] if ext is not None else ["cython", "cffi"]
        if REQUIRED.intersection(names):
            raise
        for name in names:
            warn(name, "its compilation failed: %s" % (exc,))


def warn(name, why):
    bar = "*" * 78
    sys.stderr.write(
        "\n%s\naccel: building WITHOUT the %r backend: %s\n"
        "The other backends work; `accel.backends()` reports this one as missing.\n%s\n\n"
        % (bar, name, why, bar)
    )


def extensions():
    args = compile_args()
    record_flags(args)
    exts = []
    for name, make, missing_hint in (
        ("cython", cython_extensions, "pip install 'Cython>=3'"),
        ("cffi", cffi_extensions, "pip install 'cffi>=1.15'"),
    ):
        if name in SKIPPED:
            continue
        try:
            exts.extend(make(args))
        except ImportError as exc:
            if name in REQUIRED:
                raise
            warn(name, "%s (%s, then reinstall)" % (exc, missing_hint))
        except Exception as exc:
            if name in REQUIRED:
                raise
            warn(name, "".join(traceback.format_exception_only(type(exc), exc)).strip())
    return exts


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
