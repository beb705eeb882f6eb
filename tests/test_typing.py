"""The public API is typed for users' type checkers: ``py.typed`` ships with the package
and every public function annotates every parameter and its return value."""
import inspect
import os

import pytest

import accel

PUBLIC_FUNCTIONS = [name for name in accel.__all__
                    if inspect.isfunction(getattr(accel, name))]


def test_py_typed_marker_ships_with_the_package():
    assert os.path.isfile(os.path.join(os.path.dirname(accel.__file__), "py.typed"))


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_public_function_is_fully_annotated(name):
    signature = inspect.signature(getattr(accel, name))
    bare = [p for p, v in signature.parameters.items() if v.annotation is inspect.Parameter.empty]
    assert not bare, "%s: parameters without annotation: %s" % (name, bare)
    assert signature.return_annotation is not inspect.Signature.empty, name


def test_every_kernel_is_public_and_checked_here():
    assert set(accel.KERNELS) <= set(PUBLIC_FUNCTIONS)
