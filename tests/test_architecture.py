"""The shape of the code: apps never reach into the project package, and no app's modules
import each other in a circle (imports inside functions included, which is how a circle
usually hides)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGE = "newsroom"
APPS = sorted(
    path.parent.name for path in ROOT.glob("*/apps.py") if path.parent.name != PROJECT_PACKAGE
)


def modules_of(app):
    """Return {dotted module name: path} for the app's code, migrations aside."""
    found = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        found[".".join(parts)] = path
    return found


def imported_modules(path, module):
    """Return every module ``path`` imports, wherever in the file the import is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_the_apps_are_found():
    assert {"articles", "newsletter", "photos", "publication"} <= set(APPS)


@pytest.mark.parametrize("app", APPS)
def test_no_app_imports_the_project_package(app):
    offenders = [
        f"{module} imports {name}"
        for module, path in modules_of(app).items()
        for name in imported_modules(path, module)
        if name == PROJECT_PACKAGE or name.startswith(PROJECT_PACKAGE + ".")
    ]
    assert offenders == []


@pytest.mark.parametrize("app", APPS)
def test_no_modules_of_an_app_import_each_other_in_a_circle(app):
    modules = modules_of(app)
    graph = {
        module: {
            name for name in imported_modules(path, module) if name in modules and name != module
        }
        for module, path in modules.items()
    }
    circles = {" → ".join(circle) for circle in find_circles(graph)}
    assert circles == set()


def find_circles(graph):
    """Yield one path per cycle found by depth-first search, closed on its first module."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                yield [*stack[stack.index(target) :], target]
            elif target not in state:
                yield from visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            yield from visit(node)
