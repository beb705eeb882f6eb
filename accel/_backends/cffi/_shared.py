"""What every cffi family module needs: the compiled module and the boundary guard.

``_ext`` is built from ``csrc/`` at install time (``csrc/build_cffi.py``), out-of-line API
mode: cffi releases the GIL around every call into it, on CPython and PyPy alike.
"""
from ._ext import ffi, lib  # noqa: F401


def require(condition) -> None:
    """The C code trusts the sizes and strides it is given; a call that breaks the
    boundary must not reach it (the public layer never makes one)."""
    if not condition:
        raise ValueError("accel cffi backend: arrays outside the kernel's contract")


def out_of_memory() -> MemoryError:
    return MemoryError("accel cffi backend: out of memory")
