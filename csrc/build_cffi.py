"""cffi build script of the C backend: ``accel._backends._cffi_ext`` from ``csrc/*.c``.

Used by setup.py, from the repository root: ``make_ffibuilder(extra_compile_args=...)``
then ``ffibuilder.distutils_extension()``. Out-of-line API mode: the module is compiled
once at install time, and cffi releases the GIL around every call into it. To build it
alone, in place: ``ACCEL_SKIP_BACKENDS=cython python setup.py build_ext --inplace``.
"""
import os

import cffi

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = "accel._backends._cffi_ext"


def _relative(path):
    """``path`` relative to the working directory (setup.py runs from the repo root):
    setuptools wants relative source paths; fall back to absolute across drives."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


# Each header is declarations only, fed verbatim to cffi's cdef; each source includes its own.
HEADERS = ("accel.h", "preprocess.h", "decode.h")
SOURCES = ("nms.c", "preprocess.c", "decode.c")


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

