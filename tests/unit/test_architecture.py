"""The layout of pipeline/ as docs/architecture.md describes it, checked on the source itself.

- Stage packages import one way: app -> stages (in flow order) -> core; a stage
  imports only core and stages before it in the flow, never a later one.
- No import cycles between modules (imports inside functions included).
- The demo generator is not imported by the pipeline, only by `pulse init --demo` (pipeline/app/init.py).
- Commands start at once: importing the CLI loads no heavy library, and
  `pulse query` does not load matplotlib, WeasyPrint or Polars.
- No module grows past ~500 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from support.project import REPO

PIPELINE = REPO / "pipeline"
FLOW = ["core", "config", "sources", "checks", "kpis", "okrs", "report", "outputs", "delivery", "app"]
RANK = {name: index for index, name in enumerate(FLOW)}
DEMO_USER = "pipeline.app.init"  # `pulse init --demo`: the one module that may import the demo
HEAVY = ("matplotlib", "weasyprint", "polars", "pyarrow", "jinja2", "babel", "css_inline")


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every pipeline import in `path`, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            for name in names:  # `from pkg import module` imports the module
                found.append((node.lineno, name if (REPO / Path(*name.split("."))).with_suffix(".py").is_file()
                              else target))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
    return [(line, name) for line, name in found if name.startswith("pipeline")]


MODULES = {_module(p): p for p in PIPELINE.rglob("*.py")}


def test_every_stage_is_a_package_named_after_the_flow():
    packages = sorted(p.name for p in PIPELINE.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted([*FLOW, "demo"])
    assert sorted(p.name for p in PIPELINE.glob("*.py")) == ["__init__.py", "__main__.py"]


def test_imports_run_one_way():
    wrong = []
    for name, path in MODULES.items():
        parts = name.split(".")
        if len(parts) < 3 or parts[1] not in RANK:
            continue
        for line, imported in _imports(path):
            other = imported.split(".")[1] if imported.count(".") else ""
            if other == "demo" and name != DEMO_USER:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports the demo generator")
            elif other in RANK and RANK[other] > RANK[parts[1]]:
                wrong.append(f"{path.relative_to(REPO)}:{line}: {parts[1]} imports {imported} (a later stage)")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {name: {m for _, m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}
    # packages' __init__ modules re-export their own modules: an edge into a package is one into its __init__
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1 and not node.startswith(nxt + "."):  # a module importing its own package
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name)
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("path", sorted(PIPELINE.rglob("*.py")), ids=lambda p: str(p.relative_to(PIPELINE)))
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500, "split this module (see docs/architecture.md)"


def _loaded_after(code: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                            capture_output=True, text=True, check=True, cwd=REPO)
    return {name.split(".")[0] for name in result.stdout.split()}


def test_importing_the_cli_loads_no_heavy_library():
    loaded = _loaded_after("import pipeline.app.cli")
    assert not loaded & {*HEAVY, "duckdb", "pydantic", "rich"}


def test_the_query_command_does_not_load_what_it_does_not_use():
    loaded = _loaded_after("import pipeline.app.query, pipeline.app.workspace")
    assert not loaded & {"matplotlib", "weasyprint", "polars", "pyarrow", "jinja2"}


def test_the_kpi_and_okr_tables_do_not_load_the_renderer():
    loaded = _loaded_after("import pipeline.app.terminal, pipeline.app.workspace")
    assert not loaded & {"matplotlib", "weasyprint", "polars", "jinja2"}
