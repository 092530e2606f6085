"""The code base stays ruff clean (library, loaders, tests, notebooks, benchmarks)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or f"{sys.executable} -m ruff"
    proc = subprocess.run([*ruff.split(), "check", "--output-format", "concise", "graphlink",
                           "loaders", "tests", "notebooks", "benchmarks"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: the longest function the project reads in one screen (issue 15); a longer one says
#: why in a ``# long: <reason>`` comment on the line above its ``def``
MAX_FUNCTION_LINES = 60


def _long_functions(root: Path) -> list[str]:
    import ast

    found = []
    for path in sorted([*root.glob("graphlink/**/*.py"), *root.glob("loaders/**/*.py")]):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            size = node.end_lineno - node.lineno + 1
            if size > MAX_FUNCTION_LINES and "# long:" not in lines[first - 2]:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({size} lines)")
    return found


def test_no_function_is_longer_than_a_screen():
    assert _long_functions(ROOT) == []


def test_the_length_check_finds_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "graphlink").mkdir()
    (tmp_path / "graphlink" / "m.py").write_text(f"def f():\n{body}\n\n# long: a table\n"
                                                 f"def g():\n{body}")
    assert _long_functions(tmp_path) == [f"graphlink/m.py:1 f ({MAX_FUNCTION_LINES + 1} lines)"]


def test_no_complexity_debt_in_the_library():
    """ruff's C901 (complexity over 10) is waived for benchmark scripts only."""
    waived = [line for line in (ROOT / "ruff.toml").read_text().splitlines()
              if "C901" in line and line.startswith(('"graphlink', '"loaders'))]
    assert waived == []
