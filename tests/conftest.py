"""Backend parametrisation shared by every test module.

``backend`` runs a test on every backend; ``candidate`` on every backend but the
reference (the equivalence tests compare each with it). A backend that does not load
here is a skip that says why, unless it is named in ACCEL_REQUIRE_BACKENDS (CI sets it),
where a missing backend fails the run instead.
"""
import os
import types

import pytest

import accel
from accel import _dispatch
from accel._backends import BOUNDARY
from accel._dispatch import BACKEND_NAMES

REFERENCE = "python"  # the readable reference every other backend must reproduce
CANDIDATES = tuple(name for name in BACKEND_NAMES if name != REFERENCE)

REQUIRED = {
    name.strip() for name in os.environ.get("ACCEL_REQUIRE_BACKENDS", "").split(",") if name.strip()
}


def pytest_configure(config):
    unknown = REQUIRED - set(BACKEND_NAMES)
    if unknown:
        raise pytest.UsageError(
            "ACCEL_REQUIRE_BACKENDS names unknown backends %s" % ", ".join(sorted(unknown))
        )


def require_backend(name):
    """Skip (or fail, when required) unless backend ``name`` loads here."""
    info = accel.backends()[name]
    if info.available:
        return name
    if name in REQUIRED:
        pytest.fail("backend %r is required (ACCEL_REQUIRE_BACKENDS) but %s" % (name, info.reason))
    pytest.skip("backend %r unavailable: %s" % (name, info.reason))


@pytest.fixture(params=BACKEND_NAMES)
def backend(request):
    return require_backend(request.param)


@pytest.fixture(params=CANDIDATES)
def candidate(request):
    """A backend other than the reference: the equivalence tests check it against it."""
    return require_backend(request.param)


@pytest.fixture
def isolated_dispatch(monkeypatch):
    """The dispatcher's memory of loaded and failed backends (and default choices) as
    copies, put back after the test: a test may make a backend fail to load."""
    for name in ("_loaded", "_failed", "_default_cache", "_incomplete"):
        monkeypatch.setattr(_dispatch, name, type(getattr(_dispatch, name))(getattr(_dispatch, name)))
    return monkeypatch


@pytest.fixture
def unreachable_backends(isolated_dispatch):
    """Every backend replaced by one whose every function fails the test. A call that
    raises its own error under this fixture was refused by the public layer before any
    backend ran: it raises alike on every backend, so it is tested once."""
    def unreachable(function):
        def call(*args):
            raise AssertionError("the public layer called the backend's %s() with input "
                                 "it should have refused" % function)
        return call

    fake = types.SimpleNamespace(__name__="unreachable", **{f: unreachable(f) for f in BOUNDARY})
    for name in BACKEND_NAMES:
        _dispatch._loaded[name] = fake


@pytest.fixture(autouse=True, scope="session")
def no_user_profile(tmp_path_factory):
    """Tests must not pick up a tuning profile saved on the developer's machine."""
    os.environ["ACCEL_PROFILE"] = str(tmp_path_factory.mktemp("profile") / "none.json")
    accel.reload_profile()
    yield
