"""cffi build script of the C backend: ``accel._backends._cffi_ext`` from ``csrc/nms.c``.

Used by setup.py (``make_ffibuilder(extra_compile_args=...)`` then
``ffibuilder.distutils_extension()``). Out-of-line API mode: the module is compiled
once at install time, and cffi releases the GIL around every call into it.

Running ``python csrc/build_cffi.py`` from the repository root also compiles the module
in place (a convenience; setup.py is the supported way).
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


def make_ffibuilder(extra_compile_args=()):
    with open(os.path.join(HERE, "accel.h")) as fh:
        declarations = fh.read()
    ffibuilder = cffi.FFI()
    ffibuilder.cdef(declarations)
    ffibuilder.set_source(
        MODULE,
        '#include "accel.h"\n',
        sources=[_relative(os.path.join(HERE, "nms.c"))],
        include_dirs=[_relative(HERE)],
        extra_compile_args=list(extra_compile_args),
    )
    return ffibuilder


if __name__ == "__main__":
    os.chdir(os.path.dirname(HERE))
    make_ffibuilder(["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c99"]).compile(
        tmpdir=os.path.join("build", "cffi"), verbose=True
    )
