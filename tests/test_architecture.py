"""The shape docs/architecture.md promises, checked: no import cycle between product
modules, dependencies pointing inward, a thin CLI entry, every capability listed once."""

from __future__ import annotations

import ast
from pathlib import Path

from gateway.capabilities import CAPABILITIES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "menus", "adapters", "db")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every product module and the product modules it imports, at any depth of its
    code (an import inside a function counts: it is still a dependency)."""
    modules = {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from package import submodule` depends on the submodule; any other
                # name comes from the package's own __init__.
                submodules = [f"{node.module}.{a.name}" for a in node.names]
                targets = [s for s in submodules if s in modules]
                if len(targets) < len(submodules):
                    targets.append(node.module)
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_between_product_modules() -> None:
    assert _cycle(_imports()) is None


def test_dependencies_point_inward() -> None:
    graph = _imports()
    for module, targets in graph.items():
        top = module.split(".")[0]
        allowed = {
            "menus": {"menus"},
            "adapters": {"adapters", "menus"},
            "db": {"db"},
            "gateway": set(PACKAGES),
        }[top]
        outside = {t for t in targets if t.split(".")[0] not in allowed}
        assert not outside, f"{module} imports {sorted(outside)}"


def test_the_cli_entry_is_thin() -> None:
    assert len((ROOT / "gateway" / "cli.py").read_text().splitlines()) <= 200


def test_every_capability_is_a_package_listed_once() -> None:
    names = [kind.name for kind in CAPABILITIES]
    assert len(names) == len(set(names))
    for kind in CAPABILITIES:
        package = kind.__module__.rsplit(".", 1)[0]
        assert kind.__module__ == f"{package}.capability", kind
