"""The layers point one way: library (credit/) <- pipelines <- CLI and API; migrations belong to the application.

The import graph is read from the source (every ``import`` statement, inside functions too,
except those under ``if TYPE_CHECKING:``, which never run), so an import made lazily inside a
command counts as much as one at the top of a module. ``import a.b.c`` and ``from a.b.c import
x`` are arrows to the module ``a.b.c`` (``from a.b import c`` to ``a.b.c`` when ``c`` is a
module); the parent packages Python initialises on the way are not counted as arrows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("credit", "pipelines", "api", "cli", "migrations")

FORBIDDEN = {
    "credit": {"api", "pipelines", "cli", "migrations"},  # the library imports nothing above it
    "pipelines": {"api", "cli"},  # the batch jobs run below the service and the command line
    "api": {"cli"},  # the CLI runs the API, never the other way round
}
CLI_SHARED = {"cli", "cli.common", "cli.output", "cli.demo_book", "cli.demo_financing"}
"""What a CLI command module may import from cli/: the package, the shared options and output, the demo's book
(credit lines and checkout, and its financing)."""


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_names(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every dotted name ``source`` imports, with its line: ``a.b`` for ``import a.b``, ``a.b`` for ``from a import b``."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, dict[str, int]]:
    """Module -> {module of ours it imports: line of the first such import}, for every module under ``packages``.

    An imported name counts as the longest module it starts with: ``from a.b import x`` is an
    arrow to ``a.b.x`` when that is a module, to ``a.b`` when ``x`` is a name defined there.
    """
    paths = {module_name(path, root): path for package in packages for path in sorted((root / package).rglob("*.py"))}
    graph: dict[str, dict[str, int]] = {}
    for module, path in paths.items():
        arrows: dict[str, int] = {}
        for name, line in imported_names(path.read_text(), module, path.name == "__init__.py"):
            parts = name.split(".")
            target = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in paths), None)
            if target is not None and target != module:
                arrows.setdefault(target, line)
        graph[module] = arrows
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in graph:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def a_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    """The shortest cycle through the component's first module, each arrow with the line of its import."""
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                cycle = [*paths[node], start]
                arrows = "; ".join(f"{a}:{graph[a][b]} imports {b}" for a, b in zip(cycle, cycle[1:]))
                return f"{' -> '.join(cycle)}   [{arrows}]"
            if target in component and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return import_graph()


def _arrows_into(graph: dict[str, dict[str, int]], layer: str, forbidden: set[str]) -> list[str]:
    return [f"{module}:{line} imports {target}" for module, arrows in sorted(graph.items())
            if module.split(".")[0] == layer for target, line in sorted(arrows.items())
            if target.split(".")[0] in forbidden]


def test_the_library_imports_nothing_above_it(graph: dict[str, dict[str, int]]) -> None:
    assert _arrows_into(graph, "credit", FORBIDDEN["credit"]) == []


def test_the_pipelines_import_neither_the_api_nor_the_cli(graph: dict[str, dict[str, int]]) -> None:
    assert _arrows_into(graph, "pipelines", FORBIDDEN["pipelines"]) == []


def test_the_api_does_not_import_the_cli(graph: dict[str, dict[str, int]]) -> None:
    assert _arrows_into(graph, "api", FORBIDDEN["api"]) == []


def test_the_migrations_package_imports_no_tables_and_no_service(graph: dict[str, dict[str, int]]) -> None:
    """``import migrations`` (the API does, at startup) must not pull in the API: only env.py, run by Alembic, may."""
    assert [target for target in graph["migrations"] if target.split(".")[0] in ("api", "cli", "credit")] == []


def test_no_cli_command_imports_another_command(graph: dict[str, dict[str, int]]) -> None:
    commands = [module for module in graph if module.startswith("cli.") and module not in CLI_SHARED]
    assert commands, "no CLI command module found"
    assert [f"{module}:{line} imports {target}" for module in sorted(commands)
            for target, line in sorted(graph[module].items())
            if target.split(".")[0] == "cli" and target not in CLI_SHARED] == []


def test_there_is_no_import_cycle(graph: dict[str, dict[str, int]]) -> None:
    cycles = [a_cycle(graph, component) for component in strongly_connected(graph)]
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


# The reader itself, on a small tree made for it: the checks above can only fail if it sees what is there.


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_reader_sees_lazy_relative_and_from_imports_but_not_type_checking_ones(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "credit/__init__.py": "",
        "credit/clock.py": "",
        "credit/models/__init__.py": "REGISTERED_MODEL = 'x'\n",
        "credit/models/registry.py": (
            "from typing import TYPE_CHECKING\n"
            "from . import clock_user\n"
            "from credit.models import REGISTERED_MODEL\n"
            "if TYPE_CHECKING:\n    import api.app\n"
            "def f():\n    from ..clock import now\n    import pipelines.job\n"),
        "credit/models/clock_user.py": "",
        "api/__init__.py": "", "api/app.py": "",
        "pipelines/__init__.py": "", "pipelines/job.py": "",
    })
    graph = import_graph(root, ("credit", "api", "pipelines"))
    assert graph["credit.models.registry"] == {"credit.models.clock_user": 2, "credit.models": 3, "credit.clock": 7,
                                               "pipelines.job": 8}
    assert _arrows_into(graph, "credit", FORBIDDEN["credit"]) == ["credit.models.registry:8 imports pipelines.job"]


def test_the_cycle_finder_names_each_arrow_of_a_cycle(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "cli/__init__.py": "",
        "cli/a.py": "from cli import b\n",
        "cli/b.py": "import cli.c\n",
        "cli/c.py": "def late():\n    from cli.a import x\n",
        "cli/d.py": "import cli.a\n",
    })
    graph = import_graph(root, ("cli",))
    [component] = strongly_connected(graph)
    assert component == ["cli.a", "cli.b", "cli.c"]
    assert a_cycle(graph, component) == ("cli.a -> cli.b -> cli.c -> cli.a   "
                                         "[cli.a:1 imports cli.b; cli.b:1 imports cli.c; cli.c:2 imports cli.a]")
