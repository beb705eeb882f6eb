"""cffi build script of the C backend: ``accel._backends.cffi._ext`` from ``csrc/*.c``.

Used by setup.py, from the repository root: ``make_ffibuilder(extra_compile_args=...)``
then ``ffibuilder.distutils_extension()``. Out-of-line API mode: the module is compiled
once at install time, and cffi releases the GIL around every call into it. To build it
alone, in place: ``ACCEL_SKIP_BACKENDS=cython python setup.py build_ext --inplace``.
"""
import os

import cffi

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = "accel._backends.cffi._ext"


def _relative(path):
    """``path`` relative to the working directory (setup.py runs from the repo root):
    setuptools wants relative source paths; fall back to absolute across drives."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


# One FAMILY.c + FAMILY.h per kernel family. Each header is declarations only, fed
# verbatim to cffi's cdef; each source includes its own.
FAMILIES = ("nms", "preprocess", "decode", "masks", "rotated")
HEADERS = tuple(family + ".h" for family in FAMILIES)
SOURCES = tuple(family + ".c" for family in FAMILIES)


def make_ffibuilder(extra_compile_args=()):
    declarations = []
    for header in HEADERS:
        with open(os.path.join(HERE, header)) as fh:
            declarations.append(fh.read())
    ffibuilder = cffi.FFI()
    ffibuilder.cdef("\n".join(declarations))
    ffibuilder.set_source(
        MODULE,
        "".join('#include "%s"\n' % header for header in HEADERS),
        sources=[_relative(os.path.join(HERE, source)) for source in SOURCES],
        include_dirs=[_relative(HERE)],
        extra_compile_args=list(extra_compile_args),
    )
    return ffibuilder

