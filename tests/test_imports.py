"""The shape of the code: no import circles, layers that point inward, every package installed.

The import graph is read from the source with `ast` (nothing is imported):
every `import` and `from ... import` of a module, also those inside functions
and under `TYPE_CHECKING`, is an edge to the module it names; importing
`a.b.c` from outside `a.b` also runs `a/b/__init__.py`, so it is an edge to
that package too. A circle is a set of modules that reach each other.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("content", "exchange", "federation", "migrations")
# The faces wire everything together; nothing below them imports them.
FACES = ("exchange.app", "exchange.asgi", "exchange.server", "exchange.conditional", "exchange.metrics", "exchange.logs", "exchange.__main__", "exchange.cli", "exchange.api",
         "exchange.web")


def modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Module name -> file, for every Python file of the packages under `root`."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _known(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(known: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of `known` it imports (see the module docstring)."""
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                            for alias in node.names]
        for target in targets:
            module = _known(target, known)
            while module is not None:
                if module != name and not name.startswith(module + "."):
                    graph[name].add(module)
                parent = module.rpartition(".")[0]
                module = parent if parent in known else None
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_circles() -> None:
    found = circles(import_graph(modules(ROOT)))
    assert not found, "modules that import each other, directly or around a ring:\n" + "\n".join(
        " <-> ".join(c) for c in found)


@pytest.mark.parametrize(("files", "expected"), [
    ({"a/__init__.py": "", "a/x.py": "from a import y\n", "a/y.py": "def f():\n    import a.x\n"},
     [["a.x", "a.y"]]),
    ({"a/__init__.py": "", "a/x.py": "from . import y\n", "a/y.py": "from .z import v\n",
      "a/z.py": "from a.x import w\n"}, [["a.x", "a.y", "a.z"]]),
    # a package whose __init__ imports a part that imports something importing the package
    ({"a/__init__.py": "from a.x import v\n", "a/x.py": "import b\n", "b/__init__.py": "from a import v\n"},
     [["a", "a.x", "b"]]),
    ({"a/__init__.py": "from a.x import v\n", "a/x.py": "from a.y import w\n", "a/y.py": ""}, []),
])
def test_the_checker_finds_circles(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    packages = sorted({name.split("/")[0] for name in files})
    assert circles(import_graph(modules(tmp_path, packages))) == expected


def _layer(module: str) -> int:
    if module.split(".")[0] == "content":
        return 0
    if module.split(".")[0] == "federation":
        return 2
    if any(module == face or module.startswith(face + ".") for face in FACES):
        return 3
    return 1  # the exchange core


def test_dependencies_point_inward() -> None:
    """content <- the exchange core <- federation <- the faces (app, asgi, cli, api, web)."""
    graph = import_graph(modules(ROOT))
    outward = sorted(f"{m} imports {t}" for m, targets in graph.items() for t in targets
                     if _layer(t) > _layer(m))
    assert not outward, "\n".join(outward)


def test_every_package_is_installed() -> None:
    """Each folder with an __init__.py is listed in pyproject.toml, or an installed node lacks it."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in modules(ROOT).items() if path.name == "__init__.py"}
    assert packages - listed == set()
