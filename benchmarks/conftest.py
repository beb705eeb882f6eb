import pytest

import accel


@pytest.fixture(params=accel.BACKEND_NAMES)
def backend(request):
    info = accel.backends()[request.param]
    if not info.available:
        pytest.skip("backend %r unavailable: %s" % (request.param, info.reason))
    return request.param
