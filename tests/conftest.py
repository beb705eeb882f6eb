"""Backend parametrisation shared by every test module.

A backend that does not load here is a skip that says why, unless it is named in
ACCEL_REQUIRE_BACKENDS (CI sets it), where a missing backend fails the run instead.
"""
import os

import pytest

import accel
from accel._dispatch import BACKEND_NAMES

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



@pytest.fixture(autouse=True, scope="session")
def no_user_profile(tmp_path_factory):
    """Tests must not pick up a tuning profile saved on the developer's machine."""
    os.environ["ACCEL_PROFILE"] = str(tmp_path_factory.mktemp("profile") / "none.json")
    accel.reload_profile()
    yield
