"""A build whose compiler fails (CC=false) still installs, says so once, records why for
accel.backends(), and leaves no extension module of an earlier build that could load.

Run on a copy of the package in a temporary folder: the checkout under test keeps its
compiled backends. No compiler is needed (the point is that it fails); cffi or Cython
is, or nothing would be compiled.
"""
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPILED = ("cython", "cffi")

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="CC does not choose MSVC's compiler"),
    pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "setup.py")),
                       reason="needs the source tree (setup.py), not an installed accel"),
    pytest.mark.skipif(importlib.util.find_spec("setuptools") is None,
                       reason="setuptools is not installed here"),
    pytest.mark.skipif(importlib.util.find_spec("cffi") is None
                       and importlib.util.find_spec("Cython") is None,
                       reason="neither cffi nor Cython here: this build would compile nothing"),
]


def extension_files(tree):
    found = []
    for backend in COMPILED:
        folder = os.path.join(tree, "accel", "_backends", backend)
        for name in os.listdir(folder):
            if name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
                found.append(os.path.join(backend, name))
    return sorted(found)


@pytest.fixture
def tree(tmp_path):
    """The package's sources (and this checkout's built modules, if any) in a copy; a
    placeholder module where a backend was never built, as an earlier build leaves."""
    copy = tmp_path / "src"
    copy.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in"):
        if os.path.exists(os.path.join(ROOT, name)):
            shutil.copy2(os.path.join(ROOT, name), str(copy))
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    for name in ("accel", "csrc"):
        shutil.copytree(os.path.join(ROOT, name), str(copy / name), ignore=ignore)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for module in ("cython/nms", "cffi/_ext"):
        path = copy / "accel" / "_backends" / (module + suffix)
        if not path.exists():
            path.write_bytes(b"not a module: stands for one from an earlier build")
    return str(copy)


def test_failed_compile_installs_without_the_backend_and_removes_stale_modules(tree):
    assert extension_files(tree)  # the stale modules the build must remove
    env = {k: v for k, v in os.environ.items()
           if k not in ("ACCEL_REQUIRE_BACKENDS", "ACCEL_SKIP_BACKENDS")}
    env["CC"] = "false"
    # A new session has no controlling terminal: the warning meant for the user's
    # terminal (under pip) stays out of the one running the tests.
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tree,
                           env=env, capture_output=True, text=True, timeout=300,
                           start_new_session=True)
    assert build.returncode == 0, build.stderr[-3000:]
    assert extension_files(tree) == []
    assert build.stderr.count("accel: installing WITHOUT") == 1, build.stderr[-3000:]
    assert "Removed the stale extension modules of an earlier build" in build.stderr
    assert "accel.backends()" in build.stderr

    env["PYTHONPATH"] = tree
    # An editable install of the checkout under test may have put a finder on
    # sys.meta_path that maps accel's modules to the checkout: it would find the
    # checkout's compiled modules when the copy has none. Drop it: only the copy counts.
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path "
            "if '__editable__' not in getattr(f, '__module__', '') "
            "and '__editable__' not in getattr(f, '__name__', '')]; "
            "import accel; r = accel.backends(); print(accel.__file__); "
            "print('\\n'.join('%s|%s|%s' % (n, i.available, i.reason) for n, i in r.items()))")
    after = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env,
                           capture_output=True, text=True, timeout=120, check=True)
    lines = after.stdout.splitlines()
    assert lines[0].startswith(tree)
    report = {name: (available, reason) for name, available, reason
              in (line.split("|", 2) for line in lines[1:])}
    for backend in COMPILED:
        available, reason = report[backend]
        assert available == "False", (backend, reason, build.stderr[-2000:])
        assert "the %s build" % backend in reason and "at install" in reason, reason
    if importlib.util.find_spec("cffi") is not None:  # then it was compiled, with `false`
        # The compiler's failure as setuptools words it ("false exited with status 1";
        # older ones: 'Command "false -Wsign-compare ..." failed with exit code 1').
        assert re.search(r"the cffi build failed at install: .*\bfalse\b.*\b1\b",
                         report["cffi"][1]), report["cffi"][1]


def test_a_build_without_the_avx2_twin_removes_an_earlier_one(tree):
    """ACCEL_NATIVE=1 (or a non-x86 build) makes no nms_avx2: one left by an earlier build
    would load on an AVX2 CPU, built from older source, so the build deletes it."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    twin = os.path.join(tree, "accel", "_backends", "cython", "nms_avx2" + suffix)
    with open(twin, "wb") as fh:
        fh.write(b"not a module: stands for a twin from an earlier build")
    env = {k: v for k, v in os.environ.items() if k != "ACCEL_REQUIRE_BACKENDS"}
    env.update(ACCEL_NATIVE="1", ACCEL_SKIP_BACKENDS="cython,cffi")  # nothing to compile
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tree,
                           env=env, capture_output=True, text=True, timeout=300,
                           start_new_session=True)
    assert build.returncode == 0, build.stderr[-3000:]
    assert not os.path.exists(twin)
