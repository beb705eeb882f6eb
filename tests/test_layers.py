"""Imports run one way: the compare tool -> public kernels -> validation, dispatch,
geometry, backends -> nothing of accel's. Checked on the source (``ast``), so an import
hidden inside a function counts too; the only upward import allowed is ``accel.tune()``
loading the compare tool on demand."""
import ast
import os

import pytest

import accel

ROOT = os.path.dirname(accel.__file__)

# Lower layers first; a module may import its own layer or lower ones.
LAYERS = [
    ("leaf", ["accel._geometry", "accel._validate", "accel._version", "accel._backends",
              "accel._sizes", "accel._build_info"]),
    ("core", ["accel._dispatch", "accel._profile"]),
    ("kernels", ["accel._nms", "accel._preprocess", "accel._decode_common",
                 "accel._decode_heads", "accel._decode_raw", "accel._scale_boxes",
                 "accel._postprocess", "accel._masks", "accel._rotated",
                 "accel._decode_tasks", "accel"]),
    ("tool", ["accel.compare"]),
]
ALLOWED_UPWARD = {("accel", "accel.compare.cli")}  # accel.tune(), lazily
SHARED_BY_BACKENDS = "accel._backends._detect"


def layer_of(module):
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    return best[0] if best else None


def source_modules():
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith((".py", ".pyx")):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, os.path.dirname(ROOT))[:-len(".py")
                                                                    if name.endswith(".py")
                                                                    else -len(".pyx")]
                module = parts.replace(os.sep, ".")
                package = name == "__init__.py"
                yield path, module[:-len(".__init__")] if package else module, package


def accel_imports(path, module, package):
    with open(path) as fh:
        text = fh.read()
    if path.endswith(".pyx"):  # only Python-level imports matter; cimports are C
        text = "\n".join(line for line in text.splitlines()
                         if line.startswith(("import ", "from ")) and "cimport" not in line)
    base = module.split(".") if package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = ".".join(base[:len(base) - node.level + 1])
                target = stem + ("." + node.module if node.module else "")
                names = ([target] if node.module
                         else [target + "." + alias.name for alias in node.names])
            else:
                names = [node.module]
        else:
            continue
        found.update(n for n in names if n == "accel" or n.startswith("accel."))
    return found


MODULES = sorted(source_modules(), key=lambda m: m[1])


@pytest.mark.parametrize("path, module, package", MODULES, ids=[m[1] for m in MODULES])
def test_imports_run_one_way(path, module, package):
    own = layer_of(module)
    assert own is not None, "%s is in no layer of this test: place it" % module
    for imported in accel_imports(path, module, package):
        if (module, imported) in ALLOWED_UPWARD:
            continue
        rank = layer_of(imported)
        if rank is None:  # a name imported from a package, e.g. accel._backends.python.nms
            continue
        assert rank <= own, "%s (%s) imports %s (%s)" % (
            module, LAYERS[own][0], imported, LAYERS[rank][0])


@pytest.mark.parametrize("path, module, package",
                         [m for m in MODULES if layer_of(m[1]) == 0],
                         ids=[m[1] for m in MODULES if layer_of(m[1]) == 0])
def test_leaves_import_nothing_of_accel_outside_themselves(path, module, package):
    """A backend package imports only itself, and ``accel._backends._detect`` (the
    ``decode_detect`` of the backends that do not fuse it, which imports nothing of
    accel); the other leaves import nothing of accel."""
    for imported in accel_imports(path, module, package):
        if module.startswith("accel._backends."):
            own_backend = ".".join(module.split(".")[:3])
            assert imported.startswith(own_backend) or imported == SHARED_BY_BACKENDS, \
                (module, imported)
        else:
            assert imported == module or imported.startswith(module + "."), (module, imported)
