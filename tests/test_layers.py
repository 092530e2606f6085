"""Layer rules of docs/architecture.md (issue 15, item 7): which package may import which.

Packages are layers in the data's order; a module may import its own package,
any lower layer, and the lazy ``graphlink`` package itself (``__version__``).
Imports are read from the source, module level and inside functions alike.
Known breaches are listed in DEBT, each with what it imports; the test fails
on a new breach, and on a DEBT entry that is gone (remove it then).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: graphlink's layers, lowest first: a layer imports only layers before it
LAYERS = ("core", "normalise", "linkage", "detection", "scoring", "reports", "state", "spark",
          "workflow", "neo4j", "api", "cli")
#: side packages and what they may import besides themselves
SIDE = {"synth": {"core"}, "loaders": {"core"}}
#: entry points (``python -m``): may import what the CLI may
ENTRIES = ("__main__",)
#: known breaches: (importing module, imported package) -> why it is still there
DEBT: dict[tuple[str, str], str] = {}


def modules() -> dict[str, Path]:
    """Every module of graphlink and loaders: dotted name -> file."""
    found = {}
    for path in sorted([*ROOT.glob("graphlink/**/*.py"), *ROOT.glob("loaders/**/*.py")]):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def package_of(module: str) -> str:
    """The layer a module belongs to: ``graphlink.linkage.link`` -> ``linkage``.

    >>> package_of("graphlink.linkage.link"), package_of("loaders.text"), package_of("graphlink")
    ('linkage', 'loaders', 'graphlink')
    """
    parts = module.split(".")
    return "loaders" if parts[0] == "loaders" else (parts[1] if len(parts) > 1 else "graphlink")


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The graphlink and loaders modules a file imports (``from graphlink import x``: x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(known)
            found.update(subs or {node.module})
    return {m for m in found if m.split(".")[0] in ("graphlink", "loaders")}


def allowed(module: str) -> set[str]:
    """The packages ``module`` may import."""
    home = package_of(module)
    if home in SIDE:
        return {home, *SIDE[home]}
    if module.rsplit(".", 1)[-1] in ENTRIES:
        home = "cli"
    below = LAYERS[:LAYERS.index(home) + 1] if home in LAYERS else ()
    front = {"loaders", "synth"} if home in ("api", "cli") else set()
    if home in ("workflow", "spark"):  # the pipelines load datasets: they join loaders to graphlink
        front = {"loaders"}
    return {*below, "graphlink", *front}


def breaches() -> set[tuple[str, str]]:
    known = modules()
    return {(module, package_of(target)) for module, path in known.items()
            for target in imports_of(path, known)
            if package_of(target) not in allowed(module)}


def test_every_package_is_placed():
    packages = {package_of(m) for m in modules()} - {"graphlink"}
    assert packages <= {*LAYERS, *SIDE}, packages - {*LAYERS, *SIDE}


def test_no_new_breach_of_the_layers():
    new = breaches() - set(DEBT)
    assert not new, "\n".join(f"{m} imports {p}" for m, p in sorted(new))


def test_debt_still_owed():
    paid = set(DEBT) - breaches()
    assert not paid, f"no longer true, remove from DEBT: {sorted(paid)}"


def test_the_rule_sees_a_breach():
    assert "scoring" not in allowed("graphlink.linkage.link")
    assert "linkage" in allowed("graphlink.scoring.score")
    assert allowed("loaders.text") == {"loaders", "core"}
    assert "api" in allowed("graphlink.neo4j.__main__")
    assert "api" not in allowed("graphlink.state.saved")
    assert "loaders" in allowed("graphlink.workflow.analyse")
    assert "loaders" not in allowed("graphlink.state.store")


@pytest.mark.parametrize("package", [p for p in (*LAYERS, *SIDE) if p not in
                                     ("api", "cli", "loaders", "normalise", "neo4j")])
def test_package_init_is_a_docstring_only(package):
    """Importing a package loads none of its modules (graphlink --help stays light)."""
    tree = ast.parse((ROOT / "graphlink" / package / "__init__.py").read_text(encoding="utf-8"))
    assert [type(n) for n in tree.body] == [ast.Expr], package
    assert ast.get_docstring(tree)


def test_architecture_page_names_every_package():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package in {package_of(m) for m in modules()} - {"graphlink", "api", "cli", "loaders"}:
        assert f"graphlink/{package}/" in page, package
