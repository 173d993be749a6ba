"""The layers hold: magics -> API -> backends. Read from the source (every import statement, those inside
functions too, where cycles like to hide), not from what a test run happened to import."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "mlops_magics"
FACES = ("magics", "cli", "extension", "__init__")  # parse, call the API, finish; IPython lives here only
HEAVY = ("mlflow", "feast", "evidently", "papermill", "kfp", "sklearn", "pandas", "numpy", "scipy",
         "matplotlib", "pyarrow", "nbformat", "nbclient", "mlserver", "ipywidgets", "redis", "skops")  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """(imported module, names taken from it, at module level?) for every import in a file."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    top_level = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
            # "from . import schema" imports the module mlops_magics.schema
            modules = [f"{target}.{n}" for n in names if (PACKAGE.parent / f"{target}.{n}".replace(".", "/")).with_suffix(".py").exists()
                       or (PACKAGE.parent / f"{target}.{n}".replace(".", "/") / "__init__.py").exists()]  # fmt: skip
            found += [(m, [], id(node) in top_level) for m in modules]
            rest = [n for n in names if f"{target}.{n}" not in modules]
            if rest or not modules:
                found.append((target, rest, id(node) in top_level))
    return found


def component(module: str) -> str:
    """mlops_magics.tracking.runs -> tracking; mlops_magics.schema -> schema."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


SOURCES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
EDGES = {m: imports(p) for m, p in SOURCES.items()}


def test_the_api_never_imports_the_face_or_ipython():
    bad = []
    for module, found in EDGES.items():
        if component(module) in FACES:
            continue
        for target, _, _ in found:
            if target.split(".")[0] == "IPython" or (
                component(target) in FACES and target.split(".")[0] == "mlops_magics"
            ):
                bad.append(f"{module} imports {target}")
    assert bad == []


def part_graph(edges: dict) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, found in edges.items():
        for target, _, _ in found:
            if target.startswith("mlops_magics.") and component(target) != component(module):
                graph.setdefault(component(module), set()).add(component(target))
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    cycles = []

    def visit(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append(" -> ".join([*path, nxt]))
            elif nxt not in path:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


def test_no_import_cycle_between_parts():
    assert find_cycles(part_graph(EDGES)) == []


def test_no_import_cycle_between_modules():
    graph = {m: {t for t, _, _ in found if t in SOURCES and t != m and not m.startswith(t + ".")}
             for m, found in EDGES.items()}  # fmt: skip
    assert find_cycles(graph) == []


# copied into the serving environment and run there by MLServer: not part of the notebook's package
SERVING_RUNTIMES = ("mlops_magics.serving.mlserver_runtime", "mlops_magics.serving.mlserver_entity")


def test_heavy_libraries_load_inside_functions():
    bad = [f"{module} imports {target} at module level"
           for module, found in EDGES.items() if not module.endswith("widgets") and module not in SERVING_RUNTIMES
           for target, _, top in found if top and target.split(".")[0] in HEAVY]  # fmt: skip
    assert bad == []


def test_no_private_name_crosses_parts():
    bad = [f"{module} takes {name} from {target}"
           for module, found in EDGES.items()
           for target, names, _ in found if target.split(".")[0] == "mlops_magics" and component(target) != component(module)
           for name in names if name.startswith("_") and not name.startswith("__")]  # fmt: skip
    assert bad == []


def test_modules_stay_small():
    big = {m: n for m, p in SOURCES.items() if (n := len(p.read_text().splitlines())) > 400}
    assert big == {}


def test_the_check_can_fail(tmp_path):
    """The cycle and face checks see what they claim to: a synthetic package with both faults."""
    pkg = tmp_path / "mlops_magics"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text(
        "def f():\n    from ..b import g\n    from IPython import get_ipython\n"
    )
    (pkg / "b.py").write_text("from .a import f\nimport pandas\n")
    global ROOT, PACKAGE
    saved = ROOT, PACKAGE
    ROOT, PACKAGE = tmp_path, pkg
    try:
        found = {module_name(p): imports(p) for p in pkg.rglob("*.py")}
    finally:
        ROOT, PACKAGE = saved
    assert ("mlops_magics.b", ["g"], False) in found["mlops_magics.a"]
    assert ("IPython", ["get_ipython"], False) in found["mlops_magics.a"]
    assert ("mlops_magics.a", ["f"], True) in found["mlops_magics.b"]
    assert ("pandas", [], True) in found["mlops_magics.b"]
    assert find_cycles(part_graph(found)) == ["a -> b -> a", "b -> a -> b"]
