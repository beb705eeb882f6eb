"""Build the optional compiled backends of accel: Cython and C-through-cffi.

Each compiled backend is optional: if Cython or cffi is missing, or the compiler fails,
the package installs without that backend and says why. Set
``ACCEL_REQUIRE_BACKENDS=cython,cffi`` (CI does) to turn a missing backend into an error.

pip shows a build's output only when the build fails, so a backend left out must be
reported another way: the build records why in ``accel/_build_info.py`` (which
``accel.backends()`` and ``python -m accel.compare`` read), writes its one warning to the
terminal as well as to stderr, and removes the backend's modules from earlier builds, so
that no stale extension loads.

Compiler flags: ``-O3 -ffp-contract=off`` so that C arithmetic is never fused into FMA
and matches the pure-Python reference bit for bit. ``ACCEL_NATIVE=1`` adds
``-march=native`` (or ``-mcpu=native`` on ARM) for a build that only runs on this CPU.
``ACCEL_EXTRA_CFLAGS`` appends further flags. ``ACCEL_SKIP_BACKENDS=cython`` (or cffi)
leaves a backend out on purpose.
"""
import importlib.machinery
import os
import platform
import re
import sys
import sysconfig
import traceback

from setuptools import Distribution, setup
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


# {backend: why this build does not produce it}, read back by accel._dispatch.
NOT_BUILT = {}


def record_build(args, build_lib=None):
    """Write the flags and the backends left out into the package (the source tree, and
    the build directory a wheel is made from)."""
    text = ("# Written by setup.py at build time: what the last build made.\n"
            "CFLAGS = %r\n"
            "EXT_SUFFIX = %r\n"
            "NOT_BUILT = %r  # type: dict\n" % (" ".join(args), sysconfig.get_config_var("EXT_SUFFIX"),
                                   NOT_BUILT))
    for root in [HERE] + ([build_lib] if build_lib else []):
        folder = os.path.join(root, "accel")
        if os.path.isdir(folder):
            with open(os.path.join(folder, "_build_info.py"), "w") as fh:
                fh.write(text)


def backend_of(ext):
    return "cython" if ext.name.startswith("accel._backends.cython.") else "cffi"


# One .pyx each in accel/_backends/cython/.
FAMILIES = ("nms", "preprocess", "decode", "masks", "rotated")


TWIN_FAMILIES = ("nms",)  # the families that have an <family>_avx2.pyx


def avx2_twins():
    """The Cython families also built for AVX2 (x86-64 GCC or clang, not with
    ACCEL_NATIVE, whose one build already targets this CPU): nms_avx2.pyx includes
    nms.pyx, compiled with -mavx2 (no FMA: -ffp-contract=off keeps every result), and the
    backend loads it on a CPU that has AVX2. Measured with benchmarks/ab_builds.py: NMS
    gains 1.1-1.3x from four doubles per instruction in its branch-free lanes; decoding,
    preprocessing, masks and rotated NMS gain under 10% (memory-bound or scalar), so
    they have no twin."""
    x86_64 = platform.machine().lower() in ("x86_64", "amd64")
    if IS_MSVC or not x86_64 or os.environ.get("ACCEL_NATIVE") == "1":
        return ()
    return TWIN_FAMILIES


MODULES = {
    "cython": (["accel._backends.cython." + family for family in FAMILIES]
               + ["accel._backends.cython.%s_avx2" % family for family in avx2_twins()]),
    "cffi": ["accel._backends.cffi._ext"],
}


def cython_extensions(args):
    from setuptools import Extension

    import Cython
    from Cython.Build import cythonize

    if int(Cython.__version__.split(".")[0]) < 3:
        # Debian bookworm's python3-cython is 0.29, which crashes on const fused
        # memoryviews; pip's build isolation fetches Cython 3 (pyproject.toml).
        raise ImportError("Cython %s found, accel needs Cython>=3" % Cython.__version__)

    flags = [a for a in args if a != "-std=c99"]
    exts = [
        Extension(
            "accel._backends.cython." + family,
            ["accel/_backends/cython/%s.pyx" % family],
            extra_compile_args=flags,
        )
        for family in FAMILIES
    ] + [
        Extension(
            "accel._backends.cython.%s_avx2" % family,
            ["accel/_backends/cython/%s_avx2.pyx" % family],
            extra_compile_args=flags + ["-mavx2"],
        )
        for family in avx2_twins()
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
        self.failed_extensions = set()
        try:
            super().run()
        except Exception as exc:  # e.g. no compiler at all
            for ext in self.extensions:
                self.failed_extensions.add(ext.name)
                self._give_up(ext, exc)
        self._report()

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self.failed_extensions.add(ext.name)
            self._give_up(ext, exc)

    def copy_extensions_to_source(self):
        # A failed extension has nothing new to copy: only a stale file in build/.
        every = self.extensions
        self.extensions = [e for e in every if e.name not in self.failed_extensions]
        try:
            super().copy_extensions_to_source()
        finally:
            self.extensions = every

    def _give_up(self, ext, exc):
        name = backend_of(ext)
        if name in REQUIRED:
            raise exc
        NOT_BUILT.setdefault(name, "the %s build failed at install: %s"
                             % (name, failure_text(ext, exc)))

    def _report(self):
        removed = []
        for name in sorted(NOT_BUILT):
            for module in MODULES[name]:
                for root in (HERE, self.build_lib):
                    removed.extend(remove_module(root, module))
        # A twin this build does not make (ACCEL_NATIVE=1 after a default build) would
        # otherwise stay in place and load, built from an older source.
        for family in set(TWIN_FAMILIES) - set(avx2_twins()):
            for root in (HERE, self.build_lib):
                remove_module(root, "accel._backends.cython.%s_avx2" % family)
        record_build(compile_args(), self.build_lib)
        failed = {name: why for name, why in NOT_BUILT.items() if name not in SKIPPED}
        if failed:
            announce(failed, removed)


def failure_text(ext, exc):
    """A compiler failure in one line (setuptools quotes the whole command line)."""
    lines = str(exc).strip().splitlines()
    text = lines[-1] if lines else type(exc).__name__
    command = re.match(r"[Cc]ommand '\[?'?([^',\]]+)", text)
    status = re.search(r"exit (?:status|code) (-?\d+)", text)
    if command and status:
        return "%s exited with status %s compiling %s" % (
            command.group(1), status.group(1), ext.sources[0] if ext.sources else ext.name)
    return text if len(text) < 300 else text[:297] + "..."


def remove_module(root, module):
    """Delete every file this interpreter could import as ``module`` under ``root``."""
    base = os.path.join(root, *module.split("."))
    gone = []
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if os.path.exists(base + suffix):
            os.remove(base + suffix)
            gone.append(os.path.relpath(base + suffix, HERE))
    return gone


def announce(failed, removed):
    """One warning, on stderr and on the terminal: pip hides a successful build's output."""
    bar = "*" * 78
    lines = [bar, "accel: installing WITHOUT the %s backend%s; the other backends work."
             % (" and ".join(sorted(failed)), "s" if len(failed) > 1 else "")]
    lines += ["  %s" % why for _, why in sorted(failed.items())]
    if removed:
        lines.append("Removed the stale extension modules of an earlier build:")
        lines += ["  %s" % path for path in removed]
    lines += ["accel.backends() and python -m accel.compare report this (recorded in "
              "accel/_build_info.py).", "For the full build log: pip install -v ...", bar]
    text = "\n" + "\n".join(lines) + "\n\n"
    sys.stderr.write(text)
    sys.stderr.flush()
    if sys.stderr.isatty():
        return
    try:
        with open("/dev/tty", "w") as tty:  # there is none in CI, or under Windows
            tty.write(text)
    except OSError:
        pass


def warn(name, why):
    sys.stderr.write("accel: building WITHOUT the %r backend: %s\n" % (name, why))


class AlwaysBuildExt(Distribution):
    """build_ext runs even when no extension is left to build, to clean up and report."""

    def has_ext_modules(self):
        return True


def extensions():
    args = compile_args()
    exts = []
    for name, make, missing_hint in (
        ("cython", cython_extensions, "pip install 'Cython>=3'"),
        ("cffi", cffi_extensions, "pip install 'cffi>=1.15'"),
    ):
        if name in SKIPPED:
            NOT_BUILT[name] = "the %s backend was left out at install: ACCEL_SKIP_BACKENDS" % name
            continue
        try:
            exts.extend(make(args))
        except ImportError as exc:
            if name in REQUIRED:
                raise
            NOT_BUILT[name] = ("the %s build was skipped at install: %s (%s, then reinstall)"
                               % (name, exc, missing_hint))
            warn(name, NOT_BUILT[name])
        except Exception as exc:
            if name in REQUIRED:
                raise
            NOT_BUILT[name] = "the %s build failed at install: %s" % (name, "".join(
                traceback.format_exception_only(type(exc), exc)).strip())
            warn(name, NOT_BUILT[name])
    record_build(args)
    return exts


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt},
      distclass=AlwaysBuildExt)
