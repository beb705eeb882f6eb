"""The vocabulary of the case tables (kernels.py, decode_cases.py).

A case is a dict of one kernel family's inputs, named by an id. A case is either
accepted (every backend must give the reference's answer) or ``Rejected``: the public
layer must refuse it with exactly ``error``, in a message naming ``argument``. Most
rejections happen before dispatch, so they are tested once per kernel, not per backend;
one that can only happen after a backend has run (``after_dispatch``) is tested on every
backend.
"""
import inspect
from typing import List, Tuple

import accel


class Rejected(dict):
    """Inputs (the dict) that the public layer must refuse."""

    def __init__(self, error, argument, words, named, after_dispatch, inputs):
        super().__init__(inputs)
        self.error = error  # the exact exception type
        self.argument = argument  # the public parameter at fault
        # What the message must contain: the argument's name (or the name of the part of
        # it at fault, ``named``), then any more words.
        self.words = (named or argument,) + tuple(words)
        self.after_dispatch = after_dispatch

    def applies_to(self, kernel: str) -> bool:
        """A rejection concerns the kernels that take the faulty argument (``mean`` is
        not an argument of ``letterbox``, whose runner leaves it out)."""
        return self.argument in inspect.signature(getattr(accel, kernel)).parameters


def reject(error, argument, *words, named=None, after_dispatch=False, **inputs) -> Rejected:
    return Rejected(error, argument, words, named, after_dispatch, inputs)


def split(cases) -> Tuple[List[tuple], List[tuple]]:
    """``(accepted, rejected)`` (id, case) pairs of a case list."""
    accepted = [(i, c) for i, c in cases if not isinstance(c, Rejected)]
    rejected = [(i, c) for i, c in cases if isinstance(c, Rejected)]
    return accepted, rejected
