"""What every Numba family module needs: the PyPy guard and the one way to compile.

``cache=True`` writes the machine code to disk on the first call, so later processes
load it instead of compiling again (seconds here, tens of seconds on a Pi 4). ``nogil``
lets the kernels of several Python threads run at once. No ``fastmath`` (LLVM could then
reorder or fuse the arithmetic and the answers would drift from the reference) and no
``parallel``.
"""
import platform

if platform.python_implementation() == "PyPy":
    raise ImportError("Numba does not run on PyPy")

import numba  # noqa: E402


def jit(function):
    return numba.njit(cache=True, nogil=True)(function)
