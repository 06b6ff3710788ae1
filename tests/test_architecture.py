"""The import rules of docs/architecture.md, read from every module's own imports, and the
size limits that keep each module and function readable at a glance."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rse_adoption"
LEAVES = ("model", "effects_model", "errors", "schema", "privacy", "names", "messages")
#: module prefix -> prefixes it must not import (prefixes match a module or its package).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    **{leaf: ("",) for leaf in LEAVES},  # a leaf imports nothing of the package
    "ingest": ("metrics", "report", "cli", "api", "status", "history"),
    "fetch": ("metrics", "report", "cli", "api"),
    "metrics": ("report", "ingest", "cli", "api"),
    "report": ("store", "metrics", "ingest", "config", "api", "cli", "event_files"),
    "cli": ("metrics", "store", "event_files", "ingest.", "directory", "forget", "prune"),
    "demo": ("",),
    "demo.organisation": ("demo.platforms",),
    "api": ("cli",),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def package_imports(path: Path) -> set[str]:
    """The package's modules that `path` imports at run time (anywhere in the file, lazy
    imports included; `if TYPE_CHECKING:` blocks excluded), as dotted names."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for stmt in node.body
        for child in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *([node.module] if node.module else [])])
                found.update(
                    f"{target}.{a.name}".strip(".") if node.module is None else target
                    for a in node.names
                )
            elif node.module and node.module.startswith("rse_adoption."):
                found.add(node.module.removeprefix("rse_adoption."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("rse_adoption.")
                for a in node.names
                if a.name.startswith("rse_adoption.")
            )
    return {f for f in found if f}


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p) or "rse_adoption")
def test_imports_follow_the_architecture(path: Path) -> None:
    name = _module_name(path)
    imported = package_imports(path)
    for prefix, forbidden in FORBIDDEN.items():
        if not (name == prefix or name.startswith(prefix + ".")):
            continue
        for target in imported:
            if target == name or target.startswith(prefix + "."):
                continue  # within its own package
            if name in LEAVES and target in ("errors", "messages"):
                continue  # a leaf may raise a documented error or word a sentence
            if name == "model" and target == "effects_model":
                continue  # the report's model holds the actions' effects' model
            for bad in forbidden:
                hit = (
                    bad == ""
                    or target == bad.rstrip(".")
                    or target.startswith(bad.rstrip(".") + ".")
                )
                if bad.endswith(".") and target == bad.rstrip("."):
                    hit = False  # "ingest." forbids the internals, not the package's names
                assert not hit, (
                    f"{name} imports {target} ({prefix} must not import {bad or 'the package'})"
                )


def test_the_rules_see_real_imports() -> None:
    """The reader finds what the code imports (a rule that sees nothing cannot fail)."""
    assert "api" in package_imports(PACKAGE / "cli" / "common.py")
    assert "model" in package_imports(PACKAGE / "report" / "json_report.py")
    assert "ingest.pipeline" in package_imports(PACKAGE / "api.py")  # a lazy import
    assert "ingest.pipeline" not in package_imports(PACKAGE / "cli" / "store_commands.py")


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the function."""
    body = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p) or "rse_adoption")
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 600, f"{path.name}: {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert _body_lines(node) <= 80, f"{path.name}:{node.lineno} {node.name}()"
