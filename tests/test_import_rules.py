"""Import rules (issue 15): which module may import which.

- ``import loaders`` needs graphlink's core (dataset, errors, schema) only, never
  the analysis (graphlink.api): ``graphlink/__init__.py`` imports its public
  names on first use.
- Renderers (report, html, plot, svg) take report data: they never import
  the analysis (api) or its stages, and the report modules import each other in
  one direction only (no circle).

Imports are read from the source (module level and inside functions alike), so
a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the report modules: builders' page data, renderers and figures
REPORTS = ("graphlink.reports.report", "graphlink.reports.html", "graphlink.reports.plot",
           "graphlink.reports.svg", "graphlink.reports.pagedata")
RENDERERS = ("graphlink.reports.report", "graphlink.reports.html", "graphlink.reports.plot",
             "graphlink.reports.svg")
#: what a renderer may import from graphlink: the report modules, the output files,
#: the package (its version), the flag thresholds and kind labels of score, text safety,
#: how dates are written (core.period: days and moments, no analysis)
RENDERER_MAY_IMPORT = {*REPORTS, "graphlink", "graphlink.reports", "graphlink.reports.outputs",
                       "graphlink.scoring.score",
                       "graphlink.core.errors", "graphlink.core.safetext", "graphlink.core.period"}


def _module_file(name: str) -> Path:
    return ROOT.joinpath(*name.split(".")).with_suffix(".py")


def imports_of(name: str) -> set[str]:
    """The graphlink and loaders modules ``name`` imports anywhere in its source."""
    tree = ast.parse(_module_file(name).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from graphlink.reports import plot": the submodule, when it is one
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if _module_file(f"{node.module}.{a.name}").exists())
    return {m for m in found if m.split(".")[0] in ("graphlink", "loaders")}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_report_modules_import_each_other_in_one_direction():
    graph = {m: imports_of(m) & set(REPORTS) - {m} for m in REPORTS}
    assert _cycle(graph) is None, _cycle(graph)


@pytest.mark.parametrize("module", RENDERERS)
def test_renderers_never_import_the_analysis(module):
    assert imports_of(module) <= RENDERER_MAY_IMPORT, imports_of(module) - RENDERER_MAY_IMPORT


def test_text_safety_imports_nothing_of_graphlink():
    assert imports_of("graphlink.core.safetext") == set()


def test_the_import_reader_sees_lazy_imports():
    # html imports plot inside functions only: still an edge
    assert "graphlink.reports.plot" in imports_of("graphlink.reports.html")
    assert "graphlink.reports.html" in imports_of("graphlink.reports.report")


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys; {statement}; import json; "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('graphlink', 'loaders'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return json.loads(done.stdout)


def test_loaders_need_graphlink_core_only():
    loaded = _loaded_after("import loaders")
    graphlink = {m for m in loaded if m.split(".")[0] == "graphlink"}
    assert graphlink <= {"graphlink", "graphlink.core", "graphlink.core.dataset",
                         "graphlink.core.errors",
                         "graphlink.core.schema"}, graphlink
    assert "graphlink.api" not in loaded


def test_importing_graphlink_imports_no_submodule():
    assert _loaded_after("import graphlink") == ["graphlink"]
    # a public name loads its module on first use
    assert "graphlink.api" in _loaded_after("import graphlink; graphlink.analyse")
