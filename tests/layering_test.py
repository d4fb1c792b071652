"""The package's import rules, read from the source: a slip fails here instead of waiting for a review.

Every ``import`` counts, the lazy ones inside functions included: a lazy import still runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "prompthooks"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module:
        return {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return set()


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts ``a`` and ``a.b``, which may be a module)."""
    return {name for node in ast.walk(ast.parse(path.read_text(), str(path))) for name in _names(node)}


def _imported_at_load(path: Path) -> set[str]:
    """What importing ``path`` itself imports: its module- and class-level imports, outside ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    todo: list[ast.AST] = list(ast.parse(path.read_text(), str(path)).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue  # runs when called, not when imported
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        found |= _names(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


GRAPH = {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}
AT_LOAD = {_module_name(path): _imported_at_load(path) for path in PACKAGE.rglob("*.py")}


def _ours(imported: Iterable[str]) -> set[str]:
    # ``prompthooks`` itself is left out: its ``__getattr__`` imports the runtime only when ``load`` is asked for.
    return {name for name in imported if name in GRAPH and name != "prompthooks"}


def _closure(start: str) -> set[str]:
    """``start`` and every module of ours it can import, directly or through others."""
    seen, todo = {start}, [start]
    while todo:
        for name in _ours(GRAPH[todo.pop()]) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def _external_at_load(modules: Iterable[str]) -> set[str]:
    """Third-party and standard packages that importing these modules loads (lazy imports run only when called)."""
    return {imported.split(".")[0] for module in modules for imported in AT_LOAD[module] if not imported.startswith("prompthooks")}


def _in(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_the_graph_was_read() -> None:
    assert {"prompthooks.main", "prompthooks.runtime.loader", "prompthooks.registry.stored", "prompthooks.commands.deploy"} <= set(GRAPH)


def test_the_runtime_imports_no_cli_no_planning_no_gitpython_and_only_the_stored_side_of_the_registry() -> None:
    forbidden = ("prompthooks.main", "prompthooks.commands", "prompthooks.services", "prompthooks.registry.client", "prompthooks.registry.payload")
    hook_only = ("prompthooks.lockplan", "prompthooks.workspace", "prompthooks.snapshot", "prompthooks.versionguard", "prompthooks.basecheck")
    for module in (name for name in GRAPH if _in(name, "prompthooks.runtime")):
        reached = _closure(module)
        assert not [name for name in reached if _in(name, *forbidden, *hook_only)], module
        assert not _external_at_load(reached) & {"git", "mlflow", "jinja2"}, module  # git: GitPython


def test_no_command_imports_another_command() -> None:
    for module, imported in GRAPH.items():
        if _in(module, "prompthooks.commands"):
            others = {name for name in _ours(imported) if _in(name, "prompthooks.commands") and name not in (module, "prompthooks.commands")}
            assert not others, f"{module} imports {others}: move what they share into prompthooks.services"


def test_services_and_the_registry_sit_below_the_commands() -> None:
    for module, imported in GRAPH.items():
        if _in(module, "prompthooks.services", "prompthooks.registry"):
            assert not {name for name in _ours(imported) if _in(name, "prompthooks.commands", "prompthooks.main")}, module
        if _in(module, "prompthooks.registry"):
            assert not {name for name in _ours(imported) if _in(name, "prompthooks.services")}, module


def test_the_stored_side_of_the_registry_imports_no_mlflow_and_no_write_side() -> None:
    reached = _closure("prompthooks.registry.stored")
    assert "mlflow" not in {name.split(".")[0] for module in reached for name in GRAPH[module]}  # not even lazily
    assert not {name for name in reached if _in(name, "prompthooks.registry.client", "prompthooks.registry.payload")}


def test_the_hook_path_imports_no_registry_code_and_no_gitpython() -> None:
    hook = ("prompthooks.commands.lock", "prompthooks.commands.check", "prompthooks.workspace", "prompthooks.basecheck", "prompthooks.staging")
    for module in hook:
        reached = _closure(module)
        assert not {name for name in reached if _in(name, "prompthooks.registry", "prompthooks.services", "prompthooks.runtime")}, module
        assert not _external_at_load(reached) & {"mlflow", "git"}, module  # and main_test watches sys.modules


def test_test_modules_import_helpers_never_each_other_and_bench_never_tests() -> None:
    tests = PACKAGE.parent / "tests"
    for path in [*tests.rglob("*_test.py"), *(PACKAGE.parent / "bench").glob("*.py")]:
        imported = {name for name in _imports(path) if name.startswith("tests.")}
        others = {name for name in imported if not name.startswith("tests.helpers")}
        assert not others, f"{path.relative_to(PACKAGE.parent)} imports {others}: move what they share into tests/helpers/ (or testing/)"
        if path.parent.name == "bench":
            assert not imported, f"{path.name} imports {imported}: bench uses testing/, never tests/"
